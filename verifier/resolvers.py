"""Finding the public key behind a verification method.

did:key resolves offline. did:web needs a document from the web, fetched by an injected
`fetch_json(url) -> dict`, so the caller decides what may be fetched and how (a guarded HTTP
client in production, our own app in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from urllib.parse import unquote

from dataintegrity import DataIntegrityError, did_key_document


class ResolutionError(Exception):
    code = "unresolvable_key"


class DidResolver(Protocol):
    def resolve(self, did: str) -> dict:
        """The DID document for `did`. :raise ResolutionError: it cannot be had."""

    # Optional: `bounded(fetch_json) -> DidResolver`, the same resolver fetching within one
    # verification's fetch budget. Resolvers without it are used as they are.


def did_web_url(did: str) -> str:
    """did:web:example.com%3A8443:issuers:x -> https://example.com:8443/issuers/x/did.json"""
    parts = did.split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise ResolutionError(f"{did} is not a did:web identifier")
    host = unquote(parts[2])
    path = "/".join(unquote(p) for p in parts[3:])
    return f"https://{host}/{path}/did.json" if path else f"https://{host}/.well-known/did.json"


class Resolver:
    """Resolves did:key offline, and did:web and HTTPS controller documents through `fetch_json`
    (None: nothing that needs the network resolves)."""

    def __init__(self, fetch_json: Callable[[str], dict] | None = None, *, budgeted: bool = False):
        self._fetch_json = fetch_json
        self._budgeted = budgeted

    @classmethod
    def through(cls, fetcher) -> Resolver:
        """A resolver fetching through a guarded `verifier.fetcher.Fetcher`; a Verifier holding
        the same fetcher makes it fetch within each verification's budget (see `bounded`)."""
        return cls(fetcher.fetch_json, budgeted=True)

    def bounded(self, fetch_json: Callable[[str], dict]) -> Resolver:
        """This resolver fetching through one verification's budget, when it was made `through`
        a fetcher; a resolver over a caller's own fetch function is left as it is."""
        return Resolver(fetch_json, budgeted=True) if self._budgeted else self

    def resolve(self, did: str) -> dict:
        if did.startswith("did:key:"):
            try:
                return did_key_document(did)
            except DataIntegrityError as error:
                raise ResolutionError(f"{did} is not a valid did:key: {error}") from None
        if did.startswith("did:web:"):
            return self._fetch_controller(did, did_web_url(did))
        if did.startswith("https://"):
            # A controller document at an HTTPS URL (e.g. an issuer profile listing its keys).
            return self._fetch_controller(did, did)
        raise ResolutionError(f"the DID method of {did.split('#')[0]} is not supported")

    def _fetch_controller(self, controller: str, url: str) -> dict:
        if self._fetch_json is None:
            raise ResolutionError(f"{controller} needs the network to resolve, and no fetcher was given")
        try:
            document = self._fetch_json(url)
        except Exception as error:  # any failure of the fetcher means: not resolvable
            raise ResolutionError(f"{controller}: could not fetch {url}: {error}") from None
        if not isinstance(document, dict) or document.get("id") != controller:
            raise ResolutionError(f"{url} does not hold the document of {controller}")
        return document
