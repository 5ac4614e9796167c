"""Relying parties, webhook endpoints and their delivery through the task queue, end to end: a
real receiver on loopback, a real huey worker (SQLite storage in the instance folder, and Redis),
signatures checked with the standardwebhooks library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from issuer import create_app
from issuer.db import make_engine, make_sessionmaker
from issuer.migrate import upgrade
from issuer.models import AuditEntry, Notification, WebhookEndpoint, WebhookMessage
from issuer.services import Services, utc_now
from issuer.urls import Urls
from keys import KeyEncryptionKey
from tests.issuer.test_notify import mailbox  # noqa: F401 (a real SMTP server on loopback)
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, SUSPENDING, TEST_KEK, Api, make_token, result_body
from tests.issuer.webhook_receiver import Receiver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue_config(request):
    name = f"badges-test-{uuid.uuid4().hex[:12]}"
    config = {"QUEUE_NAME": name}
    if request.param == "redis-queue":
        config["QUEUE_URL"] = REDIS
    return config


@pytest.fixture
def live_services(database_url, document_loader):
    """Services on the real clock: retries wait real (short) delays."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield Services(sessionmaker=make_sessionmaker(engine), key_encryption_key=KeyEncryptionKey.from_text(TEST_KEK),
                   document_loader=document_loader, urls=Urls(BASE_URL), clock=utc_now,
                   status_list_policy=SUSPENDING)  # suspension events are told too
    engine.dispose()


FAST = {"WEBHOOK_ALLOW_LOOPBACK": True, "WEBHOOK_RETRY_BASE_SECONDS": 0.1, "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 0.4,
        "WEBHOOK_CLAIM_SECONDS": 1, "WEBHOOK_TIMEOUT_SECONDS": 5}


@pytest.fixture
def hook_config(tmp_path, queue_config, database_url):
    return {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
            "DATABASE_URL": database_url, "KEY_ENCRYPTION_KEY": TEST_KEK, **FAST, **queue_config}


@pytest.fixture
def hook_app(hook_config, live_services):
    app = create_app(hook_config, services=live_services)
    yield app
    queue = app.extensions["queue"]
    if hook_config.get("QUEUE_URL"):
        queue.huey.storage.flush_all()


