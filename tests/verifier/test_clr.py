"""ClrCredentials through the verifier: 1EdTech's signed sample, one report per embedded
credential, tampering, malformed records, and `badges verify` on a record.

Records issued by our service are tested end to end in tests/issuer/test_clr.py.
"""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from click.testing import CliRunner

from tests.verifier.support import FIXTURES, check_of, library_verifier
from verifier import Verifier
from verifier.resolvers import Resolver

SAMPLE = FIXTURES / "clr" / "1edtech-validator-clr20-simple.json"
SAMPLE_SHA256 = "4fd7f54091366344ffd1a18dfe2fee65049c47dd711347bfd1fa890730d0ad27"  # tests/fixtures/clr/README.md


def _sample() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def _proofs(document: dict) -> list[dict]:
    return document["proof"] if isinstance(document["proof"], list) else [document["proof"]]


def _controller_documents(clr: dict) -> dict:
    """What the sample's issuers would serve at their https URLs: each key, as its URL's fragment names it."""
    documents: dict[str, dict] = {}
    for proof in _proofs(clr) + [p for c in clr["credentialSubject"]["verifiableCredential"] for p in _proofs(c)]:
        method = proof["verificationMethod"]
        controller, key = method.split("#")
        document = documents.setdefault(controller, {"id": controller, "assertionMethod": [], "verificationMethod": []})
        document["assertionMethod"].append(method)
        document["verificationMethod"].append(
            {"id": method, "type": "Multikey", "controller": controller, "publicKeyMultibase": key})
    return documents


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    base = library_verifier()
    published = _controller_documents(_sample())
    return Verifier(base.document_loader, Resolver(published.__getitem__), base.clock, base.policy, base.fetcher)


def test_sample_is_the_bundled_copy():
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() == SAMPLE_SHA256


def test_1edtech_sample_clr_and_its_credential_verify(verifier):
    body = verifier.verify_credential(_sample()).to_dict()
    assert body["verified"] is True, body
    assert {c["check"]: c["status"] for c in body["checks"]} == {
        "format": "passed", "context": "passed", "schema": "warning", "issuer": "passed", "proof": "passed",
        "validity": "passed", "status": "skipped", "trust": "skipped"}
    # It declares the CLR 2.0 JSON Schema, which we do not hold (no official copy to bundle) and this
    # verifier may not fetch: a warning, and the hand-written CLR check applies.
    assert check_of(body, "schema")["code"] == "schema_unavailable"
    assert body["credential"]["name"] == "Sample Transcript"
    (nested,) = body["credentials"]
    assert nested["verified"] is True
    assert nested["credential"]["name"] == "Teamwork Badge"
    assert nested["credential"]["issuer"]["id"] == "https://example.com/issuers/876543"
    assert check_of(nested, "schema")["message"] == "has the Open Badges 3.0 required fields (it declares no schema)"
    assert "credentials" not in nested  # an embedded credential has no nested list of its own


def test_tampered_embedded_credential_fails_in_its_own_report(verifier):
    clr = _sample()
    clr["credentialSubject"]["verifiableCredential"][0]["name"] = "Leadership Badge"
    body = verifier.verify_credential(clr).to_dict()
    assert body["verified"] is False
    assert check_of(body, "proof")["code"] == "invalid_signature"  # the record signs what it embeds
    (nested,) = body["credentials"]
    assert nested["verified"] is False and check_of(nested, "proof")["code"] == "invalid_signature"


def test_an_embedded_credential_re_signed_by_someone_else_fails_the_record_only_where_it_lies(verifier):
    """Swap the embedded credential's proof for one by the record's issuer: the record's own proof
    still fails (it covered the original), and the embedded report names the wrong key."""
    clr = _sample()
    embedded = clr["credentialSubject"]["verifiableCredential"][0]
    embedded["proof"] = copy.deepcopy(clr["proof"])
    body = verifier.verify_credential(clr).to_dict()
    assert body["verified"] is False
    (nested,) = body["credentials"]
    assert nested["verified"] is False
    assert check_of(nested, "issuer")["code"] == "issuer_key_mismatch"


def test_record_without_embedded_credentials_fails_the_schema_check(verifier):
    clr = _sample()
    clr["credentialSubject"]["verifiableCredential"] = []
    body = verifier.verify_credential(clr).to_dict()
    schema = check_of(body, "schema")
    assert (schema["status"], schema["code"]) == ("failed", "schema_invalid")
    assert "verifiableCredential" in schema["message"]
    assert body["credentials"] == [] and body["verified"] is False


def test_unreadable_embedded_items_are_reported_not_raised(verifier):
    clr = _sample()
    clr["credentialSubject"]["verifiableCredential"].append("not a credential")
    body = verifier.verify_credential(clr).to_dict()
    assert body["verified"] is False
    assert [n["verified"] for n in body["credentials"]] == [True, False]
    assert body["credentials"][1]["checks"][0]["check"] == "format"


def test_non_clr_reports_have_no_credentials_list(verifier):
    body = verifier.verify_credential(_sample()["credentialSubject"]["verifiableCredential"][0]).to_dict()
    assert body["verified"] is True and "credentials" not in body


def test_badges_verify_prints_each_embedded_credential(tmp_path):
    """The CLI, offline: the sample's https keys cannot be resolved, so the record does not verify;
    its report and the embedded credential's are both printed, and --json carries the list."""
    from issuer.cli import main

    path = tmp_path / "record.json"
    path.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    runner = CliRunner()
    text = runner.invoke(main, ["verify", str(path), "--no-status"])
    assert text.exit_code == 1, text.output
    assert text.output.startswith("NOT VERIFIED: Sample Transcript, issued by Example University")
    assert "  credential 1 of 1:\n    NOT VERIFIED: Teamwork Badge, issued by Example Corp" in text.output
    as_json = runner.invoke(main, ["verify", str(path), "--json", "--no-status"])
    report = json.loads(as_json.output)
    assert [r["credential"]["name"] for r in report["credentials"]] == ["Teamwork Badge"]
