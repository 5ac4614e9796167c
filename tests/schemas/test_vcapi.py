"""Tests for schemas.vcapi: the VC API issue-request schema and VCDM rules."""

from __future__ import annotations

import copy
import json

import pytest
from marshmallow import ValidationError

from schemas.vcapi import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    IssueRequestSchema,
    credential_errors,
    is_date_time_stamp,
    is_url,
    options_errors,
    vc_version,
)

OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


def minimal_v2() -> dict:
    return {
        "@context": [VC_V2_CONTEXT],
        "type": "VerifiableCredential",
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:subject"},
    }


def alumni_v2() -> dict:
    return {
        "@context": [VC_V2_CONTEXT, EXAMPLES_V2],
        "id": "http://university.example/credentials/1872",
        "type": ["VerifiableCredential", "ExampleAlumniCredential"],
        "issuer": "https://university.example/issuers/565049",
        "validFrom": "2010-01-01T19:23:24Z",
        "validUntil": "2030-01-01T19:23:24.123+02:00",
        "name": "Alumni credential",
        "description": [
            {"@value": "Alumni of Example University", "@language": "en"},
            {"@value": "خريج جامعة المثال", "@language": "ar", "@direction": "rtl"},
        ],
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "alumniOf": {
                "id": "did:example:c276e12ec21ebfeb1f712ebc6f1",
                "name": "Example University",
            },
        },
        "credentialSchema": {
            "id": "https://example.org/examples/degree.json",
            "type": "JsonSchema",
        },
        "credentialStatus": {
            "id": "https://university.example/credentials/status/3#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://university.example/credentials/status/3",
        },
        "termsOfUse": [{"type": "TrustFrameworkPolicy", "trustFramework": "Employment"}],
        "evidence": [{"id": "https://university.example/evidence/f2aeec97", "type": ["Evidence"]}],
        "refreshService": {"type": "VerifiableCredentialRefreshService2021", "url": "https://university.example/refresh"},
    }


def v11_credential() -> dict:
    return {
        "@context": [VC_V1_CONTEXT, "https://www.w3.org/2018/credentials/examples/v1"],
        "id": "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
        "type": ["VerifiableCredential", "UniversityDegreeCredential"],
        "issuer": {"id": "https://example.edu/issuers/14", "name": "Example University"},
        "issuanceDate": "2010-01-01T19:23:24Z",
        "expirationDate": "2030-01-01T00:00:00-05:00",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "degree": {"type": "BachelorDegree", "name": "Bachelor of Science and Arts"},
        },
    }


def ob3_credential() -> dict:
    return {
        "@context": [VC_V2_CONTEXT, OB3_CONTEXT],
        "id": "urn:uuid:a63a60be-f4af-491c-87fc-2c8fd3007a58",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "JFF x vc-edu PlugFest 3 Interoperability",
        "issuer": {
            "type": ["Profile"],
            "id": "did:key:z6MktiSzqF9kqwdU8VkdBKx56EYzXfpgnNPUAGznpicNiWfn",
            "name": "Jobs for the Future (JFF)",
            "url": "https://www.jff.org/",
            "image": {"id": "https://example.org/jff-logo.png", "type": "Image", "caption": "JFF logo"},
        },
        "validFrom": "2022-11-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "id": "did:key:z6MkvAWoj8bQdG3RhgzMjzK6hcr4D1dmeD4nhJ4hnj4Ng3fD",
            "achievement": {
                "id": "urn:uuid:bd6d9316-f7ae-4073-a1e5-2f7f5bd22922",
                "type": ["Achievement"],
                "name": "JFF x vc-edu PlugFest 3 Interoperability",
                "description": "This credential solution supports the use of OBv3 and w3c VCs.",
                "criteria": {"narrative": "Solutions providers earned this badge by demonstrating interoperability."},
                "image": {"id": "https://w3c-ccg.github.io/vc-ed/plugfest-3-2023/images/JFF-VC-EDU-PLUGFEST3-badge-image.png", "type": "Image"},
            },
        },
        "credentialSchema": [
            {
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                "type": "1EdTechJsonSchemaValidator2019",
            }
        ],
    }


