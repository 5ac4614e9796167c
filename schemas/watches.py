"""Watches (a relying party's watched credentials) as the API takes and shows them."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.verification import ReportSchema

STATES = ("valid", "revoked", "suspended", "expired", "unverifiable", "invalid")
_SOURCES = ("credential", "url", "presentation")


class WatchCreateSchema(Schema):
    credential = fields.Raw(metadata={"description": "the credential: a JSON-LD object or a JWT string",
                                      "anyOf": [{"type": "object"}, {"type": "string"}]})
    url = fields.String(validate=validate.Length(min=1, max=2048),
                        metadata={"description": "where to fetch the credential (any accepted form)"})
    presentation = fields.Dict(metadata={"description": "a verifiable presentation from the candidate, holding "
                                                        "one credential; needs challenge and domain"})
    challenge = fields.String(validate=validate.Length(min=1, max=255))
    domain = fields.String(validate=validate.Length(min=1, max=255))
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255),
                              metadata={"description": "the party's own reference (an applicant's file, say)"})

    @validates_schema
    def _one_source(self, data, **kwargs):
        given = [name for name in _SOURCES if name in data]
        if len(given) != 1:
            raise ValidationError("Give exactly one of credential, url or presentation.", "_schema")
        if "credential" in data and not isinstance(data["credential"], (dict, str)):
            raise ValidationError("A credential is a JSON object or a JWT string.", "credential")
        if "presentation" in data:
            missing = {name: ["Missing data for required field."] for name in ("challenge", "domain")
                       if name not in data}
            if missing:
                raise ValidationError(missing)


class HistoryEntrySchema(Schema):
    at = fields.AwareDateTime()
    state = fields.String(validate=validate.OneOf(STATES))
    code = fields.String(metadata={"description": "why: a check's failure code, or renewed/reissued when the "
                                                  "watch moved to the earner's newer credential"})


class WatchSchema(Schema):
    id = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    code = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    credential_id = fields.String(allow_none=True)
    issuer = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    checked_at = fields.AwareDateTime()
    changed_at = fields.AwareDateTime()
    report = fields.Nested(ReportSchema, metadata={"description": "the last full verification's report"})


class WatchDetailSchema(WatchSchema):
    history = fields.List(fields.Nested(HistoryEntrySchema))


class WatchQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(STATES))
    changed_since = fields.AwareDateTime()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class WatchListSchema(Schema):
    items = fields.List(fields.Nested(WatchSchema))
    next_offset = fields.Integer(allow_none=True, metadata={"description": "the offset of the next page; null: none"})
