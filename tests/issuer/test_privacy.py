"""Privacy of credential pages and the earner's private management link (/manage/<token>)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from issuer.manage import hash_manage_token, new_management_link
from issuer.models import AuditEntry, Credential
from issuer.privacy import display_name, is_public
from verifier.forms.baked import extract_png, extract_svg
from tests.conftest import BASE_URL, make_token, result_body
from tests.issuer.problems import assert_problem, row_counts

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON_LD = {"Accept": "application/ld+json"}
SAME_ORIGIN = {"Origin": BASE_URL}


def award(api, achievement, external_id="attempt-1", **extra) -> dict:
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id, **extra))
    assert response.status_code == 201, response.json
    return response.json


def management_path(api, credential_id: str) -> str:
    """A fresh management link from the admin API, as a path for the test client."""
    response = api.post(f"/api/v1/credentials/{credential_id}/management-link")
    assert response.status_code == 201, response.json
    assert response.headers["Cache-Control"] == "no-store"
    url = response.json["url"]
    assert url.startswith(f"{BASE_URL}/manage/")
    return urlsplit(url).path


def save(client, path, *, name="", visibility="public", headers=SAME_ORIGIN):
    return client.post(path, data={"display_name": name, "visibility": visibility}, headers=headers)


class Form(HTMLParser):
    """The inputs of the management page's form, as a browser would send them."""

    def __init__(self, html: str):
        super().__init__()
        self.action = None
        self.inputs: dict[str, list[dict]] = {}
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input":
            self.inputs.setdefault(attrs["name"], []).append(attrs)
        elif tag == "a":
            self.links.append(attrs["href"])

    def value(self, name):
        return self.inputs[name][0].get("value")

    def checked(self, name):
        return [i["value"] for i in self.inputs[name] if "checked" in i]


def stored(services, credential_id) -> Credential:
    with services.sessionmaker() as session:
        credential = session.get(Credential, credential_id)
        credential.issuer  # loaded while the session is open
        return credential


def test_hidden_credential_is_not_found_for_everyone(api, client, achievement, services):
    answer = award(api, achievement)
    credential_id = answer["credential_id"]
    save(client, management_path(api, credential_id), visibility="hidden")

    for headers in (JSON_LD, HTML, {"Accept": "application/json"}, {}):
        response = client.get(f"/credentials/{credential_id}", headers=headers)
        assert_problem(response, 404, "credential_not_found")
    # The same answer as a credential that never existed, so a hidden one cannot be told apart.
    missing = client.get("/credentials/00000000-0000-4000-8000-000000000000", headers=JSON_LD)
    assert missing.json["title"] == client.get(f"/credentials/{credential_id}", headers=JSON_LD).json["title"]
    # The admin API still has it.
    assert api.get(f"/api/v1/credentials/{credential_id}").status_code == 200


def test_hidden_credential_still_verifies_where_it_was_shared(api, client, achievement, outside_verifier):
    answer = award(api, achievement)
    save(client, management_path(api, answer["credential_id"]), visibility="hidden")

    report = outside_verifier.verify_credential(answer["credential"])
    assert report.verified, report.to_dict()
    assert report.check("status").status == "passed"


def test_public_json_never_holds_an_email(api, client, achievement):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    save(client, path, name="Ada L.")
    public = client.get(f"/credentials/{answer['credential_id']}", headers=JSON_LD)
    assert public.status_code == 200
    text = public.get_data(as_text=True).lower()
    assert "ada.lovelace@example.org" not in text and "mailto:" not in text
    # Nor the name the platform sent: the earner's chosen name is for the page, not the signed credential.
    assert "ada lovelace" not in text and "ada l." not in text


def test_management_page_shows_the_form(api, client, achievement):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])

    page = client.get(path, headers=HTML)
    assert page.status_code == 200 and page.mimetype == "text/html"
    form = Form(page.get_data(as_text=True))
    assert form.action == path
    assert form.value("display_name") in (None, "")
    assert form.checked("visibility") == ["public"]
    assert f"{path}/credential.json" in form.links
    assert f"{path}/badge.png" in form.links and f"{path}/badge.svg" in form.links
    assert "ada.lovelace@example.org" not in page.get_data(as_text=True).lower()


