"""The audit log: one entry per admin action, written with the action or not at all, never changed;
GET /api/v1/audit pages through it, newest first, scoped like everything else."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from issuer.auth import hash_token
from issuer.db import transaction
from issuer.models import ApiToken, AuditEntry, AuditLogImmutable
from tests.conftest import ACHIEVEMENT, ISSUER, make_token, result_body
from tests.issuer.problems import assert_problem, row_counts

OTHER = {"slug": "globex", "name": "Globex Institute", "url": "https://globex.example"}


def token_id(services, plain: str) -> str:
    with services.sessionmaker() as session:
        return session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(plain)))


def entries(services) -> list[AuditEntry]:
    with services.sessionmaker() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def new_entry(services, before: list[AuditEntry]) -> AuditEntry:
    """The one entry written since `before`."""
    after = entries(services)
    added = after[len(before):]
    assert [e.id for e in after[: len(before)]] == [e.id for e in before]
    assert len(added) == 1, [(e.action, e.subject_id) for e in added]
    return added[0]


def vc_api_credential(issuer_did: str, **extra) -> dict:
    return {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
            "issuer": issuer_did, "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21", **extra}}


def test_issuer_creation_is_recorded(api, services, clock):
    clock.advance(minutes=3)
    before = entries(services)
    created = api.post("/api/v1/issuers", json=ISSUER)
    assert created.status_code == 201
    entry = new_entry(services, before)
    assert (entry.action, entry.actor, entry.token_id) == ("issuer.create", "token", token_id(services, api.token))
    assert entry.at == clock.now
    assert (entry.subject_type, entry.issuer_id) == ("issuer", entry.subject_id)
    assert entry.details == {"slug": "acme", "did": created.json["id"]} and entry.reason is None


def test_credential_issue_through_results_is_recorded(api, services, clock, achievement):
    issuer_token = make_token(services, "acme")
    clock.advance(hours=1)
    before = entries(services)
    answer = api.as_token(issuer_token).post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body())
    assert answer.status_code == 201
    entry = new_entry(services, before)
    assert (entry.action, entry.token_id, entry.at) == ("credential.issue", token_id(services, issuer_token), clock.now)
    assert (entry.subject_type, entry.subject_id) == ("credential", answer.json["credential_id"])
    assert entry.details["result_id"] == answer.json["result_id"] and entry.details["external_id"] == "attempt-1"
    assert entry.details["achievement_id"] == achievement["id"]

    # Replaying the same result issues nothing, and records nothing.
    assert api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).status_code == 201
    assert len(entries(services)) == len(before) + 1


def test_results_that_issue_nothing_record_nothing(api, services, achievement):
    before = row_counts(services)
    refused = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(score=1000))
    assert_problem(refused, 422, "validation_failed", fields=["score"])
    assert row_counts(services) == before
    failed = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body("low", score=10))
    assert failed.status_code == 200 and failed.json["passed"] is False
    assert row_counts(services)["audit_entries"] == before["audit_entries"]


def test_vc_api_issue_is_recorded(api, services, issuer, clock):
    before = entries(services)
    answer = api.post("/credentials/issue", json={"credential": vc_api_credential(issuer["id"]), "options": {}})
    assert answer.status_code == 201, answer.json
    entry = new_entry(services, before)
    assert (entry.action, entry.token_id, entry.at, entry.issuer_id) == (
        "credential.issue", token_id(services, api.token), clock.now, before[-1].issuer_id)
    assert entry.subject_type == "credential"
    assert entry.details == {"via": "vc-api"}


def test_a_signing_failure_records_nothing(api, services, issuer):
    before = row_counts(services)
    # A term no context defines: safe-mode canonicalization refuses it, so nothing is signed.
    credential = vc_api_credential(issuer["id"], madeUpTerm="x")
    answer = api.post("/credentials/issue", json={"credential": credential, "options": {}})
    assert_problem(answer, 422, "undefined_term")
    assert row_counts(services) == before


def test_key_rotation_is_recorded(api, services, issuer, clock):
    clock.advance(days=2)
    before = entries(services)
    rotated = api.post("/api/v1/issuers/acme/keys/rotate")
    assert rotated.status_code == 200
    entry = new_entry(services, before)
    assert (entry.action, entry.token_id, entry.at) == ("key.rotate", token_id(services, api.token), clock.now)
    assert entry.subject_type == "signing_key"
    assert entry.details == {"verification_method": rotated.json["keys"][-1]["verification_method"]}


def test_a_refused_rotation_records_nothing(api, services):
    assert api.post("/api/v1/issuers", json={**ISSUER, "slug": "offline", "did_method": "key"}).status_code == 201
    before = row_counts(services)
    assert_problem(api.post("/api/v1/issuers/offline/keys/rotate"), 409, "key_rotation_unsupported")
    assert row_counts(services) == before


def test_token_creation_and_revocation_are_recorded(api, services, issuer, clock):
    before = entries(services)
    created = api.post("/api/v1/tokens", json={"issuer": "acme", "label": "lms"})
    assert created.status_code == 201
    entry = new_entry(services, before)
    assert (entry.action, entry.token_id, entry.at) == ("token.create", token_id(services, api.token), clock.now)
    assert (entry.subject_type, entry.subject_id, entry.issuer_id) == ("api_token", created.json["id"], before[-1].issuer_id)
    assert entry.details == {"label": "lms"}

    clock.advance(minutes=5)
    before = entries(services)
    revoked = api.post(f"/api/v1/tokens/{created.json['id']}/revoke", json={"reason": "leaked in a log"})
    assert revoked.status_code == 200
    entry = new_entry(services, before)
    assert (entry.action, entry.token_id, entry.at, entry.reason) == (
        "token.revoke", token_id(services, api.token), clock.now, "leaked in a log")
    assert entry.subject_id == created.json["id"]

    # Revoking again is refused, and records nothing.
    counts = row_counts(services)
    assert_problem(api.post(f"/api/v1/tokens/{created.json['id']}/revoke", json={}), 409, "token_already_revoked")
    assert row_counts(services) == counts


def test_instance_token_creation_has_no_issuer(api, services):
    before = entries(services)
    created = api.post("/api/v1/tokens", json={})
    assert created.status_code == 201 and created.json["issuer"] is None
    assert new_entry(services, before).issuer_id is None


def test_entries_cannot_be_updated_or_deleted(api, services, issuer):
    with services.sessionmaker() as session:
        entry = session.scalars(select(AuditEntry)).first()
        entry.reason = "rewritten"
        with pytest.raises(AuditLogImmutable):
            session.commit()
        session.rollback()

        entry = session.scalars(select(AuditEntry)).first()
        session.delete(entry)
        with pytest.raises(AuditLogImmutable):
            session.commit()
        session.rollback()

        with pytest.raises(AuditLogImmutable):
            session.execute(update(AuditEntry).values(reason="rewritten"))
        session.rollback()
        with pytest.raises(AuditLogImmutable):
            session.execute(delete(AuditEntry))
        session.rollback()
    with services.sessionmaker() as session:
        assert [(e.action, e.reason) for e in session.scalars(select(AuditEntry))] == [("issuer.create", None)]


def test_adding_entries_still_works_alongside_other_updates(api, services, issuer):
    """The guards refuse changes to entries only, not updates of other rows in the same session."""
    with services.sessionmaker() as session, transaction(session):
        token = session.scalars(select(ApiToken)).first()
        token.label = "renamed"
    with services.sessionmaker() as session:
        assert session.scalars(select(ApiToken)).first().label == "renamed"


@pytest.fixture
def two_issuers(api, services, issuer, clock):
    """acme and globex, each with a few actions spread over time."""
    assert api.post("/api/v1/issuers", json=OTHER).status_code == 201
    for slug in ("acme", "globex", "acme", "globex", "acme"):
        clock.advance(minutes=1)
        assert api.post(f"/api/v1/issuers/{slug}/keys/rotate").status_code == 200
    return entries(services)


def page_through(api, query: str, limit: int) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        url = f"/api/v1/audit?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        answer = api.get(url)
        assert answer.status_code == 200, answer.json
        assert len(answer.json["items"]) <= limit
        items += answer.json["items"]
        cursor = answer.json["next_cursor"]
        pages += 1
        assert pages < 50
        if cursor is None:
            return items


def test_audit_pages_newest_first(api, services, two_issuers):
    items = page_through(api, "", limit=2)
    assert [i["id"] for i in items] == [e.id for e in reversed(two_issuers)]
    assert [i["action"] for i in items[:5]] == ["key.rotate"] * 5
    assert items[-1]["action"] == "issuer.create" and items[-1]["issuer"] == "acme"
    newest = items[0]
    assert set(newest) == {"id", "at", "action", "actor", "token_id", "issuer", "subject_type", "subject_id",
                           "reason", "details"}
    assert (newest["actor"], newest["token_id"], newest["issuer"]) == ("token", token_id(services, api.token), "acme")
    assert newest["at"] == "2026-11-25T12:05:00+00:00"
    single = api.get("/api/v1/audit?limit=200").json
    assert single["next_cursor"] is None and single["items"] == items


def test_instance_token_filters_by_issuer(api, two_issuers):
    items = page_through(api, "&issuer=globex", limit=1)
    assert [i["action"] for i in items] == ["key.rotate", "key.rotate", "issuer.create"]
    assert {i["issuer"] for i in items} == {"globex"}
    assert_problem(api.get("/api/v1/audit?issuer=nope"), 404, "issuer_not_found")


def test_issuer_token_sees_only_its_issuer(api, services, two_issuers):
    acme = api.as_token(make_token(services, "acme"))
    items = page_through(acme, "", limit=2)
    assert {i["issuer"] for i in items} == {"acme"}
    assert len(items) == 4  # issuer.create and three rotations
    assert page_through(acme, "&issuer=acme", limit=10) == items
    assert_problem(acme.get("/api/v1/audit?issuer=globex"), 403, "token_scope")


def test_instance_wide_entries_are_hidden_from_issuer_tokens(api, services, issuer):
    assert api.post("/api/v1/tokens", json={"label": "another admin"}).status_code == 201
    acme = api.as_token(make_token(services, "acme"))
    assert "token.create" not in {i["action"] for i in acme.get("/api/v1/audit").json["items"]}
    assert "token.create" in {i["action"] for i in api.get("/api/v1/audit").json["items"]}


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"), ("cursor=abc", "cursor"), ("cursor=0", "cursor"),
    ("nope=1", "nope"), ("cursor=", "cursor"), ("limit=", "limit"),
    ("cursor=9223372036854775808", "cursor"),  # past 64 bits: no entry has it (and the database cannot compare it)
])
def test_bad_audit_queries(api, query, field):
    assert_problem(api.get(f"/api/v1/audit?{query}"), 422, "validation_failed", fields=[field])


def test_audit_needs_a_token(client):
    assert_problem(client.get("/api/v1/audit"), 401, "token_missing")
