"""Secrets never reach a log line: the earner's management token is in its link's path
(`/manage/<token>`), API tokens travel as `Authorization: Bearer`. Every log record the process
creates, whichever logger and handler it goes to (gunicorn's access and error logs, werkzeug's,
the app's), is made without them: the record factory redacts its message and exception text."""

from __future__ import annotations

import atexit
import logging
import queue
import re
from logging.handlers import QueueHandler, QueueListener

from gunicorn.glogging import Logger

REDACTED = "[redacted]"

_SECRETS = [
    # The management link's token and anything after it (/manage/<token>/credential.json?...).
    (re.compile(r"(/manage/)[^\s\"']+"), rf"\g<1>{REDACTED}"),
    # One-time links that carry their secret as a query parameter.
    (re.compile(r"([?&](?:token|code|key|secret|signature)=)[^&\s\"']+", re.IGNORECASE), rf"\g<1>{REDACTED}"),
    # Credentials in headers, should a log format include them.
    (re.compile(r"\b(Bearer|Basic)\s+[^\s\"',]+", re.IGNORECASE), rf"\g<1> {REDACTED}"),
    # Our API tokens, wherever they appear.
    (re.compile(r"\bbdg_[A-Za-z0-9_\-]+"), f"bdg_{REDACTED}"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    message = record.getMessage()
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info:
        # Formatters use exc_text when it is set; a traceback can quote a URL too.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


_installed = False


def install_redaction() -> None:
    """Redact every log record this process creates from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(redacted_record)
    _installed = True


class RedactingLogger(Logger):
    """Gunicorn's logger, redacting from the master's start (workers inherit it)."""

    def setup(self, cfg):
        install_redaction()
        super().setup(cfg)


def write_access_log_from_a_thread() -> None:
    """In a worker process (after the fork: threads do not survive one), hand gunicorn's access-log
    records to a queue that one thread writes out, so a request's thread never waits on the log's
    write. With 32 threads a worker, they queued on the handler's lock around every write: 6% of
    the verify route's throughput. Whatever is queued is written at a clean exit."""
    access = logging.getLogger("gunicorn.access")
    if not access.handlers or any(isinstance(handler, QueueHandler) for handler in access.handlers):
        return
    records: queue.SimpleQueue = queue.SimpleQueue()
    listener = QueueListener(records, *access.handlers)
    access.handlers = [QueueHandler(records)]
    listener.start()
    atexit.register(listener.stop)
