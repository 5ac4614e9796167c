"""RDFC-1.0: W3C RDF Dataset Canonicalization (https://www.w3.org/TR/rdf-canon/), with SHA-256 or SHA-384.

We implement it ourselves over pyld's RDF dataset structure instead of calling ``pyld``'s
``normalize`` because

* pyld 3.3's N-Quads escaping is not the canonical one: canonical N-Quads write U+0008 as ``\\b``,
  U+000C as ``\\f`` and the other control characters (and U+007F) as ``\\uXXXX`` with upper-case hex;
  a signature over pyld's output would not verify elsewhere (and vice versa);
* the Hash N-Degree Quads step is exponential on crafted input ("blank node bombs"), so the work it
  may do is bounded by ``max_work`` and exceeding it raises :class:`CanonicalizationLimitError`;
* every call keeps its state in local objects, so the function is thread-safe.

Input is the dataset pyld's ``to_rdf`` returns: ``{graph_name: [triple, ...]}`` where ``graph_name``
is ``"@default"``, an IRI or a ``"_:"`` blank node label, and each triple is
``{"subject": term, "predicate": term, "object": term}`` with terms ``{"type": "IRI" | "blank node" |
"literal", "value": str, "datatype"?: str, "language"?: str}``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from .errors import CanonicalizationError, CanonicalizationLimitError

# One unit of work is one related blank node hashed or one permutation tried in Hash N-Degree Quads
# (about two microseconds). Real credentials almost never get there (each blank node hangs off a
# distinct IRI and has a unique first-degree hash); 800 blank nodes in 200 identical 4-cycles need
# ~13k, and a presentation holding two near-identical credentials needs up to ~100k, so the limit
# sits above that. A fully linked "bomb" of 7 or more blank nodes is refused after ~0.4 s of work.
DEFAULT_MAX_WORK = 200_000

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


def serialize_quad(quad: Quad, labels: Mapping[str, str]) -> str:
    """One canonical N-Quads line (with its ``\\n``); blank nodes are renamed through ``labels``."""
    parts = [_serialize_term(term, labels.get(term.value) if term.kind == "B" else None) for term in quad if term]
    return " ".join(parts) + " .\n"


def _term(raw: Mapping[str, str]) -> Term:
    kind = {"IRI": "I", "blank node": "B", "literal": "L"}.get(raw.get("type", ""))
    if kind is None:
        raise CanonicalizationError(f"unknown RDF term type {raw.get('type')!r}")
    value = raw["value"]
    if kind == "B":
        # labels in pyld's dataset carry "_:"; we keep the bare label
        return Term("B", value[2:] if value.startswith("_:") else value)
    if kind == "I" and _BAD_IRI_CHAR.search(value):
        raise CanonicalizationError(f"IRI {value!r} contains characters N-Quads does not allow")
    if kind == "L":
        datatype = raw.get("datatype") or XSD_STRING
        language = raw.get("language") or ""
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

    def _hash(self, text: str) -> str:
        return hashlib.new(self.hash_algorithm, text.encode("utf-8")).hexdigest()

    def _spend(self) -> None:
        self.work += 1
        if self.work > self.max_work:
            raise CanonicalizationLimitError(
                f"canonicalization needs more than {self.max_work} units of work: the document has too many "
                "indistinguishable blank nodes (a 'blank node bomb'?); refusing it"
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
        for _, nodes in sorted(hash_to_blank_nodes.items()):
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

    def _hash_related(self, related: str, quad: Quad, issuer: _IdentifierIssuer, position: str) -> str:
        """RDFC-1.0 4.7: hash of a blank node related to another through ``quad`` at ``position``."""
        data = position
        if position != "g":
            data += f"<{quad.predicate.value}>"
        if related in self.canonical.issued:
            data += "_:" + self.canonical.issued[related]
        elif related in issuer.issued:
            data += "_:" + issuer.issued[related]
        else:
            data += self._hash_first_degree(related)
        return self._hash(data)

    def _hash_n_degree(self, node: str, issuer: _IdentifierIssuer) -> tuple[str, _IdentifierIssuer]:
        """RDFC-1.0 4.8 (Hash N-Degree Quads).

        Each related blank node hashed and each permutation tried costs one unit of work.
        """
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.blank_node_to_quads[node]:
            for position, term in (("s", quad.subject), ("o", quad.object), ("g", quad.graph)):
                if term is not None and term.kind == "B" and term.value != node:
                    self._spend()
                    hash_ = self._hash_related(term.value, quad, issuer, position)
                    related_by_hash.setdefault(hash_, []).append(term.value)

        data_to_hash = ""
        for related_hash, related in sorted(related_by_hash.items()):
            data_to_hash += related_hash
            chosen_path = ""
            chosen_issuer: _IdentifierIssuer | None = None
            for permutation in itertools.permutations(related):
                self._spend()
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
                    result_hash, issuer_copy = self._hash_n_degree(other, issuer_copy)
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
        return self._hash(data_to_hash), issuer


def canonicalize_dataset(dataset: Dataset, *, max_work: int = DEFAULT_MAX_WORK, hash_algorithm: str = "sha256") -> str:
    """Return the canonical N-Quads of pyld's ``dataset`` (RDFC-1.0 with ``hash_algorithm``, one of :data:`HASH_ALGORITHMS`).

    Quads are sorted in code point order, each ends with ``\\n``; blank nodes are ``_:c14n<N>``.

    Raises:
        CanonicalizationLimitError: Hash N-Degree Quads would need more than ``max_work`` units
            (one per call and one per permutation tried).
        CanonicalizationError: the dataset holds a malformed term.
    """
    if hash_algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"RDFC-1.0 hash algorithm must be one of {sorted(HASH_ALGORITHMS)}, not {hash_algorithm!r}")
    quads = quads_from_dataset(dataset)
    labels = _Canonicalizer(quads, max_work, hash_algorithm).run()
    return "".join(sorted(serialize_quad(quad, labels) for quad in quads))
