"""Offline JSON-LD document loaders.

A document loader follows pyld's contract: ``loader(url, options) -> {"contextUrl": None,
"documentUrl": url, "document": {...}}``. Ours never touch the network: they serve a fixed set of
documents and refuse anything else, so a credential cannot make us fetch (or trust) a context we
have not reviewed.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from importlib import resources
from types import MappingProxyType

from .errors import DocumentLoaderError

DocumentLoader = Callable[[str, "dict | None"], dict]

# The contexts that travel with the package: published URL -> file in dataintegrity/contexts/.
# Each file is our own rendering of the published document (same term definitions, our layout);
# tests/dataintegrity/test_contexts.py proves they expand every term as the originals do.
_BUNDLED_FILES: Mapping[str, str] = MappingProxyType(
    {
        "https://www.w3.org/ns/credentials/v2": "credentials-v2.json",
        "https://www.w3.org/2018/credentials/v1": "credentials-v1.json",
        "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.json",
        "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.json",
        "https://w3id.org/security/multikey/v1": "multikey-v1.json",
        "https://www.w3.org/ns/did/v1": "did-v1.json",
        "https://www.w3.org/ns/credentials/status/v1": "credentials-status-v1.json",
        "https://w3id.org/security/suites/ed25519-2020/v1": "ed25519-2020-v1.json",
        "https://w3id.org/security/jwk/v1": "jwk-v1.json",
        # The W3C examples vocabulary (an @vocab only): the W3C test suites and the specification's
        # examples use it. Source: https://www.w3.org/ns/credentials/examples/v2, as in
        # w3c/vc-data-model (contexts/credentials/examples/v2); see ../shared/ref/CONTEXTS.md.
        "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-3.0.2.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-3.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json": "ob-v3p0-3.0.0.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob-v3p0-extensions.json",
        # Comprehensive Learner Record 2.0 (ClrCredential); 2.0.1 is the one we sign with.
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json": "clr-v2p0-2.0.1.json",
        "https://purl.imsglobal.org/spec/clr/v2p0/context.json": "clr-v2p0-2.0.0.json",
    }
)

BUNDLED_CONTEXT_URLS: frozenset[str] = frozenset(_BUNDLED_FILES)


class StaticDocumentLoader:
    """Serves a fixed mapping of URL -> JSON document, and nothing else.

    Documents are deep-copied on the way in and on the way out, so neither the caller who built the
    loader nor a JSON-LD processor that mutates what it loaded can change what the next call sees.
    Instances are immutable and therefore safe to share between threads.
    """

    __slots__ = ("_documents",)

    def __init__(self, documents: Mapping[str, dict]) -> None:
        self._documents: Mapping[str, dict] = MappingProxyType(copy.deepcopy(dict(documents)))

    def __call__(self, url: str, options: dict | None = None) -> dict:
        """Return pyld's remote-document dict for ``url``.

        Raises:
            DocumentLoaderError: ``url`` is not one of :attr:`urls`. The message names it.
        """
        try:
            document = self._documents[url]
        except (KeyError, TypeError):
            raise DocumentLoaderError(
                f"document loader refused to load {url!r}: it is not one of the "
                f"{len(self._documents)} documents this loader serves (no network access is used); "
                "add it with StaticDocumentLoader.with_documents() if it is trusted"
            ) from None
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document)}

    def fingerprint(self, url: str) -> str:
        """The JSON text of the document at ``url`` (sorted keys, no spaces), made without copying it.

        Raises:
            KeyError: ``url`` is not one of :attr:`urls`.
        """
        # json.dumps tells True from 1 and 1.0 from 1, which == does not
        return json.dumps(self._documents[url], sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def with_documents(self, extra: Mapping[str, dict]) -> StaticDocumentLoader:
        """Return a new loader serving our documents plus ``extra`` (``extra`` wins on clashes)."""
        return StaticDocumentLoader({**self._documents, **extra})

    @property
    def urls(self) -> frozenset[str]:
        """The URLs this loader serves."""
        return frozenset(self._documents)

    def __contains__(self, url: object) -> bool:
        return url in self._documents

    def __repr__(self) -> str:
        return f"<StaticDocumentLoader serving {len(self._documents)} documents>"


@functools.cache  # the bundled files never change while the process runs; read them once
def bundled_document_loader() -> StaticDocumentLoader:
    """Return the loader for the contexts bundled with this package (:data:`BUNDLED_CONTEXT_URLS`)."""
    folder = resources.files(__package__) / "contexts"
    return StaticDocumentLoader(
        {url: json.loads((folder / name).read_text(encoding="utf-8")) for url, name in _BUNDLED_FILES.items()}
    )
