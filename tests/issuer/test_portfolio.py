"""The earner portfolio (/me, /p/<slug>): sign-in by a one-time link mailed through a real SMTP
server on loopback by the queue's job (a real huey worker in this process), the credentials issued to that address across issuers, visibility, the
download of everything, and published portfolio pages. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile

import pytest
from sqlalchemy import select

from issuer import create_app
from issuer.models import AuditEntry, EarnerSignInLink, Portfolio
from tests.conftest import ACHIEVEMENT, BASE_URL, ISSUER, result_body
from tests.issuer.test_notify import running_mailbox
from tests.issuer.test_webhooks import worker

ADA = "ada.lovelace@example.org"
OTHER_ISSUER = {"slug": "globex", "name": "Globex Institute", "url": "https://globex.example"}
SQL = {**ACHIEVEMENT, "name": "SQL Essentials", "valid_for": "P1M",
       "alignments": [{"target_name": "SQL", "target_url": "https://esco.example/skill/sql"}]}
LINK = re.compile(r"https?://[^\s]+/me/sign-in/([A-Za-z0-9_-]{43})")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def mailbox():
    with running_mailbox() as box:
        yield box


@pytest.fixture
def config(mailbox, tmp_path):
    return {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port, "MAIL_FROM": "badges@acme.example",
            "SMTP_TIMEOUT_SECONDS": 5, "NOTIFY_CLAIM_TIMEOUT_SECONDS": 60}


@pytest.fixture
def app(services, config):
    return create_app(config, services=services)


@pytest.fixture
def client(app):
    """The app's test client, with a worker running the app's queue (one thread: jobs run in the
    order they were put on it)."""
    with worker(app, workers=1):
        yield app.test_client()


def links(mailbox) -> list:
    """The sign-in emails received (award emails of the issuances may arrive too)."""
    return [m for m in list(mailbox.messages) if m["Subject"] == "Your sign-in link"]


def wait_for_links(mailbox, count: int, timeout: float = 20.0) -> list:
    deadline = time.monotonic() + timeout
    while len(links(mailbox)) < count:
        assert time.monotonic() < deadline, f"{len(links(mailbox))} sign-in email(s), not {count}"
        time.sleep(0.02)
    return links(mailbox)


@pytest.fixture
def held(api):
    """Ada's credentials from two issuers (one renewed), and one of somebody else; returns their ids."""
    ids = {}
    for issuer_body, achievement_body, key in ((ISSUER, ACHIEVEMENT, "python"), (OTHER_ISSUER, SQL, "sql")):
        assert api.post("/api/v1/issuers", json=issuer_body).status_code == 201
        achievement = api.post(f"/api/v1/issuers/{issuer_body['slug']}/achievements", json=achievement_body).json
        response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(f"{key}-1"))
        assert response.status_code == 201, response.json
        ids[key] = response.json["credential_id"]
        ids[f"{key}-achievement"] = achievement["id"]
    renewed = api.post(f"/api/v1/achievements/{ids['python-achievement']}/results",
                       json=result_body("python-2", score=90))
    assert renewed.status_code == 201, renewed.json
    ids["python-renewal"] = renewed.json["credential_id"]
    other = api.post(f"/api/v1/achievements/{ids['python-achievement']}/results",
                     json=result_body("grace-1", email="grace@example.org"))
    ids["grace"] = other.json["credential_id"]
    return ids


def csrf(client, path: str = "/me") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def ask_for_link(client, email: str):
    return client.post("/me", data={"email": email, "csrf_token": csrf(client)})


def mailed_link(client, mailbox, email: str = ADA) -> str:
    """Ask for a link and read its token from the email the worker sends."""
    before = len(links(mailbox))
    assert ask_for_link(client, email).status_code == 200
    mail = wait_for_links(mailbox, before + 1)[-1]
    assert mail["To"] == email.strip().lower()
    return LINK.search(mail.get_content()).group(1)


