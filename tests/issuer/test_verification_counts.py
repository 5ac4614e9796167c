"""Verifications of our credentials are counted in memory and added to the database at most once
per interval, and at once when asked (the dashboard asks before it reads)."""

from __future__ import annotations

from sqlalchemy import func, select

from issuer.models import VerificationCount
from issuer.verification import VerificationCounts


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def stored(services, day: str) -> int:
    with services.sessionmaker() as session:
        return session.scalar(select(func.coalesce(func.sum(VerificationCount.count), 0))
                              .where(VerificationCount.day == day))


def test_counts_reach_the_database_once_the_interval_has_passed(services, issued, clock):
    ticks = Ticks()
    counts = VerificationCounts(services.sessionmaker, interval=5, monotonic=ticks)
    did, day = issued["issuer"]["id"], clock().date().isoformat()
    counts.add(did, day)
    counts.add(did, day)
    assert stored(services, day) == 0
    ticks.now = 5
    counts.add(did, day)  # this one finds the interval passed and writes all three
    assert stored(services, day) == 3
    counts.add(did, day)
    counts.add("did:web:elsewhere.example", day)  # not one of ours: never stored
    assert stored(services, day) == 3
    counts.flush()
    assert stored(services, day) == 4


def test_counts_of_two_processes_add_up(services, issued, clock):
    did, day = issued["issuer"]["id"], clock().date().isoformat()
    first, second = (VerificationCounts(services.sessionmaker, monotonic=Ticks()) for _ in range(2))
    for counts, times in ((first, 2), (second, 3)):
        for _ in range(times):
            counts.add(did, day)
    first.flush()
    second.flush()
    assert stored(services, day) == 5


def test_dids_from_anyone_are_held_within_a_bound(services, issued, clock):
    did, day = issued["issuer"]["id"], clock().date().isoformat()
    counts = VerificationCounts(services.sessionmaker, max_pending=3, monotonic=Ticks())
    counts.add(did, day)
    counts.add("did:web:elsewhere.example", day)
    assert stored(services, day) == 0
    counts.add("did:web:another.example", day)  # the third DID held: all are looked up and written
    assert stored(services, day) == 1
