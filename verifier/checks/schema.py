"""`schema`: the credential is valid against the JSON Schemas it declares.

Each `credentialSchema` entry of type `1EdTechJsonSchemaValidator2019` or `JsonSchema` is applied
with the `jsonschema` library: the Open Badges 3.0 schemas from the copies this package holds
(verifier.jsonschemas, used offline), any other URL through the verification's guarded fetch;
a schema that cannot be had is a warning (`schema_unavailable`), not a failure. Each error names
its JSON path (`$.credentialSubject.identifier[0].hashed: ...`). A schema this package holds is
first asked of `jsonschema_rs` (the same schema and format checks, in Rust, a hundred times
faster): its "valid" is the answer, and only an instance it finds invalid is validated again by
`jsonschema`, whose errors (or none) are the ones reported (see `BundledSchema`).

An Open Badges credential that declares no usable schema gets the hand-written check below, kept
in agreement with the official AchievementCredential schema (tests/verifier/test_schema_check.py).
Rules only the specification's prose states (a subject with neither `id` nor `identifier`, a
criteria with neither `id` nor `narrative`) are warnings (`ob_prose_rule`): the official schema
and other verifiers accept such credentials. So is a `credentialStatus` set (`ob_status_set`), which
VC Data Model 2.0 allows and the OB schema does not: an issuer with suspension enabled issues it
and then declares no OB schema.

A report, never a crash.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache, partial

import jsonschema_rs
import regex
from jsonschema import FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from jsonschema.validators import extend, validator_for
from referencing import Registry
from referencing.exceptions import Unresolvable

from verifier.jsonschemas import BUNDLED_SCHEMA_FILES, bundled_schema
from verifier.report import WARNING, CheckResult

CHECK = "schema"
OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
SCHEMA_TYPES = {"1EdTechJsonSchemaValidator2019", "JsonSchema"}
MAX_ERRORS = 10  # reported per schema; more only hide the first ones
MAX_SCHEMAS = 4  # declared schemas applied; more are an attack on our time
# A fetched schema is anyone's: its regular expressions (`pattern`, `patternProperties`) run with
# a time limit each and in all, so a catastrophic-backtracking pattern costs a warning, not a worker.
PATTERN_SECONDS = 0.05
PATTERNS_SECONDS = 0.5


def _types(node) -> list[str]:
    """The node's type names; anything in `type` that is not a string names no type."""
    value = node.get("type") if isinstance(node, dict) else None
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [v for v in values if isinstance(v, str)]


def _items(value) -> list:
    return value if isinstance(value, list) else [value]


# --- declared schemas ---------------------------------------------------------------------------

class _Unavailable(Exception):
    pass


def _validator(schema: dict, *, trusted: bool):
    """A validator for `schema`; an untrusted (fetched) one matches its patterns under time limits."""
    if not isinstance(schema, dict):
        raise _Unavailable("it is not a JSON Schema object")
    try:
        cls = validator_for(schema)
        cls.check_schema(schema)
    except SchemaError as error:
        raise _Unavailable(f"it is not a valid JSON Schema ({error.message})") from None
    except Exception as error:  # a hostile schema may break the meta-validation itself
        raise _Unavailable(f"it cannot be read as a JSON Schema ({error.__class__.__name__})") from None
    if not trusted:
        cls = _time_limited(cls)
    # No $ref leaves the document: a registry that retrieves nothing.
    return cls(schema, registry=Registry(), format_checker=FormatChecker())


def _time_limited(cls):
    deadline = time.monotonic() + PATTERNS_SECONDS

    def search(pattern: str, text: str):
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Unavailable(f"its patterns took more than {PATTERNS_SECONDS} s")
        try:
            return regex.search(pattern, text, timeout=min(PATTERN_SECONDS, left))
        except TimeoutError:
            raise _Unavailable(f"its pattern {pattern[:80]!r} took too long") from None
        except regex.error:
            raise _Unavailable(f"its pattern {pattern[:80]!r} is not a regular expression we read") from None

    def pattern(validator, value, instance, _schema):
        if validator.is_type(instance, "string") and isinstance(value, str) and not search(value, instance):
            yield ValidationError(f"{instance[:80]!r} does not match {value[:80]!r}")

    def pattern_properties(validator, value, instance, _schema):
        if not validator.is_type(instance, "object") or not isinstance(value, dict):
            return
        for expression, subschema in value.items():
            for key, item in instance.items():
                if search(expression, key):
                    yield from validator.descend(item, subschema, path=key, schema_path=expression)

    return extend(cls, {"pattern": pattern, "patternProperties": pattern_properties})


