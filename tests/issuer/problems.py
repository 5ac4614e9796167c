"""Helpers shared by the issuer API tests: what a problem+json answer must look like, and a
snapshot of the database to prove that a refused request wrote nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from issuer.db import Base

PROBLEM_PREFIX = "urn:badges:problem:"
# A Python source path as a traceback or a repr would leak it: /x/y.py, C:\x\y.py, File "..."
_INTERNALS = re.compile(r'Traceback|File "|[\w./\\-]+\.py\b|site-packages')


def assert_no_internals(response) -> None:
    text = response.get_data(as_text=True)
    leak = _INTERNALS.search(text)
    assert leak is None, f"the answer leaks internals ({leak.group(0)!r}): {text[:500]}"


def assert_problem(response, status: int, code: str, *, fields=None) -> dict:
    """`response` is an RFC 9457 problem with `status` and `code`; `fields` must each be named in `errors`."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1000])
    assert response.mimetype == "application/problem+json", response.headers.get("Content-Type")
    assert_no_internals(response)
    body = response.get_json(force=True)
    assert isinstance(body, dict), body
    assert body["type"] == PROBLEM_PREFIX + code, body
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if status == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers
    for field in fields or ():
        assert_names_field(body, field)
    return body


def assert_names_field(body: dict, path: str) -> None:
    """`path` is a dotted path into `errors` ("recipient.email", "evidence.0._schema"); it must end
    in a non-empty list of messages or a nested mapping of them."""
    node = body.get("errors")
    assert isinstance(node, dict), f"no errors in {body}"
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"errors do not name {path!r}: {body['errors']}"
        node = node[part]
    assert node, f"errors name {path!r} without a message: {body['errors']}"
    messages = node if isinstance(node, list) else [m for v in node.values() for m in (v if isinstance(v, list) else [v])]
    assert all(isinstance(m, (str, dict)) and m for m in messages), body["errors"]


def row_counts(services) -> dict[str, int]:
    """Rows in every table of the model."""
    with services.sessionmaker() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }
