"""Watches: credentials a relying party keeps an eye on, revalidated as the world changes (issue 12).

A watch's verdict (`state`) comes from a full verification of what the party gave (kept as
`source`), at creation and whenever something that decides it can have changed:

- its status lists: each watched list is refetched when its `ttl` (or Cache-Control) runs out,
  with If-None-Match; a list that changed is verified once, then each watch on it costs a bit
  lookup (`refresh_list`), not a verification;
- time: `next_check_at` is the next crossing (validFrom arriving, the expiring notice, validUntil
  passing, the end of an unverifiable grace period); `due` rechecks what is due;
- the issuer's DID document: `recheck_issuers` verifies again the watches of issuers whose
  documents can change (did:web), so a removed or replaced key fails them;
- our own credentials: a revoke, suspend, unsuspend, reissue or renewal enqueues
  `credential_changed` in the same transaction (issuer/webhooks/events.py), which rechecks at once; a
  renewal (or a reissue) moves the watch to the earner's current credential and says so.

Each change of verdict is kept in the watch's history and published to the party's endpoints
through `events.publish`, in the transaction that changed it.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from dataintegrity import parse_date_time_stamp, strictjson
from issuer.webhooks import events
from issuer.models import Credential, new_id, Watch, WatchChange, WatchEntry, WatchedList
from verifier.checks.issuer import issuer_id
from verifier.checks.status import ENTRY_TYPES
from verifier.fetcher import FetchError
from verifier.forms import FormError, read_input
from verifier.statuscache import content_version
from verifier.statuslist import StatusListError, bit_at, decode_status_list

STATES = ("valid", "revoked", "suspended", "expired", "unverifiable", "invalid")
WATCHED_PURPOSES = ("revocation", "suspension")
# Failures that say the verdict could not be determined (rather than that it is bad).
_UNDETERMINED = {"status_unavailable", "status_list_expired", "fetch_failed", "fetch_refused", "fetch_too_large",
                 "fetch_timeout", "fetch_status", "fetch_limit"}


class Unreadable(Exception):
    """What was given is no credential at all (no watch is made)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class WatchSettings:
    grace: timedelta = timedelta(hours=6)  # unverifiable this long before it is told
    expiring_days: int = 30
    list_default: timedelta = timedelta(minutes=5)  # a list without ttl or max-age
    list_minimum: timedelta = timedelta(seconds=1)
    list_maximum: timedelta = timedelta(days=1)


def settings_from_config(config) -> WatchSettings:
    return WatchSettings(
        grace=timedelta(seconds=float(config.get("WATCH_UNVERIFIABLE_GRACE_SECONDS", 6 * 3600))),
        expiring_days=int(config.get("WEBHOOK_EXPIRING_DAYS") or 30),
        list_default=timedelta(seconds=float(config.get("WATCH_LIST_DEFAULT_SECONDS", 300))),
        list_minimum=timedelta(seconds=float(config.get("WATCH_LIST_MIN_SECONDS", 1))),
    )


# --- reading what was given ------------------------------------------------------------------------

def source_of(data, *, filename: str | None = None, content_type: str | None = None) -> dict:
    """What a watch keeps of a credential in any accepted form: {"credential": {...}} or {"jwt": "..."}.

    :raise Unreadable: it is no credential."""
    try:
        parsed = read_input(data, filename=filename, content_type=content_type)
    except FormError as error:
        raise Unreadable(error.code, error.message) from None
    if parsed.jwt is not None:
        return {"jwt": parsed.jwt}
    return {"credential": parsed.credential}


def credential_in(source: dict) -> dict:
    """The credential of a source (a JWT's payload, unverified: only used to find what to watch)."""
    if "credential" in source:
        return source["credential"] if isinstance(source["credential"], dict) else {}
    try:
        payload = source["jwt"].split(".")[1]
        claims = strictjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, strictjson.JsonTextError):
        return {}
    if isinstance(claims, dict) and isinstance(claims.get("vc"), dict):
        return claims["vc"]
    return claims if isinstance(claims, dict) else {}


