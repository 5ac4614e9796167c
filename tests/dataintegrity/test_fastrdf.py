"""The direct JSON-LD -> RDF path (dataintegrity.fastrdf) against the reference path.

Exactness: for every document, canonicalize() (fast path where it covers the document) gives
byte-identical canonical N-Quads to canonicalize_reference() (pyld's safe-mode expansion and node
map), or the same error with the same message. Coverage: which inputs take the fast path and which
fall back, and why.
"""

from __future__ import annotations

import copy
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataintegrity import DataIntegrityError, bundled_document_loader, canonicalize
from dataintegrity.canonicalize import canonicalize_reference
from dataintegrity.contextcache import ContextCache
from dataintegrity.fastrdf import NotCovered, to_quads
from dataintegrity.rdfc import canonicalize_quads

from tests.conftest import shared_ref

from .conftest import FIXTURES, VECTOR_FILES, load_vector

BUNDLED = bundled_document_loader()
VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
DI2 = "https://w3id.org/security/data-integrity/v2"


def outcome(canonicalizer, document: dict, loader=BUNDLED) -> str:
    """Canonical N-Quads, or the error class and message."""
    try:
        return canonicalizer(document, document_loader=loader)
    except (DataIntegrityError, TypeError, UnicodeError) as error:
        return f"{type(error).__name__}: {error}"
    except RecursionError:
        return "RecursionError"  # its message names whichever frame hit the limit


def fast_outcome(document: dict, loader=BUNDLED, cache: ContextCache | None = None) -> str:
    """The fast path alone: its quads canonicalized (raises NotCovered where it does not apply)."""
    return canonicalize_quads(to_quads(document, document_loader=loader, cache=cache))


def credential(**changes) -> dict:
    """An Open Badges credential as our issuer makes them (issuer profile, achievement, evidence, status)."""
    issuer = {"id": "did:web:badges.example:issuers:acme", "type": ["Profile"], "name": "Acme Academy",
              "url": "https://acme.example"}
    document = {
        "@context": [VC2, OB, OB_EXTENSIONS],
        "id": "https://badges.example/credentials/8d1e",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Python Basics",
        "issuer": issuer,
        "validFrom": "2026-11-25T12:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": "sha256$12", "identityType": "emailAddress",
                            "hashed": True, "salt": "s"}],
            "achievement": {
                "id": "https://badges.example/achievements/5f0c", "type": ["Achievement"], "name": "Python Basics",
                "criteria": {"narrative": "Pass."}, "achievementType": "Badge", "creator": issuer,
                "alignment": [{"type": ["Alignment"], "targetName": "Python", "targetUrl": "https://esco.example/py"}],
                "resultDescription": [{"id": "https://badges.example/achievements/5f0c#score",
                                       "type": ["ResultDescription"], "name": "Score", "resultType": "RawScore",
                                       "valueMin": "0", "valueMax": "100", "requiredValue": "70"}],
                "tag": ["python"],
            },
            "result": [{"type": ["Result"], "resultDescription": "https://badges.example/achievements/5f0c#score",
                        "value": "85.5"}],
        },
        "evidence": [{"type": ["Evidence"], "id": "https://lms.example/attempts/1", "name": "Exam attempt"}],
        "credentialSchema": [{"id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                              "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialStatus": [
            {"id": f"https://badges.example/status/{n}#7", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
             "statusListIndex": "7", "statusListCredential": f"https://badges.example/status/{n}"}
            for n, purpose in enumerate(["revocation", "suspension"])
        ],
    }
    document.update(changes)
    return document


def proof_configuration() -> dict:
    return {"@context": [VC2, OB, OB_EXTENSIONS], "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-11-25T12:00:00Z", "verificationMethod": "did:web:badges.example:issuers:acme#key-1",
            "proofPurpose": "assertionMethod"}