def test_earner_sets_name_and_visibility(api, client, achievement, services):
    answer = award(api, achievement)
    credential_id = answer["credential_id"]
    path = management_path(api, credential_id)

    # No name until the earner sets one; the platform-sent name is never used.
    assert display_name(stored(services, credential_id)) is None
    before = client.get(f"/credentials/{credential_id}", headers=HTML)
    assert before.mimetype == "text/html" and "Ada" not in before.get_data(as_text=True)

    saved = save(client, path, name="  Ada L.  ", visibility="public")
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"{path}?saved=1")
    page = client.get(saved.headers["Location"], headers=HTML)
    assert "Your choices are saved." in page.get_data(as_text=True)
    form = Form(page.get_data(as_text=True))
    assert form.value("display_name") == "Ada L." and form.checked("visibility") == ["public"]

    credential = stored(services, credential_id)
    assert credential.display_name == "Ada L." and credential.public is True
    assert display_name(credential) == "Ada L."
    html = client.get(f"/credentials/{credential_id}", headers=HTML)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert "Ada L." in html.get_data(as_text=True)
    assert "ada.lovelace@example.org" not in html.get_data(as_text=True).lower()

    # An empty name removes it; hiding the page hides it.
    assert save(client, path, name="   ", visibility="hidden").status_code == 303
    credential = stored(services, credential_id)
    assert credential.display_name is None and display_name(credential) is None
    assert credential.public is False and not is_public(credential)

    with services.sessionmaker() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "credential.earner_update").order_by(AuditEntry.id)
        ).all()
    assert [(e.actor, e.token_id, e.subject_id, e.details) for e in entries] == [
        ("earner", None, credential_id, {"public": True, "display_name_set": True}),
        ("earner", None, credential_id, {"public": False, "display_name_set": False}),
    ]


@pytest.mark.parametrize("name, message", [
    ("x" * 81, "at most 80 characters"),
    ("Ada\x00L", "control characters"),
    ("Ada\nL", "control characters"),
])
def test_bad_display_name_is_refused_and_nothing_changes(api, client, achievement, services, name, message):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    before = row_counts(services)

    response = save(client, path, name=name)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)
    assert row_counts(services) == before
    credential = stored(services, answer["credential_id"])
    assert credential.display_name is None and credential.public is None


def test_eighty_characters_are_fine(api, client, achievement, services):
    answer = award(api, achievement)
    assert save(client, management_path(api, answer["credential_id"]), name="é" * 80).status_code == 303
    assert stored(services, answer["credential_id"]).display_name == "é" * 80


def test_visibility_must_be_chosen(api, client, achievement, services):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    response = client.post(path, data={"display_name": "Ada", "visibility": "everyone"}, headers=SAME_ORIGIN)
    assert response.status_code == 422
    assert "Choose whether the page is public or hidden." in response.get_data(as_text=True)
    assert stored(services, answer["credential_id"]).public is None


def test_a_new_link_replaces_the_old_one(api, client, achievement, services):
    answer = award(api, achievement)
    old = management_path(api, answer["credential_id"])
    new = management_path(api, answer["credential_id"])
    assert old != new

    assert_problem(client.get(old, headers=JSON_LD), 404, "management_link_not_found")
    assert_problem(save(client, old, visibility="hidden"), 404, "management_link_not_found")
    assert client.get(new, headers=HTML).status_code == 200
    assert stored(services, answer["credential_id"]).public is None


def test_only_the_hash_of_the_token_is_stored_and_audited(api, client, achievement, services):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    token = path.rsplit("/", 1)[1]

    credential = stored(services, answer["credential_id"])
    assert credential.manage_token_hash == hash_manage_token(token) != token
    with services.sessionmaker() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "credential.management_link")).one()
    assert entry.actor == "token" and entry.subject_id == answer["credential_id"]
    assert token not in json.dumps(entry.details) and credential.manage_token_hash not in json.dumps(entry.details)
    listed = api.get("/api/v1/audit").get_data(as_text=True)
    assert "credential.management_link" in listed and token not in listed


@pytest.mark.parametrize("token", [
    "A" * 43,  # well-formed, but no credential has it
    "short",
    "A" * 44,
    "A" * 42 + "%21",
    "%00" * 15,
])
def test_bad_tokens_are_not_found(client, token):
    for headers in (JSON_LD, {}):
        assert_problem(client.get(f"/manage/{token}", headers=headers), 404, "management_link_not_found")
        assert_problem(client.get(f"/manage/{token}/credential.json", headers=headers), 404, "management_link_not_found")
    assert_problem(client.post(f"/manage/{token}", data={"visibility": "public"}, headers=JSON_LD), 404,
                   "management_link_not_found")


