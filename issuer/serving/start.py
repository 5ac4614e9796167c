"""What every server runs at start, in each process that serves: the checks, the app, the first start."""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

from flask import Flask

from issuer import create_app
from issuer.bootstrap import check_node, first_start
from issuer.config import ConfigurationError
from issuer.migrate import current_revision, head_revision
from issuer.nodes import check_keys
from issuer.serving.logs import install_redaction
from issuer.serving.settings import check, read_config
from keys import KeyLifecycleError


def say(line: str) -> None:
    """A start-up line on stderr, which every server and process manager keeps."""
    print(f"badges: {line}", file=sys.stderr, flush=True)


def start_app(defaults: dict | None = None, overrides: dict | None = None) -> Flask:
    """The checked app, after the first start: the default issuer, and a first admin token written
    to TOKEN_FILE when one is configured; otherwise this says how to make one (the token itself
    goes to no log). Safe in several processes starting at once.

    :raise ConfigurationError: a setting that would do harm, a database schema that is not up to
        date, or a node that is not one of its deployment's (another origin, another key-encryption
        key: see issuer.nodes.check_node); nothing is created then.
    """
    try:
        check(read_config(defaults, overrides))
        try:
            app = create_app(overrides, defaults=defaults)
        except KeyLifecycleError as error:  # a key-encryption key that is missing or unusable
            raise ConfigurationError(str(error)) from None
        install_redaction()
        engine = app.extensions["badges"].sessionmaker.kw["bind"]
        try:
            if current_revision(engine) != head_revision():
                raise ConfigurationError("the database schema is not up to date; run `badges db upgrade` first")
            check_node(app)  # the deployment's origin and key-encryption key
            token_file = app.config.get("TOKEN_FILE")
            try:
                started = first_start(
                    app.extensions["badges"], default_slug=app.config["DEFAULT_ISSUER_SLUG"],
                    default_name=app.config["DEFAULT_ISSUER_NAME"], make_token=False,
                    token_file=Path(token_file) if token_file else None,
                )
            except OSError as error:
                raise ConfigurationError(f"TOKEN_FILE cannot be written (nothing was created): {error}") from None
            if started.issuer is None:
                check_keys(app.extensions["badges"])  # a node starting at once may have made them
        except ConfigurationError:
            engine.dispose()  # the app is not served: close its connections now
            raise
    except ConfigurationError as error:
        say(str(error))  # one clear line, whatever the server prints after it
        raise
    # A clean exit of the process (gunicorn stopping a worker, too) writes the verifications
    # counted since the last flush; a SIGKILL loses them (see issuer.verification.VerificationCounts).
    atexit.register(app.extensions["verification_counts"].flush)
    if started.issuer is not None:
        say(f"created issuer {started.issuer.slug!r}: {started.issuer.did}")
    if started.admin_token is not None:
        say(f"the first instance admin token is in {token_file} (readable by its owner only)")
    if started.tokenless:
        say("there is no API token yet: create one with `badges token create` "
            "(or set BADGES_TOKEN_FILE and the first start writes one there)")
    return app


def check_deployment(defaults: dict | None = None, overrides: dict | None = None) -> None:
    """The checks of `start_app` that need the database (the schema, then this node's origin and
    key-encryption key: issuer.nodes.check_node), for a process that starts servers but serves
    nothing itself (gunicorn's master): so a node that is not its deployment's stops there, in one
    line, before any worker starts. Makes nothing but the origin record of a new database.

    :raise ConfigurationError: what is wrong, in one line.
    """
    from sqlalchemy.exc import OperationalError, TimeoutError as PoolTimeout

    from issuer.errors import database_reason

    try:
        app = create_app(overrides, defaults=defaults)
    except KeyLifecycleError as error:
        raise ConfigurationError(str(error)) from None
    engine = app.extensions["badges"].sessionmaker.kw["bind"]
    try:
        if current_revision(engine) != head_revision():
            raise ConfigurationError("the database schema is not up to date; run `badges db upgrade` first")
        check_node(app)
    except (OperationalError, PoolTimeout) as error:
        raise ConfigurationError(f"the database is unavailable: {database_reason(error)}") from None
    finally:
        engine.dispose()  # no connection may cross the fork into the workers
