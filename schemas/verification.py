"""Verification requests and the verification report of ../shared/INTERFACES.md."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema


# Any JSON value but null: what is not a credential is reported as one that does not verify.
NOT_NULL = [{"type": "object"}, {"type": "array", "items": {}}, {"type": "string"}, {"type": "number"}, {"type": "boolean"}]


class VerifyRequestSchema(Schema):
    """POST /api/v1/verify as JSON: exactly one of the three."""

    credential = fields.Raw(metadata={"description": "a JSON-LD credential (object) or its JSON text",
                                      "anyOf": NOT_NULL})
    jwt = fields.String(validate=validate.Length(min=1), metadata={"description": "a compact JWS credential"})
    url = fields.Url(schemes={"http", "https"}, require_tld=False,
                     metadata={"description": "where to fetch the credential", "format": "uri"})

    @validates_schema
    def _exactly_one(self, data, **kwargs):
        if len(data) != 1:
            raise ValidationError("Send exactly one of credential, jwt or url.", "_schema")


class CheckSchema(Schema):
    check = fields.String(metadata={"description": "format, context, schema, issuer, proof, validity, status or trust"})
    status = fields.String(metadata={"description": "passed, failed, warning or skipped"})
    code = fields.String(metadata={"description": "stable snake_case code of a failure or warning"})
    message = fields.String()


class ReportSchema(Schema):
    verified = fields.Boolean()
    checks = fields.List(fields.Nested(CheckSchema))
    credential = fields.Dict(metadata={"description": "id, name, issuer {id, name}, achievement, validFrom, validUntil"})
    checked_at = fields.String()
    credentials = fields.List(fields.Dict(), metadata={
        "description": "only for a ClrCredential: the report of each credential it embeds, in its order (verified, "
                       "checks, credential, checked_at); the record is verified only when its own checks pass and "
                       "every one of these verified"})


# A compact JWS: three base64url parts (the VC API verifier's only string form).
COMPACT_JWT_PATTERN = r"^\s*[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\s*$"


class VcApiVerifyRequestSchema(Schema):
    verifiableCredential = fields.Raw(required=True, metadata={
        "description": "the credential (object) or a compact JWT; any other value is a 400 (it is not a credential)",
        "anyOf": [{"type": "object"}, {"type": "string", "pattern": COMPACT_JWT_PATTERN}]})
    options = fields.Dict(load_default=dict)


class VcApiPresentationRequestSchema(Schema):
    verifiablePresentation = fields.Dict(required=True)
    options = fields.Dict(load_default=dict, metadata={"description": "challenge and domain the proof must carry"})
