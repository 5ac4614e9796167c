"""Credentials about to expire: which ones, in what order, and the paging cursor for that order.

Shared by `GET /api/v1/credentials?expiring_within=` and `badges expiring`. A credential is
"about to expire" when its `valid_until` falls between now and now plus the window (both ends
included), it is not revoked, and it was not renewed (a renewed one has a successor already).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

import isodate
from marshmallow import ValidationError
from sqlalchemy import ColumnElement, and_, or_

from issuer.models import Credential, is_id
from schemas.common import MAX_DURATION, Duration

# Soonest first; the id breaks ties, so the order (and so the paging) is total.
ORDER = (Credential.valid_until.asc(), Credential.id.asc())

# A cursor is the last row's position in ORDER: "<valid_until in UTC, microseconds>_<id>", made of
# characters that need no escaping in a query string. It names no row, so it leaks nothing.
_CURSOR_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)_([0-9a-f-]{36})\Z")

# `badges expiring --within`: a number of hours, days or weeks ("30d"), or an ISO 8601 duration.
_SHORT_WINDOW = re.compile(r"^(\d{1,6})([hdw])\Z")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def expiring(now: datetime, until: datetime) -> ColumnElement[bool]:
    """Credentials whose validity ends in [now, until], neither revoked nor renewed."""
    return and_(
        Credential.valid_until >= now,
        Credential.valid_until <= until,
        Credential.status != "revoked",
        Credential.renewed_by_id.is_(None),
    )


def window_end(now: datetime, duration: str) -> datetime:
    """`now` plus an ISO 8601 duration the `Duration` field accepted (so it fits in a date)."""
    return now + isodate.parse_duration(duration)


def cursor_of(credential: Credential) -> str:
    return f"{credential.valid_until.astimezone(timezone.utc).strftime(_CURSOR_TIME)}_{credential.id}"


def after(cursor: str) -> ColumnElement[bool] | None:
    """The rows after `cursor` in ORDER; None when `cursor` is not one of ours."""
    match = _CURSOR.match(cursor)
    if match is None or not is_id(match[2]):
        return None
    try:
        valid_until = datetime.strptime(match[1], _CURSOR_TIME).replace(tzinfo=timezone.utc)
    except ValueError:  # the shape of a time, but no such day (month 13, say)
        return None
    return or_(
        Credential.valid_until > valid_until,
        and_(Credential.valid_until == valid_until, Credential.id > match[2]),
    )


def parse_window(text: str) -> timedelta | isodate.Duration:
    """The command line's window: 12h, 30d, 2w, or an ISO 8601 duration such as P30D.

    :raise ValueError: with a message for the operator.
    """
    text = text.strip()
    short = _SHORT_WINDOW.match(text.lower())
    if short:
        window = timedelta(**{_UNITS[short[2]]: int(short[1])})
        if not window:
            raise ValueError(f"the window {text!r} must be longer than zero")
        if window > MAX_DURATION:
            raise ValueError(f"the window {text!r} is too long; at most 1000 years")
        return window
    if not text.upper().startswith(("P", "-P")):
        raise ValueError(f"the window {text!r} is not a number of hours, days or weeks (12h, 30d, 2w) "
                         "nor an ISO 8601 duration (P30D)")
    try:
        return isodate.parse_duration(Duration().deserialize(text.upper()))
    except ValidationError as error:
        raise ValueError(f"the window {text!r} is not valid: {' '.join(error.messages)}") from None


def days_left(credential: Credential, now: datetime) -> int:
    """Whole days until it expires, rounded up as in the reminder emails: 1 for the last day."""
    return math.ceil((credential.valid_until - now) / timedelta(days=1))
