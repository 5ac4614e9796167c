"""Verification over HTTP, through the Flask test client and the app's own Verifier: the JSON API
(every input form), the W3C VC API verifier routes, and the /verify page."""

from __future__ import annotations

import copy
import json
import re
from io import BytesIO

import pytest

from tests.conftest import result_body
from tests.verifier.support import DidKey, check_of, sign, sign_with_options, summary
from tests.verifier.test_forms_baked import SVG, png
from tests.verifier.test_forms_jwt import credential as jwt_credential
from tests.verifier.test_forms_jwt import vc2_token
from verifier.forms.baked import bake_png, bake_svg

CHECKS = ["format", "context", "schema", "issuer", "proof", "validity", "status", "trust"]
PROBLEM = "application/problem+json"


@pytest.fixture
def tampered(issued) -> dict:
    changed = copy.deepcopy(issued)
    changed["credentialSubject"]["achievement"]["name"] = "Rocket Science"
    return changed


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def assert_verified(body: dict) -> None:
    assert body["verified"] is True, body["checks"]
    assert [c["check"] for c in body["checks"]] == CHECKS
    assert all(c["status"] in ("passed", "skipped", "warning") for c in body["checks"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["checked_at"])


# --- POST /api/v1/verify ----------------------------------------------------------------------

def test_an_issued_credential_verifies(client, issued, issuer):
    response = client.post("/api/v1/verify", json={"credential": issued})
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert_verified(body)
    assert {c["check"]: c["status"] for c in body["checks"]} == {
        "format": "passed", "context": "passed", "schema": "warning", "issuer": "passed", "proof": "passed",
        "validity": "passed", "status": "passed", "trust": "skipped",
    }  # schema: a warning (ob_status_set), as the suite's instance has suspension enabled
    assert body["credential"]["id"] == issued["id"]
    assert body["credential"]["issuer"] == {"id": issuer["id"], "name": "Acme Academy"}
    assert body["credential"]["achievement"] == "Python Basics"
    assert body["checked_at"] == "2026-11-25T12:00:00Z"


def test_the_api_needs_no_token(client, issued):
    assert client.post("/api/v1/verify", json={"credential": issued}).json["verified"] is True


def test_a_tampered_credential_is_a_200_report_that_does_not_verify(client, tampered):
    response = client.post("/api/v1/verify", json={"credential": tampered})
    assert response.status_code == 200
    body = response.json
    assert body["verified"] is False
    proof = check_of(body, "proof")
    assert (proof["status"], proof["code"]) == ("failed", "invalid_signature")
    assert check_of(body, "issuer")["status"] == "passed"


@pytest.fixture
def ring_of_blank_nodes(issued) -> dict:
    """The issued credential with a ring of 1,000 blank nodes (58 KB): was a RecursionError, a 500."""
    hostile = copy.deepcopy(issued)
    hostile["@context"] = [*hostile["@context"], {"linked": {"@id": "https://example.org/linked", "@type": "@id"}}]
    hostile["credentialSubject"]["linked"] = [{"id": f"_:b{i}", "linked": f"_:b{(i + 1) % 1000}"} for i in range(1000)]
    return hostile


def test_a_ring_of_blank_nodes_is_a_200_report_with_the_refusal(client, ring_of_blank_nodes):
    response = client.post("/api/v1/verify", json={"credential": ring_of_blank_nodes})
    assert response.status_code == 200
    body = response.json
    assert body["verified"] is False
    proof = check_of(body, "proof")
    assert (proof["status"], proof["code"]) == ("failed", "canonicalization_limit")


def test_a_ring_of_blank_nodes_on_the_vc_api_is_a_422_problem(client, ring_of_blank_nodes):
    response = client.post("/credentials/verify", json={"verifiableCredential": ring_of_blank_nodes, "options": {}})
    body = assert_problem(response, 422)
    assert body["code"] == "canonicalization_limit"


def test_credential_given_as_json_text(client, issued):
    assert client.post("/api/v1/verify", json={"credential": json.dumps(issued)}).json["verified"] is True


def test_a_jwt_signed_by_a_did_key_issuer(client):
    holder = DidKey()
    cred = jwt_credential(issuer={"id": holder.did, "type": ["Profile"], "name": "Key Issuer"})
    token = vc2_token(holder.private_key, "EdDSA", cred, kid=holder.verification_method)
    response = client.post("/api/v1/verify", json={"jwt": token})
    assert response.status_code == 200
    body = response.json
    assert_verified(body)
    assert check_of(body, "proof")["status"] == "passed" and check_of(body, "issuer")["status"] == "passed"
    assert body["credential"]["issuer"]["id"] == holder.did

    forged = vc2_token(DidKey().private_key, "EdDSA", cred, kid=holder.verification_method)
    body = client.post("/api/v1/verify", json={"jwt": forged}).json
    assert body["verified"] is False
    assert check_of(body, "proof")["status"] == "failed"


def upload(client, data: bytes, filename: str, mimetype: str):
    return client.post("/api/v1/verify", data={"file": (BytesIO(data), filename, mimetype)},
                       content_type="multipart/form-data")


def test_upload_json(client, issued, tampered):
    response = upload(client, json.dumps(issued).encode(), "badge.json", "application/json")
    assert response.status_code == 200
    assert_verified(response.json)
    body = upload(client, json.dumps(tampered).encode(), "badge.json", "application/json").json
    assert check_of(body, "proof")["code"] == "invalid_signature"


def test_upload_baked_png(client, issued, tampered):
    response = upload(client, bake_png(png(), json.dumps(issued)), "badge.png", "image/png")
    assert response.status_code == 200
    assert_verified(response.json)
    body = upload(client, bake_png(png(), json.dumps(tampered)), "badge.png", "image/png").json
    assert body["verified"] is False and check_of(body, "proof")["code"] == "invalid_signature"


def test_upload_png_without_a_credential(client):
    body = upload(client, png(), "badge.png", "image/png").json
    assert body["verified"] is False
    assert (body["checks"][0]["check"], body["checks"][0]["code"]) == ("format", "baked_image_without_credential")


def test_upload_baked_svg(client, issued):
    response = upload(client, bake_svg(SVG, json.dumps(issued)).encode(), "badge.svg", "image/svg+xml")
    assert response.status_code == 200
    assert_verified(response.json)


def test_upload_without_the_file_field(client):
    response = client.post("/api/v1/verify", data={"other": (BytesIO(b"{}"), "x.json")}, content_type="multipart/form-data")
    body = assert_problem(response, 422)
    assert "file" in body["detail"]
    assert "file" in body["errors"]  # validation errors name each field (INTERFACES.md)


def test_a_url_on_loopback(loopback_app, api, achievement, server):
    credential = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential"]
    server.json("/credential.json", credential)
    client = loopback_app.test_client()
    response = client.post("/api/v1/verify", json={"url": server.url("/credential.json")})
    assert response.status_code == 200
    assert_verified(response.json)
    assert response.json["credential"]["id"] == credential["id"]
    assert server.hits("/credential.json") == 1

    missing = client.post("/api/v1/verify", json={"url": server.url("/missing")}).json
    assert missing["verified"] is False
    assert (missing["checks"][0]["check"], missing["checks"][0]["status"]) == ("format", "failed")


def test_a_url_on_loopback_is_refused_by_default(client, server, issued):
    server.json("/credential.json", issued)
    body = client.post("/api/v1/verify", json={"url": server.url("/credential.json")}).json
    assert body["verified"] is False
    assert (body["checks"][0]["check"], body["checks"][0]["code"]) == ("format", "fetch_refused")
    assert server.requests == []


@pytest.mark.parametrize("payload", [
    {},
    {"nothing": 1},
    {"credential": {}, "jwt": "a.b.c"},
    {"credential": {}, "url": "https://x.example/"},
    {"jwt": 12},
    {"url": ["https://x.example/"]},
    {"credential": {}, "extra": True},
], ids=["empty", "unknown", "credential+jwt", "credential+url", "jwt-int", "url-list", "extra-member"])
def test_bad_requests_are_problems(client, payload):
    body = assert_problem(client.post("/api/v1/verify", json=payload), 422)
    assert body["code"] == "validation_failed"
    assert body["errors"]  # names the fields at fault


@pytest.mark.parametrize("data", ["[1, 2]", "not json", '"text"'])
def test_a_body_that_is_not_a_json_object(client, data):
    assert_problem(client.post("/api/v1/verify", data=data, content_type="application/json"), 400)


def test_non_json_is_415(client, issued):
    response = client.post("/api/v1/verify", data=json.dumps({"credential": issued}), content_type="text/plain")
    body = assert_problem(response, 415)
    assert body["code"] == "unsupported_media_type"


def test_oversized_is_413(client, app):
    too_big = json.dumps({"credential": {"padding": "x" * app.config["MAX_CONTENT_LENGTH"]}})
    assert_problem(client.post("/api/v1/verify", data=too_big, content_type="application/json"), 413)


def test_a_null_credential_is_a_validation_problem(client):
    body = assert_problem(client.post("/api/v1/verify", json={"credential": None}), 422)
    assert "credential" in body["errors"]


def test_wrong_types_inside_credential_are_a_report_not_a_crash(client):
    for value in (12, [], "", True, {"@context": 5}):
        response = client.post("/api/v1/verify", json={"credential": value})
        assert response.status_code == 200, value
        assert response.json["verified"] is False
        assert response.json["checks"][0]["check"] == "format"


# --- W3C VC API: POST /credentials/verify -----------------------------------------------------

def test_vcapi_verify_a_good_credential(client, issued):
    response = client.post("/credentials/verify", json={"verifiableCredential": issued, "options": {}})
    assert response.status_code == 200
    assert_verified(response.json)


def test_vcapi_verify_a_bad_credential_is_422_with_the_report(client, tampered):
    response = client.post("/credentials/verify", json={"verifiableCredential": tampered})
    body = assert_problem(response, 422)
    assert body["code"] == "invalid_signature"
    assert body["verified"] is False
    assert check_of(body, "proof")["code"] == "invalid_signature"
    assert "proof" in body["detail"]


def test_vcapi_verify_without_a_credential_is_400(client):
    body = assert_problem(client.post("/credentials/verify", json={"options": {}}), 400)
    assert "verifiableCredential" in body["errors"]
    body = assert_problem(client.post("/credentials/verify", json={"verifiableCredential": {}, "options": "x"}), 400)
    assert "options" in body["errors"]
    assert_problem(client.post("/credentials/verify", data="{}", content_type="text/plain"), 415)


@pytest.mark.parametrize("form", ["json text", "array", "number", "boolean"])
def test_vcapi_verify_a_credential_that_is_not_an_object_is_400(client, issued, form):
    # The W3C eddsa suite sends a good credential as a JSON string: it is not a credential.
    value = {"json text": json.dumps(issued), "array": [issued], "number": 1, "boolean": True}[form]
    body = assert_problem(client.post("/credentials/verify", json={"verifiableCredential": value}), 400)
    assert body["code"] == "validation_failed"
    assert body["errors"] == {"verifiableCredential": ["Must be a JSON object or a compact JWT."]}
    # The same text is still read by the general route, which takes every form.
    assert client.post("/api/v1/verify", json={"credential": json.dumps(issued)}).json["verified"] is True


def test_vcapi_verify_still_reads_a_compact_jwt(client):
    # Not a credential of ours, but read as a JWT: the answer is a report, not a request problem.
    response = client.post("/credentials/verify", json={"verifiableCredential": "eyJhbGciOiJub25lIn0.e30."})
    assert response.status_code == 422
    assert response.json["verified"] is False and response.json["checks"]


# --- W3C VC API: POST /presentations/verify ---------------------------------------------------

CHALLENGE, DOMAIN = "c0ae1c8e-c7e7-469f-b252-86e6a0e7387e", "verifier.example"


@pytest.fixture
def holder():
    return DidKey()


def presentation(holder: DidKey, *credentials, holder_id: str | None = None) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder_id or holder.did,
        "verifiableCredential": list(credentials),
    }


