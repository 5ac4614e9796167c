"""The one guarded HTTP client for everything the verifier fetches: did:web documents, status
lists, credentials given by URL.

A URL to verify comes from a stranger, so each fetch is treated as a request an attacker chose
(server-side request forgery). The rules, applied to the first URL and again to every redirect hop
before anything connects:

- HTTPS only. Plain HTTP only to loopback addresses, and only with `allow_http_loopback` (tests,
  local development).
- The host is resolved first, and every address it resolves to must be public: private, loopback
  (unless allowed above), link-local (169.254.169.254, the cloud metadata service), multicast,
  reserved, shared (100.64/10) and unspecified addresses are refused, IPv4 and IPv6 alike, and so
  are IPv6 addresses that embed a refused IPv4 address (IPv4-mapped, 6to4, NAT64, Teredo).
  `allow_private_addresses` lifts this for deployments that verify inside a private network.
- The connection goes to the address that was checked (the IP is pinned): the host name is never
  resolved a second time, so DNS rebinding between the check and the connection cannot move the
  request to another address. TLS still verifies the certificate against the host name (SNI and
  hostname check use the name, the socket uses the pinned IP).
- Redirects are followed by hand, at most `max_redirects`, each hop checked as above.
- `connect_timeout` bounds each connection attempt; `read_timeout` bounds the whole response
  (headers and body), so a server dripping one byte at a time cannot hold a worker.
- The body is read in chunks and abandoned past `max_bytes`, whatever Content-Length says.
- Nothing but `Accept`, `User-Agent` and `Connection: close` is sent: no cookies, no credentials
  (URLs with user:password@ are refused), and proxy settings from the environment are not used.
  (`post`, which the service's webhook deliveries use, adds the caller's headers and body, and
  follows no redirect.)

Not covered: `getaddrinfo` has no timeout of its own (a slow resolver is bounded by the system's
resolver settings only).

The cache (`FetchCache`) is shared by all budgets of one `Fetcher`; see its docstring.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from dataintegrity import strictjson

USER_AGENT = "badges-verifier/0.1"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FetchError(Exception):
    """A document could not be had; `code` says why in a stable word."""

    code = "fetch_failed"


class FetchRefused(FetchError):
    """The policy forbids the URL (scheme, address, credentials in the URL); nothing was sent."""

    code = "fetch_refused"


class FetchTooLarge(FetchError):
    code = "fetch_too_large"


class FetchTimeout(FetchError):
    code = "fetch_timeout"


class FetchStatusError(FetchError):
    """The server answered with a status other than 2xx (or a redirect without a usable Location)."""

    code = "fetch_status"

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class FetchLimitExceeded(FetchError):
    """The per-verification budget of fetches is spent."""

    code = "fetch_limit"


@dataclass(frozen=True)
class FetchPolicy:
    allow_http_loopback: bool = False
    allow_private_addresses: bool = False
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_bytes: int = 2_000_000
    max_redirects: int = 3
    max_fetches: int = 20
    max_staleness: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class FetchedDocument:
    url: str  # where the body finally came from, after redirects
    content_type: str
    body: bytes
    fetched_at: datetime


@dataclass(frozen=True)
class Conditional:
    """A conditional fetch's answer: `document` is None when the server said 304 Not Modified."""

    document: FetchedDocument | None
    etag: str | None
    cache_control: str | None

    @property
    def not_modified(self) -> bool:
        return self.document is None


# ---------------------------------------------------------------------------------------------
# Addresses