class BundledSchema:
    """A schema this package holds (so trusted), with two validators of it. `fast` (jsonschema_rs)
    decides that an instance is valid; only an instance it finds invalid is validated by
    `reference` (`jsonschema`, as any schema is), whose errors are the ones reported, with their
    JSON paths, and whose "valid" wins (jsonschema_rs anchors `$` at the very end, so it refuses
    a trailing newline that Python's `re` accepts). Their agreement is tested on every credential
    fixture and on generated mutations (tests/verifier/test_schema_fast_path.py).

    :param fast: anything with ``is_valid(instance) -> bool``; None: `reference` alone.
    """

    def __init__(self, schema: dict, fast=None):
        self.reference = _validator(schema, trusted=True)
        self.fast = fast

    @classmethod
    def of(cls, schema: dict) -> BundledSchema:
        return cls(schema, _fast_validator(schema))

    def errors(self, instance) -> list[str]:
        if self.fast is not None and self._fast_valid(instance):
            return []
        return _schema_errors(self.reference, instance)

    def _fast_valid(self, instance) -> bool:
        try:
            return self.fast.is_valid(instance)
        except Exception:  # an instance it cannot read (a non-string key): the reference decides
            return False


def _fast_validator(schema: dict):
    """jsonschema_rs's validator of `schema`, whose format checks are `jsonschema`'s own (the same
    functions the reference calls), and which retrieves nothing."""
    checker = FormatChecker()
    formats = {name: _remembered(partial(checker.conforms, format=name)) for name in checker.checkers}
    return jsonschema_rs.validator_for(schema, formats=formats, validate_formats=True,
                                       retriever=_retrieve_nothing)


def _remembered(conforms):
    """`conforms` with its verdicts on short texts kept (dates recur in every credential)."""
    kept = lru_cache(maxsize=4096)(conforms)
    return lambda text: kept(text) if len(text) <= 64 else conforms(text)


def _retrieve_nothing(uri: str):
    raise _Unavailable(f"it refers to {uri}, which this verifier does not hold")


_BUNDLED: dict[str, BundledSchema] = {}
# Building a validator takes a fifth of a second: the threads of a new worker that all meet a
# schema at once wait for one build instead of each making its own.
_BUILDING = threading.Lock()


def bundled_validator(url: str) -> BundledSchema | None:
    """The validator of a schema this package holds, built once; None for any other URL."""
    built = _BUNDLED.get(url)
    if built is not None or url not in BUNDLED_SCHEMA_FILES:  # any other URL is kept nowhere
        return built
    with _BUILDING:
        if url not in _BUNDLED:
            _BUNDLED[url] = BundledSchema.of(bundled_schema(url))
        return _BUNDLED[url]


def _schema_errors(validator, credential: dict) -> list[str]:
    try:
        errors = sorted(validator.iter_errors(credential), key=lambda e: list(e.absolute_path))
    except Unresolvable as error:
        raise _Unavailable(f"it refers to {error.ref}, which this verifier does not hold") from None
    found = []
    for error in errors[:MAX_ERRORS]:
        deepest = best_match([error]) or error
        found.append(f"{deepest.json_path}: {deepest.message[:300]}")
    if len(errors) > MAX_ERRORS:
        found.append(f"and {len(errors) - MAX_ERRORS} more")
    return found


def _declared(credential: dict) -> list[dict]:
    entries = credential.get("credentialSchema")
    if entries is None:
        return []
    return [e for e in _items(entries) if isinstance(e, dict)]


# --- the hand-written check, for OB credentials declaring no schema ---------------------------

def _string(value) -> bool:
    """A string or a language map ({"en": "..."}), as the OB schemas allow for text and URIs."""
    return isinstance(value, str) or (isinstance(value, dict) and bool(value)
                                      and all(isinstance(v, str) for v in value.values()))


def _check_profile(profile, where: str, found: list[str]) -> None:
    if not isinstance(profile, dict):
        found.append(f"{where}: not a Profile object")
        return
    if not _string(profile.get("id")):
        found.append(f"{where}.id: missing")
    if "Profile" not in _types(profile):
        found.append(f"{where}.type: must include Profile")
    _check_identifier_entries(profile, where, found)
    if "parentOrg" in profile:
        _check_profile(profile["parentOrg"], f"{where}.parentOrg", found)


