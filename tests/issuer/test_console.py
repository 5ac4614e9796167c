"""The admin console: people sign in (password, TOTP, throttling, reset by email), see the
dashboard, find a credential and change its status with a reason and a confirmation step, and the
audit log names them. Runs on the real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import csv
import io
import re

import pyotp
import pytest
from click.testing import CliRunner

from issuer import create_app
from issuer.cli import main
from issuer.db import transaction
from issuer.models import Issuer
from issuer.people import accounts
from tests.conftest import BASE_URL, ISSUER, TEST_KEK, result_body
from sqlalchemy import select

PASSWORD = "correct horse battery staple"
ORIGIN = {"base_url": BASE_URL}


class Browser:
    """The test client, as a browser on our https origin: it keeps the session cookie and sends
    each form with the CSRF token the page gave."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **kwargs):
        return self.client.get(path, **ORIGIN, **kwargs)

    def token(self, path):
        page = self.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        assert found, (path, page.status_code)
        return found.group(1)

    def post(self, path, data, *, form_at=None, csrf=True):
        data = dict(data)
        if csrf:
            data["csrf_token"] = self.token(form_at or path)
        return self.client.post(path, data=data, headers={"Referer": BASE_URL + (form_at or path)}, **ORIGIN)

    def sign_in(self, email, password=PASSWORD):
        return self.post("/admin/login", {"email": email, "password": password})


class Outbox:
    delivers = True

    def __init__(self):
        self.messages = []

    def send(self, message):
        self.messages.append(message)


def add_user(services, email, *, admin=False, slug=None, role=None):
    with services.sessionmaker() as session, transaction(session):
        issuer = session.scalar(select(Issuer).where(Issuer.slug == slug)) if slug else None
        accounts.create_user(session, email, PASSWORD, now=services.clock(), is_admin=admin, issuer=issuer, role=role)


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def credential_id(api, achievement):
    answer = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body())
    assert answer.status_code == 201, answer.json
    return answer.json["credential_id"]


def test_the_cli_makes_the_first_admin_who_signs_in(services, database_url, tmp_path, browser):
    env = {"BADGES_INSTANCE_PATH": str(tmp_path / "cli"), "BADGES_BASE_URL": BASE_URL,
           "BADGES_DATABASE_URL": database_url, "BADGES_KEY_ENCRYPTION_KEY": TEST_KEK}
    runner = CliRunner()
    made = runner.invoke(main, ["user", "create", "--admin", "Root@Example.org"], input=PASSWORD + "\n", env=env)
    assert made.exit_code == 0, made.output
    again = runner.invoke(main, ["user", "create", "root@example.org"], input=PASSWORD + "\n", env=env)
    assert again.exit_code != 0 and "already" in again.output
    short = runner.invoke(main, ["user", "create", "x@example.org"], input="short\n", env=env)
    assert short.exit_code != 0 and "12 characters" in short.output
    nobody = runner.invoke(main, ["user", "password", "nobody@example.org"], input=PASSWORD + "\n", env=env)
    assert nobody.exit_code != 0 and "no user" in nobody.output

    assert browser.get("/admin/").status_code == 302
    wrong = browser.sign_in("root@example.org", "not the password")
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    signed_in = browser.sign_in("root@example.org")
    assert signed_in.status_code == 302
    # A new password set on the server ends the session.
    changed = runner.invoke(main, ["user", "password", "root@example.org"], input="another long password\n", env=env)
    assert changed.exit_code == 0, changed.output
    assert browser.get("/admin/").status_code == 302
    assert browser.sign_in("root@example.org", "another long password").status_code == 302
    dashboard = browser.get("/admin/")
    assert dashboard.status_code == 200
    html = dashboard.get_data(as_text=True)
    assert html.count('role="img"') == 5 and html.count("<table>") == 5 and "<desc id=" in html


def test_forms_without_the_csrf_token_are_refused(services, browser):
    add_user(services, "ada@example.org", admin=True)
    refused = browser.post("/admin/login", {"email": "ada@example.org", "password": PASSWORD}, csrf=False)
    assert refused.status_code == 400
    assert browser.get("/admin/").status_code == 302  # not signed in


