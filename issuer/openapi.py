"""The OpenAPI 3 document at /api/openapi.json, generated from our marshmallow schemas."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify

from schemas.achievement import AchievementCreateSchema, AchievementSchema
from schemas.batch import BatchAnswerSchema, BatchCreateSchema
from schemas.audit import AuditPageSchema, AuditQuerySchema
from schemas.credential import CredentialPageSchema, CredentialSchema, ListQuerySchema
from schemas.issuer import IssuerCreateSchema, IssuerSchema, IssuerUpdateSchema
from schemas.lifecycle import BulkRevokeSchema, BulkRevokedSchema, ReissueSchema, ReissuedSchema, StatusChangeSchema
from schemas.manage import ManagementLinkSchema
from schemas.result import ResultAnswerSchema, ResultCreateSchema
from schemas.token import TokenCreateSchema, TokenCreatedSchema, TokenListSchema, TokenRevokeSchema, TokenSchema
from schemas.vcapi import IssueRequestSchema
from schemas.verification import ReportSchema, VcApiPresentationRequestSchema, VcApiVerifyRequestSchema, VerifyRequestSchema

bp = Blueprint("openapi", __name__)

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"},
        "errors": {"type": "object", "description": "field name -> messages"},
    },
    "required": ["type", "title", "status", "detail", "code"],
}

# A request body that is not JSON: the image itself.
IMAGE_BODY = {"content": {
    "image/png": {"schema": {"type": "string", "format": "binary"}},
    "image/svg+xml": {"schema": {"type": "string", "format": "binary"}},
}, "description": "the image, at most 512 KiB, each side 64 to 2048 px; an SVG is sanitised"}

# (method, path, summary, request schema or body, {status: (description, response schema)}, needs token)
OPERATIONS = [
    ("post", "/api/v1/issuers", "Create an issuer (instance token)", IssuerCreateSchema, {201: ("Created", IssuerSchema)}, True),
    ("get", "/api/v1/issuers/{slug}", "An issuer with its keys", None, {200: ("The issuer", IssuerSchema)}, True),
    ("patch", "/api/v1/issuers/{slug}", "Change the issuer's sharing settings (default page visibility, LinkedIn organization id)",
     IssuerUpdateSchema, {200: ("The issuer", IssuerSchema)}, True),
    ("post", "/api/v1/issuers/{slug}/keys/rotate", "Retire the signing key and make a new one", None, {200: ("The issuer", IssuerSchema)}, True),
    ("post", "/api/v1/issuers/{slug}/achievements", "Define an achievement and its assessment policy", AchievementCreateSchema, {201: ("Created", AchievementSchema)}, True),
    ("get", "/api/v1/achievements/{achievement_id}", "An achievement", None, {200: ("The achievement", AchievementSchema)}, True),
    ("put", "/api/v1/achievements/{achievement_id}/image", "Upload the achievement's image (raw PNG or SVG body)", IMAGE_BODY,
     {200: ("The achievement", AchievementSchema), 413: ("Larger than 512 KiB (image_too_large)", None),
      415: ("Neither PNG nor SVG (unsupported_image_type)", None)}, True),
    ("post", "/api/v1/achievements/{achievement_id}/results", "Record a completed assessment (idempotent on external_id)", ResultCreateSchema,
     {201: ("Passed: the signed credential", ResultAnswerSchema), 200: ("Failed: why no credential was issued", ResultAnswerSchema)}, True),
    ("post", "/api/v1/achievements/{achievement_id}/results/batch",
     "Record up to 1,000 results at once (or a text/csv upload, ?atomic=true): each answered as the single route "
     "would, in order", BatchCreateSchema,
     {200: ("One answer per result", BatchAnswerSchema),
      413: ("More than 1,000 results (batch_too_large)", None),
      422: ("atomic, and some results were refused (batch_refused); items names each", None)}, True),
    ("get", "/api/v1/credentials", "Issued credentials, newest first (cursor paging); with expiring_within, "
     "those about to expire (not revoked, not renewed), soonest first", None, {200: ("A page", CredentialPageSchema)}, True),
    ("get", "/api/v1/credentials/{credential_id}", "One issued credential", None, {200: ("The credential", CredentialSchema)}, True),
    ("post", "/api/v1/credentials/{credential_id}/management-link",
     "A new private management link for the earner; the earlier link stops working", None,
     {201: ("The link, shown once", ManagementLinkSchema)}, True),
    ("post", "/api/v1/credentials/{credential_id}/revoke", "Revoke a credential for good (active or suspended)",
     StatusChangeSchema, {200: ("The credential, revoked", CredentialSchema),
                          409: ("Revoked already (invalid_transition)", None)}, True),
    ("post", "/api/v1/credentials/{credential_id}/suspend", "Suspend an active credential", StatusChangeSchema,
     {200: ("The credential, suspended", CredentialSchema), 409: ("Not active (invalid_transition)", None)}, True),
    ("post", "/api/v1/credentials/{credential_id}/unsuspend", "Lift the suspension of a credential", StatusChangeSchema,
     {200: ("The credential, active again", CredentialSchema), 409: ("Not suspended (invalid_transition)", None)}, True),
    ("post", "/api/v1/credentials/{credential_id}/reissue",
     "Replace a credential by a corrected one (score, evidence); the old one is revoked as superseded", ReissueSchema,
     {201: ("The corrected, signed credential", ReissuedSchema),
      409: ("Revoked (invalid_transition), or not earned from an assessment (reissue_unsupported)", None)}, True),
    ("post", "/api/v1/credentials/revoke", "Revoke many credentials: all of them, or none when any is refused",
     BulkRevokeSchema, {200: ("The ids revoked", BulkRevokedSchema),
                        409: ("Some are revoked already (invalid_transition); errors names them", None)}, True),
    ("get", "/api/v1/audit", "The audit log of admin actions, newest first (cursor paging; an issuer token sees its issuer's)",
     None, {200: ("A page", AuditPageSchema)}, True),
    ("get", "/api/v1/tokens", "API tokens, never their hashes (an issuer token sees its issuer's)", None,
     {200: ("The tokens", TokenListSchema)}, True),
    ("post", "/api/v1/tokens", "Create a token, for an issuer or (instance token only) the whole instance", TokenCreateSchema,
     {201: ("Created: the plain token, shown once", TokenCreatedSchema)}, True),
    ("post", "/api/v1/tokens/{token_id}/revoke", "Revoke a token; it is refused from its next request on", TokenRevokeSchema,
     {200: ("The revoked token", TokenSchema), 409: ("Revoked already (token_already_revoked), or the last instance token revoking itself (last_instance_token)", None)}, True),
    ("post", "/credentials/issue", "W3C VC API: sign a credential whose issuer is one of ours", IssueRequestSchema,
     {201: ("{verifiableCredential}", None)}, True),
    ("post", "/api/v1/verify", "Verify a credential given as JSON, a JWT or a URL (or a multipart file upload)",
     VerifyRequestSchema, {200: ("The report, whether or not it verified", ReportSchema)}, False),
    ("post", "/credentials/verify", "W3C VC API: verify a credential (422 with the report when it does not verify)",
     VcApiVerifyRequestSchema, {200: ("Verified: the report", ReportSchema)}, False),
    ("post", "/presentations/verify", "W3C VC API: verify a presentation's proof (challenge, domain) and its credentials",
     VcApiPresentationRequestSchema, {200: ("Verified", None)}, False),
]


# Query parameters, for the operations that take them.
QUERIES = {("get", "/api/v1/credentials"): ListQuerySchema, ("get", "/api/v1/audit"): AuditQuerySchema}


def build_spec() -> dict:
    spec = APISpec(title="Badges", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", PROBLEM)
    problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for method, path, summary, request_schema, responses, secured in OPERATIONS:
        operation = {"summary": summary, "responses": {}}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in (part[1:-1] for part in path.split("/") if part.startswith("{"))
        ]
        if (method, path) in QUERIES:
            parameters.append({"in": "query", "schema": QUERIES[method, path]})
        if parameters:
            operation["parameters"] = parameters
        if isinstance(request_schema, dict):
            operation["requestBody"] = {"required": True, **request_schema}
        elif request_schema is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": request_schema}}}
        for status, (description, schema) in responses.items():
            if status >= 400:
                operation["responses"][str(status)] = {"description": description, "content": problem_ref}
                continue
            schema = schema if schema is not None else {"type": "object"}
            operation["responses"][str(status)] = {"description": description, "content": {"application/json": {"schema": schema}}}
        for status, description in ((401, "No or bad token"), (403, "Token scoped to another issuer"),
                                    (404, "Not found"), (422, "Invalid fields"),
                                    (503, "The database is unavailable (database_unavailable)")):
            operation["responses"][str(status)] = {"description": description, "content": problem_ref}
        if secured:
            operation["security"] = [{"bearer": []}]
        spec.path(path=path, operations={method: operation})
    return spec.to_dict()


def _plain_numbers(value):
    """apispec copies validator bounds as they are, Decimals included; JSON wants numbers."""
    if isinstance(value, dict):
        return {key: _plain_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@cache
def _cached_spec() -> dict:
    return _plain_numbers(build_spec())


@bp.get("/api/openapi.json")
def openapi_document():
    return jsonify(_cached_spec())
