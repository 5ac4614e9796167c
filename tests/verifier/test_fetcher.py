"""The guarded fetcher, against HTTP servers on 127.0.0.1 only.

An autouse guard makes any connection to an address other than loopback fail the test, so a
policy check that came too late would show up as a failure, never as traffic.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from verifier.fetcher import (
    FetchCache,
    FetchedDocument,
    FetchError,
    Fetcher,
    FetchPolicy,
    HttpTransport,
    address_refusal,
)

LOCAL = FetchPolicy(allow_http_loopback=True)


# ---------------------------------------------------------------------------------------------
# A local server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        server: LocalServer = self.server.owner
        server.requests.append((self.path, dict(self.headers)))
        route = server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        self.close_connection = True
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should past its limits

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined on close, so no socket outlives a test

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are expected here


class LocalServer:
    """An HTTP server on 127.0.0.1 in a thread. `routes` maps a path to `f(handler)`."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None):
        self.routes = {}
        self.requests = []
        self.release = threading.Event()  # set at close: handlers that wait give up
        self._server = _Server(("127.0.0.1", 0), _Handler)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def json(self, path: str, value, headers: dict | None = None, status: int = 200):
        self.routes[path] = respond(status, json.dumps(value).encode(), {"Content-Type": "application/json",
                                                                          **(headers or {})})

    def close(self):
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def respond(status: int, body: bytes, headers: dict | None = None, content_length: bool = True):
    def route(handler):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if content_length:
            handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
    return route


