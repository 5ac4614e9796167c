"""POST /api/v1/achievements/<id>/results/batch: many results at once, each answered as the single
route would answer it, in order; idempotency, renewals and audit entries per item; atomic batches;
limits; CSV uploads over HTTP."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from issuer.models import AuditEntry, Credential, StatusEntry
from tests.conftest import ACHIEVEMENT, result_body
from tests.issuer.problems import assert_names_field, assert_problem, row_counts


def batch_path(achievement_id: str) -> str:
    return f"/api/v1/achievements/{achievement_id}/results/batch"


def results_path(achievement_id: str) -> str:
    return f"/api/v1/achievements/{achievement_id}/results"


def post_batch(api, achievement, results, **envelope):
    return api.post(batch_path(achievement["id"]), json={"results": results, **envelope})


def post_csv(api, achievement, text: str, query: str = ""):
    return api.post(batch_path(achievement["id"]) + query, data=text.encode("utf-8"),
                    headers={"Content-Type": "text/csv"})


def cohort(n: int, prefix: str = "b") -> list[dict]:
    return [result_body(f"{prefix}-{i}", email=f"earner{i}@example.org", score=70 + i % 31) for i in range(n)]


def test_each_item_answered_as_the_single_route(api, achievement):
    results = cohort(5)
    results.append(result_body("b-fail", score=40, email="low@example.org"))
    response = post_batch(api, achievement, results)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [item["index"] for item in items] == list(range(6))
    assert [item["external_id"] for item in items] == [r["external_id"] for r in results]
    assert [item["status"] for item in items] == [201] * 5 + [200]
    assert [item["replayed"] for item in items] == [False] * 6
    for item, sent in zip(items[:5], results):
        assert item["passed"] is True and item["renews"] is None
        stored = api.get(f"/api/v1/credentials/{item['credential_id']}").get_json()
        assert stored["credential"] == item["credential"]
        assert stored["result_id"] == item["result_id"]
        assert item["credential"]["credentialSubject"]["result"][0]["value"] == str(sent["score"])
    assert items[5]["passed"] is False and "below the passing score" in items[5]["reason"]
    assert "credential_id" not in items[5]

    # Each result again, on the single route: a replay of the batch's answer.
    for item, sent in zip(items, results):
        single = api.post(results_path(achievement["id"]), json=sent)
        assert single.status_code == item["status"] and single.headers["Idempotent-Replayed"] == "true"
        assert single.get_json() == {k: item[k] for k in single.get_json()}


def test_replays_earlier_results_and_repeats_within_the_batch(api, achievement, services, clock):
    first = api.post(results_path(achievement["id"]), json=result_body("early", email="early@example.org")).get_json()
    other = api.post(f"/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "name": "Other"}).get_json()
    api.post(results_path(other["id"]), json=result_body("elsewhere", email="e@example.org"))
    before = row_counts(services)
    clock.advance(hours=1)

    results = [result_body("early", score=99), result_body("new", email="new@example.org"),
               result_body("new", score=10), result_body("elsewhere")]
    items = post_batch(api, achievement, results).get_json()["items"]
    assert [(i["status"], i["replayed"]) for i in items] == [(201, True), (201, False), (201, True), (409, False)]
    assert {k: items[0][k] for k in first} == first
    assert items[2]["credential_id"] == items[1]["credential_id"]
    assert items[2]["credential"] == items[1]["credential"]
    assert items[3]["error"]["code"] == "external_id_conflict"
    after = row_counts(services)
    assert after["credentials"] == before["credentials"] + 1
    assert after["assessment_results"] == before["assessment_results"] + 1

    # The whole batch again: every item a replay, nothing new.
    again = post_batch(api, achievement, results).get_json()["items"]
    assert [(i["status"], i["replayed"]) for i in again] == [(201, True), (201, True), (201, True), (409, False)]
    assert [i.get("credential_id") for i in again] == [i.get("credential_id") for i in items]
    assert row_counts(services) == after


def test_one_bad_item_does_not_sink_the_others(api, achievement, services):
    results = [
        result_body("ok-1", email="one@example.org"),
        {"external_id": "no-score", "recipient": {"email": "x@example.org"}, "completed_at": "2026-11-25T11:00:00Z"},
        result_body("too-high", score=101),
        result_body("future", completed_at="2027-01-01T00:00:00Z"),
        result_body("nul\x00", email="nul@example.org"),
        "not an object",
        result_body("ok-2", email="two@example.org"),
    ]
    items = post_batch(api, achievement, results).get_json()["items"]
    assert [i["status"] for i in items] == [201, 422, 422, 422, 422, 422, 201]
    for item, field in zip(items[1:6], ["score", "score", "completed_at", "external_id", "_schema"]):
        assert item["error"]["code"] == "validation_failed" and item["error"]["status"] == 422
        assert_names_field(item["error"], field)
    assert items[5]["external_id"] is None
    counts = row_counts(services)
    assert counts["credentials"] == 2 and counts["assessment_results"] == 2

    # A refused item is not remembered: corrected, it is recorded.
    fixed = post_batch(api, achievement, [result_body("too-high", score=100)]).get_json()["items"]
    assert fixed[0]["status"] == 201 and fixed[0]["replayed"] is False


def test_atomic_refuses_all_and_names_every_offending_item(api, achievement, services):
    other = api.post(f"/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "name": "Other"}).get_json()
    api.post(results_path(other["id"]), json=result_body("elsewhere", email="e@example.org"))
    before = row_counts(services)
    results = cohort(3) + [result_body("too-high", score=101), result_body("elsewhere"), {"external_id": 5}]
    response = post_batch(api, achievement, results, atomic=True)
    body = assert_problem(response, 422, "batch_refused")
    assert [(i["index"], i["external_id"], i["status"]) for i in body["items"]] == [
        (3, "too-high", 422), (4, "elsewhere", 409), (5, None, 422)]
    assert body["items"][1]["error"]["code"] == "external_id_conflict"
    assert_names_field(body["items"][0]["error"], "score")
    assert row_counts(services) == before

    response = post_batch(api, achievement, cohort(3), atomic=True)
    assert [i["status"] for i in response.get_json()["items"]] == [201, 201, 201]
    assert row_counts(services)["credentials"] == before["credentials"] + 3


def test_renewals_and_audit_entries_per_item(api, achievement, services, clock):
    earlier = api.post(results_path(achievement["id"]), json=result_body("first", email="ada@example.org")).get_json()
    clock.advance(days=30)
    results = [result_body("second", email="Ada@Example.org"), result_body("third", email="ada@example.org"),
               result_body("someone", email="bob@example.org")]
    items = post_batch(api, achievement, results).get_json()["items"]
    assert items[0]["renews"] == earlier["credential_id"]
    assert items[1]["renews"] == items[0]["credential_id"]
    assert items[2]["renews"] is None
    views = {i: api.get(f"/api/v1/credentials/{i}").get_json()
             for i in (earlier["credential_id"], items[0]["credential_id"], items[1]["credential_id"])}
    assert views[earlier["credential_id"]]["renewed_by"] == items[0]["credential_id"]
    assert views[items[0]["credential_id"]]["renewed_by"] == items[1]["credential_id"]
    assert views[items[1]["credential_id"]]["current"] is True

    with services.sessionmaker() as session:
        entries = {e.subject_id: e for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("credential.%")))}
    for item, action in zip(items, ["credential.renew", "credential.renew", "credential.issue"]):
        entry = entries[item["credential_id"]]
        assert entry.action == action and entry.actor == "token" and entry.token_id is not None
        assert entry.details["external_id"] == item["external_id"]
        assert entry.details["result_id"] == item["result_id"]
        assert entry.details.get("renews") == item["renews"]


def test_positions_unique_and_signed_as_recorded(api, achievement, services):
    items = post_batch(api, achievement, cohort(250)).get_json()["items"]
    assert Counter(i["status"] for i in items) == {201: 250}
    with services.sessionmaker() as session:
        rows = session.execute(select(StatusEntry.credential_id, StatusEntry.list_id, StatusEntry.position)).all()
        assert len(set(session.scalars(select(Credential.id)))) == 250
    assert len(rows) == 500
    assert len({(r.list_id, r.position) for r in rows}) == 500
    by_credential = {}
    for row in rows:
        by_credential.setdefault(row.credential_id, set()).add((row.list_id, int(row.position)))
    for item in items:
        signed = {(e["statusListCredential"].rsplit("/", 1)[1], int(e["statusListIndex"]))
                  for e in item["credential"]["credentialStatus"]}
        assert signed == by_credential[item["credential_id"]]


def test_limits_and_bad_envelopes(api, achievement, services):
    before = row_counts(services)
    too_many = post_batch(api, achievement, cohort(1001))
    body = assert_problem(too_many, 413, "batch_too_large")
    assert "1,000" in body["detail"]
    assert_problem(api.post(batch_path(achievement["id"]), json={}), 422, "validation_failed", fields=["results"])
    assert_problem(post_batch(api, achievement, []), 422, "validation_failed", fields=["results"])
    assert_problem(api.post(batch_path(achievement["id"]), json={"results": {"a": 1}}), 422, "validation_failed",
                   fields=["results"])
    assert_problem(post_batch(api, achievement, cohort(1), atomic="maybe"), 422, "validation_failed", fields=["atomic"])
    assert_problem(post_batch(api, achievement, cohort(1), extra=1), 422, "validation_failed", fields=["extra"])
    assert_problem(api.post(batch_path(achievement["id"]), data=b"[", headers={"Content-Type": "application/json"}),
                   400, "malformed_json")
    assert_problem(api.post(batch_path(achievement["id"]), data=b"x", headers={"Content-Type": "text/plain"}),
                   415, "unsupported_media_type")
    assert_problem(api.post(batch_path("00000000-0000-4000-8000-000000000000"), json={"results": cohort(1)}),
                   404, "achievement_not_found")
    assert_problem(api.as_token(None).post(batch_path(achievement["id"]), json={"results": cohort(1)}),
                   401, "token_missing")
    assert row_counts(services) == before


CSV_HEADER = "external_id,email,name,score,completed_at,evidence_url,evidence_narrative\n"


def test_csv_upload(api, achievement, services):
    text = CSV_HEADER + (
        "c-1,ada@example.org,Ada Lovelace,85,2026-11-25T11:00:00Z,https://lms.example/1,\"Wrote a parser, with tests\"\n"
        "c-2,bob@example.org,,55.5,2026-11-25T11:00:00Z,,\n"
        "c-3,carol@example.org,,eighty,2026-11-25T11:00:00Z,,\n"
        "\n"
        "c-4,,,90,2026-11-25T11:00:00Z,,\n"
        "c-5,dan@example.org,,90.25,yesterday,,\n"
    )
    response = post_csv(api, achievement, text)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [(i["row"], i["external_id"], i["status"]) for i in items] == [
        (2, "c-1", 201), (3, "c-2", 200), (4, "c-3", 422), (6, "c-4", 422), (7, "c-5", 422)]
    assert items[0]["credential"]["evidence"][0]["narrative"] == "Wrote a parser, with tests"
    assert items[0]["credential"]["evidence"][0]["id"] == "https://lms.example/1"
    assert_names_field(items[2]["error"], "score")
    assert_names_field(items[3]["error"], "recipient._schema")
    assert_names_field(items[4]["error"], "completed_at")
    assert row_counts(services)["assessment_results"] == 2

    # Atomic: the refused rows are named, nothing is recorded.
    before = row_counts(services)
    refused = assert_problem(post_csv(api, achievement, CSV_HEADER + "c-9,x@example.org,,101,2026-11-25T11:00:00Z,,\n"
                                      "c-10,y@example.org,,80,2026-11-25T11:00:00Z,,\n", "?atomic=true"),
                             422, "batch_refused")
    assert [(i["row"], i["external_id"]) for i in refused["items"]] == [(2, "c-9")]
    assert row_counts(services) == before


def test_csv_refusals(api, achievement, services):
    before = row_counts(services)
    for text, words in [
        ("", "empty"),
        ("external_id,email,score\n", "missing column 'completed_at'"),
        ("external_id,score,completed_at\n", "email"),
        ("external_id,email,score,completed_at,colour\n", "unknown column 'colour'"),
        (CSV_HEADER, "no rows"),
        (CSV_HEADER + "a,b\n", "row 2"),
        (CSV_HEADER + "a,\"b\n", "row"),
    ]:
        body = assert_problem(post_csv(api, achievement, text), 400, "csv_invalid")
        assert words in body["detail"], (text, body["detail"])
    assert_problem(api.post(batch_path(achievement["id"]), data=b"\xff\xfe", headers={"Content-Type": "text/csv"}),
                   400, "csv_invalid")
    rows = "".join(f"r-{n},e{n}@example.org,,80,2026-11-25T11:00:00Z,,\n" for n in range(1001))
    assert_problem(post_csv(api, achievement, CSV_HEADER + rows), 413, "batch_too_large")
    assert_problem(post_csv(api, achievement, CSV_HEADER + "c,x@example.org,,80,2026-11-25T11:00:00Z,,\n", "?atomic=yes"),
                   422, "validation_failed", fields=["atomic"])
    assert row_counts(services) == before


def test_a_cohort_verifies(api, achievement, outside_verifier):
    """A few hundred credentials from three batches, each verified as a verifier elsewhere would
    (our DID document and status lists fetched from our public endpoints)."""
    results = cohort(300, prefix="cohort")
    items = []
    for start in range(0, 300, 100):
        response = post_batch(api, achievement, results[start:start + 100])
        assert response.status_code == 200
        items.extend(response.get_json()["items"])
    assert Counter(i["status"] for i in items) == {201: 300}
    assert len({i["credential_id"] for i in items}) == 300
    failed = []
    for item in items:
        report = outside_verifier.verify_credential(item["credential"])
        if not report.verified:
            failed.append((item["external_id"], report.to_dict()))
    assert failed == []

    # One of them revoked: that one, and only that one, fails its status check.
    revoked = items[7]["credential_id"]
    assert api.post(f"/api/v1/credentials/{revoked}/revoke", json={"reason": "copied"}).status_code == 200
    assert not outside_verifier.verify_credential(items[7]["credential"]).verified
    assert outside_verifier.verify_credential(items[8]["credential"]).verified


def test_award_emails_as_for_single_results(api, achievement, services, clock):
    """The same results through the single route (one achievement) and in one batch (another):
    the same award emails are due, per earner."""
    from issuer.notify import NotifySettings, find_due

    other = api.post("/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "name": "Other"}).get_json()
    results = [result_body("x-1", email="ada@example.org"), result_body("x-2", email="Ada@example.org"),
               result_body("x-3", email="bob@example.org"), result_body("x-4", score=10, email="carol@example.org"),
               result_body("x-5", email=None)]
    singles = [api.post(results_path(achievement["id"]), json=r).get_json() for r in results]
    batch = post_batch(api, other, [{**r, "external_id": "b" + r["external_id"]} for r in results]).get_json()["items"]
    assert [i["status"] for i in batch] == [201, 201, 201, 200, 201]
    with services.sessionmaker() as session:
        due = find_due(session, now=clock(), settings=NotifySettings())
    by_credential = {d.credential_id: d.recipient for d in due}

    def awarded(answers):
        return [by_credential.get(a.get("credential_id")) for a in answers]

    # Ada's first pass is renewed by her second, so only the second is announced; no email for a DID.
    assert awarded(singles) == awarded(batch) == [None, "Ada@example.org", "bob@example.org", None, None]
