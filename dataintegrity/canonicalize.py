"""JSON-LD expansion in *safe mode* and RDFC-1.0 canonicalization of JSON-LD documents.

Safe mode exists because plain JSON-LD processing is forgiving in exactly the wrong way for
signatures: a term no context defines is silently dropped, and a relative ``type`` or ``id`` is
silently left out of the RDF (or, in pyld, resolved against an invented base IRI). Whatever is dropped is not signed, so a typo would be "signed" and an
attacker could add unsigned claims. In safe mode all of these are errors that name the term.

Every pyld call gets the caller's ``documentLoader`` and our own context resolver: pyld's default
loader may use the network, and its default resolver keeps a process-global cache keyed by URL alone
(whatever loader served it) in a structure that is not thread-safe, so with them the result could
depend on what other code in the process loaded earlier. Processed contexts are reused across calls
only for the bundled contexts, when the caller's loader serves exactly the bundled bytes for them
(:mod:`.contextcache`); everything else is processed afresh on every call.
"""

from __future__ import annotations

import re
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer

from .contextcache import default_context_cache
from .documentloader import DocumentLoader
from .errors import (
    CanonicalizationLimitError,
    DataIntegrityError,
    DocumentTooDeepError,
    InvalidJsonLdError,
    SafeModeError,
)
from .fastrdf import NotCovered, to_quads
from .nodemap import create_node_map
from .rdfc import DEFAULT_MAX_WORK, canonicalize_dataset, canonicalize_quads

__all__ = ["DEFAULT_MAX_WORK", "MAX_BLANK_NODE_LABELS", "MAX_CONTEXT_WORK", "MAX_DEPTH", "canonicalize",
           "canonicalize_reference", "expand"]

# pyld's expansion and our checks of its result recurse once or more a level; a document deeper than
# this is refused before any of them runs (the verifier's JSON reader has the same limit).
MAX_DEPTH = 64
# Named blank nodes ("_:b0") are what lets a document link blank nodes into rings and cliques, the
# shapes canonicalization is exponential on; credentials name none. Counting them is cheaper than
# expanding a large bomb only to refuse it afterwards: at most this many distinct names, and ten
# times as many mentions of them.
MAX_BLANK_NODE_LABELS = 100
# Processing contexts written into the document, in work units of about a microsecond (see _check_shape).
MAX_CONTEXT_WORK = 30_000

# pyld's test for an absolute IRI (a scheme, then no whitespace; "_:" blank nodes also match), but
# anchored with fullmatch: pyld's "$" also accepts a trailing newline.
_ABSOLUTE_IRI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*|_):\S*")


def _options(document_loader: DocumentLoader, resolver: ContextResolver) -> dict[str, Any]:
    return {
        "documentLoader": document_loader,
        "contextResolver": resolver,
        "base": None,  # relative IRIs must stay relative so that safe mode can refuse them
        "processingMode": "json-ld-1.1",
    }


def _processor(
    document: dict, document_loader: DocumentLoader, on_property_dropped
) -> tuple[jsonld.JsonLdProcessor, dict]:
    """A pyld processor and options for one call: with the shared context cache, unless the
    document's contexts use ``@import`` (pyld then mutates the imported context document, which must
    not be one we share), in which case pyld alone with a fresh resolver, as before caching."""
    if _imports(document):
        processor = jsonld.JsonLdProcessor(on_property_dropped=on_property_dropped)
        return processor, _options(document_loader, ContextResolver({}, document_loader))
    processor, resolver = default_context_cache().processor(document_loader, on_property_dropped)
    return processor, _options(document_loader, resolver)


