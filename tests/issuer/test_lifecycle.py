"""Revoke, suspend, unsuspend, reissue and bulk revoke through the API, as an admin and a verifier
elsewhere see them: the credential view, the audit log, the published status list and the
verification report."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import select

from issuer.auth import hash_token
from issuer.db import transaction
from issuer.errors import ApiError
from issuer.lifecycle import Lifecycle
from issuer.models import ApiToken, AuditEntry, Credential
from tests.conftest import make_token, result_body
from tests.issuer.problems import assert_problem, row_counts
from verifier.statuslist import bit_at, decode_status_list

OTHER = {"slug": "globex", "name": "Globex Institute", "url": "https://globex.example"}
EVIDENCE = [{"id": "https://lms.example/submissions/42", "name": "Exam submission"}]
ACTIONS = ("revoke", "suspend", "unsuspend", "reissue")
VIEW_FIELDS = {"status", "status_reason", "status_changed_at", "current", "renews", "renewed_by", "supersedes",
               "superseded_by"}


@pytest.fixture
def issue(api, achievement):
    """Issue a credential for a new passing result; answers the result's JSON."""
    count = iter(range(1, 10_000))

    def issue(**extra) -> dict:
        response = api.post(f"/api/v1/achievements/{achievement['id']}/results",
                            json=result_body(f"attempt-{next(count)}", **extra))
        assert response.status_code == 201, response.json
        return response.json

    return issue


def post(api, credential_id: str, action: str, reason: str = "exam integrity review", **body):
    return api.post(f"/api/v1/credentials/{credential_id}/{action}", json={"reason": reason, **body})


def view(api, credential_id: str) -> dict:
    response = api.get(f"/api/v1/credentials/{credential_id}")
    assert response.status_code == 200, response.json
    return response.json


def status_bit(client, document: dict, purpose: str) -> int:
    """The credential's bit in its published list of `purpose`, as anyone fetching the list reads it."""
    entries = document["credentialStatus"]
    entry = next(e for e in (entries if isinstance(entries, list) else [entries]) if e["statusPurpose"] == purpose)
    published = client.get(entry["statusListCredential"].removeprefix("https://badges.test"))
    assert published.status_code == 200
    bits = decode_status_list(published.json["credentialSubject"]["encodedList"])
    return bit_at(bits, int(entry["statusListIndex"]))


def bits(client, document: dict) -> tuple[int, int]:
    return status_bit(client, document, "revocation"), status_bit(client, document, "suspension")


def status_code(outside_verifier, document: dict) -> str | None:
    """None when the credential verifies; else the failing status check's code."""
    report = outside_verifier.verify_credential(document)
    if report.verified:
        return None
    failed = [c for c in report.checks if c.status == "failed"]
    assert [c.check for c in failed] == ["status"], report.to_dict()
    return failed[0].code


def audit_entries(services, credential_id: str) -> list[tuple]:
    with services.sessionmaker() as session:
        return [tuple(row) for row in session.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.token_id, AuditEntry.reason, AuditEntry.details)
            .where(AuditEntry.subject_id == credential_id, AuditEntry.action != "credential.issue")
            .order_by(AuditEntry.id)
        )]


def token_id(services, plain: str) -> str:
    with services.sessionmaker() as session:
        return session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(plain)))


def set_status(services, credential_id: str, status: str) -> None:
    """Put a credential in a state through the lifecycle itself (the command line's way: no token)."""
    with services.sessionmaker() as session, transaction(session):
        credential = session.get(Credential, credential_id)
        lifecycle = Lifecycle(session, services)
        if status in ("suspended", "revoked-from-suspended"):
            lifecycle.suspend(credential, reason="setup", token=None)
        if status in ("revoked", "revoked-from-suspended"):
            lifecycle.revoke(credential, reason="setup", token=None)


# --- the view -------------------------------------------------------------------------------------

def test_a_new_credential_shows_its_status_and_links(api, issue):
    issued = issue()
    shown = view(api, issued["credential_id"])
    assert VIEW_FIELDS <= set(shown)
    assert {k: shown[k] for k in VIEW_FIELDS} == {
        "status": "active", "status_reason": None, "status_changed_at": None, "current": True,
        "renews": None, "renewed_by": None, "supersedes": None, "superseded_by": None,
    }
    listed = api.get("/api/v1/credentials").json["items"]
    assert [item["id"] for item in listed] == [issued["credential_id"]]
    assert {k: listed[0][k] for k in VIEW_FIELDS} == {k: shown[k] for k in VIEW_FIELDS}


