"""Email to earners (`badges notify`): award emails and expiry reminders, sent through a real SMTP
server on loopback (aiosmtpd), on SQLite and PostgreSQL. Credentials are made through the API."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select, update

from issuer import create_app
from issuer.cli import main
from issuer.config import DEFAULTS
from issuer.db import transaction
from issuer.models import Credential, Notification
from issuer.notify import (
    ConfigError,
    LogTransport,
    NotifySettings,
    SmtpTransport,
    preview,
    send_due,
    settings_from_config,
    transport_from_config,
)
from tests.conftest import ACHIEVEMENT, ISSUER, make_token, result_body

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = NotifySettings(mail_from="badges@acme.example")


# --- a real SMTP server on loopback -------------------------------------------------------------

class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; `answer` set makes it refuse every message."""

    def __init__(self):
        self.messages = []
        self.answer: str | None = None
        self.port: int | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.answer:
            return self.answer
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


class LoopbackSmtp(Controller):
    """aiosmtpd on a free port: the port the OS gave is read back before the readiness check."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def running_mailbox():
    """A Mailbox behind a real SMTP server on a free loopback port, stopped afterwards."""
    box = Mailbox()
    controller = LoopbackSmtp(box, hostname="127.0.0.1", port=0)
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mailbox():
    with running_mailbox() as box:
        yield box


@pytest.fixture
def transport(mailbox):
    return SmtpTransport("127.0.0.1", mailbox.port, timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on: a mail server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- helpers ------------------------------------------------------------------------------------

def issue(api, achievement, external_id: str = "attempt-1", **body) -> str:
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id, **body))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["credential_id"]


def notifications(services) -> dict[tuple[str, str], Notification]:
    with services.sessionmaker() as session:
        return {(n.credential_id, n.kind): n for n in session.scalars(select(Notification))}


def set_credential(services, credential_id: str, **columns) -> None:
    """Change a credential's lifecycle columns as the lifecycle actions would (revoke, suspend, renew)."""
    with services.sessionmaker() as session, transaction(session):
        session.execute(update(Credential).where(Credential.id == credential_id).values(**columns))


def until_expiry(services, credential_id: str, clock, *, days: float) -> None:
    """Move the clock to `days` before the credential expires."""
    with services.sessionmaker() as session:
        valid_until = session.get(Credential, credential_id).valid_until
    clock.now = valid_until - timedelta(days=days)


def counts(summary) -> tuple[int, int, int]:
    return summary.sent, summary.failed, summary.skipped


# --- award emails -------------------------------------------------------------------------------

def test_award_email_is_sent_once(api, achievement, services, clock, mailbox, transport):
    credential_id = issue(api, achievement)

    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    [mail] = mailbox.messages
    assert mail["Subject"] == 'You have earned "Python Basics" from Acme Academy'
    assert mail["To"] == "Ada Lovelace <Ada.Lovelace@Example.org>"
    assert mail["From"] == "Acme Academy <badges@acme.example>"
    assert mail["Reply-To"] == "badges@acme.example"
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_content()
    assert body.startswith("Hello Ada Lovelace,")
    assert f"https://badges.test/credentials/{credential_id}" in body
    assert "valid until 25 November 2027 at 12:00 UTC" in body
    assert "pass the assessment again" in body and "https://acme.example" in body

    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)
    clock.advance(days=1)
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)
    assert len(mailbox.messages) == 1
    row = notifications(services)[(credential_id, "issued")]
    assert row.sent_at == datetime(2026, 11, 25, 12, tzinfo=timezone.utc) and row.attempts == 1
    assert row.recipient == "Ada.Lovelace@Example.org" and row.last_error is None