def signed_presentation(holder: DidKey, *credentials, **kwargs) -> dict:
    return sign_with_options(presentation(holder, *credentials, **kwargs), holder, proof_purpose="authentication",
                             challenge=CHALLENGE, domain=DOMAIN)


def verify_presentation(client, vp, **options):
    return client.post("/presentations/verify", json={"verifiablePresentation": vp, "options": options})


def test_presentation_with_the_right_challenge_and_domain(client, holder, issued):
    response = verify_presentation(client, signed_presentation(holder, issued), challenge=CHALLENGE, domain=DOMAIN)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["verified"] is True
    assert [(c["check"], c["status"]) for c in body["presentation"]["checks"]] == [
        ("format", "passed"), ("holder", "passed"), ("proof", "passed")]
    assert len(body["credentials"]) == 1
    assert_verified(body["credentials"][0])


def test_presentation_signed_with_add_proof_without_options(client, holder, issued):
    vp = sign(presentation(holder, issued), holder, proof_purpose="authentication")
    assert verify_presentation(client, vp).status_code == 200
    # The verifier asked for a challenge the proof does not carry.
    body = assert_problem(verify_presentation(client, vp, challenge=CHALLENGE), 422)
    assert check_of(body["presentation"], "proof")["code"] == "challenge_mismatch"


