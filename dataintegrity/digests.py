"""Digests of related resources (VC Data Model 2.0, section 5.3 "Integrity of Related Resources").

``digestSRI`` is one or more Subresource Integrity hash expressions (``sha256-``, ``sha384-`` or
``sha512-`` then the standard base64 of the digest, space-separated, each optionally followed by
``?options``). ``digestMultibase`` is a multibase string (``u`` base64url without padding, or ``z``
base58btc) of a multihash (sha2-256/384/512, sha3-256/384/512), or, as the W3C test suites send it,
of a bare digest whose length gives its algorithm (32 bytes sha2-256, 48 sha2-384, 64 sha2-512).

A resource matches when its bytes give one of the stated digests of each kind present.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from .errors import MultibaseError
from .multibase import decode_base58btc

__all__ = ["ALGORITHMS", "Digest", "DigestError", "parse_digest_multibase", "parse_digest_sri", "resource_digests"]

_SRI_ALGORITHMS = {"sha256": 32, "sha384": 48, "sha512": 64}
_SRI_TOKEN = re.compile(r"(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(?:\?[\x21-\x7e]*)?")
# multihash code -> (hashlib name, digest length)
_MULTIHASH = {0x12: ("sha256", 32), 0x20: ("sha384", 48), 0x13: ("sha512", 64),
              0x16: ("sha3_256", 32), 0x15: ("sha3_384", 48), 0x14: ("sha3_512", 64)}
_BARE = {32: "sha256", 48: "sha384", 64: "sha512"}
# Every algorithm a stated digest may have (hashlib names).
ALGORITHMS = frozenset(_SRI_ALGORITHMS) | {name for name, _length in _MULTIHASH.values()} | set(_BARE.values())


class DigestError(ValueError):
    """A digest value that is not well formed."""


@dataclass(frozen=True)
class Digest:
    algorithm: str  # a hashlib name
    value: bytes

    def matches(self, data: bytes) -> bool:
        return hashlib.new(self.algorithm, data).digest() == self.value


def parse_digest_sri(value) -> list[Digest]:
    """The digests of a ``digestSRI`` value. :raise DigestError: it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise DigestError("digestSRI must be a string of sha256-, sha384- or sha512- hash expressions")
    digests = []
    for token in value.split():
        match = _SRI_TOKEN.fullmatch(token)
        if match is None:
            raise DigestError(f"{token!r} is not an SRI hash expression (sha256-, sha384- or sha512- and base64)")
        algorithm, encoded = match.groups()
        try:
            digest = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise DigestError(f"{token!r}: the digest is not base64") from None
        if len(digest) != _SRI_ALGORITHMS[algorithm]:
            raise DigestError(f"{token!r}: a {algorithm} digest is {_SRI_ALGORITHMS[algorithm]} bytes, not {len(digest)}")
        digests.append(Digest(algorithm, digest))
    return digests


def parse_digest_multibase(value) -> list[Digest]:
    """The digest(s) of a ``digestMultibase`` value (a string or a list of them). :raise DigestError:"""
    values = value if isinstance(value, list) and value else [value]
    return [_multibase_digest(item) for item in values]


def _multibase_digest(value) -> Digest:
    if not isinstance(value, str) or len(value) < 2:
        raise DigestError("digestMultibase must be a multibase string")
    prefix, body = value[0], value[1:]
    try:
        if prefix == "u":
            if not re.fullmatch(r"[A-Za-z0-9_-]+", body):
                raise DigestError("digestMultibase: not base64url without padding")
            data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        elif prefix == "z":
            data = decode_base58btc(value)
        else:
            raise DigestError(f"digestMultibase: unsupported multibase prefix {prefix!r} (u or z)")
    except (binascii.Error, ValueError, MultibaseError) as error:
        if isinstance(error, DigestError):
            raise
        raise DigestError(f"digestMultibase: {error}") from None
    if len(data) >= 2 and data[0] in _MULTIHASH and data[1] == _MULTIHASH[data[0]][1] \
            and len(data) == 2 + data[1]:
        name, _length = _MULTIHASH[data[0]]
        return Digest(name, data[2:])
    if len(data) in _BARE:
        return Digest(_BARE[len(data)], data)
    raise DigestError(f"digestMultibase: {len(data)} bytes are neither a multihash nor a SHA-2 digest")


def resource_digests(resource: dict) -> tuple[list[Digest], list[Digest]]:
    """(SRI digests, multibase digests) a ``relatedResource`` object states. :raise DigestError:"""
    sri = parse_digest_sri(resource["digestSRI"]) if "digestSRI" in resource else []
    multibase = parse_digest_multibase(resource["digestMultibase"]) if "digestMultibase" in resource else []
    return sri, multibase
