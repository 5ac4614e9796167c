"""CPU cost of hostile credentials through the verifier, against a normal verification in the same run.

    python bench/hostile.py [--repeat 5]

Each case is a typical Open Badges credential, signed by a did:key, with something added after
signing; it goes through ``Verifier.verify_input`` (what the HTTP routes call) with the bundled
contexts, so every check runs (the proof check expands and canonicalizes the document). The
baseline is the untouched credential, verified in the same run. Prints the median CPU time
(``time.process_time``) of each case, its ratio to the baseline, and the check and code that
refused it; exits 1 when a case costs more than its bar (50 ms for blank node structures, which
must be refused, 100 ms for anything else), or is not answered as expected.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sign import NOW, typical_credential  # noqa: E402

from dataintegrity import add_proof, bundled_document_loader, did_key_from_ed25519  # noqa: E402
from keys import Ed25519Signer  # noqa: E402
from verifier import Verifier  # noqa: E402
from verifier.forms import FormError  # noqa: E402
from verifier.forms.jsontext import check_json_shape  # noqa: E402
from verifier.resolvers import Resolver  # noqa: E402

MIB = 1024 * 1024  # MAX_CONTENT_LENGTH, the largest HTTP body
REFUSED_MS, ANY_MS = 50.0, 100.0
LINK = {"linked": {"@id": "https://example.org/linked", "@type": "@id"}}


def signed_credential() -> dict:
    key = Ed25519PrivateKey.generate()
    did = did_key_from_ed25519(key.public_key().public_bytes_raw())
    credential = typical_credential()
    credential["issuer"] = {**credential["issuer"], "id": did}
    signer = Ed25519Signer(f"{did}#{did.removeprefix('did:key:')}", key)
    return add_proof(credential, signer=signer, created=NOW, document_loader=bundled_document_loader())


def with_linked(credential: dict, linked) -> dict:
    """Blank nodes linked through a term an inline context defines (safe mode would refuse an undefined one)."""
    hostile = copy.deepcopy(credential)
    hostile["@context"] = [*hostile["@context"], LINK]
    hostile["credentialSubject"]["linked"] = linked
    return hostile


def ring(credential: dict, n: int) -> dict:
    return with_linked(credential, [{"id": f"_:b{i}", "linked": f"_:b{(i + 1) % n}"} for i in range(n)])


def bomb(credential: dict, n: int) -> dict:
    """n blank nodes each linked to every other: (n - 1)! orders for canonicalization to try."""
    return with_linked(credential, [{"id": f"_:b{i}", "linked": [f"_:b{j}" for j in range(n) if j != i]}
                                    for i in range(n)])


def largest(build, fits) -> int:
    """The largest n for which fits(build(n)), by doubling and bisection."""
    low, high = 1, 2
    while fits(build(high)):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(build(middle)) else (low, middle)
    return low


def admitted(document: dict) -> bool:
    try:
        check_json_shape(document)
    except FormError:
        return False
    return True


def fits_in_a_body(document: dict) -> bool:
    return len(json.dumps({"credential": document}).encode()) <= MIB


def nested(credential: dict, depth: int, *, named: bool) -> dict:
    """Nested objects under credentialSubject; without names they are blank nodes only their depth tells apart."""
    hostile = copy.deepcopy(credential)
    hostile["@context"] = [*hostile["@context"], {"nested": "https://example.org/nested",
                                                  "label": "https://example.org/label"}]
    node: dict = {"label": "leaf"}
    for level in range(depth):
        node = {"nested": node, "label": f"level {level}"} if named else {"nested": node}
    hostile["credentialSubject"]["nested"] = node
    return hostile


def scoped_context(credential: dict, terms: int, objects: int) -> dict:
    """An inline type-scoped context, which pyld processes afresh for every object of that type."""
    hostile = copy.deepcopy(credential)
    scoped = {f"t{i}": f"https://example.org/t{i}" for i in range(terms)}
    hostile["@context"] = [*hostile["@context"], {"Typed": {"@id": "https://example.org/Typed", "@context": scoped}}]
    hostile["credentialSubject"]["items"] = [{"type": "Typed", "t0": f"value {i}"} for i in range(objects)]
    return hostile


def repeated_context(credential: dict, n: int) -> dict:
    """The last context URL listed n more times: pyld processes each repetition again."""
    hostile = copy.deepcopy(credential)
    hostile["@context"] = hostile["@context"] + [hostile["@context"][-1]] * n
    return hostile


def wide(credential: dict, n: int) -> dict:
    hostile = copy.deepcopy(credential)
    hostile["credentialSubject"]["achievement"]["tag"] = [f"tag {i}" for i in range(n)]
    return hostile


def evidence(credential: dict, n: int, *, identical: bool = False) -> dict:
    hostile = copy.deepcopy(credential)
    hostile["evidence"] = [{"type": ["Evidence"], "name": "Exam attempt" if identical else f"Exam attempt {i}",
                            "description": "Proctored online exam"} for i in range(n)]
    return hostile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each case; the median is reported")
    args = parser.parse_args()

    credential = signed_credential()
    verifier = Verifier(bundled_document_loader(), Resolver(), lambda: datetime(2026, 12, 1, tzinfo=timezone.utc))
    deepest = largest(lambda d: nested(credential, d, named=True), admitted)
    in_limits = largest(lambda n: bomb(credential, n), admitted)
    in_a_body = largest(lambda n: bomb(credential, n), fits_in_a_body)
    # (name, document, bar in ms, what a user sees: (check, code) of the first failed check, None: verified)
    cases = [
        ("bomb, 5 KB (20 linked blank nodes)", bomb(credential, 20), REFUSED_MS, ("proof", "canonicalization_limit")),
        ("bomb, 7 linked blank nodes", bomb(credential, 7), REFUSED_MS, ("proof", "canonicalization_limit")),
        (f"bomb, largest within the input limits ({in_limits})", bomb(credential, in_limits), REFUSED_MS,
         ("proof", "canonicalization_limit")),
        (f"bomb, largest in a 1 MiB body ({in_a_body})", bomb(credential, in_a_body), REFUSED_MS,
         ("format", "json_too_many_nodes")),
        ("ring of 60 blank nodes", ring(credential, 60), REFUSED_MS, ("proof", "canonicalization_limit")),
        ("ring of 500 blank nodes", ring(credential, 500), REFUSED_MS, ("proof", "canonicalization_limit")),
        ("ring of 1,000 blank nodes", ring(credential, 1000), REFUSED_MS, ("proof", "canonicalization_limit")),
        (f"nesting {deepest} deep, identical objects", nested(credential, deepest, named=False), REFUSED_MS,
         ("proof", "canonicalization_limit")),
        (f"nesting {deepest} deep, named objects", nested(credential, deepest, named=True), ANY_MS,
         ("proof", "invalid_signature")),
        ("nesting past the limit", nested(credential, deepest + 1, named=True), ANY_MS, ("format", "json_too_deep")),
        ("inline type-scoped context, 3,000 terms x 1,000", scoped_context(credential, 3000, 1000), ANY_MS,
         ("proof", "canonicalization_limit")),
        ("Open Badges context listed 5,000 more times", repeated_context(credential, 5000), ANY_MS,
         ("proof", "canonicalization_limit")),
        ("9,000 values in one property", wide(credential, 9000), ANY_MS, ("proof", "invalid_signature")),
        ("1,000 evidence entries", evidence(credential, 1000), ANY_MS, ("proof", "invalid_signature")),
        ("1,000 identical evidence entries", evidence(credential, 1000, identical=True), ANY_MS,
         ("proof", "invalid_signature")),
    ]

    def first_failure(document: dict):
        report = verifier.verify_input(document)
        failed = [check for check in report.checks if check.status == "failed"]
        return (failed[0].check, failed[0].code) if failed else None

    def median_ms(document: dict) -> float:
        samples = []
        for _ in range(args.repeat):
            start = time.process_time()
            first_failure(document)
            samples.append(time.process_time() - start)
        return statistics.median(samples) * 1000

    first_failure(credential)  # warm the context cache, as a running service has it
    baseline_ms = median_ms(credential)
    ok = first_failure(credential) is None
    print(f"baseline: a normal verification of the typical credential, median {baseline_ms:.2f} ms CPU "
          f"({'verified' if ok else 'NOT VERIFIED'})")
    print(f"{'case':48} {'KB':>6} {'CPU ms':>8} {'x base':>7} {'bar':>5}  answer")
    for name, document, bar, expected in cases:
        answer = first_failure(document)
        cpu_ms = median_ms(document)
        size_kb = len(json.dumps(document).encode()) / 1024
        passed = cpu_ms <= bar and answer == expected
        ok &= passed
        shown = f"{answer[0]}: {answer[1]}" if answer else "verified"
        if answer != expected:
            shown += f" (expected {expected[0]}: {expected[1]})"
        print(f"{'PASS' if passed else 'FAIL'} {name:43} {size_kb:6.1f} {cpu_ms:8.1f} {cpu_ms / baseline_ms:7.1f} "
              f"{bar:5.0f}  {shown}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