def _check_identifier_entries(node: dict, where: str, found: list[str]) -> None:
    if "otherIdentifier" not in node:
        return
    entries = node["otherIdentifier"]
    for index, entry in enumerate(_items(entries)):
        at = f"{where}.otherIdentifier" + (f"[{index}]" if isinstance(entries, list) else "")
        if not isinstance(entry, dict) or entry.get("type") != "IdentifierEntry":
            found.append(f"{at}: must be an IdentifierEntry")
        elif not _string(entry.get("identifier")) or not isinstance(entry.get("identifierType"), str):
            found.append(f"{at}: needs an identifier and an identifierType")
        elif set(entry) - {"type", "identifier", "identifierType"}:
            found.append(f"{at}: has properties an IdentifierEntry does not have")


def _check_identity_objects(subject: dict, where: str, found: list[str]) -> None:
    if "identifier" not in subject:
        return
    objects = subject["identifier"]
    for index, item in enumerate(_items(objects)):
        at = f"{where}.identifier" + (f"[{index}]" if isinstance(objects, list) else "")
        if not isinstance(item, dict) or item.get("type") != "IdentityObject":
            found.append(f"{at}: must be an IdentityObject")
        elif not isinstance(item.get("hashed"), bool) or not _string(item.get("identityHash")) \
                or not isinstance(item.get("identityType"), str):
            found.append(f"{at}: needs hashed (a boolean), identityHash and identityType")
        elif set(item) - {"type", "hashed", "identityHash", "identityType", "salt"}:
            found.append(f"{at}: has properties an IdentityObject does not have")


def problems(credential: dict) -> tuple[list[str], list[str]]:
    """(what the OB 3.0 schema refuses, what only the spec's prose asks) of an OB credential."""
    return _refusals(credential), prose_rules(credential)


def _refusals(credential: dict) -> list[str]:
    found = []
    contexts = credential.get("@context")
    version_2 = isinstance(contexts, list) and bool(contexts) and contexts[0] == "https://www.w3.org/ns/credentials/v2"
    if not _string(credential.get("id")):
        found.append("id: missing or not a string")
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        _check_profile(issuer, "issuer", found)
    elif not isinstance(issuer, str):
        found.append("issuer: missing, or neither a URL nor a Profile")
    if version_2:
        if "validFrom" not in credential:
            found.append("validFrom: missing")
    elif "issuanceDate" not in credential:
        found.append("issuanceDate: missing")
    if "credentialSchema" in credential:
        for index, entry in enumerate(_items(credential["credentialSchema"])):
            if not isinstance(entry, dict) or not _string(entry.get("id")) or not _string(entry.get("type")):
                found.append(f"credentialSchema[{index}]: needs an id and a type")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return found + ["credentialSubject: missing or not an object"]
    where = "credentialSubject"
    if "AchievementSubject" not in _types(subject):
        found.append(f"{where}.type: must include AchievementSubject")
    _check_identity_objects(subject, where, found)
    if "result" in subject:
        for index, result in enumerate(_items(subject["result"])):
            if "Result" not in _types(result):
                found.append(f"{where}.result[{index}].type: must include Result")
    achievement = subject.get("achievement")
    if not isinstance(achievement, dict):
        return found + [f"{where}.achievement: missing or not an object"]
    where = f"{where}.achievement"
    for field in ("id", "name", "description"):
        if not _string(achievement.get(field)):
            found.append(f"{where}.{field}: missing or not a string")
    if "Achievement" not in _types(achievement):
        found.append(f"{where}.type: must include Achievement")
    _check_identifier_entries(achievement, where, found)
    if not isinstance(achievement.get("criteria"), dict):
        found.append(f"{where}.criteria: missing or not an object")
    if "creator" in achievement:
        _check_profile(achievement["creator"], f"{where}.creator", found)
    return found


def prose_rules(credential: dict) -> list[str]:
    """What only the spec's prose (or VC Data Model 2.0 against the OB schema) says of an OB
    credential: asked even when a schema was applied, so it is kept apart and cheap."""
    prose = []
    if isinstance(credential.get("credentialStatus"), list):
        # The OB schema allows one entry; VC Data Model 2.0 a set (revocation and suspension).
        prose.append("credentialStatus: several entries, which VC Data Model 2.0 allows and the OB 3.0 "
                     "JSON Schema does not")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return prose
    if "id" not in subject and not subject.get("identifier"):
        prose.append("credentialSubject: has neither an id nor an identifier")
    achievement = subject.get("achievement")
    criteria = achievement.get("criteria") if isinstance(achievement, dict) else None
    if isinstance(criteria, dict) and not (criteria.get("id") or criteria.get("narrative")):
        prose.append("credentialSubject.achievement.criteria: has neither an id nor a narrative")
    return prose


# --- the check ------------------------------------------------------------------------------------

