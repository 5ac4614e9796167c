"""A live HTTP server on loopback for tests that need real sockets (concurrency, verifiers that
fetch over HTTP), and a small HTTP client that bypasses any proxy settings."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from werkzeug.serving import make_server

# Requests to 127.0.0.1 never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LiveServer:
    """A threaded werkzeug server on 127.0.0.1 and a free port. The socket is bound first and the
    app given to `start` afterwards, so an app can be built knowing its own base URL."""

    def __init__(self):
        self._app = None
        self._server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def _dispatch(self, environ, start_response):
        return self._app(environ, start_response)

    def start(self, app) -> LiveServer:
        self._app = app
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=30)
        self._server.server_close()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict
    body: dict | None


def request(method: str, url: str, *, token: str | None = None, body: dict | None = None,
            timeout: float = 60) -> tuple[int, dict, bytes]:
    """One JSON request, never through a proxy: (status, headers, raw body). An error status is an
    answer too, not an exception. The bench scripts use it as well."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    prepared = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _OPENER.open(prepared, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def http(method: str, url: str, *, token: str | None = None, body: dict | None = None, timeout: float = 60) -> Answer:
    """One HTTP request, its body read as JSON; an error status is an answer too, not an exception."""
    status, headers, raw = request(method, url, token=token, body=body, timeout=timeout)
    return Answer(status, headers, _json(raw))


def _json(raw: bytes) -> dict | None:
    return json.loads(raw) if raw else None
