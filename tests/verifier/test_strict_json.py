"""Strict JSON on every way a credential reaches the verifier: JSON bodies, uploads, the /verify
form, JWT payloads, fetched URLs and the CLI. A lone surrogate, NaN/Infinity, a number out of
range, a repeated key or too deep a nesting is refused clearly (a 400 problem body, or the
report's unreadable-input style), never a 500, and every answer is itself strict JSON."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from click.testing import CliRunner

from dataintegrity import strictjson
from issuer.cli import main
from tests.conftest import result_body
from tests.verifier.test_fetcher import respond
from tests.verifier.test_forms_baked import png
from tests.verifier.test_forms_jwt import b64
from verifier.forms.baked import bake_png

PROBLEM = "application/problem+json"


def spoiled(credential: dict, how: str) -> str:
    """The credential as JSON text with one strict-JSON fault written into it."""
    text = json.dumps(credential)
    head = '{"id": "urn:uuid:first", ' if how == "duplicate" else "{"
    faults = {
        "surrogate": '"name": "Badge \\ud800", ',
        "nan": '"score": NaN, ',
        "infinity": '"score": -Infinity, ',
        "overflow": '"score": 1e999, ',
        "huge-integer": '"score": 123456789012345678901234567890, ',
        "duplicate": "",
        "deep": '"evidence": ' + "[" * 100 + "]" * 100 + ", ",
    }
    return head + faults[how] + text[1:]


FAULTS = ["surrogate", "nan", "infinity", "overflow", "huge-integer", "duplicate", "deep"]


def expected_code(how: str) -> str:
    return "json_too_deep" if how == "deep" else "malformed_json"


def strict_answer(response) -> dict:
    """The answer parsed by the strict parser: valid JSON whatever it says."""
    return strictjson.loads(response.get_data())


def post_json(client, path: str, text: str):
    return client.post(path, data=text.encode("utf-8"), content_type="application/json")


@pytest.mark.parametrize("how", FAULTS)
@pytest.mark.parametrize("wrap", [
    ("/api/v1/verify", '{"credential": %s}'),
    ("/credentials/verify", '{"verifiableCredential": %s, "options": {}}'),
    ("/presentations/verify", '{"verifiablePresentation": {"@context": ["https://www.w3.org/ns/credentials/v2"], '
                              '"type": ["VerifiablePresentation"], "verifiableCredential": [%s]}, "options": {}}'),
], ids=["api", "vcapi-credential", "vcapi-presentation"])
def test_json_bodies_are_strict(client, issued, how, wrap):
    path, template = wrap
    response = post_json(client, path, template % spoiled(issued, how))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = strict_answer(response)
    assert body["code"] == expected_code(how)
    assert body["status"] == 400 and body["detail"].startswith("the body is not accepted JSON")


@pytest.mark.parametrize("how", FAULTS)
def test_an_uploaded_file_is_read_strictly(client, issued, how):
    data = spoiled(issued, how).encode("utf-8")
    response = client.post("/api/v1/verify", data={"file": (BytesIO(data), "badge.json", "application/json")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    report = strict_answer(response)
    assert report["verified"] is False
    first = report["checks"][0]
    assert (first["check"], first["status"]) == ("format", "failed")
    assert first["code"] == ("json_too_deep" if how == "deep" else "unreadable_input")


@pytest.mark.parametrize("how", ["surrogate", "overflow", "duplicate"])
def test_a_baked_image_and_a_json_string_are_read_strictly(client, issued, how):
    baked = bake_png(png(), spoiled(issued, how))
    response = client.post("/api/v1/verify", data={"file": (BytesIO(baked), "badge.png", "image/png")},
                           content_type="multipart/form-data")
    assert strict_answer(response)["checks"][0]["code"] == "unreadable_input"
    # The credential as a JSON string inside a valid body: the inner text is read strictly too.
    response = client.post("/api/v1/verify", json={"credential": spoiled(issued, how)})
    assert strict_answer(response)["checks"][0]["code"] == "unreadable_input"


@pytest.mark.parametrize("how", ["surrogate", "nan", "duplicate"])
def test_the_verify_page_reads_pasted_and_uploaded_json_strictly(client, issued, how):
    text = spoiled(issued, how)
    pasted = client.post("/verify", data={"credential": text})
    uploaded = client.post("/verify", data={"file": (BytesIO(text.encode()), "badge.json", "application/json")},
                           content_type="multipart/form-data")
    for response in (pasted, uploaded):
        assert response.status_code == 200 and response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "unreadable_input" in page


def jwt_with_payload(payload_text: str) -> str:
    header = b64(json.dumps({"alg": "EdDSA", "typ": "vc+jwt"}).encode())
    return f"{header}.{b64(payload_text.encode())}.{b64(b'sig')}"


@pytest.mark.parametrize("how", ["surrogate", "infinity", "duplicate"])
def test_a_jwt_payload_is_read_strictly(client, issued, how):
    response = client.post("/api/v1/verify", json={"jwt": jwt_with_payload(spoiled(issued, how))})
    first = strict_answer(response)["checks"][0]
    assert (first["status"], first["code"]) == ("failed", "malformed_jwt")
    assert "payload" in first["message"]


@pytest.mark.parametrize("how", ["surrogate", "nan", "duplicate"])
def test_a_fetched_url_is_read_strictly(loopback_app, issued, server, how):  # noqa: F811
    server.routes["/credential.json"] = respond(200, spoiled(issued, how).encode(), {"Content-Type": "application/json"})
    response = loopback_app.test_client().post("/api/v1/verify", json={"url": server.url("/credential.json")})
    first = strict_answer(response)["checks"][0]
    assert (first["check"], first["code"]) == ("format", "unreadable_input")


@pytest.mark.parametrize("how", FAULTS)
def test_the_cli_says_one_line_and_exits_2(tmp_path, issued, how):
    path = tmp_path / "badge.json"
    path.write_bytes(spoiled(issued, how).encode("utf-8"))
    result = CliRunner().invoke(main, ["verify", str(path), "--no-status"], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"NOT VERIFIED: cannot read {path}: ")
    assert lines[0].endswith("[json_too_deep]" if how == "deep" else "[unreadable_input]")


def test_the_issuer_api_refuses_repeated_keys_and_huge_integers(api, achievement):
    path = f"/api/v1/achievements/{achievement['id']}/results"
    text = json.dumps(result_body())
    for raw in ('{"score": 10, ' + text[1:], text.replace('"score": 85', '"score": 9007199254740993')):
        response = api.client.post(path, data=raw, headers={"Authorization": f"Bearer {api.token}",
                                                          "Content-Type": "application/json"})
        assert response.status_code == 400
        assert strict_answer(response)["code"] == "malformed_json"


def test_the_app_never_writes_nan_or_infinity(app):
    """The safety net under the input checks: such a value fails loudly instead of going out."""
    for value in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            app.json.dumps({"score": value})
    assert app.json.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'  # keys stay in the order built


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "Badge \ud800", 2**53, {1: "a"}, object()],
                         ids=["nan", "infinity", "surrogate", "huge-integer", "int-key", "object"])
def test_a_credential_built_by_a_program_is_held_to_the_same_rules(outside_verifier, issued, value):
    """The library's own callers hand over dicts: the verifier checks them as if parsed."""
    report = outside_verifier.verify_input({**issued, "name": value}).to_dict()
    first = report["checks"][0]
    assert (report["verified"], first["check"], first["code"]) == (False, "format", "unreadable_input")
    json.dumps(report, allow_nan=False)  # and the report itself is strict JSON


