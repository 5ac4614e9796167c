"""Open Badges 3.0 documents, built from our records. Pure: no database, no clock.

Data flows one way: an assessment result and its achievement become an unsigned credential
here; proving and storing it happen elsewhere.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from decimal import Decimal

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# Defines 1EdTechJsonSchemaValidator2019, the credentialSchema type OB 3.0 requires; without
# it that type is an undefined term, which safe mode refuses to sign.
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CONTEXTS = [VC_V2_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT]
OB_CREDENTIAL_SCHEMA = {
    "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
    "type": "1EdTechJsonSchemaValidator2019",
}


def xsd_datetime(moment: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC, to the second: 2026-11-25T12:00:00Z."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant")
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def score_text(score: Decimal) -> str:
    """85.50 -> "85.5", 80.000 -> "80": the plain value, with no exponent."""
    text = format(Decimal(score).normalize(), "f")
    return text


def profile(*, issuer_id: str, name: str, url: str, email: str | None = None,
            description: str | None = None) -> dict:
    document = {"id": issuer_id, "type": ["Profile"], "name": name, "url": url}
    if email:
        document["email"] = email
    if description:
        document["description"] = description
    return document


def result_description_id(achievement_id: str) -> str:
    return f"{achievement_id}#score"


def achievement(*, achievement_id: str, name: str, description: str, criteria_narrative: str,
                creator: dict, passing_score: Decimal, max_score: Decimal,
                achievement_type: str | None = None, alignments: list[dict] = (),
                tags: list[str] = (), image_url: str | None = None,
                criteria_id: str | None = None) -> dict:
    """An `Achievement`, with a ResultDescription stating the passing rule.

    `alignments` hold our API's snake_case fields (target_name, target_url, ...).
    """
    criteria = {"narrative": criteria_narrative}
    if criteria_id:
        criteria["id"] = criteria_id
    document = {
        "id": achievement_id,
        "type": ["Achievement"],
        "name": name,
        "description": description,
        "criteria": criteria,
    }
    if achievement_type:
        document["achievementType"] = achievement_type
    if image_url:
        document["image"] = {"id": image_url, "type": "Image"}
    if alignments:
        document["alignment"] = [_alignment(a) for a in alignments]
    if tags:
        document["tag"] = list(tags)
    document["creator"] = creator
    document["resultDescription"] = [{
        "id": result_description_id(achievement_id),
        "type": ["ResultDescription"],
        "name": "Score",
        "resultType": "RawScore",
        "valueMin": "0",
        "valueMax": score_text(max_score),
        "requiredValue": score_text(passing_score),
    }]
    return document


_ALIGNMENT_FIELDS = {
    "target_name": "targetName",
    "target_url": "targetUrl",
    "target_description": "targetDescription",
    "target_framework": "targetFramework",
    "target_code": "targetCode",
    "target_type": "targetType",
}


def _alignment(alignment: dict) -> dict:
    document = {"type": ["Alignment"]}
    for ours, theirs in _ALIGNMENT_FIELDS.items():
        if alignment.get(ours):
            document[theirs] = alignment[ours]
    return document


def hashed_email_identifier(email: str, salt: str | None = None) -> dict:
    """An IdentityObject holding sha256(email + salt), so the credential never carries the email.

    The email is trimmed and lower-cased first, so a verifier who holds the address in any case
    can reproduce the hash.
    """
    salt = salt if salt is not None else secrets.token_hex(16)
    digest = hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": f"sha256${digest}",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }


def _evidence(item: dict) -> dict:
    document = {"type": ["Evidence"]}
    for key in ("id", "name", "description", "narrative", "genre"):
        if item.get(key):
            document[key] = item[key]
    return document


def credential(*, credential_id: str, issuer: dict, achievement: dict, valid_from: datetime,
               valid_until: datetime | None, score: Decimal, recipient_did: str | None = None,
               recipient_identifier: dict | None = None, evidence: list[dict] = (),
               credential_status: list[dict] = ()) -> dict:
    """An unsigned OpenBadgeCredential for one passing result.

    Exactly one of `recipient_did` (the subject's `id`) or `recipient_identifier` (an
    IdentityObject, see `hashed_email_identifier`) names the earner.
    """
    if (recipient_did is None) == (recipient_identifier is None):
        raise TypeError("give exactly one of recipient_did or recipient_identifier")
    subject: dict = {"type": ["AchievementSubject"]}
    if recipient_did:
        subject["id"] = recipient_did
    else:
        subject["identifier"] = [recipient_identifier]
    subject["achievement"] = achievement
    subject["result"] = [{
        "type": ["Result"],
        "resultDescription": result_description_id(achievement["id"]),
        "value": score_text(score),
    }]
    document = {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement["name"],
        "issuer": issuer,
        "validFrom": xsd_datetime(valid_from),
    }
    if valid_until is not None:
        document["validUntil"] = xsd_datetime(valid_until)
    document["credentialSubject"] = subject
    if credential_status:
        # One entry is a single object, as Open Badges 3.0 has it (credentialStatus [0..1]);
        # several (revocation and suspension) are a set, as VC Data Model 2.0 allows.
        document["credentialStatus"] = (
            dict(credential_status[0]) if len(credential_status) == 1 else [dict(e) for e in credential_status]
        )
    if evidence:
        document["evidence"] = [_evidence(item) for item in evidence]
    if not isinstance(document.get("credentialStatus"), list):
        # Several status entries (suspension enabled) break the OB 3.0 JSON Schema's
        # `credentialStatus` [0..1]: such a credential does not claim that schema (see README).
        document["credentialSchema"] = [dict(OB_CREDENTIAL_SCHEMA)]
    return document


def status_value(entries) -> dict | list[dict]:
    """`credentialStatus` for status entries: one entry is a single object, as Open Badges 3.0 has it
    (credentialStatus [0..1]); several (revocation and suspension) are a set, as VC Data Model 2.0 allows."""
    entries = [dict(entry) for entry in entries]
    return entries[0] if len(entries) == 1 else entries
