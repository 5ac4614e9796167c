"""The W3C VC API issuer, POST /credentials/issue: what other credential systems send us to sign."""

import base64
import copy

import pytest
from sqlalchemy import func, select

from issuer.models import Credential
from tests.issuer.problems import assert_problem, row_counts
from tests.conftest import ISSUER, make_token

VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
ACME_DID = "did:web:badges.test:issuers:acme"
SUBJECT_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def ob_credential(issuer=ACME_DID, **extra) -> dict:
    """An Open Badges 3.0 credential as another system would build it, without a proof."""
    return {
        "@context": [VC_V2, OB_V3],
        "id": "urn:uuid:8a6e1c9e-5f0c-4a55-9b59-4c7b1a0e2d11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer,
        "name": "Python Basics",
        "validFrom": "2026-11-25T10:00:00Z",
        "credentialSubject": {
            "id": SUBJECT_DID,
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://lms.example/achievements/python-basics",
                "type": ["Achievement"],
                "name": "Python Basics",
                "description": "Writes, runs and tests small Python programs.",
                "criteria": {"narrative": "Pass the exam."},
            },
        },
        **extra,
    }


def plain_v2_credential(**extra) -> dict:
    return {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "issuer": ACME_DID,
        "credentialSubject": {"id": SUBJECT_DID},
        **extra,
    }


def stored_credentials(services) -> int:
    with services.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(Credential))


def issue(api, credential, **body):
    return api.post("/credentials/issue", json={"credential": credential, **body})


def assert_verifies(api, credential):
    """Through the service's own VC API verifier, which reads our status lists from the database."""
    response = api.post("/credentials/verify", json={"verifiableCredential": credential})
    assert response.status_code == 200, response.json
    checks = {c["check"]: c["status"] for c in response.json["checks"]}
    assert checks["proof"] == "passed", response.json
    assert checks["status"] == ("passed" if "credentialStatus" in credential else "skipped"), response.json
    return response.json


def without_proof(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "proof"}


def without_proof_and_status(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in ("proof", "credentialStatus")}


def assert_our_status_entries(signed: dict) -> list[dict]:
    """The entries the results path gives: a BitstringStatusListEntry per purpose, on our lists."""
    status = signed["credentialStatus"]
    entries = status if isinstance(status, list) else [status]
    purposes = [e["statusPurpose"] for e in entries]
    # As the results path gives them: revocation, and suspension where the policy has it.
    assert purposes in (["revocation"], ["revocation", "suspension"])
    for entry in entries:
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["statusListCredential"].startswith("https://badges.test/status/")
        assert entry["id"] == f"{entry['statusListCredential']}#{entry['statusListIndex']}"
    return entries


@pytest.mark.parametrize("issuer_form", ["string", "object"])
def test_issues_vc2_credential_of_our_did_web_issuer(api, issuer, services, own_resolver, document_loader, clock,
                                                     issuer_form):
    issuer_value = ACME_DID if issuer_form == "string" else {"id": ACME_DID, "type": ["Profile"], "name": "Acme Academy"}
    sent = ob_credential(issuer=issuer_value)
    original = copy.deepcopy(sent)

    response = issue(api, sent, options={})

    assert response.status_code == 201, response.json
    assert list(response.json) == ["verifiableCredential"]
    signed = response.json["verifiableCredential"]
    assert without_proof_and_status(signed) == original
    assert_our_status_entries(signed)
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] == f"{ACME_DID}#key-1"
    assert_verifies(api, signed)
    assert stored_credentials(services) == 1


def test_issues_credential_with_only_the_v2_context(api, issuer, own_resolver, document_loader, clock):
    sent = plain_v2_credential(validFrom="2026-11-25T10:00:00Z", validUntil="2027-11-25T10:00:00Z")
    response = issue(api, sent)  # no options member at all
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    # Given an id of ours (the credential had none) and our status entries; otherwise as sent.
    record_id = api.get("/api/v1/credentials").json["items"][0]["id"]
    assert signed["id"] == f"https://badges.test/credentials/{record_id}"
    assert list(signed)[:2] == ["@context", "id"]
    assert {k: v for k, v in without_proof_and_status(signed).items() if k != "id"} == sent
    assert_our_status_entries(signed)
    assert_verifies(api, signed)


