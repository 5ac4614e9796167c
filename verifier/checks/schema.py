"""`schema`: the Open Badges 3.0 fields a consumer relies on are there, with the right types.

A report, never a crash: each problem names the field. Credentials that are not Open Badges
(no OpenBadgeCredential or AchievementCredential type) are checked only as VCs.
"""

from __future__ import annotations

from verifier.report import CheckResult

OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}


def _types(node) -> list[str]:
    """The node's type names; anything in `type` that is not a string names no type."""
    value = node.get("type") if isinstance(node, dict) else None
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [v for v in values if isinstance(v, str)]


def _text(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return isinstance(value.get("@value"), str)
    return isinstance(value, list) and bool(value) and all(_text(item) for item in value)


def problems(credential: dict) -> list[str]:
    found = []
    contexts = credential.get("@context")
    version_2 = isinstance(contexts, list) and bool(contexts) and contexts[0] == "https://www.w3.org/ns/credentials/v2"
    if not isinstance(credential.get("id"), str):
        found.append("id: missing or not a string")
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        if not isinstance(issuer.get("id"), str):
            found.append("issuer.id: missing")
        if "Profile" not in _types(issuer):
            found.append("issuer.type: must include Profile")
    elif not isinstance(issuer, str):
        found.append("issuer: missing, or neither a URL nor a Profile")
    if version_2:
        if "validFrom" not in credential:
            found.append("validFrom: missing")
    elif "issuanceDate" not in credential:
        found.append("issuanceDate: missing")
    subjects = credential.get("credentialSubject")
    subjects = subjects if isinstance(subjects, list) else [subjects]
    if not subjects or not all(isinstance(s, dict) for s in subjects):
        return found + ["credentialSubject: missing or not an object"]
    for index, subject in enumerate(subjects):
        where = "credentialSubject" if len(subjects) == 1 else f"credentialSubject[{index}]"
        if "AchievementSubject" not in _types(subject):
            found.append(f"{where}.type: must include AchievementSubject")
        if "id" not in subject and not subject.get("identifier"):
            found.append(f"{where}: needs an id or an identifier")
        achievement = subject.get("achievement")
        if not isinstance(achievement, dict):
            found.append(f"{where}.achievement: missing or not an object")
            continue
        if not isinstance(achievement.get("id"), str):
            found.append(f"{where}.achievement.id: missing")
        for field in ("name", "description"):
            if not _text(achievement.get(field)):
                found.append(f"{where}.achievement.{field}: missing or empty")
        if "Achievement" not in _types(achievement):
            found.append(f"{where}.achievement.type: must include Achievement")
        criteria = achievement.get("criteria")
        if not isinstance(criteria, dict) or not (criteria.get("id") or criteria.get("narrative")):
            found.append(f"{where}.achievement.criteria: needs an id or a narrative")
    return found


def clr_problems(credential: dict) -> list[str]:
    """What a ClrCredential (CLR 2.0) needs besides being a VC: a name, one ClrSubject (an id or an
    identifier) and at least one embedded credential (an object or a VC-JWT string). The embedded
    credentials are checked in their own reports."""
    found = []
    if not isinstance(credential.get("id"), str):
        found.append("id: missing or not a string")
    if not _text(credential.get("name")):
        found.append("name: missing or empty")
    issuer = credential.get("issuer")
    if not isinstance(issuer, (str, dict)) or (isinstance(issuer, dict) and not isinstance(issuer.get("id"), str)):
        found.append("issuer: missing, or neither a URL nor a Profile with an id")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return found + ["credentialSubject: missing or not one object"]
    if "ClrSubject" not in _types(subject):
        found.append("credentialSubject.type: must include ClrSubject")
    if "id" not in subject and not subject.get("identifier"):
        found.append("credentialSubject: needs an id or an identifier")
    nested = subject.get("verifiableCredential")
    if not isinstance(nested, list) or not nested or not all(isinstance(c, (dict, str)) for c in nested):
        found.append("credentialSubject.verifiableCredential: must be a non-empty list of credentials")
    for index, association in enumerate(subject.get("association") or []):
        if not isinstance(association, dict) or not all(
                isinstance(association.get(k), str) for k in ("associationType", "sourceId", "targetId")):
            found.append(f"credentialSubject.association[{index}]: needs associationType, sourceId and targetId")
    return found


def check_schema(credential: dict) -> CheckResult:
    if "ClrCredential" in _types(credential):
        found = clr_problems(credential)
        if found:
            return CheckResult.failed("schema", "schema_invalid", "; ".join(found))
        return CheckResult.passed("schema", "has the CLR 2.0 required fields")
    if not OB_TYPES & set(_types(credential)):
        return CheckResult.skipped("schema", "not an Open Badges credential; checked as a verifiable credential only")
    found = problems(credential)
    if found:
        return CheckResult.failed("schema", "schema_invalid", "; ".join(found))
    return CheckResult.passed("schema", "has the Open Badges 3.0 required fields")
