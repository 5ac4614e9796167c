"""RDFC-1.0 over pyld datasets: canonical escaping, blank node labelling, the work limit."""

from __future__ import annotations

import copy
import random
import re

import pytest
from pyld import jsonld
from pyld.canon import URDNA2015

from dataintegrity import CanonicalizationError, CanonicalizationLimitError, canonicalize
from dataintegrity.rdfc import DEFAULT_MAX_WORK, canonicalize_dataset, escape_literal

EX = "http://example.org/vocab#"


def iri(value):
    return {"type": "IRI", "value": value}


def bnode(label):
    return {"type": "blank node", "value": f"_:{label}"}


def literal(value, datatype="http://www.w3.org/2001/XMLSchema#string", language=None):
    term = {"type": "literal", "value": value, "datatype": datatype}
    if language:
        term["language"] = language
        term["datatype"] = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
    return term


def triple(s, p, o):
    return {"subject": s, "predicate": p, "object": o}


def test_escape_literal_follows_canonical_n_triples():
    raw = "\u0008\u0009\u000a\u000b\u000c\u000d\u0022\u005c\u007f"
    assert escape_literal(raw) == '\\b\\t\\n\\u000B\\f\\r\\"\\\\\\u007F'
    assert escape_literal("\u0000\u001f") == "\\u0000\\u001F"
    assert escape_literal("é ☃ 😀 \u0080") == "é ☃ 😀 \u0080"  # everything else as-is (UTF-8)


def test_published_example_cycle_in_named_graph():
    # The RDFC-1.0 example used by several implementations: a 3-cycle of blank nodes in a blank-node
    # named graph (needs Hash N-Degree Quads) plus a literal made of every escaped character.
    e0, e1, e2 = bnode("e0"), bnode("e1"), bnode("e2")
    nxt, prv = iri(EX + "next"), iri(EX + "prev")
    dataset = {
        "_:g": [
            triple(e0, nxt, e1), triple(e0, prv, e2), triple(e1, nxt, e2),
            triple(e1, prv, e0), triple(e2, nxt, e0), triple(e2, prv, e1),
            triple(iri("urn:ex:s"), iri("urn:ex:p"), literal("\u0008\u0009\u000a\u000b\u000c\u000d\u0022\u005c\u007f")),
        ]
    }
    expected = (
        '<urn:ex:s> <urn:ex:p> "\\b\\t\\n\\u000B\\f\\r\\"\\\\\\u007F" _:c14n0 .\n'
        f"_:c14n1 <{EX}next> _:c14n2 _:c14n0 .\n"
        f"_:c14n1 <{EX}prev> _:c14n3 _:c14n0 .\n"
        f"_:c14n2 <{EX}next> _:c14n3 _:c14n0 .\n"
        f"_:c14n2 <{EX}prev> _:c14n1 _:c14n0 .\n"
        f"_:c14n3 <{EX}next> _:c14n1 _:c14n0 .\n"
        f"_:c14n3 <{EX}prev> _:c14n2 _:c14n0 .\n"
    )
    assert canonicalize_dataset(dataset) == expected


def test_literal_forms():
    s, p = iri("urn:ex:s"), iri("urn:ex:p")
    dataset = {
        "@default": [
            triple(s, p, literal("plain")),
            triple(s, p, literal("hallo", language="de")),
            triple(s, p, literal("1", "http://www.w3.org/2001/XMLSchema#integer")),
        ]
    }
    assert canonicalize_dataset(dataset) == (
        '<urn:ex:s> <urn:ex:p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
        '<urn:ex:s> <urn:ex:p> "hallo"@de .\n'
        '<urn:ex:s> <urn:ex:p> "plain" .\n'
    )


def test_duplicate_quads_collapse():
    t = triple(iri("urn:ex:s"), iri("urn:ex:p"), literal("x"))
    assert canonicalize_dataset({"@default": [t, dict(t)]}) == '<urn:ex:s> <urn:ex:p> "x" .\n'


def test_the_hash_decides_the_blank_node_labels():
    """RDFC-1.0 with SHA-384 (ecdsa-rdfc-2019 on P-384) labels blank nodes in another order than SHA-256."""
    p = iri("urn:ex:p")
    dataset = {"@default": [triple(bnode(f"_:n{i}"), p, literal(str(i))) for i in range(4)]}
    sha256, sha384 = (canonicalize_dataset(dataset, hash_algorithm=name) for name in ("sha256", "sha384"))
    assert sha256 != sha384
    with pytest.raises(ValueError, match="sha256"):
        canonicalize_dataset(dataset, hash_algorithm="md5")


