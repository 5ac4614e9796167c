"""From a completed assessment to a stored, signed credential.

Everything here only adds and flushes; the caller's transaction commits it, so a result and
its credential are stored together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import isodate
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from dataintegrity import DataIntegrityError, add_proof
from issuer import openbadges
from issuer.errors import ApiError, ValidationFailed
from issuer.keystore import KeyStore
from issuer.statuslists import Reservation, StatusLists
from issuer.models import Achievement, AssessmentResult, Credential, Issuer, new_id
from issuer.urls import Urls
from issuer.vcjwt import vc_jwt

log = logging.getLogger(__name__)

# A completion time this far ahead of our clock is a platform clock error, not a future event.
COMPLETION_CLOCK_SKEW = timedelta(minutes=5)


# Statements of every issuance, built once (building one costs more than running it).
_CREDENTIALS = Credential.__table__
_PREVIOUS_RESULT = select(AssessmentResult).where(
    AssessmentResult.issuer_id == bindparam("b_issuer"), AssessmentResult.external_id == bindparam("b_external_id"))
# The earner's current credential of an achievement: not revoked, not renewed, the latest.
_CURRENT_CREDENTIAL = (
    select(_CREDENTIALS.c.id)
    .where(_CREDENTIALS.c.issuer_id == bindparam("b_issuer"), _CREDENTIALS.c.achievement_id == bindparam("b_achievement"),
           _CREDENTIALS.c.earner == bindparam("b_earner"), _CREDENTIALS.c.status != "revoked",
           _CREDENTIALS.c.renewed_by_id.is_(None))
    .order_by(_CREDENTIALS.c.issued_at.desc(), _CREDENTIALS.c.id.desc())
    .limit(1))
_RENEWED = update(_CREDENTIALS).where(_CREDENTIALS.c.id == bindparam("b_id"))
_INSERTS = {AssessmentResult: insert(AssessmentResult.__table__), Credential: insert(_CREDENTIALS)}


def row_of(record: AssessmentResult | Credential) -> dict:
    """The columns given to a new record (the rest take their defaults when it is inserted)."""
    columns = type(record).__table__.c
    return {key: value for key, value in sa_inspect(record).dict.items() if key in columns}


class IssuanceFailed(ApiError):
    status, title = 500, "Issuance failed"


@dataclass(frozen=True)
class Outcome:
    result: AssessmentResult
    credential: Credential | None
    replayed: bool


def earner_of(result: AssessmentResult) -> str:
    """Who earned a result, as one comparable key: their DID, else their lower-cased email."""
    return result.recipient_did or f"mailto:{result.recipient_email.strip().lower()}"


class Issuance:
    def __init__(self, session: Session, keystore: KeyStore, *, document_loader, urls: Urls,
                 clock: Callable[[], datetime], status_lists: StatusLists):
        self._session = session
        self._status_lists = status_lists
        self._keystore = keystore
        self._document_loader = document_loader
        self._urls = urls
        self._clock = clock

    def previous_outcome(self, issuer: Issuer, external_id: str) -> Outcome | None:
        result = self._session.scalar(_PREVIOUS_RESULT, {"b_issuer": issuer.id, "b_external_id": external_id})
        return Outcome(result, result.credential, replayed=True) if result else None

    def record_result(self, achievement: Achievement, data: dict) -> Outcome:
        """Store a completed assessment and, when it passes, the credential it earns.

        :raise ValidationFailed: the score is above the achievement's maximum, or the completion
            time is in the future.
        """
        now = self._clock()
        self.check_result(achievement, data, now=now)
        result = self.new_result(achievement, data, now=now)
        try:
            credential = (self._issue_for(result, achievement, now=now,
                                          credential_format=data.get("credential_format") or achievement.credential_format)
                          if result.passed else None)
        except DataIntegrityError as error:
            # Our own document failed to sign: a fault of this service, never of the caller. The
            # detail says what failed (a context or term of ours), never where in our code.
            log.error("credential for result %s could not be signed: %s", result.external_id, error)
            raise IssuanceFailed("issuance_failed", f"the credential could not be signed: {error}") from error
        if credential is None:
            self._insert(result)
        return Outcome(result, credential, replayed=False)

    def check_result(self, achievement: Achievement, data: dict, *, now: datetime) -> None:
        """:raise ValidationFailed: the score is above the achievement's maximum, or the completion
            time is in the future."""
        errors = {}
        if data["score"] > achievement.max_score:
            errors["score"] = [f"The score is above this achievement's maximum of {openbadges.score_text(achievement.max_score)}."]
        if data["completed_at"] > now + COMPLETION_CLOCK_SKEW:
            errors["completed_at"] = ["The completion time is in the future."]
        if errors:
            raise ValidationFailed(errors)

    def new_result(self, achievement: Achievement, data: dict, *, now: datetime) -> AssessmentResult:
        """The record of a checked result (not yet added to the session)."""
        passed = data["score"] >= achievement.passing_score
        recipient = data["recipient"]
        return AssessmentResult(
            id=new_id(),
            issuer_id=achievement.issuer_id,
            achievement_id=achievement.id,
            external_id=data["external_id"],
            recipient_email=recipient.get("email"),
            recipient_name=recipient.get("name"),
            recipient_did=recipient.get("id"),
            score=data["score"],
            completed_at=data["completed_at"],
            evidence=data["evidence"],
            passed=passed,
            reason=None if passed else (
                f"score {openbadges.score_text(data['score'])} is below the passing score of "
                f"{openbadges.score_text(achievement.passing_score)} out of {openbadges.score_text(achievement.max_score)}"
            ),
            received_at=now,
        )

    def _issue_for(self, result: AssessmentResult, achievement: Achievement, *, now: datetime,
                   credential_format: str = "ldp") -> Credential:
        """Sign the credential `result` earns, then add both. Signed first, with status positions
        read but not yet claimed, so the writes (which lock the issuer's lists until the commit)
        take a few statements, not a signature too; signed again only if a position was taken meanwhile."""
        issuer = achievement.issuer
        valid_until = now + isodate.parse_duration(achievement.valid_for) if achievement.valid_for else None
        key = self._keystore.active_key(issuer)
        signer = self._keystore.signer(key)
        credential_id = new_id()
        issuer_profile, achievement_document = self.issuer_profile(issuer), self.achievement_document(achievement)

        def signed_with(reservation: Reservation) -> tuple[dict, str | None]:
            unsigned = self.unsigned_credential(
                result, reservation, credential_id=credential_id, now=now, valid_until=valid_until,
                score=result.score, evidence=result.evidence, issuer_profile=issuer_profile,
                achievement_document=achievement_document)
            return self._sign(unsigned, signer, now), vc_jwt(unsigned, signer) if credential_format == "jwt" else None

        proposal = self._status_lists.propose(issuer)
        signed = signed_with(proposal) if proposal is not None else None
        # The writes begin: the result, then the positions (locking the lists).
        self._insert(result)
        reservation = self._status_lists.claim(issuer, proposal)
        if reservation is not proposal:
            signed = signed_with(reservation)
        earner = earner_of(result)
        # Looked up only now: the claim holds the issuer's list rows (PostgreSQL) or the write
        # lock (SQLite) until we commit, so a concurrent pass of the same earner waits and then
        # renews this new credential, not the same old one.
        renewed_id = self.current_credential_id(achievement, earner)
        document, jwt = signed
        credential = self._record(
            issuer, key, document, credential_id=credential_id, now=now, achievement_id=achievement.id,
            result_id=result.id, valid_from=now, valid_until=valid_until, earner=earner,
            credential_format=credential_format, jwt=jwt, renews_id=renewed_id, add=False)
        self._insert(credential)
        self._status_lists.hold(reservation, credential)
        if renewed_id is not None:
            # A renewal: the new credential has its own validity window; the old one is not revoked
            # and stays valid until it expires, but is no longer the earner's current one.
            self._session.connection().execute(_RENEWED, {"b_id": renewed_id, "renewed_by_id": credential_id})
        return credential

    def current_credential_id(self, achievement: Achievement, earner: str) -> str | None:
        """The id of the earner's current credential for `achievement`: not revoked, not renewed, the latest."""
        return self._session.connection().scalar(_CURRENT_CREDENTIAL, {
            "b_issuer": achievement.issuer_id, "b_achievement": achievement.id, "b_earner": earner})

    def issue_credential(self, achievement: Achievement, result: AssessmentResult, reservation: Reservation, *,
                         now: datetime, valid_until: datetime | None, score: Decimal, evidence: list[dict],
                         result_id: str | None, earner: str, credential_format: str = "ldp") -> Credential:
        """Build, sign and add an OpenBadgeCredential of `achievement` for the earner of `result`,
        valid from `now`, holding the status positions of `reservation`. A new pass gives its own
        result's score and evidence; a reissue (a correction) gives the corrected ones and no
        `result_id` (a result stands for one credential). A `credential_format` of "jwt" also
        signs and keeps its VC-JWT form, which is then the form it is answered and baked in.
        """
        issuer = achievement.issuer
        credential_id = new_id()
        unsigned = self.unsigned_credential(
            result, reservation, credential_id=credential_id, now=now, valid_until=valid_until, score=score,
            evidence=evidence, issuer_profile=self.issuer_profile(issuer),
            achievement_document=self.achievement_document(achievement),
        )
        credential = self.sign_and_store(
            issuer, unsigned, credential_id=credential_id, now=now,
            achievement_id=achievement.id, result_id=result_id,
            valid_from=now, valid_until=valid_until, earner=earner, credential_format=credential_format,
        )
        self._status_lists.hold(reservation, credential)
        return credential

    def unsigned_credential(self, result: AssessmentResult, reservation: Reservation, *, credential_id: str,
                            now: datetime, valid_until: datetime | None, score: Decimal, evidence: list[dict],
                            issuer_profile: dict, achievement_document: dict) -> dict:
        """The OpenBadgeCredential for the earner of `result`, before its proof."""
        if result.recipient_did:
            recipient = {"recipient_did": result.recipient_did}
        else:
            recipient = {"recipient_identifier": openbadges.hashed_email_identifier(result.recipient_email)}
        return openbadges.credential(
            credential_id=self._urls.credential(credential_id),
            credential_status=list(reservation.entries),
            issuer=issuer_profile,
            achievement=achievement_document,
            valid_from=now,
            valid_until=valid_until,
            score=score,
            evidence=evidence,
            **recipient,
        )

    def sign_and_store(self, issuer: Issuer, unsigned: dict, *, credential_id: str, now: datetime,
                       achievement_id: str | None = None, result_id: str | None = None,
                       valid_from: datetime | None = None, valid_until: datetime | None = None,
                       earner: str | None = None, credential_format: str = "ldp") -> Credential:
        """Sign with the issuer's active key and add the record; a "jwt" credential gets its VC-JWT
        too (the same credential, secured by the JWS instead of the Data Integrity proof).

        :raise DataIntegrityError: the document does not canonicalize in safe mode (an undefined
            term or an unknown context); nothing is added then.
        """
        key = self._keystore.active_key(issuer)
        signer = self._keystore.signer(key)
        return self._record(
            issuer, key, self._sign(unsigned, signer, now), credential_id=credential_id, now=now,
            achievement_id=achievement_id, result_id=result_id, valid_from=valid_from, valid_until=valid_until,
            earner=earner, credential_format=credential_format,
            jwt=vc_jwt(unsigned, signer) if credential_format == "jwt" else None)

    def _sign(self, unsigned: dict, signer, now: datetime) -> dict:
        return add_proof(unsigned, signer=signer, created=now, document_loader=self._document_loader,
                         cryptosuite=signer.cryptosuite)

    def _record(self, issuer: Issuer, key, signed: dict, *, credential_id: str, now: datetime,
                achievement_id: str | None, result_id: str | None, valid_from: datetime | None,
                valid_until: datetime | None, earner: str | None, credential_format: str, jwt: str | None,
                renews_id: str | None = None, add: bool = True) -> Credential:
        credential = Credential(
            id=credential_id,
            issuer_id=issuer.id,
            achievement_id=achievement_id,
            result_id=result_id,
            signing_key_id=key.id,
            document=signed,
            issued_at=now,
            valid_from=valid_from,
            valid_until=valid_until,
            status="active",
            earner=earner,
            credential_format=credential_format,
            jwt=jwt,
            renews_id=renews_id,
        )
        if add:
            self._session.add(credential)
        return credential

    def _insert(self, record: AssessmentResult | Credential) -> None:
        """Write a new result or credential at once, as one INSERT: the ORM's unit of work costs
        several times the statement. The object stays out of the session (nothing reads it back)."""
        self._session.connection().execute(_INSERTS[type(record)], row_of(record))

    def issuer_profile(self, issuer: Issuer) -> dict:
        return openbadges.profile(
            issuer_id=issuer.did, name=issuer.name, url=issuer.url, email=issuer.email,
            description=issuer.description,
        )

    def achievement_document(self, achievement: Achievement) -> dict:
        issuer = achievement.issuer
        document = openbadges.achievement(
            achievement_id=self._urls.achievement(achievement.id),
            name=achievement.name,
            description=achievement.description,
            criteria_narrative=achievement.criteria_narrative,
            creator=openbadges.profile(issuer_id=issuer.did, name=issuer.name, url=issuer.url),
            passing_score=achievement.passing_score,
            max_score=achievement.max_score,
            achievement_type=achievement.achievement_type,
            alignments=achievement.alignments,
            tags=achievement.tags,
            # An uploaded image is ours to serve; it replaces an image URL given at creation.
            image_url=(self._urls.achievement_image(achievement.id) if achievement.image_media_type is not None
                       else achievement.image_url),
        )
        if achievement.is_pathway:
            # Awarded for other credentials (issuer/pathways), not for a score.
            del document["resultDescription"]
        return document


