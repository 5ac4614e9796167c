"""Key rotation through HTTP: new credentials use the new key, old ones keep verifying."""

import base64
import json

from sqlalchemy import select

from issuer.models import Issuer, SigningKey
from tests.conftest import ISSUER, make_token, result_body
from verifier import Verifier
from verifier.resolvers import Resolver

ACME_DID = "did:web:badges.test:issuers:acme"


def pass_result(api, achievement, external_id):
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id))
    assert response.status_code == 201, response.json
    return response.json


def verified(credential, document_loader, resolver, clock, documents):
    """Verified as a verifier elsewhere would: `documents` reads our status lists."""
    report = Verifier(document_loader, resolver, clock, local_documents=documents).verify_credential(credential)
    return report.verified, report.to_dict()


def keys_of(services, slug):
    with services.sessionmaker() as session:
        issuer = session.scalar(select(Issuer).where(Issuer.slug == slug))
        return list(session.scalars(select(SigningKey).where(SigningKey.issuer_id == issuer.id)
                                    .order_by(SigningKey.sequence)))


def test_rotation_keeps_old_credentials_verifying(public_documents, api, client, issuer, achievement, services, own_resolver,
                                                  document_loader, clock):
    first = pass_result(api, achievement, "before-rotation")
    assert first["credential"]["proof"]["verificationMethod"] == f"{ACME_DID}#key-1"

    clock.advance(days=1)
    rotated = api.post("/api/v1/issuers/acme/keys/rotate")

    assert rotated.status_code == 200, rotated.json
    assert rotated.json["id"] == ACME_DID
    listed = rotated.json["keys"]
    assert [k["verification_method"] for k in listed] == [f"{ACME_DID}#key-1", f"{ACME_DID}#key-2"]
    assert [k["active"] for k in listed] == [False, True]
    assert listed[0]["retired_at"] is not None and listed[1]["retired_at"] is None
    assert listed[0]["public_key_multibase"] != listed[1]["public_key_multibase"]
    assert api.get("/api/v1/issuers/acme").json["keys"] == listed

    second = pass_result(api, achievement, "after-rotation")
    assert second["credential"]["proof"]["verificationMethod"] == f"{ACME_DID}#key-2"

    did_document = client.get("/issuers/acme/did.json").json
    assert [m["id"] for m in did_document["verificationMethod"]] == [f"{ACME_DID}#key-1", f"{ACME_DID}#key-2"]
    assert did_document["assertionMethod"] == [f"{ACME_DID}#key-1", f"{ACME_DID}#key-2"]
    assert [m["publicKeyMultibase"] for m in did_document["verificationMethod"]] == [
        k["public_key_multibase"] for k in listed
    ]

    for answer in (first, second):
        public = client.get(f"/credentials/{answer['credential_id']}", headers={"Accept": "application/ld+json"}).json
        assert public == answer["credential"]
        ok, report = verified(public, document_loader, own_resolver, clock, public_documents)
        assert ok, report


def test_rotating_twice(public_documents, api, client, issuer, achievement, services, own_resolver, document_loader, clock):
    credentials = [pass_result(api, achievement, "r-0")["credential"]]
    for n in (1, 2):
        assert api.post("/api/v1/issuers/acme/keys/rotate").status_code == 200
        credentials.append(pass_result(api, achievement, f"r-{n}")["credential"])
    assert [c["proof"]["verificationMethod"] for c in credentials] == [f"{ACME_DID}#key-{n}" for n in (1, 2, 3)]
    keys = keys_of(services, "acme")
    assert [k.sequence for k in keys] == [1, 2, 3]
    assert [k.retired_at is None for k in keys] == [False, False, True]
    assert client.get("/issuers/acme/did.json").json["assertionMethod"] == [f"{ACME_DID}#key-{n}" for n in (1, 2, 3)]
    for credential in credentials:
        ok, report = verified(credential, document_loader, own_resolver, clock, public_documents)
        assert ok, report


def test_vc_api_signs_with_the_new_key_after_rotation(public_documents, api, issuer, own_resolver, document_loader, clock):
    assert api.post("/api/v1/issuers/acme/keys/rotate").status_code == 200
    response = api.post("/credentials/issue", json={"credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
        "issuer": ACME_DID, "credentialSubject": {"id": "did:example:subject"}}})
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["proof"]["verificationMethod"] == f"{ACME_DID}#key-2"
    ok, report = verified(signed, document_loader, own_resolver, clock, public_documents)
    assert ok, report