def test_the_session_cookie_is_secure_httponly_and_lax(services, browser):
    add_user(services, "ada@example.org", admin=True)
    answer = browser.sign_in("ada@example.org")
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_sign_in_is_throttled_per_account_and_per_address(services, tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "throttled"), "BASE_URL": BASE_URL,
                      "THROTTLE_ENABLED": True, "THROTTLE_SIGNIN_PER_ADDRESS": "8 per 15 minutes"},
                     services=services)
    browser = Browser(app.test_client())
    add_user(services, "ada@example.org", admin=True)
    add_user(services, "bob@example.org", admin=True)
    for _ in range(5):
        assert browser.sign_in("ada@example.org", "wrong password!").status_code == 401
    # Even the right password waits now; another account does not (yet).
    assert browser.sign_in("ada@example.org").status_code == 429
    for _ in range(3):
        assert browser.sign_in("bob@example.org", "wrong password!").status_code == 401
    assert browser.sign_in("bob@example.org").status_code == 429  # the address has spent its 8


def test_a_second_factor_is_enrolled_and_then_asked_for(services, browser, clock):
    add_user(services, "ada@example.org", admin=True)
    browser.sign_in("ada@example.org")
    page = browser.get("/admin/security").get_data(as_text=True)
    secret = re.search(r"<dt>Key</dt><dd><code>([A-Z2-7]+)</code>", page).group(1)
    assert "otpauth://totp/" in page and "<svg" in page
    assert browser.post("/admin/security", {"code": "000000"}).status_code == 422
    code = pyotp.TOTP(secret).at(clock())
    assert "is on" in browser.post("/admin/security", {"code": code}).get_data(as_text=True)

    browser.post("/admin/logout", {}, form_at="/admin/")
    assert browser.sign_in("ada@example.org").location.startswith("/admin/login/code")
    assert browser.get("/admin/").status_code == 302  # the password alone is not enough
    assert browser.post("/admin/login/code", {"code": "123456"}).status_code == 401
    # The code that enrolled is spent: the next one signs in.
    assert browser.post("/admin/login/code", {"code": code}).status_code == 401
    clock.advance(seconds=30)
    code = pyotp.TOTP(secret).at(clock())
    assert browser.post("/admin/login/code", {"code": code}).status_code == 302
    assert browser.get("/admin/").status_code == 200

    # A code is good once: seen over a shoulder, it does not sign anyone in again.
    browser.post("/admin/logout", {}, form_at="/admin/")
    browser.sign_in("ada@example.org")
    assert browser.post("/admin/login/code", {"code": code}).status_code == 401
    clock.advance(seconds=30)
    assert browser.post("/admin/login/code", {"code": pyotp.TOTP(secret).at(clock())}).status_code == 302


def test_a_password_is_reset_by_a_single_use_expiring_link(app, services, browser, clock):
    outbox = Outbox()
    app.extensions["mail_transport"] = outbox
    add_user(services, "ada@example.org", admin=True)
    assert "on its way" in browser.post("/admin/forgot", {"email": "nobody@example.org"}).get_data(as_text=True)
    assert outbox.messages == []
    browser.post("/admin/forgot", {"email": "Ada@Example.org"})
    link = re.search(r"https://\S+/admin/reset/\S+", outbox.messages[0].get_content()).group(0)
    path = link.removeprefix(BASE_URL)
    new = "a brand new long password"
    assert browser.post(path, {"password": new, "confirm": new}).status_code == 302
    assert browser.post(path, {"password": new, "confirm": new}, form_at="/admin/login").status_code == 404
    assert browser.sign_in("ada@example.org").status_code == 401
    assert browser.sign_in("ada@example.org", new).status_code == 302

    browser.post("/admin/forgot", {"email": "ada@example.org"})
    late = re.search(r"/admin/reset/\S+", outbox.messages[1].get_content()).group(0)
    clock.advance(hours=2)
    assert browser.get(late).status_code == 404


