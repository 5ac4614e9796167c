"""The `badges` command."""

from __future__ import annotations

import sys
from datetime import timezone
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, TimeoutError as PoolTimeout

from issuer import create_app
from issuer.config import ConfigurationError
from issuer.db import transaction
from issuer.errors import database_reason
from issuer.migrate import current_revision, head_revision, upgrade
from issuer import audit
from issuer.models import Achievement, ApiToken, Issuer, is_id
from keys import KeyLifecycleError
from verifier.cli import verify


def _app(*, migrating: bool = False, **defaults):
    """The app, with the embedded SQLite database brought up to date (PostgreSQL is upgraded
    explicitly, by `badges db upgrade`, where deployments control when schema changes run)."""
    try:
        app = create_app(defaults=defaults)
    except (KeyLifecycleError, ConfigurationError) as error:  # e.g. a malformed key-encryption key
        raise click.ClickException(str(error)) from None
    engine = _engine(app)
    # Close the pooled connections when the command ends, not whenever they are garbage-collected.
    click.get_current_context().call_on_close(engine.dispose)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    elif not migrating and current_revision(engine) != head_revision():
        raise click.ClickException("the database schema is not up to date; run `badges db upgrade` first")
    return app


def _minting_app():
    """The app for a command that mints identifiers (an issuer's did:web, credential ids, status
    lists): only under the deployment's origin (see issuer.nodes)."""
    from issuer.nodes import check_origin

    app = _app()
    try:
        check_origin(_services(app))
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    return app


def _services(app):
    return app.extensions["badges"]


def _engine(app):
    return _services(app).sessionmaker.kw["bind"]


def _issuer(session, slug: str) -> Issuer:
    issuer = session.scalar(select(Issuer).where(Issuer.slug == slug))
    if issuer is None:
        raise click.ClickException(f"there is no issuer {slug!r}")
    return issuer


