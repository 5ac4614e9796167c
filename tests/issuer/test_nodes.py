"""Several nodes, one identity: a node that would sign with another key-encryption key or mint
identifiers under another origin than its deployment's refuses to start, in one line; the KEK
rotates in one transaction; the origin moves only while nothing was issued under it."""

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from issuer import create_app
from issuer.bootstrap import check_node, first_start
from issuer.cli import main
from issuer.config import ConfigurationError
from issuer.db import make_engine
from issuer.migrate import upgrade
from issuer.models import AuditEntry, DeploymentSetting, Issuer, SigningKey
from issuer.nodes import rotate_key_encryption_key
from issuer.serving.start import start_app
from keys import KeyEncryptionKey, KeyUnsealError
from keys.encryption import KEK_FILE_NAME
from keys.errors import KeyEncryptionKeyError
from tests.conftest import ACHIEVEMENT, TEST_KEK, result_body

BASE = "https://badges.test"
OTHER = "https://elsewhere.test"
ROOT = Path(__file__).resolve().parents[2]


class Node:
    """One node of a deployment: its own instance folder, the shared database, its settings."""

    def __init__(self, path: Path, database_url: str, built: list, **settings):
        self.path = path
        self.settings = {"BASE_URL": BASE, "DATABASE_URL": database_url, **settings}
        self._built = built  # every app made, to close its connections at the end

    def config(self) -> dict:
        return {"TESTING": True, "INSTANCE_PATH": str(self.path), **self.settings}

    def app(self):
        self._built.append(create_app(self.config()))
        return self._built[-1]

    def start(self):
        """As wsgi.py starts: the checks, then the first start."""
        self._built.append(start_app(overrides=self.config()))
        return self._built[-1]

    def env(self) -> dict:
        env = {"BADGES_INSTANCE_PATH": str(self.path)}
        env.update({f"BADGES_{key}": str(value) for key, value in self.settings.items() if value is not None})
        return env

    def cli(self, *args):
        return CliRunner().invoke(main, list(args), env=self.env(), catch_exceptions=False)


@pytest.fixture
def nodes(database_url, tmp_path):
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    built = []
    yield lambda name, **settings: Node(tmp_path / name, database_url, built, **settings)
    for app in built:
        app.extensions["badges"].sessionmaker.kw["bind"].dispose()


def refused_in_one_line(result, *words):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def first_node(nodes, **settings):
    node = nodes("first", KEY_ENCRYPTION_KEY=TEST_KEK, **settings)
    app = node.start()
    started = first_start(app.extensions["badges"], default_slug="default", default_name="Badges Issuer")
    return node, app, started.admin_token


def issue_one(app, token, external_id="attempt-1") -> dict:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    achievement = client.post("/api/v1/issuers/default/achievements", json=ACHIEVEMENT, headers=headers).get_json()
    answer = client.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id), headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["credential"]


def sealed_keys(app) -> list:
    with app.extensions["badges"].sessionmaker() as session:
        return [(key.id, key.sealed_private_key) for key in session.scalars(select(SigningKey))]


def opens_all(kek: KeyEncryptionKey, keys) -> bool:
    try:
        for key_id, sealed in keys:
            kek.open(sealed, key_id=key_id)
    except KeyUnsealError:
        return False
    return True


# --- one key-encryption key ---------------------------------------------------------------------

def test_a_node_without_the_key_encryption_key_refuses_to_start_and_makes_none(nodes, capsys):
    first_node(nodes)
    second = nodes("second")
    capsys.readouterr()

    with pytest.raises(ConfigurationError, match="BADGES_KEY_ENCRYPTION_KEY or BADGES_KEY_ENCRYPTION_KEY_FILE"):
        second.start()
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("badges: ") and "KEY_ENCRYPTION_KEY" in said[0]
    refused_in_one_line(second.cli("serve", "--port", "1"), "BADGES_KEY_ENCRYPTION_KEY")
    assert not (second.path / KEK_FILE_NAME).exists()


