"""Bearer tokens: missing, malformed, unknown, revoked; stored hashed; scoped to one issuer or to the
whole instance, and the scope holds on every endpoint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from sqlalchemy import select, text

from issuer.db import transaction
from issuer.models import ApiToken, SigningKey
from tests.conftest import ACHIEVEMENT, ISSUER, make_token, result_body
from tests.issuer.problems import assert_problem, row_counts

OTHER = {"slug": "globex", "name": "Globex Institute", "url": "https://globex.example", "did_method": "web"}


@dataclass
class World:
    """Two issuers, each with an achievement and one issued credential."""

    acme: dict
    acme_achievement: str
    acme_credential: str
    globex: dict
    globex_achievement: str
    globex_credential: str


def issue_one(api, achievement_id: str, external_id: str) -> str:
    response = api.post(f"/api/v1/achievements/{achievement_id}/results", json=result_body(external_id))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["credential_id"]


@pytest.fixture
def world(api, issuer, achievement) -> World:
    globex = api.post("/api/v1/issuers", json=OTHER)
    assert globex.status_code == 201, globex.get_json()
    globex_achievement = api.post("/api/v1/issuers/globex/achievements", json=ACHIEVEMENT)
    assert globex_achievement.status_code == 201, globex_achievement.get_json()
    return World(
        acme=issuer, acme_achievement=achievement["id"], acme_credential=issue_one(api, achievement["id"], "acme-1"),
        globex=globex.get_json(), globex_achievement=globex_achievement.get_json()["id"],
        globex_credential=issue_one(api, globex_achievement.get_json()["id"], "globex-1"),
    )


@pytest.fixture
def acme_api(api, services, world):
    """An API client holding a token scoped to the issuer acme."""
    return api.as_token(make_token(services, "acme"))


def vc_api_credential(issuer_did: str) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer_did,
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21"},
    }


# Every endpoint behind a token, as (method, path, body) for the issuer whose things it touches.
def endpoints(world: World, who: str) -> dict[str, tuple[str, str, dict | None]]:
    slug = world.acme["slug"] if who == "acme" else world.globex["slug"]
    did = world.acme["id"] if who == "acme" else world.globex["id"]
    achievement = world.acme_achievement if who == "acme" else world.globex_achievement
    credential = world.acme_credential if who == "acme" else world.globex_credential
    return {
        "get-issuer": ("get", f"/api/v1/issuers/{slug}", None),
        "create-achievement": ("post", f"/api/v1/issuers/{slug}/achievements", ACHIEVEMENT),
        "get-achievement": ("get", f"/api/v1/achievements/{achievement}", None),
        "post-result": ("post", f"/api/v1/achievements/{achievement}/results", result_body(f"{who}-scoped")),
        "list-issuer-credentials": ("get", f"/api/v1/credentials?issuer={slug}", None),
        "get-credential": ("get", f"/api/v1/credentials/{credential}", None),
        "rotate-key": ("post", f"/api/v1/issuers/{slug}/keys/rotate", None),
        "vc-api-issue": ("post", "/credentials/issue", {"credential": vc_api_credential(did), "options": {}}),
    }


ENDPOINT_NAMES = list(endpoints(World({"slug": "", "id": ""}, "", "", {"slug": "", "id": ""}, "", ""), "acme"))
ALL_ENDPOINTS = ENDPOINT_NAMES + ["create-issuer", "list-credentials"]


def call(client, method: str, path: str, body, headers: dict):
    if method == "get":
        return client.get(path, headers=headers)
    if body is None:
        return client.post(path, headers=headers)
    return client.post(path, json=body, headers=headers)


def endpoint(world: World, name: str, who: str = "acme"):
    extra = {"create-issuer": ("post", "/api/v1/issuers", {**ISSUER, "slug": "initech"}),
             "list-credentials": ("get", "/api/v1/credentials", None)}
    return extra[name] if name in extra else endpoints(world, who)[name]


# --- 401: who are you? -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_ENDPOINTS)
@pytest.mark.parametrize("authorization, code", [
    (None, "token_missing"),
    ("", "token_missing"),
    ("Basic dXNlcjpwYXNzd29yZA==", "token_malformed"),
    ("Bearer", "token_malformed"),
    ("Bearer    ", "token_malformed"),
    ("Token bdg_abc", "token_malformed"),
    ("bdg_abc", "token_malformed"),
    ("Bearer bdg_unknown", "token_invalid"),
    ("Bearer bdg_" + "A" * 43, "token_invalid"),
], ids=["none", "empty", "basic", "bearer-alone", "bearer-blank", "other-scheme", "bare-token", "unknown", "unknown-long"])
def test_unauthenticated(client, services, world, name, authorization, code):
    before = row_counts(services)
    method, path, body = endpoint(world, name)
    headers = {} if authorization is None else {"Authorization": authorization}
    problem = assert_problem(call(client, method, path, body, headers), 401, code)
    assert "Bearer" in problem["detail"] or code == "token_invalid"
    assert row_counts(services) == before


def test_token_with_one_character_changed(client, api, services, world):
    token = api.token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_problem(client.get("/api/v1/credentials", headers={"Authorization": f"Bearer {tampered}"}),
                   401, "token_invalid")
    assert client.get("/api/v1/credentials", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_scheme_is_case_insensitive_and_token_is_trimmed(client, api, world):
    for header in (f"bearer {api.token}", f"BEARER {api.token}", f"Bearer  {api.token} "):
        response = client.get("/api/v1/credentials", headers={"Authorization": header})
        assert response.status_code == 200, (header, response.get_json())


def test_revoked_token(client, services, world):
    token = make_token(services, "acme")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/issuers/acme", headers=headers).status_code == 200
    with services.sessionmaker() as session, transaction(session):
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest()))
        row.revoked_at = services.clock()
    before = row_counts(services)
    assert_problem(client.get("/api/v1/issuers/acme", headers=headers), 401, "token_invalid")
    assert_problem(client.post(f"/api/v1/achievements/{world.acme_achievement}/results", json=result_body("r-9"),
                               headers=headers), 401, "token_invalid")
    assert row_counts(services) == before


def test_authentication_comes_before_everything_else(client, services, world):
    """No token: 401, whether or not the issuer exists and whatever the body; nothing leaks."""
    before = row_counts(services)
    for path in ("/api/v1/issuers/nobody", "/api/v1/issuers/acme"):
        assert_problem(client.get(path), 401, "token_missing")
    assert_problem(client.post(f"/api/v1/achievements/{world.acme_achievement}/results", data=b"{not json",
                               headers={"Content-Type": "application/json"}), 401, "token_missing")
    assert_problem(client.post("/api/v1/issuers", data="x", headers={"Content-Type": "text/plain"}), 401,
                   "token_missing")
    assert row_counts(services) == before


def test_public_documents_need_no_token(client, world):
    assert client.get("/issuers/acme").status_code == 200
    assert client.get(f"/credentials/{world.globex_credential}", headers={"Accept": "application/ld+json"}).status_code == 200


# --- stored hashed -----------------------------------------------------------------------------

def test_tokens_are_stored_hashed(services, world):
    plain = make_token(services, "acme")
    admin_plain = make_token(services)
    with services.sessionmaker() as session:
        rows = session.execute(text("SELECT * FROM api_tokens")).mappings().all()
    dump = repr([dict(r) for r in rows])
    for token in (plain, admin_plain):
        assert token.startswith("bdg_") and len(token) > 40
        assert token not in dump and token.removeprefix("bdg_") not in dump
        assert token.removeprefix("bdg_")[:16] not in dump  # not even a readable prefix
        assert hashlib.sha256(token.encode("utf-8")).hexdigest() in {r["token_hash"] for r in rows}


# --- 403: an issuer's token stays with its issuer ----------------------------------------------

@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_issuer_token_is_refused_for_another_issuer(acme_api, services, world, name):
    before = row_counts(services)
    with services.sessionmaker() as session:
        globex_keys = [(k.id, k.retired_at) for k in session.scalars(select(SigningKey).order_by(SigningKey.id))]
    method, path, body = endpoint(world, name, "globex")
    problem = assert_problem(call(acme_api.client, method, path, body, {"Authorization": f"Bearer {acme_api.token}"}),
                             403, "token_scope")
    assert "another issuer" in problem["detail"]
    assert row_counts(services) == before
    with services.sessionmaker() as session:
        assert [(k.id, k.retired_at) for k in session.scalars(select(SigningKey).order_by(SigningKey.id))] == globex_keys


@pytest.mark.parametrize("name, status", [
    ("get-issuer", 200), ("create-achievement", 201), ("get-achievement", 200), ("post-result", 201),
    ("list-issuer-credentials", 200), ("get-credential", 200), ("rotate-key", 200), ("vc-api-issue", 201),
])
def test_issuer_token_acts_on_its_own_issuer(acme_api, world, name, status):
    method, path, body = endpoint(world, name, "acme")
    response = call(acme_api.client, method, path, body, {"Authorization": f"Bearer {acme_api.token}"})
    assert response.status_code == status, response.get_json()
    answer = response.get_json()
    if name in ("get-issuer", "rotate-key"):
        assert answer["slug"] == "acme"
    if name == "rotate-key":
        assert [k["active"] for k in answer["keys"]] == [False, True]
    if name == "post-result":
        assert answer["credential"]["issuer"]["id"] == world.acme["id"]
    if name == "vc-api-issue":
        assert answer["verifiableCredential"]["issuer"] == world.acme["id"]
    if name in ("get-credential",):
        assert answer["id"] == world.acme_credential and answer["issuer"] == "acme"
    if name == "list-issuer-credentials":
        assert [c["id"] for c in answer["items"]] == [world.acme_credential]


def test_issuer_token_cannot_create_issuers(acme_api, services, world):
    before = row_counts(services)
    assert_problem(acme_api.post("/api/v1/issuers", json={**ISSUER, "slug": "initech"}), 403, "token_scope")
    # Not even a bad body gets as far as validation.
    assert_problem(acme_api.post("/api/v1/issuers", json={"slug": "Not A Slug"}), 403, "token_scope")
    assert row_counts(services) == before


def test_issuer_token_lists_only_its_own_credentials(api, acme_api, world):
    second = issue_one(api, world.acme_achievement, "acme-2")
    issue_one(api, world.globex_achievement, "globex-2")

    own = acme_api.get("/api/v1/credentials")
    assert own.status_code == 200, own.get_json()
    assert {c["id"] for c in own.get_json()["items"]} == {world.acme_credential, second}
    assert {c["issuer"] for c in own.get_json()["items"]} == {"acme"}

    # Filtering by the other issuer's achievement shows nothing rather than its credentials.
    filtered = acme_api.get(f"/api/v1/credentials?achievement_id={world.globex_achievement}")
    assert filtered.status_code == 200 and filtered.get_json()["items"] == []

    everything = api.get("/api/v1/credentials")
    assert everything.status_code == 200
    assert len(everything.get_json()["items"]) == 4
    assert {c["issuer"] for c in everything.get_json()["items"]} == {"acme", "globex"}


def test_instance_token_reaches_every_issuer(api, world):
    for who in ("acme", "globex"):
        for name, (method, path, body) in endpoints(world, who).items():
            response = call(api.client, method, path, body, {"Authorization": f"Bearer {api.token}"})
            assert response.status_code in (200, 201), (who, name, response.get_json())
