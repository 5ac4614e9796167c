"""Soak: verdicts under load. `badges serve` answers POST /api/v1/verify from many clients while
credentials are issued and revoked at the same time; every verdict must be right.

    python bench/soak.py [--verifications 20000] [--clients 32] [--databases sqlite,postgresql]
                         [--postgresql-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each database, a fresh instance (SQLite in a temporary folder; a fresh schema on PostgreSQL,
dropped afterwards) is served by `badges serve` in its own process on a free loopback port. Before
the run, --valid credentials are issued and --revoked more issued and revoked. Then --clients
threads verify them round-robin over real HTTP, in two runs of half the verifications each, while
--churn threads issue new credentials, verify each at once (it must verify), revoke every other
one and verify it again (it must fail `revoked` at once: the service's own verifier reads our
lists from the database). Each revocation changes a status list, so lists are signed again all
through the run.

Right means: a valid credential verifies with no failed check; a revoked one is not verified and
its only failed check is `status` with code `revoked`; a credential's verdict is the same in both
runs and every time within a run. Prints one table row per database (counts, rate, latency) and
exits 1 on any wrong verdict, any error answer, or any verdict that changed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.issuer.live import request  # noqa: E402

DEFAULT_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACHIEVEMENT = {
    "name": "Soak Badge", "description": "Verified many times over.",
    "criteria": {"narrative": "Score at least 70 out of 100."},
    "achievement_type": "Badge", "passing_score": 70, "max_score": 100, "valid_for": "P1Y",
}


def http(method: str, url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, dict | None]:
    status, _, raw = request(method, url, token=token, body=body, timeout=120)
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        if 200 <= status < 300:
            raise
        return status, {"body": raw[:200].decode("utf-8", "replace")}  # e.g. a proxy's or server's error page


def verdict(report: dict) -> tuple:
    """What a verifier's user reads: verified, and (check, status, code) of every check."""
    return report["verified"], tuple((c["check"], c["status"], c.get("code")) for c in report["checks"])


def is_right(answer: tuple, revoked: bool) -> bool:
    verified, checks = answer
    failed = [(check, code) for check, status, code in checks if status == "failed"]
    return (not verified and failed == [("status", "revoked")]) if revoked else (verified is True and not failed)


class Server:
    """`badges serve` on a free loopback port, in its own process."""

    def __init__(self, instance: Path, database_url: str | None):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        # Verdicts, not throttling, are under test: 32 clients on one address would be throttled.
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BADGES_INSTANCE_PATH": str(instance),
               "BADGES_THROTTLE_ENABLED": "false"}
        env.pop("BADGES_DATABASE_URL", None)
        if database_url:
            env["BADGES_DATABASE_URL"] = database_url
            subprocess.run([sys.executable, "-c", "from issuer.cli import main; main()", "db", "upgrade"],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        self._out = open(instance / "serve.out", "w+")
        self._err = open(instance / "serve.err", "w")
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from issuer.cli import main; main()", "serve", "--port", str(port)],
            env=env, stdout=self._out, stderr=self._err, text=True,
        )
        self.token = self._wait(instance / "serve.out")

    def _wait(self, output: Path) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SystemExit(f"badges serve exited with {self._process.returncode}; see {self._err.name}")
            token = re.search(r"^(bdg_\S+)$", output.read_text(), re.MULTILINE)
            if token:
                try:
                    http("GET", f"{self.base_url}/issuers/default/did.json")
                    return token.group(1)
                except OSError:
                    pass
            time.sleep(0.2)
        raise SystemExit("badges serve did not start within 120 s")

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._out.close()
        self._err.close()


class Soak:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.token = token
        status, achievement = http("POST", f"{base_url}/api/v1/issuers/default/achievements", token=token,
                                   body=ACHIEVEMENT)
        if status != 201:
            raise SystemExit(f"could not create an achievement: {status} {achievement}")
        self.results_url = f"{base_url}/api/v1/achievements/{achievement['id']}/results"
        self._numbers = itertools.count()
        self.errors: list[str] = []
        self.churn_checks = 0
        self.churn_wrong: list[tuple] = []
        self.churn_issued = 0
        self.churn_revoked = 0

    def issue(self) -> dict:
        body = {"external_id": f"soak-{next(self._numbers)}", "recipient": {"email": f"{uuid.uuid4().hex}@example.org"},
                "score": 85, "completed_at": "2026-11-25T10:00:00Z"}
        status, answer = http("POST", self.results_url, token=self.token, body=body)
        if status != 201:
            raise RuntimeError(f"issuing answered {status}: {answer}")
        return answer

    def revoke(self, answer: dict) -> None:
        status, body = http("POST", f"{self.base_url}/api/v1/credentials/{answer['credential_id']}/revoke",
                            token=self.token, body={"reason": "soak"})
        if status != 200:
            raise RuntimeError(f"revoking answered {status}: {body}")

    def verify(self, credential: dict) -> tuple:
        status, report = http("POST", f"{self.base_url}/api/v1/verify", body={"credential": credential})
        if status != 200:
            raise RuntimeError(f"verify answered {status}: {report}")
        return verdict(report)

    def churn(self, stop: threading.Event) -> None:
        """Issue, verify at once, revoke every other one and verify it again at once."""
        for n in itertools.count():
            if stop.is_set():
                return
            try:
                answer = self.issue()
                self.churn_issued += 1
                checks = [(self.verify(answer["credential"]), False)]
                if n % 2:
                    self.revoke(answer)
                    self.churn_revoked += 1
                    checks.append((self.verify(answer["credential"]), True))
            except (RuntimeError, OSError) as error:
                self.errors.append(f"churn: {error}")
                continue
            self.churn_checks += len(checks)
            self.churn_wrong.extend((answer["credential_id"], a) for a, revoked in checks if not is_right(a, revoked))