def status_list_credential() -> dict:
    return {"@context": [VC2], "id": "https://badges.example/status/0", "type": ["VerifiableCredential",
            "BitstringStatusListCredential"], "issuer": "did:web:badges.example:issuers:acme",
            "validFrom": "2026-11-25T12:00:00Z",
            "credentialSubject": {"id": "https://badges.example/status/0#list", "type": "BitstringStatusList",
                                  "statusPurpose": "revocation", "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"}}


# --- what takes the fast path ----------------------------------------------------------------------

COVERED = {
    "issued credential": credential(),
    "proof configuration": proof_configuration(),
    "status list credential": status_list_credential(),
    "VC 1.1 credential": {"@context": [VC1, "https://purl.imsglobal.org/spec/ob/v3p0/context.json"],
                          "type": ["VerifiableCredential", "OpenBadgeCredential"], "issuer": "https://issuer.example",
                          "issuanceDate": "2026-11-25T12:00:00Z",
                          "credentialSubject": {"id": "did:example:ada", "type": "AchievementSubject"}},
    "numbers and booleans": credential(credentialSubject={
        "type": "AchievementSubject", "result": [{"type": "Result", "value": value} for value in
                                                 (0, -7, 10**21, 2.5, 1e-7, 5.0, 1e300, True, False)]}),
    "blank node ids and empty nodes": credential(id="_:credential", evidence=[{"id": "_:e"}, {}, {"id": "_:e"}]),
    "a single context URL": {"@context": VC2, "type": "VerifiableCredential", "issuer": "https://issuer.example"},
    "null values and nested arrays": credential(name=None, evidence=[[{"type": "Evidence", "name": "a"}], [], None]),
}

FALLS_BACK = {
    "inline context": ({"@context": [VC2, {"colour": "https://vocab.example/colour"}], "type": "VerifiableCredential",
                        "colour": "red"}, "not a list of context URLs"),
    "no context": ({"type": "VerifiableCredential"}, "not a list of context URLs"),
    "unknown context URL": (credential(**{"@context": [VC2, "https://contexts.example/x"]}), "does not serve"),
    "nested context": (credential(evidence=[{"@context": {"x": "https://x.example/"}, "x": 1}]), "an @context inside"),
    "value object with a language": (credential(name={"@value": "Grundlagen", "@language": "de"}), "value object"),
    "@graph container (proof)": (credential(proof={"type": "DataIntegrityProof"}), "has a container"),
    "@json literal": (credential(credentialSchema=[{"id": "https://s.example/1", "type": "JsonSchema",
                                                    "jsonSchema": {"type": "object"}}]), "is JSON"),
    "@list container": (credential(credentialSubject={"type": "AchievementSubject", "achievement": {
        "type": "Achievement", "resultDescription": [{"type": "ResultDescription", "allowedValue": ["a", "b"]}]}}),
        "has a container"),
    "undefined term": (credential(colour="blue"), "'colour'"),
    "relative @id": (credential(id="credentials/1"), "not an absolute IRI"),
    "undefined type": (credential(type=["VerifiableCredential", "NoSuchType"]), "a type that is not an absolute IRI"),
    "Decimal number": (credential(name=__import__("decimal").Decimal("1.5")), "Decimal"),
    "too many context URLs": (credential(**{"@context": sorted(bundled_document_loader().urls)[:9]}), "more than a few"),
    "not a JSON object": ([credential()], "not a JSON object"),
    "a key that is not a string": (credential(evidence=[{"type": "Evidence", 7: "x"}]), "TypeError"),
    "deeply nested": (credential(credentialSubject=__import__("functools").reduce(
        lambda inner, _: {"type": "AchievementSubject", "source": inner}, range(2000), {})), "nested too deeply"),
}


@pytest.mark.parametrize("name", sorted(COVERED))
def test_covered_documents_take_the_fast_path_with_the_reference_output(name):
    document = COVERED[name]
    assert fast_outcome(document) == outcome(canonicalize_reference, document)
    assert canonicalize(document, document_loader=BUNDLED) == outcome(canonicalize_reference, document)


