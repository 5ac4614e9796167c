"""Comprehensive Learner Record 2.0: an earner's credentials as one signed ClrCredential.

Through the issuer API (GET /api/v1/issuers/<slug>/clr?email=) and the earner's management link
(/manage/<token>/clr.json); verified by our verifier (one report per nested credential) and by the
outside verifier, and checked against 1EdTech's CLR 2.0 JSON Schema.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from issuer import create_app
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, Api, make_token, result_body

SCHEMA_FILE = Path(__file__).parents[1] / "fixtures" / "clr" / "clr_v2p0_clrcredential_schema_draft4.json"
# tests/fixtures/clr/README.md: 1EdTech/digital-credentials-public-validator @ 38254719cf0a490a403c9c812b01e6ab0678f2f3
SCHEMA_SHA256 = "afaf415f32d639eb300c1207b99438b7261673e162aa940f497cbb283bd39e40"

EMAIL = "Ada.Lovelace@Example.org"


def _achievement(api, slug: str, name: str) -> dict:
    response = api.post(f"/api/v1/issuers/{slug}/achievements", json={**ACHIEVEMENT, "name": name})
    assert response.status_code == 201, response.json
    return response.json


def _pass(api, achievement: dict, external_id: str, **extra) -> dict:
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id, **extra))
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def earned(api, issuer, clock):
    """Three achievements of one issuer, passed by the same earner a minute apart (the record lists
    them oldest first); a fourth pass by someone else."""
    achievements = [_achievement(api, issuer["slug"], name) for name in ("Python Basics", "SQL Basics", "Git Basics")]
    answers = []
    for i, achievement in enumerate(achievements):
        clock.advance(minutes=1)
        answers.append(_pass(api, achievement, f"clr-{i}"))
    _pass(api, achievements[0], "other-earner", email="grace@example.org")
    return achievements, answers


def _clr(api, slug="acme", email=EMAIL):
    return api.get(f"/api/v1/issuers/{slug}/clr", query_string={"email": email})


def test_issuer_gets_a_signed_clr_of_the_earners_credentials(api, earned, outside_verifier):
    achievements, answers = earned
    response = _clr(api, email="ada.lovelace@EXAMPLE.org")
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/ld+json"
    clr = json.loads(response.data)
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    assert clr["@context"][:2] == ["https://www.w3.org/ns/credentials/v2",
                                   "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"]
    assert clr["issuer"]["id"] == "did:web:badges.test:issuers:acme"
    subject = clr["credentialSubject"]
    assert subject["type"] == ["ClrSubject"]
    # embedded exactly as issued, each with its own proof; the other earner's is not there
    assert subject["verifiableCredential"] == [a["credential"] for a in answers]
    assert all("proof" in c for c in subject["verifiableCredential"])
    assert [a["name"] for a in subject["achievement"]] == ["Python Basics", "SQL Basics", "Git Basics"]
    assert "association" not in subject  # no pathways without an association source
    identity = subject["identifier"][0]
    assert identity["identityHash"] == "sha256$" + hashlib.sha256(
        ("ada.lovelace@example.org" + identity["salt"]).encode()).hexdigest()
    assert "ada.lovelace@example.org" not in response.text.lower()

    report = outside_verifier.verify_credential(clr)
    body = report.to_dict()
    assert report.verified, body
    assert [c["check"] for c in body["checks"]] == ["format", "context", "schema", "issuer", "proof", "validity",
                                                     "status", "trust"]
    assert [r["credential"]["id"] for r in body["credentials"]] == [a["credential"]["id"] for a in answers]
    assert all(r["verified"] for r in body["credentials"])
    assert all(next(c for c in r["checks"] if c["check"] == "status")["status"] == "passed"
               for r in body["credentials"])


def test_clr_is_valid_against_the_clr_2_0_json_schema(api, earned):
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256  # the bundled copy, unchanged
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    clr = json.loads(_clr(api).data)
    errors = sorted((list(e.absolute_path), e.validator) for e in jsonschema.Draft4Validator(schema).iter_errors(clr))
    # 1EdTech's only published copy of this schema (draft-04) is of the VC 1.1 era: it requires
    # issuanceDate where VC 2.0 has validFrom, and a single credentialStatus object. Those are its
    # only complaints (see tests/fixtures/clr/README.md); everything else of CLR 2.0 holds.
    nested = len(clr["credentialSubject"]["verifiableCredential"])
    expected = [([], "required")] + [
        (["credentialSubject", "verifiableCredential", i], "required") for i in range(nested)]
    assert [e for e in errors if e[1] == "required"] == expected
    assert [e for e in errors if e[1] != "required"] == [
        (["credentialSubject", "verifiableCredential", i, "credentialStatus"], "type") for i in range(nested)]
    messages = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(clr) if e.validator == "required"]
    assert set(messages) == {"'issuanceDate' is a required property"}


def test_clr_with_one_status_purpose_fails_the_schema_only_on_the_vc_1_1_parts(services, tmp_path):
    from issuer.statuslists import StatusListPolicy

    only_revocation = replace(services, status_list_policy=StatusListPolicy(purposes=("revocation",)))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL},
                     services=only_revocation)
    api = Api(app.test_client(), make_token(only_revocation))
    api.post("/api/v1/issuers", json=ISSUER)
    for name in ("Python Basics", "SQL Basics"):
        services.clock.advance(minutes=1)
        _pass(api, _achievement(api, "acme", name), name)
    clr = json.loads(_clr(api).data)
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    errors = sorted((list(e.absolute_path), e.validator, e.message)
                    for e in jsonschema.Draft4Validator(schema).iter_errors(clr))
    # a single credentialStatus object is now one, but VC 1.1's CredentialStatus had only id and type
    unexpected = "Additional properties are not allowed ('statusListCredential', 'statusListIndex', 'statusPurpose' were unexpected)"
    assert errors == sorted(
        [([], "required", "'issuanceDate' is a required property")]
        + [(["credentialSubject", "verifiableCredential", i], "required", "'issuanceDate' is a required property")
           for i in range(2)]
        + [(["credentialSubject", "verifiableCredential", i, "credentialStatus"], "additionalProperties", unexpected)
           for i in range(2)])


def test_revoked_and_renewed_credentials_are_left_out(api, earned, clock):
    achievements, answers = earned
    clock.advance(minutes=1)
    assert api.post(f"/api/v1/credentials/{answers[1]['credential_id']}/revoke",
                    json={"reason": "cheating"}).status_code == 200
    renewal = _pass(api, achievements[2], "clr-renew")
    clr = json.loads(_clr(api).data)
    assert [c["id"] for c in clr["credentialSubject"]["verifiableCredential"]] == [
        answers[0]["credential"]["id"], renewal["credential"]["id"]]


def test_tampered_nested_credential_is_reported_in_its_own_report(api, earned, outside_verifier):
    clr = json.loads(_clr(api).data)
    tampered = copy.deepcopy(clr)
    tampered["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]["result"][0]["value"] = "100"
    body = outside_verifier.verify_credential(tampered).to_dict()
    assert body["verified"] is False
    # the record's own proof covers what it embeds, so it fails too
    assert next(c for c in body["checks"] if c["check"] == "proof")["code"] == "invalid_signature"
    nested = body["credentials"]
    assert [r["verified"] for r in nested] == [True, False, True]
    assert next(c for c in nested[1]["checks"] if c["check"] == "proof")["code"] == "invalid_signature"


def test_a_revoked_nested_credential_fails_its_report_and_the_record(api, earned, outside_verifier):
    achievements, answers = earned
    clr = json.loads(_clr(api).data)
    assert api.post(f"/api/v1/credentials/{answers[0]['credential_id']}/revoke",
                    json={"reason": "cheating"}).status_code == 200
    body = outside_verifier.verify_credential(clr).to_dict()
    assert next(c for c in body["checks"] if c["check"] == "proof")["status"] == "passed"
    assert [r["verified"] for r in body["credentials"]] == [False, True, True]
    status = next(c for c in body["credentials"][0]["checks"] if c["check"] == "status")
    assert status["code"] == "revoked"
    assert body["verified"] is False


def test_tampered_record_fails_its_own_proof_while_nested_ones_verify(api, earned, outside_verifier):
    clr = json.loads(_clr(api).data)
    clr["name"] = "A better record"
    body = outside_verifier.verify_credential(clr).to_dict()
    assert body["verified"] is False
    assert next(c for c in body["checks"] if c["check"] == "proof")["code"] == "invalid_signature"
    assert all(r["verified"] for r in body["credentials"])


def test_verify_api_reports_nested_credentials(api, client, earned):
    clr = json.loads(_clr(api).data)
    response = client.post("/api/v1/verify", json={"credential": clr})
    assert response.status_code == 200, response.json
    assert response.json["verified"] is True
    assert len(response.json["credentials"]) == 3 and all(r["verified"] for r in response.json["credentials"])


def test_unknown_earner_issuer_scope_and_bad_email(api, client, services, earned):
    missing = _clr(api, email="nobody@example.org")
    assert missing.status_code == 404 and missing.json["code"] == "no_credentials"
    bad = _clr(api, email="not an email")
    assert bad.status_code == 422 and "email" in bad.json["errors"]
    absent = api.get("/api/v1/issuers/acme/clr")
    assert absent.status_code == 422 and absent.json["errors"] == {"_schema": ["Give exactly one of email or did."]}
    both = api.get("/api/v1/issuers/acme/clr", query_string={"email": EMAIL, "did": "did:key:z6Mk"})
    assert both.status_code == 422
    assert api.get("/api/v1/issuers/acme/clr", query_string={"did": "mailto:x"}).json["errors"] == {
        "did": ["Must be a DID, such as did:key:z6Mk..."]}
    assert client.get("/api/v1/issuers/acme/clr", query_string={"email": EMAIL}).status_code == 401
    api.post("/api/v1/issuers", json={**ISSUER, "slug": "other", "name": "Other"})
    other = api.as_token(make_token(services, "other"))
    assert _clr(other).status_code == 403
    # the other issuer's record of this earner is empty: credentials of acme never appear there
    assert _clr(api, slug="other").json["code"] == "no_credentials"


def test_earner_gets_the_clr_through_the_management_link(api, client, earned, outside_verifier):
    achievements, answers = earned
    url = api.post(f"/api/v1/credentials/{answers[1]['credential_id']}/management-link").json["url"]
    path = url.removeprefix(BASE_URL)
    response = client.get(f"{path}/clr.json")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    clr = json.loads(response.data)
    assert clr["credentialSubject"]["verifiableCredential"] == [a["credential"] for a in answers]
    assert outside_verifier.verify_credential(clr).verified

    assert client.get("/manage/" + "A" * 43 + "/clr.json").status_code == 404
    # a new link replaces the old one
    api.post(f"/api/v1/credentials/{answers[1]['credential_id']}/management-link")
    assert client.get(f"{path}/clr.json").status_code == 404


def test_pathway_associations_from_an_injected_source(services, tmp_path):
    """An achievement made of two others: isParentOf from the whole to each part, isChildOf back.
    Only achievements in the record are linked."""
    made_of: dict[str, list[str]] = {}
    with_pathways = replace(services, clr_associations=lambda session, achievement_id: made_of.get(achievement_id, []))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL},
                     services=with_pathways)
    api = Api(app.test_client(), make_token(with_pathways))
    api.post("/api/v1/issuers", json=ISSUER)
    python, sql, unearned, whole = (_achievement(api, "acme", n) for n in ("Python", "SQL", "Rust", "Data Engineer"))
    made_of[whole["id"]] = [python["id"], sql["id"], unearned["id"]]
    for achievement in (python, sql, whole):
        services.clock.advance(minutes=1)
        _pass(api, achievement, achievement["name"])
    subject = json.loads(_clr(api).data)["credentialSubject"]
    url = lambda a: f"{BASE_URL}/achievements/{a['id']}"  # noqa: E731
    assert subject["association"] == [
        {"type": "Association", "associationType": "isParentOf", "sourceId": url(whole), "targetId": url(python)},
        {"type": "Association", "associationType": "isChildOf", "sourceId": url(python), "targetId": url(whole)},
        {"type": "Association", "associationType": "isParentOf", "sourceId": url(whole), "targetId": url(sql)},
        {"type": "Association", "associationType": "isChildOf", "sourceId": url(sql), "targetId": url(whole)},
    ]


def test_badges_verify_checks_a_record_offline(api, tmp_path, clock):
    """A did:key issuer's record verifies with `badges verify`, no server and no network: exit 0,
    the record's checks and each embedded credential's."""
    from click.testing import CliRunner

    from issuer.cli import main

    api.post("/api/v1/issuers", json={**ISSUER, "slug": "keyed", "did_method": "key"})
    for name in ("Python Basics", "SQL Basics"):
        clock.advance(minutes=1)
        _pass(api, _achievement(api, "keyed", name), name)
    path = tmp_path / "record.json"
    path.write_bytes(_clr(api, slug="keyed").data)
    result = CliRunner().invoke(main, ["verify", str(path), "--no-status"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VERIFIED: Comprehensive Learner Record from Acme Academy")
    assert "  credential 2 of 2:\n    VERIFIED: SQL Basics, issued by Acme Academy" in result.output

    record = json.loads(path.read_text())
    record["credentialSubject"]["verifiableCredential"][0]["validUntil"] = "2099-01-01T00:00:00Z"
    path.write_text(json.dumps(record))
    result = CliRunner().invoke(main, ["verify", str(path), "--no-status"])
    assert result.exit_code == 1
    assert "  credential 1 of 2:\n    NOT VERIFIED: Python Basics" in result.output


def test_vc_api_and_the_verify_page_show_each_embedded_credential(api, client, earned):
    achievements, answers = earned
    clr = json.loads(_clr(api).data)
    verified = client.post("/credentials/verify", json={"verifiableCredential": clr})
    assert verified.status_code == 200 and len(verified.json["credentials"]) == 3

    page = client.post("/verify", data={"credential": json.dumps(clr)}).get_data(as_text=True)
    assert "This credential is verified." in page
    assert "The 3 credentials in this record" in page
    assert "3. Git Basics: verified" in page

    assert api.post(f"/api/v1/credentials/{answers[2]['credential_id']}/suspend",
                    json={"reason": "under review"}).status_code == 200
    refused = client.post("/credentials/verify", json={"verifiableCredential": clr})
    assert refused.status_code == 422
    assert refused.json["code"] == "embedded_credential_not_verified"
    assert refused.json["detail"].startswith(f"embedded credential 3 ({answers[2]['credential']['id']}): status:")
    assert [r["verified"] for r in refused.json["credentials"]] == [True, True, False]
    page = client.post("/verify", data={"credential": json.dumps(clr)}).get_data(as_text=True)
    assert "This credential is NOT verified." in page and "3. Git Basics: NOT verified" in page


def test_each_record_is_in_the_audit_log_without_the_email(api, client, earned):
    achievements, answers = earned
    by_token = json.loads(_clr(api).data)
    url = api.post(f"/api/v1/credentials/{answers[0]['credential_id']}/management-link").json["url"]
    by_earner = json.loads(client.get(url.removeprefix(BASE_URL) + "/clr.json").data)
    entries = [e for e in api.get("/api/v1/audit").json["items"] if e["action"] == "clr.issue"]
    ids = [a["credential_id"] for a in answers]
    assert [(e["actor"], e["subject_type"], e["subject_id"], e["details"]) for e in entries] == [
        ("earner", "clr", by_earner["id"], {"credentials": ids}),
        ("token", "clr", by_token["id"], {"credentials": ids}),
    ]
    assert "ada.lovelace" not in json.dumps(entries).lower()
    # asking for an earner with nothing to record writes nothing
    assert _clr(api, email="nobody@example.org").status_code == 404
    assert len([e for e in api.get("/api/v1/audit").json["items"] if e["action"] == "clr.issue"]) == 2


def test_record_of_an_earner_named_by_a_did(api, earned, outside_verifier):
    achievements, answers = earned
    did = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"  # result_body's recipient without an email
    held = _pass(api, achievements[1], "by-did", email=None)
    record = json.loads(api.get("/api/v1/issuers/acme/clr", query_string={"did": did}).data)
    subject = record["credentialSubject"]
    assert subject["id"] == did and "identifier" not in subject
    assert subject["verifiableCredential"] == [held["credential"]]
    assert outside_verifier.verify_credential(record).verified


def test_pathway_and_its_components_are_associated(api, issuer, clock, outside_verifier):
    """A pathway (issuer/pathways) awarded for two passed components: the record holds the three
    credentials and links the pathway to each component, both ways; a component not earned is not
    linked."""
    python, sql, rust = (_achievement(api, "acme", name) for name in ("Python", "SQL", "Rust"))
    pathway = api.post("/api/v1/issuers/acme/pathways", json={
        "name": "Data Engineer", "description": "Python and SQL, or Rust and SQL.",
        "criteria": {"narrative": "Earn two of the component badges."},
        "requirements": {"n_of": 2, "from": [python["id"], sql["id"], rust["id"]]}})
    assert pathway.status_code == 201, pathway.json
    clock.advance(minutes=1)
    _pass(api, python, "p-1")
    clock.advance(minutes=1)
    completing = _pass(api, sql, "p-2")
    (award,) = completing["pathway_credentials"]
    assert award["achievement_id"] == pathway.json["id"]

    record = json.loads(_clr(api).data)
    subject = record["credentialSubject"]
    assert len(subject["verifiableCredential"]) == 3
    url = lambda achievement_id: f"{BASE_URL}/achievements/{achievement_id}"  # noqa: E731
    whole = url(pathway.json["id"])
    assert sorted((a["associationType"], a["sourceId"], a["targetId"]) for a in subject["association"]) == sorted([
        ("isParentOf", whole, url(python["id"])), ("isChildOf", url(python["id"]), whole),
        ("isParentOf", whole, url(sql["id"])), ("isChildOf", url(sql["id"]), whole)])
    assert all(a["type"] == "Association" for a in subject["association"])
    body = outside_verifier.verify_credential(record).to_dict()
    assert body["verified"] is True and len(body["credentials"]) == 3
    # the CLR 2.0 schema's Association and Achievement hold; only its VC 1.1 parts complain (see above)
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    paths = [list(e.absolute_path) for e in jsonschema.Draft4Validator(schema).iter_errors(record)]
    assert paths and all(p == [] or p[:2] == ["credentialSubject", "verifiableCredential"] for p in paths)