def test_signed_credential_is_stored_with_its_validity(api, issuer, services):
    sent = ob_credential(validUntil="2027-11-25T10:00:00Z")
    response = issue(api, sent)
    assert response.status_code == 201, response.json
    with services.sessionmaker() as session:
        record = session.scalars(select(Credential)).one()
        assert record.document == response.json["verifiableCredential"]
        assert record.achievement_id is None and record.result_id is None
        assert record.valid_from.isoformat() == "2026-11-25T10:00:00+00:00"
        assert record.valid_until.isoformat() == "2027-11-25T10:00:00+00:00"


def listed_validity(api) -> list[tuple]:
    items = api.get("/api/v1/credentials").json["items"]
    return [(item["valid_from"], item["valid_until"]) for item in items]


def test_listed_validity_follows_the_credential(api, issuer):
    response = issue(api, ob_credential(validFrom="2026-11-25T10:00:00+02:00", validUntil="2027-11-25T10:00:00.5Z"))
    assert response.status_code == 201, response.json
    assert listed_validity(api) == [("2026-11-25T08:00:00+00:00", "2027-11-25T10:00:00.500000+00:00")]


def test_end_of_day_midnight_is_kept_as_the_next_day(api, issuer):
    """XML Schema allows 24:00:00 (the end of the day); the stored validity must not drop it."""
    response = issue(api, ob_credential(validFrom="2026-11-24T24:00:00Z", validUntil="2027-11-25T24:00:00+01:00"))
    assert response.status_code == 201, response.json
    assert listed_validity(api) == [("2026-11-25T00:00:00+00:00", "2027-11-25T23:00:00+00:00")]


def test_vc11_credential_gets_the_data_integrity_context(api, issuer, own_resolver, document_loader, clock):
    sent = {
        "@context": [VC_V1],
        "id": "urn:uuid:2f0f7e55-0fd1-4b43-a0a2-6b1d7a0c0f60",
        "type": ["VerifiableCredential"],
        "issuer": ACME_DID,
        "issuanceDate": "2026-11-25T10:00:00Z",
        "credentialSubject": {"id": SUBJECT_DID},
    }
    response = issue(api, sent)
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["@context"] == [VC_V1, DATA_INTEGRITY_V2]
    assert without_proof(signed) == {**sent, "@context": [VC_V1, DATA_INTEGRITY_V2]}
    assert signed["proof"]["type"] == "DataIntegrityProof"
    assert_verifies(api, signed)


def test_vc11_credential_with_string_context(api, issuer, own_resolver, document_loader, clock):
    sent = {"@context": VC_V1, "type": "VerifiableCredential", "issuer": {"id": ACME_DID},
            "issuanceDate": "2026-11-25T10:00:00Z", "credentialSubject": {"id": SUBJECT_DID}}
    response = issue(api, sent)
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["@context"] == [VC_V1, DATA_INTEGRITY_V2]
    assert_verifies(api, signed)


def test_vc11_credential_that_already_has_the_data_integrity_context(api, issuer, own_resolver, document_loader,
                                                                     clock):
    sent = {"@context": [VC_V1, DATA_INTEGRITY_V2], "type": ["VerifiableCredential"], "issuer": ACME_DID,
            "issuanceDate": "2026-11-25T10:00:00Z", "credentialSubject": {"id": SUBJECT_DID}}
    response = issue(api, sent)
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["@context"] == [VC_V1, DATA_INTEGRITY_V2]
    assert_verifies(api, signed)


def test_did_key_issuer_verifies_offline(api, services, document_loader, clock):
    created = api.post("/api/v1/issuers", json={**ISSUER, "slug": "offline", "did_method": "key"})
    assert created.status_code == 201, created.json
    did = created.json["id"]
    assert did.startswith("did:key:z6Mk")

    response = issue(api, ob_credential(issuer=did))

    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["issuer"] == did
    assert signed["proof"]["verificationMethod"] == f"{did}#{did.removeprefix('did:key:')}"
    assert_verifies(api, signed)


def test_issuer_scoped_token_signs_for_its_own_issuer(api, issuer, services, own_resolver,
                                                      document_loader, clock):
    response = issue(api.as_token(make_token(services, "acme")), ob_credential())
    assert response.status_code == 201, response.json
    assert_verifies(api, response.json["verifiableCredential"])


