"""The credential inside a VC-JWT payload, and the JWT claims that must agree with it.

Open Badges 3.0 ("JSON Web Token Proof Format", VC 2.0 edition): the JWT payload IS the
OpenBadgeCredential, with the claims `iss` = issuer.id, `jti` = id, `sub` = credentialSubject.id,
`nbf` = validFrom and `exp` = validUntil (when the credential has one). Credentials made after
VC 1.1 put the credential in the `vc` claim instead, with issuanceDate/expirationDate for the
dates; both shapes are read.

"Agree" is read both ways: a claim must equal its field, and a claim without its field (or a
field without its claim) is a disagreement too, so nothing the signer said in one place can be
contradicted or left out in the other. One exception, as other OB verifiers read it: a JWT may
leave out `sub` (the subject is in the credential, and nothing contradicts it); `relaxations`
names it, for a warning in the report. A `sub` that is there must still match.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dataintegrity import parse_date_time_stamp
from verifier.checks.issuer import issuer_id
from verifier.forms.errors import FormError

# The registered claims that mirror credential fields; stripped from a VC 2.0 style payload to
# give back the credential as issued.
REGISTERED_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def credential_of(payload: dict) -> dict:
    """The credential the payload carries: the `vc` claim (VC 1.1 style, when the payload itself
    has no @context) or the payload less the registered JWT claims (VC 2.0 style).

    :raise FormError: malformed_jwt when `vc` is there but not an object.
    """
    if "vc" in payload and "@context" not in payload:
        if not isinstance(payload["vc"], dict):
            raise FormError("malformed_jwt", "the vc claim is not a JSON object")
        return payload["vc"]
    return {key: value for key, value in payload.items() if key not in REGISTERED_CLAIMS}


def numeric_date(value) -> int | None:
    """A NumericDate as whole seconds since the epoch; None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    try:
        return int(value // 1)
    except OverflowError:  # infinity cannot come from JSON, but a caller's dict might hold it
        return None


def mismatches(payload: dict, credential: dict) -> list[tuple[str, str]]:
    """(claim, why) for every claim that disagrees with the credential; empty when all agree."""
    found = []
    issuer = issuer_id(credential)
    if "iss" not in payload:
        found.append(("iss", "the iss claim is missing"))
    elif payload["iss"] != issuer:
        found.append(("iss", f"iss {payload['iss']!r:.200} is not issuer.id {issuer!r:.200}"))
    found += _same("jti", payload, credential.get("id"), "id")
    found += _subject(payload, credential)
    start = "validFrom" if "validFrom" in credential else "issuanceDate"
    end = "validUntil" if "validUntil" in credential else "expirationDate"
    found += _date("nbf", payload, credential, start)
    found += _date("exp", payload, credential, end)
    return found


def relaxations(payload: dict, credential: dict) -> list[tuple[str, str]]:
    """(code, message) for what `mismatches` let pass that the strict reading would not."""
    if "sub" not in payload and _subject_ids(credential):
        return [("jwt_sub_missing", "the JWT has no sub claim; the credentialSubject id is taken from the credential")]
    return []


def _subject_ids(credential: dict) -> list:
    subjects = credential.get("credentialSubject")
    subjects = subjects if isinstance(subjects, list) else [subjects]
    return [s["id"] for s in subjects if isinstance(s, dict) and "id" in s]


def _same(claim: str, payload: dict, value, field: str) -> list[tuple[str, str]]:
    if claim not in payload and value is None:
        return []
    if claim not in payload:
        return [(claim, f"the {claim} claim is missing, and the credential has {field} {value!r:.200}")]
    if value is None:
        return [(claim, f"the {claim} claim is {payload[claim]!r:.200}, and the credential has no {field}")]
    if payload[claim] != value:
        return [(claim, f"{claim} {payload[claim]!r:.200} is not {field} {value!r:.200}")]
    return []


def _subject(payload: dict, credential: dict) -> list[tuple[str, str]]:
    ids = _subject_ids(credential)
    if "sub" not in payload:
        return []  # see relaxations()
    if len(ids) <= 1:
        return _same("sub", payload, ids[0] if ids else None, "credentialSubject.id")
    # Several subjects: one `sub` cannot name them all; it must name one of them.
    if payload.get("sub") not in ids:
        return [("sub", f"sub {payload.get('sub')!r:.200} is none of the credentialSubject ids")]
    return []


def _date(claim: str, payload: dict, credential: dict, field: str) -> list[tuple[str, str]]:
    if claim not in payload and field not in credential:
        return []
    if claim not in payload:
        return [(claim, f"the {claim} claim is missing, and the credential has {field} {credential[field]!r:.80}")]
    seconds = numeric_date(payload[claim])
    if seconds is None:
        return [(claim, f"the {claim} claim {payload[claim]!r:.80} is not a NumericDate")]
    if field not in credential:
        return [(claim, f"the {claim} claim is {seconds}, and the credential has no {field}")]
    instant = parse_date_time_stamp(credential[field])
    if instant is None:
        return [(claim, f"{field} {credential[field]!r:.80} is not a date-time with a time zone")]
    # NumericDate counts whole seconds here; a credential date's fraction of a second is cut.
    if (instant - _EPOCH) // timedelta(seconds=1) != seconds:
        return [(claim, f"{claim} {seconds} is not {field} {credential[field]}")]
    return []