# @ids the fast path expands itself (an authority, a scheme no term defines as a prefix, a blank
# node) and those it leaves to pyld (a defined prefix, as "xsd" and "sec" are in the VC 1.1 context)
IDS = ["https://badges.example/c/1", "did:web:badges.example:issuers:acme", "urn:uuid:8d1e", "mailto:ada@example.org",
       "http:no-authority", "name:not-a-prefix", "Achievement:x", "xsd:string", "sec:key-1", "_:b7", "tag:x//y"]


@pytest.mark.parametrize("identifier", IDS)
@pytest.mark.parametrize("contexts", [[VC2, OB], [VC1, "https://purl.imsglobal.org/spec/ob/v3p0/context.json"]])
def test_ids_of_every_form_take_the_fast_path_with_the_reference_output(identifier, contexts):
    document = {"@context": contexts, "id": identifier, "type": ["VerifiableCredential", "OpenBadgeCredential"],
                "issuer": {"id": identifier, "type": "Profile", "name": "Acme"},
                "credentialSubject": {"id": identifier, "type": "AchievementSubject"}}
    assert fast_outcome(document) == outcome(canonicalize_reference, document)


def test_plans_are_kept_per_keys_and_types():
    """Nodes with the same keys but other types (so other type-scoped contexts), in one cache: each
    document still gets the reference output."""
    cache = ContextCache({url: BUNDLED(url)["document"] for url in BUNDLED.urls})
    nodes = [{"type": "Evidence", "name": "n", "description": "d"}, {"type": "Profile", "name": "n", "description": "d"},
             {"type": ["Evidence"], "name": "n", "description": "d"}, {"type": "Achievement", "name": "n", "description": "d"},
             {"type": ["Profile", "Evidence"], "name": "n", "description": "d"},
             {"type": ["Evidence", "Profile"], "name": "n", "description": "d"}]
    for _ in range(2):  # the second time from the kept plans
        for node in nodes:
            document = credential(evidence=[node], issuer={**node, "id": "https://acme.example"})
            assert fast_outcome(document, cache=cache) == outcome(canonicalize_reference, document)


@pytest.mark.parametrize("name", sorted(FALLS_BACK))
def test_what_falls_back_to_the_reference_path(name):
    document, reason = FALLS_BACK[name]
    with pytest.raises(NotCovered) as not_covered:
        to_quads(document, document_loader=BUNDLED)
    if reason:
        assert reason in str(not_covered.value)
    # and canonicalize() then gives exactly what the reference path gives: output or error
    assert outcome(canonicalize, document) == outcome(canonicalize_reference, document)


def test_safe_mode_errors_are_the_reference_paths():
    undefined = credential()
    undefined["credentialSubject"]["achievement"]["achievementColour"] = "blue"  # inside a type-scoped context
    assert outcome(canonicalize, undefined).startswith("SafeModeError: ") and "'achievementColour'" in outcome(
        canonicalize, undefined)
    relative = credential(evidence=[{"id": "attempts/1", "type": "Evidence"}])
    assert outcome(canonicalize, relative) == outcome(canonicalize_reference, relative)
    assert "SafeModeError" in outcome(canonicalize, relative) and "'attempts/1'" in outcome(canonicalize, relative)
    bad_iri = credential(id="https://badges.example/a>b")
    assert outcome(canonicalize, bad_iri) == outcome(canonicalize_reference, bad_iri)
    assert outcome(canonicalize, bad_iri).startswith("CanonicalizationError: ")


def test_a_loader_serving_other_bytes_for_a_bundled_url_falls_back():
    changed = copy.deepcopy(BUNDLED(OB)["document"])
    changed["@context"]["Achievement"]["@context"]["achievementType"]["@id"] = "https://changed.example/type"
    loader = BUNDLED.with_documents({OB: changed})
    with pytest.raises(NotCovered):
        to_quads(credential(), document_loader=loader)
    assert "<https://changed.example/type>" in canonicalize(credential(), document_loader=loader)


