"""One Verifier shared by many threads (as the app shares one between requests): every answer,
under concurrency, is the answer the same verification gives alone."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import result_body
from tests.verifier.support import (
    DidKey,
    library_verifier,
    sign,
    signed_credential,
    status_entry,
    status_list_credential,
    unsigned_credential,
)

THREADS, ROUNDS = 16, 10


def comparable(report) -> dict:
    """The report without its time stamp: the same input must give exactly this, every time."""
    data = report if isinstance(report, dict) else report.to_dict()
    return {key: value for key, value in data.items() if key != "checked_at"}


@pytest.fixture
def mix(server) -> list:
    """Eight credentials from three issuers: valid, tampered, expired, wrong key, revoked, JWT-free forms."""
    alice, bob, carol = DidKey(seed=11), DidKey(seed=12), DidKey(seed=13)
    url = server.url("/revocation")
    server.json("/revocation", status_list_credential(alice, url, "revocation", 42))
    tampered = signed_credential(bob, name="Bob's badge")
    tampered["credentialSubject"]["achievement"]["name"] = "Something else"
    return [
        signed_credential(alice, name="Alice's badge"),
        signed_credential(bob, name="Bob's badge"),
        tampered,
        signed_credential(carol, name="Expired", validUntil="2026-01-02T00:00:00Z"),
        sign(unsigned_credential(alice.did, name="Signed by Carol"), carol),
        signed_credential(alice, name="Revoked", credentialStatus=status_entry(url, 42)),
        signed_credential(alice, name="Not revoked", credentialStatus=status_entry(url, 43)),
        json.dumps(signed_credential(carol, name="As text")),
    ]


def test_shared_library_verifier(mix):
    alone = library_verifier()
    serial = [comparable(alone.verify_input(copy.deepcopy(item))) for item in mix]
    verifier = library_verifier()  # a cold cache: the threads race to fetch the status list
    assert [s["verified"] for s in serial] == [True, True, False, False, False, False, True, True]

    jobs = [index for _ in range(ROUNDS) for index in range(len(mix))] * 2  # 16 threads, 160 verifications
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(lambda index: (index, comparable(verifier.verify_input(copy.deepcopy(mix[index])))), jobs))
    assert len(answers) == len(jobs)
    for index, answer in answers:
        assert answer == serial[index], f"credential {index} answered differently under concurrency"


def test_shared_app_verifier(app, api, achievement):
    """The app's one Verifier, through its HTTP API, from several threads at once."""
    issued = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential"]
    tampered = copy.deepcopy(issued)
    tampered["name"] = "Changed"
    expired = copy.deepcopy(issued)
    expired["validUntil"] = "2020-01-01T00:00:00Z"
    other = signed_credential(DidKey(seed=21))
    bodies = [{"credential": issued}, {"credential": tampered}, {"credential": expired}, {"credential": other},
              {"credential": "garbage"}, {"credential": json.dumps(issued)}]

    def post(body):
        response = app.test_client().post("/api/v1/verify", json=body)
        assert response.status_code == 200
        return comparable(response.json)

    serial = [post(body) for body in bodies]
    assert [s["verified"] for s in serial] == [True, False, False, True, False, True]
    jobs = [index for _ in range(ROUNDS) for index in range(len(bodies))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda index: (index, post(bodies[index])), jobs))
    for index, answer in answers:
        assert answer == serial[index], f"body {index} answered differently under concurrency"
