"""The `schema` check: declared `credentialSchema` entries applied with `jsonschema` (the official
OB 3.0 schemas bundled and used offline, others fetched through the guarded fetcher or reported
unavailable), errors naming their JSON path; the hand-written check for credentials declaring no
schema, in agreement with the official schema on every fixture here; prose-only rules as warnings."""

from __future__ import annotations

import copy
import time
import json

import pytest

from tests.conftest import shared_ref
from tests.obschema import ob_schema_errors
from tests.verifier.support import FIXTURES as FIXTURES_DIR
from tests.verifier.support import OB, VC2, DidKey, check_of, library_verifier, unsigned_credential
from tests.verifier.support import signed_credential as _signed
from verifier.checks.schema import check_schema, problems
from verifier.jsonschemas import ACHIEVEMENT_CREDENTIAL_SCHEMA, BUNDLED_SCHEMA_FILES, bundled_schema

EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"  # defines 1EdTechJsonSchemaValidator2019
OB_SCHEMA = {"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}


def test_bundled_schemas_equal_the_official_ones():
    for url, name in BUNDLED_SCHEMA_FILES.items():
        official = (shared_ref("schemas", name) if name.endswith("_schema.json")
                    else shared_ref("schemas", "gh-pages-build-2024-07-30", name.replace("-jsonschema1", "_schema")))
        assert bundled_schema(url) == json.loads(official.read_text(encoding="utf-8")), name
        assert bundled_schema(url)["$id"] == url


def signed_credential(signer, **changes):
    return _signed(signer, **{"@context": [VC2, OB, EXTENSIONS], **changes})


def _with(path: str, value):
    """A change at a dotted path of the base credential; value None deletes."""
    def change(credential):
        *parents, last = path.split(".")
        node = credential
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is None:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)
    return change


IDENTITY = {"type": "IdentityObject", "hashed": True, "identityHash": "sha256$abc", "identityType": "emailAddress",
            "salt": "s"}
ENTRY = {"type": "IdentifierEntry", "identifier": "X-1", "identifierType": "sourcedId"}
STATUS = {"id": "https://badges.test/status/1#5", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
          "statusListIndex": "5", "statusListCredential": "https://badges.test/status/1"}
# name -> change; each applied to the base credential, and both checks must agree on it
FIXTURES = {
    "base": lambda c: None,
    "identifier instead of id": lambda c: (c["credentialSubject"].pop("id"),
                                           c["credentialSubject"].update(identifier=[IDENTITY])),
    "identifier of the wrong type": _with("credentialSubject.identifier", [{**IDENTITY, "type": "Identity"}]),
    "identifier hashed as text": _with("credentialSubject.identifier", [{**IDENTITY, "hashed": "true"}]),
    "identifier with a stray property": _with("credentialSubject.identifier", [{**IDENTITY, "extra": 1}]),
    "result of the wrong type": _with("credentialSubject.result", [{"type": ["Score"], "value": "80"}]),
    "result": _with("credentialSubject.result", [{"type": ["Result"], "value": "80"}]),
    "otherIdentifier": _with("credentialSubject.achievement.otherIdentifier", [ENTRY]),
    "otherIdentifier of the wrong type": _with("credentialSubject.achievement.otherIdentifier",
                                               [{**ENTRY, "type": "Identifier"}]),
    "otherIdentifier without identifierType": _with("credentialSubject.achievement.otherIdentifier",
                                                    [{"type": "IdentifierEntry", "identifier": "X"}]),
    "parentOrg": _with("issuer.parentOrg", {"id": "https://org.example", "type": ["Profile"]}),
    "parentOrg of the wrong type": _with("issuer.parentOrg", {"id": "https://org.example", "type": ["Organization"]}),
    "issuer without Profile type": _with("issuer.type", ["Organization"]),
    "issuer as a URL": _with("issuer", "did:example:issuer"),
    "no id": _with("id", None),
    "no validFrom": _with("validFrom", None),
    "achievement without description": _with("credentialSubject.achievement.description", None),
    "achievement without criteria": _with("credentialSubject.achievement.criteria", None),
    "achievement of the wrong type": _with("credentialSubject.achievement.type", ["Badge"]),
    "subject of the wrong type": _with("credentialSubject.type", ["Person"]),
    "one status entry": _with("credentialStatus", STATUS),
    "credentialSchema that is a string": _with("credentialSchema", "https://example.org/schema.json"),
    "credentialSchema without type": _with("credentialSchema", [{"id": "https://example.org/schema.json"}]),
    "language map name": _with("credentialSubject.achievement.name", {"en": "Teamwork", "fr": "Travail"}),
    # the prose-only rules: schema-valid, so warnings
    "subject with neither id nor identifier": _with("credentialSubject.id", None),
    "criteria with neither id nor narrative": _with("credentialSubject.achievement.criteria", {}),
}
PROSE_ONLY = {"subject with neither id nor identifier", "criteria with neither id nor narrative"}


