"""Issuing a cohort in bulk, end to end over HTTP, and single results at 8 clients.

    python bench/batch.py [--database-url URL] [--results 10000] [--batch 1000] [--no-verify]

The database is a fresh SQLite file unless --database-url (or BADGES_BENCH_DATABASE_URL) names
a PostgreSQL server, where a schema of its own is made and dropped afterwards. The service runs
on a threaded server on 127.0.0.1 in this process.

Measured in this run: the cohort posted as `POST .../results/batch` of --batch results each
(credentials per second, the bar is 500/s); `POST .../results` from 8 clients (per second and
p99, shown without a bar: the clients share this process's interpreter with the server, so the
route's bars, 150/s and 250 ms, are measured by bench/http_load.py under `badges serve`); and, as the baseline, the time to sign one such credential
alone, which says how much of the batch's time is signing. Afterwards the cohort is checked:
exactly --results credentials, unique status positions, and every one verifying (our own
verifier, status lists included). Exits non-zero when a bar is missed or a check fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from dataintegrity import add_proof  # noqa: E402
from issuer import create_app  # noqa: E402
from issuer.auth import create_token  # noqa: E402
from issuer.db import transaction  # noqa: E402
from issuer.migrate import upgrade  # noqa: E402
from issuer.models import Credential, Issuer, StatusEntry  # noqa: E402
from tests.issuer.live import request  # noqa: E402

BATCH_BAR = 500.0  # credentials per second
SINGLE_CLIENTS, SINGLE_PER_CLIENT = 8, 40
KEK = "YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="

ACHIEVEMENT = {
    "name": "Python Basics", "description": "Writes, runs and tests small Python programs.",
    "criteria": {"narrative": "Score at least 70 out of 100 in the proctored Python basics exam."},
    "achievement_type": "Badge", "passing_score": 70, "max_score": 100, "valid_for": "P1Y",
    "alignments": [{"target_name": "Python", "target_url": "https://esco.example/skill/python",
                    "target_framework": "ESCO"}],
}


def result(external_id: str, n: int) -> dict:
    return {"external_id": external_id, "recipient": {"email": f"earner{n}@example.org", "name": f"Earner {n}"},
            "score": 70 + n % 31, "completed_at": "2026-11-25T11:00:00Z",
            "evidence": [{"id": f"https://lms.example/attempts/{n}", "name": "Exam attempt"}]}


def post(url: str, token: str, body: dict, timeout: float = 600) -> tuple[int, dict]:
    status, _, raw = request("POST", url, token=token, body=body, timeout=timeout)
    return status, json.loads(raw if 200 <= status < 300 else raw or b"{}")  # an error may have no body


class Database:
    """A fresh SQLite file, or a schema of its own on the PostgreSQL server given."""

    def __init__(self, url: str | None, folder: Path):
        self._admin = None
        if not url:
            self.url = f"sqlite:///{folder / 'bench.sqlite3'}"
            return
        self._schema = f"bench_{uuid.uuid4().hex[:12]}"
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self._schema}"'))
        self.url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{self._schema}"

    def drop(self) -> None:
        if self._admin is not None:
            with self._admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{self._schema}" CASCADE'))
            self._admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BADGES_BENCH_DATABASE_URL"))
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--no-verify", action="store_true", help="skip verifying every credential afterwards")
    options = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    with tempfile.TemporaryDirectory() as folder:
        database = Database(options.database_url, Path(folder))
        server = None
        try:
            server = make_server("127.0.0.1", 0, None, threaded=True)
            base_url = f"http://127.0.0.1:{server.server_port}"
            app = create_app({"INSTANCE_PATH": str(Path(folder) / "instance"), "DATABASE_URL": database.url,
                              "BASE_URL": base_url, "KEY_ENCRYPTION_KEY": KEK,
                              # one address and one token carry the whole load: limits far above it
                              "THROTTLE_API_PER_TOKEN": "10000000 per minute",
                              "THROTTLE_API_PER_ADDRESS": "10000000 per minute"})
            services = app.extensions["badges"]
            engine = services.sessionmaker.kw["bind"]
            upgrade(engine)
            server.app = app
            threading.Thread(target=server.serve_forever, daemon=True).start()
            return run(options, app, services, base_url, engine.dialect.name)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            if "app" in locals():
                app.extensions["badges"].sessionmaker.kw["bind"].dispose()
            database.drop()


def show(what: str, value: str, note: str) -> None:
    """One row of the table, printed as soon as it is measured."""
    print(f"{what:<44}  {value:<40} {note}", flush=True)


def run(options, app, services, base_url: str, dialect: str) -> int:
    with services.sessionmaker() as session, transaction(session):
        _, token = create_token(session, issuer=None, label="bench", now=services.clock())
    status, _ = post(f"{base_url}/api/v1/issuers", token, {"slug": "acme", "name": "Acme Academy",
                                                            "url": "https://acme.example"})
    assert status == 201, status
    status, achievement = post(f"{base_url}/api/v1/issuers/acme/achievements", token, ACHIEVEMENT)
    assert status == 201, achievement
    results_url = f"{base_url}/api/v1/achievements/{achievement['id']}/results"

    # Baseline: signing one credential of this cohort, alone; sampled before and after the batches,
    # since on a shared machine the load changes while they run.
    first = post(f"{results_url}/batch", token, {"results": [result("warm-up", -1)]})[1]["items"][0]["credential"]
    unsigned = {k: v for k, v in first.items() if k != "proof"}
    with services.sessionmaker() as session:
        keystore = services.keystore(session)
        signer = keystore.signer(keystore.active_key(session.scalar(select(Issuer))))

    def sign_samples(n: int) -> list[float]:
        samples = []
        for _ in range(n):
            began = time.perf_counter()
            add_proof(unsigned, signer=signer, created=services.clock(), document_loader=services.document_loader)
            samples.append(time.perf_counter() - began)
        return samples

    samples = sign_samples(50)
    show("database", dialect, "")

    # The cohort, in batches.
    start = time.perf_counter()
    statuses: Counter = Counter()
    issued: list[str] = []
    for offset in range(0, options.results, options.batch):
        body = {"results": [result(f"cohort-{n}", n) for n in range(offset, min(offset + options.batch, options.results))]}
        status, answer = post(f"{results_url}/batch", token, body)
        if status != 200:
            print(f"batch at {offset} answered {status}: {answer}", file=sys.stderr)
            return 1
        statuses.update(item["status"] for item in answer["items"])
        issued.extend(item["credential_id"] for item in answer["items"] if item["status"] == 201)
    batch_seconds = time.perf_counter() - start
    batch_rate = options.results / batch_seconds
    sign_seconds = statistics.median(samples + sign_samples(50))
    show("sign one credential alone (baseline)", f"{sign_seconds * 1000:.2f} ms", "median, before and after")
    share = sign_seconds * options.results / batch_seconds
    show(f"batch: {options.results:,} results in batches of {options.batch:,}",
         f"{batch_rate:.0f} credentials/s ({batch_seconds:.1f} s)", f"bar {BATCH_BAR:.0f}/s")
    show("  of which signing", f"{share:.0%}", f"{batch_rate / (1 - share):.0f}/s without it" if share < 1 else
         "(the load changed meanwhile; run again)")
    show("  per credential", f"{batch_seconds / options.results * 1000:.2f} ms",
         f"{batch_seconds / options.results / sign_seconds:.2f}x one signature")

    # Single results, 8 clients.
    latencies: list[float] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        for n in range(SINGLE_PER_CLIENT):
            began = time.perf_counter()
            status, _ = post(results_url, token, result(f"single-{c}-{n}", 100_000 + c * 1000 + n))
            with lock:
                latencies.append(time.perf_counter() - began)
                statuses[f"single {status}"] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(SINGLE_CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    single_seconds = time.perf_counter() - start
    single_rate = len(latencies) / single_seconds
    single_p99 = sorted(latencies)[max(0, int(len(latencies) * 0.99) - 1)]
    show(f"single POST .../results, {SINGLE_CLIENTS} clients", f"{single_rate:.0f}/s, p99 {single_p99 * 1000:.0f} ms",
         "clients in the server's process: no bar here (bench/http_load.py has it)")

    # The cohort afterwards.
    problems = []
    if statuses[201] != options.results or len(set(issued)) != options.results:
        problems.append(f"answers: {dict(statuses)}")
    with services.sessionmaker() as session:
        credentials = session.scalar(select(func.count()).select_from(Credential))
        expected = options.results + 1 + SINGLE_CLIENTS * SINGLE_PER_CLIENT  # with the warm-up
        if credentials != expected:
            problems.append(f"{credentials} credentials stored, expected {expected}")
        # One entry per credential and purpose: the revocation entry, and suspension's if the issuer opted in.
        entries = expected * len(services.status_list_policy.purposes_for(session.scalar(select(Issuer))))
        positions = session.execute(select(StatusEntry.list_id, StatusEntry.position)).all()
        if len(positions) != entries or len(set(positions)) != len(positions):
            problems.append(f"{len(positions)} status entries, {len(set(positions))} distinct, expected {entries}")
    verify_seconds = None
    if not options.no_verify:
        verifier = app.extensions["verifier"]()
        start = time.perf_counter()
        failed = 0
        with app.app_context():
            with services.sessionmaker() as session:
                for offset in range(0, len(issued), 500):
                    ids = issued[offset:offset + 500]
                    for document in session.scalars(select(Credential.document).where(Credential.id.in_(ids))):
                        if not verifier.verify_credential(document).verified:
                            failed += 1
        verify_seconds = time.perf_counter() - start
        if failed:
            problems.append(f"{failed} of {len(issued)} credentials do not verify")

    show("cohort checks", "failed: " + "; ".join(problems) if problems else
         f"{options.results:,} credentials, unique positions" + (", every one verifies" if verify_seconds else ""),
         f"verified in {verify_seconds:.0f} s" if verify_seconds else "")
    missed = []
    if batch_rate < BATCH_BAR:
        missed.append("batch rate")
    if missed:
        print(f"below the bar: {', '.join(missed)}", file=sys.stderr)
    return 1 if problems or missed else 0


if __name__ == "__main__":
    sys.exit(main())
