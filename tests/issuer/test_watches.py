"""Watches end to end (issue 12): a relying party watches credentials, a real huey worker
revalidates them as the world changes, and the party's loopback receiver is told."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from issuer import create_app
from tests.conftest import BASE_URL, TEST_KEK, Api, make_token
from tests.issuer.test_notify import mailbox  # noqa: F401 (a real SMTP server on loopback)
from tests.issuer.test_webhooks import FAST, issue, live_services, receiver, register, setup_issuer, worker  # noqa: F401

from keys import did_web_document, multikey_verification_method  # noqa: E402
from tests.verifier.support import (VC2, DidKey, sign, sign_with_options, signed_credential, status_entry,  # noqa: E402
                                    unsigned_credential)
from verifier.statuslist import MIN_LENGTH_BYTES, encode_status_list, set_bit  # noqa: E402

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def watch_config(request, tmp_path, database_url):
    """The embedded SQLite queue; a test parametrized indirectly with "redis-queue" runs on Redis."""
    redis = {"QUEUE_URL": REDIS} if getattr(request, "param", None) == "redis-queue" else {}
    return {**redis, "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
            "DATABASE_URL": database_url, "KEY_ENCRYPTION_KEY": TEST_KEK, **FAST,
            "QUEUE_NAME": f"badges-test-{uuid.uuid4().hex[:12]}", "VERIFY_MAX_CLOCK_SKEW_SECONDS": 1,
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
    assert [w["id"] for w in party.get("/api/v1/watches?state=valid").json["items"]] == [watch["id"]]
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

    # Paged, and filtered by when the verdict last changed.
    second = party.post("/api/v1/watches", json={"credential": document(admin, credential_id)}).json
    page = party.get("/api/v1/watches?limit=1").json
    assert [w["id"] for w in page["items"]] == [watch["id"]] and page["next_offset"] == 1
    page = party.get("/api/v1/watches?limit=1&offset=1").json
    assert [w["id"] for w in page["items"]] == [second["id"]] and page["next_offset"] is None
    since = party.get("/api/v1/watches", query_string={"changed_since": second["changed_at"]}).json["items"]
    assert [w["id"] for w in since] == [second["id"]]
    assert party.get("/api/v1/watches?changed_since=yesterday").status_code == 422

    # Bad inputs: clear problems, no watch.
    assert party.post("/api/v1/watches", json={}).json["code"] == "validation_failed"
    assert party.post("/api/v1/watches", json={"credential": "not a credential"}).status_code == 422
    assert party.post("/api/v1/watches", json={"presentation": {}}).json["errors"].keys() >= {"challenge", "domain"}
    assert party.get("/api/v1/watches?state=lost").status_code == 422

    assert delete(party, f"/api/v1/watches/{watch['id']}").status_code == 204
    assert party.get(f"/api/v1/watches/{watch['id']}").status_code == 404


@pytest.mark.parametrize("watch_config", ["sqlite-queue", "redis-queue"], indirect=True)
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


def test_a_partys_endpoint_failing_for_the_whole_retry_period_is_disabled_and_the_party_emailed(
        watch_config, live_services, receiver, mailbox):
    config = {**watch_config, "WEBHOOK_RETRY_PERIOD_SECONDS": 1, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port,
              "MAIL_FROM": "badges@acme.example"}
    app = create_app(config, services=live_services)
    admin = Api(app.test_client(), make_token(live_services))
    _, achievement = setup_issuer(admin)
    credential_id = issue(admin, achievement)
    assert admin.post("/api/v1/parties", json={"name": "Acme Hiring", "email": "no-email"}).status_code == 422
    created = admin.post("/api/v1/parties", json={"name": "Acme Hiring", "email": "hiring@acme.example"})
    assert created.status_code == 201 and created.json["email"] == "hiring@acme.example", created.json
    party = admin.as_token(created.json["token"])
    hook = register(party, receiver.url)
    party.post("/api/v1/watches", json={"credential": document(admin, credential_id)})
    receiver.always_fail = True
    with worker(app):
        assert admin.post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "cheated"}).status_code == 200
        deadline = time.monotonic() + 10
        while party.get(f"/api/v1/webhooks/{hook['id']}").json["disabled_at"] is None:
            assert time.monotonic() < deadline, "the endpoint was not disabled"
            time.sleep(0.1)
        deadline = time.monotonic() + 5
        while not mailbox.to("hiring@acme.example"):
            assert time.monotonic() < deadline, "the party was not told"
            time.sleep(0.1)
    [told] = mailbox.to("hiring@acme.example")
    assert told["Subject"] == "A webhook endpoint was disabled"
    assert receiver.url in told.get_content() and hook["id"] in told.get_content()
    if app.config.get("QUEUE_URL"):
        app.extensions["queue"].huey.storage.flush_all()


def test_an_expiry_crossing_turns_the_watch_expired_and_tells_the_party(admin, app, live_services, receiver):
    _, achievement = setup_issuer(admin, valid_for="PT3S")
    credential_id = issue(admin, achievement)
    party = party_api(admin)
    hook = register(party, receiver.url, events=["credential.expired", "credential.expiring"])
    watch = party.post("/api/v1/watches", json={"credential": document(admin, credential_id)}).json
    assert watch["state"] == "valid"
    with worker(app):
        # No periodic job runs here: the crossing was scheduled for the moment validUntil passes.
        wait_state(party, watch["id"], "expired", timeout=8)
        receiver.wait_for(2, timeout=5)
    kinds = [e["type"] for e in receiver.events(hook["secret"])]
    assert kinds == ["credential.expiring", "credential.expired"]  # expiring within 30 days: told at once
    history = party.get(f"/api/v1/watches/{watch['id']}").json["history"]
    assert [(h["state"], h.get("code")) for h in history] == [("valid", None), ("expired", "expired")]


def test_a_renewal_moves_the_watch_to_the_earners_new_credential_and_says_so(admin, app, live_services, receiver):
    _, achievement = setup_issuer(admin)
    first = issue(admin, achievement, "attempt-1")
    party = party_api(admin)
    hook = register(party, receiver.url, events=["credential.renewed", "credential.revoked"])
    watch = party.post("/api/v1/watches", json={"credential": document(admin, first)}).json
    with worker(app):
        second = issue(admin, achievement, "attempt-2")  # a new pass by the same earner renews it
        receiver.wait_for(1, timeout=5)
        moved = party.get(f"/api/v1/watches/{watch['id']}").json
        assert moved["credential_id"].endswith(second) and moved["state"] == "valid"
        assert [(h["state"], h.get("code")) for h in moved["history"]] == [("valid", None), ("valid", "renewed")]
        # It now follows the new credential: revoking that one reaches the party.
        assert admin.post(f"/api/v1/credentials/{second}/revoke", json={"reason": "x"}).status_code == 200
        receiver.wait_for(2, timeout=5)
    renewed, revoked = receiver.events(hook["secret"])
    assert renewed["type"] == "credential.renewed" and renewed["data"]["renews"].endswith(first)
    assert renewed["data"]["credential_id"].endswith(second) and renewed["data"]["watch_id"] == watch["id"]
    assert revoked["type"] == "credential.revoked" and revoked["data"]["credential_id"].endswith(second)
    assert party.get(f"/api/v1/watches/{watch['id']}").json["state"] == "revoked"


class ListServer:
    """A foreign issuer's status list on loopback, with an ETag; answers If-None-Match with 304."""

    def __init__(self, signer: DidKey):
        self.signer, self.requests = signer, []  # (If-None-Match, status) per request
        self.failing, self.documents = False, {}  # failing: answer 503; documents: other paths served
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path in server.documents:
                    body = json.dumps(server.documents[self.path]).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if server.failing:
                    server.requests.append((self.headers.get("If-None-Match"), 503))
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(server.body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    server.requests.append((self.headers.get("If-None-Match"), 304))
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                server.requests.append((self.headers.get("If-None-Match"), 200))
                self.send_response(200)
                self.send_header("Content-Type", "application/vc+ld+json")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/lists/1"
        self.publish()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def publish(self, *revoked: int) -> None:
        bits = bytearray(MIN_LENGTH_BYTES)
        for index in revoked:
            set_bit(bits, index)
        self.body = json.dumps(sign({
            "@context": [VC2], "id": self.url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.signer.did, "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": f"{self.url}#list", "type": "BitstringStatusList",
                                  "statusPurpose": "revocation", "encodedList": encode_status_list(bits),
                                  "ttl": 1000},  # milliseconds
        }, self.signer)).encode()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize("watch_config", ["sqlite-queue", "redis-queue"], indirect=True)