def load(body):
    return IssueRequestSchema().load(body)


def request_errors(body) -> dict:
    with pytest.raises(ValidationError) as exc_info:
        load(body)
    return exc_info.value.messages


# --- valid credentials --------------------------------------------------------


VALID = {
    "minimal_v2": minimal_v2,
    "alumni_v2": alumni_v2,
    "v11": v11_credential,
    "ob3": ob3_credential,
}


@pytest.mark.parametrize("make", VALID.values(), ids=VALID.keys())
def test_valid_credentials_have_no_errors(make):
    assert credential_errors(make()) == {}


@pytest.mark.parametrize("make", VALID.values(), ids=VALID.keys())
def test_load_returns_the_same_json_content(make):
    credential = make()
    original = copy.deepcopy(credential)
    options = {"created": "2024-01-01T00:00:00Z", "mandatoryPointers": ["/issuer", "/credentialSubject/id"]}
    loaded = load({"credential": credential, "options": options})
    assert loaded["credential"] == original
    assert json.dumps(loaded["credential"]) == json.dumps(original)  # same key order too
    assert loaded["options"] == options
    assert credential == original  # caller's object untouched


def test_options_default_to_empty_object():
    assert load({"credential": minimal_v2()}) == {"credential": minimal_v2(), "options": {}}


def test_all_known_options_accepted():
    options = {
        "created": "2024-01-01T00:00:00.5-03:30",
        "challenge": "1f44d55f",
        "domain": ["https://example.com", "example.org"],
        "credentialStatus": {"type": "BitstringStatusListEntry"},
        "mandatoryPointers": ["/issuer", "/credentialSubject/a~1b", "/x~0y/0"],
        "credentialId": "example.com/ad5d541f-db7a-4bff-97e1-d403ce403767",
        "proofId": "urn:uuid:8c2e1b9a-8a62-4c8a-9c4b-9d5a8b1c2d3e",
    }
    assert options_errors(options) == {}
    assert load({"credential": minimal_v2(), "options": options})["options"] == options


def test_vc_version():
    assert vc_version(minimal_v2()) == "2.0"
    assert vc_version(v11_credential()) == "1.1"
    assert vc_version({"@context": VC_V1_CONTEXT}) == "1.1"
    with pytest.raises(ValueError):
        vc_version({"@context": ["https://example.org/ctx"]})
    with pytest.raises(ValueError):
        vc_version({})


def test_v11_context_may_be_a_string():
    cred = v11_credential()
    cred["@context"] = VC_V1_CONTEXT
    assert credential_errors(cred) == {}


def test_subject_array_and_context_objects_accepted():
    cred = minimal_v2()
    cred["@context"] = [VC_V2_CONTEXT, {"@vocab": "https://example.org/vocab#"}]
    cred["credentialSubject"] = [{"id": "did:example:a"}, {"name": "Pat"}]
    assert credential_errors(cred) == {}


def test_existing_proof_allowed_only_when_configured():
    cred = minimal_v2()
    cred["proof"] = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}
    assert credential_errors(cred) == {"proof": ["Must not be present: the issuer adds the proof."]}
    assert credential_errors(cred, allow_existing_proof=True) == {}
    assert credential_errors({**cred, "proof": [{"cryptosuite": "x"}]}, allow_existing_proof=True) == {
        "proof[0].type": ["Missing required property."]
    }

    class ProofSetSchema(IssueRequestSchema):
        allow_existing_proof = True

    assert ProofSetSchema().load({"credential": cred})["credential"] == cred


# --- forbidden credentials: (mutation, expected error paths) --------------------


def _drop(key):
    def mutate(c):
        del c[key]
    return mutate


def _set(key, value):
    def mutate(c):
        c[key] = value
    return mutate


def _set_in(path, value):
    def mutate(c):
        target = c
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return mutate


