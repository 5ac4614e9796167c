"""Changing, adding or removing anything in an issued credential breaks its proof."""

import copy

import pytest

from dataintegrity import ed25519_public_key_from_multibase, verify_proof
from tests.conftest import result_body
from verifier import verify_credential


def leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            if path == () and key == "proof":
                continue
            yield from leaf_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaf_paths(child, (*path, index))
    else:
        yield path


def changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, str) and value.startswith("https://"):
        return value.replace("https://", "https://evil.", 1)
    return f"{value}1"


def set_path(document, path, transform):
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = transform(target[path[-1]])


@pytest.fixture
def issued(api, achievement, client):
    body = result_body(evidence=[{"id": "https://lms.example/attempts/1", "name": "Attempt", "narrative": "Proctored"}])
    credential = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=body).json["credential"]
    did_document = client.get("/issuers/acme/did.json").json
    public_key = ed25519_public_key_from_multibase(did_document["verificationMethod"][0]["publicKeyMultibase"])
    return credential, public_key


def test_every_field_is_covered(issued, document_loader, own_resolver, clock):
    credential, public_key = issued
    assert verify_proof(credential, credential["proof"], public_key=public_key, document_loader=document_loader)
    paths = list(leaf_paths(credential))
    assert len(paths) > 40  # the whole document, not a sample
    for path in paths:
        tampered = copy.deepcopy(credential)
        set_path(tampered, path, changed)
        result = verify_proof(tampered, tampered["proof"], public_key=public_key, document_loader=document_loader)
        assert not result, f"changing {path} left the proof valid"
        report = verify_credential(tampered, document_loader=document_loader, resolver=own_resolver, now=clock())
        assert not report.verified, f"changing {path} still verified"


@pytest.mark.parametrize("edit", [
    lambda c: c.update(description="An added claim"),
    lambda c: c["credentialSubject"].pop("result"),
    lambda c: c.pop("validUntil"),
    lambda c: c["credentialSubject"]["achievement"]["tag"].append("admin"),
    lambda c: c.update(validUntil="2099-01-01T00:00:00Z"),
])
def test_added_or_removed_fields_break_the_proof(issued, document_loader, edit):
    credential, public_key = issued
    tampered = copy.deepcopy(credential)
    edit(tampered)
    result = verify_proof(tampered, tampered["proof"], public_key=public_key, document_loader=document_loader)
    assert not result and result.code == "invalid_signature"


def test_proof_fields_are_covered(issued, document_loader):
    credential, public_key = issued
    for field, value in [("created", "2020-01-01T00:00:00Z"), ("proofPurpose", "authentication"),
                         ("verificationMethod", "did:web:badges.test:issuers:acme#key-2")]:
        tampered = copy.deepcopy(credential)
        tampered["proof"][field] = value
        assert not verify_proof(tampered, tampered["proof"], public_key=public_key, document_loader=document_loader), field
