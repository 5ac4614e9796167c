"""One row per way a credential can be wrong, through the library Verifier (no HTTP): each row
names the check that fails and its code, as a user reads them in the report."""

from __future__ import annotations

import copy
import json
import time

import pytest

from tests.verifier.support import (
    NOW,
    DidKey,
    check_of,
    library_verifier,
    sign,
    signed_credential,
    status_entry,
    status_list_credential,
    unsigned_credential,
)
from tests.verifier.test_fetcher import LocalServer
from verifier import Verifier
from verifier.forms import DEFAULT_MAX_BYTES
from verifier.forms.jsontext import MAX_DEPTH
from verifier.resolvers import Resolver

REVOKED, SUSPENDED, CLEAR = 1234, 4321, 7


@pytest.fixture(scope="module")
def issuer_key():
    return DidKey(seed=1)


@pytest.fixture
def verifier():
    return library_verifier()


@pytest.fixture
def good(issuer_key):
    return signed_credential(issuer_key)


def failed(report, check: str, code: str) -> dict:
    """The report is not verified, and `check` failed with `code`."""
    data = report.to_dict()
    assert data["verified"] is False, data
    result = check_of(data, check)
    assert (result["status"], result.get("code")) == ("failed", code), data["checks"]
    return data


def test_the_untouched_credential_verifies(verifier, good):
    report = verifier.verify_credential(good)
    assert report.verified, report.to_dict()
    assert [c.check for c in report.checks] == ["format", "context", "schema", "issuer", "proof", "validity", "status", "trust"]


# --- the signed data changed ------------------------------------------------------------------

@pytest.mark.parametrize("path, value", [
    (("name",), "Something else"),
    (("validUntil",), "2099-01-01T00:00:00Z"),
    (("issuer", "name"), "Evil Issuer"),
    (("credentialSubject", "id"), "did:example:mallory"),
    (("credentialSubject", "achievement", "name"), "Brain surgery"),
    (("credentialSubject", "achievement", "criteria", "narrative"), "Nothing at all"),
    (("type",), ["VerifiableCredential", "OpenBadgeCredential", "EndorsementCredential"]),
    (("proof", "created"), "2026-11-01T09:00:01Z"),
])
def test_a_changed_field_fails_the_signature(verifier, good, path, value):
    tampered = copy.deepcopy(good)
    target = tampered
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    data = failed(verifier.verify_credential(tampered), "proof", "invalid_signature")
    assert check_of(data, "issuer")["status"] == "passed"  # the key is the issuer's; the data is not what it signed


def test_an_alias_of_a_type_is_the_same_statement(verifier, good):
    """AchievementCredential and OpenBadgeCredential are one IRI in the OB context: the signed
    statements do not change, so the proof still holds (RDFC signs meaning, not spelling)."""
    aliased = copy.deepcopy(good)
    aliased["type"] = ["VerifiableCredential", "AchievementCredential"]
    assert verifier.verify_credential(aliased).verified


def test_an_added_claim_fails_the_signature(verifier, good):
    tampered = copy.deepcopy(good)
    tampered["credentialSubject"]["result"] = [{"type": ["Result"], "value": "100"}]
    failed(verifier.verify_credential(tampered), "proof", "invalid_signature")


def test_proof_removed(verifier, good):
    unsigned = {k: v for k, v in good.items() if k != "proof"}
    data = failed(verifier.verify_credential(unsigned), "format", "no_proof")
    assert [c["check"] for c in data["checks"]] == ["format"]


def test_key_swapped_in_the_did_document(good, issuer_key):
    """The DID document the resolver returns lists another key under the same id."""
    other = DidKey(seed=2)

    class SwappedKeys:
        def resolve(self, did):
            document = Resolver().resolve(did)
            for method in document["verificationMethod"]:
                method["publicKeyMultibase"] = other.did.removeprefix("did:key:")
            return document

    base = library_verifier()
    verifier = Verifier(base.document_loader, SwappedKeys(), base.clock, base.policy, base.fetcher)
    data = failed(verifier.verify_credential(good), "proof", "invalid_signature")
    assert check_of(data, "issuer")["status"] == "passed"


