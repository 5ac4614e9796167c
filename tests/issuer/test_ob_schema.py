"""Every credential form we issue is valid against the official Open Badges 3.0
AchievementCredential JSON Schema with the default configuration: single results (email or DID
earners, evidence, no validity period), batches, renewals, reissues, a did:key issuer, every key
type, the VC-JWT form, the VC API and the JSON-LD served at the credential's URL. Suspension is opt-in because it costs schema validity."""

from __future__ import annotations

import dataclasses
import json

import pytest

from issuer import create_app
from issuer.statuslists import StatusListPolicy
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, Api, make_token, result_body
from tests.obschema import assert_ob_schema_valid, ob_schema_errors

EVIDENCE = [{"id": "https://lms.example/attempts/1", "name": "Exam attempt", "description": "Proctored online"}]


@pytest.fixture
def default_services(services):
    """The services as a default configuration builds them (STATUS_PURPOSES unset)."""
    return dataclasses.replace(services, status_list_policy=StatusListPolicy())


@pytest.fixture
def default_api(default_services, tmp_path) -> Api:
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "default"), "BASE_URL": BASE_URL},
                     services=default_services)
    return Api(app.test_client(), make_token(default_services))


def _achievement(api, slug="acme", **changes) -> dict:
    response = api.post(f"/api/v1/issuers/{slug}/achievements", json={**ACHIEVEMENT, **changes})
    assert response.status_code == 201, response.json
    return response.json


def _pass(api, achievement, body) -> dict:
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_the_default_is_one_revocation_entry_as_a_single_object():
    assert StatusListPolicy().purposes == ("revocation",)


def test_single_results_are_schema_valid(default_api):
    assert default_api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = _achievement(default_api)
    by_email = _pass(default_api, achievement, result_body("e-1", evidence=EVIDENCE))["credential"]
    by_did = _pass(default_api, achievement, result_body("d-1", email=None))["credential"]
    for credential in (by_email, by_did):
        assert isinstance(credential["credentialStatus"], dict)
        assert credential["credentialStatus"]["statusPurpose"] == "revocation"
        assert_ob_schema_valid(credential)
    forever = _achievement(default_api, name="Forever", valid_for=None)
    assert_ob_schema_valid(_pass(default_api, forever, result_body("f-1"))["credential"])
    # as served at its URL
    served = default_api.get(f"/credentials/{by_email['id'].rsplit('/', 1)[-1]}",
                             headers={"Accept": "application/ld+json"})
    assert served.status_code == 200
    assert_ob_schema_valid(served.get_json())


def test_an_achievement_with_an_image_is_schema_valid(default_api):
    from tests.issuer.test_achievement_images import png, put_image

    assert default_api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = _achievement(default_api)
    assert put_image(default_api, achievement["id"], png(200, 100), "image/png").status_code == 200
    credential = _pass(default_api, achievement, result_body("i-1"))["credential"]
    assert credential["credentialSubject"]["achievement"]["image"]["type"] == "Image"
    assert_ob_schema_valid(credential)


def test_a_did_key_issuers_credentials_are_schema_valid(default_api):
    body = {**ISSUER, "slug": "keyed", "did_method": "key"}
    assert default_api.post("/api/v1/issuers", json=body).status_code == 201
    achievement = _achievement(default_api, slug="keyed")
    assert_ob_schema_valid(_pass(default_api, achievement, result_body("k-1"))["credential"])


def test_batch_renewal_and_reissue_are_schema_valid(default_api, clock):
    assert default_api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = _achievement(default_api)
    results = [result_body(f"b-{i}", email=f"earner{i}@example.org", score=80 + i) for i in range(3)]
    batch = default_api.post(f"/api/v1/achievements/{achievement['id']}/results/batch", json={"results": results})
    assert batch.status_code == 200, batch.json
    ids = [item["credential_id"] for item in batch.json["items"]]
    assert len(ids) == 3
    for credential_id in ids:
        served = default_api.get(f"/credentials/{credential_id}", headers={"Accept": "application/ld+json"})
        assert_ob_schema_valid(served.get_json())

    clock.advance(days=30)
    renewal = _pass(default_api, achievement, result_body("b-again", email="earner0@example.org", score=99))
    assert renewal["renews"] == ids[0]
    assert_ob_schema_valid(renewal["credential"])

    reissued = default_api.post(f"/api/v1/credentials/{ids[1]}/reissue", json={"reason": "typo", "score": 95})
    assert reissued.status_code == 201, reissued.json
    assert_ob_schema_valid(reissued.json["credential"])

    # and revocation still works with the single entry
    revoked = default_api.post(f"/api/v1/credentials/{ids[2]}/revoke", json={"reason": "fraud"})
    assert revoked.json["status"] == "revoked"
    suspended = default_api.post(f"/api/v1/credentials/{ids[1]}/suspend", json={"reason": "review"})
    assert suspended.status_code == 409 and suspended.json["code"] == "status_unsupported"


