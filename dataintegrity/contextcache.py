"""A process-wide, thread-safe cache of pyld's processed contexts, for the bundled contexts only.

pyld spends most of a canonicalization processing contexts: every ``@context`` URL, and every
type-scoped or property-scoped context of the Open Badges context each time a node of that type is
expanded (pyld clones the active context for a non-propagating type-scoped context, gives the clone
a fresh ``_uuid`` and so never finds its own per-context cache entry; it also JSON-canonicalizes
each inline context just to look it up). Its own caches cannot simply be kept alive across calls:
they are process-global, keyed by URL whatever loader served it, and ``cachetools.LRUCache`` is not
thread-safe.

:class:`ContextCache` memoizes pyld's ``_process_context(active_ctx, local_ctx)`` instead, but only
when both sides are ours:

* ``active_ctx`` is a context this cache produced (or its initial context), checked by identity;
* ``local_ctx`` is a bundled context URL (or a list of them) that the call's document loader serves
  with exactly the bundled bytes, or an inline (type-/property-scoped) context object taken from the
  cache's own copy of the bundled documents, checked by identity.

The result of processing is a pure function of those, so a memoized result is what pyld would have
computed. Anything else (an inline context in the document, a URL the loader serves with other
content, a loader that is not a :class:`StaticDocumentLoader`) is processed by pyld afresh on every
call, through a resolver whose per-call cache dies with the call. Memoized contexts are pyld's
frozen active contexts; they are shared read-only between threads (pyld never mutates an active
context once it is processed), and the memo itself is only read and written under a lock.

pyld's ``@import`` handling writes into the imported context document, so no shared document may
reach it: canonicalize() runs a document whose own contexts use ``@import`` without this cache, and a
call that loads a (non-bundled) context using ``@import`` stops using shared documents from then on.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from typing import Any

from pyld import jsonld
from pyld.context_resolver import MAX_CONTEXT_URLS, ContextResolver
from pyld.resolved_context import ResolvedContext

from .documentloader import DocumentLoader, StaticDocumentLoader, bundled_document_loader

__all__ = ["ContextCache", "default_context_cache"]

# Beyond this many memoized contexts the memo starts afresh (bounds memory against documents that
# combine bundled contexts in ever new ways; a real credential needs a few dozen entries).
MAX_ENTRIES = 2048
# Loaders whose trusted URLs are remembered (strong references, so an id is never reused meanwhile).
MAX_LOADERS = 64


# pyld's frozen active contexts (a frozendict; taken from pyld so that we depend on nothing else)
frozendict = type(jsonld.freeze({}))


def _fingerprint(document: Any) -> str:
    # json.dumps tells True from 1 and 1.0 from 1, which == does not
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class _SharedResolvedContext(ResolvedContext):
    """A ResolvedContext shared between threads and calls.

    pyld caches processed contexts on each ResolvedContext in an LRUCache, which is not thread-safe;
    that cache is switched off here (the ContextCache memo does the caching instead).
    """

    def __init__(self, document: dict) -> None:  # no super().__init__: no LRUCache
        self.document = document

    def get_processed(self, active_ctx: Any) -> None:
        return None

    def set_processed(self, active_ctx: Any, processed_ctx: Any) -> None:
        pass


def _has_import(element: Any) -> bool:
    """Whether an ``@import`` key occurs anywhere in ``element``."""
    if isinstance(element, dict):
        return "@import" in element or any(_has_import(value) for value in element.values())
    if isinstance(element, list):
        return any(_has_import(item) for item in element)
    return False


def _inline_contexts(element: Any, found: list[dict]) -> None:
    """Collect every object that is the value of an ``@context`` key inside ``element``."""
    if isinstance(element, dict):
        for key, value in element.items():
            if key == "@context" and isinstance(value, dict):
                found.append(value)
            _inline_contexts(value, found)
    elif isinstance(element, list):
        for item in element:
            _inline_contexts(item, found)


def _cacheable(document: Any) -> bool:
    """Whether a bundled document can be shared: its ``@context`` is an object that refers to no
    other URL (its processing then depends on nothing else) and imports nothing (pyld's ``@import``
    handling mutates the imported document)."""
    if not isinstance(document, dict) or not isinstance(document.get("@context"), dict):
        return False

    def clean(element: Any) -> bool:
        if isinstance(element, dict):
            if "@import" in element or isinstance(element.get("@context"), (str, list)):
                return False
            return all(clean(value) for value in element.values())
        if isinstance(element, list):
            return all(clean(item) for item in element)
        return True

    return clean(document["@context"])


class ContextCache:
    """Memoized context processing for the documents in ``documents`` (URL -> JSON-LD context document)."""

    def __init__(self, documents: Mapping[str, dict]) -> None:
        self._lock = threading.Lock()
        # our own copies, never handed to anyone who could change them, kept for the process lifetime
        # so that the identity of their inline context objects stays meaningful
        self._documents = {url: copy.deepcopy(doc) for url, doc in documents.items() if _cacheable(doc)}
        self._fingerprints = {url: _fingerprint(doc) for url, doc in self._documents.items()}
        self._by_url: dict[str, list[_SharedResolvedContext]] = {
            url: [_SharedResolvedContext(doc["@context"])] for url, doc in self._documents.items()
        }
        inline: list[dict] = []
        _inline_contexts(self._documents, inline)
        self._inline: dict[int, tuple[dict, _SharedResolvedContext]] = {
            id(ctx): (ctx, _SharedResolvedContext(ctx)) for ctx in inline
        }
        self._initial: dict[Any, frozendict] = {}
        self._memo: dict[tuple, frozendict] = {}
        self._known: dict[int, Any] = {}  # id -> active context this cache handed out
        self._loaders: dict[int, tuple[Any, frozenset[str]]] = {}
        # what other modules derive from this cache's contexts (fastrdf's wrapped contexts), by
        # module; emptied with the memo, so a cleared cache is cold for them too
        self.compiled: dict[str, Any] = {}

    # --- which URLs a loader serves with the bundled bytes -----------------------------------

    def trusted_urls(self, loader: DocumentLoader) -> frozenset[str]:
        """The cacheable URLs ``loader`` serves with exactly our bytes; empty unless it is a StaticDocumentLoader."""
        if type(loader) is not StaticDocumentLoader:  # a subclass could serve anything
            return frozenset()
        with self._lock:
            entry = self._loaders.get(id(loader))
            if entry is not None and entry[0] is loader:
                return entry[1]
        trusted = frozenset(
            url for url, fingerprint in self._fingerprints.items()
            if url in loader and loader.fingerprint(url) == fingerprint
        )
        with self._lock:
            if len(self._loaders) >= MAX_LOADERS:
                self._loaders.clear()
            self._loaders[id(loader)] = (loader, trusted)
        return trusted

    # --- pieces for the processor and resolver -----------------------------------------------

    def initial_context(self, processing_mode: Any) -> frozendict:
        with self._lock:
            initial = self._initial.get(processing_mode)
            if initial is None:
                initial = self._initial[processing_mode] = jsonld.freeze(
                    {"_uuid": f"dataintegrity-initial-{processing_mode}", "processingMode": processing_mode, "mappings": {}}
                )
                self._known[id(initial)] = initial
            return initial

    def shared(self, context: Any, trusted: frozenset[str]) -> list[_SharedResolvedContext] | _SharedResolvedContext | None:
        """Our ResolvedContext(s) for a trusted URL or for one of our inline context objects, else None."""
        if isinstance(context, str):
            return self._by_url.get(context) if context in trusted else None
        if isinstance(context, (dict, frozendict)):
            entry = self._inline.get(id(context))
            if entry is not None and entry[0] is context:
                return entry[1]
        return None

    def local_key(self, local_ctx: Any, trusted: frozenset[str]) -> Any:
        """A memo key for ``local_ctx`` if it is entirely ours, else None."""
        if isinstance(local_ctx, list):
            if not local_ctx:
                return None
            keys = []
            for item in local_ctx:
                key = self.local_key(item, trusted)
                if key is None or isinstance(key, tuple):
                    return None
                keys.append(key)
            return tuple(keys)
        if isinstance(local_ctx, str):
            return local_ctx if local_ctx in trusted and local_ctx in self._by_url else None
        if self.shared(local_ctx, trusted) is not None:
            return id(local_ctx)  # an int: one of our objects, alive as long as the cache
        return None

    def lookup(self, active_ctx: Any, key: tuple) -> Any:
        with self._lock:
            if self._known.get(id(active_ctx)) is not active_ctx:
                return None
            return self._memo.get(key)

    def store(self, active_ctx: Any, key: tuple, result: Any) -> Any:
        """Memoize ``result`` under ``key`` (whose first item is ``id(active_ctx)``); return the memoized one."""
        if not isinstance(result, frozendict):
            return result
        with self._lock:
            if self._known.get(id(active_ctx)) is not active_ctx:
                return result  # the memo was reset while this call ran
            existing = self._memo.get(key)
            if existing is not None:
                return existing
            if len(self._memo) >= MAX_ENTRIES:
                # start afresh: keys name contexts by id, so drop keys and contexts together
                self._memo.clear()
                self._known = {id(initial): initial for initial in self._initial.values()}
                return result
            self._memo[key] = result
            self._known[id(result)] = result
            return result

    def processor(self, document_loader: DocumentLoader, on_property_dropped) -> tuple[jsonld.JsonLdProcessor, ContextResolver]:
        """A processor and context resolver for one call with ``document_loader``."""
        trusted = self.trusted_urls(document_loader)
        resolver = _Resolver(self, trusted, document_loader)
        return _CachingProcessor(self, trusted, resolver, on_property_dropped), resolver

    def __len__(self) -> int:
        with self._lock:
            return len(self._memo)

    def clear(self) -> None:
        """Forget every memoized context (the bundled documents stay)."""
        with self._lock:
            self._memo.clear()
            self._known = {id(initial): initial for initial in self._initial.values()}
            self._loaders.clear()
            self.compiled.clear()


def _check_fetch(resolver: ContextResolver, active_ctx: Any, url: str, cycles: set) -> None:
    """pyld's checks before fetching a context URL (ContextResolver._fetch_context), without the fetch."""
    code = "context overflow" if active_ctx.get("processingMode") != "json-ld-1.0" else None
    if len(cycles) > resolver.max_context_urls:
        raise jsonld.JsonLdError("Maximum number of @context URLs exceeded.", "jsonld.ContextUrlError",
                                 {"max": resolver.max_context_urls}, code=code or "loading remote context failed")
    if url in cycles:
        raise jsonld.JsonLdError("Cyclical @context URLs detected.", "jsonld.ContextUrlError", {"url": url},
                                 code=code or "recursive context inclusion")
    cycles.add(url)


