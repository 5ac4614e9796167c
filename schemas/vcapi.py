"""Request validation for the W3C VC API issuer endpoint ``POST /credentials/issue``.

Pure marshmallow (no Flask, no DB).  The HTTP layer does::

    try:
        request = IssueRequestSchema().load(payload)
    except ValidationError as err:
        errors = err.messages        # -> problem+json ``errors`` member

and signs ``request["credential"]`` -- a mapping with exactly the JSON content
the caller sent (same keys, same order, same nested objects; nothing is
normalised, defaulted or dropped).

Error-path convention
---------------------
``ValidationError.messages`` raised by :class:`IssueRequestSchema` is a *flat*
``dict[str, list[str]]``.  Each key is the path of the offending member in the
request body:

* ``"credential"`` / ``"options"`` -- the member itself (missing, not an
  object, null), with marshmallow's own messages;
* ``"credential.<path>"`` -- a rule broken inside the credential, where
  ``<path>`` is the path produced by :func:`credential_errors`: property names
  joined with ``.`` and array indices in brackets, e.g.
  ``"credential.issuer.id"``, ``"credential.credentialStatus[0].type"``,
  ``"credential.@context[0]"``.  A missing required property is reported at the
  path it should have had (``"credential.issuer"`` -> "Missing required
  property.");
* ``"options.<path>"`` -- same for the options object; an unknown option key is
  reported at ``"options.<key>"`` with "Unknown option.";
* ``"<key>"`` -- an unknown top-level request member (marshmallow's
  "Unknown field.");
* ``"_schema"`` -- the body is not a JSON object (marshmallow's
  "Invalid input type.").

Rules (section numbers refer to VCDM 2.0, W3C Recommendation; VC 1.1 where noted)
--------------------------------------------------------------------------------
* the credential is a JSON object;
* ``@context`` required (4.3).  VC 2.0: an array whose first item is
  ``https://www.w3.org/ns/credentials/v2``.  VC 1.1: the string
  ``https://www.w3.org/2018/credentials/v1`` or an array starting with it.
  Later items are absolute URLs or objects; the other version's base context
  may not appear (both are ``@protected`` and define the same terms);
* no top-level key starting with ``@`` other than ``@context``: a conforming
  document is compacted JSON-LD that uses the ``id``/``type`` aliases of the
  base context (conformance section / 4.4, 4.5; a project decision more than a
  spec sentence);
* ``id`` anywhere in the credential, when present, is a single URL (4.4);
* ``type`` required, a string or non-empty array of strings that contains
  ``VerifiableCredential`` (4.5);
* ``name`` / ``description``: a string, a language value object or a non-empty
  array of language value objects (4.6, 11.1);
* ``issuer`` required: a URL, or an object whose ``id`` is a URL (4.7);
* ``credentialSubject`` required: an object or non-empty array of objects,
  each with at least one property (4.8).  A subject that only carries ``id`` is
  accepted;
* VC 2.0: ``validFrom`` / ``validUntil`` optional ``dateTimeStamp`` strings and
  ``validFrom <= validUntil`` (4.9).  ``issuanceDate`` / ``expirationDate`` are
  rejected: the v2 context does not define them, so they would be undefined
  terms.  VC 1.1: ``issuanceDate`` required, ``expirationDate`` optional, same
  format (VC 1.1 4.6 / 4.7); ``validFrom`` / ``validUntil`` rejected (not in the
  v1 context);
* ``credentialStatus`` (4.10), ``credentialSchema`` (4.11), ``refreshService``
  (5.4), ``termsOfUse`` (5.5), ``evidence`` (5.6), and the reserved
  ``confidenceMethod`` / ``renderMethod`` (5.2): an object or non-empty array
  of objects, each with a ``type``.  ``credentialSchema`` items also need an
  ``id``; ``refreshService`` items need an ``id`` only for VC 1.1 (VC 2.0
  requires just ``type``);
* ``relatedResource`` (5.3): one or more objects, each with a unique ``id`` and
  a ``digestSRI`` or ``digestMultibase``, each well formed (see ``dataintegrity.digests``; the
  issuer cannot fetch the resource, the verifier compares the digests with it);
* ``proof`` is rejected by default: the VC API issuer receives a credential
  *without* a proof and adds its own.  The VC API lets an issuer instance be
  configured to append to existing proofs (proof sets/chains); this service
  does not, but a subclass can set ``allow_existing_proof = True`` to accept an
  existing ``proof`` (object or array of objects, each with a ``type``).

URL check: ``scheme ":" rest`` with an RFC 3986 scheme, a non-empty rest and
no whitespace/control characters; ``http``/``https`` URLs also need a host.
This accepts ``https:``, ``urn:uuid:``, ``did:`` ... and rejects relative
references and blank-node labels (``_:b0``).

``id`` values nested inside a ``jsonSchema`` member (the ``@json`` literal of a
JsonSchemaCredential) are not checked: that is JSON Schema, not JSON-LD.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from dataintegrity import parse_date_time_stamp
from dataintegrity.digests import DigestError, parse_digest_multibase, parse_digest_sri

__all__ = [
    "ALLOWED_OPTIONS",
    "VC_V1_CONTEXT",
    "VC_V2_CONTEXT",
    "IssueRequestSchema",
    "credential_errors",
    "is_date_time_stamp",
    "is_url",
    "options_errors",
    "vc_version",
]

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"

#: Keys accepted in ``options`` (VC API IssueCredentialOptions plus the
#: Data Integrity proof options the issuer passes through).
ALLOWED_OPTIONS = frozenset(
    {
        "created",
        "challenge",
        "domain",
        "credentialStatus",
        "mandatoryPointers",
        "credentialId",
        "proofId",
    }
)

# --- messages ---------------------------------------------------------------

MISSING = "Missing required property."
NOT_OBJECT = "Must be a JSON object."
NOT_URL = "Must be a URL (an absolute IRI with a scheme, e.g. https:, urn:uuid:, did:)."
NOT_DATETIME = (
    "Must be an XML Schema dateTimeStamp with a time zone, e.g. 2010-01-01T19:23:24Z."
)
EMPTY_ARRAY = "Must not be an empty array."
OBJECT_OR_ARRAY = "Must be an object or a non-empty array of objects."
BAD_TYPE_VALUE = "Must be a string or a non-empty array of strings."
BAD_TYPE_ITEM = "Must be a non-empty string without whitespace (a term or an absolute URL)."
UNKNOWN_OPTION = "Unknown option."

_SCHEME_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+")
_DATE_TIME_STAMP = re.compile(
    r"(?P<year>-?(?:[1-9][0-9]{3,}|0[0-9]{3}))"
    r"-(?P<month>0[1-9]|1[0-2])"
    r"-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"T(?:(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])"
    r"(?:\.(?P<frac>[0-9]+))?"
    r"|(?P<midnight>24:00:00(?:\.0+)?))"
    r"(?P<tz>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_JSON_POINTER = re.compile(r"(?:/(?:[^~/]|~[01])*)+")

# Members holding objects that MUST carry a ``type`` (and sometimes an ``id``).
_TYPED_MEMBERS = (
    "credentialStatus",
    "credentialSchema",
    "refreshService",
    "termsOfUse",
    "evidence",
    "confidenceMethod",
    "renderMethod",
)
# ``@json`` literals whose nested ``id`` keys are not JSON-LD identifiers.
_JSON_LITERAL_MEMBERS = frozenset({"jsonSchema"})


# --- small predicates -------------------------------------------------------


def is_url(value: Any) -> bool:
    """True when *value* is a string holding an absolute URL/IRI (see module doc)."""
    if not isinstance(value, str) or not _SCHEME_URL.fullmatch(value):
        return False
    scheme = value.split(":", 1)[0].lower()
    if scheme in ("http", "https"):
        try:
            return bool(urlsplit(value).netloc)
        except ValueError:
            return False
    return True


def _parse_date_time_stamp(value: Any) -> tuple[datetime, Decimal] | None | Literal[False]:
    """False when not a dateTimeStamp; None when valid but outside datetime's
    range; else (UTC instant to the second, fractional seconds)."""
    if not isinstance(value, str):
        return False
    m = _DATE_TIME_STAMP.fullmatch(value)
    if m is None:
        return False
    year, month, day = int(m["year"]), int(m["month"]), int(m["day"])
    # XSD 1.1 years are proleptic Gregorian with a year 0000 (a leap year).
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 29 if month == 2 and leap else calendar.monthrange(2001, month)[1]
    if day > days:
        return False
    if not 1 <= year <= 9999:
        return None
    tz = m["tz"]
    if tz == "Z":
        offset = timedelta(0)
    else:
        sign = 1 if tz[0] == "+" else -1
        offset = sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    if m["midnight"]:
        hour = minute = second = 0
        frac = Decimal(0)
        extra = timedelta(days=1)
    else:
        hour, minute, second = int(m["hour"]), int(m["minute"]), int(m["second"])
        frac = Decimal("0." + m["frac"]) if m["frac"] else Decimal(0)
        extra = timedelta(0)
    try:
        instant = (
            datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset)) + extra
        ).astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    return instant, frac


def is_date_time_stamp(value: Any) -> bool:
    """True when *value* is an XML Schema 1.1 ``dateTimeStamp`` string
    (``dateTime`` with a mandatory ``Z`` or ``±hh:mm`` offset)."""
    # Also readable by the shared parser our verifier uses, so we never sign a date we cannot check.
    return _parse_date_time_stamp(value) is not False and parse_date_time_stamp(value) is not None


# --- error collection -------------------------------------------------------


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _index(base: str, i: int) -> str:
    return f"{base}[{i}]"


class _Errors:
    def __init__(self) -> None:
        self.map: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.map.setdefault(path, []).append(message)


def _objects(value: Any, path: str, errs: _Errors) -> list[tuple[str, Any]] | None:
    """Normalise "object or non-empty array of objects" to (path, item) pairs."""
    if isinstance(value, dict):
        return [(path, value)]
    if isinstance(value, list):
        if not value:
            errs.add(path, EMPTY_ARRAY)
            return None
        return [(_index(path, i), item) for i, item in enumerate(value)]
    errs.add(path, OBJECT_OR_ARRAY)
    return None


def _check_type_value(value: Any, path: str, errs: _Errors, required: str | None = None) -> None:
    if isinstance(value, str):
        items = [(path, value)]
    elif isinstance(value, list):
        if not value:
            errs.add(path, EMPTY_ARRAY)
            return
        items = [(_index(path, i), item) for i, item in enumerate(value)]
    else:
        errs.add(path, BAD_TYPE_VALUE)
        return
    ok = True
    for item_path, item in items:
        if not isinstance(item, str) or not item or any(c.isspace() for c in item):
            errs.add(item_path, BAD_TYPE_ITEM)
            ok = False
    if ok and required is not None and required not in [v for _, v in items]:
        errs.add(path, f'Must include "{required}".')


def _check_language_string(value: Any, path: str, errs: _Errors) -> None:
    """String, language value object, or non-empty array of language value objects."""
    if isinstance(value, str):
        return
    if isinstance(value, dict):
        _check_language_value_object(value, path, errs)
        return
    if isinstance(value, list):
        if not value:
            errs.add(path, EMPTY_ARRAY)
        for i, item in enumerate(value):
            p = _index(path, i)
            if isinstance(item, dict):
                _check_language_value_object(item, p, errs)
            else:
                errs.add(p, 'Must be a language value object ({"@value", "@language"?, "@direction"?}).')
        return
    errs.add(path, "Must be a string, a language value object or an array of language value objects.")


def _check_language_value_object(obj: dict, path: str, errs: _Errors) -> None:
    if "@value" not in obj:
        errs.add(_join(path, "@value"), MISSING)
    elif not isinstance(obj["@value"], str):
        errs.add(_join(path, "@value"), "Must be a string.")
    if "@language" in obj:
        lang = obj["@language"]
        if not isinstance(lang, str) or not _LANGUAGE_TAG.fullmatch(lang):
            errs.add(_join(path, "@language"), "Must be a well-formed BCP 47 language tag.")
    if "@direction" in obj and obj["@direction"] not in ("ltr", "rtl"):
        errs.add(_join(path, "@direction"), 'Must be "ltr" or "rtl".')
    for key in obj:
        if key not in ("@value", "@language", "@direction"):
            errs.add(_join(path, key), "Not allowed in a language value object.")


def _check_ids(value: Any, path: str, errs: _Errors) -> None:
    """Every ``id`` member in nested objects must be a URL."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("@") or key in _JSON_LITERAL_MEMBERS:
                continue
            p = _join(path, key)
            if key == "id":
                if not is_url(item):
                    errs.add(p, NOT_URL)
            else:
                _check_ids(item, p, errs)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_ids(item, _index(path, i), errs)


