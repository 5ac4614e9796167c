"""Every bad input gets a clear 4xx problem+json answer with a stable code, names the bad fields,
leaks no internals, and leaves the database exactly as it was."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ACHIEVEMENT, ISSUER, result_body
from tests.issuer.problems import assert_no_internals, assert_problem, row_counts

DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
MIB = 1024 * 1024


@pytest.fixture
def before(services, issuer, achievement):
    """Row counts once the issuer and its achievement exist: every test below must leave them so."""
    return row_counts(services)


def results_path(achievement) -> str:
    return f"/api/v1/achievements/{achievement['id']}/results"


def with_fields(base: dict, **changes) -> dict:
    """`base` with fields replaced; a value of `...` removes the field."""
    body = {**base, **changes}
    return {k: v for k, v in body.items() if v is not ...}


def post_raw(api, path: str, data, content_type: str | None = "application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return api.post(path, data=data, headers=headers)


# --- the body as a whole: media type, syntax, shape, size, depth -----------------------------

def post_paths(achievement) -> list[str]:
    return ["/api/v1/issuers", "/api/v1/issuers/acme/achievements", results_path(achievement), "/credentials/issue"]


@pytest.mark.parametrize("raw", [
    b'{"external_id": "a-1", ',
    b"{'external_id': 'a-1'}",
    b'{"external_id": "a-1",}',
    b"",
    b"   ",
    b"\xff\xfe{}",  # not UTF-8
    b'{"external_id": "a-1"} trailing',
], ids=["truncated", "single-quotes", "trailing-comma", "empty", "blank", "not-utf8", "trailing-garbage"])
def test_malformed_json(api, achievement, before, services, raw):
    for path in post_paths(achievement):
        assert_problem(post_raw(api, path, raw), 400, "malformed_json")
    assert row_counts(services) == before


@pytest.mark.parametrize("value", [[], [result_body()], "a string", 42, None, True],
                         ids=["empty-array", "array-of-object", "string", "number", "null", "boolean"])
def test_body_must_be_an_object(api, achievement, before, services, value):
    for path in post_paths(achievement):
        body = assert_problem(post_raw(api, path, json.dumps(value)), 400, "malformed_json")
        assert "object" in body["detail"]
    assert row_counts(services) == before


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", None,
], ids=["text", "form", "multipart", "xml", "none"])
def test_wrong_content_type(api, achievement, before, services, content_type):
    for path, body in [("/api/v1/issuers", {**ISSUER, "slug": "other"}),
                       ("/api/v1/issuers/acme/achievements", ACHIEVEMENT),
                       (results_path(achievement), result_body())]:
        response = post_raw(api, path, json.dumps(body), content_type)
        assert_problem(response, 415, "unsupported_media_type")
    assert row_counts(services) == before


def test_json_suffix_media_types_are_accepted(api, achievement, services, before):
    response = post_raw(api, results_path(achievement), json.dumps(result_body()), "application/ld+json; charset=utf-8")
    assert response.status_code == 201, response.get_json()
    assert row_counts(services)["credentials"] == before["credentials"] + 1


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals(api, achievement, before, services, literal):
    raw = json.dumps(result_body()).replace('"score": 85', f'"score": {literal}')
    assert literal in raw
    body = assert_problem(post_raw(api, results_path(achievement), raw), 400, "malformed_json")
    assert literal in body["detail"]
    raw = json.dumps(ACHIEVEMENT).replace('"max_score": 100', f'"max_score": {literal}')
    assert_problem(post_raw(api, "/api/v1/issuers/acme/achievements", raw), 400, "malformed_json")
    assert row_counts(services) == before


def test_number_overflowing_to_infinity_is_refused_as_json(api, achievement, before, services):
    """1e400 is JSON syntax, but no double holds it (I-JSON): refused before any field is read."""
    raw = json.dumps(result_body()).replace('"score": 85', '"score": 1e400')
    body = assert_problem(post_raw(api, results_path(achievement), raw), 400, "malformed_json")
    assert "1e400" in body["detail"] and "out of range" in body["detail"]
    raw = json.dumps(ACHIEVEMENT).replace('"max_score": 100', '"max_score": 1e400')
    assert_problem(post_raw(api, "/api/v1/issuers/acme/achievements", raw), 400, "malformed_json")
    assert row_counts(services) == before


def test_oversized_body(api, app, achievement, before, services):
    assert app.config["MAX_CONTENT_LENGTH"] == MIB
    padding = "x" * MIB
    for path in post_paths(achievement):
        raw = json.dumps({**result_body(), "external_id": padding})
        assert len(raw) > MIB
        body = assert_problem(post_raw(api, path, raw), 413, "payload_too_large")
        assert str(MIB) in body["detail"]
    assert row_counts(services) == before


def test_body_just_under_the_limit_is_read(api, achievement, before, services):
    """Not refused for its size: read, then refused for its external_id being too long."""
    body = result_body(external_id="x" * (MIB - 500))
    assert len(json.dumps(body)) < MIB
    assert_problem(api.post(results_path(achievement), json=body), 422, "validation_failed", fields=["external_id"])
    assert row_counts(services) == before


def nested(levels: int) -> dict:
    """A body whose JSON nests `levels` deep, counting the top-level object as 1."""
    return {**result_body(), "evidence": json.loads("[" * (levels - 1) + "]" * (levels - 1))}


def test_json_nested_deeper_than_64(api, achievement, before, services):
    raw = json.dumps(nested(65))
    assert_problem(post_raw(api, results_path(achievement), raw), 400, "json_too_deep")
    assert_problem(post_raw(api, "/api/v1/issuers", raw), 400, "json_too_deep")
    assert row_counts(services) == before


def test_json_nested_64_deep_reaches_validation(api, achievement, before, services):
    raw = json.dumps(nested(64))
    assert_problem(post_raw(api, results_path(achievement), raw), 422, "validation_failed", fields=["evidence"])
    assert row_counts(services) == before


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_json_nested_far_too_deep(api, achievement, before, services, levels):
    """Deeper than the parser's own recursion limit is still 'too deep', not a parser message."""
    raw = '{"evidence": ' + "[" * levels + "]" * levels + "}"
    assert len(raw) < MIB
    assert_problem(post_raw(api, results_path(achievement), raw), 400, "json_too_deep")
    assert row_counts(services) == before


