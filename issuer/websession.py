"""Sessions and CSRF for the pages people sign in to (the admin console, the earner portfolio).

- The session is Flask's signed cookie, signed with SECRET_KEY: from configuration
  (BADGES_SECRET_KEY), else read from, or on first start written to, <instance>/secret-key (mode
  0600), like the key-encryption key. Every node of a deployment must share it (set
  BADGES_SECRET_KEY, or copy the file): a session signed by one node is then valid on the others.
- The cookie is HttpOnly, SameSite=Lax, and Secure whenever the request came over https (directly
  or through a trusted proxy, see TRUSTED_PROXY_COUNT) or BASE_URL is https.
- CSRF: Flask-WTF's CSRFProtect is set up here but checks nothing by default (the JSON API, the
  /verify form and the earners' management links carry no session, so there is nothing to
  forge); a blueprint whose forms act with a session calls `protect_forms(bp)`, which checks the
  `csrf_token` field of every POST, PUT, PATCH and DELETE it receives.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from flask import Blueprint, Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from issuer.config import ConfigurationError

SECRET_KEY_FILE_NAME = "secret-key"
csrf = CSRFProtect()


class _SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask, instance_path: Path) -> None:
    """:raise ConfigurationError: SECRET_KEY is too short, or its file cannot be used."""
    config = app.config
    key = config.get("SECRET_KEY") or _load_or_create(instance_path)
    if len(key) < 32:
        raise ConfigurationError("SECRET_KEY must be at least 32 characters (e.g. `python3 -c 'import secrets; "
                                 "print(secrets.token_urlsafe(32))'`)")
    config["SECRET_KEY"] = key
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_NAME"] = "badges_session"
    config.setdefault("SESSION_COOKIE_SECURE", False)
    if str(config.get("BASE_URL", "")).startswith("https://"):
        config["SESSION_COOKIE_SECURE"] = True
    config["WTF_CSRF_CHECK_DEFAULT"] = False
    config.setdefault("WTF_CSRF_TIME_LIMIT", 3600 * 8)
    app.session_interface = _SessionInterface()
    csrf.init_app(app)


def protect_forms(bp: Blueprint) -> None:
    """Check the CSRF token of every state-changing request to `bp`."""

    @bp.before_request
    def _check_csrf():
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            csrf.protect()


def _load_or_create(instance_path: Path) -> str:
    path = Path(instance_path) / SECRET_KEY_FILE_NAME
    try:
        return _read_or_write(path)
    except OSError as error:
        raise ConfigurationError(f"cannot read or create {path} ({error.strerror}): set BADGES_SECRET_KEY, the same "
                                 "on every node") from None


def _read_or_write(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # As for the key-encryption key: written whole, then linked into place, so that two
        # processes starting at once use one key.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    if path.stat().st_mode & 0o077:
        raise ConfigurationError(f"{path} must be readable by its owner only (chmod 600 {path})")
    return path.read_text().strip()
