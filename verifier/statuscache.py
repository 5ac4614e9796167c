"""What a verifier keeps of the status list credentials it has verified: each is verified once per
content version, and its bits decoded once; every credential on the list then costs a bit lookup.

A version is the SHA-256 of the list credential's JSON (keys sorted), so a list that changes in any
way, a re-signed one included, is a new version and is verified again. Only a list whose checks
all passed is kept, together with the key its proof verified with: the verifier still resolves
the issuer's key at each use (a key the issuer withdrew must not keep vouching for a list), and
the validity window, `ttl` and bit lookup are applied at each use, with the verifier's clock.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from verifier.statuslist import MIN_LENGTH_BITS, decode_status_list

DEFAULT_MAX_LISTS = 256
# Lists are 16 KiB decoded at the spec's minimum and up to 16 MiB at the decoder's limit.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def content_version(list_credential: dict) -> str:
    """The version of a list credential: the SHA-256 of its JSON, keys sorted."""
    text = json.dumps(list_credential, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifiedList:
    key: bytes  # the public key (DER) the list's proof verified with
    bits: bytes | None = None  # decoded on first use


class StatusListCache:
    """Verified list versions, least recently used dropped first, within `max_lists` entries and
    `max_bytes` of decoded bits. Thread-safe: one cache serves every thread of a service."""

    def __init__(self, max_lists: int = DEFAULT_MAX_LISTS, max_bytes: int = DEFAULT_MAX_BYTES):
        if max_lists < 1 or max_bytes < 1:
            raise ValueError("a status list cache holds at least one list")
        self.max_lists = max_lists
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, VerifiedList] = OrderedDict()
        self._bytes = 0

    def verified_key(self, version: str) -> bytes | None:
        """The key a list of this version verified with, or None if it is not known to be good."""
        with self._lock:
            entry = self._entries.get(version)
            if entry is None:
                return None
            self._entries.move_to_end(version)
            return entry.key

    def remember(self, version: str, key: bytes) -> None:
        """Record that a list of this version passed every check, its proof with `key`."""
        with self._lock:
            if version not in self._entries:
                self._store(version, VerifiedList(key))

    def bits(self, version: str, encoded_list, *, minimum_bits: int = MIN_LENGTH_BITS) -> bytes:
        """The decoded `encodedList` of a remembered version, decoded once.

        :raise StatusListError: the list is not a valid, complete list (never kept).
        """
        with self._lock:
            entry = self._entries.get(version)
            if entry is not None and entry.bits is not None:
                self._entries.move_to_end(version)
                return entry.bits
        bits = decode_status_list(encoded_list, minimum_bits=minimum_bits)  # outside the lock: up to 16 MiB of work
        with self._lock:
            entry = self._entries.get(version)
            if entry is not None and entry.bits is None:
                self._bytes -= self._size(entry)
                del self._entries[version]
                self._store(version, VerifiedList(entry.key, bits))
        return bits

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def _store(self, version: str, entry: VerifiedList) -> None:
        size = self._size(entry)
        if size > self.max_bytes:
            return  # larger than the whole cache: decoded afresh at each use
        self._entries[version] = entry
        self._bytes += size
        while len(self._entries) > self.max_lists or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= self._size(dropped)

    @staticmethod
    def _size(entry: VerifiedList) -> int:
        return len(entry.key) + (len(entry.bits) if entry.bits is not None else 0)
