"""A credential's public page, the issuer page and the achievement page in a real headless
Chromium (the system's chromium and chromedriver; see support.py for the set-up).

The app runs as a live server on 127.0.0.1 over a temporary SQLite database. Two credentials
are issued through the API; one of them is then suspended through it. Screenshots at phone and desktop
widths go to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import pytest

from issuer.db import transaction
from issuer.models import Credential
from tests.browser.support import DESKTOP, PHONE, live_app, screenshot
from tests.conftest import ACHIEVEMENT, ISSUER, result_body

try:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError:  # pragma: no cover - start_browser reports the missing selenium
    pass


def _issue(client, headers, services):
    """A verified and a suspended credential; returns {"verified": id, "suspended": id, "achievement": id}."""
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
    return ids


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app on a free loopback port, with a verified and a suspended credential.
    Yields (base, {"verified": id, "suspended": id, "achievement": id})."""
    with live_app(tmp_path_factory.mktemp("credential-page"), "credential-page", _issue,
                  config={"VERIFY_ALLOW_HTTP_LOOPBACK": True}) as served:
        yield served


def status(driver) -> tuple[str, str]:
    element = driver.find_element(By.ID, "status")
    return element.get_attribute("data-status"), element.text


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
        assert screenshot(browser, "credential-page", name, size).stat().st_size > 0
