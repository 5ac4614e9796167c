"""The service's verifier: the library of `verifier/`, wired to our configuration and database."""

from __future__ import annotations

from datetime import timedelta

from issuer.resolver import OwnIssuerResolver, OwnStatusLists
from verifier import Policy, Verifier
from verifier.fetcher import Fetcher, FetchPolicy
from verifier.resolvers import Resolver
from verifier.statuscache import StatusListCache


def build_verifier(config, services) -> Verifier:
    """One Verifier for the app: it holds no per-request state (the fetcher's cache is shared
    and locked; each verification takes its own fetch budget)."""
    fetcher = Fetcher(
        FetchPolicy(
            allow_http_loopback=bool(config.get("VERIFY_ALLOW_HTTP_LOOPBACK")),
            allow_private_addresses=bool(config.get("VERIFY_ALLOW_PRIVATE_ADDRESSES")),
        ),
        clock=services.clock,
    )
    trusted = config.get("TRUSTED_ISSUERS")
    return Verifier(
        document_loader=services.document_loader,
        resolver=OwnIssuerResolver(services.sessionmaker, Resolver.through(fetcher)),
        clock=services.clock,
        policy=Policy(
            max_clock_skew=timedelta(seconds=int(config.get("VERIFY_MAX_CLOCK_SKEW_SECONDS", 300))),
            trusted_issuers=frozenset(trusted) if trusted is not None else None,
        ),
        fetcher=fetcher,
        local_documents=OwnStatusLists(services),
        # Our own lists, and others' we fetch, are verified once per version (each list is signed
        # again when it changes, and that new version is verified again).
        status_list_cache=StatusListCache(),
    )
