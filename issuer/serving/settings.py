"""The serving configuration: read like the app's, checked at start, turned into gunicorn settings."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Config

from issuer.config import DEFAULTS, ConfigurationError

PRODUCTION, DEVELOPMENT = "production", "development"


def read_config(defaults: dict | None = None, overrides: dict | None = None) -> Config:
    """The configuration as `create_app` layers it: defaults, `<instance>/config.py`, BADGES_*,
    then `overrides` (what `badges serve` was told on its command line)."""
    instance_path = Path(os.environ.get("BADGES_INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    config = Config(str(instance_path))
    config.from_mapping({**DEFAULTS, **(defaults or {})})
    config.from_pyfile("config.py", silent=True)
    config.from_prefixed_env("BADGES")
    config.from_mapping(overrides or {})
    return config


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def environment(config) -> str:
    """`production` unless configured otherwise; a bad value is a ConfigurationError."""
    env = config.get("ENV") or PRODUCTION
    if env not in (PRODUCTION, DEVELOPMENT):
        raise ConfigurationError(f"ENV must be {PRODUCTION!r} or {DEVELOPMENT!r}, not {env!r}")
    return env


def check(config) -> None:
    """Refuse to start with settings that would do lasting harm. In production the base URL must be
    the public https origin: it goes into every identifier minted (did:web, credential ids), and
    those are signed and stored for good.

    :raise ConfigurationError: one line naming the setting and the fix.
    """
    certfile, keyfile = config.get("CERTFILE"), config.get("KEYFILE")
    if bool(certfile) != bool(keyfile):
        raise ConfigurationError("CERTFILE and KEYFILE go together: set both or neither")
    for path in filter(None, (certfile, keyfile)):
        if not os.path.isfile(path):
            raise ConfigurationError(f"there is no file {path!r} (CERTFILE/KEYFILE)")
    if environment(config) != PRODUCTION:
        return
    base_url = config.get("BASE_URL") or ""
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"BADGES_BASE_URL must be the service's public https origin in production (it is {base_url!r}); "
            "it goes into every identifier issued and cannot change later (for a local trial, set BADGES_ENV=development)"
        )


def _positive(config, key: str) -> int:
    value = config.get(key)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(value, bool):
        raise ConfigurationError(f"{key} must be a positive whole number, not {value!r}")
    return number


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def gunicorn_settings(config) -> dict:
    """Gunicorn settings from a checked configuration (see `check`), everything but `bind`.

    The worker is gunicorn's threaded one with a deadline on each request (see worker.py): a
    client that trickles its request holds one of many threads for REQUEST_TIMEOUT_SECONDS at most,
    where a sync worker would be held until the client finished.
    """
    workers = _positive(config, "WORKERS") if config.get("WORKERS") is not None else cores()
    return {
        "workers": workers,
        "worker_class": "issuer.serving.worker.DeadlineThreadWorker",
        "threads": _positive(config, "THREADS"),
        "timeout": _positive(config, "REQUEST_TIMEOUT_SECONDS"),
        "graceful_timeout": _positive(config, "REQUEST_TIMEOUT_SECONDS"),
        "keepalive": _positive(config, "KEEPALIVE_SECONDS"),
        "certfile": config.get("CERTFILE"),
        "keyfile": config.get("KEYFILE"),
        "accesslog": "-",
        "errorlog": "-",
        "logger_class": "issuer.serving.logs.RedactingLogger",
        # No gunicornc control socket: its default path is shared by every server of the user.
        "control_socket_disable": True,
    }
