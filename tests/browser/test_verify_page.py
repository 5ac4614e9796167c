"""The /verify page in a real headless Chromium (the system's chromium and chromedriver).

The app runs as a live server on 127.0.0.1 (werkzeug in a thread) over a temporary SQLite
database; a credential is issued through the API first, then the browser pastes, uploads,
tampers, types with the keyboard only and turns JavaScript off. Screenshots at phone and
desktop widths go to test-artifacts/ at the repository root.

Without Chromium the tests fail when CI is set, and skip only on a local run without CI.
"""

from __future__ import annotations

import copy
import json

import pytest

from issuer.statuslists import StatusListPolicy
from tests.browser.support import DESKTOP, PHONE, live_app, screenshot
from tests.conftest import ACHIEVEMENT, ISSUER, result_body

try:
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - start_browser reports the missing selenium
    pass


# ---------------------------------------------------------------- the live server


def _issue(client, headers, services):
    """One credential issued through the API."""
    response = client.post("/api/v1/issuers", json=ISSUER, headers=headers)
    assert response.status_code == 201, response.json
    response = client.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT, headers=headers)
    assert response.status_code == 201, response.json
    response = client.post(f"/api/v1/achievements/{response.json['id']}/results", json=result_body("browser-1"),
                           headers=headers)
    assert response.status_code == 201, response.json
    return response.json["credential"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app on a free loopback port, its base URL the server's own address, so the issued
    credential's ids (and any status list) point back at this server. Yields (base, credential)."""
    with live_app(tmp_path_factory.mktemp("browser"), "verify-page", _issue,
                  config={"VERIFY_ALLOW_HTTP_LOOPBACK": True},
                  # a default instance's single status entry: valid against the OB 3.0 JSON Schema, so every check passes
                  status_list_policy=StatusListPolicy()) as served:
        yield served


# ---------------------------------------------------------------- helpers


def open_page(driver, base):
    driver.get(f"{base}/verify")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Verify a credential"


def wait_for_new_page(driver, old):
    """Until the document holding `old` is gone and the next one is parsed (to its form's button)."""
    def replaced(_):
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:  # Chromium may say this while it swaps the documents
            if "does not belong to the document" in (error.msg or ""):
                return True
            raise

    WebDriverWait(driver, 30).until(replaced)
    WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "form button[type=submit]")))


def submit(driver):
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_new_page(driver, old)


def paste(driver, text: str):
    """Put text in the textarea as a paste would (all at once), without typing it key by key."""
    area = driver.find_element(By.ID, "credential")
    area.clear()
    driver.execute_script("arguments[0].value = arguments[1];", area, text)


def verdict(driver) -> str:
    return driver.find_element(By.ID, "result").text


def rows(driver) -> dict[str, tuple[str, str]]:
    """check -> (status attribute, the words shown in the Result column)."""
    found = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr[data-check]"):
        cells = row.find_elements(By.TAG_NAME, "td")
        found[row.get_attribute("data-check")] = (row.get_attribute("data-status"), cells[1].text)
    return found


def assert_verified(driver):
    assert verdict(driver) == "This credential is verified."
    assert driver.title.startswith("Verified")
    found = rows(driver)
    assert {"format", "context", "schema", "issuer", "proof", "validity", "status", "trust"} <= set(found), found
    for check in ("format", "context", "schema", "issuer", "proof", "validity"):
        assert found[check] == ("passed", "Passed"), (check, found[check])
    assert all(status != "failed" for status, _ in found.values()), found
    # Plain words, not check codes.
    table = driver.find_element(By.TAG_NAME, "table").text
    assert "The signature is valid" in table and "It is within its validity dates" in table


# ---------------------------------------------------------------- tests


def test_pasted_json_is_verified(live, browser):
    base, credential = live
    open_page(browser, base)
    paste(browser, json.dumps(credential, indent=2))
    submit(browser)
    assert_verified(browser)
    assert "Python Basics" in browser.find_element(By.TAG_NAME, "main").text


def test_tampered_copy_is_not_verified(live, browser):
    base, credential = live
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["result"][0]["value"] = "100"
    open_page(browser, base)
    paste(browser, json.dumps(tampered))
    submit(browser)
    assert verdict(browser) == "This credential is NOT verified."
    assert browser.title.startswith("Not verified")
    found = rows(browser)
    assert found["proof"] == ("failed", "Failed"), found
    signature_row = browser.find_element(By.CSS_SELECTOR, "tr[data-check=proof]").text
    assert "The signature is valid" in signature_row and "Failed" in signature_row