def sign_in(client, mailbox, email: str = ADA) -> str:
    """Ask for a link, read it from the mail, open it, press the button; returns the token."""
    token = mailed_link(client, mailbox, email)
    page = client.get(f"/me/sign-in/{token}")
    assert page.status_code == 200
    response = client.post(f"/me/sign-in/{token}", data={"csrf_token": CSRF.search(page.get_data(as_text=True)).group(1)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/me")
    return token


def test_sign_in_by_link_shows_every_credential_issued_to_that_email(client, services, mailbox, held):
    assert "Email me a sign-in link" in client.get("/me").get_data(as_text=True)
    token = sign_in(client, mailbox, "  Ada.Lovelace@EXAMPLE.org ")
    mail = links(mailbox)[-1]
    assert mail["To"] == ADA and "works once, within 15 minutes" in mail.get_content()

    page = client.get("/me").get_data(as_text=True)
    assert "Python Basics" in page and "SQL Essentials" in page  # across issuers
    assert "Acme Academy" in page and "Globex Institute" in page
    assert f"credential-{held['python']}" in page and f"credential-{held['python-renewal']}" in page
    assert held["grace"] not in page
    assert "Renewed 25 November 2026" in page and "Earned 25 November 2026" in page  # the timeline
    assert '<th scope="row">SQL</th>' in page and '<th scope="row">Python (computer programming)</th>' in page
    # Only the token's SHA-256 is stored.
    with services.sessionmaker() as session:
        link = session.scalar(select(EarnerSignInLink))
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest() and link.used_at is not None
        assert link.earner == f"mailto:{ADA}"


def test_the_answer_is_the_same_whether_or_not_the_address_holds_credentials(client, mailbox, held):
    unknown = ask_for_link(client, "nobody@example.org")
    known = ask_for_link(client, ADA)
    assert known.status_code == unknown.status_code == 200
    strip = lambda r, e: CSRF.sub("", r.get_data(as_text=True)).replace(e, "EMAIL")  # noqa: E731
    assert strip(known, ADA) == strip(unknown, "nobody@example.org")
    # One worker runs the jobs in order: when Ada's email is here, the other job has run.
    assert [m["To"] for m in wait_for_links(mailbox, 1)] == [ADA]


def test_a_link_works_once_and_expires(client, services, clock, mailbox, held):
    token = sign_in(client, mailbox)
    client.post("/me/sign-out", data={"csrf_token": csrf(client)})
    assert "Email me a sign-in link" in client.get("/me").get_data(as_text=True)
    assert client.get(f"/me/sign-in/{token}").status_code == 404
    assert client.post(f"/me/sign-in/{token}", data={"csrf_token": csrf(client)}).status_code == 404

    late = mailed_link(client, mailbox)
    clock.advance(minutes=15)
    assert client.get(f"/me/sign-in/{late}").status_code == 404
    assert client.post(f"/me/sign-in/{late}", data={"csrf_token": csrf(client)}).status_code == 404
    assert "Email me a sign-in link" in client.get("/me").get_data(as_text=True)
    assert client.get("/me/sign-in/not-a-token").status_code == 404


def test_link_lifetime_is_configurable(services, config, clock, mailbox, held):
    # Its own queue: the job reads the setting of the app whose worker runs it.
    app = create_app({**config, "PORTFOLIO_LINK_MINUTES": 2, "QUEUE_NAME": "lifetime"}, services=services)
    client = app.test_client()
    with worker(app, workers=1):
        token = mailed_link(client, mailbox)
    assert "within 2 minutes" in links(mailbox)[-1].get_content()
    clock.advance(minutes=1)
    assert client.get(f"/me/sign-in/{token}").status_code == 200
    clock.advance(minutes=1)
    assert client.get(f"/me/sign-in/{token}").status_code == 404


def test_forms_need_the_csrf_token(client, mailbox, held):
    assert client.post("/me", data={"email": ADA}).status_code == 403
    assert client.post("/me", data={"email": ADA, "csrf_token": "forged"}).status_code == 403
    token = csrf(client)
    as_json = client.post("/me", json={"email": ADA, "csrf_token": token})  # forms are read as forms only
    assert as_json.status_code == 403 and as_json.json["code"] == "csrf_failed"
    # No sign-in job (the award emails of the fixture's issuances may still be queued).
    assert not [task for task in client.application.extensions["queue"].huey.pending()
                if task.name.endswith("sign_in_link")]
    assert links(mailbox) == []
    sign_in(client, mailbox)
    response = client.post(f"/me/credentials/{held['python']}/visibility", data={"visibility": "hidden"})
    assert response.status_code == 403


def test_a_bad_address_is_refused_with_a_message(client, mailbox):
    response = client.post("/me", data={"email": "not an address", "csrf_token": csrf(client)})
    assert response.status_code == 422
    assert "Enter the email address" in response.get_data(as_text=True)


def test_sign_in_is_throttled_per_email(services, config, mailbox, held):
    app = create_app({**config, "THROTTLE_ENABLED": True, "THROTTLE_SIGN_IN_PER_EMAIL": "2 per hour",
                      "QUEUE_NAME": "throttled"}, services=services)
    client = app.test_client()
    with worker(app, workers=1):
        assert [ask_for_link(client, ADA).status_code for _ in range(3)] == [200, 200, 429]
        assert ask_for_link(client, "grace@example.org").status_code == 200  # another address is counted apart
        assert sorted(m["To"] for m in wait_for_links(mailbox, 3)) == [ADA, ADA, "grace@example.org"]


def test_earner_cookie_is_separate_private_and_signed(client, mailbox, held):
    token = mailed_link(client, mailbox)
    page = client.get(f"/me/sign-in/{token}")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    response = client.post(f"/me/sign-in/{token}", data={"csrf_token": CSRF.search(page.get_data(as_text=True)).group(1)})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("badges_earner="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/me" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    client.set_cookie("badges_earner", value[:-2] + ("AA" if not value.endswith("AA") else "BB"), path="/me")
    assert "Email me a sign-in link" in client.get("/me").get_data(as_text=True)


def test_hide_a_credential_and_the_management_link_keeps_working(client, api, services, mailbox, held):
    link = api.post(f"/api/v1/credentials/{held['sql']}/management-link").json["url"]
    sign_in(client, mailbox)
    response = client.post(f"/me/credentials/{held['sql']}/visibility",
                           data={"visibility": "hidden", "csrf_token": csrf(client)})
    assert response.status_code == 303
    assert client.get(f"/credentials/{held['sql']}", headers={"Accept": "text/html"}).status_code == 404
    assert "Show page" in client.get("/me").get_data(as_text=True)
    manage = client.get(link.removeprefix(BASE_URL)).get_data(as_text=True)
    assert 'id="visibility-hidden" name="visibility" value="hidden" checked' in manage
    with services.sessionmaker() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "credential.earner_update")).one()
        assert entry.actor == "earner" and entry.subject_id == held["sql"]
    # Somebody else's credential is not the earner's to change.
    assert client.post(f"/me/credentials/{held['grace']}/visibility",
                       data={"visibility": "hidden", "csrf_token": csrf(client)}).status_code == 404


def test_download_everything(client, mailbox, held):
    assert client.get("/me/credentials.zip").status_code == 303  # signed out
    sign_in(client, mailbox)
    response = client.get("/me/credentials.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as zipped:
        names = set(zipped.namelist())
        ours = [held["python"], held["python-renewal"], held["sql"]]
        assert names == {f"credential-{i}.json" for i in ours} | {f"badge-{i}.png" for i in ours}
        document = json.loads(zipped.read(f"credential-{held['sql']}.json"))
        assert document["proof"] and document["id"].endswith(held["sql"])
        png = zipped.read(f"badge-{held['sql']}.png")
        assert png.startswith(b"\x89PNG") and held["sql"].encode() in png  # the credential baked in


def test_renewal_soon(client, clock, mailbox, held):
    sign_in(client, mailbox)
    page = client.get("/me").get_data(as_text=True)
    soon = page.split('id="renew"')[1].split('id="timeline"')[0]
    assert "SQL Essentials" in soon and "Python Basics" not in soon  # P1M is within 30 days, P1Y is not


def test_publish_a_portfolio_and_unpublish_it(client, app, services, mailbox, held):
    sign_in(client, mailbox)
    form = {"slug": "ada-lovelace", "title": "Ada's credentials", "credential": [held["python-renewal"], held["sql"]],
            "csrf_token": csrf(client)}
    client.post(f"/me/credentials/{held['sql']}/visibility", data={"visibility": "hidden", "csrf_token": csrf(client)})
    assert client.post("/me/portfolio", data=form).status_code == 303
    assert "/p/ada-lovelace" in client.get("/me").get_data(as_text=True)

    visitor = app.test_client()  # signed out
    page = visitor.get("/p/ada-lovelace")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ada&#39;s credentials" in text
    assert "Python Basics" in text and "Verified" in text
    assert "SQL Essentials" not in text  # picked, but its page is hidden
    assert held["python"] not in text and ADA not in text
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]

    assert client.post("/me/portfolio/unpublish", data={"csrf_token": csrf(client)}).status_code == 303
    assert visitor.get("/p/ada-lovelace").status_code == 404
    with services.sessionmaker() as session:
        assert session.scalars(select(Portfolio)).all() == []


@pytest.mark.parametrize("slug, title, picked, message", [
    ("x", "Title", "python", "3 to 64 characters"),
    ("Has Spaces", "Title", "python", "3 to 64 characters"),
    ("-dash", "Title", "python", "3 to 64 characters"),
    ("ada", "", "python", "Give the page a title"),
    ("ada", "Title", None, "Pick at least one"),
    ("ada", "Title", "grace", "Pick only your own"),
])
def test_publish_refuses_bad_input(client, mailbox, held, slug, title, picked, message):
    sign_in(client, mailbox)
    data = {"slug": slug, "title": title, "csrf_token": csrf(client)}
    if picked:
        data["credential"] = held[picked]
    response = client.post("/me/portfolio", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_a_slug_is_one_earners(app, client, services, mailbox, held):
    sign_in(client, mailbox)
    assert client.post("/me/portfolio", data={"slug": "ada", "title": "A", "credential": held["python"],
                                              "csrf_token": csrf(client)}).status_code == 303
    grace = app.test_client()
    sign_in(grace, mailbox, "grace@example.org")
    response = grace.post("/me/portfolio", data={"slug": "ada", "title": "G", "credential": held["grace"],
                                                 "csrf_token": csrf(grace)})
    assert response.status_code == 422 and "taken" in response.get_data(as_text=True)
    assert "A" in app.test_client().get("/p/ada").get_data(as_text=True)


def test_a_revoked_credential_says_so_on_the_portfolio(client, app, api, mailbox, held):
    sign_in(client, mailbox)
    client.post("/me/portfolio", data={"slug": "ada", "title": "A", "credential": held["sql"],
                                       "csrf_token": csrf(client)})
    assert api.post(f"/api/v1/credentials/{held['sql']}/revoke", json={"reason": "exam voided"}).status_code == 200
    text = app.test_client().get("/p/ada").get_data(as_text=True)
    assert "Revoked" in text and "The issuer has revoked this credential." in text


def test_unknown_portfolio_and_odd_slugs(client):
    for slug in ("nobody", "x", "%00", "a" * 300):
        assert client.get(f"/p/{slug}").status_code == 404


def test_signed_in_pages_have_the_security_headers(client, app, mailbox, held):
    from tests.issuer.test_security_headers import HTML, assert_page_headers

    sign_in(client, mailbox)
    client.post("/me/portfolio", data={"slug": "ada", "title": "A", "credential": held["python"],
                                       "csrf_token": csrf(client)})
    for response in (client.get("/me", headers=HTML), app.test_client().get("/p/ada", headers=HTML),
                     client.post("/me/portfolio", data={"slug": "x", "csrf_token": csrf(client)}, headers=HTML)):
        assert response.mimetype == "text/html"
        assert_page_headers(response, response.request.path)
    assert client.get("/me").headers["Cache-Control"] == "no-store"
    # A client that does not ask for a page gets the problem with its code.
    problem = app.test_client().get("/p/nobody", headers={"Accept": "application/json"})
    assert problem.status_code == 404 and problem.json["code"] == "portfolio_not_found"
    assert client.post("/me", data={"email": ADA}).json["code"] == "csrf_failed"


def test_a_link_signs_in_once_when_two_requests_race(app, client, mailbox, held):
    import threading

    token = mailed_link(client, mailbox)
    browsers = [app.test_client() for _ in range(4)]
    forms = [{"csrf_token": CSRF.search(b.get(f"/me/sign-in/{token}").get_data(as_text=True)).group(1)}
             for b in browsers]
    start, answers = threading.Barrier(len(browsers)), []

    def press(browser, form):
        start.wait()
        answers.append(browser.post(f"/me/sign-in/{token}", data=form).status_code)

    threads = [threading.Thread(target=press, args=pair) for pair in zip(browsers, forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == [303, 404, 404, 404]
    assert sum("Download everything" in b.get("/me").get_data(as_text=True) for b in browsers) == 1


def test_the_cookie_key_is_kept_in_the_instance_folder_and_shared(services, config, tmp_path):
    import os
    import stat

    first, second = create_app(config, services=services), create_app(config, services=services)
    secret = tmp_path / "instance" / "secret-key"
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert first.secret_key == second.secret_key == secret.read_text().strip()  # every worker signs alike
    configured = "configured-and-at-least-32-characters-long"
    assert create_app({**config, "SECRET_KEY": configured}, services=services).secret_key == configured