# --- rejections: problem+json, fields named, nothing stored ---------------------------------------


def assert_problem(response, status: int, code: str | None = None):
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    if code is not None:
        assert body["code"] == code, body
        assert body["type"].endswith(code)
    return body


def test_issuer_that_is_not_ours(api, issuer, services):
    response = issue(api, ob_credential(issuer="did:web:elsewhere.example"))
    body = assert_problem(response, 422, "unknown_issuer")
    assert "did:web:elsewhere.example" in body["detail"]
    assert stored_credentials(services) == 0


def test_issuer_object_that_is_not_ours(api, issuer, services):
    response = issue(api, ob_credential(issuer={"id": "https://acme.example", "type": ["Profile"]}))
    assert_problem(response, 422, "unknown_issuer")
    assert stored_credentials(services) == 0


def test_token_scoped_to_another_issuer(api, issuer, services):
    other = api.post("/api/v1/issuers", json={**ISSUER, "slug": "other", "url": "https://other.example"})
    assert other.status_code == 201, other.json
    response = issue(api.as_token(make_token(services, "other")), ob_credential())
    assert_problem(response, 403, "token_scope")
    assert stored_credentials(services) == 0


def test_no_token(api, issuer, services):
    response = issue(api.as_token(None), ob_credential())
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored_credentials(services) == 0


def test_unknown_token(api, issuer, services):
    response = issue(api.as_token("bdg_not-a-token"), ob_credential())
    assert_problem(response, 401)
    assert stored_credentials(services) == 0


def test_unknown_context_url(api, issuer, services):
    unknown = "https://contexts.example/unknown/v1"
    sent = plain_v2_credential()
    sent["@context"] = [VC_V2, unknown]
    response = issue(api, sent)
    body = assert_problem(response, 422, "unknown_context")
    assert unknown in body["detail"]
    assert stored_credentials(services) == 0


def test_undefined_term(api, issuer, services):
    sent = plain_v2_credential(credentialSubject={"favouriteColour": "blue"})
    response = issue(api, sent)
    body = assert_problem(response, 422, "undefined_term")
    assert "favouriteColour" in body["detail"]
    assert stored_credentials(services) == 0


def test_undefined_type(api, issuer, services):
    sent = plain_v2_credential(type=["VerifiableCredential", "NoSuchCredential"])
    response = issue(api, sent)
    body = assert_problem(response, 422, "undefined_term")
    assert "NoSuchCredential" in body["detail"]
    assert stored_credentials(services) == 0


def validation_errors(response) -> dict:
    body = assert_problem(response, 422, "validation_failed")
    assert isinstance(body["errors"], dict) and body["errors"]
    return body["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c.update(id="not a url"), "credential.id"),
        (lambda c: c.update(id="relative/path"), "credential.id"),
        (lambda c: c.pop("issuer"), "credential.issuer"),
        (lambda c: c.update(issuer={"name": "Acme"}), "credential.issuer.id"),
        (lambda c: c.update(issuer="acme"), "credential.issuer"),
        (lambda c: c.update(type=["OpenBadgeCredential"]), "credential.type"),
        (lambda c: c.pop("type"), "credential.type"),
        (lambda c: c.update({"@context": [OB_V3, VC_V2]}), "credential.@context[0]"),
        (lambda c: c.update({"@context": VC_V2}), "credential.@context"),
        (lambda c: c.pop("@context"), "credential.@context"),
        (lambda c: c.update(validFrom="2026-11-25"), "credential.validFrom"),
        (lambda c: c.update(validFrom="2026-11-25T10:00:00"), "credential.validFrom"),
        (lambda c: c.update(validFrom="yesterday"), "credential.validFrom"),
        (lambda c: c.update(validUntil="2020-01-01T00:00:00Z"), "credential.validUntil"),
        (lambda c: c.update(issuanceDate="2026-11-25T10:00:00Z"), "credential.issuanceDate"),
        (lambda c: c.update(credentialStatus={"id": "https://badges.test/status/1#5"}), "credential.credentialStatus.type"),
        (lambda c: c.update(credentialStatus=[{"type": "BitstringStatusListEntry"}, {"id": "https://badges.test/s#1"}]),
         "credential.credentialStatus[1].type"),
        (lambda c: c.pop("credentialSubject"), "credential.credentialSubject"),
        (lambda c: c.update(credentialSubject={}), "credential.credentialSubject"),
        (lambda c: c.update(proof={"type": "DataIntegrityProof"}), "credential.proof"),
    ],
    ids=["id-not-url", "id-relative", "no-issuer", "issuer-without-id", "issuer-not-url", "type-without-vc",
         "no-type", "first-context-not-vc", "v2-context-as-string", "no-context", "validFrom-date-only",
         "validFrom-no-zone", "validFrom-words", "validUntil-before-validFrom", "issuanceDate-in-v2",
         "status-without-type", "second-status-without-type", "no-subject", "empty-subject", "proof-present"],
)
def test_invalid_credential_is_rejected_naming_the_field(api, issuer, services, change, field):
    sent = ob_credential()
    change(sent)
    response = issue(api, sent)
    errors = validation_errors(response)
    assert field in errors, errors
    assert all(isinstance(m, str) and m for m in errors[field])
    assert stored_credentials(services) == 0


