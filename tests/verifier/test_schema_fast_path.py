"""The schema check's fast path: for the schemas this package holds, jsonschema_rs says "valid" and
`jsonschema` (the reference, as issue 11 requires) says why not. Both must agree: on every
credential fixture here and in ../shared/ref, on the credentials the issuer makes, on mutations of
them (each value replaced, each property removed) and on generated ones; and the errors a report
shows are always `jsonschema`'s."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer import openbadges
from tests.conftest import shared_ref
from tests.verifier.support import FIXTURES, unsigned_credential
from tests.verifier.test_schema_check import FIXTURES as SCHEMA_CHECK_FIXTURES
from tests.verifier.test_schema_check import OB_SCHEMA, fixture
from verifier.checks.schema import BundledSchema, _schema_errors, bundled_validator, check_schema
from verifier.jsonschemas import ACHIEVEMENT_CREDENTIAL_SCHEMA, BUNDLED_SCHEMA_FILES, bundled_schema

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
STATUS = {"id": "https://badges.test/status/1#5", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
          "statusListIndex": "5", "statusListCredential": "https://badges.test/status/1"}


def verdicts(url: str, instance) -> tuple[bool, bool]:
    """(the fast validator's "valid", the reference's "valid") of `instance` against the schema at `url`."""
    schema = bundled_validator(url)
    return schema.fast.is_valid(instance), _schema_errors(schema.reference, instance) == []


def _credentials_in(value) -> list[dict]:
    """Every credential-shaped object in a JSON value (a vector's documents, a CLR's embedded ones)."""
    found = []
    if isinstance(value, dict):
        types = value.get("type")
        if isinstance(types, list) and "VerifiableCredential" in types:
            found.append(value)
        for item in value.values():
            found.extend(_credentials_in(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_credentials_in(item))
    return found


@cache
def fixture_credentials() -> list[tuple[str, dict]]:
    found = []
    for root in (FIXTURES, shared_ref()):
        for path in sorted(Path(root).rglob("*.json")):
            for index, credential in enumerate(_credentials_in(json.loads(path.read_text(encoding="utf-8")))):
                found.append((f"{path.relative_to(root)}#{index}", credential))
    return found


def issued(**options) -> dict:
    """A credential as the issuer makes it (issuer.openbadges), unsigned: the schema ignores the proof."""
    issuer = openbadges.profile(issuer_id="did:web:badges.test:issuers:acme", name="Acme", url="https://acme.example")
    achievement = openbadges.achievement(
        achievement_id="https://badges.test/achievements/1", name="Python", description="Writes Python.",
        criteria_narrative="Pass the exam.", creator=issuer, passing_score=Decimal(70), max_score=Decimal(100),
        achievement_type="Badge", tags=["python"],
        alignments=[{"target_name": "Python", "target_url": "https://esco.example/python", "target_framework": "ESCO"}])
    arguments = dict(credential_id="https://badges.test/credentials/1", issuer=issuer, achievement=achievement,
                     valid_from=NOW, valid_until=NOW.replace(year=2027), score=Decimal("85.5"),
                     recipient_identifier=openbadges.hashed_email_identifier("ada@example.org", "salt"),
                     evidence=[{"id": "https://lms.example/attempts/1", "name": "Exam attempt"}],
                     credential_status=[STATUS])
    arguments.update(options)
    return openbadges.credential(**arguments)


ISSUED = {
    "hashed email, one status entry": issued(),
    "DID earner, no expiry": issued(recipient_identifier=None, recipient_did="did:example:ada", valid_until=None),
    "no status, no evidence": issued(credential_status=(), evidence=()),
    "revocation and suspension (a set, no OB schema declared)": issued(
        credential_status=[STATUS, {**STATUS, "id": STATUS["id"] + "0", "statusPurpose": "suspension"}]),
}


def test_every_bundled_schema_has_a_fast_validator():
    for url in BUNDLED_SCHEMA_FILES:
        assert bundled_validator(url).fast is not None, url
    assert bundled_validator("https://example.org/schema.json") is None


def test_the_fixtures_are_many():
    assert len(fixture_credentials()) >= 30


@pytest.mark.parametrize("url", list(BUNDLED_SCHEMA_FILES))
def test_both_agree_on_every_credential_fixture(url):
    for name, credential in fixture_credentials():
        fast, reference = verdicts(url, credential)
        assert fast == reference, (name, url, fast, reference)


def test_both_agree_on_the_credentials_we_issue_and_the_schema_checks_fixtures():
    cases = {**ISSUED, **{name: fixture(name) for name in SCHEMA_CHECK_FIXTURES}}
    valid = set()
    for name, credential in cases.items():
        fast, reference = verdicts(ACHIEVEMENT_CREDENTIAL_SCHEMA, credential)
        assert fast == reference, (name, fast, reference)
        if reference:
            valid.add(name)
    assert "hashed email, one status entry" in valid and "no validFrom" not in valid  # both kinds were seen


def _paths(value, path=()):
    """The path of every value in `value` (its keys and indices), the root aside."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield path + (key,)
        yield from _paths(item, path + (key,))