# --- every transition, as a verifier elsewhere sees it ------------------------------------------------

def test_suspend_unsuspend_then_revoke(api, client, services, issue, outside_verifier, clock):
    issued = issue()
    document, credential_id = issued["credential"], issued["credential_id"]
    assert status_code(outside_verifier, document) is None
    assert bits(client, document) == (0, 0)  # published (and stored) before any change

    clock.advance(days=3)
    suspended = post(api, credential_id, "suspend", "under investigation")
    assert suspended.status_code == 200, suspended.json
    assert {k: suspended.json[k] for k in ("status", "status_reason", "status_changed_at", "current")} == {
        "status": "suspended", "status_reason": "under investigation",
        "status_changed_at": clock.now.isoformat(), "current": True,
    }
    assert view(api, credential_id) == suspended.json
    assert status_code(outside_verifier, document) == "suspended"
    assert bits(client, document) == (0, 1)

    clock.advance(days=1)
    unsuspended = post(api, credential_id, "unsuspend", "cleared")
    assert unsuspended.status_code == 200, unsuspended.json
    assert (unsuspended.json["status"], unsuspended.json["status_reason"]) == ("active", "cleared")
    assert unsuspended.json["status_changed_at"] == clock.now.isoformat()
    assert status_code(outside_verifier, document) is None
    assert bits(client, document) == (0, 0)

    clock.advance(days=1)
    revoked = post(api, credential_id, "revoke", "plagiarism confirmed")
    assert revoked.status_code == 200, revoked.json
    assert (revoked.json["status"], revoked.json["status_reason"], revoked.json["current"]) == (
        "revoked", "plagiarism confirmed", False)
    assert status_code(outside_verifier, document) == "revoked"
    assert bits(client, document) == (1, 0)

    admin = token_id(services, api.token)
    assert audit_entries(services, credential_id) == [
        ("credential.suspend", "token", admin, "under investigation", {"status": "suspended"}),
        ("credential.unsuspend", "token", admin, "cleared", {"status": "active"}),
        ("credential.revoke", "token", admin, "plagiarism confirmed", {"status": "revoked"}),
    ]


def test_revoking_a_suspended_credential(api, client, issue, outside_verifier):
    issued = issue()
    assert post(api, issued["credential_id"], "suspend").status_code == 200
    revoked = post(api, issued["credential_id"], "revoke", "confirmed")
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    # Revoked, no longer suspended: only the revocation bit is set.
    assert bits(client, issued["credential"]) == (1, 0)
    assert status_code(outside_verifier, issued["credential"]) == "revoked"


def test_the_audit_log_shows_the_change_to_an_issuer_token(api, services, issuer, issue):
    scoped = make_token(services, "acme")
    issued = issue()
    assert post(api.as_token(scoped), issued["credential_id"], "suspend", "chargeback").status_code == 200
    entries = api.as_token(scoped).get("/api/v1/audit").json["items"]
    entry = next(e for e in entries if e["action"] == "credential.suspend")
    assert (entry["subject_id"], entry["reason"], entry["token_id"], entry["issuer"], entry["actor"]) == (
        issued["credential_id"], "chargeback", token_id(services, scoped), "acme", "token")


# --- refused transitions: 409, nothing changed -----------------------------------------------------

