"""The `status` check, with status list credentials served by a local HTTP server and fetched by
the real fetcher. The list credential's proof is the caller's business: a stub stands in for it."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.verifier.test_fetcher import LOCAL, LocalServer, loopback_only, respond  # noqa: F401 (fixture)
from verifier.checks.status import check_status
from verifier.fetcher import Fetcher
from verifier.statuslist import MIN_LENGTH_BYTES, encode_status_list, set_bit

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
REVOKED, SUSPENDED, CLEAR = 94567, 23452, 7
TINY = "uH4sIAAAAAAACAwMAAAAAAAAAAAA"  # "u" + base64url(GZIP(no bytes at all))
PUBLISHED = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "statuslist" / "encoded-lists.json")
                       .read_text())["lists"]


def valid(_list_credential):
    return True, ""


def bad_proof(_list_credential):
    return False, "bad proof"


def encoded(*indices: int, length: int = MIN_LENGTH_BYTES) -> str:
    bits = bytearray(length)
    for index in indices:
        set_bit(bits, index)
    if length < MIN_LENGTH_BYTES:  # what some issuers publish, and our encoder refuses to make
        return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode("ascii").rstrip("=")
    return encode_status_list(bits)


def list_credential(purpose="revocation", encoded_list=None, **fields) -> dict:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "https://badges.test/status/1",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:web:badges.test",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "https://badges.test/status/1#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list or encoded(REVOKED if purpose == "revocation" else SUSPENDED),
        },
    }
    credential.update(fields)
    return credential


def serve(server, path: str, document) -> None:
    """Serve a status list credential as its issuer would: its `id` is the URL it is served at."""
    if isinstance(document, dict) and "credentialSubject" in document:
        document = {**document, "id": server.url(path)}
    server.json(path, document)


def entry(url, index, purpose="revocation", type_="BitstringStatusListEntry", **fields) -> dict:
    return {"id": f"{url}#{index}", "type": type_, "statusPurpose": purpose, "statusListIndex": str(index),
            "statusListCredential": url, **fields}


def credential_with(*entries) -> dict:
    status = entries[0] if len(entries) == 1 else list(entries)
    return {"type": ["VerifiableCredential", "OpenBadgeCredential"], "credentialStatus": status}


@pytest.fixture
def server():
    local = LocalServer()
    serve(local, "/revocation", list_credential("revocation"))
    serve(local, "/suspension", list_credential("suspension"))
    yield local
    local.close()


@pytest.fixture
def fetcher():
    return Fetcher(LOCAL, clock=lambda: NOW).budget()


def check(credential, fetcher, verify=valid, **kwargs):
    return check_status(credential, fetch_json=fetcher.fetch_json, verify_list_credential=verify, now=NOW, **kwargs)


def test_no_status_to_check(fetcher):
    result = check({"type": ["VerifiableCredential"]}, fetcher)
    assert (result.check, result.status, result.message) == ("status", "passed", "no status to check")


def test_revoked(server, fetcher):
    result = check(credential_with(entry(server.url("/revocation"), REVOKED)), fetcher)
    assert (result.status, result.code) == ("failed", "revoked")
    assert str(REVOKED) in result.message


def test_suspended(server, fetcher):
    result = check(credential_with(entry(server.url("/suspension"), SUSPENDED, "suspension")), fetcher)
    assert (result.status, result.code) == ("failed", "suspended")


def test_clear(server, fetcher):
    result = check(credential_with(entry(server.url("/revocation"), CLEAR),
                                   entry(server.url("/suspension"), CLEAR, "suspension")), fetcher)
    assert (result.status, result.code, result.message) == ("passed", None, "not revoked; not suspended")


def test_a_list_shared_by_entries_is_fetched_once(server, fetcher):
    serve(server, "/both", list_credential(["revocation", "suspension"]))
    calls = []

    def verify(list_credential):
        calls.append(list_credential["id"])
        return True, ""

    result = check(credential_with(entry(server.url("/both"), CLEAR), entry(server.url("/both"), 8, "suspension")),
                   fetcher, verify)
    assert result.status == "passed"
    assert server.hits("/both") == 1 and len(calls) == 1


def test_unreachable_server(fetcher):
    local = LocalServer()
    url = local.url("/revocation")
    local.close()
    result = check(credential_with(entry(url, CLEAR)), fetcher)
    assert (result.status, result.code) == ("failed", "status_unavailable")
    assert "connection refused" in result.message


def test_list_not_found(server, fetcher):
    result = check(credential_with(entry(server.url("/missing"), CLEAR)), fetcher)
    assert (result.status, result.code) == ("failed", "status_unavailable")
    assert "404" in result.message


def test_refused_url_is_unavailable(fetcher):
    result = check(credential_with(entry("https://169.254.169.254/latest/meta-data/", CLEAR)), fetcher)
    assert (result.status, result.code) == ("failed", "status_unavailable")
    assert "link-local" in result.message


def test_list_whose_proof_fails(server, fetcher):
    result = check(credential_with(entry(server.url("/revocation"), CLEAR)), fetcher, bad_proof)
    assert (result.status, result.code) == ("failed", "status_list_invalid")
    assert "bad proof" in result.message


def test_verifier_that_raises_is_a_failure(server, fetcher):
    def broken(_):
        raise RuntimeError("boom")

    result = check(credential_with(entry(server.url("/revocation"), CLEAR)), fetcher, broken)
    assert (result.status, result.code) == ("failed", "status_list_invalid")


@pytest.mark.parametrize("tamper", [
    lambda c: c["credentialSubject"].update(encodedList=c["credentialSubject"]["encodedList"][:-6]),
    lambda c: c["credentialSubject"].update(encodedList="u!!!"),
    lambda c: c["credentialSubject"].update(encodedList=12),
    lambda c: c["credentialSubject"].pop("encodedList"),
    lambda c: c["credentialSubject"].update(type="SomethingElse"),
    lambda c: c.update(credentialSubject="https://badges.test/status/1#list"),
    lambda c: c.update(type=["VerifiableCredential"]),
    lambda c: c.update(validUntil="tomorrow"),
], ids=["truncated", "bad-base64", "not-a-string", "missing", "subject-type", "subject-not-object",
        "credential-type", "bad-date"])
def test_tampered_or_invalid_list(server, fetcher, tamper):
    tampered = list_credential()
    tamper(tampered)
    serve(server, "/tampered", tampered)
    result = check(credential_with(entry(server.url("/tampered"), CLEAR)), fetcher)
    assert (result.status, result.code) == ("failed", "status_list_invalid")


def test_list_that_is_not_json(server, fetcher):
    server.routes["/html"] = respond(200, b"<html>")
    result = check(credential_with(entry(server.url("/html"), CLEAR)), fetcher)
    assert (result.status, result.code) == ("failed", "status_unavailable")


def test_purpose_mismatch(server, fetcher):
    result = check(credential_with(entry(server.url("/suspension"), CLEAR, "revocation")), fetcher)
    assert (result.status, result.code) == ("failed", "status_purpose_mismatch")


def test_short_list_gives_the_bits_verdict_and_a_warning(server, fetcher):
    # Lists shorter than the spec's minimum exist (100,000 entries, by a large issuer): the bit is
    # read, and the report says the list is short.
    serve(server, "/short", list_credential(encoded_list=PUBLISHED[3]["encodedList"]))  # 100,000 entries
    result = check(credential_with(entry(server.url("/short"), CLEAR)), fetcher)
    assert (result.status, result.code) == ("warning", "status_list_short")
    assert "100,000 entries, fewer than the spec's minimum of 131,072" in result.message
    serve(server, "/short-revoked", list_credential(encoded_list=encoded(CLEAR, length=12_500)))
    result = check(credential_with(entry(server.url("/short-revoked"), CLEAR)), fetcher)
    assert (result.status, result.code) == ("failed", "revoked")
    assert "fewer than the spec's minimum" in result.message
    # a list of a byte or less is no list
    serve(server, "/tiny", list_credential(encoded_list=TINY))
    result = check(credential_with(entry(server.url("/tiny"), 0)), fetcher)
    assert (result.status, result.code) == ("failed", "status_list_invalid")


def test_index_out_of_range(server, fetcher):
    result = check(credential_with(entry(server.url("/revocation"), MIN_LENGTH_BYTES * 8)), fetcher)
    assert (result.status, result.code) == ("failed", "status_index_invalid")
    assert check(credential_with(entry(server.url("/revocation"), MIN_LENGTH_BYTES * 8 - 1)), fetcher).status == "passed"


@pytest.mark.parametrize("index", ["-1", "abc", "1e3", " 7", "0x10", "", -1, True, 7.0, None, "9" * 40, 10**16])
def test_bad_index(server, fetcher, index):
    bad = entry(server.url("/revocation"), CLEAR)
    bad["statusListIndex"] = index
    result = check(credential_with(bad), fetcher)
    assert (result.status, result.code) == ("failed", "status_index_invalid")


def test_a_numeric_index_is_read_with_a_warning(server, fetcher):
    numeric = entry(server.url("/revocation"), CLEAR)
    numeric["statusListIndex"] = CLEAR
    result = check(credential_with(numeric), fetcher)
    assert (result.status, result.code) == ("warning", "status_index_numeric")
    numeric["statusListIndex"] = REVOKED
    result = check(credential_with(numeric), fetcher)
    assert (result.status, result.code) == ("failed", "revoked")


@pytest.mark.parametrize("fields, wording", [
    ({"validUntil": "2026-11-25T11:59:59Z"}, "expired at"),
    ({"validFrom": "2026-11-25T12:00:01Z"}, "not valid before"),
    ({"expirationDate": "2026-01-01T00:00:00Z"}, "expired at"),
])
def test_expired_list(server, fetcher, fields, wording):
    serve(server, "/expired", list_credential(**fields))
    result = check(credential_with(entry(server.url("/expired"), CLEAR)), fetcher)
    assert (result.status, result.code) == ("failed", "status_list_expired")
    assert wording in result.message


def test_legacy_status_list_2021(server, fetcher):
    legacy = list_credential(type=["VerifiableCredential", "StatusList2021Credential"])
    legacy["credentialSubject"]["type"] = "StatusList2021"
    serve(server, "/legacy", legacy)
    result = check(credential_with(entry(server.url("/legacy"), REVOKED, type_="StatusList2021Entry")), fetcher)
    assert result.code == "revoked"
    result = check(credential_with(entry(server.url("/legacy"), CLEAR, type_="StatusList2021Entry")), fetcher)
    assert result.status == "passed"
    # a Bitstring entry does not accept a StatusList2021 list
    result = check(credential_with(entry(server.url("/legacy"), CLEAR)), fetcher)
    assert result.code == "status_list_invalid"


def test_other_purposes_pass_with_a_message(server, fetcher):
    serve(server, "/message", list_credential("message", encoded(3)))
    messages = [{"status": "0x0", "message": "pending"}, {"status": "0x1", "message": "accepted"}]
    result = check(credential_with(entry(server.url("/message"), 3, "message", statusMessage=messages)), fetcher)
    assert (result.status, result.message) == ("passed", "message status is 1 (accepted)")


@pytest.mark.parametrize("bad, code", [
    ({"statusSize": 2}, "status_unsupported"),
    ({"type": "RevocationList2020Status"}, "status_unsupported"),
    ({"type": None}, "status_unsupported"),
    ({"statusPurpose": None}, "status_entry_invalid"),
    ({"statusListCredential": None}, "status_entry_invalid"),
])
def test_entries_that_cannot_be_checked_fail(server, fetcher, bad, code):
    status_entry = {**entry(server.url("/revocation"), CLEAR), **bad}
    result = check(credential_with(status_entry), fetcher)
    assert (result.status, result.code) == ("failed", code)


def test_an_entry_that_is_not_an_object(fetcher):
    assert check(credential_with("https://badges.test/status/1"), fetcher).code == "status_entry_invalid"


def test_first_failure_is_reported(server, fetcher):
    credential = credential_with(entry(server.url("/revocation"), CLEAR),
                                 entry(server.url("/suspension"), SUSPENDED, "suspension"),
                                 entry(server.url("/revocation"), REVOKED))
    assert check(credential, fetcher).code == "suspended"


def test_published_lists(server, fetcher):
    """The W3C example list is all clear, and 1EdTech's test list has index 23 set."""
    w3c, onedtech = PUBLISHED[0], PUBLISHED[1]
    serve(server, "/w3c", list_credential(encoded_list=w3c["encodedList"]))
    serve(server, "/1edtech", list_credential(encoded_list=onedtech["encodedList"]))
    assert check(credential_with(entry(server.url("/w3c"), 94567)), fetcher).status == "passed"
    assert check(credential_with(entry(server.url("/1edtech"), 23)), fetcher).code == "revoked"
    assert check(credential_with(entry(server.url("/1edtech"), 22)), fetcher).status == "passed"


