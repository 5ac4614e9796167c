"""Finding the public key behind a verification method.

did:key resolves offline. did:web needs a document from the web, fetched by an injected
`fetch_json(url) -> dict`, so the caller decides what may be fetched and how (a guarded HTTP
client in production, our own app in tests).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol
from urllib.parse import unquote, urlsplit

from dataintegrity import DataIntegrityError, did_key_document


class ResolutionError(Exception):
    code = "unresolvable_key"


class DidResolver(Protocol):
    def resolve(self, did: str) -> dict:
        """The DID document for `did`. :raise ResolutionError: it cannot be had."""

    # Optional: `bounded(fetch_json) -> DidResolver`, the same resolver fetching within one
    # verification's fetch budget. Resolvers without it are used as they are.


def did_web_url(did: str, *, http_loopback: bool = False) -> str:
    """did:web:example.com%3A8443:issuers:x -> https://example.com:8443/issuers/x/did.json

    With `http_loopback`, a DID on a loopback host is read over plain http (a local instance,
    such as `badges serve` on 127.0.0.1:5000, speaks no TLS); every other host stays https.
    """
    # asked at every verification of a did:web issuer's credential: a usual DID's URL is kept
    if len(did) <= 200:
        return _remembered_did_web_url(did, http_loopback)
    return _did_web_url(did, http_loopback)


def _did_web_url(did: str, http_loopback: bool) -> str:
    parts = did.split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise ResolutionError(f"{did} is not a did:web identifier")
    host = unquote(parts[2])
    path = "/".join(unquote(p) for p in parts[3:])
    scheme = "http" if http_loopback and is_loopback_host(host) else "https"
    return f"{scheme}://{host}/{path}/did.json" if path else f"{scheme}://{host}/.well-known/did.json"


_remembered_did_web_url = lru_cache(maxsize=1024)(_did_web_url)


def is_loopback_host(host: str) -> bool:
    """Whether `host` (with an optional port) names this machine: localhost or a loopback address."""
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if name is None:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Resolver:
    """Resolves did:key offline, and did:web and HTTPS controller documents through `fetch_json`
    (None: nothing that needs the network resolves). `http_loopback`: see `did_web_url`."""

    def __init__(self, fetch_json: Callable[[str], dict] | None = None, *, budgeted: bool = False,
                 http_loopback: bool = False):
        self._fetch_json = fetch_json
        self._budgeted = budgeted
        self._http_loopback = http_loopback

    @classmethod
    def through(cls, fetcher) -> Resolver:
        """A resolver fetching through a guarded `verifier.fetcher.Fetcher`; a Verifier holding
        the same fetcher makes it fetch within each verification's budget (see `bounded`). A
        fetcher allowed plain http to loopback resolves loopback did:web over http as well."""
        # Anything with fetch_json will do; only a guarded Fetcher carries a policy to follow.
        policy = getattr(fetcher, "policy", None)
        return cls(fetcher.fetch_json, budgeted=True, http_loopback=bool(getattr(policy, "allow_http_loopback", False)))

    def bounded(self, fetch_json: Callable[[str], dict]) -> Resolver:
        """This resolver fetching through one verification's budget, when it was made `through`
        a fetcher; a resolver over a caller's own fetch function is left as it is."""
        if not self._budgeted:
            return self
        return Resolver(fetch_json, budgeted=True, http_loopback=self._http_loopback)

    def resolve(self, did: str) -> dict:
        if did.startswith("did:key:"):
            try:
                return did_key_document(did)
            except DataIntegrityError as error:
                raise ResolutionError(f"{did} is not a valid did:key: {error}") from None
        if did.startswith("did:web:"):
            return self._fetch_controller(did, did_web_url(did, http_loopback=self._http_loopback))
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
