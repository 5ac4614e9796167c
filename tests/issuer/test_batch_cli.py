"""`badges results import FILE.csv --achievement ID` on a real instance folder, database and CSV file."""

from __future__ import annotations

from sqlalchemy import func, select

from issuer.models import AssessmentResult, AuditEntry, Credential
from tests.conftest import ACHIEVEMENT
from tests.issuer.test_cli import dispose, instance, last_line  # noqa: F401  (instance is a fixture)

HEADER = "external_id,email,recipient_id,name,score,completed_at,evidence_narrative\n"
DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def setup_achievement(instance) -> str:
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    token = last_line(instance.ok("token", "create").output)
    app = instance.app()
    try:
        answer = app.test_client().post("/api/v1/issuers/x/achievements", headers={"Authorization": f"Bearer {token}"},
                                        json=ACHIEVEMENT)
        assert answer.status_code == 201, answer.json
        return answer.json["id"]
    finally:
        dispose(app)


def counts(instance) -> tuple[int, int]:
    return (instance.query(select(func.count()).select_from(AssessmentResult))[0][0],
            instance.query(select(func.count()).select_from(Credential))[0][0])


def test_import_records_rows_and_summarises(instance, tmp_path):
    achievement_id = setup_achievement(instance)
    rows = "".join(f"cli-{n},earner{n}@example.org,,,{70 + n},2026-11-25T11:00:00Z,\n" for n in range(30))
    path = tmp_path / "cohort.csv"
    path.write_text(HEADER + rows + f"cli-did,,{DID},Ada,95,2026-11-25T11:00:00Z,\"Built a compiler, twice\"\n"
                    "cli-low,low@example.org,,,20,2026-11-25T11:00:00Z,\n", encoding="utf-8")
    result = instance.ok("results", "import", str(path), "--achievement", achievement_id)
    assert last_line(result.output) == "32 rows: 31 issued, 1 not passed, 0 replayed, 0 failed"
    assert counts(instance) == (32, 31)
    actors = instance.query(select(AuditEntry.actor, func.count()).where(AuditEntry.action == "credential.issue")
                            .group_by(AuditEntry.actor))
    assert [tuple(a) for a in actors] == [("cli", 31)]

    # The same file again: every row a replay, nothing new.
    again = instance.ok("results", "import", str(path), "--achievement", achievement_id)
    assert last_line(again.output) == "32 rows: 0 issued, 0 not passed, 32 replayed, 0 failed"
    assert counts(instance) == (32, 31)


def test_failed_rows_are_named_and_exit_non_zero(instance, tmp_path):
    achievement_id = setup_achievement(instance)
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER + "ok-1,a@example.org,,,80,2026-11-25T11:00:00Z,\n"
                    "bad-score,b@example.org,,,lots,2026-11-25T11:00:00Z,\n"
                    "both,c@example.org,did:key:z6Mk,,80,2026-11-25T11:00:00Z,\n"
                    "ok-2,d@example.org,,,90,2026-11-25T11:00:00Z,\n", encoding="utf-8")
    result = instance.fails("results", "import", str(path), "--achievement", achievement_id)
    assert result.exit_code == 1
    assert "row 3 (bad-score): score: Not a number." in result.output
    assert "row 4 (both): recipient:" in result.output
    assert last_line(result.output) == "4 rows: 2 issued, 0 not passed, 0 replayed, 2 failed"
    assert counts(instance) == (2, 2)


def test_atomic_import_records_nothing_when_a_row_fails(instance, tmp_path):
    achievement_id = setup_achievement(instance)
    path = tmp_path / "atomic.csv"
    path.write_text(HEADER + "ok-1,a@example.org,,,80,2026-11-25T11:00:00Z,\n"
                    "too-high,b@example.org,,,101,2026-11-25T11:00:00Z,\n", encoding="utf-8")
    result = instance.fails("results", "import", str(path), "--achievement", achievement_id, "--atomic")
    assert "row 3 (too-high): score: The score is above this achievement's maximum of 100." in result.output
    assert "none was recorded" in result.output
    assert counts(instance) == (0, 0)


def test_unreadable_files_and_unknown_achievements(instance, tmp_path):
    achievement_id = setup_achievement(instance)
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("external_id,mail,score,completed_at\n", encoding="utf-8")
    assert "unknown column 'mail'" in instance.fails("results", "import", str(bad_header), "--achievement",
                                                       achievement_id).output
    not_utf8 = tmp_path / "latin1.csv"
    not_utf8.write_bytes(HEADER.encode() + "é,a@example.org,,,80,2026-11-25T11:00:00Z,\n".encode("latin-1"))
    assert "not UTF-8" in instance.fails("results", "import", str(not_utf8), "--achievement", achievement_id).output
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "ok-1,a@example.org,,,80,2026-11-25T11:00:00Z,\n", encoding="utf-8")
    assert "there is no achievement" in instance.fails("results", "import", str(good), "--achievement", "nope").output
    assert instance.fails("results", "import", str(tmp_path / "missing.csv"), "--achievement", achievement_id).exit_code == 2
    assert counts(instance) == (0, 0)
