"""Shared fixtures: a real database (SQLite, and PostgreSQL when BADGES_TEST_DATABASE_URL is
set), a controllable clock, the app with its services, and an API client with tokens."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dataintegrity import bundled_document_loader
from issuer import create_app
from issuer.auth import create_token
from issuer.db import make_engine, make_sessionmaker, transaction
from issuer.migrate import upgrade
from issuer.services import Services
from issuer.statuslists import StatusListPolicy
from issuer.urls import Urls
from keys import KeyEncryptionKey

BASE_URL = "https://badges.test"
# A fixed key-encryption key, so tests never depend on a file left by another run.
TEST_KEK = "bXktdGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzJieXQ="
SHARED_REF = Path(__file__).resolve().parents[2] / "shared" / "ref"

# The status entries of an instance configured with suspension (BADGES_STATUS_PURPOSES).
SUSPENDING = StatusListPolicy(purposes=("revocation", "suspension"))
SUSPENDING_CONFIG = {"STATUS_PURPOSES": ["revocation", "suspension"]}

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("BADGES_TEST_DATABASE_URL") else [])
# CI's second pass sets BADGES_TEST_DATABASES=postgresql: the first pass has already run everything on
# SQLite, so that pass runs only what touches a database, and only on PostgreSQL.
if os.environ.get("BADGES_TEST_DATABASES"):
    DATABASES = [name for name in os.environ["BADGES_TEST_DATABASES"].split(",") if name in DATABASES]

# Tests make many requests from one address, so no app they build (or `badges serve` they start)
# throttles unless it says so: tests of throttling set THROTTLE_ENABLED in their own config.
os.environ["BADGES_THROTTLE_ENABLED"] = "false"


def pytest_collection_modifyitems(config, items):
    """With SQLite left out, keep only tests that use a database (the `database_url` fixture, or
    marked `postgresql` when they read BADGES_TEST_DATABASE_URL themselves)."""
    if "sqlite" in DATABASES:
        return
    keep = [item for item in items
            if "database_url" in getattr(item, "fixturenames", ()) or item.get_closest_marker("postgresql")]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


def shared_ref(*parts: str) -> Path:
    """A path in ../shared/ref; CI always has it, so only a local run without it may skip."""
    path = SHARED_REF.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing; CI must run beside ../shared")
        pytest.skip(f"{path} is not here (it is in CI)")
    return path


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc))


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    # One schema per test on the shared PostgreSQL, dropped afterwards.
    base = os.environ["BADGES_TEST_DATABASE_URL"]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def document_loader():
    return bundled_document_loader()


@pytest.fixture
def services(database_url, clock, document_loader):
    engine = make_engine(database_url)
    upgrade(engine)
    yield Services(
        sessionmaker=make_sessionmaker(engine),
        key_encryption_key=KeyEncryptionKey.from_text(TEST_KEK),
        document_loader=document_loader,
        urls=Urls(BASE_URL),
        clock=clock,
        # Most tests exercise suspension, which is opt-in (the default, revocation alone, keeps
        # credentials valid against the OB 3.0 JSON Schema: tests/issuer/test_ob_schema.py).
        status_list_policy=SUSPENDING,
    )
    engine.dispose()


@pytest.fixture
def app(services, tmp_path):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL}, services=services)


class Api:
    """The Flask test client with a Bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        merged = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        merged.update(headers or {})
        return merged

    def get(self, path, headers=None, **kwargs):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path, json=None, headers=None, **kwargs):
        return self.client.post(path, json=json, headers=self._headers(headers), **kwargs)

    def as_token(self, token: str | None) -> Api:
        return Api(self.client, token)


def make_token(services, issuer_slug: str | None = None) -> str:
    from sqlalchemy import select

    from issuer.models import Issuer

    with services.sessionmaker() as session, transaction(session):
        issuer = session.scalar(select(Issuer).where(Issuer.slug == issuer_slug)) if issuer_slug else None
        _, plain = create_token(session, issuer=issuer, label="test", now=services.clock())
    return plain


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client, services) -> Api:
    """An API client holding an instance (admin) token."""
    return Api(client, make_token(services))


ISSUER = {"slug": "acme", "name": "Acme Academy", "url": "https://acme.example", "email": "badges@acme.example"}
ACHIEVEMENT = {
    "name": "Python Basics",
    "description": "Writes, runs and tests small Python programs.",
    "criteria": {"narrative": "Score at least 70 out of 100 in the proctored Python basics exam."},
    "achievement_type": "Badge",
    "alignments": [{"target_name": "Python (computer programming)", "target_url": "https://esco.example/skill/python",
                    "target_framework": "ESCO", "target_code": "S1.2.3"}],
    "tags": ["python", "programming"],
    "passing_score": 70,
    "max_score": 100,
    "valid_for": "P1Y",
}


def result_body(external_id: str = "attempt-1", *, score=85, email: str | None = "Ada.Lovelace@Example.org", **extra) -> dict:
    recipient = {"email": email, "name": "Ada Lovelace"} if email else {"id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"}
    return {"external_id": external_id, "recipient": recipient, "score": score,
            "completed_at": "2026-11-25T11:00:00Z", **extra}


@pytest.fixture
def issuer(api):
    response = api.post("/api/v1/issuers", json=ISSUER)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def achievement(api, issuer):
    response = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json=ACHIEVEMENT)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def issued(api, achievement) -> dict:
    """A credential of `achievement`, issued through the API (some modules define their own)."""
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body())
    assert response.status_code == 201, response.json
    return response.json["credential"]


@pytest.fixture
def public_documents(client):
    """`url -> dict` for our public URLs, through the test client: what a verifier elsewhere
    would fetch over HTTPS (DID documents, status lists)."""

    def fetch_json(url: str) -> dict:
        assert url.startswith("https://badges.test/"), url
        response = client.get(url.removeprefix("https://badges.test"))
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return response.json

    return fetch_json


@pytest.fixture
def own_resolver(public_documents):
    """Resolves did:web issuers from our own /issuers/<slug>/did.json through the test client,
    and did:key offline: what a verifier elsewhere would do over HTTPS."""
    from verifier.resolvers import Resolver

    return Resolver(public_documents)


@pytest.fixture
def outside_verifier(document_loader, own_resolver, public_documents, clock):
    """A verifier elsewhere: our DID documents and status lists come from our public endpoints."""
    from verifier import Verifier

    return Verifier(document_loader, own_resolver, clock, local_documents=public_documents)