# --- @context / version -----------------------------------------------------


def vc_version(credential: Any) -> Literal["2.0", "1.1"]:
    """Data-model version selected by the first ``@context`` item.

    ``"2.0"`` when ``@context`` is an array starting with :data:`VC_V2_CONTEXT`;
    ``"1.1"`` when it is :data:`VC_V1_CONTEXT` or an array starting with it.
    Raises :class:`ValueError` otherwise (no/unknown base context).
    """
    ctx = credential.get("@context") if isinstance(credential, dict) else None
    first = ctx[0] if isinstance(ctx, list) and ctx else ctx
    if first == VC_V2_CONTEXT and isinstance(ctx, list):
        return "2.0"
    if first == VC_V1_CONTEXT:
        return "1.1"
    raise ValueError("credential @context does not start with a known VC base context")


def _check_context(credential: dict, errs: _Errors) -> str | None:
    if "@context" not in credential:
        errs.add("@context", MISSING)
        return None
    ctx = credential["@context"]
    if isinstance(ctx, str):
        if ctx == VC_V1_CONTEXT:
            return "1.1"
        if ctx == VC_V2_CONTEXT:
            errs.add("@context", f'Must be an array whose first item is "{VC_V2_CONTEXT}".')
            return "2.0"
        errs.add("@context", f'Must be an array whose first item is "{VC_V2_CONTEXT}" (or "{VC_V1_CONTEXT}").')
        return None
    if not isinstance(ctx, list):
        errs.add("@context", "Must be an array of URLs and/or objects.")
        return None
    if not ctx:
        errs.add("@context", EMPTY_ARRAY)
        return None
    version: str | None
    if ctx[0] == VC_V2_CONTEXT:
        version, other = "2.0", VC_V1_CONTEXT
    elif ctx[0] == VC_V1_CONTEXT:
        version, other = "1.1", VC_V2_CONTEXT
    else:
        errs.add("@context[0]", f'Must be "{VC_V2_CONTEXT}" (or "{VC_V1_CONTEXT}").')
        version, other = None, None
    for i, item in enumerate(ctx[1:], start=1):
        p = _index("@context", i)
        if isinstance(item, dict):
            continue
        if not is_url(item):
            errs.add(p, "Must be a URL or a context object.")
        elif other is not None and item == other:
            errs.add(p, "Must not mix the VC 1.1 and VC 2.0 base contexts.")
    return version


