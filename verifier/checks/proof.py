"""`proof`: the Data Integrity proof verifies over the credential with the issuer's key."""

from __future__ import annotations

from dataintegrity import verify_proof
from verifier.report import CheckResult


def check_proof(credential: dict, proof: dict, public_key: bytes, *, document_loader) -> CheckResult:
    if proof.get("proofPurpose") != "assertionMethod":
        return CheckResult.failed("proof", "wrong_proof_purpose", "a credential proof must have proofPurpose assertionMethod")
    result = verify_proof(credential, proof, public_key=public_key, document_loader=document_loader)
    if not result:
        return CheckResult.failed("proof", result.code or "invalid_signature", result.message or "the signature does not verify")
    return CheckResult.passed("proof", f"{proof.get('cryptosuite')} signature is valid")
