"""Hostile JSON-LD before canonicalization: deep nesting, very wide properties, named blank nodes.

Each is refused with a stable error code or processed in linear time; never a RecursionError.
"""

from __future__ import annotations

import copy
import json

import pytest
from pyld import jsonld
from pyld.identifier_issuer import IdentifierIssuer

from dataintegrity import (
    CanonicalizationLimitError,
    DocumentTooDeepError,
    bundled_document_loader,
    canonicalize,
    canonicalize_jcs,
    expand,
)
from dataintegrity.canonicalize import MAX_BLANK_NODE_LABELS, MAX_DEPTH
from dataintegrity.nodemap import create_node_map
from tests.dataintegrity.conftest import FIXTURES, read_json

EX = "http://example.org/vocab#"
CONTEXT = {
    "@vocab": EX,
    "link": {"@id": EX + "link", "@type": "@id"},
    "data": {"@id": EX + "data", "@type": "@json"},
    "items": {"@id": EX + "items", "@container": "@list"},
    "inverse": {"@reverse": EX + "link"},
    "graph": {"@id": EX + "graph", "@container": "@graph"},
}


def _nested(depth: int) -> dict:
    """A document whose innermost object is at ``depth`` levels (the document itself is level 1)."""
    node: dict = {"name": "leaf"}
    for level in range(depth - 2):
        node = {"child": node, "name": f"level {level}"}
    return {"@context": CONTEXT, "@id": "urn:root", "child": node}


def test_a_document_at_the_depth_limit_canonicalizes(document_loader):
    canonical = canonicalize(_nested(MAX_DEPTH), document_loader=document_loader)
    assert canonical.count("\n") == 2 * (MAX_DEPTH - 1)


def test_deep_nesting_of_identical_objects_is_refused_by_the_work_limit(document_loader):
    # 60 nested blank nodes that differ only by depth: telling them apart costs the square of their number
    node: dict = {"name": "leaf"}
    for _ in range(60):
        node = {"child": node}
    with pytest.raises(CanonicalizationLimitError):
        canonicalize({"@context": CONTEXT, "@id": "urn:root", "child": node}, document_loader=document_loader)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000])
def test_a_deeper_document_is_refused_before_processing(depth, document_loader):
    for call in (canonicalize, expand):
        with pytest.raises(DocumentTooDeepError) as info:
            call(_nested(depth), document_loader=document_loader)
        assert info.value.code == "jsonld_too_deep"


def test_deep_nesting_inside_an_inline_context_is_refused(document_loader):
    scoped: dict = {"@vocab": EX}
    for _ in range(MAX_DEPTH):
        scoped = {"inner": {"@id": EX + "inner", "@context": scoped}}
    with pytest.raises(DocumentTooDeepError):
        canonicalize({"@context": scoped, "@id": "urn:x", "inner": {"name": "x"}}, document_loader=document_loader)


def test_a_ring_of_named_blank_nodes_is_refused_before_expansion(document_loader):
    ring = {"@context": CONTEXT, "@graph": [{"@id": f"_:b{i}", "link": f"_:b{(i + 1) % 1000}"} for i in range(1000)]}
    with pytest.raises(CanonicalizationLimitError) as info:
        canonicalize(ring, document_loader=document_loader)
    assert info.value.code == "canonicalization_limit"
    assert "1000 blank nodes" in str(info.value)


def test_mentions_of_few_named_blank_nodes_are_bounded_too(document_loader):
    n = 40  # 40 names, 1,600 mentions: a complete graph
    bomb = {"@context": CONTEXT, "@graph": [{"@id": f"_:b{i}", "link": [f"_:b{j}" for j in range(n)]} for i in range(n)]}
    with pytest.raises(CanonicalizationLimitError, match="1640 times"):
        canonicalize(bomb, document_loader=document_loader)


def test_named_blank_nodes_within_the_limits_canonicalize(document_loader):
    n = MAX_BLANK_NODE_LABELS
    chain = {"@context": CONTEXT, "@graph": [{"@id": f"_:b{i}", "name": str(i), "link": f"_:b{i + 1}"} for i in range(n - 1)]}
    assert canonicalize(chain, document_loader=document_loader).count("\n") == 2 * (n - 1)


def test_a_very_wide_property_takes_linear_time(document_loader):
    # pyld's own node map compares each new value with every value before it: 10,000 took 37 s.
    wide = {"@context": CONTEXT, "@id": "urn:s", "link": [f"urn:o{i}" for i in range(3_000)] * 2,
            "name": [f"value {i}" for i in range(3_000)] + [f"value {i}" for i in range(1000)]}
    assert canonicalize(wide, document_loader=document_loader).count("\n") == 6_000


