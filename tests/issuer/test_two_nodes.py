"""Two nodes, one service: two `badges serve` processes with their own instance folders, on one
database (the test PostgreSQL when BADGES_TEST_DATABASE_URL is set, else one SQLite file), one
key-encryption key, one origin and one Redis for throttling. What one node does, the other sees at
once; a verifier elsewhere may read the DID document and status lists from either."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

from issuer.db import make_engine
from issuer.migrate import upgrade
from keys import KeyEncryptionKey
from tests.conftest import ACHIEVEMENT, result_body
from tests.issuer.live import http
from tests.issuer.test_serve import free_port
from verifier import Verifier
from verifier.resolvers import Resolver

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/0"


class ServeProcess:
    def __init__(self, name: str, port: int, env: dict, tmp_path: Path, *args: str):
        self.name, self.base = name, f"http://127.0.0.1:{port}"
        self.log = open(tmp_path / f"{name}.log", "w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "issuer.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env={**env, "BADGES_INSTANCE_PATH": str(tmp_path / name)}, cwd=ROOT,
            stdout=self.log, stderr=subprocess.STDOUT, text=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 45
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited: {self.output()}")
            try:
                if http("GET", f"{self.base}/issuers/default", timeout=5).status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} did not start: {self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def two_nodes(database_url, tmp_path):
    engine = make_engine(database_url)
    upgrade(engine)  # as a deployment does, with `badges db upgrade`, before the nodes start
    engine.dispose()
    port_a, port_b = free_port(), free_port()
    origin = f"http://127.0.0.1:{port_a}"  # the deployment's one origin (a load balancer's, in production)
    env = {key: value for key, value in os.environ.items() if not key.startswith("BADGES_")}
    env.update({
        "PYTHONPATH": str(ROOT), "BADGES_BASE_URL": origin, "BADGES_DATABASE_URL": database_url,
        "BADGES_KEY_ENCRYPTION_KEY": KeyEncryptionKey.generate_text(),
        "BADGES_WORKERS": "1", "BADGES_THREADS": "8", "BADGES_VERIFY_ALLOW_HTTP_LOOPBACK": "true",
        # Throttling counted in the one Redis: generous, but for failed authentications.
        "BADGES_THROTTLE_ENABLED": "true", "BADGES_THROTTLE_STORAGE_URI": REDIS,
        "BADGES_THROTTLE_KEY_PREFIX": f"two-nodes-{uuid.uuid4().hex[:8]}",
        "BADGES_THROTTLE_AUTH_FAILURES": "3 per 10 minutes",
    })
    token_file = tmp_path / "first-admin-token"
    started = []
    try:
        started.append(ServeProcess("a", port_a, env, tmp_path, "--token-file", str(token_file)))
        started[0].wait_ready()
        started.append(ServeProcess("b", port_b, env, tmp_path))
        started[1].wait_ready()
        yield origin, started[0], started[1], token_file
    finally:
        for node in started:
            node.stop()


def outside_verifier(origin: str, node: ServeProcess) -> Verifier:
    """A verifier elsewhere whose requests for the origin reach `node` (as a load balancer sends them)."""

    def fetch_json(url: str) -> dict:
        assert url.startswith(origin + "/"), url
        answer = http("GET", node.base + url.removeprefix(origin), timeout=30)
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}")
        return answer.body

    from dataintegrity import bundled_document_loader

    return Verifier(bundled_document_loader(), Resolver(fetch_json, http_loopback=True), lambda: datetime.now(timezone.utc),
                    local_documents=fetch_json)


def checks(report) -> dict:
    items = report["checks"] if isinstance(report, dict) else [c.to_dict() for c in report.checks]
    return {item["check"]: (item["status"], item.get("code")) for item in items}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_two_nodes_one_service(two_nodes):
    origin, a, b, token_file = two_nodes
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert token.startswith("bdg_") and token not in a.output() + b.output()

    # Issued on A, verified on B (HTTP) and by a verifier reading either node.
    achievement = http("POST", f"{a.base}/api/v1/issuers/default/achievements", token=token, body=ACHIEVEMENT).body
    results = f"/api/v1/achievements/{achievement['id']}/results"
    issued = http("POST", a.base + results, token=token, body=result_body("attempt-1"))
    assert issued.status == 201, issued.body
    credential = issued.body["credential"]
    assert credential["id"].startswith(f"{origin}/credentials/")
    on_b = http("POST", f"{b.base}/api/v1/verify", token=token, body={"credential": credential})
    assert on_b.status == 200 and on_b.body["verified"], on_b.body
    for node in (a, b):
        report = outside_verifier(origin, node).verify_input(credential)
        assert report.verified, (node.name, [c for c in report.to_dict()["checks"] if c["status"] != "passed"])

    # Revoked on B: at once revoked on A, and for a verifier reading A's status list.
    revoked = http("POST", f"{b.base}/api/v1/credentials/{issued.body['credential_id']}/revoke", token=token,
                   body={"reason": "issued in error"})
    assert revoked.status == 200, revoked.body
    on_a = http("POST", f"{a.base}/api/v1/verify", token=token, body={"credential": credential})
    assert checks(on_a.body)["status"] == ("failed", "revoked")
    assert checks(outside_verifier(origin, a).verify_input(credential))["status"] == ("failed", "revoked")

    # The key rotated on A signs B's next credential; both nodes publish it.
    rotated = http("POST", f"{a.base}/api/v1/issuers/default/keys/rotate", token=token)
    assert rotated.status in (200, 201), rotated.body
    next_one = http("POST", b.base + results, token=token, body=result_body("attempt-2", email="grace@example.org"))
    assert next_one.status == 201, next_one.body
    assert next_one.body["credential"]["proof"]["verificationMethod"].endswith("#key-2")
    for node in (a, b):
        assert outside_verifier(origin, node).verify_input(next_one.body["credential"]).verified

    # Under concurrent load on both nodes, no status position is given twice.
    def issue(number: int):
        node = (a, b)[number % 2]
        answer = http("POST", node.base + results, token=token,
                      body=result_body(f"load-{number}", email=f"earner-{number}@example.org"))
        assert answer.status == 201, answer.body
        return answer.body["credential"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        loaded = list(pool.map(issue, range(48)))
    # One revocation entry each by default (an issuer may add suspension: README "Status lists").
    positions = [(entry["statusListCredential"], entry["statusPurpose"], entry["statusListIndex"])
                 for issued_credential in [credential, next_one.body["credential"], *loaded]
                 for entry in as_list(issued_credential["credentialStatus"])]
    assert len(positions) == len(set(positions)) == 50

    # Throttling is counted in the shared Redis: failed authentications add up across nodes.
    for node in (a, a, b):
        assert http("GET", f"{node.base}/api/v1/tokens", token="bdg_wrong").status == 401
    assert http("GET", f"{b.base}/api/v1/tokens", token="bdg_wrong").status == 429
