"""Pathways end to end through HTTP: definitions refused by the part at fault, awards in the pass's
transaction, and the pathway credential kept in step with its components, as an outside verifier
sees it after each step (SQLite, and PostgreSQL with BADGES_TEST_DATABASE_URL)."""

from __future__ import annotations

from sqlalchemy import func, select

from issuer.models import Achievement, PathwayAward
from issuer.pathways import components
from tests.conftest import ACHIEVEMENT, make_token, result_body

SKILLS = ("Python Basics", "Testing", "Packaging")


def define(api, slug: str, requirements: dict, **extra):
    return api.post(f"/api/v1/issuers/{slug}/pathways", json={
        "name": "Python Developer", "description": "Holds the Python skills badges.",
        "criteria": {"narrative": "Earn the component badges."}, "requirements": requirements, **extra})


def skill(api, slug: str, name: str, valid_for: str | None = "P1Y") -> str:
    response = api.post(f"/api/v1/issuers/{slug}/achievements", json={**ACHIEVEMENT, "name": name, "valid_for": valid_for})
    assert response.status_code == 201, response.json
    return response.json["id"]


def passed(api, achievement_id: str, external_id: str, **kwargs):
    response = api.post(f"/api/v1/achievements/{achievement_id}/results", json=result_body(external_id, **kwargs))
    assert response.status_code == 201, response.json
    return response.json


def verdict(outside_verifier, document: dict) -> str | None:
    """None when the credential verifies; else the code of the failing check."""
    report = outside_verifier.verify_credential(document)
    if report.verified:
        return None
    failed = [c for c in report.checks if c.status == "failed"]
    assert len(failed) == 1, report.to_dict()
    return failed[0].code


def credential(api, credential_id: str) -> dict:
    response = api.get(f"/api/v1/credentials/{credential_id}")
    assert response.status_code == 200, response.json
    return response.json


def test_definition_refused_by_part(api, issuer, services):
    a, b = skill(api, "acme", "A"), skill(api, "acme", "B")
    cases = [
        ({"all_of": [a, "3f6c1a1e-0000-4000-8000-000000000000"]}, "requirements.all_of.1"),
        ({"n_of": 3, "from": [a, b]}, "requirements.n_of"),
        ({"all_of": [a, {"n_of": 0, "from": [b]}]}, "requirements.all_of.1.n_of"),
        ({"all_of": []}, "requirements.all_of"),
        ({"any_of": [a]}, "requirements"),
        ({"all_of": [a, a]}, "requirements.all_of.1"),
    ]
    for tree, path in cases:
        response = define(api, "acme", tree)
        assert response.status_code == 422, (tree, response.json)
        assert response.mimetype == "application/problem+json"
        assert list(response.json["errors"]) == [path], response.json

    # Another issuer's achievement only when that issuer allows it.
    assert api.post("/api/v1/issuers", json={"slug": "other", "name": "Other", "url": "https://other.example"}).status_code == 201
    theirs = skill(api, "other", "Theirs")
    assert list(define(api, "acme", {"all_of": [a, theirs]}).json["errors"]) == ["requirements.all_of.1"]
    assert api.client.patch("/api/v1/issuers/other", json={"pathways_open": True},
                            headers={"Authorization": f"Bearer {api.token}"}).json["pathways_open"] is True
    outer = define(api, "acme", {"all_of": [a, theirs]})
    assert outer.status_code == 201, outer.json

    # A cycle: a pathway naming a pathway that needs it.
    inner = define(api, "acme", {"all_of": [outer.json["id"], b]})
    assert inner.status_code == 201, inner.json
    cycle = api.client.put(f"/api/v1/pathways/{outer.json['id']}", headers={"Authorization": f"Bearer {api.token}"},
                           json={"name": "P", "description": "D", "criteria": {"narrative": "N"},
                                 "requirements": {"n_of": 1, "from": [a, {"all_of": [inner.json["id"]]}]}})
    assert cycle.status_code == 422, cycle.json
    assert list(cycle.json["errors"]) == ["requirements.from.1.all_of.0"]
    with services.sessionmaker() as session:
        assert sorted(components(session, outer.json["id"])) == sorted([a, theirs])
        assert components(session, a) == []
    # Unawarded, it can be replaced: its components follow.
    replaced = api.client.put(f"/api/v1/pathways/{inner.json['id']}", headers={"Authorization": f"Bearer {api.token}"},
                              json={"name": "P", "description": "D", "criteria": {"narrative": "N"},
                                    "requirements": {"all_of": [f"https://badges.test/achievements/{a}"]}})
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["requirements"] == {"all_of": [a]}
    with services.sessionmaker() as session:
        assert components(session, inner.json["id"]) == [a]


