"""Our own verifier gives the right verdict while the service is busy: a status list signed again
during the very verification that reads it (a revocation a moment earlier) is used, not refused;
and a small soak over real HTTP, with the real clock, on SQLite and PostgreSQL (bench/soak.py is
the large one)."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from issuer import create_app
from issuer.services import utc_now
from issuer.urls import Urls
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, Api, Clock, make_token, result_body
from tests.issuer.live import LiveServer, http


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


# --- a small soak: real HTTP, a real clock, verifications while others issue and revoke ----------

VALID, REVOKED, VERIFICATIONS, CLIENTS = 12, 4, 320, 16


def verdict(report: dict) -> tuple:
    """What a verifier's user reads: verified, and (check, status, code) of every check."""
    return report["verified"], tuple((c["check"], c["status"], c.get("code")) for c in report["checks"])


@pytest.fixture
def live(services, tmp_path):
    server = LiveServer()
    live_services = dataclasses.replace(services, urls=Urls(server.base_url), clock=utc_now)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": server.base_url},
                     services=live_services)
    server.start(app)
    yield server.base_url, make_token(live_services)
    server.close()


def test_every_verdict_is_right_while_credentials_are_issued_and_revoked(live):
    base_url, token = live
    assert http("POST", f"{base_url}/api/v1/issuers", token=token, body=ISSUER).status == 201
    achievement = http("POST", f"{base_url}/api/v1/issuers/acme/achievements", token=token, body=ACHIEVEMENT).body
    counter = itertools.count()

    def issue() -> dict:
        answer = http("POST", f"{base_url}/api/v1/achievements/{achievement['id']}/results", token=token,
                      body=result_body(f"soak-{next(counter)}"))
        assert answer.status == 201, answer.body
        return answer.body

    def revoke(answer: dict) -> None:
        assert http("POST", f"{base_url}/api/v1/credentials/{answer['credential_id']}/revoke", token=token,
                    body={"reason": "soak"}).status == 200

    valid = [issue()["credential"] for _ in range(VALID)]
    revoked = []
    for _ in range(REVOKED):
        answer = issue()
        revoke(answer)
        revoked.append(answer["credential"])
    credentials = valid + revoked

    stop = threading.Event()
    churned = []

    def churn() -> None:  # every revocation changes the lists, so they are signed again meanwhile
        while not stop.is_set():
            answer = issue()
            revoke(answer)
            churned.append(answer["credential_id"])

    def verify(n: int) -> tuple[int, tuple]:
        index = n % len(credentials)
        answer = http("POST", f"{base_url}/api/v1/verify", body={"credential": credentials[index]})
        assert answer.status == 200, answer.body
        return index, verdict(answer.body)

    runs = []
    churners = [threading.Thread(target=churn) for _ in range(2)]
    for thread in churners:
        thread.start()
    try:
        for _ in range(2):
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                runs.append(list(pool.map(verify, range(VERIFICATIONS // 2))))
    finally:
        stop.set()
        for thread in churners:
            thread.join()
    assert churned, "nothing was revoked during the run"

    answers = [answer for run in runs for answer in run]
    wrong = [(index, answer) for index, answer in answers if not _right(index, answer)]
    assert not wrong, f"{len(wrong)} wrong verdicts of {len(answers)}, e.g. {wrong[:3]}"
    first, second = ({index: answer for index, answer in run} for run in runs)
    assert first == second  # no answer changed between the two runs
    assert len({answer for _, answer in answers}) == 2  # one verdict for the valid, one for the revoked


def _right(index: int, answer: tuple) -> bool:
    verified, checks = answer
    failed = [(check, code) for check, status, code in checks if status == "failed"]
    return (verified and not failed) if index < VALID else (not verified and failed == [("status", "revoked")])
