"""Watches end to end (issue 12): a relying party watches credentials, a real huey worker
revalidates them as the world changes, and the party's loopback receiver is told."""

from __future__ import annotations

import time
import uuid

import pytest

from issuer import create_app
from tests.conftest import BASE_URL, TEST_KEK, Api, make_token
from tests.issuer.test_webhooks import FAST, issue, live_services, receiver, register, setup_issuer, worker  # noqa: F401

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def watch_config(tmp_path, database_url):
    return {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
            "DATABASE_URL": database_url, "KEY_ENCRYPTION_KEY": TEST_KEK, **FAST,
            "QUEUE_NAME": f"badges-test-{uuid.uuid4().hex[:12]}", "VERIFY_MAX_CLOCK_SKEW_SECONDS": 0,
            "VERIFY_ALLOW_HTTP_LOOPBACK": True, "WATCH_UNVERIFIABLE_GRACE_SECONDS": 1}


@pytest.fixture
def app(watch_config, live_services):
    app = create_app(watch_config, services=live_services)
    yield app
    if watch_config.get("QUEUE_URL"):
        app.extensions["queue"].huey.storage.flush_all()


@pytest.fixture
def admin(app, live_services) -> Api:
    return Api(app.test_client(), make_token(live_services))


def party_api(admin: Api, name: str = "Acme Hiring") -> Api:
    created = admin.post("/api/v1/parties", json={"name": name})
    assert created.status_code == 201, created.json
    return admin.as_token(created.json["token"])


def document(admin: Api, credential_id: str) -> dict:
    response = admin.client.get(f"/credentials/{credential_id}/credential.json")
    assert response.status_code == 200
    return response.get_json(force=True)


def delete(api: Api, path: str):
    return api.client.delete(path, headers=api._headers(None))


def wait_state(party: Api, watch_id: str, state: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        watch = party.get(f"/api/v1/watches/{watch_id}").json
        if watch["state"] == state or time.monotonic() > deadline:
            assert watch["state"] == state, watch
            return watch
        time.sleep(0.05)


def test_a_party_watches_a_credential_and_only_it_sees_its_watches(admin, app, live_services):
    issuer, achievement = setup_issuer(admin)
    credential_id = issue(admin, achievement)
    party, other = party_api(admin), party_api(admin, "Other Corp")
    issuer_api = admin.as_token(make_token(live_services, issuer["slug"]))

    created = party.post("/api/v1/watches", json={"credential": document(admin, credential_id),
                                                  "label": "Ada, backend role", "reference": "APP-7"})
    assert created.status_code == 201, created.json
    watch = created.json
    assert watch["state"] == "valid" and watch["report"]["verified"] is True, watch["report"]["checks"][-3:]
    assert watch["label"] == "Ada, backend role" and watch["reference"] == "APP-7"
    assert [h["state"] for h in watch["history"]] == ["valid"]
    assert created.headers["Location"].endswith(f"/api/v1/watches/{watch['id']}")

    assert party.get(f"/api/v1/watches/{watch['id']}").json["id"] == watch["id"]
    assert [w["id"] for w in party.get("/api/v1/watches").json["items"]] == [watch["id"]]
    assert party.get("/api/v1/watches?state=revoked").json["items"] == []
    # Another party does not find it; issuers' and the instance's tokens have no watches at all.
    assert other.get(f"/api/v1/watches/{watch['id']}").status_code == 404
    assert other.get("/api/v1/watches").json["items"] == []
    assert delete(other, f"/api/v1/watches/{watch['id']}").status_code == 404
    for api in (issuer_api, admin):
        assert api.get("/api/v1/watches").json["code"] == "token_scope"
        assert api.get(f"/api/v1/watches/{watch['id']}").status_code == 403
        assert api.post("/api/v1/watches", json={"credential": "x"}).status_code == 403
    # And a party's token sees nothing of the issuer.
    assert party.get(f"/api/v1/credentials/{credential_id}").status_code == 403

    # Bad inputs: clear problems, no watch.
    assert party.post("/api/v1/watches", json={}).json["code"] == "validation_failed"
    assert party.post("/api/v1/watches", json={"credential": "not a credential"}).status_code == 422
    assert party.post("/api/v1/watches", json={"presentation": {}}).json["errors"].keys() >= {"challenge", "domain"}
    assert party.get("/api/v1/watches?state=lost").status_code == 422

    assert delete(party, f"/api/v1/watches/{watch['id']}").status_code == 204
    assert party.get(f"/api/v1/watches/{watch['id']}").status_code == 404


def test_a_revocation_here_changes_the_watch_and_reaches_the_partys_receiver_within_two_seconds(
        admin, app, live_services, receiver):
    _, achievement = setup_issuer(admin)
    credential_id = issue(admin, achievement)
    party = party_api(admin)
    hook = register(party, receiver.url)
    watch = party.post("/api/v1/watches", json={"credential": document(admin, credential_id)}).json
    with worker(app):
        started = time.monotonic()
        assert admin.post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "cheated"}).status_code == 200
        first = receiver.wait_for(1, timeout=5)[0]
        assert first["at"] - started <= 2.0
    [event] = receiver.events(hook["secret"])
    assert event["type"] == "credential.revoked"
    assert event["data"]["watch_id"] == watch["id"] and event["data"]["state"] == "revoked"
    watched = party.get(f"/api/v1/watches/{watch['id']}").json
    assert watched["state"] == "revoked" and watched["code"] == "revoked"
    assert [(h["state"], h.get("code")) for h in watched["history"]] == [("valid", None), ("revoked", "revoked")]
    assert [w["id"] for w in party.get("/api/v1/watches?state=revoked").json["items"]] == [watch["id"]]
