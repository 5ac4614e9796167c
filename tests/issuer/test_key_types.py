"""Issuers choose their key type: Ed25519 (eddsa-rdfc-2022), P-256 or P-384 (ecdsa-rdfc-2019).

Each kind issues credentials and status lists that verify, publishes the right Multikey in its
DID document, rotates, and signs with the hash its curve requires.
"""

import copy

import pytest
from sqlalchemy import select

from dataintegrity import public_key_from_multibase
from dataintegrity.algorithms import key_algorithm
from issuer.models import SigningKey
from tests.conftest import ACHIEVEMENT, ISSUER, result_body
from tests.issuer.test_cli import dispose, instance, last_line  # noqa: F401  (instance is a fixture)

KINDS = {
    # key type -> (cryptosuite, Multikey prefix)
    "Ed25519": ("eddsa-rdfc-2022", "z6Mk"),
    "P-256": ("ecdsa-rdfc-2019", "zDn"),
    "P-384": ("ecdsa-rdfc-2019", "z82"),
}


def make_issuer(api, key_type, slug="acme", **extra):
    body = {**ISSUER, "slug": slug, **extra}
    if key_type is not None:
        body["key_type"] = key_type
    response = api.post("/api/v1/issuers", json=body)
    assert response.status_code == 201, response.json
    achievement = api.post(f"/api/v1/issuers/{slug}/achievements", json=ACHIEVEMENT)
    assert achievement.status_code == 201, achievement.json
    return response.json, achievement.json


def pass_result(api, achievement, external_id):
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id))
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize("key_type", list(KINDS))
def test_each_key_type_issues_verifiable_credentials(api, client, outside_verifier, key_type):
    suite, prefix = KINDS[key_type]
    issuer, achievement = make_issuer(api, key_type)
    assert issuer["key_type"] == key_type
    [key] = issuer["keys"]
    assert key["key_type"] == key_type and key["public_key_multibase"].startswith(prefix)

    answer = pass_result(api, achievement, "attempt-1")
    proof = answer["credential"]["proof"]
    assert proof["cryptosuite"] == suite and proof["verificationMethod"] == f"{issuer['id']}#key-1"

    did_document = client.get("/issuers/acme/did.json").json
    [method] = did_document["verificationMethod"]
    assert method["type"] == "Multikey" and method["publicKeyMultibase"] == key["public_key_multibase"]
    assert key_algorithm(public_key_from_multibase(method["publicKeyMultibase"])) == key_type

    report = outside_verifier.verify_credential(answer["credential"])
    assert report.verified, report.to_dict()
    # The status list it points at is signed by the same key, with the same suite.
    status_url = answer["credential"]["credentialStatus"][0]["statusListCredential"]
    status_list = client.get(status_url.removeprefix("https://badges.test")).json
    assert status_list["proof"]["cryptosuite"] == suite

    tampered = copy.deepcopy(answer["credential"])
    tampered["credentialSubject"]["result"][0]["value"] = "100"
    report = outside_verifier.verify_credential(tampered)
    assert not report.verified
    assert {c.code for c in report.checks if c.status == "failed"} == {"invalid_signature"}


def test_default_key_type_is_ed25519(api):
    issuer, _ = make_issuer(api, None)
    assert issuer["key_type"] == "Ed25519" and issuer["keys"][0]["public_key_multibase"].startswith("z6Mk")


def test_unknown_key_type_is_refused(api):
    response = api.post("/api/v1/issuers", json={**ISSUER, "key_type": "RSA"})
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed" and "key_type" in response.json["errors"]


@pytest.mark.parametrize("key_type", ["P-256", "P-384"])
def test_did_key_issuer_of_a_curve(api, outside_verifier, key_type):
    issuer, achievement = make_issuer(api, key_type, did_method="key")
    _, prefix = KINDS[key_type]
    assert issuer["id"].startswith(f"did:key:{prefix}")
    credential = pass_result(api, achievement, "attempt-1")["credential"]
    assert credential["proof"]["verificationMethod"] == f"{issuer['id']}#{issuer['id'].removeprefix('did:key:')}"
    report = outside_verifier.verify_credential(credential)
    assert report.verified, report.to_dict()


@pytest.mark.parametrize("key_type", list(KINDS))
def test_rotation_keeps_the_key_type(api, client, outside_verifier, clock, key_type):
    suite, prefix = KINDS[key_type]
    issuer, achievement = make_issuer(api, key_type)
    before = pass_result(api, achievement, "before")["credential"]
    clock.advance(days=1)
    rotated = api.post("/api/v1/issuers/acme/keys/rotate")
    assert rotated.status_code == 200, rotated.json
    assert [k["key_type"] for k in rotated.json["keys"]] == [key_type, key_type]
    assert all(k["public_key_multibase"].startswith(prefix) for k in rotated.json["keys"])
    after = pass_result(api, achievement, "after")["credential"]
    assert after["proof"]["verificationMethod"] == f"{issuer['id']}#key-2"
    assert after["proof"]["cryptosuite"] == suite
    methods = client.get("/issuers/acme/did.json").json["verificationMethod"]
    assert [m["publicKeyMultibase"] for m in methods] == [k["public_key_multibase"] for k in rotated.json["keys"]]
    for credential in (before, after):
        report = outside_verifier.verify_credential(credential)
        assert report.verified, report.to_dict()


@pytest.mark.parametrize("key_type", ["P-256", "P-384"])
def test_cli_issuer_create_and_rotate(instance, key_type):
    _, prefix = KINDS[key_type]
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example", "--key-type", key_type)
    result = instance.ok("keys", "rotate", "--issuer", "x")
    assert last_line(result.output) == "did:web:badges.test:issuers:x#key-2"
    keys = instance.query(select(SigningKey.key_type, SigningKey.public_key_multibase, SigningKey.retired_at)
                          .order_by(SigningKey.sequence))
    assert [k[0] for k in keys] == [key_type, key_type]
    assert all(k[1].startswith(prefix) for k in keys) and keys[0][2] is not None and keys[1][2] is None
    app = instance.app()
    try:
        document = app.test_client().get("/issuers/x/did.json").json
    finally:
        dispose(app)
    assert [m["publicKeyMultibase"] for m in document["verificationMethod"]] == [k[1] for k in keys]


def test_cli_refuses_an_unknown_key_type(instance):
    result = instance.fails("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example",
                            "--key-type", "RSA")
    assert "RSA" in result.output


@pytest.mark.parametrize("key_type", list(KINDS))
def test_vc_api_signs_with_the_issuers_key_type(api, outside_verifier, key_type):
    """POST /credentials/issue (what the W3C suites drive) signs with the issuer's kind of key."""
    issuer, _ = make_issuer(api, key_type)
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:8a6e1c9e-5f0c-4a55-9b59-4c7b1a0e2d11",
        "type": ["VerifiableCredential"],
        "issuer": issuer["id"],
        "credentialSubject": {"id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"},
    }
    response = api.post("/credentials/issue", json={"credential": credential})
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["proof"]["cryptosuite"] == KINDS[key_type][0]
    report = outside_verifier.verify_credential(signed)
    assert report.verified, report.to_dict()