def test_iri_that_would_break_n_quads_is_refused():
    dataset = {"@default": [triple(iri("urn:ex:s> <urn:ex:forged"), iri("urn:ex:p"), literal("x"))]}
    with pytest.raises(CanonicalizationError):
        canonicalize_dataset(dataset)


def _graphs():
    """Blank node structures that need the n-degree algorithm, as JSON-LD documents."""
    ctx = {"@vocab": EX, "p": {"@id": EX + "p", "@type": "@id"}, "q": {"@id": EX + "q", "@type": "@id"}}

    def doc(edges, extra=()):
        nodes = {}
        for s, prop, o in edges:
            nodes.setdefault(s, {"@id": f"_:{s}"}).setdefault(prop, []).append(f"_:{o}")
        for s, prop, value in extra:
            nodes.setdefault(s, {"@id": f"_:{s}"})[prop] = value
        return {"@context": ctx, "@graph": list(nodes.values())}

    yield doc([("a", "p", "b"), ("b", "p", "c"), ("c", "p", "a")])
    yield doc([("a", "p", "b"), ("b", "p", "a"), ("c", "p", "d"), ("d", "p", "c")])
    yield doc([(x, "p", y) for x in "abcd" for y in "abcd" if x != y])
    yield doc([("a", "p", "b"), ("a", "q", "c"), ("b", "p", "c"), ("c", "q", "b"), ("d", "p", "a")], [("d", "name", "x")])
    yield doc([(f"n{i}", "p", f"n{(i + 1) % 6}") for i in range(6)] + [("n0", "q", "n3")])


@pytest.mark.parametrize("document", list(_graphs()))
def test_matches_pyld_urdna2015_where_escaping_agrees(document, document_loader):
    # pyld's URDNA2015 is a reference for blank node labelling (its escaping is only wrong for control characters)
    ours = canonicalize(document, document_loader=document_loader)
    theirs = jsonld.normalize(
        document, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader}
    )
    assert ours == theirs


@pytest.mark.parametrize("document", list(_graphs()))
def test_result_does_not_depend_on_labels_or_order(document, document_loader):
    expected = canonicalize(document, document_loader=document_loader)
    rng = random.Random(7)
    for _ in range(5):
        labels = {node["@id"]: f"_:x{rng.randrange(10**6)}" for node in document["@graph"]}
        nodes = [
            {key: (labels[value] if key == "@id" else [labels[v] for v in value] if isinstance(value, list) else value)
             for key, value in node.items()}
            for node in document["@graph"]
        ]
        rng.shuffle(nodes)
        relabelled = {"@context": document["@context"], "@graph": nodes}
        assert canonicalize(relabelled, document_loader=document_loader) == expected


def _bomb(n):
    """n blank nodes, each linked to every other: all indistinguishable, n! paths to try."""
    return {
        "@context": {"p": {"@id": EX + "p", "@type": "@id"}},
        "@graph": [{"@id": f"_:b{i}", "p": [f"_:b{j}" for j in range(n) if j != i]} for i in range(n)],
    }


@pytest.mark.parametrize("n", [7, 10, 30])
def test_blank_node_bomb_is_refused(n, document_loader):
    # Refused by counting work, not by a timer: n! permutations would otherwise run for ages.
    with pytest.raises(CanonicalizationLimitError) as info:
        canonicalize(_bomb(n), document_loader=document_loader)
    assert info.value.code == "canonicalization_limit"
    assert str(DEFAULT_MAX_WORK) in str(info.value)


def test_small_symmetric_structures_fit_the_default_limit(document_loader):
    assert canonicalize(_bomb(6), document_loader=document_loader).count("\n") == 30


def test_max_work_is_adjustable(document_loader):
    with pytest.raises(CanonicalizationLimitError):
        canonicalize(_bomb(3), document_loader=document_loader, max_work=5)
    assert canonicalize(_bomb(7), document_loader=document_loader, max_work=10**6).count("\n") == 42


def _chain_quads(labels, predicate=EX + "next"):
    return [triple(bnode(a), iri(predicate), bnode(b)) for a, b in zip(labels, labels[1:])]


