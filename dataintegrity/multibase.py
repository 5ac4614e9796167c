"""Multibase base58btc (the ``z`` prefix), the only multibase encoding Data Integrity uses here."""

from __future__ import annotations

import base58

from .errors import MultibaseError

_BASE58BTC_PREFIX = "z"


def encode_base58btc(data: bytes) -> str:
    """Return ``data`` as a multibase base58btc string (``"z"`` + base58, Bitcoin alphabet)."""
    return _BASE58BTC_PREFIX + base58.b58encode(bytes(data)).decode("ascii")


def decode_base58btc(value: str) -> bytes:
    """Decode a multibase base58btc string.

    Raises:
        MultibaseError: ``value`` is not a string starting with ``"z"`` followed by valid base58.
    """
    if not isinstance(value, str) or not value.startswith(_BASE58BTC_PREFIX):
        raise MultibaseError(f"expected a multibase base58btc value starting with 'z', got {value!r:.80}")
    try:
        # base58.b58decode, but with the number turned into bytes in one step instead of its
        # divmod loop (most of its time): leading "1"s are zero bytes, then the number's bytes
        digits = value[1:].encode("ascii").rstrip()
        significant = digits.lstrip(b"1")
        number = base58.b58decode_int(significant)
    except ValueError as error:  # includes UnicodeEncodeError
        raise MultibaseError(f"invalid base58btc in {value!r:.80}: {error}") from None
    return bytes(len(digits) - len(significant)) + number.to_bytes((number.bit_length() + 7) // 8, "big")
