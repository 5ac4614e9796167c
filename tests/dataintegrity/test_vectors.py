"""Known-answer tests: the published eddsa-rdfc-2022 vectors (W3C alumni, W3C employment, Open Badges 3.0)."""

from __future__ import annotations

import copy
import hashlib

import pytest

from dataintegrity import (
    EDDSA_RDFC_2022,
    add_proof,
    canonicalize,
    decode_base58btc,
    ed25519_private_key_from_multibase,
    ed25519_public_key_from_multibase,
    encode_base58btc,
    hash_data,
    verify_proof,
)


def _proof_config(vector: dict) -> dict:
    """The vector's proof options as the proof configuration (the document's @context when they have none)."""
    config = copy.deepcopy(vector["proof_options"])
    config.setdefault("@context", vector["unsigned_document"]["@context"])
    return config


def _signer(vector: dict, make_signer):
    seed = ed25519_private_key_from_multibase(vector["key"]["private_key_multibase"])
    return make_signer(seed, vector["proof_options"]["verificationMethod"])


def _secured(vector: dict) -> dict:
    return {**vector["unsigned_document"], "proof": vector["expected"]["proof"]}


def _public_key(vector: dict) -> bytes:
    return ed25519_public_key_from_multibase(vector["key"]["public_key_multibase"])


def test_canonical_document(vector, document_loader):
    assert canonicalize(vector["unsigned_document"], document_loader=document_loader) == (
        vector["expected"]["canonical_document"]
    )


def test_canonical_proof_configuration(vector, document_loader):
    assert canonicalize(_proof_config(vector), document_loader=document_loader) == (
        vector["expected"]["canonical_proof_configuration"]
    )


def test_hashes(vector, document_loader):
    expected = vector["expected"]
    data = hash_data(vector["unsigned_document"], vector["proof_options"], document_loader=document_loader)
    assert data.hex() == expected["proof_configuration_hash_hex"] + expected["document_hash_hex"]
    assert hashlib.sha256(expected["canonical_document"].encode()).hexdigest() == expected["document_hash_hex"]


def test_key_pair_matches(vector, make_signer):
    assert _signer(vector, make_signer).public_key == _public_key(vector)


def test_add_proof_reproduces_signature(vector, document_loader, make_signer):
    expected = vector["expected"]
    original = copy.deepcopy(vector["unsigned_document"])
    secured = add_proof(
        vector["unsigned_document"],
        signer=_signer(vector, make_signer),
        created=vector["proof_options"]["created"],
        document_loader=document_loader,
        proof_purpose=vector["proof_options"]["proofPurpose"],
        cryptosuite=EDDSA_RDFC_2022,
    )
    assert vector["unsigned_document"] == original
    assert decode_base58btc(secured["proof"]["proofValue"]).hex() == expected["signature_hex"]
    assert secured["proof"]["proofValue"] == expected["proof_value"]
    assert encode_base58btc(bytes.fromhex(expected["signature_hex"])) == expected["proof_value"]
    assert secured == _secured(vector)


def test_verify_published_proof(vector, document_loader):
    secured = _secured(vector)
    result = verify_proof(secured, secured["proof"], public_key=_public_key(vector), document_loader=document_loader)
    assert result.verified and result and result.code is None


def _change_a_value(doc):
    doc["validFrom"] = "2099-01-01T00:00:00Z"


def _change_subject(doc):
    doc["credentialSubject"] = {**doc["credentialSubject"], "id": "did:example:someone-else"}


def _change_proof_created(doc):
    doc["proof"]["created"] = "2001-01-01T00:00:00Z"


def _change_proof_purpose(doc):
    doc["proof"]["proofPurpose"] = "authentication"


def _flip_signature_byte(doc):
    signature = bytearray(decode_base58btc(doc["proof"]["proofValue"]))
    signature[10] ^= 0x01
    doc["proof"]["proofValue"] = encode_base58btc(bytes(signature))


@pytest.mark.parametrize(
    "tamper",
    [_change_a_value, _change_subject, _change_proof_created, _change_proof_purpose, _flip_signature_byte],
)
def test_tampering_breaks_the_signature(vector, document_loader, tamper):
    secured = copy.deepcopy(_secured(vector))
    tamper(secured)
    result = verify_proof(secured, secured["proof"], public_key=_public_key(vector), document_loader=document_loader)
    assert not result
    assert result.code == "invalid_signature"


def test_removed_proof_value_is_malformed(vector, document_loader):
    secured = copy.deepcopy(_secured(vector))
    del secured["proof"]["proofValue"]
    result = verify_proof(secured, secured["proof"], public_key=_public_key(vector), document_loader=document_loader)
    assert (result.verified, result.code) == (False, "malformed_proof")


def test_wrong_public_key(vector, document_loader, make_signer):
    secured = _secured(vector)
    other = make_signer(bytes(range(32)), "urn:example:other").public_key
    result = verify_proof(secured, secured["proof"], public_key=other, document_loader=document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")
