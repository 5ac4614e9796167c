"""The published versions of the contexts we bundle, known by their digests.

A ``relatedResource`` that names one of our contexts is compared with these instead of being
fetched (VC Data Model 2.0, 5.3). The specification has verifiers treat its base context as
already retrieved, and our bundled files are our own rendering of the published documents (the
same definitions, other bytes), so only the published documents' digests tell which version a
credential names. A context URL has served more than one document: a credential issued while an
earlier one was published names that one, truthfully.

``contexts/published-versions.json`` records, for every bundled context, each version we know
with where its bytes come from and their digest by every algorithm ``digests`` reads (hex);
tests/dataintegrity/test_published_versions.py proves them against the documents.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from .digests import Digest

__all__ = ["PublishedVersion", "UnpublishedDigests", "context_version", "published_versions", "version_named"]


@dataclass(frozen=True)
class PublishedVersion:
    url: str
    version: str  # which publication, e.g. "VC Data Model 2.0, W3C Recommendation of 2025-05-15 ..."
    source: str  # where the digested bytes come from
    current: bool
    digests: Mapping[str, bytes]  # hashlib name -> digest

    def is_named_by(self, digests: list[Digest]) -> bool:
        return any(self.digests.get(digest.algorithm) == digest.value for digest in digests)


@functools.cache  # package data: read once
def published_versions() -> Mapping[str, tuple[PublishedVersion, ...]]:
    """Context URL -> its published versions, the current one first."""
    text = (resources.files(__package__) / "contexts" / "published-versions.json").read_text(encoding="utf-8")
    versions = {}
    for url, entries in json.loads(text).items():
        known = tuple(
            PublishedVersion(url, entry["version"], entry["source"], entry["current"],
                             MappingProxyType({key: bytes.fromhex(value) for key, value in entry.items()
                                               if key not in ("version", "source", "current")}))
            for entry in entries
        )
        versions[url] = tuple(sorted(known, key=lambda version: not version.current))
    return MappingProxyType(versions)


def version_named(versions: tuple[PublishedVersion, ...], sri: list[Digest],
                  multibase: list[Digest]) -> PublishedVersion | None:
    """The version (the current one first) whose digests are among those stated, one of each kind
    stated, as a fetched resource would have to give; None when they name none of them."""
    for version in versions:
        if all(not stated or version.is_named_by(stated) for stated in (sri, multibase)):
            return version
    return None


class UnpublishedDigests(ValueError):
    """Digests of one of our contexts that name none of its published versions."""


def context_version(url: str, sri: list[Digest], multibase: list[Digest]) -> PublishedVersion | None:
    """The published version of our context `url` that the stated digests name; None when `url` is
    not one of our contexts (then only the resource itself can be compared).

    :raise UnpublishedDigests: `url` is ours and the digests name none of its versions; the message
        ("digests of <url> match no published version ...") gives the current one's SHA-256.
    """
    versions = published_versions().get(url)
    if not versions:
        return None
    version = version_named(versions, sri, multibase)
    if version is None:
        raise UnpublishedDigests(f"digests of {url} match no published version of that context "
                                 f"(the current one's SHA-256 is {versions[0].digests['sha256'].hex()})")
    return version