def address_refusal(address: str) -> str | None:
    """Why `address` (an IP literal) is not a public unicast address, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone index
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        for inner in embedded:
            reason = address_refusal(str(inner))
            if reason:
                return f"an IPv6 address embedding {reason}"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order (IP literals resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


# ---------------------------------------------------------------------------------------------
# Transport: one HTTP exchange to an already checked address


class Response(Protocol):
    status: int

    def header(self, name: str) -> str | None: ...
    def read(self, size: int) -> bytes: ...
    def close(self) -> None: ...


class Transport(Protocol):
    def open(self, url: str, addresses: list[str], headers: dict[str, str], *,
             connect_timeout: float, read_timeout: float) -> Response:
        """Send GET `url` to one of `addresses` (never resolving the host again); the response's
        headers are read, its body not yet. Once connected, the whole response, body included,
        must arrive within `read_timeout` seconds. (`Fetcher.post` also passes `method="POST"` and
        `body=`.)"""


class _PinnedConnectionMixin:
    """Connects to the pinned addresses instead of resolving `self.host`."""

    _addresses: list[str]
    _connect_timeout: float

    def _pinned_socket(self) -> socket.socket:
        last_error: OSError | None = None
        for address in self._addresses:
            try:
                return socket.create_connection((address, self.port), self._connect_timeout)
            except OSError as error:
                last_error = error
        raise last_error or OSError("no address to connect to")


class _PinnedHTTPConnection(_PinnedConnectionMixin, http.client.HTTPConnection):
    def connect(self):
        self.sock = self._pinned_socket()


class _PinnedHTTPSConnection(_PinnedConnectionMixin, http.client.HTTPSConnection):
    def connect(self):
        sock = self._pinned_socket()
        try:
            # server_hostname is the URL's host: SNI and certificate checks use the name.
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class _HttpClientResponse:
    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 deadline: float):
        self._connection, self._response, self._deadline = connection, response, deadline
        self.status = response.status

    def header(self, name: str) -> str | None:
        return self._response.getheader(name)

    def read(self, size: int) -> bytes:
        _set_remaining_timeout(self._connection, self._deadline)
        # read1: at most one receive, so the deadline is checked between receives
        return self._response.read1(size)

    def close(self) -> None:
        self._response.close()
        self._connection.close()


def _set_remaining_timeout(connection: http.client.HTTPConnection, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the read timeout passed")
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


class HttpTransport:
    """The real transport: `http.client` over a socket to a pinned address."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None):
        self._ssl_context = ssl_context or ssl.create_default_context()

    def open(self, url: str, addresses: list[str], headers: dict[str, str], *,
             connect_timeout: float, read_timeout: float, method: str = "GET", body: bytes | None = None) -> Response:
        parts = urlsplit(url)
        # The port is always given: http.client would read the end of a bare IPv6 host as a port.
        if parts.scheme == "https":
            connection = _PinnedHTTPSConnection(parts.hostname, parts.port or 443, context=self._ssl_context)
        else:
            connection = _PinnedHTTPConnection(parts.hostname, parts.port or 80)
        connection._addresses, connection._connect_timeout = addresses, connect_timeout
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.connect()
            deadline = time.monotonic() + read_timeout
            _set_remaining_timeout(connection, deadline)
            connection.request(method, target, body=body, headers=headers)
            response = _headers_by(connection, deadline)
        except BaseException:
            connection.close()
            raise
        return _HttpClientResponse(connection, response, deadline)


def _headers_by(connection: http.client.HTTPConnection, deadline: float) -> http.client.HTTPResponse:
    """`getresponse()`, but the status line and headers must all arrive by `deadline`.

    A socket timeout bounds each receive, not the sum: a server dripping one header line at a
    time would hold us for as long as it likes. A timer shuts the socket at the deadline instead.
    """
    def shut() -> None:
        try:
            connection.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), shut)
    timer.daemon = True
    timer.start()
    try:
        return connection.getresponse()
    except (OSError, http.client.HTTPException):
        if time.monotonic() >= deadline:
            raise TimeoutError("the response headers did not arrive within the read timeout") from None
        raise
    finally:
        timer.cancel()


# ---------------------------------------------------------------------------------------------
# Cache


@dataclass
class _Entry:
    document: FetchedDocument
    fresh_until: datetime


class FetchCache:
    """In-memory, thread-safe cache of fetched documents, keyed by URL (and Accept).

    A response is kept unless it says `Cache-Control: no-store` or `no-cache` (we do not
    revalidate, so no-cache means: do not reuse). It is served while fresh: `max-age` seconds, or
    what `ttl_for` later sets (a status list's `ttl`); without either it is kept but not served.
    The fetcher never serves an entry older than its policy's `max_staleness`, whatever the headers
    said. At most `max_entries` documents are held; the least recently stored goes first.
    """

    def __init__(self, max_entries: int = 128):
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, url: str, accept: str, *, now: datetime, max_staleness: timedelta) -> FetchedDocument | None:
        with self._lock:
            entry = self._entries.get((url, accept))
            if entry is None:
                return None
            if now - entry.document.fetched_at > max_staleness:
                del self._entries[(url, accept)]
                return None
            return entry.document if now < entry.fresh_until else None

    def put(self, url: str, accept: str, document: FetchedDocument, fresh_for: timedelta) -> None:
        with self._lock:
            self._entries.pop((url, accept), None)
            self._entries[(url, accept)] = _Entry(document, document.fetched_at + fresh_for)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def ttl_for(self, url: str, seconds: float) -> None:
        """Keep what was fetched from `url` fresh for `seconds` after it was fetched (a status
        list's `ttl`, which is in milliseconds, divided by 1000). No-op when nothing is cached."""
        with self._lock:
            for (key_url, _accept), entry in self._entries.items():
                if key_url == url:
                    entry.fresh_until = entry.document.fetched_at + timedelta(seconds=max(seconds, 0))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache_lifetime(cache_control: str | None) -> timedelta | None:
    """How long a response may be reused: None for no-store/no-cache, zero without max-age."""
    directives = {}
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return None
    try:
        return timedelta(seconds=max(int(directives.get("max-age", "0")), 0))
    except (ValueError, OverflowError):
        return timedelta(0)