# --- POST /api/v1/achievements/<id>/results: fields -----------------------------------------

BASE_RESULT = result_body("bad-1")

RESULT_CASES = {
    "unknown-fields": (with_fields(BASE_RESULT, grade="A", passed=True), ["grade", "passed"]),
    "unknown-recipient-field": (with_fields(BASE_RESULT, recipient={"email": "ada@example.org", "phone": "1"}),
                                ["recipient.phone"]),
    "unknown-evidence-field": (with_fields(BASE_RESULT, evidence=[{"id": "https://lms.example/1", "size": 3}]),
                               ["evidence.0.size"]),
    "score-word": (with_fields(BASE_RESULT, score="eighty-five"), ["score"]),
    "score-numeric-string": (with_fields(BASE_RESULT, score="85"), ["score"]),
    "score-object": (with_fields(BASE_RESULT, score={"value": 85}), ["score"]),
    "score-array": (with_fields(BASE_RESULT, score=[85]), ["score"]),
    "score-boolean": (with_fields(BASE_RESULT, score=True), ["score"]),
    "score-null": (with_fields(BASE_RESULT, score=None), ["score"]),
    "score-negative": (with_fields(BASE_RESULT, score=-1), ["score"]),
    "score-nan-string": (with_fields(BASE_RESULT, score="NaN"), ["score"]),
    "external-id-number": (with_fields(BASE_RESULT, external_id=17), ["external_id"]),
    "external-id-empty": (with_fields(BASE_RESULT, external_id=""), ["external_id"]),
    "external-id-too-long": (with_fields(BASE_RESULT, external_id="x" * 256), ["external_id"]),
    "recipient-string": (with_fields(BASE_RESULT, recipient="ada@example.org"), ["recipient"]),
    "recipient-name-boolean": (with_fields(BASE_RESULT, recipient={"email": "ada@example.org", "name": True}),
                               ["recipient.name"]),
    "recipient-email-and-id": (with_fields(BASE_RESULT, recipient={"email": "ada@example.org", "id": DID}),
                               ["recipient._schema"]),
    "recipient-neither": (with_fields(BASE_RESULT, recipient={"name": "Ada Lovelace"}), ["recipient._schema"]),
    "recipient-empty": (with_fields(BASE_RESULT, recipient={}), ["recipient._schema"]),
    "recipient-bad-email": (with_fields(BASE_RESULT, recipient={"email": "ada at example"}), ["recipient.email"]),
    "recipient-did-no-identifier": (with_fields(BASE_RESULT, recipient={"id": "did:key:"}), ["recipient.id"]),
    "recipient-did-one-part": (with_fields(BASE_RESULT, recipient={"id": "did:example"}), ["recipient.id"]),
    "recipient-did-uppercase-method": (with_fields(BASE_RESULT, recipient={"id": "did:KEY:z6Mk"}), ["recipient.id"]),
    "recipient-did-space": (with_fields(BASE_RESULT, recipient={"id": "did:key:z6Mk abc"}), ["recipient.id"]),
    "recipient-url-not-did": (with_fields(BASE_RESULT, recipient={"id": "https://ada.example"}), ["recipient.id"]),
    "recipient-did-trailing-newline": (with_fields(BASE_RESULT, recipient={"id": DID + "\n"}), ["recipient.id"]),
    "completed-at-naive": (with_fields(BASE_RESULT, completed_at="2026-11-25T11:00:00"), ["completed_at"]),
    "completed-at-date-only": (with_fields(BASE_RESULT, completed_at="2026-11-25"), ["completed_at"]),
    "completed-at-word": (with_fields(BASE_RESULT, completed_at="yesterday"), ["completed_at"]),
    "completed-at-epoch": (with_fields(BASE_RESULT, completed_at=1795604400), ["completed_at"]),
    "evidence-empty-object": (with_fields(BASE_RESULT, evidence=[{}]), ["evidence.0._schema"]),
    "evidence-all-null": (with_fields(BASE_RESULT, evidence=[{"id": None, "narrative": None}]),
                          ["evidence.0._schema"]),
    "evidence-object-not-list": (with_fields(BASE_RESULT, evidence={"id": "https://lms.example/1"}), ["evidence"]),
    "evidence-not-http-url": (with_fields(BASE_RESULT, evidence=[{"id": "javascript:alert(1)"}]), ["evidence.0.id"]),
    "missing-everything": ({}, ["external_id", "recipient", "score", "completed_at"]),
    "missing-external-id": (with_fields(BASE_RESULT, external_id=...), ["external_id"]),
    "missing-recipient": (with_fields(BASE_RESULT, recipient=...), ["recipient"]),
    "missing-score": (with_fields(BASE_RESULT, score=...), ["score"]),
    "missing-completed-at": (with_fields(BASE_RESULT, completed_at=...), ["completed_at"]),
}


