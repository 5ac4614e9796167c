"""First start: instance folder, database schema, key-encryption key, first issuer and token."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, make_url, select, text
from sqlalchemy.orm import Session

from dataintegrity import bundled_document_loader
from issuer import audit
from issuer.auth import create_token
from issuer.config import ConfigurationError
from issuer.db import make_engine, make_sessionmaker, transaction
from issuer.models import ApiToken, Issuer, new_id
from issuer.services import Services
from issuer.statuslists import StatusListPolicy
from issuer.urls import Urls
from keys import load_or_create_key_encryption_key


def database_url(config, instance_path: Path) -> str:
    return config.get("DATABASE_URL") or f"sqlite:///{instance_path / 'badges.sqlite3'}"


def build_services(config, instance_path: Path) -> Services:
    # Private: the folder holds the key-encryption key and the database holds earners' emails.
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    url = database_url(config, instance_path)
    _create_private_sqlite_file(url)
    pool_size = config.get("DATABASE_POOL_SIZE")
    engine = make_engine(url, pool_size=int(pool_size) if pool_size else None, **database_timeouts(config))
    return Services(
        sessionmaker=make_sessionmaker(engine),
        key_encryption_key=load_or_create_key_encryption_key(config.get("KEY_ENCRYPTION_KEY"), instance_path),
        document_loader=bundled_document_loader(),
        urls=Urls(config["BASE_URL"]),
        status_list_policy=status_list_policy(config),
    )


def database_timeouts(config) -> dict:
    timeouts = {}
    for argument, key, minimum in (("connect_timeout", "DATABASE_CONNECT_TIMEOUT_SECONDS", 1),
                                   ("statement_timeout", "DATABASE_STATEMENT_TIMEOUT_SECONDS", 0)):
        try:
            timeouts[argument] = float(config[key])
        except (TypeError, ValueError):
            timeouts[argument] = None
        if timeouts[argument] is None or not minimum <= timeouts[argument] < 86400 * 365:
            raise ConfigurationError(f"{key} must be a number of seconds, at least {minimum}, not {config[key]!r}")
    return timeouts


def _create_private_sqlite_file(url: str) -> None:
    """Create a missing SQLite database file as 0600; SQLite gives its journal files the same mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    try:
        os.close(os.open(parsed.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def status_list_policy(config) -> StatusListPolicy:
    purposes = config["STATUS_PURPOSES"]
    try:
        return StatusListPolicy(
            purposes=tuple(purposes.split(",") if isinstance(purposes, str) else purposes),
            ttl=timedelta(seconds=int(config["STATUS_LIST_TTL_SECONDS"])),
            valid_for=timedelta(seconds=int(config["STATUS_LIST_VALID_SECONDS"])),
        )
    except (TypeError, ValueError) as error:
        raise ConfigurationError(
            f"STATUS_PURPOSES, STATUS_LIST_TTL_SECONDS or STATUS_LIST_VALID_SECONDS is not usable: {error}"
        ) from None


def create_issuer(services: Services, session: Session, *, slug: str, name: str, url: str,
                  email: str | None = None, description: str | None = None, did_method: str = "web",
                  credentials_public: bool = True, linkedin_organization_id: str | None = None,
                  pathways_open: bool = False) -> Issuer:
    """Add an issuer and its first signing key (flushes; the caller commits)."""
    now = services.clock()
    issuer = Issuer(
        id=new_id(), slug=slug, name=name, url=url, email=email, description=description, did_method=did_method,
        created_at=now, credentials_public=credentials_public, linkedin_organization_id=linkedin_organization_id,
        pathways_open=pathways_open,
    )
    if did_method == "web":
        issuer.did = services.urls.issuer_did_web(slug)
    services.keystore(session).create_key(issuer, now=now)  # sets the did of a did:key issuer
    session.add(issuer)
    session.flush()
    return issuer


@dataclass(frozen=True)
class FirstStart:
    issuer: Issuer | None
    admin_token: str | None
    # True when the instance has no token at all (none was asked for): say how to make one.
    tokenless: bool = False


# Any fixed number: the PostgreSQL advisory lock that first starts take turns on.
_FIRST_START_LOCK = 0x6261646765730001


def first_start(services: Services, *, default_slug: str, default_name: str, make_token: bool = True,
                token_file: Path | None = None) -> FirstStart:
    """On an empty database, create the default issuer and a first instance admin token.

    The token is written to `token_file` (mode 0600) when given, before the transaction commits, so
    a token that cannot be written is not created either; without `make_token` none is created.
    Processes starting at once (gunicorn workers) take turns on a database lock, so exactly one
    of them creates the issuer and the token.

    :raise OSError: the token file could not be written (nothing was created).
    """
    with services.sessionmaker() as session, transaction(session):
        _take_first_start_lock(session)
        issuer = None
        if session.scalar(select(func.count()).select_from(Issuer)) == 0:
            issuer = create_issuer(
                services, session, slug=default_slug, name=default_name, url=services.urls.base_url
            )
            audit.issuer_created(session, issuer, token=None)
        token = None
        tokenless = session.scalar(select(func.count()).select_from(ApiToken)) == 0
        if tokenless and (make_token or token_file is not None):
            record, token = create_token(session, issuer=None, label="first admin token", now=services.clock())
            audit.token_created(session, record, by=None)
            if token_file is not None:
                write_private_file(token_file, token + "\n")
            tokenless = False
    return FirstStart(issuer, token, tokenless)


def _take_first_start_lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_START_LOCK})
    else:
        # SQLite has one write lock for the whole database; any write statement takes it.
        session.execute(text("UPDATE issuers SET slug = slug WHERE 1 = 0"))


def write_private_file(path: Path, content: str) -> None:
    """Write `content` to `path` whole (a temporary file renamed into place), readable by its owner only."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
