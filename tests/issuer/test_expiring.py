"""What is about to expire: GET /api/v1/credentials?expiring_within= and `badges expiring`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from issuer.cli import main
from tests.conftest import ACHIEVEMENT, BASE_URL, TEST_KEK, make_token, result_body
from tests.issuer.problems import assert_problem

DID_EARNER = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def new_achievement(api, valid_for: str | None, *, issuer: str = "acme", name: str | None = None) -> str:
    body = {**ACHIEVEMENT, "name": name or f"Valid for {valid_for}", "valid_for": valid_for}
    if valid_for is None:
        del body["valid_for"]
    response = api.post(f"/api/v1/issuers/{issuer}/achievements", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def earn(api, achievement_id: str, external_id: str, **body) -> str:
    response = api.post(f"/api/v1/achievements/{achievement_id}/results", json=result_body(external_id, **body))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["credential_id"]


def expiring(api, query: str) -> list[str]:
    response = api.get(f"/api/v1/credentials?{query}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["next_cursor"] is None
    return [item["id"] for item in response.get_json()["items"]]


# --- the window ----------------------------------------------------------------------------------

def test_the_window_includes_both_ends(api, issuer, clock):
    ten_days = earn(api, new_achievement(api, "P10D"), "a")  # valid until 2026-12-05T12:00:00Z
    assert expiring(api, "expiring_within=P10D") == [ten_days]
    assert expiring(api, "expiring_within=P9DT23H59M59S") == []
    clock.advance(days=10)  # now is its validUntil: it expires this instant
    assert expiring(api, "expiring_within=PT1S") == [ten_days]
    clock.advance(seconds=1)
    assert expiring(api, "expiring_within=P1Y") == []


def test_calendar_durations(api, issuer):
    one_year = earn(api, new_achievement(api, "P1Y"), "a")  # 2027-11-25T12:00:00Z
    assert expiring(api, "expiring_within=P1Y") == [one_year]
    assert expiring(api, "expiring_within=P11M30D") == []
    assert expiring(api, "expiring_within=P12M") == [one_year]


def test_only_credentials_that_may_still_need_renewal(api, issuer, clock):
    soon = new_achievement(api, "P10D")
    active = earn(api, soon, "active", email="active@example.org")
    suspended = earn(api, soon, "suspended", email="suspended@example.org")
    revoked = earn(api, soon, "revoked", email="revoked@example.org")
    renewed = earn(api, soon, "renewed", email="renewed@example.org")
    earn(api, new_achievement(api, None), "never-expires")
    assert api.post(f"/api/v1/credentials/{suspended}/suspend", json={"reason": "x"}).status_code == 200
    assert api.post(f"/api/v1/credentials/{revoked}/revoke", json={"reason": "x"}).status_code == 200
    clock.advance(days=1)
    renewal = earn(api, soon, "renewal", email="renewed@example.org")  # valid until a day after the others

    listed = expiring(api, "expiring_within=P30D")
    assert set(listed[:2]) == {active, suspended} and listed[2] == renewal
    assert renewed not in listed and revoked not in listed
    items = api.get("/api/v1/credentials?expiring_within=P30D").get_json()["items"]
    assert sorted(i["status"] for i in items) == ["active", "active", "suspended"]
    assert all(i["current"] for i in items)


def test_soonest_first_ties_by_id(api, issuer, clock):
    later = earn(api, new_achievement(api, "P20D"), "later")
    soon = new_achievement(api, "P10D")
    ties = sorted(earn(api, soon, f"tie-{i}", email=f"tie-{i}@example.org") for i in range(3))
    clock.advance(hours=1)
    after_ties = earn(api, soon, "after", email="after@example.org")
    assert expiring(api, "expiring_within=P30D") == [*ties, after_ties, later]


def test_without_the_parameter_the_list_is_newest_first(api, issuer, clock):
    """The plain list is unchanged: every credential, newest first, renewed and revoked ones too."""
    soon = new_achievement(api, "P10D")
    first = earn(api, soon, "a")
    clock.advance(days=1)
    second = earn(api, soon, "b")
    assert api.post(f"/api/v1/credentials/{second}/revoke", json={"reason": "x"}).status_code == 200
    assert [i["id"] for i in api.get("/api/v1/credentials").get_json()["items"]] == [second, first]


# --- filters and scoping -------------------------------------------------------------------------

@pytest.fixture
def two_issuers(api, issuer):
    """Acme and Globex each with two achievements valid for ten days, one credential each."""
    assert api.post("/api/v1/issuers", json={"slug": "globex", "name": "Globex", "url": "https://globex.example"}).status_code == 201
    ids = {}
    for slug in ("acme", "globex"):
        for n in (1, 2):
            achievement = new_achievement(api, "P10D", issuer=slug, name=f"{slug} {n}")
            ids[f"{slug}-{n}"] = (achievement, earn(api, achievement, f"{slug}-{n}"))
    return ids


def test_filters_combine(api, two_issuers):
    credential = {key: credential_id for key, (_, credential_id) in two_issuers.items()}
    assert set(expiring(api, "expiring_within=P30D")) == set(credential.values())
    assert set(expiring(api, "expiring_within=P30D&issuer=globex")) == {credential["globex-1"], credential["globex-2"]}
    achievement = two_issuers["acme-2"][0]
    assert expiring(api, f"expiring_within=P30D&achievement_id={achievement}") == [credential["acme-2"]]
    assert expiring(api, f"expiring_within=P1D&achievement_id={achievement}") == []


def test_an_issuer_token_sees_its_own(api, services, two_issuers):
    credential = {key: credential_id for key, (_, credential_id) in two_issuers.items()}
    globex = api.as_token(make_token(services, "globex"))
    assert set(expiring(globex, "expiring_within=P30D")) == {credential["globex-1"], credential["globex-2"]}
    assert_problem(globex.get("/api/v1/credentials?expiring_within=P30D&issuer=acme"), 403, "token_scope")
    # Another issuer's achievement filters to nothing, as it does without the window.
    assert expiring(globex, f"expiring_within=P30D&achievement_id={two_issuers['acme-1'][0]}") == []


# --- paging --------------------------------------------------------------------------------------

@pytest.fixture
def seven_expiring(api, issuer, clock) -> list[str]:
    """Seven credentials about to expire, soonest first: three share one validUntil, four apart."""
    soon = new_achievement(api, "P10D")
    ids = sorted(earn(api, soon, f"tie-{i}", email=f"tie-{i}@example.org") for i in range(3))
    for i in range(4):
        clock.advance(minutes=1)
        ids.append(earn(api, soon, f"apart-{i}", email=f"apart-{i}@example.org"))
    return ids


def walk(api, query: str, limit: int) -> tuple[list[str], list[int]]:
    seen, pages, path = [], [], f"/api/v1/credentials?{query}&limit={limit}"
    while True:
        response = api.get(path)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        pages.append(len(page["items"]))
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            return seen, pages
        assert len(pages) < 10, "the cursor does not advance"
        path = f"/api/v1/credentials?{query}&limit={limit}&cursor={page['next_cursor']}"


@pytest.mark.parametrize("limit, pages", [(2, [2, 2, 2, 1]), (3, [3, 3, 1]), (7, [7]), (200, [7])])
def test_paging_walks_every_credential_once(api, seven_expiring, limit, pages):
    assert walk(api, "expiring_within=P30D", limit) == (seven_expiring, pages)


def test_a_full_last_page_has_no_next_cursor(api, seven_expiring):
    first = api.get("/api/v1/credentials?expiring_within=P30D&limit=6").get_json()
    rest = api.get(f"/api/v1/credentials?expiring_within=P30D&limit=6&cursor={first['next_cursor']}").get_json()
    assert ([i["id"] for i in rest["items"]], rest["next_cursor"]) == (seven_expiring[6:], None)


def test_paging_holds_when_a_listed_credential_changes_between_pages(api, seven_expiring):
    first = api.get("/api/v1/credentials?expiring_within=P30D&limit=3").get_json()
    assert api.post(f"/api/v1/credentials/{seven_expiring[2]}/revoke", json={"reason": "x"}).status_code == 200
    rest = api.get(f"/api/v1/credentials?expiring_within=P30D&limit=10&cursor={first['next_cursor']}").get_json()
    assert [i["id"] for i in rest["items"]] == seven_expiring[3:]


def test_cursors_belong_to_their_order(api, seven_expiring):
    expiring_cursor = api.get("/api/v1/credentials?expiring_within=P30D&limit=2").get_json()["next_cursor"]
    newest_cursor = api.get("/api/v1/credentials?limit=2").get_json()["next_cursor"]
    assert_problem(api.get(f"/api/v1/credentials?cursor={expiring_cursor}"), 422, "validation_failed", fields=["cursor"])
    assert_problem(api.get(f"/api/v1/credentials?expiring_within=P30D&cursor={newest_cursor}"), 422,
                   "validation_failed", fields=["cursor"])


@pytest.mark.parametrize("cursor", [
    "nonsense", "", "2026-12-05T12:00:00.000000Z", "2026-13-05T12:00:00.000000Z_00000000-0000-4000-8000-000000000000",
    "2026-12-05T12:00:00Z_00000000-0000-4000-8000-000000000000", "2026-12-05T12:00:00.000000Z_not-an-id",
    "2026-12-05T12:00:00.000000Z_00000000-0000-4000-8000-000000000000\n", "\x00" * 10,
])
def test_bad_cursors(api, seven_expiring, cursor):
    response = api.get("/api/v1/credentials", query_string={"expiring_within": "P30D", "cursor": cursor})
    if cursor == "":
        assert response.status_code == 200  # an empty cursor is the first page, as without the window
        return
    assert_problem(response, 422, "validation_failed", fields=["cursor"])


def test_a_well_formed_cursor_is_a_position_not_a_credential(api, seven_expiring):
    """A cursor names a place in the order; nothing needs to exist there."""
    between = "2026-12-05T12:02:30.000000Z_00000000-0000-4000-8000-000000000000"
    assert expiring(api, f"expiring_within=P30D&cursor={between}") == seven_expiring[-2:]


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["30d", "P", "P0D", "PT0S", "-P1D", "", "P1001Y", "P99999999999999999999D", "P30D" * 20, "1 month"])
def test_bad_windows_name_the_field(api, issuer, value):
    response = api.get("/api/v1/credentials", query_string={"expiring_within": value})
    assert_problem(response, 422, "validation_failed", fields=["expiring_within"])


def test_the_longest_window(api, issuer):
    one_year = earn(api, new_achievement(api, "P1Y"), "a")
    assert expiring(api, "expiring_within=P1000Y") == [one_year]


def test_the_parameter_is_described_in_the_openapi_document(client):
    operation = client.get("/api/openapi.json").get_json()["paths"]["/api/v1/credentials"]["get"]
    [parameter] = [p for p in operation["parameters"] if p["name"] == "expiring_within"]
    assert parameter["in"] == "query" and "ISO 8601" in parameter["description"]
    assert "expiring_within" in operation["summary"]


# --- the command ---------------------------------------------------------------------------------

class Command:
    """`badges expiring` on the tests' database; it reads the real clock, as in production."""

    def __init__(self, database_url: str, tmp_path):
        self.env = {"BADGES_INSTANCE_PATH": str(tmp_path / "cli-instance"), "BADGES_BASE_URL": BASE_URL,
                    "BADGES_DATABASE_URL": database_url, "BADGES_KEY_ENCRYPTION_KEY": TEST_KEK}

    def run(self, *args):
        return CliRunner().invoke(main, ["expiring", *args], env=self.env, catch_exceptions=False)

    def ok(self, *args) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.output

    def fails(self, *args) -> str:
        result = self.run(*args)
        assert result.exit_code != 0, result.output
        assert "Traceback" not in result.output
        return result.output


