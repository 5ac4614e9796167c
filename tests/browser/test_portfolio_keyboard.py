"""The earner's portfolio in a real headless Chromium, with the keyboard only: ask for a sign-in
link, open the link read from the mail (the queue's job, run by a real huey worker, sent it; a real
SMTP server on loopback caught it), sign in, see the
timeline, hide one credential, publish a portfolio, sign out and open the portfolio signed out.
On the way: every form control has a label, the focused control is visibly outlined, nothing is
loaded from elsewhere and the Content-Security-Policy is never violated. Screenshots at 390 and
1280 px go to test-artifacts/."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.support import DESKTOP, PHONE, live_app, screenshot, start_browser
from tests.conftest import ACHIEVEMENT, ISSUER, result_body
from tests.issuer.test_notify import running_mailbox
from tests.issuer.test_webhooks import worker

ADA = "ada.lovelace@example.org"
OTHER_ISSUER = {"slug": "globex", "name": "Globex Institute", "url": "https://globex.example"}
SQL = {**ACHIEVEMENT, "name": "SQL Essentials", "valid_for": "P1M",
       "alignments": [{"target_name": "SQL", "target_url": "https://esco.example/skill/sql"}]}
LINK = re.compile(r"https?://\S+/me/sign-in/[A-Za-z0-9_-]{43}")
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));
"""


def _issue(client, headers, services):
    ids = {}
    for issuer, achievement, key in ((ISSUER, ACHIEVEMENT, "python"), (OTHER_ISSUER, SQL, "sql")):
        assert client.post("/api/v1/issuers", json=issuer, headers=headers).status_code == 201
        made = client.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json=achievement, headers=headers).json
        issued = client.post(f"/api/v1/achievements/{made['id']}/results", json=result_body(f"{key}-1"), headers=headers)
        assert issued.status_code == 201, issued.json
        ids[key] = issued.json["credential_id"]
    return ids, client.application


@pytest.fixture(scope="module")
def mailbox():
    with running_mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def live(tmp_path_factory, mailbox):
    config = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port, "MAIL_FROM": "badges@acme.example",
              "SMTP_TIMEOUT_SECONDS": 5, "NOTIFY_CLAIM_TIMEOUT_SECONDS": 60}
    with live_app(tmp_path_factory.mktemp("portfolio"), "portfolio", _issue, config=config) as (base, (ids, app)):
        with worker(app, workers=1):  # mails the sign-in link
            yield base, ids


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile-portfolio"))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS})
    yield driver
    driver.quit()


def keys(driver, *typed):
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*typed).perform()


def focused(driver) -> dict:
    return driver.execute_script("""
        const e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), id: e.id, type: e.type || '', text: (e.innerText || '').trim(),
                checked: !!e.checked,
                visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'};""")


def tab_to(driver, wanted, limit: int = 80) -> dict:
    """Press Tab until the focused element is the one wanted; every stop must show its focus."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        keys(driver, Keys.TAB)
        element = focused(driver)
        if element["tag"] in ("a", "button", "input"):
            assert element["visible"], f"no visible focus on {element}"
        if wanted(element):
            return element
    raise AssertionError("never reached by Tab")


def check_page(driver, base: str) -> None:
    """Labels on every control, nothing from elsewhere, no policy violation."""
    unlabeled = driver.execute_script("""
        return [...document.querySelectorAll('input:not([type=hidden]), button')].filter(e =>
            !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.innerText || '').trim()
        ).map(e => e.outerHTML);""")
    assert unlabeled == []
    elsewhere = driver.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith(arguments[0]));",
        base)
    assert elsewhere == []
    assert driver.execute_script("return window.__violations") == []


def text(driver) -> str:
    return driver.execute_script("return document.body.innerText")


def press_and_wait(driver, key, expected: str) -> str:
    """Press a key that submits a form; wait for the next page to say `expected`; its text."""
    from selenium.webdriver.support.ui import WebDriverWait

    keys(driver, key)
    WebDriverWait(driver, 10).until(lambda d: expected in text(d) and d.execute_script("return document.readyState") == "complete")
    return text(driver)


def test_earner_walks_the_portfolio_with_the_keyboard(live, browser, mailbox):
    from selenium.webdriver.common.keys import Keys

    base, ids = live
    browser.get(base + "/me")
    check_page(browser, base)
    tab_to(browser, lambda e: e["id"] == "email")
    keys(browser, ADA)
    press_and_wait(browser, Keys.ENTER, "Check your email")

    deadline = time.monotonic() + 20
    while not (mails := [m for m in list(mailbox.messages) if m["Subject"] == "Your sign-in link"]):
        assert time.monotonic() < deadline, "no sign-in email"
        time.sleep(0.05)
    link = LINK.search(mails[-1].get_content()).group(0)
    browser.get(link)  # opened from the mail
    check_page(browser, base)
    tab_to(browser, lambda e: e["tag"] == "button" and e["text"] == "Sign in")
    page = press_and_wait(browser, Keys.ENTER, "By achievement")
    assert "Your credentials" in page and "By achievement, with their timeline" in page
    assert "Python Basics" in page and "SQL Essentials" in page
    assert "Earned 25 November 2026 from Globex Institute; expires" in page
    assert "Needs renewal soon" in page and "SQL Essentials from Globex Institute: expires on" in page
    check_page(browser, base)
    for size in (PHONE, DESKTOP):
        screenshot(browser, "portfolio", "me", size)

    tab_to(browser, lambda e: e["tag"] == "button" and e["text"].startswith("Hide page") and "SQL" in e["text"])
    press_and_wait(browser, Keys.ENTER, "Your choice is saved.")
    assert "Page hidden" in text(browser)

    tab_to(browser, lambda e: e["id"] == "slug")
    keys(browser, "ada-lovelace")
    tab_to(browser, lambda e: e["id"] == "title")
    keys(browser, "Ada's credentials")  # focused by Tab, the field's text is selected: typing replaces it
    for key in ("python", "sql"):
        box = tab_to(browser, lambda e, key=key: e["id"] == f"pick-{ids[key]}")
        if not box["checked"]:
            keys(browser, Keys.SPACE)
    tab_to(browser, lambda e: e["tag"] == "button" and e["text"] == "Publish the page")
    press_and_wait(browser, Keys.ENTER, "Your portfolio page is published.")
    check_page(browser, base)

    tab_to(browser, lambda e: e["tag"] == "button" and e["text"] == "Sign out")
    press_and_wait(browser, Keys.ENTER, "Email me a sign-in link")

    browser.get(base + "/p/ada-lovelace")
    public = text(browser)
    assert browser.find_element("css selector", "h1").text == "Ada's credentials"
    assert "Python Basics" in public and "Python Basics" in public and "Verified" in public
    assert "SQL Essentials" not in public  # picked, but hidden by its earner
    assert ADA not in public
    check_page(browser, base)
    tab_to(browser, lambda e: e["tag"] == "a" and "credential's page" in e["text"])
    for size in (PHONE, DESKTOP):
        screenshot(browser, "portfolio", "published", size)
