"""Making new signing keys of the three kinds an issuer may choose: Ed25519, P-256, P-384."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import public_key_multibase
from dataintegrity.algorithms import ED25519, P256, P384, PrivateKey, ecdsa_curve
from keys.encryption import KeyEncryptionKey

KEY_TYPES = (ED25519, P256, P384)


@dataclass(frozen=True)
class SealedKey:
    """A new key as it is stored: the public half in the clear, the private half sealed."""

    public_key_multibase: str
    sealed_private_key: bytes

    def __repr__(self) -> str:
        return f"SealedKey({self.public_key_multibase})"


def private_key_bytes(private_key: PrivateKey) -> bytes:
    """What is sealed: the 32-byte Ed25519 seed, or the ECDSA private scalar big-endian at the curve's size."""
    if isinstance(private_key, Ed25519PrivateKey):
        return private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
    size = (private_key.curve.key_size + 7) // 8
    return private_key.private_numbers().private_value.to_bytes(size, "big")


def private_key_from_bytes(key_type: str, secret: bytes) -> PrivateKey:
    """The inverse of :func:`private_key_bytes` for a key of `key_type`.

    :raise ValueError: an unknown key type, or bytes that are not a key of it.
    """
    if key_type == ED25519:
        return Ed25519PrivateKey.from_private_bytes(secret)
    if key_type not in (P256, P384):
        raise ValueError(f"unknown key type {key_type!r}; use one of {', '.join(KEY_TYPES)}")
    curve, size = ecdsa_curve(key_type)
    if len(secret) != size:
        raise ValueError(f"a {key_type} private key is {size} bytes, not {len(secret)}")
    return ec.derive_private_key(int.from_bytes(secret, "big"), curve)


def new_private_key(key_type: str) -> PrivateKey:
    if key_type == ED25519:
        return Ed25519PrivateKey.generate()
    if key_type in (P256, P384):
        return ec.generate_private_key(ecdsa_curve(key_type)[0])
    raise ValueError(f"unknown key type {key_type!r}; use one of {', '.join(KEY_TYPES)}")


def generate_key(kek: KeyEncryptionKey, *, key_id: str, key_type: str = ED25519) -> SealedKey:
    """A new key of `key_type`: its Multikey public key (``z6Mk...``, ``zDn...``, ``z82...``), its private half sealed."""
    private_key = new_private_key(key_type)
    return SealedKey(
        public_key_multibase(private_key.public_key()), kek.seal(private_key_bytes(private_key), key_id=key_id)
    )


def generate_ed25519_key(kek: KeyEncryptionKey, *, key_id: str) -> SealedKey:
    return generate_key(kek, key_id=key_id, key_type=ED25519)
