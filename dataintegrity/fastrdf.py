"""A direct JSON-LD -> RDF dataset path for documents whose contexts are all bundled.

The reference path (:mod:`.canonicalize`) expands with pyld in safe mode, then builds pyld's node
map and converts it to RDF. That is general but slow: context processing copies context data over
and over, and the node map's duplicate check is quadratic in the number of values of a property.

This module walks the document once and produces the same RDF dataset (the same quads, up to
blank-node labels, which RDFC-1.0 replaces anyway), as :mod:`.rdfc`'s quads of N-Quads terms, in
time linear in the document's size:

* the active contexts are pyld's own, processed once from the bundled documents and then reused
  across documents; each is wrapped in a :class:`_Context` that memoizes what the walk asks of it
  (term definitions, type IRIs, the contexts derived from it by scoped contexts). They are never
  copied and never changed;
* what a node object's keys and types decide (its context after scoped contexts, which key is its
  ``@id``, its types, each property's predicate and how its values are read) is worked out once per
  context and active property, and kept as a plan (:class:`_Plan`); documents of one issuer share
  their shapes, so the walk mostly just follows plans and writes N-Quads terms;
* every decision follows pyld's expansion algorithm (``JsonLdProcessor._expand`` and
  ``_expand_object``, pyld 3.3): property-scoped contexts, type-scoped contexts that do not propagate,
  reverting to the previous context, value coercion, and pyld's conversion of JSON numbers.

Whatever the walk does not cover raises :class:`NotCovered`, and the caller runs the reference path
instead. That includes every input the reference path refuses (an undefined term, a relative IRI, an
unknown context...), so safe mode's errors, their classes and messages stay the reference path's
own; and JSON-LD features that typical credentials do not use: inline or nested ``@context``,
value objects, ``@graph``/``@list``/``@set``/``@reverse``/``@included``/``@nest``/``@json``,
containers other than ``@set``, language-tagged strings and more than a few context URLs.
"""

from __future__ import annotations

import re
import threading
from typing import Any, NamedTuple

from pyld import jsonld
from pyld.jsonld import XSD_BOOLEAN, XSD_DOUBLE, XSD_INTEGER, XSD_STRING, _canonicalize_double, _is_double

from .contextcache import ContextCache, default_context_cache
from .documentloader import DocumentLoader
from .rdfc import Quad, iri_term, literal_term

__all__ = ["NotCovered", "to_quads"]

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RDF_TYPE_TERM = f"<{RDF_TYPE}>"

# pyld's test for an absolute IRI, anchored (as in canonicalize.py): what safe mode accepts
_ABSOLUTE_IRI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*|_):\S*")

# Beyond this many context URLs in one document the reference path handles it (pyld's limit on
# context URLs is ten; staying well below it keeps its accounting out of this module).
MAX_CONTEXT_URLS = 8
# Beyond this many wrapped contexts the memo starts afresh (documents could combine type-scoped
# contexts in ever new ways; a typical credential needs a few dozen).
MAX_CONTEXTS = 4096
# Keys and type names memoized per context, at most: documents choose them (any absolute IRI is a
# valid key), so beyond this they are looked up afresh each time instead of kept.
MAX_MEMOIZED_NAMES = 4096
# Node shapes and plans kept over all contexts, at most; beyond this the memo starts afresh (a
# credential needs a few dozen; documents could choose keys and types without end).
MAX_PLANS = 65536

# Only pure helpers of this instance are used (IRI expansion); it holds no per-call state.
_IRI_EXPANDER = jsonld.JsonLdProcessor()


class NotCovered(Exception):
    """The document uses something this path does not handle; use the reference path."""


# what a key is, for the walk
ID, TYPE, PROPERTY, OTHER = range(4)


class _Term(NamedTuple):
    """What the walk needs to know of one key in one active context."""

    iri: str | None  # the key expanded as a property (vocab-relative), or a keyword
    kind: int  # ID, TYPE, PROPERTY (an absolute IRI, as safe mode requires) or OTHER
    predicate: str | None  # a PROPERTY's IRI as an N-Quads term
    scoped: Any  # the term's own @context (property- or type-scoped), or None
    coercion: str | None  # the term's @type
    plain: bool  # its container is none or @set, and it is not a reverse property
    tagged: bool  # a language or base direction would apply to its strings
    keyword: bool  # iri is a keyword or not a string: it takes no literal values
    strings: bool  # a string value is a plain xsd:string literal (no keyword, coercion, language)