# relatedResource digests of the W3C vc-data-model-2.0-test-suite (tests/fixtures.js, commit 6e07524)
SUITE_SRI = "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"
SUITE_MULTIBASE = "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"


@pytest.mark.parametrize("resource", [
    {"digestSRI": SUITE_SRI}, {"digestMultibase": SUITE_MULTIBASE},
    {"digestSRI": SUITE_SRI, "mediaType": "application/ld+json"},
    {"digestSRI": f"{SUITE_SRI} sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=?ct=application/json"},
    # a multihash (sha2-256 of the empty string), base58btc and base64url
    {"digestMultibase": "zQmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"},
    {"digestMultibase": "uEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ"},
])
def test_well_formed_related_resources(resource):
    assert credential_errors({**minimal_v2(), "relatedResource": [{"id": "https://example.org/r", **resource}]}) == {}


FORBIDDEN = [
    # @context (4.3)
    ("context_missing", minimal_v2, _drop("@context"), {"@context"}),
    ("context_v2_as_string", minimal_v2, _set("@context", VC_V2_CONTEXT), {"@context"}),
    ("context_object", minimal_v2, _set("@context", {"@vocab": "x"}), {"@context"}),
    ("context_empty", minimal_v2, _set("@context", []), {"@context"}),
    ("context_wrong_first", minimal_v2, _set("@context", [EXAMPLES_V2, VC_V2_CONTEXT]), {"@context[0]"}),
    ("context_item_not_url", minimal_v2, _set("@context", [VC_V2_CONTEXT, "not a url"]), {"@context[1]"}),
    ("context_item_number", minimal_v2, _set("@context", [VC_V2_CONTEXT, 7]), {"@context[1]"}),
    ("context_mixed_versions", minimal_v2, _set("@context", [VC_V2_CONTEXT, VC_V1_CONTEXT]), {"@context[1]"}),
    ("context_unknown_string", minimal_v2, _set("@context", "https://example.org/ctx"), {"@context"}),
    # top-level keywords
    ("at_id_keyword", minimal_v2, _set("@id", "urn:uuid:1"), {"@id"}),
    ("at_type_keyword", minimal_v2, _set("@type", "VerifiableCredential"), {"@type"}),
    # id (4.4)
    ("id_relative", minimal_v2, _set("id", "/credentials/1"), {"id"}),
    ("id_whitespace", minimal_v2, _set("id", "urn:uuid: 1"), {"id"}),
    ("id_no_rest", minimal_v2, _set("id", "urn:"), {"id"}),
    ("id_blank_node", minimal_v2, _set("id", "_:b0"), {"id"}),
    ("id_http_without_host", minimal_v2, _set("id", "https:/path"), {"id"}),
    ("id_not_string", minimal_v2, _set("id", 42), {"id"}),
    ("id_array", minimal_v2, _set("id", ["urn:uuid:1"]), {"id"}),
    ("subject_id_not_url", minimal_v2, _set_in(["credentialSubject", "id"], "pat"), {"credentialSubject.id"}),
    ("nested_achievement_id", ob3_credential, _set_in(["credentialSubject", "achievement", "id"], "badge-1"),
     {"credentialSubject.achievement.id"}),
    ("status_id_not_url", alumni_v2, _set_in(["credentialStatus", "id"], "94567"), {"credentialStatus.id"}),
    ("schema_id_not_url", alumni_v2, _set_in(["credentialSchema", "id"], "degree.json"), {"credentialSchema.id"}),
    ("evidence_id_not_url", alumni_v2, _set_in(["evidence", 0, "id"], "f2aeec97"), {"evidence[0].id"}),
    # type (4.5)
    ("type_missing", minimal_v2, _drop("type"), {"type"}),
    ("type_without_vc", minimal_v2, _set("type", ["ExampleCredential"]), {"type"}),
    ("type_empty_array", minimal_v2, _set("type", []), {"type"}),
    ("type_item_not_string", minimal_v2, _set("type", ["VerifiableCredential", 3]), {"type[1]"}),
    ("type_object", minimal_v2, _set("type", {"VerifiableCredential": True}), {"type"}),
    ("type_item_whitespace", minimal_v2, _set("type", ["VerifiableCredential", "Bad Type"]), {"type[1]"}),
    # name / description (4.6, 11.1)
    ("name_number", minimal_v2, _set("name", 5), {"name"}),
    ("name_lvo_without_value", minimal_v2, _set("name", {"@language": "en"}), {"name.@value"}),
    ("name_lvo_bad_language", minimal_v2, _set("name", {"@value": "x", "@language": "en_US!"}), {"name.@language"}),
    ("name_lvo_bad_direction", minimal_v2, _set("name", {"@value": "x", "@direction": "up"}), {"name.@direction"}),
    ("name_lvo_extra_key", minimal_v2, _set("name", {"@value": "x", "@type": "foo"}), {"name.@type"}),
    ("description_array_of_strings", minimal_v2, _set("description", ["a", "b"]),
     {"description[0]", "description[1]"}),
    ("description_empty_array", minimal_v2, _set("description", []), {"description"}),
    # issuer (4.7)
    ("issuer_missing", minimal_v2, _drop("issuer"), {"issuer"}),
    ("issuer_not_url", minimal_v2, _set("issuer", "Example University"), {"issuer"}),
    ("issuer_object_without_id", minimal_v2, _set("issuer", {"name": "Example"}), {"issuer.id"}),
    ("issuer_object_bad_id", minimal_v2, _set("issuer", {"id": "example"}), {"issuer.id"}),
    ("issuer_array", minimal_v2, _set("issuer", ["did:example:1"]), {"issuer"}),
    ("issuer_null", minimal_v2, _set("issuer", None), {"issuer"}),
    # credentialSubject (4.8)
    ("subject_missing", minimal_v2, _drop("credentialSubject"), {"credentialSubject"}),
    ("subject_empty_object", minimal_v2, _set("credentialSubject", {}), {"credentialSubject"}),
    ("subject_empty_array", minimal_v2, _set("credentialSubject", []), {"credentialSubject"}),
    ("subject_string", minimal_v2, _set("credentialSubject", "did:example:1"), {"credentialSubject"}),
    ("subject_array_bad_items", minimal_v2, _set("credentialSubject", [{"name": "a"}, "x", {}]),
     {"credentialSubject[1]", "credentialSubject[2]"}),
    # validity (4.9)
    ("validfrom_date_only", minimal_v2, _set("validFrom", "2010-01-01"), {"validFrom"}),
    ("validfrom_no_offset", minimal_v2, _set("validFrom", "2010-01-01T19:23:24"), {"validFrom"}),
    ("validfrom_garbage", minimal_v2, _set("validFrom", "yesterday"), {"validFrom"}),
    ("validfrom_number", minimal_v2, _set("validFrom", 1262373804), {"validFrom"}),
    ("validfrom_feb_30", minimal_v2, _set("validFrom", "2010-02-30T00:00:00Z"), {"validFrom"}),
    ("validfrom_lowercase_z", minimal_v2, _set("validFrom", "2010-01-01T19:23:24z"), {"validFrom"}),
    ("validfrom_space_separator", minimal_v2, _set("validFrom", "2010-01-01 19:23:24Z"), {"validFrom"}),
    ("validuntil_bad_offset", minimal_v2, _set("validUntil", "2010-01-01T19:23:24+15:00"), {"validUntil"}),
    ("validuntil_before_validfrom", alumni_v2, _set("validUntil", "2009-12-31T23:59:59Z"), {"validUntil"}),
    ("v2_issuancedate", minimal_v2, _set("issuanceDate", "2010-01-01T19:23:24Z"), {"issuanceDate"}),
    ("v2_expirationdate", minimal_v2, _set("expirationDate", "2010-01-01T19:23:24Z"), {"expirationDate"}),
    ("v11_issuancedate_missing", v11_credential, _drop("issuanceDate"), {"issuanceDate"}),
    ("v11_issuancedate_no_offset", v11_credential, _set("issuanceDate", "2010-01-01T19:23:24"), {"issuanceDate"}),
    ("v11_expirationdate_garbage", v11_credential, _set("expirationDate", "never"), {"expirationDate"}),
    ("v11_validfrom", v11_credential, _set("validFrom", "2010-01-01T19:23:24Z"), {"validFrom"}),
    # credentialStatus (4.10)
    ("status_without_type", minimal_v2, _set("credentialStatus", {"id": "https://example.org/s#1"}),
     {"credentialStatus.type"}),
    ("status_array_item_without_type", minimal_v2,
     _set("credentialStatus", [{"type": "BitstringStatusListEntry"}, {"statusPurpose": "suspension"}]),
     {"credentialStatus[1].type"}),
    ("status_string", minimal_v2, _set("credentialStatus", "https://example.org/s#1"), {"credentialStatus"}),
    ("status_empty_array", minimal_v2, _set("credentialStatus", []), {"credentialStatus"}),
    ("status_type_number", minimal_v2, _set("credentialStatus", {"type": 1}), {"credentialStatus.type"}),
    # credentialSchema (4.11)
    ("schema_without_id", minimal_v2, _set("credentialSchema", {"type": "JsonSchema"}), {"credentialSchema.id"}),
    ("schema_without_type", minimal_v2, _set("credentialSchema", [{"id": "https://example.org/s.json"}]),
     {"credentialSchema[0].type"}),
    # refreshService (5.4)
    ("refresh_without_type", minimal_v2, _set("refreshService", {"url": "https://example.org/r"}),
     {"refreshService.type"}),
    ("v11_refresh_without_id", v11_credential, _set("refreshService", {"type": "ManualRefreshService2018"}),
     {"refreshService.id"}),
    ("refresh_bad_id", minimal_v2, _set("refreshService", {"type": "X", "id": "refresh"}), {"refreshService.id"}),
    # termsOfUse (5.5), evidence (5.6), reserved (5.2), relatedResource (5.3)
    ("terms_without_type", minimal_v2, _set("termsOfUse", [{"id": "https://example.org/t"}]), {"termsOfUse[0].type"}),
    ("evidence_without_type", minimal_v2, _set("evidence", {"id": "https://example.org/e"}), {"evidence.type"}),
    ("evidence_number", minimal_v2, _set("evidence", 3), {"evidence"}),
    ("evidence_item_string", minimal_v2, _set("evidence", ["https://example.org/e"]), {"evidence[0]"}),
    ("render_method_without_type", minimal_v2, _set("renderMethod", {"id": "https://example.org/r"}),
     {"renderMethod.type"}),
    ("related_resource_without_digest", minimal_v2, _set("relatedResource", [{"id": "https://example.org/r"}]),
     {"relatedResource[0]"}),
    ("related_resource_duplicate_id", minimal_v2,
     _set("relatedResource", [{"id": "https://example.org/r", "digestSRI": SUITE_SRI},
                              {"id": "https://example.org/r", "digestMultibase": SUITE_MULTIBASE}]),
     {"relatedResource[1].id"}),
    # Digests must be well formed (the issuer cannot fetch the resource to compare them).
    ("related_resource_sri_base64url", minimal_v2,  # the W3C suite's "wrong digest": base64url is not SRI
     _set("relatedResource", {"id": "https://example.org/r",
                              "digestSRI": "sha384-_rCVIV7fSXXTNIvpiq26jRDyj8JG8TDjij-tD0ewLk4JpnXEz6a5AeeY_1qQ0d0P"}),
     {"relatedResource.digestSRI"}),
    ("related_resource_sri_unknown_algorithm", minimal_v2,
     _set("relatedResource", {"id": "https://example.org/r", "digestSRI": "md5-1B2M2Y8AsgTpgAmY7PhCfg=="}),
     {"relatedResource.digestSRI"}),
    ("related_resource_sri_wrong_length", minimal_v2,
     _set("relatedResource", {"id": "https://example.org/r", "digestSRI": "sha256-" + SUITE_SRI[7:]}),
     {"relatedResource.digestSRI"}),
    ("related_resource_multibase_not_multibase", minimal_v2,
     _set("relatedResource", {"id": "https://example.org/r", "digestMultibase": "JKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"}),
     {"relatedResource.digestMultibase"}),
    ("related_resource_multibase_short", minimal_v2,
     _set("relatedResource", {"id": "https://example.org/r", "digestMultibase": "uJKGMkOmFbVJhEfKTduM"}),
     {"relatedResource.digestMultibase"}),
    # proof
    ("proof_present", minimal_v2, _set("proof", {"type": "DataIntegrityProof"}), {"proof"}),
]