def test_award_progress_and_fixed_definition(api, issuer, services, outside_verifier):
    a, b, c = (skill(api, "acme", name) for name in SKILLS)
    created = define(api, "acme", {"all_of": [a, {"n_of": 1, "from": [b, c]}]})
    assert created.status_code == 201, created.json
    pathway = created.json["id"]
    assert api.get(f"/api/v1/pathways/{pathway}").json["requirements"] == {"all_of": [a, {"n_of": 1, "from": [b, c]}]}
    # A pathway takes no results.
    refused = api.post(f"/api/v1/achievements/{pathway}/results", json=result_body("p-1"))
    assert (refused.status_code, refused.json["code"]) == (409, "pathway_takes_no_results")

    first = passed(api, a, "a-1")
    assert "pathway_credentials" not in first
    progress = api.get("/api/v1/earners/progress", query_string={"email": "ada.lovelace@example.org"}).json
    assert [(p["id"], p["complete"], p["credential_id"]) for p in progress["pathways"]] == [(pathway, False, None)]
    assert progress["pathways"][0]["requirements"]["met"] == 1
    # A change is still allowed: nothing was awarded.
    patched = api.client.patch(f"/api/v1/pathways/{pathway}", json={"name": "Python Developer I"},
                               headers={"Authorization": f"Bearer {api.token}"})
    assert patched.status_code == 200, patched.json

    second = passed(api, c, "c-1")
    awarded = second["pathway_credentials"]
    assert [x["achievement_id"] for x in awarded] == [pathway]
    document = credential(api, awarded[0]["credential_id"])["credential"]
    assert document["credentialSubject"]["achievement"]["name"] == "Python Developer I"
    assert sorted(e["id"] for e in document["evidence"]) == sorted(
        f"https://badges.test/credentials/{x['credential_id']}" for x in (first, second))
    # validUntil: the earliest component expiry (both P1Y from the same clock here).
    assert document["validUntil"] == first["credential"]["validUntil"]
    assert verdict(outside_verifier, document) is None

    # Idempotent: the same result again repeats the answer and awards nothing new.
    again = api.post(f"/api/v1/achievements/{c}/results", json=result_body("c-1"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["pathway_credentials"] == awarded
    # Another pass of a component renews nothing: the pathway's end is not later.
    assert "pathway_credentials" not in passed(api, b, "b-1")
    with services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(PathwayAward)) == 1

    progress = api.get("/api/v1/earners/progress", query_string={"email": "Ada.Lovelace@example.org"}).json
    assert (progress["pathways"][0]["complete"], progress["pathways"][0]["credential_id"]) == (True, awarded[0]["credential_id"])
    fixed = api.client.put(f"/api/v1/pathways/{pathway}", headers={"Authorization": f"Bearer {api.token}"},
                           json={"name": "P", "description": "D", "criteria": {"narrative": "N"}, "requirements": {"all_of": [a]}})
    assert (fixed.status_code, fixed.json["code"]) == (409, "pathway_awarded")

    # Another issuer's token sees none of these pathways.
    assert api.post("/api/v1/issuers", json={"slug": "other", "name": "Other", "url": "https://other.example"}).status_code == 201
    theirs = api.as_token(make_token(services, "other"))
    assert theirs.get("/api/v1/earners/progress", query_string={"email": "ada.lovelace@example.org"}).json["pathways"] == []
    assert theirs.get(f"/api/v1/pathways/{pathway}").status_code == 403


def test_in_step_with_components(api, issuer, clock, outside_verifier):
    a = skill(api, "acme", "A", valid_for="P1Y")
    b = skill(api, "acme", "B", valid_for="P2Y")
    pathway = define(api, "acme", {"all_of": [a, b]}).json["id"]
    component_a = passed(api, a, "a-1")
    award = passed(api, b, "b-1")["pathway_credentials"][0]
    path_id = award["credential_id"]
    document = credential(api, path_id)["credential"]
    assert document["validUntil"] == component_a["credential"]["validUntil"]  # the earlier expiry

    # Revoking a component suspends the pathway credential, naming it.
    clock.advance(days=10)
    revoked = api.post(f"/api/v1/credentials/{component_a['credential_id']}/revoke", json={"reason": "cheating"})
    assert revoked.status_code == 200, revoked.json
    view = credential(api, path_id)
    assert view["status"] == "suspended"
    assert component_a["credential_id"] in view["status_reason"] and "revoked: cheating" in view["status_reason"]
    assert verdict(outside_verifier, document) == "suspended"

    # A new pass of that component renews the pathway credential (its end is later now); the
    # suspended one stays suspended, renewed.
    clock.advance(days=10)
    renewal = passed(api, a, "a-2")
    renewed_id = renewal["pathway_credentials"][0]["credential_id"]
    renewed = credential(api, renewed_id)
    assert renewed["status"] == "active" and renewed_id != path_id
    assert renewed["credential"]["validUntil"] == renewal["credential"]["validUntil"]
    assert verdict(outside_verifier, renewed["credential"]) is None
    assert verdict(outside_verifier, document) == "suspended"

    # Suspending a component suspends it; unsuspending the component reinstates it.
    assert api.post(f"/api/v1/credentials/{renewal['credential_id']}/suspend", json={"reason": "check"}).status_code == 200
    assert credential(api, renewed_id)["status"] == "suspended"
    assert verdict(outside_verifier, renewed["credential"]) == "suspended"
    assert api.post(f"/api/v1/credentials/{renewal['credential_id']}/unsuspend", json={"reason": "ok"}).status_code == 200
    assert credential(api, renewed_id)["status"] == "active"
    assert verdict(outside_verifier, renewed["credential"]) is None

    # Suspended again; a reissue of that component reinstates it.
    suspended = api.post(f"/api/v1/credentials/{renewal['credential_id']}/suspend", json={"reason": "review"})
    assert suspended.status_code == 200
    assert credential(api, renewed_id)["status"] == "suspended"
    assert verdict(outside_verifier, renewed["credential"]) == "suspended"
    reissued = api.post(f"/api/v1/credentials/{renewal['credential_id']}/reissue", json={"reason": "corrected"})
    assert reissued.status_code == 201, reissued.json
    assert credential(api, renewed_id)["status"] == "active"
    assert verdict(outside_verifier, renewed["credential"]) is None

    # A pathway credential an admin suspended stays so when its components change.
    assert api.post(f"/api/v1/credentials/{renewed_id}/suspend", json={"reason": "admin"}).status_code == 200
    successor = reissued.json["credential_id"]
    assert api.post(f"/api/v1/credentials/{successor}/suspend", json={"reason": "x"}).status_code == 200
    assert api.post(f"/api/v1/credentials/{successor}/unsuspend", json={"reason": "y"}).status_code == 200
    assert (credential(api, renewed_id)["status"], credential(api, renewed_id)["status_reason"]) == ("suspended", "admin")
    assert api.post(f"/api/v1/credentials/{renewed_id}/unsuspend", json={"reason": "admin"}).status_code == 200

    # A component's expiry expires the pathway credential.
    clock.advance(days=366)
    assert verdict(outside_verifier, renewed["credential"]) == "expired"


def test_expiry_unless_another_credential_satisfies(api, issuer, clock, outside_verifier):
    short = skill(api, "acme", "Short", valid_for="P30D")
    long = skill(api, "acme", "Long", valid_for="P1Y")
    core = skill(api, "acme", "Core", valid_for=None)
    define(api, "acme", {"all_of": [core, {"n_of": 1, "from": [short, long]}]}, all_valid_at_once=True)
    passed(api, short, "s-1")
    award = passed(api, core, "c-1")["pathway_credentials"][0]
    first = credential(api, award["credential_id"])["credential"]
    clock.advance(days=1)
    # A credential valid longer that satisfies the same requirement renews the pathway credential.
    long_pass = passed(api, long, "l-1")
    second = credential(api, long_pass["pathway_credentials"][0]["credential_id"])["credential"]
    assert second["validUntil"] == long_pass["credential"]["validUntil"]
    clock.advance(days=40)
    assert verdict(outside_verifier, first) == "expired"
    assert verdict(outside_verifier, second) is None


def test_batch_awards(api, issuer, services):
    a, b = skill(api, "acme", "A"), skill(api, "acme", "B")
    pathway = define(api, "acme", {"all_of": [a, b]}).json["id"]
    passed(api, a, "a-1")
    answer = api.post(f"/api/v1/achievements/{b}/results/batch",
                      json={"results": [result_body("b-1"), result_body("b-2", email="grace@example.org")]})
    assert answer.status_code == 200, answer.json
    first, second = answer.json["items"]
    assert [x["achievement_id"] for x in first["pathway_credentials"]] == [pathway]
    assert "pathway_credentials" not in second
    # The batch again: replays, the award named again, nothing awarded twice.
    replay = api.post(f"/api/v1/achievements/{b}/results/batch", json={"results": [result_body("b-1")]}).json["items"][0]
    assert replay["replayed"] and replay["pathway_credentials"] == first["pathway_credentials"]
    with services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(PathwayAward)) == 1
        assert session.get(Achievement, pathway).is_pathway
    refused = api.post(f"/api/v1/achievements/{pathway}/results/batch", json={"results": [result_body("p-1")]})
    assert (refused.status_code, refused.json["code"]) == (409, "pathway_takes_no_results")


