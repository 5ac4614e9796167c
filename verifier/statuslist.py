"""W3C Bitstring Status List v1.0: the `encodedList` of a status list credential.

encodedList = "u" + base64url-without-padding(GZIP(bitstring)) (multibase base64url). Index 0 is the
most significant (left-most) bit of the first byte: index i is in byte i // 8, mask 0x80 >> (i % 8).

Only one bit per entry (statusSize 1) is read here; `verifier.checks.status` refuses larger
statusSize values as unsupported for now.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib

MIN_LENGTH_BITS = 131_072  # the spec's minimum, for herd privacy: 16 KiB
MIN_LENGTH_BYTES = MIN_LENGTH_BITS // 8
# A list of 100 million credentials is 12.5 MB; more is taken for a decompression bomb.
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024
# Random bits barely compress, so this allows a full list of up to about 2 MB (the fetcher's cap too).
MAX_COMPRESSED_BYTES = 2 * 1024 * 1024

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class StatusListError(ValueError):
    """An encodedList that cannot be used: bad encoding, not GZIP, too short or too large."""


def decode_status_list(encoded_list: str, *, minimum_bits: int = MIN_LENGTH_BITS,
                       max_compressed_bytes: int = MAX_COMPRESSED_BYTES,
                       max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """The bitstring of `encoded_list`.

    `minimum_bits` is the spec's 131,072 unless an ecosystem sets another lower bound; the verifier
    keeps the default. :raise StatusListError: the value is not a valid, complete list.
    """
    if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
        raise StatusListError("encodedList is not multibase base64url (it must start with 'u')")
    text = encoded_list[1:]
    if len(text) > (max_compressed_bytes * 4 + 2) // 3:
        raise StatusListError(f"encodedList is larger than {max_compressed_bytes} compressed bytes")
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise StatusListError("encodedList is not base64url without padding")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise StatusListError("encodedList is not base64url without padding") from None
    bits = _gunzip(compressed, max_decompressed_bytes)
    if len(bits) * 8 < minimum_bits:
        raise StatusListError(
            f"the status list has {len(bits) * 8:,} entries, fewer than the minimum of {minimum_bits:,}"
        )
    return bits


def _gunzip(compressed: bytes, limit: int) -> bytes:
    """One complete GZIP member, decompressed to at most `limit` bytes."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
    try:
        bits = decompressor.decompress(compressed, limit + 1)
    except zlib.error:
        raise StatusListError("encodedList is not GZIP-compressed") from None
    if len(bits) > limit:
        raise StatusListError(f"the status list decompresses to more than {limit} bytes")
    if not decompressor.eof:
        raise StatusListError("encodedList is a truncated GZIP stream")
    if decompressor.unused_data:
        raise StatusListError("encodedList has data after its GZIP stream")
    return bits


def bit_at(bits: bytes, index: int) -> int:
    """The bit at `index` (0 is the most significant bit of the first byte). :raise IndexError:"""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(bits) * 8:
        raise IndexError(f"index {index!r} is outside a list of {len(bits) * 8} entries")
    return (bits[index // 8] >> (7 - index % 8)) & 1


def set_bit(bits: bytearray, index: int, value: int = 1) -> None:
    """Set (value 1) or clear (value 0) the bit at `index` in place. :raise IndexError:"""
    bit_at(bits, index)
    mask = 0x80 >> (index % 8)
    if value:
        bits[index // 8] |= mask
    else:
        bits[index // 8] &= ~mask & 0xFF


def encode_status_list(bits: bytes) -> str:
    """The encodedList of `bits` (deterministic: no timestamp in the GZIP header).

    :raise StatusListError: `bits` is shorter than the spec's minimum of 131,072 entries.
    """
    if len(bits) < MIN_LENGTH_BYTES:
        raise StatusListError(f"a status list needs at least {MIN_LENGTH_BITS:,} entries ({MIN_LENGTH_BYTES} bytes)")
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")
