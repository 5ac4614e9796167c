"""`badges serve` on a fresh instance, as the README's first command runs it: a live server on loopback."""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url, *, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.fixture
def served(tmp_path):
    port = free_port()
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGES_")}
    env["BADGES_INSTANCE_PATH"] = str(instance)
    server = subprocess.Popen(
        [sys.executable, "-c", "from issuer.cli import main; main()", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Running on" in line or "Instance folder" in line:
                break
        base = f"http://127.0.0.1:{port}"
        # Gunicorn's workers build their app after the first-start output: wait for them.
        ready_by = time.monotonic() + 60
        while True:
            try:
                request(f"{base}/issuers/default")
                break
            except OSError:
                if time.monotonic() > ready_by:
                    raise
                time.sleep(0.1)
        yield base, lines, instance, server
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_fresh_start_creates_everything_and_issues(served):
    base, lines, instance, _ = served
    token = next(line.strip() for line in lines if line.startswith("bdg_"))
    assert (instance / "badges.sqlite3").exists()
    assert (instance / "key-encryption-key").stat().st_mode & 0o777 == 0o600

    status, did_document = request(f"{base}/issuers/default/did.json")
    assert status == 200 and did_document["id"] == f"did:web:127.0.0.1%3A{base.rsplit(':', 1)[1]}:issuers:default"

    status, achievement = request(f"{base}/api/v1/issuers/default/achievements", token=token, body={
        "name": "First badge", "description": "Proves the service runs.", "criteria": {"narrative": "Pass."},
        "passing_score": 1, "max_score": 1})
    assert status == 201
    status, answer = request(f"{base}/api/v1/achievements/{achievement['id']}/results", token=token, body={
        "external_id": "x-1", "recipient": {"email": "a@example.org"}, "score": 1, "completed_at": "2026-01-01T00:00:00Z"})
    assert status == 201 and answer["credential"]["id"].startswith(f"{base}/credentials/")
    assert answer["credential"]["proof"]["verificationMethod"] == did_document["assertionMethod"][0]


def test_verifications_counted_in_memory_are_written_when_the_server_stops(served):
    base, lines, instance, server = served
    token = next(line.strip() for line in lines if line.startswith("bdg_"))
    status, achievement = request(f"{base}/api/v1/issuers/default/achievements", token=token, body={
        "name": "First badge", "description": "Proves the service runs.", "criteria": {"narrative": "Pass."},
        "passing_score": 1, "max_score": 1})
    status, answer = request(f"{base}/api/v1/achievements/{achievement['id']}/results", token=token, body={
        "external_id": "x-1", "recipient": {"email": "a@example.org"}, "score": 1, "completed_at": "2026-01-01T00:00:00Z"})
    for _ in range(3):
        status, report = request(f"{base}/api/v1/verify", body={"credential": answer["credential"]})
        assert status == 200 and report["verified"], report
    server.terminate()  # a clean stop: gunicorn stops its workers, each writes what it counted
    assert server.wait(timeout=30) == 0
    with sqlite3.connect(instance / "badges.sqlite3") as database:
        assert database.execute("SELECT sum(count) FROM verification_counts").fetchone()[0] == 3