def test_award_email_carries_the_earners_private_management_link(api, client, achievement, services, mailbox,
                                                                 transport):
    credential_id = issue(api, achievement)
    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    [link] = re.findall(r"https://badges\.test/manage/[A-Za-z0-9_-]+", mailbox.messages[0].get_content())
    page = client.get(link.removeprefix("https://badges.test"))
    assert page.status_code == 200 and credential_id in page.get_data(as_text=True)
    with services.sessionmaker() as session:  # only its hash is kept
        assert link.rsplit("/", 1)[1] not in str(session.get(Credential, credential_id).manage_token_hash)


def test_award_emails_only_for_recent_awards(api, achievement, services, clock, mailbox, transport):
    """A first run on an old database does not email everyone about their old awards."""
    issue(api, achievement, "old", email="old@example.org")
    clock.advance(days=8)
    issue(api, achievement, "recent", email="recent@example.org")
    clock.advance(days=6)

    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    assert [m["To"] for m in mailbox.messages] == ["Ada Lovelace <recent@example.org>"]


def test_award_email_without_expiry_says_so(api, issuer, services, mailbox, transport):
    forever = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements",
                       json={k: v for k, v in ACHIEVEMENT.items() if k != "valid_for"}).get_json()
    issue(api, forever)
    send_due(services, transport, SETTINGS)
    body = mailbox.messages[0].get_content()
    assert "It does not expire." in body and "renew" not in body


# --- expiry reminders ---------------------------------------------------------------------------

def test_reminders_at_30_7_and_1_days_each_once(api, achievement, services, clock, mailbox, transport):
    credential_id = issue(api, achievement)
    send_due(services, transport, SETTINGS)  # the award email
    link = f"https://badges.test/credentials/{credential_id}"

    clock.advance(days=334)  # 31 days before expiry: nothing yet
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)

    for days in (30, 7, 1):
        until_expiry(services, credential_id, clock, days=days)
        assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0), days
        mail = mailbox.messages[-1]
        expected = "in 1 day" if days == 1 else f"in {days} days"
        assert mail["Subject"] == f'Your credential "Python Basics" from Acme Academy expires {expected}'
        body = mail.get_content()
        assert link in body and "on 25 November 2027 at 12:00 UTC" in body
        assert "pass the assessment again" in body
        clock.advance(hours=6)
        assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0), days  # once

    clock.advance(days=2)  # expired: nothing more
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)
    assert len(mailbox.messages) == 4
    rows = notifications(services)
    assert sorted(kind for (_, kind) in rows) == ["expiry-1d", "expiry-30d", "expiry-7d", "issued"]
    assert all(row.sent_at is not None and row.last_error is None for row in rows.values())


def test_missed_runs_send_only_the_nearest_reminder(api, achievement, services, clock, mailbox, transport):
    credential_id = issue(api, achievement)
    until_expiry(services, credential_id, clock, days=5)  # cron did not run for eleven months

    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 1)
    [mail] = mailbox.messages  # no award email either: the award is older than a week
    assert mail["Subject"].endswith("expires in 5 days")
    rows = notifications(services)
    assert rows[(credential_id, "expiry-7d")].sent_at is not None
    skipped = rows[(credential_id, "expiry-30d")]
    assert skipped.sent_at is None and skipped.last_error.startswith("skipped: a nearer reminder (expiry-7d)")

    clock.advance(days=1)
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)  # the skipped one stays skipped
    until_expiry(services, credential_id, clock, days=0.5)
    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    assert mailbox.messages[-1]["Subject"].endswith("expires in 1 day")
    assert len(mailbox.messages) == 2


def test_a_short_validity_gets_no_reminder_from_before_its_issue(api, issuer, services, clock, mailbox, transport):
    short = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json={**ACHIEVEMENT, "valid_for": "P10D"})
    credential_id = issue(api, short.get_json())
    send_due(services, transport, SETTINGS)
    assert mailbox.subjects() == ['You have earned "Python Basics" from Acme Academy']  # it names the expiry
    until_expiry(services, credential_id, clock, days=7)
    send_due(services, transport, SETTINGS)
    assert mailbox.subjects()[-1].endswith("expires in 7 days")
    assert set(kind for (_, kind) in notifications(services)) == {"issued", "expiry-7d"}