def entries_of(credential: dict) -> list[tuple[str, int, str]]:
    """(list URL, index, purpose) of each revocation or suspension entry we can watch."""
    status = credential.get("credentialStatus")
    found = []
    for entry in status if isinstance(status, list) else [status] if status else []:
        if not isinstance(entry, dict):
            continue
        types = entry.get("type")
        types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
        url, index, purpose = entry.get("statusListCredential"), entry.get("statusListIndex"), entry.get("statusPurpose")
        if (any(t in ENTRY_TYPES for t in types) and isinstance(url, str) and len(url) <= 2048
                and purpose in WATCHED_PURPOSES
                and isinstance(index, str) and index.isdigit() and len(index) <= 15):
            found.append((url, int(index), purpose))
    return found


# --- verdicts --------------------------------------------------------------------------------------

def verdict(report: dict) -> tuple[str, str | None, bool]:
    """(state, code, checks_ok) of a report; checks_ok: every check but `status` passed."""
    failed = [c for c in report["checks"] if c["status"] == "failed"]
    others = [c for c in failed if c["check"] != "status"]
    status = next((c for c in failed if c["check"] == "status"), None)
    checks_ok = not others and any(c["check"] == "proof" and c["status"] == "passed" for c in report["checks"])
    for check in others:
        if check["check"] == "validity" and check.get("code") == "expired":
            return "expired", "expired", False
        if check["check"] == "validity" and check.get("code") == "not_yet_valid":
            return "invalid", "not_yet_valid", False
    if others:
        check = others[0]
        code = check.get("code")
        if code in _UNDETERMINED or (check["check"] == "issuer" and "could not fetch" in check.get("message", "")):
            return "unverifiable", code, False
        return "invalid", code, False
    if not checks_ok:
        return "invalid", "no_proof", False
    if status is not None:
        if status.get("code") in ("revoked", "suspended"):
            return status["code"], status["code"], True
        if status.get("code") in _UNDETERMINED:
            return "unverifiable", status.get("code"), True
        return "invalid", status.get("code"), True
    return "valid", None, True


def _event_for(old: str, new: str) -> str:
    return {"revoked": events.REVOKED, "suspended": events.SUSPENDED, "expired": events.EXPIRED,
            "unverifiable": events.UNVERIFIABLE, "invalid": events.UNVERIFIABLE}.get(
        new, events.REINSTATED if old == "suspended" else events.VERIFIED)


def _history(session: Session, watch: Watch, state: str, code: str | None, now: datetime) -> None:
    session.add(WatchChange(watch_id=watch.id, at=now, state=state, code=code))


def apply(session: Session, watch: Watch, state: str, code: str | None, now: datetime, settings: WatchSettings,
          *, reason: str | None = None) -> bool:
    """Set the watch's verdict; a change is kept in its history and told to the party. An
    unverifiable verdict after a determined one waits out the grace period first. True: changed."""
    if getattr(watch, "fresh", False):
        watch.fresh = False
        watch.state, watch.code, watch.changed_at = state, code, now
        _history(session, watch, state, code, now)
        return True
    if state == "unverifiable" and watch.state != "unverifiable":
        if watch.failing_since is None:
            watch.failing_since = now
        if now - watch.failing_since < settings.grace:
            ends = watch.failing_since + settings.grace
            watch.next_check_at = _earliest(watch.next_check_at, ends, now)
            events.after_commit(session, ("watch_at", "watch", watch.id, (ends - now).total_seconds()))
            return False
    elif state != "unverifiable":
        watch.failing_since = None
    if state == watch.state and code == watch.code:
        return False
    old = watch.state
    # Conditional: of two jobs that saw the same old verdict (a list refresh and a recheck at
    # once), one records the change and tells of it.
    same_code = Watch.code.is_(None) if watch.code is None else Watch.code == watch.code
    claimed = session.execute(
        update(Watch).where(Watch.id == watch.id, Watch.state == old, same_code)
        .values(state=state, code=code, changed_at=now).execution_options(synchronize_session=False)).rowcount
    if not claimed:
        return False
    watch.state, watch.code, watch.changed_at = state, code, now
    _history(session, watch, state, code, now)
    if old != state:
        events.publish(session, type=_event_for(old, state), credential=watch.credential_id or watch.id, now=now,
                       party_id=watch.party_id, watch_id=watch.id, state=state, reason=reason or code)
    return True


