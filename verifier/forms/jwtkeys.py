"""The key of a VC-JWT, and whether it belongs to the credential's issuer.

A JWT names its key in the JOSE header: `kid` (a URL or DID URL to dereference) or `jwk` (the key
itself). A signature only proves something when the key is the issuer's, so besides finding the
key this module decides the `issuer` check:

- `kid` is a DID URL: its DID must be `iss` (and so the issuer), and the verification method's
  controller too. Use `did_key_lookup` as `resolve_key` to also require the method be listed
  under the issuer's `assertionMethod`.
- `kid` is an http(s) URL: it must be on the issuer's own origin (scheme, host and port of `iss`),
  the only link between an http key URL and an http issuer id that we can check.
- `jwk` alone: the key is self-asserted, anyone could have put it there. It counts only when `iss`
  is a DID whose document lists that very key (compared by RFC 7638 thumbprint) under
  `assertionMethod`; for any other issuer nothing ties the key to the issuer and the check fails
  with `unverifiable_issuer_key`.
- `kid` and `jwk` both: the key `kid` resolves to is used, and `jwk` must be that same key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dataintegrity import DataIntegrityError, public_key_from_multibase
from verifier.report import CheckResult
from verifier.resolvers import DidResolver, ResolutionError

# Members that only a private (or symmetric) JWK has: such a key must never appear in a token
# or come back from a key lookup.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


class KeyLookupError(Exception):
    """A key lookup's failure with its report code (unresolvable_key, key_not_authorized, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def public_jwk(found) -> dict:
    """The public JWK in what a key lookup returned: a JWK (it has `kty`), a verification method
    with `publicKeyJwk`, or one with an Ed25519, P-256 or P-384 `publicKeyMultibase` (Multikey, did:key).

    :raise KeyLookupError: unsupported_key (no usable public key, or private key material).
    """
    if not isinstance(found, dict):
        raise KeyLookupError("unsupported_key", "the key lookup returned no JWK or verification method")
    if "kty" in found:
        jwk = found
    elif isinstance(found.get("publicKeyJwk"), dict):
        jwk = found["publicKeyJwk"]
    elif isinstance(found.get("publicKeyMultibase"), str):
        try:
            jwk = _multikey_jwk(public_key_from_multibase(found["publicKeyMultibase"]))
        except DataIntegrityError as error:
            raise KeyLookupError("unsupported_key", f"{found.get('id')}: {error}") from None
    else:
        raise KeyLookupError("unsupported_key", f"{found.get('id', 'the key')} holds no public key we can use")
    if PRIVATE_MEMBERS & jwk.keys():
        raise KeyLookupError("unsupported_key", "the key holds private or symmetric key material")
    return jwk


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _multikey_jwk(key) -> dict:
    """The public JWK of a Multikey's key: OKP Ed25519, or EC P-256/P-384."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers, size = key.public_numbers(), (key.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[key.curve.name]
        return {"kty": "EC", "crv": crv, "x": _b64(numbers.x.to_bytes(size, "big")), "y": _b64(numbers.y.to_bytes(size, "big"))}
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}


def thumbprint(jwk: dict) -> str | None:
    """The RFC 7638 SHA-256 thumbprint of a public JWK; None for a key type we do not use."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty"))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        return None
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def did_key_lookup(resolver: DidResolver) -> Callable[[str], dict]:
    """A `resolve_key` for `verify_jwt` over a DID resolver.

    `lookup("did:...#fragment")` returns that verification method, and requires it listed under
    the DID's `assertionMethod` (KeyLookupError key_not_authorized otherwise);
    `lookup("did:...")` returns the DID document. Anything that is not a DID raises
    ResolutionError: http(s) key URLs are for the caller to fetch, with its own guarded client.
    """

    def lookup(reference: str) -> dict:
        did, _, fragment = reference.partition("#")
        if not did.startswith("did:"):
            raise ResolutionError(f"{reference} is not a DID URL")
        document = resolver.resolve(did)
        if not fragment:
            return document
        method = next((m for m in assertion_methods(document, did) if m.get("id") == reference), None)
        if method is None:
            listed = any(_absolute(m.get("id"), did) == reference
                         for m in document.get("verificationMethod", []) if isinstance(m, dict))
            if listed:
                raise KeyLookupError("key_not_authorized", f"{reference} is not listed under assertionMethod")
            raise KeyLookupError("unresolvable_key", f"{did} does not list {reference}")
        return {"controller": did, **method}

    return lookup


