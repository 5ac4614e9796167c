"""Bitstring Status List encoding: published lists, round trips, and lists to refuse."""

import base64
import gzip
import json
from pathlib import Path

import pytest

from verifier.statuslist import (
    MIN_LENGTH_BITS,
    MIN_LENGTH_BYTES,
    StatusListError,
    bit_at,
    decode_status_list,
    encode_status_list,
    set_bit,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "statuslist" / "encoded-lists.json"
PUBLISHED = json.loads(FIXTURES.read_text())["lists"]


def multibase(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("vector", PUBLISHED, ids=[v["from"][:40] for v in PUBLISHED])
def test_published_lists_decode_to_their_set_bits(vector):
    bits = decode_status_list(vector["encodedList"], minimum_bits=0)
    assert len(bits) * 8 == vector["entries"]
    assert [i for i in range(len(bits) * 8) if bit_at(bits, i)] == vector["set"]


@pytest.mark.parametrize("vector", [v for v in PUBLISHED if v["entries"] < MIN_LENGTH_BITS])
def test_published_lists_below_the_minimum_are_refused_by_default(vector):
    with pytest.raises(StatusListError, match="fewer than the minimum of 131,072"):
        decode_status_list(vector["encodedList"])


def test_index_zero_is_the_most_significant_bit_of_the_first_byte():
    bits = bytes([0b1000_0000, 0b0000_0001])
    assert [bit_at(bits, i) for i in range(16)] == [1] + [0] * 14 + [1]


@pytest.mark.parametrize("index", [-1, 16, True, "3", 2.0])
def test_bit_at_refuses_indices_outside_the_list(index):
    with pytest.raises(IndexError):
        bit_at(bytes(2), index)


def test_round_trip():
    bits = bytearray(MIN_LENGTH_BYTES * 2)
    for index in (0, 7, 8, 94567, MIN_LENGTH_BITS * 2 - 1):
        set_bit(bits, index)
    set_bit(bits, 7, 0)
    encoded = encode_status_list(bits)
    assert encoded.startswith("uH4sI") and "=" not in encoded
    decoded = decode_status_list(encoded)
    assert decoded == bits
    assert [i for i in range(len(decoded) * 8) if bit_at(decoded, i)] == [0, 8, 94567, MIN_LENGTH_BITS * 2 - 1]
    assert encode_status_list(bits) == encoded  # deterministic: no time in the GZIP header


def test_encode_refuses_a_list_below_the_minimum():
    with pytest.raises(StatusListError, match="at least 131,072"):
        encode_status_list(bytes(MIN_LENGTH_BYTES - 1))


def test_short_list_refused():
    with pytest.raises(StatusListError, match="8,192 entries, fewer than the minimum of 131,072"):
        decode_status_list(multibase(gzip.compress(bytes(1024))))


def test_zip_bomb_refused():
    bomb = gzip.compress(bytes(64 * 1024 * 1024))  # 64 MiB of zeros, about 64 KB compressed
    assert len(bomb) < 100_000
    with pytest.raises(StatusListError, match="decompresses to more than"):
        decode_status_list(multibase(bomb))


def test_compressed_size_cap():
    with pytest.raises(StatusListError, match="larger than 100 compressed bytes"):
        decode_status_list(multibase(gzip.compress(bytes(MIN_LENGTH_BYTES)) + bytes(200)), max_compressed_bytes=100)


@pytest.mark.parametrize("encoded, reason", [
    ("zH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA", "must start with 'u'"),
    ("UH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA", "must start with 'u'"),
    ("H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA", "must start with 'u'"),
    ("uH4sIAAAAAAAAA+3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA", "without padding"),
    ("uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA==", "without padding"),
    ("uH4sIA AAAAAAAA", "without padding"),
    ("uH4sIAAA", "truncated GZIP"),
    ("u" + "A" * 5, "without padding"),
    (None, "must start with 'u'"),
    ("", "must start with 'u'"),
])
def test_bad_multibase_refused(encoded, reason):
    with pytest.raises(StatusListError, match=reason):
        decode_status_list(encoded)


def test_not_gzip_refused():
    import zlib

    with pytest.raises(StatusListError, match="not GZIP"):
        decode_status_list(multibase(zlib.compress(bytes(MIN_LENGTH_BYTES))))  # zlib framing, not GZIP


def test_truncated_and_trailing_gzip_refused():
    good = gzip.compress(bytes(MIN_LENGTH_BYTES))
    with pytest.raises(StatusListError, match="truncated"):
        decode_status_list(multibase(good[:-4]))
    with pytest.raises(StatusListError, match="after its GZIP stream"):
        decode_status_list(multibase(good + b"junk"))


def test_corrupted_gzip_refused():
    good = bytearray(gzip.compress(bytes(MIN_LENGTH_BYTES)))
    good[-8] ^= 0xFF  # the CRC-32
    with pytest.raises(StatusListError):
        decode_status_list(multibase(bytes(good)))
