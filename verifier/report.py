"""The verification report of ../shared/INTERFACES.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

PASSED, FAILED, WARNING, SKIPPED = "passed", "failed", "warning", "skipped"


def timestamp(moment: datetime) -> str:
    """2026-11-25T12:00:00Z: the report's form of an instant."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: str
    code: str | None = None
    message: str = ""

    @classmethod
    def passed(cls, check: str, message: str = "") -> CheckResult:
        return cls(check, PASSED, None, message)

    @classmethod
    def failed(cls, check: str, code: str, message: str) -> CheckResult:
        return cls(check, FAILED, code, message)

    @classmethod
    def skipped(cls, check: str, message: str) -> CheckResult:
        return cls(check, SKIPPED, None, message)

    def to_dict(self) -> dict:
        result = {"check": self.check, "status": self.status}
        if self.code:
            result["code"] = self.code
        result["message"] = self.message
        return result


@dataclass(frozen=True)
class Report:
    checks: tuple[CheckResult, ...]
    checked_at: datetime
    credential: dict = field(default_factory=dict)
    # The reports of the credentials a ClrCredential embeds, in its order; None for any other.
    credentials: tuple[Report, ...] | None = None

    @property
    def own_verified(self) -> bool:
        """The credential's own checks pass (nested credentials aside)."""
        return all(c.status in (PASSED, WARNING, SKIPPED) for c in self.checks) and any(
            c.check == "proof" and c.status == PASSED for c in self.checks
        )

    @property
    def verified(self) -> bool:
        """Its own checks pass and so does every credential it embeds: a record holding a revoked
        or forged credential does not verify as a whole, though each nested report says which."""
        return self.own_verified and all(r.verified for r in self.credentials or ())

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.check == name), None)

    def to_dict(self) -> dict:
        result = {
            "verified": self.verified,
            "checks": [c.to_dict() for c in self.checks],
            "credential": self.credential,
            "checked_at": timestamp(self.checked_at),
        }
        if self.credentials is not None:
            result["credentials"] = [r.to_dict() for r in self.credentials]
        return result