def test_no_email_for_revoked_suspended_renewed_or_did_earners(api, achievement, services, clock, mailbox, transport):
    current = issue(api, achievement, "current", email="current@example.org")
    revoked = issue(api, achievement, "revoked", email="revoked@example.org")
    suspended = issue(api, achievement, "suspended", email="suspended@example.org")
    renewed = issue(api, achievement, "renewed", email="renewed@example.org")
    did_earner = issue(api, achievement, "did", email=None)
    set_credential(services, revoked, status="revoked", status_reason="cheating", status_changed_at=clock())
    set_credential(services, suspended, status="suspended", status_reason="review", status_changed_at=clock())

    assert counts(send_due(services, transport, SETTINGS)) == (2, 0, 0)
    assert sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages) == ["current@example.org",
                                                                              "renewed@example.org"]

    clock.advance(days=300)
    renewal = issue(api, achievement, "renewal", email="renewed@example.org")
    set_credential(services, renewed, renewed_by_id=renewal)
    set_credential(services, renewal, renews_id=renewed)
    send_due(services, transport, SETTINGS)  # the renewal's award email
    mailbox.messages.clear()

    for days in (30, 7, 1):
        until_expiry(services, current, clock, days=days)
        send_due(services, transport, SETTINGS)
    assert [m["To"].addresses[0].addr_spec for m in mailbox.messages] == ["current@example.org"] * 3
    recorded = notifications(services)
    assert {c for (c, kind) in recorded if kind.startswith("expiry")} == {current}
    assert not {revoked, suspended, did_earner} & {c for (c, _) in recorded}


def test_an_expired_credential_gets_nothing(api, achievement, services, clock, mailbox, transport):
    credential_id = issue(api, achievement)
    until_expiry(services, credential_id, clock, days=-1)
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)
    assert mailbox.messages == [] and notifications(services) == {}


def test_a_pending_reminder_is_not_sent_once_the_credential_is_revoked(api, achievement, services, clock, mailbox,
                                                                       transport):
    credential_id = issue(api, achievement)
    until_expiry(services, credential_id, clock, days=7)
    mailbox.answer = "451 4.3.0 Try again later"
    assert counts(send_due(services, transport, SETTINGS)) == (0, 1, 1)  # 7 days failed, 30 days skipped

    set_credential(services, credential_id, status="revoked", status_reason="cheating", status_changed_at=clock())
    mailbox.answer = None
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 1)
    assert mailbox.messages == []
    row = notifications(services)[(credential_id, "expiry-7d")]
    assert row.sent_at is None and row.last_error == "skipped: the credential is revoked"
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)


# --- failures and retries -----------------------------------------------------------------------

def test_a_refused_send_fails_and_is_retried_next_run(api, achievement, services, clock, mailbox, transport):
    credential_id = issue(api, achievement)
    mailbox.answer = "451 4.3.0 Try again later"

    summary = send_due(services, transport, SETTINGS)
    assert counts(summary) == (0, 1, 0)
    assert "451 4.3.0 Try again later" in summary.failures[0] and credential_id in summary.failures[0]
    row = notifications(services)[(credential_id, "issued")]
    assert row.sent_at is None and row.attempts == 1 and "451" in row.last_error
    assert row.claimed_at is None and row.claimed_by is None  # released for the next run

    mailbox.answer = None
    clock.advance(minutes=10)
    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    assert len(mailbox.messages) == 1
    row = notifications(services)[(credential_id, "issued")]
    assert row.sent_at == clock() and row.attempts == 2 and row.last_error is None


def test_a_stopped_mail_server_fails_and_is_retried_next_run(api, achievement, services, mailbox, transport):
    credential_id = issue(api, achievement)
    down = SmtpTransport("127.0.0.1", closed_port(), timeout=5)

    summary = send_due(services, down, SETTINGS)
    assert counts(summary) == (0, 1, 0)
    assert "could not send through 127.0.0.1" in summary.failures[0]
    assert notifications(services)[(credential_id, "issued")].sent_at is None

    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    assert len(mailbox.messages) == 1


