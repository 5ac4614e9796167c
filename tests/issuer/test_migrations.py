"""The migrations create exactly the tables the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from issuer import models  # noqa: F401  (the tables on Base.metadata)
from issuer.db import Base, make_engine
from issuer.migrate import alembic_config, current_revision, upgrade


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, Base.metadata)


def test_fresh_database_has_no_tables(engine):
    assert inspect(engine).get_table_names() == []
    assert current_revision(engine) is None


def test_upgrade_creates_every_model_table(engine):
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert tables - set(Base.metadata.tables) == {"alembic_version"}
    assert current_revision(engine) == head_revision()


def test_migrations_match_the_models(engine):
    upgrade(engine)
    diff = differences(engine)
    assert diff == [], "the models changed without a migration (write one with alembic revision --autogenerate):\n" + \
        "\n".join(map(str, diff))


def test_the_comparison_sees_a_missing_migration(engine):
    """The check above is only worth something if it notices a model the migrations do not create."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    upgrade(engine)
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("not_migrated", metadata, Column("id", Integer, primary_key=True))
    metadata.tables["issuers"].append_column(Column("nickname", String(40)))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    changes = {(d[0], getattr(d[1], "name", None)) if d[0] == "add_table" else (d[0], d[3].name)
               for d in diff}
    assert changes == {("add_table", "not_migrated"), ("add_column", "nickname")}


def test_upgrade_twice_is_harmless(engine):
    upgrade(engine)
    with engine.connect() as connection:
        before = {t: inspect(connection).get_columns(t) for t in inspect(connection).get_table_names()}
    upgrade(engine)
    with engine.connect() as connection:
        after = {t: inspect(connection).get_columns(t) for t in inspect(connection).get_table_names()}
    assert [c["name"] for c in after["issuers"]] == [c["name"] for c in before["issuers"]]
    assert set(after) == set(before)
    assert current_revision(engine) == head_revision()
    assert differences(engine) == []


def test_upgrade_keeps_data(engine, services):
    """Running the migrations on a database in use (as `badges db upgrade` on every deploy does) loses nothing."""
    from datetime import datetime, timezone

    from issuer.bootstrap import create_issuer
    from issuer.db import transaction

    with services.sessionmaker() as session, transaction(session):
        create_issuer(services, session, slug="kept", name="Kept", url="https://kept.example")
    upgrade(services.sessionmaker.kw["bind"])
    with services.sessionmaker() as session:
        issuer = session.query(models.Issuer).one()
        assert issuer.slug == "kept" and len(issuer.keys) == 1
        assert issuer.created_at.tzinfo is not None and issuer.created_at < datetime(2100, 1, 1, tzinfo=timezone.utc)