class _Commands(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (OperationalError, PoolTimeout) as error:
            # One line instead of a traceback: the database is down, unreachable, or too slow.
            raise click.ClickException(f"the database is unavailable: {database_reason(error)}") from None


@click.group(cls=_Commands)
def main():
    """Issue, verify and manage Open Badges 3.0 credentials."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="werkzeug's development server instead of gunicorn; http on loopback allowed")
@click.option("--workers", type=int, help="worker processes [default: WORKERS, else one per CPU core]")
@click.option("--threads", type=int, help="threads per worker [default: THREADS, 32]")
@click.option("--certfile", type=click.Path(dir_okay=False), help="serve https with this PEM certificate (chain)")
@click.option("--keyfile", type=click.Path(dir_okay=False), help="the certificate's PEM private key")
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="write the first instance admin token to this file (mode 0600) instead of printing it")
@click.option("--no-worker", is_flag=True,
              help="start no task-queue worker (run `badges worker` yourself, e.g. on another machine)")
def serve(host, port, dev, workers, threads, certfile, keyfile, token_file, no_worker):
    """Start the service (creating the database, keys and first token on a fresh instance).

    Gunicorn serves it with WORKERS processes of THREADS threads; --dev runs werkzeug's
    development server instead. Production (any host but loopback, or BADGES_ENV=production)
    requires BADGES_BASE_URL to be the public https origin.
    """
    from issuer.bootstrap import check_node, first_start
    from issuer.serving.settings import DEVELOPMENT, PRODUCTION, check, gunicorn_settings, is_loopback, read_config

    given = {"WORKERS": workers, "THREADS": threads, "CERTFILE": certfile, "KEYFILE": keyfile, "TOKEN_FILE": token_file}
    overrides = {key: value for key, value in given.items() if value is not None}
    # Without BASE_URL, identifiers name this server itself: https when it serves TLS.
    scheme = "https" if read_config(overrides=overrides).get("CERTFILE") else "http"
    defaults = {
        "BASE_URL": f"{scheme}://{host}:{port}",
        "ENV": DEVELOPMENT if dev or is_loopback(host) else PRODUCTION,
    }
    try:
        config = read_config(defaults, overrides)
        check(config)
        settings = None if dev else gunicorn_settings(config)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    app = _app(**defaults)
    app.config.from_mapping(overrides)
    services = _services(app)
    try:
        check_node(app)  # the deployment's origin and key-encryption key, before anything is made
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    try:
        started = first_start(
            services, default_slug=app.config["DEFAULT_ISSUER_SLUG"], default_name=app.config["DEFAULT_ISSUER_NAME"],
            token_file=Path(app.config["TOKEN_FILE"]) if app.config.get("TOKEN_FILE") else None,
        )
    except OSError as error:
        raise click.ClickException(f"the token file cannot be written (nothing was created): {error}") from None
    if started.issuer is None:
        from issuer.nodes import check_keys

        try:
            check_keys(services)  # the first issuer may come from a node that started at the same time
        except ConfigurationError as error:
            raise click.ClickException(str(error)) from None
    if started.issuer is not None:
        click.echo(f"Created issuer {started.issuer.slug!r}: {started.issuer.did}")
    if started.admin_token is not None and app.config.get("TOKEN_FILE"):
        click.echo(f"Instance admin token written to {app.config['TOKEN_FILE']} (readable by its owner only)")
    elif started.admin_token is not None:
        click.echo("Instance admin token (shown once; store it now):")
        click.echo(started.admin_token)
    click.echo(f"Instance folder: {app.instance_path}")
    if not no_worker:
        _start_worker(app)
    if dev:
        _serve_dev(app, host, port, certfile=app.config.get("CERTFILE"), keyfile=app.config.get("KEYFILE"))
        return
    # The workers build their own app: connections of this process must not cross the fork.
    _engine(app).dispose()
    from issuer.serving.server import GunicornServer
    from issuer.serving.start import start_app

    click.echo(f"Serving on {scheme}://{host}:{port} with gunicorn: {settings['workers']} worker(s) "
               f"of {settings['threads']} threads", err=True)
    GunicornServer({**settings, "bind": [f"{host}:{port}"]}, lambda: start_app(defaults, overrides)).run()


def _start_worker(app) -> None:
    """`badges worker` as a child process, with this server's base URL and instance folder; it is
    stopped when the server stops."""
    import atexit
    import os
    import subprocess

    env = {**os.environ, "BADGES_BASE_URL": app.config["BASE_URL"], "BADGES_INSTANCE_PATH": app.instance_path}
    child = subprocess.Popen([sys.executable, "-c", "from issuer.cli import main; main()", "worker"], env=env,
                             preexec_fn=_stop_with_parent)
    click.echo(f"Task-queue worker started (pid {child.pid})", err=True)

    def stop():
        # SIGTERM stops huey's consumer at once; a job it was running is found again by the next
        # worker's sweep. Not waited for long: the server's own shutdown must stay quick.
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass

    atexit.register(stop)


def _stop_with_parent() -> None:
    """In the worker child, before it starts: on Linux, SIGTERM it when the server dies, however
    the server dies (a SIGKILL runs no atexit)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@main.command()
@click.option("--workers", type=int, help="worker threads [default: QUEUE_WORKERS, 2]")
def worker(workers):
    """Run the task queue's worker: webhook deliveries, award emails and reminders, expiry events.

    The queue is huey's SQLite storage in the instance folder, or Redis with BADGES_QUEUE_URL.
    Stop it with Ctrl-C (SIGINT) or SIGTERM.
    """
    import logging

    if not logging.getLogger().hasHandlers():
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = _app()
    count = workers if workers is not None else int(app.config.get("QUEUE_WORKERS") or 2)
    if count < 1:
        raise click.ClickException("--workers must be at least 1")
    try:
        consumer = app.extensions["queue"].consumer(workers=count)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    consumer.run()


@main.group("party")
def party_group():
    """Relying parties (employers): they verify, and keep their own webhook endpoints."""


@party_group.command("create")
@click.argument("name")
@click.option("--email", default=None, help="where the party is told when one of its webhook endpoints is disabled")
def party_create(name, email):
    """Create a relying party; its token is printed alone on the last line, once."""
    from marshmallow import ValidationError

    from issuer.auth import create_party
    from schemas.hooks import PartyCreateSchema

    try:
        data = PartyCreateSchema().load({"name": name.strip(), "email": email})
    except ValidationError as error:
        raise click.ClickException("; ".join(f"{field}: {' '.join(map(str, messages))}"
                                             for field, messages in error.messages.items())) from None
    name = data["name"]
    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        with transaction(session):
            party, _, plain = create_party(session, name=name, email=data["email"], by=None, now=services.clock())
    click.echo(f"Relying party {name!r}: {party.id}")
    click.echo("Its token (store it now; it is not shown again):")
    click.echo(plain)


def _serve_dev(app, host, port, *, certfile, keyfile):
    from werkzeug.serving import run_simple

    from issuer.serving.logs import install_redaction

    install_redaction()
    run_simple(host, port, app, threaded=True, ssl_context=(certfile, keyfile) if certfile else None)
    app.extensions["verification_counts"].flush()  # stopped with Ctrl-C: keep the last counts


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Apply every pending migration."""
    app = _app(migrating=True)
    upgrade(_engine(app))
    click.echo("database is up to date")


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup(path):
    """Write the database and the key-encryption key to one new file (a consistent snapshot, taken
    while the service runs). Keep it as safe as the key itself: it opens every issuer key."""
    from pathlib import Path

    from issuer.backup import BackupError, configured_kek, write_backup

    app = _app()
    services = _services(app)
    try:
        summary = write_backup(_engine(app), configured_kek(app.config, Path(app.instance_path)), Path(path),
                               now=services.clock())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup written to {path}: {summary.total} rows of {len(summary.rows)} tables, schema "
               f"{summary.revision}, and the key-encryption key")
    click.echo("it holds the key-encryption key: keep it private, and apart from the database it backs up")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Replace everything in a database that is not empty.")
def restore(path, replace):
    """Restore a backup made by `badges backup` into this instance: its database (brought to this
    release's schema first) and its key-encryption key. Refuses a database that is not empty
    unless --replace is given."""
    from pathlib import Path

    from issuer.backup import BackupError, backup_kek, check_kek_target, install_kek, restore_backup

    app = _app(migrating=True)
    engine = _engine(app)
    try:
        check_kek_target(backup_kek(Path(path)), app.config)
        upgrade(engine)
        summary, kek_text = restore_backup(engine, Path(path), replace=replace)
        where = install_kek(kek_text, app.config, Path(app.instance_path))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored {summary.total} rows of {len(summary.rows)} tables; key-encryption key: {where}")


@main.group("issuer")
def issuer_group():
    """Issuer profiles."""


@issuer_group.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--url", required=True)
@click.option("--email")
@click.option("--description")
@click.option("--did-method", type=click.Choice(["web", "key"]), default="web", show_default=True)
@click.option("--key-type", type=click.Choice(["Ed25519", "P-256", "P-384"]), default="Ed25519", show_default=True,
              help="Ed25519 signs with eddsa-rdfc-2022; P-256 and P-384 with ecdsa-rdfc-2019")
def issuer_create(**options):
    """Create an issuer with its first signing key; prints its DID."""
    from marshmallow import ValidationError

    from issuer.bootstrap import create_issuer
    from schemas.issuer import IssuerCreateSchema

    try:
        data = IssuerCreateSchema().load({k: v for k, v in options.items() if v is not None})
    except ValidationError as error:
        raise click.ClickException(f"invalid issuer: {error.messages}") from None
    app = _minting_app()
    services = _services(app)
    with services.sessionmaker() as session:
        if session.scalar(select(Issuer.id).where(Issuer.slug == data["slug"])):
            raise click.ClickException(f"an issuer with slug {data['slug']!r} exists already")
        with transaction(session):
            issuer = create_issuer(services, session, **data)
            audit.issuer_created(session, issuer, token=None)
        click.echo(issuer.did)


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.option("--issuer", "slug", help="scope the token to this issuer; without it the token acts on the whole instance")
@click.option("--label", help="a note saying what the token is for")
def token_create(slug, label):
    """Create a token. It is printed alone on the last line, once."""
    from issuer.auth import create_token

    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        issuer = _issuer(session, slug) if slug else None
        with transaction(session):
            created, plain = create_token(session, issuer=issuer, label=label, now=services.clock())
            audit.token_created(session, created, by=None)
    scope = f"issuer {slug!r}" if slug else "the whole instance"
    click.echo(f"Token for {scope} (store it now; it is not shown again):")
    click.echo(plain)


@token.command("list")
@click.option("--issuer", "slug", help="only the tokens scoped to this issuer")
def token_list(slug):
    """List tokens (never the tokens themselves): id, scope, created, revoked, label."""
    app = _app()
    with _services(app).sessionmaker() as session:
        statement = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
        if slug:
            statement = statement.where(ApiToken.issuer_id == _issuer(session, slug).id)
        for row in session.scalars(statement):
            scope = row.issuer.slug if row.issuer else f"(party {row.party_id})" if row.party_id else "(instance)"
            revoked = f"revoked {row.revoked_at.isoformat()}" if row.revoked_at else "active"
            click.echo("\t".join([row.id, scope, row.created_at.isoformat(), revoked, row.label or ""]))


@token.command("revoke")
@click.argument("token_id")
@click.option("--reason", help="why; kept in the audit log")
def token_revoke(token_id, reason):
    """Revoke a token by its id; it is refused from its next request on."""
    from issuer.auth import revoke_token
    from issuer.errors import ApiError

    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        row = _row(session, ApiToken, token_id, "token")
        try:
            with transaction(session):
                revoke_token(session, row, reason=reason, by=None, now=services.clock())
        except ApiError as error:
            raise click.ClickException(error.detail) from None
    click.echo(f"revoked {token_id}")


@main.group("user")
def user_group():
    """People who sign in to the console at /admin."""


@user_group.command("password")
@click.argument("email")
def user_password(email):
    """Set a console user's password (their other sessions end), read as by `user create`."""
    from issuer.models import User
    from issuer.people.accounts import AccountError, normal_email, set_password

    password = _read_password()
    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        try:
            with transaction(session):
                user = session.scalar(select(User).where(User.email == normal_email(email)))
                if user is None:
                    raise click.ClickException(f"there is no user {email}")
                set_password(user, password)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Password of {user.email} changed")


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@user_group.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="an instance admin (may do everything, at every issuer)")
@click.option("--issuer", "slug", help="give a role at this issuer (with --role)")
@click.option("--role", type=click.Choice(["owner", "editor", "viewer"]), help="the role at --issuer")
def user_create(email, admin, slug, role):
    """Create a console user. The password is asked for (twice) on a terminal, else read from
    the first line of standard input."""
    from issuer.people.accounts import AccountError, create_user

    if bool(slug) != bool(role):
        raise click.ClickException("give --issuer and --role together")
    password = _read_password()
    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        issuer = _issuer(session, slug) if slug else None
        try:
            with transaction(session):
                user = create_user(session, email, password, now=services.clock(), is_admin=admin, issuer=issuer,
                                   role=role)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        what = "an instance admin" if admin else (f"{role} at {slug}" if slug else "no role yet")
        click.echo(f"User {user.email} created ({what}); sign in at {services.urls.base_url}/admin")


@main.group()
def keys():
    """Signing keys."""


@keys.command("rotate")
@click.option("--issuer", "slug", required=True)
def keys_rotate(slug):
    """Retire the issuer's signing key and make a new one; old public keys stay published."""
    from issuer.errors import ApiError

    app = _minting_app()
    services = _services(app)
    with services.sessionmaker() as session:
        issuer = _issuer(session, slug)
        now = services.clock()
        try:
            with transaction(session):
                key = services.keystore(session).rotate(issuer, now=now)
                audit.key_rotated(session, issuer, key, token=None, at=now)
        except ApiError as error:
            raise click.ClickException(error.detail) from None
        click.echo(key.verification_method)


@main.group()
def kek():
    """The key-encryption key that seals every issuer's private keys in the database."""


@kek.command("rotate")
@click.option("--new-key-file", required=True, type=click.Path(dir_okay=False),
              help="the new key: read from this file if it exists, else made and written there (mode 0600) first")
def kek_rotate(new_key_file):
    """Re-seal every issuer private key with a new key-encryption key, in one transaction.

    The new key is written to --new-key-file before anything changes, so an interrupted rotation
    loses nothing: the database holds the old sealing (before the commit) or the new one, and
    running the command again with the same file finishes it. A node that uses the instance
    folder's key file gets the new key there; with BADGES_KEY_ENCRYPTION_KEY(_FILE), give every
    node the new key and restart it.
    """
    import os

    from issuer.bootstrap import write_private_file
    from issuer.nodes import rotate_key_encryption_key
    from keys import KeyEncryptionKey
    from keys.encryption import KEK_FILE_NAME, read_key_file

    app = _app()
    services = _services(app)
    path = Path(new_key_file)
    try:
        if path.exists():
            new = read_key_file(path, setting="--new-key-file", allowed_mode=0)
            click.echo(f"new key-encryption key read from {path}")
        else:
            text = KeyEncryptionKey.generate_text()
            write_private_file(path, text + "\n")
            with open(path, "rb") as written:  # on disk before any key is sealed with it
                os.fsync(written.fileno())
            new = KeyEncryptionKey.from_text(text)
            click.echo(f"new key-encryption key written to {path} (readable by its owner only)")
    except (KeyLifecycleError, OSError) as error:
        raise click.ClickException(f"--new-key-file: {error}") from None
    try:
        done = rotate_key_encryption_key(services, new)
    except KeyLifecycleError as error:
        raise click.ClickException(f"nothing was changed: {error}") from None
    click.echo(f"re-sealed {done.resealed} signing key(s)"
               + (f" ({done.already} had the new key already)" if done.already else ""))
    if app.config.get("KEY_ENCRYPTION_KEY") or app.config.get("KEY_ENCRYPTION_KEY_FILE"):
        click.echo(f"now give every node the new key (BADGES_KEY_ENCRYPTION_KEY, or BADGES_KEY_ENCRYPTION_KEY_FILE "
                   f"naming a copy of {path}) and restart it: a node with the old key refuses to start")
        return
    instance_file = Path(app.instance_path) / KEK_FILE_NAME
    write_private_file(instance_file, path.read_text())
    click.echo(f"{instance_file} holds the new key; copy it to every other node and restart them")


@main.group()
def origin():
    """The public origin every identifier of the deployment is minted under."""


@origin.command("show")
def origin_show():
    """Print the deployment's origin (recorded at the first start)."""
    from issuer.nodes import recorded_origin

    app = _app()
    with _services(app).sessionmaker() as session:
        click.echo(recorded_origin(session) or "(none recorded yet: the first `badges serve` records its origin)")


@origin.command("move")
@click.argument("new")
def origin_move(new):
    """Move the deployment to the origin NEW (https://...). Possible only before any credential was
    issued: a credential's id, its status lists and its issuer's did:web document are signed to be
    read at the origin it was issued under, so after that the move is refused. Then set
    BADGES_BASE_URL=NEW on every node and restart them."""
    from issuer.nodes import OriginMoveRefused, move_origin

    app = _app()
    services = _services(app)
    try:
        dids = move_origin(services, new, now=services.clock())
    except OriginMoveRefused as error:
        raise click.ClickException(f"the origin was not moved: {error}") from None
    for did in dids:
        click.echo(f"issuer {did}")
    click.echo(f"the deployment's origin is now {new.rstrip('/')}: set BADGES_BASE_URL={new.rstrip('/')} on every "
               "node and restart them")


@main.command()
@click.option("--dry-run", is_flag=True, help="only list what is due; record and send nothing")
def notify(dry_run):
    """Send the award emails and expiry reminders that are due; safe to run from cron.

    Prints how many were sent, failed and skipped, and exits non-zero when a send failed (the
    next run tries it again). Overlapping runs never send the same email twice.
    """
    import logging

    from issuer import notify as notifications

    # Our progress lines and, without SMTP_HOST, the mails themselves go to stderr, unless the
    # process has set up logging already.
    if not logging.getLogger().hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logging.getLogger("issuer").addHandler(handler)
        logging.getLogger("issuer").setLevel(logging.INFO)

    app = _app()
    try:
        settings = notifications.settings_from_config(app.config)
        transport = notifications.transport_from_config(app.config)
    except notifications.ConfigError as error:
        raise click.ClickException(str(error)) from None
    services = _services(app)
    if dry_run:
        planned = notifications.preview(services, settings, delivers=transport.delivers)
        for item in planned:
            if item.skip_reason == notifications.HELD:
                click.echo(f"would hold {item.kind} to {item.recipient} (credential {item.credential_id}): "
                           "no SMTP_HOST is set")
            elif item.skip_reason is None:
                click.echo(f"would send {item.kind} to {item.recipient} (credential {item.credential_id})")
            else:
                click.echo(f"would skip {item.kind} for credential {item.credential_id}: {item.skip_reason}")
        sending = sum(item.skip_reason is None for item in planned)
        holding = sum(item.skip_reason == notifications.HELD for item in planned)
        click.echo(f"would send {sending}, would skip {len(planned) - sending - holding}"
                   + (f", would hold {holding}" if holding else ""))
        return
    summary = notifications.send_due(services, transport, settings)
    for failure in summary.failures:
        click.echo(f"failed: {failure}", err=True)
    click.echo(f"sent {summary.sent}, failed {summary.failed}, skipped {summary.skipped}")
    if summary.held:
        click.echo(f"held {summary.held} award email(s): no SMTP_HOST is set, and each carries the earner's "
                   "private management link, which must reach the earner, not a log; they go out at the first "
                   "run with SMTP_HOST set (earners' current links keep working meanwhile)", err=True)
    if summary.failed:
        raise click.ClickException(f"{summary.failed} email(s) could not be sent; the next run tries them again")



@main.group("pathway")
def pathway_group():
    """Pathways: achievements awarded for other achievements."""


@pathway_group.command("create")
@click.option("--issuer", "slug", required=True)
@click.argument("file", type=click.File("rb"))
def pathway_create(slug, file):
    """Define a pathway from FILE (JSON, as POST /api/v1/issuers/<slug>/pathways takes; - for standard
    input); prints its id alone on the last line."""
    from dataintegrity import strictjson
    from issuer.pathways import Pathways
    from issuer.pathways.requirements import RequirementsInvalid
    from schemas.pathway import PathwayCreateSchema

    try:
        body = strictjson.loads(file.read())
    except strictjson.JsonTextError as error:
        raise click.ClickException(f"{file.name} is not accepted JSON: {error.message}") from None
    if not isinstance(body, dict):
        raise click.ClickException(f"{file.name} must hold a JSON object")
    data = _checked(PathwayCreateSchema(), body)
    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        issuer = _issuer(session, slug)
        try:
            with transaction(session):
                pathway = Pathways(session, services, token=None).create(issuer, data)
        except RequirementsInvalid as error:
            raise click.ClickException("invalid requirements:\n" + "\n".join(
                f"  {path}: {' '.join(messages)}" for path, messages in error.errors.items())) from None
        click.echo(f"pathway {pathway.name!r} of {slug}")
        click.echo(pathway.id)


@pathway_group.command("show")
@click.argument("pathway_id", metavar="ID")
def pathway_show(pathway_id):
    """Print a pathway's definition as JSON."""
    import json

    from issuer.pathways import Pathways

    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        pathway = _row(session, Achievement, pathway_id, "pathway")
        if not pathway.is_pathway:
            raise click.ClickException(f"achievement {pathway_id} is not a pathway")
        click.echo(json.dumps({
            "id": pathway.id, "issuer": pathway.issuer.slug, "name": pathway.name,
            "description": pathway.description, "criteria": {"narrative": pathway.criteria_narrative},
            "achievement_type": pathway.achievement_type, "requirements": pathway.requirements,
            "valid_for": pathway.valid_for, "all_valid_at_once": pathway.all_valid_at_once,
            "awarded": Pathways(session, services, token=None).awarded(pathway),
        }, indent=2))


@main.group("credential")
def credential_group():
    """Issued credentials: revoke, suspend, unsuspend, reissue (each recorded in the audit log)."""


def _reason_option(command):
    return click.option("--reason", required=True, help="why; kept with the credential's status and in the audit log")(command)


def _checked(schema, data: dict) -> dict:
    from marshmallow import ValidationError

    try:
        return schema.load(data)
    except ValidationError as error:
        raise click.ClickException(f"invalid input: {error.messages}") from None


def _refused(error) -> click.ClickException:
    """An API refusal as the command line says it: the detail, then each offending id or field."""
    lines = ["invalid input:" if error.code == "validation_failed" else error.detail]
    for field, messages in (error.errors or {}).items():
        named = messages.items() if isinstance(messages, dict) else [(field, messages)]
        lines.extend(f"  {name}: {' '.join(map(str, text))}" for name, text in named)
    return click.ClickException("\n".join(lines))


def _row(session, model, row_id: str, what: str):
    """The `model` row of that id, or the command's error naming the id (an id of the wrong form too)."""
    row = session.get(model, row_id) if is_id(row_id) else None
    if row is None:
        raise click.ClickException(f"there is no {what} {row_id!r}")
    return row


def _credential(session, credential_id: str):
    from issuer.models import Credential

    return _row(session, Credential, credential_id, "credential")


def _change_status(change: str, credential_id: str, reason: str) -> None:
    from issuer.errors import ApiError
    from issuer.lifecycle import Lifecycle
    from schemas.lifecycle import StatusChangeSchema

    data = _checked(StatusChangeSchema(), {"reason": reason})
    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        credential = _credential(session, credential_id)
        try:
            with transaction(session):
                getattr(Lifecycle(session, services), change)(credential, reason=data["reason"], token=None)
        except ApiError as error:
            raise _refused(error) from None


@credential_group.command("revoke")
@click.argument("credential_ids", nargs=-1, required=True, metavar="ID...")
@_reason_option
def credential_revoke(credential_ids, reason):
    """Revoke credentials for good. Several ids are revoked together: all of them, or none when
    any is unknown or revoked already."""
    from issuer.errors import ApiError
    from issuer.lifecycle import Lifecycle
    from schemas.lifecycle import BulkRevokeSchema

    if len(credential_ids) == 1:
        _change_status("revoke", credential_ids[0], reason)
        click.echo(f"revoked {credential_ids[0]}")
        return
    data = _checked(BulkRevokeSchema(), {"credential_ids": list(credential_ids), "reason": reason})
    app = _app()
    services = _services(app)
    with services.sessionmaker() as session:
        try:
            with transaction(session):
                revoked = Lifecycle(session, services).revoke_many(data["credential_ids"], reason=data["reason"], token=None)
        except ApiError as error:
            raise _refused(error) from None
    for credential_id in revoked:
        click.echo(f"revoked {credential_id}")


@credential_group.command("suspend")
@click.argument("credential_id", metavar="ID")
@_reason_option
def credential_suspend(credential_id, reason):
    """Suspend an active credential (verifiers see it as suspended until it is unsuspended)."""
    _change_status("suspend", credential_id, reason)
    click.echo(f"suspended {credential_id}")


@credential_group.command("unsuspend")
@click.argument("credential_id", metavar="ID")
@_reason_option
def credential_unsuspend(credential_id, reason):
    """Lift a credential's suspension."""
    _change_status("unsuspend", credential_id, reason)
    click.echo(f"unsuspended {credential_id}")


@credential_group.command("reissue")
@click.argument("credential_id", metavar="ID")
@_reason_option
@click.option("--score", help="the corrected score (between the achievement's passing score and its maximum)")
def credential_reissue(credential_id, reason, score):
    """Replace a credential by a corrected one; the old one is revoked as superseded. The new
    credential's id is printed alone on the last line."""
    import re

    from issuer.errors import ApiError
    from issuer.lifecycle import Lifecycle
    from schemas.lifecycle import ReissueSchema

    body = {"reason": reason}
    if score is not None:
        # The API takes the score as a JSON number; give the schema one, so both check it alike.
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", score.strip()):
            raise click.ClickException(f"--score must be a number, such as 85 or 92.5, not {score!r}")
        body["score"] = float(score) if "." in score else int(score)
    data = _checked(ReissueSchema(), body)
    app = _minting_app()
    services = _services(app)
    with services.sessionmaker() as session:
        credential = _credential(session, credential_id)
        try:
            with transaction(session):
                successor = Lifecycle(session, services).reissue(
                    credential, reason=data["reason"], token=None, score=data["score"], evidence=None)
        except ApiError as error:
            raise _refused(error) from None
        click.echo(f"reissued {credential_id} as a corrected credential (the old one is revoked as superseded):")
        click.echo(successor.id)


@main.group("results")
def results_group():
    """Assessment results."""


@results_group.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--achievement", "achievement_id", required=True, help="the achievement the results are for")
@click.option("--atomic", is_flag=True, help="all or nothing: record no row when any row is refused")
def results_import(path, achievement_id, atomic):
    """Record the results in a CSV file (columns external_id, email or recipient_id, name, score,
    completed_at, evidence_url, evidence_name, evidence_narrative), each as POST .../results would.
    Exits non-zero when any row failed."""
    from issuer.batch.rows import CsvInvalid, read_results
    from issuer.batch.services import BatchIssuance, BatchRefused
    from issuer.errors import ApiError
    from issuer.models import Achievement

    try:
        with open(path, "rb") as file:
            parsed = read_results(file.read())
    except CsvInvalid as error:
        raise click.ClickException(f"{path}: {error}") from None
    if not parsed.items:
        raise click.ClickException(f"{path}: the file has no rows")
    app = _minting_app()
    services = _services(app)
    with services.sessionmaker() as session:
        achievement = _row(session, Achievement, achievement_id, "achievement")
        try:
            with click.progressbar(length=len(parsed.items), label="recording", file=sys.stderr) as bar:
                answers = BatchIssuance(session, services, token=None).record(
                    achievement, parsed.items, atomic=atomic, rows=parsed.rows, progress=bar.update)
        except BatchRefused as error:
            for item in error.extra["items"]:
                click.echo(_row_error(item["row"], item["external_id"], item["error"]), err=True)
            raise click.ClickException(f"{error.detail.replace('results', 'rows')}") from None
        except ApiError as error:
            raise _refused(error) from None
    failed = [answer for answer in answers if answer.failed]
    for answer in failed:
        click.echo(_row_error(answer.row, answer.external_id, answer.body), err=True)
    counts = {
        "issued": sum(a.status == 201 and not a.replayed for a in answers),
        "not passed": sum(a.status == 200 and not a.replayed for a in answers),
        "replayed": sum(a.replayed for a in answers),
        "failed": len(failed),
    }
    click.echo(f"{len(answers)} rows: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    if failed:
        sys.exit(1)


def _row_error(row: int, external_id: str | None, problem: dict) -> str:
    """One refused row as the command line says it: its row, its key, then each field's messages."""
    named = f"row {row}" + (f" ({external_id})" if external_id else "")
    fields = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in _flat(problem.get("errors") or {}))
    return f"{named}: {fields or problem['detail']}"


def _flat(errors: dict, prefix: str = ""):
    for field, messages in errors.items():
        name = f"{prefix}{field}" if field != "_schema" else prefix.rstrip(".") or "row"
        if isinstance(messages, dict):
            yield from _flat(messages, f"{name}.")
        else:
            yield name, [str(m) for m in messages]


@main.command()
@click.option("--within", required=True, help="how far ahead to look: 12h, 30d, 2w or an ISO 8601 duration such as P30D")
@click.option("--issuer", "slug", help="only this issuer's credentials")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array instead of a table")
def expiring(within, slug, as_json):
    """List the credentials that expire within a time from now, soonest first.

    Revoked and renewed credentials are left out (a renewed one has its successor already). The
    table has id, earner (an email or a DID), achievement, valid until (UTC) and days left
    (rounded up); --json gives the same, with the issuer, as a JSON array.
    """
    import json

    from sqlalchemy.orm import selectinload

    from issuer import expiry
    from issuer.models import Credential

    try:
        window = expiry.parse_window(within)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    app = _app()
    services = _services(app)
    now = services.clock()
    with services.sessionmaker() as session:
        statement = (select(Credential).options(selectinload(Credential.achievement), selectinload(Credential.issuer))
                     .where(expiry.expiring(now, now + window)).order_by(*expiry.ORDER))
        if slug:
            statement = statement.where(Credential.issuer_id == _issuer(session, slug).id)
        rows = [{
            "id": credential.id,
            "issuer": credential.issuer.slug,
            # The stored earner key is "mailto:<email>" or a DID; VC API credentials have none.
            "earner": credential.earner.removeprefix("mailto:") if credential.earner else None,
            # One line, so that a name cannot break the table.
            "achievement": " ".join(credential.achievement.name.split()) if credential.achievement else None,
            "valid_until": credential.valid_until.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "days_left": expiry.days_left(credential, now),
        } for credential in session.scalars(statement)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(f"no credential expires within {within}")
    else:
        header = ("id", "earner", "achievement", "valid until", "days left")
        table = [header] + [tuple(str(row[key] if row[key] is not None else "-") for key in
                                  ("id", "earner", "achievement", "valid_until", "days_left")) for row in rows]
        widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
        for line in table:
            click.echo("  ".join([cell.ljust(width) for cell, width in zip(line, widths)] + [line[-1]]))


main.add_command(verify)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
