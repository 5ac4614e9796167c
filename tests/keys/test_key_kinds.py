"""Signing keys of each kind an issuer may choose (Ed25519, P-256, P-384): sealed and opened,
signing with the right suite and JOSE algorithm, and, with the published W3C ecdsa-rdfc-2019
keys, reproducing the vectors' hashes and verifying their signatures and our own proofs.

ECDSA signatures are randomized: a fresh proof cannot equal the published one, so it must
verify with the published public key and sign exactly the published hash data."""

from __future__ import annotations

import copy
import hashlib

import jwt
import pytest

from dataintegrity import (
    add_proof,
    hash_data,
    key_algorithm,
    private_key_from_multibase,
    public_key_from_multibase,
    verify_proof,
)
from keys import KeyEncryptionKey, KeySigner, generate_key
from keys.generation import private_key_bytes, private_key_from_bytes
from tests.dataintegrity.conftest import FIXTURES, TEST_CONTEXTS, VECTOR_FILES, load_vector, read_json
from dataintegrity import bundled_document_loader

KINDS = {"Ed25519": ("eddsa-rdfc-2022", "EdDSA", "z6Mk"), "P-256": ("ecdsa-rdfc-2019", "ES256", "zDn"),
         "P-384": ("ecdsa-rdfc-2019", "ES384", "z82")}
ECDSA_RDFC = [name for name in VECTOR_FILES if name.startswith("w3c-ecdsa-rdfc-2019-")]


@pytest.fixture(scope="module")
def document_loader():
    """The bundled contexts plus the test-only ones the W3C vectors use."""
    extra = {url: read_json(FIXTURES / "contexts" / name) for url, name in TEST_CONTEXTS.items()}
    return bundled_document_loader().with_documents(extra)


@pytest.fixture
def kek():
    return KeyEncryptionKey(bytes(range(32)))


@pytest.mark.parametrize("key_type", list(KINDS))
def test_seal_open_sign(kek, key_type):
    suite, alg, prefix = KINDS[key_type]
    sealed = generate_key(kek, key_id="row-1", key_type=key_type)
    assert sealed.public_key_multibase.startswith(prefix)
    signer = KeySigner.unseal("did:example:1#k", sealed.sealed_private_key, kek, key_id="row-1", key_type=key_type)
    assert signer.algorithm == key_type and signer.cryptosuite.name == suite and signer.jose_algorithm == alg
    public = public_key_from_multibase(sealed.public_key_multibase)
    token = signer.sign_jwt({"iss": "did:example:1"})
    assert jwt.get_unverified_header(token) == {"alg": alg, "kid": "did:example:1#k", "typ": "JWT"}
    assert jwt.decode(token, public, algorithms=[alg]) == {"iss": "did:example:1"}
    # The sealed blob names no key material in its repr, and opens only as its own row.
    assert sealed.public_key_multibase in repr(sealed) and "sealed" not in repr(signer)


@pytest.mark.parametrize("key_type", ["P-256", "P-384"])
def test_private_key_bytes_round_trip(key_type):
    from keys.generation import new_private_key

    key = new_private_key(key_type)
    raw = private_key_bytes(key)
    assert len(raw) == {"P-256": 32, "P-384": 48}[key_type]
    again = private_key_from_bytes(key_type, raw)
    assert again.private_numbers() == key.private_numbers() and key_algorithm(again) == key_type
    with pytest.raises(ValueError):
        private_key_from_bytes(key_type, raw[:-1])
    with pytest.raises(ValueError):
        private_key_from_bytes("RSA", raw)


@pytest.mark.parametrize("name", ECDSA_RDFC)
def test_published_ecdsa_vectors_with_our_signer(name, document_loader):
    vector = load_vector(name)
    private_key = private_key_from_multibase(vector["key"]["private_key_multibase"])
    options = copy.deepcopy(vector["proof_options"])
    signer = KeySigner(options["verificationMethod"], private_key)
    assert signer.algorithm == vector["algorithm"] and signer.cryptosuite.name == "ecdsa-rdfc-2019"
    public_key = public_key_from_multibase(vector["key"]["public_key_multibase"])
    expected = vector["expected"]

    # The deterministic parts: hash(proof configuration) || hash(document), SHA-256 or SHA-384.
    config = {**options}
    config.setdefault("@context", vector["unsigned_document"]["@context"])
    data = hash_data(vector["unsigned_document"], config, document_loader=document_loader, cryptosuite=signer.cryptosuite)
    assert data.hex() == expected["proof_configuration_hash_hex"] + expected["document_hash_hex"]
    digest = hashlib.sha256 if vector["algorithm"] == "P-256" else hashlib.sha384
    assert digest(expected["canonical_document"].encode()).hexdigest() == expected["document_hash_hex"]

    # The published signature verifies; ours, over the same data, verifies with the published key.
    published = {**vector["unsigned_document"], "proof": expected["proof"]}
    assert verify_proof(published, published["proof"], public_key=public_key, document_loader=document_loader)
    ours = add_proof(vector["unsigned_document"], signer=signer, created=options["created"],
                     document_loader=document_loader, cryptosuite=signer.cryptosuite)
    assert {k: v for k, v in ours["proof"].items() if k != "proofValue"} == {
        k: v for k, v in expected["proof"].items() if k != "proofValue"}
    assert verify_proof(ours, ours["proof"], public_key=public_key, document_loader=document_loader)
    tampered = copy.deepcopy(ours)
    tampered["issuer"] = "did:example:someone-else"
    assert not verify_proof(tampered, tampered["proof"], public_key=public_key, document_loader=document_loader)
