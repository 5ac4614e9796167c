"""Email to earners: an award email when a credential is issued, and reminders before it expires.

`send_due` is what `badges notify` runs, typically from cron. It works in two steps.

1. Record what is due as `Notification` rows. The pair (credential, kind) is unique and rows are
   inserted with ON CONFLICT DO NOTHING, so each email is recorded once, however many runs see it
   due at the same time.
2. Send each unsent row on its own: claim it with a conditional UPDATE committed before sending
   (an overlapping run's UPDATE then matches no row), send it, mark it sent. A failed send counts
   an attempt and releases the claim, so the next run tries again; a run that dies while sending
   leaves a claim that another run may take over once it is older than the claim timeout.

A notification that must never go out keeps `sent_at` null and gets a `last_error` starting with
"skipped: " that says why; no run claims it. That happens to a farther reminder recorded in the same
run as a nearer one (cron did not run in time: only the nearest is sent), to a pending email whose
credential was revoked, suspended, renewed or has expired by the time it would be sent, and to one
that failed `max_attempts` times.

Through a transport that reaches no earner (the log, when no SMTP_HOST is set) award emails are
held: not claimed, not sent, not marked sent. Each makes a new management link, which replaces the
earner's current one, so one written to the log would leave the earner with no working link. They
go out at the first run with a real transport. Reminders carry no link and go to the log.

Sending is at least once, not exactly once: if the database cannot be reached to mark an email sent,
its claim lapses and a later run sends it again.
"""

from __future__ import annotations

import logging
import math
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Protocol

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from issuer.db import transaction
from issuer.manage import new_management_link
from issuer.models import Credential, Notification
from issuer.urls import Urls

log = logging.getLogger(__name__)
mail_log = logging.getLogger("issuer.mail")

ISSUED = "issued"
SKIPPED = "skipped: "
_EXPIRY_KIND = re.compile(r"^expiry-(\d+)d\Z")
_INSERT_BATCH = 500


def expiry_kind(days: int) -> str:
    return f"expiry-{days}d"


class ConfigError(ValueError):
    """A mail or reminder setting is missing or malformed."""


class MailError(Exception):
    """The mail server did not accept a message (or could not be reached)."""


class MailTransport(Protocol):
    # False for a stand-in that reaches no earner (the log): award emails then wait, because each
    # one makes a new management link, which would replace the earner's working one with a link
    # nobody ever sees.
    delivers: bool

    def send(self, message: EmailMessage) -> None:
        """Hand `message` over for delivery.

        :raise MailError: it was not accepted; the caller tries again later.
        """


@dataclass(frozen=True)
class SmtpTransport:
    """One SMTP connection per message: a cron run sends few, and a dropped connection then costs
    one message, not the rest of the run."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 30.0
    delivers = True  # a class attribute, not a field

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPResponseException as error:
            raise MailError(f"the mail server answered {error.smtp_code} {_text(error.smtp_error)}") from error
        except smtplib.SMTPRecipientsRefused as error:
            code, answer = next(iter(error.recipients.values()))
            raise MailError(f"the mail server refused the recipient: {code} {_text(answer)}") from error
        except (smtplib.SMTPException, OSError) as error:
            reason = str(error) or type(error).__name__
            raise MailError(f"could not send through {self.host}:{self.port}: {reason}") from error


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


# Secret links: an earner's management link, a console user's password-reset link.
_MANAGE_LINK = re.compile(r"(/manage/|/admin/reset/)[A-Za-z0-9_-]+")


class LogTransport:
    """Writes each message to the "issuer.mail" log instead of sending it (no SMTP_HOST set)."""

    delivers = False

    def send(self, message: EmailMessage) -> None:
        # The earner's management link is a secret; logs are read by others.
        body = _MANAGE_LINK.sub(r"\1[redacted]", message.get_content())  # the marker the serving logs use too
        mail_log.info("mail to %s\nSubject: %s\n\n%s", message["To"], message["Subject"], body)


@dataclass(frozen=True)
class NotifySettings:
    # Reminders, in days before a credential expires.
    reminder_days: tuple[int, ...] = (30, 7, 1)
    # Award emails go out for credentials issued this recently (a first run on an old database
    # must not email everyone about old awards); zero turns award emails off.
    award_window: timedelta = timedelta(days=7)
    # A claim older than this is taken to belong to a run that died; it must outlast any one send.
    claim_timeout: timedelta = timedelta(minutes=10)
    # Failed sends of one email before it is given up (skipped).
    max_attempts: int = 5
    mail_from: str = "badges@localhost"


@dataclass(frozen=True)
class Due:
    """A notification to record; one with a `skip_reason` is recorded as skipped, never sent."""

    credential_id: str
    kind: str
    recipient: str
    skip_reason: str | None = None


@dataclass(frozen=True)
class Planned:
    """What a run would do with one notification now (`badges notify --dry-run`)."""

    credential_id: str
    kind: str
    recipient: str
    skip_reason: str | None


@dataclass
class RunSummary:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    # Award emails left pending because the transport reaches no earner (no SMTP_HOST).
    held: int = 0
    # One line for each failed send: which notification, and the mail server's answer.
    failures: list[str] = field(default_factory=list)


# --- what is due --------------------------------------------------------------------------------

def earner_contact(credential: Credential) -> tuple[str | None, str | None]:
    """(email, name) of the credential's earner; no email for a DID earner or a VC API credential."""
    result = credential.origin_result
    if result is None or not result.recipient_email:
        return None, None
    return result.recipient_email.strip(), result.recipient_name