def redirect(location: str, status: int = 302):
    return respond(status, b"", {"Location": location})


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Any attempt to connect elsewhere than loopback fails the test before a packet is sent."""
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        host = address[0]
        assert ipaddress.ip_address(host).is_loopback, f"a test tried to connect to {host}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


class RecordingTransport:
    """The real transport, noting each (url, addresses) it is asked to open."""

    def __init__(self):
        self.opened = []
        self._inner = HttpTransport()

    def open(self, url, addresses, headers, **kwargs):
        self.opened.append((url, list(addresses)))
        return self._inner.open(url, addresses, headers, **kwargs)


def no_resolution(host, port):
    raise AssertionError(f"{host} should not have been resolved")


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


# ---------------------------------------------------------------------------------------------
# Fetching


def test_fetch_json_from_loopback_when_allowed(server):
    server.json("/doc", {"id": "x"})
    fetcher = Fetcher(LOCAL)
    assert fetcher.fetch_json(server.url("/doc")) == {"id": "x"}
    document = fetcher.fetch(server.url("/doc"), accept="application/ld+json")
    assert isinstance(document, FetchedDocument)
    assert document.url == server.url("/doc") and document.content_type == "application/json"
    _path, headers = server.requests[-1]
    assert headers["Accept"] == "application/ld+json"
    assert not {"Cookie", "Authorization", "Proxy-Authorization"} & set(headers)


def test_localhost_by_name_is_loopback(server):
    server.json("/doc", {"id": "x"})
    assert Fetcher(LOCAL).fetch_json(server.url("/doc", host="localhost")) == {"id": "x"}


def test_http_to_loopback_refused_unless_configured(server):
    server.json("/doc", {"id": "x"})
    with pytest.raises(FetchError, match="only https") as caught:
        Fetcher().fetch_json(server.url("/doc"))
    assert caught.value.code == "fetch_refused"
    assert server.requests == []


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://93.184.216.34/", "http://[2001:4860::8888]/"])
def test_http_to_a_non_loopback_host_refused(url):
    transport = RecordingTransport()
    for policy in (LOCAL, FetchPolicy(allow_http_loopback=True, allow_private_addresses=True), FetchPolicy()):
        with pytest.raises(FetchError) as caught:
            Fetcher(policy, transport=transport).fetch(url)
        assert caught.value.code == "fetch_refused"
    assert transport.opened == []


def test_http_to_a_name_is_refused_without_resolving_it():
    with pytest.raises(FetchError, match="only https") as caught:
        Fetcher(resolve=no_resolution).fetch("http://example.com/status/3")
    assert caught.value.code == "fetch_refused"


@pytest.mark.parametrize("url", [
    "https://10.0.0.1/", "https://172.16.5.4/", "https://192.168.1.1/", "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1/", "https://0.0.0.0/", "https://224.0.0.1/", "https://100.64.0.1/", "https://240.0.0.1/",
    "https://[::1]/", "https://[::]/", "https://[fe80::1]/", "https://[fc00::1]/", "https://[ff02::1]/",
    "https://[::ffff:10.0.0.1]/", "https://[::ffff:127.0.0.1]/", "https://[2002:a9fe:a9fe::1]/",
    "https://[64:ff9b::a9fe:a9fe]/", "https://2130706433/",  # 127.0.0.1 as a number
])
def test_https_to_non_public_addresses_refused_before_connecting(url):
    transport = RecordingTransport()
    with pytest.raises(FetchError, match="resolves to") as caught:
        Fetcher(transport=transport).fetch(url)
    assert caught.value.code == "fetch_refused"
    assert transport.opened == []


@pytest.mark.parametrize("addresses", [["10.0.0.1"], ["93.184.216.34", "10.0.0.1"], ["::ffff:169.254.169.254"]])
def test_a_name_resolving_to_a_private_address_is_refused(addresses):
    transport = RecordingTransport()
    fetcher = Fetcher(transport=transport, resolve=lambda host, port: addresses)
    with pytest.raises(FetchError, match="evil.test resolves to a") as caught:
        fetcher.fetch("https://evil.test/status/1")
    assert caught.value.code == "fetch_refused"
    assert "10.0.0.1" not in str(caught.value) and "169.254" not in str(caught.value)  # internal names stay internal
    assert transport.opened == []


def test_public_addresses_are_allowed():
    assert address_refusal("93.184.216.34") is None
    assert address_refusal("2001:4860:4860::8888") is None
    assert address_refusal("10.0.0.1") == "a private address"
    assert address_refusal("169.254.169.254") == "a link-local address"
    assert address_refusal("::ffff:10.0.0.1").startswith("an IPv6 address embedding")


@pytest.mark.parametrize("url", [
    "ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/", "https://user:pw@example.com/",
    "https://user@example.com/", "https:///nohost", "not a url", "https://[::1/",
])
def test_other_schemes_and_credentials_refused(url):
    with pytest.raises(FetchError) as caught:
        Fetcher(LOCAL, resolve=no_resolution).fetch(url)
    assert caught.value.code == "fetch_refused"


def test_unresolvable_host():
    def fail(host, port):
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(FetchError, match="cannot resolve") as caught:
        Fetcher(resolve=fail).fetch("https://nowhere.test/")
    assert caught.value.code == "fetch_failed"


def test_unreachable_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="connection refused") as caught:
        Fetcher(LOCAL).fetch(f"http://127.0.0.1:{port}/")
    assert caught.value.code == "fetch_failed"


@pytest.mark.parametrize("status", [404, 500, 304])
def test_non_2xx_is_fetch_status(server, status):
    server.routes["/x"] = respond(status, b"no")
    with pytest.raises(FetchError) as caught:
        Fetcher(LOCAL).fetch(server.url("/x"))
    assert caught.value.code == "fetch_status" and caught.value.status == status


@pytest.mark.parametrize("body, reason", [(b"[1, 2]", "not return a JSON object"), (b"<html>", "not return JSON"),
                                          (b"\xff\xfe", "not return JSON"), (b"[" * 100_000, "not return JSON")])
def test_fetch_json_wants_a_json_object(server, body, reason):
    server.routes["/x"] = respond(200, body)
    with pytest.raises(FetchError, match=reason) as caught:
        Fetcher(LOCAL).fetch_json(server.url("/x"))
    assert caught.value.code == "fetch_failed"


# ---------------------------------------------------------------------------------------------
# Redirects


def test_redirects_are_followed_and_rechecked(server):
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect(server.url("/c"), status=301)
    server.json("/c", {"id": "c"})
    transport = RecordingTransport()
    document = Fetcher(LOCAL, transport=transport).fetch(server.url("/a"))
    assert json.loads(document.body) == {"id": "c"} and document.url == server.url("/c")
    assert [url for url, _ in transport.opened] == [server.url("/a"), server.url("/b"), server.url("/c")]


@pytest.mark.parametrize("target", [
    "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "https://10.0.0.1/",
    "https://169.254.169.254/latest/meta-data/", "https://[::ffff:169.254.169.254]/", "file:///etc/passwd",
])
def test_redirect_to_a_private_address_refused_without_connecting(server, target):
    server.routes["/r"] = redirect(target)
    transport = RecordingTransport()
    with pytest.raises(FetchError) as caught:
        Fetcher(LOCAL, transport=transport).fetch(server.url("/r"))
    assert caught.value.code == "fetch_refused"
    assert transport.opened == [(server.url("/r"), ["127.0.0.1"])]  # only the loopback server was contacted


def test_redirect_limit(server):
    for n in range(5):
        server.routes[f"/{n}"] = redirect(f"/{n + 1}")
    server.json("/5", {})
    with pytest.raises(FetchError, match="more than 3 redirects") as caught:
        Fetcher(LOCAL).fetch(server.url("/0"))
    assert caught.value.code == "fetch_refused"
    assert server.hits("/4") == 0
    assert Fetcher(FetchPolicy(allow_http_loopback=True, max_redirects=5)).fetch_json(server.url("/0")) == {}


def test_redirect_without_location(server):
    server.routes["/r"] = respond(302, b"")
    with pytest.raises(FetchError) as caught:
        Fetcher(LOCAL).fetch(server.url("/r"))
    assert caught.value.code == "fetch_status"


# ---------------------------------------------------------------------------------------------
# Size and time limits

FIVE_MB = 5 * 1024 * 1024


def stream(total: int, headers: dict, chunked: bool = False):
    """Send `total` bytes in 64 KiB pieces (chunked transfer coding when asked)."""
    def route(handler):
        handler.send_response(200)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Connection", "close")
        handler.end_headers()
        piece, sent = b"x" * 65536, 0
        while sent < total:
            if chunked:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                handler.wfile.write(piece)
            sent += len(piece)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")
    return route


def test_body_over_the_cap_with_an_honest_content_length(server):
    server.routes["/big"] = stream(FIVE_MB, {"Content-Length": str(FIVE_MB)})
    with pytest.raises(FetchError, match="more than the limit") as caught:
        Fetcher(LOCAL).fetch(server.url("/big"))
    assert caught.value.code == "fetch_too_large"


def test_body_over_the_cap_without_content_length(server):
    server.routes["/big"] = stream(FIVE_MB, {})
    with pytest.raises(FetchError, match="larger than the limit") as caught:
        Fetcher(LOCAL).fetch(server.url("/big"))
    assert caught.value.code == "fetch_too_large"


def test_body_over_the_cap_behind_a_lying_content_length(server):
    # Content-Length says 100, but the body is 5 MB in chunked coding (which takes precedence).
    server.routes["/big"] = stream(FIVE_MB, {"Content-Length": "100", "Transfer-Encoding": "chunked"}, chunked=True)
    with pytest.raises(FetchError, match="larger than the limit") as caught:
        Fetcher(LOCAL).fetch(server.url("/big"))
    assert caught.value.code == "fetch_too_large"


def test_a_small_content_length_bounds_what_is_read(server):
    # Content-Length says 100 and 5 MB follow: only the 100 declared bytes are read.
    server.routes["/big"] = stream(FIVE_MB, {"Content-Length": "100"})
    assert len(Fetcher(LOCAL).fetch(server.url("/big")).body) == 100


def test_body_at_the_cap_is_accepted(server):
    server.routes["/exact"] = respond(200, b"x" * 1000, content_length=False)
    policy = FetchPolicy(allow_http_loopback=True, max_bytes=1000)
    assert len(Fetcher(policy).fetch(server.url("/exact")).body) == 1000
    server.routes["/over"] = respond(200, b"x" * 1001, content_length=False)
    with pytest.raises(FetchError) as caught:
        Fetcher(policy).fetch(server.url("/over"))
    assert caught.value.code == "fetch_too_large"


def test_read_timeout(server):
    def slow(handler):
        server.release.wait(5)

    server.routes["/slow"] = slow
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as caught:
        Fetcher(FetchPolicy(allow_http_loopback=True, read_timeout=0.5)).fetch(server.url("/slow"))
    assert caught.value.code == "fetch_timeout"
    assert time.monotonic() - started < 2


def test_a_dripping_body_is_bounded_by_the_read_timeout_as_a_whole(server):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        while not server.release.wait(0.1):
            handler.wfile.write(b" ")
            handler.wfile.flush()

    server.routes["/drip"] = drip
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as caught:
        Fetcher(FetchPolicy(allow_http_loopback=True, connect_timeout=0.2, read_timeout=0.5)).fetch(server.url("/drip"))
    assert caught.value.code == "fetch_timeout"
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------------------------------------
# The per-verification budget


def test_budget_counts_requests_per_verification(server):
    server.json("/a", {})
    server.json("/b", {})
    server.routes["/r"] = redirect("/a")
    fetcher = Fetcher(FetchPolicy(allow_http_loopback=True, max_fetches=3))
    verification = fetcher.budget()
    verification.fetch(server.url("/a"))
    verification.fetch(server.url("/r"))  # a redirect hop counts: two requests
    with pytest.raises(FetchError, match="limit of 3 fetches") as caught:
        verification.fetch(server.url("/b"))
    assert caught.value.code == "fetch_limit"
    assert server.hits("/b") == 0
    assert fetcher.budget().fetch_json(server.url("/b")) == {}  # the next verification has its own budget
    for _ in range(5):
        fetcher.fetch(server.url("/b"))  # the shared fetcher itself counts nothing


def test_budget_shares_the_cache_and_cache_hits_are_free(server):
    server.json("/a", {"n": 1}, headers={"Cache-Control": "max-age=60"})
    fetcher = Fetcher(FetchPolicy(allow_http_loopback=True, max_fetches=1))
    first, second = fetcher.budget(), fetcher.budget()
    for _ in range(3):
        assert first.fetch_json(server.url("/a")) == {"n": 1}
        assert second.fetch_json(server.url("/a")) == {"n": 1}
    assert server.hits("/a") == 1
    assert first.cache is fetcher.cache is second.cache


# ---------------------------------------------------------------------------------------------
# Caching


def test_cache_honours_max_age(server):
    server.json("/a", {}, headers={"Cache-Control": "public, max-age=60"})
    clock = Clock()
    fetcher = Fetcher(LOCAL, clock=clock)
    fetcher.fetch(server.url("/a"))
    clock.advance(seconds=59)
    fetcher.fetch(server.url("/a"))
    assert server.hits("/a") == 1
    clock.advance(seconds=1)
    fetcher.fetch(server.url("/a"))
    assert server.hits("/a") == 2


@pytest.mark.parametrize("cache_control", ["no-store", "max-age=60, no-store", "no-cache", None, "max-age=0",
                                           "max-age=junk"])
def test_cache_not_used_without_a_freshness_lifetime(server, cache_control):
    server.json("/a", {}, headers={"Cache-Control": cache_control} if cache_control else {})
    fetcher = Fetcher(LOCAL, clock=Clock())
    fetcher.fetch(server.url("/a"))
    fetcher.fetch(server.url("/a"))
    assert server.hits("/a") == 2


def test_ttl_for_keeps_a_document_fresh(server):
    server.json("/list", {})  # no Cache-Control: the status list's own ttl decides
    clock = Clock()
    fetcher = Fetcher(LOCAL, clock=clock)
    fetcher.fetch(server.url("/list"))
    fetcher.ttl_for(server.url("/list"), 300)
    clock.advance(seconds=299)
    fetcher.fetch(server.url("/list"))
    assert server.hits("/list") == 1
    clock.advance(seconds=1)
    fetcher.fetch(server.url("/list"))
    assert server.hits("/list") == 2


def test_ttl_for_does_not_override_no_store(server):
    server.json("/list", {}, headers={"Cache-Control": "no-store"})
    fetcher = Fetcher(LOCAL, clock=Clock())
    fetcher.fetch(server.url("/list"))
    fetcher.ttl_for(server.url("/list"), 300)
    fetcher.fetch(server.url("/list"))
    assert server.hits("/list") == 2


@pytest.mark.parametrize("how", ["max-age", "ttl_for"])
def test_never_serves_an_entry_older_than_max_staleness(server, how):
    year = 365 * 24 * 3600
    server.json("/a", {}, headers={"Cache-Control": f"max-age={year}"} if how == "max-age" else {})
    clock = Clock()
    fetcher = Fetcher(FetchPolicy(allow_http_loopback=True, max_staleness=timedelta(hours=1)), clock=clock)
    fetcher.fetch(server.url("/a"))
    if how == "ttl_for":
        fetcher.ttl_for(server.url("/a"), year)
    clock.advance(minutes=59)
    fetcher.fetch(server.url("/a"))
    assert server.hits("/a") == 1
    clock.advance(minutes=2)
    fetcher.fetch(server.url("/a"))
    assert server.hits("/a") == 2


def test_errors_are_not_cached(server):
    server.routes["/a"] = respond(404, b"", {"Cache-Control": "max-age=60"})
    fetcher = Fetcher(LOCAL, clock=Clock())
    for _ in range(2):
        with pytest.raises(FetchError):
            fetcher.fetch(server.url("/a"))
    assert server.hits("/a") == 2


def test_cache_is_bounded_and_thread_safe():
    cache = FetchCache(max_entries=10)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def fill(offset):
        for n in range(200):
            url = f"https://x.test/{offset}/{n}"
            cache.put(url, "a", FetchedDocument(url, "", b"", now), timedelta(seconds=60))
            cache.get(url, "a", now=now, max_staleness=timedelta(days=1))
            cache.ttl_for(url, 30)

    threads = [threading.Thread(target=fill, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache._entries) == 10


# ---------------------------------------------------------------------------------------------
# TLS to a pinned address


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A CA and a certificate for badges.test, made for this test run."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test ca")).issuer_name(name("test ca"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(start)
          .not_valid_after(start + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("badges.test")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("badges.test")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return folder


@pytest.fixture
def tls_server(tls_files):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files / "leaf.pem")
    local = LocalServer(ssl_context=context)
    yield local
    local.close()


def test_https_connects_to_the_checked_address_and_verifies_the_name(tls_server, tls_files):
    tls_server.json("/did.json", {"id": "did:web:badges.test"})
    client = ssl.create_default_context(cafile=str(tls_files / "ca.pem"))
    resolved = []

    def resolve(host, port):
        resolved.append(host)
        return ["127.0.0.1"]

    # loopback over https needs allow_private_addresses (a deployment inside a private network)
    fetcher = Fetcher(FetchPolicy(allow_private_addresses=True), transport=HttpTransport(client), resolve=resolve)
    assert fetcher.fetch_json(tls_server.url("/did.json", host="badges.test", scheme="https")) == {
        "id": "did:web:badges.test"}
    assert resolved == ["badges.test"]  # resolved once, by the fetcher; the connection used that answer

    with pytest.raises(FetchError, match="TLS failed") as caught:
        fetcher.fetch(tls_server.url("/did.json", host="other.test", scheme="https"))
    assert caught.value.code == "fetch_failed"
    with pytest.raises(FetchError, match="resolves to a loopback address"):
        Fetcher(transport=HttpTransport(client), resolve=resolve).fetch(
            tls_server.url("/did.json", host="badges.test", scheme="https"))
