"""Tokens through the API and the CLI: listed (never their hashes), created (the plain token once),
revoked (refused on the very next request), each scoped to the caller's issuer."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from issuer.models import ApiToken, AuditEntry
from tests.conftest import ISSUER, make_token
from tests.issuer.problems import assert_problem, row_counts
from tests.issuer.test_cli import dispose, instance, last_line  # noqa: F401  (instance is a fixture)

OTHER = {"slug": "globex", "name": "Globex Institute", "url": "https://globex.example"}
FIELDS = {"id", "issuer", "party_id", "label", "created_at", "revoked_at"}


@pytest.fixture
def two_issuers(api, issuer):
    assert api.post("/api/v1/issuers", json=OTHER).status_code == 201


def stored_hashes(services) -> list[str]:
    with services.sessionmaker() as session:
        return list(session.scalars(select(ApiToken.token_hash)))


def test_create_shows_the_token_once(api, services, two_issuers, clock):
    created = api.post("/api/v1/tokens", json={"issuer": "acme", "label": "lms"})
    assert created.status_code == 201, created.json
    body = created.json
    assert set(body) == FIELDS | {"token"}
    assert (body["issuer"], body["label"], body["revoked_at"]) == ("acme", "lms", None)
    assert body["created_at"] == clock.now.isoformat()
    assert body["token"].startswith("bdg_")
    assert created.headers["Cache-Control"] == "no-store"

    # It works, for its issuer only.
    scoped = api.as_token(body["token"])
    assert scoped.get("/api/v1/issuers/acme").status_code == 200
    assert_problem(scoped.get("/api/v1/issuers/globex"), 403, "token_scope")

    # Never shown again, and no hash is ever shown.
    listed = api.get("/api/v1/tokens")
    assert listed.status_code == 200
    text = listed.get_data(as_text=True)
    assert body["token"] not in text
    for token_hash in stored_hashes(services):
        assert token_hash not in text and token_hash not in created.get_data(as_text=True)
    assert all(set(item) == FIELDS for item in listed.json["items"])
    assert body["id"] in {item["id"] for item in listed.json["items"]}


def test_instance_token_creates_instance_tokens(api):
    created = api.post("/api/v1/tokens", json={})
    assert created.status_code == 201 and created.json["issuer"] is None and created.json["label"] is None
    assert api.as_token(created.json["token"]).post("/api/v1/issuers", json=ISSUER).status_code == 201


def test_issuer_token_creates_tokens_only_for_its_issuer(api, services, two_issuers):
    acme = api.as_token(make_token(services, "acme"))
    before = row_counts(services)
    assert_problem(acme.post("/api/v1/tokens", json={"issuer": "globex"}), 403, "token_scope")
    # Without an issuer the new token would act on the whole instance: more than this token may.
    assert_problem(acme.post("/api/v1/tokens", json={}), 403, "token_scope")
    assert row_counts(services) == before
    created = acme.post("/api/v1/tokens", json={"issuer": "acme", "label": "second"})
    assert created.status_code == 201 and created.json["issuer"] == "acme"


@pytest.mark.parametrize("body, field", [
    ({"issuer": "Not A Slug"}, "issuer"), ({"issuer": 5}, "issuer"), ({"label": "x" * 256}, "label"),
    ({"label": ["x"]}, "label"), ({"scope": "all"}, "scope"),
])
def test_create_validation(api, services, body, field):
    before = row_counts(services)
    assert_problem(api.post("/api/v1/tokens", json=body), 422, "validation_failed", fields=[field])
    assert row_counts(services) == before


def test_create_for_unknown_issuer(api, services):
    before = row_counts(services)
    assert_problem(api.post("/api/v1/tokens", json={"issuer": "nope"}), 404, "issuer_not_found")
    assert row_counts(services) == before


def test_list_is_scoped(api, services, two_issuers):
    acme_plain, globex_plain = make_token(services, "acme"), make_token(services, "globex")
    everything = api.get("/api/v1/tokens").json["items"]
    assert sorted(str(t["issuer"]) for t in everything) == ["None", "acme", "globex"]
    acme = api.as_token(acme_plain).get("/api/v1/tokens")
    assert acme.status_code == 200
    assert [t["issuer"] for t in acme.json["items"]] == ["acme"]
    assert globex_plain not in acme.get_data(as_text=True)


def test_a_revoked_token_is_refused_at_once(api, services, issuer, clock):
    created = api.post("/api/v1/tokens", json={"issuer": "acme"}).json
    victim = api.as_token(created["token"])
    assert victim.get("/api/v1/issuers/acme").status_code == 200
    clock.advance(minutes=1)
    revoked = api.post(f"/api/v1/tokens/{created['id']}/revoke", json={"reason": "rotated out"})
    assert revoked.status_code == 200, revoked.json
    assert set(revoked.json) == FIELDS
    assert revoked.json["revoked_at"] == clock.now.isoformat()
    # The next request, on the same client, is refused.
    assert_problem(victim.get("/api/v1/issuers/acme"), 401, "token_invalid")
    assert_problem(victim.get("/api/v1/tokens"), 401, "token_invalid")
    listed = {t["id"]: t for t in api.get("/api/v1/tokens").json["items"]}
    assert listed[created["id"]]["revoked_at"] == clock.now.isoformat()


def test_a_token_can_revoke_itself(api, services, issuer):
    plain = make_token(services, "acme")
    me = api.as_token(plain)
    own_id = me.get("/api/v1/tokens").json["items"][0]["id"]
    # No body at all is fine: the reason is optional.
    assert me.post(f"/api/v1/tokens/{own_id}/revoke").status_code == 200
    assert_problem(me.get("/api/v1/tokens"), 401, "token_invalid")


def test_the_last_instance_token_cannot_revoke_itself(api, services):
    me = api.get("/api/v1/tokens").json["items"]
    [own] = [t for t in me if t["issuer"] is None]
    before = row_counts(services)
    problem = assert_problem(api.post(f"/api/v1/tokens/{own['id']}/revoke", json={"reason": "oops"}), 409,
                             "last_instance_token")
    assert "badges token create" in problem["detail"]
    assert row_counts(services) == before  # nothing revoked, nothing audited
    assert api.get("/api/v1/tokens").status_code == 200

    # With a second instance token it may go; then the second is the last one.
    second = api.post("/api/v1/tokens", json={"label": "second admin"}).json
    assert api.post(f"/api/v1/tokens/{own['id']}/revoke", json={}).status_code == 200
    successor = api.as_token(second["token"])
    assert_problem(successor.post(f"/api/v1/tokens/{second['id']}/revoke", json={}), 409, "last_instance_token")


def test_the_last_instance_token_may_revoke_others_and_issuer_tokens_do_not_count(api, services, issuer):
    scoped = api.post("/api/v1/tokens", json={"issuer": "acme"}).json
    other = api.post("/api/v1/tokens", json={}).json
    assert api.post(f"/api/v1/tokens/{other['id']}/revoke", json={}).status_code == 200
    own_id = next(t["id"] for t in api.get("/api/v1/tokens").json["items"]
                  if t["issuer"] is None and t["revoked_at"] is None)
    assert scoped["id"] != own_id
    assert_problem(api.post(f"/api/v1/tokens/{own_id}/revoke", json={}), 409, "last_instance_token")


def test_revoke_twice(api, services):
    created = api.post("/api/v1/tokens", json={}).json
    assert api.post(f"/api/v1/tokens/{created['id']}/revoke", json={}).status_code == 200
    before = row_counts(services)
    problem = assert_problem(api.post(f"/api/v1/tokens/{created['id']}/revoke", json={}), 409, "token_already_revoked")
    assert created["id"] in problem["detail"]
    assert row_counts(services) == before


@pytest.mark.parametrize("token_id", ["00000000-0000-4000-8000-000000000000", "not-an-id", "%00"])
def test_revoke_unknown(api, token_id):
    assert_problem(api.post(f"/api/v1/tokens/{token_id}/revoke", json={}), 404, "token_not_found")


def test_revoke_is_scoped(api, services, two_issuers):
    acme = api.as_token(make_token(services, "acme"))
    globex_id = api.post("/api/v1/tokens", json={"issuer": "globex"}).json["id"]
    instance_id = api.post("/api/v1/tokens", json={}).json["id"]
    before = row_counts(services)
    assert_problem(acme.post(f"/api/v1/tokens/{globex_id}/revoke", json={}), 403, "token_scope")
    assert_problem(acme.post(f"/api/v1/tokens/{instance_id}/revoke", json={}), 403, "token_scope")
    assert row_counts(services) == before
    # An instance token revokes any of them.
    assert api.post(f"/api/v1/tokens/{globex_id}/revoke", json={}).status_code == 200


def test_revoke_validation(api, services):
    created = api.post("/api/v1/tokens", json={}).json
    assert_problem(api.post(f"/api/v1/tokens/{created['id']}/revoke", json={"reason": 5}), 422, "validation_failed",
                   fields=["reason"])
    assert_problem(api.post(f"/api/v1/tokens/{created['id']}/revoke", data="nope", content_type="text/plain"),
                   415, "unsupported_media_type")
    assert api.as_token(created["token"]).get("/api/v1/tokens").status_code == 200  # still valid


@pytest.mark.parametrize("method, path", [("get", "/api/v1/tokens"), ("post", "/api/v1/tokens"),
                                          ("post", "/api/v1/tokens/00000000-0000-4000-8000-000000000000/revoke")])
def test_tokens_need_a_token(client, method, path):
    assert_problem(getattr(client, method)(path, json={}), 401, "token_missing")


# The command line.

def test_cli_list_and_revoke(instance):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    instance.ok("issuer", "create", "--slug", "z", "--name", "Z", "--url", "https://z.example")
    admin = last_line(instance.ok("token", "create", "--label", "admin").output)
    scoped = last_line(instance.ok("token", "create", "--issuer", "x", "--label", "lms").output)
    instance.ok("token", "create", "--issuer", "z")

    listed = instance.ok("token", "list").output
    rows = [line.split("\t") for line in listed.rstrip("\n").splitlines()]
    assert [(r[1], r[3], r[4]) for r in rows] == [("(instance)", "active", "admin"), ("x", "active", "lms"),
                                                  ("z", "active", "")]
    hashes = [h for (h,) in instance.query(select(ApiToken.token_hash))]
    for secret in (admin, scoped, *hashes):
        assert secret not in listed
    only_x = instance.ok("token", "list", "--issuer", "x").output.strip().splitlines()
    assert [line.split("\t")[0] for line in only_x] == [rows[1][0]]
    assert "nope" in instance.fails("token", "list", "--issuer", "nope").output

    scoped_id = rows[1][0]
    app = instance.app()
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {scoped}"}
        assert client.get("/api/v1/issuers/x", headers=headers).status_code == 200
        assert scoped_id in instance.ok("token", "revoke", scoped_id, "--reason", "contract ended").output
        # The running app refuses it on the next request.
        refused = client.get("/api/v1/issuers/x", headers=headers)
        assert refused.status_code == 401 and refused.json["code"] == "token_invalid"
        assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    finally:
        dispose(app)
    listed_x = instance.ok("token", "list", "--issuer", "x").output
    assert listed_x.split("\t")[3].startswith("revoked "), listed_x

    again = instance.fails("token", "revoke", scoped_id)
    assert "revoked already" in again.output

    audit = instance.query(select(AuditEntry.action, AuditEntry.actor, AuditEntry.token_id, AuditEntry.reason)
                           .order_by(AuditEntry.id))
    assert [tuple(a) for a in audit] == [
        ("issuer.create", "cli", None, None), ("issuer.create", "cli", None, None),
        ("token.create", "cli", None, None), ("token.create", "cli", None, None), ("token.create", "cli", None, None),
        ("token.revoke", "cli", None, "contract ended"),
    ]


@pytest.mark.parametrize("token_id", ["00000000-0000-4000-8000-000000000000", "nope"])
def test_cli_revoke_unknown(instance, token_id):
    instance.ok("db", "upgrade")
    result = instance.fails("token", "revoke", token_id)
    assert f"there is no token {token_id!r}" in result.output


def test_cli_key_rotation_is_recorded(instance):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    method = last_line(instance.ok("keys", "rotate", "--issuer", "x").output)
    entries = instance.query(select(AuditEntry.action, AuditEntry.actor, AuditEntry.details).order_by(AuditEntry.id))
    assert [(a, b) for a, b, _ in entries] == [("issuer.create", "cli"), ("key.rotate", "cli")]
    details = entries[1][2]
    assert (json.loads(details) if isinstance(details, str) else details) == {"verification_method": method}


def test_first_start_is_recorded(services):
    from issuer.bootstrap import first_start

    started = first_start(services, default_slug="default", default_name="Default")
    assert started.admin_token is not None
    with services.sessionmaker() as session:
        rows = [(e.action, e.actor, e.token_id) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert rows == [("issuer.create", "cli", None), ("token.create", "cli", None)]


def test_cli_recovers_admin_access(instance):
    """Every instance token lost (or revoked from the command line): `badges token create` on the
    server makes a new one, and it administers the instance."""
    lost = last_line(instance.ok("token", "create", "--label", "lost").output)
    lost_id = instance.ok("token", "list").output.split("\t")[0]
    instance.ok("token", "revoke", lost_id, "--reason", "admin token lost")
    recovered = last_line(instance.ok("token", "create", "--label", "recovered").output)
    app = instance.app()
    try:
        client = app.test_client()
        assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {lost}"}).status_code == 401
        answer = client.post("/api/v1/issuers", headers={"Authorization": f"Bearer {recovered}"},
                             json={"slug": "after", "name": "After", "url": "https://after.example"})
        assert answer.status_code == 201, answer.json
    finally:
        dispose(app)

