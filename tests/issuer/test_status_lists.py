"""Status lists as a verifier elsewhere sees them: the entries in every credential, the signed
lists at /status/<id> with their caching headers, and bits that follow our records."""

from __future__ import annotations

import dataclasses
import random
import re
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from issuer import create_app
from issuer.db import transaction
from issuer.models import Achievement, Credential, StatusEntry, StatusList
from issuer.statuslists import StatusListPolicy
from schemas.result import ResultCreateSchema
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, SUSPENDING, Api, make_token, result_body
from tests.issuer.problems import assert_problem
from verifier.statuslist import MIN_LENGTH_BITS, bit_at, decode_status_list

STATUS_PREFIX = f"{BASE_URL}/status/"


def issue(api, achievement, external_id: str) -> dict:
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def entry_of(credential: dict, purpose: str) -> dict:
    (entry,) = [e for e in credential["credentialStatus"] if e["statusPurpose"] == purpose]
    return entry


def list_path(entry: dict) -> str:
    assert entry["statusListCredential"].startswith(STATUS_PREFIX), entry
    return entry["statusListCredential"].removeprefix(BASE_URL)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def set_status(services, credential_id: str, status: str) -> None:
    """What the lifecycle endpoints do to the status lists: change the record, bump its lists."""
    with services.sessionmaker() as session, transaction(session):
        credential = session.get(Credential, credential_id)
        credential.status = status
        services.status_lists(session).changed([credential])


# --- the entries in every credential -----------------------------------------------------------

def test_every_credential_has_a_revocation_and_a_suspension_entry(api, achievement, services):
    answers = [issue(api, achievement, f"entries-{n}") for n in range(3)]
    with services.sessionmaker() as session:
        for answer in answers:
            credential = answer["credential"]
            held = {
                entry.status_list.purpose: entry
                for entry in session.scalars(select(StatusEntry).where(StatusEntry.credential_id == answer["credential_id"]))
            }
            assert [e["statusPurpose"] for e in credential["credentialStatus"]] == ["revocation", "suspension"]
            for purpose in ("revocation", "suspension"):
                entry = entry_of(credential, purpose)
                position = held[purpose].position
                url = f"{STATUS_PREFIX}{held[purpose].list_id}"
                assert entry == {
                    "id": f"{url}#{position}",
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": purpose,
                    "statusListIndex": str(position),
                    "statusListCredential": url,
                }
                assert re.fullmatch(r"0|[1-9][0-9]*", entry["statusListIndex"])
            # Two lists, one per purpose: a revocation bit and a suspension bit never share a list.
            assert held["revocation"].list_id != held["suspension"].list_id


# --- GET /status/<id> --------------------------------------------------------------------------

