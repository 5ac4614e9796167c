"""Verification over HTTP: the JSON API, the W3C VC API verifier routes and the /verify page.

The app that mounts this blueprint puts a `Verifier` factory at app.extensions["verifier"]
(a callable returning a Verifier for one request); this module never builds one itself.
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.exceptions import BadRequest as HttpBadRequest

from marshmallow import ValidationError

from dataintegrity import strictjson
from schemas.verification import COMPACT_JWT_PATTERN, VerifyRequestSchema
from verifier.report import Report

bp = Blueprint("verifier", __name__, template_folder="templates")

COMPACT_JWT = re.compile(COMPACT_JWT_PATTERN)

PLAIN_WORDS = {
    "format": "The credential can be read",
    "context": "It uses only known vocabularies",
    "schema": "It has the Open Badges fields",
    "issuer": "It is signed with a key of its issuer",
    "proof": "The signature is valid",
    "integrity": "Its related resources match their digests",
    "validity": "It is within its validity dates",
    "status": "It is not revoked or suspended",
    "trust": "Its issuer is in the trusted registry",
}
STATUS_WORDS = {"passed": "Passed", "failed": "Failed", "warning": "Warning", "skipped": "Not checked"}

# One instance for every request: loading keeps no state in it, and building one costs more than a load.
VERIFY_REQUEST = VerifyRequestSchema()


class RequestProblem(Exception):
    """A caller's mistake in how the request is made (not a bad credential)."""

    def __init__(self, status: int, code: str, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, errors


def _verifier():
    return current_app.extensions["verifier"]()


def _problem(status: int, code: str, title: str, detail: str, **extra):
    body = {"type": f"urn:badges:problem:{code}", "title": title, "status": status, "detail": detail, "code": code, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


@bp.errorhandler(RequestProblem)
def _request_problem(error: RequestProblem):
    extra = {"errors": error.errors} if error.errors else {}
    return _problem(error.status, error.code, "Bad request", error.detail, **extra)


def _json_object() -> dict:
    if not (request.mimetype == "application/json" or (request.mimetype or "").endswith("+json")):
        raise RequestProblem(415, "unsupported_media_type", "send the body as application/json")
    try:
        body = strictjson.loads(request.get_data(cache=True))
    except strictjson.JsonTextError as error:
        raise RequestProblem(400, error.code, f"the body is not accepted JSON: {error.message}") from None
    if not isinstance(body, dict):
        raise RequestProblem(400, "malformed_json", "the body must be a JSON object")
    return body


def _report_from_request() -> Report:
    """/api/v1/verify input: a multipart file, or JSON with one of credential, jwt, url."""
    verifier = _verifier()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise RequestProblem(422, "validation_failed", "upload the credential in the form field 'file'",
                                 {"file": ["Missing data for required field."]})
        return verifier.verify_input(upload.read(), filename=upload.filename, content_type=upload.mimetype)
    try:
        data = VERIFY_REQUEST.load(_json_object())
    except ValidationError as error:
        raise RequestProblem(422, "validation_failed", "the request has invalid fields; see errors", error.messages) from None
    if "url" in data:
        return verifier.verify_url(data["url"])
    return verifier.verify_input(data.get("credential", data.get("jwt")))


@bp.post("/api/v1/verify")
def verify_api():
    return jsonify(_report_from_request().to_dict())


@bp.post("/credentials/verify")
def vcapi_verify_credential():
    """W3C VC API: 200 with the report when it verifies; 422 problem details with the report when not."""
    body = _json_object()
    credential = body.get("verifiableCredential")
    if credential is None:
        raise RequestProblem(400, "validation_failed", "the body needs verifiableCredential",
                             {"verifiableCredential": ["Missing data for required field."]})
    if not isinstance(credential, dict) and not (isinstance(credential, str) and COMPACT_JWT.fullmatch(credential)):
        # A credential is a JSON object, or a compact JWT. A string holding JSON text is not a
        # credential (VC Data Integrity: "if securedDocument is not a map, an error MUST be raised").
        raise RequestProblem(400, "validation_failed", "verifiableCredential must be a JSON object or a compact JWT",
                             {"verifiableCredential": ["Must be a JSON object or a compact JWT."]})
    if not isinstance(body.get("options", {}), dict):
        raise RequestProblem(400, "validation_failed", "options must be an object", {"options": ["Not a valid mapping type."]})
    report = _verifier().verify_input(credential)
    if report.verified:
        return jsonify(report.to_dict())
    failed = [c for c in report.checks if c.status == "failed"]
    if not failed and report.own_verified and report.credentials:
        # a ClrCredential whose own checks pass, holding a credential that does not verify
        detail = "; ".join(
            f"embedded credential {index} ({nested.credential.get('id')}): "
            + ", ".join(f"{c.check}: {c.message}" for c in nested.checks if c.status == "failed")
            for index, nested in enumerate(report.credentials, 1) if not nested.verified)
        return _problem(422, "embedded_credential_not_verified", "Credential not verified", detail, **report.to_dict())
    detail = "; ".join(f"{c.check}: {c.message}" for c in failed) or "the credential did not verify"
    return _problem(422, failed[0].code if failed else "not_verified", "Credential not verified", detail, **report.to_dict())


@bp.post("/presentations/verify")
def vcapi_verify_presentation():
    body = _json_object()
    presentation = body.get("verifiablePresentation")
    options = body.get("options", {})
    if not isinstance(presentation, dict) or not isinstance(options, dict):
        raise RequestProblem(400, "validation_failed", "the body needs verifiablePresentation (an object) and options (an object)")
    result = _verifier().verify_presentation(presentation, challenge=options.get("challenge"), domain=options.get("domain"))
    if result["verified"]:
        return jsonify(result)
    return _problem(422, "presentation_not_verified", "Presentation not verified", "the presentation or a credential in it did not verify", **result)


@bp.get("/verify")
def verify_page():
    return render_template("verify.html", report=None, words=PLAIN_WORDS, status_words=STATUS_WORDS)


@bp.post("/verify")
def verify_page_post():
    """The page's form: a pasted JSON or JWT, an uploaded file, or a URL. Works without JavaScript."""
    verifier = _verifier()
    upload = request.files.get("file")
    pasted = (request.form.get("credential") or "").strip()
    url = (request.form.get("url") or "").strip()
    if upload is not None and upload.filename:
        report = verifier.verify_input(upload.read(), filename=upload.filename, content_type=upload.mimetype)
    elif pasted:
        report = verifier.verify_input(pasted)
    elif url:
        report = verifier.verify_url(url)
    else:
        return render_template("verify.html", report=None, error="Paste a credential, choose a file or give a URL.",
                               words=PLAIN_WORDS, status_words=STATUS_WORDS), 400
    return render_template("verify.html", report=report.to_dict(), words=PLAIN_WORDS, status_words=STATUS_WORDS)


@bp.app_errorhandler(HttpBadRequest)
def _bad_form(error):  # pragma: no cover - werkzeug raises this for broken multipart bodies
    return _problem(400, "bad_request", "Bad request", error.description or "bad request")
