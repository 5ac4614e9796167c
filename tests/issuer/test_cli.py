"""The `badges` command as an operator runs it: env configuration, a real instance folder, a real database."""

import stat

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from issuer import create_app
from issuer.bootstrap import first_start
from issuer.cli import main
from issuer.db import make_engine
from issuer.models import ApiToken, Issuer, SigningKey
from keys.encryption import KEK_FILE_NAME
from tests.conftest import TEST_KEK

BASE = "https://badges.test"
TABLES = {"issuers", "signing_keys", "achievements", "assessment_results", "credentials", "api_tokens",
          "alembic_version"}


class Instance:
    """One instance folder and the env the `badges` command gets, on SQLite or on the test PostgreSQL."""

    def __init__(self, path, database_url: str | None, kek: str | None = None):
        self.path = path
        self.database_url = database_url  # None: the SQLite file in the instance folder
        self.env = {
            "BADGES_INSTANCE_PATH": str(path),
            "BADGES_BASE_URL": BASE,
            "BADGES_DATABASE_URL": database_url,
            "BADGES_KEY_ENCRYPTION_KEY": kek,
        }
        self.runner = CliRunner()

    def run(self, *args):
        return self.runner.invoke(main, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args):
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result

    def fails(self, *args):
        result = self.run(*args)
        assert result.exit_code != 0, result.output
        assert "Traceback" not in result.output
        return result

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.path / 'badges.sqlite3'}"

    def app(self):
        """An app built on the same instance, as `badges serve` or wsgi.py would build it."""
        config = {"INSTANCE_PATH": str(self.path), "BASE_URL": BASE, "TESTING": True}
        if self.database_url:
            config["DATABASE_URL"] = self.database_url
        if self.env["BADGES_KEY_ENCRYPTION_KEY"]:
            config["KEY_ENCRYPTION_KEY"] = self.env["BADGES_KEY_ENCRYPTION_KEY"]
        if self.env.get("BADGES_STATUS_PURPOSES"):
            config["STATUS_PURPOSES"] = self.env["BADGES_STATUS_PURPOSES"]
        return create_app(config)

    def query(self, statement):
        engine = make_engine(self.url)
        try:
            with engine.connect() as connection:
                return connection.execute(statement).all()
        finally:
            engine.dispose()

    def tables(self) -> set[str]:
        engine = make_engine(self.url)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()


def dispose(app):
    app.extensions["badges"].sessionmaker.kw["bind"].dispose()


@pytest.fixture
def instance(database_url, tmp_path):
    """The SQLite variant uses the default database in the instance folder; the PostgreSQL one
    points BADGES_DATABASE_URL at the test schema and, as a deployment would, upgrades first."""
    ours = Instance(tmp_path / "instance", None if database_url.startswith("sqlite") else database_url)
    if ours.database_url:
        ours.ok("db", "upgrade")
    return ours


def last_line(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


def test_db_upgrade(instance):
    result = instance.ok("db", "upgrade")
    assert "up to date" in result.output
    assert TABLES <= instance.tables()
    assert instance.ok("db", "upgrade").exit_code == 0  # again: nothing to do, no error


def test_fresh_sqlite_instance_gets_folder_database_and_kek_file(tmp_path):
    fresh = Instance(tmp_path / "new" / "instance", None)
    fresh.ok("db", "upgrade")
    assert (fresh.path / "badges.sqlite3").exists()
    assert TABLES <= fresh.tables()
    kek_file = fresh.path / KEK_FILE_NAME
    assert kek_file.exists() and stat.S_IMODE(kek_file.stat().st_mode) == 0o600


def test_issuer_create_prints_the_did(instance):
    result = instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    assert last_line(result.output) == "did:web:badges.test:issuers:x"
    rows = instance.query(select(Issuer.slug, Issuer.did, Issuer.name, Issuer.url))
    assert [tuple(r) for r in rows] == [("x", "did:web:badges.test:issuers:x", "X", "https://x.example")]
    keys = instance.query(select(SigningKey.verification_method, SigningKey.retired_at))
    assert [tuple(k) for k in keys] == [("did:web:badges.test:issuers:x#key-1", None)]


def test_issuer_create_did_key(instance):
    result = instance.ok("issuer", "create", "--slug", "k", "--name", "K", "--url", "https://k.example",
                         "--did-method", "key")
    assert last_line(result.output).startswith("did:key:z6Mk")


def test_duplicate_slug_fails_clearly(instance):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    result = instance.fails("issuer", "create", "--slug", "x", "--name", "Other", "--url", "https://other.example")
    assert "'x' exists already" in result.output
    assert instance.query(select(Issuer.name)) == [("X",)]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--slug", "Not A Slug", "--name", "X", "--url", "https://x.example"], "slug"),
        (["--slug", "-x", "--name", "X", "--url", "https://x.example"], "slug"),
        (["--slug", "x", "--name", "X", "--url", "not-a-url"], "url"),
        (["--slug", "x", "--name", "X", "--url", "ftp://x.example"], "url"),
        (["--slug", "x", "--name", "", "--url", "https://x.example"], "name"),
        (["--slug", "x", "--name", "X", "--url", "https://x.example", "--email", "nope"], "email"),
    ],
    ids=["slug-spaces", "slug-leading-hyphen", "url-not-url", "url-ftp", "empty-name", "bad-email"],
)
def test_invalid_issuer_fails_naming_the_field(instance, args, named):
    instance.ok("db", "upgrade")
    result = instance.fails("issuer", "create", *args)
    assert "invalid issuer" in result.output and named in result.output
    assert instance.query(select(func.count()).select_from(Issuer)) == [(0,)]


