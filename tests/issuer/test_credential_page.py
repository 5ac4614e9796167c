"""The public pages for people: GET /credentials/<id> (HTML for browsers, JSON-LD for programs),
its live status, meta tags, LinkedIn link, QR code and downloads, and the issuer and achievement
pages. Read through the Flask test client, parsed with the standard library's HTML parser."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from sqlalchemy import select

from issuer.db import transaction
from issuer.models import Credential, Issuer
from issuer.pages import StatusCache, live_status, web_url
from tests.conftest import ACHIEVEMENT, BASE_URL, result_body
from tests.issuer.problems import assert_problem
from tests.issuer.test_vcapi import ob_credential
from verifier.report import CheckResult, Report

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
JSON_TYPES = ["application/ld+json", "application/vc+ld+json", "application/json"]
EMAIL = "Ada.Lovelace@Example.org"
ISSUER_URL = "https://acme.example"
NO_EXPIRY = {key: value for key, value in ACHIEVEMENT.items() if key != "valid_for"}


class Page(HTMLParser):
    """What a test looks at in an HTML page: meta tags, <link>s, links, images, the text of
    elements with an id, and all visible text."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.links: list[dict] = []
        self.anchors: list[dict] = []
        self.images: list[dict] = []
        self.by_id: dict[str, dict] = {}
        self.title = ""
        self._open: list[tuple[str, dict]] = []  # (tag, element) of every open element
        self._text: list[str] = []
        self._in = {"title": False, "style": False}
        self.feed(html)
        self.text = " ".join(" ".join(self._text).split())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        element = {"tag": tag, "attrs": attrs, "text": ""}
        if tag == "meta" and "content" in attrs:
            self.meta[attrs.get("property") or attrs.get("name")] = attrs["content"]
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "a":
            self.anchors.append(element)
        elif tag == "img":
            self.images.append(attrs)
        if "id" in attrs:
            self.by_id[attrs["id"]] = element
        if tag in self._in:
            self._in[tag] = True
        if tag not in self.VOID:
            self._open.append((tag, element))

    def handle_endtag(self, tag):
        if tag in self._in:
            self._in[tag] = False
        while self._open:
            open_tag, element = self._open.pop()
            element["text"] = " ".join(element["text"].split())
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._in["title"]:
            self.title += data
            return
        if self._in["style"]:
            return
        self._text.append(data)
        for _, element in self._open:
            element["text"] += data

    def text_of(self, element_id: str) -> str:
        return " ".join(self.by_id[element_id]["text"].split())

    def anchor(self, text: str) -> dict:
        found = [a for a in self.anchors if " ".join(a["text"].split()) == text]
        assert found, f"no link {text!r} in {[a['text'] for a in self.anchors]}"
        return found[0]["attrs"]

    def has_anchor(self, text: str) -> bool:
        return any(" ".join(a["text"].split()) == text for a in self.anchors)


# ---------------------------------------------------------------- helpers


@pytest.fixture
def credential(api, achievement):
    """A credential issued for a passing result with evidence: (id, signed document)."""
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(
        evidence=[{"id": "https://lms.example/attempts/1", "name": "Exam attempt"}]))
    assert response.status_code == 201, response.json
    return response.json["credential_id"], response.json["credential"]


def page(client, path: str) -> Page:
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def lifecycle(api, credential_id: str, action: str) -> None:
    """Revoke, suspend or unsuspend through the admin API."""
    response = api.post(f"/api/v1/credentials/{credential_id}/{action}", json={"reason": "checking the page"})
    assert response.status_code == 200, response.json


def change(services, model, key, **values) -> None:
    with services.sessionmaker() as session, transaction(session):
        record = session.get(model, key)
        for name, value in values.items():
            setattr(record, name, value)


def acme_id(services) -> str:
    with services.sessionmaker() as session:
        return session.scalar(select(Issuer.id).where(Issuer.slug == "acme"))


def linkedin_fields(shown: Page) -> dict[str, str]:
    url = urlsplit(shown.anchor("Add to LinkedIn profile")["href"])
    assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
    fields = parse_qs(url.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in fields.values()), fields
    return {name: values[0] for name, values in fields.items()}


# ---------------------------------------------------------------- content negotiation