def test_presentation_with_a_wrong_challenge(client, holder, issued):
    body = assert_problem(verify_presentation(client, signed_presentation(holder, issued), challenge="other",
                                              domain=DOMAIN), 422)
    assert body["verified"] is False
    assert check_of(body["presentation"], "proof")["code"] == "challenge_mismatch"


def test_presentation_with_a_wrong_domain(client, holder, issued):
    body = assert_problem(verify_presentation(client, signed_presentation(holder, issued), challenge=CHALLENGE,
                                              domain="evil.example"), 422)
    assert check_of(body["presentation"], "proof")["code"] == "domain_mismatch"


def test_presentation_whose_challenge_was_changed_after_signing(client, holder, issued):
    vp = signed_presentation(holder, issued)
    vp["proof"]["challenge"] = "replayed"
    body = assert_problem(verify_presentation(client, vp, challenge="replayed", domain=DOMAIN), 422)
    assert check_of(body["presentation"], "proof")["code"] == "invalid_signature"


def test_presentation_by_someone_who_is_not_the_holder(client, holder, issued):
    vp = signed_presentation(holder, issued, holder_id=DidKey().did)
    body = assert_problem(verify_presentation(client, vp, challenge=CHALLENGE, domain=DOMAIN), 422)
    assert check_of(body["presentation"], "holder")["code"] == "holder_key_mismatch"