def test_gives_up_after_the_last_attempt(api, achievement, services, clock, mailbox, transport):
    credential_id = issue(api, achievement)
    settings = NotifySettings(mail_from="badges@acme.example", max_attempts=2)
    mailbox.answer = "550 5.1.1 No such mailbox"
    assert counts(send_due(services, transport, settings)) == (0, 1, 0)
    assert counts(send_due(services, transport, settings)) == (0, 1, 0)
    row = notifications(services)[(credential_id, "issued")]
    assert row.attempts == 2 and row.last_error.startswith("skipped: gave up after 2 failed attempts")
    assert "550" in row.last_error

    mailbox.answer = None
    assert counts(send_due(services, transport, settings)) == (0, 0, 0)
    assert mailbox.messages == []


def test_a_claim_left_by_a_dead_run_is_taken_over_after_the_timeout(api, achievement, services, clock, mailbox,
                                                                    transport):
    credential_id = issue(api, achievement)
    with services.sessionmaker() as session, transaction(session):
        session.add(Notification(credential_id=credential_id, kind="issued", recipient="Ada.Lovelace@Example.org",
                                 created_at=clock(), claimed_at=clock(), claimed_by="a-run-that-died", attempts=0))

    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)  # maybe still sending
    clock.advance(minutes=11)
    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    assert len(mailbox.messages) == 1


# --- overlapping runs ---------------------------------------------------------------------------

class InterleavingTransport:
    """Sends through SMTP; on its first message it runs a whole second run (in another thread, with
    its own sessions) before sending: the second run starts while the first is mid-send."""

    delivers = True

    def __init__(self, inner, second_run):
        self.inner = inner
        self.second_run = second_run
        self.second_summary = None

    def send(self, message):
        if self.second_summary is None:
            results = []
            thread = threading.Thread(target=lambda: results.append(self.second_run()))
            thread.start()
            thread.join(timeout=60)
            self.second_summary = results[0]
        self.inner.send(message)


def test_a_run_started_during_another_sends_nothing_twice(api, achievement, services, mailbox, transport):
    for n in range(3):
        issue(api, achievement, f"attempt-{n}", email=f"earner{n}@example.org")
    interleaving = InterleavingTransport(transport, lambda: send_due(services, transport, SETTINGS))

    first = send_due(services, interleaving, SETTINGS)
    second = interleaving.second_summary
    assert (first.sent, second.sent) == (1, 2)  # the second run left alone the one the first had claimed
    assert first.failed == second.failed == 0
    assert sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages) == [
        "earner0@example.org", "earner1@example.org", "earner2@example.org"]


def test_concurrent_runs_send_each_email_once(api, achievement, services, clock, mailbox, transport):
    for n in range(6):
        issue(api, achievement, f"attempt-{n}", email=f"earner{n}@example.org")
    barrier = threading.Barrier(2)
    summaries = []

    def run():
        barrier.wait(timeout=30)
        summaries.append(send_due(services, transport, SETTINGS))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(summaries) == 2
    assert sum(s.sent for s in summaries) == 6 and sum(s.failed for s in summaries) == 0
    assert sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages) == [
        f"earner{n}@example.org" for n in range(6)]
    assert len(notifications(services)) == 6


# --- without a mail server: the log -------------------------------------------------------------