@pytest.mark.parametrize(("state", "action"), [
    ("revoked", "revoke"),
    ("revoked-from-suspended", "revoke"),
    ("suspended", "suspend"),
    ("revoked", "suspend"),
    ("active", "unsuspend"),
    ("revoked", "unsuspend"),
    ("revoked", "reissue"),
])
def test_refused_transition_changes_nothing(api, client, services, issue, outside_verifier, state, action):
    issued = issue()
    set_status(services, issued["credential_id"], state)
    before, counts = view(api, issued["credential_id"]), row_counts(services)
    bits_before = bits(client, issued["credential"])
    etags = {e["statusListCredential"]: client.get(e["statusListCredential"].removeprefix("https://badges.test")).headers["ETag"]
             for e in issued["credential"]["credentialStatus"]}

    response = post(api, issued["credential_id"], action, "should not happen")
    current = state.split("-")[0]
    body = assert_problem(response, 409, "invalid_transition")
    assert body["credential_status"] == current
    assert current in body["detail"] and issued["credential_id"] in body["detail"]

    assert view(api, issued["credential_id"]) == before
    assert row_counts(services) == counts
    assert bits(client, issued["credential"]) == bits_before
    # The lists were not marked as changed: they are served as stored, unsigned again.
    for url, etag in etags.items():
        assert client.get(url.removeprefix("https://badges.test")).headers["ETag"] == etag


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("credential_id", ["00000000-0000-4000-8000-000000000000", "nope", "x" * 300])
def test_unknown_credential(api, services, issuer, action, credential_id):
    counts = row_counts(services)
    body = assert_problem(post(api, credential_id, action), 404, "credential_not_found")
    assert credential_id[:36] in body["detail"]
    assert row_counts(services) == counts


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("body", "field"), [
    ({}, "reason"),
    ({"reason": ""}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"reason": "x" * 1001}, "reason"),
    ({"reason": 42}, "reason"),
    ({"reason": None}, "reason"),
    ({"reason": "ok", "extra": 1}, "extra"),
])
def test_invalid_body(api, services, issue, action, body, field):
    issued = issue()
    counts = row_counts(services)
    response = api.post(f"/api/v1/credentials/{issued['credential_id']}/{action}", json=body)
    assert_problem(response, 422, "validation_failed", fields=[field])
    assert row_counts(services) == counts
    assert view(api, issued["credential_id"])["status"] == "active"


