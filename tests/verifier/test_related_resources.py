"""The `integrity` check: relatedResource digests (VC Data Model 2.0, 5.3) compared with the resources,
fetched from a local server through the guarded fetcher."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.verifier.support import DidKey, check_of, library_verifier, sign, unsigned_credential
from tests.verifier.test_fetcher import loopback_only, respond  # noqa: F401 (fixture)
from verifier import Verifier
from verifier.resolvers import Resolver
from tests.verifier.support import NOW, loader

BODY = b'{"@context": {"name": "https://schema.org/name"}}\n'
SIGNER = DidKey(7)


def sri(data: bytes, algorithm: str = "sha384") -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def multibase(data: bytes, *, multihash: bool = True) -> str:
    digest = hashlib.sha256(data).digest()
    raw = (b"\x12\x20" + digest) if multihash else digest
    return "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def resource_url(server, loopback_only):  # noqa: F811
    server.routes["/context.json"] = respond(200, BODY, {"Content-Type": "application/ld+json"})
    return server.url("/context.json")


def credential_with(*resources) -> dict:
    value = list(resources) if len(resources) != 1 else resources[0]
    return sign(unsigned_credential(SIGNER.did, relatedResource=value), SIGNER)


def integrity(report) -> tuple:
    check = check_of(report.to_dict(), "integrity")
    return check["status"], check.get("code")


@pytest.mark.parametrize("digests", [
    {"digestSRI": sri(BODY)},
    {"digestSRI": sri(BODY, "sha256")},
    {"digestMultibase": multibase(BODY)},
    {"digestMultibase": multibase(BODY, multihash=False)},  # a bare digest, as the W3C suite sends it
    {"digestSRI": sri(BODY, "sha512"), "digestMultibase": multibase(BODY)},
])
def test_matching_digests_pass(resource_url, digests):
    report = library_verifier().verify_credential(credential_with({"id": resource_url, **digests}))
    assert integrity(report) == ("passed", None)
    assert report.verified, report.to_dict()


@pytest.mark.parametrize("digests", [
    {"digestSRI": sri(BODY + b" ")},
    {"digestMultibase": multibase(b"another resource")},
    # one kind matches, the other does not: a mismatch all the same
    {"digestSRI": sri(BODY), "digestMultibase": multibase(b"another resource")},
])
def test_a_digest_that_does_not_match_fails(resource_url, digests):
    report = library_verifier().verify_credential(credential_with({"id": resource_url, **digests}))
    assert integrity(report) == ("failed", "digest_mismatch")
    assert resource_url in check_of(report.to_dict(), "integrity")["message"]
    assert report.verified is False


def test_each_resource_is_compared(resource_url, server):
    server.routes["/other"] = respond(200, b"other")
    good = {"id": resource_url, "digestSRI": sri(BODY)}
    bad = {"id": server.url("/other"), "digestSRI": sri(b"not other")}
    report = library_verifier().verify_credential(credential_with(good, bad))
    assert integrity(report) == ("failed", "digest_mismatch")


def test_a_malformed_digest_fails():
    report = library_verifier().verify_credential(credential_with(
        {"id": "https://example.org/r", "digestSRI": "sha384-_rCVIV7fSXXTNIvpiq26jRDyj8JG8TDjij-tD0ewLk4JpnXEz6a5AeeY_1qQ0d0P"}))
    assert integrity(report) == ("failed", "digest_invalid")


def test_a_resource_that_cannot_be_fetched_is_a_warning(server, loopback_only):  # noqa: F811
    server.routes["/gone"] = respond(404, b"")
    report = library_verifier().verify_credential(credential_with({"id": server.url("/gone"), "digestSRI": sri(BODY)}))
    assert integrity(report) == ("warning", "related_resource_unavailable")
    assert report.verified, report.to_dict()  # what could not be compared is said, not guessed


def test_the_guarded_fetcher_refuses_private_addresses_and_says_so(server, loopback_only):  # noqa: F811
    # Plain http to loopback is not allowed by default: nothing is sent, the report says why.
    from verifier.fetcher import FetchPolicy, Fetcher
    fetcher = Fetcher(FetchPolicy())
    verifier = Verifier(loader(), Resolver.through(fetcher), lambda: NOW, fetcher=fetcher)
    report = verifier.verify_credential(credential_with({"id": server.url("/x"), "digestSRI": sri(BODY)}))
    assert integrity(report) == ("warning", "related_resource_unavailable")
    assert server.hits("/x") == 0


def test_a_verifier_without_fetcher_warns():
    verifier = Verifier(loader(), Resolver(), lambda: NOW)
    report = verifier.verify_credential(credential_with({"id": "https://example.org/r", "digestSRI": sri(BODY)}))
    assert integrity(report) == ("warning", "related_resource_unavailable")


def test_no_related_resource_no_check():
    report = library_verifier().verify_credential(sign(unsigned_credential(SIGNER.did), SIGNER))
    assert "integrity" not in {c["check"] for c in report.to_dict()["checks"]}


# A context we hold is compared with its published versions (dataintegrity.published), not fetched.
VC_V2 = "https://www.w3.org/ns/credentials/v2"
# the SHA-256 of the context printed in the VC Data Model 2.0 Recommendation, as a multihash
CURRENT_MULTIBASE = "u" + base64.urlsafe_b64encode(b"\x12\x20" + bytes.fromhex(
    "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734")).decode().rstrip("=")
# the W3C vc-data-model-2.0-test-suite's digests (tests/fixtures.js, commit 6e07524): of the context
# the Candidate Recommendation Snapshot of 2024-12-19 printed; and its "wrong" one
SUITE_SRI = "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"
SUITE_WRONG_MULTIBASE = "uM4RgWQc3RUDtjJCSgTJtTfvpZ7SPEg_LNO0ESlovQC0"


def offline_verifier() -> Verifier:
    return Verifier(loader(), Resolver(), lambda: NOW)  # no fetcher: nothing can be fetched


def test_a_context_we_hold_is_compared_without_fetching():
    report = offline_verifier().verify_credential(credential_with({"id": VC_V2, "digestMultibase": CURRENT_MULTIBASE}))
    assert integrity(report) == ("passed", None)
    assert report.verified, report.to_dict()


def test_an_earlier_published_version_of_a_context_is_a_warning():
    report = offline_verifier().verify_credential(credential_with({"id": VC_V2, "digestSRI": SUITE_SRI}))
    assert integrity(report) == ("warning", "related_resource_superseded")
    message = check_of(report.to_dict(), "integrity")["message"]
    assert VC_V2 in message and "Candidate Recommendation Snapshot of 2024-12-19" in message
    assert report.verified, report.to_dict()


def test_a_digest_of_no_published_version_of_a_context_fails():
    report = offline_verifier().verify_credential(credential_with({"id": VC_V2, "digestMultibase": SUITE_WRONG_MULTIBASE}))
    assert integrity(report) == ("failed", "digest_mismatch")
    message = check_of(report.to_dict(), "integrity")["message"]
    assert "no published version" in message and "59955ced6697d61e" in message
    assert report.verified is False


def test_a_resource_not_compared_is_said_before_an_earlier_version(server, loopback_only):  # noqa: F811
    server.routes["/gone"] = respond(404, b"")
    report = library_verifier().verify_credential(credential_with(
        {"id": VC_V2, "digestSRI": SUITE_SRI}, {"id": server.url("/gone"), "digestSRI": sri(BODY)}))
    assert integrity(report) == ("warning", "related_resource_unavailable")
    message = check_of(report.to_dict(), "integrity")["message"]
    assert server.url("/gone") in message and "2024-12-19" in message
