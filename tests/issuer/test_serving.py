"""The production server: `badges serve` (gunicorn, or werkzeug with --dev), `gunicorn wsgi:app`,
as real subprocesses on loopback: TLS, slow clients, start-up checks, the first start under
several workers, and logs that never carry a secret."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from issuer import create_app
from issuer.migrate import upgrade
from tests.issuer.test_cli import Instance

ROOT = Path(__file__).resolve().parents[2]
BADGES = [sys.executable, "-c", "from issuer.cli import main; main()"]
GUNICORN = [sys.executable, "-m", "gunicorn"]
# No proxy from the environment for loopback.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(instance: Path, **settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGES_")}
    env.update({"BADGES_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT), **settings})
    return env


def call(method: str, url: str, *, token=None, body=None, form=None, context=None, timeout=10, headers=None):
    """(status, headers, body bytes); an error status is an answer too."""
    headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    opener = OPENER if context is None else urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


class Server:
    def __init__(self, process, log: Path, base: str):
        self.process, self.log, self.base = process, log, base

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def running(command: list[str], env: dict, log: Path, base: str, *, context=None):
    """The server subprocess, its stdout and stderr in `log`, once `base` answers."""
    with open(log, "w") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                call("GET", f"{base}/api/openapi.json", context=context, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield Server(process, log, base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def badges_serve(tmp_path, *options, env=None):
    port = free_port()
    instance = tmp_path / "instance"
    return running([*BADGES, "serve", "--port", str(port), *options], env or clean_env(instance),
                   tmp_path / "server.log", f"http://127.0.0.1:{port}")


# --- start-up ------------------------------------------------------------------------------------

def test_serve_runs_gunicorn_with_the_workers_and_threads_asked_for(tmp_path):
    with badges_serve(tmp_path, "--workers", "2", "--threads", "4") as server:
        status, _, _ = call("GET", f"{server.base}/issuers/default")
        assert status == 200
    output = server.output()
    assert "Starting gunicorn" in output and "2 worker(s) of 4 threads" in output
    assert len(re.findall(r"Booting worker with pid", output)) == 2
    instance = tmp_path / "instance"
    assert instance.stat().st_mode & 0o777 == 0o700
    for name in ("badges.sqlite3", "badges.sqlite3-wal", "badges.sqlite3-shm", "key-encryption-key"):
        if (instance / name).exists():
            assert (instance / name).stat().st_mode & 0o777 == 0o600, name


def test_instance_folder_and_sqlite_files_are_private(tmp_path):
    """Created 0700 and 0600 (the database holds earners' emails), also a database outside the folder
    and the writers' lock file beside it."""
    database = tmp_path / "elsewhere.sqlite3"
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{database}",
                      "BASE_URL": "https://badges.test", "TESTING": True})
    engine = app.extensions["badges"].sessionmaker.kw["bind"]
    try:
        upgrade(engine)  # writes, so SQLite makes its -wal and -shm files
        modes = {path.name: path.stat().st_mode & 0o777
                 for path in [tmp_path / "instance", *tmp_path.glob("elsewhere.sqlite3*"),
                              tmp_path / "instance" / "key-encryption-key"]}
    finally:
        engine.dispose()
    assert modes == {"instance": 0o700, "elsewhere.sqlite3": 0o600, "elsewhere.sqlite3-wal": 0o600,
                     "elsewhere.sqlite3-shm": 0o600, "elsewhere.sqlite3-writer.lock": 0o600,
                     "key-encryption-key": 0o600}