def test_uploaded_file_is_verified(live, browser, tmp_path):
    base, credential = live
    upload = tmp_path / "badge.json"
    upload.write_text(json.dumps(credential), encoding="utf-8")
    open_page(browser, base)
    browser.find_element(By.ID, "file").send_keys(str(upload))
    submit(browser)
    assert_verified(browser)


def test_works_without_javascript(live, browser_without_js):
    base, credential = live
    driver = browser_without_js
    # JavaScript really is off in this browser: a script that would change the title does not run.
    driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert driver.title == "off"
    open_page(driver, base)
    driver.find_element(By.ID, "credential").send_keys(json.dumps(credential))
    submit(driver)
    assert_verified(driver)
    # And an empty form is answered with a message, not an error page.
    open_page(driver, base)
    submit(driver)
    assert "Paste a credential, choose a file or give a URL." in driver.find_element(By.CSS_SELECTOR, "[role=alert]").text


def test_keyboard_only(live, browser):
    """Tab to the textarea, type the credential, Tab past the file and URL fields to the button, Enter."""
    base, credential = live
    open_page(browser, base)
    body = browser.find_element(By.TAG_NAME, "body")
    body.click()  # the focus starts at the document, as after loading the page
    order = []
    for _ in range(4):
        ActionChains(browser).send_keys(Keys.TAB).perform()  # key presses to whatever has the focus
        active = browser.switch_to.active_element
        order.append(active.get_attribute("id") or active.tag_name)
        if order[-1] == "credential":
            ActionChains(browser).send_keys(json.dumps(credential, separators=(",", ":"))).perform()
    assert order == ["credential", "file", "url", "button"], order
    assert json.loads(browser.find_element(By.ID, "credential").get_attribute("value")) == credential
    old = browser.find_element(By.TAG_NAME, "html")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_for_new_page(browser, old)
    assert_verified(browser)


def test_page_is_labelled_and_self_contained(live, browser):
    base, credential = live
    open_page(browser, base)
    for name in ("empty form", "result"):
        if name == "result":
            paste(browser, json.dumps(credential))
            submit(browser)
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", name
        assert browser.title.strip(), name
        assert len(browser.find_elements(By.TAG_NAME, "title")) == 1
        for field in browser.find_elements(By.CSS_SELECTOR, "input, textarea, select"):
            field_id = field.get_attribute("id")
            labels = browser.find_elements(By.CSS_SELECTOR, f"label[for='{field_id}']") if field_id else []
            assert labels or field.get_attribute("aria-label"), f"{name}: {field.get_attribute('outerHTML')} has no label"
            assert any(label.get_attribute("textContent").strip() for label in labels)
        external = browser.execute_script("""
            return Array.from(document.querySelectorAll('[src], [href], [srcset], [action], [data], [poster]'))
              .flatMap(e => ['src', 'href', 'srcset', 'action', 'data', 'poster']
                .map(a => e.getAttribute(a)).filter(v => v && /^\\s*(https?:)?\\/\\//i.test(v)));""")
        assert external == [], f"{name} loads from elsewhere: {external}"
        styles = " ".join(s.get_attribute("textContent") for s in browser.find_elements(By.TAG_NAME, "style"))
        assert "url(" not in styles and "@import" not in styles
        assert browser.find_elements(By.CSS_SELECTOR, "script[src], link[rel=stylesheet]") == []
    # The browser fetched nothing but the page itself from our server.
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert resources == [], resources


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots(live, browser, size):
    base, credential = live
    open_page(browser, base)
    assert screenshot(browser, "verify", "form", size).stat().st_size > 0
    paste(browser, json.dumps(credential))
    submit(browser)
    assert screenshot(browser, "verify", "verified", size).stat().st_size > 0
    tampered = copy.deepcopy(credential)
    tampered["name"] = "Python Basics (edited)"
    paste(browser, json.dumps(tampered))
    submit(browser)
    assert screenshot(browser, "verify", "not-verified", size).stat().st_size > 0
