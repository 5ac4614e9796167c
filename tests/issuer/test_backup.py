"""`badges backup` and `badges restore`: an instance is backed up while it runs, restored into a
fresh one (SQLite to SQLite or PostgreSQL, and PostgreSQL to SQLite), and the restored instance
verifies the old credentials, sees their status, and issues new ones with the restored keys."""

from __future__ import annotations

import os
import stat
import zipfile

from sqlalchemy import func, select

from issuer.backup import KEK_FILE_NAME
from issuer.models import AuditEntry, Credential, SigningKey
from tests.conftest import ACHIEVEMENT, ISSUER, result_body
from tests.issuer.test_cli import Instance, dispose, last_line

OTHER = {"slug": "keyed", "name": "Keyed Institute", "url": "https://keyed.example", "did_method": "key"}


def populate(instance: Instance) -> dict:
    """Through the API: two issuers (did:web and did:key), credentials, one revoked, a renewal."""
    token = last_line(instance.ok("token", "create", "--label", "admin").output)
    app = instance.app()
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        for body in (ISSUER, OTHER):
            assert client.post("/api/v1/issuers", json=body, headers=headers).status_code == 201
        credentials, ids = {}, {}
        for slug in (ISSUER["slug"], OTHER["slug"]):
            achievement = client.post(f"/api/v1/issuers/{slug}/achievements", json=ACHIEVEMENT, headers=headers).json
            for name in ("kept", "revoked", "renewed"):
                answer = client.post(f"/api/v1/achievements/{achievement['id']}/results", headers=headers,
                                     json=result_body(f"{slug}-{name}", email=f"{name}@example.org"))
                assert answer.status_code == 201, answer.json
                credentials[f"{slug}-{name}"] = answer.json["credential"]
                ids[f"{slug}-{name}"] = answer.json["credential_id"]
        for slug in (ISSUER["slug"], OTHER["slug"]):
            response = client.post(f"/api/v1/credentials/{ids[slug + '-revoked']}/revoke", json={"reason": "cheating"},
                                   headers=headers)
            assert response.status_code == 200, response.json
        renewal = client.post(f"/api/v1/achievements/{achievement['id']}/results", headers=headers,
                              json=result_body("again", email="renewed@example.org"))
        assert renewal.status_code == 201 and renewal.json["renews"], renewal.json
        return {"token": token, "credentials": credentials, "achievement": achievement["id"]}
    finally:
        dispose(app)


def verify(client, document) -> dict:
    response = client.post("/api/v1/verify", json={"credential": document})
    assert response.status_code == 200, response.json
    return response.json


def failed(report) -> set[str]:
    return {check.get("code") for check in report["checks"] if check["status"] == "failed"}


def counts(instance: Instance) -> dict:
    return {model.__tablename__: instance.query(select(func.count()).select_from(model))[0][0]
            for model in (Credential, SigningKey, AuditEntry)}


def roundtrip(source: Instance, target: Instance, tmp_path):
    made = populate(source)
    backup_file = tmp_path / "badges.backup"
    result = source.ok("backup", str(backup_file))
    assert "backup written to" in result.output and "keep it private" in result.output
    assert stat.S_IMODE(os.stat(backup_file).st_mode) == 0o600  # it holds the key-encryption key
    with zipfile.ZipFile(backup_file) as archive:
        assert {"manifest.json", "key-encryption-key"} <= set(archive.namelist())

    restored = target.ok("restore", str(backup_file))
    assert restored.output.startswith("restored ")
    assert counts(target) == counts(source)
    assert (target.path / KEK_FILE_NAME).read_text() == (source.path / KEK_FILE_NAME).read_text()
    assert stat.S_IMODE(os.stat(target.path / KEK_FILE_NAME).st_mode) == 0o600

    app = target.app()
    try:
        client = app.test_client()
        for name, document in made["credentials"].items():
            report = verify(client, document)
            if name.endswith("revoked"):
                assert not report["verified"] and failed(report) == {"revoked"}, (name, report)
            else:
                assert report["verified"], (name, report)
        # The old token works, and the restored keys sign new credentials that verify.
        headers = {"Authorization": f"Bearer {made['token']}"}
        new = client.post(f"/api/v1/achievements/{made['achievement']}/results", headers=headers,
                          json=result_body("after-restore", email="new@example.org"))
        assert new.status_code == 201, new.json
        old_method = made["credentials"][f"{OTHER['slug']}-kept"]["proof"]["verificationMethod"]
        assert new.json["credential"]["proof"]["verificationMethod"] == old_method
        assert verify(client, new.json["credential"])["verified"]
        # Integer ids continue after the restored ones.
        assert client.post("/api/v1/tokens", json={"label": "after"}, headers=headers).status_code == 201
        assert client.get("/api/v1/audit?limit=1", headers=headers).json["items"][0]["action"] == "token.create"
    finally:
        dispose(app)