def test_an_editor_revokes_with_a_reason_and_a_confirmation_and_the_log_names_them(services, browser,
                                                                                 credential_id):
    add_user(services, "ed@example.org", slug=ISSUER["slug"], role="editor")
    browser.sign_in("ed@example.org")
    found = browser.get("/admin/credentials?email=ada.lovelace@example.org&status=active").get_data(as_text=True)
    assert f"/admin/credentials/{credential_id}" in found and "1 found" in found

    target = f"/admin/credentials/{credential_id}/revoke"
    page = f"/admin/credentials/{credential_id}"
    assert browser.post(target, {"reason": ""}, form_at=page).status_code == 422
    confirm = browser.post(target, {"reason": "exam fraud"}, form_at=page)
    assert confirm.status_code == 200 and "A revocation is final" in confirm.get_data(as_text=True)
    assert "active" in browser.get(page).get_data(as_text=True)  # not yet
    done = browser.post(target, {"reason": "exam fraud", "confirm": "yes"}, form_at=page)
    assert done.status_code == 303
    assert "revoked (exam fraud)" in browser.get(page).get_data(as_text=True)

    log = browser.get("/admin/audit?action=credential.revoke").get_data(as_text=True)
    assert "ed@example.org" in log and "exam fraud" in log
    rows = list(csv.DictReader(io.StringIO(browser.get("/admin/audit.csv?action=credential.revoke")
                                           .get_data(as_text=True))))
    assert [(r["action"], r["user"], r["subject_id"]) for r in rows] == [("credential.revoke", "ed@example.org",
                                                                        credential_id)]
    dashboard = browser.get("/admin/").get_data(as_text=True)
    assert "<td>revoked</td><td>1</td>" in dashboard


def test_a_viewer_reads_but_cannot_change_and_others_see_nothing(services, browser, api, credential_id):
    add_user(services, "viewer@example.org", slug=ISSUER["slug"], role="viewer")
    api.post("/api/v1/issuers", json={**ISSUER, "slug": "other", "name": "Other"})
    add_user(services, "stranger@example.org", slug="other", role="owner")
    browser.sign_in("viewer@example.org")
    assert browser.get(f"/admin/credentials/{credential_id}").status_code == 200
    page = f"/admin/credentials/{credential_id}"
    refused = browser.post(f"/admin/credentials/{credential_id}/revoke", {"reason": "x", "confirm": "yes"},
                           form_at="/admin/credentials")
    assert refused.status_code == 403
    browser.post("/admin/logout", {}, form_at="/admin/")
    browser.sign_in("stranger@example.org")
    assert browser.get(page).status_code == 404 or browser.get(page).status_code == 403
    assert "0 found" in browser.get("/admin/credentials").get_data(as_text=True)


def test_bulk_revoke_revokes_the_selection(services, browser, api, achievement):
    ids = []
    for n in range(3):
        answer = api.post(f"/api/v1/achievements/{achievement['id']}/results",
                          json=result_body(f"attempt-{n}", email=f"earner{n}@example.org"))
        ids.append(answer.json["credential_id"])
    add_user(services, "admin@example.org", admin=True)
    browser.sign_in("admin@example.org")
    chosen = {"credential_id": ids[:2], "reason": "course withdrawn"}
    confirm = browser.post("/admin/credentials/revoke", chosen, form_at="/admin/credentials")
    assert "Revoke 2 credentials?" in confirm.get_data(as_text=True)
    done = browser.post("/admin/credentials/revoke", {**chosen, "confirm": "yes"}, form_at="/admin/credentials")
    assert "2 credential(s) revoked" in done.get_data(as_text=True)
    listed = browser.get("/admin/credentials?status=revoked").get_data(as_text=True)
    assert "2 found" in listed and ids[2] not in listed


