"""Our bundled contexts must mean exactly what the published ones mean, and the loader must stay offline.

The published documents are read from ../shared/ref/contexts (beside the repository). Where that
folder is missing the comparison is skipped locally; on CI (env CI set) it fails instead.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from dataintegrity import (
    BUNDLED_CONTEXT_URLS,
    DocumentLoaderError,
    StaticDocumentLoader,
    bundled_document_loader,
    canonicalize,
)

SHARED_REF = Path(__file__).parents[2].parent / "shared" / "ref"

# Published URL -> file name of the official document in ../shared/ref/contexts/.
OFFICIAL_FILES = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://www.w3.org/ns/credentials/status/v1": "bitstring-status-list-v1.jsonld",
    "https://w3id.org/security/suites/ed25519-2020/v1": "ed25519-2020-v1.jsonld",
    "https://w3id.org/security/jwk/v1": "jwk-v1.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json": "ob-v3p0-context.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob-v3p0-extensions.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json": "clr-v2p0-context-2.0.1.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context.json": "clr-v2p0-context.json",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
    # test-only context (tests/fixtures/contexts/), needed by the W3C vectors
    "https://w3id.org/citizenship/v4rc1": "citizenship-v4rc1.jsonld",
}


@pytest.fixture(scope="module")
def official_loader() -> StaticDocumentLoader:
    folder = SHARED_REF / "contexts"
    if not folder.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{folder} is missing; CI must provide ../shared/ref")
        pytest.skip(f"{folder} not found (the published contexts live beside the repository)")
    return StaticDocumentLoader(
        {url: json.loads((folder / name).read_text(encoding="utf-8")) for url, name in OFFICIAL_FILES.items()}
    )


def _options(loader) -> dict:
    return {"documentLoader": loader, "contextResolver": ContextResolver({}, loader), "processingMode": "json-ld-1.1"}


def _definitions(active_ctx: dict) -> dict:
    """The processed term definitions and defaults of an active context (minus pyld's internal ids)."""
    keep = ("@base", "@vocab", "@language", "@direction", "mappings")
    return {key: active_ctx[key] for key in keep if key in active_ctx}


def _walk(loader, local_ctx, active_ctx=None, path=(), depth=0):
    """Yield (path, definitions) for a context and, recursively, every scoped context it defines.

    A scoped context is processed on top of the context that defines it, as JSON-LD does when a
    type activates it or a property carries it.
    """
    processor = jsonld.JsonLdProcessor()
    options = _options(loader)
    if active_ctx is None:
        active_ctx = processor._get_initial_context(options)
    try:
        processed = processor.process_context(active_ctx, local_ctx, options)
    except jsonld.JsonLdError as error:
        yield path, ("error", error.code)
        return
    yield path, _definitions(processed)
    if depth >= 4:
        return
    for term, definition in sorted(processed["mappings"].items()):
        # only scoped contexts this context (re)defines; inherited ones were walked by the parent
        if definition and "@context" in definition and definition != active_ctx["mappings"].get(term):
            yield from _walk(loader, definition["@context"], processed, (*path, term), depth + 1)


@pytest.mark.parametrize("url", sorted(OFFICIAL_FILES))
def test_every_term_definition_matches_the_official_context(url, official_loader, document_loader):
    ours = dict(_walk(document_loader, url))
    theirs = dict(_walk(official_loader, url))
    assert ours.keys() == theirs.keys()
    for path in theirs:
        assert ours[path] == theirs[path], f"{url} {'/'.join(path) or '(top level)'} differs"
    # and the documents themselves are the same JSON (key order aside)
    assert document_loader(url)["document"] == official_loader(url)["document"]


def _probe_documents(url: str, loader) -> list[dict]:
    """Small documents using every term: at top level, and inside each scoped context both as the
    type of a node (type-scoped) and as the property holding a node (property-scoped)."""
    probes = []
    value = "https://example.org/value"
    for path, definitions in _walk(loader, url):
        if path == ():
            terms = definitions["mappings"]
            probes += [{"@context": url, "@id": "https://example.org/probe", term: value} for term in terms]
        elif len(path) == 1 and "mappings" in definitions:
            (scoping,) = path
            for term in definitions["mappings"]:
                probes.append({"@context": url, "@id": "https://example.org/probe", "@type": scoping, term: value})
                probes.append({"@context": url, scoping: {"@id": "https://example.org/inner", term: value}})
    return probes


def _expand_outcome(document, options):
    try:
        return jsonld.expand(copy.deepcopy(document), options)
    except jsonld.JsonLdError as error:
        return ("error", error.code)


@pytest.mark.parametrize("url", sorted(OFFICIAL_FILES))
def test_probe_documents_expand_identically(url, official_loader, document_loader):
    probes = _probe_documents(url, official_loader)
    ours, theirs = _options(document_loader), _options(official_loader)  # one resolver each: cached contexts
    for probe in probes:
        assert _expand_outcome(probe, ours) == _expand_outcome(probe, theirs), probe


def test_probes_cover_scoped_contexts(official_loader):
    paths = [path for path, _ in _walk(official_loader, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json")]
    assert ("Achievement",) in paths and ("Profile",) in paths
    probes = _probe_documents("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", official_loader)
    assert {"@context": "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "@id": "https://example.org/probe", "@type": "Achievement",
            "criteria": "https://example.org/value"} in probes


def test_bundled_urls():
    loader = bundled_document_loader()
    assert loader.urls == BUNDLED_CONTEXT_URLS
    assert len(BUNDLED_CONTEXT_URLS) == 17
    assert "https://www.w3.org/ns/credentials/examples/v2" in BUNDLED_CONTEXT_URLS  # the W3C suites need it
    assert "https://w3id.org/citizenship/v4rc1" not in BUNDLED_CONTEXT_URLS
    for url in BUNDLED_CONTEXT_URLS:
        assert "@context" in loader(url)["document"]
    assert bundled_document_loader() is loader  # read once


def test_loader_result_shape():
    result = bundled_document_loader()("https://www.w3.org/ns/credentials/v2", {})
    assert result["contextUrl"] is None
    assert result["documentUrl"] == "https://www.w3.org/ns/credentials/v2"
    assert result["document"]["@context"]["@protected"] is True


def test_loader_refuses_unknown_url_and_names_it():
    with pytest.raises(DocumentLoaderError, match="https://example.com/unknown-context") as info:
        bundled_document_loader()("https://example.com/unknown-context")
    assert info.value.code == "unknown_context"


def test_loader_returns_copies():
    loader = bundled_document_loader()
    first = loader("https://w3id.org/security/multikey/v1")
    first["document"]["@context"]["Multikey"] = "https://evil.example/Multikey"
    second = loader("https://w3id.org/security/multikey/v1")
    assert second["document"]["@context"]["Multikey"] != "https://evil.example/Multikey"


def test_loader_copies_its_input():
    source = {"https://example.org/ctx": {"@context": {"a": "https://example.org/a"}}}
    loader = StaticDocumentLoader(source)
    source["https://example.org/ctx"]["@context"]["a"] = "https://evil.example/a"
    assert loader("https://example.org/ctx")["document"]["@context"]["a"] == "https://example.org/a"


def test_with_documents_returns_a_new_loader():
    base = bundled_document_loader()
    extended = base.with_documents({"https://example.org/ctx": {"@context": {}}})
    assert "https://example.org/ctx" in extended.urls
    assert "https://example.org/ctx" not in base.urls
    assert extended.urls >= base.urls


def test_canonicalize_refuses_unknown_context_without_network():
    # the autouse no_network fixture turns any socket use into an AssertionError
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.com/not-bundled"],
                "type": "VerifiableCredential"}
    with pytest.raises(DocumentLoaderError, match="https://example.com/not-bundled"):
        canonicalize(document, document_loader=bundled_document_loader())


def test_unknown_context_is_refused_even_after_another_loader_served_it(document_loader):
    # pyld keeps a process-global context cache; our calls must not be answered from it
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/citizenship/v4rc1"],
                "type": "VerifiableCredential"}
    canonicalize(document, document_loader=document_loader)
    with pytest.raises(DocumentLoaderError, match="citizenship/v4rc1"):
        canonicalize(document, document_loader=bundled_document_loader())