def test_a_foreign_credential_revoked_at_its_issuer_is_revoked_after_the_lists_ttl(admin, app, live_services, receiver):
    signer = DidKey()
    lists = ListServer(signer)
    try:
        credential = signed_credential(signer, validUntil=None, credentialStatus=status_entry(lists.url, 42))
        party = party_api(admin)
        hook = register(party, receiver.url, events=["credential.revoked"])
        watch = party.post("/api/v1/watches", json={"credential": credential, "label": "foreign"}).json
        assert watch["state"] == "valid", watch["report"]
        with worker(app):
            time.sleep(2.5)  # the list is refetched once its ttl (1 s) runs out: unchanged, 304
            assert (lists.requests[-1][1], bool(lists.requests[-1][0])) == (304, True), lists.requests
            lists.publish(42)
            started = time.monotonic()
            wait_state(party, watch["id"], "revoked", timeout=5)
            # What is left of the ttl (at most 1 s), then huey's scheduler, which enqueues what is
            # due once a second, then the worker's poll (at most 0.5 s: issuer/queue.py), then the
            # refetch and the check: 2.5 s left nothing for the work itself.
            assert time.monotonic() - started <= 1.0 + 1.0 + 0.5 + 0.5
            receiver.wait_for(1, timeout=5)
        [event] = receiver.events(hook["secret"])
        assert event["type"] == "credential.revoked" and event["data"]["credential_id"] == credential["id"]
    finally:
        lists.close()