def test_status_list_is_a_signed_bitstring_status_list_credential(client, api, achievement, outside_verifier, clock):
    credential = issue(api, achievement, "list-1")["credential"]
    for purpose in ("revocation", "suspension"):
        entry = entry_of(credential, purpose)
        response = client.get(list_path(entry))
        assert response.status_code == 200
        assert response.mimetype == "application/vc+ld+json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        status_list = response.get_json()
        assert status_list["id"] == entry["statusListCredential"]
        assert status_list["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        assert status_list["issuer"] == credential["issuer"]["id"]
        assert status_list["validFrom"] == "2026-11-25T12:00:00Z"
        assert parse_time(status_list["validUntil"]) == clock.now + timedelta(days=1)
        subject = status_list["credentialSubject"]
        assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == purpose
        assert subject["ttl"] == 300_000  # milliseconds
        bits = decode_status_list(subject["encodedList"])
        assert len(bits) * 8 == MIN_LENGTH_BITS and not any(bits)
        assert status_list["proof"]["verificationMethod"] == credential["proof"]["verificationMethod"]

        report = outside_verifier.verify_credential(status_list, check_status=False)
        assert report.verified, report.to_dict()
        assert report.check("issuer").status == "passed"


def test_caching_headers_follow_ttl_and_valid_until(client, api, achievement, clock):
    path = list_path(entry_of(issue(api, achievement, "headers-1")["credential"], "revocation"))
    response = client.get(path)
    assert response.cache_control.public
    assert response.cache_control.max_age == response.get_json()["credentialSubject"]["ttl"] // 1000 == 300
    # A cached copy never outlives the list's own validity.
    assert clock.now + timedelta(seconds=response.cache_control.max_age) <= parse_time(response.get_json()["validUntil"])
    etag, weak = response.get_etag()
    assert etag and not weak

    for if_none_match in (f'"{etag}"', f'W/"{etag}"', "*", f'"other", "{etag}"'):
        cached = client.get(path, headers={"If-None-Match": if_none_match})
        assert cached.status_code == 304, if_none_match
        assert cached.get_data() == b""
        assert cached.get_etag() == (etag, False)
        assert cached.cache_control.max_age == 300 and cached.cache_control.public

    other = client.get(path, headers={"If-None-Match": '"not-the-etag"'})
    assert other.status_code == 200 and other.get_json() == response.get_json()


def test_unchanged_list_is_served_as_stored(client, api, achievement, clock):
    path = list_path(entry_of(issue(api, achievement, "stored-1")["credential"], "revocation"))
    first = client.get(path)
    clock.advance(minutes=30)
    issue(api, achievement, "stored-2")  # a new entry sets no bit: the list has not changed
    clock.advance(hours=2)
    again = client.get(path)
    assert again.get_etag() == first.get_etag()
    assert again.get_json()["proof"]["created"] == first.get_json()["proof"]["created"] == "2026-11-25T12:00:00Z"
    assert again.get_data() == first.get_data()


def test_a_change_is_published_at_the_next_fetch(client, api, achievement, services, outside_verifier, clock):
    answer = issue(api, achievement, "change-1")
    credential = answer["credential"]
    revocation, suspension = entry_of(credential, "revocation"), entry_of(credential, "suspension")
    before = {purpose: client.get(list_path(entry)) for purpose, entry in
              (("revocation", revocation), ("suspension", suspension))}
    assert outside_verifier.verify_credential(credential).verified

    clock.advance(minutes=1)
    set_status(services, answer["credential_id"], "suspended")
    suspended = client.get(list_path(suspension), headers={"If-None-Match": before["suspension"].headers["ETag"]})
    assert suspended.status_code == 200  # the old ETag no longer matches
    assert suspended.get_etag() != before["suspension"].get_etag()
    assert suspended.get_json()["proof"]["created"] == "2026-11-25T12:01:00Z"
    assert bit_at(decode_status_list(suspended.get_json()["credentialSubject"]["encodedList"]),
                  int(suspension["statusListIndex"])) == 1
    revocation_list = client.get(list_path(revocation)).get_json()
    assert not any(decode_status_list(revocation_list["credentialSubject"]["encodedList"]))
    report = outside_verifier.verify_credential(credential)
    assert report.check("status").status == "failed" and report.check("status").code == "suspended"

    clock.advance(minutes=1)
    set_status(services, answer["credential_id"], "revoked")
    revoked = client.get(list_path(revocation)).get_json()
    assert bit_at(decode_status_list(revoked["credentialSubject"]["encodedList"]), int(revocation["statusListIndex"])) == 1
    no_longer_suspended = client.get(list_path(suspension))
    assert not any(decode_status_list(no_longer_suspended.get_json()["credentialSubject"]["encodedList"]))
    report = outside_verifier.verify_credential(credential)
    assert report.check("status").code == "revoked"


def test_list_is_signed_again_before_its_validity_runs_out(client, api, achievement, clock):
    path = list_path(entry_of(issue(api, achievement, "window-1")["credential"], "revocation"))
    first = client.get(path)
    valid_until = parse_time(first.get_json()["validUntil"])
    ttl = timedelta(seconds=first.cache_control.max_age)

    clock.now = valid_until - ttl - timedelta(seconds=1)
    assert client.get(path).get_etag() == first.get_etag()

    # From here a copy cached for a ttl would outlive validUntil: sign a new window.
    clock.now = valid_until - ttl
    renewed = client.get(path)
    assert renewed.get_etag() != first.get_etag()
    document = renewed.get_json()
    assert parse_time(document["validFrom"]) == clock.now
    assert parse_time(document["validUntil"]) == clock.now + timedelta(days=1)
    assert document["credentialSubject"]["encodedList"] == first.get_json()["credentialSubject"]["encodedList"]
    assert clock.now + timedelta(seconds=renewed.cache_control.max_age) <= parse_time(document["validUntil"])


@pytest.mark.parametrize("list_id", [str(uuid.uuid4()), "not-a-list", "0" * 36, "%00", "a" * 5000])
def test_unknown_or_malformed_list_is_a_404_problem(client, api, achievement, list_id):
    issue(api, achievement, "exists-1")  # some lists exist
    assert_problem(client.get(f"/status/{list_id}"), 404, "status_list_not_found")


# --- positions ---------------------------------------------------------------------------------

def test_a_full_list_starts_the_next(services, tmp_path):
    """With a capacity of 8, credentials 1-8 go to the first list of each purpose, 9-16 to the second..."""
    small = dataclasses.replace(services, status_list_policy=StatusListPolicy(capacity=8, purposes=SUSPENDING.purposes))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL},
                     services=small)
    api = Api(app.test_client(), make_token(small))
    assert api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = api.post("/api/v1/issuers/acme/achievements", json=ACHIEVEMENT).get_json()
    credentials = [issue(api, achievement, f"full-{n}")["credential"] for n in range(20)]

    with small.sessionmaker() as session:
        lists = {(sl.purpose, sl.sequence): sl for sl in session.scalars(select(StatusList))}
        assert sorted(lists) == [(p, s) for p in ("revocation", "suspension") for s in (1, 2, 3)]
        for purpose in ("revocation", "suspension"):
            for n, credential in enumerate(credentials):
                url = entry_of(credential, purpose)["statusListCredential"]
                assert url == f"{STATUS_PREFIX}{lists[(purpose, n // 8 + 1)].id}", (purpose, n)
            for sequence, expected in ((1, 8), (2, 8), (3, 4)):
                status_list = lists[(purpose, sequence)]
                positions = list(session.scalars(select(StatusEntry.position).where(StatusEntry.list_id == status_list.id)))
                assert len(positions) == len(set(positions)) == expected == status_list.allocated
                assert all(0 <= p < 8 for p in positions)

    # A list holding 8 credentials is still published at the full length, for herd privacy.
    published = api.client.get(list_path(entry_of(credentials[0], "revocation"))).get_json()
    assert len(decode_status_list(published["credentialSubject"]["encodedList"])) * 8 == MIN_LENGTH_BITS


