"""A database that is down, unreachable or too slow: the API answers 503 database_unavailable, the
CLI prints one line and exits non-zero, and nothing waits longer than the configured timeouts.

"Down" is a loopback port nothing listens on; "never answers" is a socket server that accepts TCP
connections and then says nothing, the way a hung server or a black-holed proxy behaves."""

from __future__ import annotations

import socket
import sqlite3
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from issuer import create_app
from issuer.cli import main
from issuer.db import make_engine
from issuer.migrate import upgrade
from tests.conftest import make_token

TOKEN = "bdg_" + "A" * 43


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server():
    """Accepts connections and never answers; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


def postgresql_url(port: int) -> str:
    return f"postgresql+psycopg://badges@127.0.0.1:{port}/badges"


def within(seconds: float, call):
    """Run `call` in a thread; fail (rather than hang the suite) if it has not returned in time."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: the timeout did not apply"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def app_on(url: str, tmp_path, **config):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                       "BASE_URL": "https://badges.test", "DATABASE_URL": url, **config})


def assert_unavailable(response):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "database_unavailable" and body["status"] == 503
    assert body["type"] == "urn:badges:problem:database_unavailable"
    assert "psycopg" not in body["detail"] and "Traceback" not in body["detail"]
    assert response.headers["Retry-After"].isdigit()


@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/issuers/default", "/issuers/default", "/status/3f2b9c1e-8a4d-4c7e-9f00-1a2b3c4d5e6f"])
def test_api_answers_503_when_the_database_is_down(tmp_path, path):
    client = app_on(postgresql_url(closed_port()), tmp_path).test_client()
    assert_unavailable(client.get(path, headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}))


def test_api_answers_503_within_the_connect_timeout_when_the_database_never_answers(tmp_path, silent_server):
    app = app_on(postgresql_url(silent_server), tmp_path, DATABASE_CONNECT_TIMEOUT_SECONDS=2)
    client = app.test_client()
    response = within(30, lambda: client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {TOKEN}"}))
    assert_unavailable(response)


def test_default_timeouts(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance")})
    assert (app.config["DATABASE_CONNECT_TIMEOUT_SECONDS"], app.config["DATABASE_STATEMENT_TIMEOUT_SECONDS"]) == (10, 30)
    app.extensions["badges"].sessionmaker.kw["bind"].dispose()


def run_cli(url: str, tmp_path, *args, **env):
    environment = {"BADGES_INSTANCE_PATH": str(tmp_path / "instance"), "BADGES_DATABASE_URL": url, **env}
    return CliRunner().invoke(main, list(args), env=environment)


@pytest.mark.parametrize("args", [["token", "list"], ["db", "upgrade"], ["notify"], ["token", "create"]])
def test_cli_prints_one_line_when_the_database_is_down(tmp_path, args):
    result = run_cli(postgresql_url(closed_port()), tmp_path, *args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the database is unavailable: "), result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_cli_gives_up_within_the_connect_timeout(tmp_path, silent_server):
    result = within(30, lambda: run_cli(postgresql_url(silent_server), tmp_path, "token", "list",
                                        BADGES_DATABASE_CONNECT_TIMEOUT_SECONDS="2"))
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: the database is unavailable: ") and "timeout" in line.lower()


@pytest.mark.parametrize("value", ["soon", "-1", "0"])
def test_bad_timeouts_are_refused(tmp_path, value):
    result = run_cli(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, "token", "list",
                     BADGES_DATABASE_CONNECT_TIMEOUT_SECONDS=value)
    assert result.exit_code == 1
    assert "DATABASE_CONNECT_TIMEOUT_SECONDS must be a number of seconds, at least 1" in result.output


def test_statement_timeout(database_url, services):
    """PostgreSQL cancels a statement that runs longer; SQLite stops waiting for another writer's lock."""
    engine = make_engine(database_url, statement_timeout=1)

    def run(statement):
        with engine.connect() as connection:
            return connection.execute(text(statement))

    try:
        if engine.dialect.name == "postgresql":
            with pytest.raises(OperationalError, match="statement timeout"):
                within(30, lambda: run("SELECT pg_sleep(20)"))
        else:
            holder = sqlite3.connect(database_url.removeprefix("sqlite:///"))
            holder.execute("BEGIN IMMEDIATE")  # holds the write lock
            try:
                with pytest.raises(OperationalError, match="locked"):
                    within(30, lambda: run("DELETE FROM notifications"))
            finally:
                holder.rollback()
                holder.close()
    finally:
        engine.dispose()


def test_a_request_that_waits_too_long_answers_503(tmp_path):
    """SQLite: a write that cannot get the lock within the statement timeout is answered 503."""
    url = f"sqlite:///{tmp_path / 'locked.sqlite3'}"
    app = app_on(url, tmp_path, DATABASE_STATEMENT_TIMEOUT_SECONDS=1)
    upgrade(app.extensions["badges"].sessionmaker.kw["bind"])
    token = make_token(app.extensions["badges"])
    holder = sqlite3.connect(tmp_path / "locked.sqlite3")
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        response = within(30, lambda: app.test_client().post(
            "/api/v1/issuers", headers={"Authorization": f"Bearer {token}"},
            json={"slug": "acme", "name": "Acme", "url": "https://acme.example"}))
    finally:
        holder.rollback()
        holder.close()
    assert_unavailable(response)
    retried = app.test_client().post("/api/v1/issuers", headers={"Authorization": f"Bearer {token}"},
                                     json={"slug": "acme", "name": "Acme", "url": "https://acme.example"})
    assert retried.status_code == 201, retried.get_json()


HOLDER = """
import sys, time
from sqlalchemy import text
from issuer.db import make_engine
engine = make_engine(sys.argv[1], statement_timeout=10)
with engine.begin() as connection:
    connection.execute(text("INSERT INTO events (who) VALUES ('holder')"))
    print("writing", flush=True)
    time.sleep(1.0)
    connection.execute(text("INSERT INTO events (who) VALUES ('holder done')"))
"""


def test_writers_of_several_processes_queue_on_the_lock_file_beside_the_database(tmp_path):
    """SQLite: a process in a write transaction holds the advisory lock beside the database; a
    writer of another process waits for it (instead of SQLite's busy handler) and goes on after."""
    import fcntl
    import os
    import subprocess
    import sys
    from pathlib import Path

    database = tmp_path / "shared.sqlite3"
    url = f"sqlite:///{database}"
    engine = make_engine(url, statement_timeout=10)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (who TEXT)"))
    root = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True, cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert holder.stdout.readline().strip() == "writing"
        lock_file = os.open(f"{database}-writer.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # the holder's process has it
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with engine.begin() as connection:  # waits for the holder's commit
                connection.execute(text("INSERT INTO events (who) VALUES ('waiter')"))
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)  # given back after the waiter's commit
            fcntl.flock(lock_file, fcntl.LOCK_UN)
        finally:
            os.close(lock_file)
        assert holder.wait(timeout=30) == 0
        with engine.connect() as connection:
            assert connection.execute(text("SELECT who FROM events ORDER BY rowid")).scalars().all() == \
                ["holder", "holder done", "waiter"]
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
        engine.dispose()
