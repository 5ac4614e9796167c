"""Signing a typical Open Badges credential, against plain pyld 3.3 in the same run.

    python bench/sign.py [--seconds 2]

Ours: ``dataintegrity.add_proof`` with eddsa-rdfc-2022 (safe mode, RDFC-1.0, two SHA-256, one
Ed25519 signature). Baseline, "plain pyld sign": the same proof made the way a user of pyld would,
``jsonld.normalize(..., {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader":
loader})`` of the proof configuration and of the credential, the two hashes and the signature.
Each signature is made at a new second (so our kept canonical proof configurations never help).
Samples alternate, so both see the same machine load. Bar: x10. Also checks that both make the same
proof. Exits 1 when a row fails.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from measure import Result, alternate, check, run_alone  # noqa: E402
from pyld import jsonld  # noqa: E402

from dataintegrity import add_proof, bundled_document_loader, canonicalize, encode_base58btc  # noqa: E402
from issuer import openbadges  # noqa: E402
from keys import Ed25519Signer  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
ISSUER = "did:web:badges.example:issuers:acme"


def typical_credential() -> dict:
    issuer = openbadges.profile(issuer_id=ISSUER, name="Acme Academy",
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


def results(seconds: float) -> list[Result]:
    loader = bundled_document_loader()
    credential = typical_credential()
    private_key = Ed25519PrivateKey.generate()
    signer = Ed25519Signer(f"{ISSUER}#key-1", private_key)
    pyld_options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}

    # every signature made at a new second, so no proof configuration is seen twice
    seconds_later = itertools.count()

    def ours(created: datetime | None = None) -> dict:
        created = created or NOW + timedelta(seconds=next(seconds_later))
        return add_proof(credential, signer=signer, created=created, document_loader=loader)

    def plain_pyld(created: datetime | None = None) -> dict:
        created = created or NOW + timedelta(seconds=next(seconds_later))
        proof = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                 "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "verificationMethod": signer.verification_method, "proofPurpose": "assertionMethod"}
        config = {"@context": credential["@context"], **proof}
        data = (hashlib.sha256(jsonld.normalize(config, pyld_options).encode()).digest()
                + hashlib.sha256(jsonld.normalize(credential, pyld_options).encode()).digest())
        return {**copy.deepcopy(credential), "proof": {**proof, "proofValue": encode_base58btc(private_key.sign(data))}}

    quads = canonicalize(credential, document_loader=loader).count("\n")
    same = (canonicalize(credential, document_loader=loader) == jsonld.normalize(credential, pyld_options)
            and ours(NOW) == plain_pyld(NOW))  # Ed25519 is deterministic: the same proof both ways
    rows = [check("signed credential identical to plain pyld's", same, f"{quads} document quads")]
    medians = alternate({"pyld": plain_pyld, "ours": ours}, seconds)
    rows.append(Result("sign eddsa-rdfc-2022 (vs plain pyld sign)", medians["ours"] * 1000, medians["pyld"] * 1000,
                       medians["pyld"] / medians["ours"], 10.0))
    return rows


def main() -> int:
    return run_alone(results, __doc__)


if __name__ == "__main__":
    sys.exit(main())
