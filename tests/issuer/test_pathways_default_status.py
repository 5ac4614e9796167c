"""Pathways in step with their components under the default status configuration: the pathway
issuer's credentials carry one revocation entry and no suspension entry (STATUS_PURPOSES unset).

A component revocation (or suspension) the pathway then lacks revokes the pathway credential, as an
outside verifier sees at once; when the requirements are met again (a new pass, another credential
that satisfies the requirement, a component unsuspended or reissued) a new pathway credential renews
the revoked one. Every pathway credential is valid against the OB 3.0 JSON Schema. End to end through
HTTP, on SQLite and (BADGES_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from issuer.statuslists import StatusListPolicy
from tests.conftest import result_body
from tests.issuer.test_pathways import credential, define, passed, skill, verdict
from tests.obschema import assert_ob_schema_valid

URL = "https://badges.test/credentials/"


@pytest.fixture
def services(services, database_url):
    """The suite's services, with the status configuration a default instance has (no suspension):
    the app, the API client and the outside verifier of this module all use it. (`database_url` is
    named so that pytest's fixture closure, which an override of the same name hides, shows it: a
    PostgreSQL-only pass keeps these tests.)"""
    return dataclasses.replace(services, status_list_policy=StatusListPolicy())


def revocations(api, credential_id: str) -> list[dict]:
    return [e for e in api.get("/api/v1/audit?limit=200").json["items"]
            if e["action"] == "credential.revoke" and e["subject_id"] == credential_id]


def current_pathway_credential(answer: dict, pathway: str) -> str:
    return {x["achievement_id"]: x["credential_id"] for x in answer["pathway_credentials"]}[pathway]


def test_revocation_revokes_and_a_new_pass_renews(api, issuer, clock, outside_verifier):
    a = skill(api, "acme", "A", valid_for="P1Y")
    b = skill(api, "acme", "B", valid_for="P2Y")
    pathway = define(api, "acme", {"all_of": [a, b]}).json["id"]
    component_a = passed(api, a, "a-1")
    first_id = current_pathway_credential(passed(api, b, "b-1"), pathway)
    first = credential(api, first_id)["credential"]
    assert first["credentialStatus"]["statusPurpose"] == "revocation"  # one entry: no suspension
    assert_ob_schema_valid(first)
    assert verdict(outside_verifier, first) is None
    # A suspension is refused: the credential has no suspension entry.
    refused = api.post(f"/api/v1/credentials/{first_id}/suspend", json={"reason": "x"})
    assert (refused.status_code, refused.json["code"]) == (409, "status_unsupported")

    # Revoking a component revokes the pathway credential, naming it, with its audit entry.
    clock.advance(days=10)
    revoked = api.post(f"/api/v1/credentials/{component_a['credential_id']}/revoke", json={"reason": "cheating"})
    assert revoked.status_code == 200, revoked.json
    view = credential(api, first_id)
    assert view["status"] == "revoked"
    assert URL + component_a["credential_id"] in view["status_reason"] and "(A) was revoked: cheating" in view["status_reason"]
    [entry] = revocations(api, first_id)
    assert entry["reason"] == view["status_reason"]
    assert verdict(outside_verifier, first) == "revoked"
    progress = api.get("/api/v1/earners/progress", query_string={"email": "ada.lovelace@example.org"}).json
    assert (progress["pathways"][0]["complete"], progress["pathways"][0]["credential_id"]) == (False, None)

    # A new pass of that component: a new pathway credential that renews the revoked one, named in the answer.
    clock.advance(days=10)
    renewal = passed(api, a, "a-2")
    second_id = current_pathway_credential(renewal, pathway)
    second = credential(api, second_id)
    assert second_id != first_id and second["status"] == "active" and second["renews"] == first_id
    assert credential(api, first_id)["renewed_by"] == second_id
    assert second["credential"]["validUntil"] == renewal["credential"]["validUntil"]  # A's is now the earlier end
    assert URL + renewal["credential_id"] in [e["id"] for e in second["credential"]["evidence"]]
    assert_ob_schema_valid(second["credential"])
    assert verdict(outside_verifier, second["credential"]) is None
    assert verdict(outside_verifier, first) == "revoked"  # a revocation is final
    # The same result again replays the answer and awards nothing new.
    again = api.post(f"/api/v1/achievements/{a}/results", json=result_body("a-2"))
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["pathway_credentials"] == renewal["pathway_credentials"]

    # Revoked again, and a component's expiry path is unchanged: the renewal expires with A.
    assert api.post(f"/api/v1/credentials/{renewal['credential_id']}/revoke", json={"reason": "again"}).status_code == 200
    assert verdict(outside_verifier, second["credential"]) == "revoked"
    third_id = current_pathway_credential(passed(api, a, "a-3"), pathway)
    third = credential(api, third_id)
    assert third["renews"] == second_id and verdict(outside_verifier, third["credential"]) is None
    clock.advance(days=366)
    assert verdict(outside_verifier, third["credential"]) == "expired"


def test_another_credential_that_satisfies_the_requirement(api, issuer, outside_verifier):
    a, b = skill(api, "acme", "A"), skill(api, "acme", "B")
    pathway = define(api, "acme", {"n_of": 1, "from": [a, b]}).json["id"]
    component_a = passed(api, a, "a-1")
    first_id = current_pathway_credential(component_a, pathway)
    first = credential(api, first_id)["credential"]
    assert api.post(f"/api/v1/credentials/{component_a['credential_id']}/revoke", json={"reason": "fraud"}).status_code == 200
    assert verdict(outside_verifier, first) == "revoked"
    # A pass of the other achievement satisfies the requirement: the renewal is awarded for it.
    other = passed(api, b, "b-1")
    second_id = current_pathway_credential(other, pathway)
    second = credential(api, second_id)
    assert second["renews"] == first_id
    assert [e["id"] for e in second["credential"]["evidence"]] == [URL + other["credential_id"]]
    assert verdict(outside_verifier, second["credential"]) is None
    # Revoking a component the pathway does not then lack changes nothing.
    component_a2 = passed(api, a, "a-2")
    assert "pathway_credentials" not in component_a2  # the end is not later: nothing renewed
    assert api.post(f"/api/v1/credentials/{component_a2['credential_id']}/revoke", json={"reason": "x"}).status_code == 200
    assert credential(api, second_id)["status"] == "active"
    assert verdict(outside_verifier, second["credential"]) is None


def test_component_suspension_from_an_issuer_with_suspension(api, issuer, outside_verifier):
    """The component's issuer has suspension on, the pathway's has not: a component suspension the
    pathway then lacks revokes the pathway credential (the only status it can publish); unsuspending
    the component, or a reissue of it, awards a renewal."""
    created = api.post("/api/v1/issuers", json={"slug": "other", "name": "Other", "url": "https://other.example",
                                                "suspension": True, "pathways_open": True})
    assert created.status_code == 201, created.json
    theirs = skill(api, "other", "Theirs")
    ours = skill(api, "acme", "Ours")
    pathway = define(api, "acme", {"all_of": [ours, theirs]}).json["id"]
    passed(api, ours, "o-1")
    component = passed(api, theirs, "t-1")
    assert isinstance(component["credential"]["credentialStatus"], list)  # revocation and suspension entries
    first_id = current_pathway_credential(component, pathway)
    first = credential(api, first_id)["credential"]
    assert_ob_schema_valid(first)

    assert api.post(f"/api/v1/credentials/{component['credential_id']}/suspend", json={"reason": "review"}).status_code == 200
    view = credential(api, first_id)
    assert view["status"] == "revoked" and "(Theirs) was suspended: review" in view["status_reason"]
    assert verdict(outside_verifier, first) == "revoked"

    # Unsuspended: a renewal.
    assert api.post(f"/api/v1/credentials/{component['credential_id']}/unsuspend", json={"reason": "ok"}).status_code == 200
    renewed = [c for c in api.get("/api/v1/credentials?limit=200").json["items"] if c["renews"] == first_id]
    assert [c["status"] for c in renewed] == ["active"] and renewed[0]["achievement_id"] == pathway
    second_id = renewed[0]["id"]
    second = renewed[0]["credential"]
    assert_ob_schema_valid(second)
    assert verdict(outside_verifier, second) is None
    assert verdict(outside_verifier, first) == "revoked"
    # The component's result, repeated, still answers what its pass awarded, not the renewal.
    replay = api.post(f"/api/v1/achievements/{theirs}/results", json=result_body("t-1"))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json["pathway_credentials"] == component["pathway_credentials"]

    # Suspended again, then reissued (a correction): another renewal, whose evidence names the correction.
    assert api.post(f"/api/v1/credentials/{component['credential_id']}/suspend", json={"reason": "again"}).status_code == 200
    assert verdict(outside_verifier, second) == "revoked"
    reissued = api.post(f"/api/v1/credentials/{component['credential_id']}/reissue", json={"reason": "corrected"})
    assert reissued.status_code == 201, reissued.json
    third = credential(api, credential(api, second_id)["renewed_by"])
    assert third["status"] == "active" and third["renews"] == second_id
    assert URL + reissued.json["credential_id"] in [e["id"] for e in third["credential"]["evidence"]]
    assert verdict(outside_verifier, third["credential"]) is None


def test_nested_pathways_and_an_admin_revocation(api, issuer, outside_verifier):
    a, b = skill(api, "acme", "A"), skill(api, "acme", "B")
    inner = define(api, "acme", {"all_of": [a]}).json["id"]
    outer = define(api, "acme", {"all_of": [inner, b]}).json["id"]
    passed(api, b, "b-1")
    component = passed(api, a, "a-1")
    first = {x["achievement_id"]: x["credential_id"] for x in component["pathway_credentials"]}
    outer_document = credential(api, first[outer])["credential"]

    assert api.post(f"/api/v1/credentials/{component['credential_id']}/revoke", json={"reason": "fraud"}).status_code == 200
    assert credential(api, first[inner])["status"] == "revoked"
    outer_view = credential(api, first[outer])
    assert outer_view["status"] == "revoked" and URL + first[inner] in outer_view["status_reason"]
    assert verdict(outside_verifier, outer_document) == "revoked"

    # A new pass renews both, the answer naming both.
    again = passed(api, a, "a-2")
    second = {x["achievement_id"]: x["credential_id"] for x in again["pathway_credentials"]}
    assert set(second) == {inner, outer}
    assert [credential(api, second[p])["renews"] for p in (inner, outer)] == [first[inner], first[outer]]
    renewed_outer = credential(api, second[outer])["credential"]
    assert URL + second[inner] in [e["id"] for e in renewed_outer["evidence"]]
    assert_ob_schema_valid(renewed_outer)
    assert verdict(outside_verifier, renewed_outer) is None

    # A pathway credential an admin revoked is no renewal's predecessor: a later award starts afresh.
    assert api.post(f"/api/v1/credentials/{second[inner]}/revoke", json={"reason": "admin"}).status_code == 200
    assert credential(api, second[outer])["status"] == "revoked"  # the outer one lacks it now
    fresh = passed(api, a, "a-3")
    third = {x["achievement_id"]: x["credential_id"] for x in fresh["pathway_credentials"]}
    assert credential(api, third[inner])["renews"] is None
    assert credential(api, third[outer])["renews"] == second[outer]