@pytest.mark.parametrize("action", ACTIONS)
def test_body_must_be_json(api, issue, action):
    issued = issue()
    response = api.post(f"/api/v1/credentials/{issued['credential_id']}/{action}", data="reason=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415, "unsupported_media_type")


def test_a_reason_of_1000_characters_is_kept(api, issue):
    issued = issue()
    response = post(api, issued["credential_id"], "revoke", "r" * 1000)
    assert response.status_code == 200 and response.json["status_reason"] == "r" * 1000


# --- scope ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ACTIONS)
def test_a_token_of_another_issuer_is_refused(api, services, issue, action):
    issued = issue()
    assert api.post("/api/v1/issuers", json=OTHER).status_code == 201
    globex = api.as_token(make_token(services, "globex"))
    counts = row_counts(services)
    assert_problem(post(globex, issued["credential_id"], action), 403, "token_scope")
    assert row_counts(services) == counts
    assert view(api, issued["credential_id"])["status"] == "active"
    # The issuer's own token may.
    acme = api.as_token(make_token(services, "acme"))
    assert post(acme, issued["credential_id"], "suspend" if action == "unsuspend" else action).status_code in (200, 201)


@pytest.mark.parametrize("action", [*ACTIONS, "revoke-many"])
def test_needs_a_token(client, issue, action):
    issued = issue()
    path = "/api/v1/credentials/revoke" if action == "revoke-many" else f"/api/v1/credentials/{issued['credential_id']}/{action}"
    assert_problem(client.post(path, json={"reason": "x", "credential_ids": [issued["credential_id"]]}), 401, "token_missing")


# --- bulk revoke: all or nothing --------------------------------------------------------------------

def revoke_many(api, ids, reason="cohort withdrawn"):
    return api.post("/api/v1/credentials/revoke", json={"credential_ids": ids, "reason": reason})


def test_bulk_revoke(api, client, services, issue, outside_verifier):
    issued = [issue() for _ in range(3)]
    ids = [i["credential_id"] for i in issued]
    set_status(services, ids[1], "suspended")  # a suspended one may be revoked too
    response = revoke_many(api, ids)
    assert response.status_code == 200, response.json
    assert response.json == {"revoked": ids}
    admin = token_id(services, api.token)
    for one in issued:
        shown = view(api, one["credential_id"])
        assert (shown["status"], shown["status_reason"], shown["current"]) == ("revoked", "cohort withdrawn", False)
        assert status_code(outside_verifier, one["credential"]) == "revoked"
        assert bits(client, one["credential"]) == (1, 0)
        assert audit_entries(services, one["credential_id"])[-1] == (
            "credential.revoke", "token", admin, "cohort withdrawn", {"bulk": 3})


@pytest.mark.parametrize(("refused", "status", "code"), [
    ("unknown", 404, "credential_not_found"),
    ("malformed", 404, "credential_not_found"),
    ("revoked", 409, "invalid_transition"),
    ("other-issuer", 403, "token_scope"),
])
def test_bulk_revoke_refuses_all_when_one_is_refused(api, client, services, issue, outside_verifier, refused, status, code):
    good = [issue() for _ in range(2)]
    if refused == "unknown":
        bad = "00000000-0000-4000-8000-000000000000"
    elif refused == "malformed":
        bad = "not-a-credential"
    elif refused == "revoked":
        bad = issue()["credential_id"]
        set_status(services, bad, "revoked")
    else:
        assert api.post("/api/v1/issuers", json=OTHER).status_code == 201
        globex_achievement = api.post("/api/v1/issuers/globex/achievements", json={
            "name": "Safety", "description": "Knows the rules.", "criteria": {"narrative": "Pass."},
            "passing_score": 1, "max_score": 10}).json
        bad = api.post(f"/api/v1/achievements/{globex_achievement['id']}/results",
                       json=result_body("g-1", score=5)).json["credential_id"]
        api = api.as_token(make_token(services, "acme"))
    ids = [good[0]["credential_id"], bad, good[1]["credential_id"]]
    counts = row_counts(services)

    body = assert_problem(revoke_many(api, ids), status, code)
    # Every offending id is named, and only those.
    assert list(body["errors"]["credential_ids"]) == [bad]
    assert "nothing was revoked" in body["detail"]
    assert row_counts(services) == counts
    for one in good:
        assert view(api, one["credential_id"])["status"] == "active"
        assert status_code(outside_verifier, one["credential"]) is None


def test_bulk_revoke_names_every_offending_id(api, services, issue):
    good = issue()["credential_id"]
    revoked = [issue()["credential_id"] for _ in range(2)]
    for credential_id in revoked:
        set_status(services, credential_id, "revoked")
    body = assert_problem(revoke_many(api, [revoked[0], good, revoked[1]]), 409, "invalid_transition")
    assert set(body["errors"]["credential_ids"]) == set(revoked)
    assert view(api, good)["status"] == "active"
    # Offending ids of different kinds are all named; the unknown one sets the status.
    unknown = "00000000-0000-4000-8000-000000000000"
    body = assert_problem(revoke_many(api, [unknown, revoked[0], good]), 404, "credential_not_found")
    assert set(body["errors"]["credential_ids"]) == {unknown, revoked[0]}


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "x"}, "credential_ids"),
    ({"reason": "x", "credential_ids": []}, "credential_ids"),
    ({"reason": "x", "credential_ids": "00000000-0000-4000-8000-000000000000"}, "credential_ids"),
    ({"reason": "x", "credential_ids": [1]}, "credential_ids"),
    ({"reason": "x", "credential_ids": ["00000000-0000-4000-8000-000000000000"] * 2}, "credential_ids"),
    ({"reason": "x", "credential_ids": [f"00000000-0000-4000-8000-{i:012d}" for i in range(1001)]}, "credential_ids"),
    ({"credential_ids": ["00000000-0000-4000-8000-000000000000"]}, "reason"),
    ({"credential_ids": ["00000000-0000-4000-8000-000000000000"], "reason": " "}, "reason"),
])
def test_bulk_revoke_validation(api, services, issuer, body, field):
    counts = row_counts(services)
    assert_problem(api.post("/api/v1/credentials/revoke", json=body), 422, "validation_failed", fields=[field])
    assert row_counts(services) == counts


def test_bulk_revoke_of_1000(api, services, issue):
    """The most one request may name: 999 unknown ids and one real one are refused as unknown, by name."""
    real = issue()["credential_id"]
    ids = [real] + [f"00000000-0000-4000-8000-{i:012d}" for i in range(999)]
    body = assert_problem(revoke_many(api, ids), 404, "credential_not_found")
    assert len(body["errors"]["credential_ids"]) == 999 and real not in body["errors"]["credential_ids"]
    assert view(api, real)["status"] == "active"


# --- reissue --------------------------------------------------------------------------------------