def test_issuer_create_without_required_options(instance):
    result = instance.fails("issuer", "create", "--slug", "x")
    assert "--name" in result.output


def test_instance_token_works_against_the_api(instance):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    result = instance.ok("token", "create", "--label", "ci")
    token = last_line(result.output)
    assert token.startswith("bdg_") and " " not in token
    assert token not in result.output.rstrip("\n").splitlines()[0]

    app = instance.app()
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/issuers/x", headers=headers).json["id"] == "did:web:badges.test:issuers:x"
        created = client.post("/api/v1/issuers", headers=headers,
                              json={"slug": "y", "name": "Y", "url": "https://y.example"})
        assert created.status_code == 201, created.json
        assert client.get("/api/v1/issuers/x", headers={"Authorization": "Bearer bdg_wrong"}).status_code == 401
    finally:
        dispose(app)
    assert instance.query(select(ApiToken.label, ApiToken.issuer_id)) == [("ci", None)]


def test_each_token_is_new(instance):
    instance.ok("db", "upgrade")
    first = last_line(instance.ok("token", "create").output)
    second = last_line(instance.ok("token", "create").output)
    assert first != second
    # Only hashes are stored.
    hashes = [row[0] for row in instance.query(select(ApiToken.token_hash))]
    assert first not in hashes and second not in hashes and len(hashes) == 2


def test_issuer_scoped_token(instance):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    instance.ok("issuer", "create", "--slug", "z", "--name", "Z", "--url", "https://z.example")
    token = last_line(instance.ok("token", "create", "--issuer", "x").output)

    app = instance.app()
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/issuers/x", headers=headers).status_code == 200
        assert client.get("/api/v1/issuers/z", headers=headers).status_code == 403
        denied = client.post("/api/v1/issuers", headers=headers, json={"slug": "y", "name": "Y", "url": "https://y.example"})
        assert denied.status_code == 403
    finally:
        dispose(app)


def test_token_for_unknown_issuer_fails(instance):
    result = instance.fails("token", "create", "--issuer", "nope")
    assert "nope" in result.output
    assert instance.query(select(func.count()).select_from(ApiToken)) == [(0,)]


def test_keys_rotate(instance):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    result = instance.ok("keys", "rotate", "--issuer", "x")
    assert last_line(result.output) == "did:web:badges.test:issuers:x#key-2"
    keys = instance.query(select(SigningKey.verification_method, SigningKey.retired_at).order_by(SigningKey.sequence))
    assert [k[0] for k in keys] == ["did:web:badges.test:issuers:x#key-1", "did:web:badges.test:issuers:x#key-2"]
    assert keys[0][1] is not None and keys[1][1] is None

    app = instance.app()
    try:
        document = app.test_client().get("/issuers/x/did.json").json
    finally:
        dispose(app)
    assert document["assertionMethod"] == [k[0] for k in keys]


def test_keys_rotate_did_key_issuer_fails(instance):
    instance.ok("issuer", "create", "--slug", "k", "--name", "K", "--url", "https://k.example", "--did-method", "key")
    result = instance.fails("keys", "rotate", "--issuer", "k")
    assert "did:key" in result.output and "cannot rotate" in result.output
    assert instance.query(select(SigningKey.retired_at)) == [(None,)]


def test_keys_rotate_unknown_issuer_fails(instance):
    result = instance.fails("keys", "rotate", "--issuer", "nope")
    assert "nope" in result.output


def test_configured_kek_is_used_and_no_file_is_made(database_url, tmp_path):
    instance = Instance(tmp_path / "instance", None if database_url.startswith("sqlite") else database_url,
                        kek=TEST_KEK)
    instance.ok("db", "upgrade")
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    assert not (instance.path / KEK_FILE_NAME).exists()
    token = last_line(instance.ok("token", "create").output)

    # The app opens the issuer's key with the configured KEK and signs.
    app = instance.app()
    try:
        client = app.test_client()
        response = client.post("/credentials/issue", headers={"Authorization": f"Bearer {token}"}, json={"credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
            "issuer": "did:web:badges.test:issuers:x", "credentialSubject": {"id": "did:example:s"}}})
    finally:
        dispose(app)
    assert response.status_code == 201, response.json
    assert response.json["verifiableCredential"]["proof"]["verificationMethod"] == "did:web:badges.test:issuers:x#key-1"