def test_a_browser_gets_a_page_for_a_dead_link(client):
    response = client.get("/manage/" + "A" * 43, headers=HTML)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "This link is not valid" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://badges.test", "https://badges.test:8443",
                                    "https://badges.test.evil.example", "https://badges.test:99999", ""])
def test_cross_origin_post_is_refused(api, client, achievement, services, origin):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    before = row_counts(services)

    assert_problem(save(client, path, visibility="hidden", headers={"Origin": origin}), 403, "cross_origin_request")
    assert row_counts(services) == before
    assert stored(services, answer["credential_id"]).public is None


def test_same_origin_with_default_port_is_accepted(api, client, achievement, services):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    assert save(client, path, visibility="hidden", headers={"Origin": "HTTPS://Badges.test:443"}).status_code == 303
    assert stored(services, answer["credential_id"]).public is False


def test_post_without_origin_is_accepted(api, client, achievement, services):
    """Old browsers and scripts send no Origin; the token in the URL is still the secret."""
    answer = award(api, achievement)
    assert save(client, management_path(api, answer["credential_id"]), visibility="hidden", headers={}).status_code == 303
    assert stored(services, answer["credential_id"]).public is False


def test_private_headers(api, client, achievement):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    responses = [
        client.get(path, headers=HTML),
        client.get(f"{path}/credential.json"),
        save(client, path, visibility="public"),
        save(client, path, name="x" * 81),
        client.get("/manage/" + "B" * 43, headers=HTML),
    ]
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store", response.status
        assert response.headers["Referrer-Policy"] == "no-referrer", response.status
        assert "noindex" in response.headers["X-Robots-Tag"], response.status
    page = responses[0]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert '<meta name="referrer" content="no-referrer">' in page.get_data(as_text=True)
    assert "<script" not in page.get_data(as_text=True)


def test_download_through_the_link_while_hidden(api, client, achievement, outside_verifier):
    answer = award(api, achievement)
    path = management_path(api, answer["credential_id"])
    save(client, path, visibility="hidden")

    download = client.get(f"{path}/credential.json")
    assert download.status_code == 200
    assert download.mimetype == "application/ld+json"
    assert download.headers["Content-Disposition"] == f'attachment; filename="credential-{answer["credential_id"]}.json"'
    assert json.loads(download.get_data()) == answer["credential"]
    assert outside_verifier.verify_credential(json.loads(download.get_data())).verified


@pytest.mark.parametrize("extension, media_type, extract", [
    ("png", "image/png", lambda data: extract_png(data)),
    ("svg", "image/svg+xml", lambda data: extract_svg(data.decode("utf-8"))),
])
def test_baked_badges_through_the_link_while_hidden(api, client, achievement, extension, media_type, extract):
    answer = award(api, achievement)
    credential_id = answer["credential_id"]
    path = management_path(api, credential_id)
    save(client, path, visibility="hidden")
    assert_problem(client.get(f"/credentials/{credential_id}/badge.{extension}"), 404, "credential_not_found")

    download = client.get(f"{path}/badge.{extension}")
    assert download.status_code == 200 and download.mimetype == media_type
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Cache-Control"] == "no-store"
    assert json.loads(extract(download.get_data())) == answer["credential"]