def test_wrong_proof_purpose(verifier, issuer_key):
    credential = sign(unsigned_credential(issuer_key.did), issuer_key, proof_purpose="authentication")
    # did:key lists its key under assertionMethod too, so the issuer's key is found; the purpose is wrong.
    failed(verifier.verify_credential(credential), "proof", "wrong_proof_purpose")


def test_issuer_is_not_the_keys_controller(verifier, issuer_key):
    other = DidKey(seed=3)
    credential = sign(unsigned_credential(issuer_key.did), other)  # issuer A, signed with key B
    data = failed(verifier.verify_credential(credential), "issuer", "issuer_key_mismatch")
    assert other.did in check_of(data, "issuer")["message"]
    # The signature itself is fine: it is a valid signature by someone who is not the issuer.
    assert check_of(data, "proof")["status"] == "passed"


def test_unknown_context(verifier, issuer_key):
    credential = unsigned_credential(issuer_key.did)
    credential["@context"] = [*credential["@context"], "https://evil.example/context.json"]
    credential["proof"] = copy.deepcopy(signed_credential(issuer_key)["proof"])
    data = failed(verifier.verify_credential(credential), "context", "unknown_context")
    assert "https://evil.example/context.json" in check_of(data, "context")["message"]


def test_expired_with_a_valid_signature(verifier, issuer_key):
    credential = signed_credential(issuer_key, validUntil="2026-11-01T00:00:00Z")
    data = failed(verifier.verify_credential(credential), "validity", "expired")
    assert check_of(data, "proof")["status"] == "passed"  # valid signature, expired


def test_expiry_within_the_clock_skew_is_tolerated(verifier, issuer_key):
    credential = signed_credential(issuer_key, validUntil="2026-11-25T11:57:00Z")  # 3 minutes ago; skew is 5
    assert verifier.verify_credential(credential).verified


def test_not_yet_valid(verifier, issuer_key):
    credential = signed_credential(issuer_key, validFrom="2026-12-01T00:00:00Z")
    data = failed(verifier.verify_credential(credential), "validity", "not_yet_valid")
    assert check_of(data, "proof")["status"] == "passed"


def test_proof_created_in_the_future(verifier, issuer_key):
    credential = sign(unsigned_credential(issuer_key.did), issuer_key, created="2026-11-25T12:30:00Z")
    failed(verifier.verify_credential(credential), "proof", "proof_created_in_future")


def test_untrusted_issuer_is_a_warning(issuer_key, good):
    verifier = library_verifier(trusted_issuers=frozenset({"did:web:trusted.example"}))
    data = verifier.verify_credential(good).to_dict()
    trust = check_of(data, "trust")
    assert (trust["status"], trust["code"]) == ("warning", "untrusted_issuer")
    assert data["verified"] is True
    trusted = library_verifier(trusted_issuers=frozenset({issuer_key.did})).verify_credential(good).to_dict()
    assert check_of(trusted, "trust")["status"] == "passed" and trusted["verified"] is True


# --- status lists, served from a loopback HTTP server -----------------------------------------

@pytest.fixture
def lists(server, issuer_key):
    """Revocation and suspension lists, signed by the issuer's did:key, at /revocation and /suspension."""
    for purpose, index in (("revocation", REVOKED), ("suspension", SUSPENDED)):
        url = server.url(f"/{purpose}")
        server.json(f"/{purpose}", status_list_credential(issuer_key, url, purpose, index))
    return server


def with_status(issuer_key, *entries) -> dict:
    return signed_credential(issuer_key, credentialStatus=list(entries))


def test_status_clear(verifier, lists, issuer_key):
    credential = with_status(issuer_key, status_entry(lists.url("/revocation"), CLEAR),
                             status_entry(lists.url("/suspension"), CLEAR, "suspension"))
    report = verifier.verify_credential(credential)
    assert report.verified, report.to_dict()
    assert check_of(report, "status")["status"] == "passed"


def test_revoked(verifier, lists, issuer_key):
    credential = with_status(issuer_key, status_entry(lists.url("/revocation"), REVOKED))
    data = failed(verifier.verify_credential(credential), "status", "revoked")
    assert check_of(data, "proof")["status"] == "passed"