def _documents():
    """Documents whose node maps must be exactly pyld's: the fixtures, and values pyld's duplicate
    test treats in its own way (1 and 1.0 are one value, true and 1 are two; @json compared deeply)."""
    yield {
        "@context": CONTEXT, "@id": "urn:s", "@type": ["urn:T", "urn:T", "_:t"],
        "name": [1, 1.0, True, 1, "1", False, 0, 2.5, {"@value": "1", "@language": "en"}, {"@value": "1", "@language": "en"},
                 {"@value": "1", "@type": EX + "t"}, {"@value": "1", "@type": EX + "t"}],
        "data": [{"a": 1}, {"a": 1.0}, {"a": True}, [1, {"b": None}], [1, {"b": None}]],
        "items": [1, 1, {"@id": "_:x"}, {"@id": "_:x"}], "link": ["urn:a", "urn:a", "_:x", "_:x"],
        "inverse": [{"@id": "urn:o"}, {"@id": "urn:o"}, {"name": "reverse"}],
        "graph": [{"@id": "urn:in", "name": "in a graph"}, {"name": "anonymous"}],
        "@included": [{"@id": "urn:included", "name": "included"}, {"@id": "urn:s", "name": "merged"}],
        "empty": [],
    }
    for path in sorted((FIXTURES / "vectors").glob("*.json")):
        vector = read_json(path)
        for value in vector.values() if isinstance(vector, dict) else []:
            if isinstance(value, dict) and "@context" in value:
                yield value


@pytest.mark.parametrize("document", list(_documents()))
def test_node_map_is_pyld_s(document):
    loader = bundled_document_loader().with_documents({
        url: read_json(FIXTURES / "contexts" / name) for url, name in {
            "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.json",
            "https://w3id.org/citizenship/v4rc1": "citizenship-v4rc1.json",
        }.items()
    })
    expanded = jsonld.expand(copy.deepcopy(document), {"documentLoader": loader, "base": None})
    theirs: dict = {"@default": {}}
    jsonld.JsonLdProcessor()._create_node_map(copy.deepcopy(expanded), theirs, "@default", IdentifierIssuer("_:b"))
    ours = create_node_map(copy.deepcopy(expanded), IdentifierIssuer("_:b"))
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)


def test_jcs_refuses_a_document_too_deep_for_it():
    with pytest.raises(DocumentTooDeepError):
        canonicalize_jcs(_nested(5_000))


def _scoped_on_many_objects(terms: int, objects: int) -> dict:
    """A type-scoped inline context of ``terms`` terms, applied to ``objects`` typed objects."""
    scoped = {f"t{i}": EX + f"t{i}" for i in range(terms)}
    return {"@context": {"@vocab": EX, "Typed": {"@id": EX + "Typed", "@context": scoped}}, "@id": "urn:s",
            "item": [{"@type": "Typed", "t0": f"value {i}"} for i in range(objects)]}


def test_an_inline_scoped_context_on_many_objects_is_refused_before_expansion(document_loader):
    # pyld processes it afresh for each object: 3,000 terms on 1,000 objects took 34 s of CPU
    with pytest.raises(CanonicalizationLimitError, match="inline contexts"):
        canonicalize(_scoped_on_many_objects(3000, 1000), document_loader=document_loader)


def test_embedded_contexts_in_many_objects_are_refused(document_loader):
    document = {"@context": {"@vocab": EX}, "@id": "urn:s",
                "item": [{"@context": {"name": EX + "name"}, "name": f"value {i}"} for i in range(1000)]}
    with pytest.raises(CanonicalizationLimitError, match="inline contexts"):
        canonicalize(document, document_loader=document_loader)


def test_small_inline_contexts_are_processed(document_loader):
    assert canonicalize(_scoped_on_many_objects(5, 50), document_loader=document_loader).count("\n") == 150


def test_a_context_listed_twice_is_refused(document_loader):
    # each repetition of a large context is processed again (2 ms for Open Badges'), for nothing
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"] * 2, "id": "urn:x", "type": "VerifiableCredential"}
    with pytest.raises(CanonicalizationLimitError, match="more than once"):
        canonicalize(document, document_loader=document_loader)


def test_a_long_list_of_inline_contexts_is_refused(document_loader):
    document = {"@context": [{"@vocab": EX}] + [{"name": EX + "name"}] * 1000, "@id": "urn:x", "name": "x"}
    with pytest.raises(CanonicalizationLimitError, match="inline contexts"):
        canonicalize(document, document_loader=document_loader)