def test_reissue_corrects_the_score_and_supersedes_the_old_one(api, client, services, issue, outside_verifier, clock,
                                                                achievement):
    old = issue(score=75, evidence=EVIDENCE)
    clock.advance(days=10)
    response = post(api, old["credential_id"], "reissue", "score was mis-keyed", score=92.5)
    assert response.status_code == 201, response.json
    new_id = response.json["credential_id"]
    assert response.headers["Location"].endswith(f"/api/v1/credentials/{new_id}")
    assert response.json["supersedes"] == old["credential_id"] != new_id
    new = response.json["credential"]

    # The corrected credential: new id and status positions, same achievement, earner and validUntil.
    assert new["id"] == f"https://badges.test/credentials/{new_id}"
    assert new["credentialSubject"]["result"][0]["value"] == "92.5"
    assert new["credentialSubject"]["achievement"]["id"] == old["credential"]["credentialSubject"]["achievement"]["id"]
    assert new["validUntil"] == old["credential"]["validUntil"] == "2027-11-25T12:00:00Z"
    assert new["validFrom"] == "2026-12-05T12:00:00Z"
    assert new["evidence"] == old["credential"]["evidence"]
    identity = new["credentialSubject"]["identifier"][0]
    expected = hashlib.sha256(("ada.lovelace@example.org" + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"
    old_positions = {(e["statusListCredential"], e["statusListIndex"]) for e in old["credential"]["credentialStatus"]}
    new_positions = {(e["statusListCredential"], e["statusListIndex"]) for e in new["credentialStatus"]}
    assert len(new_positions) == 2 and not old_positions & new_positions
    assert client.get(f"/credentials/{new_id}", headers={"Accept": "application/ld+json"}).json == new

    assert status_code(outside_verifier, new) is None
    assert status_code(outside_verifier, old["credential"]) == "revoked"
    assert bits(client, old["credential"]) == (1, 0) and bits(client, new) == (0, 0)

    old_view, new_view = view(api, old["credential_id"]), view(api, new_id)
    assert {k: old_view[k] for k in ("status", "status_reason", "superseded_by", "current", "status_changed_at")} == {
        "status": "revoked", "status_reason": "superseded", "superseded_by": new_id, "current": False,
        "status_changed_at": clock.now.isoformat()}
    assert {k: new_view[k] for k in ("status", "supersedes", "superseded_by", "current", "result_id", "achievement_id")} == {
        "status": "active", "supersedes": old["credential_id"], "superseded_by": None, "current": True,
        "result_id": None, "achievement_id": achievement["id"]}
    with services.sessionmaker() as session:
        assert session.get(Credential, new_id).earner == session.get(Credential, old["credential_id"]).earner == \
            "mailto:ada.lovelace@example.org"

    assert audit_entries(services, old["credential_id"]) == [(
        "credential.reissue", "token", token_id(services, api.token), "score was mis-keyed",
        {"successor": new_id, "corrected": ["score"]})]


def test_reissue_without_corrections_keeps_score_and_evidence_and_chains(api, issue, outside_verifier):
    first = issue(score=80, evidence=EVIDENCE)
    corrected = post(api, first["credential_id"], "reissue", "typo in evidence",
                     evidence=[{"narrative": "Rewrote the parser; all tests pass."}]).json
    assert corrected["credential"]["credentialSubject"]["result"][0]["value"] == "80"
    assert corrected["credential"]["evidence"] == [{"type": ["Evidence"], "narrative": "Rewrote the parser; all tests pass."}]
    # A reissue of the reissue keeps the corrected evidence: it starts from the credential, not the result.
    again = post(api, corrected["credential_id"], "reissue", "issuer name changed")
    assert again.status_code == 201, again.json
    assert again.json["credential"]["evidence"] == corrected["credential"]["evidence"]
    assert again.json["credential"]["credentialSubject"]["result"][0]["value"] == "80"
    assert view(api, corrected["credential_id"])["superseded_by"] == again.json["credential_id"]
    assert view(api, again.json["credential_id"])["supersedes"] == corrected["credential_id"]
    assert status_code(outside_verifier, again.json["credential"]) is None
    assert status_code(outside_verifier, corrected["credential"]) == "revoked"


def test_reissue_of_a_did_earner_and_of_a_suspended_credential(api, services, issue, outside_verifier):
    old = issue(email=None)
    set_status(services, old["credential_id"], "suspended")
    response = post(api, old["credential_id"], "reissue", "wrong achievement version")
    assert response.status_code == 201, response.json
    assert response.json["credential"]["credentialSubject"]["id"] == old["credential"]["credentialSubject"]["id"]
    assert status_code(outside_verifier, response.json["credential"]) is None
    assert status_code(outside_verifier, old["credential"]) == "revoked"
    shown = view(api, old["credential_id"])
    assert (shown["status"], shown["status_reason"]) == ("revoked", "superseded")


def test_reissue_signs_with_the_active_key(api, issue, outside_verifier):
    old = issue()
    assert api.post("/api/v1/issuers/acme/keys/rotate").status_code == 200
    new = post(api, old["credential_id"], "reissue", "re-sign").json["credential"]
    assert old["credential"]["proof"]["verificationMethod"].endswith("#key-1")
    assert new["proof"]["verificationMethod"].endswith("#key-2")
    assert status_code(outside_verifier, new) is None


@pytest.mark.parametrize(("score", "message"), [
    (100.5, "maximum"),
    (69.99, "passing score"),
    (-1, None),
    ("90", None),
    (90.12345, None),
    (True, None),
])
def test_reissue_score_must_pass_and_fit(api, services, issue, score, message):
    old = issue()
    counts = row_counts(services)
    body = assert_problem(post(api, old["credential_id"], "reissue", score=score), 422, "validation_failed",
                          fields=["score"])
    if message:
        assert message in body["errors"]["score"][0]
    assert row_counts(services) == counts
    assert view(api, old["credential_id"])["status"] == "active"


def test_reissue_score_bounds_are_inclusive(api, issue):
    assert post(api, issue()["credential_id"], "reissue", score=70).status_code == 201
    assert post(api, issue()["credential_id"], "reissue", score=100).status_code == 201


def test_reissue_evidence_is_checked_like_a_results(api, services, issue):
    old = issue()
    counts = row_counts(services)
    response = post(api, old["credential_id"], "reissue", evidence=[{"id": "not a url"}, {}])
    assert_problem(response, 422, "validation_failed", fields=["evidence.0.id", "evidence.1._schema"])
    assert row_counts(services) == counts


def test_reissue_of_a_vc_api_credential_is_refused(api, services, issuer):
    # With the caller's own status entry: our lists hold no position of it.
    signed = api.post("/credentials/issue", json={"credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
        "issuer": issuer["id"], "credentialSubject": {"id": "did:example:ada"},
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                             "statusListIndex": "7", "statusListCredential": "https://status.example/1"}}})
    assert signed.status_code == 201, signed.json
    credential_id = api.get("/api/v1/credentials").json["items"][0]["id"]
    counts = row_counts(services)
    body = assert_problem(post(api, credential_id, "reissue"), 409, "reissue_unsupported")
    assert "VC API" in body["detail"]
    assert row_counts(services) == counts
    # Nor revoked or suspended: it carries no status entry of ours, so no verifier would ever see it.
    for action in ("revoke", "suspend"):
        assert_problem(post(api, credential_id, action), 409, "status_unsupported")
    response = api.post("/api/v1/credentials/revoke", json={"credential_ids": [credential_id], "reason": "x"})
    assert_problem(response, 409, "status_unsupported", fields=[f"credential_ids.{credential_id}"])
    assert row_counts(services) == counts