class _Resolver(ContextResolver):
    """pyld's resolver for one call, which takes our shared ResolvedContexts for what is ours.

    Its per-call cache and its (empty, per-call) shared cache hold only what this call resolved;
    everything that is not ours is loaded through the call's loader as pyld would.
    """

    def __init__(self, cache: ContextCache, trusted: frozenset[str], document_loader: DocumentLoader) -> None:
        super().__init__({}, document_loader, MAX_CONTEXT_URLS)
        self._cache = cache
        self._trusted = trusted

    def resolve(self, active_ctx, context, base, cycles=None):
        if cycles is None:
            cycles = set()
        if isinstance(context, (dict, frozendict)) and "@context" in context:
            context = context["@context"]
        resolved = []
        for ctx in context if isinstance(context, list) else [context]:
            shared = self._cache.shared(ctx, self._trusted)
            if shared is None:
                resolved.extend(super().resolve(active_ctx, [ctx], base, cycles))
            elif isinstance(ctx, str):
                self.note_url(active_ctx, ctx, cycles)
                resolved.extend(shared)
            else:
                resolved.append(shared)
        return resolved

    def _fetch_context(self, active_ctx, url, cycles):
        context, remote_doc = super()._fetch_context(active_ctx, url, cycles)
        if _has_import(context):
            # pyld's @import handling writes into the imported context document: from now on this
            # call gets its own copies of everything (through its loader), none of ours
            self._trusted = frozenset()
            for shared_url in [u for u, v in self.per_op_cache.items() if v is self._cache._by_url.get(u)]:
                del self.per_op_cache[shared_url]
        return context, remote_doc

    def note_url(self, active_ctx: Any, url: str, cycles: set) -> None:
        """Account for ``url`` as pyld would: the first time in a call it is fetched (and checked)."""
        shared = self._cache.shared(url, self._trusted)
        if shared is not None and url not in self.per_op_cache:
            _check_fetch(self, active_ctx, url, cycles)
            self.per_op_cache[url] = shared

    def replay(self, active_ctx: Any, local_ctx: Any) -> None:
        """Do what resolving ``local_ctx`` would have done to this call's state, for a memo hit."""
        cycles: set = set()
        for ctx in local_ctx if isinstance(local_ctx, list) else [local_ctx]:
            if isinstance(ctx, str):
                self.note_url(active_ctx, ctx, cycles)


