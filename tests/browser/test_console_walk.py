"""An admin walks the console in headless Chromium with the keyboard only: signs in, creates an
achievement, imports a CSV of results, finds the credential, revokes it (reason, confirmation),
and sees the revocation in the audit log and on the dashboard. On each page: every field has a
label, the focused control is visibly outlined, nothing is loaded from another origin and the
page policy reports no violation. Screenshots at 390 and 1280 px go to test-artifacts/."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from issuer.db import transaction
from issuer.people.accounts import create_user
from tests.browser.support import DESKTOP, PHONE, live_app, screenshot, start_browser
from tests.conftest import ISSUER

EMAIL, PASSWORD = "admin@example.org", "a long walk through the console"
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));
"""
UNLABELLED = """
return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name || e.outerHTML);
"""
FOCUS_SHOWN = """
const s = getComputedStyle(document.activeElement);
return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
"""
FOREIGN = """
return performance.getEntriesByType('resource').map(e => e.name).filter(u => new URL(u).origin !== location.origin);
"""


def _setup(client, headers, services):
    assert client.post("/api/v1/issuers", json=ISSUER, headers=headers).status_code == 201
    with services.sessionmaker() as session, transaction(session):
        create_user(session, EMAIL, PASSWORD, now=services.clock(), is_admin=True)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("console-walk"), "console-walk", _setup) as served:
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile-console"))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS})
    yield driver
    driver.quit()


class Keyboard:
    def __init__(self, driver):
        self.driver = driver

    def tab_to(self, selector: str, limit: int = 80):
        """Press Tab until the focused element matches `selector`; it must show its focus."""
        for _ in range(limit):
            if self.driver.execute_script("return document.activeElement.matches(arguments[0])", selector):
                assert self.driver.execute_script(FOCUS_SHOWN), f"no visible focus on {selector}"
                return self.driver.switch_to.active_element
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
        raise AssertionError(f"Tab never reached {selector} on {self.driver.current_url}")

    def type_into(self, selector: str, text: str):
        self.tab_to(selector).send_keys(text)

    def press(self, selector: str):
        """Activate a link or button with Enter, and check the page it leads to."""
        self.tab_to(selector).send_keys(Keys.ENTER)
        self.page_ok()

    def page_ok(self):
        driver = self.driver
        assert driver.execute_script("return document.readyState") == "complete"
        assert driver.execute_script(UNLABELLED) == [], driver.current_url
        assert driver.execute_script(FOREIGN) == [], driver.current_url
        assert driver.execute_script("return window.__violations") == [], driver.current_url


def test_an_admin_walks_the_console_with_the_keyboard(live, browser, tmp_path):
    base, _ = live
    keys = Keyboard(browser)
    browser.get(base + "/admin/")
    assert urlsplit(browser.current_url).path == "/admin/login"
    keys.page_ok()
    keys.type_into("#email", EMAIL)
    keys.type_into("#password", PASSWORD + Keys.ENTER)
    keys.page_ok()
    assert browser.find_element("css selector", "h1").text == "Dashboard"

    # An achievement.
    keys.press('a[href="/admin/achievements"]')
    keys.press(f'a[href="/admin/issuers/{ISSUER["slug"]}/achievements/new"]')
    for selector, text in (("#name", "Keyboard Skills"), ("#description", "Uses a computer without a mouse."),
                           ("#criteria", "Walk the console."), ("#passing_score", "50"), ("#max_score", "100"),
                           ("#valid_for", "P1Y"), ("#a1-name", "Keyboard use"),
                           ("#a1-url", "https://skills.example/keyboard")):
        keys.type_into(selector, text)
    keys.press("main form button[type=submit]")
    assert browser.find_element("css selector", "h1").text == "Keyboard Skills"

    # Results from a CSV file.
    results = tmp_path / "results.csv"
    results.write_text("external_id,email,name,score,completed_at\n"
                       "k1,grace@example.org,Grace Hopper,80,2026-11-20T10:00:00Z\n"
                       "k2,alan@example.org,Alan Turing,30,2026-11-20T10:00:00Z\n")
    keys.press('a[href$="/import"]')
    keys.tab_to("#file").send_keys(str(results))
    keys.press("main form button[type=submit]")
    assert "2 rows read" in browser.page_source
    keys.press("main form button[type=submit]")
    assert "2 of 2 rows processed" in browser.page_source and "1 credential issued, 0 refused" in browser.page_source
    for size in (PHONE, DESKTOP):
        screenshot(browser, "console", "import", size)

    # Find it, and revoke it.
    keys.press('a[href="/admin/credentials"]')
    keys.type_into("#f-email", "grace@example.org" + Keys.ENTER)
    keys.page_ok()
    assert "1 found" in browser.page_source
    for size in (PHONE, DESKTOP):
        screenshot(browser, "console", "credentials", size)
    keys.press('td a[href^="/admin/credentials/"]')
    keys.type_into("#reason-revoke", "walked through by keyboard" + Keys.ENTER)
    keys.page_ok()
    assert "A revocation is final" in browser.page_source
    for size in (PHONE, DESKTOP):
        screenshot(browser, "console", "confirm", size)
    keys.press("main form button.danger")
    assert "revoked (walked through by keyboard)" in browser.page_source

    # The audit log and the dashboard show it.
    keys.press('a[href="/admin/audit"]')
    assert "credential.revoke" in browser.page_source and "walked through by keyboard" in browser.page_source
    for size in (PHONE, DESKTOP):
        screenshot(browser, "console", "audit", size)
    keys.press('a[href="/admin/"]')
    assert "<td>revoked</td><td>1</td>" in browser.page_source
    assert len(browser.find_elements("css selector", 'svg[role="img"] title')) == 5
    for size in (PHONE, DESKTOP):
        screenshot(browser, "console", "dashboard", size)
