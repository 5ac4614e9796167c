"""Signature algorithms by key kind: Ed25519, and ECDSA on P-256/P-384 with IEEE P1363 signatures.

Data Integrity writes ECDSA signatures as ``r || s`` (each the curve's size, big-endian), not the DER
that ``cryptography`` produces, so the conversion lives here, next to the one place that verifies.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

ED25519 = "Ed25519"
P256 = "P-256"
P384 = "P-384"

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey

# algorithm -> (curve, hash the ECDSA signature is made with, bytes of one coordinate / of r and s)
_ECDSA = {
    P256: (ec.SECP256R1(), hashes.SHA256(), 32),
    P384: (ec.SECP384R1(), hashes.SHA384(), 48),
}
_CURVE_NAMES = {curve.name: algorithm for algorithm, (curve, _, _) in _ECDSA.items()}


def key_algorithm(key: object) -> str | None:
    """``"Ed25519"``, ``"P-256"`` or ``"P-384"`` for a public or private key of that kind; else None."""
    if isinstance(key, (Ed25519PublicKey, Ed25519PrivateKey)):
        return ED25519
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        return _CURVE_NAMES.get(key.curve.name)
    return None


def ecdsa_curve(algorithm: str) -> tuple[ec.EllipticCurve, int]:
    """The curve of ``"P-256"``/``"P-384"`` and the byte size of its coordinates. KeyError otherwise."""
    curve, _, size = _ECDSA[algorithm]
    return curve, size


def sign(private_key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data``: raw 64-byte Ed25519, or ECDSA (SHA-256 on P-256, SHA-384 on P-384) as ``r || s``."""
    algorithm = key_algorithm(private_key)
    if algorithm == ED25519 and isinstance(private_key, Ed25519PrivateKey):
        return private_key.sign(data)
    if algorithm in _ECDSA and isinstance(private_key, ec.EllipticCurvePrivateKey):
        _, digest, size = _ECDSA[algorithm]
        r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(digest)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise TypeError(f"cannot sign with a {type(private_key).__name__}; use an Ed25519, P-256 or P-384 private key")


def verify(public_key: PublicKey, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s signature of ``data`` (formats as :func:`sign`); never raises."""
    algorithm = key_algorithm(public_key)
    try:
        if algorithm == ED25519 and isinstance(public_key, Ed25519PublicKey):
            public_key.verify(signature, data)
            return True
        if algorithm in _ECDSA and isinstance(public_key, ec.EllipticCurvePublicKey):
            _, digest, size = _ECDSA[algorithm]
            if len(signature) != 2 * size:  # P1363 has a fixed length; anything else is not one
                return False
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(digest))
            return True
    except (InvalidSignature, ValueError, TypeError):
        return False
    return False
