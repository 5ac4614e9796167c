"""Engine, sessions and the one-transaction-per-request rule.

The edge owns the session: a view gets it from `get_session()`, services only flush, and
the view commits (or `transaction()` does), so what one request writes lands together or not at all.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for `url`; `pool_size` caps the connections it keeps open (None: SQLAlchemy's default)."""
    pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 0}
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            pool = {}  # one connection shared by all: no pool to size
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


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