@pytest.mark.parametrize(
    "make, mutate, paths",
    [pytest.param(make, mutate, paths, id=name) for name, make, mutate, paths in FORBIDDEN],
)
def test_forbidden_credential(make, mutate, paths):
    credential = make()
    mutate(credential)
    errors = credential_errors(credential)
    assert set(errors) == paths
    assert all(isinstance(msgs, list) and msgs and all(isinstance(m, str) for m in msgs) for msgs in errors.values())
    # the schema reports the same paths under "credential."
    messages = request_errors({"credential": credential})
    assert set(messages) == {f"credential.{p}" for p in paths}


def test_errors_are_collected_together():
    errors = credential_errors({"@context": ["https://example.org/ctx"], "issuer": {}})
    assert set(errors) == {"@context[0]", "type", "issuer.id", "credentialSubject"}


def test_missing_required_message():
    cred = minimal_v2()
    del cred["issuer"]
    assert credential_errors(cred) == {"issuer": ["Missing required property."]}


def test_credential_errors_does_not_mutate():
    cred = alumni_v2()
    cred["validUntil"] = "nope"
    snapshot = copy.deepcopy(cred)
    credential_errors(cred)
    assert cred == snapshot


# --- the request envelope -------------------------------------------------------


@pytest.mark.parametrize("credential", ["a string", ["list"], 3, None])
def test_credential_not_an_object(credential):
    messages = request_errors({"credential": credential})
    assert set(messages) == {"credential"}
    assert credential_errors(credential) == {"": ["Must be a JSON object."]}


