"""Every key type x format end to end against a live instance on loopback: what the service hands
out (the result's answer, the baked PNG and SVG, the JWT served for Accept: application/vc+jwt)
verifies with `badges verify --allow-http-loopback`, which reads the did:web DID document and the
status lists over http from the live server; a tampered copy does not."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from issuer import create_app
from issuer.cli import main
from issuer.urls import Urls
from tests.conftest import ACHIEVEMENT, ISSUER, make_token, result_body
from tests.issuer.live import LiveServer, http

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def local_instance(services, clock, tmp_path):
    clock.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    server = LiveServer()
    try:
        live_services = dataclasses.replace(services, urls=Urls(server.base_url))
        server.start(create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                                 "BASE_URL": server.base_url}, services=live_services))
        yield server.base_url, make_token(live_services)
    finally:
        server.close()


def fetch(url: str, accept: str = "*/*") -> bytes:
    with _OPENER.open(urllib.request.Request(url, headers={"Accept": accept}), timeout=60) as response:
        assert response.status == 200
        return response.read()


def verify(path) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["verify", str(path), "--allow-http-loopback", "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


@pytest.mark.parametrize("credential_format", ["ldp", "jwt"])
@pytest.mark.parametrize("key_type", ["Ed25519", "P-256", "P-384"])
def test_every_form_verifies_with_badges_verify(local_instance, tmp_path, key_type, credential_format):
    base_url, token = local_instance
    issuer = http("POST", f"{base_url}/api/v1/issuers", token=token, body={**ISSUER, "key_type": key_type})
    assert issuer.status == 201, issuer.body
    achievement = http("POST", f"{base_url}/api/v1/issuers/acme/achievements", token=token,
                       body={**ACHIEVEMENT, "credential_format": credential_format}).body
    earned = http("POST", f"{base_url}/api/v1/achievements/{achievement['id']}/results", token=token,
                  body=result_body())
    assert earned.status == 201, earned.body
    credential_id, answered = earned.body["credential_id"], earned.body["credential"]
    assert isinstance(answered, str if credential_format == "jwt" else dict)

    page = f"{base_url}/credentials/{credential_id}"
    files = {
        "answer.jwt" if credential_format == "jwt" else "answer.json":
            answered.encode() if credential_format == "jwt" else json.dumps(answered).encode(),
        "served.jwt": fetch(page, "application/vc+jwt"),
        "badge.png": fetch(f"{page}/badge.png"),
        "badge.svg": fetch(f"{page}/badge.svg"),
    }
    if credential_format == "jwt":
        assert files["served.jwt"].decode() == answered
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        code, report = verify(path)
        assert code == 0, (name, report)
        assert {c["check"]: c["status"] for c in report["checks"]}["status"] == "passed", (name, report)

    # A tampered JWT (the payload of one credential, the signature of another) is refused.
    other = http("POST", f"{base_url}/api/v1/achievements/{achievement['id']}/results", token=token,
                 body=result_body("attempt-2", email="grace@example.org")).body
    first = fetch(page, "application/vc+jwt").decode().split(".")
    second = fetch(f"{base_url}/credentials/{other['credential_id']}", "application/vc+jwt").decode().split(".")
    forged = tmp_path / "forged.jwt"
    forged.write_text(".".join([first[0], second[1], first[2]]))
    code, report = verify(forged)
    assert code == 1
    proof = next(c for c in report["checks"] if c["check"] == "proof")
    assert (proof["status"], proof["code"]) == ("failed", "invalid_signature")
