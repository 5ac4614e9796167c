"""The pages under their Content-Security-Policy in a real headless Chromium: the browser reports
no violation on any page, and the pages keep their look (their styles apply; screenshots go to
test-artifacts/). A violation listener is installed before each page's own content runs."""

from __future__ import annotations

import base64
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dataintegrity import bundled_document_loader
from issuer import create_app
from issuer.db import make_engine, make_sessionmaker
from issuer.migrate import upgrade
from issuer.services import Services
from issuer.urls import Urls
from keys import KeyEncryptionKey
from tests.browser.test_verify_page import DESKTOP, PHONE, _start_browser
from tests.conftest import ACHIEVEMENT, ISSUER, TEST_KEK, Clock, make_token, result_body

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Collects every CSP violation the page reports, from before its first byte is parsed.
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app on a free loopback port with one credential; yields (base, {page name: path})."""
    from werkzeug.serving import make_server

    tmp = tmp_path_factory.mktemp("page-policy")
    holder = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    engine = make_engine(f"sqlite:///{tmp / 'browser.sqlite3'}")
    thread = None
    try:
        upgrade(engine)
        services = Services(sessionmaker=make_sessionmaker(engine),
                            key_encryption_key=KeyEncryptionKey.from_text(TEST_KEK),
                            document_loader=bundled_document_loader(), urls=Urls(base),
                            clock=Clock(datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)))
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp / "instance"), "BASE_URL": base},
                         services=services)
        holder["app"] = app
        client = app.test_client()
        headers = {"Authorization": f"Bearer {make_token(services)}"}
        assert client.post("/api/v1/issuers", json=ISSUER, headers=headers).status_code == 201
        achievement = client.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT,
                                  headers=headers).json
        issued = client.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(), headers=headers)
        assert issued.status_code == 201, issued.json
        credential_id = issued.json["credential_id"]
        link = client.post(f"/api/v1/credentials/{credential_id}/management-link", headers=headers)
        assert link.status_code == 201, link.json
        pages = {"credential": f"/credentials/{credential_id}", "issuer": f"/issuers/{ISSUER['slug']}",
                 "achievement": f"/achievements/{achievement['id']}", "verify": "/verify",
                 "manage": urlsplit(link.json["url"]).path}
        thread = threading.Thread(target=server.serve_forever, name="page-policy-server", daemon=True)
        thread.start()
        yield base, pages
    finally:
        if thread is not None:
            server.shutdown()
            thread.join(timeout=10)
        server.server_close()
        engine.dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _start_browser(tmp_path_factory.mktemp("chromium-profile-policy"))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS})
    yield driver
    driver.quit()


@pytest.mark.parametrize("page", ["credential", "issuer", "achievement", "verify", "manage"])
def test_no_policy_violation_and_the_styles_apply(live, browser, page):
    base, pages = live
    browser.get(base + pages[page])
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.execute_script("return window.__violations") == [], page
    # The page's own stylesheet applied: the body font is the one it sets (the default is a serif).
    font = browser.execute_script("return getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font, (page, font)
    for image in browser.find_elements("css selector", "img"):
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0;", image), page


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_management_page_screenshot(live, browser, size):
    base, pages = live
    browser.get(base + pages["manage"])
    width, height = size
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        button = browser.find_element("css selector", "button")
        colour = browser.execute_script("return getComputedStyle(arguments[0]).backgroundColor", button)
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert colour == "rgb(11, 83, 148)"  # the page's blue button, so its <style> applied
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"manage-page-{width}x{height}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 0
    assert browser.execute_script("return window.__violations") == []
