"""Gunicorn's threaded worker with a deadline on each request.

gthread already keeps connections that have sent nothing off its threads, but once a request has
begun, a thread reads it to the end: a client that trickles its headers or body, or reads the
answer a byte at a time, would hold that thread for as long as it likes, and a few dozen such
clients would hold them all. Here every request gets `timeout` seconds (REQUEST_TIMEOUT_SECONDS)
from its first byte to the last byte of its answer; a watchdog shuts an overdue connection down,
which ends the blocked read or write at once and frees the thread.
"""

from __future__ import annotations

import gc
import socket
import threading
import time

from gunicorn.workers.gthread import ThreadWorker

from issuer.serving.logs import write_access_log_from_a_thread


class DeadlineThreadWorker(ThreadWorker):
    """Also: the objects the app holds from its start (about 190,000: contexts, schemas, the ORM's
    metadata) are frozen out of the garbage collector once loaded. A full collection walked them
    all, 100-200 ms during which the worker's every thread stood still: most of the verify
    route's p99 at 32 clients (bench/http_load.py)."""

    def init_process(self):
        self._deadlines: dict = {}
        self._deadlines_lock = threading.Lock()
        threading.Thread(target=self._shut_overdue, name="request-deadlines", daemon=True).start()
        super().init_process()

    def load_wsgi(self):
        write_access_log_from_a_thread()
        super().load_wsgi()
        gc.collect()
        gc.freeze()

    def handle(self, conn):
        with self._deadlines_lock:
            self._deadlines[conn] = time.monotonic() + self.cfg.timeout
        try:
            return super().handle(conn)
        finally:
            with self._deadlines_lock:
                self._deadlines.pop(conn, None)

    def _shut_overdue(self):
        period = min(1.0, self.cfg.timeout / 4)
        while True:
            time.sleep(period)
            now = time.monotonic()
            with self._deadlines_lock:  # held, so a connection back in keep-alive is never shut
                for conn in [conn for conn, deadline in self._deadlines.items() if deadline <= now]:
                    del self._deadlines[conn]
                    try:
                        # The plain socket's shutdown, also under TLS: it wakes the thread blocked
                        # on it without touching the TLS state that thread is using.
                        socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
                    except OSError:
                        pass  # closed already
