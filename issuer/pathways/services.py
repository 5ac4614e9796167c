"""Defining pathways, awarding their credentials, and keeping those in step with their components.

Everything only adds, updates and flushes; the caller's transaction commits it together with
what triggered it (the pass, the revocation), or nothing.

Concurrency. Two passes that complete one pathway for one earner must award it once. Before a
pathway is evaluated, its issuer's status-list rows are locked (a no-op write: a row lock on
PostgreSQL, the write lock on SQLite), as issuing any credential of that issuer does: evaluations
of one pathway run one after another, and each sees the awards committed before it (PostgreSQL
reads committed rows statement by statement). The unique `award_key` of `PathwayAward` is the
backstop. Locks are taken in the order issuance takes them: the component issuer's lists, then
the pathway issuer's. (Two issuers each with a pathway naming the other's achievements could in
principle lock in opposite orders; PostgreSQL then refuses one transaction as a deadlock.)
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import isodate
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from dataintegrity import DataIntegrityError
from issuer import audit, openbadges
from issuer.errors import Conflict
from issuer.issuance import IssuanceFailed
from issuer.models import (Achievement, ApiToken, Credential, Issuer, PathwayAward, PathwayComponent, StatusList,
                           is_id, new_id)
from issuer.pathways import requirements as req

log = logging.getLogger(__name__)

# A pathway credential is itself a component of pathways at most this deep.
MAX_CASCADE = 8


@dataclass(frozen=True)
class Award:
    credential_id: str
    achievement_id: str


def components(session: Session, achievement_id: str) -> list[str]:
    """The achievement ids a pathway names in its requirements (empty for any other achievement)."""
    achievement = session.get(Achievement, achievement_id) if is_id(achievement_id) else None
    if achievement is None or achievement.requirements is None:
        return []
    return req.achievements_in(achievement.requirements)


def earner_identity(earner: str) -> dict:
    """The credential subject's identity: a DID, or the hashed email."""
    if earner.startswith("mailto:"):
        return {"recipient_identifier": openbadges.hashed_email_identifier(earner.removeprefix("mailto:"))}
    return {"recipient_did": earner}