def assertion_methods(document: dict, did: str) -> list[dict]:
    """The verification methods of `document` listed under `assertionMethod` (by reference or
    embedded), with absolute ids."""
    if not isinstance(document, dict):
        return []
    by_id = {_absolute(m.get("id"), did): m for m in document.get("verificationMethod", []) if isinstance(m, dict)}
    found = []
    for entry in document.get("assertionMethod", []):
        method = by_id.get(_absolute(entry, did)) if isinstance(entry, str) else entry
        if isinstance(method, dict):
            found.append({**method, "id": _absolute(method.get("id"), did)})
    return found


def issuer_key(header: dict, iss, resolve_key: Callable[[str], dict] | None) -> tuple[dict | None, CheckResult]:
    """(the public JWK to check the signature with, or None; the `issuer` check).

    `header` has been checked by the caller: `kid`, when present, is a string and `jwk`, when
    present, a public JWK object; at least one of them is there.
    """
    kid, jwk = header.get("kid"), header.get("jwk")
    if kid is not None:
        return _by_kid(kid, jwk, iss, resolve_key)
    if not _is_did(iss):
        return jwk, CheckResult.failed(
            "issuer", "unverifiable_issuer_key",
            f"the JWT carries its own key, and nothing ties it to the issuer {iss!r:.200} (not a DID)",
        )
    document, failure = _lookup(iss, resolve_key)
    if failure:
        return jwk, failure
    wanted = thumbprint(jwk)
    for method in assertion_methods(document, iss):
        try:
            if wanted is not None and thumbprint(public_jwk(method)) == wanted:
                return jwk, CheckResult.passed("issuer", f"signed with {method['id']}, a key of the issuer")
        except KeyLookupError:
            continue  # a method we cannot read is simply not the one that signed
    return jwk, CheckResult.failed(
        "issuer", "issuer_key_mismatch", f"the JWT's key is not among the assertion keys of the issuer {iss}",
    )


def _by_kid(kid: str, jwk: dict | None, iss, resolve_key) -> tuple[dict | None, CheckResult]:
    found, failure = _lookup(kid, resolve_key)
    if failure:
        return None, failure
    try:
        key = public_jwk(found)
    except KeyLookupError as error:
        return None, CheckResult.failed("issuer", error.code, f"{kid}: {error}")
    if jwk is not None and thumbprint(jwk) != thumbprint(key):
        return key, CheckResult.failed("issuer", "issuer_key_mismatch", f"the jwk header is not the key {kid} names")
    if _is_did(kid):
        did = kid.split("#", 1)[0]
        controller = found.get("controller", did) if "kty" not in found else did
        if did != iss or controller != iss:
            return key, CheckResult.failed(
                "issuer", "issuer_key_mismatch", f"the key {kid} belongs to {controller}, not to the issuer {iss!r:.200}",
            )
    elif _origin(kid) is None or _origin(kid) != _origin(iss):
        return key, CheckResult.failed(
            "issuer", "issuer_key_mismatch", f"the key {kid} is not on the origin of the issuer {iss!r:.200}",
        )
    return key, CheckResult.passed("issuer", f"signed with {kid}, a key of the issuer")


def _lookup(reference: str, resolve_key) -> tuple[dict | None, CheckResult | None]:
    if resolve_key is None:
        return None, CheckResult.failed("issuer", "unresolvable_key", f"no key resolver is configured to look up {reference}")
    try:
        return resolve_key(reference), None
    except Exception as error:  # any failure of the caller's lookup means: no key from it
        return None, CheckResult.failed("issuer", getattr(error, "code", "unresolvable_key"), f"{reference}: {error}")


def _is_did(value) -> bool:
    return isinstance(value, str) and value.startswith("did:")


def _origin(url) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a malformed port, say
        return None


def _absolute(reference, did: str):
    return f"{did}{reference}" if isinstance(reference, str) and reference.startswith("#") else reference
