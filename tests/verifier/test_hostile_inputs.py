"""Hostile credentials through the library Verifier: each is a report with a refusal code, never an
exception (a RecursionError was an HTTP 500)."""

from __future__ import annotations

import copy

import pytest

from tests.verifier.support import DidKey, check_of, library_verifier, signed_credential
from verifier.forms.jsontext import MAX_DEPTH

LINK = {"linked": {"@id": "https://example.org/linked", "@type": "@id"}}


@pytest.fixture(scope="module")
def good():
    return signed_credential(DidKey(seed=3))


@pytest.fixture
def verifier():
    return library_verifier()


def with_linked(credential: dict, linked: list) -> dict:
    """The credential with blank nodes linked by an inline-defined term (signature left as it was)."""
    hostile = copy.deepcopy(credential)
    hostile["@context"] = [*hostile["@context"], LINK]
    hostile["credentialSubject"]["linked"] = linked
    return hostile


def ring(n: int) -> list:
    return [{"id": f"_:b{i}", "linked": f"_:b{(i + 1) % n}"} for i in range(n)]


def bomb(n: int) -> list:
    return [{"id": f"_:b{i}", "linked": [f"_:b{j}" for j in range(n) if j != i]} for i in range(n)]


def refused(report, check: str, code: str) -> dict:
    data = report.to_dict()
    assert data["verified"] is False
    result = check_of(data, check)
    assert (result["status"], result.get("code")) == ("failed", code), data["checks"]
    return result


@pytest.mark.parametrize("n", [60, 500, 1000])
def test_a_ring_of_blank_nodes_is_refused(verifier, good, n):
    result = refused(verifier.verify_credential(with_linked(good, ring(n))), "proof", "canonicalization_limit")
    assert "blank node bomb" in result["message"]


@pytest.mark.parametrize("n", [7, 20, 31])
def test_a_blank_node_bomb_is_refused(verifier, good, n):
    refused(verifier.verify_credential(with_linked(good, bomb(n))), "proof", "canonicalization_limit")


def test_identical_nested_objects_are_refused_by_the_work_limit(verifier, good):
    hostile = copy.deepcopy(good)
    nested: dict = {"name": "leaf"}
    for _ in range(MAX_DEPTH - 6):
        nested = {"linked2": nested}
    hostile["@context"] = [*hostile["@context"], {"linked2": "https://example.org/linked2"}]
    hostile["credentialSubject"]["linked2"] = nested
    refused(verifier.verify_credential(hostile), "proof", "canonicalization_limit")


def test_a_library_caller_s_deep_dict_is_refused_at_the_format_check(verifier, good):
    hostile = copy.deepcopy(good)
    nested: dict = {}
    for _ in range(5_000):
        nested = {"deeper": nested}
    hostile["credentialSubject"]["nested"] = nested
    data = verifier.verify_credential(hostile).to_dict()
    assert [(c["check"], c["status"], c.get("code")) for c in data["checks"]] == [("format", "failed", "json_too_deep")]


def test_a_wide_credential_is_a_report(verifier, good):
    hostile = copy.deepcopy(good)
    hostile["credentialSubject"]["achievement"]["tag"] = [f"tag {i}" for i in range(9_000)]
    refused(verifier.verify_credential(hostile), "proof", "invalid_signature")


def test_many_distinct_evidence_entries_verify(verifier):
    signer = DidKey(seed=4)
    evidence = [{"type": ["Evidence"], "name": f"Attempt {i}", "description": "Proctored exam"} for i in range(300)]
    credential = signed_credential(signer, evidence=evidence)
    assert verifier.verify_credential(credential).verified is True


def test_a_bomb_under_a_proof_set_is_refused_once(verifier, good):
    hostile = with_linked(good, bomb(20))
    hostile["proof"] = [good["proof"]] * 8
    refused(verifier.verify_credential(hostile), "proof", "canonicalization_limit")


def test_a_context_repeated_thousands_of_times_is_refused(verifier, good):
    hostile = copy.deepcopy(good)
    hostile["@context"] = hostile["@context"] + [hostile["@context"][-1]] * 5000
    data = verifier.verify_credential(hostile).to_dict()
    assert check_of(data, "context")["status"] == "passed"
    refused(verifier.verify_credential(hostile), "proof", "canonicalization_limit")