def test_credential_missing():
    assert request_errors({"options": {}}) == {"credential": ["Missing data for required field."]}


def test_body_not_an_object():
    assert set(request_errors(["credential"])) == {"_schema"}


@pytest.mark.parametrize(
    "body, paths",
    [
        pytest.param({"credential": minimal_v2(), "verifiableCredential": {}}, {"verifiableCredential"}, id="one"),
        pytest.param({"credential": minimal_v2(), "proof": {}, "extra": 1}, {"proof", "extra"}, id="two"),
    ],
)
def test_unknown_request_keys(body, paths):
    messages = request_errors(body)
    assert set(messages) == paths
    assert all(msgs == ["Unknown field."] for msgs in messages.values())


@pytest.mark.parametrize(
    "options, paths",
    [
        pytest.param({"proofType": "Ed25519Signature2020"}, {"options.proofType"}, id="unknown_key"),
        pytest.param({"format": "vc", "previousProof": {}}, {"options.format", "options.previousProof"},
                     id="two_unknown_keys"),
        pytest.param({"created": "2024-01-01"}, {"options.created"}, id="created_date_only"),
        pytest.param({"created": "2024-01-01T00:00:00"}, {"options.created"}, id="created_no_offset"),
        pytest.param({"challenge": ""}, {"options.challenge"}, id="challenge_empty"),
        pytest.param({"challenge": 5}, {"options.challenge"}, id="challenge_number"),
        pytest.param({"domain": []}, {"options.domain"}, id="domain_empty_array"),
        pytest.param({"domain": ["a", 1]}, {"options.domain"}, id="domain_bad_item"),
        pytest.param({"credentialStatus": "BitstringStatusListEntry"}, {"options.credentialStatus"},
                     id="status_string"),
        pytest.param({"credentialStatus": {}}, {"options.credentialStatus.type"}, id="status_without_type"),
        pytest.param({"mandatoryPointers": "/issuer"}, {"options.mandatoryPointers"}, id="pointers_string"),
        pytest.param({"mandatoryPointers": ["/issuer", "issuer", "/a~2b", 3, ""]},
                     {"options.mandatoryPointers[1]", "options.mandatoryPointers[2]",
                      "options.mandatoryPointers[3]", "options.mandatoryPointers[4]"}, id="pointers_bad_items"),
        pytest.param({"credentialId": ""}, {"options.credentialId"}, id="credential_id_empty"),
        pytest.param({"proofId": "proof-1"}, {"options.proofId"}, id="proof_id_not_url"),
    ],
)
def test_bad_options(options, paths):
    messages = request_errors({"credential": minimal_v2(), "options": options})
    assert set(messages) == paths


