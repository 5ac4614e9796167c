"""Comprehensive Learner Record 2.0: one signed ClrCredential holding an earner's credentials.

The record is made on request and not stored: it embeds the earner's current credentials from one
issuer (not revoked, not renewed), each exactly as it was signed (its own proof included), lists
their achievements, and links achievements with CLR `Association`s where a pathway makes one
achievement a part of another. Where those links come from is injected (`AssociationSource`); the
default knows of none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataintegrity import DataIntegrityError, add_proof
from issuer import audit, openbadges
from issuer.errors import NotFound
from issuer.issuance import IssuanceFailed
from issuer.keystore import KeyStore
from issuer.models import ApiToken, Credential, Issuer

CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
CONTEXTS = [openbadges.VC_V2_CONTEXT, CLR_CONTEXT, openbadges.OB_CONTEXT, openbadges.OB_EXTENSIONS_CONTEXT]
CLR_CREDENTIAL_SCHEMA = {
    "id": "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json",
    "type": "1EdTechJsonSchemaValidator2019",
}

# (session, achievement id) -> the ids of the achievements it is made of (a pathway's components).
AssociationSource = Callable[[Session, str], Iterable[str]]


def no_associations(session: Session, achievement_id: str) -> list[str]:
    """The default association source: no achievement is made of others."""
    return []


@dataclass(frozen=True)
class SignedRecord:
    document: dict  # the signed ClrCredential
    credential_ids: tuple[str, ...]  # ours, of the credentials it embeds, in its order


class NoCredentials(LookupError):
    """The earner holds no current credential of this issuer: there is nothing to record."""


def email_earner(email: str) -> str:
    """The earner key of an email address, as `Credential.earner` holds it."""
    return f"mailto:{email.strip().lower()}"


def current_credentials(session: Session, issuer: Issuer, earner: str) -> list[Credential]:
    """The earner's credentials from `issuer` that are neither revoked nor renewed, oldest first.
    Suspended and expired ones are included: the record shows them, and a verifier reports them."""
    return list(session.scalars(
        select(Credential)
        .where(Credential.issuer_id == issuer.id, Credential.earner == earner, Credential.status != "revoked",
               Credential.renewed_by_id.is_(None))
        .order_by(Credential.issued_at, Credential.id)
    ))


def associations(session: Session, achievements: dict[str, str], source: AssociationSource) -> list[dict]:
    """CLR `Association`s between the record's achievements (ours: id -> public URL): for each
    achievement made of another that is also in the record, `isParentOf` from the whole to the
    part and `isChildOf` back."""
    found = []
    for parent_id, parent_url in achievements.items():
        for child_id in source(session, parent_id):
            child_url = achievements.get(child_id)
            if child_url is None or child_id == parent_id:
                continue
            found.append({"type": "Association", "associationType": "isParentOf",
                          "sourceId": parent_url, "targetId": child_url})
            found.append({"type": "Association", "associationType": "isChildOf",
                          "sourceId": child_url, "targetId": parent_url})
    return found


def unsigned_clr(*, issuer_profile: dict, credentials: list[dict], subject_identity: dict, now: datetime,
                 association_list: list[dict], name: str) -> dict:
    """The ClrCredential document before its proof. `subject_identity` is `{"id": DID}` or
    `{"identifier": [IdentityObject]}`."""
    achievements, seen = [], set()
    for document in credentials:
        achievement = document.get("credentialSubject", {}).get("achievement")
        if isinstance(achievement, dict) and achievement.get("id") not in seen:
            seen.add(achievement.get("id"))
            achievements.append(achievement)
    subject: dict = {"type": ["ClrSubject"], **subject_identity, "verifiableCredential": list(credentials)}
    if achievements:
        subject["achievement"] = achievements
    if association_list:
        subject["association"] = association_list
    return {
        "@context": list(CONTEXTS),
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": issuer_profile,
        "name": name,
        "description": f"The learner's credentials from {issuer_profile['name']}, each with its own proof.",
        "validFrom": openbadges.xsd_datetime(now),
        "credentialSubject": subject,
        "credentialSchema": [dict(CLR_CREDENTIAL_SCHEMA)],
    }


class ClrIssuance:
    """Builds and signs ClrCredentials with the issuer's active key."""

    def __init__(self, session: Session, keystore: KeyStore, *, document_loader, urls, clock: Callable[[], datetime],
                 association_source: AssociationSource = no_associations):
        self._session = session
        self._keystore = keystore
        self._document_loader = document_loader
        self._urls = urls
        self._clock = clock
        self._association_source = association_source

    def for_earner(self, issuer: Issuer, earner: str | None) -> SignedRecord:
        """The signed ClrCredential of `earner`'s current credentials from `issuer`.

        :raise NoCredentials: the earner holds none.
        :raise DataIntegrityError: the record could not be signed (a fault of ours).
        """
        # no earner (a credential signed through the VC API) is no one's: it matches nothing
        held = current_credentials(self._session, issuer, earner) if earner else []
        if not held:
            raise NoCredentials(earner)
        if earner.startswith("mailto:"):
            identity = {"identifier": [openbadges.hashed_email_identifier(earner.removeprefix("mailto:"))]}
        else:
            identity = {"id": earner}
        achievements = {c.achievement_id: self._urls.achievement(c.achievement_id) for c in held if c.achievement_id}
        now = self._clock()
        unsigned = unsigned_clr(
            issuer_profile=openbadges.profile(issuer_id=issuer.did, name=issuer.name, url=issuer.url,
                                              email=issuer.email, description=issuer.description),
            credentials=[c.document for c in held],
            subject_identity=identity,
            now=now,
            association_list=associations(self._session, achievements, self._association_source),
            name=f"Comprehensive Learner Record from {issuer.name}",
        )
        key = self._keystore.active_key(issuer)
        signed = add_proof(unsigned, signer=self._keystore.signer(key), created=now,
                           document_loader=self._document_loader)
        return SignedRecord(signed, tuple(c.id for c in held))


def issue_record(session: Session, clr_issuance: ClrIssuance, issuer: Issuer, earner: str | None, *,
                 token: ApiToken | None, actor: str | None = None, at: datetime) -> dict:
    """`ClrIssuance.for_earner`, written to the audit log (`clr.issue`: which credentials, never
    the earner's email), its failures as the HTTP problems both routes answer. The caller commits."""
    try:
        record = clr_issuance.for_earner(issuer, earner)
        audit.record(session, action="clr.issue", token=token, actor=actor, issuer_id=issuer.id, subject_type="clr",
                     subject_id=record.document["id"], at=at, details={"credentials": list(record.credential_ids)})
        return record.document
    except NoCredentials:
        raise NotFound("no_credentials", f"the earner holds no current credential of issuer {issuer.slug!r} "
                       "(revoked and renewed ones are left out)") from None
    except DataIntegrityError as error:
        raise IssuanceFailed("issuance_failed", f"the record could not be signed: {error}") from error
