"""Making new signing keys."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import ed25519_public_key_multibase
from keys.encryption import KeyEncryptionKey


@dataclass(frozen=True)
class SealedKey:
    """A new key as it is stored: the public half in the clear, the private half sealed."""

    public_key_multibase: str
    sealed_private_key: bytes

    def __repr__(self) -> str:
        return f"SealedKey({self.public_key_multibase})"


def generate_ed25519_key(kek: KeyEncryptionKey, *, key_id: str) -> SealedKey:
    private_key = Ed25519PrivateKey.generate()
    seed = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SealedKey(ed25519_public_key_multibase(public), kek.seal(seed, key_id=key_id))