@pytest.mark.parametrize("body, fields", RESULT_CASES.values(), ids=RESULT_CASES.keys())
def test_bad_result(api, achievement, before, services, body, fields):
    problem = assert_problem(api.post(results_path(achievement), json=body), 422, "validation_failed", fields=fields)
    if body:  # only the fields at fault are named
        assert set(problem["errors"]) == {f.split(".")[0] for f in fields}, problem["errors"]
    assert row_counts(services) == before


def test_score_above_max_score(api, achievement, before, services):
    problem = assert_problem(api.post(results_path(achievement), json=result_body(score=100.01)), 422,
                             "validation_failed", fields=["score"])
    assert "100" in problem["errors"]["score"][0]
    assert row_counts(services) == before  # not even a failed result is kept


@pytest.mark.parametrize("completed_at", ["2026-11-25T12:06:00Z", "2026-11-25T14:30:00+02:00", "2027-01-01T00:00:00Z"])
def test_completed_at_in_the_future(api, achievement, before, services, completed_at):
    problem = assert_problem(api.post(results_path(achievement), json=result_body(completed_at=completed_at)), 422,
                             "validation_failed", fields=["completed_at"])
    assert set(problem["errors"]) == {"completed_at"}
    assert row_counts(services) == before


def test_score_and_time_errors_are_named_together(api, achievement, before, services):
    body = result_body(score=101, completed_at="2027-01-01T00:00:00Z")
    assert_problem(api.post(results_path(achievement), json=body), 422, "validation_failed",
                   fields=["score", "completed_at"])
    assert row_counts(services) == before


