"""Issuer profiles: what an admin sends, and what we answer."""

from marshmallow import Schema, fields, validate

from schemas.common import SLUG, http_url


class IssuerCreateSchema(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(SLUG, error="Use 1-64 lowercase letters, digits and inner hyphens."))
    name = fields.String(required=True, validate=validate.Length(1, 255))
    url = http_url(required=True)
    email = fields.Email(load_default=None, validate=validate.Length(max=320))
    description = fields.String(load_default=None, validate=validate.Length(max=10000))
    did_method = fields.String(load_default="web", validate=validate.OneOf(["web", "key"]))


class SigningKeySchema(Schema):
    verification_method = fields.String()
    public_key_multibase = fields.String()
    created_at = fields.AwareDateTime()
    retired_at = fields.AwareDateTime()
    active = fields.Boolean()


class IssuerSchema(Schema):
    id = fields.String(attribute="did", metadata={"description": "the issuer's DID"})
    slug = fields.String()
    name = fields.String()
    url = fields.String()
    email = fields.String()
    description = fields.String()
    did_method = fields.String()
    profile_url = fields.String()
    did_document_url = fields.String(allow_none=True)
    keys = fields.List(fields.Nested(SigningKeySchema))
    created_at = fields.AwareDateTime()