# --- the credential ---------------------------------------------------------


def credential_errors(credential: Any, *, allow_existing_proof: bool = False) -> dict[str, list[str]]:
    """Field path -> messages for every rule *credential* breaks; ``{}`` when it may be issued.

    Paths are relative to the credential: ``"issuer.id"``,
    ``"credentialStatus[0].type"``, ``"@context[0]"``; the credential itself
    (when it is not a JSON object) is ``""``.  *credential* is never mutated.
    See the module docstring for the rules.
    """
    if not isinstance(credential, dict):
        return {"": [NOT_OBJECT]}
    errs = _Errors()
    version = _check_context(credential, errs)

    for key in credential:
        if isinstance(key, str) and key.startswith("@") and key != "@context":
            errs.add(key, "JSON-LD keywords other than @context are not allowed here; use id/type.")

    # type (4.5)
    if "type" not in credential:
        errs.add("type", MISSING)
    else:
        _check_type_value(credential["type"], "type", errs, required="VerifiableCredential")

    # name / description (4.6)
    for key in ("name", "description"):
        if key in credential:
            _check_language_string(credential[key], key, errs)

    # issuer (4.7)
    if "issuer" not in credential:
        errs.add("issuer", MISSING)
    else:
        issuer = credential["issuer"]
        if isinstance(issuer, dict):
            if "id" not in issuer:
                errs.add("issuer.id", MISSING)
        elif isinstance(issuer, str):
            if not is_url(issuer):
                errs.add("issuer", NOT_URL)
        else:
            errs.add("issuer", "Must be a URL or an object with a URL id.")

    # credentialSubject (4.8)
    if "credentialSubject" not in credential:
        errs.add("credentialSubject", MISSING)
    else:
        for path, subject in _objects(credential["credentialSubject"], "credentialSubject", errs) or []:
            if not isinstance(subject, dict):
                errs.add(path, NOT_OBJECT)
            elif not subject:
                errs.add(path, "Must contain at least one claim.")

    _check_dates(credential, version, errs)

    # credentialStatus, credentialSchema, refreshService, termsOfUse, evidence, reserved
    for key in _TYPED_MEMBERS:
        if key not in credential:
            continue
        require_id = key == "credentialSchema" or (key == "refreshService" and version == "1.1")
        _check_typed_objects(credential[key], key, errs, require_id=require_id)

    if "relatedResource" in credential:
        _check_related_resources(credential["relatedResource"], errs)

    # proof (VC API: the issuer receives a credential without a proof)
    if "proof" in credential:
        if allow_existing_proof:
            _check_typed_objects(credential["proof"], "proof", errs, require_id=False)
        else:
            errs.add("proof", "Must not be present: the issuer adds the proof.")

    # id everywhere (4.4)
    for key, value in credential.items():
        if key == "@context" or (key == "proof" and not allow_existing_proof):
            continue
        if key == "id":
            if not is_url(value):
                errs.add("id", NOT_URL)
        elif isinstance(key, str) and not key.startswith("@") and key not in _JSON_LITERAL_MEMBERS:
            _check_ids(value, key, errs)

    return errs.map


