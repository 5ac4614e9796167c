"""Throttling: how many requests a client may make, so abuse costs the abuser, not us.

Every limit is configuration (`THROTTLE_*`, see the README) and counts in one storage: memory by
default (per process), Redis when `THROTTLE_STORAGE_URI` says so (shared by every worker). A
request is counted by the rules that fit it:

- without a Bearer token (pages, the verify routes, the earner's management page): per address;
- with one (the API): per token and per address;
- answered 401 (a missing, wrong or revoked token): per address, much lower, so tokens cannot be
  guessed; once spent, the address gets 429 before its token is even looked at;
- a management link that does not exist (a 404 under /manage/): per address, so links cannot be
  guessed either;
- a verification by URL (we fetch for the caller): per address, lower than other verifications.

Other parts add rules of their own (`Throttle.add`: the portfolio's sign-in links) or count by
hand (`Throttle.counter`: the console's failed sign-ins).

The client's address is `request.remote_addr`: the connection's, or with `TRUSTED_PROXY_COUNT`
proxies in front, the one they put in X-Forwarded-For (see `trust_proxies` in issuer/__init__.py).

The `limits` library counts; this module only decides which rules a request meets. Each request
costs a few header lookups and one counter per rule it meets: every verification passes here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Request, Response, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException

from issuer.config import ConfigurationError
from issuer.errors import problem

VERIFY_ENDPOINTS = {"verifier.verify_api", "verifier.verify_page_post"}

LIMIT_KEYS = ("THROTTLE_PUBLIC", "THROTTLE_API_PER_TOKEN", "THROTTLE_API_PER_ADDRESS", "THROTTLE_AUTH_FAILURES",
              "THROTTLE_MANAGE_MISSES", "THROTTLE_VERIFY_URL")

log = logging.getLogger(__name__)

_ESCAPED_URL_LETTER = re.compile(rb"\\u00(?:75|72|6[cC])")


class SweptMemoryStorage(MemoryStorage):
    """limits' memory storage (what `memory://` means here), whose expired counters are dropped by
    the hits themselves, at most once a `sweep_seconds`, instead of by a timer thread.

    limits 5.8 starts a new `threading.Timer` at a hit whenever the previous one (10 ms) has ended,
    up to 100 thread starts a second in each process: measured at 16 threads each doing 4 ms of
    work a request, 0.15 ms of CPU per hit against 0.05 ms here. A counter is still checked for
    expiry at each read (by limits itself); the sweep only frees the memory of counters no client
    comes back to. tests/issuer/test_throttle.py checks that hits start no thread, so a limits
    release that renames what this overrides is noticed."""

    STORAGE_SCHEME = ["badges-memory"]

    def __init__(self, uri: str | None = None, *, sweep_seconds: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic, **options):
        super().__init__(uri, **options)
        self._sweep_seconds = sweep_seconds
        self._monotonic = monotonic
        self._next_sweep = monotonic() + sweep_seconds

    def _MemoryStorage__schedule_expiry(self) -> None:  # what each hit calls: replaces the timer
        now = self._monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_seconds
            self._MemoryStorage__expire_events()


class Counter:
    """Fixed-window counters in the configured storage, keyed by `(prefix, scope, key)`.

    A storage that stops answering (Redis down) must not take the service with it: counting moves
    to memory in this process, and the storage is tried again after 1, 2, 4 ... 64 seconds."""

    MAX_RETRY_SECONDS = 64

    def __init__(self, storage: Storage, key_prefix: str, *, monotonic: Callable[[], float] = time.monotonic):
        self._storage = storage
        self._primary = FixedWindowRateLimiter(storage)
        self._fallback: FixedWindowRateLimiter | None = None
        self._prefix = key_prefix
        self._monotonic = monotonic
        self._retry_at = 0.0
        self._retry_seconds = 1.0
        self._lock = threading.Lock()

    def hit(self, limit: RateLimitItem, scope: str, key: str) -> bool:
        """Count one; False when that made one too many."""
        return self._call("hit", limit, scope, key)

    def test(self, limit: RateLimitItem, scope: str, key: str) -> bool:
        """Whether one more would still be allowed (counts nothing)."""
        return self._call("test", limit, scope, key)

    def seconds_left(self, limit: RateLimitItem, scope: str, key: str) -> int:
        """Until the window of `limit` ends, at least 1."""
        reset_at = self._call("get_window_stats", limit, scope, key).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def _call(self, method: str, limit: RateLimitItem, scope: str, key: str):
        fallback = self._fallback
        if fallback is None or self._storage_is_back():
            try:
                return getattr(self._primary, method)(limit, self._prefix, scope, key)
            except Exception:  # noqa: BLE001 - whatever the storage's client raises
                fallback = self._give_up_on_storage()
        return getattr(fallback, method)(limit, self._prefix, scope, key)

    def _give_up_on_storage(self) -> FixedWindowRateLimiter:
        """The memory counters to use now (the request threads of a worker share them)."""
        with self._lock:
            if self._fallback is None:
                log.warning("throttling storage unreachable: counting in memory in this process", exc_info=True)
                self._fallback = FixedWindowRateLimiter(SweptMemoryStorage())
            else:
                self._retry_seconds = min(self._retry_seconds * 2, self.MAX_RETRY_SECONDS)
            self._retry_at = self._monotonic() + self._retry_seconds
            return self._fallback

    def _storage_is_back(self) -> bool:
        if self._monotonic() < self._retry_at:
            return False
        try:
            back = self._storage.check()
        except Exception:  # noqa: BLE001
            back = False
        if not back:
            self._give_up_on_storage()
            return False
        with self._lock:
            if self._fallback is not None:
                log.warning("throttling storage reachable again")
                self._fallback, self._retry_seconds = None, 1.0
        return True


@dataclass(frozen=True)
class Rule:
    """Limits a request counts against when `applies(request)`, per `key(request)`.

    With `counted_when`, only requests whose response meets it count (failed authentications), but
    once the limit is spent every request the rule applies to is refused."""

    scope: str
    limits: tuple[RateLimitItem, ...]
    applies: Callable[[Request], bool]
    key: Callable[[Request], str] = lambda request: request.remote_addr or "127.0.0.1"
    counted_when: Callable[[Response], bool] | None = None


class Throttle:
    def __init__(self, counter: Counter, rules: list[Rule]):
        self.counter = counter
        self._rules = [rule for rule in rules if rule.limits]

    def add(self, rule: Rule) -> None:
        if rule.limits:
            self._rules.append(rule)

    def check(self) -> Response | None:
        """Before a request: count it, or answer 429 when a limit is spent."""
        # Unrouted paths (a 404 of no view) and static files cost nothing worth counting.
        if request.endpoint is None or request.endpoint.rsplit(".", 1)[-1] == "static":
            return None
        deferred = []
        for rule in self._rules:
            if not rule.applies(request):
                continue
            key = rule.key(request)
            for limit in rule.limits:
                if rule.counted_when is not None:
                    allowed = self.counter.test(limit, rule.scope, key)
                    deferred.append((rule, limit, key))
                else:
                    allowed = self.counter.hit(limit, rule.scope, key)
                if not allowed:
                    return self._refusal(limit, rule.scope, key)
        g.throttle_deferred = deferred
        return None

    def count_deferred(self, response: Response) -> Response:
        """After a request: count it against the rules that count by the answer given."""
        for rule, limit, key in g.pop("throttle_deferred", ()):
            if rule.counted_when(response):
                self.counter.hit(limit, rule.scope, key)
        return response

    def _refusal(self, limit: RateLimitItem, scope: str, key: str) -> Response:
        wait = self.counter.seconds_left(limit, scope, key)
        response = problem(429, "rate_limited", "Too many requests",
                           f"too many requests (at most {limit}); try again in {wait} seconds")
        response.headers["Retry-After"] = str(wait)
        return response


def init_app(app: Flask) -> None:
    """:raise ConfigurationError: a limit or the storage cannot be used."""
    config = app.config
    _check(config)
    storage_uri = config["THROTTLE_STORAGE_URI"]
    storage = SweptMemoryStorage() if storage_uri.startswith("memory://") else storage_from_string(storage_uri)
    limits = {key: tuple(parse_many(config[key])) if config[key].strip() else () for key in LIMIT_KEYS}
    throttle = Throttle(Counter(storage, config["THROTTLE_KEY_PREFIX"]), [
        # Only a request that sends credentials can guess them; checked first, so a spent address
        # is refused before anything else counts it.
        Rule("auth-failures", limits["THROTTLE_AUTH_FAILURES"], lambda r: "Authorization" in r.headers,
             counted_when=lambda response: response.status_code == 401),
        Rule("manage-misses", limits["THROTTLE_MANAGE_MISSES"], lambda r: r.path.startswith("/manage/"),
             counted_when=lambda response: response.status_code == 404),
        Rule("public", limits["THROTTLE_PUBLIC"], lambda r: _bearer(r) is None),
        Rule("api-token", limits["THROTTLE_API_PER_TOKEN"], lambda r: _bearer(r) is not None, key=_token_key),
        Rule("api-address", limits["THROTTLE_API_PER_ADDRESS"], lambda r: _bearer(r) is not None),
        Rule("verify-url", limits["THROTTLE_VERIFY_URL"], _verifies_a_url),
    ])
    app.extensions["throttle"] = throttle
    if config["THROTTLE_ENABLED"]:
        app.before_request(throttle.check)
        app.after_request(throttle.count_deferred)


def _check(config) -> None:
    for key in LIMIT_KEYS:
        value = config[key]
        try:
            if not isinstance(value, str):
                raise ValueError("not a string")
            if value.strip():
                parse_many(value)
        except ValueError:
            raise ConfigurationError(f"{key}={value!r} is not a rate limit such as '300 per minute' "
                                     "(several separated by ';', or empty for none)") from None
    storage = config["THROTTLE_STORAGE_URI"]
    if not isinstance(storage, str) or not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise ConfigurationError(f"THROTTLE_STORAGE_URI={storage!r} must be memory:// or a redis:// URL")


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _token_key(request: Request) -> str:
    # The counter's key never holds the token itself (the storage may be a shared Redis).
    return hashlib.sha256((_bearer(request) or "").encode("utf-8", "surrogatepass")).hexdigest()


def _verifies_a_url(request: Request) -> bool:
    """A POST to the verify routes that asks us to fetch a URL (a JSON `url`, or the page's form
    with only a URL filled in)."""
    if request.method != "POST" or request.endpoint not in VERIFY_ENDPOINTS:
        return False
    try:
        return _asks_to_fetch(request)
    except HTTPException:
        # A body too large or unreadable is the route's to answer (413, 400).
        return False


def _asks_to_fetch(request: Request) -> bool:
    if request.mimetype == "application/json" or (request.mimetype or "").endswith("+json"):
        body = request.get_data(cache=True)
        # A key is "url" only if the body holds that string or an escape of one of its letters:
        # most bodies (a credential) are not parsed twice.
        if b'"url"' not in body and _ESCAPED_URL_LETTER.search(body) is None:
            return False
        # The standard parser, 6x faster than strictjson's: the route parses the body strictly anyway,
        # and every body strict JSON accepts has the same keys to both.
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return False  # refused as a bad body by the route itself
        return isinstance(parsed, dict) and "url" in parsed
    form = request.form
    return bool((form.get("url") or "").strip()) and not (form.get("credential") or "").strip() \
        and not (request.files.get("file") and request.files["file"].filename)