def test_unknown_option_is_named():
    messages = request_errors({"credential": minimal_v2(), "options": {"proofType": "x"}})
    assert messages == {"options.proofType": ["Unknown option."]}


@pytest.mark.parametrize("options", [None, "x", []])
def test_options_not_an_object(options):
    assert set(request_errors({"credential": minimal_v2(), "options": options})) == {"options"}


def test_credential_and_option_errors_reported_together():
    cred = minimal_v2()
    del cred["issuer"]
    messages = request_errors({"credential": cred, "options": {"nope": 1}, "extra": True})
    assert set(messages) == {"credential.issuer", "options.nope", "extra"}


def test_bad_options_do_not_hide_credential_errors():
    cred = minimal_v2()
    cred["id"] = "relative"
    messages = request_errors({"credential": cred, "options": "not an object"})
    assert set(messages) == {"credential.id", "options"}


# --- predicates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["https://example.org/x", "http://localhost:5000/a", "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
     "did:example:123", "did:key:z6Mk#z6Mk", "mailto:a@example.org", "urn:example:a?b#c"],
)
def test_is_url_accepts(value):
    assert is_url(value)


@pytest.mark.parametrize(
    "value",
    ["", "example", "/relative", "//example.org/x", "_:b0", "1http://x", "urn:", "did:ex ample:1",
     "https://exa mple.org", "https:", "https:/x", "https://", "urn:a\nb", None, 5],
)
def test_is_url_rejects(value):
    assert not is_url(value)