# ---------------------------------------------------------------------------------------------
# Fetcher


@dataclass
class _Budget:
    limit: int | None
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, url: str) -> None:
        with self.lock:
            if self.limit is not None and self.used >= self.limit:
                raise FetchLimitExceeded(f"not fetching {url}: the limit of {self.limit} fetches is spent")
            self.used += 1


class Fetcher:
    """Fetches documents by the rules of this module's docstring.

    A `Fetcher` made directly counts no budget (it is the long-lived, shared one); the verifier
    calls `budget()` once per verification and fetches through that view, which allows at most
    `max_fetches` HTTP requests (each redirect hop is one; cache hits are free).

    `resolve(host, port) -> [address, ...]` and `transport` are seams for tests; the defaults use
    the system resolver and `http.client`.
    """

    def __init__(self, policy: FetchPolicy = FetchPolicy(), *, clock: Callable[[], datetime] = utc_now,
                 cache: FetchCache | None = None, transport: Transport | None = None,
                 resolve: Callable[[str, int], Iterable[str]] = resolve_host):
        self.policy = policy
        self.cache = cache if cache is not None else FetchCache()
        self._clock = clock
        self._transport = transport or HttpTransport()
        self._resolve = resolve
        self._budget = _Budget(None)

    def budget(self) -> Fetcher:
        """A view sharing this fetcher's cache, with its own counter of `max_fetches` requests."""
        view = Fetcher(self.policy, clock=self._clock, cache=self.cache, transport=self._transport,
                       resolve=self._resolve)
        view._budget = _Budget(self.policy.max_fetches)
        return view

    def ttl_for(self, url: str, seconds: float) -> None:
        """See `FetchCache.ttl_for`; `max_staleness` still bounds it."""
        self.cache.ttl_for(url, seconds)

    def fetch_json(self, url: str) -> dict:
        """The JSON object at `url`. :raise FetchError: it cannot be had or is not a JSON object."""
        document = self.fetch(url, accept="application/json")
        try:
            value = strictjson.loads(document.body)
        except strictjson.JsonTextError as error:
            raise FetchError(f"{url} did not return JSON: {error.message}") from None
        if not isinstance(value, dict):
            raise FetchError(f"{url} did not return a JSON object")
        return value

    def fetch(self, url: str, *, accept: str = "application/json") -> FetchedDocument:
        """The document at `url`, from the cache while fresh. :raise FetchError: (subclasses say why)."""
        now = self._clock()
        cached = self.cache.get(url, accept, now=now, max_staleness=self.policy.max_staleness)
        if cached is not None:
            return cached
        document, cache_control = self._fetch_following_redirects(url, accept)
        lifetime = cache_lifetime(cache_control)
        if lifetime is not None:
            self.cache.put(url, accept, document, min(lifetime, self.policy.max_staleness))
        return document

    def check(self, url: str) -> None:
        """:raise FetchError: this fetcher would not send a request to `url` (FetchRefused: its
        rules forbid it; FetchError: its host does not resolve)."""
        self._check(url)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST `body` to `url` by the same rules as a fetch (the address checks, the pinned
        address, the timeouts), with `headers` added to ours; no redirect is followed. The answer's
        body is read (up to `max_bytes`) and dropped. Returns the answer's status.

        :raise FetchError: refused, unreachable, timed out (FetchTimeout), or too large an answer.
        """
        addresses = self._check(url)
        self._budget.spend(url)
        sent = {"User-Agent": USER_AGENT, "Connection": "close", **headers}
        try:
            response = self._transport.open(url, addresses, sent, connect_timeout=self.policy.connect_timeout,
                                            read_timeout=self.policy.read_timeout, method="POST", body=body)
        except TimeoutError:
            raise FetchTimeout(f"{url}: timed out") from None
        except ssl.SSLError as error:
            raise FetchError(f"{url}: TLS failed ({error.reason or error.__class__.__name__})") from None
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(f"{url}: {_describe(error)}") from None
        try:
            self._read_body(url, response)
        finally:
            response.close()
        return response.status

    def fetch_conditional(self, url: str, *, etag: str | None = None,
                          accept: str = "application/json") -> Conditional:
        """Fetch `url` anew (never from the cache), with If-None-Match when `etag` is known: a 304
        answer comes back as `not_modified`, with no document. The same rules as `fetch` apply.

        :raise FetchError: (subclasses say why)."""
        current = url
        extra = {"If-None-Match": etag} if etag else None
        for _hop in range(self.policy.max_redirects + 1):
            addresses = self._check(current)
            self._budget.spend(current)
            response = self._open(current, addresses, accept, extra)
            try:
                if response.status in REDIRECT_STATUSES:
                    location = response.header("Location")
                    if not location:
                        raise FetchStatusError(f"{current} redirected without a Location", response.status)
                    current = urljoin(current, location.strip())
                    continue
                cache_control = response.header("Cache-Control")
                if response.status == 304 and etag:
                    return Conditional(None, response.header("ETag") or etag, cache_control)
                if not 200 <= response.status < 300:
                    raise FetchStatusError(f"{current} answered HTTP {response.status}", response.status)
                body = self._read_body(current, response)
                document = FetchedDocument(current, response.header("Content-Type") or "", body, self._clock())
                return Conditional(document, response.header("ETag"), cache_control)
            finally:
                response.close()
        raise FetchRefused(f"{url}: more than {self.policy.max_redirects} redirects")

    def _fetch_following_redirects(self, url: str, accept: str) -> tuple[FetchedDocument, str | None]:
        answer = self.fetch_conditional(url, accept=accept)  # without an ETag, never a 304
        return answer.document, answer.cache_control

    def _check(self, url: str) -> list[str]:
        """The checked addresses to connect to for `url`. :raise FetchRefused: the policy forbids it."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchRefused(f"{url!r} is not a valid URL") from None
        if parts.scheme not in ("https", "http"):
            raise FetchRefused(f"{url}: only https URLs are fetched")
        if parts.scheme == "http" and not self.policy.allow_http_loopback:
            raise FetchRefused(f"{url}: only https URLs are fetched")
        if not parts.hostname:
            raise FetchRefused(f"{url!r} has no host")
        if parts.username is not None or parts.password is not None:
            raise FetchRefused(f"{url}: URLs with credentials are not fetched")
        try:
            addresses = list(self._resolve(parts.hostname, port))
        except (OSError, UnicodeError) as error:
            raise FetchError(f"{url}: cannot resolve {parts.hostname} ({error.__class__.__name__})") from None
        if not addresses:
            raise FetchError(f"{url}: {parts.hostname} resolves to no address")
        for address in addresses:
            loopback = _is_loopback(address)
            if parts.scheme == "http" and not loopback:
                raise FetchRefused(f"{url}: plain http is only allowed to loopback addresses")
            if loopback and self.policy.allow_http_loopback or self.policy.allow_private_addresses:
                continue
            reason = address_refusal(address)
            if reason:
                # The address itself is not named: it would tell a caller what internal names resolve to.
                raise FetchRefused(f"{url}: {parts.hostname} resolves to {reason}")
        return addresses

    def _open(self, url: str, addresses: list[str], accept: str, extra: dict[str, str] | None = None) -> Response:
        headers = {"Accept": accept, "User-Agent": USER_AGENT, "Connection": "close", **(extra or {})}
        try:
            return self._transport.open(url, addresses, headers, connect_timeout=self.policy.connect_timeout,
                                        read_timeout=self.policy.read_timeout)
        except TimeoutError:
            raise FetchTimeout(f"{url}: timed out") from None
        except ssl.SSLError as error:
            raise FetchError(f"{url}: TLS failed ({error.reason or error.__class__.__name__})") from None
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(f"{url}: {_describe(error)}") from None

    def _read_body(self, url: str, response: Response) -> bytes:
        limit = self.policy.max_bytes
        declared = response.header("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > limit:
            raise FetchTooLarge(f"{url}: {declared} bytes is more than the limit of {limit}")
        chunks, size = [], 0
        try:
            while True:
                chunk = response.read(min(CHUNK, limit + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise FetchTooLarge(f"{url}: the body is larger than the limit of {limit} bytes")
                chunks.append(chunk)
        except TimeoutError:
            raise FetchTimeout(f"{url}: timed out reading the body") from None
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(f"{url}: {_describe(error)}") from None
        return b"".join(chunks)


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, http.client.IncompleteRead):
        return "the body ended early"
    if isinstance(error, http.client.HTTPException):
        return f"not a valid HTTP response ({error.__class__.__name__})"
    return f"connection failed ({error.__class__.__name__})"
