"""Our W3C Bitstring Status Lists: a position in each list for every new credential, and the
signed list credentials we publish at /status/<list-id>.

A list's bits are not stored. They follow from the status of the credentials holding a position in
it: the revocation bit is set while a credential is revoked, the suspension bit while it is
suspended. A change to a credential's status bumps the `version` of its lists; the signed list last
published is kept with the version it shows, so an unchanged list is served as stored (no signing,
no compression) and a changed one is signed again at its next fetch.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dataintegrity import add_proof
from issuer.db import PlainRead
from issuer.keystore import KeyStore
from issuer.models import Credential, Issuer, StatusEntry, StatusList, new_id
from issuer.openbadges import VC_V2_CONTEXT, xsd_datetime
from issuer.urls import Urls
from verifier.statuslist import MIN_LENGTH_BITS, encode_status_list, set_bit

PURPOSES = ("revocation", "suspension")
# What new credentials carry unless configured otherwise: the revocation entry alone, so that
# `credentialStatus` is the single object Open Badges 3.0's JSON Schema requires (see README).
DEFAULT_PURPOSES = ("revocation",)
# The credential statuses that set a list's bit, by the list's purpose.
SET_WHEN = {"revocation": ("revoked",), "suspension": ("suspended",)}
# Random draws before a nearly full list is searched for its free positions instead.
_DRAWS = 16
_random = secrets.SystemRandom()


def _draw(capacity: int, count: int, excluded: set[int]) -> set[int]:
    """Up to `count` distinct random positions below `capacity`, none of `excluded`."""
    drawn = _random.sample(range(capacity), min(capacity, count + len(excluded)))
    return set([p for p in drawn if p not in excluded][:count])


# The statements of position allocation, built once: building one costs several times more than
# running it. Their parameters are bound per call (b_*: names of no column).
_LISTS, _ENTRIES = StatusList.__table__, StatusEntry.__table__
_CURRENT_LIST = (select(_LISTS.c.id)
                 .where(_LISTS.c.issuer_id == bindparam("b_issuer"), _LISTS.c.purpose == bindparam("b_purpose"))
                 .order_by(_LISTS.c.sequence.desc()).limit(1).scalar_subquery())
_CURRENT_STATE = select(_LISTS.c.id, _LISTS.c.capacity, _LISTS.c.allocated).where(_LISTS.c.id == _CURRENT_LIST)
# One more position of a list, if it is still the current one and has room (locks its row).
_CLAIM_ONE = (update(_LISTS)
              .where(_LISTS.c.id == bindparam("b_list"), _LISTS.c.id == _CURRENT_LIST,
                     _LISTS.c.allocated < _LISTS.c.capacity)
              .values(allocated=_LISTS.c.allocated + 1).returning(_LISTS.c.capacity))
# `b_count` more positions of the current list, if it has room for them all.
_CLAIM_MANY = (update(_LISTS)
               .where(_LISTS.c.id == _CURRENT_LIST, _LISTS.c.allocated + bindparam("b_count") <= _LISTS.c.capacity)
               .values(allocated=_LISTS.c.allocated + bindparam("b_count"))
               .returning(_LISTS.c.id, _LISTS.c.capacity))
_UNCLAIM_ONE = update(_LISTS).where(_LISTS.c.id == bindparam("b_list")).values(allocated=_LISTS.c.allocated - 1)
# Which of these positions in these lists are held (a superset of the pairs asked about).
_HELD = select(_ENTRIES.c.list_id, _ENTRIES.c.position).where(
    _ENTRIES.c.list_id.in_(bindparam("b_lists", expanding=True)),
    _ENTRIES.c.position.in_(bindparam("b_positions", expanding=True)))
_HOLD = insert(_ENTRIES)


@dataclass(frozen=True)
class StatusListPolicy:
    # Bits in a published list: the spec's minimum, which hides one credential among 131,072.
    length: int = MIN_LENGTH_BITS
    # Positions handed out from one list before the next is started (at most `length`).
    capacity: int = MIN_LENGTH_BITS
    # A published list is valid this long after it is signed; it is signed again before it lapses.
    valid_for: timedelta = timedelta(days=1)
    # How long a verifier may cache a list (the list's `ttl`, and the Cache-Control max-age).
    ttl: timedelta = timedelta(minutes=5)
    # Which entries each credential carries.
    purposes: tuple[str, ...] = DEFAULT_PURPOSES

    def __post_init__(self):
        if self.length < MIN_LENGTH_BITS or self.length % 8:
            raise ValueError(f"a status list has at least {MIN_LENGTH_BITS} bits, a multiple of 8")
        if not 1 <= self.capacity <= self.length:
            raise ValueError("a status list's capacity is between 1 and its length")
        if "revocation" not in self.purposes or set(self.purposes) - set(PURPOSES) \
                or len(set(self.purposes)) != len(self.purposes):
            raise ValueError("status purposes are revocation and optionally suspension, each once")
        if self.ttl >= self.valid_for:
            raise ValueError("a status list's ttl must be shorter than its validity")

    def serves_stored(self, published_until: datetime, now: datetime) -> bool:
        """Whether a stored list valid until `published_until` is still served as it is. It is
        signed again once less than a ttl of validity is left, so no cached copy outlives it."""
        return now + self.ttl < published_until

    def max_age(self, published_until: datetime, now: datetime) -> int:
        """The Cache-Control max-age of a list valid until `published_until`, served at `now`."""
        return max(0, min(int(self.ttl.total_seconds()), int((published_until - now).total_seconds())))

    def purposes_for(self, issuer: Issuer) -> tuple[str, ...]:
        """The entries the issuer's new credentials carry: its own `suspension` choice, else ours."""
        if issuer.suspension is None:
            return self.purposes
        return PURPOSES if issuer.suspension else ("revocation",)


