"""The task queue: huey, with its SQLite storage in the instance folder by default (nothing else
to run), or Redis with QUEUE_URL=redis://... for several processes or machines.

Jobs: `deliver` (one webhook message; it puts itself back on the queue for its retry), `sweep`
(every minute, and when a worker starts: what is due and held by nobody, after a lost job or a
dead worker), `crossings` (every minute: `credential.expiring` / `.expired` events), `notify`
(award emails and expiry reminders: after each issuance, and every NOTIFY_EVERY_MINUTES), `sign_in_link`
(the earner portfolio's one-time link, for every well-formed address asked for on /me). Jobs carry
ids only (`sign_in_link`: the address); what they act on is read from the database when they run.

`badges worker` runs a consumer; `badges serve` starts one as a child process unless --no-worker.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path

from huey import RedisHuey, SqliteHuey, crontab
from huey.storage import SqliteStorage

log = logging.getLogger(__name__)

# Award emails of a burst of issuances go out in one notify run, this long after the first.
_COALESCE_SECONDS = 2.0


def make_huey(config, instance_path: Path):
    name = config.get("QUEUE_NAME") or "badges"
    url = config.get("QUEUE_URL")
    if url:
        if not str(url).startswith(("redis://", "rediss://", "unix://")):
            from issuer.config import ConfigurationError

            raise ConfigurationError(f"QUEUE_URL={url!r} must be a redis:// URL (or unset: the embedded queue)")
        return RedisHuey(name=name, url=url, results=False)
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return SqliteHuey(name=name, filename=str(instance_path / "queue.sqlite3"), results=False,
                      storage_class=_WalStorage)


class _WalStorage(SqliteStorage):
    """huey's SQLite storage (WAL), syncing at checkpoints rather than at every enqueue (as the
    app's database does, issuer/db.py): an issuance then does not wait for an fsync to put its
    jobs on the queue. A power loss may lose the last jobs; the sweep finds their messages again."""

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


class Queue:
    """The app's queue and its jobs, bound to the app's services and configuration. The huey
    storage is opened at first use."""

    def __init__(self, config, instance_path: Path, services):
        self._config, self._instance_path, self._services = config, Path(instance_path), services
        self._huey = None
        self._tasks = {}
        self._lock = threading.Lock()
        self._notify_enqueued_at = -math.inf

    @property
    def huey(self):
        if self._huey is None:
            self._huey = make_huey(self._config, self._instance_path)
            self._register(self._huey)
        return self._huey

    def _register(self, huey) -> None:
        from issuer import notify, webhooks
        from issuer.webhooks import events
        from issuer.db import transaction

        services, config = self._services, self._config
        settings = webhooks.settings_from_config(config)
        fetcher = webhooks.fetcher_for(settings)
        every = int(config.get("NOTIFY_EVERY_MINUTES") or 15)

        def tell_owner(session, endpoint, reason):
            try:
                mail = notify.settings_from_config(config)
                transport = notify.transport_from_config(config)
                message = webhooks.disabled_email(endpoint, session, reason, mail_from=mail.mail_from)
                if message is not None:
                    transport.send(message)
            except (notify.ConfigError, notify.MailError) as error:
                log.warning("could not email the owner of webhook endpoint %s: %s", endpoint.id, error)

        @huey.task(name="badges.deliver")
        def deliver(message_id: str):
            outcome = webhooks.deliver(services, settings, fetcher, message_id, notify=tell_owner)
            if outcome.retry_in is not None:
                deliver.schedule((message_id,), delay=outcome.retry_in)
            for following in outcome.next_ids:
                deliver(following)

        @huey.task(name="badges.fan_out")
        def fan_out(message_ids: list[str]):
            # One enqueue in the request that published many messages (a batch); the worker
            # puts each on the queue, so they are delivered in parallel.
            for message_id in message_ids:
                deliver(message_id)

        @huey.task(name="badges.sweep")
        def sweep(claimed_too: bool = False):
            with services.sessionmaker() as session:
                due = webhooks.due_messages(session, now=services.clock(), claimed_too=claimed_too)
            for message_id in due:
                deliver(message_id)
            return len(due)

        @huey.periodic_task(crontab(minute="*"), name="badges.sweep_periodic")
        def sweep_periodic():
            sweep.call_local()

        @huey.task(name="badges.crossings")
        def crossings():
            with services.sessionmaker() as session:
                session.info["badges_queue"] = self
                with transaction(session):
                    return events.crossings(session, now=services.clock(), expiring_days=settings.expiring_days,
                                            lookback=_lookback(config))

        @huey.periodic_task(crontab(minute="*"), name="badges.crossings_periodic")
        def crossings_periodic():
            crossings.call_local()

        @huey.task(name="badges.notify")
        def send_notifications():
            summary = notify.send_due(services, notify.transport_from_config(config), notify.settings_from_config(config))
            return summary.sent

        @huey.periodic_task(crontab(minute=f"*/{every}"), name="badges.notify_periodic")
        def notify_periodic():
            send_notifications.call_local()

        @huey.task(name="badges.sign_in_link")
        def sign_in_link(email: str):
            # The earner portfolio's sign-in link: the job, not the request, looks the address up
            # and makes the one-time token, so neither the answer's time nor the queue tells it.
            from issuer.portfolio import mail

            return mail.send_sign_in_link(services, config, email)

        self._tasks = {"deliver": deliver, "fan_out": fan_out, "sweep": sweep, "crossings": crossings,
                       "notify": send_notifications, "sign_in_link": sign_in_link}
        from issuer.watches import tasks as watch_tasks

        self._tasks.update(watch_tasks.register(huey, self, services, config))  # issue 12's watches

    def task(self, name: str):
        self.huey  # registers the tasks
        return self._tasks[name]

    def enqueue(self, name: str, *args) -> None:
        self.task(name)(*args)

    def enqueue_after_commit(self, jobs: list[tuple]) -> None:
        """Called when a transaction that published events commits. A failure here loses nothing:
        the messages are in the database, and the next sweep finds them.

        A notify run sends every email that is due, so of a burst of issuances one run suffices:
        it is put on the queue at most once every _COALESCE_SECONDS by this process, that long
        after the first commit of the burst (an enqueue costs a write to the queue's storage)."""
        try:
            jobs = list(dict.fromkeys(jobs))
            deliveries = [job[1] for job in jobs if job[0] == "deliver"]
            if len(deliveries) > 1:
                self.enqueue("fan_out", deliveries)
            elif deliveries:
                self.enqueue("deliver", deliveries[0])
            if ("notify",) in jobs:
                self._notify_soon()
            for job in jobs:
                if job[0] not in ("deliver", "notify"):
                    self.enqueue(*job)
        except Exception as error:  # the queue's storage is down: the sweep catches up
            log.warning("could not put %d job(s) on the queue (the sweep will): %s", len(jobs), error)

    def _notify_soon(self) -> None:
        window = _COALESCE_SECONDS
        with self._lock:
            now = time.monotonic()
            if now - self._notify_enqueued_at < window:
                return
            self._notify_enqueued_at = now
        self.task("notify").schedule(delay=window)

    def consumer(self, *, workers: int = 2, periodic: bool = True):
        """A huey consumer of this queue (threads). Anything left behind by an earlier worker is
        swept first."""
        self.enqueue("sweep", True)
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                         initial_delay=0.05, max_delay=0.5, check_worker_health=True)


def _lookback(config):
    from datetime import timedelta

    return timedelta(days=int(config.get("WEBHOOK_EXPIRED_LOOKBACK_DAYS") or 7))


def init_app(app) -> None:
    """The app's queue; the sessions it makes carry it, so a commit that published events puts
    their jobs on it (issuer/webhooks/events.py)."""
    queue = Queue(app.config, Path(app.instance_path), app.extensions["badges"])
    app.extensions["queue"] = queue
    app.extensions["badges"].sessionmaker.configure(info={"badges_queue": queue})