def _earliest(current: datetime | None, candidate: datetime, now: datetime) -> datetime | None:
    if candidate <= now:
        return current
    return candidate if current is None or candidate < current else current


def _crossings(watch: Watch, now: datetime, skew: timedelta, settings: WatchSettings) -> datetime | None:
    moment = None
    if watch.valid_from is not None:
        moment = _earliest(moment, watch.valid_from - skew, now)
    if watch.valid_until is not None:
        moment = _earliest(moment, watch.valid_until + skew + timedelta(seconds=1), now)
        moment = _earliest(moment, watch.valid_until - timedelta(days=settings.expiring_days), now)
    if watch.failing_since is not None:
        moment = _earliest(moment, watch.failing_since + settings.grace, now)
    return moment


# --- verifying -------------------------------------------------------------------------------------

class Watcher:
    """Watches' verification, bound to a verifier (with its fetcher and our own lists) and settings."""

    def __init__(self, verifier, services, settings: WatchSettings):
        self.verifier, self.services, self.settings = verifier, services, settings

    def verify_source(self, source: dict) -> dict:
        """The report of a full verification. Call it before the transaction writes anything:
        our own status lists are read (and may be signed anew) in a transaction of their own."""
        data = source.get("credential") if "credential" in source else source.get("jwt")
        return self.verifier.verify_input(data).to_dict()

    def create(self, session: Session, *, party_id: str, source: dict, label: str | None, reference: str | None,
               now: datetime, report: dict | None = None) -> Watch:
        report = report if report is not None else self.verify_source(source)
        watch = Watch(id=new_id(), party_id=party_id, label=label, reference=reference, source=source,
                      state="unverifiable", created_at=now, checked_at=now, changed_at=now, report={}, checks_ok=False)
        watch.fresh = True  # its first verdict is told in the answer, not as an event
        session.add(watch)
        self._store(session, watch, report, now)
        return watch

    def recheck(self, session: Session, watch: Watch, now: datetime) -> None:
        """Verify the watch again in full; our own credential's renewal or reissue moves it first.
        Verifies before writing: one watch per transaction."""
        if watch.deleted_at is not None:
            return
        moved = self._follow(session, watch) if watch.own_credential_id is not None else None
        source = {"credential": moved[0].document} if moved else watch.source
        report = self.verify_source(source)
        if moved:
            credential, how = moved
            old_id = watch.credential_id
            watch.source = source
            watch.own_credential_id = credential.id
            watch.credential_id = credential.document.get("id")
            watch.changed_at = now
            _history(session, watch, watch.state, how, now)
            events.publish(session, type=events.RENEWED, credential=watch.credential_id, now=now,
                           party_id=watch.party_id, watch_id=watch.id, state="valid",
                           data={"renews": old_id, "how": how})
        self._store(session, watch, report, now)

    def _follow(self, session: Session, watch: Watch):
        """(the earner's current credential, "renewed" | "reissued") when ours was renewed or reissued."""
        credential = session.get(Credential, watch.own_credential_id)
        seen, moved = set(), None
        while credential is not None and credential.id not in seen:
            seen.add(credential.id)
            following = credential.superseded_by_id or credential.renewed_by_id
            if following is None:
                break
            moved = "reissued" if credential.superseded_by_id else "renewed"
            credential = session.get(Credential, following)
        if moved is None or credential is None:
            return None
        return credential, moved

    def _store(self, session: Session, watch: Watch, report: dict, now: datetime) -> None:
        source = watch.source
        state, code, checks_ok = verdict(report)
        credential = credential_in(source)
        watch.report, watch.checks_ok, watch.checked_at = report, checks_ok, now
        if watch.credential_id is None:
            watch.credential_id = _fits(credential.get("id"))
            watch.issuer_did = _fits(issuer_id(credential)) if credential else None
            watch.own_credential_id = self._own(session, watch.credential_id)
        watch.valid_from = parse_date_time_stamp(credential.get("validFrom") or credential.get("issuanceDate"))
        watch.valid_until = parse_date_time_stamp(credential.get("validUntil") or credential.get("expirationDate"))
        apply(session, watch, state, code, now, self.settings)
        self._entries(session, watch, credential, now)
        watch.next_check_at = _crossings(watch, now, self.verifier.policy.max_clock_skew, self.settings)
        if (watch.state == "valid" and watch.valid_until is not None
                and now >= watch.valid_until - timedelta(days=self.settings.expiring_days)):
            events.publish(session, type=events.EXPIRING, credential=watch.credential_id or watch.id, now=now,
                           party_id=watch.party_id, watch_id=watch.id, state="valid",
                           dedupe_key=f"watch-expiring:{watch.id}:{watch.valid_until.isoformat()}",
                           data={"valid_until": report["credential"].get("validUntil")})
        if watch.next_check_at is not None:
            events.after_commit(session, ("watch_at", "watch", watch.id,
                                          max((watch.next_check_at - now).total_seconds(), 0)))

    def _own(self, session: Session, credential_id: str | None) -> str | None:
        prefix = self.services.urls.credential("")
        if credential_id and credential_id.startswith(prefix):
            local = credential_id[len(prefix):]
            if session.get(Credential, local) is not None:
                return local
        return None

    def _entries(self, session: Session, watch: Watch, credential: dict, now: datetime) -> None:
        """The watch's status entries as the credential has them now (a renewal has others)."""
        wanted = entries_of(credential)
        existing = session.scalars(select(WatchEntry).where(WatchEntry.watch_id == watch.id)).all()
        if sorted((e.list_url, e.position, e.purpose) for e in existing) != sorted(wanted):
            session.execute(delete(WatchEntry).where(WatchEntry.watch_id == watch.id))
            bit = {"revoked": ("revocation", 1), "suspended": ("suspension", 1)}.get(watch.state)
            for url, index, purpose in wanted:
                session.add(WatchEntry(watch_id=watch.id, list_url=url, position=index, purpose=purpose,
                                       bit=1 if bit and bit[0] == purpose else 0))
        elif watch.checks_ok:
            # A full verification decided the status: the bits as it found them.
            for entry in existing:
                entry.bit = int((entry.purpose, watch.state) in (("revocation", "revoked"), ("suspension", "suspended")))
        for url in {url for url, _i, _p in wanted}:
            if session.get(WatchedList, url) is None:
                session.add(WatchedList(url=url, next_fetch_at=now))
                events.after_commit(session, ("watch_list", url))

    # --- per list ------------------------------------------------------------------------------

    def refresh_list(self, session: Session, url: str, now: datetime) -> int:
        """Fetch one watched list (conditionally), and if it changed, verify it once and look up
        each watch's bit. Returns how many watches changed verdict."""
        row = session.get(WatchedList, url)
        if row is None:
            return 0
        watched = session.execute(
            select(WatchEntry.id, WatchEntry.watch_id, WatchEntry.position, WatchEntry.purpose, WatchEntry.bit,
                   Watch.issuer_did, Watch.checks_ok)
            .join(Watch, Watch.id == WatchEntry.watch_id)
            .where(WatchEntry.list_url == url, Watch.deleted_at.is_(None))).all()
        if not watched:
            session.delete(row)
            return 0
        try:
            list_credential, etag, lifetime = self._fetch_list(url, row.etag)
        except FetchError as error:
            row.error, row.fetched_at = str(error)[:500], now
            kept = timedelta(seconds=row.ttl_seconds) if row.ttl_seconds else None
            row.next_fetch_at = now + self._interval(kept, row)
            return self._undetermined(session, {w.watch_id for w in watched if w.checks_ok}, "status_unavailable", now)
        row.fetched_at, row.error = now, None
        if list_credential is None:  # 304: nothing changed
            kept = timedelta(seconds=row.ttl_seconds) if row.ttl_seconds else None
            row.next_fetch_at = now + self._interval(lifetime or kept, row)
            return self._recover(session, watched, now)
        row.etag = etag
        version = content_version(list_credential)
        ttl = _ttl(list_credential) or lifetime
        row.ttl_seconds = ttl.total_seconds() if ttl else None
        row.next_fetch_at = now + self._interval(ttl, row)
        problem, bits = self._verified_bits(list_credential, url, {w.issuer_did for w in watched}, now)
        if problem is not None:
            return self._undetermined(session, {w.watch_id for w in watched if w.checks_ok}, problem, now)
        unchanged = version == row.version
        row.version = version
        changed_entries, touched = [], set()
        for entry in watched:
            try:
                bit = bit_at(bits, entry.position)
            except IndexError:
                continue
            if bit != entry.bit:
                changed_entries.append({"entry_id": entry.id, "bit": bit})
                touched.add(entry.watch_id)
        if changed_entries:
            session.connection().execute(
                update(WatchEntry.__table__).where(WatchEntry.__table__.c.id == _bind("entry_id"))
                .values(bit=_bind("bit")), changed_entries)
        if unchanged and not touched:
            return self._recover(session, watched, now)
        return self._settle(session, touched, now)

    def _recover(self, session: Session, watched, now: datetime) -> int:
        """The list is as before: only watches left undetermined by an earlier failure are looked at."""
        ids = {w.watch_id for w in watched if w.checks_ok}
        stuck = set(session.scalars(select(Watch.id).where(Watch.id.in_(list(ids)), Watch.state == "unverifiable"))) \
            if ids else set()
        undecided = set(session.scalars(select(Watch.id).where(Watch.id.in_(list(ids)), Watch.failing_since.is_not(None)))) \
            if ids else set()
        return self._settle(session, stuck | undecided, now)

    def _settle(self, session: Session, watch_ids: set[str], now: datetime) -> int:
        """The verdict of watches whose bits changed (those whose other checks passed)."""
        if not watch_ids:
            return 0
        changed = 0
        ids = list(watch_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            bits = defaultdict(list)
            for watch_id, purpose, bit in session.execute(
                    select(WatchEntry.watch_id, WatchEntry.purpose, WatchEntry.bit).where(WatchEntry.watch_id.in_(chunk))):
                bits[watch_id].append((purpose, bit))
            watches = session.scalars(
                select(Watch).where(Watch.id.in_(chunk), Watch.checks_ok.is_(True), Watch.deleted_at.is_(None)))
            for watch in watches:
                if watch.state in ("expired", "invalid"):
                    continue
                flags = bits.get(watch.id, [])
                state = "revoked" if ("revocation", 1) in flags else "suspended" if ("suspension", 1) in flags else "valid"
                if apply(session, watch, state, state if state != "valid" else None, now, self.settings):
                    changed += 1
                    watch.report = _with_status(watch.report, state, now)
                watch.checked_at = now
        return changed

    def _undetermined(self, session: Session, watch_ids: set[str], code: str, now: datetime) -> int:
        changed = 0
        for watch in session.scalars(select(Watch).where(Watch.id.in_(list(watch_ids)))):
            changed += apply(session, watch, "unverifiable", code, now, self.settings)
        return changed

    def _fetch_list(self, url: str, etag: str | None):
        """(list credential or None when not modified, etag, lifetime from Cache-Control)."""
        local = self.verifier.local_documents(url) if self.verifier.local_documents else None
        if local is not None:
            return local, None, None
        fetcher = self.verifier.fetcher
        if fetcher is None:
            raise FetchError(f"this verifier fetches nothing, so {url} cannot be read")
        answer = fetcher.fetch_conditional(url, etag=etag)
        lifetime = _max_age(answer.cache_control)
        if answer.not_modified:
            return None, answer.etag, lifetime
        try:
            value = strictjson.loads(answer.document.body)
        except strictjson.JsonTextError as error:
            raise FetchError(f"{url} did not return JSON: {error.message}") from None
        if not isinstance(value, dict):
            raise FetchError(f"{url} did not return a JSON object")
        return value, answer.etag, lifetime

    def _verified_bits(self, list_credential: dict, url: str, issuers: set, now: datetime):
        """(problem code or None, the list's bits) after the checks the verifier's status check makes."""
        if list_credential.get("id") != url or len(issuers) != 1 or issuer_id(list_credential) not in issuers:
            return "status_list_invalid", None
        report = self.verifier.verify_credential(list_credential, check_status=False)
        if not report.verified:
            failed = [c for c in report.checks if c.status == "failed"]
            return ("status_list_expired" if failed and failed[0].check == "validity" else "status_list_invalid"), None
        subject = list_credential.get("credentialSubject")
        subject = subject[0] if isinstance(subject, list) and len(subject) == 1 else subject
        try:
            return None, decode_status_list(subject.get("encodedList") if isinstance(subject, dict) else None)
        except StatusListError:
            return "status_list_invalid", None

    def _interval(self, lifetime: timedelta | None, row: WatchedList) -> timedelta:
        chosen = lifetime if lifetime is not None and lifetime > timedelta(0) else self.settings.list_default
        return min(max(chosen, self.settings.list_minimum), self.settings.list_maximum)

    # --- other triggers ------------------------------------------------------------------------

def watches_on(session: Session, credential_id: str) -> list[str]:
    """The watches on one of our credentials (each is then rechecked in a transaction of its own)."""
    return list(session.scalars(select(Watch.id).where(Watch.own_credential_id == credential_id,
                                                       Watch.deleted_at.is_(None))))


def _with_status(report: dict, state: str, now: datetime) -> dict:
    """The last full report with its status check as a list refresh found it (the rest still holds)."""
    if not report.get("checks"):
        return report
    check = {"check": "status", "status": "passed", "message": "not revoked or suspended (status list refreshed)"} \
        if state == "valid" else {"check": "status", "status": "failed", "code": state,
                                  "message": f"{state} (status list refreshed)"}
    checks = [check if c["check"] == "status" else c for c in report["checks"]]
    verified = all(c["status"] != "failed" for c in checks) and any(
        c["check"] == "proof" and c["status"] == "passed" for c in checks)
    return {**report, "checks": checks, "verified": verified, "checked_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _fits(value) -> str | None:
    """An id short enough for its column (longer ones are not ids we could look anything up by)."""
    return value if isinstance(value, str) and len(value) <= 2048 else None


def _ttl(list_credential: dict) -> timedelta | None:
    subject = list_credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and len(subject) == 1 else subject
    ttl = subject.get("ttl") if isinstance(subject, dict) else None
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
        return timedelta(milliseconds=ttl)
    return None


def _max_age(cache_control: str | None) -> timedelta | None:
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "max-age":
            try:
                return timedelta(seconds=max(int(value.strip().strip('"')), 0))
            except ValueError:
                return None
    return None


def _bind(name: str):
    from sqlalchemy import bindparam

    return bindparam(name)


def due_watches(session: Session, now: datetime, limit: int = 1000) -> list[str]:
    return list(session.scalars(select(Watch.id).where(Watch.next_check_at <= now, Watch.deleted_at.is_(None))
                                .order_by(Watch.next_check_at).limit(limit)))


def due_lists(session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(WatchedList.url).where(WatchedList.next_fetch_at <= now)))


def changeable_issuer_watches(session: Session) -> dict[str, list[str]]:
    """Watches whose issuer's DID document can change (not did:key), by issuer."""
    found = defaultdict(list)
    for watch_id, did in session.execute(select(Watch.id, Watch.issuer_did).where(
            Watch.deleted_at.is_(None), Watch.issuer_did.is_not(None), ~Watch.issuer_did.startswith("did:key:"))):
        found[did].append(watch_id)
    return dict(found)


def view(watch: Watch, history: list[WatchChange] | None = None) -> dict:
    result = {"id": watch.id, "state": watch.state, "code": watch.code, "label": watch.label,
              "reference": watch.reference, "credential_id": watch.credential_id, "issuer": watch.issuer_did,
              "created_at": watch.created_at, "checked_at": watch.checked_at, "changed_at": watch.changed_at,
              "report": watch.report}
    if history is not None:
        result["history"] = [{"at": h.at, "state": h.state, **({"code": h.code} if h.code else {})} for h in history]
    return result


def history_of(session: Session, watch_id: str) -> list[WatchChange]:
    return list(session.scalars(select(WatchChange).where(WatchChange.watch_id == watch_id)
                                .order_by(WatchChange.id)))

