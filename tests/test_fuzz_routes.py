"""No input gives a 5xx: arbitrary JSON (lone surrogates, huge numbers, NaN, deep and wide
structures, random Unicode), credentials with one part replaced by such JSON, and arbitrary bytes,
thrown at every route of app.url_map (so a new route is covered without touching this file),
with and without a valid token, and with path parameters that exist or do not.

Every answer must be 2xx, 3xx or 4xx; an error must be a problem body with a `code`; any JSON we
answer must be strict JSON. Hypothesis runs derandomized, so the inputs are the same every run.
"""

from __future__ import annotations

import copy
import io
import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataintegrity import strictjson
from tests.conftest import make_token, result_body

# Bodies are where the variety is; a GET only varies its path, query and token.
EXAMPLES_WITH_BODY, EXAMPLES_WITHOUT_BODY = 40, 10
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
QUERY_NAMES = ["limit", "cursor", "issuer", "achievement_id", "expiring_within", "state", "format"]

# Any character, surrogates included (Hypothesis leaves them out unless asked).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
scalars = (st.none() | st.booleans() | st.integers(min_value=-10**400, max_value=10**400)
           | st.floats(allow_nan=True, allow_infinity=True) | any_text)
# Values that broke parsers and hashers before, mixed in often.
nasty = st.sampled_from(["\ud800", "a\udfff", "\U0001F600", "\x00", float("nan"), float("inf"), -float("inf"),
                         10**300, -(2**63), 2**53 + 1, 1e308, 5e-324, "x" * 5000, "", "did:web:127.0.0.1%3A1:x",
                         "https://127.0.0.1/", "urn:uuid:", "_:b0", "@context", "@id"])
scalars = scalars | nasty
any_json = st.recursive(scalars, lambda children: st.lists(children, max_size=6)
                        | st.dictionaries(any_text, children, max_size=6), max_leaves=30)


def dumps(value, ensure_ascii: bool) -> bytes:
    """JSON text as a careless client would write it (NaN, Infinity and escaped surrogates kept)."""
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


