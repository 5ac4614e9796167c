"""`integrity`: the digests of the credential's `relatedResource` entries match the resources
(VC Data Model 2.0, 5.3 "Integrity of Related Resources"). Present only when the credential has
`relatedResource`.

A resource that is one of our bundled contexts is not fetched: its digests must name a published
version of it (`dataintegrity.published`). An earlier version than the current one is a warning
(`related_resource_superseded`): the issuer named what was published then, and we read the
credential with the context as it is now. Any other resource is fetched through the
verification's guarded fetcher (its address rules and fetch budget). A digest that does not
match fails the check; a resource that cannot be fetched (no fetcher, a refused address, an
error) cannot be compared, which is a warning (`related_resource_unavailable`): the verifier says
what it could not check rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable

from dataintegrity.digests import DigestError, resource_digests
from dataintegrity.published import UnpublishedDigests, context_version
from verifier.fetcher import FetchError
from verifier.report import WARNING, CheckResult

MAX_RELATED_RESOURCES = 8


def check_integrity(credential: dict, fetch: Callable[[str], bytes] | None) -> CheckResult | None:
    if "relatedResource" not in credential:
        return None
    value = credential["relatedResource"]
    resources = value if isinstance(value, list) else [value]
    if not resources or len(resources) > MAX_RELATED_RESOURCES:
        return CheckResult.failed("integrity", "related_resource_invalid",
                                  f"relatedResource must hold 1 to {MAX_RELATED_RESOURCES} resources")
    stated = []
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
            return CheckResult.failed("integrity", "related_resource_invalid", "a relatedResource has no id URL")
        try:
            sri, multibase = resource_digests(resource)
        except DigestError as error:
            return CheckResult.failed("integrity", "digest_invalid", f"{resource['id']}: {error}")
        if not sri and not multibase:
            return CheckResult.failed("integrity", "related_resource_invalid",
                                      f"{resource['id']} has neither digestSRI nor digestMultibase")
        stated.append((resource["id"], sri, multibase))
    unavailable, superseded = [], []
    for url, sri, multibase in stated:
        try:
            version = context_version(url, sri, multibase)
        except UnpublishedDigests as error:
            return CheckResult.failed("integrity", "digest_mismatch", f"the credential's {error}")
        if version is not None:
            if not version.current:
                superseded.append(f"{url} ({version.version})")
            continue
        if fetch is None:
            unavailable.append(f"{url} (this verifier fetches nothing)")
            continue
        try:
            body = fetch(url)
        except FetchError as error:
            unavailable.append(f"{url} ({error})")
            continue
        for kind, digests in (("digestSRI", sri), ("digestMultibase", multibase)):
            if digests and not any(digest.matches(body) for digest in digests):
                return CheckResult.failed("integrity", "digest_mismatch",
                                          f"the resource at {url} does not match the credential's {kind}")
    notes = []
    if unavailable:
        notes.append("related resources not compared, as they could not be fetched: " + "; ".join(unavailable))
    if superseded:
        notes.append("digests of an earlier published version of a context, read here as it is now: "
                     + "; ".join(superseded))
    if notes:  # what was not compared outweighs what was compared with an older version
        code = "related_resource_unavailable" if unavailable else "related_resource_superseded"
        return CheckResult("integrity", WARNING, code, ". ".join(notes))
    return CheckResult.passed("integrity", f"{len(stated)} related resource(s) match their digests")
