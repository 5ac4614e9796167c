"""Issuing at the same time from many clients over real HTTP: no credential lost, and no status
list position given twice (SQLite and, with BADGES_TEST_DATABASE_URL, PostgreSQL)."""

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

THREADS, PER_THREAD = 8, 50


# The full list of production, and lists of 64 positions: there, concurrent draws would collide
# often and new lists start while others issue, so only the locking keeps positions unique.
@pytest.fixture(params=[StatusListPolicy().capacity, 64], ids=["capacity-131072", "capacity-64"])
def capacity(request) -> int:
    return request.param


@pytest.fixture
def policy_services(services, capacity):
    return dataclasses.replace(services, status_list_policy=StatusListPolicy(capacity=capacity, purposes=SUSPENDING.purposes))


@pytest.fixture
def policy_app(policy_services, tmp_path):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL},
                      services=policy_services)


@pytest.fixture
def live(policy_app):
    server = LiveServer().start(policy_app)
    yield server
    server.close()


def test_concurrent_issuance_over_http(live, policy_app, policy_services, capacity):
    api = Api(policy_app.test_client(), make_token(policy_services))
    assert api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = api.post("/api/v1/issuers/acme/achievements", json=ACHIEVEMENT).get_json()
    url = f"{live.base_url}/api/v1/achievements/{achievement['id']}/results"
    answers: list[tuple[str, int, dict | None]] = []
    answers_lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def client(thread: int) -> None:
        start.wait()
        for n in range(PER_THREAD):
            external_id = f"thread-{thread}-attempt-{n}"
            answer = http("POST", url, token=api.token, body=result_body(external_id))
            with answers_lock:
                answers.append((external_id, answer.status, answer.body))

    threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = THREADS * PER_THREAD
    assert len(answers) == total
    failures = [(external_id, status, body) for external_id, status, body in answers if status != 201]
    assert not failures, failures[:3]
    issued = {body["credential_id"]: body["credential"] for _, _, body in answers}
    assert len(issued) == total

    with policy_services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentResult)) == total
        assert set(session.scalars(select(Credential.id))) == set(issued)
        rows = session.execute(
            select(StatusEntry.credential_id, StatusEntry.list_id, StatusEntry.position, StatusList.purpose,
                   StatusList.capacity)
            .join(StatusList, StatusList.id == StatusEntry.list_id)
        ).all()
        lists = list(session.scalars(select(StatusList)))

    assert len(rows) == 2 * total
    positions = Counter((row.list_id, row.position) for row in rows)
    assert max(positions.values()) == 1, [key for key, n in positions.items() if n > 1][:5]
    assert all(0 <= row.position < row.capacity for row in rows)
    per_purpose = Counter((row.credential_id, row.purpose) for row in rows)
    assert set(per_purpose) == {(c, p) for c in issued for p in ("revocation", "suspension")}
    assert set(per_purpose.values()) == {1}
    # Each list counts exactly the positions it handed out, and a list is full before the next starts.
    full, rest = divmod(total, capacity)
    for purpose in ("revocation", "suspension"):
        allocated = [sl.allocated for sl in sorted(lists, key=lambda sl: sl.sequence) if sl.purpose == purpose]
        assert allocated == [capacity] * full + ([rest] if rest else [])
    assert Counter(row.list_id for row in rows) == {sl.id: sl.allocated for sl in lists}

    # What each signed credential says is what we recorded.
    for row in rows:
        (entry,) = [e for e in issued[row.credential_id]["credentialStatus"] if e["statusPurpose"] == row.purpose]
        assert entry["statusListCredential"].endswith(f"/status/{row.list_id}")
        assert entry["statusListIndex"] == str(row.position)
