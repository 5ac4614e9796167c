"""Watches: revalidating 100,000 watched credentials over 100 status lists after the lists change.

    python bench/watches.py [--watches 100000] [--lists 100] [--revoke 0.01] [--limit 10]

Seeds a temporary SQLite database directly (one relying party with a webhook endpoint, the
watches, their status entries, the watched lists), serves the lists from a loopback HTTP server
with ETags (signed by a did:key made for the run), and refreshes every list once so each has its
ETag and version. Then every list changes (--revoke of its entries revoked) and all lists are
refreshed the way the worker does it (issuer/watches `Watcher.refresh_list`: a conditional
fetch, the changed list verified once, a bit lookup per watched credential, a verdict change,
history entry and party event per revoked credential, one transaction per list), timed.

Baseline (informational): the full verification of one watched credential (what a naive
revalidation would do per credential), measured a few times, times the number of watches.

Prints the time, the cost per watched credential, the baseline ratio, and PASS/FAIL for
"all revoked watches turned revoked, no other changed" and "within --limit seconds"; exits 1 on FAIL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from dataintegrity import add_proof, bundled_document_loader, did_key_from_ed25519  # noqa: E402
from issuer.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from issuer.migrate import upgrade  # noqa: E402
from issuer.models import Party, Watch, WatchChange, WatchEntry, WatchedList, WebhookEndpoint, WebhookMessage  # noqa: E402
from issuer.services import Services  # noqa: E402
from issuer.urls import Urls  # noqa: E402
from issuer.watches import Watcher, WatchSettings  # noqa: E402
from keys import KeyEncryptionKey  # noqa: E402
from verifier import Policy, Verifier  # noqa: E402
from verifier.fetcher import Fetcher, FetchPolicy  # noqa: E402
from verifier.resolvers import Resolver  # noqa: E402
from verifier.statuslist import MIN_LENGTH_BYTES, encode_status_list, set_bit  # noqa: E402

VC2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


class Signer:
    algorithm = "Ed25519"

    def __init__(self):
        self._key = Ed25519PrivateKey.generate()
        self.did = did_key_from_ed25519(self._key.public_key().public_bytes_raw())
        self.verification_method = f"{self.did}#{self.did.removeprefix('did:key:')}"

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class Lists:
    """Signed lists on loopback, answering If-None-Match with 304."""

    def __init__(self, signer: Signer, count: int, loader):
        self.signer, self.loader, self.bodies = signer, loader, {}
        lists = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = lists.bodies.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                self.send_response(304 if self.headers.get("If-None-Match") == etag else 200)
                self.send_header("ETag", etag)
                if self.headers.get("If-None-Match") != etag:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.urls = [f"{self.base}/lists/{n}" for n in range(count)]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, url: str, revoked=()) -> None:
        bits = bytearray(MIN_LENGTH_BYTES)
        for index in revoked:
            set_bit(bits, index)
        document = add_proof({
            "@context": [VC2], "id": url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.signer.did, "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                                  "encodedList": encode_status_list(bits), "ttl": 300000},
        }, signer=self.signer, created="2026-11-01T09:00:00Z", document_loader=self.loader)
        self.bodies[url.removeprefix(self.base)] = json.dumps(document).encode()


def credential(signer: Signer, url: str, index: int, loader) -> dict:
    return add_proof({
        "@context": [VC2, OB], "id": f"urn:uuid:{uuid.uuid4()}", "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": signer.did, "type": ["Profile"], "name": "Bench Issuer"}, "name": "Teamwork",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"], "achievement": {
            "id": "https://badges.example/achievements/1", "type": ["Achievement"], "name": "Teamwork",
            "description": "Works well in a team", "criteria": {"narrative": "Led a project"}}},
        "credentialStatus": {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                             "statusListIndex": str(index), "statusListCredential": url},
    }, signer=signer, created="2026-11-01T09:00:00Z", document_loader=loader)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watches", type=int, default=100_000)
    parser.add_argument("--lists", type=int, default=100)
    parser.add_argument("--revoke", type=float, default=0.01)
    parser.add_argument("--limit", type=float, default=10.0)
    args = parser.parse_args()

    loader = bundled_document_loader()
    signer = Signer()
    lists = Lists(signer, args.lists, loader)
    for url in lists.urls:
        lists.publish(url)
    folder = tempfile.TemporaryDirectory()
    engine = make_engine(f"sqlite:///{folder.name}/bench.sqlite3")
    upgrade(engine)
    services = Services(sessionmaker=make_sessionmaker(engine), key_encryption_key=KeyEncryptionKey.from_text(KeyEncryptionKey.generate_text()),
                        document_loader=loader, urls=Urls("https://badges.example"))
    fetcher = Fetcher(FetchPolicy(allow_http_loopback=True))
    verifier = Verifier(document_loader=loader, resolver=Resolver.through(fetcher), clock=lambda: datetime.now(timezone.utc),
                        policy=Policy(), fetcher=fetcher)
    watcher = Watcher(verifier, services, WatchSettings())

    # --- seed, directly ----------------------------------------------------------------------
    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    per_list = args.watches // args.lists
    sample = credential(signer, lists.urls[0], per_list - 1, loader)  # a real one: the baseline verifies it
    with services.sessionmaker() as session, transaction(session):
        party = Party(id=str(uuid.uuid4()), name="Bench Hiring", created_at=now)
        session.add(party)
        session.flush()
        session.add(WebhookEndpoint(party_id=party.id, url="https://hooks.example/watches", sealed_secret=b"x",
                                    created_at=now))
        watches, entries = [], []
        for n, url in enumerate(lists.urls):
            for index in range(per_list):
                watch_id = str(uuid.uuid4())
                watches.append({"id": watch_id, "party_id": party.id, "source": {}, "issuer_did": signer.did,
                                "credential_id": f"urn:uuid:{watch_id}", "state": "valid", "report": {},
                                "checks_ok": True, "created_at": now, "checked_at": now, "changed_at": now})
                entries.append({"watch_id": watch_id, "list_url": url, "position": index, "purpose": "revocation",
                                "bit": 0})
        session.execute(insert(Watch), watches)
        session.execute(insert(WatchEntry), entries)
        session.execute(insert(WatchedList), [{"url": url, "next_fetch_at": now} for url in lists.urls])
    seeded = time.perf_counter() - started
    for url in lists.urls:  # the first refresh of each list: its ETag and version are known afterwards
        with services.sessionmaker() as session, transaction(session):
            watcher.refresh_list(session, url, datetime.now(timezone.utc))
    print(f"seeded {args.watches:,} watches over {args.lists} lists in {seeded:.1f} s")

    # --- every list changes; refresh them all, timed ------------------------------------------
    revoked_per_list = max(1, int(per_list * args.revoke))
    for url in lists.urls:
        lists.publish(url, revoked=range(0, per_list, per_list // revoked_per_list)[:revoked_per_list])
    started = time.perf_counter()
    changed = 0
    for url in lists.urls:
        with services.sessionmaker() as session, transaction(session):
            changed += watcher.refresh_list(session, url, datetime.now(timezone.utc))
    elapsed = time.perf_counter() - started

    # --- and once more, unchanged: 304s only ----------------------------------------------------
    started = time.perf_counter()
    with services.sessionmaker() as session, transaction(session):
        session.execute(WatchedList.__table__.update().values(next_fetch_at=datetime.now(timezone.utc)))
    for url in lists.urls:
        with services.sessionmaker() as session, transaction(session):
            watcher.refresh_list(session, url, datetime.now(timezone.utc))
    unchanged = time.perf_counter() - started

    # --- baseline: a full verification per credential -----------------------------------------
    samples = []
    for _ in range(5):
        begun = time.perf_counter()
        report = verifier.verify_credential(sample)
        samples.append(time.perf_counter() - begun)
    assert report.verified, report.to_dict()
    full = sorted(samples)[len(samples) // 2]

    with services.sessionmaker() as session:
        revoked = session.scalar(select(func.count()).select_from(Watch).where(Watch.state == "revoked"))
        others = session.scalar(select(func.count()).select_from(Watch).where(Watch.state.not_in(["revoked", "valid"])))
        history = session.scalar(select(func.count()).select_from(WatchChange))
        told = session.scalar(select(func.count()).select_from(WebhookMessage))
    expected = revoked_per_list * args.lists
    print(f"after every list changed: {args.lists} lists, {args.watches:,} watches looked up in {elapsed:.2f} s "
          f"({elapsed / args.watches * 1e6:.1f} us per watched credential); {changed:,} verdicts changed, "
          f"{history:,} history entries, {told:,} party events written")
    print(f"unchanged lists again (304s): {unchanged:.2f} s")
    print(f"baseline, a full verification per credential: {full * 1000:.1f} ms each, "
          f"{full * args.watches:.0f} s for {args.watches:,} (x{full * args.watches / elapsed:.0f} ours)")
    ok_state = revoked == expected == changed == told and others == 0
    ok_time = elapsed <= args.limit
    print(f"{'PASS' if ok_state else 'FAIL'}: {revoked:,} of {expected:,} revoked watches turned revoked, "
          f"{others} in another state")
    print(f"{'PASS' if ok_time else 'FAIL'}: revalidated in {elapsed:.2f} s (limit {args.limit:g} s)")
    lists.server.shutdown()
    folder.cleanup()
    return 0 if ok_state and ok_time else 1


if __name__ == "__main__":
    sys.exit(main())
