"""GET /api/openapi.json: a valid OpenAPI 3 document describing every admin endpoint."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate

# INTERFACES.md's admin and integration API, as far as it exists now, and the VC API issuer.
EXPECTED = {
    "/api/v1/issuers": {"post"},
    "/api/v1/issuers/{slug}": {"get"},
    "/api/v1/issuers/{slug}/achievements": {"post"},
    "/api/v1/issuers/{slug}/keys/rotate": {"post"},
    "/api/v1/achievements/{achievement_id}": {"get"},
    "/api/v1/achievements/{achievement_id}/results": {"post"},
    "/api/v1/achievements/{achievement_id}/results/batch": {"post"},
    "/api/v1/achievements/{achievement_id}/image": {"put"},
    "/api/v1/credentials": {"get"},
    "/api/v1/credentials/{credential_id}": {"get"},
    "/credentials/issue": {"post"},
    "/api/v1/audit": {"get"},
    "/api/v1/tokens": {"get", "post"},
    "/api/v1/tokens/{token_id}/revoke": {"post"},
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        assert node["$ref"].startswith("#/"), node
        target = document
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def test_is_openapi_3(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]


def test_is_a_valid_openapi_document(document):
    validate(document)


def test_needs_no_token(client):
    assert client.get("/api/openapi.json", headers={"Authorization": "Bearer nonsense"}).status_code == 200


@pytest.mark.parametrize("path", EXPECTED)
def test_describes_each_endpoint(document, path):
    assert path in document["paths"], sorted(document["paths"])
    operations = document["paths"][path]
    assert EXPECTED[path] <= set(operations), operations.keys()
    for method in EXPECTED[path]:
        operation = operations[method]
        assert operation["summary"]
        assert operation["security"] == [{"bearer": []}]
        declared = {p["name"] for p in operation.get("parameters", []) + operations.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path))
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, operation["responses"]
        for code in ("401", "403", "404", "422"):
            problem = operation["responses"][code]["content"]["application/problem+json"]["schema"]
            assert {"type", "title", "status", "detail", "code"} <= set(resolve(document, problem)["properties"])
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def undescribed(app, document, wanted) -> list[str]:
    """`METHOD /path` of every route `wanted(rule)` keeps that the document does not describe."""
    missing = []
    for rule in app.url_map.iter_rules():
        if not wanted(rule):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    return missing


def test_every_admin_route_of_the_app_is_described(app, document):
    """A route added to /api/v1 without a description here fails this test."""
    assert undescribed(app, document, lambda rule: rule.rule.startswith("/api/v1/")) == []


def test_every_route_of_the_app_is_described(app, document):
    """The public pages and documents, the VC API and the management link too: every route but static files."""
    assert undescribed(app, document, lambda rule: rule.endpoint != "static") == []


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_operation_documents_the_generic_answers(document):
    """Any route may answer these problem bodies: a malformed request, another method at a fixed
    path the template matches, too large a body, throttling, the database away."""
    for name, operation in operations(document):
        for code in ("400", "405", "413", "429", "503"):
            answer = resolve(document, operation["responses"][code])
            assert "application/problem+json" in answer["content"], (name, code)
        assert operation["responses"]["405"]["headers"]["Allow"]["required"] is True, name
        assert "Retry-After" in operation["responses"]["429"]["headers"], name
        if "requestBody" in operation:
            assert "415" in operation["responses"], name
        if operation.get("security"):
            assert {"401", "403"} <= set(operation["responses"]), name


def test_operations_have_unique_ids_and_links_name_them(document):
    ids = [operation["operationId"] for _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    links = {(name, code, link_name): link["operationId"]
             for name, operation in operations(document)
             for code, answer in operation["responses"].items()
             for link_name, link in answer.get("links", {}).items()}
    assert set(links.values()) <= set(ids)
    # The stateful path: an issuer -> its achievements -> a result -> the credential and its lifecycle.
    assert links["POST /api/v1/issuers", "201", "CreateAchievement"] == "createAchievement"
    assert links["POST /api/v1/issuers/{slug}/achievements", "201", "RecordResult"] == "recordResult"
    for target in ("getCredential", "revokeCredential", "suspendCredential", "reissueCredential", "getCredentialPage"):
        assert target in {op for (name, code, _), op in links.items()
                          if name == "POST /api/v1/achievements/{achievement_id}/results" and code == "201"}
    assert links["POST /api/v1/tokens", "201", "RevokeToken"] == "revokeToken"


def test_query_parameters_say_whether_an_empty_value_means_none(document, api):
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/credentials"]["get"]["parameters"]}
    assert parameters["cursor"]["allowEmptyValue"] is True and parameters["issuer"]["allowEmptyValue"] is True
    assert parameters["limit"]["allowEmptyValue"] is False and parameters["expiring_within"]["allowEmptyValue"] is False
    assert api.get("/api/v1/credentials?cursor=&issuer=").status_code == 200
    assert api.get("/api/v1/credentials?limit=").status_code == 422
    audit = {p["name"]: p for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert audit["issuer"]["allowEmptyValue"] is True and audit["cursor"]["allowEmptyValue"] is False


def test_scores_are_answered_as_the_numbers_documented(document, api, issuer):
    from tests.conftest import ACHIEVEMENT

    schema = resolve(document, document["paths"]["/api/v1/achievements/{achievement_id}"]["get"]["responses"]["200"]
                     ["content"]["application/json"]["schema"])
    assert schema["properties"]["passing_score"]["type"] == schema["properties"]["max_score"]["type"] == "number"
    created = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json={**ACHIEVEMENT, "passing_score": 72.5})
    assert created.status_code == 201
    assert (created.json["passing_score"], created.json["max_score"]) == (72.5, 100)
    fetched = api.get(f"/api/v1/achievements/{created.json['id']}").json
    assert (fetched["passing_score"], fetched["max_score"]) == (72.5, 100)
    assert type(fetched["max_score"]) is int


def test_fields_answered_null_are_nullable(document, api, issuer):
    """An achievement without type, image or validity answers null for them; the document says they may be."""
    created = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json={
        "name": "N", "description": "D", "criteria": {"narrative": "C"}, "passing_score": 1, "max_score": 2}).json
    schema = resolve(document, document["paths"]["/api/v1/achievements/{achievement_id}"]["get"]["responses"]["200"]
                     ["content"]["application/json"]["schema"])
    nulls = [name for name, value in created.items() if value is None]
    assert {"achievement_type", "image", "valid_for"} <= set(nulls)
    assert [name for name in nulls if not schema["properties"][name].get("nullable")] == []


def test_patterns_are_portable_regular_expressions(document):
    """OpenAPI patterns are ECMA-262: Python's \\Z would make validators refuse the document."""
    assert "\\Z" not in json.dumps(document)