def test_a_presentation_is_watched_when_its_challenge_and_domain_check_out(admin, app):
    signer, holder = DidKey(), DidKey()
    credential = signed_credential(signer, validUntil=None)
    vp = sign_with_options({"@context": [VC2], "type": ["VerifiablePresentation"], "holder": holder.did,
                            "verifiableCredential": [credential]}, holder, proof_purpose="authentication",
                           challenge="c-123", domain="hiring.example")
    party = party_api(admin)
    wrong = party.post("/api/v1/watches", json={"presentation": vp, "challenge": "c-999", "domain": "hiring.example"})
    assert wrong.status_code == 422 and wrong.json["code"] == "challenge_mismatch"
    right = party.post("/api/v1/watches", json={"presentation": vp, "challenge": "c-123", "domain": "hiring.example"})
    assert right.status_code == 201 and right.json["state"] == "valid"
    assert right.json["credential_id"] == credential["id"] and right.json["issuer"] == signer.did


def test_a_baked_png_upload_and_a_url_are_watched(admin, app):
    _, achievement = setup_issuer(admin)
    credential_id = issue(admin, achievement)
    png = admin.client.get(f"/credentials/{credential_id}/badge.png").data
    party = party_api(admin)
    uploaded = party.post("/api/v1/watches", json=None, data={"file": (io.BytesIO(png), "badge.png"),
                                                              "label": "from a PNG"},
                          content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json["state"] == "valid" and uploaded.json["label"] == "from a PNG"
    assert uploaded.json["credential_id"].endswith(credential_id)
    unreachable = party.post("/api/v1/watches", json={"url": "http://127.0.0.1:9/credential.json"})
    assert unreachable.status_code == 422 and unreachable.json["code"].startswith("fetch")


def test_a_list_unreachable_past_the_grace_period_is_told_unverifiable_then_verified_again(
        admin, app, live_services, receiver):
    signer = DidKey()
    lists = ListServer(signer)
    try:
        credential = signed_credential(signer, validUntil=None, credentialStatus=status_entry(lists.url, 7))
        party = party_api(admin)
        hook = register(party, receiver.url, events=["credential.unverifiable", "credential.verified"])
        watch = party.post("/api/v1/watches", json={"credential": credential}).json
        with worker(app):
            time.sleep(1.2)
            lists.failing = True  # its issuer's server is down
            wait_state(party, watch["id"], "unverifiable", timeout=6)  # after the 1 s grace period
            lists.failing = False
            wait_state(party, watch["id"], "valid", timeout=6)
            receiver.wait_for(2, timeout=5)
        kinds = [(e["type"], e["data"]["state"]) for e in receiver.events(hook["secret"])]
        assert kinds == [("credential.unverifiable", "unverifiable"), ("credential.verified", "valid")]
    finally:
        lists.close()


class WebKey:
    """A did:web identity on the loopback list server, signing with a did:key's key."""

    algorithm = "Ed25519"

    def __init__(self, port: int, key: DidKey):
        self.did = f"did:web:127.0.0.1%3A{port}:issuers:far"
        self.verification_method = f"{self.did}#key-1"
        self.key = key

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    def document(self, key: DidKey) -> dict:
        return did_web_document(self.did, [multikey_verification_method(
            self.did, "key-1", key.did.removeprefix("did:key:"))])


def test_a_key_removed_from_the_issuers_did_document_makes_the_watch_invalid(admin, app, live_services, receiver):
    lists = ListServer(DidKey())
    try:
        port = int(lists.url.split(":")[2].split("/")[0])
        signer = WebKey(port, DidKey())
        lists.documents["/issuers/far/did.json"] = signer.document(signer.key)
        credential = sign(unsigned_credential(signer.did, validUntil=None), signer)
        party = party_api(admin)
        hook = register(party, receiver.url, events=["credential.unverifiable"])
        watch = party.post("/api/v1/watches", json={"credential": credential}).json
        assert watch["state"] == "valid", watch["report"]
        lists.documents["/issuers/far/did.json"] = signer.document(DidKey())  # the key replaced
        with worker(app):
            app.extensions["queue"].enqueue("watch_issuers")  # the periodic job, run now
            watched = wait_state(party, watch["id"], "invalid")
            receiver.wait_for(1, timeout=5)
        assert watched["code"] == "invalid_signature" or watched["code"].startswith(("unresolvable", "key_"))
        [event] = receiver.events(hook["secret"])
        assert event["type"] == "credential.unverifiable" and event["data"]["state"] == "invalid"
    finally:
        lists.close()


def test_a_jwt_credential_is_watched_and_its_list_followed(admin, app):
    from tests.verifier.test_forms_jwt import claims_for
    import jwt

    signer = DidKey()
    lists = ListServer(signer)
    try:
        credential = unsigned_credential(signer.did, validUntil=None, credentialStatus=status_entry(lists.url, 3))
        token = jwt.encode({**credential, **claims_for(credential)}, signer.private_key, algorithm="EdDSA",
                           headers={"kid": signer.verification_method})
        party = party_api(admin)
        created = party.post("/api/v1/watches", json={"credential": token})
        assert created.status_code == 201, created.json
        assert created.json["state"] == "valid", created.json["report"]
        assert created.json["credential_id"] == credential["id"] and created.json["issuer"] == signer.did
        lists.publish(3)
        queue = app.extensions["queue"]
        queue.task("watch_list").call_local(lists.url)  # the list's job, run here: its first fetch, revoked
        watched = party.get(f"/api/v1/watches/{created.json['id']}").json
        assert watched["state"] == "revoked" and [h["state"] for h in watched["history"]] == ["valid", "revoked"]
        assert watched["report"]["verified"] is False  # the report says what the list refresh found
        assert [c["code"] for c in watched["report"]["checks"] if c["check"] == "status"] == ["revoked"]
    finally:
        lists.close()


def test_the_party_page_signs_nobody_out_without_its_form(app):
    client = app.test_client()
    refused = client.post("/parties/sign-out")
    assert refused.status_code == 403 and "badges_party=" not in refused.headers.get("Set-Cookie", "")