@pytest.fixture
def command(database_url, tmp_path, clock, issuer):
    # Issue on the real clock, so that the command's "now" is a moment after the issue.
    clock.now = datetime.now(timezone.utc)
    return Command(database_url, tmp_path)


@pytest.fixture
def issued(api, command, clock):
    """acme: an email earner's credential for 10 days, a DID earner's for 20, one for a year;
    globex: one for 5 days."""
    assert api.post("/api/v1/issuers", json={"slug": "globex", "name": "Globex", "url": "https://globex.example"}).status_code == 201
    ten = earn(api, new_achievement(api, "P10D", name="Python\tBasics\n(10 days)"), "a")
    twenty = earn(api, new_achievement(api, "P20D", name="SQL"), "b", email=None)
    earn(api, new_achievement(api, "P1Y", name="Later"), "c")
    five = earn(api, new_achievement(api, "P5D", issuer="globex", name="Globex badge"), "d", email="grace@example.org")
    return {"ten": ten, "twenty": twenty, "five": five, "issued_at": clock.now}


def until(issued_at: datetime, days: int) -> str:
    return (issued_at + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_command_table(command, issued):
    lines = command.ok("--within", "30d").splitlines()
    assert lines[0].split() == ["id", "earner", "achievement", "valid", "until", "days", "left"]
    rows = [line.split("  ") for line in lines[1:]]
    cells = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert cells == [
        [issued["five"], "grace@example.org", "Globex badge", until(issued["issued_at"], 5), "5"],
        [issued["ten"], "ada.lovelace@example.org", "Python Basics (10 days)", until(issued["issued_at"], 10), "10"],
        [issued["twenty"], DID_EARNER, "SQL", until(issued["issued_at"], 20), "20"],
    ]
    # The columns line up: a row's "valid until" starts where the header's does.
    assert {line.index(row[3]) for line, row in zip(lines[1:], cells)} == {lines[0].index("valid until")}


def test_command_json(command, issued):
    rows = json.loads(command.ok("--within", "P30D", "--issuer", "acme", "--json"))
    assert rows == [
        {"id": issued["ten"], "issuer": "acme", "earner": "ada.lovelace@example.org",
         "achievement": "Python Basics (10 days)", "valid_until": until(issued["issued_at"], 10), "days_left": 10},
        {"id": issued["twenty"], "issuer": "acme", "earner": DID_EARNER, "achievement": "SQL",
         "valid_until": until(issued["issued_at"], 20), "days_left": 20},
    ]


@pytest.mark.parametrize("within, expected", [("12h", []), ("6d", ["five"]), ("2w", ["five", "ten"]),
                                              ("P15D", ["five", "ten"]), ("p3w", ["five", "ten", "twenty"])])
def test_command_windows(command, issued, within, expected):
    assert [row["id"] for row in json.loads(command.ok("--within", within, "--json"))] == [issued[k] for k in expected]


def test_command_with_nothing_to_list(command, issued):
    assert command.ok("--within", "1d").strip() == "no credential expires within 1d"
    assert json.loads(command.ok("--within", "1d", "--json")) == []


@pytest.mark.parametrize("within, message", [
    ("30", "not a number of hours, days or weeks"), ("30x", "not a number of hours, days or weeks"),
    ("", "not a number of hours, days or weeks"), ("0d", "longer than zero"), ("P0D", "longer than zero"),
    ("P", "Not an ISO 8601 duration"), ("999999w", "too long"), ("P1001Y", "too long"),
])
def test_command_refuses_bad_windows(command, within, message):
    assert message in command.fails("--within", within)


def test_command_needs_a_window_and_a_known_issuer(command):
    assert "--within" in command.fails()
    assert "there is no issuer 'nobody'" in command.fails("--within", "30d", "--issuer", "nobody")