def test_kek_file_keys_sign_in_a_later_app(instance):
    """Keys sealed by the CLI with the created KEK file open in an app built later on the instance."""
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    token = last_line(instance.ok("token", "create", "--issuer", "x").output)
    app = instance.app()
    try:
        response = app.test_client().post(
            "/credentials/issue", headers={"Authorization": f"Bearer {token}"},
            json={"credential": {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
                                 "issuer": "did:web:badges.test:issuers:x", "credentialSubject": {"id": "did:example:s"}}})
    finally:
        dispose(app)
    assert response.status_code == 201, response.json


def test_unsafe_kek_file_stops_the_command_with_a_message(tmp_path):
    instance = Instance(tmp_path / "instance", None)
    instance.ok("db", "upgrade")
    (instance.path / KEK_FILE_NAME).chmod(0o644)
    result = instance.fails("token", "create")
    assert "chmod 600" in result.output
    assert instance.query(select(func.count()).select_from(ApiToken)) == [(0,)]


def test_malformed_configured_kek_stops_the_command_with_a_message(tmp_path):
    instance = Instance(tmp_path / "instance", None, kek="too-short")
    result = instance.fails("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    assert "key-encryption key" in result.output


def test_commands_need_an_up_to_date_database(database_url, tmp_path):
    """SQLite in the instance folder is brought up to date by any command; PostgreSQL only by
    `badges db upgrade`, and until then a command says so instead of failing on a missing table."""
    instance = Instance(tmp_path / "instance", None if database_url.startswith("sqlite") else database_url)
    if instance.database_url:
        result = instance.fails("token", "create")
        assert "badges db upgrade" in result.output
        assert "alembic_version" not in instance.tables() and "api_tokens" not in instance.tables()
        instance.ok("db", "upgrade")
    assert last_line(instance.ok("token", "create").output).startswith("bdg_")


# --- first start -----------------------------------------------------------------------------------


def test_first_start_creates_issuer_key_and_one_admin_token(services, client):
    started = first_start(services, default_slug="default", default_name="Badges Issuer")

    assert started.issuer is not None and started.issuer.slug == "default"
    assert started.issuer.did == "did:web:badges.test:issuers:default"
    assert started.admin_token and started.admin_token.startswith("bdg_")
    with services.sessionmaker() as session:
        keys = list(session.scalars(select(SigningKey)))
        assert [(k.verification_method, k.retired_at) for k in keys] == [("did:web:badges.test:issuers:default#key-1", None)]
        tokens = list(session.scalars(select(ApiToken)))
        assert len(tokens) == 1 and tokens[0].issuer_id is None
        assert started.admin_token not in {t.token_hash for t in tokens}

    headers = {"Authorization": f"Bearer {started.admin_token}"}
    view = client.get("/api/v1/issuers/default", headers=headers)
    assert view.status_code == 200 and view.json["name"] == "Badges Issuer"
    assert client.post("/api/v1/issuers", headers=headers,
                       json={"slug": "two", "name": "Two", "url": "https://two.example"}).status_code == 201

    again = first_start(services, default_slug="default", default_name="Badges Issuer")

    assert again.issuer is None and again.admin_token is None
    with services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 1
        assert session.scalar(select(func.count()).select_from(Issuer)) == 2
        assert session.scalar(select(func.count()).select_from(SigningKey)) == 2


def test_first_start_after_cli_setup_adds_nothing(instance):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    instance.ok("token", "create")
    app = instance.app()
    try:
        started = first_start(app.extensions["badges"], default_slug="default", default_name="Badges Issuer")
    finally:
        dispose(app)
    assert started.issuer is None and started.admin_token is None
    assert instance.query(select(Issuer.slug)) == [("x",)]


@pytest.mark.parametrize("setting, value", [
    ("BADGES_STATUS_LIST_TTL_SECONDS", "999999"),  # longer than the list's validity
    ("BADGES_STATUS_PURPOSES", '["revocation", "refresh"]'),
    ("BADGES_STATUS_PURPOSES", '["suspension"]'),  # revocations would be invisible
    ("BADGES_STATUS_PURPOSES", '["revocation", "revocation"]'),
    ("BADGES_STATUS_LIST_VALID_SECONDS", '"a day"'),
])
def test_an_unusable_status_list_setting_fails_clearly(instance, setting, value):
    instance.env[setting] = value
    result = instance.fails("token", "list")
    assert "STATUS_" in result.output
