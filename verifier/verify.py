"""The one entry point: a credential in, a report out."""

from __future__ import annotations

from datetime import datetime, timedelta

from verifier.checks.format import check_format
from verifier.checks.issuer import check_issuer, issuer_id
from verifier.checks.proof import check_proof
from verifier.checks.validity import check_validity
from verifier.report import CheckResult, Report
from verifier.resolvers import DidResolver

DEFAULT_SKEW = timedelta(minutes=5)


def verify_credential(credential, *, document_loader, resolver: DidResolver, now: datetime,
                      skew: timedelta = DEFAULT_SKEW) -> Report:
    """Check `credential` and say what passed and what failed. Never raises for bad data.

    With several proofs, each must verify (a proof set).
    """
    if now.tzinfo is None:
        raise TypeError("now must be timezone-aware")
    checks = [check_format(credential)]
    if checks[0].status == "failed":
        return Report(tuple(checks), now)
    proofs = credential["proof"] if isinstance(credential["proof"], list) else [credential["proof"]]
    issuer_results, proof_results = [], []
    for proof in proofs:
        if not isinstance(proof, dict):
            proof_results.append(CheckResult.failed("proof", "malformed_proof", "a proof is not an object"))
            continue
        issuer_result, public_key = check_issuer(credential, proof, resolver)
        issuer_results.append(issuer_result)
        if public_key is None:
            proof_results.append(CheckResult.skipped("proof", "no key to check the signature with"))
        else:
            proof_results.append(check_proof(credential, proof, public_key, document_loader=document_loader))
    checks.append(_first_failure(issuer_results, "issuer"))
    checks.append(_first_failure(proof_results, "proof"))
    checks.append(check_validity(credential, now=now, skew=skew))
    return Report(tuple(checks), now, _summary(credential))


def _first_failure(results: list[CheckResult], name: str) -> CheckResult:
    return next((r for r in results if r.status == "failed"), None) or next(
        (r for r in results if r.status == "skipped"), None
    ) or (results[0] if results else CheckResult.failed(name, "no_proof", "no proof to check"))


def _summary(credential: dict) -> dict:
    issuer = credential.get("issuer")
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    return {
        "id": credential.get("id"),
        "name": credential.get("name"),
        "issuer": {"id": issuer_id(credential), "name": issuer.get("name") if isinstance(issuer, dict) else None},
        "achievement": achievement.get("name") if isinstance(achievement, dict) else None,
        "validFrom": credential.get("validFrom") or credential.get("issuanceDate"),
        "validUntil": credential.get("validUntil") or credential.get("expirationDate"),
    }
