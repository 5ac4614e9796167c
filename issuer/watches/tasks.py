"""The watches' jobs on the task queue (issuer/queue.py registers them; issuer/watches does the work).

- `watch_list(url)`: refresh one watched status list; it puts itself back for when the list's
  ttl runs out.
- `watch(watch_id)`: verify one watch again in full (a time crossing).
- `watch_credentials(ids)`: our credentials a transaction changed; their watches at once (one job
  per commit; `watch_credential(id)` for one).
- `watch_at(kind, key, seconds)`: schedule `watch_list` or `watch` that many seconds ahead (jobs
  put on the queue by a commit are plain calls; this one turns them into scheduled ones).
- every minute: what is due (lists whose ttl ran out, watches whose crossing came) in case a
  scheduled job was lost; every WATCH_ISSUER_MINUTES: watches of issuers with a changeable DID
  document (did:web), verified again.
"""

from __future__ import annotations

import logging

from huey import crontab

log = logging.getLogger(__name__)


def register(huey, queue, services, config) -> dict:
    from issuer import watches
    from issuer.db import transaction
    from issuer.models import Watch, WatchedList
    from issuer.verification import VerificationCounts, build_verifier
    from verifier.statuscache import content_version

    settings = watches.settings_from_config(config)
    # The worker verifies now and then, between other jobs: each count is written at once.
    verifier = build_verifier(config, services, VerificationCounts(services.sessionmaker, interval=0))
    watcher = watches.Watcher(verifier, services, settings)
    issuer_minutes = int(config.get("WATCH_ISSUER_MINUTES") or 60)

    def session():
        made = services.sessionmaker()
        made.info["badges_queue"] = queue
        return made

    @huey.task(name="badges.watch_list")
    def watch_list(url: str):
        with session() as s:
            with transaction(s):
                row = s.get(WatchedList, url)
                now = services.clock()
                if row is None or (row.fetched_at is not None and row.next_fetch_at > now):
                    return 0  # refreshed by another job already; that one put itself back
                changed = watcher.refresh_list(s, url, now)
                row = s.get(WatchedList, url)
                after = (row.next_fetch_at - now).total_seconds() if row is not None else None
        if after is not None:
            watch_list.schedule((url,), delay=max(after, 0))
        return changed

    @huey.task(name="badges.watch")
    def watch(watch_id: str):
        with session() as s:
            with transaction(s):
                found = s.get(Watch, watch_id)
                now = services.clock()
                if found is None or found.deleted_at is not None:
                    return None
                if found.next_check_at is not None and found.next_check_at > now:
                    return found.state  # not yet: its own scheduled job comes later
                watcher.recheck(s, found, now)
                return found.state

    def recheck(watch_id: str) -> str | None:
        with session() as s:
            with transaction(s):
                found = s.get(Watch, watch_id)
                if found is None or found.deleted_at is not None:
                    return None
                watcher.recheck(s, found, services.clock())
                return found.state

    @huey.task(name="badges.watch_credential")
    def watch_credential(credential_id: str):
        with services.sessionmaker() as s:
            ids = watches.watches_on(s, credential_id)
        return [recheck(watch_id) for watch_id in ids]

    @huey.task(name="badges.watch_credentials")
    def watch_credentials(credential_ids: tuple):
        """The credentials one transaction changed (issuer/webhooks/events.py puts one such job per commit)."""
        with services.sessionmaker() as s:
            ids = [w for credential_id in credential_ids for w in watches.watches_on(s, credential_id)]
        return [recheck(watch_id) for watch_id in ids]

    @huey.task(name="badges.watch_at")
    def watch_at(kind: str, key: str, seconds: float):
        target = {"watch": watch, "list": watch_list}[kind]
        target.schedule((key,), delay=max(float(seconds), 0))

    @huey.task(name="badges.watch_due")
    def watch_due():
        now = services.clock()
        with services.sessionmaker() as s:
            lists, due = watches.due_lists(s, now), watches.due_watches(s, now)
        for url in lists:
            watch_list(url)
        for watch_id in due:
            watch(watch_id)
        return len(lists) + len(due)

    @huey.periodic_task(crontab(minute="*"), name="badges.watch_due_periodic")
    def watch_due_periodic():
        watch_due.call_local()

    documents: dict[str, str] = {}  # issuer DID -> version of its document, as this worker last saw it

    @huey.task(name="badges.watch_issuers")
    def watch_issuers():
        """Each issuer's DID document is resolved once; the watches of an issuer whose document
        changed since this worker last looked (or that cannot be resolved) are verified again."""
        with services.sessionmaker() as s:
            by_issuer = watches.changeable_issuer_watches(s)
        rechecked = 0
        for did, ids in by_issuer.items():
            try:
                version = content_version(verifier.resolver.resolve(did))
            except Exception:  # unresolvable: each watch's own verification says how it fails
                version = None
            if version is not None and documents.get(did) == version:
                continue
            for watch_id in ids:
                recheck(watch_id)
            rechecked += len(ids)
            if version is not None:
                documents[did] = version
        return rechecked

    @huey.periodic_task(crontab(minute=f"*/{issuer_minutes}" if issuer_minutes < 60 else "0"),
                        name="badges.watch_issuers_periodic")
    def watch_issuers_periodic():
        watch_issuers.call_local()

    return {"watch_list": watch_list, "watch": watch, "watch_credential": watch_credential,
            "watch_credentials": watch_credentials, "watch_at": watch_at,
            "watch_due": watch_due, "watch_issuers": watch_issuers}
