"""Verifying an Open Badges 3.0 credential given as a VC-JWT (a compact JWS).

`verify_jwt` decides the `proof` and `issuer` checks of the report for a JWT and hands back the
credential it carries; the other checks (format, context, schema, validity, status, trust) are
run on that credential by the caller, as for any JSON-LD credential.

The rules (Open Badges 3.0, "JSON Web Token Proof Format"):
- `alg` must be one of RS256, ES256, ES384, EdDSA. Anything else is refused before a key is touched:
  `none`, and the HMAC algorithms whose "key" would be the issuer's public key (algorithm
  confusion). PyJWT verifies with a key bound to the header's algorithm, so the key's type must
  fit it (an RSA key for RS256, P-256 for ES256, P-384 for ES384, an OKP key for EdDSA); RSA keys under 2048 bits
  are refused.
- `typ`, when present, is "JWT" (or VC-JOSE-COSE's "vc+jwt"); `crit` and `b64` are refused, their
  semantics are ones we do not implement. Other header members are ignored.
- The key is the header's `jwk` or what `kid` resolves to; whose key it is decides the `issuer`
  check (see `verifier.forms.jwtkeys`).
- The claims must agree with the credential (see `verifier.forms.jwtclaims`).
- A JWT past `exp`, or before `nbf`, (beyond `skew`) must not be accepted (RFC 7519 4.1.4/4.1.5),
  so the proof fails with jwt_expired / jwt_not_yet_valid; the message says the signature itself
  is valid. The caller's `validity` check reports the same dates from validUntil/validFrom.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from verifier.forms.errors import FormError
from verifier.forms.jsontext import parse_json
from verifier.forms.jwtclaims import credential_of, mismatches, numeric_date
from verifier.forms.jwtkeys import PRIVATE_MEMBERS, issuer_key
from verifier.report import CheckResult

ALGORITHMS = ("RS256", "ES256", "ES384", "EdDSA")
TYPES = ("jwt", "vc+jwt")  # media types compare case-insensitively (RFC 7515 4.1.9)
REFUSED_HEADERS = ("crit", "b64")
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def looks_like_jwt(text) -> bool:
    """Three base64url parts joined by dots (the signature may be empty, as for alg none, so that
    such a token is recognised as a JWT and refused by `verify_jwt`, not called unreadable)."""
    return isinstance(text, str) and _COMPACT_JWS.fullmatch(text) is not None


def _segment(part: str, name: str) -> dict:
    if len(part) % 4 == 1:
        raise FormError("malformed_jwt", f"the JWT {name} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise FormError("malformed_jwt", f"the JWT {name} is not base64url-encoded UTF-8") from None
    try:
        value = parse_json(text)
    except FormError as error:
        if error.code in ("json_too_deep", "json_too_many_nodes"):
            raise
        raise FormError("malformed_jwt", f"the JWT {name} is not JSON: {error.message}") from None
    if not isinstance(value, dict):
        raise FormError("malformed_jwt", f"the JWT {name} is not a JSON object")
    return value


def read_jwt(token: str) -> tuple[dict, dict]:
    """(JOSE header, payload) of a compact JWS, unverified.

    :raise FormError: malformed_jwt (or json_too_deep / json_too_many_nodes for the payload).
    """
    if not looks_like_jwt(token):
        raise FormError("malformed_jwt", "not a compact JWS (three base64url parts separated by dots)")
    header, payload, _signature = token.split(".")
    return _segment(header, "header"), _segment(payload, "payload")


@dataclass(frozen=True)
class JwtResult:
    """`credential`: what the token carries, whether or not it verified (for the report's
    summary), None when it could not be read; rely on it only when `proof` and `issuer` passed.
    `mismatched_claims`: the claims named by a jwt_claims_mismatch failure."""

    credential: dict | None
    proof: CheckResult
    issuer: CheckResult
    mismatched_claims: tuple[str, ...] = ()


def verify_jwt(token: str, *, resolve_key: Callable[[str], dict] | None, now: datetime,
               skew: timedelta) -> JwtResult:
    """Check the JWT's signature, key, claims and time window. Never raises for a bad token.

    `resolve_key(reference)` is given the header's `kid`, or (for a `jwk`-only token whose `iss`
    is a DID) that DID, and returns a JWK, a verification method (publicKeyJwk or Ed25519, P-256, P-384
    publicKeyMultibase) or a DID document; it raises when it cannot (an exception's `code`
    attribute, if any, becomes the report code). `verifier.forms.jwtkeys.did_key_lookup` makes
    one from a DID resolver. None: tokens that need a lookup fail the issuer check.

    :raise TypeError: `now` is naive (a caller's mistake, not a bad token).
    """
    if now.tzinfo is None:
        raise TypeError("now must be a timezone-aware datetime")
    try:
        header, payload = read_jwt(token)
        credential = credential_of(payload)
    except FormError as error:
        return JwtResult(None, CheckResult.failed("proof", error.code, error.message), _not_checked("the JWT cannot be read"))
    problem = _header_problem(header)
    if problem:
        return JwtResult(credential, problem, _not_checked("the JWT is refused"))
    key, issuer = issuer_key(header, payload.get("iss"), resolve_key)
    if key is None:
        return JwtResult(credential, CheckResult.skipped("proof", "no key to check the signature with"), issuer)
    failure = _signature_failure(token, key, header["alg"])
    if failure:
        return JwtResult(credential, failure, issuer)
    disagreements = mismatches(payload, credential)
    if disagreements:
        claims = tuple(claim for claim, _ in disagreements)
        message = "the JWT claims disagree with the credential: " + "; ".join(why for _, why in disagreements)
        return JwtResult(credential, CheckResult.failed("proof", "jwt_claims_mismatch", message), issuer, claims)
    return JwtResult(credential, _time_window(payload, header["alg"], now, skew), issuer)


def _not_checked(why: str) -> CheckResult:
    return CheckResult.skipped("issuer", f"not checked: {why}")


def _header_problem(header: dict) -> CheckResult | None:
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        why = ("an unsigned JWT (alg none) is refused" if isinstance(alg, str) and alg.lower() == "none"
               else f"the algorithm {alg!r:.40} is not one of {', '.join(ALGORITHMS)}")
        return CheckResult.failed("proof", "unsupported_algorithm", why)
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in TYPES):
        return CheckResult.failed("proof", "malformed_jwt", f"the JWT typ {typ!r:.40} is not JWT")
    for name in REFUSED_HEADERS:
        if name in header:
            return CheckResult.failed("proof", "malformed_jwt", f"the JWT header {name} is not supported")
    kid, jwk = header.get("kid"), header.get("jwk")
    if kid is None and jwk is None:
        return CheckResult.failed("proof", "malformed_jwt", "the JWT header names no key (neither kid nor jwk)")
    if kid is not None and (not isinstance(kid, str) or not kid):
        return CheckResult.failed("proof", "malformed_jwt", "the JWT kid is not a non-empty string")
    if jwk is not None:
        if not isinstance(jwk, dict):
            return CheckResult.failed("proof", "malformed_jwt", "the JWT jwk is not a JSON object")
        if PRIVATE_MEMBERS & jwk.keys():
            return CheckResult.failed("proof", "malformed_jwt", "the JWT jwk holds private or symmetric key material")
    return None


def _signature_failure(token: str, key: dict, alg: str) -> CheckResult | None:
    if "alg" in key and key["alg"] != alg:
        return CheckResult.failed("proof", "unsupported_key", f"the key is for {key['alg']!r:.40}, the JWT uses {alg}")
    try:
        # Bound to the header's (allow-listed) algorithm: PyJWT then refuses a key of another type.
        signing_key = jwt.PyJWK(key, algorithm=alg)
        jwt.PyJWS().decode_complete(
            token, key=signing_key, algorithms=[alg], options={"enforce_minimum_key_length": True},
        )
    except jwt.InvalidSignatureError:
        return CheckResult.failed("proof", "invalid_signature", f"the {alg} signature does not verify")
    except (jwt.PyJWKError, jwt.InvalidKeyError) as error:
        return CheckResult.failed("proof", "unsupported_key", f"the key cannot check an {alg} signature: {error}")
    except jwt.InvalidAlgorithmError as error:
        return CheckResult.failed("proof", "unsupported_algorithm", str(error))
    except (jwt.InvalidTokenError, ValueError, TypeError) as error:
        # ValueError/TypeError: cryptography refusing key material PyJWT passed through (a point
        # off the curve, say): the token's key is unusable, which is the token's fault.
        return CheckResult.failed("proof", "malformed_jwt", f"the JWT cannot be checked: {error}")
    return None


def _time_window(payload: dict, alg: str, now: datetime, skew: timedelta) -> CheckResult:
    moment = now.astimezone(timezone.utc).timestamp()
    leeway = skew.total_seconds()
    expires, begins = numeric_date(payload.get("exp")), numeric_date(payload.get("nbf"))
    if expires is not None and moment - leeway >= expires:
        return CheckResult.failed("proof", "jwt_expired", f"the JWT expired at {_iso(expires)}; its {alg} signature is valid")
    if begins is not None and moment + leeway < begins:
        return CheckResult.failed("proof", "jwt_not_yet_valid", f"the JWT is not valid before {_iso(begins)}; its {alg} signature is valid")
    return CheckResult.passed("proof", f"{alg} JWT signature is valid and its claims agree with the credential")


def _iso(seconds: int) -> str:
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(seconds)