def test_did_key_issuer_cannot_rotate(public_documents, api, services, document_loader, clock):
    created = api.post("/api/v1/issuers", json={**ISSUER, "slug": "offline", "did_method": "key"})
    assert created.status_code == 201, created.json
    before = keys_of(services, "offline")

    response = api.post("/api/v1/issuers/offline/keys/rotate")

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "key_rotation_unsupported"
    assert response.json["detail"]
    after = keys_of(services, "offline")
    assert [(k.id, k.verification_method, k.retired_at) for k in after] == [
        (k.id, k.verification_method, k.retired_at) for k in before
    ]
    assert len(after) == 1 and after[0].retired_at is None
    view = api.get("/api/v1/issuers/offline").json
    assert view["id"] == created.json["id"] and view["keys"] == created.json["keys"]

    # It still signs, with the same key, and verifies offline.
    achievement = api.post("/api/v1/issuers/offline/achievements", json={
        "name": "N", "description": "D", "criteria": {"narrative": "C"}, "passing_score": 50, "max_score": 100})
    credential = pass_result(api, achievement.json, "k-1")["credential"]
    assert credential["proof"]["verificationMethod"] == after[0].verification_method
    ok, report = verified(credential, document_loader, Resolver(), clock, public_documents)
    assert ok, report


def test_rotation_needs_a_token_for_that_issuer(api, issuer, services):
    api.post("/api/v1/issuers", json={**ISSUER, "slug": "other", "url": "https://other.example"})
    assert api.as_token(None).post("/api/v1/issuers/acme/keys/rotate").status_code == 401
    assert api.as_token(make_token(services, "other")).post("/api/v1/issuers/acme/keys/rotate").status_code == 403
    assert api.post("/api/v1/issuers/nope/keys/rotate").status_code == 404
    assert len(keys_of(services, "acme")) == 1
    scoped = api.as_token(make_token(services, "acme")).post("/api/v1/issuers/acme/keys/rotate")
    assert scoped.status_code == 200, scoped.json
    assert len(keys_of(services, "acme")) == 2


def secret_forms(services) -> list[str]:
    """Every sealed private key, and its seed, in the encodings a leak could take."""
    forms = []
    with services.sessionmaker() as session:
        for key in session.scalars(select(SigningKey)):
            for raw in (key.sealed_private_key,
                        services.key_encryption_key.open(key.sealed_private_key, key_id=key.id)):
                forms += [raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]
    return forms


def test_no_response_shows_private_key_material(api, client, issuer, achievement, services):
    api.post("/api/v1/issuers", json={**ISSUER, "slug": "offline", "did_method": "key"})
    answer = pass_result(api, achievement, "leak-1")
    responses = [
        api.post("/api/v1/issuers/acme/keys/rotate"),
        api.get("/api/v1/issuers/acme"),
        api.get("/api/v1/issuers/offline"),
        api.get(f"/api/v1/credentials/{answer['credential_id']}"),
        api.get("/api/v1/credentials"),
        client.get("/issuers/acme/did.json"),
        client.get("/issuers/acme"),
        client.get("/issuers/offline"),
        client.get(f"/credentials/{answer['credential_id']}", headers={"Accept": "application/ld+json"}),
    ]
    texts = [json.dumps(answer)]
    for response in responses:
        assert response.status_code == 200, (response.request.path, response.json)
        texts.append(json.dumps(response.json))
    forms = secret_forms(services)
    assert len(forms) == 6 * 3  # acme key-1, key-2 and the did:key issuer's key
    for text in texts:
        assert "private" not in text.lower() and "sealed" not in text.lower(), text
        for form in forms:
            assert form not in text


def test_concurrent_rotations_never_answer_500(app, issuer, services):
    """Each answer is a rotation (200) or a clear conflict (409); the keys stay consistent."""
    import threading

    from sqlalchemy import select

    from issuer.models import SigningKey
    from tests.conftest import make_token

    token = make_token(services)
    statuses, start = [], threading.Barrier(6)

    def rotate():
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/issuers/acme/keys/rotate", headers={"Authorization": f"Bearer {token}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=rotate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {200, 409}, statuses
    with services.sessionmaker() as session:
        keys = list(session.scalars(select(SigningKey).where(SigningKey.issuer_id == issuer_id(session))))
    assert len(keys) == 1 + statuses.count(200)
    assert sum(1 for key in keys if key.retired_at is None) == 1
    assert sorted(key.sequence for key in keys) == list(range(1, len(keys) + 1))


def issuer_id(session):
    from sqlalchemy import select

    from issuer.models import Issuer

    return session.scalar(select(Issuer.id).where(Issuer.slug == "acme"))