@pytest.fixture
def admin(hook_app, live_services) -> Api:
    return Api(hook_app.test_client(), make_token(live_services))


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@contextmanager
def worker(app, workers: int = 2):
    """A huey consumer of the app's queue in this process (threads), stopped afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = app.extensions["queue"].consumer(workers=workers, periodic=False)
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
        for number, handler in saved.items():
            signal.signal(number, handler)


def setup_issuer(admin: Api, *, valid_for: str = "P1Y") -> tuple[dict, dict]:
    issuer = admin.post("/api/v1/issuers", json=ISSUER).json
    achievement = admin.post(f"/api/v1/issuers/{issuer['slug']}/achievements",
                             json={**ACHIEVEMENT, "valid_for": valid_for}).json
    return issuer, achievement


def issue(admin: Api, achievement: dict, external_id: str = "attempt-1") -> str:
    response = admin.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id))
    assert response.status_code == 201, response.json
    return response.json["credential_id"]


def register(api: Api, url: str, **body) -> dict:
    response = api.post("/api/v1/webhooks", json={"url": url, **body})
    assert response.status_code == 201, response.json
    assert response.json["secret"].startswith("whsec_")
    return response.json


def messages(services, endpoint_id: str) -> list[WebhookMessage]:
    with services.sessionmaker() as session:
        return list(session.scalars(select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id)
                                    .order_by(WebhookMessage.sequence)))


# --- relying parties and scopes ----------------------------------------------------------------

def test_party_token_sees_nothing_of_issuers_and_issuers_nothing_of_the_party(admin, hook_app, live_services, receiver):
    issuer, achievement = setup_issuer(admin)
    credential_id = issue(admin, achievement)
    created = admin.post("/api/v1/parties", json={"name": "Acme Hiring"})
    assert created.status_code == 201 and set(created.json) == {"id", "name", "email", "token", "token_id"}
    party = admin.as_token(created.json["token"])
    listed = {t["id"]: t for t in admin.get("/api/v1/tokens").json["items"]}
    assert listed[created.json["token_id"]]["party_id"] == created.json["id"]
    issuer_api = admin.as_token(make_token(live_services, issuer["slug"]))

    for method, path in [("get", "/api/v1/credentials"), ("get", f"/api/v1/credentials/{credential_id}"),
                         ("get", f"/api/v1/issuers/{issuer['slug']}"), ("get", "/api/v1/tokens"),
                         ("get", "/api/v1/audit"), ("post", "/api/v1/issuers"), ("post", "/api/v1/parties"),
                         ("post", f"/api/v1/credentials/{credential_id}/revoke"),
                         ("get", f"/api/v1/achievements/{achievement['id']}")]:
        response = getattr(party, method)(path, **({"json": {"reason": "x", "name": "x"}} if method == "post" else {}))
        assert response.status_code == 403 and response.json["code"] == "token_scope", (path, response.json)
    # An issuer's token cannot make parties either.
    assert issuer_api.post("/api/v1/parties", json={"name": "x"}).json["code"] == "token_scope"
    # A party cannot ask for an issuer's events.
    refused = party.post("/api/v1/webhooks", json={"url": receiver.url, "issuer": issuer["slug"]})
    assert refused.status_code == 403 and refused.json["code"] == "token_scope"

    # It verifies.
    document = admin.get(f"/credentials/{credential_id}", headers={"Accept": "application/ld+json"}).json
    assert party.post("/api/v1/verify", json={"credential": document}).status_code == 200

    party_hook = register(party, receiver.url, events=["credential.revoked", "credential.verified"])
    issuer_hook = register(issuer_api, receiver.url)
    assert party_hook["owner"] == f"party:{created.json['id']}" and issuer_hook["owner"] == "issuer:acme"
    # Each sees its own endpoint only; the instance token sees the issuers' ones, never a party's.
    assert [h["id"] for h in party.get("/api/v1/webhooks").json["items"]] == [party_hook["id"]]
    assert [h["id"] for h in issuer_api.get("/api/v1/webhooks").json["items"]] == [issuer_hook["id"]]
    assert [h["id"] for h in admin.get("/api/v1/webhooks").json["items"]] == [issuer_hook["id"]]
    for api, other in [(issuer_api, party_hook), (admin, party_hook), (party, issuer_hook)]:
        for path in ["", "/deliveries"]:
            assert api.get(f"/api/v1/webhooks/{other['id']}{path}").status_code == 404
        assert api.post(f"/api/v1/webhooks/{other['id']}/rotate-secret").status_code == 404
        assert api.client.delete(f"/api/v1/webhooks/{other['id']}",
                                 headers={"Authorization": f"Bearer {api.token}"}).status_code == 404
    # An issuer event is not for a party's endpoint, and a party event not for an issuer's.
    assert party.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["credential.issued"]}).status_code == 422
    assert issuer_api.post("/api/v1/webhooks", json={"url": receiver.url,
                                                     "events": ["credential.verified"]}).status_code == 422


def test_an_instance_token_names_the_issuer_and_an_issuer_token_only_its_own(admin, live_services, receiver):
    setup_issuer(admin)
    admin.post("/api/v1/issuers", json={**ISSUER, "slug": "other", "name": "Other"})
    refused = admin.post("/api/v1/webhooks", json={"url": receiver.url})
    assert refused.status_code == 422 and "issuer" in refused.json["errors"]
    assert register(admin, receiver.url, issuer="other")["owner"] == "issuer:other"
    acme = admin.as_token(make_token(live_services, "acme"))
    assert acme.post("/api/v1/webhooks", json={"url": receiver.url, "issuer": "other"}).json["code"] == "token_scope"


def test_webhook_urls_go_through_the_address_guard(live_services, tmp_path, queue_config, database_url):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "BASE_URL": BASE_URL, **queue_config},
                     services=live_services)
    admin = Api(app.test_client(), make_token(live_services))
    setup_issuer(admin)
    for url in ["http://127.0.0.1:9/hooks", "https://127.0.0.1/hooks", "https://10.1.2.3/hooks",
                "https://169.254.169.254/latest", "ftp://example.org/x", "https://user:pw@[::1]/x"]:
        response = admin.post("/api/v1/webhooks", json={"url": url, "issuer": "acme"})
        assert response.status_code == 422 and "url" in response.json["errors"], (url, response.json)
    # Loopback is allowed only by WEBHOOK_ALLOW_LOOPBACK, and private addresses not even then.
    allowed = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "j"), "BASE_URL": BASE_URL,
                          "WEBHOOK_ALLOW_LOOPBACK": True, **queue_config}, services=live_services)
    admin = admin.__class__(allowed.test_client(), admin.token)
    assert admin.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "issuer": "acme"}).status_code == 201
    assert admin.post("/api/v1/webhooks", json={"url": "https://10.1.2.3/hooks", "issuer": "acme"}).status_code == 422


def test_badges_party_create_prints_the_token_alone_on_its_last_line(tmp_path, database_url):
    from click.testing import CliRunner

    from issuer.cli import main

    env = {"BADGES_INSTANCE_PATH": str(tmp_path / "cli"), "BADGES_BASE_URL": BASE_URL,
           "BADGES_DATABASE_URL": database_url, "BADGES_KEY_ENCRYPTION_KEY": TEST_KEK}
    if not database_url.startswith("sqlite"):
        upgrade_engine = make_engine(database_url)
        upgrade(upgrade_engine)
        upgrade_engine.dispose()
    result = CliRunner().invoke(main, ["party", "create", "Acme Hiring"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("bdg_") and " " not in token
    assert CliRunner().invoke(main, ["party", "create", "  "], env=env).exit_code != 0


# --- delivery ----------------------------------------------------------------------------------

def test_a_revocation_reaches_the_receiver_signed_within_two_seconds(admin, hook_app, live_services, receiver):
    issuer, achievement = setup_issuer(admin)
    hook = register(admin, receiver.url, issuer="acme", events=["credential.revoked"])
    credential_id = issue(admin, achievement)  # not subscribed: no message
    with worker(hook_app):
        started = time.monotonic()
        response = admin.post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "cheated"})
        assert response.status_code == 200
        first = receiver.wait_for(1, timeout=5)[0]
        assert first["at"] - started <= 2.0
    [event] = receiver.events(hook["secret"])
    assert event["type"] == "credential.revoked"
    assert event["data"] == {"credential_id": credential_id, "state": "revoked", "reason": "cheated"}
    assert event["timestamp"].endswith("Z")
    # A tampered body or another secret does not verify.
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk=").verify(first["body"], first["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(first["body"].replace(b"revoked", b"reissued"), first["headers"])
    deliveries = admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json["items"]
    assert [(d["status_code"], d["state"], d["message_id"]) for d in deliveries] == \
        [(204, "delivered", event["_id"])]
    assert deliveries[0]["latency_ms"] >= 0


def test_a_receiver_failing_three_times_gets_the_event_exactly_once_more(admin, hook_app, live_services, receiver):
    _, achievement = setup_issuer(admin)
    hook = register(admin, receiver.url, issuer="acme")
    receiver.fail_first = 3
    with worker(hook_app):
        credential_id = issue(admin, achievement)
        receiver.wait_for(4, timeout=10)
        time.sleep(1.0)  # anything more would have come by now (the delays are at most 0.4 s)
    assert len(receiver.received) == 4
    ids = {r["headers"]["webhook-id"] for r in receiver.received}
    assert len(ids) == 1  # the same event every time
    assert [e["type"] for e in receiver.events(hook["secret"])] == ["credential.issued"] * 4
    deliveries = admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json["items"]
    assert [d["status_code"] for d in reversed(deliveries)] == [500, 500, 500, 204]
    assert {d["state"] for d in deliveries} == {"delivered"}
    [message] = messages(live_services, hook["id"])
    assert message.state == "delivered" and message.attempts == 4 and message.payload["data"]["credential_id"] == credential_id


def test_one_credentials_events_keep_their_order(admin, hook_app, live_services, receiver):
    _, achievement = setup_issuer(admin)
    credential_id = issue(admin, achievement)
    hook = register(admin, receiver.url, issuer="acme")
    receiver.fail_first = 2  # the first event is retried; the others must wait for it
    for action in ("suspend", "unsuspend", "suspend", "revoke"):
        assert admin.post(f"/api/v1/credentials/{credential_id}/{action}", json={"reason": action}).status_code == 200
    with worker(hook_app, workers=3):
        receiver.wait_for(6, timeout=10)
        time.sleep(0.5)
    delivered = [e["type"] for e, r in zip(receiver.events(hook["secret"]), receiver.received)][2:]
    assert delivered == ["credential.suspended", "credential.reinstated", "credential.suspended", "credential.revoked"]


def test_an_expiry_is_delivered_once(admin, hook_app, live_services, receiver):
    _, achievement = setup_issuer(admin, valid_for="PT2S")
    hook = register(admin, receiver.url, issuer="acme", events=["credential.expired"])
    credential_id = issue(admin, achievement)
    time.sleep(2.2)
    queue = hook_app.extensions["queue"]
    with worker(hook_app):
        for _ in range(3):  # the periodic job, run three times
            queue.enqueue("crossings")
        receiver.wait_for(1, timeout=5)
        time.sleep(1.0)
    [event] = receiver.events(hook["secret"])
    assert event["type"] == "credential.expired" and event["data"]["credential_id"] == credential_id
    assert event["data"]["state"] == "expired"


def test_an_endpoint_failing_for_the_whole_retry_period_is_disabled_and_its_owner_told(
        hook_config, live_services, receiver, mailbox):
    app = create_app({**hook_config, "WEBHOOK_RETRY_PERIOD_SECONDS": 1, "SMTP_HOST": "127.0.0.1",
                      "SMTP_PORT": mailbox.port, "MAIL_FROM": "badges@service.example"}, services=live_services)
    admin = Api(app.test_client(), make_token(live_services))
    _, achievement = setup_issuer(admin)
    hook = register(admin, receiver.url, issuer="acme")
    receiver.always_fail = True
    with worker(app):
        issue(admin, achievement)
        deadline = time.monotonic() + 10
        while admin.get(f"/api/v1/webhooks/{hook['id']}").json["disabled_at"] is None:
            assert time.monotonic() < deadline, "the endpoint was not disabled"
            time.sleep(0.1)
        count = len(receiver.received)
        issue(admin, achievement, "attempt-2")  # a disabled endpoint is told nothing more
        time.sleep(0.5)
        assert len(receiver.received) == count
        [first] = messages(live_services, hook["id"])
        assert first.state == "failed"
        with live_services.sessionmaker() as session:
            assert session.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.disable",
                                                           AuditEntry.subject_id == hook["id"])) is not None
        deadline = time.monotonic() + 5
        while not [m for m in mailbox.to(ISSUER["email"]) if m["Subject"] == "A webhook endpoint was disabled"]:
            assert time.monotonic() < deadline, "the issuer was not told"
            time.sleep(0.1)
        # The owner redelivers: the endpoint is enabled again, and the message goes with its id.
        receiver.always_fail = False
        response = admin.post(f"/api/v1/webhooks/{hook['id']}/messages/{first.id}/redeliver")
        assert response.status_code == 202
        assert admin.get(f"/api/v1/webhooks/{hook['id']}").json["disabled_at"] is None
        receiver.wait_for(count + 1, timeout=5)
        assert receiver.received[count]["headers"]["webhook-id"] == first.id
        deadline = time.monotonic() + 5
        while messages(live_services, hook["id"])[0].state != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert admin.post(f"/api/v1/webhooks/{hook['id']}/messages/msg_nope/redeliver").status_code == 404


def test_a_rotated_secret_signs_the_next_delivery(admin, hook_app, live_services, receiver):
    _, achievement = setup_issuer(admin)
    hook = register(admin, receiver.url, issuer="acme")
    rotated = admin.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json["secret"] != hook["secret"]
    with worker(hook_app):
        issue(admin, achievement)
        receiver.wait_for(1)
    assert receiver.events(rotated.json["secret"])[0]["type"] == "credential.issued"
    # A deleted endpoint gets nothing more.
    assert admin.client.delete(f"/api/v1/webhooks/{hook['id']}",
                               headers={"Authorization": f"Bearer {admin.token}"}).status_code == 204
    assert admin.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404


def test_award_emails_go_through_the_queue(admin, hook_app, live_services):
    _, achievement = setup_issuer(admin)
    with worker(hook_app):
        credential_id = issue(admin, achievement)
        deadline = time.monotonic() + 5
        while True:
            with live_services.sessionmaker() as session:
                recorded = session.scalar(select(Notification).where(Notification.credential_id == credential_id))
            if recorded is not None:
                break
            assert time.monotonic() < deadline, "the notify job did not run"
            time.sleep(0.1)
    assert recorded.kind == "issued"


# --- a worker killed while it delivers ----------------------------------------------------------

def _worker_process(hook_config: dict) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": ROOT}
    for key, value in hook_config.items():
        if key not in ("TESTING",):
            env[f"BADGES_{key}"] = "true" if value is True else str(value)
    return subprocess.Popen([sys.executable, "-m", "issuer.cli", "worker", "--workers", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_killing_the_worker_mid_delivery_loses_nothing(admin, hook_config, live_services, receiver):
    _, achievement = setup_issuer(admin)
    hook = register(admin, receiver.url, issuer="acme")
    receiver.hold_seconds = 3  # the first request is still open when the worker dies
    first_worker = _worker_process(hook_config)
    try:
        issue(admin, achievement)
        receiver.wait_for(1, timeout=20)
    finally:
        first_worker.kill()
        first_worker.wait()
    receiver.hold_seconds = 0
    [message] = messages(live_services, hook["id"])
    assert message.state == "pending"  # never marked delivered: the answer never reached a worker
    second_worker = _worker_process(hook_config)
    try:
        receiver.wait_for(2, timeout=20)
        deadline = time.monotonic() + 10
        while messages(live_services, hook["id"])[0].state != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        second_worker.send_signal(signal.SIGINT)
        second_worker.wait(timeout=20)
    ids = {r["headers"]["webhook-id"] for r in receiver.received}
    assert ids == {message.id}  # a duplicate, and only with the same event id
    assert [e["type"] for e in receiver.events(hook["secret"])] == ["credential.issued"] * len(receiver.received)


def test_every_change_of_an_issuers_credential_is_published_in_its_transaction(admin, hook_app, live_services,
                                                                             receiver):
    """Issuance (single and batch), renewal, the lifecycle: each writes its event to the outbox with
    the change; a refused change writes none. (No worker runs here: the rows are what is checked.)"""
    _, achievement = setup_issuer(admin)
    hook = register(admin, receiver.url, issuer="acme")
    first = issue(admin, achievement, "a-1")
    renewal = issue(admin, achievement, "a-2")  # the same earner passes again: a renewal
    batch = admin.post(f"/api/v1/achievements/{achievement['id']}/results/batch",
                       json={"results": [result_body("b-1", email="grace@example.org")]})
    assert batch.status_code == 200
    batch_credential = batch.json["items"][0]["credential_id"]
    for action in ("suspend", "unsuspend"):
        assert admin.post(f"/api/v1/credentials/{renewal}/{action}", json={"reason": action}).status_code == 200
    assert admin.post(f"/api/v1/credentials/{renewal}/unsuspend", json={"reason": "again"}).status_code == 409
    reissued = admin.post(f"/api/v1/credentials/{renewal}/reissue", json={"reason": "typo"}).json["credential_id"]
    assert admin.post("/api/v1/credentials/revoke", json={"credential_ids": [first, batch_credential],
                                                          "reason": "bulk"}).status_code == 200
    told = [(m.type, m.payload["data"]["credential_id"], m.payload["data"]["state"])
            for m in messages(live_services, hook["id"])]
    assert told == [
        ("credential.issued", first, "valid"), ("credential.renewed", renewal, "valid"),
        ("credential.issued", batch_credential, "valid"),
        ("credential.suspended", renewal, "suspended"), ("credential.reinstated", renewal, "valid"),
        ("credential.reissued", renewal, "revoked"),
        ("credential.revoked", first, "revoked"), ("credential.revoked", batch_credential, "revoked"),
    ]
    [reissue] = [m for m in messages(live_services, hook["id"]) if m.type == "credential.reissued"]
    assert reissue.payload["data"]["successor"] == reissued and reissue.payload["data"]["reason"] == "typo"


# --- badges serve starts a worker, unless --no-worker -------------------------------------------

def _children(pid: int) -> list[str]:
    """The command lines of a process's children (Linux /proc)."""
    from pathlib import Path

    try:
        ids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    lines = []
    for child in ids:
        try:
            lines.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            pass
    return lines


