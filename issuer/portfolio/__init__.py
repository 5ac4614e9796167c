"""The earner portfolio: /me and /p/<slug> (see views.py)."""

from __future__ import annotations

import hashlib

from flask import Flask
from limits import parse_many

from issuer.config import ConfigurationError
from issuer.throttle import Rule

SETTINGS = ("PORTFOLIO_LINK_MINUTES", "PORTFOLIO_SESSION_MINUTES", "PORTFOLIO_RENEWAL_WINDOW_DAYS")
LIMITS = ("THROTTLE_SIGN_IN", "THROTTLE_SIGN_IN_PER_EMAIL")


def init_app(app: Flask) -> None:
    """Register the pages and throttle sign-in requests: per address, and per email address asked
    for (so one address cannot be flooded with links from many places).

    :raise ConfigurationError: a setting cannot be used.
    """
    from issuer.portfolio import views

    for key in SETTINGS:
        value = app.config[key]
        if isinstance(value, str) and value.strip().isdigit():
            value = app.config[key] = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{key}={value!r} must be a whole number, 1 or more")
    for key in LIMITS:
        value = app.config[key]
        try:
            if not isinstance(value, str) or not value.strip():
                raise ValueError
            parse_many(value)
        except ValueError:
            raise ConfigurationError(f"{key}={value!r} is not a rate limit such as '10 per 10 minutes'") from None

    app.register_blueprint(views.bp)
    throttle = app.extensions["throttle"]
    throttle.add(Rule("sign-in-address", tuple(parse_many(app.config["THROTTLE_SIGN_IN"])), _asks_for_a_link))
    throttle.add(Rule("sign-in-email", tuple(parse_many(app.config["THROTTLE_SIGN_IN_PER_EMAIL"])), _asks_for_a_link,
                      key=_email_key))


def _asks_for_a_link(request) -> bool:
    return request.method == "POST" and request.endpoint == "portfolio.request_link"


def _email_key(request) -> str:
    # The counter's key never holds the address itself (the storage may be a shared Redis).
    email = (request.form.get("email") or "").strip().lower()
    return hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()
