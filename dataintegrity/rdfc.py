"""RDFC-1.0: W3C RDF Dataset Canonicalization (https://www.w3.org/TR/rdf-canon/), with SHA-256 or SHA-384.

We implement it ourselves over pyld's RDF dataset structure instead of calling ``pyld``'s
``normalize`` because

* pyld 3.3's N-Quads escaping is not the canonical one: canonical N-Quads write U+0008 as ``\\b``,
  U+000C as ``\\f`` and the other control characters (and U+007F) as ``\\uXXXX`` with upper-case hex;
  a signature over pyld's output would not verify elsewhere (and vice versa);
* the Hash N-Degree Quads step is exponential on crafted input ("blank node bombs"), so the work it
  may do is bounded by ``max_work`` and exceeding it raises :class:`CanonicalizationLimitError`; a
  structure that would certainly exceed it (a group of more than a handful of interchangeable
  blank nodes, a long ring) is refused before the work starts, and the algorithm's recursion runs
  on an explicit stack, so no input reaches Python's recursion limit;
* every call keeps its state in local objects, so the function is thread-safe.

Input is the dataset pyld's ``to_rdf`` returns: ``{graph_name: [triple, ...]}`` where ``graph_name``
is ``"@default"``, an IRI or a ``"_:"`` blank node label, and each triple is
``{"subject": term, "predicate": term, "object": term}`` with terms ``{"type": "IRI" | "blank node" |
"literal", "value": str, "datatype"?: str, "language"?: str}``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from .errors import CanonicalizationError, CanonicalizationLimitError

# A unit of work is about a microsecond of Hash N-Degree Quads (a call, a related blank node, a hash,
# a permutation's path and issuer copy; see _Canonicalizer), so the limit refuses in a few tens of
# milliseconds. Real credentials almost never get there: blank nodes hang off distinct IRIs or have
# unique first-degree hashes; identical evidence entries cost a few units each. Six blank nodes all
# linked to each other need ~22k, 200 identical 4-cycles ~27k; seven, or a ring of 50, are refused.
DEFAULT_MAX_WORK = 30_000

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

_ECHAR = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_NEEDS_ESCAPE = re.compile('[\\x00-\\x1f\\x7f"\\\\]')
# Characters an N-Quads IRIREF may not contain; an IRI holding one would let a value forge quads.
_BAD_IRI_CHAR = re.compile('[\\x00-\\x20<>"{}|^`\\\\]')


# pyld's to_rdf result: graph name -> triples of term dicts
Dataset = Mapping[str, Iterable[Mapping[str, Mapping[str, str]]]]


class Term(NamedTuple):
    """One RDF term. ``kind`` is ``"I"`` (IRI), ``"B"`` (blank node) or ``"L"`` (literal)."""

    kind: str
    value: str
    datatype: str = ""
    language: str = ""


class Quad(NamedTuple):
    subject: Term
    predicate: Term
    object: Term
    graph: Term | None  # None is the default graph


def escape_literal(value: str) -> str:
    """Escape a literal's lexical form as canonical N-Quads require (RDF 1.2 canonical N-Triples)."""

    def one(match: re.Match[str]) -> str:
        char = match.group()
        return _ECHAR.get(char) or f"\\u{ord(char):04X}"

    return _NEEDS_ESCAPE.sub(one, value)


def _serialize_term(term: Term, bnode_label: str | None = None) -> str:
    """Canonical N-Quads form of ``term``; a blank node is written as ``_:`` + ``bnode_label``."""
    if term.kind == "I":
        return f"<{term.value}>"
    if term.kind == "B":
        return f"_:{bnode_label if bnode_label is not None else term.value}"
    literal = f'"{escape_literal(term.value)}"'
    if term.language:
        return f"{literal}@{term.language}"
    if term.datatype and term.datatype != XSD_STRING:
        return f"{literal}^^<{term.datatype}>"
    return literal


# IRIs and literals recur across quads and documents (vocabulary terms, datatypes), so the forms of
# short ones are kept; a long value is serialized afresh, so the caches stay small whatever comes in.
_CACHED_VALUE_LENGTH = 256


