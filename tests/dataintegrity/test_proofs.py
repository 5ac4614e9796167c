"""add_proof / verify_proof behaviour beyond the published vectors."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dataintegrity import (
    ECDSA_JCS_2019_P256,
    ECDSA_JCS_2019_P384,
    ECDSA_RDFC_2019_P256,
    ECDSA_RDFC_2019_P384,
    ED25519_SIGNATURE_2020,
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    Cryptosuite,
    ProofResult,
    SafeModeError,
    Signer,
    UnsupportedCryptosuite,
    add_proof,
    bundled_document_loader,
    decode_base58btc,
    encode_base58btc,
    get_cryptosuite,
    proof_configuration,
    verify_proof,
)

VM = "https://issuer.example/keys/1"


@pytest.fixture
def signer(make_signer):
    return make_signer(bytes(range(32)), VM)


@pytest.fixture
def credential() -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:0a6c1b9e-3f0f-4b55-a6f0-2f8f7b0c2e11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://issuer.example", "type": ["Profile"], "name": "Issuer"},
        "validFrom": "2024-05-01T12:00:00Z",
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://issuer.example/achievements/7",
                "type": ["Achievement"],
                "name": "Seven",
                "criteria": {"narrative": "Complete seven tasks."},
            },
        },
    }


CREATED = dt.datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
LOADER = bundled_document_loader()


def _sign(document, signer, **kwargs):
    return add_proof(document, signer=signer, created=CREATED, document_loader=LOADER, **kwargs)


def test_add_proof_returns_a_new_document(credential, signer):
    before = copy.deepcopy(credential)
    secured = _sign(credential, signer)
    assert credential == before
    assert secured is not credential and "proof" not in credential
    assert secured["proof"] == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2024-05-01T12:30:15Z",  # UTC, no microseconds
        "verificationMethod": VM,
        "proofPurpose": "assertionMethod",
        "proofValue": secured["proof"]["proofValue"],
    }
    assert verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=LOADER)


def test_naive_created_is_refused(credential, signer):
    with pytest.raises(ValueError, match="timezone"):
        add_proof(credential, signer=signer, created=dt.datetime(2024, 1, 1), document_loader=LOADER)


def test_signer_algorithm_must_match_the_suite(credential, signer):
    signer.algorithm = "P-256"
    with pytest.raises(TypeError, match="Ed25519"):
        _sign(credential, signer)


@pytest.mark.parametrize("members", [
    {}, {"verification_method": "https://issuer.example/keys/1", "algorithm": "Ed25519"},
    {"verification_method": "https://issuer.example/keys/1", "algorithm": "Ed25519", "sign": None},
    {"algorithm": "Ed25519", "sign": lambda data: b""},
])
def test_signer_shape_is_checked(credential, members):
    """Anything the Signer protocol's isinstance refuses, add_proof refuses."""
    not_a_signer = SimpleNamespace(**members)
    assert not isinstance(not_a_signer, Signer)
    with pytest.raises(TypeError, match="signer must have"):
        add_proof(credential, signer=not_a_signer, created=CREATED, document_loader=LOADER)


def test_signer_protocol(signer):
    assert isinstance(signer, Signer)


def test_undefined_term_fails_before_signing(credential, signer):
    credential["credentialSubject"]["achievement"]["critera"] = "typo"
    with pytest.raises(SafeModeError, match="critera"):
        _sign(credential, signer)
    assert signer.calls == 0


def test_proof_set(credential, signer, make_signer):
    other = make_signer(bytes(range(1, 33)), "https://issuer.example/keys/2")
    once = _sign(credential, signer)
    twice = _sign(once, other, proof_purpose="authentication")
    assert isinstance(twice["proof"], list) and len(twice["proof"]) == 2
    assert twice["proof"][0] == once["proof"]
    first, second = twice["proof"]
    assert verify_proof(twice, first, public_key=signer.public_key, document_loader=LOADER)
    assert verify_proof(twice, second, public_key=other.public_key, document_loader=LOADER)
    assert not verify_proof(twice, second, public_key=signer.public_key, document_loader=LOADER)


def test_proof_configuration_takes_the_document_context(credential):
    config = proof_configuration(credential, verification_method=VM, created="2024-05-01T12:00:00Z")
    assert config["@context"] == credential["@context"]
    assert config["created"] == "2024-05-01T12:00:00Z"
    with pytest.raises(ValueError):
        proof_configuration(credential, verification_method=VM, created="yesterday")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"cryptosuite": "bbs-2023"}, "unsupported_cryptosuite"),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "invalid_signature"),  # an Ed25519 key cannot verify it
        ({"previousProof": "urn:uuid:1"}, "previous_proof_missing"),
        ({"type": "Ed25519Signature2020"}, "unsupported_cryptosuite"),
        ({"proofValue": None}, "malformed_proof"),
        ({"proofValue": "not-multibase"}, "malformed_proof"),
        ({"proofValue": "z0OIl"}, "malformed_proof"),
        ({"proofPurposeTypo": "x"}, "undefined_term"),
        ({"@context": ["https://www.w3.org/2018/credentials/v1"]}, "invalid_proof"),
    ],
)
def test_verify_reports_bad_proofs(credential, signer, change, code):
    secured = _sign(credential, signer)
    proof = {key: value for key, value in {**secured["proof"], **change}.items() if value is not None}
    secured["proof"] = proof
    result = verify_proof(secured, proof, public_key=signer.public_key, document_loader=LOADER)
    assert isinstance(result, ProofResult)
    assert (result.verified, result.code) == (False, code)
    assert result.message