def _check_typed_objects(value: Any, path: str, errs: _Errors, *, require_id: bool) -> None:
    for item_path, obj in _objects(value, path, errs) or []:
        if not isinstance(obj, dict):
            errs.add(item_path, NOT_OBJECT)
            continue
        if "type" not in obj:
            errs.add(_join(item_path, "type"), MISSING)
        else:
            _check_type_value(obj["type"], _join(item_path, "type"), errs)
        if require_id and "id" not in obj:
            errs.add(_join(item_path, "id"), MISSING)


def _check_related_resources(value: Any, errs: _Errors) -> None:
    seen: set[str] = set()
    for path, obj in _objects(value, "relatedResource", errs) or []:
        if not isinstance(obj, dict):
            errs.add(path, NOT_OBJECT)
            continue
        rid = obj.get("id")
        if "id" not in obj:
            errs.add(_join(path, "id"), MISSING)
        elif isinstance(rid, str):
            if rid in seen:
                errs.add(_join(path, "id"), "Must be unique among related resources.")
            seen.add(rid)
        if "digestSRI" not in obj and "digestMultibase" not in obj:
            errs.add(path, "Must contain digestSRI or digestMultibase.")
        for key, parse in (("digestSRI", parse_digest_sri), ("digestMultibase", parse_digest_multibase)):
            if key in obj:
                try:
                    parse(obj[key])
                except DigestError as error:
                    errs.add(_join(path, key), f"{error}.")


