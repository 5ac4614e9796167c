"""Proof sets and chains across keys through the whole Verifier (the W3C vc-di-eddsa suite's
previousProof tests): one proof by the issuer is enough for the `issuer` check, every proof must verify."""

from __future__ import annotations

import copy

from dataintegrity import add_proof
from tests.verifier.support import SIGNED_AT, DidKey, check_of, library_verifier, loader, unsigned_credential


def _proof(document: dict, signer: DidKey, proof_id: str | None = None, previous=None) -> dict:
    return add_proof(document, signer=signer, created=SIGNED_AT, document_loader=loader(), proof_id=proof_id,
                     previous_proof=previous)


def _chain(issuer: DidKey, witness: DidKey, *, issuer_first: bool) -> dict:
    """Two proofs: the second names the first as its previousProof."""
    first, second = (issuer, witness) if issuer_first else (witness, issuer)
    document = _proof(unsigned_credential(issuer.did), first, "urn:uuid:first")
    return _proof(document, second, previous="urn:uuid:first")


def _statuses(report) -> dict:
    return {name: check_of(report, name)["status"] for name in ("issuer", "proof")}


def test_chain_whose_previous_proof_is_by_another_key_verifies():
    issuer, witness = DidKey(1), DidKey(2)
    for issuer_first in (True, False):
        report = library_verifier().verify_credential(_chain(issuer, witness, issuer_first=issuer_first)).to_dict()
        assert report["verified"] is True, report["checks"]
        assert witness.did in check_of(report, "issuer")["message"]  # the other signer is named, not hidden


def test_previous_proof_array_verifies():
    issuer, a, b = DidKey(1), DidKey(2), DidKey(3)
    document = _proof(_proof(unsigned_credential(issuer.did), a, "urn:uuid:a"), b, "urn:uuid:b")
    document = _proof(document, issuer, previous=["urn:uuid:a", "urn:uuid:b"])
    assert library_verifier().verify_credential(document).verified


def test_previous_proof_that_is_not_there_fails():
    document = _chain(DidKey(1), DidKey(2), issuer_first=False)
    document["proof"][1]["previousProof"] = "urn:uuid:elsewhere"
    report = library_verifier().verify_credential(document).to_dict()
    assert report["verified"] is False
    assert (check_of(report, "proof")["status"], check_of(report, "proof")["code"]) == ("failed", "previous_proof_missing")


def test_a_previous_proof_that_does_not_verify_fails_the_chain():
    document = _chain(DidKey(1), DidKey(2), issuer_first=False)
    # The witness's proof is broken; the issuer's proof covers it, so it breaks as well.
    document["proof"][0]["proofValue"] = copy.deepcopy(document["proof"][1]["proofValue"])
    report = library_verifier().verify_credential(document).to_dict()
    assert report["verified"] is False
    assert (check_of(report, "proof")["status"], check_of(report, "proof")["code"]) == ("failed", "invalid_signature")


def test_no_proof_by_the_issuer_fails_the_issuer_check():
    issuer, a, b = DidKey(1), DidKey(2), DidKey(3)
    document = _proof(_proof(unsigned_credential(issuer.did), a, "urn:uuid:a"), b, previous="urn:uuid:a")
    report = library_verifier().verify_credential(document).to_dict()
    assert report["verified"] is False
    assert _statuses(report) == {"issuer": "failed", "proof": "passed"}
    assert check_of(report, "issuer")["code"] == "issuer_key_mismatch"


def test_a_single_proof_by_another_key_still_fails():
    issuer, other = DidKey(1), DidKey(2)
    report = library_verifier().verify_credential(_proof(unsigned_credential(issuer.did), other)).to_dict()
    assert _statuses(report) == {"issuer": "failed", "proof": "passed"}


def test_a_proof_set_across_keys_verifies():
    issuer, witness = DidKey(1), DidKey(2)
    document = _proof(_proof(unsigned_credential(issuer.did), witness), issuer)
    assert library_verifier().verify_credential(document).verified
