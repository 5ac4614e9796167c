"""Recording many results of one achievement at once.

Each item gets the answer `POST .../results` would give it (a replay of an earlier `external_id`
included), in order. What is per credential on the single route is per chunk here: one claim of
status positions per list, one lookup of the earners' current credentials, one insert per table,
one commit; the signing key is unsealed once per batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import isodate
from marshmallow import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from dataintegrity import DataIntegrityError, add_proof
from issuer.webhooks import events
from issuer.bodies import refuse_nul_text
from issuer.db import transaction
from issuer.errors import ApiError, Conflict, ValidationFailed, problem_body
from issuer.issuance import IssuanceFailed, earner_of, row_of
from issuer.vcjwt import vc_jwt
from issuer.models import Achievement, ApiToken, AssessmentResult, AuditEntry, Credential, StatusEntry, new_id
from issuer.pathways import Pathways
from schemas.result import ResultAnswerSchema, ResultCreateSchema

log = logging.getLogger(__name__)

# Schemas hold no per-call state; building one per item would cost more than using it.
_RESULT_SCHEMA = ResultCreateSchema()
_ANSWER_SCHEMA = ResultAnswerSchema()

# Items signed and stored per transaction: large enough to amortise the commit and the list-row
# lock, small enough that concurrent single issuances wait on that lock only briefly.
CHUNK_SIZE = 200
# A concurrent request may record one of our external_ids first; the chunk is then redone with
# that item answered as a replay. More races than this in a row are a fault, not bad luck.
_RETRIES = 3


@dataclass
class ItemAnswer:
    """What the single route would answer for one item: its status and body (or problem body)."""

    index: int
    external_id: str | None
    status: int
    body: dict
    replayed: bool = False
    row: int | None = None

    @property
    def failed(self) -> bool:
        return self.status >= 400

    def view(self) -> dict:
        view = {"index": self.index}
        if self.row is not None:
            view["row"] = self.row
        view.update({"external_id": self.external_id, "status": self.status, "replayed": self.replayed})
        if self.failed:
            view["error"] = self.body
        else:
            view.update(self.body)
        return view


class BatchRefused(ApiError):
    """An atomic batch with refused items: nothing was recorded."""

    status, title = 422, "Batch refused"


@dataclass
class _Pending:
    index: int
    data: dict
    # Later items of the batch with the same external_id: replays of this one.
    repeats: list[int] = field(default_factory=list)


def _answer_of_error(index: int, external_id: str | None, error: ApiError) -> ItemAnswer:
    return ItemAnswer(index, external_id, error.status,
                      problem_body(error.status, error.code, error.title, error.detail,
                                   errors=error.errors, extra=error.extra))


def _result_answer(index: int, result: AssessmentResult, credential: Credential | dict | None, *,
                   replayed: bool) -> ItemAnswer:
    """The body of `issuer.api.result_answer`, for one item."""
    if credential is None:
        body = {"passed": False, "result_id": result.id, "reason": result.reason}
        return ItemAnswer(index, result.external_id, 200, _ANSWER_SCHEMA.dump(body), replayed)
    if isinstance(credential, Credential):
        credential = {"id": credential.id, "document": credential.document, "renews_id": credential.renews_id,
                      "credential_format": credential.credential_format, "jwt": credential.jwt}
    form = credential["jwt"] if credential["credential_format"] == "jwt" and credential["jwt"] else credential["document"]
    body = {"passed": True, "result_id": result.id, "credential_id": credential["id"], "credential": form,
            "credential_format": credential["credential_format"], "renews": credential["renews_id"]}
    return ItemAnswer(index, result.external_id, 201, _ANSWER_SCHEMA.dump(body), replayed)


class BatchIssuance:
    def __init__(self, session: Session, services, *, token: ApiToken | None, user: str | None = None):
        """`token` is the token acting (its audit entries name it), None for the command line;
        `user` the email of the console user acting (issuer/console), named in the entries."""
        self._user = user
        self._session = session
        self._services = services
        self._issuance = services.issuance(session)
        self._status_lists = services.status_lists(session)
        self._keystore = services.keystore(session)
        self._token = token
        self._signers: dict[str, object] = {}

    def record(self, achievement: Achievement, items: list, *, atomic: bool = False,
               rows: list[int] | None = None, progress: Callable[[int], None] | None = None) -> list[ItemAnswer]:
        """Record `items` (result bodies, unchecked) and answer each, in order. Commits per chunk;
        with `atomic`, once for all of them, and only when no item is refused.

        :param rows: the CSV row of each item, repeated in its answer.
        :param progress: called with the number of items just answered, as they are.
        :raise BatchRefused: `atomic`, and some items were refused (nothing was recorded); its
            `items` name every one of them.
        :raise IssuanceFailed: `atomic`, and a credential could not be signed.
        """
        if achievement.is_pathway:
            raise Conflict("pathway_takes_no_results", f"achievement {achievement.id} is a pathway: it is awarded when "
                           "its components are earned, not for an assessment result")
        answers: list[ItemAnswer | None] = [None] * len(items)
        now = self._services.clock()
        checked: list[tuple[int, dict]] = []
        for index, item in enumerate(items):
            try:
                checked.append((index, self._check(achievement, item, now=now)))
            except ApiError as error:
                external_id = item.get("external_id") if isinstance(item, dict) else None
                answers[index] = _answer_of_error(index, external_id if isinstance(external_id, str) else None, error)
        if atomic:
            self._record_atomically(achievement, checked, answers, rows, now=now)
            if progress is not None:
                progress(len(items))
        else:
            self._record_in_chunks(achievement, self._replay(achievement, checked, answers), answers,
                                   now=now, progress=progress)
        final = [answer for answer in answers if answer is not None]
        assert len(final) == len(items)
        if rows is not None:
            for answer in final:
                answer.row = rows[answer.index]
        return final

    # --- checks and replays ---------------------------------------------------------------------

    def _check(self, achievement: Achievement, item, *, now) -> dict:
        if isinstance(item, dict):
            refuse_nul_text(item)
        try:
            data = _RESULT_SCHEMA.load(item)
        except ValidationError as error:
            raise ValidationFailed(error.messages) from None
        self._issuance.check_result(achievement, data, now=now)
        return data

    def _replay(self, achievement: Achievement, checked: list[tuple[int, dict]],
                answers: list[ItemAnswer | None]) -> list[_Pending]:
        """Answer the items recorded before (as replays) and the repeats of an external_id within
        the batch (as replays of its first item, later); the rest is pending, first items first."""
        external_ids = {data["external_id"] for _, data in checked}
        earlier: dict[str, AssessmentResult] = {}
        ids = sorted(external_ids)
        for start in range(0, len(ids), 500):
            for result in self._session.scalars(
                select(AssessmentResult).options(selectinload(AssessmentResult.credential))
                .where(AssessmentResult.issuer_id == achievement.issuer_id,
                       AssessmentResult.external_id.in_(ids[start:start + 500]))
            ):
                earlier[result.external_id] = result
        pending: dict[str, _Pending] = {}
        for index, data in checked:
            external_id = data["external_id"]
            result = earlier.get(external_id)
            if result is not None:
                answers[index] = self._replay_answer(index, achievement, result)
            elif external_id in pending:
                pending[external_id].repeats.append(index)
            else:
                pending[external_id] = _Pending(index, data)
        return list(pending.values())

    def _replay_answer(self, index: int, achievement: Achievement, result: AssessmentResult) -> ItemAnswer:
        if result.achievement_id != achievement.id:
            # The key names another achievement's result: replaying that answer here would mislead.
            return _answer_of_error(index, result.external_id, Conflict(
                "external_id_conflict",
                f"external_id {result.external_id!r} was already used for another achievement of this issuer",
            ))
        answer = _result_answer(index, result, result.credential, replayed=True)
        if result.credential is not None:
            awards = Pathways(self._session, self._services, token=None).awards_for(result.credential.id)
            if awards:
                answer.body["pathway_credentials"] = _pathway_credentials(awards)
        return answer

    def _refuse_if_any_failed(self, answers: list[ItemAnswer | None], rows: list[int] | None) -> None:
        refused = [answer for answer in answers if answer is not None and answer.failed]
        if refused:
            for answer in refused:
                if rows is not None:
                    answer.row = rows[answer.index]
            raise BatchRefused(
                "batch_refused",
                f"{len(refused)} of {len(answers)} results were refused, so none was recorded; see items",
                extra={"items": [answer.view() for answer in refused]},
            )

    # --- recording ------------------------------------------------------------------------------

    def _record_atomically(self, achievement: Achievement, checked: list[tuple[int, dict]],
                           answers: list[ItemAnswer | None], rows: list[int] | None, *, now) -> None:
        for attempt in range(_RETRIES + 1):
            pending = self._replay(achievement, checked, answers)
            self._refuse_if_any_failed(answers, rows)
            try:
                with transaction(self._session):
                    for start in range(0, len(pending), CHUNK_SIZE):
                        self._record_chunk(achievement, pending[start:start + CHUNK_SIZE], answers, now=now)
                    # A concurrent request may have used one of our external_ids for another
                    # achievement meanwhile: refused then too, and this rolls back.
                    self._refuse_if_any_failed(answers, rows)
                return
            except _SigningFailed as failure:
                raise IssuanceFailed("issuance_failed", f"item {failure.item.index} "
                                     f"({failure.item.data['external_id']!r}): {failure.error.detail}; "
                                     "nothing was recorded") from None
            except IntegrityError:
                if attempt == _RETRIES:
                    raise
                # Recorded meanwhile by a concurrent request: answered as its replay on the next try.
                for index, _data in checked:
                    answers[index] = None

    def _record_in_chunks(self, achievement: Achievement, pending: list[_Pending], answers: list[ItemAnswer | None],
                          *, now, progress) -> None:
        if progress is not None:
            progress(sum(answer is not None for answer in answers))
        for start in range(0, len(pending), CHUNK_SIZE):
            chunk = pending[start:start + CHUNK_SIZE]
            size = sum(1 + len(item.repeats) for item in chunk)
            attempt = 0
            while chunk:
                try:
                    with transaction(self._session):
                        self._record_chunk(achievement, chunk, answers, now=now)
                    break
                except _SigningFailed as failure:
                    # Ours to fix, not the caller's: that item fails, the others are recorded.
                    for index in (failure.item.index, *failure.item.repeats):
                        answers[index] = _answer_of_error(index, failure.item.data["external_id"], failure.error)
                    chunk = [item for item in chunk if item is not failure.item]
                except IntegrityError:
                    attempt += 1
                    if attempt > _RETRIES:
                        raise
                    # Some were recorded meanwhile by a concurrent request: those are answered as
                    # its replays, the chunk is recorded without them.
                    again = sorted((index, item.data) for item in chunk for index in (item.index, *item.repeats))
                    chunk = self._replay(achievement, again, answers)
            if progress is not None:
                progress(size)

    def _record_chunk(self, achievement: Achievement, chunk: list[_Pending], answers: list[ItemAnswer | None],
                      *, now) -> None:
        """Store the chunk's results and the credentials of those that pass, in the caller's
        transaction, and answer each item (its repeats as replays)."""
        issuer = achievement.issuer
        results = [self._issuance.new_result(achievement, item.data, now=now) for item in chunk]
        # The results first, as the single route does (its result is flushed before it claims
        # positions), and in one order: a concurrent request holding one of our external_ids then
        # waits for us or we for it, never both for each other (PostgreSQL would call it a deadlock).
        # One it recorded first is skipped here and answered as its replay.
        inserted = set(self._session.scalars(
            _insert_unless_recorded(self._session),
            [row_of(result) for result in sorted(results, key=lambda r: r.external_id)],
        ))
        if len(inserted) < len(results):
            chunk, results = self._answer_recorded_meanwhile(achievement, chunk, results, inserted, answers)
        passing = [(item, result) for item, result in zip(chunk, results) if result.passed]
        credentials: dict[str, dict] = {}  # result id -> the credential row
        entries, audits, renewed = [], [], []
        if passing:
            # Positions first: they lock the issuer's list rows (or the SQLite database) until the
            # commit, so a concurrent pass of one of these earners waits and then renews ours.
            reservations = self._status_lists.reserve_many(issuer, len(passing))
            current = self._current_credentials(achievement, {earner_of(result) for _, result in passing})
            key = self._keystore.active_key(issuer)
            signer = self._signer(key)
            issuer_profile = self._issuance.issuer_profile(issuer)
            achievement_document = self._issuance.achievement_document(achievement)
            valid_until = now + isodate.parse_duration(achievement.valid_for) if achievement.valid_for else None
            for (item, result), reservation in zip(passing, reservations):
                credential_id = new_id()
                unsigned = self._issuance.unsigned_credential(
                    result, reservation, credential_id=credential_id, now=now, valid_until=valid_until,
                    score=result.score, evidence=result.evidence, issuer_profile=issuer_profile,
                    achievement_document=achievement_document,
                )
                try:
                    signed = add_proof(unsigned, signer=signer, created=now,
                                       document_loader=self._services.document_loader,
                                       cryptosuite=signer.cryptosuite)
                except DataIntegrityError as error:
                    log.error("credential for result %s could not be signed: %s", result.external_id, error)
                    raise _SigningFailed(item, IssuanceFailed(
                        "issuance_failed", f"the credential could not be signed: {error}")) from error
                credential_format = item.data.get("credential_format") or achievement.credential_format
                jwt = vc_jwt(unsigned, signer) if credential_format == "jwt" else None
                earner = earner_of(result)
                renews = current.get(earner)
                current[earner] = credential_id  # a second pass of this earner in the batch renews this one
                credentials[result.id] = {
                    "id": credential_id, "issuer_id": issuer.id, "achievement_id": achievement.id,
                    "result_id": result.id, "signing_key_id": key.id, "document": signed, "issued_at": now,
                    "valid_from": now, "valid_until": valid_until, "status": "active", "earner": earner,
                    "renews_id": renews, "credential_format": credential_format, "jwt": jwt,
                }
                if renews is not None:
                    renewed.append({"id": renews, "renewed_by_id": credential_id})
                entries.extend({"list_id": list_id, "position": position, "credential_id": credential_id}
                               for list_id, position in reservation.positions)
                audits.append(self._audit_row(credentials[result.id], result.external_id))
        if credentials:
            # Plain INSERTs of rows: the ORM's bulk path would look at each row again.
            connection = self._session.connection()
            connection.execute(insert(Credential.__table__), list(credentials.values()))
            connection.execute(insert(StatusEntry.__table__), entries)
            if renewed:
                self._session.execute(update(Credential), renewed)
            connection.execute(insert(AuditEntry.__table__), audits)
            for credential in credentials.values():
                events.credential_issued(self._session, credential, now=now)
        # What these passes complete is awarded in the same transaction, as on the single route.
        awards = Pathways(self._session, self._services, token=self._token).after_issue(
            (c["id"], c["achievement_id"], c["earner"]) for c in credentials.values()) if credentials else {}
        for item, result in zip(chunk, results):
            credential = credentials.get(result.id)
            answers[item.index] = _result_answer(item.index, result, credential, replayed=False)
            for repeat in item.repeats:
                answers[repeat] = _result_answer(repeat, result, credential, replayed=True)
            if credential is not None and awards.get(credential["id"]):
                for index in (item.index, *item.repeats):
                    answers[index].body["pathway_credentials"] = _pathway_credentials(awards[credential["id"]])

    def _answer_recorded_meanwhile(self, achievement: Achievement, chunk: list[_Pending],
                                   results: list[AssessmentResult], inserted: set[str],
                                   answers: list[ItemAnswer | None]) -> tuple[list[_Pending], list[AssessmentResult]]:
        """Answer the items whose external_id a concurrent request recorded first, as its replays;
        the rest of the chunk, and their results, go on."""
        meanwhile = {r.external_id for r in results if r.id not in inserted}
        recorded = {
            result.external_id: result for result in self._session.scalars(
                select(AssessmentResult).options(selectinload(AssessmentResult.credential))
                .where(AssessmentResult.issuer_id == achievement.issuer_id, AssessmentResult.external_id.in_(meanwhile))
            )
        }
        rest = []
        for item, result in zip(chunk, results):
            if result.id in inserted:
                rest.append((item, result))
                continue
            for index in (item.index, *item.repeats):
                answers[index] = self._replay_answer(index, achievement, recorded[result.external_id])
        return [item for item, _ in rest], [result for _, result in rest]

    def _current_credentials(self, achievement: Achievement, earners: set[str]) -> dict[str, str]:
        """earner -> the id of their current credential for `achievement` (as
        `Issuance.current_credential_id`: not revoked, not renewed, the latest)."""
        current: dict[str, str] = {}
        rows = self._session.execute(
            select(Credential.earner, Credential.id)
            .where(Credential.issuer_id == achievement.issuer_id, Credential.achievement_id == achievement.id,
                   Credential.earner.in_(earners), Credential.status != "revoked", Credential.renewed_by_id.is_(None))
            .order_by(Credential.issued_at, Credential.id)
        )
        for earner, credential_id in rows:
            current[earner] = credential_id  # the latest last
        return current

    def _signer(self, key):
        # Unsealing a key costs a key derivation and a decryption: once per key, not per credential.
        if key.id not in self._signers:
            self._signers[key.id] = self._keystore.signer(key)
        return self._signers[key.id]

    def _audit_row(self, credential: dict, external_id: str) -> dict:
        """The entry `issuer.api.record_issue` writes for a credential of the single route."""
        renews = credential["renews_id"]
        action, renewal = ("credential.renew", {"renews": renews}) if renews else ("credential.issue", {})
        return {
            "at": credential["issued_at"], "action": action,
            "actor": "user" if self._user else "token" if self._token is not None else "cli",
            "token_id": self._token.id if self._token is not None else None, "issuer_id": credential["issuer_id"],
            "subject_type": "credential", "subject_id": credential["id"], "reason": None,
            "details": {**renewal, "achievement_id": credential["achievement_id"], "result_id": credential["result_id"],
                        "external_id": external_id, **({"user": self._user} if self._user else {})},
        }


def _pathway_credentials(awards) -> list[dict]:
    return [{"credential_id": a.credential_id, "achievement_id": a.achievement_id} for a in awards]


class _SigningFailed(Exception):
    def __init__(self, item: _Pending, error: IssuanceFailed):
        super().__init__(str(error))
        self.item = item
        self.error = error


def _insert_unless_recorded(session: Session):
    """INSERT of results that skips (and returns no id for) an external_id recorded already."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (dialect.insert(AssessmentResult)
            .on_conflict_do_nothing(index_elements=[AssessmentResult.issuer_id, AssessmentResult.external_id])
            .returning(AssessmentResult.id))

