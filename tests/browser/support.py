"""What the browser tests share: the system's headless Chromium, the app as a live server on a
free loopback port, and full-page screenshots at a given viewport into test-artifacts/.

Without Chromium the tests fail when CI is set, and skip only on a local run without CI.
"""

from __future__ import annotations

import base64
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dataintegrity import bundled_document_loader
from issuer import create_app
from issuer.db import make_engine, make_sessionmaker
from issuer.migrate import upgrade
from issuer.services import Services
from issuer.urls import Urls
from keys import KeyEncryptionKey
from tests.conftest import SUSPENDING, TEST_KEK, Clock, make_token

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = (390, 844)
DESKTOP = (1280, 900)


def _unavailable(message: str):
    """No browser here: a failure in CI, a skip only on a local run."""
    if os.environ.get("CI"):
        pytest.fail(f"headless Chromium is required in CI but {message}; "
                    f"install it with: apt-get install -y chromium chromium-driver", pytrace=False)
    pytest.skip(f"headless Chromium unavailable ({message}); CI runs this test")


try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
except ImportError as error:  # pragma: no cover - the test extra installs selenium
    webdriver = None
    _selenium_missing = str(error)


def start_browser(profile: Path, *, javascript: bool = True):
    if webdriver is None:
        _unavailable(f"selenium is not installed ({_selenium_missing})")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            _unavailable(f"{path} is missing")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--no-default-browser-check", "--no-proxy-server",
                     f"--window-size={DESKTOP[0]},{DESKTOP[1]}", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(executable_path=CHROMEDRIVER, log_output=os.devnull)
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except (WebDriverException, OSError) as error:
        service.stop()
        _unavailable(f"it did not start: {str(error).strip().splitlines()[0] if str(error).strip() else error!r}")
    driver.set_page_load_timeout(30)
    return driver


@contextmanager
def live_app(tmp: Path, name: str, issue, *, config: dict | None = None, status_list_policy=SUSPENDING):
    """The app on a free loopback port over a fresh SQLite database, its base URL the server's own
    address, so issued ids (and any status list) point back at this server. Before the server
    starts, `issue(client, headers, services)` sets up data through the API (the test client shares
    the database with the live server); yields (base, what `issue` returned)."""
    from werkzeug.serving import make_server

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
            clock=Clock(datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)),  # as in tests/conftest.py
            status_list_policy=status_list_policy,  # by default with suspension: pages show suspended credentials too
        )
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp / "instance"), "BASE_URL": base,
                          **(config or {})}, services=services)
        holder["app"] = app
        issued = issue(app.test_client(), {"Authorization": f"Bearer {make_token(services)}"}, services)
        thread = threading.Thread(target=server.serve_forever, name=f"{name}-server", daemon=True)
        thread.start()
        yield base, issued
    finally:
        if thread is not None:
            server.shutdown()
            thread.join(timeout=10)
        server.server_close()
        engine.dispose()


@contextmanager
def viewport(driver, size: tuple[int, int]):
    """The page laid out at the given viewport (as a phone would lay it out when it is narrow)."""
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def capture(driver) -> dict:
    return driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})


def save_png(shot: dict, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def screenshot(driver, prefix: str, name: str, size: tuple[int, int]) -> Path:
    """A full-page PNG at the given viewport, saved as prefix-name-WxH.png; the page must not scroll sideways."""
    with viewport(driver, size):
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        shot = capture(driver)
    width, height = size
    path = save_png(shot, f"{prefix}-{name}-{width}x{height}")
    assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
    return path
