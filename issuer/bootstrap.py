"""First start: instance folder, database schema, key-encryption key, first issuer and token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
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
    instance_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(config, instance_path), **database_timeouts(config))
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
                  credentials_public: bool = True, linkedin_organization_id: str | None = None) -> Issuer:
    """Add an issuer and its first signing key (flushes; the caller commits)."""
    now = services.clock()
    issuer = Issuer(
        id=new_id(), slug=slug, name=name, url=url, email=email, description=description, did_method=did_method,
        created_at=now, credentials_public=credentials_public, linkedin_organization_id=linkedin_organization_id,
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


def first_start(services: Services, *, default_slug: str, default_name: str) -> FirstStart:
    """On an empty database, create the default issuer and a one-time instance admin token."""
    with services.sessionmaker() as session, transaction(session):
        issuer = None
        if session.scalar(select(func.count()).select_from(Issuer)) == 0:
            issuer = create_issuer(
                services, session, slug=default_slug, name=default_name, url=services.urls.base_url
            )
            audit.issuer_created(session, issuer, token=None)
        token = None
        if session.scalar(select(func.count()).select_from(ApiToken)) == 0:
            record, token = create_token(session, issuer=None, label="first admin token", now=services.clock())
            audit.token_created(session, record, by=None)
    return FirstStart(issuer, token)
