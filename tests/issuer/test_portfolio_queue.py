"""The earner portfolio's sign-in request does the same work whatever the address: it puts one
job on the queue and writes nothing, so its answer and its time tell nobody which addresses hold
credentials here. The job (a real huey worker in this process) looks the address up, makes the
one-time link and mails it. On both queues: SQLite huey in the instance folder, and Redis."""

from __future__ import annotations

import hashlib
import logging
import time

import pytest
from sqlalchemy import select

from issuer import create_app
from issuer.db import Base
from issuer.models import EarnerSignInLink
from tests.issuer.test_portfolio import (ADA, LINK, ask_for_link, held, links, mailbox,  # noqa: F401 (fixtures)
                                         wait_for_links)
from tests.issuer.test_webhooks import queue_config, worker  # noqa: F401 (fixture)
from tests.conftest import BASE_URL

NOBODY = "nobody@example.org"
SMTP = ("SMTP_HOST", "SMTP_PORT", "MAIL_FROM")


@pytest.fixture
def config(mailbox, tmp_path, queue_config):  # noqa: F811
    return {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port, "MAIL_FROM": "badges@acme.example",
            "SMTP_TIMEOUT_SECONDS": 5, "NOTIFY_CLAIM_TIMEOUT_SECONDS": 60, **queue_config}


@pytest.fixture
def app(services, config):
    app = create_app(config, services=services)
    yield app
    if config.get("QUEUE_URL"):
        app.extensions["queue"].huey.storage.flush_all()


def every_row(services) -> dict:
    """Every row of every table, as read back: any write shows."""
    with services.sessionmaker() as session:
        return {table.name: sorted(map(repr, session.execute(select(table)).all()))
                for table in Base.metadata.sorted_tables}


def test_asking_for_a_link_does_the_same_work_for_a_known_and_an_unknown_address(app, client, services, mailbox,
                                                                                   held):  # noqa: F811
    huey = app.extensions["queue"].huey
    scheduled = huey.scheduled_count()
    for email in (ADA, NOBODY, "  Grace@Example.org "):
        rows, pending = every_row(services), [task.id for task in huey.pending()]
        assert ask_for_link(client, email).status_code == 200
        assert every_row(services) == rows  # nothing written
        added = [task for task in huey.pending() if task.id not in pending]
        assert len(added) == 1 and huey.pending_count() == len(pending) + 1  # exactly one job
        assert added[0].name.endswith("sign_in_link")
        assert added[0].args == (email.strip().lower(),) and not added[0].kwargs  # the address only: no token
        assert huey.scheduled_count() == scheduled
    assert links(mailbox) == []  # nothing mailed during the requests

    with worker(app, workers=1):
        sent = wait_for_links(mailbox, 2)
        deadline = time.monotonic() + 20
        while huey.pending_count():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    # Both holders got a link, the address holding nothing got none; only the links' hashes are stored.
    assert sorted(m["To"] for m in links(mailbox)) == sorted([ADA, "grace@example.org"])
    tokens = {LINK.search(m.get_content()).group(1) for m in sent}
    with services.sessionmaker() as session:
        stored = {link.token_hash for link in session.scalars(select(EarnerSignInLink))}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}


def test_without_smtp_the_job_logs_a_warning_and_no_link(services, config, mailbox, held, caplog):  # noqa: F811
    app = create_app({key: value for key, value in config.items() if key not in SMTP}, services=services)
    client = app.test_client()
    try:
        with caplog.at_level(logging.INFO):
            assert ask_for_link(client, ADA).status_code == 200
            with worker(app, workers=1):
                deadline = time.monotonic() + 20
                while "sign-in link not sent: no SMTP_HOST is set" not in caplog.text:
                    assert time.monotonic() < deadline, caplog.text
                    time.sleep(0.02)
        assert "/me/sign-in/" not in caplog.text and links(mailbox) == []
        with services.sessionmaker() as session:
            assert session.scalars(select(EarnerSignInLink)).all() == []
    finally:
        if config.get("QUEUE_URL"):
            app.extensions["queue"].huey.storage.flush_all()
