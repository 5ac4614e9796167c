"""`badges verify --allow-http-loopback` verifies the credentials of a local instance (plain http on
127.0.0.1, as `badges serve` runs it): its did:web issuer and its status lists are read over http
from the live server. Without the flag, or for any host that is not loopback, did:web stays https."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from issuer import create_app
from issuer.cli import main
from issuer.urls import Urls
from tests.conftest import ACHIEVEMENT, ISSUER, make_token, result_body
from tests.issuer.live import LiveServer, http
from verifier.resolvers import did_web_url


@pytest.fixture
def local_instance(services, clock, tmp_path):
    """A live instance on http://127.0.0.1:<port>, its BASE_URL that origin (so its issuers are
    did:web:127.0.0.1%3A<port>:issuers:<slug>), and the real clock a minute back, as the CLI uses it."""
    clock.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    server = LiveServer()
    try:
        live_services = dataclasses.replace(services, urls=Urls(server.base_url))
        server.start(create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                                 "BASE_URL": server.base_url}, services=live_services))
        yield server.base_url, make_token(live_services)
    finally:
        server.close()


@pytest.fixture
def local_credential(local_instance, tmp_path) -> tuple[str, dict]:
    base_url, token = local_instance
    issuer = http("POST", f"{base_url}/api/v1/issuers", token=token, body=ISSUER)
    assert issuer.status == 201, issuer.body
    port = base_url.rsplit(":", 1)[1]
    assert issuer.body["id"] == f"did:web:127.0.0.1%3A{port}:issuers:acme"
    achievement = http("POST", f"{base_url}/api/v1/issuers/acme/achievements", token=token, body=ACHIEVEMENT).body
    earned = http("POST", f"{base_url}/api/v1/achievements/{achievement['id']}/results", token=token,
                  body=result_body())
    assert earned.status == 201, earned.body
    credential = earned.body["credential"]
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(credential), encoding="utf-8")
    return str(path), credential


def run(*args):
    return CliRunner().invoke(main, ["verify", *args], catch_exceptions=False)


def test_a_local_did_web_credential_verifies_with_the_flag(local_credential):
    path, credential = local_credential
    result = run(path, "--allow-http-loopback", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    checks = {c["check"]: c["status"] for c in report["checks"]}
    assert checks["issuer"] == checks["proof"] == checks["status"] == "passed", report
    assert report["credential"]["issuer"]["id"] == credential["issuer"]["id"]


def test_without_the_flag_the_local_issuer_does_not_resolve(local_credential):
    path, _ = local_credential
    result = run(path, "--json", "--no-status")
    assert result.exit_code == 1, result.output
    issuer = next(c for c in json.loads(result.output)["checks"] if c["check"] == "issuer")
    assert (issuer["status"], issuer["code"]) == ("failed", "unresolvable_key")
    assert "https://127.0.0.1" in issuer["message"]


def test_a_revoked_local_credential_fails_on_its_status(local_instance, local_credential):
    base_url, token = local_instance
    path, credential = local_credential
    listed = http("GET", f"{base_url}/api/v1/credentials", token=token).body
    credential_id = next(item["id"] for item in listed["items"])
    assert http("POST", f"{base_url}/api/v1/credentials/{credential_id}/revoke", token=token,
                body={"reason": "test"}).status == 200
    result = run(path, "--allow-http-loopback")
    assert result.exit_code == 1, result.output
    assert "[revoked]" in result.output


@pytest.mark.parametrize(("did", "flag", "url"), [
    ("did:web:127.0.0.1%3A5000:issuers:x", True, "http://127.0.0.1:5000/issuers/x/did.json"),
    ("did:web:localhost%3A5000", True, "http://localhost:5000/.well-known/did.json"),
    ("did:web:%5B%3A%3A1%5D%3A8080:a", True, "http://[::1]:8080/a/did.json"),
    ("did:web:127.0.0.1%3A5000:issuers:x", False, "https://127.0.0.1:5000/issuers/x/did.json"),
    ("did:web:badges.example:issuers:x", True, "https://badges.example/issuers/x/did.json"),
    ("did:web:10.0.0.1:issuers:x", True, "https://10.0.0.1/issuers/x/did.json"),
    ("did:web:127.0.0.1.evil.example:x", True, "https://127.0.0.1.evil.example/x/did.json"),
])
def test_only_loopback_hosts_go_over_http(did, flag, url):
    assert did_web_url(did, http_loopback=flag) == url
