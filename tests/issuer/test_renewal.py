"""Renewal: a new pass by an earner who holds a current credential for the achievement issues a
new credential with a fresh validity window and links the two; the old one is not revoked and
stays valid until it expires."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from issuer.models import AuditEntry, Credential
from tests.conftest import ACHIEVEMENT, make_token, result_body

DID_EARNER = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def results_path(achievement_id: str) -> str:
    return f"/api/v1/achievements/{achievement_id}/results"


def earn(api, achievement_id: str, external_id: str, **body) -> dict:
    response = api.post(results_path(achievement_id), json=result_body(external_id, **body))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def shown(api, credential_id: str) -> dict:
    response = api.get(f"/api/v1/credentials/{credential_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def audit_actions(services, credential_id: str) -> list[tuple[str, dict]]:
    with services.sessionmaker() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.subject_id == credential_id).order_by(AuditEntry.id))
        return [(entry.action, entry.details) for entry in entries]


def test_a_second_pass_by_the_same_earner_renews(api, achievement, clock):
    first = earn(api, achievement["id"], "attempt-1")
    assert first["renews"] is None
    clock.advance(days=300)
    # The same person: emails compare case-insensitively.
    second = earn(api, achievement["id"], "attempt-2", email="ada.lovelace@EXAMPLE.org")

    assert second["renews"] == first["credential_id"]
    # A fresh validity window from now; the old credential keeps its own.
    assert second["credential"]["validFrom"] == "2027-09-21T12:00:00Z"
    assert second["credential"]["validUntil"] == "2028-09-21T12:00:00Z"
    old, new = shown(api, first["credential_id"]), shown(api, second["credential_id"])
    assert old["credential"]["validUntil"] == "2027-11-25T12:00:00Z"
    assert (old["status"], old["current"], old["renewed_by"], old["renews"]) == ("active", False, new["id"], None)
    assert (new["status"], new["current"], new["renewed_by"], new["renews"]) == ("active", True, None, old["id"])


def test_a_did_earner_renews(api, achievement, clock):
    first = earn(api, achievement["id"], "attempt-1", email=None)
    clock.advance(days=1)
    second = earn(api, achievement["id"], "attempt-2", email=None)
    assert second["credential"]["credentialSubject"]["id"] == DID_EARNER
    assert second["renews"] == first["credential_id"]


def test_a_renewal_is_audited_as_such(api, achievement, services, clock):
    first = earn(api, achievement["id"], "attempt-1")
    clock.advance(days=30)
    second = earn(api, achievement["id"], "attempt-2")
    assert [action for action, _ in audit_actions(services, first["credential_id"])] == ["credential.issue"]
    [(action, details)] = audit_actions(services, second["credential_id"])
    assert action == "credential.renew"
    assert details == {"renews": first["credential_id"], "achievement_id": achievement["id"],
                       "result_id": second["result_id"], "external_id": "attempt-2"}


def test_each_pass_renews_the_latest(api, achievement, clock):
    ids = []
    for attempt in range(3):
        ids.append(earn(api, achievement["id"], f"attempt-{attempt}")["credential_id"])
        clock.advance(days=100)
    views = [shown(api, credential_id) for credential_id in ids]
    assert [(v["renews"], v["renewed_by"], v["current"]) for v in views] == [
        (None, ids[1], False), (ids[0], ids[2], False), (ids[1], None, True)]


def test_replaying_a_renewal_answers_the_same(api, achievement, services, clock):
    first = earn(api, achievement["id"], "attempt-1")
    clock.advance(days=1)
    second = earn(api, achievement["id"], "attempt-2")
    replay = api.post(results_path(achievement["id"]), json=result_body("attempt-2"))
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert (replay.get_json()["credential_id"], replay.get_json()["renews"]) == (second["credential_id"], first["credential_id"])
    assert len(audit_actions(services, second["credential_id"])) == 1


@pytest.mark.parametrize("other", ["another email", "the same person by DID", "another achievement", "another issuer"])
def test_other_earners_and_achievements_do_not_renew(api, issuer, achievement, clock, other):
    first = earn(api, achievement["id"], "attempt-1")
    clock.advance(days=1)
    if other == "another email":
        second = earn(api, achievement["id"], "attempt-2", email="grace.hopper@example.org")
    elif other == "the same person by DID":  # an email and a DID cannot be told to be one person
        second = earn(api, achievement["id"], "attempt-2", email=None)
    else:
        slug = issuer["slug"]
        if other == "another issuer":
            assert api.post("/api/v1/issuers", json={"slug": "globex", "name": "Globex", "url": "https://globex.example"}).status_code == 201
            slug = "globex"
        second_achievement = api.post(f"/api/v1/issuers/{slug}/achievements", json={**ACHIEVEMENT, "name": "Python 2"}).get_json()
        second = earn(api, second_achievement["id"], "attempt-2")
    assert second["renews"] is None
    assert shown(api, first["credential_id"])["current"] is True
    assert shown(api, second["credential_id"])["current"] is True


def test_a_failed_result_renews_nothing(api, achievement, clock):
    first = earn(api, achievement["id"], "attempt-1")
    clock.advance(days=1)
    failed = api.post(results_path(achievement["id"]), json=result_body("attempt-2", score=10))
    assert failed.status_code == 200 and failed.get_json()["passed"] is False
    assert "renews" not in failed.get_json()
    assert shown(api, first["credential_id"])["renewed_by"] is None


def test_a_revoked_credential_is_not_renewed(api, achievement, clock):
    first = earn(api, achievement["id"], "attempt-1")
    revoked = api.post(f"/api/v1/credentials/{first['credential_id']}/revoke", json={"reason": "cheating"})
    assert revoked.status_code == 200, revoked.get_json()
    clock.advance(days=1)
    second = earn(api, achievement["id"], "attempt-2")
    assert second["renews"] is None
    assert shown(api, first["credential_id"])["renewed_by"] is None


def test_after_the_latest_is_revoked_a_pass_renews_nothing(api, achievement, clock):
    """The credential that the revoked one renewed is not current either: it was renewed."""
    first = earn(api, achievement["id"], "attempt-1")
    clock.advance(days=1)
    second = earn(api, achievement["id"], "attempt-2")
    assert api.post(f"/api/v1/credentials/{second['credential_id']}/revoke", json={"reason": "x"}).status_code == 200
    clock.advance(days=1)
    third = earn(api, achievement["id"], "attempt-3")
    assert third["renews"] is None
    assert shown(api, first["credential_id"])["renewed_by"] == second["credential_id"]


def test_a_suspended_credential_is_renewed(api, achievement, clock):
    first = earn(api, achievement["id"], "attempt-1")
    assert api.post(f"/api/v1/credentials/{first['credential_id']}/suspend", json={"reason": "audit"}).status_code == 200
    clock.advance(days=1)
    assert earn(api, achievement["id"], "attempt-2")["renews"] == first["credential_id"]


def test_a_pass_renews_a_reissued_credential(api, achievement, clock):
    first = earn(api, achievement["id"], "attempt-1")
    reissued = api.post(f"/api/v1/credentials/{first['credential_id']}/reissue", json={"reason": "typo", "score": 90})
    assert reissued.status_code == 201, reissued.get_json()
    clock.advance(days=1)
    assert earn(api, achievement["id"], "attempt-2")["renews"] == reissued.get_json()["credential_id"]


def test_the_old_credential_verifies_until_it_expires(api, achievement, clock, outside_verifier):
    first = earn(api, achievement["id"], "attempt-1")
    clock.advance(days=300)
    second = earn(api, achievement["id"], "attempt-2")

    report = outside_verifier.verify_credential(first["credential"])
    assert report.verified, report.to_dict()
    assert report.check("status").status == "passed"

    clock.advance(days=66)  # 2027-11-26: a day past the old validUntil, and past the allowed skew
    expired = outside_verifier.verify_credential(first["credential"])
    assert not expired.verified
    assert (expired.check("validity").status, expired.check("validity").code) == ("failed", "expired")
    assert expired.check("proof").status == "passed"
    renewed = outside_verifier.verify_credential(second["credential"])
    assert renewed.verified, renewed.to_dict()


def test_concurrent_passes_of_one_earner_renew_in_a_chain(app, api, achievement, services, clock):
    """Each renews the one before; without the lock two would renew the same credential."""
    first = earn(api, achievement["id"], "attempt-0")
    clock.advance(days=1)
    threads_count = 3
    barrier = threading.Barrier(threads_count)
    answers: list = [None] * threads_count
    errors: list = []

    def post(index: int) -> None:
        try:
            client = app.test_client()
            barrier.wait(timeout=30)
            response = client.post(results_path(achievement["id"]), json=result_body(f"attempt-{index + 1}"),
                                   headers={"Authorization": f"Bearer {api.token}"})
            answers[index] = (response.status_code, response.get_json())
        except Exception as exc:  # reported below, with the thread it happened in
            errors.append((index, repr(exc)))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert errors == []
    assert [status for status, _ in answers] == [201] * threads_count, answers

    renewed = sorted(answer["renews"] for _, answer in answers)
    assert len(set(renewed)) == threads_count, "two passes renewed the same credential"
    with services.sessionmaker() as session:
        rows = {c.id: c for c in session.scalars(select(Credential))}
    # Following renewed_by from the first credential visits every credential once.
    chain, at = [], first["credential_id"]
    while at is not None:
        chain.append(at)
        at = rows[at].renewed_by_id
    assert len(chain) == threads_count + 1 == len(rows)
    assert [rows[c].renews_id for c in chain] == [None] + chain[:-1]


def test_an_issuer_token_renews_within_its_issuer(api, services, achievement, clock):
    scoped = api.as_token(make_token(services, "acme"))
    first = earn(scoped, achievement["id"], "attempt-1")
    clock.advance(days=1)
    assert earn(scoped, achievement["id"], "attempt-2")["renews"] == first["credential_id"]