def due_reminders(credential: Credential, now: datetime, reminder_days) -> list[int]:
    """The reminders (days before expiry) whose time has come at `now`, nearest first.

    Empty once the credential has expired; and none that would fall before the credential was issued
    (a credential valid for 10 days gets no 30-day reminder: its award email names its expiry).
    """
    until = credential.valid_until
    if until is None or now >= until:
        return []
    return sorted(days for days in reminder_days if credential.issued_at < until - timedelta(days=days) <= now)


def why_not_send(kind: str, credential: Credential, *, now: datetime, reminder_days) -> str | None:
    """None when a recorded notification may still be sent at `now`; else why it never will be."""
    if credential.status != "active":
        return f"the credential is {credential.status}"
    if kind == ISSUED:
        return None
    if credential.renewed_by_id is not None:
        return "the credential was renewed"
    if credential.valid_until is None or now >= credential.valid_until:
        return "the credential has expired"
    match = _EXPIRY_KIND.match(kind)
    nearer = [days for days in due_reminders(credential, now, reminder_days) if match and days < int(match[1])]
    if nearer:
        return f"a nearer reminder ({expiry_kind(nearer[0])}) is due"
    return None


# Credentials with an earner to write to: issued for an assessment result, or reissued from one.
_FROM_ASSESSMENT = or_(Credential.result_id.is_not(None), Credential.supersedes_id.is_not(None))


def find_due(session: Session, *, now: datetime, settings: NotifySettings) -> list[Due]:
    """The notifications due at `now` that are not recorded yet."""
    due = []
    if settings.award_window > timedelta(0):
        has_award = exists().where(Notification.credential_id == Credential.id, Notification.kind == ISSUED)
        awarded = session.scalars(
            select(Credential)
            # A correction (reissue) is no new award: its earner was told of the first.
            .where(Credential.result_id.is_not(None), Credential.status == "active",
                   Credential.renewed_by_id.is_(None), Credential.issued_at >= now - settings.award_window,
                   ~has_award)
            .options(selectinload(Credential.result))
            .order_by(Credential.issued_at, Credential.id)
        )
        for credential in awarded:
            email, _ = earner_contact(credential)
            if email:
                due.append(Due(credential.id, ISSUED, email))

    if settings.reminder_days:
        expiring = and_(
            _FROM_ASSESSMENT,
            Credential.status == "active",
            Credential.renewed_by_id.is_(None),
            Credential.valid_until > now,
            Credential.valid_until <= now + timedelta(days=max(settings.reminder_days)),
        )
        recorded_kinds = select(Notification.credential_id, Notification.kind).join(Credential).where(expiring)
        recorded = {(row.credential_id, row.kind) for row in session.execute(recorded_kinds)}
        candidates = session.scalars(
            select(Credential).where(expiring).options(selectinload(Credential.result))
            .order_by(Credential.valid_until, Credential.id)
        )
        for credential in candidates:
            email, _ = earner_contact(credential)
            days = due_reminders(credential, now, settings.reminder_days)
            if not email or not days or (credential.id, expiry_kind(days[0])) in recorded:
                continue
            nearest = expiry_kind(days[0])
            due.append(Due(credential.id, nearest, email))
            for farther in days[1:]:
                if (credential.id, expiry_kind(farther)) not in recorded:
                    reason = f"a nearer reminder ({nearest}) was due at the same time"
                    due.append(Due(credential.id, expiry_kind(farther), email, skip_reason=reason))
    return due


