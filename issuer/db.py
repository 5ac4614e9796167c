"""Engine, sessions and the one-transaction-per-request rule.

The edge owns the session: a view gets it from `get_session()`, services only flush, and
the view commits (or `transaction()` does), so what one request writes lands together or not at all.
"""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import threading
import time
from collections import namedtuple
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


# Defaults of DATABASE_CONNECT_TIMEOUT_SECONDS and DATABASE_STATEMENT_TIMEOUT_SECONDS (issuer/config.py).
CONNECT_TIMEOUT_SECONDS = 10
STATEMENT_TIMEOUT_SECONDS = 30


def make_engine(url: str, *, connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
                statement_timeout: float = STATEMENT_TIMEOUT_SECONDS, pool_size: int | None = None) -> Engine:
    """An engine whose waits are bounded: a database that cannot be reached, or that accepts
    connections but never answers, fails within `connect_timeout`; a statement is cancelled after
    `statement_timeout` (0: never). SQLite has no server: `statement_timeout` is how long a write
    waits for another's lock (its busy timeout). `pool_size` caps the connections it keeps open
    (None: SQLAlchemy's default)."""
    pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 0}
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            pool = {}  # one connection shared by all: no pool to size
        # sqlite3's timeout 0 would mean "never wait"; our 0 means "no limit": wait a day.
        timeout = statement_timeout or 86400
        database = make_url(url).database
        writer_lock = None if database in (None, "", ":memory:") else _WriterLock(f"{database}-writer.lock")
        engine = create_engine(url, connect_args={"timeout": timeout, "factory": _gated_connection(timeout, writer_lock)},
                               **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: the database stays
            # consistent on a crash, and only the last commits before a power loss may be lost.
            # FULL would make every issuance wait for an fsync while holding the write lock.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    connect_args = {}
    if make_url(url).get_backend_name() == "postgresql":
        # libpq's options; the URL may carry some already (a search_path), which these add to.
        options = make_url(url).query.get("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        statement = f"-c statement_timeout={int(statement_timeout * 1000)}"  # 0: PostgreSQL's "no limit"
        # libpq counts whole seconds and treats less than 2 as 2.
        connect_args = {"connect_timeout": max(2, math.ceil(connect_timeout)),
                        "options": f"{options} {statement}".strip()}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _WriterLock:
    """An advisory lock on a file beside the database, taken by one writer of all the processes
    using it (gunicorn's workers, `badges worker`). It is polled every half millisecond, so a
    writer goes on within that of the last one's commit, where SQLite's busy handler would sleep
    up to 100 ms at a time. The file is opened once in each process (a descriptor inherited
    across a fork would share its lock with the parent)."""

    POLL_SECONDS = 0.0005

    def __init__(self, path: str):
        self.path = path
        self._files: dict[int, int] = {}

    def _descriptor(self) -> int:
        pid = os.getpid()
        if pid not in self._files:
            self._files[pid] = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._files[pid]

    def acquire(self, timeout: float) -> bool:
        descriptor, deadline = self._descriptor(), time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(self.POLL_SECONDS)

    def release(self) -> None:
        fcntl.flock(self._descriptor(), fcntl.LOCK_UN)


def _gated_connection(timeout: float, writer_lock: _WriterLock | None) -> type[sqlite3.Connection]:
    """sqlite3 connections that take one lock of this engine's (and, for a database file, the
    writer lock all processes share) before their first write and give it back when the
    transaction ends. SQLite lets one transaction write at a time; without this, writers waiting
    for it sleep in SQLite's busy handler, in steps growing to 100 ms, and wake late after the
    writer is done (seconds at the 99th percentile under load). With it they queue and go on at once."""
    gate = threading.Lock()

    def take() -> bool:
        if not gate.acquire(timeout=timeout):
            return False
        if writer_lock is None or writer_lock.acquire(timeout):
            return True
        gate.release()
        return False

    def give_back() -> None:
        if writer_lock is not None:
            writer_lock.release()
        gate.release()

    class GatedConnection(sqlite3.Connection):
        _holds_gate = False

        def cursor(self, factory=None):
            return super().cursor(factory or GatedCursor)

        def _enter(self, statement: str) -> None:
            if not self._holds_gate and statement.lstrip()[:7].upper().startswith(_WRITES):
                if not take():
                    raise sqlite3.OperationalError("database is locked")
                self._holds_gate = True

        def _leave_unless_in_transaction(self) -> None:
            # A write outside a transaction (autocommit) is done when it returns.
            if self._holds_gate and not self.in_transaction:
                self._holds_gate = False
                give_back()

        def commit(self):
            try:
                super().commit()
            finally:
                self._leave_unless_in_transaction()

        def rollback(self):
            try:
                super().rollback()
            finally:
                self._leave_unless_in_transaction()

        def close(self):
            try:
                super().close()
            finally:
                if self._holds_gate:
                    self._holds_gate = False
                    give_back()

    class GatedCursor(sqlite3.Cursor):
        def execute(self, statement, parameters=()):
            self.connection._enter(statement)
            try:
                return super().execute(statement, parameters)
            finally:
                self.connection._leave_unless_in_transaction()

        def executemany(self, statement, parameters):
            self.connection._enter(statement)
            try:
                return super().executemany(statement, parameters)
            finally:
                self.connection._leave_unless_in_transaction()

    return GatedConnection


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["badges"].sessionmaker()
    return g.db_session


def close_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def transaction(session: Session):
    """Commit what the block wrote, or roll all of it back on any exception."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


class PlainRead:
    """A SELECT compiled once for an engine's dialect and run on a pooled DBAPI connection, its
    columns converted as SQLAlchemy converts them (JSON, dates): for the reads made at every
    verification or status fetch, where a Core execute costs three times the query itself.
    Parameters go to the driver as given (strings and numbers; no type conversion). Rows are named
    tuples. Raises the database's errors (`errors`: what to catch)."""

    def __init__(self, engine: Engine, statement):
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._engine = engine
        self._sql = str(compiled)
        self._parameter_order = compiled.positiontup if compiled.positional else None
        self._literals = dict(compiled.params)  # the statement's own values ("web" in `did_method == "web"`)
        columns = statement.selected_columns
        self._row = namedtuple("Row", [column.key for column in columns])
        self._converters = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self.errors = (SQLAlchemyError, dialect.loaded_dbapi.Error)

    def all(self, **parameters) -> list:
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                values = {**self._literals, **parameters}
                cursor.execute(self._sql, values if self._parameter_order is None
                               else tuple(values[name] for name in self._parameter_order))
                rows = cursor.fetchall()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back what the read began
        converters, make = self._converters, self._row._make
        return [make(value if convert is None else convert(value) for convert, value in zip(converters, row))
                for row in rows]

    def first(self, **parameters):
        rows = self.all(**parameters)
        return rows[0] if rows else None
