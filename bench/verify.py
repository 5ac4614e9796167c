"""Verification time of a typical Open Badges credential, against plain pyld in the same run.

    python bench/verify.py [--seconds 3] [--min-ratio 2.5]

"Verify" is what dataintegrity.verify_proof does for an eddsa-rdfc-2022 proof: canonicalize the
proof configuration and the document (safe mode, RDFC-1.0, with the shared cache of the bundled
contexts), SHA-256 both, and check the Ed25519 signature.

The baseline does the same with plain pyld as a real user would call it, repeatedly and with
default behaviour: ``jsonld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads",
"documentLoader": loader})`` for the proof configuration and the document (so pyld's own
process-global resolved-context cache is warm after the first call), the same two hashes and the
same Ed25519 check. Samples of the two alternate, so both see the same machine load.

Prints PASS/FAIL for "our canonical N-Quads are byte-identical to pyld's" (document and proof
configuration) and for "at least --min-ratio times faster than the baseline"; exits 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey  # noqa: E402
from pyld import jsonld  # noqa: E402
from sign import NOW, typical_credential  # noqa: E402

from dataintegrity import add_proof, bundled_document_loader, canonicalize, decode_base58btc, verify_proof  # noqa: E402
from dataintegrity.contextcache import default_context_cache  # noqa: E402
from keys import Ed25519Signer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent measuring each of the two (interleaved)")
    parser.add_argument("--min-ratio", type=float, default=2.5, help="required speed-up over the baseline")
    args = parser.parse_args()

    loader = bundled_document_loader()
    private_key = Ed25519PrivateKey.generate()
    public_raw = private_key.public_key().public_bytes_raw()
    signer = Ed25519Signer("did:web:badges.example:issuers:acme#key-1", private_key)
    secured = add_proof(typical_credential(), signer=signer, created=NOW, document_loader=loader)
    proof = secured["proof"]
    unsecured = {key: value for key, value in secured.items() if key != "proof"}
    config = {**{key: value for key, value in proof.items() if key != "proofValue"}, "@context": secured["@context"]}
    pyld_options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}

    def ours() -> bool:
        return verify_proof(secured, proof, public_key=public_raw, document_loader=loader).verified

    def plain_pyld() -> bool:
        config_canon = jsonld.normalize(config, pyld_options)
        document_canon = jsonld.normalize(unsecured, pyld_options)
        data = hashlib.sha256(config_canon.encode()).digest() + hashlib.sha256(document_canon.encode()).digest()
        try:
            Ed25519PublicKey.from_public_bytes(public_raw).verify(decode_base58btc(proof["proofValue"]), data)
        except Exception:
            return False
        return True

    ok = True
    document_quads = canonicalize(unsecured, document_loader=loader)
    config_quads = canonicalize(config, document_loader=loader)
    identical = (document_quads == jsonld.normalize(unsecured, pyld_options)
                 and config_quads == jsonld.normalize(config, pyld_options))
    count_doc, count_config = document_quads.count("\n"), config_quads.count("\n")
    print(f"typical OB credential: {count_doc} document quads + {count_config} proof configuration quads "
          f"= {count_doc + count_config} quads canonicalized per verification")
    print(f"{'PASS' if identical else 'FAIL'}: canonical N-Quads byte-identical to pyld's (document and proof configuration)")
    ok &= identical
    both_verify = ours() and plain_pyld()
    print(f"{'PASS' if both_verify else 'FAIL'}: the proof verifies both ways")
    ok &= both_verify

    # cold: our memo of processed contexts emptied before every call (informational)
    cache = default_context_cache()
    cold = []
    for _ in range(20):
        cache.clear()
        start = time.perf_counter()
        ours()
        cold.append(time.perf_counter() - start)

    ours(), plain_pyld()  # warm both caches before timing
    samples: dict[str, list[float]] = {"ours": [], "pyld": []}
    deadline = time.perf_counter() + 2 * args.seconds
    while time.perf_counter() < deadline or len(samples["ours"]) < 20:
        for name, operation in (("ours", ours), ("pyld", plain_pyld)):
            start = time.perf_counter()
            operation()
            samples[name].append(time.perf_counter() - start)
    ours_ms = statistics.median(samples["ours"]) * 1000
    pyld_ms = statistics.median(samples["pyld"]) * 1000
    ratio = pyld_ms / ours_ms
    runs = len(samples["ours"])
    print("baseline: plain pyld 3.3 jsonld.normalize (URDNA2015, default resolver with its process-global cache, "
          "warm from repeated calls) of proof configuration + document, SHA-256 x2, Ed25519 verify")
    print(f"plain pyld verify (baseline)   median {pyld_ms:7.2f} ms  ({runs} runs)")
    print(f"our verify_proof (warm cache)  median {ours_ms:7.2f} ms  ({runs} runs)  x{ratio:.2f} vs baseline")
    print(f"our verify_proof (cold cache)  median {statistics.median(cold) * 1000:7.2f} ms  (20 runs, memo cleared "
          "before each; informational)")
    fast = ratio >= args.min_ratio
    print(f"{'PASS' if fast else 'FAIL'}: x{ratio:.2f} {'>=' if fast else '<'} x{args.min_ratio:g} required")
    ok &= fast
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
