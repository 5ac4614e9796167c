"""GET /status/<id> with a matching If-None-Match is a 304 without the database, and never hides a
change: at once in the process that made it, and in another process no longer than the list's own
Cache-Control allows (each process is an app with its own services over the same database).

A plain GET (or HEAD) is answered in front of the app from the app's last answer to the same
request, byte for byte, once the database confirms the list has not changed: a change made by any
process is seen at once."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from flask import request, request_started

from issuer import create_app
from issuer.public import RememberedAnswer, RememberedAnswers
from issuer.statuslists import ServedEtags
from tests.conftest import BASE_URL, Api
from tests.issuer.test_status_lists import entry_of, issue, list_path, parse_time
from verifier.statuslist import bit_at, decode_status_list


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


# --- plain GET and HEAD, from memory -------------------------------------------------------------

@pytest.fixture
def app_requests(app) -> list[str]:
    """The requests that reached the Flask app, rather than being answered in front of it."""
    seen = []

    def record(_sender, **_extra):
        seen.append(f"{request.method} {request.path}")

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def answer_of(response) -> tuple:
    return response.status, sorted(response.headers.items()), response.get_data()


def another_process(services, tmp_path):
    """Another app over the same database, with its own memory (another worker or node)."""
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "other"), "BASE_URL": BASE_URL},
                      services=dataclasses.replace(services, served_status_lists=ServedEtags()))


def test_a_plain_get_is_answered_from_memory_as_the_app_answers(client, revocation_path, app_requests, statements,
                                                                 services, clock, tmp_path):
    path, _ = revocation_path
    first = client.get(path)
    assert first.status_code == 200 and app_requests == [f"GET {path}"]
    clock.advance(seconds=100)
    statements.count = 0
    again = client.get(path)
    assert app_requests == [f"GET {path}"]  # not the app
    assert statements.count == 1  # the one read confirming the list is unchanged
    # The same bytes and headers as the first answer, and as the app answers now.
    assert answer_of(again) == answer_of(first)
    assert answer_of(again) == answer_of(another_process(services, tmp_path).test_client().get(path))
    assert again.mimetype == "application/vc+ld+json" and again.cache_control.max_age == 300


def test_head_is_answered_from_memory_as_the_app_answers(client, revocation_path, app_requests):
    path, _ = revocation_path
    from_app = client.head(path)
    get = client.get(path)
    assert app_requests == [f"HEAD {path}", f"GET {path}"]
    head = client.head(path)
    assert app_requests == [f"HEAD {path}", f"GET {path}"]
    assert head.status_code == 200 and head.get_data() == b""
    assert answer_of(head) == answer_of(from_app)
    assert head.headers["Content-Length"] == str(len(get.get_data()))


def test_each_accept_gets_the_answer_the_app_gave_it(client, revocation_path, app_requests):
    path, _ = revocation_path
    accepts = [None, "application/ld+json", "application/json", "text/html"]
    media_types = ["application/vc+ld+json", "application/ld+json", "application/json", "application/vc+ld+json"]
    first = [client.get(path, headers={"Accept": accept} if accept else {}) for accept in accepts]
    assert len(app_requests) == len(accepts)
    again = [client.get(path, headers={"Accept": accept} if accept else {}) for accept in accepts]
    assert len(app_requests) == len(accepts)  # each from memory, its own
    assert [answer.mimetype for answer in again] == media_types
    assert [answer_of(answer) for answer in again] == [answer_of(answer) for answer in first]
    assert len({answer.get_data() for answer in again}) == 1


def test_an_answer_over_https_is_not_given_over_http(client, revocation_path, app_requests):
    path, _ = revocation_path
    secure = client.get(path, base_url="https://badges.test")
    plain = client.get(path, base_url="http://badges.test")
    assert "Strict-Transport-Security" in secure.headers and "Strict-Transport-Security" not in plain.headers
    assert answer_of(client.get(path, base_url="https://badges.test")) == answer_of(secure)
    assert answer_of(client.get(path, base_url="http://badges.test")) == answer_of(plain)
    assert len(app_requests) == 2


@pytest.mark.parametrize("where", ["this process", "another process"])
def test_a_change_is_seen_at_once_by_a_plain_get(where, client, api, revocation_path, app_requests, services,
                                                 tmp_path):
    path, credential_id = revocation_path
    credential = api.get(f"/api/v1/credentials/{credential_id}").get_json()["credential"]
    position = int(entry_of(credential, "revocation")["statusListIndex"])
    before = client.get(path)
    assert answer_of(client.get(path)) == answer_of(before)  # from memory
    changer = api if where == "this process" else Api(another_process(services, tmp_path).test_client(), api.token)
    assert changer.post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "test"}).status_code == 200
    after = client.get(path)
    assert after.status_code == 200 and after.get_etag() != before.get_etag()
    assert bit_at(decode_status_list(after.get_json()["credentialSubject"]["encodedList"]), position) == 1
    assert app_requests[-1] == f"GET {path}"


def test_a_remembered_answer_is_given_until_the_list_is_signed_again(client, revocation_path, app_requests, services,
                                                                     clock):
    path, _ = revocation_path
    first = client.get(path)
    # The app signs the list again once less than a ttl of its validity is left: memory as well.
    resigned_from = parse_time(first.get_json()["validUntil"]) - services.status_list_policy.ttl
    clock.advance(seconds=(resigned_from - clock.now).total_seconds() - 1)
    assert answer_of(client.get(path)) == answer_of(first)
    assert len(app_requests) == 1
    clock.advance(seconds=1)
    resigned = client.get(path)
    assert len(app_requests) == 2
    assert resigned.get_etag() != first.get_etag()
    assert parse_time(resigned.get_json()["validUntil"]) > parse_time(first.get_json()["validUntil"])
    assert answer_of(client.get(path)) == answer_of(resigned) and len(app_requests) == 2


def remembered(number: int, size: int) -> RememberedAnswer:
    return RememberedAnswer(f"etag-{number}", datetime(2026, 11, 26, tzinfo=timezone.utc), "200 OK", (),
                            b"x" * size)


def test_remembered_answers_stay_within_their_bounds():
    answers = RememberedAnswers(max_answers=3, max_bytes=1000)
    for number in range(5):
        answers.remember(("list", number), remembered(number, 100))
    # At most three: the oldest went first.
    assert [answers.get(("list", n)) is not None for n in range(5)] == [False, False, True, True, True]
    answers.remember(("list", 4), remembered(4, 200))  # a new answer to the same request replaces it
    assert len(answers) == 3 and answers.size == 400
    answers.remember(("list", 5), remembered(5, 800))  # room is made by dropping the oldest
    assert answers.size <= 1000 and answers.get(("list", 5)) is not None
    assert answers.get(("list", 2)) is None and answers.get(("list", 3)) is None
    answers.remember(("list", 6), remembered(6, 1001))  # larger than all the room: not kept
    assert answers.get(("list", 6)) is None and answers.get(("list", 5)) is not None


def test_remembered_answers_keep_count_under_concurrent_use():
    answers = RememberedAnswers(max_answers=50, max_bytes=20_000)

    def remember_many(thread: int):
        for number in range(300):
            answers.remember((thread, number % 70), remembered(number, 100 + number % 7))
            answers.get((thread, number % 70))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(remember_many, range(8)))
    kept = [answers.get((thread, number)) for thread in range(8) for number in range(70)]
    kept = [answer for answer in kept if answer is not None]
    assert len(kept) == len(answers) <= 50
    assert answers.size == sum(answer.size for answer in kept) <= 20_000
