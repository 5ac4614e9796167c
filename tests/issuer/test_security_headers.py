"""Security headers: every HTML answer has a Content-Security-Policy with no inline allowance,
forbids framing, says nosniff and sets a referrer policy; answers over https carry HSTS.

The page routes are enumerated from the app's URL map: every route is asked for HTML, and the set
that answers HTML must be exactly the pages below, so a new page cannot miss the headers."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

import pytest

from tests.conftest import ISSUER, result_body

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PAGES = {
    ("GET", "public.credential"), ("GET", "public.issuer_profile"), ("GET", "public.achievement"),
    ("GET", "verifier.verify_page"), ("POST", "verifier.verify_page_post"),
    ("GET", "manage.manage_page"), ("POST", "manage.save_choices"),
    # The earner portfolio (signed out: forms without a CSRF token answer a 403 page, the rest redirect to /me).
    ("GET", "portfolio.me"), ("POST", "portfolio.request_link"), ("GET", "portfolio.confirm"),
    ("POST", "portfolio.sign_in"), ("POST", "portfolio.sign_out"), ("POST", "portfolio.set_visibility"),
    ("GET", "portfolio.download_everything"), ("POST", "portfolio.publish"), ("POST", "portfolio.unpublish"),
    ("GET", "portfolio.published"),
    # The admin console, asked by a signed-in instance admin (see `ask`).
    *{("GET", f"console.{name}") for name in (
        "login", "second_factor", "forgot", "reset", "security", "dashboard", "credentials", "credential", "issuers",
        "issuer", "tokens", "audit_log", "achievements", "achievement", "new_achievement", "import_results", "edit_achievement",
        "webhooks_page", "webhook_deliveries")},
    *{("POST", f"console.{name}") for name in (
        "login", "second_factor", "logout", "forgot", "reset", "security", "change_credential", "bulk_revoke",
        "tokens", "new_achievement", "achievement_image", "import_results", "issuer_settings", "rotate_key",
        "edit_achievement", "webhooks_page", "rotate_webhook", "delete_webhook")},
    ("GET", "party_pages.sign_in_page"), ("POST", "party_pages.sign_in"), ("GET", "party_pages.watches_page"),
    ("POST", "party_pages.sign_out"),
}
ADMIN = ("admin@example.org", "a long enough admin password")


@pytest.fixture
def ids(api, achievement):
    """Real values for every URL variable: a credential, its issuer and achievement, a management token."""
    answer = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body())
    assert answer.status_code == 201, answer.json
    credential_id = answer.json["credential_id"]
    link = api.post(f"/api/v1/credentials/{credential_id}/management-link")
    assert link.status_code == 201, link.json
    status_list = answer.json["credential"]["credentialStatus"][0]["statusListCredential"]
    hook = api.post("/api/v1/webhooks", json={"url": "https://93.184.215.14/hooks", "issuer": ISSUER["slug"]})
    assert hook.status_code == 201, hook.json
    return {"credential_id": credential_id, "slug": ISSUER["slug"],
            "achievement_id": achievement["id"], "token": urlsplit(link.json["url"]).path.rsplit("/", 1)[1],
            "list_id": status_list.rsplit("/", 1)[1], "token_id": "x", "filename": "none.css", "action": "suspend",
            "pathway_id": achievement["id"], "endpoint_id": hook.json["id"], "message_id": "x",
            "watch_id": "x"}


def page_requests(app, ids):
    """(method, endpoint, path) for every route and method of the app."""
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{name}>", ids.get(name, "x"), path)  # "x": an unknown id
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.endpoint, path


def ask(client, method, path, **kwargs):
    data = {"display_name": "Ada", "visibility": "public"} if path.startswith("/manage/") else {}
    if path.startswith("/admin"):
        # Signed in afresh each time (a route may sign out), forms sent with their CSRF token.
        def csrf_token():
            page = client.get("/admin/login").get_data(as_text=True)
            return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

        client.post("/admin/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_token()})
        csrf = csrf_token()  # signing in starts a new session, with a new token
        data = {"email": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf, "reason": "checking headers",
                "code": "000000"}
    return client.open(path, method=method, headers=HTML, data=data, **kwargs)


def assert_page_headers(response, what):
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in policy.split(";"))
    assert directives.get("default-src") == "'none'", (what, policy)
    assert directives.get("frame-ancestors") == "'none'", (what, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "*" not in policy, (what, policy)
    assert "script-src" not in directives, (what, policy)  # no scripts at all
    assert response.headers["X-Content-Type-Options"] == "nosniff", what
    assert response.headers["X-Frame-Options"] == "DENY", what
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer"}, what
    # Every inline style of the page is allowed by its hash, and nothing inline is left unallowed.
    html = response.get_data(as_text=True)
    assert "style=" not in html and "<script" not in html, what
    for block in re.findall(r"<style>(.*?)</style>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["style-src"], what


def test_every_html_answer_has_the_security_headers(app, services, client, ids):
    from issuer.db import transaction
    from issuer.people.accounts import create_user

    with services.sessionmaker() as session, transaction(session):
        create_user(session, ADMIN[0], ADMIN[1], now=services.clock(), is_admin=True)
    answered_html = set()
    for method, endpoint, path in page_requests(app, ids):
        response = ask(client, method, path)
        if response.mimetype == "text/html":
            answered_html.add((method, endpoint))
            assert_page_headers(response, f"{method} {path} ({response.status_code})")
        else:
            assert response.headers["X-Content-Type-Options"] == "nosniff", (method, path)
            assert response.headers["Content-Security-Policy"].startswith("default-src 'none'"), (method, path)
    assert answered_html == PAGES


def test_error_pages_have_them_too(client, ids):
    for response in (client.get("/manage/" + "B" * 43, headers=HTML),
                     client.post("/verify", data={}, headers=HTML),
                     client.post(f"/manage/{ids['token']}", data={"display_name": "x" * 81, "visibility": "public"},
                                 headers=HTML)):
        assert response.status_code in (400, 404, 422) and response.mimetype == "text/html", response.status
        assert_page_headers(response, response.status)


def test_the_management_page_keeps_its_stricter_referrer_policy(client, ids):
    response = client.get(f"/manage/{ids['token']}", headers=HTML)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert_page_headers(response, "manage")


def test_hsts_only_over_https(client, ids):
    pages = [f"/credentials/{ids['credential_id']}", "/verify", f"/issuers/{ids['slug']}"]
    for path in pages:
        secure = client.get(path, headers=HTML, base_url="https://badges.test")
        assert secure.status_code == 200, path
        assert secure.headers["Strict-Transport-Security"] == "max-age=31536000", path
        plain = client.get(path, headers=HTML, base_url="http://badges.test")
        assert "Strict-Transport-Security" not in plain.headers, path
    api = client.get("/api/openapi.json", base_url="https://badges.test")
    assert api.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_behind_a_trusted_proxy(services, tmp_path, ids):
    """Behind a TLS-terminating proxy the app is told to trust its X-Forwarded-Proto
    (TRUSTED_PROXY_COUNT): request.is_secure then says https, and HSTS is sent."""
    from issuer import create_app

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "proxied"), "BASE_URL": "https://badges.test",
                      "HSTS_MAX_AGE_SECONDS": 600, "TRUSTED_PROXY_COUNT": 1}, services=services)
    client = app.test_client()
    forwarded = client.get("/verify", headers={**HTML, "X-Forwarded-Proto": "https"})
    assert forwarded.headers["Strict-Transport-Security"] == "max-age=600"
    assert "Strict-Transport-Security" not in client.get("/verify", headers=HTML).headers
