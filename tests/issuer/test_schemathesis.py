"""schemathesis against a live server: every operation of /api/openapi.json, the document's links
followed statefully (an issuer -> its achievements -> results -> the credential and its
lifecycle), with every check schemathesis has (no 5xx, answers and their content types, headers
and bodies as documented, invalid data refused, valid data accepted, 405 with Allow for other
methods, 401 without the token, ...). Deterministic (derandomized) and bounded by
tests/issuer/schemathesis.toml."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from issuer import create_app
from issuer.auth import create_token
from issuer.db import transaction
from issuer.urls import Urls
from tests.issuer.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def live(services, tmp_path):
    """The app on 127.0.0.1, its BASE_URL that origin, and an instance token: (base URL, token, token id)."""
    server = LiveServer()
    try:
        live_services = dataclasses.replace(services, urls=Urls(server.base_url))
        # Thousands of requests from one address and token: no throttling (Flask-Limiter's switch).
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": server.base_url,
                          "THROTTLE_ENABLED": False}, services=live_services)
        server.start(app)
        with live_services.sessionmaker() as session, transaction(session):
            token, plain = create_token(session, issuer=None, label="schemathesis", now=live_services.clock())
            session.flush()
            token_id = token.id
        yield server.base_url, plain, token_id
    finally:
        server.close()


# One database is enough: the document and the routes are the same on both.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_service_answers_as_its_openapi_document_says(live, tmp_path):
    base_url, token, token_id = live
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.issuer.schemathesis_hooks",
           "BADGES_SUITE_TOKEN_ID": token_id, "NO_COLOR": "1", "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color", "run",
         f"{base_url}/api/openapi.json", "--checks", "all", "--header", f"Authorization: Bearer {token}",
         "--report", "junit", "--report-dir", str(tmp_path / "report")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-5000:]
    # Every operation of the document was tested, and the stateful phase followed links.
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    assert selected and selected[1] == selected[2] and f"Tested: {selected[1]}" in run.stdout, run.stdout[-3000:]
    covered = re.search(r"API Links:\s+(\d+) covered", run.stdout)
    assert covered and int(covered[1]) > 0, run.stdout[-3000:]