def test_presentation_with_a_tampered_credential(client, api, achievement, holder, issued):
    second = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body("attempt-2")).json["credential"]
    second["credentialSubject"]["achievement"]["name"] = "Rocket Science"
    vp = signed_presentation(holder, issued, second)
    body = assert_problem(verify_presentation(client, vp, challenge=CHALLENGE, domain=DOMAIN), 422)
    # The presentation itself is fine; the second credential is not.
    assert all(c["status"] == "passed" for c in body["presentation"]["checks"])
    first, second = body["credentials"]
    assert first["verified"] is True
    assert second["verified"] is False and check_of(second, "proof")["code"] == "invalid_signature"


def test_presentation_bad_requests(client, holder):
    assert_problem(client.post("/presentations/verify", json={"options": {}}), 400)
    assert_problem(client.post("/presentations/verify", json={"verifiablePresentation": [], "options": {}}), 400)
    body = assert_problem(verify_presentation(client, {"type": "VerifiablePresentation"}), 422)
    assert body["presentation"]["checks"][0]["code"] == "not_a_presentation"


# --- the /verify page -------------------------------------------------------------------------

def test_the_page_has_a_form_and_no_script(client):
    response = client.get("/verify")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    form = re.search(r"<form[^>]*>", page).group(0)
    assert 'method="post"' in form and 'enctype="multipart/form-data"' in form
    assert "<script" not in page.lower()
    for field in ('name="credential"', 'name="file"', 'name="url"'):
        assert field in page


def rows(page: str) -> dict:
    return dict(re.findall(r'<tr data-check="([a-z]+)" data-status="([a-z]+)">', page))


def test_the_page_verifies_a_pasted_credential(client, issued):
    response = client.post("/verify", data={"credential": json.dumps(issued)})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This credential is verified." in page and "NOT verified" not in page
    assert list(rows(page)) == CHECKS
    assert rows(page)["proof"] == "passed"
    assert "Python Basics" in page and "Acme Academy" in page


def test_the_page_verifies_an_uploaded_badge(client, issued):
    response = client.post("/verify", data={"file": (BytesIO(bake_png(png(), json.dumps(issued))), "badge.png", "image/png")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert "This credential is verified." in response.get_data(as_text=True)


def test_the_page_with_garbage(client):
    response = client.post("/verify", data={"credential": "this is not a credential <b>"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "NOT verified" in page
    assert rows(page) == {"format": "failed"}
    assert "<b>" not in page.split("<main>")[1]  # the input is escaped, never markup


def test_the_page_with_a_tampered_credential(client, tampered):
    page = client.post("/verify", data={"credential": json.dumps(tampered)}).get_data(as_text=True)
    assert "NOT verified" in page and rows(page)["proof"] == "failed" and "invalid_signature" in page


def test_the_page_with_an_empty_form(client):
    response = client.post("/verify", data={"credential": "  ", "url": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page and "Paste a credential" in page


def test_check_summaries_match_between_the_api_and_the_page(client, tampered):
    api_checks = summary(client.post("/api/v1/verify", json={"credential": tampered}).json)
    page = client.post("/verify", data={"credential": json.dumps(tampered)}).get_data(as_text=True)
    assert [(name, status) for name, status, _ in api_checks] == list(rows(page).items())
