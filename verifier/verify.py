"""The entry point: a credential in any accepted form in, a report out.

`Verifier` holds what varies (document loader, DID resolver, fetcher, clock, policy); its
`verify_credential` runs the checks of `verifier.checks` in order. Nothing here raises for a bad
credential; only a caller's mistake (a naive clock, say) raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from verifier.checks.context import check_context
from verifier.checks.format import check_format
from verifier.checks.issuer import check_issuer, issuer_id
from verifier.checks.proof import check_proof
from verifier.checks.schema import check_schema
from verifier.checks.trust import check_trust
from verifier.checks.validity import check_validity
from verifier.report import CheckResult, Report
from verifier.resolvers import DidResolver

DEFAULT_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Policy:
    max_clock_skew: timedelta = DEFAULT_SKEW
    # None: no registry is configured, and the trust check is skipped.
    trusted_issuers: frozenset[str] | None = None
    check_status: bool = True


@dataclass(frozen=True)
class Verifier:
    document_loader: Callable
    resolver: DidResolver
    clock: Callable[[], datetime]
    policy: Policy = field(default_factory=Policy)

    def verify_credential(self, credential) -> Report:
        """Check a JSON-LD credential. With several proofs (a proof set), each must verify."""
        now = self.clock()
        if now.tzinfo is None:
            raise TypeError("the clock must give timezone-aware datetimes")
        checks = [check_format(credential)]
        if checks[0].status == "failed":
            return Report(tuple(checks), now, _summary(credential) if isinstance(credential, dict) else {})
        checks.append(check_context(credential, document_loader=self.document_loader))
        checks.append(check_schema(credential))
        checks.extend(self._proofs(credential, now))
        checks.append(check_validity(credential, now=now, skew=self.policy.max_clock_skew))
        checks.append(check_trust(credential, self.policy.trusted_issuers))
        return Report(tuple(checks), now, _summary(credential))

    def _proofs(self, credential: dict, now: datetime) -> list[CheckResult]:
        """The `issuer` and `proof` checks, over every proof; the first failure of each is reported."""
        proofs = credential["proof"] if isinstance(credential["proof"], list) else [credential["proof"]]
        issuer_results, proof_results = [], []
        for proof in proofs:
            if not isinstance(proof, dict):
                proof_results.append(CheckResult.failed("proof", "malformed_proof", "a proof is not an object"))
                continue
            issuer_result, public_key = check_issuer(credential, proof, self.resolver)
            issuer_results.append(issuer_result)
            if public_key is None:
                proof_results.append(CheckResult.skipped("proof", "no key to check the signature with"))
            else:
                proof_results.append(check_proof(
                    credential, proof, public_key, document_loader=self.document_loader, now=now,
                    skew=self.policy.max_clock_skew,
                ))
        return [_first_failure(issuer_results, "issuer"), _first_failure(proof_results, "proof")]


def verify_credential(credential, *, document_loader, resolver: DidResolver, now: datetime,
                      skew: timedelta = DEFAULT_SKEW) -> Report:
    """One-off verification at a fixed instant (see `Verifier`)."""
    return Verifier(document_loader, resolver, lambda: now, Policy(max_clock_skew=skew)).verify_credential(credential)


def _first_failure(results: list[CheckResult], name: str) -> CheckResult:
    for status in ("failed", "skipped"):
        found = next((r for r in results if r.status == status), None)
        if found:
            return found
    return results[0] if results else CheckResult.failed(name, "no_proof", "no proof to check")


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
