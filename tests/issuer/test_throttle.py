"""Throttling, with limits set low on purpose, in memory and in Redis (127.0.0.1:6379): a throttled
client gets 429 with Retry-After and a problem body; public routes count per address, the API per
token and per address, failed authentication and management-link misses much lower, and
verification by URL on its own; the address behind a proxy is trusted only as far as configured."""

from __future__ import annotations

import threading
import uuid

import pytest

from issuer import create_app
from issuer.config import ConfigurationError
from issuer.throttle import SweptMemoryStorage
from tests.conftest import BASE_URL, make_token
from tests.issuer.problems import assert_problem

REDIS = "redis://127.0.0.1:6379/0"
ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.9"


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:
    return "memory://" if request.param == "memory" else REDIS


@pytest.fixture
def throttled(services, tmp_path, storage):
    """`throttled(**limits)`: an app whose limits are the given ones (all others off), counting
    under a key prefix of its own, so runs never share counters in Redis."""

    def build(**limits):
        config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
                  "THROTTLE_ENABLED": True, "THROTTLE_STORAGE_URI": storage,
                  "THROTTLE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
                  "THROTTLE_PUBLIC": "", "THROTTLE_API_PER_TOKEN": "", "THROTTLE_API_PER_ADDRESS": "",
                  "THROTTLE_AUTH_FAILURES": "", "THROTTLE_MANAGE_MISSES": "", "THROTTLE_VERIFY_URL": ""}
        config.update({f"THROTTLE_{name.upper()}": value for name, value in limits.items() if name != "proxies"})
        if "proxies" in limits:
            config["TRUSTED_PROXY_COUNT"] = limits["proxies"]
        return create_app(config, services=services).test_client()

    return build


def get(client, path: str, address: str = ADDRESS, **headers):
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": address})


def assert_throttled(response, limit_text: str) -> dict:
    """A 429 problem naming the limit, with Retry-After within the limit's window."""
    body = assert_problem(response, 429, "rate_limited")
    retry_after = int(response.headers["Retry-After"])
    window = 600 if "10 minute" in limit_text else 60
    assert 1 <= retry_after <= window
    assert limit_text in body["detail"] and f"{retry_after} seconds" in body["detail"]
    return body


def test_public_pages_count_per_address(throttled):
    client = throttled(public="3 per minute")
    assert [get(client, "/verify").status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(get(client, "/verify"), "3 per 1 minute")
    assert_throttled(get(client, "/issuers/nobody"), "3 per 1 minute")  # every public route, one count
    assert get(client, "/verify", OTHER_ADDRESS).status_code == 200


def test_a_forwarded_address_is_not_trusted_without_a_proxy(throttled):
    client = throttled(public="2 per minute")
    for spoofed in ("192.0.2.1", "192.0.2.2"):
        assert get(client, "/verify", **{"X-Forwarded-For": spoofed}).status_code == 200
    assert_throttled(get(client, "/verify", **{"X-Forwarded-For": "192.0.2.3"}), "2 per 1 minute")


def test_behind_one_proxy_the_address_it_forwards_counts(throttled):
    client = throttled(public="2 per minute", proxies=1)
    proxy = "10.0.0.2"
    for _ in range(2):
        assert get(client, "/verify", proxy, **{"X-Forwarded-For": "192.0.2.1"}).status_code == 200
    assert_throttled(get(client, "/verify", proxy, **{"X-Forwarded-For": "192.0.2.1"}), "2 per 1 minute")
    # Only the hop the proxy added is trusted: a client's own X-Forwarded-For entries change nothing.
    assert_throttled(get(client, "/verify", proxy, **{"X-Forwarded-For": "6.6.6.6, 192.0.2.1"}), "2 per 1 minute")
    assert get(client, "/verify", proxy, **{"X-Forwarded-For": "192.0.2.2"}).status_code == 200


def test_the_api_counts_per_token_and_per_address(throttled, services):
    client = throttled(api_per_token="3 per minute", api_per_address="5 per minute")
    first, second = make_token(services), make_token(services)
    for _ in range(3):
        assert get(client, "/api/v1/tokens", Authorization=f"Bearer {first}").status_code == 200
    assert_throttled(get(client, "/api/v1/tokens", Authorization=f"Bearer {first}"), "3 per 1 minute")
    # Another token from the same address has its own count, up to the address's limit (a refused
    # request counts for nothing).
    for _ in range(2):
        assert get(client, "/api/v1/tokens", Authorization=f"Bearer {second}").status_code == 200
    assert_throttled(get(client, "/api/v1/tokens", Authorization=f"Bearer {second}"), "5 per 1 minute")
    assert get(client, "/api/v1/tokens", OTHER_ADDRESS, Authorization=f"Bearer {make_token(services)}").status_code == 200


def test_bad_tokens_are_throttled_hard(throttled, services):
    client = throttled(auth_failures="5 per 10 minutes", api_per_address="1000 per minute")
    statuses = [get(client, "/api/v1/tokens", Authorization=f"Bearer bdg_guess{n}").status_code for n in range(300)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    # The address is refused before its token is looked at, even a good one; others are not.
    good = make_token(services)
    assert_throttled(get(client, "/api/v1/tokens", Authorization=f"Bearer {good}"), "5 per 10 minute")
    assert get(client, "/api/v1/tokens", OTHER_ADDRESS, Authorization=f"Bearer {good}").status_code == 200


def test_good_tokens_spend_no_failures(throttled, services):
    client = throttled(auth_failures="2 per 10 minutes")
    good = make_token(services)
    assert {get(client, "/api/v1/tokens", Authorization=f"Bearer {good}").status_code for _ in range(10)} == {200}


def test_guessing_management_links_is_throttled(throttled):
    client = throttled(manage_misses="3 per 10 minutes")
    for _ in range(3):
        response = get(client, f"/manage/{uuid.uuid4().hex}", Accept="application/json")
        assert_problem(response, 404, "management_link_not_found")
    assert_throttled(get(client, f"/manage/{uuid.uuid4().hex}", Accept="application/json"), "3 per 10 minute")
    assert get(client, "/verify").status_code == 200  # the rest of the site is still there


def test_verification_by_url_has_its_own_limit(throttled):
    client = throttled(verify_url="2 per minute")
    by_url = {"url": "https://127.0.0.1/credential.json"}  # refused by the fetcher: no request made

    def post(body=None, data=None):
        return client.post("/api/v1/verify" if body else "/verify", json=body, data=data,
                           environ_base={"REMOTE_ADDR": ADDRESS})

    assert [post(by_url).status_code, post(data=by_url).status_code] == [200, 200]
    assert_throttled(post(by_url), "2 per 1 minute")
    assert_throttled(post(data=by_url), "2 per 1 minute")
    # A credential given inline is not a fetch: not counted, not refused.
    assert post({"credential": {"not": "a credential"}}).status_code == 200
    assert post(data={"credential": '{"not": "a credential"}'}).status_code == 200


@pytest.mark.parametrize("key", [b"\\u0075rl", b"ur\\u006C", b"\\u0075\\u0072\\u006c"])
def test_a_url_key_spelt_with_escapes_is_a_verification_by_url(throttled, key):
    client = throttled(verify_url="1 per minute")
    escaped = b'{"' + key + b'": "https://127.0.0.1/credential.json"}'  # {"url": ...} to any JSON parser

    def post():
        return client.post("/api/v1/verify", data=escaped, content_type="application/json",
                           environ_base={"REMOTE_ADDR": ADDRESS})

    assert post().status_code == 200
    assert_throttled(post(), "1 per 1 minute")


@pytest.mark.parametrize(("key", "value"), [
    ("THROTTLE_PUBLIC", "lots"), ("THROTTLE_AUTH_FAILURES", 5), ("TRUSTED_PROXY_COUNT", -1),
    ("TRUSTED_PROXY_COUNT", "1"), ("THROTTLE_STORAGE_URI", "memcached://127.0.0.1"),
])
def test_unusable_settings_are_refused_at_start(services, tmp_path, key, value):
    with pytest.raises(ConfigurationError, match=key):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), key: value}, services=services)