def test_tokens_are_made_and_revoked_in_the_console(services, browser, api, issuer):
    add_user(services, "owner@example.org", slug=ISSUER["slug"], role="owner")
    browser.sign_in("owner@example.org")
    made = browser.post("/admin/tokens", {"label": "lms", "issuer": ISSUER["slug"]})
    token = re.search(r"<code>(bdg_[^<]+)</code>", made.get_data(as_text=True)).group(1)
    assert api.as_token(token).get(f"/api/v1/issuers/{ISSUER['slug']}").status_code == 200
    assert browser.post("/admin/tokens", {"label": "all", "issuer": ""}).status_code == 403
    token_id = re.search(r"/admin/tokens/([0-9a-f-]{36})/revoke", browser.get("/admin/tokens").get_data(as_text=True))
    assert browser.post(f"/admin/tokens/{token_id.group(1)}/revoke", {}, form_at="/admin/tokens").status_code == 303
    assert api.as_token(token).get(f"/api/v1/issuers/{ISSUER['slug']}").status_code == 401


def test_verifications_of_our_credentials_are_counted_per_day(services, browser, api, issued, clock):
    for _ in range(2):
        answer = api.post("/api/v1/verify", json={"credential": issued})
        assert answer.status_code == 200 and answer.json["verified"], answer.json
    add_user(services, "admin@example.org", admin=True)
    browser.sign_in("admin@example.org")
    dashboard = browser.get("/admin/").get_data(as_text=True)
    assert f"<td>{clock().date().isoformat()}</td><td>2</td>" in dashboard


def png(side: int = 128) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (side, side), (11, 83, 148)).save(out, format="PNG")
    return out.getvalue()


def test_an_editor_creates_an_achievement_uploads_its_image_and_imports_results(services, browser, issuer, api):
    add_user(services, "ed@example.org", slug=ISSUER["slug"], role="editor")
    browser.sign_in("ed@example.org")
    form = f"/admin/issuers/{ISSUER['slug']}/achievements/new"
    fields = {"name": "Data Literacy", "description": "Reads and questions data.", "criteria": "Pass the exam.",
              "achievement_type": "Badge", "passing_score": "60", "max_score": "100", "valid_for": "P2Y",
              "tags": "data, literacy", "alignment1_target_name": "Data literacy",
              "alignment1_target_url": "https://esco.example/skill/data", "alignment1_target_code": "D1"}
    bad = browser.post(form, {**fields, "passing_score": "120"})
    assert bad.status_code == 422 and "passing_score" in bad.get_data(as_text=True)
    made = browser.post(form, fields)
    assert made.status_code == 303
    page = made.location
    achievement_id = page.rsplit("/", 1)[1].split("?")[0]
    assert api.get(f"/api/v1/achievements/{achievement_id}").json["alignments"][0]["target_code"] == "D1"

    image = browser.client.post(f"/admin/achievements/{achievement_id}/image", base_url=BASE_URL,
                                headers={"Referer": BASE_URL + page},
                                data={"csrf_token": browser.token(page),
                                      "image": (io.BytesIO(png()), "badge.png", "image/png")})
    assert image.status_code == 303
    assert f"/achievements/{achievement_id}/image" in browser.get(page).get_data(as_text=True)  # the preview

    rows = ("external_id,email,name,score,completed_at\n"
            "r1,grace@example.org,Grace Hopper,90,2026-11-20T10:00:00Z\n"
            "r2,alan@example.org,Alan Turing,40,2026-11-20T10:00:00Z\n")
    target = f"/admin/achievements/{achievement_id}/import"
    preview = browser.client.post(target, base_url=BASE_URL, headers={"Referer": BASE_URL + target},
                                  data={"csrf_token": browser.token(target),
                                        "file": (io.BytesIO(rows.encode()), "results.csv", "text/csv")})
    assert preview.status_code == 200 and "2 rows read" in preview.get_data(as_text=True)
    assert "0 found" in browser.get(f"/admin/credentials?achievement={achievement_id}").get_data(as_text=True)
    done = browser.post(target, {"csv": rows, "confirm": "yes"})
    assert "1 credential issued, 0 refused" in done.get_data(as_text=True)
    assert "1 found" in browser.get(f"/admin/credentials?achievement={achievement_id}").get_data(as_text=True)
    log = browser.get("/admin/audit?action=credential.issue").get_data(as_text=True)
    assert "ed@example.org" in log

    edit = f"/admin/achievements/{achievement_id}/edit"
    shown = browser.get(edit).get_data(as_text=True)
    assert 'value="Data Literacy"' in shown and 'value="https://esco.example/skill/data"' in shown
    unchanged = browser.post(edit, fields)
    assert unchanged.status_code == 303 and "nothing" in unchanged.location
    saved = browser.post(edit, {**fields, "valid_for": "P3Y", "alignment1_target_code": "D2"})
    assert saved.status_code == 303
    stored = api.get(f"/api/v1/achievements/{achievement_id}").json
    assert stored["valid_for"] == "P3Y" and stored["alignments"][0]["target_code"] == "D2"
    assert "achievement.update" in browser.get("/admin/audit?action=achievement.update").get_data(as_text=True)