class Pathways:
    def __init__(self, session: Session, services, *, token: ApiToken | None):
        self._session = session
        self._services = services
        self._token = token
        self._clock = services.clock

    # --- definitions --------------------------------------------------------------------------

    def check_requirements(self, issuer: Issuer, tree: dict, *, pathway_id: str | None = None) -> dict:
        """The normalized tree, its achievements existing and ours to name, without a cycle.

        :raise RequirementsInvalid: naming each bad part by its JSON path.
        """
        session = self._session
        urls = self._services.urls
        prefix = urls.achievement("")

        def achievement_id_of(text: str) -> str | None:
            achievement_id = text.removeprefix(prefix) if text.startswith(prefix) else text
            if not is_id(achievement_id):
                return None
            achievement = session.get(Achievement, achievement_id)
            if achievement is None:
                return None
            if achievement.issuer_id != issuer.id and not achievement.issuer.pathways_open:
                return None
            return achievement_id

        tree = req.normalize(tree, achievement_id_of=achievement_id_of)
        if pathway_id is not None:
            for achievement_id in req.achievements_in(tree):
                if achievement_id == pathway_id or pathway_id in self._closure(achievement_id):
                    raise req.RequirementsInvalid({req.path_to(tree, achievement_id): [
                        "A cycle: this achievement is this pathway, or a pathway that needs it."]})
        return tree

    def create(self, issuer: Issuer, data: dict) -> Achievement:
        """Add a pathway from a loaded `PathwayCreateSchema` body, with its audit entry.

        :raise RequirementsInvalid: naming each bad part of the requirements by its JSON path.
        """
        session = self._session
        now = self._clock()
        tree = self.check_requirements(issuer, data["requirements"])
        pathway = Achievement(
            id=new_id(), issuer_id=issuer.id, name=data["name"], description=data["description"],
            criteria_narrative=data["criteria"]["narrative"], achievement_type=data["achievement_type"],
            alignments=[], tags=[], image_url=None, passing_score=0, max_score=0, valid_for=data["valid_for"],
            requirements=tree, all_valid_at_once=data["all_valid_at_once"], created_at=now)
        pathway.issuer = issuer
        session.add(pathway)
        session.flush()
        self.set_components(pathway)
        audit.record(session, action="pathway.create", token=self._token, issuer_id=issuer.id,
                     subject_type="achievement", subject_id=pathway.id, at=now, details={"requirements": tree})
        return pathway

    def _closure(self, achievement_id: str) -> set[str]:
        """Every achievement a pathway needs, directly or through the pathways it needs."""
        seen: set[str] = set()
        todo = [achievement_id]
        while todo:
            current = todo.pop()
            for component in self._session.scalars(
                    select(PathwayComponent.achievement_id).where(PathwayComponent.pathway_id == current)):
                if component not in seen:
                    seen.add(component)
                    todo.append(component)
        return seen

    def set_components(self, pathway: Achievement) -> None:
        session = self._session
        wanted = set(req.achievements_in(pathway.requirements))
        have = set(session.scalars(select(PathwayComponent.achievement_id)
                                   .where(PathwayComponent.pathway_id == pathway.id)))
        if have - wanted:
            session.execute(delete(PathwayComponent).where(PathwayComponent.pathway_id == pathway.id,
                                                           PathwayComponent.achievement_id.in_(have - wanted)))
        for achievement_id in sorted(wanted - have):
            session.add(PathwayComponent(pathway_id=pathway.id, achievement_id=achievement_id))

    def awarded(self, pathway: Achievement) -> int:
        return self._session.scalar(select(func.count()).select_from(Credential)
                                    .where(Credential.achievement_id == pathway.id))

    def require_unawarded(self, pathway: Achievement) -> None:
        """:raise Conflict: a credential of the pathway was issued; its definition is fixed."""
        count = self.awarded(pathway)
        if count:
            raise Conflict("pathway_awarded", f"pathway {pathway.id} has been awarded {count} time(s); "
                           "its definition can no longer change (define a new pathway)")

    # --- evaluation ---------------------------------------------------------------------------

    def held(self, earner: str, achievement_ids: Iterable[str]) -> dict[str, list[req.Held]]:
        """The earner's credentials of `achievement_ids` that may count: active (not revoked nor
        suspended), valid from before now."""
        now = self._clock()
        held: dict[str, list[req.Held]] = {}
        rows = self._session.execute(
            select(Credential.id, Credential.achievement_id, Credential.valid_until)
            .where(Credential.earner == earner, Credential.achievement_id.in_(list(achievement_ids)),
                   Credential.status == "active", Credential.valid_from <= now)
        )
        for credential_id, achievement_id, valid_until in rows:
            held.setdefault(achievement_id, []).append(req.Held(
                credential_id, achievement_id, valid_until, valid_until is not None and valid_until <= now))
        return held

    def evaluate(self, pathway: Achievement, earner: str) -> req.Evaluation:
        tree = pathway.requirements
        return req.evaluate(tree, self.held(earner, req.achievements_in(tree)),
                            all_valid_at_once=pathway.all_valid_at_once)

    def current_award(self, pathway: Achievement, earner: str) -> tuple[Credential, PathwayAward] | None:
        """The earner's current credential of the pathway (not revoked, not renewed), with its award."""
        row = self._session.execute(
            select(Credential, PathwayAward).join(PathwayAward, PathwayAward.credential_id == Credential.id)
            .where(PathwayAward.pathway_id == pathway.id, Credential.earner == earner,
                   Credential.status != "revoked", Credential.renewed_by_id.is_(None))
            .order_by(Credential.issued_at.desc(), Credential.id.desc()).limit(1)
        ).first()
        return (row[0], row[1]) if row else None

    # --- in step with the components -----------------------------------------------------------

    def after_issue(self, credentials: Iterable[tuple[str, str, str]]) -> dict[str, list[Award]]:
        """Award what new credentials complete: `credentials` are (credential id, achievement id,
        earner). Answers credential id -> the pathway credentials its pass awarded (or renewed)."""
        credentials = list(credentials)
        # Most achievements are in no pathway: one query for the whole lot, not one per credential.
        named = set(self._session.scalars(select(PathwayComponent.achievement_id).where(
            PathwayComponent.achievement_id.in_({achievement_id for _, achievement_id, _ in credentials}))))
        awards: dict[str, list[Award]] = {}
        for credential_id, achievement_id, earner in credentials:
            if achievement_id in named:
                awards[credential_id] = self._cascade(achievement_id, earner, trigger=credential_id, issued=True)
        return awards

    def after_status_change(self, credential_ids: Iterable[str]) -> None:
        """Keep pathway credentials in step with components that were revoked, suspended,
        unsuspended or reissued."""
        rows = self._session.execute(
            select(Credential.id, Credential.achievement_id, Credential.earner)
            .where(Credential.id.in_(list(credential_ids)), Credential.achievement_id.is_not(None),
                   Credential.earner.is_not(None))).all()
        named = set(self._session.scalars(select(PathwayComponent.achievement_id).where(
            PathwayComponent.achievement_id.in_({achievement_id for _, achievement_id, _ in rows}))))
        for credential_id, achievement_id, earner in rows:
            if achievement_id in named:
                self._cascade(achievement_id, earner, trigger=credential_id, issued=False)

    def _cascade(self, achievement_id: str, earner: str, *, trigger: str, issued: bool) -> list[Award]:
        """Reconcile every pathway naming `achievement_id`; then those naming a pathway whose
        credential changed, and so on."""
        awards: list[Award] = []
        todo = [(achievement_id, trigger, 0)]
        while todo:
            current, cause, depth = todo.pop(0)
            pathways = list(self._session.scalars(
                select(Achievement).join(PathwayComponent, PathwayComponent.pathway_id == Achievement.id)
                .where(PathwayComponent.achievement_id == current).order_by(Achievement.issuer_id, Achievement.id)))
            for pathway in pathways:
                self._lock(pathway.issuer_id)
                awarded = self.reconcile(pathway, earner, trigger=cause, issued=issued)
                # A suspension or unsuspension cascades through the lifecycle's own call of
                # after_status_change; a new credential is ours to follow.
                if awarded is not None:
                    if issued:
                        awards.append(Award(awarded.id, pathway.id))
                    if depth < MAX_CASCADE:
                        # A pass's awards all name its credential (`awarded_for`), nested ones too:
                        # its replayed answer finds them by it.
                        todo.append((pathway.id, trigger if issued else awarded.id, depth + 1))
        return awards

    def _lock(self, issuer_id: str) -> None:
        # A write that changes nothing: see the module doc.
        self._session.execute(update(StatusList).where(StatusList.issuer_id == issuer_id)
                              .values(allocated=StatusList.allocated).execution_options(synchronize_session=False))

    def reconcile(self, pathway: Achievement, earner: str, *, trigger: str, issued: bool) -> Credential | None:
        """Make the earner's pathway credential agree with their components; answers the
        credential issued (a first award or a renewal), else None.

        - met, none held: award one;
        - met, and the end it allows is later than the current credential's: renew it;
        - met, the current one suspended by us for a component: unsuspend it;
        - not met, after a component was revoked or suspended: suspend the current one, naming it.
        """
        from issuer.lifecycle import InvalidTransition, Lifecycle, StatusNotPublished

        now = self._clock()
        evaluation = self.evaluate(pathway, earner)
        current = self.current_award(pathway, earner)
        lifecycle = Lifecycle(self._session, self._services)
        if evaluation.satisfied:
            if pathway.valid_for:
                valid_until = now + isodate.parse_duration(pathway.valid_for)
            else:
                valid_until = None if evaluation.until == req.FOREVER else evaluation.until
            if current is None:
                return self.award(pathway, earner, evaluation, valid_until=valid_until, trigger=trigger, renews=None)
            credential, award = current
            ends = credential.valid_until or req.FOREVER
            expired = credential.valid_until is not None and credential.valid_until <= now
            extends = not pathway.valid_for and (valid_until or req.FOREVER) > ends
            if issued and (expired or extends) and credential.status != "suspended" or (
                    credential.status == "suspended" and award.suspended_for is not None and (expired or extends)):
                return self.award(pathway, earner, evaluation, valid_until=valid_until, trigger=trigger,
                                  renews=credential)
            if credential.status == "suspended" and award.suspended_for is not None:
                try:
                    lifecycle.unsuspend(credential, reason=f"its components are valid again (credential "
                                        f"{self._services.urls.credential(trigger)})", token=self._token)
                except (InvalidTransition, StatusNotPublished) as error:
                    log.warning("pathway credential %s not unsuspended: %s", credential.id, error.detail)
                    return None
                award.suspended_for = None
            return None
        if issued or current is None:
            return None
        credential, award = current
        if credential.status != "active":
            return None
        component = self._session.get(Credential, trigger)
        name = component.achievement.name if component is not None and component.achievement else "a component"
        state = component.status if component is not None else "changed"
        reason = (f"component {self._services.urls.credential(trigger)} ({name}) was {state}"
                  + (f": {component.status_reason}" if component is not None and component.status_reason else ""))
        try:
            lifecycle.suspend(credential, reason=reason, token=self._token)
        except (InvalidTransition, StatusNotPublished) as error:
            log.warning("pathway credential %s not suspended: %s", credential.id, error.detail)
            return None
        award.suspended_for = trigger
        return None

    def award(self, pathway: Achievement, earner: str, evaluation: req.Evaluation, *, valid_until, trigger: str,
              renews: Credential | None) -> Credential:
        """Issue the pathway credential: its evidence points at each component credential counted."""
        session = self._session
        services = self._services
        now = self._clock()
        used = sorted({h.credential_id for h in evaluation.used})
        key = hashlib.sha256("|".join([pathway.id, earner, *used, renews.id if renews else ""]).encode()).hexdigest()
        issuance = services.issuance(session)
        status_lists = services.status_lists(session)
        reservation = status_lists.reserve(pathway.issuer)
        credential_id = new_id()
        names = dict(session.execute(select(Credential.id, Achievement.name)
                                     .join(Achievement, Achievement.id == Credential.achievement_id)
                                     .where(Credential.id.in_(used))).all())
        evidence = [{"id": services.urls.credential(i), "name": names.get(i),
                     "description": "A component credential of this pathway"} for i in used]
        achievement_document = issuance.achievement_document(pathway)  # without a resultDescription
        unsigned = openbadges.credential(
            credential_id=services.urls.credential(credential_id),
            credential_status=list(reservation.entries),
            issuer=issuance.issuer_profile(pathway.issuer), achievement=achievement_document,
            valid_from=now, valid_until=valid_until, score=0, evidence=evidence, **earner_identity(earner))
        unsigned["credentialSubject"].pop("result")
        try:
            credential = issuance.sign_and_store(pathway.issuer, unsigned, credential_id=credential_id, now=now,
                                                 achievement_id=pathway.id, valid_from=now,
                                                 valid_until=valid_until, earner=earner)
        except DataIntegrityError as error:
            log.error("pathway credential of %s could not be signed: %s", pathway.id, error)
            raise IssuanceFailed("issuance_failed", f"the pathway credential could not be signed: {error}") from error
        status_lists.hold(reservation, credential)
        session.add(PathwayAward(credential_id=credential_id, pathway_id=pathway.id, earner=earner, award_key=key,
                                 components=used, awarded_for=trigger))
        if renews is not None:
            credential.renews_id = renews.id
            session.flush()
            renews.renewed_by_id = credential.id
        session.flush()
        action, details = ("credential.renew", {"renews": renews.id}) if renews else ("credential.issue", {})
        audit.record(session, action=action, token=self._token, issuer_id=pathway.issuer_id,
                     subject_type="credential", subject_id=credential_id, at=now,
                     details={**details, "achievement_id": pathway.id, "pathway_components": used,
                              "awarded_for": trigger})
        return credential

    def awards_for(self, credential_id: str) -> list[Award]:
        """The pathway credentials the pass of `credential_id` awarded (for a replayed answer)."""
        return [Award(c, p) for c, p in self._session.execute(
            select(PathwayAward.credential_id, PathwayAward.pathway_id)
            .where(PathwayAward.awarded_for == credential_id).order_by(PathwayAward.credential_id))]

    # --- progress -----------------------------------------------------------------------------

    def progress(self, earner: str, *, issuer_id: str | None) -> list[dict]:
        statement = select(Achievement).where(Achievement.requirements.is_not(None)).order_by(Achievement.created_at,
                                                                                               Achievement.id)
        if issuer_id is not None:
            statement = statement.where(Achievement.issuer_id == issuer_id)
        answers = []
        for pathway in self._session.scalars(statement):
            evaluation = self.evaluate(pathway, earner)
            current = self.current_award(pathway, earner)
            answers.append({
                "id": pathway.id, "name": pathway.name, "issuer": pathway.issuer.slug,
                "complete": evaluation.satisfied,
                "credential_id": current[0].id if current else None,
                "status": current[0].status if current else None,
                "requirements": evaluation.view,
            })
        return answers
