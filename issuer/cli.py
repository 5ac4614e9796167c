"""The `badges` command."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from issuer import create_app
from issuer.config import ConfigurationError
from issuer.db import transaction
from issuer.migrate import current_revision, head_revision, upgrade
from issuer import audit
from issuer.models import ApiToken, Issuer, is_id
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


def _services(app):
    return app.extensions["badges"]


def _engine(app):
    return _services(app).sessionmaker.kw["bind"]


def _issuer(session, slug: str) -> Issuer:
    issuer = session.scalar(select(Issuer).where(Issuer.slug == slug))
    if issuer is None:
        raise click.ClickException(f"there is no issuer {slug!r}")
    return issuer


@click.group()
def main():
    """Issue, verify and manage Open Badges 3.0 credentials."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host, port):
    """Start the service (creating the database, keys and first token on a fresh instance)."""
    from werkzeug.serving import run_simple

    from issuer.bootstrap import first_start

    app = _app(BASE_URL=f"http://{host}:{port}")
    started = first_start(
        _services(app), default_slug=app.config["DEFAULT_ISSUER_SLUG"], default_name=app.config["DEFAULT_ISSUER_NAME"]
    )
    if started.issuer is not None:
        click.echo(f"Created issuer {started.issuer.slug!r}: {started.issuer.did}")
    if started.admin_token is not None:
        click.echo("Instance admin token (shown once; store it now):")
        click.echo(started.admin_token)
    click.echo(f"Instance folder: {app.instance_path}")
    run_simple(host, port, app, threaded=True)


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Apply every pending migration."""
    app = _app(migrating=True)
    upgrade(_engine(app))
    click.echo("database is up to date")


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
def issuer_create(**options):
    """Create an issuer with its first signing key; prints its DID."""
    from marshmallow import ValidationError

    from issuer.bootstrap import create_issuer
    from schemas.issuer import IssuerCreateSchema

    try:
        data = IssuerCreateSchema().load({k: v for k, v in options.items() if v is not None})
    except ValidationError as error:
        raise click.ClickException(f"invalid issuer: {error.messages}") from None
    app = _app()
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
            scope = row.issuer.slug if row.issuer else "(instance)"
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
        row = session.get(ApiToken, token_id) if is_id(token_id) else None
        if row is None:
            raise click.ClickException(f"there is no token {token_id!r}")
        try:
            with transaction(session):
                revoke_token(session, row, reason=reason, by=None, now=services.clock())
        except ApiError as error:
            raise click.ClickException(error.detail) from None
    click.echo(f"revoked {token_id}")


@main.group()
def keys():
    """Signing keys."""


@keys.command("rotate")
@click.option("--issuer", "slug", required=True)
def keys_rotate(slug):
    """Retire the issuer's signing key and make a new one; old public keys stay published."""
    from issuer.errors import ApiError

    app = _app()
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


main.add_command(verify)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
