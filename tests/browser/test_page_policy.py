"""The pages under their Content-Security-Policy in a real headless Chromium: the browser reports
no violation on any page, and the pages keep their look (their styles apply; screenshots go to
test-artifacts/). A violation listener is installed before each page's own content runs."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.support import DESKTOP, PHONE, capture, live_app, save_png, start_browser, viewport
from tests.conftest import ACHIEVEMENT, ISSUER, result_body

# Collects every CSP violation the page reports, from before its first byte is parsed.
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
"""


def _issue(client, headers, services):
    """One credential and its management link; returns {page name: path}."""
    assert client.post("/api/v1/issuers", json=ISSUER, headers=headers).status_code == 201
    achievement = client.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT,
                              headers=headers).json
    issued = client.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(), headers=headers)
    assert issued.status_code == 201, issued.json
    credential_id = issued.json["credential_id"]
    link = client.post(f"/api/v1/credentials/{credential_id}/management-link", headers=headers)
    assert link.status_code == 201, link.json
    return {"credential": f"/credentials/{credential_id}", "issuer": f"/issuers/{ISSUER['slug']}",
            "achievement": f"/achievements/{achievement['id']}", "verify": "/verify",
            "manage": urlsplit(link.json["url"]).path}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app on a free loopback port with one credential; yields (base, {page name: path})."""
    with live_app(tmp_path_factory.mktemp("page-policy"), "page-policy", _issue) as served:
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile-policy"))
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
    with viewport(browser, size):
        button = browser.find_element("css selector", "button")
        colour = browser.execute_script("return getComputedStyle(arguments[0]).backgroundColor", button)
        shot = capture(browser)
    assert colour == "rgb(11, 83, 148)"  # the page's blue button, so its <style> applied
    width, height = size
    path = save_png(shot, f"manage-page-{width}x{height}")
    assert path.stat().st_size > 0
    assert browser.execute_script("return window.__violations") == []