class _Plan(NamedTuple):
    """How a node object with given keys and types is walked in a given context, and with a given
    active property: all that depends on them and not on the other values, decided once."""

    context: _Context  # the node's active context: reverted, property- and type-scoped contexts applied
    id_key: str | None  # the key that is its @id
    types: tuple[str, ...]  # its types as N-Quads terms; a blank node as its "_:" label in the document
    # (key, predicate, the values' context and term, whether a string value is a plain literal)
    properties: tuple[tuple[str, str, _Context, _Term, bool], ...]


class _Shape(NamedTuple):
    """A node object's keys in one context, with one active property: where the walk looks up its
    types, and its plans by the values of those keys."""

    context: _Context  # reverted and property-scoped, before type-scoped contexts
    type_keys: tuple[str, ...]  # its keys that are @type there, in code point order
    plans: dict[tuple, _Plan]


class _Memo:
    """The wrapped contexts of one ContextCache: roots by context URLs, and a budget for all of them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.roots: dict[tuple[str, ...], _Context] = {}
        self.wrapped: dict[int, _Context] = {}  # id(pyld active context) -> its wrapper
        self.count = 0
        self.plans = 0  # shapes and plans kept in the wrapped contexts

    def wrap(self, active: Any) -> _Context:
        context = self.wrapped.get(id(active))
        if context is None or context.active is not active:
            self.count += 1
            if self.count > MAX_CONTEXTS:
                self.reset()
            context = self.wrapped[id(active)] = _Context(self, active)
        return context

    def count_plan(self) -> None:
        self.plans += 1
        if self.plans > MAX_PLANS:
            self.reset()

    def reset(self) -> None:
        # wrappers still in use by running calls stay valid; they are just no longer shared
        self.roots = {}
        self.wrapped = {}
        self.count = 0
        self.plans = 0


class _Context:
    """One of pyld's processed (frozen) active contexts, with memoized lookups. Never changed once
    built; its memo dicts only gain entries that are pure functions of the context (so two threads
    racing to fill one compute the same value)."""

    __slots__ = ("memo", "active", "terms", "types", "derived", "shapes", "_previous")

    def __init__(self, memo: _Memo, active: Any) -> None:
        self.memo = memo
        self.active = active
        self.terms: dict[str, _Term] = {}
        self.types: dict[str, str | None] = {}
        self.derived: dict[tuple[int, bool], tuple[Any, _Context]] = {}
        self.shapes: dict[tuple[str | None, tuple[str, ...]], _Shape] = {}  # by (active property, keys)
        self._previous: _Context | None = None

    @property
    def previous(self) -> _Context | None:
        """The context a non-propagated type-scoped context reverts to, if any."""
        previous = self.active.get("previousContext")
        if not previous:
            return None
        if self._previous is None:
            self._previous = self.memo.wrap(previous)
        return self._previous

    def term(self, key: str) -> _Term:
        term = self.terms.get(key)
        if term is None:
            active = self.active
            definition = active["mappings"].get(key) or {}
            container = definition.get("@container") or []
            iri = _IRI_EXPANDER._expand_iri(active, key, vocab=True)
            if iri == "@id":
                kind = ID
            elif iri == "@type":
                kind = TYPE
            elif isinstance(iri, str) and not iri.startswith(("@", "_:")) and _ABSOLUTE_IRI.fullmatch(iri):
                kind = PROPERTY
            else:
                kind = OTHER
            coercion = definition.get("@type")
            tagged = any(jsonld.JsonLdProcessor.get_context_value(active, key, name) is not None
                         for name in ("@language", "@direction"))
            keyword = not isinstance(iri, str) or iri.startswith("@")
            term = _Term(
                iri=iri,
                kind=kind,
                predicate=iri_term(iri) if kind == PROPERTY else None,
                scoped=definition.get("@context"),
                coercion=coercion,
                plain=all(kind == "@set" for kind in container) and not definition.get("reverse"),
                tagged=tagged,
                keyword=keyword,
                strings=not keyword and coercion is None and not tagged,
            )
            if len(self.terms) < MAX_MEMOIZED_NAMES:
                self.terms[key] = term
        return term

    def type_iri(self, value: str) -> str | None:
        iri = self.types.get(value, "")
        if iri == "":
            iri = _IRI_EXPANDER._expand_iri(self.active, value, vocab=True, base=None)
            if len(self.types) < MAX_MEMOIZED_NAMES:
                self.types[value] = iri
        return iri

    def derive(self, scoped: Any, walk: _Walk, *, propagate: bool) -> _Context:
        """This context with a property-scoped (``propagate``) or type-scoped context applied."""
        key = (id(scoped), propagate)
        entry = self.derived.get(key)
        if entry is None or entry[0] is not scoped:
            # pyld's own processing, through the shared cache of processed bundled contexts
            active = walk.process(self.active, scoped, propagate=propagate, override_protected=propagate)
            entry = self.derived[key] = (scoped, self.memo.wrap(active))  # keeps `scoped` alive: its id stays its own
        return entry[1]


def _expand_id(active: Any, value: str) -> Any:
    """pyld's ``_expand_iri(active, value, base=None)`` (an @id, not vocabulary-relative), with its
    commonest outcomes first: a blank node label, an IRI with an authority, and an absolute IRI
    whose scheme no term defines as a prefix (``did:``, ``urn:``) are returned as they are."""
    prefix, colon, suffix = value.partition(":")
    if colon and prefix and not prefix.startswith("@"):
        if prefix == "_" or suffix.startswith("//"):
            return value
        mapping = active["mappings"].get(prefix)
        if not (mapping and mapping["_prefix"]) and _ABSOLUTE_IRI.fullmatch(value):
            return value  # (pyld's own test also accepts a trailing newline: that case is left to it)
    return _IRI_EXPANDER._expand_iri(active, value, base=None)


def _memo(cache: ContextCache) -> _Memo:
    memo = cache.compiled.get("fastrdf")
    if memo is None:
        memo = cache.compiled.setdefault("fastrdf", _Memo())
    return memo


def to_quads(document: Any, *, document_loader: DocumentLoader, cache: ContextCache | None = None) -> list[Quad]:
    """Return the RDF dataset of ``document`` as :mod:`.rdfc`'s duplicate-free quads.

    Raises:
        NotCovered: the document uses anything this path does not handle, including everything the
            reference path refuses; the reason says what.
    """
    if not isinstance(document, dict):
        raise NotCovered("the document is not a JSON object")
    cache = default_context_cache() if cache is None else cache
    walk = _Walk(cache, document_loader)
    root = walk.root(document.get("@context"))
    try:
        walk.node(root, None, document)
    except NotCovered:
        raise
    except RecursionError:
        raise NotCovered("the document is nested too deeply") from None
    except Exception as error:  # e.g. keys that are not strings: the reference path says what is wrong
        raise NotCovered(f"{type(error).__name__}: {error}") from None
    return list(walk.quads)


class _Walk:
    """One conversion: the quads so far and the blank node labels issued."""

    def __init__(self, cache: ContextCache, document_loader: DocumentLoader) -> None:
        self.cache = cache
        self.loader = document_loader
        self.memo = _memo(cache)
        self.quads: dict[Quad, None] = {}  # a set, in the order found
        self.blank_nodes: dict[str, str] = {}  # the document's own "_:" labels -> ours
        self.issued = 0
        self._processor: tuple | None = None

    # --- contexts -------------------------------------------------------------------------------

    def root(self, contexts: Any) -> _Context:
        """The active context for the document's top-level ``@context`` (bundled URLs only)."""
        urls = tuple(contexts) if isinstance(contexts, list) else (contexts,)
        if not urls or not all(isinstance(url, str) for url in urls):
            raise NotCovered("the top-level @context is not a list of context URLs")
        if len(urls) > MAX_CONTEXT_URLS or len(set(urls)) != len(urls):
            raise NotCovered("more than a few, or repeated, context URLs")
        trusted = self.cache.trusted_urls(self.loader)
        if not trusted.issuperset(urls):
            raise NotCovered("a context URL whose bundled document this loader does not serve")
        root = self.memo.roots.get(urls)
        if root is None:
            initial = self.cache.initial_context("json-ld-1.1")
            active = self.process(initial, list(urls), propagate=True, override_protected=False)
            with self.memo.lock:
                root = self.memo.roots.setdefault(urls, self.memo.wrap(active))
        return root

    def process(self, active: Any, local: Any, *, propagate: bool, override_protected: bool) -> Any:
        """pyld's context processing, memoized by the ContextCache for our bundled contexts."""
        if self._processor is None:
            processor, resolver = self.cache.processor(self.loader, lambda term: None)
            options = {"documentLoader": self.loader, "contextResolver": resolver, "base": None,
                       "processingMode": "json-ld-1.1"}
            self._processor = (processor, options)
        processor, options = self._processor
        try:
            return processor._process_context(active, local, options, override_protected=override_protected,
                                              propagate=propagate)
        except jsonld.JsonLdError as error:
            raise NotCovered(f"context processing failed: {error}") from None

    # --- terms ----------------------------------------------------------------------------------

    def blank_node(self, label: str | None = None) -> str:
        if label is not None:
            issued = self.blank_nodes.get(label)
            if issued is None:
                issued = self.blank_nodes[label] = self._issue()
            return issued
        return self._issue()

    def _issue(self) -> str:
        self.issued += 1
        return f"_:b{self.issued - 1}"

    def resource(self, iri: Any, what: str = "an @id") -> str:
        """The RDF term for an expanded ``@id`` or type (safe mode: it must be absolute, or a blank node)."""
        if not isinstance(iri, str) or not _ABSOLUTE_IRI.fullmatch(iri):
            raise NotCovered(f"{what} that is not an absolute IRI")
        if iri.startswith("_:"):
            return self.blank_node(iri)
        return iri_term(iri)

    # --- the walk (pyld's _expand and _expand_object for a node object) -------------------------

    def node(self, context: _Context, active_property: str | None, element: dict) -> str:
        """Emit the quads of node object ``element`` (the document itself when ``active_property`` is
        None); return its subject term."""
        keys = tuple(element)
        shape = context.shapes.get((active_property, keys))
        if shape is None:
            shape = self.shape(context, active_property, element)
            if len(context.shapes) < MAX_MEMOIZED_NAMES:
                context.shapes[active_property, keys] = shape
                self.memo.count_plan()
        if len(shape.type_keys) == 1:  # the commonest: one "type" key, its value the plan's key
            types = element[shape.type_keys[0]]
            if isinstance(types, list):
                types = tuple(types)
        else:
            types = tuple(tuple(value) if isinstance(value := element[key], list) else value for key in shape.type_keys)
        plan = shape.plans.get(types)
        if plan is None:
            plan = self.plan(shape, element)
            if len(shape.plans) < MAX_MEMOIZED_NAMES:
                shape.plans[types] = plan
                self.memo.count_plan()

        node_context, id_key, types, properties = plan
        if id_key is None:
            subject = self._issue()
        else:
            value = element[id_key]
            if not isinstance(value, str):
                raise NotCovered("a non-string @id")
            subject = self.resource(_expand_id(node_context.active, value))
        quads = self.quads
        for type_ in types:
            quads[subject, _RDF_TYPE_TERM, type_ if type_[0] == "<" else self.blank_node(type_), ""] = None
        for key, predicate, value_context, value_term, strings in properties:
            value = element[key]
            if strings and type(value) is str:
                quads[subject, predicate, literal_term(value), ""] = None  # the commonest value
            else:
                self.values(value_context, value_term, key, value, subject, predicate)
        return subject

    def shape(self, context: _Context, active_property: str | None, element: dict) -> _Shape:
        """The context ``element`` starts in, and which of its keys are types there."""
        if active_property is None:
            pass  # the document: the top-level @context made the root context
        elif "@context" in element:
            raise NotCovered("an @context inside the document")
        else:
            property_scoped = context.term(active_property).scoped
            previous = context.previous
            if previous is not None:
                # a non-propagated type-scoped context ends here, unless this is a subject reference
                revert = True
                if len(element) <= 2:
                    for key in sorted(element):
                        iri = context.term(key).iri
                        if iri == "@value":
                            raise NotCovered("a value object")
                        if iri == "@id" and len(element) == 1:
                            revert = False
                            break
                if revert:
                    context = previous
            if property_scoped is not None:
                context = context.derive(property_scoped, self, propagate=True)
        type_keys = tuple(key for key in sorted(element) if key != "@context" and context.term(key).kind == TYPE)
        return _Shape(context, type_keys, {})

    def plan(self, shape: _Shape, element: dict) -> _Plan:
        """How ``element`` is walked: its context with type-scoped contexts applied, its @id key, types
        and properties; raises NotCovered for whatever this path does not handle in them."""
        # type-scoped contexts, looked up in the context before any of them applies, in type order
        context = type_context = shape.context
        type_keys = []
        for key in sorted(element):
            if key != "@context" and context.term(key).kind == TYPE:
                type_keys.append(key)
                values = element[key] if isinstance(element[key], list) else [element[key]]
                for type_ in sorted(value for value in values if isinstance(value, str)):
                    scoped = type_context.term(type_).scoped
                    if scoped is not None and scoped is not False:
                        context = context.derive(scoped, self, propagate=False)
        if tuple(type_keys) != shape.type_keys:
            raise NotCovered("a type-scoped context that changes which keys are types")

        id_key = None
        types: list[str] = []
        properties: list[tuple[str, str, _Context, _Term, bool]] = []
        for key, value in element.items():
            if key == "@context":
                continue
            term = context.term(key)
            kind = term.kind
            if kind == PROPERTY:
                term_context = context if term.scoped is None else context.derive(term.scoped, self, propagate=True)
                value_term = term_context.term(key)
                if not term.plain or term.coercion == "@json" or not value_term.plain:
                    raise NotCovered(f"the term {key!r} has a container, is reversed or is JSON")
                properties.append((key, term.predicate, term_context, value_term, value_term.strings))
            elif kind == ID:
                if id_key is not None:
                    raise NotCovered("a repeated @id")
                id_key = key
            elif kind == TYPE:
                if key not in shape.type_keys:  # the plan is kept by the values of those keys only
                    raise NotCovered("a type-scoped context that changes which keys are types")
                for type_ in value if isinstance(value, list) else [value]:
                    if not isinstance(type_, str):
                        raise NotCovered("a type that is not a string")
                    type_iri = type_context.type_iri(type_)
                    if type_iri is None or type_iri.startswith("@"):
                        raise NotCovered("a type that expands to a keyword")
                    if not _ABSOLUTE_IRI.fullmatch(type_iri):
                        raise NotCovered("a type that is not an absolute IRI")
                    types.append(type_iri if type_iri.startswith("_:") else iri_term(type_iri))
            else:
                raise NotCovered(f"the key {key!r} is a keyword or not an absolute IRI")
        return _Plan(context, id_key, tuple(types), tuple(properties))

    def values(self, context: _Context, term: _Term, key: str, value: Any, subject: str, predicate: str) -> None:
        """Emit a quad for each RDF object of property ``key``'s ``value`` (pyld's _expand and
        _expand_value); ``term`` is the key's term in ``context``."""
        quads = self.quads
        for item in value if isinstance(value, list) else (value,):
            if item is None:
                continue
            if isinstance(item, dict):
                object_ = self.node(context, key, item)
            elif isinstance(item, list):
                self.values(context, term, key, item, subject, predicate)
                continue
            else:
                object_ = self.literal_or_reference(context, term, item)
            quads[subject, predicate, object_, ""] = None

    def literal_or_reference(self, context: _Context, term: _Term, value: Any) -> str:
        if term.keyword:
            raise NotCovered(f"a value of the keyword {term.iri!r}")
        coercion = term.coercion
        if type(value) is str and term.strings:
            return literal_term(value)
        if isinstance(value, str) and coercion == "@id":
            return self.resource(_expand_id(context.active, value))
        if isinstance(value, str) and coercion == "@vocab":
            return self.resource(context.type_iri(value))  # the same expansion as a type's
        datatype = None
        if coercion is not None and coercion not in ("@id", "@vocab", "@none"):
            if not _ABSOLUTE_IRI.fullmatch(coercion) or coercion.startswith("_:"):
                raise NotCovered(f"the datatype {coercion!r} is not an absolute IRI")
            datatype = coercion
        elif isinstance(value, str) and term.tagged:
            raise NotCovered("a language-tagged or directed string")

        # pyld's _object_to_rdf for JSON-LD 1.1 (its order of tests matters: True is an int)
        if isinstance(value, bool):
            lexical, datatype = ("true" if value else "false"), datatype or XSD_BOOLEAN
        elif datatype == XSD_DOUBLE:
            raise NotCovered("a value coerced to xsd:double")
        elif isinstance(value, str):
            lexical, datatype = value, datatype or XSD_STRING
        elif isinstance(value, (int, float)):
            if _is_double(value) or abs(value) >= 1e21:
                lexical, datatype = _canonicalize_double(value), datatype or XSD_DOUBLE
            else:
                lexical, datatype = str(int(value)), datatype or XSD_INTEGER
        else:
            raise NotCovered(f"a value of type {type(value).__name__}")
        return literal_term(lexical, datatype)
