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
"literal", "value": str, "datatype"?: str, "language"?: str}``; or (:func:`canonicalize_quads`) the
quads themselves.

A term is held as its canonical N-Quads text from the start (``<iri>``, ``"escaped"^^<datatype>``,
``_:label``): the algorithm only ever hashes and writes terms in that form, so each is escaped and
checked once, and a blank node is told by its ``_:`` (an IRI starts with ``<``, a literal with ``"``).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping

from .errors import CanonicalizationError, CanonicalizationLimitError

# A unit of work is about a microsecond of Hash N-Degree Quads (a call, a related blank node, a hash,
# a permutation's path and issuer copy; see _Canonicalizer), so the limit refuses in a few tens of
# milliseconds. Real credentials almost never get there: blank nodes hang off distinct IRIs or have
# unique first-degree hashes; identical evidence entries cost a few units each. Six blank nodes all
# linked to each other need ~22k, 200 identical 4-cycles ~27k; seven, or a ring of 50, are refused.
DEFAULT_MAX_WORK = 30_000

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

_ECHAR = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_NEEDS_ESCAPE = re.compile('[\\x00-\\x1f\\x7f"\\\\]')
# Characters an N-Quads IRIREF may not contain; an IRI holding one would let a value forge quads.
_BAD_IRI_CHAR = re.compile('[\\x00-\\x20<>"{}|^`\\\\]')


# pyld's to_rdf result: graph name -> triples of term dicts
Dataset = Mapping[str, Iterable[Mapping[str, Mapping[str, str]]]]

# (subject, predicate, object, graph) as canonical N-Quads terms; the default graph is "".
Quad = tuple[str, str, str, str]


def escape_literal(value: str) -> str:
    """Escape a literal's lexical form as canonical N-Quads require (RDF 1.2 canonical N-Triples)."""

    def one(match: re.Match[str]) -> str:
        char = match.group()
        return _ECHAR.get(char) or f"\\u{ord(char):04X}"

    return _NEEDS_ESCAPE.sub(one, value)


# IRIs recur across quads and documents (vocabulary terms, datatypes), so the forms of short ones are
# kept; a long one is checked afresh, so the cache stays small whatever comes in.
_CACHED_VALUE_LENGTH = 256


def iri_term(iri: str) -> str:
    """``<iri>``.

    Raises:
        CanonicalizationError: ``iri`` holds a character N-Quads does not allow in an IRI.
    """
    return _cached_iri_term(iri) if len(iri) <= _CACHED_VALUE_LENGTH else _iri_term(iri)


def _iri_term(iri: str, what: str = "IRI") -> str:
    if _BAD_IRI_CHAR.search(iri):
        raise CanonicalizationError(f"{what} {iri!r} contains characters N-Quads does not allow")
    return f"<{iri}>"


@functools.lru_cache(maxsize=4096)
def _cached_iri_term(iri: str) -> str:
    return _iri_term(iri)  # a bad IRI raises, and nothing is kept


@functools.lru_cache(maxsize=1024)
def _cached_datatype_suffix(datatype: str) -> str:
    return "^^" + _iri_term(datatype, "datatype IRI")


def literal_term(value: str, datatype: str = XSD_STRING, language: str = "") -> str:
    """The literal's N-Quads form: ``"value"``, ``"value"^^<datatype>`` or ``"value"@language``.

    Raises:
        CanonicalizationError: ``datatype`` holds a character N-Quads does not allow in an IRI.
    """
    suffix = ""
    if datatype and datatype != XSD_STRING:
        suffix = (_cached_datatype_suffix(datatype) if len(datatype) <= _CACHED_VALUE_LENGTH
                  else "^^" + _iri_term(datatype, "datatype IRI"))
    if language:
        suffix = "@" + language
    if _NEEDS_ESCAPE.search(value):
        value = escape_literal(value)
    return f'"{value}"{suffix}'


def blank_node_term(label: str) -> str:
    """``_:label`` (labels in pyld's dataset carry the ``_:`` already)."""
    return label if label.startswith("_:") else "_:" + label


def _term(raw: Mapping[str, str]) -> str:
    kind = raw.get("type", "")
    value = raw["value"] if kind in ("IRI", "blank node", "literal") else None
    if kind == "IRI":
        return iri_term(value)
    if kind == "blank node":
        return blank_node_term(value)
    if kind == "literal":
        return literal_term(value, raw.get("datatype") or "", raw.get("language") or "")
    raise CanonicalizationError(f"unknown RDF term type {raw.get('type')!r}")


def quads_from_dataset(dataset: Dataset) -> list[Quad]:
    """Convert pyld's dataset dict into a duplicate-free list of quads (an RDF dataset is a set)."""
    quads: dict[Quad, None] = {}
    for graph_name, triples in dataset.items():
        if graph_name == "@default":
            graph = ""
        elif graph_name.startswith("_:"):
            graph = graph_name
        else:
            graph = iri_term(graph_name)
        for triple in triples:
            quads[(_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"]), graph)] = None
    return list(quads)


def _line(quad: Quad, labels: Mapping[str, str]) -> str:
    """One canonical N-Quads line (with its ``\\n``); blank nodes are renamed to ``_:`` + ``labels[node]``."""
    subject, predicate, object_, graph = quad
    if subject[0] == "_":
        subject = "_:" + labels[subject]
    if object_[0] == "_":
        object_ = "_:" + labels[object_]
    if not graph:
        return f"{subject} {predicate} {object_} .\n"
    if graph[0] == "_":
        graph = "_:" + labels[graph]
    return f"{subject} {predicate} {object_} {graph} .\n"


class _FirstDegreeLabels(dict):
    """Labels for Hash First Degree Quads (RDFC-1.0 4.6): made as ``{node: "a"}`` for the node hashed,
    ``z`` for any other."""

    def __missing__(self, node: str) -> str:
        return "z"


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
_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}
HASH_ALGORITHMS = frozenset(_HASHES)


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
        return _HASHES[self.hash_algorithm](text.encode("utf-8")).hexdigest()

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
        blank_node_to_quads = self.blank_node_to_quads
        for quad in self.quads:
            subject, _, object_, graph = quad
            if subject[0] != "_" and object_[0] != "_" and not graph:
                continue  # the commonest quad: no blank node
            for term in (subject, object_, graph):
                if term[:1] == "_":
                    mentions = blank_node_to_quads.get(term)
                    if mentions is None:
                        blank_node_to_quads[term] = [quad]
                    elif mentions[-1] is not quad:
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

        if not hash_to_blank_nodes:
            return self.canonical.issued  # the common case: every first-degree hash is unique

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
            linked = [term for term in (quad[0], quad[2], quad[3])
                      if term[:1] == "_" and term not in self.canonical.issued]
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
            labels = _FirstDegreeLabels({node: "a"})
            lines = sorted([_line(quad, labels) for quad in self.blank_node_to_quads[node]])
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
                (position if position == "g" else position + quad[1], term)
                for quad in self.blank_node_to_quads[node]
                for position, term in (("s", quad[0]), ("o", quad[2]), ("g", quad[3]))
                if term[:1] == "_" and term != node
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
    _check_hash_algorithm(hash_algorithm)
    return canonicalize_quads(quads_from_dataset(dataset), max_work=max_work, hash_algorithm=hash_algorithm)


def canonicalize_quads(quads: list[Quad], *, max_work: int = DEFAULT_MAX_WORK, hash_algorithm: str = "sha256") -> str:
    """:func:`canonicalize_dataset` of duplicate-free ``quads`` (see :data:`Quad`)."""
    _check_hash_algorithm(hash_algorithm)
    labels = _Canonicalizer(quads, max_work, hash_algorithm).run()
    return "".join(sorted([_line(quad, labels) for quad in quads]))


def _check_hash_algorithm(hash_algorithm: str) -> None:
    if hash_algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"RDFC-1.0 hash algorithm must be one of {sorted(HASH_ALGORITHMS)}, not {hash_algorithm!r}")
