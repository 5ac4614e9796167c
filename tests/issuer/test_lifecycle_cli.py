"""`badges credential revoke|suspend|unsuspend|reissue` as an operator runs them, on a real
instance folder and database; the result is checked through the API and the database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from issuer.models import AuditEntry, Credential
from tests.conftest import ACHIEVEMENT, result_body
from tests.issuer.test_cli import dispose, instance, last_line  # noqa: F401  (instance is a fixture)

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def issued(instance):
    """Three credentials of issuer x, issued through the API of the same instance: their ids.
    The instance is configured with suspension (opt-in), which these commands exercise."""
    instance.env["BADGES_STATUS_PURPOSES"] = "revocation,suspension"
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    token = last_line(instance.ok("token", "create").output)
    app = instance.app()
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        achievement = client.post("/api/v1/issuers/x/achievements", headers=headers, json=ACHIEVEMENT).json
        ids = []
        for n in range(3):
            answer = client.post(f"/api/v1/achievements/{achievement['id']}/results", headers=headers,
                                 json=result_body(f"cli-{n}", score=80))
            assert answer.status_code == 201, answer.json
            ids.append(answer.json["credential_id"])
    finally:
        dispose(app)
    return ids


def statuses(instance, ids) -> list[tuple]:
    rows = dict((row[0], tuple(row[1:])) for row in instance.query(
        select(Credential.id, Credential.status, Credential.status_reason).where(Credential.id.in_(ids))))
    return [rows[i] for i in ids]


def lifecycle_entries(instance) -> list[tuple]:
    return [tuple(row) for row in instance.query(
        select(AuditEntry.action, AuditEntry.actor, AuditEntry.token_id, AuditEntry.subject_id, AuditEntry.reason)
        .where(AuditEntry.action.in_(["credential.revoke", "credential.suspend", "credential.unsuspend",
                                      "credential.reissue"]))
        .order_by(AuditEntry.id))]


def test_suspend_unsuspend_revoke(instance, issued):
    first = issued[0]
    assert last_line(instance.ok("credential", "suspend", first, "--reason", "under review").output) == f"suspended {first}"
    assert statuses(instance, [first]) == [("suspended", "under review")]
    assert last_line(instance.ok("credential", "unsuspend", first, "--reason", "cleared").output) == f"unsuspended {first}"
    assert statuses(instance, [first]) == [("active", "cleared")]
    assert last_line(instance.ok("credential", "revoke", first, "--reason", "fraud").output) == f"revoked {first}"
    assert statuses(instance, [first]) == [("revoked", "fraud")]
    assert lifecycle_entries(instance) == [
        ("credential.suspend", "cli", None, first, "under review"),
        ("credential.unsuspend", "cli", None, first, "cleared"),
        ("credential.revoke", "cli", None, first, "fraud"),
    ]


def test_refusals_exit_non_zero_and_change_nothing(instance, issued):
    first = issued[0]
    instance.ok("credential", "revoke", first, "--reason", "fraud")
    for command in (["revoke"], ["suspend"], ["unsuspend"], ["reissue"]):
        result = instance.fails("credential", *command, first, "--reason", "again")
        assert f"credential {first} is revoked" in result.output
    assert "is active" in instance.fails("credential", "unsuspend", issued[1], "--reason", "x").output
    assert statuses(instance, issued) == [("revoked", "fraud"), ("active", None), ("active", None)]
    assert len(lifecycle_entries(instance)) == 1


@pytest.mark.parametrize("command", ["revoke", "suspend", "unsuspend", "reissue"])
@pytest.mark.parametrize("credential_id", [UNKNOWN, "nope"])
def test_unknown_credential(instance, command, credential_id):
    instance.ok("db", "upgrade")
    result = instance.fails("credential", command, credential_id, "--reason", "x")
    assert f"there is no credential {credential_id!r}" in result.output


@pytest.mark.parametrize("command", ["revoke", "suspend", "unsuspend", "reissue"])
def test_reason_is_required_and_not_blank(instance, issued, command):
    assert "--reason" in instance.fails("credential", command, issued[0]).output
    assert "reason" in instance.fails("credential", command, issued[0], "--reason", "  ").output
    assert "reason" in instance.fails("credential", command, issued[0], "--reason", "r" * 1001).output
    assert statuses(instance, [issued[0]]) == [("active", None)]


def test_revoke_several_all_or_nothing(instance, issued):
    instance.ok("credential", "revoke", issued[2], "--reason", "fraud")
    # One of them is revoked already, another unknown: each is named, and nothing is revoked.
    result = instance.fails("credential", "revoke", issued[0], issued[2], UNKNOWN, "--reason", "cohort withdrawn")
    assert "nothing was revoked" in result.output and UNKNOWN in result.output
    result = instance.fails("credential", "revoke", issued[0], issued[2], "--reason", "cohort withdrawn")
    assert "nothing was revoked" in result.output and issued[2] in result.output and f"{issued[0]}:" not in result.output
    assert statuses(instance, issued[:2]) == [("active", None), ("active", None)]
    assert "only once" in instance.fails("credential", "revoke", issued[0], issued[0], "--reason", "x").output

    result = instance.ok("credential", "revoke", issued[0], issued[1], "--reason", "cohort withdrawn")
    assert result.output.splitlines() == [f"revoked {issued[0]}", f"revoked {issued[1]}"]
    assert statuses(instance, issued) == [("revoked", "cohort withdrawn"), ("revoked", "cohort withdrawn"),
                                          ("revoked", "fraud")]
    assert [e[1:] for e in lifecycle_entries(instance)[1:]] == [
        ("cli", None, issued[0], "cohort withdrawn"), ("cli", None, issued[1], "cohort withdrawn")]


def test_reissue_prints_the_new_id(instance, issued):
    old = issued[0]
    new = last_line(instance.ok("credential", "reissue", old, "--reason", "score mis-keyed", "--score", "91.5").output)
    rows = instance.query(select(Credential.id, Credential.status, Credential.status_reason, Credential.supersedes_id,
                                 Credential.superseded_by_id, Credential.document).where(Credential.id.in_([old, new])))
    by_id = {row[0]: row for row in rows}
    assert by_id[old][1:5] == ("revoked", "superseded", None, new)
    assert by_id[new][1:5] == ("active", None, old, None)
    document = by_id[new][5]
    document = document if isinstance(document, dict) else json.loads(document)
    assert document["credentialSubject"]["result"][0]["value"] == "91.5"
    assert lifecycle_entries(instance) == [("credential.reissue", "cli", None, old, "score mis-keyed")]


@pytest.mark.parametrize(("score", "message"), [
    ("abc", "--score must be a number"),
    ("1e3", "--score must be a number"),
    ("101", "maximum"),
    ("12", "passing score"),
    ("80.12345", "decimal places"),
])
def test_reissue_refuses_a_bad_score(instance, issued, score, message):
    result = instance.fails("credential", "reissue", issued[0], "--reason", "x", "--score", score)
    assert message in result.output
    assert statuses(instance, [issued[0]]) == [("active", None)]