@pytest.mark.parametrize("name", VECTOR_FILES)
def test_published_vectors(name, document_loader):
    """Every vector's document and proof configuration, through a cache that holds the vectors' contexts too."""
    vector = load_vector(name)
    cache = ContextCache({url: document_loader(url)["document"] for url in document_loader.urls})
    document = vector["unsigned_document"]
    config = {**vector["proof_options"], "@context": document["@context"]}
    for item in (document, config):
        assert fast_outcome(item, document_loader, cache) == outcome(canonicalize_reference, item, document_loader)
        assert outcome(canonicalize, item, document_loader) == outcome(canonicalize_reference, item, document_loader)


def _documents(path) -> list[dict]:
    """The JSON-LD documents in a JSON file (objects with an @context, at any depth), each also
    without its proof, as a verifier canonicalizes it."""
    found, stack = [], [json.loads(path.read_text(encoding="utf-8"))]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "@context" in value:
                found.append(value)
                if "proof" in value:
                    found.append({key: item for key, item in value.items() if key != "proof"})
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


FIXTURE_FILES = sorted(path for path in FIXTURES.rglob("*.json") if "contexts" not in path.parts)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_every_fixture_document_gets_the_reference_output(path, document_loader):
    for document in _documents(path):
        assert outcome(canonicalize, document, document_loader) == outcome(canonicalize_reference, document, document_loader)


def test_every_shared_reference_vector_gets_the_reference_output(document_loader):
    documents = [document for path in sorted(shared_ref("vectors").rglob("*.json")) for document in _documents(path)]
    assert len(documents) > 40
    for document in documents:
        assert outcome(canonicalize, document, document_loader) == outcome(canonicalize_reference, document, document_loader)


# --- generated documents --------------------------------------------------------------------------

# any code point but surrogates (which JSON text cannot carry): controls, quotes, backslashes, unicode
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
numbers = st.one_of(st.integers(), st.integers(min_value=-(10**25), max_value=10**25),
                    st.floats(allow_nan=False, allow_infinity=False), st.booleans())
scalars = st.one_of(text, numbers, st.floats(), st.integers(-3, 3).map(float))
iris = st.one_of(
    st.sampled_from(["https://badges.example/a", "https://lms.example/attempts/1", "did:web:badges.example",
                     "urn:uuid:8d1e", "_:b0", "_:x"]),
    st.text(string.ascii_letters + string.digits + "-._~/?#%", max_size=8).map(lambda tail: f"https://r.example/{tail}"),
)
language_tagged = st.builds(lambda value, tag: {"@value": value, "@language": tag}, text, st.sampled_from(["en", "de-CH"]))


def maybe_id(node: dict, draw_id) -> dict:
    if draw_id is not None:
        node["id"] = draw_id
    return node


@st.composite
def alignments(draw):
    node = {"type": draw(st.sampled_from(["Alignment", ["Alignment"]])), "targetName": draw(text),
            "targetUrl": draw(iris)}
    if draw(st.booleans()):
        node["targetFramework"] = draw(text)
    return maybe_id(node, draw(st.none() | iris))


@st.composite
def evidence(draw):
    node = {"type": ["Evidence"], "name": draw(text), "narrative": draw(text)}
    if draw(st.booleans()):
        node["genre"] = draw(st.lists(text, max_size=2))
    return maybe_id(node, draw(st.none() | iris))


@st.composite
def results(draw):
    return {"type": ["Result"], "value": draw(scalars), "resultDescription": draw(iris),
            "status": draw(st.sampled_from(["Completed", "Enrolled"]))}


