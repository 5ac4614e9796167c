"""GET /status/<id> with a matching If-None-Match is a 304 without the database, and never hides a
change: at once in the process that made it, and in another process no longer than the list's own
Cache-Control allows (each process is an app with its own services over the same database)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from issuer import create_app
from issuer.statuslists import ServedEtags
from tests.conftest import BASE_URL, Api
from tests.issuer.test_status_lists import entry_of, issue, list_path


class Statements:
    """Counts the times an engine's pool hands out a connection: a request that takes none does not
    touch the database. (Not the statements SQLAlchemy runs: the status list check runs its one
    read on the DBAPI connection itself.)"""

    def __init__(self, engine):
        self.count = 0
        event.listen(engine.pool, "checkout", self._count)
        self._engine = engine

    def _count(self, *_args):
        self.count += 1

    def close(self):
        event.remove(self._engine.pool, "checkout", self._count)


@pytest.fixture
def statements(services):
    counter = Statements(services.sessionmaker.kw["bind"])
    yield counter
    counter.close()


@pytest.fixture
def revocation_path(api, achievement) -> tuple[str, str]:
    answer = issue(api, achievement, "serving-1")
    return list_path(entry_of(answer["credential"], "revocation")), answer["credential_id"]


def conditional(client, path: str, etag: str):
    return client.get(path, headers={"If-None-Match": f'"{etag}"'})


def test_a_matching_if_none_match_needs_no_database(client, revocation_path, statements, clock):
    path, _ = revocation_path
    first = client.get(path)
    etag = first.get_etag()[0]
    statements.count = 0
    clock.advance(seconds=100)
    cached = conditional(client, path, etag)
    assert cached.status_code == 304 and cached.get_data() == b""
    assert statements.count == 0
    assert cached.get_etag() == (etag, False)
    # The answer keeps the first one's freshness, no more: 300 s from the read, 100 s of which passed.
    assert cached.cache_control.max_age == 200 and cached.cache_control.public
    assert cached.headers["Access-Control-Allow-Origin"] == "*" and "Accept" in cached.headers["Vary"]

    clock.advance(seconds=200)  # the freshness is used up: the database is asked again
    statements.count = 0
    again = conditional(client, path, etag)
    assert again.status_code == 304 and again.cache_control.max_age == 300
    assert statements.count > 0
    assert conditional(client, path, "other").status_code == 200  # no match: the list itself


def test_a_change_in_this_process_is_seen_at_once(client, api, revocation_path, clock):
    path, credential_id = revocation_path
    etag = client.get(path).get_etag()[0]
    assert conditional(client, path, etag).status_code == 304
    assert api.post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "test"}).status_code == 200
    changed = conditional(client, path, etag)
    assert changed.status_code == 200 and changed.get_etag()[0] != etag


def test_a_change_in_another_process_is_seen_within_the_lists_max_age(client, api, revocation_path, services,
                                                                        clock, tmp_path):
    path, credential_id = revocation_path
    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "other"), "BASE_URL": BASE_URL},
                       services=dataclasses.replace(services, served_status_lists=ServedEtags()))
    first = client.get(path)
    etag, max_age = first.get_etag()[0], first.cache_control.max_age
    read_at = clock.now

    clock.advance(seconds=60)
    revoke = Api(other.test_client(), api.token).post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "x"})
    assert revoke.status_code == 200
    assert other.test_client().get(path, headers={"If-None-Match": f'"{etag}"'}).status_code == 200
    # This process has not seen the change: it may still confirm the old version, but only until
    # the moment its first answer allowed any cache to keep it.
    while clock.now < read_at + timedelta(seconds=max_age):
        stale = conditional(client, path, etag)
        if stale.status_code == 304:
            assert clock.now + timedelta(seconds=stale.cache_control.max_age) <= read_at + timedelta(seconds=max_age)
        clock.advance(seconds=50)
    fresh = conditional(client, path, etag)
    assert fresh.status_code == 200 and fresh.get_etag()[0] != etag


def test_an_answer_read_before_a_change_is_not_kept():
    served = ServedEtags()
    now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    generation = served.generation()
    served.forget(["list-1"])  # a change commits while the answer is being read
    served.served("list-1", "old", now + timedelta(seconds=300), generation)
    assert served.fresh_etag("list-1", now) is None
    served.served("list-1", "new", now + timedelta(seconds=300), served.generation())
    assert served.fresh_etag("list-1", now + timedelta(seconds=100)) == ("new", 200)
    assert served.fresh_etag("list-1", now + timedelta(seconds=300)) is None
