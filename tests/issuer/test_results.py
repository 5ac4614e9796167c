"""Recording results: idempotent on external_id (also under concurrency), atomic when signing fails,
and the credential list's cursor paging."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlalchemy import func, select

from dataintegrity import StaticDocumentLoader, bundled_document_loader
from issuer import create_app
from issuer.models import AssessmentResult, Credential
from issuer.openbadges import OB_CONTEXT
from tests.conftest import ACHIEVEMENT, BASE_URL, make_token, result_body
from tests.issuer.problems import assert_problem, row_counts


def results_path(achievement_id: str) -> str:
    return f"/api/v1/achievements/{achievement_id}/results"


def counts(services) -> tuple[int, int]:
    """(assessment results, credentials) in the database."""
    with services.sessionmaker() as session:
        return (session.scalar(select(func.count()).select_from(AssessmentResult)),
                session.scalar(select(func.count()).select_from(Credential)))


# --- idempotency -------------------------------------------------------------------------------

def test_same_external_id_repeats_the_first_answer(api, achievement, services, clock):
    first = api.post(results_path(achievement["id"]), json=result_body("attempt-7"))
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert counts(services) == (1, 1)

    clock.advance(hours=3)  # a re-signed credential would carry a new 'created' and proofValue
    again = api.post(results_path(achievement["id"]), json=result_body("attempt-7"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.get_json() == first.get_json()
    assert again.get_json()["credential_id"] == first.get_json()["credential_id"]
    assert again.get_json()["credential"]["proof"]["proofValue"] == first.get_json()["credential"]["proof"]["proofValue"]
    assert counts(services) == (1, 1)


def test_replay_ignores_a_changed_body(api, achievement, services, clock):
    """The external_id is the key: a retry with other values still gets the first answer."""
    first = api.post(results_path(achievement["id"]), json=result_body("attempt-8", score=90))
    clock.advance(minutes=1)
    again = api.post(results_path(achievement["id"]), json=result_body("attempt-8", score=10, email="x@example.org"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert counts(services) == (1, 1)


def test_failed_result_replays_too(api, achievement, services, clock):
    first = api.post(results_path(achievement["id"]), json=result_body("attempt-9", score=40))
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["passed"] is False and "Idempotent-Replayed" not in first.headers
    clock.advance(days=1)
    again = api.post(results_path(achievement["id"]), json=result_body("attempt-9", score=40))
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    # A later pass under the same external_id does not turn the stored fail into a credential.
    retry = api.post(results_path(achievement["id"]), json=result_body("attempt-9", score=95))
    assert retry.status_code == 200 and retry.get_json() == first.get_json()
    assert counts(services) == (1, 0)


def test_refused_result_is_not_remembered(api, achievement, services):
    """A 422 stores nothing, so the corrected request under the same external_id is new, not a replay."""
    refused = api.post(results_path(achievement["id"]), json=result_body("attempt-10", score=101))
    assert_problem(refused, 422, "validation_failed", fields=["score"])
    fixed = api.post(results_path(achievement["id"]), json=result_body("attempt-10", score=99))
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert counts(services) == (1, 1)


def test_same_external_id_under_another_issuer_is_another_result(api, achievement, services):
    other = api.post("/api/v1/issuers", json={"slug": "globex", "name": "Globex", "url": "https://globex.example"})
    assert other.status_code == 201, other.get_json()
    other_achievement = api.post("/api/v1/issuers/globex/achievements", json=ACHIEVEMENT).get_json()

    ours = api.post(results_path(achievement["id"]), json=result_body("shared-1"))
    theirs = api.post(results_path(other_achievement["id"]), json=result_body("shared-1"))
    assert ours.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["credential_id"] != ours.get_json()["credential_id"]
    assert theirs.get_json()["credential"]["issuer"]["id"] == "did:web:badges.test:issuers:globex"
    assert counts(services) == (2, 2)


def test_same_external_id_under_another_achievement_of_the_issuer_is_a_conflict(api, issuer, achievement, services):
    """external_id is unique per issuer, not per achievement: reusing it for another achievement is a
    409 (replaying the first achievement's credential there would mislead), and issues nothing."""
    second = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json={**ACHIEVEMENT, "name": "Python Advanced"})
    api.post(results_path(achievement["id"]), json=result_body("per-issuer-1"))
    again = api.post(results_path(second.get_json()["id"]), json=result_body("per-issuer-1"))
    assert_problem(again, 409, "external_id_conflict")
    assert counts(services) == (1, 1)


def test_second_attempt_of_the_same_earner_is_a_second_credential(api, achievement, services, clock):
    first = api.post(results_path(achievement["id"]), json=result_body("attempt-1"))
    clock.advance(days=30)
    second = api.post(results_path(achievement["id"]), json=result_body("attempt-2", score=95))
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert second.get_json()["credential_id"] != first.get_json()["credential_id"]
    assert counts(services) == (2, 2)


# --- concurrency -------------------------------------------------------------------------------

THREADS = 8


