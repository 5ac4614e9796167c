"""Issued credentials as the admin API lists them."""

from marshmallow import Schema, fields, validate


class CredentialSchema(Schema):
    id = fields.String()
    url = fields.String(attribute="document.id")
    issuer = fields.String(attribute="issuer.slug")
    achievement_id = fields.String()
    result_id = fields.String()
    status = fields.String()
    issued_at = fields.AwareDateTime()
    valid_from = fields.AwareDateTime()
    valid_until = fields.AwareDateTime()
    credential = fields.Dict(attribute="document")


class CredentialPageSchema(Schema):
    items = fields.List(fields.Nested(CredentialSchema))
    next_cursor = fields.String(allow_none=True)


class ListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(load_default=None)
    issuer = fields.String(load_default=None)
    achievement_id = fields.String(load_default=None)
