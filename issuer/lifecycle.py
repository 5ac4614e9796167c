"""What happens to a credential after it is issued: revoke (final), suspend, unsuspend, and
reissue (a corrected credential replaces it).

A credential's status is what our status lists publish, so every change here also marks the
credential's lists as changed (they are signed again at their next fetch) and writes an audit
entry. Everything only adds, updates and flushes; the caller's transaction commits it all or
nothing.

Each status change is one conditional UPDATE (`WHERE id = ? AND status IN (allowed)`): of two
concurrent changes of one credential the database lets exactly one through, the other finds no
row in an allowed state and is refused as an invalid transition. That holds on PostgreSQL (the
second UPDATE waits for the first's row lock, then re-checks the condition) and on SQLite (writes
are serialized by the database lock), with no SELECT ... FOR UPDATE, which SQLite ignores.

Locks are taken in one order, the issuer's status-list rows before the credential's row, as
issuance takes them (its reservation locks the lists, then a renewal updates the credential it
renews). The opposite order here could deadlock with a concurrent renewal on PostgreSQL. A
refused change rolls back the list version it bumped, so a list is never re-signed for nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dataintegrity import DataIntegrityError
from issuer import audit, openbadges
from issuer.webhooks import events
from issuer.errors import Conflict, Forbidden, NotFound, ValidationFailed
from issuer.issuance import IssuanceFailed, earner_of
from issuer.models import ApiToken, Credential, StatusEntry, StatusList, is_id

log = logging.getLogger(__name__)

# The status_reason of a credential replaced by a reissue; the admin's reason is in the audit log.
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Transition:
    action: str  # the audit action
    event: str  # the webhook event (issuer/webhooks/events.py)
    done: str  # what a credential is then said to be: "can be <done>"
    allowed: tuple[str, ...]  # the statuses it may start from
    target: str  # the status it ends in
    purpose: str  # the status list that must publish the change


REVOKE = Transition("credential.revoke", events.REVOKED, "revoked", ("active", "suspended"), "revoked", "revocation")
SUSPEND = Transition("credential.suspend", events.SUSPENDED, "suspended", ("active",), "suspended", "suspension")
UNSUSPEND = Transition("credential.unsuspend", events.REINSTATED, "unsuspended", ("suspended",), "active", "suspension")
# A reissue revokes the credential it corrects, so it starts from where a revocation may.
REISSUE = Transition("credential.reissue", events.REISSUED, "reissued", ("active", "suspended"), "revoked", "revocation")


def unpublished(session: Session, credential_ids: list[str], purpose: str) -> list[str]:
    """Those of the credentials with no position in a list of `purpose`: a change of that kind
    would be ours alone, and every verifier would go on seeing the credential as it was (VC API
    credentials carry no status; with STATUS_PURPOSES ["revocation"], none has a suspension)."""
    listed = set(session.scalars(
        select(StatusEntry.credential_id).join(StatusList, StatusList.id == StatusEntry.list_id)
        .where(StatusEntry.credential_id.in_(credential_ids), StatusList.purpose == purpose)
    ))
    return [i for i in credential_ids if i not in listed]


class StatusNotPublished(Conflict):
    def __init__(self, credential_id: str, transition: Transition):
        super().__init__(
            "status_unsupported",
            f"credential {credential_id} carries no {transition.purpose} status list entry, so no verifier would "
            f"see it {transition.done}; nothing was changed",
        )


class InvalidTransition(Conflict):
    """The credential's status does not allow the change. One code for every such refusal; the
    problem's `credential_status` says what the status is."""

    def __init__(self, credential_id: str, transition: Transition, current: str):
        allowed = " or ".join(transition.allowed)
        super().__init__(
            "invalid_transition",
            f"credential {credential_id} is {current}; only a credential that is {allowed} can be {transition.done}"
            + (" (a revocation is final)" if current == "revoked" else ""),
            extra={"credential_status": current},
        )