def self_signed(tmp_path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


@pytest.mark.parametrize("dev", [False, True], ids=["gunicorn", "dev"])
def test_tls_with_certfile_and_keyfile(tmp_path, dev):
    certfile, keyfile = self_signed(tmp_path)
    context = ssl.create_default_context(cafile=str(certfile))
    port = free_port()
    command = [*BADGES, "serve", "--port", str(port), "--certfile", str(certfile), "--keyfile", str(keyfile),
               "--workers", "1", *(["--dev"] if dev else [])]
    base = f"https://127.0.0.1:{port}"
    with running(command, clean_env(tmp_path / "instance"), tmp_path / "server.log", base, context=context):
        status, _, body = call("GET", f"{base}/issuers/default/did.json", context=context)
        assert status == 200 and json.loads(body)["id"] == f"did:web:127.0.0.1%3A{port}:issuers:default"
        status, _, body = call("GET", f"{base}/issuers/default", context=context)
        assert json.loads(body)["url"] == base
        with pytest.raises(OSError):  # plain http is not served on that port
            call("GET", f"http://127.0.0.1:{port}/issuers/default", timeout=5)


@pytest.mark.parametrize("dev", [False, True], ids=["gunicorn", "dev"])
@pytest.mark.parametrize("setting, value", [("CERTFILE", "cert.pem"), ("KEYFILE", "key.pem")])
def test_certfile_and_keyfile_go_together(tmp_path, setting, value, dev):
    (tmp_path / value).write_text("x")
    result = subprocess.run([*BADGES, "serve", "--port", str(free_port()), *(["--dev"] if dev else [])],
                            capture_output=True, text=True,
                            env=clean_env(tmp_path / "instance", **{f"BADGES_{setting}": str(tmp_path / value)}),
                            cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["Error: CERTFILE and KEYFILE go together: set both or neither"]


@pytest.mark.parametrize("how", ["host", "env"])
def test_production_requires_an_https_base_url(tmp_path, how):
    instance = tmp_path / "instance"
    if how == "host":  # listening beyond loopback is production
        command, env = [*BADGES, "serve", "--host", "0.0.0.0", "--port", str(free_port())], clean_env(instance)
    else:
        command = [*BADGES, "serve", "--port", str(free_port())]
        env = clean_env(instance, BADGES_ENV="production", BADGES_BASE_URL="http://badges.example.org")
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "BADGES_BASE_URL must be the service's public https origin" in lines[0]
    assert not instance.exists()  # nothing minted, nothing created


def test_serve_refuses_a_bad_number_of_workers(tmp_path):
    result = subprocess.run([*BADGES, "serve", "--port", str(free_port()), "--workers", "0"], capture_output=True,
                            text=True, env=clean_env(tmp_path / "instance"), cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["Error: WORKERS must be a positive whole number, not 0"]


def test_gunicorn_config_module_refuses_an_http_base_url_in_one_line(tmp_path):
    result = subprocess.run(
        [*GUNICORN, "-c", "python:issuer.serving.gunicorn_conf", "-b", f"127.0.0.1:{free_port()}", "wsgi:app"],
        capture_output=True, text=True, env=clean_env(tmp_path / "instance"), cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "badges: BADGES_BASE_URL must be the service's public https origin in production (it is "
        "'http://127.0.0.1:5000'); it goes into every identifier issued and cannot change later "
        "(for a local trial, set BADGES_ENV=development)"]


def test_plain_gunicorn_wsgi_app_refuses_an_http_base_url(tmp_path):
    result = subprocess.run([*GUNICORN, "-b", f"127.0.0.1:{free_port()}", "wsgi:app"], capture_output=True,
                            text=True, env=clean_env(tmp_path / "instance"), cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert any(line.startswith("badges: BADGES_BASE_URL must be the service's public https origin")
               for line in result.stderr.splitlines())


# --- first start under any server ------------------------------------------------------------------

@pytest.fixture
def upgraded(tmp_path, database_url):
    """An instance whose database schema is up to date (`badges db upgrade`), nothing else."""
    instance = Instance(tmp_path / "instance", database_url)
    instance.ok("db", "upgrade")
    return instance


def production_env(instance: Instance, **settings) -> dict:
    env = clean_env(instance.path, BADGES_ENV="production", BADGES_BASE_URL="https://badges.test", **settings)
    if instance.database_url:
        env["BADGES_DATABASE_URL"] = instance.database_url
    return env


def test_first_start_under_several_gunicorn_workers_creates_one_issuer_and_one_token(tmp_path, upgraded):
    token_file = tmp_path / "admin-token"
    port = free_port()
    command = [*GUNICORN, "-c", "python:issuer.serving.gunicorn_conf", "-w", "4", "-b", f"127.0.0.1:{port}",
               "wsgi:app"]
    env = production_env(upgraded, BADGES_TOKEN_FILE=str(token_file))
    with running(command, env, tmp_path / "server.log", f"http://127.0.0.1:{port}") as server:
        token = token_file.read_text().strip()
        status, _, body = call("GET", f"{server.base}/api/v1/issuers/default", token=token)
        assert status == 200 and json.loads(body)["id"] == "did:web:badges.test:issuers:default"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert upgraded.query(text("SELECT count(*) FROM issuers")) == [(1,)]
    assert upgraded.query(text("SELECT count(*) FROM api_tokens")) == [(1,)]
    output = server.output()
    assert output.count("badges: created issuer 'default': did:web:badges.test:issuers:default") == 1
    assert output.count(f"badges: the first instance admin token is in {token_file}") == 1
    assert token not in output


def test_first_start_without_a_token_file_says_how_to_get_a_token(tmp_path, upgraded):
    port = free_port()
    with running([*GUNICORN, "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"], production_env(upgraded),
                 tmp_path / "server.log", f"http://127.0.0.1:{port}") as server:
        status, _, _ = call("GET", f"{server.base}/issuers/default")
        assert status == 200
    assert upgraded.query(text("SELECT count(*) FROM api_tokens")) == [(0,)]
    assert "create one with `badges token create`" in server.output()
    assert "bdg_" not in server.output()
    # The way it names works: a token from the command line opens the API.
    token = upgraded.ok("token", "create").output.strip().splitlines()[-1]
    assert token.startswith("bdg_")


def test_a_token_file_that_cannot_be_written_creates_nothing(tmp_path):
    instance = tmp_path / "instance"
    result = subprocess.run([*BADGES, "serve", "--port", str(free_port()), "--token-file", str(tmp_path / "no" / "t")],
                            capture_output=True, text=True, env=clean_env(instance), cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(
        "Error: the token file cannot be written (nothing was created)")
    assert Instance(instance, None).query(text("SELECT count(*) FROM issuers")) == [(0,)]


def test_wsgi_app_asks_for_the_schema_first(tmp_path):
    result = subprocess.run([*GUNICORN, "-b", f"127.0.0.1:{free_port()}", "wsgi:app"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60, env=clean_env(
                                tmp_path / "instance", BADGES_ENV="production", BADGES_BASE_URL="https://badges.test"))
    assert result.returncode != 0
    assert "badges: the database schema is not up to date; run `badges db upgrade` first" in result.stderr.splitlines()


# --- slow clients ------------------------------------------------------------------------------

class Trickler(threading.Thread):
    """A client that announces a body and sends it a byte at a time, for `seconds`."""

    def __init__(self, port: int, seconds: float):
        super().__init__(daemon=True)
        self.port, self.seconds = port, seconds
        self.cut_off = threading.Event()
        self.sending = threading.Event()

    def run(self):
        with socket.create_connection(("127.0.0.1", self.port)) as connection:
            connection.sendall(b"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
            self.sending.set()
            deadline = time.monotonic() + self.seconds
            try:
                while time.monotonic() < deadline:
                    connection.sendall(b" ")
                    time.sleep(0.2)
            except OSError:
                self.cut_off.set()  # the server closed the connection


def test_slow_clients_do_not_stop_the_server(tmp_path):
    """Twice the clients that stopped a 4-worker sync gunicorn, on 2 workers: a normal request
    still gets its answer while they trickle."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*BADGES, "serve", "--port", str(port), "--workers", "2"]
    with running(command, clean_env(tmp_path / "instance"), tmp_path / "server.log", base):
        slow = [Trickler(port, seconds=20) for _ in range(16)]
        for client in slow:
            client.start()
        for client in slow:
            assert client.sending.wait(10)
        time.sleep(1)
        for path in ("/issuers/default", "/api/openapi.json", "/issuers/default/did.json"):
            status, _, _ = call("GET", f"{base}{path}", timeout=10)
            assert status == 200
        assert all(client.is_alive() for client in slow)  # they were still trickling meanwhile


def test_a_request_that_outlives_the_request_timeout_is_cut_off(tmp_path):
    """More slow clients than threads: each is cut off after REQUEST_TIMEOUT_SECONDS, which frees
    the threads for a normal request (without the deadline it would wait until they finish)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(tmp_path / "instance", BADGES_REQUEST_TIMEOUT_SECONDS="2")
    command = [*BADGES, "serve", "--port", str(port), "--workers", "1", "--threads", "2"]
    with running(command, env, tmp_path / "server.log", base):
        slow = [Trickler(port, seconds=60) for _ in range(4)]
        for client in slow:
            client.start()
        for client in slow:
            assert client.sending.wait(10)
        status, _, _ = call("GET", f"{base}/issuers/default", timeout=30)
        assert status == 200
        for client in slow:
            assert client.cut_off.wait(30)


# --- secrets stay out of the logs ---------------------------------------------------------------

@pytest.mark.parametrize("dev", [False, True], ids=["gunicorn", "dev"])
def test_no_secret_reaches_the_logs_in_a_whole_flow(tmp_path, dev):
    token_file = tmp_path / "admin-token"
    options = ["--token-file", str(token_file), "--workers", "1", *(["--dev"] if dev else [])]
    with badges_serve(tmp_path, *options) as server:
        base = server.base
        admin = token_file.read_text().strip()
        secrets = [admin]
        status, _, body = call("POST", f"{base}/api/v1/issuers/default/achievements", token=admin, body={
            "name": "Logs", "description": "Kept clean.", "criteria": {"narrative": "Pass."},
            "passing_score": 1, "max_score": 1})
        assert status == 201
        achievement = json.loads(body)["id"]
        status, _, body = call("POST", f"{base}/api/v1/achievements/{achievement}/results", token=admin, body={
            "external_id": "x-1", "recipient": {"email": "ada@example.org"}, "score": 1,
            "completed_at": "2026-01-01T00:00:00Z"})
        assert status == 201
        credential = json.loads(body)["credential_id"]
        status, _, body = call("POST", f"{base}/api/v1/tokens", token=admin, body={"label": "platform"})
        assert status == 201
        secrets.append(json.loads(body)["token"])
        status, _, body = call("POST", f"{base}/api/v1/credentials/{credential}/management-link", token=admin)
        assert status == 201
        link = json.loads(body)["url"]
        manage_token = link.rsplit("/", 1)[1]
        secrets.append(manage_token)
        manage = f"{base}/manage/{manage_token}"
        assert call("GET", manage)[0] == 200
        assert call("POST", manage, form={"display_name": "Ada", "visibility": "public"})[0] in (200, 303)
        assert call("GET", f"{manage}/credential.json")[0] == 200
        assert call("GET", f"{manage}/badge.svg")[0] == 200
        assert call("GET", f"{manage}?next={manage_token}")[0] == 200
        # A careless browser or a hostile client sends the link on as its Referer.
        assert call("GET", f"{base}/issuers/default", headers={"Referer": link})[0] == 200
        # Wrong guesses are secrets of their own kind: a near-miss of a real one.
        wrong = ("y" if manage_token.startswith("x") else "x") + manage_token[1:]  # never the real one
        secrets.append(wrong)
        assert call("GET", f"{base}/manage/{wrong}")[0] == 404
        bad_bearer = "bdg_" + "A" * 43
        secrets.append(bad_bearer)
        assert call("GET", f"{base}/api/v1/tokens", token=bad_bearer)[0] == 401
        status, _, _ = call("GET", f"{base}/api/v1/credentials/{credential}", token=secrets[1])
        assert status == 200
    output = server.output()
    assert "/manage/[redacted]" in output  # the access log was written, without the token
    assert "/api/v1/tokens" in output
    leaked = [secret for secret in secrets if secret in output]
    assert leaked == []


def test_an_access_log_format_with_the_authorization_header_logs_no_token(tmp_path, upgraded):
    """An operator's own gunicorn format may log request headers: the token still stays out."""
    token_file = tmp_path / "admin-token"
    port = free_port()
    command = [*GUNICORN, "-c", "python:issuer.serving.gunicorn_conf", "-w", "1", "-b", f"127.0.0.1:{port}",
               "--access-logformat", '%(h)s "%(r)s" %(s)s auth=%({authorization}i)s ref=%(f)s', "wsgi:app"]
    with running(command, production_env(upgraded, BADGES_TOKEN_FILE=str(token_file)), tmp_path / "server.log",
                 f"http://127.0.0.1:{port}") as server:
        token = token_file.read_text().strip()
        assert call("GET", f"{server.base}/api/v1/tokens", token=token)[0] == 200
    output = server.output()
    assert 'auth=Bearer [redacted]' in output
    assert token not in output