@functools.lru_cache(maxsize=4096)
def _serialized_term(term: Term) -> str:
    return _serialize_term(term)


def serialize_quad(quad: Quad, labels: Mapping[str, str]) -> str:
    """One canonical N-Quads line (with its ``\\n``); blank nodes are renamed through ``labels``."""
    parts = []
    for term in quad:
        if term is None:
            continue
        if term.kind == "B":
            parts.append(f"_:{labels.get(term.value, term.value)}")
        elif len(term.value) <= _CACHED_VALUE_LENGTH:
            parts.append(_serialized_term(term))
        else:
            parts.append(_serialize_term(term))
    return " ".join(parts) + " .\n"


_TERM_KINDS = {"IRI": "I", "blank node": "B", "literal": "L"}


def _term(raw: Mapping[str, str]) -> Term:
    kind = _TERM_KINDS.get(raw.get("type", ""))
    if kind is None:
        raise CanonicalizationError(f"unknown RDF term type {raw.get('type')!r}")
    value = raw["value"]
    if kind == "B":
        return _make_term(kind, value, "", "")
    datatype, language = (raw.get("datatype") or "", raw.get("language") or "") if kind == "L" else ("", "")
    if len(value) <= _CACHED_VALUE_LENGTH and len(datatype) <= _CACHED_VALUE_LENGTH and len(language) <= _CACHED_VALUE_LENGTH:
        return _cached_term(kind, value, datatype, language)
    return _make_term(kind, value, datatype, language)


@functools.lru_cache(maxsize=4096)
def _cached_term(kind: str, value: str, datatype: str, language: str) -> Term:
    return _make_term(kind, value, datatype, language)  # a malformed term raises, and nothing is kept


def _make_term(kind: str, value: str, datatype: str, language: str) -> Term:
    if kind == "B":
        # labels in pyld's dataset carry "_:"; we keep the bare label
        return Term("B", value[2:] if value.startswith("_:") else value)
    if kind == "I" and _BAD_IRI_CHAR.search(value):
        raise CanonicalizationError(f"IRI {value!r} contains characters N-Quads does not allow")
    if kind == "L":
        datatype = datatype or XSD_STRING
        if _BAD_IRI_CHAR.search(datatype):
            raise CanonicalizationError(f"datatype IRI {datatype!r} contains characters N-Quads does not allow")
        return Term("L", value, RDF_LANGSTRING if language else datatype, language)
    return Term(kind, value)


