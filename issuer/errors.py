"""Errors the service answers with, and their HTTP form: RFC 9457 problem+json.

Each problem has a stable `code` (also the last part of its `type`), so clients can branch
on it without parsing prose. Unexpected exceptions become a bare 500 with no internals.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import OperationalError, TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

PROBLEM_TYPE_PREFIX = "urn:badges:problem:"

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, code: str, detail: str, *, errors: dict | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}


class BadRequest(ApiError):
    status, title = 400, "Bad request"


class ValidationFailed(ApiError):
    status, title = 422, "Validation failed"

    def __init__(self, errors: dict, detail: str = "the request has invalid fields; see errors"):
        super().__init__("validation_failed", detail, errors=errors)


class Unauthorized(ApiError):
    status, title = 401, "Unauthorized"


class Forbidden(ApiError):
    status, title = 403, "Forbidden"


class NotFound(ApiError):
    status, title = 404, "Not found"


class Conflict(ApiError):
    status, title = 409, "Conflict"


class PayloadTooLarge(ApiError):
    status, title = 413, "Payload too large"


class Unprocessable(ApiError):
    """Well-formed but unusable content (an image we cannot accept), with its own code."""

    status, title = 422, "Unprocessable content"


def problem_body(status: int, code: str, title: str, detail: str, *, errors=None, extra=None) -> dict:
    body = {"type": PROBLEM_TYPE_PREFIX + code, "title": title, "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return body


def problem(status: int, code: str, title: str, detail: str, *, errors=None, extra=None):
    response = jsonify(problem_body(status, code, title, detail, errors=errors, extra=extra))
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="badges"'
    return response


# Werkzeug's own exceptions (routing, body size, method) get codes of their own.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return problem(error.status, error.code, error.title, error.detail, errors=error.errors, extra=error.extra)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = _HTTP_CODES.get(error.code or 500, "http_error")
        detail = error.description or error.name
        if error.code == 413:
            detail = f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
        response = problem(error.code or 500, code, error.name, detail)
        if error.code == 405:
            # At a fixed path, only its own methods: werkzeug adds those of routes whose variable matches it.
            methods = _fixed_paths(app).get(request.path) or getattr(error, "valid_methods", None) or ()
            response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(error: OperationalError | PoolTimeout):
        # Unreachable, not answering within the connect or statement timeout, locked, or every
        # pooled connection busy: the request may succeed later, so 503 rather than a 500 of ours.
        # Its message stays in the log.
        log.error("database unavailable: %s", database_reason(error))
        response = problem(503, "database_unavailable", "Service unavailable",
                           "the database could not be reached or did not answer in time; try again later")
        response.headers["Retry-After"] = "30"
        return response

    @app.before_request
    def _fixed_path_other_method():
        """A fixed path names one resource: another method on it is 405, not the answer of a route
        whose variable happens to match it (GET /credentials/issue is not the credential "issue")."""
        methods = _fixed_paths(app).get(request.path)
        if methods is None or request.url_rule is None:
            return None
        if request.method == "OPTIONS":  # werkzeug's answer would list the variable route's methods too
            return app.response_class(status=200, headers={"Allow": ", ".join(sorted(methods))})
        if request.url_rule.arguments:
            raise MethodNotAllowed(valid_methods=sorted(methods))
        return None

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return problem(500, "internal_error", "Internal server error", "the server could not complete the request")


def database_reason(error: OperationalError | PoolTimeout) -> str:
    """The driver's first line: the reason without the SQL or a traceback."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _fixed_paths(app: Flask) -> dict[str, set[str]]:
    """Paths of the routes without variables, with the methods they answer (HEAD and OPTIONS included)."""
    paths = app.extensions.get("fixed_paths")
    if paths is None:
        paths = {}
        for rule in app.url_map.iter_rules():
            if not rule.arguments:
                paths.setdefault(rule.rule, set()).update(rule.methods or ())
        app.extensions["fixed_paths"] = paths
    return paths