@pytest.mark.parametrize(
    "value",
    ["2010-01-01T19:23:24Z", "2010-01-01T19:23:24.123456789Z", "2010-01-01T19:23:24+14:00",
     "2010-01-01T19:23:24-13:59", "2000-02-29T00:00:00Z", "2010-12-31T24:00:00Z"],
)
def test_date_time_stamp_accepts(value):
    assert is_date_time_stamp(value)


@pytest.mark.parametrize(
    "value",
    ["2010-01-01", "2010-01-01T19:23:24", "2010-01-01T19:23Z", "2010-1-01T19:23:24Z", "1900-02-29T00:00:00Z",
     "2010-01-01T24:00:01Z", "2010-01-01T19:23:60Z", "2010-01-01T19:23:24.Z", "2010-01-01T19:23:24+0100",
     "2010-01-01T19:23:24Z\n", " 2010-01-01T19:23:24Z", "0000-00-00T00:00:00Z", "", None, 0,
     # XML Schema allows years outside 1-9999, but we sign only dates our verifier can read.
     "12010-01-01T00:00:00Z", "-0044-03-15T12:00:00+01:00"],
)
def test_date_time_stamp_rejects(value):
    assert not is_date_time_stamp(value)


def test_validity_compares_instants_not_strings():
    cred = minimal_v2()
    # 10:00+02:00 is 08:00Z, which is before 09:00Z even though the string sorts later
    cred["validFrom"] = "2020-01-01T10:00:00+02:00"
    cred["validUntil"] = "2020-01-01T09:00:00Z"
    assert credential_errors(cred) == {}
    cred["validUntil"] = "2020-01-01T07:59:59.999Z"
    assert set(credential_errors(cred)) == {"validUntil"}