def check_schema(credential: dict, *, fetch_json: Callable[[str], dict] | None = None,
                 bundled: Callable[[str], BundledSchema | None] = bundled_validator) -> CheckResult:
    """:param fetch_json: the verification's guarded fetch, for schemas this package does not hold
    (None: such schemas are reported unavailable).
    :param bundled: the validator of a schema this package holds, by URL (None: not held)."""
    failures: list[str] = []
    warnings: list[tuple[str, str]] = []
    applied = []
    declared = _declared(credential)
    for entry in declared[:MAX_SCHEMAS]:
        url, kinds = entry.get("id"), _types(entry)
        if not SCHEMA_TYPES & set(kinds):
            warnings.append(("schema_unsupported", f"credentialSchema type {', '.join(kinds) or '(none)'} is not checked"))
            continue
        if not isinstance(url, str) or not url:
            failures.append("credentialSchema: an entry has no id")
            continue
        try:
            held = bundled(url)
            if held is not None:
                errors = held.errors(credential)
            elif fetch_json is None:
                raise _Unavailable("this verifier fetches nothing")
            else:
                try:
                    schema = fetch_json(url)
                except Exception as error:  # any failure of the fetcher: unavailable
                    raise _Unavailable(f"it could not be fetched: {error}") from None
                errors = _schema_errors(_validator(schema, trusted=False), credential)
        except _Unavailable as error:
            warnings.append(("schema_unavailable", f"the schema {url} was not applied: {error}"))
            continue
        applied.append(url)
        failures.extend(f"{url.rsplit('/', 1)[-1]}: {e}" for e in errors)
    if len(declared) > MAX_SCHEMAS:
        warnings.append(("schema_unavailable", f"{len(declared)} schemas declared; only {MAX_SCHEMAS} were applied"))

    is_clr = "ClrCredential" in _types(credential)
    if is_clr and not applied:
        failures.extend(clr_problems(credential))
    is_ob = not is_clr and bool(OB_TYPES & set(_types(credential)))
    if is_ob:
        if not applied:
            failures.extend(_refusals(credential))
        warnings.extend(("ob_status_set" if message.startswith("credentialStatus") else "ob_prose_rule", message)
                        for message in prose_rules(credential))
    if failures:
        return CheckResult.failed(CHECK, "schema_invalid", "; ".join(failures))
    if warnings:
        return CheckResult(CHECK, WARNING, warnings[0][0], "; ".join(message for _code, message in warnings))
    if applied:
        return CheckResult.passed(CHECK, f"valid against {', '.join(applied)}")
    if is_clr:
        return CheckResult.passed(CHECK, "has the CLR 2.0 required fields (it declares no schema we apply)")
    if is_ob:
        return CheckResult.passed(CHECK, "has the Open Badges 3.0 required fields (it declares no schema)")
    return CheckResult.skipped(CHECK, "not an Open Badges credential and no schema declared; checked as a verifiable credential only")


def _text(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return isinstance(value.get("@value"), str)
    return isinstance(value, list) and bool(value) and all(_text(item) for item in value)


def clr_problems(credential: dict) -> list[str]:
    """What a ClrCredential (CLR 2.0) needs besides being a VC: a name, one ClrSubject (an id or an
    identifier) and at least one embedded credential (an object or a VC-JWT string). The embedded
    credentials are checked in their own reports."""
    found = []
    if not isinstance(credential.get("id"), str):
        found.append("id: missing or not a string")
    if not _text(credential.get("name")):
        found.append("name: missing or empty")
    issuer = credential.get("issuer")
    if not isinstance(issuer, (str, dict)) or (isinstance(issuer, dict) and not isinstance(issuer.get("id"), str)):
        found.append("issuer: missing, or neither a URL nor a Profile with an id")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return found + ["credentialSubject: missing or not one object"]
    if "ClrSubject" not in _types(subject):
        found.append("credentialSubject.type: must include ClrSubject")
    if "id" not in subject and not subject.get("identifier"):
        found.append("credentialSubject: needs an id or an identifier")
    nested = subject.get("verifiableCredential")
    if not isinstance(nested, list) or not nested or not all(isinstance(c, (dict, str)) for c in nested):
        found.append("credentialSubject.verifiableCredential: must be a non-empty list of credentials")
    for index, association in enumerate(subject.get("association") or []):
        if not isinstance(association, dict) or not all(
                isinstance(association.get(k), str) for k in ("associationType", "sourceId", "targetId")):
            found.append(f"credentialSubject.association[{index}]: needs associationType, sourceId and targetId")
    return found
