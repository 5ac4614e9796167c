"""`validity`: now lies between validFrom and validUntil (VC 1.1: issuanceDate, expirationDate)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from dataintegrity import parse_date_time_stamp
from verifier.report import CheckResult

# Longer text is no date-time stamp anyone writes; it is parsed (and refused) without being kept.
_REMEMBERED_LENGTH = 40


def parse_instant(value) -> datetime | None:
    """`parse_date_time_stamp`, remembered: every verification of a credential, and of the status
    lists it names, reads the same few dates again."""
    if isinstance(value, str) and len(value) <= _REMEMBERED_LENGTH:
        return _remembered_instant(value)
    return parse_date_time_stamp(value)


@lru_cache(maxsize=1024)
def _remembered_instant(text: str) -> datetime | None:
    return parse_date_time_stamp(text)


def check_validity(credential: dict, *, now: datetime, skew: timedelta) -> CheckResult:
    start_field = "validFrom" if "validFrom" in credential else "issuanceDate"
    end_field = "validUntil" if "validUntil" in credential else "expirationDate"
    for name in (start_field, end_field):
        if name in credential and parse_instant(credential[name]) is None:
            return CheckResult.failed("validity", "invalid_date", f"{name} is not a date-time with a time zone")
    start, end = parse_instant(credential.get(start_field)), parse_instant(credential.get(end_field))
    if start and start - skew > now:
        return CheckResult.failed("validity", "not_yet_valid", f"not valid before {credential[start_field]}")
    if end and end + skew < now:
        return CheckResult.failed("validity", "expired", f"expired at {credential[end_field]}")
    return CheckResult.passed("validity", f"valid until {credential[end_field]}" if end else "valid, with no expiry")