def issue_many(services, achievement_id: str, count: int, *, per_transaction: int = 500) -> list[str]:
    """`count` credentials recorded through the issuance service directly (no HTTP), in issue order."""
    ids = []
    for start in range(0, count, per_transaction):
        with services.sessionmaker() as session, transaction(session):
            achievement = session.get(Achievement, achievement_id)
            issuance = services.issuance(session)
            for n in range(start, min(start + per_transaction, count)):
                outcome = issuance.record_result(achievement, ResultCreateSchema().load(result_body(f"bulk-{n}")))
                ids.append(outcome.credential.id)
    return ids


def test_published_bits_match_our_records_and_positions_look_random(client, api, achievement, services):
    count = 2000
    credential_ids = issue_many(services, achievement["id"], count)
    chooser = random.Random(20261125)
    revoked = set(chooser.sample(credential_ids, 150))
    suspended = set(chooser.sample([c for c in credential_ids if c not in revoked], 100))
    with services.sessionmaker() as session, transaction(session):
        changed = [session.get(Credential, c) for c in revoked | suspended]
        for credential in changed:
            credential.status = "revoked" if credential.id in revoked else "suspended"
        services.status_lists(session).changed(changed)

    with services.sessionmaker() as session:
        lists = list(session.scalars(select(StatusList)))
        assert sorted(sl.purpose for sl in lists) == ["revocation", "suspension"]
        for status_list in lists:
            entries = list(session.execute(
                select(StatusEntry.credential_id, StatusEntry.position).where(StatusEntry.list_id == status_list.id)
            ))
            assert len(entries) == count == len({p for _, p in entries}) == len({c for c, _ in entries})
            marked = revoked if status_list.purpose == "revocation" else suspended
            expected = bytearray(MIN_LENGTH_BITS // 8)
            for credential_id, position in entries:
                if credential_id in marked:
                    expected[position // 8] |= 0x80 >> (position % 8)

            published = client.get(f"/status/{status_list.id}").get_json()
            bits = decode_status_list(published["credentialSubject"]["encodedList"])
            assert bits == bytes(expected)  # every one of the 131,072 bits
            assert sum(bin(b).count("1") for b in bits) == len(marked)

            # Positions say nothing about the order of issue: spread over the whole list, in no order.
            by_issue = {c: p for c, p in entries}
            positions = [by_issue[c] for c in credential_ids]
            assert min(positions) < MIN_LENGTH_BITS // 10 and max(positions) > MIN_LENGTH_BITS * 9 // 10
            rises = sum(a < b for a, b in zip(positions, positions[1:]))
            assert 0.4 < rises / (count - 1) < 0.6, rises  # about half, as for a random sequence


def test_a_proposed_position_taken_meanwhile_is_drawn_again(api, achievement, services):
    """A single issuance signs with positions it read but did not claim (the lists stay unlocked
    while it signs); one that somebody took meanwhile is replaced once the lists are claimed."""
    taken = issue(api, achievement, "first")["credential_id"]
    with services.sessionmaker() as session:
        issuer = session.get(Achievement, achievement["id"]).issuer
        lists = services.status_lists(session)
        proposal = lists.propose(issuer)
        list_id, position = proposal.positions[0]  # the revocation list's
        # Meanwhile another issuance holds exactly that position.
        with services.sessionmaker() as other, transaction(other):
            other.execute(update(StatusEntry).where(StatusEntry.credential_id == taken, StatusEntry.list_id == list_id)
                          .values(position=position))
        with transaction(session):
            claimed = lists.claim(issuer, proposal)
            claimed_list, claimed_position = claimed.positions[0]
            assert claimed is not proposal and claimed_list == list_id and claimed_position != position
            assert claimed.entries[0]["statusListIndex"] == str(claimed_position)
            # Nothing changed since it was proposed: kept as it is (no second signature).
            assert lists.claim(issuer, again := lists.propose(issuer)) is again
        assert session.get(StatusList, list_id).allocated == 3


def test_a_proposal_in_a_list_filled_meanwhile_goes_to_the_next(services, tmp_path):
    small = dataclasses.replace(services, status_list_policy=StatusListPolicy(capacity=2))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL},
                     services=small)
    api = Api(app.test_client(), make_token(small))
    assert api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = api.post("/api/v1/issuers/acme/achievements", json=ACHIEVEMENT).get_json()
    issue(api, achievement, "first")
    with small.sessionmaker() as session:
        issuer = session.get(Achievement, achievement["id"]).issuer
        lists = small.status_lists(session)
        proposal = lists.propose(issuer)
        issue(api, achievement, "second")  # fills the first list
        with transaction(session):
            claimed = lists.claim(issuer, proposal)
        assert claimed.positions[0][0] != proposal.positions[0][0]
        assert [(sl.sequence, sl.allocated) for sl in session.scalars(select(StatusList).order_by(StatusList.sequence))] \
            == [(1, 2), (2, 1)]