class Lifecycle:
    """Status changes of issued credentials. `token` is the API token that acts, None for the
    command line; it goes into the audit entry."""

    def __init__(self, session: Session, services, *, user: str | None = None):
        """`user`: the email of the console user who acts (issuer/console), for the audit log."""
        self._user = user
        self._session = session
        self._services = services
        self._clock = services.clock

    def revoke(self, credential: Credential, *, reason: str, token: ApiToken | None) -> None:
        """Revoke for good: the revocation bit is set and stays set.

        :raise InvalidTransition: the credential is revoked already.
        """
        self._change(credential, REVOKE, reason=reason, token=token)

    def suspend(self, credential: Credential, *, reason: str, token: ApiToken | None) -> None:
        """:raise InvalidTransition: the credential is not active."""
        self._change(credential, SUSPEND, reason=reason, token=token)

    def unsuspend(self, credential: Credential, *, reason: str, token: ApiToken | None) -> None:
        """:raise InvalidTransition: the credential is not suspended."""
        self._change(credential, UNSUSPEND, reason=reason, token=token)

    def revoke_many(self, credential_ids: list[str], *, reason: str, token: ApiToken | None) -> list[str]:
        """Revoke every one of `credential_ids`, or none of them; returns the ids revoked.

        Each refusal names every offending id in the problem's `errors["credential_ids"]`.

        :raise NotFound: an id names no credential.
        :raise Forbidden: a credential belongs to an issuer other than the token's.
        :raise InvalidTransition: a credential is revoked already (or was just revoked by a
            concurrent request).
        """
        session = self._session
        found = {
            c.id: c for c in session.scalars(
                select(Credential).where(Credential.id.in_([i for i in credential_ids if is_id(i)]))
            )
        }
        unknown, out_of_scope, revoked_already = {}, {}, {}
        for credential_id in credential_ids:
            credential = found.get(credential_id)
            if credential is None:
                unknown[credential_id] = [f"There is no credential {credential_id!r}."]
            elif token is not None and token.issuer_id is not None and credential.issuer_id != token.issuer_id:
                out_of_scope[credential_id] = ["This token is scoped to another issuer."]
            elif credential.status not in REVOKE.allowed:
                revoked_already[credential_id] = [f"It is {credential.status} already; a revocation is final."]
        # Every offending id is named, whatever its kind; the first kind found sets the answer's status.
        offending = {"credential_ids": {**unknown, **out_of_scope, **revoked_already}}
        if unknown:
            raise NotFound("credential_not_found", f"{len(unknown)} of the credentials do not exist; nothing was revoked",
                           errors=offending)
        if out_of_scope:
            raise Forbidden("token_scope", f"{len(out_of_scope)} of the credentials belong to another issuer; "
                            "nothing was revoked", errors=offending)
        if revoked_already:
            raise Conflict("invalid_transition", f"{len(revoked_already)} of the credentials are revoked already; "
                           "nothing was revoked", errors=offending)
        not_listed = unpublished(session, list(credential_ids), REVOKE.purpose)
        if not_listed:
            raise Conflict("status_unsupported", f"{len(not_listed)} of the credentials carry no revocation status "
                           "entry, so no verifier would see them revoked; nothing was revoked",
                           errors={"credential_ids": {i: ["It has no revocation status entry."] for i in not_listed}})

        now = self._clock()
        credentials = [found[i] for i in credential_ids]
        self._services.status_lists(session).changed(credentials)  # list rows first (see the module doc)
        changed = set(session.scalars(
            update(Credential)
            .where(Credential.id.in_(credential_ids), Credential.status.in_(REVOKE.allowed))
            .values(status=REVOKE.target, status_reason=reason, status_changed_at=now)
            .returning(Credential.id)
            .execution_options(synchronize_session=False)
        ))
        missed = [i for i in credential_ids if i not in changed]
        if missed:
            # Revoked by a concurrent request since we looked; raising rolls back ours as well.
            raise Conflict("invalid_transition", f"{len(missed)} of the credentials were revoked meanwhile by another "
                           "request; nothing was revoked",
                           errors={"credential_ids": {i: ["It was revoked meanwhile by another request."] for i in missed}})
        for credential in credentials:
            audit.record(session, user=self._user, action=REVOKE.action, token=token, issuer_id=credential.issuer_id,
                         subject_type="credential", subject_id=credential.id, at=now, reason=reason,
                         details={"bulk": len(credential_ids)})
            events.publish(session, type=REVOKE.event, credential=credential, now=now, reason=reason)
            session.expire(credential)
        self._in_step(list(credential_ids), token)
        return list(credential_ids)

    def reissue(self, credential: Credential, *, reason: str, token: ApiToken | None,
                score: Decimal | None = None, evidence: list[dict] | None = None) -> Credential:
        """Replace `credential` with a corrected one and return it.

        The new credential has a new id and new status positions, is signed with the issuer's active
        key, and keeps the achievement, the earner and the validUntil (a correction is not a
        renewal); its score and evidence are the corrected ones given, else the old credential's.
        The old one is revoked with status_reason "superseded"; the two link both ways. The new
        one takes over the old one's renewal links (`renews`, `renewed_by`), the earner's choices
        (page visibility, display name) and management link.

        :raise Conflict: `reissue_unsupported`: the credential was not earned from an assessment
            (signed through the VC API), so there is nothing to build a corrected one from.
        :raise ValidationFailed: the score is above the achievement's maximum or below its
            passing score.
        :raise InvalidTransition: the credential is revoked.
        """
        session = self._session
        achievement, origin = credential.achievement, credential.origin_result
        if achievement is None or origin is None:
            raise Conflict("reissue_unsupported", f"credential {credential.id} was signed through the VC API, not "
                           "earned from an assessment; only earned credentials can be reissued")
        if unpublished(session, [credential.id], REISSUE.purpose):
            raise StatusNotPublished(credential.id, REISSUE)
        if credential.valid_until is not None and credential.valid_until <= self._clock():
            # The correction keeps validUntil, so it would be born expired (validFrom after validUntil).
            raise Conflict("credential_expired", f"credential {credential.id} expired at "
                           f"{openbadges.xsd_datetime(credential.valid_until)}; a new pass renews it instead")
        if score is not None:
            if score > achievement.max_score:
                raise ValidationFailed({"score": [
                    f"The score is above this achievement's maximum of {openbadges.score_text(achievement.max_score)}."]})
            if score < achievement.passing_score:
                raise ValidationFailed({"score": [
                    f"The score is below this achievement's passing score of "
                    f"{openbadges.score_text(achievement.passing_score)}; a reissued credential must still pass."]})

        now = self._clock()
        status_lists = self._services.status_lists(session)
        # List rows first (see the module doc): the new credential's positions, then the old one's lists.
        reservation = status_lists.reserve(credential.issuer)
        status_lists.changed([credential])
        # Claim the old credential before anything is signed: a concurrent reissue or revocation of
        # it is refused here. Its row is then ours (locked, or the SQLite write lock held), so what
        # we read from it below is current.
        self._update_status(credential, REISSUE, reason=SUPERSEDED, now=now)
        manage_token_hash = credential.manage_token_hash
        try:
            successor = self._services.issuance(session).issue_credential(
                achievement, origin, reservation, now=now, valid_until=credential.valid_until,
                score=score if score is not None else _score_in(credential.document),
                evidence=evidence if evidence is not None else _evidence_in(credential.document),
                result_id=None, earner=credential.earner or earner_of(origin),
                credential_format=credential.credential_format,
            )
        except DataIntegrityError as error:
            log.error("the reissue of credential %s could not be signed: %s", credential.id, error)
            raise IssuanceFailed("issuance_failed", f"the credential could not be signed: {error}") from error
        successor.supersedes_id = credential.id
        # The correction takes the old one's place among the earner's renewals: it renews what the
        # old one renewed, and is not current when the old one was renewed already.
        successor.renews_id = credential.renews_id
        successor.renewed_by_id = credential.renewed_by_id
        successor.public = credential.public
        successor.display_name = credential.display_name
        session.flush()  # the successor's row first: superseded_by_id refers to it
        # The management link's hash is unique: the old row lets go of it before the new one holds it.
        session.execute(
            update(Credential).where(Credential.id == credential.id)
            .values(superseded_by_id=successor.id, manage_token_hash=None)
            .execution_options(synchronize_session=False)
        )
        successor.manage_token_hash = manage_token_hash
        corrected = [name for name, value in (("score", score), ("evidence", evidence)) if value is not None]
        audit.record(session, user=self._user, action=REISSUE.action, token=token, issuer_id=credential.issuer_id,
                     subject_type="credential", subject_id=credential.id, at=now, reason=reason,
                     details={"successor": successor.id, "corrected": corrected})
        events.publish(session, type=REISSUE.event, credential=credential, now=now, reason=reason,
                       data={"successor": successor.id})
        session.flush()
        session.expire(credential)
        self._in_step([credential.id], token)
        return successor

    def _change(self, credential: Credential, transition: Transition, *, reason: str, token: ApiToken | None) -> None:
        if unpublished(self._session, [credential.id], transition.purpose):
            raise StatusNotPublished(credential.id, transition)
        now = self._clock()
        self._services.status_lists(self._session).changed([credential])  # list rows first (see the module doc)
        self._update_status(credential, transition, reason=reason, now=now)
        audit.record(self._session, user=self._user, action=transition.action, token=token, issuer_id=credential.issuer_id,
                     subject_type="credential", subject_id=credential.id, at=now, reason=reason,
                     details={"status": transition.target})
        events.publish(self._session, type=transition.event, credential=credential, now=now, reason=reason)
        self._in_step([credential.id], token)

    def _in_step(self, credential_ids: list[str], token: ApiToken | None) -> None:
        """Pathway credentials follow their components' changes (issuer/pathways)."""
        from issuer.pathways import Pathways

        self._session.flush()
        Pathways(self._session, self._services, token=token).after_status_change(credential_ids)

    def _update_status(self, credential: Credential, transition: Transition, *, reason: str, now) -> None:
        """The conditional UPDATE; afterwards `credential` reloads what is stored.

        :raise InvalidTransition: the stored status is not one the transition may start from.
        """
        changed = self._session.execute(
            update(Credential)
            .where(Credential.id == credential.id, Credential.status.in_(transition.allowed))
            .values(status=transition.target, status_reason=reason, status_changed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            current = self._session.scalar(select(Credential.status).where(Credential.id == credential.id))
            raise InvalidTransition(credential.id, transition, current)
        self._session.expire(credential)


def _score_in(document: dict) -> Decimal:
    """The score a credential we signed states (its one Result's value)."""
    return Decimal(document["credentialSubject"]["result"][0]["value"])


def _evidence_in(document: dict) -> list[dict]:
    """A credential's evidence, in the shape results give it."""
    fields = ("id", "name", "description", "narrative", "genre")
    return [{key: item.get(key) for key in fields} for item in document.get("evidence", [])]
