"""Secrets never reach a log line: the earner's management token is in its link's path
(`/manage/<token>`), API tokens travel as `Authorization: Bearer`. A filter rewrites every record
of the servers' and the app's loggers before any handler sees it, whatever the server."""

from __future__ import annotations

import logging
import re

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

# The loggers servers write requests to (gunicorn's, werkzeug's) and the app's own ("issuer").
LOGGERS = ("gunicorn.access", "gunicorn.error", "werkzeug", "issuer")


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, and any exception text, without its secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install_redaction() -> None:
    """Filter every record of LOGGERS and of the root logger's handlers (idempotent)."""
    for name in LOGGERS:
        _attach(logging.getLogger(name))
    for handler in logging.getLogger().handlers:
        _attach(handler)


def _attach(target) -> None:
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)


class RedactingLogger(Logger):
    """Gunicorn's logger with the filter on its access and error logs and their handlers."""

    def setup(self, cfg):
        super().setup(cfg)
        install_redaction()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                _attach(handler)