def test_every_described_path_exists(app, document):
    # One path may have several rules (GET and POST /api/v1/tokens are two views): join their methods.
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        routes.setdefault(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), set()).update(rule.methods or ())
    for path, operations in document["paths"].items():
        assert path in routes, path
        for method in set(operations) & METHODS:
            assert method.upper() in routes[path], (method, path)


def test_results_request_body(document):
    operation = document["paths"]["/api/v1/achievements/{achievement_id}/results"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert "$ref" in schema, "the request body references a named schema"
    schema = resolve(document, schema)
    assert {"external_id", "recipient", "score", "completed_at", "evidence"} <= set(schema["properties"])
    assert {"external_id", "recipient", "score", "completed_at"} <= set(schema["required"])
    assert "evidence" not in schema["required"]
    assert schema["properties"]["score"]["type"] == "number"
    assert schema["properties"]["completed_at"]["format"] == "date-time"
    recipient = resolve(document, schema["properties"]["recipient"])
    assert {"email", "name", "id"} <= set(recipient["properties"])
    assert {"201", "200"} <= set(operation["responses"])


@pytest.mark.parametrize("path, fields", [
    ("/api/v1/issuers", {"slug", "name", "url", "email", "description", "did_method"}),
    ("/api/v1/issuers/{slug}/achievements",
     {"name", "description", "criteria", "achievement_type", "alignments", "tags", "passing_score", "max_score", "valid_for"}),
    ("/credentials/issue", {"credential", "options"}),
])
def test_other_request_bodies(document, path, fields):
    schema = resolve(document, document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])
    assert fields <= set(schema["properties"])


def test_numeric_bounds_are_numbers(document):
    """JSON Schema's minimum/maximum are numbers; a string there makes clients' validators reject the document."""
    bad = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                           "minItems", "maxItems") and not isinstance(value, (int, float, bool)):
                    bad.append(f"{where}/{key}={value!r}")
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(document, "#")
    assert bad == []