def test_completion_time_with_offset_in_the_past_is_accepted(api, achievement, before, services):
    """13:00+02:00 is 11:00Z, an hour before the test clock: not in the future."""
    response = api.post(results_path(achievement), json=result_body(completed_at="2026-11-25T13:00:00+02:00"))
    assert response.status_code == 201, response.get_json()
    assert row_counts(services)["credentials"] == before["credentials"] + 1


# --- POST /api/v1/issuers/<slug>/achievements -----------------------------------------------

ACHIEVEMENT_CASES = {
    "unknown-fields": (with_fields(ACHIEVEMENT, points=10, badge_class="x"), ["points", "badge_class"]),
    "unknown-criteria-field": (with_fields(ACHIEVEMENT, criteria={"narrative": "Pass.", "url": "https://a.example"}),
                               ["criteria.url"]),
    "name-boolean": (with_fields(ACHIEVEMENT, name=True), ["name"]),
    "name-empty": (with_fields(ACHIEVEMENT, name=""), ["name"]),
    "description-number": (with_fields(ACHIEVEMENT, description=3), ["description"]),
    "criteria-string": (with_fields(ACHIEVEMENT, criteria="Pass the exam."), ["criteria"]),
    "criteria-without-narrative": (with_fields(ACHIEVEMENT, criteria={}), ["criteria.narrative"]),
    "passing-score-word": (with_fields(ACHIEVEMENT, passing_score="seventy"), ["passing_score"]),
    "passing-score-object": (with_fields(ACHIEVEMENT, passing_score={"min": 70}), ["passing_score"]),
    "passing-score-negative": (with_fields(ACHIEVEMENT, passing_score=-1), ["passing_score"]),
    "max-score-zero": (with_fields(ACHIEVEMENT, passing_score=0, max_score=0), ["max_score"]),
    "max-score-boolean": (with_fields(ACHIEVEMENT, max_score=True), ["max_score"]),
    "passing-above-max": (with_fields(ACHIEVEMENT, passing_score=101, max_score=100), ["passing_score"]),
    "valid-for-words": (with_fields(ACHIEVEMENT, valid_for="1 year"), ["valid_for"]),
    "valid-for-zero": (with_fields(ACHIEVEMENT, valid_for="P0D"), ["valid_for"]),
    "valid-for-zero-time": (with_fields(ACHIEVEMENT, valid_for="PT0S"), ["valid_for"]),
    "valid-for-negative": (with_fields(ACHIEVEMENT, valid_for="-P1Y"), ["valid_for"]),
    "valid-for-bare-p": (with_fields(ACHIEVEMENT, valid_for="P"), ["valid_for"]),
    "valid-for-number": (with_fields(ACHIEVEMENT, valid_for=365), ["valid_for"]),
    "achievement-type-unknown": (with_fields(ACHIEVEMENT, achievement_type="Trophy"), ["achievement_type"]),
    "achievement-type-lowercase": (with_fields(ACHIEVEMENT, achievement_type="badge"), ["achievement_type"]),
    "achievement-type-empty-extension": (with_fields(ACHIEVEMENT, achievement_type="ext:"), ["achievement_type"]),
    "achievement-type-extension-space": (with_fields(ACHIEVEMENT, achievement_type="ext:Gold Star"),
                                         ["achievement_type"]),
    "tags-string": (with_fields(ACHIEVEMENT, tags="python"), ["tags"]),
    "tag-empty": (with_fields(ACHIEVEMENT, tags=["python", ""]), ["tags.1"]),
    "alignment-bad-url": (with_fields(ACHIEVEMENT, alignments=[{"target_name": "X", "target_url": "esco/skill"}]),
                          ["alignments.0.target_url"]),
    "alignment-missing-name": (with_fields(ACHIEVEMENT, alignments=[{"target_url": "https://esco.example/s"}]),
                               ["alignments.0.target_name"]),
    "image-not-http": (with_fields(ACHIEVEMENT, image="ftp://acme.example/badge.png"), ["image"]),
    "missing-everything": ({}, ["name", "description", "criteria", "passing_score", "max_score"]),
    "missing-passing-score": (with_fields(ACHIEVEMENT, passing_score=...), ["passing_score"]),
    "missing-max-score": (with_fields(ACHIEVEMENT, max_score=...), ["max_score"]),
}