@pytest.mark.parametrize("flags, workers", [([], 1), (["--no-worker"], 0)])
def test_serve_starts_a_queue_worker_unless_told_not_to(tmp_path, flags, workers):
    from tests.issuer.test_serve import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGES_")}
    env.update(BADGES_INSTANCE_PATH=str(tmp_path / "instance"), BADGES_THROTTLE_ENABLED="false", PYTHONPATH=ROOT)
    server = subprocess.Popen([sys.executable, "-m", "issuer.cli", "serve", "--dev", "--port", str(free_port()), *flags],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in server.stdout:
            if "Instance folder" in line or time.monotonic() > deadline:
                break
        time.sleep(1.0)
        found = [c for c in _children(server.pid) if c.rstrip().endswith("worker")]
        assert len(found) == workers, _children(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stdout.close()


def test_a_batch_tells_every_credential_it_issued(admin, hook_app, live_services, receiver):
    _, achievement = setup_issuer(admin)
    hook = register(admin, receiver.url, issuer="acme", events=["credential.issued"])
    results = [result_body(f"b-{i}", email=f"earner{i}@example.org") for i in range(20)]
    with worker(hook_app, workers=4):
        answer = admin.post(f"/api/v1/achievements/{achievement['id']}/results/batch", json={"results": results})
        assert answer.status_code == 200
        receiver.wait_for(20, timeout=15)
        time.sleep(0.3)
    told = sorted(e["data"]["credential_id"] for e in receiver.events(hook["secret"]))
    assert told == sorted(item["credential_id"] for item in answer.json["items"])
