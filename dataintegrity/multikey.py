"""Keys as Multikey values and ``did:key`` identifiers (Ed25519, P-256, P-384).

A Multikey value is multibase(base58btc, multicodec varint header + key bytes). Public keys:
``ed25519-pub`` 0xed 0x01 + 32 bytes (``z6Mk...``), ``p256-pub`` 0x80 0x24 and ``p384-pub`` 0x81 0x24
+ the compressed point (33 / 49 bytes; ``zDn...`` / ``z82...``). Private keys: ``ed25519-priv``
0x80 0x26 + the 32-byte seed, ``p256-priv`` 0x86 0x26 and ``p384-priv`` 0x87 0x26 + the big-endian
scalar (the form of the W3C test vectors' ``secretKeyMultibase``).
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .algorithms import ED25519, P256, P384, PrivateKey, PublicKey, ecdsa_curve, key_algorithm
from .errors import MultibaseError
from .multibase import decode_base58btc, encode_base58btc

ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"
ED25519_KEY_LENGTH = 32

_PUBLIC_HEADERS = {ED25519: ED25519_PUB_HEADER, P256: b"\x80\x24", P384: b"\x81\x24"}
_PRIVATE_HEADERS = {ED25519: ED25519_PRIV_HEADER, P256: b"\x86\x26", P384: b"\x87\x26"}

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


def _split(value: str, headers: dict[str, bytes], what: str) -> tuple[str, bytes]:
    """(algorithm, key bytes) of a multikey whose header is one of ``headers``."""
    raw = decode_base58btc(value)
    for algorithm, header in headers.items():
        if raw.startswith(header):
            return algorithm, raw[len(header):]
    raise MultibaseError(f"{value!r:.80} is not an Ed25519, P-256 or P-384 {what} multikey")


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


def public_key_multibase(public_key: PublicKey) -> str:
    """Return the ``publicKeyMultibase`` of an Ed25519, P-256 or P-384 public key object.

    Raises:
        MultibaseError: any other kind of key.
    """
    algorithm = key_algorithm(public_key)
    if algorithm == ED25519 and isinstance(public_key, Ed25519PublicKey):
        return ed25519_public_key_multibase(public_key.public_bytes_raw())
    if algorithm in (P256, P384) and isinstance(public_key, ec.EllipticCurvePublicKey):
        point = public_key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        return encode_base58btc(_PUBLIC_HEADERS[algorithm] + point)
    raise MultibaseError(f"a {type(public_key).__name__} has no Multikey form here; use Ed25519, P-256 or P-384")


def public_key_from_multibase(value: str) -> PublicKey:
    """Return the public key object of an Ed25519, P-256 or P-384 ``publicKeyMultibase``.

    Raises:
        MultibaseError: not base58btc, another multicodec, the wrong length, or not a point on the curve.
    """
    # The same few issuer keys are decoded at every verification: kept by their exact text (key
    # objects are immutable); a malformed one raises and is not kept.
    if isinstance(value, str) and len(value) <= _CACHED_MULTIKEY_LENGTH:
        return _cached_public_key(value)
    return _public_key(value)


_CACHED_MULTIKEY_LENGTH = 100  # a P-384 key is 70 characters


@functools.lru_cache(maxsize=1024)
def _cached_public_key(value: str) -> PublicKey:
    return _public_key(value)


def _public_key(value: str) -> PublicKey:
    algorithm, key = _split(value, _PUBLIC_HEADERS, "public key")
    if algorithm == ED25519:
        return Ed25519PublicKey.from_public_bytes(_check_length(key, "public key"))
    curve, size = ecdsa_curve(algorithm)
    if len(key) != 1 + size or key[0] not in (2, 3):  # only the compressed form is a Multikey
        raise MultibaseError(f"a {algorithm} multikey holds a {1 + size}-byte compressed point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, key)
    except ValueError:
        raise MultibaseError(f"{value!r:.80} is not a point on {algorithm}") from None


def private_key_from_multibase(value: str) -> PrivateKey:
    """Return the private key object of an Ed25519, P-256 or P-384 ``secretKeyMultibase``.

    Raises:
        MultibaseError: not base58btc, another multicodec, the wrong length, or out of range.
    """
    algorithm, key = _split(value, _PRIVATE_HEADERS, "private key")
    if algorithm == ED25519:
        return Ed25519PrivateKey.from_private_bytes(ed25519_private_key_from_multibase(value))
    curve, size = ecdsa_curve(algorithm)
    if len(key) != size:
        raise MultibaseError(f"a {algorithm} private key has {size} bytes")
    try:
        return ec.derive_private_key(int.from_bytes(key, "big"), curve)
    except ValueError:
        raise MultibaseError(f"the {algorithm} private key is out of range") from None


def did_key_from_ed25519(public_key: bytes) -> str:
    """Return the ``did:key`` of a raw Ed25519 public key (``"did:key:z6Mk..."``)."""
    return _DID_KEY_PREFIX + ed25519_public_key_multibase(public_key)


def did_key_from_public_key(public_key: PublicKey) -> str:
    """Return the ``did:key`` of an Ed25519, P-256 or P-384 public key object."""
    return _DID_KEY_PREFIX + public_key_multibase(public_key)


def did_key_document(did: str) -> dict:
    """Return the DID document of an Ed25519, P-256 or P-384 ``did:key`` (Multikey verification method).

    The verification method id is ``did + "#" + multibase``, and it is listed under
    ``assertionMethod``, ``authentication``, ``capabilityInvocation`` and ``capabilityDelegation``
    as the did:key method specifies.

    Raises:
        MultibaseError: ``did`` is not a ``did:key`` of such a public key.
    """
    if not isinstance(did, str) or not did.startswith(_DID_KEY_PREFIX):
        raise MultibaseError(f"{did!r:.80} is not a did:key")
    multibase = did[len(_DID_KEY_PREFIX):]
    public_key_from_multibase(multibase)  # validates
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
