"""A webhook receiver on loopback for tests: a real HTTP server that records every request and
answers as the test scripts it (fail the first N, hold a request a while)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Receiver:
    def __init__(self):
        self.received: list[dict] = []  # {"headers", "body", "at"} in arrival order
        self.fail_first = 0  # answer 500 to this many requests first
        self.always_fail = False
        self.hold_seconds = 0.0  # wait this long before answering (a slow receiver)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._arrived:
                    receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "at": time.monotonic()})
                    count = len(receiver.received)
                    receiver._arrived.notify_all()
                    hold = receiver.hold_seconds
                if hold:
                    time.sleep(hold)
                failing = receiver.always_fail or count <= receiver.fail_first
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        """The first `count` requests, waiting at most `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} request(s) arrived, not {count}")
                self._arrived.wait(left)
            return list(self.received[:count])

    def events(self, secret: str) -> list[dict]:
        """Every request's payload, its signature verified with the standardwebhooks library."""
        checker = Webhook(secret)
        return [dict(checker.verify(r["body"], r["headers"]), _id=r["headers"]["webhook-id"])
                for r in list(self.received)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
