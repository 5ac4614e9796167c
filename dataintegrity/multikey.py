"""Ed25519 keys as Multikey values and ``did:key`` identifiers.

A Multikey value is multibase(base58btc, multicodec header + raw key bytes): ``ed25519-pub`` is
0xed 0x01 (so public keys start ``z6Mk``), ``ed25519-priv`` is 0x80 0x26 followed by the 32-byte
seed (the form of the W3C test vectors' ``privateKeyMultibase``).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .errors import MultibaseError
from .multibase import decode_base58btc, encode_base58btc

ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"
ED25519_KEY_LENGTH = 32

DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"
_DID_KEY_PREFIX = "did:key:"


def _check_length(key: bytes, what: str) -> bytes:
    if not isinstance(key, (bytes, bytearray)) or len(key) != ED25519_KEY_LENGTH:
        raise MultibaseError(f"an Ed25519 {what} has {ED25519_KEY_LENGTH} bytes")
    return bytes(key)


def _decode(value: str, header: bytes, what: str) -> bytes:
    raw = decode_base58btc(value)
    if not raw.startswith(header):
        raise MultibaseError(f"{value!r:.80} is not an Ed25519 {what} multikey (multicodec header {header.hex()})")
    return _check_length(raw[len(header):], what)


def ed25519_public_key_multibase(public_key: bytes) -> str:
    """Return the ``publicKeyMultibase`` (``"z6Mk..."``) of a raw 32-byte Ed25519 public key."""
    return encode_base58btc(ED25519_PUB_HEADER + _check_length(public_key, "public key"))


def ed25519_public_key_from_multibase(value: str) -> bytes:
    """Return the raw 32-byte public key of an Ed25519 ``publicKeyMultibase``.

    Raises:
        MultibaseError: not base58btc, not an ``ed25519-pub`` multikey, or the wrong length.
    """
    return _decode(value, ED25519_PUB_HEADER, "public key")


def ed25519_private_key_multibase(seed: bytes) -> str:
    """Return the ``secretKeyMultibase`` of a 32-byte Ed25519 private key seed."""
    return encode_base58btc(ED25519_PRIV_HEADER + _check_length(seed, "private key"))


def ed25519_private_key_from_multibase(value: str) -> bytes:
    """Return the 32-byte private key seed of an Ed25519 ``secretKeyMultibase``.

    Besides the standard 32-byte seed, the 64-byte ``seed || public key`` form some libraries write
    (e.g. the Open Badges test vector) is accepted when its public half belongs to the seed.

    Raises:
        MultibaseError: not base58btc, not an ``ed25519-priv`` multikey, or the wrong length.
    """
    raw = decode_base58btc(value)
    if raw.startswith(ED25519_PRIV_HEADER) and len(raw) == len(ED25519_PRIV_HEADER) + 2 * ED25519_KEY_LENGTH:
        seed, public = raw[2 : 2 + ED25519_KEY_LENGTH], raw[2 + ED25519_KEY_LENGTH :]
        derived = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        if derived != public:
            raise MultibaseError("the public half of this 64-byte Ed25519 private key does not match its seed")
        return seed
    return _decode(value, ED25519_PRIV_HEADER, "private key")


def did_key_from_ed25519(public_key: bytes) -> str:
    """Return the ``did:key`` of a raw Ed25519 public key (``"did:key:z6Mk..."``)."""
    return _DID_KEY_PREFIX + ed25519_public_key_multibase(public_key)


def did_key_document(did: str) -> dict:
    """Return the DID document of an Ed25519 ``did:key`` (Multikey verification method).

    The verification method id is ``did + "#" + multibase``, and it is listed under
    ``assertionMethod``, ``authentication``, ``capabilityInvocation`` and ``capabilityDelegation``
    as the did:key method specifies.

    Raises:
        MultibaseError: ``did`` is not a ``did:key`` of an Ed25519 public key.
    """
    if not isinstance(did, str) or not did.startswith(_DID_KEY_PREFIX):
        raise MultibaseError(f"{did!r:.80} is not a did:key")
    multibase = did[len(_DID_KEY_PREFIX):]
    ed25519_public_key_from_multibase(multibase)  # validates; only Ed25519 is supported for now
    vm_id = f"{did}#{multibase}"
    return {
        "@context": [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }
