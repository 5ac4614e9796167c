"""`badges verify PATH|URL|-`: offline, no server, no database; exit 0 verified, 1 not verified,
2 unreadable. Credentials are issued by our own API (a did:key issuer verifies offline) and saved
to files, as a user would download them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from issuer.cli import main
from tests.conftest import ACHIEVEMENT, ISSUER, result_body
from tests.verifier.test_forms_baked import png
from verifier.forms.baked import bake_png

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def key_credential(api, clock) -> dict:
    """A credential of a did:key issuer, issued a minute ago by the real clock (the CLI uses it)."""
    clock.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    issuer = api.post("/api/v1/issuers", json={**ISSUER, "slug": "keyed", "did_method": "key"})
    assert issuer.status_code == 201, issuer.json
    assert issuer.json["id"].startswith("did:key:z6Mk")
    achievement = api.post("/api/v1/issuers/keyed/achievements", json=ACHIEVEMENT)
    response = api.post(f"/api/v1/achievements/{achievement.json['id']}/results", json=result_body())
    assert response.status_code == 201, response.json
    return response.json["credential"]


@pytest.fixture
def web_credential(api, achievement, clock) -> dict:
    clock.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    return api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential"]


def save(tmp_path: Path, name: str, content) -> str:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content, indent=2)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def run(*args, stdin: bytes | None = None):
    return CliRunner().invoke(main, ["verify", *args], input=stdin, catch_exceptions=False)


# Our credentials carry status entries at https://badges.test/status/..., which no test can
# reach: these tests verify offline, and say so.
OFFLINE = "--no-status"


def test_a_credential_file_that_verifies(tmp_path, key_credential):
    result = run(save(tmp_path, "badge.json", key_credential), OFFLINE)
    assert result.exit_code == 0, result.output
    first, *rows = result.output.strip().splitlines()
    assert first.startswith("VERIFIED: Python Basics") and "Acme Academy" in first
    named = {row.split()[1]: row.split()[0] for row in rows}
    # schema: a warning (ob_status_set), as the suite's instance has suspension enabled
    assert named == {"format": "passed", "context": "passed", "schema": "warning", "issuer": "passed",
                     "proof": "passed", "validity": "passed", "status": "skipped", "trust": "skipped"}


def test_an_unreachable_status_list_fails_the_status_check(tmp_path, key_credential):
    result = run(save(tmp_path, "badge.json", key_credential), "--json")
    assert result.exit_code == 1, result.output
    status = next(c for c in json.loads(result.output)["checks"] if c["check"] == "status")
    assert (status["status"], status["code"]) == ("failed", "status_unavailable")


def test_a_tampered_file_exits_1(tmp_path, key_credential):
    tampered = copy.deepcopy(key_credential)
    tampered["credentialSubject"]["achievement"]["name"] = "Rocket Science"
    result = run(save(tmp_path, "badge.json", tampered))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("NOT VERIFIED")
    assert "[invalid_signature]" in result.output


@pytest.mark.parametrize("content", ["this is not a credential", b"\x89PNG\r\n\x1a\nbroken", "[1, 2, 3]", ""],
                         ids=["text", "broken-png", "json-array", "empty"])
def test_garbage_exits_2(tmp_path, content):
    result = run(save(tmp_path, "garbage.json", content))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("NOT VERIFIED")


def test_a_missing_file_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "nowhere.json")])
    assert result.exit_code == 2
    assert "cannot read" in result.output and "nowhere.json" in result.output


def test_standard_input(key_credential):
    result = run("-", OFFLINE, stdin=json.dumps(key_credential).encode())
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VERIFIED")


def test_json_output(tmp_path, key_credential):
    result = run(save(tmp_path, "badge.json", key_credential), "--json", OFFLINE)
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["verified"] is True
    assert [c["check"] for c in report["checks"]] == ["format", "context", "schema", "issuer", "proof", "validity",
                                                      "status", "trust"]
    assert report["credential"]["id"] == key_credential["id"]
    assert report["credential"]["issuer"]["id"] == key_credential["issuer"]["id"]


def test_json_output_for_an_unreadable_file(tmp_path):
    result = run(save(tmp_path, "x.json", "nope"), "--json")
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["verified"] is False and report["checks"][0]["code"] == "unreadable_input"


def test_a_baked_png(tmp_path, key_credential):
    result = run(save(tmp_path, "badge.png", bake_png(png(), json.dumps(key_credential))), OFFLINE)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VERIFIED")


def test_a_png_without_a_credential_exits_2(tmp_path):
    assert run(save(tmp_path, "plain.png", png())).exit_code == 2


def test_did_web_offline_without_a_server(tmp_path, web_credential):
    assert web_credential["issuer"]["id"] == "did:web:badges.test:issuers:acme"
    result = run(save(tmp_path, "badge.json", web_credential), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    issuer = next(c for c in report["checks"] if c["check"] == "issuer")
    assert (issuer["status"], issuer["code"]) == ("failed", "unresolvable_key")
    assert "did:web:badges.test:issuers:acme" in issuer["message"]


def test_the_real_exit_codes(tmp_path, key_credential):
    """The installed entry point in a fresh process, without a database or an instance folder."""
    good = save(tmp_path, "badge.json", key_credential)
    tampered = copy.deepcopy(key_credential)
    tampered["name"] = "changed"
    bad = save(tmp_path, "tampered.json", tampered)
    env = {key: value for key, value in os.environ.items() if not key.startswith("BADGES_")}
    env["BADGES_INSTANCE_PATH"] = str(tmp_path / "no-instance")
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-c", "import sys; from issuer.cli import main; sys.exit(main())", "verify", OFFLINE]
    codes = {}
    for name, path in (("good", good), ("bad", bad), ("garbage", save(tmp_path, "g.json", "garbage")),
                       ("missing", str(tmp_path / "missing.json"))):
        completed = subprocess.run([*command, path], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        codes[name] = completed.returncode
    assert codes == {"good": 0, "bad": 1, "garbage": 2, "missing": 2}
    assert not (tmp_path / "no-instance").exists()  # verify touched no instance folder or database
