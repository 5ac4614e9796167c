"""`proof`: the Data Integrity proof verifies over the credential with the issuer's key."""

from __future__ import annotations

from datetime import datetime, timedelta

from dataintegrity import verify_proof
from verifier.checks.validity import parse_instant
from verifier.report import CheckResult


def verify_signature(document: dict, proof: dict, public_key, *, document_loader) -> CheckResult:
    result = verify_proof(document, proof, public_key=public_key, document_loader=document_loader)
    if not result:
        return CheckResult.failed("proof", result.code or "invalid_signature", result.message or "the signature does not verify")
    return CheckResult.passed("proof", f"{proof.get('cryptosuite') or proof.get('type')} signature is valid")


def check_proof(credential: dict, proof: dict, public_key, *, document_loader, now: datetime,
                skew: timedelta) -> CheckResult:
    if proof.get("proofPurpose") != "assertionMethod":
        return CheckResult.failed("proof", "wrong_proof_purpose", "a credential proof must have proofPurpose assertionMethod")
    if "created" in proof:
        created = parse_instant(proof["created"])
        if created is None:
            return CheckResult.failed("proof", "malformed_proof", "the proof's created is not a date-time with a time zone")
        if created - skew > now:
            return CheckResult.failed("proof", "proof_created_in_future", f"the proof claims to be made at {proof['created']}, in the future")
    return verify_signature(credential, proof, public_key, document_loader=document_loader)
