"""Verification of a typical Open Badges credential, against plain pyld 3.3 in the same run.

    python bench/verify.py [--seconds 2]

The credential is the one bench/sign.py builds (did:web issuer, one alignment, one evidence), with
one revocation status entry (what the service issues by default, valid against the OB 3.0 JSON
Schema it declares), signed with eddsa-rdfc-2022.

Baseline, "plain pyld verify": what a user of pyld does to check such a proof, repeatedly, with
pyld's defaults: ``jsonld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads",
"documentLoader": loader})`` of the proof configuration and of the document (pyld's own
process-global context cache warm after the first call), SHA-256 of both, one Ed25519 check.

Ours, measured alternately with the baseline:

* proof only: ``dataintegrity.verify_proof`` (safe mode, RDFC-1.0) of the same credential again and
  again, as a verifier re-checking it does (so the proof configuration's canonical form is the one
  kept from the first time; the document is canonicalized every time); bar x14;
* full report: ``verifier.Verifier.verify_credential`` with every check it has (format, context,
  schema, issuer key from the DID document, proof, validity, status, trust), the DID document and
  the status list credential already in memory (served as local documents), with a status list
  cache as the service's verifier has (each list verified once per content version); bar x10.
  The credential's JSON shape, its OB schema (jsonschema_rs, see verifier.checks.schema), its
  document's canonical form and signature are checked every time (kept between runs: only the
  proof configuration's canonical form, as above, and the instants of date texts already parsed).
  The note gives the median time of the checks besides the proof (full report minus proof only);
* linear cost: proof-only verify time per quad of a credential with 1,000 evidence+alignment
  entries against one with 10; bar: at most 2x (printed as ratio >= 0.5).

Also checks that our canonical N-Quads are byte-identical to pyld's and that both verify.
Exits 1 when any row fails.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey  # noqa: E402
from measure import Result, alternate, check, run_alone  # noqa: E402
from pyld import jsonld  # noqa: E402
from sign import ISSUER, NOW, typical_credential  # noqa: E402

from dataintegrity import (  # noqa: E402
    add_proof,
    bundled_document_loader,
    canonicalize,
    decode_base58btc,
    public_key_multibase,
    verify_proof,
)
from keys import Ed25519Signer  # noqa: E402
from verifier import Policy, Verifier  # noqa: E402
from verifier.resolvers import Resolver, did_web_url  # noqa: E402
from verifier.statuscache import StatusListCache  # noqa: E402
from verifier.statuslist import MIN_LENGTH_BYTES, encode_status_list  # noqa: E402

STATUS_URL = "https://badges.example/status/1"


def _status_list(url: str, purpose: str) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"], "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": ISSUER,
        "validFrom": "2026-11-01T00:00:00Z",
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode_status_list(bytearray(MIN_LENGTH_BYTES))},
    }


class _Setup:
    """A did:web issuer with one Ed25519 key, its DID document, a revocation list, a verifier."""

    def __init__(self) -> None:
        self.loader = bundled_document_loader()
        private_key = Ed25519PrivateKey.generate()
        self.public_raw = private_key.public_key().public_bytes_raw()
        method = f"{ISSUER}#key-1"
        self.signer = Ed25519Signer(method, private_key)
        did_document = {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": ISSUER,
            "verificationMethod": [{"id": method, "type": "Multikey", "controller": ISSUER,
                                    "publicKeyMultibase": public_key_multibase(private_key.public_key())}],
            "assertionMethod": [method],
        }
        self.documents = {did_web_url(ISSUER): did_document}
        self.documents[STATUS_URL] = self.sign(_status_list(STATUS_URL, "revocation"))
        self.verifier = Verifier(
            document_loader=self.loader, resolver=Resolver(self.documents.__getitem__),
            clock=lambda: NOW + timedelta(hours=1), policy=Policy(), local_documents=self.documents.get,
            status_list_cache=StatusListCache(),  # as the service's verifier (issuer/verification.py) has
        )

    def sign(self, document: dict) -> dict:
        return add_proof(document, signer=self.signer, created=NOW, document_loader=self.loader)

    def credential(self, entries: int = 1) -> dict:
        """The typical credential, with ``entries`` alignments and ``entries`` evidence items, signed."""
        credential = typical_credential()
        alignment = credential["credentialSubject"]["achievement"]["alignment"][0]
        evidence = credential["evidence"][0]
        credential["credentialSubject"]["achievement"]["alignment"] = [
            {**alignment, "targetUrl": f"{alignment['targetUrl']}/{n}", "targetName": f"Python {n}"} for n in range(entries)]
        credential["evidence"] = [{**evidence, "id": f"{evidence['id']}/{n}"} for n in range(entries)]
        credential["credentialStatus"] = {
            "id": f"{STATUS_URL}#7", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": "7", "statusListCredential": STATUS_URL}
        return self.sign(credential)


def _parts(secured: dict) -> tuple[dict, dict, dict]:
    proof = secured["proof"]
    unsecured = {key: value for key, value in secured.items() if key != "proof"}
    config = {**{key: value for key, value in proof.items() if key != "proofValue"}, "@context": secured["@context"]}
    return proof, unsecured, config


def results(seconds: float) -> list[Result]:
    setup = _Setup()
    loader = setup.loader
    secured = setup.credential()
    proof, unsecured, config = _parts(secured)
    pyld_options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}

    def ours() -> bool:
        return verify_proof(secured, proof, public_key=setup.public_raw, document_loader=loader).verified

    def report() -> bool:
        return setup.verifier.verify_credential(secured).verified

    def plain_pyld() -> bool:
        data = (hashlib.sha256(jsonld.normalize(config, pyld_options).encode()).digest()
                + hashlib.sha256(jsonld.normalize(unsecured, pyld_options).encode()).digest())
        try:
            Ed25519PublicKey.from_public_bytes(setup.public_raw).verify(decode_base58btc(proof["proofValue"]), data)
        except Exception:
            return False
        return True

    rows = []
    identical = all(canonicalize(item, document_loader=loader) == jsonld.normalize(item, pyld_options)
                    for item in (unsecured, config))
    quads = canonicalize(unsecured, document_loader=loader).count("\n") + canonicalize(config, document_loader=loader).count("\n")
    rows.append(check("canonical N-Quads identical to pyld's (document, config)", identical, f"{quads} quads"))
    full = setup.verifier.verify_credential(secured)
    rows.append(check("proof and full report verify; pyld verifies", ours() and full.verified and plain_pyld(),
                      ", ".join(f"{c.check}:{c.status}" for c in full.checks)))

    medians = alternate({"pyld": plain_pyld, "proof": ours, "report": report}, seconds)
    baseline = medians["pyld"] * 1000
    rows.append(Result("verify, proof only (vs plain pyld verify)", medians["proof"] * 1000, baseline,
                       medians["pyld"] / medians["proof"], 14.0))
    rows.append(Result("verify, full report, status lists in memory (vs plain pyld)", medians["report"] * 1000,
                       baseline, medians["pyld"] / medians["report"], 10.0,
                       note=f"checks besides the proof: {(medians['report'] - medians['proof']) * 1000:.3f}ms"))

    # linear cost: time per quad, 500+500 entries against 5+5; the small one is run in batches of
    # about the large one's size, alternating with it, so that both see the same machine load
    sizes = {}
    for entries in (5, 500):
        large = setup.credential(entries)
        quads = canonicalize({k: v for k, v in large.items() if k != "proof"}, document_loader=loader).count("\n")
        sizes[entries] = (large, quads)
    batch = max(1, sizes[500][1] // sizes[5][1])

    def verify_entries(entries: int, times: int = 1) -> None:
        secured_entries = sizes[entries][0]
        for _ in range(times):
            verify_proof(secured_entries, secured_entries["proof"], public_key=setup.public_raw, document_loader=loader)

    medians = alternate({"10": lambda: verify_entries(5, batch), "1000": lambda: verify_entries(500)}, seconds, minimum=5)
    small = medians["10"] * 1e6 / (batch * sizes[5][1])
    large = medians["1000"] * 1e6 / sizes[500][1]
    rows.append(Result("verify time per quad, 1,000 entries (ours) vs 10 (baseline)", large, small, small / large, 0.5,
                       "us", f"{sizes[500][1]} vs {sizes[5][1]} quads"))
    return rows


def main() -> int:
    return run_alone(results, __doc__)


if __name__ == "__main__":
    sys.exit(main())