def test_concurrent_posts_of_one_external_id_issue_one_credential(app, api, achievement, services):
    barrier = threading.Barrier(THREADS)
    answers: list = [None] * THREADS
    errors: list = []

    def post(index: int) -> None:
        try:
            client = app.test_client()
            barrier.wait(timeout=30)
            response = client.post(results_path(achievement["id"]), json=result_body("race-1"),
                                   headers={"Authorization": f"Bearer {api.token}"})
            answers[index] = (response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed"))
        except Exception as exc:  # reported below, with the thread it happened in
            errors.append((index, repr(exc)))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert errors == []
    statuses = [a[0] for a in answers]
    assert statuses == [201] * THREADS, [(a[0], a[1]) for a in answers if a[0] != 201]
    assert len({a[1]["credential_id"] for a in answers}) == 1
    assert len({a[1]["credential"]["proof"]["proofValue"] for a in answers}) == 1
    assert sum(a[2] != "true" for a in answers) == 1, "exactly one answer is the original, the rest are replays"
    assert counts(services) == (1, 1)


# --- atomicity ---------------------------------------------------------------------------------

@pytest.fixture
def app_without_ob_context(services, tmp_path):
    """The same database and clock, but a document loader that lacks the Open Badges context."""
    bundled = bundled_document_loader()
    assert OB_CONTEXT in bundled.urls
    loader = StaticDocumentLoader({url: bundled(url)["document"] for url in bundled.urls if url != OB_CONTEXT})
    broken = dataclasses.replace(services, document_loader=loader)
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance-2"), "BASE_URL": BASE_URL},
                      services=broken)


def test_signing_failure_writes_nothing(app_without_ob_context, api, achievement, services):
    before = row_counts(services)
    response = app_without_ob_context.test_client().post(
        results_path(achievement["id"]), json=result_body("atomic-1"), headers={"Authorization": f"Bearer {api.token}"})
    problem = assert_problem(response, 500, "issuance_failed")
    assert OB_CONTEXT in problem["detail"]  # names what went wrong, without a stack trace
    assert row_counts(services) == before
    assert counts(services) == (0, 0)

    # Nothing half-written is remembered: with the context back, the same external_id is a new result.
    healthy = api.post(results_path(achievement["id"]), json=result_body("atomic-1"))
    assert healthy.status_code == 201 and "Idempotent-Replayed" not in healthy.headers
    assert counts(services) == (1, 1)


def test_failing_result_needs_no_signature(app_without_ob_context, api, achievement, services):
    """A fail signs nothing, so it is recorded even while signing is broken."""
    response = app_without_ob_context.test_client().post(
        results_path(achievement["id"]), json=result_body("atomic-2", score=10),
        headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 200 and response.get_json()["passed"] is False
    assert counts(services) == (1, 0)


# --- paging ------------------------------------------------------------------------------------

@pytest.fixture
def seven_credentials(api, achievement, clock, services) -> list[str]:
    """Seven credentials, newest first: three share one issue time (ties break by id), then four apart."""
    issued = []
    for i in range(3):
        issued.append((clock(), api.post(results_path(achievement["id"]), json=result_body(f"p-{i}")).get_json()["credential_id"]))
    for i in range(3, 7):
        clock.advance(minutes=1)
        issued.append((clock(), api.post(results_path(achievement["id"]), json=result_body(f"p-{i}")).get_json()["credential_id"]))
    assert counts(services) == (7, 7)
    return [credential_id for _, credential_id in sorted(issued, reverse=True)]


def test_paging_walks_every_credential_once_newest_first(api, seven_credentials):
    seen, pages = [], []
    path = "/api/v1/credentials?limit=2"
    while True:
        response = api.get(path)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert len(page["items"]) <= 2
        pages.append(len(page["items"]))
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        assert len(pages) < 10, "the cursor does not advance"
        path = f"/api/v1/credentials?limit=2&cursor={page['next_cursor']}"
    assert pages == [2, 2, 2, 1]
    assert seen == seven_credentials


def test_last_full_page_has_no_next_cursor(api, seven_credentials):
    page = api.get("/api/v1/credentials?limit=7").get_json()
    assert [c["id"] for c in page["items"]] == seven_credentials and page["next_cursor"] is None
    first = api.get("/api/v1/credentials?limit=6").get_json()
    assert first["next_cursor"] == seven_credentials[5]
    rest = api.get(f"/api/v1/credentials?limit=6&cursor={first['next_cursor']}").get_json()
    assert [c["id"] for c in rest["items"]] == seven_credentials[6:] and rest["next_cursor"] is None


def test_default_page(api, seven_credentials):
    page = api.get("/api/v1/credentials").get_json()
    assert [c["id"] for c in page["items"]] == seven_credentials and page["next_cursor"] is None


def test_empty_list(api, issuer):
    assert api.get("/api/v1/credentials").get_json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "-1", "201", "1000", "x", "2.5", ""])
def test_bad_limit(api, seven_credentials, limit):
    assert_problem(api.get(f"/api/v1/credentials?limit={limit}"), 422, "validation_failed", fields=["limit"])


@pytest.mark.parametrize("cursor", ["00000000-0000-4000-8000-000000000000", "nonsense", "' OR 1=1 --"])
def test_unknown_cursor(api, seven_credentials, cursor):
    assert_problem(api.get("/api/v1/credentials", query_string={"cursor": cursor}), 422, "validation_failed",
                   fields=["cursor"])


def test_unknown_query_parameter(api, seven_credentials):
    assert_problem(api.get("/api/v1/credentials?limt=2"), 422, "validation_failed", fields=["limt"])


def test_cursor_of_another_issuers_credential_is_unknown_to_a_scoped_token(api, services, seven_credentials):
    """A scoped token must not learn about other issuers' credentials through the cursor."""
    other = api.post("/api/v1/issuers", json={"slug": "globex", "name": "Globex", "url": "https://globex.example"})
    assert other.status_code == 201
    globex_api = api.as_token(make_token(services, "globex"))
    assert_problem(globex_api.get(f"/api/v1/credentials?cursor={seven_credentials[0]}"), 422, "validation_failed",
                   fields=["cursor"])