@dataclass(frozen=True)
class Reservation:
    positions: tuple[tuple[str, int], ...]  # (list id, position)
    entries: tuple[dict, ...]  # the credential's credentialStatus entries


@dataclass(frozen=True)
class Publication:
    """A signed list credential as served, with its entity tag and how long it may be cached."""

    document: dict
    etag: str
    max_age: int


class CurrentPublications:
    """Which signed list the database stores as current for a list id: the one that shows the
    list's current version, which `StatusLists.publication` serves as stored until
    `StatusListPolicy.serves_stored` says otherwise. One primary-key read, so that an answer kept
    in memory can be confirmed before it is given again.

    Both are plain reads (`PlainRead`): `etag` is on the hottest public route. Both raise the
    database's errors (`errors`: what to catch).
    """

    _QUERY = (
        select(StatusList.published_etag, StatusList.published_until)
        .where(StatusList.id == bindparam("list_id"), StatusList.published_version == StatusList.version)
    )

    def __init__(self, engine: Engine):
        self._read = PlainRead(engine, self._QUERY)
        self.errors = self._read.errors

    def etag(self, list_id: str) -> str | None:
        """Its ETag."""
        row = self._read.first(list_id=list_id)
        return None if row is None else row.published_etag

    def read(self, list_id: str) -> tuple[str, datetime] | None:
        """(ETag, validUntil)."""
        row = self._read.first(list_id=list_id)
        return None if row is None else (row.published_etag, row.published_until)


class ServedEtags:
    """What this process last served of each list: its ETag, and until when that answer is fresh.
    A conditional GET /status/<id> naming that ETag within that time is answered 304 from here,
    without the database.

    Why this is safe across processes (gunicorn workers, machines): an entry is made from a
    database read at time t that answered max-age M (at most the list's ttl, never past its
    validUntil), so it is fresh until t + M, and every 304 from it carries the max-age left until
    then. It never lets a client keep a version fresh longer than the answer read at t already
    did. A change committed by another process at time c is seen by every client from c + ttl on
    at the latest (the version it replaced was read before c), which is what the list's own
    Cache-Control allows any HTTP cache anyway. A change made by this process drops the lists'
    entries at once (and again when it commits), so this process never answers a stale 304.
    """

    def __init__(self, max_lists: int = 4096):
        self._lock = threading.Lock()
        self._max_lists = max_lists
        self._fresh: dict[str, tuple[str, datetime]] = {}
        # Bumped by every change, so an entry made from a read that a change overtook is not kept.
        self._generation = 0

    def generation(self) -> int:
        return self._generation

    def fresh_etag(self, list_id: str, now: datetime) -> tuple[str, int] | None:
        """(ETag, max-age left in whole seconds) while this process's last answer is fresh."""
        entry = self._fresh.get(list_id)
        if entry is None:
            return None
        left = int((entry[1] - now).total_seconds())
        return (entry[0], left) if left > 0 else None

    def served(self, list_id: str, etag: str, fresh_until: datetime, generation: int) -> None:
        """Record an answer read from the database; `generation` as read before that read."""
        with self._lock:
            if generation != self._generation:
                return
            if len(self._fresh) >= self._max_lists and list_id not in self._fresh:
                self._fresh.clear()
            self._fresh[list_id] = (etag, fresh_until)

    def forget(self, list_ids) -> None:
        with self._lock:
            self._generation += 1
            for list_id in list_ids:
                self._fresh.pop(list_id, None)