def test_an_unresolvable_context_iri_is_a_failed_check_not_a_500(client, issued):
    """Found by the route fuzzing: "" among the contexts made the proof check crash."""
    spoiled = {**issued, "@context": [issued["@context"][0], "", *issued["@context"][1:]]}
    response = client.post("/api/v1/verify", json={"credential": spoiled})
    assert response.status_code == 200
    report = strict_answer(response)
    assert report["verified"] is False
    assert {c["check"]: c["status"] for c in report["checks"]}["proof"] == "failed"


@pytest.mark.parametrize("type_value", [1.5, 7, {"VerifiableCredential": True}, True])
def test_a_type_that_is_no_string_or_list_is_a_failed_format_not_a_500(client, issued, type_value):
    """Found by the route fuzzing: `"type": 1.5` made the format checks crash."""
    response = client.post("/credentials/verify", json={"verifiableCredential": {**issued, "type": type_value}})
    body = strict_answer(response)
    assert (response.status_code, body["code"]) == (422, "not_a_credential")
    presentation = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": type_value,
                    "verifiableCredential": [issued]}
    response = client.post("/presentations/verify", json={"verifiablePresentation": presentation})
    body = strict_answer(response)
    assert response.status_code == 422
    assert body["presentation"]["checks"][0]["code"] == "not_a_presentation"


@pytest.mark.parametrize("member", [{"a": 1}, ["OpenBadgeCredential"], None])
def test_a_type_list_holding_no_string_is_checked_not_a_500(client, issued, member):
    """Found by the route fuzzing: an object or a list inside `type` made the schema check crash."""
    spoiled = {**issued, "type": [*issued["type"], member]}
    response = client.post("/api/v1/verify", json={"credential": spoiled})
    assert response.status_code == 200
    report = strict_answer(response)
    assert report["verified"] is False and [c["check"] for c in report["checks"]][:3] == ["format", "context", "schema"]


@pytest.mark.parametrize(("value", "code", "words"), [
    # the node count is checked before strict JSON: a huge document is refused for its size
    ({"bad": "\ud800", "many": list(range(20_000))}, "json_too_many_nodes", "more than 10000 values"),
    ({"bad": 2**60, "deep": [[[[[[[[[[[]]]]]]]]]]] * 1}, "unreadable_input", "2**53 - 1"),
    ([float("nan"), "\udc00"], "unreadable_input", "surrogate"),
    ({"k": [["x"]] * 2}, None, None),
])
def test_the_one_walk_fast_path_keeps_the_exact_error(value, code, words):
    """`check_json_shape` answers the usual case in one walk (`strictjson.within`); anything else
    gets the error the full walks find first."""
    from verifier.forms.errors import FormError
    from verifier.forms.jsontext import check_json_shape

    assert strictjson.within(value, max_nodes=10_000) is (code is None)
    if code is None:
        check_json_shape(value)
        return
    with pytest.raises(FormError) as raised:
        check_json_shape(value)
    assert raised.value.code == code and words in raised.value.message


def test_too_deep_beats_a_bad_value_deeper_in():
    from verifier.forms.errors import FormError
    from verifier.forms.jsontext import check_json_shape

    value: list = ["\ud800"]
    for _ in range(70):
        value = [value]
    with pytest.raises(FormError) as raised:
        check_json_shape(value)
    assert raised.value.code == "json_too_deep"
