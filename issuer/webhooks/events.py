"""Events about credentials, told to webhook endpoints: the one way any code publishes one.

`publish(session, ...)` writes the event into the outbox (`WebhookMessage`, one row per endpoint
that wants it) in the caller's transaction: the change and the news of it are committed together
or not at all, so an event is never lost and never told of a change that was rolled back. When
that transaction commits, a delivery job per message is put on the task queue (issuer/queue.py);
should that fail, or the worker die, the queue's sweep finds the message again.

Issuer events go to the credential's issuer's endpoints. A relying party's events (its watches,
issue 12's revalidation) go to that party's endpoints through the same function, with `party_id`
and `watch_id`; their order is kept per watch (`subject`), an issuer's per credential.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, event, exists, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from issuer.models import Credential, WebhookEndpoint, WebhookMessage

ISSUED, REVOKED, SUSPENDED, REINSTATED = "credential.issued", "credential.revoked", "credential.suspended", \
    "credential.reinstated"
REISSUED, RENEWED, EXPIRING, EXPIRED = "credential.reissued", "credential.renewed", "credential.expiring", \
    "credential.expired"
UNVERIFIABLE, VERIFIED = "credential.unverifiable", "credential.verified"

ISSUER_EVENTS = (ISSUED, REVOKED, SUSPENDED, REINSTATED, REISSUED, RENEWED, EXPIRING, EXPIRED)
PARTY_EVENTS = (REVOKED, SUSPENDED, REINSTATED, EXPIRED, EXPIRING, RENEWED, UNVERIFIABLE, VERIFIED)
ALL_EVENTS = tuple(dict.fromkeys(ISSUER_EVENTS + PARTY_EVENTS))

# The state a credential is in after each event, as a watch's verdict says it.
STATE_AFTER = {ISSUED: "valid", REVOKED: "revoked", SUSPENDED: "suspended", REINSTATED: "valid",
               REISSUED: "revoked", RENEWED: "valid", EXPIRING: "valid", EXPIRED: "expired",
               UNVERIFIABLE: "unverifiable", VERIFIED: "valid"}

# Changes of our credentials that re-evaluate the watches on them at once.
WATCHED_CHANGES = (REVOKED, SUSPENDED, REINSTATED, REISSUED, RENEWED)

# session.info key: what to put on the queue once the session's transaction commits.
AFTER_COMMIT = "badges_after_commit"


def _xsd(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def publish(session: Session, *, type: str, credential: Credential | dict | str, now: datetime,
            reason: str | None = None, data: dict | None = None, party_id: str | None = None,
            watch_id: str | None = None, dedupe_key: str | None = None, state: str | None = None) -> list[str]:
    """Tell the event `type` about `credential` to every enabled endpoint that wants it: the
    credential's issuer's endpoints (`credential` is then one of ours: a Credential, or a row as a
    dict with "id" and "issuer_id"), or with `party_id` that relying party's (`credential` may then
    be the id of any credential, and `watch_id` names the watch). Only adds rows to the caller's
    transaction; returns the new messages' ids (the `webhook-id` of each delivery). With
    `dedupe_key`, an endpoint told of that key before is not told again (expiries are told once)."""
    if type not in ALL_EVENTS:
        raise ValueError(f"unknown event type {type!r}")
    if isinstance(credential, str):
        credential_id, issuer_id = credential, None
    elif isinstance(credential, dict):
        credential_id, issuer_id = credential["id"], credential["issuer_id"]
    else:
        credential_id, issuer_id = credential.id, credential.issuer_id
    if party_id is None and type in WATCHED_CHANGES:
        # The watches on one of our credentials are verified again once this commits (issuer/watches).
        # One job per transaction, however many credentials it changed (a bulk revocation).
        session.info.setdefault(_WATCHED, set()).add((data or {}).get("renews") if type == RENEWED else credential_id)
    wanted = [endpoint_id for endpoint_id, events in _endpoints(session, issuer_id=issuer_id, party_id=party_id)
              if events is None or type in events]
    if not wanted:
        return []
    body = {"credential_id": credential_id, "state": state or STATE_AFTER[type], **(data or {})}
    if watch_id is not None:
        body["watch_id"] = watch_id
    if reason is not None:
        body["reason"] = reason
    payload = {"type": type, "timestamp": _xsd(now), "data": body}
    rows = [{"id": f"msg_{uuid.uuid4().hex}", "endpoint_id": endpoint_id, "type": type,
             "subject": watch_id or credential_id, "payload": payload, "dedupe_key": dedupe_key,
             "created_at": now, "retry_from": now, "state": "pending", "attempts": 0, "next_attempt_at": now}
            for endpoint_id in wanted]
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]
    table = WebhookMessage.__table__
    statement = insert(table).values(rows).on_conflict_do_nothing(index_elements=["endpoint_id", "dedupe_key"])
    created = list(session.connection().execute(statement.returning(table.c.id)).scalars())
    after_commit(session, *(("deliver", message_id) for message_id in created))
    return created


_ENDPOINTS = "badges_endpoints"
_WATCHED = "badges_watched_changes"


def _endpoints(session: Session, *, issuer_id: str | None, party_id: str | None) -> list[tuple[str, list | None]]:
    """The owner's enabled endpoints and the events each wants, looked up once per transaction
    (a batch publishes up to 1,000 events)."""
    cache = session.info.setdefault(_ENDPOINTS, {})
    owner = ("party", party_id) if party_id is not None else ("issuer", issuer_id)
    if owner not in cache:
        statement = _PARTY_ENDPOINTS if party_id is not None else _ISSUER_ENDPOINTS
        cache[owner] = [tuple(row) for row in session.execute(statement, {"b_owner": owner[1]})]
    return cache[owner]


def _enabled_endpoints(owner_column):
    """The enabled endpoints of the owner `b_owner` (built once: building costs more than running it)."""
    return (select(WebhookEndpoint.id, WebhookEndpoint.events)
            .where(owner_column == bindparam("b_owner"), WebhookEndpoint.disabled_at.is_(None),
                   WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id))


_ISSUER_ENDPOINTS = _enabled_endpoints(WebhookEndpoint.issuer_id)
_PARTY_ENDPOINTS = _enabled_endpoints(WebhookEndpoint.party_id)


def after_commit(session: Session, *jobs: tuple) -> None:
    """Put `jobs` on the task queue once the session's transaction commits (dropped on rollback)."""
    session.info.setdefault(AFTER_COMMIT, []).extend(jobs)


