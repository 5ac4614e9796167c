"""The relying party's page of watched credentials in a real headless Chromium, JavaScript off:
sign in by pasting the party's token, see each watch's state and timeline, sign out. Screenshots
at phone and desktop widths go to test-artifacts/."""

from __future__ import annotations

import pytest

from tests.browser.support import DESKTOP, PHONE, live_app, screenshot
from tests.conftest import ACHIEVEMENT, ISSUER, result_body

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - start_browser reports the missing selenium
    pass


def _setup(client, headers, services):
    """An issuer, two credentials, a relying party watching both; one is revoked afterwards and its
    watch revalidated by the queue's job (run here, in the test's thread)."""
    assert client.post("/api/v1/issuers", json=ISSUER, headers=headers).status_code == 201
    achievement = client.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT, headers=headers).json
    ids = []
    for n, email in enumerate(("ada@example.org", "grace@example.org")):
        answer = client.post(f"/api/v1/achievements/{achievement['id']}/results",
                             json=result_body(f"browser-{n}", email=email), headers=headers)
        assert answer.status_code == 201, answer.json
        ids.append(answer.json["credential_id"])
    party = client.post("/api/v1/parties", json={"name": "Acme Hiring"}, headers=headers).json
    bearer = {"Authorization": f"Bearer {party['token']}"}
    for credential_id, label in zip(ids, ("Ada Lovelace, backend role", "Grace Hopper, compilers")):
        document = client.get(f"/credentials/{credential_id}/credential.json").get_json(force=True)
        watch = client.post("/api/v1/watches", json={"credential": document, "label": label, "reference": "APP-1"},
                            headers=bearer)
        assert watch.status_code == 201 and watch.json["state"] == "valid", watch.json
    assert client.post(f"/api/v1/credentials/{ids[0]}/revoke", json={"reason": "misconduct"},
                       headers=headers).status_code == 200
    client.application.extensions["queue"].task("watch_credential").call_local(ids[0])
    return party["token"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("party-page"), "party-page", _setup) as served:
        yield served


def test_the_party_signs_in_with_its_token_and_sees_states_and_timelines_without_javascript(browser_without_js, live):
    driver, (base, token) = browser_without_js, live
    driver.get(f"{base}/parties/watches")
    assert driver.current_url.endswith("/parties/sign-in")  # not signed in: to the form
    driver.find_element(By.ID, "token").send_keys("bdg_not-a-token")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "not a relying party" in driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
    screenshot(driver, "party-page", "sign-in-refused", PHONE)

    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 30).until(expected_conditions.url_contains("/parties/watches"))
    cards = driver.find_elements(By.CSS_SELECTOR, "section.card")
    states = {card.find_element(By.TAG_NAME, "h2").text: card.find_element(By.CSS_SELECTOR, ".state").text
              for card in cards}
    assert states == {"Ada Lovelace, backend role": "Revoked", "Grace Hopper, compilers": "Valid"}
    revoked = next(c for c in cards if c.find_element(By.TAG_NAME, "h2").text.startswith("Ada"))
    timeline = [li.text for li in revoked.find_elements(By.CSS_SELECTOR, "ol.timeline li")]
    assert len(timeline) == 2 and timeline[0].endswith("Valid") and timeline[1].endswith("Revoked (revoked)")
    cookie = driver.get_cookie("badges_party")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/parties"
    screenshot(driver, "party-page", "watches", PHONE)
    screenshot(driver, "party-page", "watches", DESKTOP)

    driver.get(f"{base}/parties/watches?state=revoked")
    assert [c.find_element(By.TAG_NAME, "h2").text for c in driver.find_elements(By.CSS_SELECTOR, "section.card")] \
        == ["Ada Lovelace, backend role"]
    driver.find_element(By.CSS_SELECTOR, "header form button[type=submit]").click()
    WebDriverWait(driver, 30).until(expected_conditions.url_contains("/parties/sign-in"))
    driver.get(f"{base}/parties/watches")
    assert driver.current_url.endswith("/parties/sign-in")  # signed out


def test_sign_in_needs_the_forms_csrf_token_and_our_origin(live):
    import urllib.error
    import urllib.parse
    import urllib.request

    base, token = live
    body = urllib.parse.urlencode({"token": token, "csrf_token": "forged"}).encode()
    request = urllib.request.Request(f"{base}/parties/sign-in", data=body, headers={"Cookie": "badges_party_csrf=other"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    refused.value.close()
    assert refused.value.code == 403
    same = urllib.parse.urlencode({"token": token, "csrf_token": "c" * 43}).encode()
    request = urllib.request.Request(f"{base}/parties/sign-in", data=same, headers={
        "Cookie": "badges_party_csrf=" + "c" * 43, "Origin": "https://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as cross:
        urllib.request.urlopen(request)
    cross.value.close()
    assert cross.value.code == 403
