"""The Comprehensive Learner Record request (the record itself is a signed ClrCredential)."""

from marshmallow import Schema, fields, validate


class ClrQuerySchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320), metadata={
        "description": "the earner's email address (compared case-insensitively, as issuing does)"})