@pytest.mark.parametrize("body, fields", ACHIEVEMENT_CASES.values(), ids=ACHIEVEMENT_CASES.keys())
def test_bad_achievement(api, before, services, body, fields):
    problem = assert_problem(api.post("/api/v1/issuers/acme/achievements", json=body), 422, "validation_failed",
                             fields=fields)
    if body:
        assert set(problem["errors"]) == {f.split(".")[0] for f in fields}, problem["errors"]
    assert row_counts(services) == before


@pytest.mark.parametrize("valid_for", ["P1Y", "P6M15D", "PT12H", "P2W"])
def test_good_durations_are_accepted(api, before, services, valid_for):
    response = api.post("/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "valid_for": valid_for})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["valid_for"] == valid_for


# --- POST /api/v1/issuers ----------------------------------------------------------------------

ISSUER_CASES = {
    "unknown-fields": (with_fields(ISSUER, slug="other", password="x", admin=True), ["password", "admin"]),
    "slug-uppercase": (with_fields(ISSUER, slug="Acme2"), ["slug"]),
    "slug-leading-hyphen": (with_fields(ISSUER, slug="-acme"), ["slug"]),
    "slug-trailing-hyphen": (with_fields(ISSUER, slug="acme-"), ["slug"]),
    "slug-space": (with_fields(ISSUER, slug="ac me"), ["slug"]),
    "slug-path": (with_fields(ISSUER, slug="acme/../x"), ["slug"]),
    "slug-dot": (with_fields(ISSUER, slug="acme.example"), ["slug"]),
    "slug-too-long": (with_fields(ISSUER, slug="a" * 65), ["slug"]),
    "slug-empty": (with_fields(ISSUER, slug=""), ["slug"]),
    "slug-newline": (with_fields(ISSUER, slug="acme2\n"), ["slug"]),
    "slug-number": (with_fields(ISSUER, slug=7), ["slug"]),
    "name-boolean": (with_fields(ISSUER, slug="other", name=False), ["name"]),
    "url-not-url": (with_fields(ISSUER, slug="other", url="acme dot example"), ["url"]),
    "url-javascript": (with_fields(ISSUER, slug="other", url="javascript:alert(1)"), ["url"]),
    "email-invalid": (with_fields(ISSUER, slug="other", email="badges at acme"), ["email"]),
    "did-method-unknown": (with_fields(ISSUER, slug="other", did_method="ion"), ["did_method"]),
    "missing-everything": ({}, ["slug", "name", "url"]),
    "missing-url": (with_fields(ISSUER, slug="other", url=...), ["url"]),
}


@pytest.mark.parametrize("body, fields", ISSUER_CASES.values(), ids=ISSUER_CASES.keys())
def test_bad_issuer(api, before, services, body, fields):
    problem = assert_problem(api.post("/api/v1/issuers", json=body), 422, "validation_failed", fields=fields)
    if body:
        assert set(problem["errors"]) == {f.split(".")[0] for f in fields}, problem["errors"]
    assert row_counts(services) == before


def test_duplicate_issuer_slug(api, before, services):
    body = assert_problem(api.post("/api/v1/issuers", json={**ISSUER, "name": "Another Acme"}), 409, "issuer_exists")
    assert "acme" in body["detail"]
    assert row_counts(services) == before
    assert api.get("/api/v1/issuers/acme").get_json()["name"] == ISSUER["name"]


# --- unknown things --------------------------------------------------------------------------

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize("method, path, code", [
    ("post", f"/api/v1/achievements/{UNKNOWN_ID}/results", "achievement_not_found"),
    ("post", "/api/v1/achievements/not-a-uuid/results", "achievement_not_found"),
    ("get", f"/api/v1/achievements/{UNKNOWN_ID}", "achievement_not_found"),
    ("get", "/api/v1/issuers/nobody", "issuer_not_found"),
    ("post", "/api/v1/issuers/nobody/achievements", "issuer_not_found"),
    ("post", "/api/v1/issuers/nobody/keys/rotate", "issuer_not_found"),
    ("get", "/api/v1/credentials?issuer=nobody", "issuer_not_found"),
    ("get", f"/api/v1/credentials/{UNKNOWN_ID}", "credential_not_found"),
    ("get", "/api/v1/credentials/%27%20OR%201=1--", "credential_not_found"),
])
def test_unknown_resource(api, before, services, method, path, code):
    body = {"achievements": ACHIEVEMENT, "results": result_body()}.get(path.rsplit("/", 1)[-1])
    response = getattr(api, method)(path, json=body) if method == "post" else api.get(path)
    assert_problem(response, 404, code)
    assert row_counts(services) == before


@pytest.mark.parametrize("method, path, status, code, field", [
    ("get", "/api/v1/credentials/%00", 404, "credential_not_found", None),
    ("get", "/api/v1/achievements/%00", 404, "achievement_not_found", None),
    ("post", "/api/v1/achievements/a%00b/results", 404, "achievement_not_found", None),
    ("get", "/api/v1/issuers/%00", 404, "issuer_not_found", None),
    ("post", "/api/v1/issuers/acme%00/keys/rotate", 404, "issuer_not_found", None),
    ("get", "/api/v1/credentials?issuer=%00", 404, "issuer_not_found", None),
    ("get", "/api/v1/credentials?achievement_id=%00", 422, "validation_failed", "achievement_id"),
    ("get", "/api/v1/credentials?cursor=%00", 422, "validation_failed", "cursor"),
    ("get", "/api/v1/credentials/" + "f" * 5000, 404, "credential_not_found", None),
])
def test_nul_and_garbage_in_the_url(api, before, services, method, path, status, code, field):
    """PostgreSQL refuses a NUL byte in text with an error: such a URL must still be a 4xx there."""
    response = getattr(api, method)(path, json=result_body()) if method == "post" else api.get(path)
    assert_problem(response, status, code, fields=[field] if field else None)
    assert row_counts(services) == before


@pytest.mark.parametrize("path", ["/credentials/%00", "/credentials/%00/badge.png", "/achievements/%00",
                                  "/issuers/%00", "/issuers/%00/did.json", "/status/%00"])
def test_nul_in_a_public_url(client, before, services, path):
    response = client.get(path)
    assert_problem(response, 404, response.get_json(force=True).get("code", "<no code>"))
    assert response.get_json()["code"].endswith("not_found")
    assert row_counts(services) == before


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/", "/api/v2/issuers", "/no/such/page"])
def test_unknown_route(api, before, services, path):
    assert_problem(api.get(path), 404, "not_found")
    assert_problem(api.post(path, json={}), 404, "not_found")
    assert row_counts(services) == before


@pytest.mark.parametrize("method, path, allowed", [
    ("get", "/api/v1/issuers", {"POST"}),
    ("delete", "/api/v1/issuers/acme", {"GET"}),
    ("put", "/api/v1/issuers/acme", {"GET"}),
    ("get", "/api/v1/issuers/acme/keys/rotate", {"POST"}),
    ("get", "/api/v1/achievements/{id}/results", {"POST"}),
    ("delete", "/api/v1/credentials", {"GET"}),
    ("patch", "/api/v1/achievements/{id}", {"GET"}),
])
def test_wrong_method(api, client, achievement, before, services, method, path, allowed):
    response = getattr(client, method)(path.format(id=achievement["id"]),
                                       headers={"Authorization": f"Bearer {api.token}"})
    body = assert_problem(response, 405, "method_not_allowed")
    allow = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= allow and method.upper() not in allow, allow
    assert body["detail"]
    assert row_counts(services) == before


def test_lone_surrogate_is_not_text(api, achievement, before, services):
    raw = json.dumps(result_body(external_id="a-\ud800"))
    assert "\\ud800" in raw
    assert_problem(post_raw(api, results_path(achievement), raw), 400, "malformed_json")
    raw = json.dumps({**ISSUER, "slug": "other", "\udfff": 1})
    assert_problem(post_raw(api, "/api/v1/issuers", raw), 400, "malformed_json")
    assert row_counts(services) == before


def test_characters_outside_the_bmp_are_text(api, achievement, before, services):
    raw = json.dumps(result_body(external_id="a-\U0001F600", recipient={"email": "ada@example.org", "name": "Ada \U0001F600"}))
    assert "\\ud83d\\ude00" in raw  # sent as an escaped surrogate pair
    response = post_raw(api, results_path(achievement), raw)
    assert response.status_code == 201, response.get_json()
    assert row_counts(services)["assessment_results"] == before["assessment_results"] + 1


# Values each schema accepts, but a column cannot hold (PostgreSQL refuses them; SQLite stores anything).
BEYOND_STORAGE = {
    "result-external-id-nul": ("results", result_body(external_id="a-\u0000-1"), ["external_id"]),
    "result-recipient-name-nul": ("results", result_body(recipient={"email": "ada@example.org", "name": "Ada\u0000"}),
                                  ["recipient.name"]),
    "result-recipient-did-too-long": ("results", result_body(recipient={"id": "did:web:" + "a" * 2100}), ["recipient.id"]),
    "result-recipient-email-too-long": ("results", result_body(recipient={"email": "a" * 60 + "@" + ("b" * 60 + ".") * 5 + "org"}),
                                        ["recipient.email"]),
    "issuer-url-too-long": ("issuers", {**ISSUER, "slug": "other", "url": "https://acme.example/" + "a" * 2100}, ["url"]),
    "issuer-name-nul": ("issuers", {**ISSUER, "slug": "other", "name": "Acme\u0000"}, ["name"]),
    "achievement-image-too-long": ("achievements", {**ACHIEVEMENT, "image": "https://acme.example/" + "a" * 2100 + ".png"},
                                   ["image"]),
    "achievement-type-too-long": ("achievements", {**ACHIEVEMENT, "achievement_type": "ext:" + "A" * 80},
                                  ["achievement_type"]),
    "achievement-valid-for-too-long": ("achievements", {**ACHIEVEMENT, "valid_for": "P" + "9" * 80 + "Y"}, ["valid_for"]),
    "achievement-max-score-beyond-numeric": ("achievements", {**ACHIEVEMENT, "max_score": 10 ** 8}, ["max_score"]),
}


@pytest.mark.parametrize("endpoint, body, fields", BEYOND_STORAGE.values(), ids=BEYOND_STORAGE.keys())
def test_values_the_database_cannot_hold(api, achievement, before, services, endpoint, body, fields):
    """Refused up front with the field named, on every database, instead of a 500 from PostgreSQL."""
    path = {"results": results_path(achievement), "issuers": "/api/v1/issuers",
            "achievements": "/api/v1/issuers/acme/achievements"}[endpoint]
    assert_problem(api.post(path, json=body), 422, "validation_failed", fields=fields)
    assert row_counts(services) == before


def test_no_answer_leaks_internals(api, achievement):
    """A sweep of odd requests: whatever the status, no traceback and no source path."""
    requests = [
        ("post", results_path(achievement), b"\x00\x01\x02"),
        ("post", results_path(achievement), b'{"score": ' + b"9" * 5000 + b"}"),
        ("post", results_path(achievement), json.dumps(result_body(score=10 ** 30)).encode()),
        ("post", results_path(achievement), json.dumps(result_body(external_id="\ud800\u0000")).encode()),
        ("post", "/api/v1/issuers", json.dumps({**ISSUER, "slug": "x" * 10_000}).encode()),
        ("post", "/api/v1/issuers/acme/achievements", json.dumps({**ACHIEVEMENT, "valid_for": "P1Y" * 400}).encode()),
        ("post", "/credentials/issue", json.dumps({"credential": {"@context": 7}, "options": []}).encode()),
        ("get", "/api/v1/credentials?limit=" + "9" * 400, None),
        ("get", "/api/v1/credentials?cursor=" + "%00" * 10, None),
    ]
    for method, path, raw in requests:
        if method == "post":
            response = post_raw(api, path, raw)
        else:
            response = api.get(path)
        assert_no_internals(response)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.get_data(as_text=True)[:300])
        assert response.mimetype == "application/problem+json"