def test_every_broken_rule_is_named_at_once(api, issuer, services):
    sent = ob_credential(id="nope", validFrom="soon", type=["Badge"])
    errors = validation_errors(issue(api, sent))
    assert {"credential.id", "credential.validFrom", "credential.type"} <= set(errors)
    assert stored_credentials(services) == 0


def test_unknown_request_members(api, issuer, services):
    response = api.post("/credentials/issue", json={"credential": ob_credential(), "verifiableCredential": {},
                                                    "extra": 1})
    errors = validation_errors(response)
    assert {"verifiableCredential", "extra"} <= set(errors), errors
    assert stored_credentials(services) == 0


def test_unknown_option(api, issuer, services):
    response = issue(api, ob_credential(), options={"proofType": "Ed25519Signature2020"})
    errors = validation_errors(response)
    assert "options.proofType" in errors, errors
    assert stored_credentials(services) == 0


def test_missing_credential_member(api, issuer, services):
    response = api.post("/credentials/issue", json={"options": {}})
    errors = validation_errors(response)
    assert "credential" in errors, errors
    assert stored_credentials(services) == 0


@pytest.mark.parametrize("credential", [None, "a string", [], 42])
def test_credential_not_an_object(api, issuer, services, credential):
    response = api.post("/credentials/issue", json={"credential": credential})
    errors = validation_errors(response)
    assert "credential" in errors, errors
    assert stored_credentials(services) == 0


def test_body_not_json(api, issuer, services):
    response = api.post("/credentials/issue", data="credential=1",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415, "unsupported_media_type")
    response = api.post("/credentials/issue", data="{not json", headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "malformed_json")
    response = api.post("/credentials/issue", json=[ob_credential()])
    assert_problem(response, 400, "malformed_json")
    assert stored_credentials(services) == 0


def test_unknown_issuer_is_told_before_scope_and_nothing_leaks(api, issuer, services):
    """A scoped token asking for an issuer that does not exist learns only that it is not ours."""
    response = issue(api.as_token(make_token(services, "acme")), ob_credential(issuer="did:web:badges.test:issuers:nope"))
    assert_problem(response, 422, "unknown_issuer")
    assert stored_credentials(services) == 0


@pytest.mark.parametrize("options", [
    {"credentialStatus": {"type": "StatusList2021Entry"}},
    {"created": "2020-01-01T00:00:00Z"},
    {"proofId": "urn:uuid:1", "challenge": "abc"},
])
def test_options_we_do_not_implement_are_refused_not_ignored(api, issuer, services, options):
    before = row_counts(services)
    problem = assert_problem(issue(api, ob_credential(), options=options), 422, "option_not_supported")
    for name in options:
        assert name in problem["detail"]
    assert row_counts(services) == before


def test_a_caller_cannot_claim_one_of_our_credential_urls(api, issuer, services):
    before = row_counts(services)
    claimed = ob_credential(id="https://badges.test/credentials/5f0c0c0e-0000-4000-8000-000000000000")
    assert_problem(issue(api, claimed), 422, "reserved_id")
    assert row_counts(services) == before


# --- ids and status entries: a VC API credential is one of ours like any other ----------------------


