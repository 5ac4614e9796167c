"""The published versions of our bundled contexts: their recorded digests are those of the documents.

The current documents are read from ../shared/ref/contexts (skipped where that folder is missing,
failed on CI, as in test_contexts.py). The earlier version of https://www.w3.org/ns/credentials/v2
is tests/fixtures/contexts/credentials-v2-cr2-8d0ee10.jsonld, the file contexts/credentials/v2 of
w3c/vc-data-model at commit 8d0ee1072f16284a1a0613d78bd7c20c915bad09, byte for byte: the SHA-256
that the VC Data Model 2.0 Candidate Recommendation Snapshot of 2024-12-19 prints for the context
(transitions/2024/CR2/index.html of that repository) is its digest.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

import pytest

from dataintegrity import BUNDLED_CONTEXT_URLS
from dataintegrity.digests import ALGORITHMS, parse_digest_multibase, parse_digest_sri
from dataintegrity.published import published_versions, version_named

REF_CONTEXTS = Path(__file__).parents[2].parent / "shared" / "ref" / "contexts"
CR2_FILE = Path(__file__).parents[1] / "fixtures" / "contexts" / "credentials-v2-cr2-8d0ee10.jsonld"
VC_V2 = "https://www.w3.org/ns/credentials/v2"

# Printed in the specifications (hex SHA-256 of https://www.w3.org/ns/credentials/v2)
REC_SHA256 = "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"  # Recommendation, 2025-05-15
CR2_SHA256 = "24a18c90e9856d526111f29376e302d970b2bd10182e33959995b0207d7043b9"  # CR Snapshot, 2024-12-19
# The "valid" digests of w3c/vc-data-model-2.0-test-suite (tests/fixtures.js, commit 6e07524) and its wrong one
SUITE_SRI = "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"
SUITE_MULTIBASE = "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"
SUITE_WRONG_MULTIBASE = "uM4RgWQc3RUDtjJCSgTJtTfvpZ7SPEg_LNO0ESlovQC0"


def document_of(version) -> bytes:
    """The bytes a version's digests are of, from where its source says they come."""
    if "8d0ee1072f16284a1a0613d78bd7c20c915bad09" in version.source:
        return CR2_FILE.read_bytes()
    match = re.search(r"\.\./shared/ref/contexts/([\w.-]+)", version.source)
    assert match, f"{version.url}: the source names no document: {version.source}"
    if not REF_CONTEXTS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{REF_CONTEXTS} is missing; CI must provide ../shared/ref")
        pytest.skip(f"{REF_CONTEXTS} not found (the published contexts live beside the repository)")
    return (REF_CONTEXTS / match.group(1)).read_bytes()


ALL_VERSIONS = [version for versions in published_versions().values() for version in versions]


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"{v.url} {v.version}")
def test_recorded_digests_are_those_of_the_document(version):
    data = document_of(version)
    assert set(version.digests) == ALGORITHMS  # a digest by any algorithm we read can be told
    for algorithm, digest in version.digests.items():
        assert hashlib.new(algorithm, data).digest() == digest, algorithm


def test_every_bundled_context_has_one_current_version():
    assert set(published_versions()) == BUNDLED_CONTEXT_URLS
    for url, versions in published_versions().items():
        assert [v.current for v in versions].count(True) == 1, url
        assert versions[0].current, url  # the current one is tried first


def test_the_vc_context_versions_are_those_the_specification_printed():
    current, earlier = published_versions()[VC_V2]
    assert current.digests["sha256"].hex() == REC_SHA256
    assert earlier.digests["sha256"].hex() == CR2_SHA256 and not earlier.current
    assert "2024-12-19" in earlier.version and "8d0ee10" in earlier.source


def test_the_cr2_fixture_is_the_historic_file():
    assert hashlib.sha256(CR2_FILE.read_bytes()).hexdigest() == CR2_SHA256


def sri(data: bytes, algorithm: str) -> list:
    return parse_digest_sri(f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode())


def test_the_w3c_suites_digests_name_the_earlier_version():
    versions = published_versions()[VC_V2]
    named = version_named(versions, parse_digest_sri(SUITE_SRI), [])
    assert named is versions[1]
    assert version_named(versions, [], parse_digest_multibase(SUITE_MULTIBASE)) is versions[1]
    assert version_named(versions, [], parse_digest_multibase(SUITE_WRONG_MULTIBASE)) is None


def test_each_kind_stated_must_name_the_same_version():
    versions = published_versions()[VC_V2]
    cr2 = CR2_FILE.read_bytes()
    assert version_named(versions, sri(cr2, "sha512"), parse_digest_multibase(SUITE_MULTIBASE)) is versions[1]
    # the SRI of one version and the multibase digest of another name no single document
    current_sri = parse_digest_sri("sha256-" + base64.b64encode(bytes.fromhex(REC_SHA256)).decode())
    assert version_named(versions, current_sri, []) is versions[0]
    assert version_named(versions, current_sri, parse_digest_multibase(SUITE_MULTIBASE)) is None
    # of several digests of one kind, one that names the version is enough (as for a fetched resource)
    assert version_named(versions, sri(b"something else", "sha384") + current_sri, []) is versions[0]
