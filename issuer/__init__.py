"""The credential service: app factory and composition root."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from issuer.config import DEFAULTS, ConfigurationError
from issuer.jsonprovider import StrictJSONProvider


def create_app(test_config: dict | None = None, *, services=None, defaults: dict | None = None) -> Flask:
    """Build the app. Configuration layers: defaults, the instance folder's config.py,
    BADGES_* environment variables, then `test_config`. `services` replaces what would be
    built from configuration (tests inject a clock or loader this way); `defaults` overrides
    the built-in defaults only (`badges serve --port` sets the base URL this way)."""
    instance_path = Path(
        (test_config or {}).get("INSTANCE_PATH") or os.environ.get("BADGES_INSTANCE_PATH") or Path.cwd() / "instance"
    ).resolve()
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.config.from_mapping({**DEFAULTS, **(defaults or {})})
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("BADGES")
    if test_config:
        app.config.from_mapping(test_config)
    app.json = StrictJSONProvider(app)

    from issuer import api, db, errors, headers, manage, openapi, pages, public, queue, throttle, vcapi, websession
    from issuer.console import bp as console_bp
    from issuer.watches import api as watches_api, pages as party_pages
    from issuer.webhooks import api as webhooks_api
    from issuer.batch import api as batch_api
    from issuer.pathways import api as pathways_api
    from issuer import portfolio
    from issuer.bootstrap import build_services
    from issuer.verification import VerificationCounts, build_verifier
    from verifier import http as verifier_http

    app.extensions["badges"] = services or build_services(app.config, instance_path)
    counts = app.extensions["verification_counts"] = VerificationCounts(app.extensions["badges"].sessionmaker)
    # Any request may find the counts due, so a quiet process does not keep them for long.
    app.teardown_request(lambda _error: counts.flush_if_due())
    verifier = build_verifier(app.config, app.extensions["badges"], counts)
    app.extensions["verifier"] = lambda: verifier
    queue.init_app(app)
    app.teardown_appcontext(db.close_session)
    errors.init_app(app)
    trust_proxies(app)
    throttle.init_app(app)
    websession.init_app(app, instance_path)
    app.register_blueprint(api.bp)
    app.register_blueprint(batch_api.bp)
    app.register_blueprint(pathways_api.bp)
    app.register_blueprint(webhooks_api.bp)
    app.register_blueprint(watches_api.bp)
    app.register_blueprint(party_pages.bp)
    pages.init_app(app)
    public.init_app(app)
    app.register_blueprint(manage.bp)
    app.register_blueprint(vcapi.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(verifier_http.bp)
    portfolio.init_app(app)
    app.register_blueprint(console_bp)
    headers.init_app(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind `TRUSTED_PROXY_COUNT` reverse proxies, take the client's address and scheme from the
    X-Forwarded-For/-Proto they set (exactly that many hops, never more): throttling counts by that
    address, and HSTS and secure cookies follow that scheme. With 0 those headers are ignored.

    :raise ConfigurationError: the count is not a whole number, 0 or more.
    """
    proxies = app.config["TRUSTED_PROXY_COUNT"]
    if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
        raise ConfigurationError(f"TRUSTED_PROXY_COUNT={proxies!r} must be a whole number, 0 or more")
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
