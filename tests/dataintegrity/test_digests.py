"""relatedResource digests (VC Data Model 2.0, 5.3): SRI hash expressions and multibase multihashes."""

from __future__ import annotations

import base64
import hashlib

import base58
import pytest

from dataintegrity.digests import DigestError, parse_digest_multibase, parse_digest_sri, resource_digests

DATA = b"the resource"


def b64u(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
def test_sri(algorithm):
    value = f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, DATA).digest()).decode()
    [digest] = parse_digest_sri(value)
    assert digest.algorithm == algorithm and digest.matches(DATA) and not digest.matches(DATA + b"!")


def test_sri_lists_and_options():
    a = "sha256-" + base64.b64encode(hashlib.sha256(b"a").digest()).decode()
    b = "sha512-" + base64.b64encode(hashlib.sha512(DATA).digest()).decode() + "?ct=text/plain"
    digests = parse_digest_sri(f"{a}  {b}")
    assert [d.matches(DATA) for d in digests] == [False, True]


@pytest.mark.parametrize("value", ["", " ", "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "sha256-not base64",
                                   "sha256-" + base64.urlsafe_b64encode(b"\xfb" * 32).decode(), 7, None,
                                   "sha256-" + base64.b64encode(hashlib.sha384(DATA).digest()).decode()])
def test_sri_refused(value):
    with pytest.raises(DigestError):
        parse_digest_sri(value)


@pytest.mark.parametrize(("code", "name"), [(0x12, "sha256"), (0x20, "sha384"), (0x13, "sha512"),
                                            (0x16, "sha3_256"), (0x15, "sha3_384"), (0x14, "sha3_512")])
def test_multihash_in_both_bases(code, name):
    digest = hashlib.new(name, DATA).digest()
    raw = bytes([code, len(digest)]) + digest
    for value in (b64u(raw), "z" + base58.b58encode(raw).decode()):
        [parsed] = parse_digest_multibase(value)
        assert parsed.algorithm == name and parsed.matches(DATA)


@pytest.mark.parametrize("name", ["sha256", "sha384", "sha512"])
def test_a_bare_digest_is_read_by_its_length(name):
    [parsed] = parse_digest_multibase(b64u(hashlib.new(name, DATA).digest()))
    assert parsed.algorithm == name and parsed.matches(DATA)


@pytest.mark.parametrize("value", ["", "u", "JKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k", "u" + "A" * 10,
                                   "uJKGM+kOmF", "z0OIl", "mAAAA", [], 3])
def test_multibase_refused(value):
    with pytest.raises(DigestError):
        parse_digest_multibase(value)


def test_resource_digests_reads_both_kinds():
    resource = {"id": "https://example.org/r",
                "digestSRI": "sha256-" + base64.b64encode(hashlib.sha256(DATA).digest()).decode(),
                "digestMultibase": b64u(hashlib.sha384(DATA).digest())}
    sri, multibase = resource_digests(resource)
    assert [d.algorithm for d in sri] == ["sha256"] and [d.algorithm for d in multibase] == ["sha384"]