def fixture(name: str) -> dict:
    credential = unsigned_credential("did:example:issuer")
    FIXTURES[name](credential)
    return credential


@pytest.mark.parametrize("name", list(FIXTURES))
def test_the_hand_written_check_agrees_with_the_official_schema(name):
    credential = fixture(name)
    official = ob_schema_errors(credential)
    found, prose = problems(credential)
    assert (found == []) == (official == []), (found, official)
    assert bool(prose) == (name in PROSE_ONLY)
    undeclared = check_schema(credential)
    own = credential.get("credentialSchema", [])
    declared = check_schema({**credential, "credentialSchema": (own if isinstance(own, list) else [own]) + [OB_SCHEMA]})
    expected = "failed" if official else "warning" if name in PROSE_ONLY else "passed"
    assert (undeclared.status, declared.status) == (expected, expected), (undeclared, declared)


def test_errors_name_their_json_path():
    credential = fixture("identifier hashed as text")
    credential["credentialSchema"] = OB_SCHEMA
    result = check_schema(credential)
    assert (result.status, result.code) == ("failed", "schema_invalid")
    assert "$.credentialSubject.identifier[0].hashed" in result.message


def test_a_declared_schema_is_applied_to_a_signed_credential_and_reported():
    signer = DidKey()
    subject = {**unsigned_credential(signer.did)["credentialSubject"], "identifier": [{**IDENTITY, "hashed": "yes"}]}
    del subject["id"]
    bad = signed_credential(signer, credentialSchema=[OB_SCHEMA], credentialSubject=subject)
    report = library_verifier().verify_credential(bad)
    assert not report.verified
    schema = check_of(report, "schema")
    assert schema["code"] == "schema_invalid" and "$.credentialSubject.identifier[0].hashed" in schema["message"]
    good = signed_credential(signer, credentialSchema=[OB_SCHEMA])
    report = library_verifier().verify_credential(good)
    assert check_of(report, "schema")["status"] == "passed"
    assert ACHIEVEMENT_CREDENTIAL_SCHEMA in check_of(report, "schema")["message"]


def test_the_prose_rule_is_a_warning_and_the_credential_verifies():
    signer = DidKey()
    subject = unsigned_credential(signer.did)["credentialSubject"]
    del subject["id"]
    report = library_verifier().verify_credential(signed_credential(signer, credentialSubject=subject,
                                                                    credentialSchema=[OB_SCHEMA]))
    assert report.verified, report.to_dict()
    schema = check_of(report, "schema")
    assert (schema["status"], schema["code"]) == ("warning", "ob_prose_rule")