@event.listens_for(Session, "after_commit")
def _enqueue(session: Session) -> None:
    session.info.pop(_ENDPOINTS, None)
    jobs = session.info.pop(AFTER_COMMIT, None)
    watched = session.info.pop(_WATCHED, None)
    if watched:
        jobs = [*(jobs or []), ("watch_credentials", tuple(sorted(watched)))]
    queue = session.info.get("badges_queue")
    if jobs and queue is not None:
        queue.enqueue_after_commit(jobs)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ENDPOINTS, None)
    session.info.pop(_WATCHED, None)
    session.info.pop(AFTER_COMMIT, None)


# --- what one of our credentials' changes publish ------------------------------------------------

def credential_issued(session: Session, credential: Credential | dict, *, now: datetime) -> None:
    """A credential we just signed (or its row, as a dict): `credential.renewed` when it renews
    the earner's previous one (whose id the event names), else `credential.issued`. Award emails
    go out through the queue."""
    renews = credential["renews_id"] if isinstance(credential, dict) else credential.renews_id
    if renews:
        publish(session, type=RENEWED, credential=credential, now=now, data={"renews": renews})
    else:
        publish(session, type=ISSUED, credential=credential, now=now)
    after_commit(session, ("notify",))


def crossings(session: Session, *, now: datetime, expiring_days: int, lookback: timedelta) -> int:
    """Publish `credential.expiring` for our credentials that expire within `expiring_days`, and
    `credential.expired` for those whose validUntil passed within `lookback`; each once per
    endpoint (a dedupe key), however often this runs. Only issuers with endpoints are looked at.
    Returns how many messages were written."""
    issuers = select(WebhookEndpoint.issuer_id).where(
        WebhookEndpoint.issuer_id.is_not(None), WebhookEndpoint.disabled_at.is_(None),
        WebhookEndpoint.deleted_at.is_(None))
    count = 0
    windows = ((EXPIRED, now - lookback, now), (EXPIRING, now, now + timedelta(days=expiring_days)))
    for kind, start, end in windows:
        statement = select(Credential).where(
            Credential.issuer_id.in_(issuers), Credential.valid_until.is_not(None), Credential.valid_until > start,
            Credential.valid_until <= end, Credential.status != "revoked")
        # Not those told already (each run would otherwise try them all again, to be skipped by the
        # dedupe key one by one); an endpoint registered since then is not told of earlier crossings.
        statement = statement.where(~exists().where(WebhookMessage.subject == Credential.id,
                                                    WebhookMessage.type == kind))
        if kind == EXPIRING:
            # A renewed credential's expiry is no news: the earner holds its successor.
            statement = statement.where(Credential.renewed_by_id.is_(None))
        credentials = session.scalars(statement.order_by(Credential.valid_until, Credential.id)).all()
        for credential in credentials:
            count += len(publish(session, type=kind, credential=credential, now=now,
                                 dedupe_key=f"{kind}:{credential.id}",
                                 data={"valid_until": _xsd(credential.valid_until)}))
    return count