def record_due(session: Session, due: list[Due], *, now: datetime) -> int:
    """Insert the due notifications that no other run inserted first; returns how many of the
    inserted ones were recorded as skipped."""
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]
    skipped = 0
    # The same order in every run, so concurrent inserts of the same rows cannot deadlock.
    for skip in (False, True):
        rows = [
            {"credential_id": d.credential_id, "kind": d.kind, "recipient": d.recipient, "created_at": now,
             "attempts": 0, "last_error": None if d.skip_reason is None else SKIPPED + d.skip_reason}
            for d in sorted(due, key=lambda d: (d.credential_id, d.kind)) if (d.skip_reason is not None) == skip
        ]
        # In batches: SQLite allows some thousands of parameters in one statement.
        for start in range(0, len(rows), _INSERT_BATCH):
            table = Notification.__table__
            statement = insert(table).values(rows[start:start + _INSERT_BATCH]).on_conflict_do_nothing(
                index_elements=["credential_id", "kind"]
            )
            # RETURNING counts the rows inserted on both databases (psycopg gives no rowcount here).
            inserted = session.connection().execute(statement.returning(table.c.id)).all()
            skipped += len(inserted) if skip else 0
    return skipped


def _pending(now: datetime, settings: NotifySettings):
    """Unsent, not skipped, and not claimed by a run that may still be sending it."""
    return and_(
        Notification.sent_at.is_(None),
        or_(Notification.last_error.is_(None), ~Notification.last_error.startswith(SKIPPED)),
        or_(Notification.claimed_at.is_(None), Notification.claimed_at < now - settings.claim_timeout),
    )


# --- sending ------------------------------------------------------------------------------------

def send_due(services, transport: MailTransport, settings: NotifySettings, *, run_id: str | None = None) -> RunSummary:
    """Record what is due at the services' clock, then send every pending notification.

    Safe to run concurrently with itself: each notification is sent by the run that claims it.
    """
    run_id = run_id or uuid.uuid4().hex
    summary = RunSummary()
    now = services.clock()
    with services.sessionmaker() as session:
        with transaction(session):
            summary.skipped += record_due(session, find_due(session, now=now, settings=settings), now=now)
        pending = _pending(now, settings)
        if not transport.delivers:
            summary.held = session.scalar(
                select(func.count()).select_from(Notification).where(pending, Notification.kind == ISSUED))
            pending = and_(pending, Notification.kind != ISSUED)
        pending_ids = list(session.scalars(select(Notification.id).where(pending).order_by(Notification.id)))
    for notification_id in pending_ids:
        _send_one(services, transport, settings, notification_id, run_id, summary)
    log.info("notify run %s: sent %d, failed %d, skipped %d, held %d", run_id, summary.sent, summary.failed,
             summary.skipped, summary.held)
    return summary


