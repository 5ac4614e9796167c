"""Proof sets (each proof over the document without any proof) and proof chains (previousProof), on the W3C
vc-di-eddsa proof set/chain vectors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dataintegrity import (
    EDDSA_RDFC_2022,
    add_proof,
    did_key_document,
    private_key_from_multibase,
    public_key_from_verification_method,
    verify_proof,
)

VECTOR = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "vectors" / "proof-sets" / "w3c-eddsa-rdfc-2022-proof-set-chain.json")
    .read_text(encoding="utf-8")
)


def _key_of(proof: dict):
    """Resolve the proof's did:key verification method as a verifier would."""
    document = did_key_document(proof["verificationMethod"].split("#")[0])
    [method] = [m for m in document["verificationMethod"] if m["id"] == proof["verificationMethod"]]
    return public_key_from_verification_method(method)


def _with_proofs(proofs) -> dict:
    return {**copy.deepcopy(VECTOR["unsigned_document"]), "proof": copy.deepcopy(proofs)}


def _signer(index: int, make_key_signer, proof: dict):
    private = private_key_from_multibase(VECTOR["keys"][index]["private_key_multibase"])
    return make_key_signer(private, proof["verificationMethod"])


def test_proof_set_is_reproduced_exactly(document_loader, make_key_signer):
    document = VECTOR["unsigned_document"]
    for index, proof in enumerate(VECTOR["proof_set"]):
        document = add_proof(
            document,
            signer=_signer(index, make_key_signer, proof),
            created=proof["created"],
            document_loader=document_loader,
            proof_purpose=proof["proofPurpose"],
            cryptosuite=EDDSA_RDFC_2022,
            proof_id=proof["id"],
        )
        if index == 0:
            assert document["proof"] == VECTOR["proof_set"][0]  # one proof is not a list
    assert document == _with_proofs(VECTOR["proof_set"])


@pytest.mark.parametrize("index", [0, 1])
def test_each_member_of_the_set_verifies(document_loader, index):
    document = _with_proofs(VECTOR["proof_set"])
    proof = document["proof"][index]
    assert verify_proof(document, proof, public_key=_key_of(proof), document_loader=document_loader)


def test_a_single_proof_verifies(document_loader):
    document = _with_proofs(VECTOR["proof_set"][0])
    assert verify_proof(document, document["proof"], public_key=_key_of(document["proof"]), document_loader=document_loader)


def test_members_keep_verifying_in_a_chain_document(document_loader):
    """The chain vector starts with the same set; those two proofs still cover the document alone."""
    document = _with_proofs(VECTOR["proof_chain"])
    for proof in document["proof"][:2]:
        assert verify_proof(document, proof, public_key=_key_of(proof), document_loader=document_loader)


@pytest.mark.parametrize("index", [2, 3])
def test_chained_proofs_verify(document_loader, index):
    """Each chained proof is by another key than the proofs it names (previousProof a list, then a string)."""
    document = _with_proofs(VECTOR["proof_chain"])
    proof = document["proof"][index]
    assert "previousProof" in proof
    result = verify_proof(document, proof, public_key=_key_of(proof), document_loader=document_loader)
    assert result.verified, result


def test_proof_chain_is_reproduced_exactly(document_loader, make_key_signer):
    document = _with_proofs(VECTOR["proof_set"])
    for index, proof in enumerate(VECTOR["proof_chain"][2:], start=2):  # keys are in the chain's order
        document = add_proof(
            document, signer=_signer(index, make_key_signer, proof), created=proof["created"],
            document_loader=document_loader, proof_purpose=proof["proofPurpose"], cryptosuite=EDDSA_RDFC_2022,
            proof_id=proof.get("id"), previous_proof=proof["previousProof"],
        )
    assert document == _with_proofs(VECTOR["proof_chain"])


def test_a_chained_proof_does_not_verify_over_the_document_alone(document_loader):
    document = _with_proofs(VECTOR["proof_chain"])
    proof = {key: value for key, value in document["proof"][3].items() if key != "previousProof"}
    result = verify_proof(document, proof, public_key=_key_of(proof), document_loader=document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")


@pytest.mark.parametrize("previous", ["urn:uuid:not-in-the-set", ["urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544", "urn:x"],
                                      [], 7])
def test_a_previous_proof_that_is_not_there_fails(document_loader, previous):
    document = _with_proofs(VECTOR["proof_chain"])
    proof = {**document["proof"][3], "previousProof": previous}
    result = verify_proof(document, proof, public_key=_key_of(proof), document_loader=document_loader)
    assert (result.verified, result.code) == (False, "previous_proof_missing")
    assert "previousProof" in result.message


def test_a_changed_previous_proof_breaks_the_chain(document_loader):
    document = _with_proofs(VECTOR["proof_chain"])
    document["proof"][2]["created"] = "2023-02-26T22:06:39Z"
    proof = document["proof"][3]
    result = verify_proof(document, proof, public_key=_key_of(proof), document_loader=document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")


def test_chaining_to_a_proof_that_is_not_there_is_refused_when_signing(document_loader, make_key_signer):
    proof = VECTOR["proof_chain"][3]
    with pytest.raises(ValueError, match="previousProof"):
        add_proof(_with_proofs(VECTOR["proof_set"]), signer=_signer(3, make_key_signer, proof), created=proof["created"],
                  document_loader=document_loader, previous_proof="urn:uuid:nowhere")


@pytest.mark.parametrize("index", [0, 1])
def test_tampering_breaks_every_member(document_loader, index):
    document = _with_proofs(VECTOR["proof_set"])
    document["credentialSubject"]["alumniOf"] = "Another School"
    proof = document["proof"][index]
    result = verify_proof(document, proof, public_key=_key_of(proof), document_loader=document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")


def test_a_member_does_not_verify_with_the_other_members_key(document_loader):
    document = _with_proofs(VECTOR["proof_set"])
    first, second = document["proof"]
    result = verify_proof(document, first, public_key=_key_of(second), document_loader=document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")