def deep(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


def with_leaf_replaced(document, path: list[int], value):
    """`document` with the leaf that `path` picks (indexes taken modulo each level's size) replaced."""
    document = copy.deepcopy(document)
    node, parent, key = document, None, None
    for step in path:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []
        if not children:
            break
        key, child = children[step % len(children)]
        parent, node = node, child
    if parent is None:
        return value
    parent[key] = value
    return document


def wrappers(spoiled: dict) -> list[dict]:
    """How the routes that take a credential want it; others take these as unknown fields."""
    return [
        {"credential": spoiled},
        {"credential": json.dumps(spoiled)},
        {"verifiableCredential": spoiled, "options": {}},
        {"verifiablePresentation": {"@context": ["https://www.w3.org/ns/credentials/v2"],
                                    "type": ["VerifiablePresentation"], "verifiableCredential": [spoiled]},
         "options": {"challenge": "c", "domain": "d"}},
    ]


def merged(spoiled: dict) -> dict:
    """Every route's field at once: the VC API routes read theirs and leave the rest."""
    return {key: value for wrapper in wrappers(spoiled)[1:] for key, value in wrapper.items()}


@st.composite
def bodies(draw, credential: dict):
    """(content type, raw body): JSON of every kind, a credential with a part spoiled, raw bytes."""
    # Hypothesis starts with the first kinds: the ones that reach deepest come first.
    kind = draw(st.sampled_from(["merged", "wrapped", "upload", "json", "merged", "literal", "wrapped", "deep", "wide",
                                 "bytes", "form", "credential"]))
    if kind == "json":
        return "application/json", dumps(draw(any_json), draw(st.booleans()))
    if kind in ("credential", "wrapped", "merged", "upload"):
        spoiled = with_leaf_replaced(credential, draw(st.lists(st.integers(0, 50), min_size=1, max_size=6)),
                                     draw(nasty | any_text | any_json))
        if kind == "upload":
            return "multipart/form-data", dumps(spoiled, draw(st.booleans()))
        if kind == "merged":
            return "application/json", dumps(merged(spoiled), draw(st.booleans()))
        value = spoiled if kind == "credential" else draw(st.sampled_from(wrappers(spoiled)))
        return "application/json", dumps(value, draw(st.booleans()))
    if kind == "literal":
        literal = draw(st.sampled_from(["NaN", "-Infinity", "1e999", "-1e400", "1" * 5000, "1e-400", '"\\ud800"',
                                        '"\\udfff\\ud800"', "9007199254740993"]))
        return "application/json", f'{{"credential": {literal}, "score": {literal}, "name": {literal}}}'.encode()
    if kind == "deep":
        return "application/json", deep(draw(st.sampled_from([65, 1_000, 50_000])), draw(st.sampled_from(["[", '{"a":'])))
    if kind == "wide":
        width = draw(st.sampled_from([1_000, 20_000]))
        return "application/json", json.dumps({f"k{i}": [i] for i in range(width)}).encode()
    if kind == "form":
        return "application/x-www-form-urlencoded", urlencode(
            draw(st.dictionaries(st.sampled_from(["credential", "url", "file", "display_name", "public", "csrf"]),
                                 st.text(max_size=60), max_size=3))).encode()
    return draw(st.sampled_from(["application/json", "application/octet-stream", None, "image/png"])), draw(st.binary(max_size=300))


def path_text(text: str) -> str:
    # Percent-encoded as bytes, so a surrogate becomes bytes that are not UTF-8 (as a client may send).
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
def world(api, services, achievement):
    """Real resources, so that fuzzed requests reach past the 404s: an issued credential, its
    status list, a management link, a spare token."""
    issued = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json
    # The managed credential is another one: fuzzing the management-link route replaces the
    # link of `credential_id`, and this one must stay valid.
    managed = api.post(f"/api/v1/achievements/{achievement['id']}/results",
                       json=result_body("attempt-2", email="grace@example.org")).json
    link = api.post(f"/api/v1/credentials/{managed['credential_id']}/management-link").json["url"]
    spare = api.get("/api/v1/tokens").json["items"][0]["id"]
    status_url = issued["credential"]["credentialStatus"][0]["statusListCredential"]
    values = {
        "slug": "acme", "achievement_id": achievement["id"], "credential_id": issued["credential_id"],
        "token_id": spare, "list_id": status_url.rstrip("/").rsplit("/", 1)[1], "token": link.rsplit("/", 1)[1],
        "filename": "missing.css",
    }
    return values, issued["credential"], make_token(services)


def test_no_input_gives_a_5xx(app, client, world):
    values, credential, token = world
    routes = sorted(((rule.rule, method, tuple(rule.arguments)) for rule in app.url_map.iter_rules()
                     for method in rule.methods - SKIPPED_METHODS))
    assert len(routes) > 40

    for rule, method, arguments in routes:
        fuzz_route(client, rule, method, arguments, values=values, credential=credential, token=token)


def fuzz_route(client, rule: str, method: str, arguments: tuple, *, values: dict, credential: dict, token: str):
    examples = EXAMPLES_WITHOUT_BODY if method in ("GET", "DELETE") else EXAMPLES_WITH_BODY

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies(credential), real=st.lists(st.booleans(), min_size=len(arguments), max_size=len(arguments)),
           fuzz=st.lists(any_text, min_size=len(arguments), max_size=len(arguments)),
           query=st.dictionaries(st.sampled_from(QUERY_NAMES), any_text, max_size=3),
           authorization=st.sampled_from([True, True, False, "garbage"]))
    def request_once(body, real, fuzz, query, authorization):
        path = rule
        for name, use_real, text in zip(arguments, real, fuzz):
            value = values.get(name, "x") if use_real else path_text(text) or "x"
            path = path.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
        query_text = "&".join(f"{quote(k)}={path_text(v)}" for k, v in query.items())
        headers = {"Accept": "application/json"}
        if authorization is True:
            headers["Authorization"] = f"Bearer {token}"
        elif authorization:
            headers["Authorization"] = "Bearer \xff\x00garbage"
        content_type, data = body
        payload = data
        if content_type == "multipart/form-data":
            payload = {"file": (io.BytesIO(data), "badge.json", "application/json"), "credential": data.decode(
                "utf-8", "replace")[:2000]}
        elif content_type:
            headers["Content-Type"] = content_type
        response = client.open(path, method=method, query_string=query_text, headers=headers,
                               data=payload if method not in ("GET", "DELETE") else None)
        where = f"{method} {path} ({content_type}, {data[:120]!r})"
        assert response.status_code < 500, f"{where} -> {response.status_code} {response.get_data()[:300]!r}"
        if response.mimetype in ("application/json", "application/problem+json") or response.mimetype.endswith("+json"):
            answer = strictjson.loads(response.get_data())  # every JSON answer is strict JSON
            if response.status_code >= 400:
                assert response.mimetype == "application/problem+json", where
                assert answer["status"] == response.status_code and answer["code"], where

    request_once()