def test_vc11_credential_gets_status_entries_when_asked(api, issuer):
    sent = {"@context": [VC_V1], "type": ["VerifiableCredential"], "issuer": ACME_DID,
            "issuanceDate": "2026-11-25T10:00:00Z", "credentialSubject": {"id": SUBJECT_DID}}
    response = issue(api, sent, options={"credentialStatus": {"type": "BitstringStatusListEntry"}})
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["@context"] == [VC_V1, DATA_INTEGRITY_V2, STATUS_V1]
    assert_our_status_entries(signed)
    assert_verifies(api, signed)


def test_asking_for_a_bitstring_status_entry_is_what_we_do_anyway(api, issuer):
    response = issue(api, plain_v2_credential(), options={"credentialStatus": {"type": "BitstringStatusListEntry"}})
    assert response.status_code == 201, response.json
    assert_our_status_entries(response.json["verifiableCredential"])


def test_an_assigned_id_is_dereferenceable(api, issuer):
    signed = issue(api, plain_v2_credential()).json["verifiableCredential"]
    served = api.client.get(signed["id"].removeprefix("https://badges.test"), headers={"Accept": "application/ld+json"})
    assert served.status_code == 200
    assert served.json == signed


def test_a_callers_id_is_kept(api, issuer):
    sent = plain_v2_credential(id="urn:uuid:5c2a4c53-3b7e-4e4b-a0ad-0e0b6a9b1f00")
    signed = issue(api, sent).json["verifiableCredential"]
    assert signed["id"] == sent["id"]


def test_vc_api_credential_is_listed_and_revoked_like_any_other(api, issuer, services):
    signed = issue(api, plain_v2_credential()).json["verifiableCredential"]
    listed = api.get("/api/v1/credentials").json["items"]
    assert [item["id"] for item in listed] == [signed["id"].rsplit("/", 1)[1]]
    assert listed[0]["status"] == "active"
    assert_verifies(api, signed)

    revoked = api.post(f"/api/v1/credentials/{listed[0]['id']}/revoke", json={"reason": "issued in error"})
    assert revoked.status_code == 200, revoked.json
    assert revoked.json["status"] == "revoked"
    # Every verifier reading our list now sees the revocation bit set.
    answer = api.post("/credentials/verify", json={"verifiableCredential": signed})
    assert answer.status_code == 422
    status = next(c for c in answer.json["checks"] if c["check"] == "status")
    assert (status["status"], status["code"]) == ("failed", "revoked")


def test_vc_api_credential_can_be_suspended_and_unsuspended(api, issuer, services):
    signed = issue(api, plain_v2_credential()).json["verifiableCredential"]
    credential_id = signed["id"].rsplit("/", 1)[1]
    if "suspension" not in services.status_list_policy.purposes:
        # No suspension entry, as for a result's credential under this policy.
        assert_problem(api.post(f"/api/v1/credentials/{credential_id}/suspend", json={"reason": "x"}),
                       409, "status_unsupported")
        return
    assert api.post(f"/api/v1/credentials/{credential_id}/suspend", json={"reason": "x"}).json["status"] == "suspended"
    answer = api.post("/credentials/verify", json={"verifiableCredential": signed})
    assert next(c for c in answer.json["checks"] if c["check"] == "status")["code"] == "suspended"
    assert api.post(f"/api/v1/credentials/{credential_id}/unsuspend", json={"reason": "x"}).json["status"] == "active"
    assert_verifies(api, signed)


def test_a_callers_own_status_entry_is_kept_and_adds_none_of_ours(api, issuer, services):
    own = {"id": "https://status.example/lists/3#94567", "type": "BitstringStatusListEntry",
           "statusPurpose": "revocation", "statusListIndex": "94567",
           "statusListCredential": "https://status.example/lists/3"}
    signed = issue(api, plain_v2_credential(credentialStatus=own)).json["verifiableCredential"]
    assert signed["credentialStatus"] == own
    credential_id = api.get("/api/v1/credentials").json["items"][0]["id"]
    # Its status lives on the caller's list: we have nothing to change, and say so.
    assert_problem(api.post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "x"}),
                   409, "status_unsupported")


def test_a_failed_signature_leaves_no_status_position_taken(api, issuer, services):
    before = row_counts(services)
    response = issue(api, plain_v2_credential(credentialSubject={"favouriteColour": "blue"}))
    assert_problem(response, 422, "undefined_term")
    assert row_counts(services) == before


