"""Relying parties and webhook endpoints as the API takes and shows them."""

from marshmallow import Schema, fields, validate

# issuer/webhooks/events.py's event types (schemas import nothing of the service; tests check they agree).
EVENT_TYPES = ("credential.issued", "credential.revoked", "credential.suspended", "credential.reinstated",
               "credential.reissued", "credential.renewed", "credential.expiring", "credential.expired",
               "credential.unverifiable", "credential.verified")


class PartyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    email = fields.Email(load_default=None, validate=validate.Length(max=320), metadata={
        "description": "where the party is told when one of its webhook endpoints is disabled"})


class PartyCreatedSchema(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    token = fields.String(metadata={"description": "the party's Bearer token; shown here once and never again"})
    token_id = fields.String(metadata={"description": "the token's id (POST /api/v1/tokens/<token_id>/revoke)"})


class WebhookCreateSchema(Schema):
    issuer = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z",
                                                                      error="Not an issuer slug."),
                           metadata={"description": "the issuer whose events are sent: needed with an instance "
                                                    "token; an issuer's or a party's token owns the endpoint itself"})
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                        metadata={"description": "an https URL on a public address"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), load_default=None,
                         validate=validate.Length(min=1, max=len(EVENT_TYPES)),
                         metadata={"description": "the event types sent; without it, all the owner may receive"})


class WebhookSchema(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String(), allow_none=True)
    owner = fields.String(metadata={"description": "issuer:<slug> or party:<id>"})
    created_at = fields.AwareDateTime()
    disabled_at = fields.AwareDateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "the signing secret (whsec_...), shown here once"})


class WebhookSecretSchema(Schema):
    id = fields.String()
    secret = fields.String(metadata={"description": "the new signing secret (whsec_...), shown here once"})


class WebhookListSchema(Schema):
    items = fields.List(fields.Nested(WebhookSchema))


class DeliverySchema(Schema):
    message_id = fields.String(metadata={"description": "the webhook-id: the same on every attempt"})
    type = fields.String()
    state = fields.String(metadata={"description": "the message's: pending, delivered or failed"})
    at = fields.AwareDateTime()
    status_code = fields.Integer(allow_none=True, metadata={"description": "null: no answer"})
    latency_ms = fields.Integer()
    error = fields.String(allow_none=True)


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))


class DeliveryQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class RedeliveredSchema(Schema):
    message_id = fields.String()
    state = fields.String()