def test_ttl_is_handed_to_the_cache(server):
    with_ttl = list_credential()
    with_ttl["credentialSubject"]["ttl"] = 300_000
    serve(server, "/ttl", with_ttl)
    fetcher = Fetcher(LOCAL, clock=lambda: NOW)
    for _ in range(3):
        result = check(credential_with(entry(server.url("/ttl"), CLEAR)), fetcher.budget(), ttl_for=fetcher.ttl_for)
        assert result.status == "passed"
    assert server.hits("/ttl") == 1


def test_the_credential_is_not_changed(server, fetcher):
    credential = credential_with(entry(server.url("/revocation"), REVOKED))
    before = copy.deepcopy(credential)
    check(credential, fetcher)
    assert credential == before


def test_a_list_served_at_another_url_is_read_with_a_warning(server, fetcher):
    # Lists behind a CDN or a redirect name another URL. Whether the list is the issuer's own is
    # `verify_list_credential`'s decision (the Verifier requires the credential's issuer: see
    # tests/verifier/test_reference_agreement.py); accepted, the report still says so.
    server.json("/copy", list_credential("revocation"))  # id stays https://badges.test/status/1
    result = check(credential_with(entry(server.url("/copy"), CLEAR)), fetcher)
    assert (result.status, result.code) == ("warning", "status_list_id_mismatch")
    assert "not its URL" in result.message
    result = check(credential_with(entry(server.url("/copy"), CLEAR)), fetcher, verify=bad_proof)
    assert (result.status, result.code) == ("failed", "status_list_invalid")
