"""A credential's public page, the issuer page and the achievement page in a real headless
Chromium (the system's chromium and chromedriver; see test_verify_page.py for the set-up).

The app runs as a live server on 127.0.0.1 over a temporary SQLite database. Two credentials
are issued through the API; one of them is then suspended through it. Screenshots at phone and desktop
widths go to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import base64
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dataintegrity import bundled_document_loader
from issuer import create_app
from issuer.db import make_engine, make_sessionmaker, transaction
from issuer.migrate import upgrade
from issuer.models import Credential
from issuer.services import Services
from issuer.urls import Urls
from keys import KeyEncryptionKey
from tests.browser.test_verify_page import DESKTOP, PHONE, _start_browser
from tests.conftest import ACHIEVEMENT, ISSUER, TEST_KEK, Clock, make_token, result_body

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

try:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError:  # pragma: no cover - _start_browser reports the missing selenium
    pass


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app on a free loopback port, with a verified and a suspended credential.
    Yields (base, {"verified": id, "suspended": id, "achievement": id})."""
    from werkzeug.serving import make_server

    tmp = tmp_path_factory.mktemp("credential-page")
    holder = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    engine = make_engine(f"sqlite:///{tmp / 'browser.sqlite3'}")
    thread = None
    try:
        upgrade(engine)
        services = Services(
            sessionmaker=make_sessionmaker(engine),
            key_encryption_key=KeyEncryptionKey.from_text(TEST_KEK),
            document_loader=bundled_document_loader(),
            urls=Urls(base),
            clock=Clock(datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)),
        )
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp / "instance"), "BASE_URL": base,
                          "VERIFY_ALLOW_HTTP_LOOPBACK": True}, services=services)
        holder["app"] = app

        client = app.test_client()
        headers = {"Authorization": f"Bearer {make_token(services)}"}
        assert client.post("/api/v1/issuers", json=ISSUER, headers=headers).status_code == 201
        achievement = client.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT, headers=headers)
        assert achievement.status_code == 201, achievement.json
        ids = {"achievement": achievement.json["id"]}
        for name, email in (("verified", "ada@example.org"), ("suspended", "grace@example.org")):
            body = result_body(f"browser-{name}", email=email,
                               evidence=[{"id": "https://lms.example/attempts/1", "name": "Exam attempt"}])
            response = client.post(f"/api/v1/achievements/{ids['achievement']}/results", json=body, headers=headers)
            assert response.status_code == 201, response.json
            ids[name] = response.json["credential_id"]
        response = client.post(f"/api/v1/credentials/{ids['suspended']}/suspend", json={"reason": "under review"},
                               headers=headers)
        assert response.status_code == 200, response.json
        with services.sessionmaker() as session, transaction(session):
            session.get(Credential, ids["verified"]).display_name = "Ada L."  # as the earner would choose

        thread = threading.Thread(target=server.serve_forever, name="credential-page-server", daemon=True)
        thread.start()
        yield base, ids
    finally:
        if thread is not None:
            server.shutdown()
            thread.join(timeout=10)
        server.server_close()
        engine.dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _start_browser(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def browser_without_js(tmp_path_factory):
    driver = _start_browser(tmp_path_factory.mktemp("chromium-profile-nojs"), javascript=False)
    yield driver
    driver.quit()


def status(driver) -> tuple[str, str]:
    element = driver.find_element(By.ID, "status")
    return element.get_attribute("data-status"), element.text


def screenshot(driver, name: str, size: tuple[int, int]) -> Path:
    """A full-page PNG at the given viewport; the page must not scroll sideways."""
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"credential-page-{name}-{width}x{height}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
    return path


def test_page_works_without_javascript(live, browser_without_js):
    base, ids = live
    driver = browser_without_js
    driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert driver.title == "off"  # JavaScript really is off
    driver.get(f"{base}/credentials/{ids['verified']}")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Python Basics"
    assert status(driver)[0] == "verified" and status(driver)[1].startswith("Verified")
    assert driver.find_element(By.ID, "earner").text == "Ada L."
    assert driver.find_element(By.ID, "linkedin").is_displayed()
    assert driver.title.startswith("Verified: Python Basics")


def test_suspended_credential_says_so(live, browser):
    base, ids = live
    browser.get(f"{base}/credentials/{ids['suspended']}")
    state, words = status(browser)
    assert state == "suspended" and words.startswith("Suspended")
    assert browser.find_elements(By.ID, "linkedin") == []
    assert browser.find_elements(By.ID, "earner") == []  # no chosen name: none shown
    assert "grace" not in browser.find_element(By.TAG_NAME, "body").text.lower()


def test_images_load_and_nothing_comes_from_elsewhere(live, browser):
    base, ids = live
    browser.get(f"{base}/credentials/{ids['verified']}")
    for image in browser.find_elements(By.TAG_NAME, "img"):
        assert image.get_attribute("alt"), image.get_attribute("outerHTML")
        loaded = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0;", image)
        assert loaded, f"{image.get_attribute('src')} did not load"
    assert browser.find_elements(By.CSS_SELECTOR, "script, link[rel=stylesheet]") == []
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert resources and all(url.startswith(f"{base}/") for url in resources), resources
    # Landmarks for screen readers.
    for landmark in ("header", "main", "footer"):
        assert len(browser.find_elements(By.TAG_NAME, landmark)) == 1, landmark


def test_keyboard_reaches_every_link_with_a_visible_focus(live, browser):
    base, ids = live
    browser.get(f"{base}/credentials/{ids['verified']}")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")]
    # Focus starts at the document, as after loading the page (no click: that would move the start).
    reached = []
    for _ in range(len(links) + 2):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        if active.tag_name != "a":
            continue
        reached.append(active.get_attribute("href"))
        outline = browser.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, parseFloat(s.outlineWidth)];", active)
        assert outline[0] != "none" and outline[1] >= 2, (active.get_attribute("outerHTML"), outline)
    assert reached[0].endswith("#content")  # the skip link comes first
    assert set(links) <= set(reached), set(links) - set(reached)
    # The skip link leads to the main content.
    browser.get(f"{base}/credentials/{ids['verified']}")
    ActionChains(browser).send_keys(Keys.TAB).send_keys(Keys.ENTER).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "content"


def test_issuer_and_achievement_pages(live, browser):
    base, ids = live
    browser.get(f"{base}/credentials/{ids['verified']}")
    browser.find_element(By.CSS_SELECTOR, "main a[href='/issuers/acme']").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Acme Academy"
    browser.find_element(By.LINK_TEXT, "Python Basics").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Python Basics"
    assert browser.find_element(By.ID, "passing-score").text == "70 out of 100"


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots(live, browser, size):
    base, ids = live
    for name, path in (("verified", f"/credentials/{ids['verified']}"),
                       ("suspended", f"/credentials/{ids['suspended']}"),
                       ("issuer", "/issuers/acme"),
                       ("achievement", f"/achievements/{ids['achievement']}")):
        browser.get(f"{base}{path}")
        assert screenshot(browser, name, size).stat().st_size > 0
