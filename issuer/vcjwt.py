"""The Open Badges 3.0 VC-JWT form of a credential (OB 3.0, "JSON Web Token Proof Format").

The JWT payload is the credential itself (without a Data Integrity proof: the JWS is the proof),
with the registered claims that mirror it: `iss` = issuer.id, `jti` = id, `sub` =
credentialSubject.id (only when the subject has one: ours often carry a hashed email
`identifier` instead), `nbf` = validFrom, `exp` = validUntil (when there is one). The JOSE header
names the algorithm of the issuer's key kind (EdDSA, ES256, ES384), `typ` "JWT" and `kid` the
verification method in the issuer's DID document.
"""

from __future__ import annotations

from datetime import datetime, timezone

from dataintegrity import parse_date_time_stamp

MEDIA_TYPE = "application/vc+jwt"
FORMATS = ("ldp", "jwt")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _numeric_date(value) -> int | None:
    instant = parse_date_time_stamp(value) if isinstance(value, str) else None
    return None if instant is None else int((instant - _EPOCH).total_seconds() // 1)


def claims_of(credential: dict) -> dict:
    """The JWT payload for `credential` (its proof, if any, left out)."""
    payload = {key: value for key, value in credential.items() if key != "proof"}
    issuer = credential.get("issuer")
    payload["iss"] = issuer.get("id") if isinstance(issuer, dict) else issuer
    if "id" in credential:
        payload["jti"] = credential["id"]
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and "id" in subject:
        payload["sub"] = subject["id"]
    for claim, field in (("nbf", "validFrom"), ("exp", "validUntil")):
        seconds = _numeric_date(credential.get(field))
        if seconds is not None:
            payload[claim] = seconds
    return payload


def vc_jwt(credential: dict, signer) -> str:
    """`credential` signed as an OB 3.0 VC-JWT by `signer` (a `keys.KeySigner`)."""
    return signer.sign_jwt(claims_of(credential))
