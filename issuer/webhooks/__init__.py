"""Webhook endpoints and the delivery of their messages, per the Standard Webhooks specification
(signed with the `standardwebhooks` package).

Delivery is at least once. A message (issuer/webhooks/events.py writes them) is sent by the job that
claims it: a conditional UPDATE committed before the request, so two workers never send it at the
same time; a worker that dies while sending lets go when its claim lapses (`claim_seconds`), and
the queue's sweep hands the message to another. The receiver may then see it twice, always with
the same `webhook-id`, which is what it de-duplicates on.

Order: a message is not sent while an earlier one about the same subject (a credential, or a
watch) for the same endpoint is pending; when that one is delivered, the next is put on the queue.

A failed attempt (no answer, or any status but 2xx) is retried after an exponential backoff with
jitter (`retry_base_seconds` doubling, at most `retry_max_delay_seconds`, each delay drawn between
half and all of it) for `retry_period_seconds` (24 hours) from the message's creation or manual
redelivery. A message still failing then is given up, and the endpoint is disabled: nothing more is
sent to it until its owner redelivers a message (which enables it again). The owner is told by an
audit entry `webhook.disable` and, for an issuer with an email address, an email.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from issuer import audit
from issuer.db import transaction
from issuer.models import Issuer, Party, WebhookAttempt, WebhookEndpoint, WebhookMessage
from verifier.fetcher import FetchError, Fetcher, FetchPolicy

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class WebhookSettings:
    allow_loopback: bool = False
    timeout_seconds: float = 10.0
    retry_base_seconds: float = 5.0
    retry_max_delay_seconds: float = 3600.0
    retry_period_seconds: float = 86400.0
    claim_seconds: float = 60.0
    expiring_days: int = 30
    jitter: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempts: int) -> float:
        """The delay before the next attempt after `attempts` failed ones."""
        delay = min(self.retry_max_delay_seconds, self.retry_base_seconds * 2 ** max(0, attempts - 1))
        return delay * self.jitter.uniform(0.5, 1.0)


def settings_from_config(config) -> WebhookSettings:
    from issuer.notify import ConfigError, _bool

    def number(key: str, minimum: float) -> float:
        value = config.get(key)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number, not {config.get(key)!r}") from None
        if value < minimum:
            raise ConfigError(f"{key} must be at least {minimum}, not {value!r}")
        return value

    return WebhookSettings(
        allow_loopback=_bool(config, "WEBHOOK_ALLOW_LOOPBACK"),
        timeout_seconds=number("WEBHOOK_TIMEOUT_SECONDS", 0.1),
        retry_base_seconds=number("WEBHOOK_RETRY_BASE_SECONDS", 0.01),
        retry_max_delay_seconds=number("WEBHOOK_RETRY_MAX_DELAY_SECONDS", 0.01),
        retry_period_seconds=number("WEBHOOK_RETRY_PERIOD_SECONDS", 0.01),
        claim_seconds=number("WEBHOOK_CLAIM_SECONDS", 0.1),
        expiring_days=int(number("WEBHOOK_EXPIRING_DAYS", 1)),
    )


def fetcher_for(settings: WebhookSettings) -> Fetcher:
    """The verifier's guarded client with the webhook policy: public addresses only, plain http to
    loopback only with WEBHOOK_ALLOW_LOOPBACK (tests)."""
    return Fetcher(FetchPolicy(allow_http_loopback=settings.allow_loopback,
                               connect_timeout=min(FetchPolicy.connect_timeout, settings.timeout_seconds),
                               read_timeout=settings.timeout_seconds, max_bytes=64 * 1024))


# --- endpoints -----------------------------------------------------------------------------------

def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _seal(services, endpoint_id: str, secret: str) -> bytes:
    return services.key_encryption_key.seal(secret.encode(), key_id=f"webhook:{endpoint_id}")


def secret_of(services, endpoint: WebhookEndpoint) -> str:
    return services.key_encryption_key.open(endpoint.sealed_secret, key_id=f"webhook:{endpoint.id}").decode()


class EndpointInvalid(Exception):
    """A new endpoint's field is refused: `field` (url or events) and why, for the form or the API."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def check_new_endpoint(settings: WebhookSettings, *, url: str, events: list[str] | None,
                       allowed) -> list[str] | None:
    """The events to store (None: all of `allowed`, the owner's), each once; raises EndpointInvalid
    for an event the owner does not receive or a URL the address guard refuses."""
    if events is not None:
        unknown = [e for e in events if e not in allowed]
        if unknown:
            raise EndpointInvalid("events", f"Not an event this owner receives: {', '.join(unknown)}.")
        events = list(dict.fromkeys(events))
    try:
        fetcher_for(settings).check(url)
    except FetchError as error:
        raise EndpointInvalid("url", f"Deliveries would not be sent there: {error}.") from None
    return events


