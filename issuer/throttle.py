"""Throttling: how many requests a client may make, so abuse costs the abuser, not us.

Every limit is configuration (`THROTTLE_*`, see the README) and counts in one storage: memory by
default (per process), Redis when `THROTTLE_STORAGE_URI` says so (shared by every worker). A
request is counted by the limits that fit it:

- without a Bearer token (pages, the verify routes, the earner's management page): per address;
- with one (the API): per token and per address;
- answered 401 (a missing, wrong or revoked token): per address, much lower, so tokens cannot be
  guessed; once spent, the address gets 429 before its token is even looked at;
- a management link that does not exist (a 404 under /manage/): per address, so links cannot be
  guessed either;
- a verification by URL (we fetch for the caller): per address, lower than other verifications.

The client's address is `request.remote_addr`: the connection's, or with `TRUSTED_PROXY_COUNT`
proxies in front, the one they put in X-Forwarded-For (see `trust_proxies` in issuer/__init__.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable

from flask import Flask, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.exceptions import HTTPException

from issuer.config import ConfigurationError
from issuer.errors import problem

VERIFY_ENDPOINTS = {"verifier.verify_api", "verifier.verify_page_post"}


LIMIT_KEYS = ("THROTTLE_PUBLIC", "THROTTLE_API_PER_TOKEN", "THROTTLE_API_PER_ADDRESS", "THROTTLE_AUTH_FAILURES",
              "THROTTLE_MANAGE_MISSES", "THROTTLE_VERIFY_URL")


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


def init_app(app: Flask) -> None:
    """:raise ConfigurationError: a limit or the storage cannot be used."""
    config = app.config
    _check(config)
    storage = config["THROTTLE_STORAGE_URI"]
    limiter = Limiter(
        get_remote_address,
        app=app,
        enabled=bool(config["THROTTLE_ENABLED"]),
        storage_uri="badges-memory://" if storage.startswith("memory://") else storage,
        strategy="fixed-window",
        # A storage that stops answering (Redis down) must not take the service with it.
        in_memory_fallback_enabled=True,
        key_prefix=config["THROTTLE_KEY_PREFIX"],
        application_limits=[
            ApplicationLimit(config["THROTTLE_PUBLIC"], scope="public", exempt_when=_has_token),
            ApplicationLimit(config["THROTTLE_API_PER_TOKEN"], scope="api-token", key_function=_token_key,
                             exempt_when=_has_no_token),
            ApplicationLimit(config["THROTTLE_API_PER_ADDRESS"], scope="api-address", exempt_when=_has_no_token),
            # Only a request that sends credentials can guess them.
            ApplicationLimit(config["THROTTLE_AUTH_FAILURES"], scope="auth-failures",
                             exempt_when=lambda: "Authorization" not in request.headers,
                             deduct_when=lambda response: response.status_code == 401),
            ApplicationLimit(config["THROTTLE_MANAGE_MISSES"], scope="manage-misses",
                             exempt_when=lambda: not request.path.startswith("/manage/"),
                             deduct_when=lambda response: response.status_code == 404),
            ApplicationLimit(config["THROTTLE_VERIFY_URL"], scope="verify-url",
                             exempt_when=lambda: not _verifies_a_url()),
        ],
    )
    app.extensions["throttle"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _throttled(error: RateLimitExceeded):
        limit = limiter.current_limit
        # The breached limit's window ends at window[0] (a Unix time).
        wait = max(1, math.ceil(limit.window[0] - time.time())) if limit is not None else 60
        response = problem(429, "rate_limited", "Too many requests",
                           f"too many requests (at most {error.description}); try again in {wait} seconds")
        response.headers["Retry-After"] = str(wait)
        return response


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


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _has_token() -> bool:
    return _bearer() is not None


def _has_no_token() -> bool:
    return _bearer() is None


def _token_key() -> str:
    # The counter's key never holds the token itself (the storage may be a shared Redis).
    return hashlib.sha256((_bearer() or "").encode("utf-8", "surrogatepass")).hexdigest()


def _verifies_a_url() -> bool:
    """A POST to the verify routes that asks us to fetch a URL (a JSON `url`, or the page's form
    with only a URL filled in)."""
    if request.method != "POST" or request.endpoint not in VERIFY_ENDPOINTS:
        return False
    try:
        return _asks_to_fetch()
    except HTTPException:
        # A body too large or unreadable is the route's to answer (413, 400); raised here, the
        # limiter would take it for a storage failure.
        return False


def _asks_to_fetch() -> bool:
    if request.mimetype == "application/json" or (request.mimetype or "").endswith("+json"):
        # The standard parser, 6x faster than strictjson's: the route parses the body strictly anyway,
        # and every body strict JSON accepts has the same keys to both.
        try:
            body = json.loads(request.get_data(cache=True))
        except (ValueError, RecursionError):
            return False  # refused as a bad body by the route itself
        return isinstance(body, dict) and "url" in body
    form = request.form
    return bool((form.get("url") or "").strip()) and not (form.get("credential") or "").strip() \
        and not (request.files.get("file") and request.files["file"].filename)