def test_the_w3c_examples_context_is_known(api, issuer):
    # What the W3C suites send: the examples vocabulary defines every other term.
    sent = plain_v2_credential(credentialSubject={"id": SUBJECT_DID, "alumniOf": "The School of Examples"})
    sent["@context"] = [VC_V2, "https://www.w3.org/ns/credentials/examples/v2"]
    sent["type"] = ["VerifiableCredential", "AlumniCredential"]
    response = issue(api, sent)
    assert response.status_code == 201, response.json
    assert_verifies(api, response.json["verifiableCredential"])


# relatedResource digests of a context we hold are checked at issuance against its published versions.
# The SHA-256 of the VC 2.0 context printed in the Recommendation (2025-05-15), as an SRI expression:
CURRENT_V2_SRI = "sha256-" + base64.b64encode(bytes.fromhex(
    "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734")).decode()
# The W3C vc-data-model-2.0-test-suite's digests (tests/fixtures.js, commit 6e07524): those of the
# context as the Candidate Recommendation Snapshot of 2024-12-19 printed it, and its "wrong" one.
SUITE_SRI = "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"
SUITE_MULTIBASE = "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"
SUITE_WRONG_MULTIBASE = "uM4RgWQc3RUDtjJCSgTJtTfvpZ7SPEg_LNO0ESlovQC0"


def integrity_of(report: dict) -> tuple:
    [check] = [c for c in report["checks"] if c["check"] == "integrity"]
    return check["status"], check.get("code")


def test_a_related_context_with_its_current_digest_is_issued_and_verifies(api, issuer):
    related = {"id": VC_V2, "digestSRI": CURRENT_V2_SRI}
    response = issue(api, plain_v2_credential(relatedResource=related))
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["relatedResource"] == related
    assert integrity_of(assert_verifies(api, signed)) == ("passed", None)


@pytest.mark.parametrize("related", [{"digestSRI": SUITE_SRI}, {"digestMultibase": SUITE_MULTIBASE},
                                     {"digestSRI": SUITE_SRI, "mediaType": "application/ld+json"}])
def test_a_related_context_with_an_earlier_published_digest_is_issued_with_a_warning_on_verify(api, issuer, related):
    response = issue(api, plain_v2_credential(relatedResource=[{"id": VC_V2, **related}]))
    assert response.status_code == 201, response.json
    report = assert_verifies(api, response.json["verifiableCredential"])
    assert integrity_of(report) == ("warning", "related_resource_superseded")
    assert report["verified"] is True


@pytest.mark.parametrize("related", [
    {"digestMultibase": SUITE_WRONG_MULTIBASE},
    # each digest names a published version, but not the same one
    {"digestSRI": CURRENT_V2_SRI, "digestMultibase": SUITE_MULTIBASE},
])
def test_a_related_context_with_a_digest_of_no_published_version_is_refused(api, issuer, services, related):
    before = row_counts(services)
    response = issue(api, plain_v2_credential(relatedResource=[{"id": "https://example.org/r", "digestSRI": SUITE_SRI},
                                                               {"id": VC_V2, **related}]))
    body = assert_problem(response, 422, "digest_mismatch")
    assert list(body["errors"]) == ["credential.relatedResource[1]"]
    assert VC_V2 in body["detail"] and "59955ced6697d61e" in body["detail"]
    assert row_counts(services) == before  # nothing signed, no status position taken


def test_a_single_related_context_object_is_named_as_it_was_sent(api, issuer):
    response = issue(api, plain_v2_credential(relatedResource={"id": VC_V2, "digestMultibase": SUITE_WRONG_MULTIBASE}))
    body = assert_problem(response, 422, "digest_mismatch")
    assert list(body["errors"]) == ["credential.relatedResource"]


def test_a_related_resource_that_is_not_our_context_is_not_fetched_at_issuance(api, issuer):
    # We hold no copy of it: its digests are only checked for form here, and compared by verifiers.
    response = issue(api, plain_v2_credential(relatedResource={"id": "https://example.org/r",
                                                               "digestMultibase": SUITE_WRONG_MULTIBASE}))
    assert response.status_code == 201, response.json