def test_issuer_default_hidden_until_the_earner_chooses(api, client, achievement, services):
    response = api.client.patch("/api/v1/issuers/acme", json={"credentials_public": False},
                                headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 200, response.json
    assert response.json["credentials_public"] is False

    answer = award(api, achievement)
    credential_id = answer["credential_id"]
    assert stored(services, credential_id).public is None
    assert_problem(client.get(f"/credentials/{credential_id}", headers=JSON_LD), 404, "credential_not_found")

    path = management_path(api, credential_id)
    assert Form(client.get(path, headers=HTML).get_data(as_text=True)).checked("visibility") == ["hidden"]
    save(client, path, visibility="public")
    assert client.get(f"/credentials/{credential_id}", headers=JSON_LD).status_code == 200

    # The earner's choice outlives a change of the issuer's default.
    patch = api.client.patch("/api/v1/issuers/acme", json={"credentials_public": True},
                             headers={"Authorization": f"Bearer {api.token}"})
    assert patch.status_code == 200
    save(client, path, visibility="hidden")
    assert_problem(client.get(f"/credentials/{credential_id}", headers=JSON_LD), 404, "credential_not_found")


def test_issuer_created_hidden_with_linkedin_id(api):
    body = {"slug": "quiet", "name": "Quiet School", "url": "https://quiet.example", "credentials_public": False,
            "linkedin_organization_id": "1234567"}
    created = api.post("/api/v1/issuers", json=body)
    assert created.status_code == 201, created.json
    assert created.json["credentials_public"] is False and created.json["linkedin_organization_id"] == "1234567"
    fetched = api.get("/api/v1/issuers/quiet").json
    assert fetched["credentials_public"] is False and fetched["linkedin_organization_id"] == "1234567"
    assert api.post("/api/v1/issuers", json={**body, "slug": "loud", "credentials_public": True}).json["credentials_public"] is True
    plain = api.post("/api/v1/issuers", json={"slug": "plain", "name": "P", "url": "https://p.example"}).json
    assert plain["credentials_public"] is True and plain["linkedin_organization_id"] is None


@pytest.mark.parametrize("body, fields", [
    ({"credentials_public": "false"}, ["credentials_public"]),
    ({"credentials_public": 0}, ["credentials_public"]),
    ({"credentials_public": None}, ["credentials_public"]),
    ({"linkedin_organization_id": "acme"}, ["linkedin_organization_id"]),
    ({"linkedin_organization_id": 12345}, ["linkedin_organization_id"]),
    ({"linkedin_organization_id": "1" * 21}, ["linkedin_organization_id"]),
    ({"name": "New name"}, ["name"]),
    ({"credentials_public": True, "slug": "other"}, ["slug"]),
    ({}, ["_schema"]),
])
def test_issuer_patch_refuses_bad_fields(api, issuer, services, body, fields):
    before = row_counts(services)
    response = api.client.patch("/api/v1/issuers/acme", json=body, headers={"Authorization": f"Bearer {api.token}"})
    assert_problem(response, 422, "validation_failed", fields=fields)
    assert row_counts(services) == before


def test_issuer_patch_sets_and_clears_linkedin_id_and_is_audited(api, issuer, services):
    auth = {"Authorization": f"Bearer {api.token}"}
    response = api.client.patch("/api/v1/issuers/acme", json={"linkedin_organization_id": "987"}, headers=auth)
    assert response.status_code == 200 and response.json["linkedin_organization_id"] == "987"
    assert response.json["credentials_public"] is True
    response = api.client.patch("/api/v1/issuers/acme", json={"linkedin_organization_id": None}, headers=auth)
    assert response.json["linkedin_organization_id"] is None
    with services.sessionmaker() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "issuer.update").order_by(AuditEntry.id)).all()
    assert [e.details for e in entries] == [{"linkedin_organization_id": "987"}, {"linkedin_organization_id": None}]


def test_scopes(api, client, achievement, services):
    answer = award(api, achievement)
    api.post("/api/v1/issuers", json={"slug": "other", "name": "Other", "url": "https://other.example"})
    other = api.as_token(make_token(services, "other"))
    own = api.as_token(make_token(services, "acme"))

    assert_problem(other.post(f"/api/v1/credentials/{answer['credential_id']}/management-link"), 403, "token_scope")
    assert_problem(other.client.patch("/api/v1/issuers/acme", json={"credentials_public": False},
                                      headers={"Authorization": f"Bearer {other.token}"}), 403, "token_scope")
    assert own.post(f"/api/v1/credentials/{answer['credential_id']}/management-link").status_code == 201
    assert_problem(api.as_token(None).post(f"/api/v1/credentials/{answer['credential_id']}/management-link"), 401,
                   "token_missing")
    assert_problem(api.post("/api/v1/credentials/00000000-0000-4000-8000-000000000000/management-link"), 404,
                   "credential_not_found")
    assert_problem(api.post("/api/v1/credentials/nope/management-link"), 404, "credential_not_found")


def test_new_management_link_for_the_award_email(services, api, achievement):
    """What the award email calls, in its own transaction: a link that works once committed."""
    answer = award(api, achievement)
    with services.sessionmaker() as session:
        credential = session.get(Credential, answer["credential_id"])
        url = new_management_link(session, credential, services.urls)
        session.commit()
    token = url.rsplit("/", 1)[1]
    assert url == f"{BASE_URL}/manage/{token}" and len(token) == 43
    assert stored(services, answer["credential_id"]).manage_token_hash == hash_manage_token(token)
