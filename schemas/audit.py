"""The audit log as GET /api/v1/audit pages through it."""

from marshmallow import Schema, fields, validate

from schemas.common import IssuerSlug


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    action = fields.String(metadata={"description": (
        "issuer.create, issuer.update, key.rotate, token.create, token.revoke, achievement.image, "
        "credential.issue, credential.renew, credential.revoke, credential.suspend, credential.unsuspend, "
        "credential.reissue, credential.management_link, credential.earner_update, achievement.update"
    )})
    actor = fields.String(metadata={"description": (
        "token (an API token acted), cli (the command line), earner (through their management link) or user "
        "(a console user, whose email is details.user)")})
    token_id = fields.String(allow_none=True)
    issuer = IssuerSlug()
    subject_type = fields.String()
    subject_id = fields.String()
    reason = fields.String(allow_none=True)
    details = fields.Dict()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = fields.String(allow_none=True)


class AuditQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    # A larger cursor names no entry, and no database could compare it beyond 64 bits; the bound is
    # 2**53 - 1 so that the OpenAPI document stating it is itself I-JSON (no integer a double rounds).
    cursor = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**53 - 1))
    issuer = fields.String(load_default=None)
