"""The console's pages for an issuer's webhook endpoints: an owner adds one (its secret shown once),
rotates its secret and deletes it after a confirmation step, and reads its delivery log, made by a
real huey worker against a real receiver on loopback, where a message can be sent again. Editors and
viewers see the endpoints and the log, and change nothing. Runs on the real database (SQLite, and
PostgreSQL when configured)."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from sqlalchemy import select

from issuer import create_app
from issuer.db import transaction
from issuer.models import AuditEntry, WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, TEST_KEK, Api, make_token, result_body
from tests.issuer.test_console import Browser, add_user
from tests.issuer.test_webhooks import FAST, live_services, worker  # noqa: F401 - live_services: a fixture
from tests.issuer.webhook_receiver import Receiver

HOOKS = f"/admin/issuers/{ISSUER['slug']}/webhooks"


def make_app(tmp_path, services, name: str, **config):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / name), "BASE_URL": BASE_URL,
                       "KEY_ENCRYPTION_KEY": TEST_KEK, "QUEUE_NAME": f"badges-test-{uuid.uuid4().hex[:12]}",
                       **config}, services=services)


@pytest.fixture
def hook_app(tmp_path, live_services):  # noqa: F811
    return make_app(tmp_path, live_services, "instance", **FAST)


@pytest.fixture
def admin(hook_app, live_services) -> Api:  # noqa: F811
    api = Api(hook_app.test_client(), make_token(live_services))
    assert api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    return api


@pytest.fixture
def achievement(admin) -> dict:
    return admin.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT).json


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def person(app, services, email: str, role: str | None) -> Browser:
    """A new user with `role` at the issuer (None: an instance admin), signed in in a browser of their own."""
    add_user(services, email, admin=role is None, slug=ISSUER["slug"] if role else None, role=role)
    browser = Browser(app.test_client())
    assert browser.sign_in(email).status_code == 302
    return browser


def text(response) -> str:
    return response.get_data(as_text=True)


def endpoints(services) -> list[WebhookEndpoint]:
    with services.sessionmaker() as session:
        return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))))


def add_endpoint(browser: Browser, url: str, events=()) -> str:
    answer = browser.post(HOOKS, {"url": url, "events": list(events)})
    assert answer.status_code == 200, text(answer)
    [secret] = re.findall(r"<code>(whsec_[^<]+)</code>", text(answer))
    return secret


def issue(admin: Api, achievement: dict, external_id: str = "attempt-1") -> str:
    answer = admin.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id))
    assert answer.status_code == 201, answer.json
    return answer.json["credential_id"]


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(hook_app, live_services, admin, achievement,  # noqa: F811
                                                            receiver):
    owner = person(hook_app, live_services, "owner@example.org", "owner")
    page = owner.get(HOOKS)
    assert page.status_code == 200 and "No endpoints." in text(page) and "Add an endpoint" in text(page)
    secret = add_endpoint(owner, receiver.url, ["credential.issued", "credential.revoked"])
    [endpoint] = endpoints(live_services)
    assert endpoint.url == receiver.url and endpoint.events == ["credential.issued", "credential.revoked"]
    listed = text(owner.get(HOOKS))
    assert "whsec_" not in listed  # shown once
    assert receiver.url in listed and "credential.issued, credential.revoked" in listed and "enabled" in listed
    with live_services.sessionmaker() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.create"))
        assert entry.actor == "user" and entry.details["user"] == "owner@example.org"
    # The secret shown is the one deliveries are signed with.
    with worker(hook_app):
        issue(admin, achievement)
        receiver.wait_for(1)
    assert [e["type"] for e in receiver.events(secret)] == ["credential.issued"]


def test_a_refused_url_or_event_is_a_form_error(tmp_path, hook_app, live_services, admin):  # noqa: F811
    guarded = make_app(tmp_path, live_services, "guarded")  # WEBHOOK_ALLOW_LOOPBACK not set
    owner = person(guarded, live_services, "owner@example.org", "owner")
    for url, events in [("http://127.0.0.1:9/hooks", []), ("https://10.1.2.3/hooks", []),
                        ("ftp://example.org/x", []), ("", [])]:
        answer = owner.post(HOOKS, {"url": url, "events": events})
        html = text(answer)
        assert answer.status_code == 422 and 'id="w-url-error"' in html and 'aria-invalid="true"' in html, (url, html)
        assert f'value="{url}"' in html  # what was typed is kept
    refused = text(owner.post(HOOKS, {"url": "http://127.0.0.1:9/hooks"}))
    assert "Deliveries would not be sent there" in refused
    unknown = owner.post(HOOKS, {"url": "https://93.184.215.14/hooks", "events": ["credential.verified"]})
    assert unknown.status_code == 422 and "credential.verified" in text(unknown)
    assert endpoints(live_services) == []
    # With WEBHOOK_ALLOW_LOOPBACK, loopback is accepted (private addresses still are not).
    owner = person(hook_app, live_services, "admin@example.org", None)
    add_endpoint(owner, "http://127.0.0.1:9/hooks")
    assert owner.post(HOOKS, {"url": "https://10.1.2.3/hooks"}).status_code == 422
    assert [e.url for e in endpoints(live_services)] == ["http://127.0.0.1:9/hooks"]


def test_rotating_and_deleting_take_a_confirmation_step(hook_app, live_services, admin, achievement,  # noqa: F811
                                                        receiver):
    owner = person(hook_app, live_services, "owner@example.org", "owner")
    first = add_endpoint(owner, receiver.url)
    [endpoint] = endpoints(live_services)
    rotate = f"{HOOKS}/{endpoint.id}/rotate"
    asked = owner.post(rotate, {}, form_at=HOOKS)
    assert asked.status_code == 200 and "Rotate the signing secret" in text(asked) and "whsec_" not in text(asked)
    assert endpoints(live_services)[0].sealed_secret == endpoint.sealed_secret  # nothing changed yet
    done = owner.post(rotate, {"confirm": "yes"}, form_at=HOOKS)
    [second] = re.findall(r"<code>(whsec_[^<]+)</code>", text(done))
    assert done.status_code == 200 and second != first
    with worker(hook_app):
        issue(admin, achievement)
        receiver.wait_for(1)
    assert receiver.events(second)[0]["type"] == "credential.issued"

    delete = f"{HOOKS}/{endpoint.id}/delete"
    asked = owner.post(delete, {}, form_at=HOOKS)
    assert asked.status_code == 200 and "Delete the endpoint" in text(asked)
    assert len(endpoints(live_services)) == 1
    gone = owner.post(delete, {"confirm": "yes"}, form_at=HOOKS)
    assert gone.status_code == 303
    assert endpoints(live_services) == [] and receiver.url not in text(owner.get(HOOKS))
    assert owner.get(f"{HOOKS}/{endpoint.id}").status_code == 404
    assert admin.get(f"/api/v1/webhooks/{endpoint.id}").status_code == 404
    with live_services.sessionmaker() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == endpoint.id)
                                  .order_by(AuditEntry.id)).all()
    assert actions == ["webhook.create", "webhook.rotate", "webhook.delete"]


def test_the_delivery_log_shows_real_attempts_and_a_message_is_sent_again(hook_app, live_services, admin,  # noqa: F811
                                                                           achievement, receiver):
    owner = person(hook_app, live_services, "owner@example.org", "owner")
    add_endpoint(owner, receiver.url)
    [endpoint] = endpoints(live_services)
    log = f"{HOOKS}/{endpoint.id}"
    assert "No delivery attempts yet." in text(owner.get(log))
    receiver.fail_first = 1
    with worker(hook_app):
        issue(admin, achievement)
        receiver.wait_for(2)
        deadline = time.monotonic() + 5
        while "204" not in text(owner.get(log)):
            assert time.monotonic() < deadline, "the delivery log shows no 204"
            time.sleep(0.1)
        page = owner.get(log)
        html = text(page)
        message_id = receiver.received[0]["headers"]["webhook-id"]
        rows = re.findall(r"<tr>\s*<td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>\s*<td>(\d+)</td><td>(.*?)</td>", html)
        assert [(r[1], r[2], r[4]) for r in rows] == [("credential.issued", "204", ""),
                                                      ("credential.issued", "500", "answered HTTP 500")]
        assert html.count(message_id) >= 2 and "(delivered)" in html
        # Sent again by hand: the same webhook-id reaches the receiver.
        again = owner.post(f"{log}/messages/{message_id}/redeliver", {}, form_at=log)
        assert again.status_code == 303
        receiver.wait_for(3)
    assert receiver.received[2]["headers"]["webhook-id"] == message_id
    assert owner.post(f"{log}/messages/msg_nope/redeliver", {}, form_at=log).status_code == 404
    with live_services.sessionmaker() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.redeliver"))
        assert entry.details == {"message_id": message_id, "user": "owner@example.org"}


def test_the_delivery_log_is_paged(hook_app, live_services, admin, achievement, receiver):  # noqa: F811
    owner = person(hook_app, live_services, "owner@example.org", "owner")
    add_endpoint(owner, receiver.url)
    with worker(hook_app):
        issue(admin, achievement)
        receiver.wait_for(1)
    [endpoint] = endpoints(live_services)
    with live_services.sessionmaker() as session, transaction(session):
        message = session.scalar(select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint.id))
        for n in range(55):  # older attempts, as if it had answered 503 many times before
            session.add(WebhookAttempt(message_id=message.id, endpoint_id=endpoint.id, at=message.created_at,
                                       status_code=503, latency_ms=n, error="answered HTTP 503"))
    log = f"{HOOKS}/{endpoint.id}"
    first = text(owner.get(log))
    assert first.count("answered HTTP 503") == 50 and ">Older</a>" in first and ">Newer</a>" not in first
    second = text(owner.get(log + "?page=2"))
    # The 56 attempts, newest first: the real one (204) was made before the 55 added.
    assert second.count("answered HTTP 503") == 5 and ">Newer</a>" in second and ">Older</a>" not in second
    assert ">204<" in second


def test_editors_and_viewers_see_but_do_not_change(hook_app, live_services, admin, achievement,  # noqa: F811
                                                   receiver):
    owner = person(hook_app, live_services, "owner@example.org", "owner")
    add_endpoint(owner, receiver.url)
    [endpoint] = endpoints(live_services)
    with worker(hook_app):
        issue(admin, achievement)
        receiver.wait_for(1)
    message_id = receiver.received[0]["headers"]["webhook-id"]
    log = f"{HOOKS}/{endpoint.id}"
    for email, role in [("editor@example.org", "editor"), ("viewer@example.org", "viewer")]:
        browser = person(hook_app, live_services, email, role)
        listed = text(browser.get(HOOKS))
        assert receiver.url in listed and "Only an owner" in listed
        assert "Add an endpoint" not in listed and "Rotate secret" not in listed and "Delete…" not in listed
        shown = browser.get(log)
        assert shown.status_code == 200 and "204" in text(shown) and "Redeliver" not in text(shown)
        assert browser.post(HOOKS, {"url": "http://127.0.0.1:9/x"}).status_code == 403
        assert browser.post(f"{log}/rotate", {"confirm": "yes"}, form_at=HOOKS).status_code == 403
        assert browser.post(f"{log}/delete", {"confirm": "yes"}, form_at=HOOKS).status_code == 403
        assert browser.post(f"{log}/messages/{message_id}/redeliver", {}, form_at=log).status_code == 403
    assert [e.url for e in endpoints(live_services)] == [receiver.url] and len(receiver.received) == 1
    # Someone of another issuer sees nothing of this one's endpoints.
    assert admin.post("/api/v1/issuers", json={**ISSUER, "slug": "other", "name": "Other"}).status_code == 201
    add_user(live_services, "stranger@example.org", slug="other", role="owner")
    stranger = Browser(hook_app.test_client())
    stranger.sign_in("stranger@example.org")
    assert stranger.get(HOOKS).status_code == 403 and stranger.get(log).status_code == 403
    assert stranger.get(f"/admin/issuers/other/webhooks/{endpoint.id}").status_code == 404
