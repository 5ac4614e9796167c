"""Our own verifier gives the right verdict while the service is busy: a status list signed again
during the very verification that reads it (a revocation a moment earlier) is used, not refused."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from issuer import create_app
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, Api, Clock, make_token, result_body


class TickingClock(Clock):
    """A clock a second later at every reading: each step of a request happens at a later second,
    as on a loaded server where a verification takes a while."""

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def ticking_api(services, clock, tmp_path) -> Api:
    ticking = dataclasses.replace(services, clock=TickingClock(clock.now))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL},
                     services=ticking)
    return Api(app.test_client(), make_token(ticking))


def test_a_list_signed_during_the_verification_is_used(ticking_api):
    api = ticking_api
    assert api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = api.post("/api/v1/issuers/acme/achievements", json=ACHIEVEMENT).json
    issued = [api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(f"attempt-{n}")).json
              for n in range(3)]
    for round_ in range(2):
        # Each revocation changes the lists, so the verification below signs them again, after its own `now`.
        revoked = issued[round_]
        assert api.post(f"/api/v1/credentials/{revoked['credential_id']}/revoke", json={"reason": "test"}).status_code == 200
        report = api.post("/api/v1/verify", json={"credential": issued[2]["credential"]}).json
        assert report["verified"], report
        report = api.post("/api/v1/verify", json={"credential": revoked["credential"]}).json
        assert [(c["check"], c["code"]) for c in report["checks"] if c["status"] == "failed"] == [("status", "revoked")]
