from marshmallow import Schema, fields


class TokenSchema(Schema):
    id = fields.String()
    issuer = fields.String(attribute="issuer.slug", allow_none=True)
    label = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
