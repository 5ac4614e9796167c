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
from .errors import DataIntegrityError, InvalidJsonLdError, SafeModeError
from .rdfc import DEFAULT_MAX_WORK, canonicalize_dataset

__all__ = ["DEFAULT_MAX_WORK", "canonicalize", "expand"]

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
        DocumentLoaderError: a context URL the loader does not serve.
        InvalidJsonLdError: anything else the JSON-LD processor rejects, and "@"-words that are not
            keywords in an inline context (pyld would only warn and ignore the definition).
    """
    return _expand(document, document_loader)[0]


def _expand(document: dict, document_loader: DocumentLoader) -> tuple[list, jsonld.JsonLdProcessor, dict]:
    if not isinstance(document, dict):
        raise TypeError(f"document must be a dict, not {type(document).__name__}")
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
        CanonicalizationLimitError: the document needs more than ``max_work`` canonicalization work.
        CanonicalizationError: an IRI holds characters N-Quads cannot carry (e.g. ``>`` or a space).
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
    nothing; what remains is JsonLdProcessor.to_rdf's own code (pyld 3.3), producing the same dataset.
    """
    options = {**options, "produceGeneralizedRdf": False, "extractAllScripts": True}
    issuer = IdentifierIssuer("_:b")
    node_map: dict = {"@default": {}}
    processor._create_node_map(expanded, node_map, "@default", issuer)
    dataset = {}
    for graph_name, graph in sorted(node_map.items()):
        # skip relative IRIs
        if graph_name == "@default" or jsonld._is_absolute_iri(graph_name):
            dataset[graph_name] = processor._graph_to_rdf(graph, issuer, options)
    return dataset


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
