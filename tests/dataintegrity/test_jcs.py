"""JCS canonicalization and the JCS suites' behaviour beyond the published vectors."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dataintegrity import (
    ECDSA_JCS_2019_P384,
    EDDSA_JCS_2022,
    CanonicalizationError,
    add_proof,
    bundled_document_loader,
    canonicalize_jcs,
    verify_proof,
)

LOADER = bundled_document_loader()
DOCUMENT = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential"],
    "issuer": "https://issuer.example",
    "credentialSubject": {"id": "did:example:learner"},
}


def test_jcs_sorts_members_and_writes_numbers_as_ecmascript():
    assert canonicalize_jcs({"b": [1.0, 1e21, "é"], "a": {"z": None, "y": True}}) == (
        '{"a":{"y":true,"z":null},"b":[1,1e+21,"é"]}'
    )


@pytest.mark.parametrize("value", [2**60, float("nan"), "\ud800", object()])
def test_jcs_refuses_what_it_cannot_represent(value):
    with pytest.raises(CanonicalizationError) as info:
        canonicalize_jcs({"value": value})
    assert info.value.code == "canonicalization_failed"


@pytest.fixture(params=["Ed25519", "P-384"])
def signed(request, make_signer, make_key_signer):
    if request.param == "Ed25519":
        signer, suite = make_signer(bytes(range(32)), "https://issuer.example/keys/1"), EDDSA_JCS_2022
    else:
        key = ec.derive_private_key(424242, ec.SECP384R1())
        signer, suite = make_key_signer(key, "https://issuer.example/keys/2"), ECDSA_JCS_2019_P384
    secured = add_proof(DOCUMENT, signer=signer, created="2024-05-01T12:00:00Z", document_loader=LOADER, cryptosuite=suite)
    return secured, signer.public_key


def _verify(secured, public_key):
    return verify_proof(secured, secured["proof"], public_key=public_key, document_loader=LOADER)


def test_sign_then_verify(signed):
    secured, public_key = signed
    assert secured["proof"]["cryptosuite"] in ("eddsa-jcs-2022", "ecdsa-jcs-2019")
    assert _verify(secured, public_key)


def test_every_member_is_signed_even_one_no_context_defines(signed):
    # RDFC would refuse it (undefined_term); JCS signs the JSON as is, so adding it breaks the signature.
    secured, public_key = copy.deepcopy(signed[0]), signed[1]
    secured["extra"] = "claim"
    assert _verify(secured, public_key).code == "invalid_signature"


def test_member_order_does_not_matter(signed):
    secured, public_key = signed
    reordered = dict(reversed(list(secured.items())))
    assert _verify(reordered, public_key)


def test_proof_context_must_prefix_the_documents(signed):
    secured, public_key = copy.deepcopy(signed[0]), signed[1]
    secured["proof"]["@context"] = ["https://www.w3.org/ns/credentials/examples/v2"]
    assert _verify(secured, public_key).code == "invalid_proof"
    secured["proof"]["@context"] = secured["@context"]
    assert _verify(secured, public_key)  # a matching one is what the proof configuration held anyway


def test_unrepresentable_value_is_a_canonicalization_failure(signed):
    secured, public_key = copy.deepcopy(signed[0]), signed[1]
    secured["credentialSubject"]["big"] = 2**60
    result = _verify(secured, public_key)
    assert (result.verified, result.code) == (False, "canonicalization_failed")