def test_an_owner_changes_settings_and_rotates_the_key_an_editor_cannot(services, browser, api, issuer):
    add_user(services, "owner@example.org", slug=ISSUER["slug"], role="owner")
    add_user(services, "ed@example.org", slug=ISSUER["slug"], role="editor")
    page = f"/admin/issuers/{ISSUER['slug']}"
    browser.sign_in("ed@example.org")
    assert "Rotate the key" not in browser.get(page).get_data(as_text=True)
    assert browser.post(f"{page}/keys/rotate", {"confirm": "yes"}, form_at=page).status_code == 403
    browser.post("/admin/logout", {}, form_at="/admin/")

    browser.sign_in("owner@example.org")
    saved = browser.post(f"{page}/settings", {"suspension": "on"}, form_at=page)
    assert saved.status_code == 303
    settings = api.get(f"/api/v1/issuers/{ISSUER['slug']}").json
    assert settings["credentials_public"] is False and settings["suspension"] is True
    confirm = browser.post(f"{page}/keys/rotate", {}, form_at=page)
    assert "Rotate the signing key" in confirm.get_data(as_text=True)
    assert len(api.get(f"/api/v1/issuers/{ISSUER['slug']}").json["keys"]) == 1
    assert browser.post(f"{page}/keys/rotate", {"confirm": "yes"}, form_at=page).status_code == 303
    keys = api.get(f"/api/v1/issuers/{ISSUER['slug']}").json["keys"]
    assert len(keys) == 2
    shown = browser.get(page).get_data(as_text=True)
    assert all(k["verification_method"] in shown for k in keys) and "in use" in shown
    log = browser.get("/admin/audit?action=key.rotate").get_data(as_text=True)
    assert "owner@example.org" in log


@pytest.mark.parametrize("path", [
    "/admin/credentials?page=100000000000000000000000000000&status=x&from=9999-12-31&to=9999-12-31",
    "/admin/credentials?email=a%00b&achievement=%00", "/admin/audit?subject=%00&page=-5&from=0000-01-01",
    "/admin/audit.csv?action=nope&to=9999-12-31", "/admin/credentials/not-an-id", "/admin/achievements/%00",
    "/admin/issuers/%FF%FE", "/admin/reset/%ED%A0%80", "/admin/credentials?email=" + "x" * 5000,
])
def test_odd_input_is_answered_without_a_server_error(services, browser, path):
    add_user(services, "admin@example.org", admin=True)
    browser.sign_in("admin@example.org")
    assert browser.get(path).status_code < 500


def test_odd_forms_are_answered_without_a_server_error(services, browser, credential_id, achievement):
    add_user(services, "admin@example.org", admin=True)
    browser.sign_in("admin@example.org")
    page = f"/admin/credentials/{credential_id}"
    for path, data in ((f"{page}/revoke", {"reason": "a\x00b", "confirm": "yes"}),
                       (f"{page}/nonsense", {"reason": "x"}),
                       ("/admin/credentials/revoke", {"credential_id": ["x", credential_id], "reason": "r" * 10000}),
                       (f"/admin/achievements/{achievement['id']}/import", {"csv": "external_id\n\x00"}),
                       (f"/admin/achievements/{achievement['id']}/import", {"csv": "nonsense,columns\n1,2"}),
                       (f"/admin/issuers/{ISSUER['slug']}/settings", {"suspension": "maybe"}),
                       ("/admin/tokens", {"issuer": "missing", "label": "x" * 1000})):
        assert browser.post(path, data, form_at="/admin/credentials").status_code < 500, path


