"""The whole path through HTTP: issuer, achievement, results, credential, DID document, proof."""

import json

from sqlalchemy import func, select

from issuer.models import AssessmentResult, Credential
from tests.conftest import ACHIEVEMENT, result_body, shared_ref
from issuer import create_app
from issuer.statuslists import StatusListPolicy


def test_pass_and_fail_end_to_end(api, client, issuer, achievement, outside_verifier, services):
    passing = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body("a-1", score=85.5))
    assert passing.status_code == 201, passing.json
    assert passing.json["passed"] is True
    credential = passing.json["credential"]
    assert credential["id"] == f"https://badges.test/credentials/{passing.json['credential_id']}"
    assert credential["issuer"]["id"] == issuer["id"] == "did:web:badges.test:issuers:acme"
    assert credential["validUntil"] == "2027-11-25T12:00:00Z"
    assert credential["credentialSubject"]["result"][0]["value"] == "85.5"

    failing = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body("a-2", score=69.99))
    assert failing.status_code == 200
    assert failing.json == {
        "passed": False,
        "result_id": failing.json["result_id"],
        "reason": "score 69.99 is below the passing score of 70 out of 100",
    }

    public = client.get(f"/credentials/{passing.json['credential_id']}", headers={"Accept": "application/ld+json"})
    assert public.status_code == 200 and public.mimetype == "application/ld+json"
    assert public.json == credential

    did_document = client.get("/issuers/acme/did.json").json
    assert did_document["id"] == issuer["id"]
    assert did_document["assertionMethod"] == [credential["proof"]["verificationMethod"]]

    report = outside_verifier.verify_credential(public.json)
    assert report.verified, report.to_dict()
    assert [c.check for c in report.checks] == ["format", "context", "schema", "issuer", "proof", "validity", "status", "trust"]
    # this suite's instance has suspension enabled: two status entries, which the OB schema does not allow
    assert (report.check("schema").status, report.check("schema").code) == ("warning", "ob_status_set")
    assert report.check("trust").status == "skipped"
    assert report.check("status").message == "not revoked; not suspended"

    with services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentResult)) == 2
        assert session.scalar(select(func.count()).select_from(Credential)) == 1


def test_email_never_in_credential(api, achievement):
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body())
    text = json.dumps(response.json).lower()
    assert "ada.lovelace@example.org" not in text and "ada lovelace" not in text
    identity = response.json["credential"]["credentialSubject"]["identifier"][0]
    import hashlib

    expected = hashlib.sha256(("ada.lovelace@example.org" + identity["salt"]).encode()).hexdigest()
    assert identity == {"type": "IdentityObject", "identityHash": f"sha256${expected}",
                        "identityType": "emailAddress", "hashed": True, "salt": identity["salt"]}


def test_did_recipient_is_subject_id(api, achievement):
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(email=None))
    subject = response.json["credential"]["credentialSubject"]
    assert subject["id"].startswith("did:key:") and "identifier" not in subject


def _ob_schema_errors(api, issuer, achievement) -> list[list]:
    """The OB 3.0 JSON Schema's complaints about a few credentials we issue, as paths."""
    import jsonschema

    schema = json.loads(shared_ref("schemas", "ob_v3p0_achievementcredential_schema.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    bodies = [result_body("s-1"), result_body("s-2", email=None, evidence=[{"id": "https://lms.example/a/2", "narrative": "Proctored."}])]
    plain = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements",
                     json={k: ACHIEVEMENT[k] for k in ("name", "description", "criteria", "passing_score", "max_score")})
    errors = []
    for achievement_id, body in [(achievement["id"], bodies[0]), (achievement["id"], bodies[1]), (plain.json["id"], result_body("s-3"))]:
        response = api.post(f"/api/v1/achievements/{achievement_id}/results", json=body)
        assert response.status_code == 201, response.json
        errors.extend(list(error.absolute_path) for error in validator.iter_errors(response.json["credential"]))
    return errors


def test_issued_credentials_validate_against_ob_schema(api, issuer, achievement):
    # Revocation and suspension entries make credentialStatus a set, which VC Data Model 2.0
    # allows and the OB 3.0 schema (credentialStatus [0..1]) does not yet: that is its only complaint.
    assert _ob_schema_errors(api, issuer, achievement) == [["credentialStatus"]] * 3


def test_with_one_status_purpose_credentials_validate_fully(services, tmp_path):
    from dataclasses import replace

    from tests.conftest import ISSUER, Api, make_token

    only_revocation = replace(services, status_list_policy=StatusListPolicy(purposes=("revocation",)))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": "https://badges.test"},
                     services=only_revocation)
    api = Api(app.test_client(), make_token(only_revocation))
    issuer = api.post("/api/v1/issuers", json=ISSUER).json
    achievement = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json=ACHIEVEMENT).json
    assert _ob_schema_errors(api, issuer, achievement) == []


def test_achievement_and_issuer_documents(client, issuer, achievement):
    document = client.get(f"/achievements/{achievement['id']}").json
    assert document["id"] == f"https://badges.test/achievements/{achievement['id']}"
    assert document["resultDescription"][0]["requiredValue"] == "70"
    assert document["alignment"][0]["targetCode"] == "S1.2.3"
    profile = client.get("/issuers/acme").json
    assert profile["id"] == issuer["id"] and profile["type"] == ["Profile"] and profile["name"] == "Acme Academy"
