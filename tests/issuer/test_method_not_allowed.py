"""Another method on a path is 405 with an Allow header and a problem body, also where a route
with a variable matches the same path (GET /credentials/issue is no credential "issue")."""

from __future__ import annotations

import pytest

from tests.issuer.problems import assert_problem


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/credentials/issue", {"POST"}),
    ("GET", "/credentials/verify", {"POST"}),
    ("PUT", "/credentials/issue", {"POST"}),
    ("GET", "/api/v1/credentials/revoke", {"POST"}),
    ("DELETE", "/api/v1/credentials/revoke", {"POST"}),
    ("GET", "/presentations/verify", {"POST"}),
    ("PUT", "/api/v1/issuers", {"POST"}),
    ("POST", "/credentials/0b7e0f8e-2d5c-4a8e-9d55-4a8d0f1b2c3d", {"GET"}),
    ("DELETE", "/api/v1/tokens", {"GET", "POST"}),
])
def test_another_method_is_405(client, method, path, allowed):
    response = client.open(path, method=method)
    assert_problem(response, 405, "method_not_allowed")
    assert {m.strip() for m in response.headers["Allow"].split(",")} - {"HEAD", "OPTIONS"} == allowed


def test_options_lists_only_the_methods_of_the_path(client):
    response = client.options("/api/v1/credentials/revoke")
    assert response.status_code == 200
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"POST", "OPTIONS"}


def test_the_route_with_a_variable_still_answers_its_own_paths(client):
    response = client.get("/credentials/0b7e0f8e-2d5c-4a8e-9d55-4a8d0f1b2c3d", headers={"Accept": "application/json"})
    assert_problem(response, 404, "credential_not_found")