def test_sqlite_backup_restores_into_a_fresh_instance(database_url, tmp_path):
    """Into SQLite, and into PostgreSQL when it is configured: the backup is portable."""
    source = Instance(tmp_path / "source", None)
    target = Instance(tmp_path / "target", None if database_url.startswith("sqlite") else database_url)
    roundtrip(source, target, tmp_path)


def test_a_backup_of_the_configured_database_restores_into_sqlite(database_url, tmp_path):
    source = Instance(tmp_path / "source", None if database_url.startswith("sqlite") else database_url)
    if source.database_url:
        source.ok("db", "upgrade")
    roundtrip(source, Instance(tmp_path / "target", None), tmp_path)


def test_restore_refuses_a_database_that_is_not_empty(tmp_path):
    source = Instance(tmp_path / "source", None)
    made = populate(source)
    backup_file = tmp_path / "badges.backup"
    source.ok("backup", str(backup_file))

    target = Instance(tmp_path / "target", None)
    other_token = last_line(target.ok("token", "create", "--label", "theirs").output)
    kek_before = (target.path / KEK_FILE_NAME).read_text()
    refused = target.fails("restore", str(backup_file))
    assert "the database is not empty" in refused.output and "--replace" in refused.output
    assert counts(target)["credentials"] == 0
    assert (target.path / KEK_FILE_NAME).read_text() == kek_before  # untouched

    target.ok("restore", "--replace", str(backup_file))
    assert counts(target) == counts(source)
    app = target.app()
    try:
        client = app.test_client()
        assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {other_token}"}).status_code == 401
        assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 200
    finally:
        dispose(app)


def test_backup_never_overwrites_a_file(tmp_path):
    source = Instance(tmp_path / "source", None)
    source.ok("token", "create")
    existing = tmp_path / "existing"
    existing.write_text("precious")
    result = source.fails("backup", str(existing))
    assert "exists already" in result.output
    assert existing.read_text() == "precious"
    assert source.fails("backup", str(tmp_path / "no" / "such" / "folder" / "b")).output.startswith("Error: cannot")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing", "source"]  # no temporary left


def test_restore_refuses_what_is_not_a_usable_backup(tmp_path):
    target = Instance(tmp_path / "target", None)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a zip")
    assert "cannot read" in target.fails("restore", str(junk)).output
    not_ours = tmp_path / "other.zip"
    with zipfile.ZipFile(not_ours, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "not a badges backup" in target.fails("restore", str(not_ours)).output

    source = Instance(tmp_path / "source", None)
    source.ok("token", "create")
    good = tmp_path / "good.backup"
    source.ok("backup", str(good))
    old = tmp_path / "old.backup"
    with zipfile.ZipFile(good) as original, zipfile.ZipFile(old, "w") as copy:
        for item in original.namelist():
            data = original.read(item)
            if item == "manifest.json":
                data = data.replace(b'"revision": "', b'"revision": "0001_')
            copy.writestr(item, data)
    assert "schema revision" in target.fails("restore", str(old)).output
    assert counts(target)["credentials"] == 0


def test_restore_refuses_a_configured_key_that_is_not_the_backups(tmp_path):
    source = Instance(tmp_path / "source", None)
    populate(source)
    backup_file = tmp_path / "badges.backup"
    source.ok("backup", str(backup_file))
    target = Instance(tmp_path / "target", None, kek="b3RoZXIta2V5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=")
    result = target.fails("restore", str(backup_file))
    assert "KEY_ENCRYPTION_KEY is set to another key than the backup's" in result.output
    assert counts(target)["credentials"] == 0