def test_bodies_too_large_are_the_routes_to_refuse(throttled, storage):
    """Reading an oversized body to see whether it asks for a URL must not count as a storage
    failure (which would move the counts from Redis into memory): the route answers 413."""
    client = throttled(verify_url="2 per minute")
    huge = b'{"url": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    for path, data, content_type in (("/api/v1/verify", huge, "application/json"),
                                     ("/verify", b"url=" + b"x" * (2 * 1024 * 1024), "application/x-www-form-urlencoded")):
        response = client.post(path, data=data, content_type=content_type, environ_base={"REMOTE_ADDR": ADDRESS})
        assert_problem(response, 413, "payload_too_large")
    by_url = {"url": "https://127.0.0.1/credential.json"}
    for _ in range(2):
        assert client.post("/api/v1/verify", json=by_url, environ_base={"REMOTE_ADDR": ADDRESS}).status_code == 200
    assert_throttled(client.post("/api/v1/verify", json=by_url, environ_base={"REMOTE_ADDR": ADDRESS}), "2 per 1 minute")
    if storage == REDIS:
        import redis

        prefix = client.application.config["THROTTLE_KEY_PREFIX"]
        connection = redis.Redis.from_url(REDIS)
        try:
            assert connection.keys(f"*{prefix}*"), "the counts are in Redis"
        finally:
            connection.close()


def test_an_unreachable_redis_does_not_take_the_service_down(services, tmp_path):
    """Nothing listens on port 1: counting goes on in memory, and nothing answers 5xx."""
    client = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
                         "THROTTLE_ENABLED": True, "THROTTLE_STORAGE_URI": "redis://127.0.0.1:1/0",
                         "THROTTLE_PUBLIC": "2 per minute"}, services=services).test_client()
    assert [get(client, "/verify").status_code for _ in range(2)] == [200, 200]
    assert_throttled(get(client, "/verify"), "2 per 1 minute")


def test_the_memory_storage_sweeps_expired_counters_without_a_thread_per_hit():
    ticks = [0.0]
    storage = SweptMemoryStorage(monotonic=lambda: ticks[0])
    storage.timer.join()  # limits starts one timer when the storage is made
    threads = threading.active_count()
    for _ in range(3):
        storage.incr("gone", expiry=0)  # expired as soon as it is counted
    assert threading.active_count() == threads  # limits alone would have a new timer running now
    assert "gone" in storage.storage
    ticks[0] = 1.0
    storage.incr("kept", expiry=60)  # the first hit after a sweep interval sweeps
    assert "gone" not in storage.storage and storage.get("kept") == 1
    assert threading.active_count() == threads
