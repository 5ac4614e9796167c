"""Completed assessments reported by a platform, and our answer."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import DID, Score, http_url


class RecipientSchema(Schema):
    email = fields.Email(load_default=None, validate=validate.Length(max=320))
    name = fields.String(load_default=None, validate=validate.Length(1, 255))
    id = fields.String(
        load_default=None,
        validate=[validate.Length(max=2048), validate.Regexp(DID, error="Must be a DID, such as did:key:z6Mk...")],
        metadata={"description": "the earner's DID"},
    )

    @validates_schema
    def _one_identity(self, data, **kwargs):
        if bool(data.get("email")) == bool(data.get("id")):
            raise ValidationError("Give exactly one of email or id (a DID).", "_schema")


class EvidenceSchema(Schema):
    id = http_url(load_default=None, metadata={"description": "URL of the evidence"})
    name = fields.String(load_default=None, validate=validate.Length(1, 255))
    description = fields.String(load_default=None, validate=validate.Length(1, 10000))
    narrative = fields.String(load_default=None, validate=validate.Length(1, 20000))
    genre = fields.String(load_default=None, validate=validate.Length(1, 255))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not any(data.values()):
            raise ValidationError("Evidence needs at least one of id, name, description, narrative, genre.", "_schema")


class ResultCreateSchema(Schema):
    external_id = fields.String(required=True, validate=validate.Length(1, 255))
    recipient = fields.Nested(RecipientSchema, required=True)
    score = Score(required=True)
    completed_at = fields.AwareDateTime(required=True, metadata={"description": "RFC 3339 with a time zone"})
    evidence = fields.List(fields.Nested(EvidenceSchema), load_default=list, validate=validate.Length(max=50))


class ResultAnswerSchema(Schema):
    passed = fields.Boolean(required=True)
    result_id = fields.String()
    credential_id = fields.String()
    credential = fields.Dict(metadata={"description": "the signed OpenBadgeCredential"})
    renews = fields.String(allow_none=True, metadata={
        "description": "the earner's previous current credential for the achievement, which this one renews; "
                       "it stays valid until it expires. Null when this is the earner's first."})
    reason = fields.String()
    pathway_credentials = fields.List(fields.Dict(), metadata={
        "description": "the pathway credentials this pass completed (issued in the same transaction): "
                       "[{credential_id, achievement_id}]; absent when none"})