def test_a_node_with_another_key_encryption_key_refuses_to_start(nodes):
    first_node(nodes)
    second = nodes("second", KEY_ENCRYPTION_KEY=KeyEncryptionKey.generate_text())

    with pytest.raises(ConfigurationError, match="does not open the signing key of issuer 'default'"):
        second.start()
    refused_in_one_line(second.cli("serve", "--port", "1"), "issuer 'default'", "BADGES_KEY_ENCRYPTION_KEY")


def test_the_first_node_of_an_empty_database_makes_its_key_file(nodes):
    node = nodes("only")
    app = node.start()
    with app.extensions["badges"].sessionmaker() as session:
        assert session.scalar(select(Issuer.slug)) == "default"
    kek_file = node.path / KEK_FILE_NAME
    assert kek_file.exists()
    assert stat.S_IMODE(kek_file.stat().st_mode) == 0o600
    # The second node gets the same key as a file (a container secret), group-readable at most.
    secret = nodes("secret-holder").path / "kek"
    secret.parent.mkdir()
    secret.write_text(kek_file.read_text())
    secret.chmod(0o640)
    nodes("second", KEY_ENCRYPTION_KEY_FILE=str(secret)).start()


def test_key_encryption_key_file_settings_are_checked(nodes, tmp_path):
    secret = tmp_path / "kek"
    secret.write_text(TEST_KEK + "\n")
    secret.chmod(0o644)
    with pytest.raises(KeyEncryptionKeyError, match="must not be readable by others"):
        nodes("a", KEY_ENCRYPTION_KEY_FILE=str(secret)).app()
    secret.chmod(0o600)
    with pytest.raises(KeyEncryptionKeyError, match="not both"):
        nodes("b", KEY_ENCRYPTION_KEY_FILE=str(secret), KEY_ENCRYPTION_KEY=TEST_KEK).app()
    result = nodes("c", KEY_ENCRYPTION_KEY_FILE=str(tmp_path / "missing")).cli("token", "list")
    refused_in_one_line(result, "BADGES_KEY_ENCRYPTION_KEY_FILE=")


