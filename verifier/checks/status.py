"""`status`: the credential's status list entries say it is neither revoked nor suspended.

Each `BitstringStatusListEntry` (W3C Bitstring Status List v1.0) and legacy `StatusList2021Entry`
is checked by the spec's validation algorithm. A status that cannot be determined (list
unreachable, invalid, expired, unsupported) fails: an indeterminate status never passes.

Collaborators are passed in: `fetch_json(url) -> dict` (the guarded fetcher, within the
verification's budget) and `verify_list_credential(list_credential) -> (ok, reason)`, with which
the caller checks the list credential's proof, and that it trusts the list's issuer (the spec lets
it differ from the credential's issuer, so that decision is the caller's). With a
`StatusListCache`, a verified list's bits are decoded once per content version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from verifier.checks.validity import parse_instant
from verifier.report import WARNING, CheckResult
from verifier.statuscache import StatusListCache, content_version
from verifier.statuslist import MIN_LENGTH_BITS, StatusListError, bit_at, decode_status_list

CHECK = "status"

# entry type -> (list credential type, list subject type)
ENTRY_TYPES = {
    "BitstringStatusListEntry": ("BitstringStatusListCredential", "BitstringStatusList"),
    "StatusList2021Entry": ("StatusList2021Credential", "StatusList2021"),
}
_INDEX = re.compile(r"[0-9]{1,15}")
MAX_INDEX = 10**15 - 1
# A list shorter than the spec's 131,072 entries is read (with a warning, status_list_short) down
# to this: less gives no herd privacy at all (a list of a few bits names its credentials).
MIN_READABLE_BITS = 8


class _Failure(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.result = CheckResult.failed(CHECK, code, message)


def check_status(credential: dict, *, fetch_json: Callable[[str], dict],
                 verify_list_credential: Callable[[dict], tuple[bool, str]], now: datetime,
                 ttl_for: Callable[[str, float], None] | None = None, skew: timedelta = timedelta(0),
                 cache: StatusListCache | None = None,
                 version_of: Callable[[dict], str] = content_version) -> CheckResult:
    """Check every status entry; the first failure is the result.

    :param ttl_for: optional `(url, seconds)` hook (`Fetcher.ttl_for`) given a list's `ttl`, so
        the list is cached as long as its issuer says.
    :param skew: clock skew allowed before a list's validFrom. A list is often signed after the
        verification began (its issuer re-signs it when it changed), so its validFrom may lie a
        moment past the verifier's `now`; a list is never used past its validUntil, though.
    :param cache: verified lists' decoded bits, by content version.
    :param version_of: a list credential's content version (the caller may know it already).
    """
    status = credential.get("credentialStatus")
    if status is None:
        return CheckResult.passed(CHECK, "no status to check")
    entries = status if isinstance(status, list) else [status]
    if not entries:
        return CheckResult.passed(CHECK, "no status to check")
    lists: dict[str, dict] = {}  # one fetch and one proof check per list, however many entries use it
    messages = []
    # What was read although the spec (or its usual reading) says otherwise: (code, message),
    # each a warning in the report; never silent. See README "Verification codes".
    relaxed: list[tuple[str, str]] = []
    for entry in entries:
        try:
            messages.append(_check_entry(entry, lists, fetch_json, verify_list_credential, now, ttl_for, skew, cache,
                                         version_of, relaxed))
        except _Failure as failure:
            if relaxed:
                notes = "; ".join(message for _code, message in relaxed)
                return CheckResult.failed(CHECK, failure.result.code, f"{failure.result.message} (also: {notes})")
            return failure.result
    if relaxed:
        return CheckResult(CHECK, WARNING, relaxed[0][0],
                           "; ".join(messages) + " (" + "; ".join(message for _code, message in relaxed) + ")")
    return CheckResult.passed(CHECK, "; ".join(messages))


def _check_entry(entry, lists, fetch_json, verify_list_credential, now, ttl_for, skew, cache, version_of,
                 relaxed) -> str:
    if not isinstance(entry, dict):
        raise _Failure("status_entry_invalid", "a credentialStatus entry is not an object")
    entry_type = _types(entry.get("type"))
    known = [t for t in entry_type if t in ENTRY_TYPES]
    if not known:
        raise _Failure("status_unsupported", f"status type {', '.join(entry_type) or '(none)'} is not supported")
    list_type, subject_type = ENTRY_TYPES[known[0]]
    purpose, url = entry.get("statusPurpose"), entry.get("statusListCredential")
    if not isinstance(purpose, str) or not purpose:
        raise _Failure("status_entry_invalid", "the status entry has no statusPurpose")
    if not isinstance(url, str) or not url:
        raise _Failure("status_entry_invalid", "the status entry has no statusListCredential URL")
    size = entry.get("statusSize", 1)
    if size != 1 or isinstance(size, bool):
        raise _Failure("status_unsupported", f"statusSize {size!r} is not supported (only 1)")
    index_text = entry.get("statusListIndex")
    if isinstance(index_text, int) and not isinstance(index_text, bool) and 0 <= index_text <= MAX_INDEX:
        # The spec says a string; some issuers write a JSON number. Same value, read with a warning.
        _note(relaxed, "status_index_numeric", f"statusListIndex is the number {index_text}, not a string")
        index = index_text
    elif not isinstance(index_text, str) or not _INDEX.fullmatch(index_text):
        raise _Failure("status_index_invalid", f"statusListIndex {index_text!r} is not a base-10 number")
    else:
        index = int(index_text)

    if url not in lists:
        lists[url] = _load_list(url, fetch_json, verify_list_credential, relaxed)
    list_credential = lists[url]
    if list_type not in _types(list_credential.get("type")):
        raise _Failure("status_list_invalid", f"{url} is not a {list_type}")
    subject = list_credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, dict) or subject_type not in _types(subject.get("type")):
        raise _Failure("status_list_invalid", f"the credentialSubject of {url} is not a {subject_type}")
    list_purposes = _types(subject.get("statusPurpose"))
    if purpose not in list_purposes:
        listed = ", ".join(list_purposes) or "nothing"
        raise _Failure("status_purpose_mismatch", f"the entry's purpose is {purpose}, the list at {url} is for {listed}")
    _check_list_validity(list_credential, url, now, skew)
    if ttl_for is not None:
        ttl = subject.get("ttl")
        if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
            ttl_for(url, ttl / 1000)
    try:
        if cache is None:
            bits = decode_status_list(subject.get("encodedList"), minimum_bits=MIN_READABLE_BITS)
        else:
            bits = cache.bits(version_of(list_credential), subject.get("encodedList"), minimum_bits=MIN_READABLE_BITS)
    except StatusListError as error:
        raise _Failure("status_list_invalid", f"the list at {url}: {error}") from None
    if len(bits) * 8 < MIN_LENGTH_BITS:
        _note(relaxed, "status_list_short", f"the list at {url} has {len(bits) * 8:,} entries, fewer than the "
                                            f"spec's minimum of {MIN_LENGTH_BITS:,} (less herd privacy)")
    try:
        bit = bit_at(bits, index)
    except IndexError:
        raise _Failure("status_index_invalid",
                       f"statusListIndex {index} is outside the list at {url} ({len(bits) * 8:,} entries)") from None

    if purpose == "revocation":
        if bit:
            raise _Failure("revoked", f"revoked (list {url}, index {index})")
        return "not revoked"
    if purpose == "suspension":
        if bit:
            raise _Failure("suspended", f"suspended (list {url}, index {index})")
        return "not suspended"
    return f"{purpose} status is {bit}{_status_message(entry, bit)}"


def _note(relaxed: list, code: str, message: str) -> None:
    if (code, message) not in relaxed:
        relaxed.append((code, message))


def _load_list(url, fetch_json, verify_list_credential, relaxed) -> dict:
    try:
        list_credential = fetch_json(url)
    except Exception as error:  # any failure of the fetcher: the status cannot be determined
        raise _Failure("status_unavailable", f"the status list could not be fetched: {error}") from None
    if not isinstance(list_credential, dict):
        raise _Failure("status_list_invalid", f"{url} did not return a credential")
    try:
        ok, reason = verify_list_credential(list_credential)
    except Exception as error:
        ok, reason = False, f"it could not be verified ({error.__class__.__name__})"
    if not ok:
        raise _Failure("status_list_invalid", f"the status list credential at {url} is not valid: {reason}")
    if list_credential.get("id") != url:
        # Lists behind a CDN or a redirect often name another URL. The list is still used: it is
        # at the URL the (signed) credential names, and `verify_list_credential` made sure it is
        # signed by the credential's own issuer; but the report says so.
        _note(relaxed, "status_list_id_mismatch",
              f"the list at {url} has id {str(list_credential.get('id'))[:200]!r}, not its URL")
    return list_credential


def _check_list_validity(list_credential: dict, url: str, now: datetime, skew: timedelta) -> None:
    start_field = "validFrom" if "validFrom" in list_credential else "issuanceDate"
    end_field = "validUntil" if "validUntil" in list_credential else "expirationDate"
    bounds = {}
    for name in (start_field, end_field):
        if name in list_credential:
            bounds[name] = parse_instant(list_credential[name])
            if bounds[name] is None:
                raise _Failure("status_list_invalid", f"{name} of the status list at {url} is not a date-time")
    start, end = bounds.get(start_field), bounds.get(end_field)
    if start is not None and now + skew < start:
        raise _Failure("status_list_expired",
                       f"the status list at {url} is not valid before {list_credential[start_field]}")
    if end is not None and now >= end:
        raise _Failure("status_list_expired", f"the status list at {url} expired at {list_credential[end_field]}")


def _status_message(entry: dict, value: int) -> str:
    messages = entry.get("statusMessage")
    if isinstance(messages, list):
        for item in messages:
            if isinstance(item, dict) and item.get("status") == hex(value) and isinstance(item.get("message"), str):
                return f" ({item['message']})"
    return ""


def _types(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
