"""`trust`: is the issuer in the configured registry? A warning, never a failure: an unknown
issuer's credential can be perfectly valid; whether to rely on it is the reader's decision."""

from __future__ import annotations

from verifier.checks.issuer import issuer_id
from verifier.report import CheckResult


def check_trust(credential: dict, trusted_issuers: frozenset[str] | None) -> CheckResult:
    if trusted_issuers is None:
        return CheckResult.skipped("trust", "no registry of trusted issuers is configured")
    issuer = issuer_id(credential)
    if issuer in trusted_issuers:
        return CheckResult.passed("trust", f"{issuer} is a trusted issuer")
    return CheckResult("trust", "warning", "untrusted_issuer", f"{issuer} is not in the registry of trusted issuers")
