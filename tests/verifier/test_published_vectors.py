"""The published signed documents (W3C eddsa-rdfc-2022, ecdsa-rdfc-2019 and ecdsa-jcs-2019 over
P-256 and P-384, eddsa-jcs-2022, Ed25519Signature2020, and the Open Badges 3.0 example) through
the whole Verifier.

In the W3C vectors the issuer (https://vc.example/issuers/5678, or another did:key) is not the
controller of the did:key that signed, so the report must say: the signature is valid, and it is
not the issuer's key. The OB vector's key is the issuer's, at an https URL no DID resolver can
follow; given its controller document, it verifies."""

from __future__ import annotations

import copy
import json

import pytest

from tests.verifier.support import FIXTURES, check_of, library_verifier, loader_with_examples, summary
from verifier import Verifier
from verifier.resolvers import Resolver

VECTORS = sorted(path.name for path in (FIXTURES / "vectors").glob("*.json"))
W3C = [name for name in VECTORS if name.startswith("w3c-")]


def load(name: str) -> dict:
    return json.loads((FIXTURES / "vectors" / name).read_text(encoding="utf-8"))


def secured(vector: dict) -> dict:
    return {**copy.deepcopy(vector["unsigned_document"]), "proof": copy.deepcopy(vector["expected"]["proof"])}


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return library_verifier(document_loader=loader_with_examples())


def test_every_suite_is_here():
    suites = {(load(n)["expected"]["proof"].get("cryptosuite") or load(n)["expected"]["proof"]["type"]) for n in VECTORS}
    assert suites >= {"eddsa-rdfc-2022", "ecdsa-rdfc-2019", "eddsa-jcs-2022", "ecdsa-jcs-2019", "Ed25519Signature2020"}
    assert any("p384" in n for n in VECTORS) and any("p256" in n for n in VECTORS)


@pytest.mark.parametrize("name", W3C)
def test_w3c_vector_has_a_valid_signature_by_someone_not_the_issuer(verifier, name):
    vector = load(name)
    data = verifier.verify_credential(secured(vector)).to_dict()
    proof, issuer = check_of(data, "proof"), check_of(data, "issuer")
    assert proof["status"] == "passed", data["checks"]
    assert (issuer["status"], issuer["code"]) == ("failed", "issuer_key_mismatch"), data["checks"]
    signer = vector["expected"]["proof"]["verificationMethod"].split("#")[0]
    assert signer in issuer["message"]
    assert data["verified"] is False
    # Everything else about the document is in order.
    assert {c["check"]: c["status"] for c in data["checks"]} == {
        "format": "passed", "context": "passed", "schema": "skipped", "issuer": "failed", "proof": "passed",
        "validity": "passed", "status": "skipped", "trust": "skipped",
    }


@pytest.mark.parametrize("name", W3C)
def test_w3c_vector_tampered_fails_the_signature(verifier, name):
    document = secured(load(name))
    subject = document["credentialSubject"]
    key = next(k for k in subject if k not in ("id", "type"))
    subject[key] = "tampered" if isinstance(subject[key], str) else {"id": "https://tampered.example/"}
    data = verifier.verify_credential(document).to_dict()
    assert (check_of(data, "proof")["status"], check_of(data, "proof").get("code")) == ("failed", "invalid_signature")


@pytest.mark.parametrize("name", W3C)
def test_w3c_vector_with_the_bundled_contexts_alone(name):
    # The examples context is bundled (the W3C suites use it); the citizenship one is not.
    data = library_verifier().verify_credential(secured(load(name))).to_dict()
    context = check_of(data, "context")
    if "https://w3id.org/citizenship/v4rc1" in load(name)["unsigned_document"]["@context"]:
        assert (context["status"], context["code"]) == ("failed", "unknown_context")
    else:
        assert context["status"] == "passed", data["checks"]
        assert check_of(data, "proof")["status"] == "passed", data["checks"]
    assert data["verified"] is False  # the signer is never the issuer in these vectors


def test_open_badges_vector_is_unresolvable_without_its_controller_document():
    # Offline: a resolver with no fetcher cannot read the issuer's https controller document.
    base = library_verifier()
    verifier = Verifier(base.document_loader, Resolver(), base.clock, base.policy, base.fetcher)
    data = verifier.verify_credential(secured(load("ob-eddsa-rdfc-2022.json"))).to_dict()
    issuer = check_of(data, "issuer")
    assert (issuer["status"], issuer["code"]) == ("failed", "unresolvable_key")
    assert check_of(data, "proof")["status"] == "skipped"
    assert check_of(data, "schema")["status"] == "passed"
    assert data["verified"] is False


def test_open_badges_vector_verifies_with_its_controller_document():
    vector = load("ob-eddsa-rdfc-2022.json")
    method = vector["expected"]["proof"]["verificationMethod"]
    controller = method.split("#")[0]
    document = {"id": controller, "assertionMethod": [method], "verificationMethod": [
        {"id": method, "type": "Multikey", "controller": controller, "publicKeyMultibase": vector["key"]["public_key_multibase"]},
    ]}
    base = library_verifier()
    published = {controller: document}  # what the issuer's site serves at its https URL
    verifier = Verifier(base.document_loader, Resolver(published.__getitem__), base.clock, base.policy, base.fetcher)
    report = verifier.verify_credential(secured(vector))
    assert report.verified, report.to_dict()
    assert summary(report) == [("format", "passed", None), ("context", "passed", None), ("schema", "passed", None),
                               ("issuer", "passed", None), ("proof", "passed", None), ("validity", "passed", None),
                               ("status", "skipped", None), ("trust", "skipped", None)]
    assert report.to_dict()["credential"]["issuer"]["id"] == controller