def _check_dates(credential: dict, version: str | None, errs: _Errors) -> None:
    if version == "2.0":
        allowed, required, foreign = ("validFrom", "validUntil"), (), ("issuanceDate", "expirationDate")
        foreign_msg = "Not defined by the VC 2.0 context; use validFrom/validUntil."
    elif version == "1.1":
        allowed, required, foreign = ("issuanceDate", "expirationDate"), ("issuanceDate",), ("validFrom", "validUntil")
        foreign_msg = "Not defined by the VC 1.1 context; use issuanceDate/expirationDate."
    else:  # unknown version: only check the format of whatever is there
        allowed, required, foreign, foreign_msg = (
            ("validFrom", "validUntil", "issuanceDate", "expirationDate"), (), (), "")
    parsed: dict[str, Any] = {}
    for key in allowed:
        if key not in credential:
            if key in required:
                errs.add(key, MISSING)
            continue
        parsed[key] = _parse_date_time_stamp(credential[key])
        if parsed[key] is False:
            errs.add(key, NOT_DATETIME)
    for key in foreign:
        if key in credential:
            errs.add(key, foreign_msg)
    start, end = parsed.get("validFrom"), parsed.get("validUntil")
    if start and end and start > end:
        errs.add("validUntil", "Must not be earlier than validFrom.")


