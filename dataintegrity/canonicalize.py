"""JSON-LD expansion in *safe mode* and RDFC-1.0 canonicalization of JSON-LD documents.

Safe mode exists because plain JSON-LD processing is forgiving in exactly the wrong way for
signatures: a term no context defines is silently dropped, and a relative ``type`` or ``id`` is
silently left out of the RDF (or, in pyld, resolved against an invented base IRI). Whatever is dropped is not signed, so a typo would be "signed" and an
attacker could add unsigned claims. In safe mode all of these are errors that name the term.

Every pyld call gets the caller's ``documentLoader`` and a fresh ``contextResolver``: pyld's default
loader may use the network, and its default resolver keeps a process-global cache, so without them
the result would depend on what other code in the process loaded earlier.
"""

from __future__ import annotations

import re
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

from .documentloader import DocumentLoader
from .errors import DataIntegrityError, InvalidJsonLdError, SafeModeError
from .rdfc import DEFAULT_MAX_WORK, canonicalize_dataset

__all__ = ["DEFAULT_MAX_WORK", "canonicalize", "expand"]

# pyld's test for an absolute IRI (a scheme, then no whitespace; "_:" blank nodes also match), but
# anchored with fullmatch: pyld's "$" also accepts a trailing newline.
_ABSOLUTE_IRI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*|_):\S*")


def _options(document_loader: DocumentLoader) -> dict[str, Any]:
    return {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver({}, document_loader),
        "base": None,  # relative IRIs must stay relative so that safe mode can refuse them
        "processingMode": "json-ld-1.1",
    }


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
    if not isinstance(document, dict):
        raise TypeError(f"document must be a dict, not {type(document).__name__}")
    _refuse_reserved_keywords(document)
    dropped: list[str | None] = []
    try:
        expanded = jsonld.expand(document, _options(document_loader), on_property_dropped=dropped.append)
    except jsonld.JsonLdError as error:
        _reraise(error)
    if dropped:
        # pyld reports None for a term mapped to null and for an unknown "@word" property
        names = ", ".join(repr(term) if term else "a null-mapped or '@'-reserved property" for term in dropped)
        raise SafeModeError(f"safe mode: no @context defines {names}; the property would be dropped")
    _check_expanded(expanded)
    return expanded


def canonicalize(document: dict, *, document_loader: DocumentLoader, max_work: int = DEFAULT_MAX_WORK) -> str:
    """Return the RDFC-1.0 canonical N-Quads of JSON-LD ``document``, expanded in safe mode.

    Raises:
        SafeModeError, DocumentLoaderError, InvalidJsonLdError: see :func:`expand`.
        CanonicalizationLimitError: the document needs more than ``max_work`` canonicalization work.
        CanonicalizationError: an IRI holds characters N-Quads cannot carry (e.g. ``>`` or a space).
    """
    expanded = expand(document, document_loader=document_loader)
    try:
        # Expanded form is a fixed point of expansion, so to_rdf's own expand pass changes nothing.
        dataset = jsonld.to_rdf(expanded, _options(document_loader))
    except jsonld.JsonLdError as error:
        _reraise(error)
    return canonicalize_dataset(dataset, max_work=max_work)


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
