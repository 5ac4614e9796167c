"""The service's verifier: the library of `verifier/`, wired to our configuration and database."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from issuer.resolver import OwnIssuerResolver, OwnStatusLists
from verifier import Policy, Verifier
from verifier.fetcher import Fetcher, FetchPolicy
from verifier.resolvers import Resolver
from verifier.statuscache import StatusListCache


def build_verifier(config, services, counts: VerificationCounts) -> Verifier:
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
        resolver=OwnIssuerResolver.of(services.sessionmaker.kw["bind"], Resolver.through(fetcher)),
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
    ), counts)


class CountingVerifier:
    """The verifier, counting each verification of one of our issuers' credentials per issuer and
    UTC day (the console's dashboard charts them). Counting never fails a verification."""

    def __init__(self, verifier: Verifier, counts: VerificationCounts):
        self._verifier = verifier
        self._counts = counts

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
            self._counts.add(did, report.checked_at.date().isoformat())
        return report


class VerificationCounts:
    """Verifications counted in this process's memory and added to the database at most every
    `interval` seconds, by whichever verification or request finds the interval passed
    (`flush_if_due`), and by `flush` (the dashboard calls it before reading;
    `issuer.serving.start` at a clean exit of the process).

    A row written per verification would serialise every verification on the database's write
    lock (SQLite has one for the whole file). The price: a process killed outright (SIGKILL, power
    loss) loses the counts of its last `interval` seconds; they are a dashboard statistic.

    The DIDs come from the credentials verified, that is from anyone: at most `max_pending` are
    held (more flush at once), and each flush looks them all up in one statement."""

    def __init__(self, sessions: sessionmaker[Session], *, interval: float = 5.0, max_pending: int = 10_000,
                 monotonic: Callable[[], float] = time.monotonic):
        self._sessions = sessions
        self._interval = interval
        self._max_pending = max_pending
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pending: Counter[tuple[str, str]] = Counter()
        self._due = monotonic() + interval

    def add(self, did: str, day: str) -> None:
        with self._lock:
            self._pending[did, day] += 1
        self.flush_if_due()

    def flush_if_due(self) -> None:
        if self._monotonic() >= self._due or len(self._pending) >= self._max_pending:
            self.flush()

    def flush(self) -> None:
        """Add the counts taken so far to the database. Counts that cannot be written now (the
        database is unavailable) are kept for the next try, within `max_pending`."""
        with self._lock:
            counts, self._pending = self._pending, Counter()
            self._due = self._monotonic() + self._interval
        if not counts:
            return
        try:
            add_verifications(self._sessions, counts)
        except SQLAlchemyError:
            logging.getLogger(__name__).exception("could not count %d verification(s)", counts.total())
            with self._lock:
                if len(self._pending) + len(counts) <= self._max_pending:
                    self._pending.update(counts)


def add_verifications(sessions: sessionmaker[Session], counts: Mapping[tuple[str, str], int]) -> None:
    """Add each count to the verifications of the credentials of issuer `did` on `day` (the keys
    are `(did, day)`); DIDs that are not our issuers' are left out."""
    from issuer.models import Issuer, VerificationCount

    with sessions() as session:
        ours = dict(session.execute(select(Issuer.did, Issuer.id).where(Issuer.did.in_({did for did, _ in counts}))).all())
        for (did, day), count in counts.items():
            if did not in ours:
                continue
            for _ in range(2):
                counted = session.execute(update(VerificationCount).where(
                    VerificationCount.issuer_id == ours[did], VerificationCount.day == day
                ).values(count=VerificationCount.count + count)).rowcount
                if counted:
                    session.commit()
                    break
                session.add(VerificationCount(issuer_id=ours[did], day=day, count=count))
                try:
                    session.commit()
                    break
                except IntegrityError:
                    session.rollback()  # another process counted the day's first: add to it