# --- options ----------------------------------------------------------------


def options_errors(options: Any) -> dict[str, list[str]]:
    """Field path (relative to ``options``) -> messages; ``{}`` when acceptable.

    Accepted keys: :data:`ALLOWED_OPTIONS`.  ``created`` dateTimeStamp;
    ``challenge`` non-empty string; ``domain`` non-empty string or non-empty
    array of them; ``credentialStatus`` object with a ``type``;
    ``mandatoryPointers`` array of JSON Pointers (RFC 6901, starting with
    ``/``); ``credentialId`` non-empty string; ``proofId`` URL.
    """
    if not isinstance(options, dict):
        return {"": [NOT_OBJECT]}
    errs = _Errors()
    for key, value in options.items():
        if key not in ALLOWED_OPTIONS:
            errs.add(key, UNKNOWN_OPTION)
        elif key == "created":
            if not is_date_time_stamp(value):
                errs.add(key, NOT_DATETIME)
        elif key in ("challenge", "credentialId"):
            if not isinstance(value, str) or not value:
                errs.add(key, "Must be a non-empty string.")
        elif key == "domain":
            items = value if isinstance(value, list) else [value]
            if not items or not all(isinstance(d, str) and d for d in items):
                errs.add(key, "Must be a non-empty string or a non-empty array of non-empty strings.")
        elif key == "credentialStatus":
            if not isinstance(value, dict):
                errs.add(key, NOT_OBJECT)
            elif "type" not in value:
                errs.add(_join(key, "type"), MISSING)
            elif not isinstance(value["type"], str) or not value["type"]:
                errs.add(_join(key, "type"), "Must be a non-empty string.")
        elif key == "mandatoryPointers":
            if not isinstance(value, list):
                errs.add(key, "Must be an array of JSON Pointers.")
                continue
            for i, pointer in enumerate(value):
                if not isinstance(pointer, str) or not _JSON_POINTER.fullmatch(pointer):
                    errs.add(_index(key, i), 'Must be a JSON Pointer starting with "/".')
        elif key == "proofId":
            if not is_url(value):
                errs.add(key, NOT_URL)
    return errs.map


# --- the request schema -----------------------------------------------------


def _prefixed(prefix: str, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {(_join(prefix, path) if path else prefix): msgs for path, msgs in errors.items()}


class IssueRequestSchema(Schema):
    """Body of ``POST /credentials/issue``: ``{"credential": {...}, "options": {...}}``.

    Unknown top-level members are rejected.  ``load`` returns
    ``{"credential": <same JSON content as sent>, "options": <same, or {}>}``
    or raises :class:`marshmallow.ValidationError` whose ``messages`` follow
    the flat path convention in the module docstring.
    """

    #: Accept a credential that already carries a ``proof`` (proof sets).
    allow_existing_proof: ClassVar[bool] = False

    class Meta:
        unknown = RAISE

    credential = fields.Dict(required=True)
    options = fields.Dict(load_default=dict)

    @validates_schema(skip_on_field_errors=False)
    def _check_members(self, data: dict, **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if "credential" in data:
            errors.update(_prefixed(
                "credential",
                credential_errors(data["credential"], allow_existing_proof=self.allow_existing_proof),
            ))
        if "options" in data:
            errors.update(_prefixed("options", options_errors(data["options"])))
        if errors:
            raise ValidationError(errors)