class StatusLists:
    def __init__(self, session: Session, keystore: KeyStore, *, document_loader, urls: Urls,
                 clock: Callable[[], datetime], policy: StatusListPolicy, served: ServedEtags | None = None):
        self._session = session
        self._keystore = keystore
        self._document_loader = document_loader
        self._urls = urls
        self._clock = clock
        self.policy = policy
        self._served = served

    # --- positions ----------------------------------------------------------------------------

    def reserve(self, issuer: Issuer) -> Reservation:
        """A free position in the issuer's current list of each purpose, and the `credentialStatus`
        entries pointing there. `hold` gives them to the credential once it is added; until the
        caller's transaction ends, the lists' rows stay locked, so nobody else draws meanwhile."""
        return self.reserve_many(issuer, 1)[0]

    def reserve_many(self, issuer: Issuer, count: int) -> list[Reservation]:
        """`count` reservations at once: each list row is claimed once for all of them (one lock and
        one counter update per list, not per credential), and their positions checked together."""
        purposes = self.policy.purposes_for(issuer)
        claims = [self._claim(issuer, purpose, count) for purpose in purposes]
        return self._reservations(purposes, claims, count)

    def _reservations(self, purposes: tuple[str, ...], claims: list[list[tuple[str, int, int]]],
                      count: int) -> list[Reservation]:
        """`count` reservations of free positions in what each purpose claimed."""
        positions = self._free_positions([claim for per_purpose in claims for claim in per_purpose])
        # Each purpose's positions in one sequence (a claim that spilled into a new list continues there).
        per_purpose = [[(list_id, p) for list_id, _capacity, _n in claimed for p in positions[list_id]]
                       for claimed in claims]
        return [self._reservation(purposes, tuple(drawn[index] for drawn in per_purpose)) for index in range(count)]

    def _reservation(self, purposes: tuple[str, ...], positions: tuple[tuple[str, int], ...]) -> Reservation:
        return Reservation(positions, tuple(
            self._entry(purpose, list_id, position) for purpose, (list_id, position) in zip(purposes, positions)))

    def propose(self, issuer: Issuer) -> Reservation | None:
        """Free positions for one credential, read but not claimed: a credential can be signed with
        them before anything is locked, and `claim` then makes them its own. None when a list is
        full or not started yet (`claim` then draws under the lock)."""
        purposes = self.policy.purposes_for(issuer)
        connection = self._session.connection()
        lists = [connection.execute(_CURRENT_STATE, {"b_issuer": issuer.id, "b_purpose": purpose}).first()
                 for purpose in purposes]
        if any(row is None or row.allocated >= row.capacity for row in lists):
            return None
        positions = self._free_positions([(row.id, row.capacity, 1) for row in lists])
        if not all(positions.values()):
            return None  # filled meanwhile
        return self._reservation(purposes, tuple((row.id, positions[row.id][0]) for row in lists))

    def claim(self, issuer: Issuer, proposal: Reservation | None) -> Reservation:
        """`reserve`, keeping the proposed positions when their lists are still the current ones,
        with room, and nobody took them meanwhile; a position taken meanwhile is drawn again in its
        list. The answer is `proposal` itself when nothing changed (a credential signed with it
        need not be signed again)."""
        purposes = self.policy.purposes_for(issuer)
        if proposal is None or len(proposal.positions) != len(purposes):
            return self.reserve(issuer)
        self._session.flush()  # what the caller added first is written first (the order all writers keep)
        connection = self._session.connection()
        claimed = []
        for purpose, (list_id, _position) in zip(purposes, proposal.positions):
            row = connection.execute(_CLAIM_ONE, {"b_list": list_id, "b_issuer": issuer.id, "b_purpose": purpose}).first()
            if row is None:
                # Filled or succeeded meanwhile: give back what was claimed, and claim afresh.
                for claimed_id, _capacity, _n in claimed:
                    connection.execute(_UNCLAIM_ONE, {"b_list": claimed_id})
                return self.reserve(issuer)
            claimed.append((list_id, row.capacity, 1))
        # The lists are locked now: what this reads, nobody adds to until we commit.
        if not self._held(proposal.positions):
            return proposal
        return self._reservations(purposes, [[claim] for claim in claimed], 1)[0]

    def _held(self, pairs) -> set[tuple[str, int]]:
        """Which of these (list id, position) pairs some credential holds."""
        pairs = set(pairs)
        if not pairs:
            return set()
        rows = self._session.connection().execute(_HELD, {"b_lists": sorted({l for l, _ in pairs}),
                                                          "b_positions": sorted({p for _, p in pairs})})
        return {(list_id, position) for list_id, position in rows} & pairs

    def _entry(self, purpose: str, list_id: str, position: int) -> dict:
        url = self._urls.status_list(list_id)
        return {
            "id": f"{url}#{position}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(position),
            "statusListCredential": url,
        }

    def hold(self, reservation: Reservation, credential: Credential) -> None:
        self._session.flush()  # the credential first
        # One INSERT for all the credential's entries (the ORM would send one per row, to learn its id).
        self._session.connection().execute(_HOLD, [
            {"list_id": list_id, "position": position, "credential_id": credential.id}
            for list_id, position in reservation.positions
        ])

    def _claim(self, issuer: Issuer, purpose: str, count: int) -> list[tuple[str, int, int]]:
        """Claim `count` positions of the issuer's current list of `purpose`, spilling into new
        lists when it fills: [(list id, its capacity, positions claimed there)].

        The write to the list row comes first: it locks the row (PostgreSQL) or takes the database
        write lock (SQLite, which has no row locks), so concurrent issuers claim one after another
        and each sees the positions the others took.
        """
        claimed: list[tuple[str, int, int]] = []
        wanted = count
        self._session.flush()  # what the caller added first is written first (the order all writers keep)
        while wanted:
            # The common case in one statement: the current list has room for all of them.
            row = self._session.connection().execute(
                _CLAIM_MANY, {"b_issuer": issuer.id, "b_purpose": purpose, "b_count": wanted}).first()
            if row is not None:
                claimed.append((row.id, row.capacity, wanted))
                return claimed
            current = self._session.execute(
                select(StatusList.id, StatusList.sequence)
                .where(StatusList.issuer_id == issuer.id, StatusList.purpose == purpose)
                .order_by(StatusList.sequence.desc())
                .limit(1)
            ).first()
            if current is not None:
                # Fewer left than wanted: lock the row by writing it, then take what is left.
                locked = self._session.execute(
                    update(StatusList).where(StatusList.id == current.id)
                    .values(allocated=StatusList.allocated)
                    .returning(StatusList.allocated, StatusList.capacity)
                    .execution_options(synchronize_session=False)
                ).one()
                taken = min(wanted, locked.capacity - locked.allocated)
                if taken:
                    self._session.execute(
                        update(StatusList).where(StatusList.id == current.id)
                        .values(allocated=locked.allocated + taken)
                        .execution_options(synchronize_session=False)
                    )
                    claimed.append((current.id, locked.capacity, taken))
                    wanted -= taken
                    continue
            self._start_list(issuer, purpose, (current.sequence if current else 0) + 1)
        return claimed

    def _start_list(self, issuer: Issuer, purpose: str, sequence: int) -> None:
        now = self._clock()
        try:
            with self._session.begin_nested():
                self._session.add(StatusList(
                    id=new_id(), issuer_id=issuer.id, purpose=purpose, sequence=sequence,
                    length=self.policy.length, capacity=self.policy.capacity, allocated=0, version=1,
                    created_at=now, changed_at=now,
                ))
        except IntegrityError:
            pass  # a concurrent issuance started it first; use theirs

    def _free_positions(self, claims: list[tuple[str, int, int]]) -> dict[str, list[int]]:
        """For each claim, as many positions of its list as it claimed that nobody holds, drawn at
        random (so a position says nothing about issue order); all lists checked in one query per draw."""
        wanted = {list_id: n for list_id, _capacity, n in claims}
        capacity = {list_id: c for list_id, c, _n in claims}
        chosen: dict[str, set[int]] = {list_id: set() for list_id in wanted}
        for _ in range(_DRAWS):
            candidates = {
                list_id: _draw(capacity[list_id], wanted[list_id] - len(chosen[list_id]), chosen[list_id])
                for list_id in wanted if len(chosen[list_id]) < wanted[list_id]
            }
            if not candidates:
                break
            taken = self._held((list_id, p) for list_id, drawn in candidates.items() for p in drawn)
            for list_id, drawn in candidates.items():
                chosen[list_id].update(p for p in drawn if (list_id, p) not in taken)
        for list_id, n in wanted.items():
            if len(chosen[list_id]) < n:
                # Nearly full: draw among the free positions themselves.
                used = set(self._session.scalars(select(StatusEntry.position).where(StatusEntry.list_id == list_id)))
                free = [p for p in range(capacity[list_id]) if p not in used and p not in chosen[list_id]]
                # (Fewer than wanted only when read without the claim, by `propose`.)
                chosen[list_id].update(_random.sample(free, min(len(free), n - len(chosen[list_id]))))
        return {list_id: _random.sample(sorted(drawn), len(drawn)) for list_id, drawn in chosen.items()}

    # --- changes --------------------------------------------------------------------------------

    def changed(self, credentials: list[Credential]) -> None:
        """Record that these credentials' statuses changed: their lists must be signed again."""
        ids = {c.id for c in credentials}
        if not ids:
            return
        lists = set(self._session.execute(
            select(StatusList.purpose, StatusList.sequence, StatusList.id)
            .join(StatusEntry, StatusEntry.list_id == StatusList.id)
            .where(StatusEntry.credential_id.in_(ids))
        ))
        # One row at a time, in the order `reserve` locks them (by purpose, then sequence), so a
        # status change and a concurrent issuance never wait on each other in a cycle.
        for _purpose, _sequence, list_id in sorted(lists, key=lambda row: (PURPOSES.index(row[0]), row[1])):
            self._session.execute(
                update(StatusList).where(StatusList.id == list_id)
                .values(version=StatusList.version + 1, changed_at=self._clock())
                .execution_options(synchronize_session=False)
            )
        if self._served is not None:
            # Now, and again once committed: an answer read meanwhile still showed the old version.
            changed_ids = [list_id for _purpose, _sequence, list_id in lists]
            self._served.forget(changed_ids)
            event.listen(self._session, "after_commit", lambda _session: self._served.forget(changed_ids), once=True)

    # --- publishing -------------------------------------------------------------------------------

    def bits(self, status_list: StatusList) -> bytearray:
        """The list's bitstring, from the statuses of the credentials in it."""
        bits = bytearray(status_list.length // 8)
        positions = self._session.scalars(
            select(StatusEntry.position)
            .join(Credential, Credential.id == StatusEntry.credential_id)
            .where(StatusEntry.list_id == status_list.id, Credential.status.in_(SET_WHEN[status_list.purpose]))
        )
        for position in positions:
            set_bit(bits, position)
        return bits

    def publication(self, status_list: StatusList) -> Publication:
        """The signed list credential to serve: the stored one while it shows the current version
        and is not about to lapse, else a new one, signed and stored (the caller commits)."""
        now = self._clock()
        if not published_is_current(status_list, now, self.policy):
            self._publish(status_list, now)
        return Publication(status_list.published_document, status_list.published_etag,
                           self.policy.max_age(status_list.published_until, now))

    def _publish(self, status_list: StatusList, now: datetime) -> None:
        issuer = self._session.get(Issuer, status_list.issuer_id)
        version = status_list.version  # read before the bits, so a change meanwhile makes it stale
        valid_until = now + self.policy.valid_for
        url = self._urls.status_list(status_list.id)
        unsigned = {
            "@context": [VC_V2_CONTEXT],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer.did,
            "validFrom": xsd_datetime(now),
            "validUntil": xsd_datetime(valid_until),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": status_list.purpose,
                "encodedList": encode_status_list(self.bits(status_list)),
                "ttl": int(self.policy.ttl.total_seconds() * 1000),
            },
        }
        key = self._keystore.active_key(issuer)
        signer = self._keystore.signer(key)
        signed = add_proof(unsigned, signer=signer, created=now, document_loader=self._document_loader,
                           cryptosuite=signer.cryptosuite)
        digest = hashlib.sha256(json.dumps(signed, sort_keys=True).encode("utf-8")).hexdigest()
        status_list.published_document = signed
        status_list.published_version = version
        status_list.published_until = valid_until.replace(microsecond=0)
        status_list.published_etag = digest[:32]
        self._session.flush()


def published_is_current(status_list, now: datetime, policy: StatusListPolicy) -> bool:
    """Whether the stored signed list of `status_list` (a StatusList, or a row of its published_*
    and version columns) can be served as it is: it shows the current version and is not about to
    lapse (see `StatusListPolicy.serves_stored`)."""
    return (
        status_list.published_document is not None
        and status_list.published_version == status_list.version
        and status_list.published_until is not None
        and policy.serves_stored(status_list.published_until, now)
    )


def list_by_id(session: Session, list_id: str) -> StatusList | None:
    return session.get(StatusList, list_id)


def positions_in_use(session: Session, list_id: str) -> int:
    return session.scalar(select(func.count()).select_from(StatusEntry).where(StatusEntry.list_id == list_id)) or 0
