"""API tokens as the admin API shows them: never the hash; the plain token only once, when made."""

from marshmallow import Schema, fields, validate

from schemas.common import SLUG, IssuerSlug


class TokenSchema(Schema):
    id = fields.String()
    issuer = IssuerSlug(metadata={"description": "the issuer the token is scoped to; null (and no party_id): the "
                                                 "whole instance"})
    party_id = fields.String(allow_none=True, metadata={"description": "the relying party whose token it is"})
    label = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)


class TokenCreatedSchema(TokenSchema):
    token = fields.String(metadata={"description": "the Bearer token; shown here once and never again"})


class TokenListSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema))


class TokenCreateSchema(Schema):
    issuer = fields.String(load_default=None, validate=validate.Regexp(SLUG, error="Not an issuer slug."),
                           metadata={"description": "scope the token to this issuer; without it the token acts on the whole instance"})
    label = fields.String(load_default=None, validate=validate.Length(max=255))


class TokenRevokeSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))
