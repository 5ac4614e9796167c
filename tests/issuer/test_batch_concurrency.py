"""Batches and single results at the same time over real HTTP: each external_id recorded once
(a batch that loses the race answers those items as replays), and no status position given twice,
also when lists of 64 positions fill in the middle of a chunk (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from issuer import create_app
from issuer.models import AssessmentResult, Credential, StatusEntry, StatusList
from issuer.statuslists import StatusListPolicy
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, SUSPENDING, Api, make_token, result_body
from tests.issuer.live import LiveServer, http

BATCH = 150


@pytest.fixture
def small_lists(services):
    return dataclasses.replace(services, status_list_policy=StatusListPolicy(capacity=64, purposes=SUSPENDING.purposes))


@pytest.fixture
def live_app(small_lists, tmp_path):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL},
                      services=small_lists)


def test_concurrent_batches_and_singles(live_app, small_lists):
    server = LiveServer().start(live_app)
    try:
        api = Api(live_app.test_client(), make_token(small_lists))
        assert api.post("/api/v1/issuers", json=ISSUER).status_code == 201
        achievement = api.post("/api/v1/issuers/acme/achievements", json=ACHIEVEMENT).get_json()
        base = f"{server.base_url}/api/v1/achievements/{achievement['id']}/results"
        shared = [result_body(f"shared-{n}", email=f"s{n}@example.org") for n in range(BATCH)]
        own = [[result_body(f"own-{t}-{n}", email=f"o{t}-{n}@example.org") for n in range(BATCH)] for t in range(2)]
        answers: dict[str, list] = {}
        start = threading.Barrier(4)

        def batch(name: str, results: list[dict]) -> None:
            start.wait()
            answer = http("POST", f"{base}/batch", token=api.token, body={"results": results})
            answers[name] = [(answer.status, answer.body)]

        def singles(name: str) -> None:
            start.wait()
            answers[name] = [
                (a.status, {**a.body, "external_id": body["external_id"],
                            "replayed": a.headers.get("Idempotent-Replayed") == "true"})
                for body, a in ((body, http("POST", base, token=api.token, body=body)) for body in shared[::-5])
            ]

        threads = [threading.Thread(target=batch, args=("a", shared + own[0])),
                   threading.Thread(target=batch, args=("b", own[1] + shared)),
                   threading.Thread(target=singles, args=("singles",)),
                   threading.Thread(target=batch, args=("c", shared[:10]))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.close()

    for name in "abc":
        status, body = answers[name][0]
        assert status == 200, body
        assert {item["status"] for item in body["items"]} == {201}, body["items"][:2]
    assert {status for status, _ in answers["singles"]} == {201}
    # Every answer for one external_id names the same credential; exactly one was not a replay.
    by_external_id: dict[str, list[tuple[str, bool]]] = {}
    for name in "abc":
        for item in answers[name][0][1]["items"]:
            by_external_id.setdefault(item["external_id"], []).append((item["credential_id"], item["replayed"]))
    for _status, body in answers["singles"]:
        by_external_id[body["external_id"]].append((body["credential_id"], body["replayed"]))
    total = len(shared) + 2 * BATCH
    with small_lists.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentResult)) == total
        assert session.scalar(select(func.count()).select_from(Credential)) == total
        rows = session.execute(select(StatusEntry.list_id, StatusEntry.position)).all()
        lists = list(session.scalars(select(StatusList)))
    for external_id in [r["external_id"] for r in shared + own[0] + own[1]]:
        seen = by_external_id[external_id]
        assert len({credential_id for credential_id, _ in seen}) == 1, (external_id, seen)
        assert [replayed for _, replayed in seen].count(False) == 1, (external_id, seen)
    assert len(rows) == 2 * total
    assert max(Counter(rows).values()) == 1
    assert Counter(row.list_id for row in rows) == {sl.id: sl.allocated for sl in lists}
    assert all(sl.allocated <= 64 for sl in lists)