def _send_one(services, transport: MailTransport, settings: NotifySettings, notification_id: int, run_id: str,
              summary: RunSummary) -> None:
    with services.sessionmaker() as session:
        now = services.clock()
        with transaction(session):
            claimed = session.execute(
                update(Notification)
                .where(Notification.id == notification_id, _pending(now, settings))
                .values(claimed_at=now, claimed_by=run_id)
                .execution_options(synchronize_session=False)
            ).rowcount
        if not claimed:
            return  # another run sent it, or is sending it now
        notification = session.get(Notification, notification_id)
        credential = notification.credential
        # Named now: the objects expire when the read transaction ends below.
        what = f"notification {notification_id} ({notification.kind}, credential {credential.id})"
        attempts = notification.attempts + 1
        reason = why_not_send(notification.kind, credential, now=now, reminder_days=settings.reminder_days)
        if reason is not None:
            with transaction(session):
                _finish(session, notification_id, run_id, last_error=SKIPPED + reason, claimed_at=None, claimed_by=None)
            log.info("skipped %s: %s", what, reason)
            summary.skipped += 1
            return
        manage_url = None
        if notification.kind == ISSUED:
            # The earner's private link, made (and committed) now: only its hash is kept, so it
            # exists in plain text only in this email. A resend makes a new one.
            with transaction(session):
                manage_url = new_management_link(session, credential, services.urls)
        message = compose(notification, credential, urls=services.urls, mail_from=settings.mail_from, now=now,
                          manage_url=manage_url)
        session.rollback()  # no transaction stays open while the mail server talks

        try:
            transport.send(message)
        except MailError as error:
            last_error = str(error)[:1000]
            if attempts >= settings.max_attempts:
                last_error = f"{SKIPPED}gave up after {attempts} failed attempts; the last: {last_error}"
            with transaction(session):
                _finish(session, notification_id, run_id, attempts=attempts, last_error=last_error,
                        claimed_at=None, claimed_by=None)
            log.warning("%s failed: %s", what, error)
            summary.failed += 1
            summary.failures.append(f"{what}: {error}")
            return
        with transaction(session):
            _finish(session, notification_id, run_id, attempts=attempts, sent_at=services.clock(), last_error=None)
        log.info("sent %s", what)
        summary.sent += 1


def _finish(session: Session, notification_id: int, run_id: str, **values) -> None:
    """Write the outcome, unless the claim was taken over meanwhile (this run took longer than the
    claim timeout): the run holding the claim now writes its own outcome."""
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == run_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


HELD = "held: no mail server is set (SMTP_HOST), and its management link must reach the earner"


def preview(services, settings: NotifySettings, *, delivers: bool = True) -> list[Planned]:
    """What a run through a transport that `delivers` (or not) would do now, without recording,
    claiming or sending anything."""
    now = services.clock()
    with services.sessionmaker() as session:
        planned = [Planned(d.credential_id, d.kind, d.recipient, d.skip_reason or _held(d.kind, delivers))
                   for d in find_due(session, now=now, settings=settings)]
        pending = session.scalars(select(Notification).where(_pending(now, settings)).order_by(Notification.id))
        for notification in pending:
            reason = why_not_send(notification.kind, notification.credential, now=now,
                                  reminder_days=settings.reminder_days) or _held(notification.kind, delivers)
            planned.append(Planned(notification.credential_id, notification.kind, notification.recipient, reason))
        session.rollback()
    return planned


def _held(kind: str, delivers: bool) -> str | None:
    return HELD if kind == ISSUED and not delivers else None


# --- the mail -----------------------------------------------------------------------------------

def _one_line(text: str) -> str:
    """Header-safe: a name with a line break would otherwise break (or inject) a header."""
    return " ".join(text.split())


