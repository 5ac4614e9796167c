"""Verifying credentials: a library first (no Flask, no database, no network of its own).

`verify_credential` runs the checks in `verifier.checks` in order and returns a `Report`. It
never raises for a bad credential; a bad credential is data, reported check by check.
"""

from verifier.report import CheckResult, Report
from verifier.resolvers import DidResolver, ResolutionError
from verifier.verify import Policy, Verifier, verify_credential

__all__ = ["CheckResult", "DidResolver", "Policy", "Report", "ResolutionError", "Verifier", "verify_credential"]
