"""The OpenAPI 3 document at /api/openapi.json, generated from our marshmallow schemas.

It describes every route we serve, the public pages and documents included, and every answer
each gives, the problem bodies every route may answer included (400, 405, 413, 415, 429, 503).
Links say which answer's values feed which request (an achievement's id -> its
results -> the credential), so a client or a stateful tester can follow them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify
from marshmallow import Schema

from dataintegrity.strictjson import MAX_SAFE_INTEGER

from schemas.achievement import AchievementCreateSchema, AchievementSchema
from schemas.audit import AuditPageSchema, AuditQuerySchema
from schemas.clr import ClrQuerySchema
from schemas.batch import MAX_BATCH_ITEMS, BatchAnswerSchema, BatchCreateSchema
from schemas.credential import CredentialPageSchema, CredentialSchema, ListQuerySchema
from schemas.hooks import (DeliveryListSchema, DeliveryQuerySchema, PartyCreateSchema, PartyCreatedSchema,
                           RedeliveredSchema, WebhookCreateSchema, WebhookCreatedSchema, WebhookListSchema,
                           WebhookSchema, WebhookSecretSchema)
from schemas.issuer import IssuerCreateSchema, IssuerSchema, IssuerUpdateSchema
from schemas.lifecycle import BulkRevokeSchema, BulkRevokedSchema, ReissueSchema, ReissuedSchema, StatusChangeSchema
from schemas.manage import ManagementLinkSchema
from schemas.pathway import (PathwayCreateSchema, PathwaySchema, PathwayUpdateSchema, ProgressQuerySchema,
                             ProgressSchema)
from schemas.result import ResultAnswerSchema, ResultCreateSchema
from schemas.token import TokenCreateSchema, TokenCreatedSchema, TokenListSchema, TokenRevokeSchema, TokenSchema
from schemas.vcapi import IssueRequestSchema
from schemas.watches import WatchCreateSchema, WatchDetailSchema, WatchListSchema, WatchQuerySchema
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

# A value of a free-form part of a body (a credential, options, a batch item): JSON as our strict
# parser reads it (dataintegrity/strictjson.py); an integer beyond it is refused 400 malformed_json.
JSON_VALUE = {
    "description": f"any JSON value; integers within +-{MAX_SAFE_INTEGER} (I-JSON), no key twice in an object",
    "nullable": True,
    "anyOf": [
        {"type": "string"}, {"type": "boolean"},
        # An integer written as one (2**60) is refused beyond the bound, a fraction (1.5e300) is not.
        {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
        {"type": "number", "not": {"multipleOf": 1}},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}},
    ],
}
_JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}

_PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ANY_OBJECT = {"type": "object"}
_TEXT = {"type": "string"}
_BINARY = {"type": "string", "format": "binary"}
HTML = {"text/html": {"schema": _TEXT}}
JSON_LD = {media_type: {"schema": _ANY_OBJECT} for media_type in ("application/ld+json", "application/vc+ld+json", "application/json")}
PNG = {"image/png": {"schema": _BINARY}}
SVG = {"image/svg+xml": {"schema": _BINARY}}
VC_JWT = {"application/vc+jwt": {"schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"}}}


def _problem(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": _PROBLEM_CONTENT}
    if headers:
        response["headers"] = headers
    return response


# Answers any route may give.
GENERIC_ANSWERS = {
    400: _problem("The body is not usable JSON (malformed_json, json_too_deep, ...) or the request is malformed"),
    405: _problem(
        "The path answers other methods (a fixed path such as /credentials/issue that a template also matches): "
        "method_not_allowed",
        {"Allow": {"description": "the methods the path answers", "required": True, "schema": _TEXT}}),
    413: _problem("The body is larger than MAX_CONTENT_LENGTH (payload_too_large)"),
    415: _problem("The body is not sent as the type the operation reads (unsupported_media_type)"),
    429: _problem("Throttled: too many requests from this address or token",
                  {"Retry-After": {"description": "seconds to wait", "schema": _TEXT}}),
    503: _problem("The database cannot be reached; try again later"),
}
# Answers of the admin API (a Bearer token).
AUTH_ANSWERS = {
    401: _problem("No, a malformed, an unknown or a revoked token (token_missing, token_malformed, token_invalid)",
                  {"WWW-Authenticate": {"description": "Bearer", "required": True, "schema": _TEXT}}),
    403: _problem("The token is scoped to another issuer, or an instance token is needed (token_scope)"),
}
NOT_FOUND = _problem("No such resource (issuer_not_found, achievement_not_found, credential_not_found, ...)")
INVALID = _problem("Invalid fields (validation_failed), named in errors; or content we cannot use")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    # {status: (description, marshmallow schema | {media type: {"schema": ...}} | None for no body)}
    answers: dict
    # A marshmallow schema (JSON), or {media type: {"schema": ...}}.
    body: type[Schema] | dict | None = None
    body_required: bool = True
    query: type[Schema] | None = None
    secured: bool = True
    # {status: {link name: (operation id, {parameter: runtime expression}, request body or None)}}
    links: dict = field(default_factory=dict)


def _from_credential_answer(pointer: str = "/credential_id") -> dict:
    """Links from an answer naming a credential to what may be done with it."""
    credential = {"credential_id": f"$response.body#{pointer}"}
    return {
        "GetCredential": ("getCredential", credential, None),
        "RevokeCredential": ("revokeCredential", credential, None),
        "SuspendCredential": ("suspendCredential", credential, None),
        "UnsuspendCredential": ("unsuspendCredential", credential, None),
        "ReissueCredential": ("reissueCredential", credential, None),
        "CreateManagementLink": ("createManagementLink", credential, None),
        "GetCredentialPage": ("getCredentialPage", credential, None),
        "DownloadCredential": ("downloadCredential", credential, None),
        "DownloadCredentialJwt": ("downloadCredentialJwt", credential, None),
        "GetCredentialQr": ("getCredentialQr", credential, None),
        "GetBadgePng": ("getBadgePng", credential, None),
        "GetBadgeSvg": ("getBadgeSvg", credential, None),
    }


_ISSUER = {"slug": "$response.body#/slug"}
_ACHIEVEMENT = {"achievement_id": "$response.body#/id"}
_IMAGE = {"image/png": {"schema": _BINARY}, "image/svg+xml": {"schema": _BINARY}}

# The earner portfolio's pages and forms. A form without a valid csrf_token is refused
# 403 (csrf_failed); an earner who is not signed in is sent to /me (303).
_PAGE_OR_PROBLEM = {**HTML, **_PROBLEM_CONTENT}
_FORM = "application/x-www-form-urlencoded"
_CSRF = {"csrf_token": {**_TEXT, "description": "the token of the form's page"}}
_CSRF_FAILED = ("No valid csrf_token (csrf_failed): a page for browsers, a problem otherwise", _PAGE_OR_PROBLEM)
_TO_SIGN_IN = ("Done, or not signed in: to /me", None)


def _form(**properties) -> dict:
    return {_FORM: {"schema": {"type": "object", "properties": {**_CSRF, **properties}}}}


PORTFOLIO_OPERATIONS = [
    Operation("get", "/me", "getPortfolio", "The earner's portfolio, or the sign-in form when not signed in",
              {200: ("The page", HTML)}, secured=False),
    Operation("post", "/me", "requestSignInLink",
              "Email a one-time sign-in link to the address, when credentials were issued to it (the same page either way)",
              {200: ("The page saying a link was sent if credentials were issued to the address", HTML),
               403: _CSRF_FAILED, 422: ("The form, saying the address is not one", HTML)},
              _form(email={**_TEXT, "format": "email"}), secured=False),
    Operation("get", "/me/sign-in/{token}", "getSignInPage", "The page with the button that spends the sign-in link",
              {200: ("The page", HTML), 404: ("Used, expired or unknown (sign_in_link_not_found)", _PAGE_OR_PROBLEM)},
              secured=False),
    Operation("post", "/me/sign-in/{token}", "signIn", "Spend the sign-in link and set the earner's cookie",
              {303: ("Signed in: to /me", None), 403: _CSRF_FAILED,
               404: ("Used, expired or unknown (sign_in_link_not_found)", _PAGE_OR_PROBLEM)},
              _form(), secured=False),
    Operation("post", "/me/sign-out", "signOut", "Forget the earner's cookie",
              {303: ("Signed out: to /me", None), 403: _CSRF_FAILED}, _form(), secured=False),
    Operation("post", "/me/credentials/{credential_id}/visibility", "setCredentialVisibility",
              "Show or hide the public page of one of the earner's credentials",
              {303: _TO_SIGN_IN, 403: _CSRF_FAILED,
               404: ("Not a credential of this earner (credential_not_found)", _PAGE_OR_PROBLEM),
               422: ("The portfolio, saying what to correct", HTML)},
              _form(visibility={"type": "string", "enum": ["public", "hidden"]}), secured=False),
    Operation("get", "/me/credentials.zip", "downloadEverything",
              "Every credential of the earner: signed JSON (and VC-JWT) and baked PNG badges, zipped",
              {200: ("The zip", {"application/zip": {"schema": _BINARY}}), 303: ("Not signed in: to /me", None)},
              secured=False),
    Operation("post", "/me/portfolio", "publishPortfolio", "Publish (or change) the earner's portfolio page at /p/{slug}",
              {303: _TO_SIGN_IN, 403: _CSRF_FAILED, 409: ("The address was taken meanwhile", HTML),
               422: ("The portfolio, saying what to correct (slug, title, credentials)", HTML)},
              _form(slug={**_TEXT, "pattern": "^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"}, title=_TEXT,
                    credential={"type": "array", "items": _TEXT}), secured=False),
    Operation("post", "/me/portfolio/unpublish", "unpublishPortfolio", "Take the earner's portfolio page down",
              {303: _TO_SIGN_IN, 403: _CSRF_FAILED}, _form(), secured=False),
    Operation("get", "/p/{slug}", "getPublishedPortfolio",
              "An earner's published portfolio: the credentials they picked, each verified now",
              {200: ("The page", HTML), 404: ("No portfolio at this address (portfolio_not_found)", _PAGE_OR_PROBLEM)},
              secured=False),
]
_CONSOLE_ANSWERS = {
    200: ("The page", HTML),
    302: ("Not signed in: to the sign-in page; or done: to the next page", None),
    303: ("Done: back to the page", None),
    401: ("The page, saying the email, password or code is not right", HTML),
    400: ("A form without its CSRF token (a problem), or a field holding a NUL character (a page)",
          {**HTML, **_PROBLEM_CONTENT}),
    403: ("The user's role does not allow it", None),
    404: ("Nothing of that id, or the reset link is unknown, used or expired (a page)",
          {**HTML, **_PROBLEM_CONTENT}),
    409: ("The page, saying why it cannot be done now", HTML),
    422: ("The page, saying what to correct", HTML),
}


def _console_form(fields) -> dict:
    properties = {"csrf_token": {**_TEXT, "description": "the token of the page the form is on"}}
    properties.update({name: _TEXT for name in fields})
    return {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": properties,
                                                             "required": ["csrf_token"]}}}


OPERATIONS = [
    # --- the admin and integration API (Bearer token) ---------------------------------------
    Operation("post", "/api/v1/issuers", "createIssuer", "Create an issuer (instance token)",
              {201: ("Created", IssuerSchema), 409: ("The slug is taken (issuer_exists)", None)}, IssuerCreateSchema,
              links={201: {"GetIssuer": ("getIssuer", _ISSUER, None), "UpdateIssuer": ("updateIssuer", _ISSUER, None),
                           "RotateKey": ("rotateKey", _ISSUER, None), "CreateAchievement": ("createAchievement", _ISSUER, None),
                           "GetIssuerProfile": ("getIssuerProfile", _ISSUER, None),
                           "GetDidDocument": ("getDidDocument", _ISSUER, None)}}),
    Operation("get", "/api/v1/issuers/{slug}", "getIssuer", "An issuer with its keys", {200: ("The issuer", IssuerSchema)}),
    Operation("patch", "/api/v1/issuers/{slug}", "updateIssuer",
              "Change the issuer's sharing settings (default page visibility, LinkedIn organization id)",
              {200: ("The issuer", IssuerSchema)}, IssuerUpdateSchema),
    Operation("get", "/api/v1/issuers/{slug}/clr", "getClr",
              "A signed Comprehensive Learner Record (CLR 2.0 ClrCredential) of the earner's current credentials "
              "from this issuer (not revoked, not renewed), each embedded with its own proof",
              {200: ("The signed ClrCredential", {"application/ld+json": {"schema": _ANY_OBJECT}}),
               404: ("No such issuer (issuer_not_found), or the earner holds no current credential of it "
                     "(no_credentials)", None)},
              query=ClrQuerySchema),
    Operation("post", "/api/v1/issuers/{slug}/keys/rotate", "rotateKey", "Retire the signing key and make a new one",
              {200: ("The issuer", IssuerSchema),
               409: ("A did:key issuer cannot rotate (key_rotation_unsupported), or another rotation ran at the same "
                     "time (concurrent_change)", None)}),
    Operation("post", "/api/v1/issuers/{slug}/achievements", "createAchievement",
              "Define an achievement and its assessment policy",
              {201: ("Created", AchievementSchema)}, AchievementCreateSchema,
              links={201: {"GetAchievement": ("getAchievement", _ACHIEVEMENT, None),
                           "RecordResult": ("recordResult", _ACHIEVEMENT, None),
                           "UploadAchievementImage": ("uploadAchievementImage", _ACHIEVEMENT, None),
                           "GetAchievementDocument": ("getAchievementDocument", _ACHIEVEMENT, None),
                           "ListCredentialsOfAchievement": ("listCredentials", {"achievement_id": "$response.body#/id"}, None)}}),
    Operation("post", "/api/v1/issuers/{slug}/pathways", "createPathway",
              "Define a pathway: an achievement awarded for other achievements (all_of, n_of, nested groups), "
              "issued when a pass completes it",
              {201: ("Created; its id is the pathway credential's achievement id", PathwaySchema),
               422: ("Invalid fields; or requirements with an unknown achievement, an impossible n, a cycle or a "
                     "wrong shape, each named in errors by its JSON path (validation_failed)", None)},
              PathwayCreateSchema,
              links={201: {"GetPathway": ("getPathway", {"pathway_id": "$response.body#/id"}, None)}}),
    Operation("get", "/api/v1/pathways/{pathway_id}", "getPathway", "A pathway",
              {200: ("The pathway", PathwaySchema)}),
    Operation("put", "/api/v1/pathways/{pathway_id}", "replacePathway",
              "Replace a pathway's definition (only while none of its credentials has been awarded)",
              {200: ("The pathway", PathwaySchema), 409: ("It has been awarded (pathway_awarded)", None)},
              PathwayCreateSchema),
    Operation("patch", "/api/v1/pathways/{pathway_id}", "updatePathway",
              "Change fields of a pathway's definition (only while none of its credentials has been awarded)",
              {200: ("The pathway", PathwaySchema), 409: ("It has been awarded (pathway_awarded)", None)},
              PathwayUpdateSchema),
    Operation("get", "/api/v1/earners/progress", "getEarnerProgress",
              "An earner's progress towards each pathway (of the token's issuer; an instance token: every issuer's, "
              "or ?issuer=); give exactly one of email or did",
              {200: ("Each pathway with its requirement tree marked", ProgressSchema)}, query=ProgressQuerySchema),
    Operation("get", "/api/v1/achievements/{achievement_id}", "getAchievement", "An achievement",
              {200: ("The achievement", AchievementSchema)}),
    Operation("put", "/api/v1/achievements/{achievement_id}/image", "uploadAchievementImage",
              "Upload the achievement's image (raw PNG or SVG body, at most 512 KiB, each side 64 to 2048 px; "
              "an SVG is sanitised)",
              {200: ("The achievement", AchievementSchema),
               413: ("Larger than 512 KiB (image_too_large)", None),
               415: ("Neither PNG nor SVG (unsupported_image_type)", None),
               422: ("Not readable as its type (image_invalid), or sides out of bounds (image_dimensions)", None)},
              _IMAGE, links={200: {"GetAchievementImage": ("getAchievementImage", _ACHIEVEMENT, None)}}),
    Operation("post", "/api/v1/achievements/{achievement_id}/results", "recordResult",
              "Record a completed assessment (idempotent on external_id)",
              {201: ("Passed: the signed credential", ResultAnswerSchema),
               200: ("Failed: why no credential was issued", ResultAnswerSchema),
               409: ("external_id was used for another achievement of the issuer (external_id_conflict), or the "
                     "achievement is a pathway (pathway_takes_no_results)", None),
               422: ("Invalid fields, or a score above the achievement's max_score", None)},
              ResultCreateSchema, links={201: _from_credential_answer()}),
    Operation("post", "/api/v1/achievements/{achievement_id}/results/batch", "recordResultsBatch",
              f"Record up to {MAX_BATCH_ITEMS:,} completed assessments at once, each as POST .../results would "
              "(idempotent on external_id): a JSON body, or a CSV file (text/csv: a header row naming external_id, "
              "score, completed_at, email or recipient_id, and optionally name, evidence_url, evidence_name, "
              "evidence_narrative; ?atomic=true for all or nothing)",
              {200: ("One answer per item, in order: the status and body (or problem) the single route would answer",
                     BatchAnswerSchema),
               400: ("The CSV file cannot be read: its encoding, header or quoting, or no rows (csv_invalid); or the "
                     "body is not usable JSON (malformed_json, json_too_deep, ...)", None),
               409: ("The achievement is a pathway (pathway_takes_no_results)", None),
               413: (f"More than {MAX_BATCH_ITEMS:,} results or rows (batch_too_large), or a body over 32 MiB "
                     "(payload_too_large)", None),
               422: ("Invalid fields (validation_failed); or atomic and some items were refused, so nothing was "
                     "recorded (batch_refused, its items naming each refused one)", None)},
              {"application/json": {"schema": BatchCreateSchema},
               "text/csv": {"schema": {**_TEXT, "description": "one result a row, after a header row"}}}),
    Operation("get", "/api/v1/credentials", "listCredentials",
              "Issued credentials, newest first (cursor paging); with expiring_within, those about to expire "
              "(not revoked, not renewed), soonest first. An empty cursor, issuer or achievement_id means none; "
              "an empty limit or expiring_within is refused (422).",
              {200: ("A page", CredentialPageSchema)}, query=ListQuerySchema),
    Operation("get", "/api/v1/credentials/{credential_id}", "getCredential", "One issued credential",
              {200: ("The credential", CredentialSchema)}),
    Operation("post", "/api/v1/credentials/{credential_id}/management-link", "createManagementLink",
              "A new private management link for the earner; the earlier link stops working",
              {201: ("The link, shown once", ManagementLinkSchema)}),
    Operation("post", "/api/v1/credentials/{credential_id}/revoke", "revokeCredential",
              "Revoke a credential for good (active or suspended)",
              {200: ("The credential, revoked", CredentialSchema),
               409: ("Revoked already (invalid_transition), or it carries no revocation entry (status_unsupported)", None)},
              StatusChangeSchema),
    Operation("post", "/api/v1/credentials/{credential_id}/suspend", "suspendCredential", "Suspend an active credential",
              {200: ("The credential, suspended", CredentialSchema),
               409: ("Not active (invalid_transition), or it carries no suspension entry (status_unsupported)", None)},
              StatusChangeSchema),
    Operation("post", "/api/v1/credentials/{credential_id}/unsuspend", "unsuspendCredential",
              "Lift the suspension of a credential",
              {200: ("The credential, active again", CredentialSchema),
               409: ("Not suspended (invalid_transition), or it carries no suspension entry (status_unsupported)", None)},
              StatusChangeSchema),
    Operation("post", "/api/v1/credentials/{credential_id}/reissue", "reissueCredential",
              "Replace a credential by a corrected one (score, evidence); the old one is revoked as superseded",
              {201: ("The corrected, signed credential", ReissuedSchema),
               409: ("Revoked (invalid_transition), not earned from an assessment (reissue_unsupported), expired "
                     "(credential_expired) or without a revocation entry (status_unsupported)", None),
               422: ("Invalid fields, or a score outside the achievement's passing and maximum scores", None)},
              ReissueSchema, links={201: {"GetReissued": ("getCredential", {"credential_id": "$response.body#/credential_id"}, None)}}),
    Operation("post", "/api/v1/credentials/revoke", "revokeCredentials",
              "Revoke many credentials: all of them, or none when any is refused",
              {200: ("The ids revoked", BulkRevokedSchema),
               409: ("Some cannot be revoked (invalid_transition, status_unsupported); errors names them", None)},
              BulkRevokeSchema),
    Operation("get", "/api/v1/audit", "listAudit",
              "The audit log of admin actions, newest first (cursor paging; an issuer token sees its issuer's). "
              "An empty issuer means none; an empty limit or cursor is refused (422).",
              {200: ("A page", AuditPageSchema)}, query=AuditQuerySchema),
    Operation("get", "/api/v1/tokens", "listTokens", "API tokens, never their hashes (an issuer token sees its issuer's)",
              {200: ("The tokens", TokenListSchema)}),
    Operation("post", "/api/v1/tokens", "createToken",
              "Create a token, for an issuer or (instance token only) the whole instance",
              {201: ("Created: the plain token, shown once", TokenCreatedSchema)}, TokenCreateSchema,
              links={201: {"RevokeToken": ("revokeToken", {"token_id": "$response.body#/id"}, None)}}),
    Operation("post", "/api/v1/tokens/{token_id}/revoke", "revokeToken",
              "Revoke a token; it is refused from its next request on. The body is optional.",
              {200: ("The revoked token", TokenSchema), 409: ("Revoked already (token_already_revoked), or the last instance token revoking itself (last_instance_token)", None)},
              TokenRevokeSchema, body_required=False),
    # --- relying parties and webhooks (a party's token reaches only the webhook routes) --------------
    Operation("post", "/api/v1/parties", "createParty",
              "Create a relying party (an employer) and its token (instance token); the party's token verifies and "
              "manages its own webhook endpoints, and is refused (403 token_scope) everywhere else",
              {201: ("Created: the plain token, shown once", PartyCreatedSchema)}, PartyCreateSchema,
              links={201: {"RevokePartyToken": ("revokeToken", {"token_id": "$response.body#/token_id"}, None)}}),
    Operation("post", "/api/v1/webhooks", "createWebhook",
              "Register a webhook endpoint (party or issuer token; an instance token names the issuer). Deliveries "
              "follow Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)",
              {201: ("Created: the signing secret (whsec_...), shown once", WebhookCreatedSchema),
               422: ("Invalid fields; an event the owner cannot receive; or a URL the address guard refuses "
                     "(loopback, private, not https)", None)},
              WebhookCreateSchema, links={201: {
                  "GetWebhook": ("getWebhook", {"endpoint_id": "$response.body#/id"}, None),
                  "ListDeliveries": ("listWebhookDeliveries", {"endpoint_id": "$response.body#/id"}, None),
                  "RotateWebhookSecret": ("rotateWebhookSecret", {"endpoint_id": "$response.body#/id"}, None)}}),
    Operation("get", "/api/v1/webhooks", "listWebhooks", "The token's own webhook endpoints",
              {200: ("The endpoints", WebhookListSchema)}),
    Operation("get", "/api/v1/webhooks/{endpoint_id}", "getWebhook", "One webhook endpoint (never its secret)",
              {200: ("The endpoint", WebhookSchema)}),
    Operation("delete", "/api/v1/webhooks/{endpoint_id}", "deleteWebhook", "Delete a webhook endpoint",
              {204: ("Deleted", None)}),
    Operation("post", "/api/v1/webhooks/{endpoint_id}/rotate-secret", "rotateWebhookSecret",
              "A new signing secret; the old one signs nothing more", {200: ("The new secret, shown once",
                                                                             WebhookSecretSchema)}),
    Operation("get", "/api/v1/webhooks/{endpoint_id}/deliveries", "listWebhookDeliveries",
              "The endpoint's delivery attempts, newest first: status code (null: no answer) and latency",
              {200: ("The attempts", DeliveryListSchema)}, query=DeliveryQuerySchema),
    Operation("post", "/api/v1/webhooks/{endpoint_id}/messages/{message_id}/redeliver", "redeliverWebhookMessage",
              "Send a message again (same webhook-id), retrying for a new retry period; enables a disabled endpoint",
              {202: ("Queued", RedeliveredSchema)}),
    # --- watches (a relying party's token only; others get 403 token_scope) ---------------------------
    Operation("post", "/api/v1/watches", "createWatch",
              "Watch a credential (JSON-LD, JWT, a baked PNG/SVG upload, a URL, or a candidate's presentation with "
              "its challenge and domain): verified at once, then revalidated as its status lists, dates and issuer "
              "change; each change of verdict goes to the party's webhooks",
              {201: ("Watching: the verdict, the report and the history", WatchDetailSchema),
               422: ("Invalid fields; not a credential; a URL that cannot be fetched; a presentation that is not "
                     "verified (challenge_mismatch, domain_mismatch, ...) or holds other than one credential", None)},
              {"application/json": {"schema": WatchCreateSchema},
               "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                   "file": _BINARY, "label": {"type": "string", "maxLength": 255},
                   "reference": {"type": "string", "maxLength": 255}}}}},
              links={201: {"GetWatch": ("getWatch", {"watch_id": "$response.body#/id"}, None)}}),
    Operation("get", "/api/v1/watches", "listWatches", "The party's watches, oldest first, paged (offset, limit)",
              {200: ("A page of watches", WatchListSchema)}, query=WatchQuerySchema),
    Operation("get", "/api/v1/watches/{watch_id}", "getWatch",
              "One watch: its current verdict and the history of its changes", {200: ("The watch", WatchDetailSchema)}),
    Operation("delete", "/api/v1/watches/{watch_id}", "deleteWatch", "Stop watching", {204: ("Deleted", None)}),
    # --- the relying party's page (signed in with its token, kept in an HttpOnly cookie) ------------
    Operation("get", "/parties/sign-in", "getPartySignIn", "The relying party's sign-in form",
              {200: ("The page", HTML)}, secured=False),
    Operation("post", "/parties/sign-in", "partySignIn",
              "Sign in with the party's token (form: token, csrf_token); sets the session cookie",
              {303: ("Signed in: to /parties/watches", None), 401: ("Not a relying party's token: the form again", HTML),
               403: ("No or another CSRF token, or another origin: the form again", HTML)},
              {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                  "token": _TEXT, "csrf_token": _TEXT}}}}, secured=False),
    Operation("post", "/parties/sign-out", "partySignOut", "Sign out (form: csrf_token)",
              {303: ("To the sign-in form", None),
               403: ("No or another CSRF token, or another origin: the sign-in form, nobody signed out", HTML)},
              {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                  "csrf_token": _TEXT}}}}, secured=False),
    Operation("get", "/parties/watches", "getPartyWatchesPage",
              "The party's watches with their current state and timeline (signed in; else 303 to the sign-in form)",
              {200: ("The page", HTML), 303: ("Not signed in: to /parties/sign-in", None)}, secured=False),
    # --- verification (no token) -------------------------------------------------------------
    Operation("post", "/api/v1/verify", "verify",
              "Verify a credential given as JSON, a JWT or a URL (or a multipart file upload)",
              {200: ("The report, whether or not it verified", ReportSchema)},
              {"application/json": {"schema": VerifyRequestSchema},
               "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                  "properties": {"file": _BINARY}}}},
              secured=False),
    # --- W3C VC API ------------------------------------------------------------------------------
    Operation("post", "/credentials/issue", "issueCredential", "W3C VC API: sign a credential whose issuer is one of ours",
              {201: ("{verifiableCredential}", {"application/json": {"schema": {
                  "type": "object", "required": ["verifiableCredential"],
                  "properties": {"verifiableCredential": _ANY_OBJECT}}}}),
               422: ("Not ours to sign (unknown_issuer, reserved_id, ...), an unknown context, an undefined term, "
                     "or a related context's digests that name no published version of it (digest_mismatch)", None)},
              IssueRequestSchema,
              links={201: {"VerifyIssued": ("verifyCredential", {}, {
                  "verifiableCredential": "$response.body#/verifiableCredential"})}}),
    Operation("post", "/credentials/verify", "verifyCredential",
              "W3C VC API: verify a credential (422 with the report when it does not verify)",
              {200: ("Verified: the report", ReportSchema),
               422: ("Not verified: the failing check's code, and the report", None)},
              VcApiVerifyRequestSchema, secured=False),
    Operation("post", "/presentations/verify", "verifyPresentation",
              "W3C VC API: verify a presentation's proof (challenge, domain) and its credentials",
              {200: ("Verified", None), 422: ("Not verified (presentation_not_verified), with the results", None)},
              VcApiPresentationRequestSchema, secured=False),
    # --- public documents and pages (no token) -------------------------------------------------------
    Operation("get", "/credentials/{credential_id}", "getCredentialPage",
              "The credential: its page for browsers (Accept: text/html), its Open Badges 3.0 VC-JWT for "
              "Accept: application/vc+jwt, the signed JSON-LD otherwise",
              {200: ("The page or the signed credential", {**HTML, **JSON_LD, **VC_JWT})}, secured=False),
    Operation("get", "/credentials/{credential_id}/credential.json", "downloadCredential",
              "The signed credential as a download", {200: ("The signed credential", JSON_LD)}, secured=False),
    Operation("get", "/credentials/{credential_id}/credential.jwt", "downloadCredentialJwt",
              "The credential's Open Badges 3.0 VC-JWT as a download", {200: ("The VC-JWT", VC_JWT)}, secured=False),
    Operation("get", "/credentials/{credential_id}/qr.svg", "getCredentialQr", "A QR code of the credential page's address",
              {200: ("The QR code", SVG), 304: ("Not modified", None)}, secured=False),
    Operation("get", "/credentials/{credential_id}/badge.png", "getBadgePng",
              "The badge image with the signed credential baked in", {200: ("The baked PNG", PNG), 304: ("Not modified", None)},
              secured=False),
    Operation("get", "/credentials/{credential_id}/badge.svg", "getBadgeSvg",
              "The badge image with the signed credential baked in", {200: ("The baked SVG", SVG), 304: ("Not modified", None)},
              secured=False),
    Operation("get", "/issuers/{slug}", "getIssuerProfile",
              "The issuer's profile: a page for browsers, the JSON-LD Profile otherwise",
              {200: ("The page or the profile", {**HTML, **JSON_LD})}, secured=False),
    Operation("get", "/issuers/{slug}/did.json", "getDidDocument",
              "The DID document of did:web:<host>:issuers:<slug> (404 not_did_web for a did:key issuer)",
              {200: ("The DID document", {"application/json": {"schema": _ANY_OBJECT}})}, secured=False),
    Operation("get", "/achievements/{achievement_id}", "getAchievementDocument",
              "The achievement: a page for browsers, the JSON-LD Achievement otherwise",
              {200: ("The page or the achievement", {**HTML, **JSON_LD})}, secured=False),
    Operation("get", "/achievements/{achievement_id}/image", "getAchievementImage", "The achievement's uploaded image",
              {200: ("The image", _IMAGE), 304: ("Not modified", None)}, secured=False),
    Operation("get", "/status/{list_id}", "getStatusList", "A signed BitstringStatusListCredential",
              {200: ("The status list credential", JSON_LD), 304: ("Not modified (If-None-Match)", None)}, secured=False),
    Operation("get", "/verify", "getVerifyPage", "The verification page", {200: ("The page", HTML)}, secured=False),
    Operation("post", "/verify", "postVerifyPage", "The verification page's form: a pasted credential, a file or a URL",
              {200: ("The page with the report", HTML),
               400: ("Nothing to verify: the page says so; a broken multipart body: a problem",
                     {**HTML, **_PROBLEM_CONTENT})},
              # A form field is text whatever it holds: anything that is not a credential is reported so.
              {media_type: {"schema": {"type": "object", "properties": {
                  "credential": {"description": "a JSON credential or a JWT, pasted"},
                  "url": {"description": "where to fetch the credential"},
                  "file": _BINARY}}} for media_type in ("multipart/form-data", "application/x-www-form-urlencoded")},
              secured=False),
    # --- the earner's management link (the token in the path is the secret) ------------------------
    Operation("get", "/manage/{token}", "getManagePage", "The earner's private page",
              {200: ("The page", HTML), 404: ("Unknown or replaced link: a page for browsers, a problem otherwise",
                                              {**HTML, **_PROBLEM_CONTENT})}, secured=False),
    Operation("post", "/manage/{token}", "saveManageChoices", "Save the earner's display name and page visibility",
              {303: ("Saved: back to the page", None),
               403: ("Posted from another site (cross_origin_request)", None),
               404: ("Unknown or replaced link: a page for browsers, a problem otherwise", {**HTML, **_PROBLEM_CONTENT}),
               422: ("The page, saying what to correct", HTML)},
              {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                  "display_name": {**_TEXT, "description": "at most 80 characters, trimmed; empty for none"},
                  "visibility": {"type": "string", "enum": ["public", "hidden"]}}}}},
              secured=False),
    Operation("get", "/manage/{token}/credential.json", "downloadManagedCredential",
              "The signed credential as a download, also while hidden",
              {200: ("The signed credential", {"application/ld+json": {"schema": _ANY_OBJECT}})}, secured=False),
    Operation("get", "/manage/{token}/clr.json", "downloadManagedClr",
              "A signed Comprehensive Learner Record (CLR 2.0) of the earner's current credentials from this "
              "credential's issuer, as a download",
              {200: ("The signed ClrCredential", {"application/ld+json": {"schema": _ANY_OBJECT}}),
               404: ("Not a valid management link (management_link_not_found), or the earner holds no current "
                     "credential (no_credentials)", None)},
              secured=False),
    Operation("get", "/manage/{token}/badge.png", "getManagedBadgePng", "The baked badge PNG, also while hidden",
              {200: ("The baked PNG", PNG), 304: ("Not modified", None)}, secured=False),
    Operation("get", "/manage/{token}/badge.svg", "getManagedBadgeSvg", "The baked badge SVG, also while hidden",
              {200: ("The baked SVG", SVG), 304: ("Not modified", None)}, secured=False),
    # --- the earner portfolio (issuer/portfolio): forms for browsers, each with its CSRF token --------
    *PORTFOLIO_OPERATIONS,
    # --- the admin console (a session cookie from signing in; every form carries csrf_token) -------
    *[Operation(method, path, op_id, summary, {status: _CONSOLE_ANSWERS[status] for status in (*answers, 400, 404)},
                _console_form(fields) if fields else None, secured=False)
      for method, path, op_id, summary, answers, fields in [
          ("get", "/admin/login", "getConsoleLogin", "The console's sign-in page", (200,), None),
          ("post", "/admin/login", "consoleLogin", "Sign in with email and password",
           (200, 302, 401), ("email", "password")),
          ("get", "/admin/login/code", "getConsoleCode", "The second step of signing in: a TOTP code", (200, 302), None),
          ("post", "/admin/login/code", "consoleCode", "Give the TOTP code", (200, 302, 401), ("code",)),
          ("post", "/admin/logout", "consoleLogout", "Sign out", (302,), ()),
          ("get", "/admin/forgot", "getConsoleForgot", "Ask for a password-reset link", (200,), None),
          ("post", "/admin/forgot", "consoleForgot", "Send a password-reset link (the same answer for any email)",
           (200,), ("email",)),
          ("get", "/admin/reset/{token}", "getConsoleReset", "Choose a new password", (200,), None),
          ("post", "/admin/reset/{token}", "consoleReset", "Set the new password (the link works once)",
           (302, 422), ("password", "confirm")),
          ("get", "/admin/security", "getConsoleSecurity", "Enrol a TOTP second factor", (200, 302), None),
          ("post", "/admin/security", "consoleSecurity", "Confirm the enrolment with a code", (200, 302), ("code",)),
          ("get", "/admin/", "getConsoleDashboard", "Dashboard: charts with their data tables", (200, 302), None),
          ("get", "/admin/credentials", "getConsoleCredentials",
           "Find credentials (email, achievement, status, from, to, page)", (200, 302), None),
          ("get", "/admin/credentials/{credential_id}", "getConsoleCredential", "A credential and its actions",
           (200, 302, 403), None),
          ("post", "/admin/credentials/{credential_id}/{action}", "consoleChangeCredential",
           "revoke, suspend, unsuspend or reissue: first the confirmation page, then (confirm=yes) the change",
           (200, 302, 303, 403, 409), ("reason", "confirm")),
          ("post", "/admin/credentials/revoke", "consoleBulkRevoke",
           "Revoke the selected credentials: first the confirmation page, then (confirm=yes) all or none",
           (200, 302, 403, 409), ("credential_id", "reason", "confirm")),
          ("get", "/admin/issuers", "getConsoleIssuers", "The issuers the user may see", (200, 302), None),
          ("get", "/admin/issuers/{slug}", "getConsoleIssuer", "An issuer: profile, keys and their history",
           (200, 302, 403), None),
          ("post", "/admin/issuers/{slug}/settings", "consoleIssuerSettings",
           "Owners: the default page visibility and suspension of new credentials", (302, 303, 403, 422),
           ("credentials_public", "suspension")),
          ("post", "/admin/issuers/{slug}/keys/rotate", "consoleRotateKey",
           "Owners: the confirmation page, then (confirm=yes) the key rotated", (200, 302, 303, 403, 409),
           ("confirm",)),
          ("get", "/admin/tokens", "getConsoleTokens", "API tokens", (200, 302), None),
          ("post", "/admin/tokens", "consoleCreateToken", "Make an API token (shown once)", (200, 302, 403),
           ("label", "issuer")),
          ("post", "/admin/tokens/{token_id}/revoke", "consoleRevokeToken", "Revoke an API token",
           (302, 303, 403, 409), ("reason",)),
          ("get", "/admin/achievements", "getConsoleAchievements", "Achievements", (200, 302), None),
          ("get", "/admin/issuers/{slug}/achievements/new", "getConsoleNewAchievement", "The form for a new achievement",
           (200, 302, 403), None),
          ("post", "/admin/issuers/{slug}/achievements/new", "consoleCreateAchievement",
           "Create an achievement (validity, alignments)", (302, 303, 403, 422),
           ("name", "description", "criteria", "achievement_type", "passing_score", "max_score", "valid_for", "tags",
            "alignment1_target_name", "alignment1_target_url", "alignment1_target_framework",
            "alignment1_target_code")),
          ("get", "/admin/achievements/{achievement_id}", "getConsoleAchievement",
           "An achievement, with its image's preview", (200, 302, 403), None),
          ("get", "/admin/achievements/{achievement_id}/edit", "getConsoleEditAchievement",
           "The form to edit an achievement", (200, 302, 403), None),
          ("post", "/admin/achievements/{achievement_id}/edit", "consoleEditAchievement",
           "Save an achievement's description, policy, validity and alignments (for credentials issued later)",
           (302, 303, 403, 422),
           ("name", "description", "criteria", "achievement_type", "passing_score", "max_score", "valid_for", "tags",
            "alignment1_target_name", "alignment1_target_url", "alignment1_target_framework",
            "alignment1_target_code")),
          ("post", "/admin/achievements/{achievement_id}/image", "consoleAchievementImage",
           "Upload the achievement's image (multipart field image)", (302, 303, 403, 422), None),
          ("get", "/admin/achievements/{achievement_id}/import", "getConsoleImport", "Import results from CSV",
           (200, 302, 403), None),
          ("post", "/admin/achievements/{achievement_id}/import", "consoleImport",
           "A CSV file of results (multipart field file): its preview; with confirm=yes and csv, recorded through "
           "the batch path, answered row by row", (200, 302, 403, 422), ("csv", "confirm")),
          ("get", "/admin/audit", "getConsoleAudit", "The audit log (action, subject, from, to, page)", (200, 302),
           None),
          ("get", "/admin/audit.csv", "getConsoleAuditCsv", "The filtered audit log as CSV", (200, 302), None),
          ("get", "/admin/issuers/{slug}/webhooks", "getConsoleWebhooks",
           "An issuer's webhook endpoints (owners: the form for a new one)", (200, 302, 403), None),
          ("post", "/admin/issuers/{slug}/webhooks", "consoleCreateWebhook",
           "Owners: add an endpoint (url; events, repeated; none: all); its signing secret is shown once",
           (200, 302, 403, 422), ("url", "events")),
          ("post", "/admin/issuers/{slug}/webhooks/{endpoint_id}/rotate", "consoleRotateWebhookSecret",
           "Owners: the confirmation page, then (confirm=yes) a new signing secret, shown once",
           (200, 302, 403), ("confirm",)),
          ("post", "/admin/issuers/{slug}/webhooks/{endpoint_id}/delete", "consoleDeleteWebhook",
           "Owners: the confirmation page, then (confirm=yes) the endpoint deleted", (200, 302, 303, 403),
           ("confirm",)),
          ("get", "/admin/issuers/{slug}/webhooks/{endpoint_id}", "getConsoleWebhookDeliveries",
           "An endpoint's delivery attempts, newest first (page)", (200, 302, 403), None),
          ("post", "/admin/issuers/{slug}/webhooks/{endpoint_id}/messages/{message_id}/redeliver",
           "consoleRedeliverWebhook", "Owners: send a message again (an endpoint disabled is enabled again)",
           (302, 303, 403), ()),
      ]],
    Operation("get", "/api/openapi.json", "getOpenApiDocument", "This document",
              {200: ("The OpenAPI document", {"application/json": {"schema": _ANY_OBJECT}})}, secured=False),
]


# What a marshmallow schema checks about the object as a whole, where JSON Schema can say it.
OBJECT_RULES = {
    "VerifyRequest": {"minProperties": 1, "maxProperties": 1},  # exactly one of credential, jwt, url
    # An email or a DID (id): exactly one of them given (not null).
    "Recipient": {"anyOf": [
        {"required": ["email"], "properties": {"email": {"type": "string"}, "id": {"enum": [None]}}},
        {"required": ["id"], "properties": {"id": {"type": "string"}, "email": {"enum": [None]}}},
    ]},
}


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _content(answer) -> dict | None:
    if answer is None:
        return None
    if isinstance(answer, dict):
        return answer
    return {"application/json": {"schema": answer}}


def _operation(op: Operation) -> dict:
    operation = {"operationId": op.operation_id, "summary": op.summary, "responses": {}}
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _path_parameters(op.path)]
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {"required": op.body_required, "content": _content(op.body)}
    responses = operation["responses"]
    for status, (description, answer) in op.answers.items():
        content = _PROBLEM_CONTENT if answer is None and status >= 400 else _content(answer)
        responses[str(status)] = {"description": description, **({"content": content} if content else {})}
        if status == 303:
            responses[str(status)]["headers"] = {"Location": {"required": True, "schema": _TEXT}}
    generic = dict(GENERIC_ANSWERS)
    if op.secured:
        generic.update(AUTH_ANSWERS)
    if _path_parameters(op.path) or op.secured:
        generic[404] = NOT_FOUND
    if op.body is not None or op.query is not None or op.secured:
        generic[422] = INVALID
    for status, response in sorted(generic.items()):
        responses.setdefault(str(status), response)
    for status, links in op.links.items():
        responses[str(status)]["links"] = {
            name: {"operationId": target, **({"parameters": parameters} if parameters else {}),
                   **({"requestBody": body} if body is not None else {})}
            for name, (target, parameters, body) in links.items()
        }
    if op.secured:
        operation["security"] = [{"bearer": []}]
    return operation


def build_spec() -> dict:
    spec = APISpec(title="Badges", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": __doc__.split("\n\n", 1)[1].strip()})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", PROBLEM)
    spec.components.schema("JsonValue", JSON_VALUE)
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    # An empty text (?cursor=) means none; an empty number or duration is refused.
                    schema = parameter["schema"]
                    parameter["allowEmptyValue"] = schema.get("type") == "string" and "format" not in schema
    for name, rules in OBJECT_RULES.items():
        document["components"]["schemas"][name].update(rules)
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        if name != "JsonValue":
            schemas[name] = _strict_json(schema)
    for operations in document["paths"].values():
        for operation in operations.values():
            for name, media_type in operation.get("requestBody", {}).get("content", {}).items():
                if name == "application/json" or name.endswith("+json"):  # a form field is text
                    media_type["schema"] = _strict_json(media_type["schema"])
    return document


def _strict_json(schema: dict) -> dict:
    """`schema` with its free-form parts (any value, an object of anything) made JsonValue: what
    the strict parser accepts, so that a generated body is not refused as malformed_json."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return schema
    if schema.get("format") == "binary":
        return schema
    free = {key: value for key, value in schema.items() if key not in ("description", "nullable", "default")}
    if not free:  # a marshmallow Raw: any value (inline, not an allOf: validators expand an allOf's
        # subschemas whole, which never ends for a recursive one)
        return {**schema, "nullable": True, "anyOf": JSON_VALUE["anyOf"]}
    schema = dict(schema)
    if schema.get("type") == "integer":
        schema.setdefault("minimum", -MAX_SAFE_INTEGER)
        schema.setdefault("maximum", MAX_SAFE_INTEGER)
    if schema.get("type") == "object" and "properties" not in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = _JSON_VALUE_REF
    if "properties" in schema:
        schema["properties"] = {name: _strict_json(value) for name, value in schema["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _strict_json(schema[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            schema[key] = [_strict_json(value) for value in schema[key]]
    return schema


def _portable(value, key: str | None = None):
    """apispec copies validator bounds and patterns as they are. JSON wants numbers, not Decimals;
    an OpenAPI pattern is an ECMA-262 regex, which has no \\Z: its $ (without the m flag) is the
    same end of text."""
    if isinstance(value, dict):
        return {name: _portable(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_portable(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if key == "pattern" and isinstance(value, str):
        return value.replace("\\Z", "$")
    return value


@cache
def _cached_spec() -> dict:
    return _portable(build_spec())


@bp.get("/api/openapi.json")
def openapi_document():
    return jsonify(_cached_spec())
