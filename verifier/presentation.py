"""Verifiable presentations: the holder's `authentication` proof, bound to a challenge and a
domain, over a set of credentials that are each verified on their own."""

from __future__ import annotations

from verifier.checks.format import VC_CONTEXTS
from verifier.checks.issuer import authorized_key
from verifier.checks.proof import verify_signature
from verifier.report import CheckResult


def check_presentation(presentation: dict, *, resolver, document_loader, challenge: str | None,
                       domain: str | None) -> list[CheckResult]:
    """The `format`, `holder` and `proof` checks of the presentation itself."""
    contexts = presentation.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    types = presentation.get("type")
    types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    if first not in VC_CONTEXTS or "VerifiablePresentation" not in types:
        return [CheckResult.failed("format", "not_a_presentation", "not a VerifiablePresentation with the VC context first")]
    proof = presentation.get("proof")
    if not isinstance(proof, dict):
        return [CheckResult.failed("format", "no_proof", "the presentation carries no single proof object")]
    checks = [CheckResult.passed("format", "a verifiable presentation with a proof")]
    if proof.get("proofPurpose") != "authentication":
        return checks + [CheckResult.failed("proof", "wrong_proof_purpose", "a presentation proof must have proofPurpose authentication")]
    if challenge is not None and proof.get("challenge") != challenge:
        return checks + [CheckResult.failed("proof", "challenge_mismatch", "the proof's challenge is not the one expected")]
    if domain is not None and proof.get("domain") != domain:
        return checks + [CheckResult.failed("proof", "domain_mismatch", "the proof's domain is not the one expected")]
    public_key, controller, failure = authorized_key(proof, resolver, check="holder", purpose="authentication")
    if failure:
        return checks + [failure]
    holder = presentation.get("holder")
    holder = holder.get("id") if isinstance(holder, dict) else holder
    if holder is not None and holder != controller:
        return checks + [CheckResult.failed("holder", "holder_key_mismatch", f"the key's controller {controller} is not the holder {holder}")]
    checks.append(CheckResult.passed("holder", f"signed with {proof['verificationMethod']}, a key of the holder"))
    checks.append(verify_signature(presentation, proof, public_key, document_loader=document_loader))
    return checks


def credentials_in(presentation: dict) -> list:
    credentials = presentation.get("verifiableCredential", [])
    return credentials if isinstance(credentials, list) else [credentials]
