"""Known-answer tests: the published vectors of every suite (W3C eddsa/ecdsa rdfc and jcs, the legacy
Ed25519Signature2020, and Open Badges 3.0).

Canonical forms, hashes and the vectors' own signatures are reproduced exactly. Ed25519 signatures
are deterministic, so signing must give the published proof byte for byte; ECDSA signatures are
randomized, so for them a fresh proof only has to verify.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import (
    add_proof,
    decode_base58btc,
    ed25519_public_key_from_multibase,
    encode_base58btc,
    get_cryptosuite,
    hash_data,
    key_algorithm,
    private_key_from_multibase,
    public_key_from_multibase,
    public_key_from_verification_method,
    public_key_multibase,
    verify_proof,
)
from dataintegrity.algorithms import ecdsa_curve, sign


def _vectors(keep) -> list[str]:
    """Names of the vector files (the ones the ``vector`` fixture runs over) for which ``keep(vector)``."""
    folder = Path(__file__).parents[1] / "fixtures" / "vectors"
    return sorted(p.name for p in folder.glob("*.json") if keep(json.loads(p.read_text(encoding="utf-8"))))


def _load(name: str) -> dict:
    return json.loads((Path(__file__).parents[1] / "fixtures" / "vectors" / name).read_text(encoding="utf-8"))


def _algorithm(vector: dict) -> str:
    return key_algorithm(public_key_from_multibase(vector["key"]["public_key_multibase"]))


def _suite(vector: dict):
    options = vector["proof_options"]
    return get_cryptosuite(options.get("cryptosuite", options["type"]), _algorithm(vector))


def _is_legacy(vector: dict) -> bool:
    return "cryptosuite" not in vector["proof_options"]


def _proof_config(vector: dict) -> dict:
    """The vector's proof options as the proof configuration (the document's @context when they have none)."""
    config = copy.deepcopy(vector["proof_options"])
    config.setdefault("@context", vector["unsigned_document"]["@context"])
    return config


def _secured(vector: dict) -> dict:
    return {**vector["unsigned_document"], "proof": vector["expected"]["proof"]}


def _public_key(vector: dict):
    """The key as a verifier gets it: from the verification method the proof names."""
    method_type = "Ed25519VerificationKey2020" if _is_legacy(vector) else "Multikey"
    return public_key_from_verification_method(
        {"type": method_type, "publicKeyMultibase": vector["key"]["public_key_multibase"]}
    )


def _private_key(vector: dict):
    return private_key_from_multibase(vector["key"]["private_key_multibase"])


def _other_key_of_the_same_kind(vector: dict):
    algorithm = _algorithm(vector)
    if algorithm == "Ed25519":
        return Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
    return ec.derive_private_key(123456789, ecdsa_curve(algorithm)[0]).public_key()


def _verify(document: dict, public_key, document_loader):
    return verify_proof(document, document["proof"], public_key=public_key, document_loader=document_loader)


def test_canonical_document(vector, document_loader):
    assert _suite(vector).canonicalize(vector["unsigned_document"], document_loader=document_loader) == (
        vector["expected"]["canonical_document"]
    )


def test_canonical_proof_configuration(vector, document_loader):
    assert _suite(vector).canonicalize(_proof_config(vector), document_loader=document_loader) == (
        vector["expected"]["canonical_proof_configuration"]
    )


def test_hashes(vector, document_loader):
    suite, expected = _suite(vector), vector["expected"]
    data = hash_data(vector["unsigned_document"], vector["proof_options"], document_loader=document_loader, cryptosuite=suite)
    assert data.hex() == expected["proof_configuration_hash_hex"] + expected["document_hash_hex"]
    assert suite.hash(expected["canonical_document"].encode()).hex() == expected["document_hash_hex"]
    assert suite.hash(expected["canonical_proof_configuration"].encode()).hex() == expected["proof_configuration_hash_hex"]


def test_key_pair_matches(vector):
    assert public_key_multibase(_private_key(vector).public_key()) == vector["key"]["public_key_multibase"]


def test_proof_value_is_the_signature(vector):
    expected = vector["expected"]
    assert encode_base58btc(bytes.fromhex(expected["signature_hex"])) == expected["proof_value"]
    assert expected["proof"]["proofValue"] == expected["proof_value"]


def test_verify_published_proof(vector, document_loader):
    result = _verify(_secured(vector), _public_key(vector), document_loader)
    assert result.verified and result and result.code is None


@pytest.mark.parametrize("name", _vectors(lambda v: _algorithm(v) == "Ed25519"))
def test_raw_ed25519_bytes_still_work(name, document_loader):
    vector = _load(name)
    public = ed25519_public_key_from_multibase(vector["key"]["public_key_multibase"])
    assert _verify(_secured(vector), public, document_loader)


@pytest.mark.parametrize("name", _vectors(lambda v: not _is_legacy(v)))
def test_add_proof(name, document_loader, make_key_signer):
    vector = _load(name)
    expected = vector["expected"]
    original = copy.deepcopy(vector["unsigned_document"])
    signer = make_key_signer(_private_key(vector), vector["proof_options"]["verificationMethod"])
    secured = add_proof(
        vector["unsigned_document"],
        signer=signer,
        created=vector["proof_options"]["created"],
        document_loader=document_loader,
        proof_purpose=vector["proof_options"]["proofPurpose"],
        cryptosuite=_suite(vector),
    )
    assert vector["unsigned_document"] == original
    # Some vectors repeat the @context in the proof; ours leaves it out, which signs the same data.
    without_value = {k: v for k, v in expected["proof"].items() if k not in ("proofValue", "@context")}
    assert {k: v for k, v in secured["proof"].items() if k != "proofValue"} == without_value
    assert _verify(secured, _public_key(vector), document_loader)
    if _algorithm(vector) == "Ed25519":
        assert decode_base58btc(secured["proof"]["proofValue"]).hex() == expected["signature_hex"]


@pytest.mark.parametrize("name", _vectors(_is_legacy))
def test_legacy_signature_is_reproducible(name, document_loader, make_key_signer):
    """Legacy suites are verify only, but the signature is deterministic, so sign the hash directly."""
    vector = _load(name)
    signer = make_key_signer(_private_key(vector), vector["proof_options"]["verificationMethod"])
    with pytest.raises(TypeError, match="legacy"):
        add_proof(vector["unsigned_document"], signer=signer, created=vector["proof_options"]["created"],
                  document_loader=document_loader, cryptosuite=_suite(vector))
    data = hash_data(vector["unsigned_document"], vector["proof_options"], document_loader=document_loader,
                     cryptosuite=_suite(vector))
    assert sign(_private_key(vector), data).hex() == vector["expected"]["signature_hex"]


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
    result = _verify(secured, _public_key(vector), document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")


def test_removed_proof_value_is_malformed(vector, document_loader):
    secured = copy.deepcopy(_secured(vector))
    del secured["proof"]["proofValue"]
    result = _verify(secured, _public_key(vector), document_loader)
    assert (result.verified, result.code) == (False, "malformed_proof")


def test_wrong_public_key(vector, document_loader):
    result = _verify(_secured(vector), _other_key_of_the_same_kind(vector), document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")


@pytest.mark.parametrize(
    ("name", "kind"),
    [(name, kind) for kind in ("Ed25519", "P-256", "P-384") for name in _vectors(lambda v: _algorithm(v) != kind)],
)
def test_key_of_another_kind(name, document_loader, kind):
    vector = _load(name)
    if kind == "Ed25519":
        key = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    else:
        key = ec.derive_private_key(7, ecdsa_curve(kind)[0]).public_key()
    result = _verify(_secured(vector), key, document_loader)
    assert (result.verified, result.code) == (False, "invalid_signature")