def test_the_wsgi_entry_point_refuses_to_start_with_one_line(nodes):
    node, _, _ = first_node(nodes)
    env = {"BADGES_INSTANCE_PATH": str(node.path.parent / "second"), "BADGES_BASE_URL": BASE,
           "BADGES_DATABASE_URL": node.settings["DATABASE_URL"], "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    said = [line for line in done.stderr.splitlines() if line.startswith("badges: ")]
    assert done.returncode != 0 and len(said) == 1 and "BADGES_KEY_ENCRYPTION_KEY" in said[0], done.stderr
    assert not (node.path.parent / "second" / KEK_FILE_NAME).exists()


def test_plain_gunicorn_refuses_a_node_under_another_origin(nodes):
    node, _, _ = first_node(nodes)
    env = {"BADGES_INSTANCE_PATH": str(node.path.parent / "second"), "BADGES_BASE_URL": OTHER,
           "BADGES_DATABASE_URL": node.settings["DATABASE_URL"], "BADGES_KEY_ENCRYPTION_KEY": TEST_KEK,
           "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:0", "wsgi:app"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    said = {line for line in done.stderr.splitlines() if line.startswith("badges: ")}
    assert done.returncode != 0
    assert said == {f"badges: BADGES_BASE_URL is {OTHER!r}, but this deployment's identifiers are minted under "
                    f"{BASE!r}: set BADGES_BASE_URL={BASE} on this node (to move the deployment, see `badges origin "
                    "move`)"}, done.stderr


def test_gunicorn_with_the_services_settings_refuses_in_one_line_before_any_worker(nodes):
    node, _, _ = first_node(nodes)
    env = {"BADGES_INSTANCE_PATH": str(node.path.parent / "second"), "BADGES_BASE_URL": BASE,
           "BADGES_DATABASE_URL": node.settings["DATABASE_URL"],
           "BADGES_KEY_ENCRYPTION_KEY": KeyEncryptionKey.generate_text(), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "python:issuer.serving.gunicorn_conf", "-w", "2",
                           "-b", "127.0.0.1:0", "wsgi:app"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "badges: the key-encryption key of this node does not open the signing key of issuer 'default': every node "
        "of a deployment needs the same key-encryption key (BADGES_KEY_ENCRYPTION_KEY or "
        "BADGES_KEY_ENCRYPTION_KEY_FILE)"], done.stderr


# --- rotating the key-encryption key ------------------------------------------------------------

class Interrupted(Exception):
    pass


def test_an_interrupted_rotation_loses_nothing_and_can_be_run_again(nodes):
    node, app, token = first_node(nodes)
    services = app.extensions["badges"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/issuers", json={"slug": "acme", "name": "Acme", "url": "https://acme.example"},
                       headers=headers).status_code == 201
    assert client.post("/api/v1/issuers/acme/keys/rotate", headers=headers).status_code in (200, 201)
    before = sealed_keys(app)
    assert len(before) == 3
    new_text = KeyEncryptionKey.generate_text()
    old, new = KeyEncryptionKey.from_text(TEST_KEK), KeyEncryptionKey.from_text(new_text)

    def interrupt(resealed):
        if resealed == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate_key_encryption_key(services, new, on_key=interrupt)

    assert sealed_keys(app) == before and opens_all(old, before)
    issue_one(app, token)  # the node still signs with the old key-encryption key

    done = rotate_key_encryption_key(services, new)
    after = sealed_keys(app)
    assert (done.resealed, done.already) == (3, 0)
    assert opens_all(new, after) and not any(opens_all(old, [key]) for key in after)
    # Run again (an operator unsure whether it committed): nothing to do, nothing broken.
    assert rotate_key_encryption_key(services, new) == type(done)(0, 3)
    with services.sessionmaker() as session:  # one entry: the second run re-sealed nothing
        assert [entry.details for entry in session.scalars(select(AuditEntry).where(
            AuditEntry.action == "kek.rotate"))] == [{"resealed": 3, "already": 0}]
    with pytest.raises(ConfigurationError, match="does not open"):
        check_node(app)  # this node still holds the old key
    renewed = nodes("renewed", KEY_ENCRYPTION_KEY=new_text).start()
    issue_one(renewed, token, "attempt-2")


# The rotation in a process of its own that stops half-way, in its transaction, until it is killed.
_ROTATE_UNTIL_KILLED = """
import sys, time
from issuer import create_app
from issuer.nodes import rotate_key_encryption_key
from keys import KeyEncryptionKey

instance, database_url, old, new = sys.argv[1:]
app = create_app({"INSTANCE_PATH": instance, "DATABASE_URL": database_url, "KEY_ENCRYPTION_KEY": old,
                  "BASE_URL": "https://badges.test"})

def half_way(resealed):
    if resealed == 2:
        print("half way", flush=True)
        time.sleep(120)

rotate_key_encryption_key(app.extensions["badges"], KeyEncryptionKey.from_text(new), on_key=half_way)
"""


def test_a_rotation_killed_half_way_loses_nothing(nodes, tmp_path):
    node, app, token = first_node(nodes)
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/issuers", json={"slug": "acme", "name": "Acme", "url": "https://acme.example"},
                       headers=headers).status_code == 201
    assert client.post("/api/v1/issuers/acme/keys/rotate", headers=headers).status_code in (200, 201)
    before = sealed_keys(app)
    assert len(before) == 3
    new_text = KeyEncryptionKey.generate_text()
    rotation = subprocess.Popen(
        [sys.executable, "-c", _ROTATE_UNTIL_KILLED, str(tmp_path / "rotating"), node.settings["DATABASE_URL"],
         TEST_KEK, new_text], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert rotation.stdout.readline().strip() == "half way"
    finally:
        rotation.kill()  # SIGKILL: no rollback, no clean-up of any kind
        rotation.wait(timeout=30)
        rotation.stdout.close()

    assert sealed_keys(app) == before and opens_all(KeyEncryptionKey.from_text(TEST_KEK), before)
    issue_one(app, token)  # the database is not left locked, and signs as before
    done = rotate_key_encryption_key(app.extensions["badges"], KeyEncryptionKey.from_text(new_text))
    assert done.resealed == 3 and opens_all(KeyEncryptionKey.from_text(new_text), sealed_keys(app))


def test_kek_rotate_command_on_an_instance_file_node(nodes, tmp_path):
    node = nodes("only")
    app = node.start()
    token = first_start(app.extensions["badges"], default_slug="default", default_name="Badges Issuer").admin_token
    old_text = (node.path / KEK_FILE_NAME).read_text()
    new_file = tmp_path / "new-kek"

    result = node.cli("kek", "rotate", "--new-key-file", str(new_file))
    assert result.exit_code == 0, result.output
    assert "re-sealed 1 signing key(s)" in result.output
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    assert (node.path / KEK_FILE_NAME).read_text() == new_file.read_text() != old_text
    assert stat.S_IMODE((node.path / KEK_FILE_NAME).stat().st_mode) == 0o600
    assert opens_all(KeyEncryptionKey.from_text(new_file.read_text()), sealed_keys(app))
    issue_one(node.start(), token)

    # Killed after its commit, before the instance file held the new key: run again, it finishes.
    (node.path / KEK_FILE_NAME).write_text(old_text)
    again = node.cli("kek", "rotate", "--new-key-file", str(new_file))
    assert again.exit_code == 0 and "re-sealed 0 signing key(s) (1 had the new key already)" in again.output
    assert (node.path / KEK_FILE_NAME).read_text() == new_file.read_text()


def test_kek_rotate_with_a_configured_key_says_what_to_do_and_refuses_a_wrong_key(nodes, tmp_path):
    node, app, _ = first_node(nodes)
    new_file = tmp_path / "new-kek"
    result = node.cli("kek", "rotate", "--new-key-file", str(new_file))
    assert result.exit_code == 0, result.output
    assert "give every node the new key" in result.output
    new_text_ = new_file.read_text().strip()
    # The old key opens nothing now, and a third key opens nothing at all: nothing is changed.
    before = sealed_keys(app)
    stranger = tmp_path / "stranger"
    stranger.write_text(KeyEncryptionKey.generate_text())
    stranger.chmod(0o600)
    wrong = nodes("wrong", KEY_ENCRYPTION_KEY=KeyEncryptionKey.generate_text())
    refused = wrong.cli("kek", "rotate", "--new-key-file", str(stranger))
    assert refused.exit_code == 1 and refused.output.strip().splitlines()[-1].startswith(
        "Error: nothing was changed: signing key"), refused.output
    assert sealed_keys(app) == before
    nodes("next", KEY_ENCRYPTION_KEY=new_text_).start()


# --- one origin ---------------------------------------------------------------------------------

def recorded(app) -> str | None:
    with app.extensions["badges"].sessionmaker() as session:
        row = session.get(DeploymentSetting, "origin")
        return row.value if row else None


def test_the_first_start_records_the_origin_and_a_node_under_another_refuses(nodes, capsys):
    _, app, _ = first_node(nodes)
    assert recorded(app) == BASE
    capsys.readouterr()
    other = nodes("second", KEY_ENCRYPTION_KEY=TEST_KEK, BASE_URL=OTHER)
    with pytest.raises(ConfigurationError, match=f"set BADGES_BASE_URL={BASE} on this node"):
        other.start()
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "BADGES_BASE_URL" in said[0]
    refused_in_one_line(other.cli("serve", "--port", "1"), "BADGES_BASE_URL", BASE)
    nodes("third", KEY_ENCRYPTION_KEY=TEST_KEK, BASE_URL=BASE + "/").start()  # the same origin


def test_a_database_from_before_origins_were_recorded(nodes):
    node = nodes("old", KEY_ENCRYPTION_KEY=TEST_KEK)
    app = node.app()  # built, not started: no check has recorded an origin
    first_start(app.extensions["badges"], default_slug="default", default_name="Badges Issuer")
    assert recorded(app) is None
    with pytest.raises(ConfigurationError, match="issuer 'default' was created under another origin"):
        nodes("moved", KEY_ENCRYPTION_KEY=TEST_KEK, BASE_URL=OTHER).start()
    assert recorded(app) is None
    nodes("same", KEY_ENCRYPTION_KEY=TEST_KEK).start()
    assert recorded(app) == BASE


def test_the_origin_moves_before_anything_is_issued_and_never_after(nodes):
    node, app, token = first_node(nodes)
    result = node.cli("origin", "move", OTHER)
    assert result.exit_code == 0, result.output
    assert f"set BADGES_BASE_URL={OTHER}" in result.output
    assert node.cli("origin", "show").output.strip() == OTHER
    with app.extensions["badges"].sessionmaker() as session:
        issuer = session.scalar(select(Issuer).where(Issuer.slug == "default"))
        assert issuer.did == "did:web:elsewhere.test:issuers:default"
        assert [key.verification_method for key in issuer.keys] == [f"{issuer.did}#key-1"]
    with pytest.raises(ConfigurationError, match="BADGES_BASE_URL"):
        nodes("stale", KEY_ENCRYPTION_KEY=TEST_KEK).start()

    moved = nodes("moved", KEY_ENCRYPTION_KEY=TEST_KEK, BASE_URL=OTHER)
    moved_app = moved.start()
    credential = issue_one(moved_app, token)
    assert credential["issuer"]["id"] == "did:web:elsewhere.test:issuers:default"
    assert credential["id"].startswith(f"{OTHER}/credentials/")
    did_document = moved_app.test_client().get("/issuers/default/did.json").get_json()
    assert did_document["id"] == credential["issuer"]["id"]

    with app.extensions["badges"].sessionmaker() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "origin.move")).all()
        assert [(entry.actor, entry.details["from"], entry.details["to"]) for entry in entries] == [("cli", BASE, OTHER)]

    refused = moved.cli("origin", "move", "https://third.test")
    refused_in_one_line(refused, "the origin was not moved", "1 credential(s) were issued")
    assert moved.cli("origin", "show").output.strip() == OTHER
    refused_in_one_line(moved.cli("origin", "move", "http://public.example"), "must be https")


def test_backup_and_restore_with_a_key_file(nodes, tmp_path):
    secret = tmp_path / "kek"
    secret.write_text(TEST_KEK + "\n")
    secret.chmod(0o400)
    source = nodes("source", KEY_ENCRYPTION_KEY_FILE=str(secret))
    source.start()
    backup_file = tmp_path / "badges.backup"
    assert source.cli("backup", str(backup_file)).exit_code == 0

    wrong = tmp_path / "wrong"
    wrong.write_text(KeyEncryptionKey.generate_text())
    wrong.chmod(0o400)
    target = nodes("target", DATABASE_URL=None, KEY_ENCRYPTION_KEY_FILE=str(wrong))
    refused_in_one_line(target.cli("restore", str(backup_file)), "KEY_ENCRYPTION_KEY_FILE holds another key")
    target = nodes("target", DATABASE_URL=None, KEY_ENCRYPTION_KEY_FILE=str(secret))
    restored = target.cli("restore", str(backup_file))
    assert restored.exit_code == 0 and f"KEY_ENCRYPTION_KEY_FILE ({secret})" in restored.output
    assert not (target.path / KEK_FILE_NAME).exists()
    target.start()  # the same origin, and its key opens the restored keys