class _CachingProcessor(jsonld.JsonLdProcessor):
    """pyld's processor with context processing memoized in a ContextCache (one instance per call)."""

    def __init__(self, cache: ContextCache, trusted: frozenset[str], resolver: _Resolver, on_property_dropped) -> None:
        super().__init__(on_property_dropped=on_property_dropped)
        self._cache = cache
        self._trusted = trusted
        self._resolver = resolver

    def _get_initial_context(self, options):
        return self._cache.initial_context(options.get("processingMode"))

    def _process_context(self, active_ctx, local_ctx, options, override_protected=False, propagate=True,
                         validate_scoped=True, cycles=None):
        key = None
        # cycles is only passed for scoped contexts checked while a context is being built (never ours)
        if cycles is None and options.get("contextResolver") is self._resolver:
            local_key = self._cache.local_key(local_ctx, self._trusted)
            if local_key is not None:
                key = (id(active_ctx), local_key, bool(override_protected), bool(propagate), bool(validate_scoped),
                       options.get("base"))
                hit = self._cache.lookup(active_ctx, key)
                if hit is not None:
                    self._resolver.replay(active_ctx, local_ctx)
                    return hit
        result = super()._process_context(active_ctx, local_ctx, options, override_protected=override_protected,
                                          propagate=propagate, validate_scoped=validate_scoped, cycles=cycles)
        if key is not None:
            result = self._cache.store(active_ctx, key, result)
        return result


_default: ContextCache | None = None
_default_lock = threading.Lock()


def default_context_cache() -> ContextCache:
    """The process-wide cache for the contexts bundled with this package."""
    global _default
    with _default_lock:
        if _default is None:
            loader = bundled_document_loader()
            _default = ContextCache({url: loader(url, None)["document"] for url in loader.urls})
        return _default
