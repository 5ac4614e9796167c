"""The public key of a resolved verification method: Multikey, Ed25519VerificationKey2020 or JsonWebKey."""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .algorithms import ED25519, P256, P384, PublicKey, ecdsa_curve, key_algorithm
from .errors import MultibaseError, UnsupportedKey
from .multikey import public_key_from_multibase

# JsonWebKey2020 is the draft name of JsonWebKey; both carry a publicKeyJwk.
_JWK_TYPES = frozenset({"JsonWebKey", "JsonWebKey2020"})
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def public_key_from_verification_method(method: dict) -> PublicKey:
    """Return the public key object of ``method``, a verification method as its controller document lists it.

    Understood: ``Multikey`` (Ed25519, P-256, P-384 ``publicKeyMultibase``), ``Ed25519VerificationKey2020``
    (Ed25519 ``publicKeyMultibase``) and ``JsonWebKey``/``JsonWebKey2020`` (``publicKeyJwk`` of kty EC
    with crv P-256/P-384, or kty OKP with crv Ed25519).

    Raises:
        UnsupportedKey: anything else, or a malformed key; the message says which.
    """
    if not isinstance(method, dict):
        raise UnsupportedKey("the verification method is not a JSON object")
    kind = method.get("type")
    try:
        if kind in ("Multikey", "Ed25519VerificationKey2020"):
            key = public_key_from_multibase(method.get("publicKeyMultibase"))
            # The 2020 suite's key type names its algorithm; a P-256 key under that name is a mistake.
            if kind == "Ed25519VerificationKey2020" and key_algorithm(key) != ED25519:
                raise UnsupportedKey("an Ed25519VerificationKey2020 must hold an Ed25519 key")
            return key
        if kind in _JWK_TYPES:
            return _from_jwk(method.get("publicKeyJwk"))
    except MultibaseError as error:
        raise UnsupportedKey(f"{kind}: {error}") from None
    raise UnsupportedKey(f"unsupported verification method type {kind!r}")


def _from_jwk(jwk: object) -> PublicKey:
    if not isinstance(jwk, dict):
        raise UnsupportedKey("a JsonWebKey needs a publicKeyJwk object")
    if "d" in jwk:  # a published private key is compromised; refuse rather than trust it
        raise UnsupportedKey("publicKeyJwk holds private key material ('d')")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == ED25519:
        return Ed25519PublicKey.from_public_bytes(_coordinate(jwk, "x", 32))
    if kty == "EC" and crv in (P256, P384):
        curve, size = ecdsa_curve(crv)
        point = b"\x04" + _coordinate(jwk, "x", size) + _coordinate(jwk, "y", size)
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        except ValueError:
            raise UnsupportedKey(f"publicKeyJwk is not a point on {crv}") from None
    raise UnsupportedKey(f"unsupported publicKeyJwk kty {kty!r} crv {crv!r}; use EC P-256/P-384 or OKP Ed25519")


def _coordinate(jwk: dict, name: str, size: int) -> bytes:
    """Decode base64url (unpadded, as JWK requires) member ``name`` of exactly ``size`` bytes."""
    value = jwk.get(name)
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value):
        raise UnsupportedKey(f"publicKeyJwk {name!r} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise UnsupportedKey(f"publicKeyJwk {name!r} is not base64url") from None
    if len(raw) != size:
        raise UnsupportedKey(f"publicKeyJwk {name!r} has {len(raw)} bytes, not {size}")
    return raw