def test_another_schema_is_fetched_through_the_guarded_fetcher(server):
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "required": ["credentialSubject"],
              "properties": {"credentialSubject": {"required": ["creditsEarned"],
                                                   "properties": {"creditsEarned": {"minimum": 3}}}}}
    server.json("/schemas/skill.json", schema)
    declared = [OB_SCHEMA, {"id": server.url("/schemas/skill.json"), "type": "JsonSchema"}]
    signer = DidKey()
    subject = {**unsigned_credential(signer.did)["credentialSubject"], "creditsEarned": 1}
    report = library_verifier().verify_credential(signed_credential(signer, credentialSubject=subject,
                                                                    credentialSchema=declared))
    schema_check = check_of(report, "schema")
    assert schema_check["status"] == "failed" and "skill.json: $.credentialSubject.creditsEarned" in schema_check["message"]
    subject["creditsEarned"] = 5
    report = library_verifier().verify_credential(signed_credential(signer, credentialSubject=subject,
                                                                    credentialSchema=declared))
    assert report.verified and check_of(report, "schema")["status"] == "passed"


def test_a_schema_that_cannot_be_had_is_a_warning(server):
    declared = [OB_SCHEMA, {"id": server.url("/missing.json"), "type": "JsonSchema"}]
    signer = DidKey()
    report = library_verifier().verify_credential(signed_credential(signer, credentialSchema=declared))
    assert report.verified, report.to_dict()
    schema = check_of(report, "schema")
    assert (schema["status"], schema["code"]) == ("warning", "schema_unavailable")
    # without a fetcher, the same
    offline = check_schema({**unsigned_credential("did:example:i"), "credentialSchema": declared[1]})
    assert (offline.status, offline.code) == ("warning", "schema_unavailable")


def test_a_status_set_is_a_warning_without_a_declared_schema():
    credential = fixture("one status entry")
    credential["credentialStatus"] = [STATUS, {**STATUS, "statusPurpose": "suspension"}]
    result = check_schema(credential)
    assert (result.status, result.code) == ("warning", "ob_status_set")
    assert check_schema({**credential, "credentialSchema": OB_SCHEMA}).status == "failed"


def test_a_fetched_schemas_catastrophic_pattern_costs_a_warning_not_a_worker(server):
    """A schema is anyone's: `^(a|aa)+$` against "aaaa...!" backtracks for ages."""
    evil = "^(a|aa)+$"
    server.json("/schemas/evil.json", {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                       "properties": {"name": {"pattern": evil}},
                                       "patternProperties": {"^(a|a)+$": {}}})
    signer = DidKey()
    credential = signed_credential(signer, name="a" * 60 + "!",
                                   credentialSchema=[{"id": server.url("/schemas/evil.json"), "type": "JsonSchema"}])
    started = time.monotonic()
    report = library_verifier().verify_credential(credential)
    assert time.monotonic() - started < 5
    schema = check_of(report, "schema")
    assert (schema["status"], schema["code"]) == ("warning", "schema_unavailable")
    assert "took too long" in schema["message"]
    assert report.verified  # the schema could not be applied; nothing else is wrong


def test_a_fetched_schemas_patterns_are_applied(server):
    server.json("/schemas/name.json", {"properties": {"name": {"pattern": "^Team"}},
                                       "patternProperties": {"^valid": {"type": "string"}}})
    declared = [{"id": server.url("/schemas/name.json"), "type": "JsonSchema"}]
    signer = DidKey()
    assert check_of(library_verifier().verify_credential(signed_credential(signer, credentialSchema=declared)),
                    "schema")["status"] == "passed"
    report = library_verifier().verify_credential(signed_credential(signer, name="Solo", credentialSchema=declared))
    assert check_of(report, "schema")["status"] == "failed" and "$.name" in check_of(report, "schema")["message"]


def test_the_ob_implementation_guides_credential_is_valid_both_ways():
    vector = json.loads((FIXTURES_DIR / "vectors" / "ob-eddsa-rdfc-2022.json").read_text(encoding="utf-8"))
    credential = vector["unsigned_document"]
    assert ob_schema_errors(credential) == [] and problems(credential) == ([], [])
    assert check_schema(credential).status == "passed"
    assert check_schema({**credential, "credentialSchema": OB_SCHEMA}).status == "passed"
