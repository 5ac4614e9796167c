"""XML Schema dateTimeStamp values, as VC dates and proof `created` values are written.

One parser for the issuer and the verifier, so a date we accept for signing is a date our
verifier reads the same way.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_DATE_TIME_STAMP = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T"
    r"(?:(?P<end_of_day>24:00:00(?:\.0+)?)|(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})(?P<fraction>\.[0-9]+)?)"
    r"(?P<zone>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


def parse_date_time_stamp(value) -> datetime | None:
    """The UTC instant of a dateTimeStamp (a date-time with a mandatory zone), or None when
    `value` is not one or lies outside years 1-9999.

    End-of-day `T24:00:00` is the next day's midnight; fractions beyond microseconds are cut.
    """
    match = _DATE_TIME_STAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    fraction = (match["fraction"] or "")[:7]
    try:
        if match["end_of_day"]:
            instant = datetime.fromisoformat(f"{match['date']}T00:00:00{zone}") + timedelta(days=1)
        else:
            instant = datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{zone}")
        return instant.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