def test_suspension_is_refused_where_credentials_carry_no_suspension_entry(services, tmp_path):
    from dataclasses import replace

    from issuer import create_app
    from issuer.statuslists import StatusListPolicy
    from tests.conftest import ACHIEVEMENT, ISSUER, Api, make_token, result_body

    only_revocation = replace(services, status_list_policy=StatusListPolicy(purposes=("revocation",)))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "BASE_URL": "https://badges.test"},
                     services=only_revocation)
    api = Api(app.test_client(), make_token(only_revocation))
    api.post("/api/v1/issuers", json=ISSUER)
    achievement = api.post("/api/v1/issuers/acme/achievements", json=ACHIEVEMENT).json
    credential_id = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential_id"]
    assert_problem(post(api, credential_id, "suspend"), 409, "status_unsupported")
    assert post(api, credential_id, "revoke").json["status"] == "revoked"


def test_an_expired_credential_is_renewed_not_reissued(api, services, clock, issue):
    old = issue()
    clock.advance(days=400)
    counts = row_counts(services)
    assert_problem(post(api, old["credential_id"], "reissue"), 409, "credential_expired")
    assert row_counts(services) == counts


def test_reissue_keeps_the_earners_choices_and_link(api, client, services, issue):
    old = issue()
    link = api.post(f"/api/v1/credentials/{old['credential_id']}/management-link").json["url"]
    with services.sessionmaker() as session, transaction(session):
        record = session.get(Credential, old["credential_id"])
        record.public, record.display_name = False, "Ada L."
    new_id = post(api, old["credential_id"], "reissue").json["credential_id"]
    with services.sessionmaker() as session:
        old_record, new_record = session.get(Credential, old["credential_id"]), session.get(Credential, new_id)
        assert (new_record.public, new_record.display_name) == (False, "Ada L.")
        assert old_record.manage_token_hash is None and new_record.manage_token_hash is not None
    # The earner's link now manages the corrected credential.
    download = client.get(link.removeprefix("https://badges.test") + "/credential.json")
    assert download.status_code == 200 and json.loads(download.get_data())["id"].endswith(new_id)