def create_endpoint(session: Session, services, *, url: str, events: list[str] | None, issuer_id: str | None,
                    party_id: str | None, token, now: datetime, user: str | None = None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned here once). `user`: the console user who acted."""
    from issuer.models import new_id

    endpoint_id, secret = new_id(), new_secret()
    endpoint = WebhookEndpoint(id=endpoint_id, issuer_id=issuer_id, party_id=party_id, url=url, events=events,
                               sealed_secret=_seal(services, endpoint_id, secret), created_at=now)
    session.add(endpoint)
    audit.record(session, action="webhook.create", token=token, issuer_id=issuer_id, subject_type="webhook",
                 subject_id=endpoint_id, at=now, details={"url": url, "events": events, "party_id": party_id},
                 user=user)
    return endpoint, secret


def rotate_secret(session: Session, services, endpoint: WebhookEndpoint, *, token, now: datetime,
                  user: str | None = None) -> str:
    secret = new_secret()
    endpoint.sealed_secret = _seal(services, endpoint.id, secret)
    audit.record(session, action="webhook.rotate", token=token, issuer_id=endpoint.issuer_id,
                 subject_type="webhook", subject_id=endpoint.id, at=now, user=user)
    return secret


def delete_endpoint(session: Session, endpoint: WebhookEndpoint, *, token, now: datetime,
                    user: str | None = None) -> None:
    """Nothing more is sent to it; its messages and attempts stay (the audit trail)."""
    endpoint.deleted_at = now
    audit.record(session, action="webhook.delete", token=token, issuer_id=endpoint.issuer_id,
                 subject_type="webhook", subject_id=endpoint.id, at=now, user=user)


def attempts(session: Session, endpoint: WebhookEndpoint, *, limit: int, offset: int = 0) -> list[dict]:
    """The endpoint's delivery attempts, newest first, each with its message's type and state."""
    rows = session.execute(
        select(WebhookAttempt, WebhookMessage.type, WebhookMessage.state)
        .join(WebhookMessage, WebhookMessage.id == WebhookAttempt.message_id)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc()).offset(offset).limit(limit)
    ).all()
    return [{"message_id": a.message_id, "type": type_, "state": state, "at": a.at, "status_code": a.status_code,
             "latency_ms": a.latency_ms, "error": a.error} for a, type_, state in rows]


def message_of(session: Session, endpoint: WebhookEndpoint, message_id: str) -> WebhookMessage | None:
    return session.scalar(select(WebhookMessage).where(WebhookMessage.id == message_id,
                                                       WebhookMessage.endpoint_id == endpoint.id))


# --- delivery ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    retry_in: float | None = None  # seconds until this message's next try, if one is due
    next_ids: list[str] = field(default_factory=list)  # messages now free to go (the subject's next)


def _body(message: WebhookMessage) -> bytes:
    return json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()


def deliver(services, settings: WebhookSettings, fetcher: Fetcher, message_id: str, *, notify=None) -> Outcome:
    """Try to deliver one message now (see the module doc). `notify(endpoint, reason)` is called
    when the endpoint is disabled (to email its owner)."""
    clock = services.clock
    with services.sessionmaker() as session:
        now = clock()
        with transaction(session):
            message = session.get(WebhookMessage, _sequence_of(session, message_id))
            if message is None or message.state != "pending":
                return Outcome()
            endpoint = session.get(WebhookEndpoint, message.endpoint_id)
            if endpoint.disabled_at is not None or endpoint.deleted_at is not None:
                return Outcome()
            if message.subject is not None and session.scalar(
                select(WebhookMessage.sequence).where(
                    WebhookMessage.endpoint_id == message.endpoint_id, WebhookMessage.subject == message.subject,
                    WebhookMessage.state == "pending", WebhookMessage.sequence < message.sequence).limit(1)):
                return Outcome()  # an earlier one goes first; its delivery frees this one
            if message.next_attempt_at is not None and message.next_attempt_at > now:
                return Outcome(retry_in=(message.next_attempt_at - now).total_seconds())
            claimed = session.execute(
                update(WebhookMessage)
                .where(WebhookMessage.sequence == message.sequence, WebhookMessage.state == "pending",
                       or_(WebhookMessage.claimed_until.is_(None), WebhookMessage.claimed_until <= now))
                .values(claimed_until=now + timedelta(seconds=settings.claim_seconds))
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                held = session.scalar(select(WebhookMessage.claimed_until)
                                      .where(WebhookMessage.sequence == message.sequence))
                # Another worker is sending it; look again when its claim lapses (it may have died).
                return Outcome(retry_in=max(0.05, (held - now).total_seconds()) if held else None)
            sequence, url, attempts = message.sequence, endpoint.url, message.attempts
            secret, body = secret_of(services, endpoint), _body(message)
            endpoint_id, subject, retry_from = endpoint.id, message.subject, message.retry_from

        sent_at = clock()
        signature = Webhook(secret).sign(message_id, sent_at, body)
        headers = {"Content-Type": "application/json", "webhook-id": message_id,
                   "webhook-timestamp": str(int(sent_at.timestamp())), "webhook-signature": signature}
        started = time.monotonic()
        status, error = None, None
        try:
            status = fetcher.post(url, body, headers)
            if not 200 <= status < 300:
                error = f"answered HTTP {status}"
        except FetchError as failure:
            error = str(failure)[:1000]
        latency_ms = int((time.monotonic() - started) * 1000)

        now = clock()
        outcome = Outcome()
        with transaction(session):
            session.add(WebhookAttempt(message_id=message_id, endpoint_id=endpoint_id, at=sent_at, status_code=status,
                                       latency_ms=latency_ms, error=error))
            if error is None:
                session.execute(update(WebhookMessage).where(WebhookMessage.sequence == sequence).values(
                    state="delivered", delivered_at=now, claimed_until=None, attempts=attempts + 1, next_attempt_at=None))
                if subject is not None:
                    following = session.scalar(
                        select(WebhookMessage.id).where(
                            WebhookMessage.endpoint_id == endpoint_id, WebhookMessage.subject == subject,
                            WebhookMessage.state == "pending", WebhookMessage.sequence > sequence)
                        .order_by(WebhookMessage.sequence).limit(1))
                    if following:
                        outcome.next_ids.append(following)
                return outcome
            delay = settings.backoff(attempts + 1)
            if now + timedelta(seconds=delay) > retry_from + timedelta(seconds=settings.retry_period_seconds):
                session.execute(update(WebhookMessage).where(WebhookMessage.sequence == sequence).values(
                    state="failed", claimed_until=None, attempts=attempts + 1, next_attempt_at=None))
                reason = (f"message {message_id} could not be delivered for {settings.retry_period_seconds:g} "
                          f"seconds; the last attempt: {error}")
                session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(
                    disabled_at=now, disabled_reason=reason))
                endpoint = session.get(WebhookEndpoint, endpoint_id)
                audit.record(session, action="webhook.disable", token=None, issuer_id=endpoint.issuer_id,
                             subject_type="webhook", subject_id=endpoint_id, at=now, reason=reason,
                             details={"url": url, "party_id": endpoint.party_id})
                log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
                if notify is not None:
                    notify(session, endpoint, reason)
                return outcome
            session.execute(update(WebhookMessage).where(WebhookMessage.sequence == sequence).values(
                claimed_until=None, attempts=attempts + 1, next_attempt_at=now + timedelta(seconds=delay)))
            outcome.retry_in = delay
            return outcome


def _sequence_of(session: Session, message_id: str) -> int | None:
    return session.scalar(select(WebhookMessage.sequence).where(WebhookMessage.id == message_id))


def due_messages(session: Session, *, now: datetime, limit: int = 1000, claimed_too: bool = False) -> list[str]:
    """Pending messages of enabled endpoints that are due and held by no live claim: what a sweep
    puts on the queue again (a lost job, a worker that died, a failed enqueue). With `claimed_too`
    (a worker starting: the one holding a claim may just have died), held ones as well: their job
    waits for the claim to lapse."""
    statement = (
        select(WebhookMessage.id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
        .where(WebhookMessage.state == "pending", WebhookEndpoint.disabled_at.is_(None),
               WebhookEndpoint.deleted_at.is_(None),
               or_(WebhookMessage.next_attempt_at.is_(None), WebhookMessage.next_attempt_at <= now)))
    if not claimed_too:
        statement = statement.where(or_(WebhookMessage.claimed_until.is_(None), WebhookMessage.claimed_until <= now))
    return list(session.scalars(statement.order_by(WebhookMessage.sequence).limit(limit)))


def redeliver(session: Session, message: WebhookMessage, endpoint: WebhookEndpoint, *, token, now: datetime,
              user: str | None = None) -> None:
    """Send `message` again (with the same webhook-id), retrying for a new retry period; a disabled
    endpoint is enabled again. Its delivery job goes on the queue when the transaction commits."""
    from issuer.webhooks import events
    message.state, message.retry_from, message.next_attempt_at, message.claimed_until = "pending", now, now, None
    endpoint.disabled_at, endpoint.disabled_reason = None, None
    audit.record(session, action="webhook.redeliver", token=token, issuer_id=endpoint.issuer_id,
                 subject_type="webhook", subject_id=endpoint.id, at=now, details={"message_id": message.id},
                 user=user)
    events.after_commit(session, ("deliver", message.id))


def disabled_email(endpoint: WebhookEndpoint, session: Session, reason: str, *, mail_from: str) -> EmailMessage | None:
    """The email telling the endpoint's owner (its issuer, or its relying party) that it was
    disabled (None: the owner gave no address)."""
    owner = session.get(Party, endpoint.party_id) if endpoint.party_id else session.get(Issuer, endpoint.issuer_id)
    if owner is None or not owner.email:
        return None
    message = EmailMessage()
    message["Subject"] = "A webhook endpoint was disabled"
    message["From"] = mail_from
    message["To"] = owner.email
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"Deliveries to your webhook endpoint {endpoint.url} (id {endpoint.id}) failed for the "
                        f"whole retry period, so it was disabled:\n{reason}\n\nRedeliver a message "
                        f"(POST /api/v1/webhooks/{endpoint.id}/messages/<message id>/redeliver) to enable it again.\n")
    return message