def test_without_smtp_host_award_emails_wait_and_the_earners_link_keeps_working(api, client, achievement, services,
                                                                                clock, mailbox, transport, caplog):
    """The log reaches no earner: an award email sent there would replace the earner's management
    link with one nobody sees. It waits, unsent, for a mail server; the current link keeps working."""
    credential_id = issue(api, achievement)
    made = api.post(f"/api/v1/credentials/{credential_id}/management-link")
    assert made.status_code == 201, made.json
    link = made.json["url"].removeprefix("https://badges.test")
    caplog.set_level(logging.INFO, logger="issuer.mail")
    log_transport = transport_from_config({**DEFAULTS})
    assert isinstance(log_transport, LogTransport)

    summary = send_due(services, log_transport, settings_from_config(DEFAULTS))
    assert counts(summary) == (0, 0, 0) and summary.held == 1
    assert [r for r in caplog.records if r.name == "issuer.mail"] == []
    row = notifications(services)[(credential_id, "issued")]
    assert row.sent_at is None and row.claimed_at is None and row.last_error is None
    assert client.get(link).status_code == 200
    assert send_due(services, log_transport, settings_from_config(DEFAULTS)).held == 1

    # Once a mail server is set, the award email goes out, with a new link that works.
    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    [new_link] = re.findall(r"https://badges\.test(/manage/[A-Za-z0-9_-]+)", mailbox.messages[0].get_content())
    assert client.get(new_link).status_code == 200


def test_without_smtp_host_reminders_go_to_the_log(api, achievement, services, clock, mailbox, transport, caplog):
    """A reminder carries no secret: the log shows it and it counts as sent."""
    credential_id = issue(api, achievement)
    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    caplog.set_level(logging.INFO, logger="issuer.mail")
    until_expiry(services, credential_id, clock, days=20)

    summary = send_due(services, LogTransport(), SETTINGS)
    assert counts(summary) == (1, 0, 0) and summary.held == 0
    [record] = [r for r in caplog.records if r.name == "issuer.mail"]
    text = record.getMessage()
    assert "Ada.Lovelace@Example.org" in text and "expires in 20 days" in text
    assert f"https://badges.test/credentials/{credential_id}" in text
    assert notifications(services)[(credential_id, "expiry-30d")].sent_at is not None
    assert "/manage/" not in caplog.text