# --- concurrency ------------------------------------------------------------------------------------

def test_a_change_decided_on_a_stale_read_is_refused(services, issue):
    """Two admins load the same active credential; one revokes it, then the other's suspension
    (its copy still says active) must be refused, not overwrite the revocation."""
    credential_id = issue()["credential_id"]
    with services.sessionmaker() as first, services.sessionmaker() as second:
        mine, theirs = first.get(Credential, credential_id), second.get(Credential, credential_id)
        assert mine.status == theirs.status == "active"
        with transaction(first):
            Lifecycle(first, services).revoke(mine, reason="first", token=None)
        with pytest.raises(ApiError) as refused:
            with transaction(second):
                Lifecycle(second, services).suspend(theirs, reason="second", token=None)
        assert refused.value.code == "invalid_transition" and refused.value.extra == {"credential_status": "revoked"}
    with services.sessionmaker() as session:
        assert session.get(Credential, credential_id).status == "revoked"
        reasons = session.scalars(select(AuditEntry.reason).where(AuditEntry.subject_id == credential_id,
                                                                  AuditEntry.action != "credential.issue"))
        assert list(reasons) == ["first"]


# Pairs where whichever goes first makes the other invalid (a suspension then a reissue would both be fine).
@pytest.mark.parametrize("actions", [("revoke", "revoke"), ("suspend", "suspend"), ("reissue", "reissue"),
                                     ("revoke", "reissue")])
def test_concurrent_changes_of_one_credential_let_one_through(services, issue, actions):
    credential_id = issue()["credential_id"]
    start = threading.Barrier(len(actions))
    outcomes = []

    def act(action):
        with services.sessionmaker() as session:
            credential = session.get(Credential, credential_id)
            start.wait()
            try:
                with transaction(session):
                    getattr(Lifecycle(session, services), action)(credential, reason=f"{action} at once", token=None)
                outcomes.append("done")
            except ApiError as error:
                outcomes.append(error.code)

    threads = [threading.Thread(target=act, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["done", "invalid_transition"]
    with services.sessionmaker() as session:
        successors = session.scalars(select(Credential.id).where(Credential.supersedes_id == credential_id)).all()
        recorded = session.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == credential_id,
                                                                   AuditEntry.action != "credential.issue")).all()
    # Only the change that went through is recorded, and only a reissue that did left a successor.
    assert len(recorded) == 1
    assert len(successors) == (1 if recorded == ["credential.reissue"] else 0)


def test_a_reissue_takes_the_old_ones_place_among_renewals(api, issue):
    first = issue()["credential_id"]
    second = issue()["credential_id"]  # the same earner passes again: a renewal
    assert (view(api, second)["renews"], view(api, first)["renewed_by"]) == (first, second)

    # The older credential, renewed already, is corrected: the correction is not current either.
    corrected_first = post(api, first, "reissue").json["credential_id"]
    shown = view(api, corrected_first)
    assert (shown["renews"], shown["renewed_by"], shown["current"]) == (None, second, False)

    # The current one is corrected: the correction is the earner's current credential.
    corrected_second = post(api, second, "reissue").json["credential_id"]
    shown = view(api, corrected_second)
    assert (shown["renews"], shown["renewed_by"], shown["current"]) == (first, None, True)
    assert [c["id"] for c in api.get("/api/v1/credentials").json["items"] if c["current"]] == [corrected_second]
