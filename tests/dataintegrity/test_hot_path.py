"""What the hot path keeps between calls changes no outcome: canonical proof configurations are
reused only for the bundled contexts served unchanged."""

from __future__ import annotations

import copy
from hashlib import sha256

from dataintegrity import add_proof, bundled_document_loader, hash_data, verify_proof
from dataintegrity.canonicalize import canonicalize_reference

from .test_fastrdf import VC2, credential

BUNDLED = bundled_document_loader()


def test_a_kept_proof_configuration_is_not_used_with_other_context_bytes(make_signer):
    signer = make_signer(bytes(32), "did:web:badges.example:issuers:acme#key-1")
    secured = add_proof(credential(), signer=signer, created="2026-11-25T12:00:00Z", document_loader=BUNDLED)
    assert verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=BUNDLED).verified
    # the same proof configuration, where the VC context maps the proof's "created" elsewhere
    changed = copy.deepcopy(BUNDLED(VC2)["document"])
    changed["@context"]["DataIntegrityProof"]["@context"]["created"]["@id"] = "https://changed.example/created"
    loader = BUNDLED.with_documents({VC2: changed})
    result = verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=loader)
    assert (result.verified, result.code) == (False, "invalid_signature")
    # and back with the bundled bytes, from the kept canonical form
    assert verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=BUNDLED).verified


def test_proof_configurations_equal_in_python_but_not_in_json_are_kept_apart():
    document = credential()
    config = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": "2026-11-25T12:00:00Z",
              "verificationMethod": "did:web:badges.example:issuers:acme#key-1", "proofPurpose": "assertionMethod"}
    with_one, with_true = {**config, "nonce": 1}, {**config, "nonce": True}  # 1 == True in Python
    first = [hash_data(document, c, document_loader=BUNDLED) for c in (with_one, with_true)]
    again = [hash_data(document, c, document_loader=BUNDLED) for c in (with_one, with_true)]
    assert first == again
    assert first[0] != first[1]
    assert first[0][:32] == sha256(canonicalize_reference({**with_one, "@context": document["@context"]},
                                                          document_loader=BUNDLED).encode()).digest()
