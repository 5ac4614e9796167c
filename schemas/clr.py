"""The Comprehensive Learner Record request (the record itself is a signed ClrCredential)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import DID


class ClrQuerySchema(Schema):
    email = fields.Email(load_default=None, validate=validate.Length(max=320), metadata={
        "description": "the earner's email address (compared case-insensitively, as issuing does); "
                       "exactly one of email and did"})
    did = fields.String(load_default=None, validate=[
        validate.Length(max=2048), validate.Regexp(DID, error="Must be a DID, such as did:key:z6Mk...")],
        metadata={"description": "the earner's DID (a recipient given as {\"id\": DID})"})

    @validates_schema
    def _one_earner(self, data, **kwargs):
        if bool(data.get("email")) == bool(data.get("did")):
            raise ValidationError("Give exactly one of email or did.", "_schema")