def test_verify_reports_document_problems(credential, signer):
    secured = _sign(credential, signer)
    secured["@context"] = [*secured["@context"], "https://contexts.example/extra"]
    result = verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=LOADER)
    assert (result.verified, result.code) == (False, "unknown_context")
    assert "https://contexts.example/extra" in result.message

    secured = _sign(credential, signer)
    secured["extra"] = "claim"
    result = verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=LOADER)
    assert (result.verified, result.code) == (False, "undefined_term")


def test_verify_never_raises_for_non_objects(signer):
    assert verify_proof([], {}, public_key=signer.public_key, document_loader=LOADER).code == "invalid_jsonld"
    assert verify_proof({}, "proof", public_key=signer.public_key, document_loader=LOADER).code == "malformed_proof"


def test_cryptosuite_registry():
    assert get_cryptosuite("eddsa-rdfc-2022") is EDDSA_RDFC_2022
    assert isinstance(EDDSA_RDFC_2022, Cryptosuite)
    assert EDDSA_RDFC_2022.required_algorithm == "Ed25519"
    with pytest.raises(UnsupportedCryptosuite, match="bbs-2023") as info:
        get_cryptosuite("bbs-2023")
    assert info.value.code == "unsupported_cryptosuite"
    with pytest.raises(dataclasses.FrozenInstanceError):
        EDDSA_RDFC_2022.name = "other"


def test_suites_with_several_key_kinds():
    assert get_cryptosuite("ecdsa-rdfc-2019", "P-256") is ECDSA_RDFC_2019_P256
    assert get_cryptosuite("ecdsa-rdfc-2019", "P-384") is ECDSA_RDFC_2019_P384
    assert get_cryptosuite("ecdsa-jcs-2019", "P-384") is ECDSA_JCS_2019_P384
    assert get_cryptosuite("eddsa-jcs-2022") is get_cryptosuite("eddsa-jcs-2022", "Ed25519") is EDDSA_JCS_2022
    assert get_cryptosuite("Ed25519Signature2020") is ED25519_SIGNATURE_2020
    with pytest.raises(UnsupportedCryptosuite, match="P-256 or P-384"):
        get_cryptosuite("ecdsa-rdfc-2019")  # which hash depends on the key
    with pytest.raises(UnsupportedCryptosuite, match="Ed25519"):
        get_cryptosuite("ecdsa-jcs-2019", "Ed25519")


def test_proof_fields_name_the_suite():
    assert ECDSA_RDFC_2019_P384.proof_fields == {"type": "DataIntegrityProof", "cryptosuite": "ecdsa-rdfc-2019"}
    assert ED25519_SIGNATURE_2020.proof_fields == {"type": "Ed25519Signature2020"}


EC_SUITES = [ECDSA_RDFC_2019_P256, ECDSA_RDFC_2019_P384, ECDSA_JCS_2019_P256, ECDSA_JCS_2019_P384]


@pytest.mark.parametrize("suite", EC_SUITES, ids=lambda s: f"{s.name}-{s.required_algorithm}")
def test_ecdsa_sign_then_verify(credential, make_key_signer, suite):
    curve = ec.SECP256R1() if suite.required_algorithm == "P-256" else ec.SECP384R1()
    signer = make_key_signer(ec.derive_private_key(987654321, curve), VM)
    secured = _sign(credential, signer, cryptosuite=suite)
    assert secured["proof"]["cryptosuite"] == suite.name
    assert len(decode_base58btc(secured["proof"]["proofValue"])) == 2 * (curve.key_size // 8)  # r || s
    assert verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=LOADER)

    tampered = copy.deepcopy(secured)
    tampered["credentialSubject"]["achievement"]["name"] = "Eight"
    result = verify_proof(tampered, tampered["proof"], public_key=signer.public_key, document_loader=LOADER)
    assert (result.verified, result.code) == (False, "invalid_signature")

    other = ec.derive_private_key(123, curve).public_key()
    result = verify_proof(secured, secured["proof"], public_key=other, document_loader=LOADER)
    assert (result.verified, result.code) == (False, "invalid_signature")


def test_ecdsa_signature_must_have_its_fixed_length(credential, make_key_signer):
    signer = make_key_signer(ec.derive_private_key(5, ec.SECP256R1()), VM)
    secured = _sign(credential, signer, cryptosuite=ECDSA_RDFC_2019_P256)
    too_long = decode_base58btc(secured["proof"]["proofValue"]) + b"\x00"
    secured["proof"]["proofValue"] = encode_base58btc(too_long)
    result = verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=LOADER)
    assert result.code == "invalid_signature"


def test_suite_and_signer_key_must_agree(credential, make_key_signer, signer):
    p384 = make_key_signer(ec.derive_private_key(5, ec.SECP384R1()), VM)
    with pytest.raises(TypeError, match="P-256"):
        _sign(credential, p384, cryptosuite=ECDSA_RDFC_2019_P256)
    with pytest.raises(TypeError, match="legacy"):
        _sign(credential, signer, cryptosuite=ED25519_SIGNATURE_2020)


@pytest.mark.parametrize("public_key", [b"short", "z6Mk...", None, object()])
def test_unusable_public_keys_do_not_verify(credential, signer, public_key):
    secured = _sign(credential, signer)
    result = verify_proof(secured, secured["proof"], public_key=public_key, document_loader=LOADER)
    assert (result.verified, result.code) == (False, "invalid_signature")


def test_proof_id(credential, signer):
    secured = _sign(credential, signer, proof_id="urn:uuid:5a9b0b5c-8f3e-4f0e-9a57-5a1f5c0f3b11")
    assert secured["proof"]["id"] == "urn:uuid:5a9b0b5c-8f3e-4f0e-9a57-5a1f5c0f3b11"
    assert verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=LOADER)