def test_the_log_never_shows_a_management_link():
    """Should a message with a link reach the log transport anyway, the link is not written."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["To"], message["Subject"] = "ada@example.org", "hello"
    message.set_content("your link: https://badges.test/manage/abcdefghijklmnopqrstuvwxyz012345\n")
    logger = logging.getLogger("issuer.mail")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        LogTransport().send(message)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    [record] = records
    assert "https://badges.test/manage/[redacted]\n" in record.getMessage()  # also once the serving logs redact
    assert "abcdefghijklmnopqrstuvwxyz" not in record.getMessage()


def test_a_reissued_credential_gets_no_second_award_email(api, achievement, services, mailbox, transport):
    credential_id = issue(api, achievement)
    assert counts(send_due(services, transport, SETTINGS)) == (1, 0, 0)
    reissued = api.post(f"/api/v1/credentials/{credential_id}/reissue", json={"reason": "typo in evidence"})
    assert reissued.status_code == 201, reissued.json
    assert counts(send_due(services, transport, SETTINGS)) == (0, 0, 0)
    assert len(mailbox.messages) == 1


def test_preview_records_and_sends_nothing(api, achievement, services, clock, mailbox, transport):
    credential_id = issue(api, achievement)
    planned = preview(services, SETTINGS)
    assert [(p.kind, p.recipient, p.skip_reason) for p in planned] == [("issued", "Ada.Lovelace@Example.org", None)]

    until_expiry(services, credential_id, clock, days=5)
    planned = preview(services, SETTINGS)
    assert [(p.kind, p.skip_reason) for p in planned] == [
        ("expiry-7d", None), ("expiry-30d", "a nearer reminder (expiry-7d) was due at the same time")]
    assert notifications(services) == {} and mailbox.messages == []


# --- configuration ------------------------------------------------------------------------------

def test_settings_from_config():
    settings = settings_from_config({**DEFAULTS, "REMINDER_DAYS": "7, 30,1", "REMINDER_AWARD_WINDOW_DAYS": "3",
                                     "MAIL_FROM": "badges@acme.example"})
    assert settings.reminder_days == (30, 7, 1)
    assert settings.award_window == timedelta(days=3) and settings.mail_from == "badges@acme.example"
    assert settings_from_config({**DEFAULTS, "REMINDER_DAYS": []}).reminder_days == ()

    transport = transport_from_config({**DEFAULTS, "SMTP_HOST": "mail.example", "SMTP_PORT": "587",
                                       "SMTP_STARTTLS": "true", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "hunter2"})
    assert transport == SmtpTransport("mail.example", 587, username="u", password="hunter2", starttls=True,
                                      timeout=30)
    assert "hunter2" not in repr(transport)


@pytest.mark.parametrize(("changes", "message"), [
    ({"REMINDER_DAYS": [30, 0]}, "REMINDER_DAYS must be a whole number of at least 1"),
    ({"REMINDER_DAYS": "soon"}, "REMINDER_DAYS must be a whole number"),
    ({"REMINDER_DAYS": 30}, "REMINDER_DAYS must be a list"),
    ({"REMINDER_AWARD_WINDOW_DAYS": -1}, "REMINDER_AWARD_WINDOW_DAYS must be a whole number of at least 0"),
    ({"SMTP_HOST": "mail.example"}, "MAIL_FROM (the sender address) must be set"),
    ({"MAIL_FROM": "not an address"}, "MAIL_FROM must be an email address"),
    ({"NOTIFY_CLAIM_TIMEOUT_SECONDS": 60}, "at least 10 times SMTP_TIMEOUT_SECONDS"),
])
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from_config({**DEFAULTS, **changes})


@pytest.mark.parametrize(("changes", "message"), [
    ({"SMTP_PORT": "twenty-five"}, "SMTP_PORT must be a whole number"),
    ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS must be true or false"),
])
def test_bad_transport_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        transport_from_config({**DEFAULTS, "SMTP_HOST": "mail.example", **changes})


# --- the command --------------------------------------------------------------------------------

class Instance:
    """An instance folder and the env `badges notify` gets; the app runs on the real clock."""

    def __init__(self, path, database_url: str | None, **env):
        self.path = path
        self.env = {"BADGES_INSTANCE_PATH": str(path), "BADGES_BASE_URL": "https://badges.test",
                    "BADGES_DATABASE_URL": database_url, **env}

    def run(self, *args):
        return CliRunner().invoke(main, ["notify", *args], env=self.env, catch_exceptions=False)

    def issue(self, email: str) -> str:
        """A credential issued now (the real clock), through the API."""
        config = {"INSTANCE_PATH": str(self.path), "BASE_URL": "https://badges.test", "TESTING": True}
        if self.env["BADGES_DATABASE_URL"]:
            config["DATABASE_URL"] = self.env["BADGES_DATABASE_URL"]
        app = create_app(config)
        try:
            services = app.extensions["badges"]
            client = app.test_client()
            headers = {"Authorization": f"Bearer {make_token(services)}"}
            if client.get(f"/api/v1/issuers/{ISSUER['slug']}", headers=headers).status_code == 404:
                assert client.post("/api/v1/issuers", json=ISSUER, headers=headers).status_code == 201
            achievement = client.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT,
                                      headers=headers).get_json()
            completed = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
            response = client.post(f"/api/v1/achievements/{achievement['id']}/results", headers=headers,
                                   json={**result_body(email, email=email), "completed_at": completed})
            assert response.status_code == 201, response.get_json()
            return response.get_json()["credential_id"]
        finally:
            services.sessionmaker.kw["bind"].dispose()


@pytest.fixture
def instance(database_url, tmp_path, mailbox):
    ours = Instance(tmp_path / "instance", None if database_url.startswith("sqlite") else database_url,
                    BADGES_SMTP_HOST="127.0.0.1", BADGES_SMTP_PORT=str(mailbox.port),
                    BADGES_SMTP_TIMEOUT_SECONDS="5", BADGES_MAIL_FROM="badges@acme.example")
    result = CliRunner().invoke(main, ["db", "upgrade"], env=ours.env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return ours


def test_cli_sends_and_exits_zero(instance, mailbox):
    instance.issue("ada@example.org")
    result = instance.run()
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "sent 1, failed 0, skipped 0"
    assert [m["To"] for m in mailbox.messages] == ["Ada Lovelace <ada@example.org>"]
    again = instance.run()
    assert again.exit_code == 0 and again.output.strip() == "sent 0, failed 0, skipped 0"


def test_cli_exits_non_zero_when_a_send_failed_and_the_next_run_sends_it(instance, mailbox):
    credential_id = instance.issue("ada@example.org")
    mailbox.answer = "451 4.3.0 Try again later"
    result = instance.run()
    assert result.exit_code == 1
    assert "sent 0, failed 1, skipped 0" in result.output
    assert f"credential {credential_id}" in result.output and "451 4.3.0 Try again later" in result.output
    assert "1 email(s) could not be sent; the next run tries them again" in result.output
    assert "Traceback" not in result.output

    mailbox.answer = None
    retried = instance.run()
    assert retried.exit_code == 0 and "sent 1, failed 0, skipped 0" in retried.output
    assert len(mailbox.messages) == 1


def test_cli_never_shows_the_smtp_password(instance, mailbox, caplog):
    """aiosmtpd here offers no AUTH, so logging in fails; the error names the server, not the password."""
    caplog.set_level(logging.DEBUG)
    instance.issue("ada@example.org")
    instance.env.update(BADGES_SMTP_USERNAME="mailer", BADGES_SMTP_PASSWORD="s3cret-Passw0rd")
    result = instance.run()
    assert result.exit_code == 1 and "failed 1" in result.output
    assert "s3cret-Passw0rd" not in result.output and "s3cret-Passw0rd" not in caplog.text


def test_cli_dry_run_sends_nothing(instance, mailbox):
    credential_id = instance.issue("ada@example.org")
    result = instance.run("--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"would send issued to ada@example.org (credential {credential_id})",
                                          "would send 1, would skip 0"]
    assert mailbox.messages == []
    assert instance.run().output.strip() == "sent 1, failed 0, skipped 0"


def test_cli_refuses_bad_settings(instance, mailbox):
    instance.issue("ada@example.org")
    instance.env["BADGES_MAIL_FROM"] = None
    result = instance.run()
    assert result.exit_code == 1
    assert "MAIL_FROM (the sender address) must be set when SMTP_HOST is" in result.output
    instance.env.update(BADGES_MAIL_FROM="badges@acme.example", BADGES_REMINDER_DAYS="[30, -7]")
    result = instance.run()
    assert result.exit_code == 1 and "REMINDER_DAYS must be a whole number of at least 1" in result.output
    assert mailbox.messages == []


def test_cli_from_cron_without_smtp_holds_award_emails_and_says_so(instance, tmp_path):
    """As cron runs it: a process of its own, no SMTP_HOST. The award email is not sent nor marked
    sent (its management link would reach no one), and the run says so; a dry run says the same."""
    credential_id = instance.issue("ada@example.org")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGES_")}
    env.update({k: v for k, v in instance.env.items() if v is not None and not k.startswith("BADGES_SMTP")
                and k != "BADGES_MAIL_FROM"})

    def run(*args):
        return subprocess.run([sys.executable, "-m", "issuer.cli", "notify", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    dry = run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"would hold issued to ada@example.org (credential {credential_id}): no SMTP_HOST is set",
        "would send 0, would skip 0, would hold 1"]
    done = run()
    assert done.returncode == 0, done.stderr
    assert done.stdout == "sent 0, failed 0, skipped 0\n"
    assert "held 1 award email(s): no SMTP_HOST is set" in done.stderr
    assert "issuer.mail" not in done.stderr and "Traceback" not in done.stderr

    # The next run with a mail server sends it.
    assert instance.run().output.strip() == "sent 1, failed 0, skipped 0"
