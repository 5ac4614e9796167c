"""Fixtures the verifier test modules share."""

from __future__ import annotations

import pytest

from issuer import create_app
from tests.conftest import BASE_URL
from tests.verifier.test_fetcher import LocalServer


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1, empty until a test adds routes (test_status_check.py has its own)."""
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def loopback_app(services, tmp_path):
    """The app with its verifier allowed to fetch over plain http from loopback (a local instance)."""
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": BASE_URL,
                       "VERIFY_ALLOW_HTTP_LOOPBACK": True}, services=services)