def _throttled_app(services, tmp_path, name, storage):
    import uuid

    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / name), "BASE_URL": BASE_URL,
                       "THROTTLE_ENABLED": True, "THROTTLE_STORAGE_URI": storage,
                       "THROTTLE_KEY_PREFIX": f"console-{uuid.uuid5(uuid.NAMESPACE_URL, str(tmp_path)).hex}",
                       "THROTTLE_SIGNIN_PER_ACCOUNT": "3 per 15 minutes"}, services=services)


def test_failed_sign_ins_count_on_every_node_through_redis(services, tmp_path):
    """Two nodes sharing the throttling Redis: failures on one count on the other."""
    one = Browser(_throttled_app(services, tmp_path, "one", "redis://127.0.0.1:6379/0").test_client())
    two = Browser(_throttled_app(services, tmp_path, "two", "redis://127.0.0.1:6379/0").test_client())
    add_user(services, "ada@example.org", admin=True)
    for _ in range(2):
        assert one.sign_in("ada@example.org", "wrong password!").status_code == 401
    assert two.sign_in("ada@example.org", "wrong password!").status_code == 401
    assert two.sign_in("ada@example.org").status_code == 429
    assert one.sign_in("ada@example.org").status_code == 429


def test_sign_in_works_while_the_throttling_storage_is_away(services, tmp_path):
    browser = Browser(_throttled_app(services, tmp_path, "away", "redis://127.0.0.1:1/0").test_client())
    add_user(services, "ada@example.org", admin=True)
    assert browser.sign_in("ada@example.org", "wrong password!").status_code == 401
    assert browser.sign_in("ada@example.org").status_code == 302


def test_the_secret_key_is_made_once_in_the_instance_folder_and_shared(services, tmp_path):
    """Without SECRET_KEY the first start writes one (mode 0600); a second process with the same
    instance folder uses it, so a session signed by one is valid on the other."""
    import stat

    from issuer.config import ConfigurationError

    config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "shared"), "BASE_URL": BASE_URL}
    first, second = create_app(config, services=services), create_app(config, services=services)
    path = tmp_path / "shared" / "secret-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == path.read_text().strip()
    add_user(services, "ada@example.org", admin=True)
    one = Browser(first.test_client())
    assert one.sign_in("ada@example.org").status_code == 302
    cookie = one.client.get_cookie("badges_session", domain="badges.test")
    other = second.test_client()
    other.set_cookie("badges_session", cookie.value, domain="badges.test")
    assert other.get("/admin/", base_url=BASE_URL).status_code == 200

    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({**config, "SECRET_KEY": "short"}, services=services)


def test_suspend_unsuspend_and_reissue_from_the_console(services, browser, api, credential_id):
    add_user(services, "ed@example.org", slug=ISSUER["slug"], role="editor")
    browser.sign_in("ed@example.org")
    page = f"/admin/credentials/{credential_id}"
    for action, status in (("suspend", "suspended"), ("suspend", None), ("unsuspend", "active")):
        answer = browser.post(f"{page}/{action}", {"reason": f"{action} check", "confirm": "yes"}, form_at=page)
        if status is None:  # suspending a suspended credential is refused, and the page says why
            assert answer.status_code == 409 and "suspended" in answer.get_data(as_text=True)
        else:
            assert answer.status_code == 303
            assert api.get(f"/api/v1/credentials/{credential_id}").json["status"] == status
    reissued = browser.post(f"{page}/reissue", {"reason": "name corrected", "confirm": "yes"}, form_at=page)
    assert reissued.status_code == 303
    old = api.get(f"/api/v1/credentials/{credential_id}").json
    assert old["status"] == "revoked"
    shown = browser.get(page).get_data(as_text=True)
    assert "the reissued credential" in shown
    entries = api.get("/api/v1/audit").json["items"]
    by_user = [e["action"] for e in entries if e["actor"] == "user"]
    assert {"credential.suspend", "credential.unsuspend", "credential.reissue"} <= set(by_user)