def _reraise(error: Exception) -> None:
    """Raise the DataIntegrityError pyld wrapped (e.g. our loader's refusal) or an InvalidJsonLdError."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DataIntegrityError):
            raise cause from None
        cause = cause.__cause__ or cause.__context__
    messages = []
    cause = error
    while cause is not None:
        if isinstance(cause, jsonld.JsonLdError):
            messages.append(cause.args[0] if cause.args else type(cause).__name__)
            if cause.code:
                messages[-1] += f" ({cause.code})"
        cause = cause.__cause__
    raise InvalidJsonLdError("invalid JSON-LD: " + ": ".join(messages or [str(error)])) from error


def expand(document: dict, *, document_loader: DocumentLoader) -> list:
    """Expand ``document`` in safe mode.

    Returns:
        pyld's expanded form (a list of node objects).
    Raises:
        SafeModeError: a property no context defines (dropped by JSON-LD), or a property, ``@type``
            or ``@id`` that does not expand to an absolute IRI. The message names it.
        DocumentTooDeepError: the document nests deeper than :data:`MAX_DEPTH` levels.
        CanonicalizationLimitError: it names more than :data:`MAX_BLANK_NODE_LABELS` blank nodes, or
            mentions them more than ten times as often, or its inline contexts would cost more than
            :data:`MAX_CONTEXT_WORK` to process.
        DocumentLoaderError: a context URL the loader does not serve.
        InvalidJsonLdError: anything else the JSON-LD processor rejects, and "@"-words that are not
            keywords in an inline context (pyld would only warn and ignore the definition).
    """
    return _expand(document, document_loader)[0]


def _expand(document: dict, document_loader: DocumentLoader) -> tuple[list, jsonld.JsonLdProcessor, dict]:
    if not isinstance(document, dict):
        raise TypeError(f"document must be a dict, not {type(document).__name__}")
    _check_shape(document)
    _refuse_reserved_keywords(document)
    dropped: list[str | None] = []
    processor, options = _processor(document, document_loader, dropped.append)
    try:
        expanded = processor.expand(document, options)
    except jsonld.JsonLdError as error:
        _reraise(error)
    except ValueError as error:
        # pyld's IRI resolver raises a bare ValueError for a context IRI it cannot resolve ("" or
        # relative, with no base): bad input like any other.
        raise InvalidJsonLdError(f"invalid JSON-LD: {error}") from None
    if dropped:
        # pyld reports None for a term mapped to null and for an unknown "@word" property
        names = ", ".join(repr(term) if term else "a null-mapped or '@'-reserved property" for term in dropped)
        raise SafeModeError(f"safe mode: no @context defines {names}; the property would be dropped")
    _check_expanded(expanded)
    return expanded, processor, options


def canonicalize(document: dict, *, document_loader: DocumentLoader, max_work: int = DEFAULT_MAX_WORK,
                 hash_algorithm: str = "sha256") -> str:
    """Return the RDFC-1.0 canonical N-Quads of JSON-LD ``document``, expanded in safe mode.

    ``hash_algorithm`` is RDFC-1.0's own hash, which labels blank nodes: SHA-256 by default;
    ecdsa-rdfc-2019 with P-384 keys runs it with "sha384".

    Raises:
        SafeModeError, DocumentLoaderError, InvalidJsonLdError: see :func:`expand`.
        CanonicalizationLimitError: the document needs more than ``max_work`` canonicalization work,
            or names too many blank nodes (see :func:`expand`).
        DocumentTooDeepError: the document nests deeper than :data:`MAX_DEPTH` levels.
        CanonicalizationError: an IRI holds characters N-Quads cannot carry (e.g. ``>`` or a space).
    """
    if isinstance(document, dict):
        _check_shape(document)  # the cheap refusals come before either path
    try:
        quads = to_quads(document, document_loader=document_loader)
    except NotCovered:
        pass
    else:
        try:
            return canonicalize_quads(quads, max_work=max_work, hash_algorithm=hash_algorithm)
        except DataIntegrityError:
            # the reference path decides what is refused and how (a message naming the first bad IRI,
            # the work counted in its quad order)
            pass
    return canonicalize_reference(document, document_loader=document_loader, max_work=max_work,
                                  hash_algorithm=hash_algorithm)


def canonicalize_reference(document: dict, *, document_loader: DocumentLoader, max_work: int = DEFAULT_MAX_WORK,
                           hash_algorithm: str = "sha256") -> str:
    """:func:`canonicalize` by the reference path alone: pyld's safe-mode expansion and its node map.

    :func:`canonicalize` takes the direct path of :mod:`.fastrdf` where it can, and this one for
    everything else; tests and benchmarks compare the two.
    """
    expanded, processor, options = _expand(document, document_loader)
    try:
        dataset = _to_rdf(processor, expanded, options)
    except jsonld.JsonLdError as error:
        _reraise(error)
    return canonicalize_dataset(dataset, max_work=max_work, hash_algorithm=hash_algorithm)


def _to_rdf(processor: jsonld.JsonLdProcessor, expanded: list, options: dict) -> dict:
    """pyld's ``to_rdf`` of already expanded input, without its second expansion pass.

    Expanded form is a fixed point of expansion, so that pass (a deep copy and a full walk) changes
    nothing; what remains is JsonLdProcessor.to_rdf's own code (pyld 3.3), producing the same dataset,
    with our linear-time node map generation in place of pyld's.
    """
    options = {**options, "produceGeneralizedRdf": False, "extractAllScripts": True}
    issuer = IdentifierIssuer("_:b")
    node_map = create_node_map(expanded, issuer)  # pyld's own is quadratic in a property's values
    dataset = {}
    for graph_name, graph in sorted(node_map.items()):
        # skip relative IRIs
        if graph_name == "@default" or jsonld._is_absolute_iri(graph_name):
            dataset[graph_name] = processor._graph_to_rdf(graph, issuer, options)
    return dataset


_CONTAINERS = (dict, list)


def _check_shape(document: dict) -> None:
    """Refuse, before any JSON-LD processing, a document nested deeper than :data:`MAX_DEPTH`, with
    more than :data:`MAX_BLANK_NODE_LABELS` blank node names ("_:" strings) or ten times as many
    mentions of them, or whose inline contexts would cost more than :data:`MAX_CONTEXT_WORK` to
    apply; walked without recursion."""
    labels: dict[str, int] = {}
    objects = embedded = context_keys = listed = 0
    scoped = False  # an inline context defines a context of its own (property- or type-scoped)
    # only objects and arrays go on the stack; strings are looked at where they are found
    stack: list[tuple[Any, int, bool]] = [(document, 1, False)]
    push, pop = stack.append, stack.pop
    # `type(child) is str` first: most values are plain strings; the rest (str subclasses too) takes the
    # general tests
    while stack:
        value, depth, in_context = pop()
        if isinstance(value, dict):
            if in_context:
                context_keys += len(value)
                scoped = scoped or "@context" in value
            else:
                objects += 1
                if "@context" in value:
                    embedded += 1
                    listed += _listed_contexts(value["@context"])
            if depth > MAX_DEPTH:
                raise DocumentTooDeepError(f"the document nests deeper than {MAX_DEPTH} levels")
            for key, child in value.items():
                if isinstance(key, str) and key.startswith("_:"):
                    labels[key] = labels.get(key, 0) + 1
                if type(child) is str:
                    if child.startswith("_:"):
                        labels[child] = labels.get(child, 0) + 1
                elif isinstance(child, _CONTAINERS):
                    push((child, depth + 1, in_context or key == "@context"))
                elif isinstance(child, str) and child.startswith("_:"):
                    labels[child] = labels.get(child, 0) + 1
        else:
            if depth > MAX_DEPTH:
                raise DocumentTooDeepError(f"the document nests deeper than {MAX_DEPTH} levels")
            for child in value:
                if type(child) is str:
                    if child.startswith("_:"):
                        labels[child] = labels.get(child, 0) + 1
                elif isinstance(child, _CONTAINERS):
                    push((child, depth + 1, in_context))
                elif isinstance(child, str) and child.startswith("_:"):
                    labels[child] = labels.get(child, 0) + 1
    mentions = sum(labels.values())
    if len(labels) > MAX_BLANK_NODE_LABELS or mentions > 10 * MAX_BLANK_NODE_LABELS:
        raise CanonicalizationLimitError(
            f"the document names {len(labels)} blank nodes ('_:' identifiers) {mentions} times; at most "
            f"{MAX_BLANK_NODE_LABELS} names and {10 * MAX_BLANK_NODE_LABELS} mentions are allowed, as named blank "
            "nodes can form structures too costly to canonicalize (a 'blank node bomb'?); refusing it"
        )
    # pyld processes an embedded context where it appears, and a scoped one for every object it may
    # apply to (a type-scoped one on the way in and out), afresh each time: about 100 us a time plus
    # 10 us an entry (5 type-scoped terms on 1,000 objects took 240 ms, 3,000 terms 34 s).
    rescoped = 3 * objects if scoped else 0
    applications = embedded + rescoped
    context_work = 100 * (applications + listed) + 10 * context_keys * (1 + rescoped)
    if context_work > MAX_CONTEXT_WORK:
        raise CanonicalizationLimitError(
            f"the document's inline contexts ({context_keys} entries) would be processed up to {applications} "
            f"times, more work than the {MAX_CONTEXT_WORK} units allowed; refusing it"
        )


def _listed_contexts(contexts: Any) -> int:
    """How many contexts a ``@context`` array lists; one URL listed twice is refused: applying a
    context again changes nothing but costs as much as the first time (each repetition of the Open
    Badges context took 2 ms)."""
    if not isinstance(contexts, list):
        return 0
    urls = [url for url in contexts if isinstance(url, str)]
    if len(set(urls)) < len(urls):
        repeated = next(url for url in urls if urls.count(url) > 1)
        raise CanonicalizationLimitError(f"the @context lists {repeated!r:.200} more than once; refusing it")
    return len(contexts)


def _check_iri(value: Any, what: str, *, blank_ok: bool = True) -> None:
    if not isinstance(value, str) or not _ABSOLUTE_IRI.fullmatch(value) or (not blank_ok and value.startswith("_:")):
        raise SafeModeError(f"safe mode: {what} {value!r} is not an absolute IRI; define it in an @context")


def _check_expanded(element: Any) -> None:
    """Walk expanded JSON-LD and refuse whatever ``to_rdf`` would silently leave out."""
    if isinstance(element, list):
        for item in element:
            _check_expanded(item)
        return
    if not isinstance(element, dict):
        return
    if "@value" in element:
        datatype = element.get("@type")
        # "@json" literals are serialized by pyld itself; any other datatype must be an IRI
        if datatype is not None and datatype != "@json":
            _check_iri(datatype, "datatype", blank_ok=False)
        return
    for key, value in element.items():
        if key == "@id":
            _check_iri(value, "@id")
        elif key == "@type":
            for type_ in value if isinstance(value, list) else [value]:
                _check_iri(type_, "type")
        elif key == "@reverse":
            for prop, items in value.items():
                _check_iri(prop, "reverse property", blank_ok=False)
                _check_expanded(items)
        elif key in ("@list", "@set", "@graph", "@included"):
            _check_expanded(value)
        elif not key.startswith("@"):
            # A blank node property is dropped by to_rdf (not generalized RDF).
            _check_iri(key, "property", blank_ok=False)
            _check_expanded(value)


def _imports(element: Any, in_context: bool = False) -> bool:
    """Whether an ``@import`` occurs in any ``@context`` of ``element``."""
    if isinstance(element, list):
        return any(_imports(item, in_context) for item in element)
    if isinstance(element, dict):
        if in_context and "@import" in element:
            return True
        return any(_imports(value, in_context or key == "@context") for key, value in element.items())
    return False


_RESERVED = re.compile(r"@[a-zA-Z]+")
_KEYWORDS = frozenset(jsonld.KEYWORDS) | {"@prefix"}  # pyld's list lacks the 1.1 "@prefix"


def _refuse_reserved_keywords(element: Any, in_context: bool = False) -> None:
    """Refuse "@word" terms and IRI mappings that are not JSON-LD keywords in inline contexts.

    pyld ignores such definitions with a SyntaxWarning; we make that an error instead (warnings are
    process-global and easy to miss, and a definition that silently does nothing is what safe mode
    is against). Contexts loaded by URL come from our reviewed documents and are not checked here.
    """
    if isinstance(element, list):
        for item in element:
            _refuse_reserved_keywords(item, in_context)
    elif isinstance(element, dict):
        for key, value in element.items():
            if in_context:
                reserved = [key] if _RESERVED.fullmatch(key) else []
                definition = value if isinstance(value, dict) else {"@id": value}
                reserved += [
                    iri for name in ("@id", "@reverse")
                    if isinstance(iri := definition.get(name), str) and _RESERVED.fullmatch(iri)
                ]
                for word in reserved:
                    if word not in _KEYWORDS:
                        raise InvalidJsonLdError(f"invalid JSON-LD: {word!r} in a @context is not a JSON-LD keyword")
            _refuse_reserved_keywords(value, in_context or key == "@context")
