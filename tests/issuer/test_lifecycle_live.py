"""A credential's whole life on a live server, as two verifiers see it at every step: one
elsewhere (fetching our status lists over real HTTP, with nothing cached between checks) and our
own POST /api/v1/verify (reading our lists from the database). Both must agree."""

from __future__ import annotations

import dataclasses

import pytest

from issuer import create_app
from issuer.urls import Urls
from tests.conftest import ACHIEVEMENT, ISSUER, make_token, result_body
from tests.issuer.live import LiveServer, http
from verifier import Verifier
from verifier.fetcher import Fetcher, FetchPolicy
from verifier.resolvers import Resolver


class Steps:
    """The admin API and both verifiers, over HTTP."""

    def __init__(self, base_url: str, token: str, document_loader, clock):
        self.base_url = base_url
        self.token = token
        self.document_loader = document_loader
        self.clock = clock

    def post(self, path: str, body: dict):
        return http("POST", f"{self.base_url}{path}", token=self.token, body=body)

    def get(self, path: str):
        return http("GET", f"{self.base_url}{path}", token=self.token)

    def outside(self, credential: dict):
        """A verifier elsewhere, made fresh for each check so no status list is cached across steps."""
        fetcher = Fetcher(FetchPolicy(allow_http_loopback=True), clock=self.clock)
        verifier = Verifier(self.document_loader, Resolver.through(fetcher), self.clock, fetcher=fetcher)
        return verifier.verify_credential(credential).to_dict()

    def ours(self, credential: dict) -> dict:
        answer = http("POST", f"{self.base_url}/api/v1/verify", body={"credential": credential})
        assert answer.status == 200, answer.body
        return answer.body

    def verdicts(self, credential: dict) -> list[dict]:
        """Both reports; they must agree check by check (their messages may word things apart)."""
        reports = [self.outside(credential), self.ours(credential)]
        outside, ours = ([(c["check"], c["status"], c.get("code")) for c in r["checks"]] for r in reports)
        assert outside == ours, reports
        return reports

    def assert_verifies(self, credential: dict) -> None:
        for report in self.verdicts(credential):
            assert report["verified"], report

    def assert_fails(self, credential: dict, check: str, code: str) -> None:
        for report in self.verdicts(credential):
            assert not report["verified"], report
            failed = [(c["check"], c.get("code")) for c in report["checks"] if c["status"] == "failed"]
            assert failed == [(check, code)], report
            assert any(c["check"] == "proof" and c["status"] == "passed" for c in report["checks"]), report

    def change(self, credential_id: str, action: str, reason: str):
        return self.post(f"/api/v1/credentials/{credential_id}/{action}", {"reason": reason})


@pytest.fixture
def steps(services, document_loader, clock, tmp_path):
    """The app live on 127.0.0.1:<port>, with that origin as its BASE_URL: credential ids, status
    list URLs and everything a verifier dereferences point at the live server."""
    server = LiveServer()
    try:
        live_services = dataclasses.replace(services, urls=Urls(server.base_url))
        app = create_app(
            {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": server.base_url,
             "VERIFY_ALLOW_HTTP_LOOPBACK": True},
            services=live_services,
        )
        server.start(app)
        yield Steps(server.base_url, make_token(live_services), document_loader, clock)
    finally:
        server.close()


def earn(steps, achievement_id: str, external_id: str, email: str) -> dict:
    answer = steps.post(f"/api/v1/achievements/{achievement_id}/results", result_body(external_id, email=email))
    assert answer.status == 201, answer.body
    return answer.body


def test_lifecycle_over_http(steps, clock):
    # did:key keeps this test on the status lifecycle. A loopback did:web would resolve here too (both
    # verifiers allow plain http to loopback); tests/verifier/test_cli_local_instance.py covers that.
    issuer = steps.post("/api/v1/issuers", {**ISSUER, "did_method": "key"})
    assert issuer.status == 201, issuer.body
    achievement = steps.post("/api/v1/issuers/acme/achievements", ACHIEVEMENT).body
    short_lived = steps.post("/api/v1/issuers/acme/achievements",
                             {**ACHIEVEMENT, "name": "Fire Drill", "valid_for": "PT1S"}).body

    # Issued: verifies, its status lists fetched from the live server.
    first = earn(steps, achievement["id"], "life-1", "first@example.org")
    credential = first["credential"]
    assert credential["credentialStatus"][0]["statusListCredential"].startswith(f"{steps.base_url}/status/")
    steps.assert_verifies(credential)

    # Suspended, then unsuspended.
    assert steps.change(first["credential_id"], "suspend", "under review").status == 200
    steps.assert_fails(credential, "status", "suspended")
    assert steps.change(first["credential_id"], "unsuspend", "review passed").status == 200
    steps.assert_verifies(credential)

    # Revoked for good: suspend and unsuspend are refused, and it stays revoked.
    assert steps.change(first["credential_id"], "revoke", "exam misconduct").status == 200
    steps.assert_fails(credential, "status", "revoked")
    for action in ("unsuspend", "suspend", "revoke"):
        refused = steps.change(first["credential_id"], action, "try again")
        assert refused.status == 409 and refused.headers["Content-Type"] == "application/problem+json", refused
        assert refused.body["code"] == "invalid_transition"
    steps.assert_fails(credential, "status", "revoked")
    assert steps.get(f"/api/v1/credentials/{first['credential_id']}").body["status"] == "revoked"

    # Reissued (a correction): the old one is revoked, the new one verifies.
    second = earn(steps, achievement["id"], "life-2", "second@example.org")
    steps.assert_verifies(second["credential"])
    reissued = steps.post(f"/api/v1/credentials/{second['credential_id']}/reissue", {"reason": "name misspelt"})
    assert reissued.status == 201, reissued.body
    assert reissued.body["credential_id"] != second["credential_id"]
    steps.assert_fails(second["credential"], "status", "revoked")
    steps.assert_verifies(reissued.body["credential"])

    # Renewed (a new pass by the same earner): a new current credential that verifies; the one it
    # renews is not revoked.
    renewal = earn(steps, achievement["id"], "life-3", "second@example.org")
    assert renewal["renews"] == reissued.body["credential_id"]
    steps.assert_verifies(renewal["credential"])
    steps.assert_verifies(reissued.body["credential"])
    renewed = steps.get(f"/api/v1/credentials/{renewal['credential_id']}").body
    assert renewed["current"] is True and renewed["renews"] == reissued.body["credential_id"]
    assert steps.get(f"/api/v1/credentials/{reissued.body['credential_id']}").body["current"] is False

    # Expired: the proof still holds, the validity check fails. (Past the 5 minutes of clock skew
    # allowed; the status lists stay within their validity.)
    expiring = earn(steps, short_lived["id"], "life-4", "third@example.org")
    steps.assert_verifies(expiring["credential"])
    clock.advance(minutes=10)
    steps.assert_fails(expiring["credential"], "validity", "expired")
