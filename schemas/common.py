"""Shared field types for our API schemas."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import isodate
from marshmallow import ValidationError, fields, validate

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]\Z")


# Durations are measured from this date; the longest is 1000 years from it.
_REFERENCE = datetime(2000, 1, 1)
MAX_DURATION = datetime(3000, 1, 1) - _REFERENCE


CREDENTIAL_FORMATS = ("ldp", "jwt")


def credential_format(**kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(CREDENTIAL_FORMATS), metadata={"enum": list(CREDENTIAL_FORMATS),
        "description": '"ldp": JSON-LD with a Data Integrity proof; "jwt": the Open Badges 3.0 VC-JWT (answered and baked as the JWT)'}, **kwargs)


class Duration(fields.String):
    """A positive ISO 8601 duration such as P1Y or P6M15D, kept as its text."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"format": "duration", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 64:
            raise ValidationError("Not an ISO 8601 duration such as P1Y or P90D.")
        try:
            duration = isodate.parse_duration(text)
        except (isodate.ISO8601Error, ValueError, OverflowError) as exc:  # P99999999999999999999D overflows
            raise ValidationError("Not an ISO 8601 duration such as P1Y or P90D.") from exc
        if isinstance(duration, timedelta):
            positive = duration > timedelta(0)
        else:  # isodate.Duration with years or months
            positive = duration.years > 0 or duration.months > 0 or duration.tdelta > timedelta(0)
            positive = positive and duration.years >= 0 and duration.months >= 0 and duration.tdelta >= timedelta(0)
        if not positive:
            raise ValidationError("The duration must be longer than zero.")
        # Added to a date, a longer one would run past the year 9999 that dates can hold.
        try:
            too_long = (_REFERENCE + duration) - _REFERENCE > MAX_DURATION
        except (OverflowError, ValueError):
            too_long = True
        if too_long:
            raise ValidationError("The duration is too long; at most 1000 years.")
        return text


# Characters RFC 3987 forbids in an IRI; in a signed document they would break N-Quads.
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f]')


def _iri_safe(value: str) -> None:
    if _NOT_IN_IRI.search(value):
        raise ValidationError("The URL has characters that are not allowed in a URL; percent-encode them.")


def http_url(**kwargs) -> fields.Url:
    kwargs["metadata"] = {"format": "uri", **kwargs.get("metadata", {})}
    return fields.Url(
        schemes={"http", "https"}, require_tld=False, validate=[validate.Length(max=2048), _iri_safe], **kwargs
    )


EXTENSION_TERM = re.compile(r"^ext:[A-Za-z0-9._-]+\Z")


def vocabulary_schema(terms) -> dict:
    """The same rule in JSON Schema, for the OpenAPI document."""
    return {"anyOf": [{"enum": list(terms)}, {"pattern": EXTENSION_TERM.pattern}]}


def vocabulary(terms, *, error: str):
    """A validator for an Open Badges extensible vocabulary: one of `terms`, or `ext:<name>`."""
    allowed = frozenset(terms)

    def check(value: str) -> None:
        if value not in allowed and not EXTENSION_TERM.match(value):
            raise ValidationError(error)

    return check


# Scores are stored as NUMERIC(12, 4).
MAX_SCORE = Decimal("99999999.9999")


class Score(fields.Decimal):
    """A JSON number (a numeric string is refused), exact as a Decimal, at most 4 decimal places
    and 99999999.9999, because that is what the database stores without rounding. Answered as a
    JSON number too: 70, or 72.5 (a float holds 12 digits exactly)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=0, max=MAX_SCORE))
        super().__init__(as_string=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a number.")
        number = super()._deserialize(value, attr, data, **kwargs)
        if number.as_tuple().exponent < -4:
            raise ValidationError("Use at most 4 decimal places.")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)


class IssuerSlug(fields.String):
    """The slug of the object's `issuer`, or null when it has none (an instance-wide token or entry)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def get_value(self, obj, attr, accessor=None, default=None):
        issuer = super().get_value(obj, attr, accessor=accessor)
        return getattr(issuer, "slug", None)
