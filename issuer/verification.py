"""The service's verifier: the library of `verifier/`, wired to our configuration and database."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

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
    return CountingVerifier(Verifier(
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
    ), services)


class CountingVerifier:
    """The verifier, counting each verification of one of our issuers' credentials per issuer and
    UTC day (the console's dashboard charts them). Counting never fails a verification."""

    def __init__(self, verifier: Verifier, services):
        self._verifier = verifier
        self._services = services

    def __getattr__(self, name):
        return getattr(self._verifier, name)

    def verify_input(self, *args, **kwargs):
        return self._counted(self._verifier.verify_input(*args, **kwargs))

    def verify_url(self, *args, **kwargs):
        return self._counted(self._verifier.verify_url(*args, **kwargs))

    def verify_credential(self, *args, **kwargs):
        return self._counted(self._verifier.verify_credential(*args, **kwargs))

    def _counted(self, report):
        issuer = (report.credential or {}).get("issuer") or {}
        did = issuer.get("id") if isinstance(issuer, dict) else None
        if isinstance(did, str) and did.startswith("did:"):
            try:
                count_verification(self._services, did, report.checked_at.date().isoformat())
            except SQLAlchemyError:
                logging.getLogger(__name__).exception("could not count a verification")
        return report


def count_verification(services, did: str, day: str) -> None:
    from issuer.models import Issuer, VerificationCount

    with services.sessionmaker() as session:
        issuer_id = session.scalar(select(Issuer.id).where(Issuer.did == did))
        if issuer_id is None:
            return  # not one of ours
        for _ in range(2):
            counted = session.execute(update(VerificationCount).where(
                VerificationCount.issuer_id == issuer_id, VerificationCount.day == day
            ).values(count=VerificationCount.count + 1)).rowcount
            if counted:
                session.commit()
                return
            session.add(VerificationCount(issuer_id=issuer_id, day=day, count=1))
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()  # another request counted the day's first: add to it