def test_pathway_documents(api, client, issuer):
    """The pathway's public achievement states no score rule; its credential passes the OB 3.0
    JSON Schema as our other credentials do (credentialStatus a set is its one complaint)."""
    import json

    import jsonschema

    from tests.conftest import shared_ref

    a = skill(api, "acme", "A")
    pathway = define(api, "acme", {"all_of": [a]}, achievement_type="Certificate").json["id"]
    public = client.get(f"/achievements/{pathway}", headers={"Accept": "application/ld+json"}).json
    assert public["name"] == "Python Developer" and "resultDescription" not in public
    assert "a set of other credentials" in client.get(f"/achievements/{pathway}", headers={"Accept": "text/html"}).text
    award = passed(api, a, "a-1")["pathway_credentials"][0]
    document = credential(api, award["credential_id"])["credential"]
    assert "result" not in document["credentialSubject"]
    page = client.get(f"/credentials/{award['credential_id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Python Developer" in page.text
    schema = json.loads(shared_ref("schemas", "ob_v3p0_achievementcredential_schema.json").read_text())
    errors = [list(e.absolute_path) for e in jsonschema.Draft201909Validator(schema).iter_errors(document)]
    assert errors == [["credentialStatus"]]


def test_nested_pathways_cascade(api, issuer, outside_verifier):
    a, b = skill(api, "acme", "A"), skill(api, "acme", "B")
    inner = define(api, "acme", {"all_of": [a]}).json["id"]
    outer = define(api, "acme", {"all_of": [inner, b]}).json["id"]
    passed(api, b, "b-1")
    component = passed(api, a, "a-1")
    awards = {x["achievement_id"]: x["credential_id"] for x in component["pathway_credentials"]}
    assert set(awards) == {inner, outer}
    outer_document = credential(api, awards[outer])["credential"]
    assert f"https://badges.test/credentials/{awards[inner]}" in [e["id"] for e in outer_document["evidence"]]
    assert verdict(outside_verifier, outer_document) is None

    assert api.post(f"/api/v1/credentials/{component['credential_id']}/revoke", json={"reason": "fraud"}).status_code == 200
    assert credential(api, awards[inner])["status"] == "suspended"
    assert credential(api, awards[outer])["status"] == "suspended"
    assert awards[inner] in credential(api, awards[outer])["status_reason"]
    assert verdict(outside_verifier, outer_document) == "suspended"