def test_suspended(verifier, lists, issuer_key):
    credential = with_status(issuer_key, status_entry(lists.url("/suspension"), SUSPENDED, "suspension"))
    failed(verifier.verify_credential(credential), "status", "suspended")


def test_status_list_unreachable(verifier, issuer_key):
    gone = LocalServer()
    url = gone.url("/revocation")
    gone.close()
    credential = with_status(issuer_key, status_entry(url, CLEAR))
    failed(verifier.verify_credential(credential), "status", "status_unavailable")


def test_status_list_tampered(verifier, server, issuer_key):
    """A list whose bits were changed after signing (the issuer's signature no longer covers it)."""
    url = server.url("/tampered")
    genuine = status_list_credential(issuer_key, url, "revocation", REVOKED)
    forged = status_list_credential(issuer_key, url, "revocation")  # all clear
    genuine["credentialSubject"]["encodedList"] = forged["credentialSubject"]["encodedList"]
    server.json("/tampered", genuine)
    credential = with_status(issuer_key, status_entry(url, REVOKED))
    data = failed(verifier.verify_credential(credential), "status", "status_list_invalid")
    assert "proof: the signature does not match" in check_of(data, "status")["message"]


def test_status_list_signed_by_someone_else(verifier, server, issuer_key):
    url = server.url("/other")
    other = DidKey(seed=4)
    listed = status_list_credential(other, url, "revocation")
    listed["issuer"] = issuer_key.did  # claims to be the issuer's list
    listed = sign({k: v for k, v in listed.items() if k != "proof"}, other)
    server.json("/other", listed)
    credential = with_status(issuer_key, status_entry(url, CLEAR))
    failed(verifier.verify_credential(credential), "status", "status_list_invalid")


# --- inputs that are too big, too deep, too costly --------------------------------------------

def test_oversized_input(verifier, good):
    text = json.dumps({**good, "padding": "x" * DEFAULT_MAX_BYTES})
    data = failed(verifier.verify_input(text), "format", "input_too_large")
    assert [c["check"] for c in data["checks"]] == ["format"]


@pytest.mark.parametrize("as_text", [True, False], ids=["text", "object"])
def test_deeply_nested(verifier, good, as_text):
    nested: dict = {"deeper": "bottom"}
    for _ in range(MAX_DEPTH + 10):
        nested = {"deeper": nested}
    bomb = copy.deepcopy(good)
    bomb["credentialSubject"]["nested"] = nested
    data = failed(verifier.verify_input(json.dumps(bomb) if as_text else bomb), "format", "json_too_deep")
    assert [c["check"] for c in data["checks"]] == ["format"]


def test_very_deep_text_does_not_crash(verifier):
    data = failed(verifier.verify_input("[" * 200_000 + "]" * 200_000), "format", "json_too_deep")
    assert data["checks"][0]["check"] == "format"


def test_blank_node_bomb(verifier, good):
    """Blank nodes each linked to all others: canonicalization would take n! steps; it stops at its limit."""
    n = 12
    bomb = copy.deepcopy(good)
    # An inline context defines the linking term (safe mode would refuse an undefined one first).
    bomb["@context"] = [*bomb["@context"], {"linked": {"@id": "https://example.org/linked", "@type": "@id"}}]
    bomb["credentialSubject"]["linked"] = [
        {"id": f"_:b{i}", "linked": [{"id": f"_:b{j}"} for j in range(n) if j != i]} for i in range(n)
    ]
    started = time.perf_counter()
    data = failed(verifier.verify_credential(bomb), "proof", "canonicalization_limit")
    assert time.perf_counter() - started < 2
    assert data["credential"]["id"] == good["id"]


def test_a_check_failure_never_raises_for_garbage(verifier):
    for garbage in ([], "", "null", 12, {"@context": 5}, {"proof": {}}, {"@context": ["https://www.w3.org/ns/credentials/v2"],
                                                                           "type": "VerifiableCredential", "proof": [1]}):
        report = verifier.verify_input(garbage)
        assert report.verified is False
        assert report.to_dict()["checked_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