def soak(name: str, database_url: str | None, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="badges-soak-") as folder:
        server = Server(Path(folder), database_url)
        try:
            return _run(name, server, args)
        finally:
            server.close()


def _run(name: str, server: Server, args) -> dict:
    soak = Soak(server.base_url, server.token)
    valid = [soak.issue()["credential"] for _ in range(args.valid)]
    revoked = []
    for _ in range(args.revoked):
        answer = soak.issue()
        soak.revoke(answer)
        revoked.append(answer["credential"])
    credentials = [(c, False) for c in valid] + [(c, True) for c in revoked]
    latencies: list[float] = []

    def verify(n: int):
        index = n % len(credentials)
        started = time.perf_counter()
        try:
            answer = soak.verify(credentials[index][0])
        except (RuntimeError, OSError) as error:
            soak.errors.append(f"verify: {error}")
            return index, None
        latencies.append(time.perf_counter() - started)
        return index, answer

    stop = threading.Event()
    churners = [threading.Thread(target=soak.churn, args=(stop,), daemon=True) for _ in range(args.churn)]
    for thread in churners:
        thread.start()
    runs = []
    started = time.perf_counter()
    try:
        for _ in range(2):
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                runs.append(list(pool.map(verify, range(args.verifications // 2))))
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        for thread in churners:
            thread.join(timeout=120)

    answers = [(index, answer) for run in runs for index, answer in run if answer is not None]
    wrong = [(index, answer) for index, answer in answers if not is_right(answer, credentials[index][1])]
    per_run = [{index: set() for index in range(len(credentials))} for _ in runs]
    for seen, run in zip(per_run, runs):
        for index, answer in run:
            if answer is not None:
                seen[index].add(answer)
    changed = sum(1 for index in range(len(credentials))
                  if len(per_run[0][index] | per_run[1][index]) > 1)
    for index, answer in wrong[:5]:
        print(f"  {name}: wrong verdict for credential {index} (revoked: {credentials[index][1]}): {answer}", file=sys.stderr)
    for credential_id, answer in soak.churn_wrong[:5]:
        print(f"  {name}: wrong verdict for churned credential {credential_id}: {answer}", file=sys.stderr)
    for error in soak.errors[:5]:
        print(f"  {name}: {error}", file=sys.stderr)
    latencies.sort()
    return {
        "database": name,
        "verifications": len(answers),
        "per_s": len(answers) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "valid_ok": sum(1 for index, answer in answers if not credentials[index][1] and is_right(answer, False)),
        "revoked_ok": sum(1 for index, answer in answers if credentials[index][1] and is_right(answer, True)),
        "wrong": len(wrong),
        "changed": changed,
        "errors": len(soak.errors),
        "churn_issued": soak.churn_issued,
        "churn_revoked": soak.churn_revoked,
        "churn_checks": soak.churn_checks,
        "churn_wrong": len(soak.churn_wrong),
    }


def postgresql_schema(base_url: str):
    """A fresh schema on `base_url` and a URL using it, and how to drop it."""
    from sqlalchemy import create_engine, text

    schema = f"soak_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verifications", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--churn", type=int, default=4, help="threads issuing and revoking meanwhile")
    parser.add_argument("--valid", type=int, default=50)
    parser.add_argument("--revoked", type=int, default=10)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgresql-url", default=os.environ.get("BADGES_TEST_DATABASE_URL", DEFAULT_POSTGRESQL))
    args = parser.parse_args()

    rows = []
    for name in [d.strip() for d in args.databases.split(",") if d.strip()]:
        if name == "sqlite":
            rows.append(soak(name, None, args))
        elif name == "postgresql":
            url, drop = postgresql_schema(args.postgresql_url)
            try:
                rows.append(soak(name, url, args))
            finally:
                drop()
        else:
            parser.error(f"unknown database {name!r} (sqlite, postgresql)")

    columns = ["database", "verifications", "per_s", "p50_ms", "p99_ms", "valid_ok", "revoked_ok", "wrong",
               "changed", "errors", "churn_issued", "churn_revoked", "churn_checks", "churn_wrong"]
    print(" | ".join(columns))
    failed = False
    for row in rows:
        print(" | ".join(f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c]) for c in columns))
        bad = row["wrong"] or row["changed"] or row["errors"] or row["churn_wrong"]
        failed = failed or bool(bad)
        print(f"{'FAIL' if bad else 'PASS'} {row['database']}: every verdict right and unchanged between the two runs")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