def quads_from_dataset(dataset: Dataset) -> list[Quad]:
    """Convert pyld's dataset dict into a duplicate-free list of :class:`Quad` (an RDF dataset is a set)."""
    quads: dict[Quad, None] = {}
    for graph_name, triples in dataset.items():
        if graph_name == "@default":
            graph = None
        elif graph_name.startswith("_:"):
            graph = Term("B", graph_name[2:])
        else:
            graph = _term({"type": "IRI", "value": graph_name})
        for triple in triples:
            quad = Quad(_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"]), graph)
            quads[quad] = None
    return list(quads)


class _IdentifierIssuer:
    """Issues ``prefix + counter`` identifiers, remembering the order in which they were issued."""

    __slots__ = ("prefix", "issued")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = issued if issued is not None else {}

    def issue(self, existing: str) -> str:
        identifier = self.issued.get(existing)
        if identifier is None:
            identifier = self.issued[existing] = f"{self.prefix}{len(self.issued)}"
        return identifier

    def copy(self) -> _IdentifierIssuer:
        return _IdentifierIssuer(self.prefix, dict(self.issued))


# RDFC-1.0 lets the hash be chosen; SHA-256 is its default, and ecdsa-rdfc-2019 uses SHA-384 with P-384
# keys (the labels, so the canonical form, differ as soon as there are blank nodes).
HASH_ALGORITHMS = frozenset({"sha256", "sha384"})


class _Canonicalizer:
    """State of one run of the algorithm (RDFC-1.0 section 4.2 "canonicalization state")."""

    def __init__(self, quads: list[Quad], max_work: int, hash_algorithm: str) -> None:
        self.quads = quads
        self.hash_algorithm = hash_algorithm
        self.max_work = max_work
        self.work = 0
        self.blank_node_to_quads: dict[str, list[Quad]] = {}
        self.canonical = _IdentifierIssuer("c14n")
        self.first_degree: dict[str, str] = {}
        # Hash Related Blank Node input -> its hash; the same few inputs recur in every permutation.
        self.related_hashes: dict[str, str] = {}
        # Hash N-Degree Quads results of nodes whose related blank nodes all have labels (see _settled_hash).
        self.settled_hashes: dict[tuple[str, ...], str] = {}
        self.relations: dict[str, list[tuple[str, str]]] = {}

    def _hash(self, text: str) -> str:
        return hashlib.new(self.hash_algorithm, text.encode("utf-8")).hexdigest()

    def _spend(self, units: int = 1) -> None:
        self.work += units
        if self.work > self.max_work:
            raise self._limit_error()

    def _limit_error(self) -> CanonicalizationLimitError:
        return CanonicalizationLimitError(
            f"canonicalization needs more than {self.max_work} units of work: the document has too many "
            "blank nodes that cannot be told apart (a 'blank node bomb'?); refusing it"
        )

    def run(self) -> dict[str, str]:
        """Return the canonical label (without ``_:``) for every blank node."""
        # 4.4.3 step 2: map each blank node to the quads it occurs in
        for quad in self.quads:
            for term in (quad.subject, quad.object, quad.graph):
                if term is not None and term.kind == "B":
                    mentions = self.blank_node_to_quads.setdefault(term.value, [])
                    if not mentions or mentions[-1] is not quad:
                        mentions.append(quad)

        # step 3: first-degree hashes
        hash_to_blank_nodes: dict[str, list[str]] = {}
        for node in self.blank_node_to_quads:
            hash_to_blank_nodes.setdefault(self._hash_first_degree(node), []).append(node)

        # step 4: blank nodes with a unique first-degree hash get their labels in hash order
        for hash_, nodes in sorted(hash_to_blank_nodes.items()):
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
                del hash_to_blank_nodes[hash_]

        # step 5: the rest are told apart by their n-degree neighbourhood
        groups = [nodes for _, nodes in sorted(hash_to_blank_nodes.items())]
        if self._least_n_degree_work(groups) > self.max_work:
            raise self._limit_error()
        for nodes in groups:
            hash_path_list: list[tuple[str, _IdentifierIssuer]] = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                temporary = _IdentifierIssuer("b")
                temporary.issue(node)
                hash_path_list.append(self._hash_n_degree(node, temporary))
            for _, issuer in sorted(hash_path_list, key=lambda result: result[0]):
                for existing in issuer.issued:
                    self.canonical.issue(existing)
        return self.canonical.issued

    def _least_n_degree_work(self, groups: list[list[str]]) -> int:
        """A lower bound of the units step 5 will spend, found in linear time.

        Hash N-Degree Quads of a node visits every blank node it reaches through blank nodes that
        have no canonical label yet (its "component"), and a visit costs at least what
        _settled_hash spends. Labels are only given after a whole group of equal first-degree
        hashes, and then to all the components that group reached. So each node of a group whose
        component no earlier group reached costs at least the visits of that whole component:
        about n squared units for a ring of n blank nodes, known before any of that work is done.
        """
        parent: dict[str, str] = {}

        def root(node: str) -> str:
            while parent.get(node, node) != node:
                parent[node] = node = parent.get(parent[node], parent[node])
            return node

        for quad in self.quads:
            linked = [t.value for t in (quad.subject, quad.object, quad.graph)
                      if t is not None and t.kind == "B" and t.value not in self.canonical.issued]
            for other in linked[1:]:
                parent[root(other)] = root(linked[0])
        sizes: dict[str, int] = {}
        for group in groups:
            for node in group:
                sizes[root(node)] = sizes.get(root(node), 0) + 1 + len(self._related(node)) // 3
        least, reached = 0, set()
        for group in groups:
            roots = [root(node) for node in group]
            least += sum(sizes[r] for r in roots if r not in reached)
            reached.update(roots)
        return least

    def _hash_first_degree(self, node: str) -> str:
        """RDFC-1.0 4.6: hash of the node's quads, itself as ``_:a`` and every other blank node as ``_:z``."""
        cached = self.first_degree.get(node)
        if cached is None:
            lines = sorted(
                " ".join(
                    _serialize_term(term, ("a" if term.value == node else "z") if term.kind == "B" else None)
                    for term in quad
                    if term
                )
                + " .\n"
                for quad in self.blank_node_to_quads[node]
            )
            cached = self.first_degree[node] = self._hash("".join(lines))
        return cached

    def _label(self, node: str, issuer: _IdentifierIssuer) -> str | None:
        """``_:`` + the node's canonical label, else its label in ``issuer``, else None."""
        label = self.canonical.issued.get(node) or issuer.issued.get(node)
        return None if label is None else "_:" + label

    def _related(self, node: str) -> list[tuple[str, str]]:
        """``(relation, other)`` for each mention of another blank node in the node's quads, in quad
        order; ``relation`` is the start of a Hash Related Blank Node input (RDFC-1.0 4.7): the
        position and, unless it is the graph, the predicate."""
        related = self.relations.get(node)
        if related is None:
            related = self.relations[node] = [
                (position if position == "g" else f"{position}<{quad.predicate.value}>", term.value)
                for quad in self.blank_node_to_quads[node]
                for position, term in (("s", quad.subject), ("o", quad.object), ("g", quad.graph))
                if term is not None and term.kind == "B" and term.value != node
            ]
        return related

    def _hash_related(self, data: str) -> str:
        """RDFC-1.0 4.7: the hash of a relation followed by the related node's label or first-degree hash."""
        hash_ = self.related_hashes.get(data)
        if hash_ is None:
            self._spend()
            hash_ = self.related_hashes[data] = self._hash(data)
        return hash_

    def _hash_n_degree(self, node: str, issuer: _IdentifierIssuer) -> tuple[str, _IdentifierIssuer]:
        """RDFC-1.0 4.8 (Hash N-Degree Quads), without recursion.

        The algorithm calls itself for related blank nodes; on a long chain of blank nodes that
        would exceed Python's recursion limit. Each call is a generator instead, which yields
        the call it needs and receives its result, and this loop keeps the calls on a list.
        """
        calls = [self._n_degree_steps(node, issuer)]
        result = None
        while True:
            try:
                needed = calls[-1].send(result)
            except StopIteration as finished:
                calls.pop()
                if not calls:
                    return finished.value
                result = finished.value
            else:
                calls.append(self._n_degree_steps(*needed))
                result = None

    def _n_degree_steps(self, node: str, issuer: _IdentifierIssuer):
        """One Hash N-Degree Quads call: yields ``(related node, issuer)`` for each nested call and
        is sent back its ``(hash, issuer)``; returns ``(hash, issuer)``.

        Work units, each about a microsecond: a few for the call, one for each related blank node
        and each related hash computed, and for each permutation tried one, two per node in it
        (its path) and one per 8 labels its issuer copies.
        """
        relations = self._related(node)
        self._spend(_CALL_UNITS + len(relations))
        related_by_hash: dict[str, list[str]] = {}
        for relation, other in relations:
            hash_ = self._hash_related(relation + (self._label(other, issuer) or self._hash_first_degree(other)))
            related_by_hash.setdefault(hash_, []).append(other)

        data_to_hash = ""
        for related_hash, related in sorted(related_by_hash.items()):
            data_to_hash += related_hash
            labels = [self._label(other, issuer) for other in related]
            if None not in labels:
                # Every permutation only concatenates these labels, so the least path is the
                # least concatenation, found by sorting (no n! permutations to try).
                self._spend(len(labels))
                data_to_hash += "".join(sorted(labels, key=functools.cmp_to_key(_concatenation_order)))
                continue
            if len(related) > _MAX_PERMUTED or math.factorial(len(related)) > self.max_work - self.work:
                raise self._limit_error()  # at least one unit for each permutation
            chosen_path = ""
            chosen_issuer: _IdentifierIssuer | None = None
            for permutation in itertools.permutations(related):
                self._spend(1 + 2 * len(permutation) + len(issuer.issued) // 8)
                issuer_copy = issuer.copy()
                path = ""
                recursion_list: list[str] = []
                skip = False
                for other in permutation:
                    if other in self.canonical.issued:
                        path += "_:" + self.canonical.issued[other]
                    else:
                        if other not in issuer_copy.issued:
                            recursion_list.append(other)
                        path += "_:" + issuer_copy.issue(other)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for other in recursion_list:
                    result_hash = self._settled_hash(other, issuer_copy)
                    if result_hash is None:
                        result_hash, issuer_copy = yield other, issuer_copy
                    path += "_:" + issuer_copy.issue(other) + f"<{result_hash}>"
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path, chosen_issuer = path, issuer_copy
            data_to_hash += chosen_path
            assert chosen_issuer is not None  # there is always at least one permutation
            issuer = chosen_issuer
        self._spend()
        return self._hash(data_to_hash), issuer

    def _settled_hash(self, node: str, issuer: _IdentifierIssuer) -> str | None:
        """Hash N-Degree Quads of ``node`` when all its related blank nodes have labels, else None.

        Then no permutation issues a label, each group's least path is its labels in order, and
        the hash depends only on the multiset of (position, predicate, label) relations: in a
        symmetric structure most nested calls share one, so each is computed once.
        """
        relations = []
        for relation, other in self._related(node):
            label = self._label(other, issuer)
            if label is None:
                return None
            relations.append((relation, label))
        self._spend(1 + len(relations) // 3)
        key = tuple(sorted(relation + label for relation, label in relations))
        hash_ = self.settled_hashes.get(key)
        if hash_ is None:
            # as _n_degree_steps computes it: equal inputs have equal hashes, hence equal labels
            by_hash = sorted((self._hash_related(relation + label), label) for relation, label in relations)
            hash_ = self.settled_hashes[key] = self._hash("".join(
                (related_hash if index == 0 or by_hash[index - 1][0] != related_hash else "") + label
                for index, (related_hash, label) in enumerate(by_hash)
            ))
        return hash_


# The fixed cost of one Hash N-Degree Quads call, in work units (a unit is roughly a microsecond).
_CALL_UNITS = 4
# More related blank nodes than this in one group means more permutations than any budget allows.
_MAX_PERMUTED = 20


def _concatenation_order(a: str, b: str) -> int:
    """Orders strings so that joining them sorted gives the least concatenation."""
    return (a + b > b + a) - (a + b < b + a)


def canonicalize_dataset(dataset: Dataset, *, max_work: int = DEFAULT_MAX_WORK, hash_algorithm: str = "sha256") -> str:
    """Return the canonical N-Quads of pyld's ``dataset`` (RDFC-1.0 with ``hash_algorithm``, one of :data:`HASH_ALGORITHMS`).

    Quads are sorted in code point order, each ends with ``\\n``; blank nodes are ``_:c14n<N>``.

    Raises:
        CanonicalizationLimitError: Hash N-Degree Quads would need more than ``max_work`` units
            of work (about a microsecond each; see :data:`DEFAULT_MAX_WORK`).
        CanonicalizationError: the dataset holds a malformed term.
    """
    if hash_algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"RDFC-1.0 hash algorithm must be one of {sorted(HASH_ALGORITHMS)}, not {hash_algorithm!r}")
    quads = quads_from_dataset(dataset)
    labels = _Canonicalizer(quads, max_work, hash_algorithm).run()
    return "".join(sorted(serialize_quad(quad, labels) for quad in quads))