def _changed(credential: dict, path: tuple, value=None, *, delete: bool = False) -> dict:
    changed = copy.deepcopy(credential)
    node = changed
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return changed


# wrong nested types, empty values, bad and odd dates
REPLACEMENTS = [None, 0, 1.5, True, "", "text", [], {}, ["text"], {"en": "text"},
                "2026-02-30T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("name", ["hashed email, one status entry", "DID earner, no expiry"])
def test_both_agree_on_every_value_replaced_and_every_property_removed(name):
    base = ISSUED[name]
    seen = {True: 0, False: 0}
    for path in _paths(base):
        mutations = [_changed(base, path, value) for value in REPLACEMENTS]
        if isinstance(path[-1], str):
            mutations.append(_changed(base, path, delete=True))
        for mutation in mutations:
            fast, reference = verdicts(ACHIEVEMENT_CREDENTIAL_SCHEMA, mutation)
            assert fast == reference, (path, json.dumps(mutation)[:2000])
            seen[reference] += 1
    assert seen[True] > 50 and seen[False] > 500, seen


# --- generated mutations ------------------------------------------------------------------------

DATES = st.from_regex(r"\A\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?)?\Z")
LANGUAGE_TAGS = st.from_regex(r"\A[a-z]{2}(-[A-Z]{2})?\Z") | st.text(max_size=5)
SCALARS = (st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text() | DATES)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(LANGUAGE_TAGS | st.text(max_size=12), children,
                                                                       max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_credentials(draw) -> dict:
    credential = copy.deepcopy(draw(st.sampled_from(list(ISSUED.values()))))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(credential))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(path[-1], str):
            credential = _changed(credential, path, delete=True)
        elif action == "add":  # a property or an item beside the one at `path`
            node = credential
            for key in path[:-1]:
                node = node[key]
            if isinstance(node, dict):
                node[draw(LANGUAGE_TAGS | st.sampled_from(["id", "type", "name", "extra"]))] = draw(JSON_VALUES)
            else:
                node.append(draw(JSON_VALUES))
        else:
            credential = _changed(credential, path, draw(JSON_VALUES))
    return credential


def _ends_a_line(value) -> bool:
    """Whether any key or string in `value` ends with a newline (see the trailing-newline test below)."""
    if isinstance(value, str):
        return value.endswith("\n")
    if isinstance(value, dict):
        return any(_ends_a_line(key) or _ends_a_line(item) for key, item in value.items())
    return isinstance(value, list) and any(_ends_a_line(item) for item in value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_credentials())
def test_both_agree_on_generated_mutations(credential):
    held = bundled_validator(ACHIEVEMENT_CREDENTIAL_SCHEMA)
    reference = _schema_errors(held.reference, credential)
    fast = held.fast.is_valid(credential)
    assert fast == (reference == []) or (reference == [] and _ends_a_line(credential)), (fast, reference)
    assert held.errors(credential) == reference  # what a report shows


# --- which validator decided --------------------------------------------------------------------

class Always:
    """A stand-in fast validator with a fixed answer, counting its calls."""

    def __init__(self, valid: bool):
        self.valid = valid
        self.calls = 0

    def is_valid(self, _instance) -> bool:
        self.calls += 1
        return self.valid


class Recording:
    """The real fast validator, counting its calls."""

    def __init__(self, fast):
        self.fast = fast
        self.calls = 0

    def is_valid(self, instance) -> bool:
        self.calls += 1
        return self.fast.is_valid(instance)


def _check_with(fast, credential: dict):
    held = BundledSchema(bundled_schema(ACHIEVEMENT_CREDENTIAL_SCHEMA), fast)
    return check_schema(credential, bundled=lambda url: held if url == ACHIEVEMENT_CREDENTIAL_SCHEMA else None)


def test_a_valid_credential_is_passed_by_the_fast_validator_alone():
    recording = Recording(bundled_validator(ACHIEVEMENT_CREDENTIAL_SCHEMA).fast)
    result = _check_with(recording, ISSUED["hashed email, one status entry"])
    assert result.status == "passed" and recording.calls == 1
    # its "valid" is the answer: a fast validator that passed anything would pass this broken one
    broken = {**fixture("identifier hashed as text"), "credentialSchema": OB_SCHEMA}
    assert _check_with(Always(True), broken).status == "passed"


def test_the_errors_of_a_report_are_the_references():
    invalid = {**fixture("identifier hashed as text"), "credentialSchema": OB_SCHEMA}
    fast = Always(False)
    result = _check_with(fast, invalid)
    reference = BundledSchema(bundled_schema(ACHIEVEMENT_CREDENTIAL_SCHEMA)).errors(invalid)  # no fast validator
    assert fast.calls == 1 and (result.status, result.code) == ("failed", "schema_invalid")
    assert result.message == "; ".join(f"ob_v3p0_achievementcredential_schema.json: {e}" for e in reference)
    assert "$.credentialSubject.identifier[0].hashed" in result.message
    # a fast "invalid" the reference does not share is overruled: the credential passes
    assert _check_with(Always(False), ISSUED["hashed email, one status entry"]).status == "passed"


def test_a_trailing_newline_the_fast_validator_refuses_is_decided_by_the_reference():
    """The one difference found: jsonschema_rs's `$` is the very end, Python's `re` also matches
    before a final newline, so only the reference accepts a language tag "en\\n"."""
    credential = copy.deepcopy(ISSUED["hashed email, one status entry"])
    credential["credentialSubject"]["achievement"]["name"] = {"en\n": "Python"}
    assert verdicts(ACHIEVEMENT_CREDENTIAL_SCHEMA, credential) == (False, True)
    assert check_schema(credential).status == "passed"


def test_an_instance_the_fast_validator_cannot_read_is_decided_by_the_reference():
    credential = {**ISSUED["hashed email, one status entry"], "extra": {1: "a key that is not a string"}}
    result = check_schema(credential)
    assert result.status == "passed"  # the schema allows extra properties; nothing crashed


def test_threads_meeting_a_schema_at_once_share_one_build_and_other_urls_are_kept_nowhere():
    from concurrent.futures import ThreadPoolExecutor

    from verifier.checks import schema as schema_module

    url = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile-jsonschema1.json"
    schema_module._BUNDLED.pop(url, None)
    with ThreadPoolExecutor(8) as pool:
        built = list(pool.map(lambda _: bundled_validator(url), range(16)))
    assert all(validator is built[0] for validator in built)
    for n in range(100):
        assert bundled_validator(f"https://example.org/schemas/{n}.json") is None
    assert set(schema_module._BUNDLED) <= set(schema_module.BUNDLED_SCHEMA_FILES)
