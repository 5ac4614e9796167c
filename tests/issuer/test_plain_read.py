"""PlainRead (issuer/db.py), on SQLite and PostgreSQL: the hot reads' rows, values converted as
SQLAlchemy converts them, and the statement's own literals bound as the ORM would bind them."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, select

from issuer.bootstrap import create_issuer
from issuer.db import PlainRead, transaction
from issuer.keystore import WebDidKeys
from issuer.models import Issuer, StatusList


def test_rows_are_converted_like_sqlalchemys(services):
    engine = services.sessionmaker.kw["bind"]
    until = datetime(2026, 12, 1, 12, 30, tzinfo=timezone.utc)
    with services.sessionmaker() as session, transaction(session):
        issuer = create_issuer(services, session, slug="acme", name="Acme", url="https://acme.example")
        session.flush()
        session.add(StatusList(id="list-1", issuer_id=issuer.id, purpose="revocation", sequence=1, length=8,
                               capacity=8, version=3, created_at=until, changed_at=until, published_version=3, published_until=until,
                               published_document={"id": "https://x.example/status/list-1", "n": [1, "ü"]},
                               published_etag='"v3"'))
    read = PlainRead(engine, select(StatusList.published_until, StatusList.published_document,
                                    StatusList.published_etag).where(StatusList.id == bindparam("id")))
    row = read.first(id="list-1")
    assert row == (until, {"id": "https://x.example/status/list-1", "n": [1, "ü"]}, '"v3"')
    assert row.published_until == until and row.published_etag == '"v3"'
    assert read.first(id="no-such-list") is None and read.all(id="no-such-list") == []


def test_literals_in_the_statement_are_bound(services):
    """`did_method == "web"` is a bound value the caller does not give."""
    engine = services.sessionmaker.kw["bind"]
    with services.sessionmaker() as session, transaction(session):
        web = create_issuer(services, session, slug="web", name="Web", url="https://web.example")
        key = create_issuer(services, session, slug="key", name="Key", url="https://key.example", did_method="key")
        web_did, key_did = web.did, key.did
    keys = WebDidKeys(engine)
    [method] = keys(web_did)
    assert method["id"] == f"{web_did}#key-1" and method["controller"] == web_did
    assert keys(key_did) is None  # ours, but not did:web
    assert keys("did:web:elsewhere.example") is None
    names = PlainRead(engine, select(Issuer.slug).where(Issuer.did_method == "key")).all()
    assert [row.slug for row in names] == ["key"]