def test_opting_into_suspension_costs_schema_validity_as_the_readme_says(api, issuer, achievement):
    """The suite's `services` carry both entries (BADGES_STATUS_PURPOSES with suspension)."""
    credential = _pass(api, achievement, result_body("s-1"))["credential"]
    assert [e["statusPurpose"] for e in credential["credentialStatus"]] == ["revocation", "suspension"]
    assert "credentialSchema" not in credential  # it does not claim the schema it breaks
    assert [e.split(":")[0] for e in ob_schema_errors(credential)] == ["$.credentialStatus"]


# --- an issuer's own choice: PATCH /api/v1/issuers/<slug> {"suspension"} ------------------------

def test_an_issuer_opts_into_suspension_and_out_again(default_api):
    created = default_api.post("/api/v1/issuers", json=ISSUER)
    assert (created.json["suspension"], created.json["suspendable"]) == (None, False)
    achievement = _achievement(default_api)
    before = _pass(default_api, achievement, result_body("o-1"))

    changed = default_api.client.patch("/api/v1/issuers/acme", json={"suspension": True},
                                       headers={"Authorization": f"Bearer {default_api.token}"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["suspension"], changed.json["suspendable"]) == (True, True)
    after = _pass(default_api, achievement, result_body("o-2", email="grace@example.org"))
    entries = after["credential"]["credentialStatus"]
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    assert "credentialSchema" not in after["credential"]  # it does not claim the schema it breaks
    suspend = default_api.post(f"/api/v1/credentials/{after['credential_id']}/suspend", json={"reason": "review"})
    assert suspend.status_code == 200 and suspend.json["status"] == "suspended"
    # a credential issued before the change has no suspension entry, and says so
    refused = default_api.post(f"/api/v1/credentials/{before['credential_id']}/suspend", json={"reason": "review"})
    assert refused.status_code == 409 and refused.json["code"] == "status_unsupported"

    back = default_api.client.patch("/api/v1/issuers/acme", json={"suspension": None},
                                    headers={"Authorization": f"Bearer {default_api.token}"})
    assert (back.json["suspension"], back.json["suspendable"]) == (None, False)
    assert_ob_schema_valid(_pass(default_api, achievement, result_body("o-3", email="alan@example.org"))["credential"])


def test_an_issuer_can_refuse_suspension_where_the_instance_enables_it(api):
    """The suite's instance enables suspension (STATUS_PURPOSES with it); an issuer says no."""
    created = api.post("/api/v1/issuers", json={**ISSUER, "suspension": False})
    assert created.status_code == 201, created.json
    assert (created.json["suspension"], created.json["suspendable"]) == (False, False)
    credential = _pass(api, _achievement(api), result_body("n-1"))["credential"]
    assert isinstance(credential["credentialStatus"], dict)
    assert_ob_schema_valid(credential)


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_suspension_is_a_json_boolean_or_null(default_api, value):
    default_api.post("/api/v1/issuers", json=ISSUER)
    response = default_api.client.patch("/api/v1/issuers/acme", json={"suspension": value},
                                        headers={"Authorization": f"Bearer {default_api.token}"})
    assert response.status_code == 422 and "suspension" in json.dumps(response.json["errors"])


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256", "P-384"])
def test_every_key_type_and_the_vc_jwt_form_are_schema_valid(default_api, key_type):
    import jwt  # PyJWT: the payload read without checking the signature (other tests check it)

    assert default_api.post("/api/v1/issuers", json={**ISSUER, "key_type": key_type}).status_code == 201
    achievement = _achievement(default_api)
    answer = _pass(default_api, achievement, result_body("t-1"))
    assert_ob_schema_valid(answer["credential"])
    as_jwt = default_api.get(f"/credentials/{answer['credential_id']}", headers={"Accept": "application/vc+jwt"})
    assert as_jwt.status_code == 200
    payload = jwt.decode(as_jwt.get_data(as_text=True), options={"verify_signature": False})
    # The OB 3.0 VC-JWT payload is the credential with the JWT claims beside it.
    credential = {key: value for key, value in payload.items() if key not in ("iss", "jti", "sub", "nbf", "exp", "iat")}
    assert_ob_schema_valid(credential)


def test_an_ob_credential_signed_through_the_vc_api_is_schema_valid(default_api):
    from tests.issuer.test_vcapi import ob_credential

    assert default_api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    for sent in (ob_credential(), {k: v for k, v in ob_credential().items() if k != "id"}):
        response = default_api.post("/credentials/issue", json={"credential": sent})
        assert response.status_code == 201, response.json
        signed = response.json["verifiableCredential"]
        # The caller's id is kept; without one it gets ours (the schema requires an id).
        assert signed["id"] == sent.get("id", signed["id"]) and signed["id"]
        if "id" not in sent:
            assert signed["id"].startswith(f"{BASE_URL}/credentials/")
        assert isinstance(signed["credentialStatus"], dict)  # our one revocation entry
        assert_ob_schema_valid(signed)