def test_a_ring_of_a_thousand_blank_nodes_is_refused_not_a_recursion_error():
    labels = [f"r{i}" for i in range(1000)]
    with pytest.raises(CanonicalizationLimitError) as info:
        canonicalize_dataset({"@default": _chain_quads(labels + labels[:1])})
    assert info.value.code == "canonicalization_limit"


def test_a_chain_deeper_than_the_recursion_limit_canonicalizes():
    # Two copies of a chain of 2,500 blank nodes, node i of each copy marked with i: Hash N-Degree
    # Quads follows each chain from its first node to the ends, well past Python's recursion limit.
    n = 2500
    quads = []
    for copy_ in "ab":
        labels = [f"{copy_}{i}" for i in range(n)]
        quads += _chain_quads(labels)
        quads += [triple(bnode(label), iri(EX + "index"), literal(str(i))) for i, label in enumerate(labels)]
    canonical = canonicalize_dataset({"@default": quads}, max_work=10**7)
    assert canonical.count("\n") == 2 * (n - 1) + 2 * n
    assert len(set(re.findall(r"_:c14n\d+", canonical))) == 2 * n


@pytest.mark.parametrize("n", [8, 20, 100])
def test_a_bomb_of_any_size_is_refused_before_the_permutations(n):
    """n blank nodes all linked: each has n - 1 interchangeable neighbours, (n - 1)! orders to try."""
    quads = [triple(bnode(f"b{i}"), iri(EX + "p"), bnode(f"b{j}")) for i in range(n) for j in range(n) if i != j]
    with pytest.raises(CanonicalizationLimitError) as info:
        canonicalize_dataset({"@default": quads})
    assert info.value.code == "canonicalization_limit"
    assert str(DEFAULT_MAX_WORK) in str(info.value)


def test_identical_but_unlinked_blank_nodes_fit_the_limit():
    """A thousand identical evidence entries: none can be told apart, but none links to another."""
    credential = iri("urn:credential")
    quads = []
    for i in range(1000):
        quads += [triple(credential, iri(EX + "evidence"), bnode(f"e{i}")),
                  triple(bnode(f"e{i}"), iri(EX + "name"), literal("Exam attempt"))]
    canonical = canonicalize_dataset({"@default": quads})
    assert len(set(re.findall(r"_:c14n\d+", canonical))) == 1000


def test_identical_linked_pairs_fit_the_limit():
    """Two hundred identical parent-child pairs (duplicated nested entries) cost a few units each."""
    quads = []
    for i in range(200):
        quads += [triple(iri("urn:credential"), iri(EX + "result"), bnode(f"r{i}")),
                  triple(bnode(f"r{i}"), iri(EX + "source"), bnode(f"s{i}")),
                  triple(bnode(f"s{i}"), iri(EX + "name"), literal("same"))]
    assert canonicalize_dataset({"@default": quads}).count("\n") == 600


def _random_graphs(count):
    """Small random graphs of blank nodes (seeded: the same every run), with cycles, symmetric
    parts, literals that tell some nodes apart, and blank-node named graphs. Without self-loops and
    repeated quads: pyld's URDNA2015 counts those twice (it neither deduplicates the dataset nor a
    quad that names one blank node twice), where RDFC-1.0 and we count them once."""
    rng = random.Random(2026)
    for _ in range(count):
        n = rng.randrange(2, 9)
        nodes = [f"n{i}" for i in range(n)]
        quads = {}
        edges = {(rng.choice(["@default", "@default", "_:g"]), rng.choice(nodes), rng.choice("pq"), rng.choice(nodes))
                 for _ in range(rng.randrange(1, 3 * n))}
        for graph, subject, predicate, object_ in sorted(edges):
            if subject != object_:
                quads.setdefault(graph, []).append(triple(bnode(subject), iri(EX + predicate), bnode(object_)))
        for node in nodes:
            if rng.random() < 0.3:
                quads.setdefault("@default", []).append(triple(bnode(node), iri(EX + "name"), literal(rng.choice("xy"))))
        yield quads


@pytest.mark.parametrize("dataset", list(_random_graphs(150)))
def test_labels_match_pyld_urdna2015_on_random_graphs(dataset):
    # pyld's URDNA2015 is RDFC-1.0's blank node labelling (its escaping differs only for control characters)
    theirs = URDNA2015().main(copy.deepcopy(dataset), {"format": "application/n-quads"})
    assert canonicalize_dataset(dataset, max_work=10**7) == theirs