def _when(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return f"{moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


def compose(notification: Notification, credential: Credential, *, urls: Urls, mail_from: str,
            now: datetime, manage_url: str | None = None) -> EmailMessage:
    """The email for one notification: plain text, from the issuer's name at `mail_from`, with
    replies going to the issuer's email."""
    _, name = earner_contact(credential)
    achievement = credential.achievement or credential.origin_result.achievement
    issuer = credential.issuer
    achievement_name, issuer_name = _one_line(achievement.name), _one_line(issuer.name)
    link = urls.credential(credential.id)
    renew = (f"To renew it, pass the assessment again before it expires ({issuer.url}): "
             "a new pass issues a new credential.")
    greeting = f"Hello {_one_line(name)}," if name else "Hello,"

    if notification.kind == ISSUED:
        subject = f'You have earned "{achievement_name}" from {issuer_name}'
        expiry = f"It is valid until {_when(credential.valid_until)}.\n{renew}" if credential.valid_until else \
            "It does not expire."
        manage = (f"Choose the name it shows and whether its page is public, and download it, with your "
                  f"private link (keep it to yourself):\n{manage_url}\n\n") if manage_url else ""
        body = (f"{greeting}\n\n{issuer_name} has awarded you the credential \"{achievement_name}\".\n\n"
                f"View, share or download it here:\n{link}\n\n{manage}{expiry}\n\n"
                "It is an Open Badges 3.0 verifiable credential: anyone you share it with can check "
                f"that {issuer_name} issued it to you.\n")
    else:
        days_left = max(1, math.ceil((credential.valid_until - now) / timedelta(days=1)))
        in_days = "in 1 day" if days_left == 1 else f"in {days_left} days"
        subject = f'Your credential "{achievement_name}" from {issuer_name} expires {in_days}'
        body = (f"{greeting}\n\nYour credential \"{achievement_name}\" from {issuer_name} expires {in_days}, "
                f"on {_when(credential.valid_until)}:\n{link}\n\n{renew}\n")

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((issuer_name, mail_from))
    message["To"] = formataddr((_one_line(name), notification.recipient)) if name else notification.recipient
    if issuer.email:
        message["Reply-To"] = issuer.email
    message["Date"] = format_datetime(now)
    # The domain given, so that no DNS lookup of our own host name is made for every message.
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(body)
    return message


# --- configuration ------------------------------------------------------------------------------

def _int(config, key: str, minimum: int) -> int:
    value = config.get(key)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be a whole number of at least {minimum}, not {value!r}")
    return value


def _bool(config, key: str) -> bool:
    value = config.get(key)
    if isinstance(value, str):
        value = {"true": True, "yes": True, "on": True, "1": True,
                 "false": False, "no": False, "off": False, "0": False, "": False}.get(value.strip().lower(), value)
    if value in (0, 1) and not isinstance(value, bool):
        value = bool(value)
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {value!r}")
    return value


def settings_from_config(config) -> NotifySettings:
    """:raise ConfigError: a setting is malformed."""
    days = config.get("REMINDER_DAYS")
    if isinstance(days, str):
        days = [part.strip() for part in days.split(",") if part.strip()]
    if not isinstance(days, (list, tuple)):
        raise ConfigError(f"REMINDER_DAYS must be a list of days, like [30, 7, 1], not {days!r}")
    reminder_days = tuple(sorted({_int({"REMINDER_DAYS": d}, "REMINDER_DAYS", 1) for d in days}, reverse=True))
    mail_from = config.get("MAIL_FROM")
    if config.get("SMTP_HOST") and not mail_from:
        raise ConfigError("MAIL_FROM (the sender address) must be set when SMTP_HOST is")
    if mail_from is not None and (not isinstance(mail_from, str) or "@" not in mail_from
                                  or _one_line(mail_from) != mail_from):
        raise ConfigError(f"MAIL_FROM must be an email address, not {mail_from!r}")
    claim_timeout = _int(config, "NOTIFY_CLAIM_TIMEOUT_SECONDS", 1)
    # A send makes several round trips, each allowed SMTP_TIMEOUT_SECONDS; a claim that lapsed
    # during a slow send would let another run send the same email.
    if claim_timeout < 10 * _int(config, "SMTP_TIMEOUT_SECONDS", 1):
        raise ConfigError("NOTIFY_CLAIM_TIMEOUT_SECONDS must be at least 10 times SMTP_TIMEOUT_SECONDS")
    return NotifySettings(
        reminder_days=reminder_days,
        award_window=timedelta(days=_int(config, "REMINDER_AWARD_WINDOW_DAYS", 0)),
        claim_timeout=timedelta(seconds=claim_timeout),
        max_attempts=_int(config, "NOTIFY_MAX_ATTEMPTS", 1),
        mail_from=mail_from or NotifySettings.mail_from,
    )


def transport_from_config(config) -> MailTransport:
    """SMTP when SMTP_HOST is set; else the log. :raise ConfigError: a setting is malformed."""
    host = config.get("SMTP_HOST")
    if not host:
        return LogTransport()
    if not isinstance(host, str):
        raise ConfigError(f"SMTP_HOST must be a host name, not {host!r}")
    return SmtpTransport(
        host=host,
        port=_int(config, "SMTP_PORT", 1),
        username=config.get("SMTP_USERNAME") or None,
        password=config.get("SMTP_PASSWORD") or None,
        starttls=_bool(config, "SMTP_STARTTLS"),
        timeout=_int(config, "SMTP_TIMEOUT_SECONDS", 1),
    )
