"""Issued credentials as the admin API lists them."""

from marshmallow import Schema, fields, validate

from schemas.common import Duration


class CredentialSchema(Schema):
    id = fields.String()
    url = fields.String(attribute="document.id")
    issuer = fields.String(attribute="issuer.slug")
    achievement_id = fields.String()
    result_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "active, suspended or revoked (final)"})
    status_reason = fields.String(allow_none=True, metadata={
        "description": "why the status last changed; \"superseded\" for a credential replaced by a reissue"})
    status_changed_at = fields.AwareDateTime(allow_none=True)
    current = fields.Boolean(metadata={"description": "the earner's current credential: not revoked, not renewed"})
    renews = fields.String(attribute="renews_id", allow_none=True, metadata={
        "description": "the credential this one renews (an earlier pass of the same earner)"})
    renewed_by = fields.String(attribute="renewed_by_id", allow_none=True)
    supersedes = fields.String(attribute="supersedes_id", allow_none=True, metadata={
        "description": "the credential this one corrects (reissue)"})
    superseded_by = fields.String(attribute="superseded_by_id", allow_none=True)
    issued_at = fields.AwareDateTime()
    valid_from = fields.AwareDateTime()
    valid_until = fields.AwareDateTime(allow_none=True)
    credential = fields.Dict(attribute="document")
    credential_format = fields.String(metadata={"enum": ["ldp", "jwt"], "description": "the form it was issued in"})
    jwt = fields.String(allow_none=True, metadata={"description": "the VC-JWT as issued (credential_format jwt)"})


class CredentialPageSchema(Schema):
    items = fields.List(fields.Nested(CredentialSchema))
    next_cursor = fields.String(allow_none=True)


class ListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(load_default=None, metadata={
        "description": "next_cursor of the previous page (a cursor belongs to its order: with or without expiring_within)"})
    issuer = fields.String(load_default=None)
    achievement_id = fields.String(load_default=None)
    expiring_within = Duration(load_default=None, metadata={
        "description": "ISO 8601 duration, e.g. P30D: only credentials whose validUntil falls between now and now "
                       "plus this, not revoked and not renewed, soonest to expire first"})