@st.composite
def ob_credentials(draw):
    """(credential, whether the fast path must cover it)."""
    issuer = draw(st.one_of(iris.filter(lambda iri: not iri.startswith("_:")),
                            st.builds(lambda i, n: {"id": i, "type": "Profile", "name": n}, iris, text)))
    achievement = {
        "type": draw(st.sampled_from(["Achievement", ["Achievement"]])),
        "name": draw(text), "description": draw(text),
        "criteria": {"narrative": draw(text)},
        "alignment": draw(st.lists(alignments(), max_size=3)),
        "tag": draw(st.lists(text, max_size=3)),
        "resultDescription": [{"id": draw(iris), "type": "ResultDescription", "name": draw(text),
                               "valueMin": draw(scalars), "valueMax": draw(scalars)}],
    }
    maybe_id(achievement, draw(st.none() | iris))
    document = {
        "@context": draw(st.sampled_from([[VC2, OB], [VC2, OB, OB_EXTENSIONS], [VC2, OB, DI2]])),
        "type": ["VerifiableCredential", draw(st.sampled_from(["OpenBadgeCredential", "AchievementCredential"]))],
        "issuer": issuer,
        "name": draw(text),
        "validFrom": draw(st.sampled_from(["2026-11-25T12:00:00Z", "not a date"])),
        "credentialSubject": {"type": ["AchievementSubject"], "achievement": achievement,
                              "result": draw(st.lists(results(), max_size=3))},
        "evidence": draw(st.lists(evidence(), max_size=3)),
    }
    maybe_id(document, draw(st.none() | iris))
    maybe_id(document["credentialSubject"], draw(st.none() | iris))
    if draw(st.booleans()):
        document["credentialSubject"]["achievement"]["alignment"].append(draw(alignments()))  # nested deeper
    tagged = draw(st.integers(0, 4)) == 0
    if tagged:  # a language-tagged name somewhere
        draw(st.sampled_from([document, achievement, *document["evidence"]]))["name"] = draw(language_tagged)
    trouble = draw(st.sampled_from([None, None, None, "undefined", "relative", "type"]))
    if trouble == "undefined":
        document["credentialSubject"]["achievement"]["colour"] = draw(text)
    elif trouble == "relative":
        document["evidence"].append({"id": "attempts/2", "type": "Evidence"})
    elif trouble == "type":
        document["credentialSubject"]["type"].append("NoSuchType")
    return document, trouble is None and not tagged


@settings(derandomize=True, max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ob_credentials())
def test_generated_credentials_are_byte_identical(generated):
    document, covered = generated
    expected = outcome(canonicalize_reference, document)
    assert outcome(canonicalize, document) == expected
    if covered:
        assert fast_outcome(document) == expected
    else:
        with pytest.raises(NotCovered):
            to_quads(document, document_loader=BUNDLED)


def test_many_entries_take_time_linear_in_their_number():
    """1,000 alignments and evidence entries: the fast path covers them and agrees with the reference."""
    document = credential(evidence=[{"type": "Evidence", "id": f"https://lms.example/{n}", "name": f"e{n}"}
                                    for n in range(500)])
    document["credentialSubject"]["achievement"]["alignment"] = [
        {"type": "Alignment", "targetName": f"t{n}", "targetUrl": f"https://esco.example/{n}"} for n in range(500)]
    quads = to_quads(document, document_loader=BUNDLED)
    assert len(quads) > 2000
    assert canonicalize_quads(quads) == canonicalize_reference(document, document_loader=BUNDLED)


def test_threads_sharing_the_memo_get_the_reference_output():
    """Four threads canonicalizing different credentials from a cold memo at once."""
    from concurrent.futures import ThreadPoolExecutor

    from dataintegrity.contextcache import default_context_cache

    documents = [credential(name=f"Badge {n}", evidence=[{"type": "Evidence", "name": f"e{n}"}] * (n % 3))
                 for n in range(12)] + [proof_configuration(), status_list_credential()]
    expected = [canonicalize_reference(document, document_loader=BUNDLED) for document in documents]
    default_context_cache().clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(lambda document: canonicalize(document, document_loader=BUNDLED), documents * 4))
    assert outputs == expected * 4