@pytest.mark.parametrize("media_type", JSON_TYPES)
def test_programs_get_the_signed_credential(client, credential, media_type):
    credential_id, document = credential
    response = client.get(f"/credentials/{credential_id}", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.json == document
    assert "Accept" in response.vary


@pytest.mark.parametrize("accept", [
    BROWSER,
    "*/*",
    "text/html",
    "application/ld+json;q=0.5, text/html",
    "image/png",  # nothing we have: the page
])
def test_browsers_get_the_page(client, credential, accept):
    credential_id, _ = credential
    response = client.get(f"/credentials/{credential_id}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Accept" in response.vary
    assert "<h1" in response.get_data(as_text=True)


def test_a_program_preferring_json_ld_over_html_gets_json_ld(client, credential):
    credential_id, document = credential
    response = client.get(f"/credentials/{credential_id}",
                          headers={"Accept": "application/ld+json, application/json;q=0.9, */*;q=0.1"})
    assert response.mimetype == "application/ld+json" and response.json == document


def test_no_accept_header_gets_json_ld(client, credential):
    """A script that says nothing is no browser."""
    credential_id, document = credential
    response = client.get(f"/credentials/{credential_id}")
    assert response.mimetype == "application/ld+json" and response.json == document


def test_download_is_the_signed_credential_as_a_file(client, credential):
    credential_id, document = credential
    response = client.get(f"/credentials/{credential_id}/credential.json")
    assert response.status_code == 200
    assert response.json == document
    assert response.headers["Content-Disposition"] == f'attachment; filename="credential-{credential_id}.json"'


@pytest.mark.parametrize("path", ["", "/credential.json", "/qr.svg"])
@pytest.mark.parametrize("accept", [BROWSER, "application/ld+json"])
def test_unknown_credential_is_a_problem(client, path, accept):
    for credential_id in ("0b6f7a4e-8a39-4c1f-9c0e-3f4f5b8e9d10", "not-an-id"):
        response = client.get(f"/credentials/{credential_id}{path}", headers={"Accept": accept})
        assert_problem(response, 404, "credential_not_found")


@pytest.mark.parametrize("path", ["", "/credential.json", "/qr.svg"])
@pytest.mark.parametrize("accept", [BROWSER, "application/ld+json"])
def test_hidden_credential_is_not_there_for_anyone(client, services, credential, path, accept):
    credential_id, _ = credential
    change(services, Credential, credential_id, public=False)
    response = client.get(f"/credentials/{credential_id}{path}", headers={"Accept": accept})
    assert_problem(response, 404, "credential_not_found")


# ---------------------------------------------------------------- the page


def test_page_of_a_valid_credential(client, credential):
    credential_id, _ = credential
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.by_id["status"]["attrs"]["data-status"] == "verified"
    assert shown.text_of("status").startswith("Verified")
    assert shown.title.startswith("Verified: Python Basics")
    assert shown.text_of("credential-name") == "Python Basics"
    assert ACHIEVEMENT["description"] in shown.text
    assert ACHIEVEMENT["criteria"]["narrative"] in shown.text
    assert shown.anchor("Python (computer programming)")["href"] == "https://esco.example/skill/python"
    assert shown.anchor("Acme Academy")["href"] == "/issuers/acme"
    assert shown.anchor("Exam attempt")["href"] == "https://lms.example/attempts/1"
    assert shown.text_of("score") == "85 out of 100 (passing score 70)"
    assert "Issued 25 November 2026" in shown.text and "Expires 25 November 2027" in shown.text
    badge = shown.images[0]
    assert badge["src"] == f"/credentials/{credential_id}/badge.svg" and badge["alt"] == "Badge: Python Basics"
    assert all(image.get("alt") for image in shown.images)
    assert shown.anchor("Signed credential (JSON)")["href"] == f"/credentials/{credential_id}/credential.json"
    assert shown.anchor("Badge image (PNG)")["href"] == f"/credentials/{credential_id}/badge.png"
    assert shown.anchor("Badge image (SVG)")["href"] == f"/credentials/{credential_id}/badge.svg"
    assert any(image["src"] == f"/credentials/{credential_id}/qr.svg" for image in shown.images)
    assert not shown.has_anchor("Replaced by a newer credential")


def test_page_has_no_script_and_loads_nothing_from_elsewhere(client, credential):
    credential_id, _ = credential
    html = client.get(f"/credentials/{credential_id}", headers={"Accept": BROWSER}).get_data(as_text=True)
    shown = Page(html)
    assert "<script" not in html.lower()
    assert all(not image["src"].startswith(("http:", "https:", "//")) for image in shown.images)
    assert [link for link in shown.links if link.get("rel") == "stylesheet"] == []
    assert "@import" not in html and "url(" not in html


def test_meta_tags_and_alternate_link(client, credential):
    credential_id, _ = credential
    shown = page(client, f"/credentials/{credential_id}")
    page_url = f"{BASE_URL}/credentials/{credential_id}"
    assert shown.meta["og:title"] == "Python Basics"
    assert shown.meta["og:description"] == f"Acme Academy awarded this credential. {ACHIEVEMENT['description']}"
    assert shown.meta["og:url"] == page_url
    assert shown.meta["og:image"] == f"{page_url}/badge.png"
    assert shown.meta["og:image:alt"] == "Badge: Python Basics"
    assert shown.meta["twitter:card"] == "summary"
    assert shown.meta["twitter:image"] == f"{page_url}/badge.png"
    assert {"rel": "alternate", "type": "application/ld+json", "href": page_url} in shown.links
    assert {"rel": "canonical", "href": page_url} in shown.links


def test_expired_credential(client, clock, credential):
    credential_id, _ = credential
    clock.advance(days=366)  # validUntil is a year after issue
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.by_id["status"]["attrs"]["data-status"] == "expired"
    assert shown.text_of("status").startswith("Expired")
    assert "Expired 25 November 2027" in shown.text
    assert not shown.has_anchor("Add to LinkedIn profile")


@pytest.mark.parametrize("action, status, label", [("suspend", "suspended", "Suspended"), ("revoke", "revoked", "Revoked")])
def test_suspended_and_revoked_credentials(api, client, credential, action, status, label):
    credential_id, _ = credential
    assert page(client, f"/credentials/{credential_id}").text_of("status").startswith("Verified")
    lifecycle(api, credential_id, action)
    # At once: the status cache is keyed by the stored status, so a change is never served stale.
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.by_id["status"]["attrs"]["data-status"] == status
    assert shown.text_of("status").startswith(label)
    assert shown.title.startswith(f"{label}: ")
    assert not shown.has_anchor("Add to LinkedIn profile")
    assert not shown.has_anchor("Replaced by a newer credential")


def test_unsuspended_credential_is_verified_again(api, client, credential):
    credential_id, _ = credential
    lifecycle(api, credential_id, "suspend")
    assert page(client, f"/credentials/{credential_id}").text_of("status").startswith("Suspended")
    lifecycle(api, credential_id, "unsuspend")
    assert page(client, f"/credentials/{credential_id}").text_of("status").startswith("Verified")


def test_reissued_credential_links_to_its_successor(api, client, services, credential):
    credential_id, _ = credential
    response = api.post(f"/api/v1/credentials/{credential_id}/reissue", json={"reason": "score corrected", "score": 95})
    assert response.status_code == 201, response.json
    newer_id = response.json["credential_id"]
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.text_of("status").startswith("Revoked")
    assert shown.anchor("Replaced by a newer credential")["href"] == f"/credentials/{newer_id}"
    assert page(client, f"/credentials/{newer_id}").text_of("score").startswith("95 ")
    # A successor the earner hid is not pointed at.
    change(services, Credential, newer_id, public=False)
    assert not page(client, f"/credentials/{credential_id}").has_anchor("Replaced by a newer credential")


def test_expired_and_renewed_credential_links_to_the_renewal(api, client, clock, achievement, credential):
    credential_id, _ = credential
    clock.advance(days=360)
    newer = api.post(f"/api/v1/achievements/{achievement['id']}/results",
                     json=result_body("attempt-2", completed_at=clock().strftime("%Y-%m-%dT%H:%M:%SZ")))
    newer_id = newer.json["credential_id"]  # the same earner passed again: a renewal
    # Renewed but still valid: verified, no pointer yet.
    assert not page(client, f"/credentials/{credential_id}").has_anchor("Replaced by a newer credential")
    clock.advance(days=10)
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.text_of("status").startswith("Expired")
    assert shown.anchor("Replaced by a newer credential")["href"] == f"/credentials/{newer_id}"
    assert page(client, f"/credentials/{newer_id}").text_of("status").startswith("Verified")


def test_tampered_stored_credential_could_not_be_verified(client, services, credential):
    credential_id, document = credential
    change(services, Credential, credential_id, document={**document, "name": "Python Mastery"})
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.by_id["status"]["attrs"]["data-status"] == "unverified"
    assert shown.text_of("status").startswith("Could not be verified")
    assert not shown.has_anchor("Add to LinkedIn profile")


# ---------------------------------------------------------------- the earner's privacy


def test_no_email_and_no_platform_name_in_the_page(client, credential):
    credential_id, _ = credential
    html = client.get(f"/credentials/{credential_id}", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert EMAIL.lower() not in html.lower()
    assert "@" not in Page(html).text  # no email of anyone, issuer's included
    assert "Ada Lovelace" not in html  # the name the assessment platform sent
    assert "earner" not in Page(html).by_id


def test_the_earners_chosen_name_is_shown(client, services, credential):
    credential_id, _ = credential
    change(services, Credential, credential_id, display_name="Ada L. <b>")
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.text_of("earner") == "Ada L. <b>"  # escaped text, not markup
    assert "Ada L." in shown.meta["og:description"]


# ---------------------------------------------------------------- LinkedIn


def test_linkedin_link_with_the_organization_name(client, credential):
    credential_id, _ = credential
    fields = linkedin_fields(page(client, f"/credentials/{credential_id}"))
    assert fields == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Python Basics",
        "organizationName": "Acme Academy",
        "issueYear": "2026",
        "issueMonth": "11",
        "expirationYear": "2027",
        "expirationMonth": "11",
        "certUrl": f"{BASE_URL}/credentials/{credential_id}",
        "certId": credential_id,
    }


def test_linkedin_link_with_the_organization_id_and_no_expiry(api, client, services, issuer):
    change(services, Issuer, acme_id(services), linkedin_organization_id="1234567", name="Acme & Co")
    forever = api.post("/api/v1/issuers/acme/achievements",
                       json={**NO_EXPIRY, "name": "C++ & Rust: 100%"}).json
    response = api.post(f"/api/v1/achievements/{forever['id']}/results", json=result_body())
    credential_id = response.json["credential_id"]
    shown = page(client, f"/credentials/{credential_id}")
    href = shown.anchor("Add to LinkedIn profile")["href"]
    assert "name=C%2B%2B%20%26%20Rust%3A%20100%25" in href  # encoded, so & and + stay in the name
    fields = linkedin_fields(shown)
    assert fields["name"] == "C++ & Rust: 100%"
    assert fields["organizationId"] == "1234567"
    assert "organizationName" not in fields
    assert "expirationYear" not in fields and "expirationMonth" not in fields
    assert "Expires" not in shown.text


# ---------------------------------------------------------------- QR code


def test_qr_code_is_an_svg_of_the_page_url(client, credential):
    credential_id, _ = credential
    response = client.get(f"/credentials/{credential_id}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    root = ElementTree.fromstring(response.data)  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # segno made it for the page's URL: the same code, made again from that URL, is the same SVG.
    page_url = f"{BASE_URL}/credentials/{credential_id}"
    again = io.BytesIO()
    segno.make(page_url, error="m", micro=False).save(again, kind="svg", scale=4, border=4, dark="#000",
                                                      light="#fff", title=page_url)
    assert response.data == again.getvalue()
    assert root.find("{http://www.w3.org/2000/svg}title").text == page_url


# ---------------------------------------------------------------- a credential of any shape


def test_page_of_a_vc_api_credential_shows_no_unsafe_links(api, client, services, issuer):
    document = ob_credential(evidence=[{"id": "javascript:alert(1)", "type": ["Evidence"], "name": "Click me"}])
    response = api.post("/credentials/issue", json={"credential": document})
    assert response.status_code == 201, response.json
    with services.sessionmaker() as session:
        credential_id = session.scalar(select(Credential.id).where(Credential.achievement_id.is_(None)))
    shown = page(client, f"/credentials/{credential_id}")
    assert shown.text_of("credential-name") == "Python Basics"
    assert "Click me" in shown.text and not shown.has_anchor("Click me")
    assert all(not a["attrs"].get("href", "").lower().startswith("javascript:") for a in shown.anchors)


def test_web_url_keeps_only_http_links():
    assert web_url("https://example.org/x") == "https://example.org/x"
    assert web_url("HTTP://example.org") == "HTTP://example.org"
    for value in ("javascript:alert(1)", " javascript:x", "data:text/html,x", "//evil.example", None, 5):
        assert web_url(value) is None


# ---------------------------------------------------------------- the status cache


def test_live_status_words():
    now = None

    def report(*checks):
        return Report((CheckResult.passed("proof"), *checks), now)

    assert live_status(report()).label == "Verified"
    assert live_status(report(CheckResult.failed("validity", "expired", "x"))).label == "Expired"
    assert live_status(report(CheckResult.failed("validity", "not_yet_valid", "x"))).label == "Could not be verified"
    assert live_status(report(CheckResult.failed("status", "suspended", "x"))).label == "Suspended"
    assert live_status(report(CheckResult.failed("status", "status_unavailable", "x"))).label == "Could not be verified"
    both = report(CheckResult.failed("validity", "expired", "x"), CheckResult.failed("status", "revoked", "x"))
    assert live_status(both).label == "Revoked"
    bad_signature = Report((CheckResult.failed("proof", "invalid_signature", "x"),
                            CheckResult.failed("status", "revoked", "x")), now)
    assert live_status(bad_signature).label == "Could not be verified"


def test_status_cache_keeps_a_status_for_a_minute(clock):
    cache = StatusCache(clock)
    computed = []

    def compute():
        computed.append(clock())
        return len(computed)

    assert cache.get("a", compute) == 1
    clock.advance(seconds=59)
    assert cache.get("a", compute) == 1
    assert cache.get("b", compute) == 2  # another key: computed
    clock.advance(seconds=1)
    assert cache.get("a", compute) == 3
    # Never past the credential's validUntil.
    assert cache.get("c", compute, until=clock() + timedelta(seconds=10)) == 4
    clock.advance(seconds=10)
    assert cache.get("c", compute, until=clock() + timedelta(days=1)) == 5
    # Once past validUntil, nothing changes at it any more: kept the full minute.
    assert cache.get("expired", compute, until=clock() - timedelta(days=1)) == 6
    clock.advance(seconds=59)
    assert cache.get("expired", compute, until=clock() - timedelta(days=1)) == 6


def test_status_cache_stays_bounded(clock):
    cache = StatusCache(clock, max_entries=3)
    for key in range(10):
        cache.get(key, lambda: key)
    assert len(cache._entries) == 3
    assert cache.get(9, lambda: "again") == 9  # the newest is kept


# ---------------------------------------------------------------- issuer and achievement pages


def test_issuer_page(api, client, services, issuer, achievement):
    api.post("/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "name": "Advanced Python", "passing_score": 80,
                                                         "valid_for": "P18M"})
    change(services, Issuer, acme_id(services), description="We teach programming.")
    shown = page(client, "/issuers/acme")
    assert shown.title == "Acme Academy"
    assert "We teach programming." in shown.text
    assert shown.anchor(ISSUER_URL)["href"] == ISSUER_URL
    assert shown.anchor("Python Basics")["href"] == f"/achievements/{achievement['id']}"
    assert shown.has_anchor("Advanced Python")
    assert "Passing score 70 out of 100; valid for 1 year." in shown.text
    assert "Passing score 80 out of 100; valid for 18 months." in shown.text
    assert ACHIEVEMENT["criteria"]["narrative"] in shown.text
    assert {"rel": "alternate", "type": "application/ld+json", "href": f"{BASE_URL}/issuers/acme"} in shown.links
    assert shown.meta["og:title"] == "Acme Academy"
    assert "badges@acme.example" not in shown.text


def test_achievement_page(client, issuer, achievement):
    shown = page(client, f"/achievements/{achievement['id']}")
    assert shown.text_of("achievement-name") == "Python Basics"
    assert shown.title == "Python Basics – Acme Academy"
    assert ACHIEVEMENT["description"] in shown.text
    assert ACHIEVEMENT["criteria"]["narrative"] in shown.text
    assert shown.text_of("passing-score") == "70 out of 100"
    assert "Valid for 1 year" in shown.text
    assert shown.anchor("Python (computer programming)")["href"] == "https://esco.example/skill/python"
    assert "(ESCO S1.2.3)" in shown.text
    assert shown.anchor("Acme Academy")["href"] == "/issuers/acme"
    assert shown.meta["og:title"] == "Python Basics"
    assert {"rel": "alternate", "type": "application/ld+json",
            "href": f"{BASE_URL}/achievements/{achievement['id']}"} in shown.links


@pytest.mark.parametrize("media_type", JSON_TYPES)
def test_issuer_and_achievement_json_ld(client, issuer, achievement, media_type):
    for path in ("/issuers/acme", f"/achievements/{achievement['id']}"):
        response = client.get(path, headers={"Accept": media_type})
        assert response.mimetype == media_type and "Accept" in response.vary
        assert response.json["@context"][0] == "https://www.w3.org/ns/credentials/v2"


@pytest.mark.parametrize("path, code", [("/issuers/nobody", "issuer_not_found"),
                                        ("/achievements/0b6f7a4e-8a39-4c1f-9c0e-3f4f5b8e9d10", "achievement_not_found")])
def test_unknown_issuer_and_achievement_pages(client, path, code):
    assert_problem(client.get(path, headers={"Accept": BROWSER}), 404, code)
