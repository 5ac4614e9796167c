"""Signing throughput of a typical Open Badges credential, against plain pyld in the same run.

    python bench/sign.py [--seconds 3]

Prints the median time per operation for: plain pyld canonicalization of the credential
(URDNA2015, the baseline), our safe-mode RDFC-1.0 canonicalization, and a full eddsa-rdfc-2022
signature (two canonicalizations, two hashes, one Ed25519 signature). Ratios are against the
baseline measured here and now, since these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from pyld import jsonld  # noqa: E402

from dataintegrity import add_proof, bundled_document_loader, canonicalize  # noqa: E402
from issuer import openbadges  # noqa: E402
from keys import Ed25519Signer  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def typical_credential() -> dict:
    issuer = openbadges.profile(issuer_id="did:web:badges.example:issuers:acme", name="Acme Academy",
                                url="https://acme.example")
    achievement = openbadges.achievement(
        achievement_id="https://badges.example/achievements/5f0c",
        name="Python Basics", description="Writes, runs and tests small Python programs.",
        criteria_narrative="Score at least 70 out of 100 in the proctored exam.", creator=issuer,
        passing_score=Decimal(70), max_score=Decimal(100), achievement_type="Badge",
        alignments=[{"target_name": "Python", "target_url": "https://esco.example/skill/python", "target_framework": "ESCO"}],
        tags=["python", "programming"],
    )
    return openbadges.credential(
        credential_id="https://badges.example/credentials/8d1e", issuer=issuer, achievement=achievement,
        valid_from=NOW, valid_until=NOW.replace(year=2027), score=Decimal("85.5"),
        recipient_identifier=openbadges.hashed_email_identifier("ada@example.org", "fixed-salt"),
        evidence=[{"id": "https://lms.example/attempts/1", "name": "Exam attempt"}],
    )


def median_seconds(operation, seconds: float) -> tuple[float, int]:
    operation()  # warm caches before timing
    samples, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each measurement")
    args = parser.parse_args()

    loader = bundled_document_loader()
    credential = typical_credential()
    signer = Ed25519Signer("did:web:badges.example:issuers:acme#key-1", Ed25519PrivateKey.generate())
    quads = canonicalize(credential, document_loader=loader).count("\n")

    def plain_pyld():
        return jsonld.normalize(credential, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                             "documentLoader": loader})

    cases = [
        ("pyld normalize (baseline)", plain_pyld),
        ("our canonicalize (safe mode)", lambda: canonicalize(credential, document_loader=loader)),
        ("sign eddsa-rdfc-2022", lambda: add_proof(credential, signer=signer, created=NOW, document_loader=loader)),
    ]
    print(f"typical OB credential: {quads} quads; {args.seconds:g} s per case")
    baseline = None
    for name, operation in cases:
        median, count = median_seconds(operation, args.seconds)
        baseline = baseline or median
        print(f"{name:32s} median {median * 1000:8.2f} ms  {1 / median:8.1f}/s  "
              f"x{baseline / median:5.2f} vs baseline  ({count} runs)")


if __name__ == "__main__":
    main()
