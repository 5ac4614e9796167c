"""Pathways: achievements awarded for a set of other achievements."""

from marshmallow import Schema, fields, validate

from schemas.achievement import ACHIEVEMENT_TYPES, CriteriaSchema
from schemas.common import Duration, vocabulary, vocabulary_schema
from schemas.issuer import JsonBoolean

REQUIREMENTS_DESCRIPTION = (
    'A group: {"all_of": [item, ...]} or {"n_of": N, "from": [item, ...]}; an item is an achievement id '
    "(or its URL) or a nested group. At most 5 levels, 100 items a group, 200 achievements in all."
)


class PathwayCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 255))
    description = fields.String(required=True, validate=validate.Length(1, 20000))
    criteria = fields.Nested(CriteriaSchema, required=True)
    # Checked by issuer.pathways.requirements, which names the offending part by its path.
    requirements = fields.Dict(required=True, metadata={"description": REQUIREMENTS_DESCRIPTION})
    achievement_type = fields.String(
        load_default=None,
        validate=[validate.Length(max=64), vocabulary(ACHIEVEMENT_TYPES, error="Use an Open Badges AchievementType or ext:<name>.")],
        metadata=vocabulary_schema(ACHIEVEMENT_TYPES),
    )
    valid_for = Duration(load_default=None, metadata={
        "description": "ISO 8601 duration the pathway credential stays valid; without it, until the earliest "
                       "expiry of the component credentials it counts"})
    all_valid_at_once = JsonBoolean(load_default=False, metadata={
        "description": "count only component credentials valid now (an expired one does not count)"})


class PathwayUpdateSchema(PathwayCreateSchema):
    """PATCH: any of the fields of a definition; those sent replace the pathway's."""

    name = fields.String(validate=validate.Length(1, 255))
    description = fields.String(validate=validate.Length(1, 20000))
    criteria = fields.Nested(CriteriaSchema)
    requirements = fields.Dict(metadata={"description": REQUIREMENTS_DESCRIPTION})
    achievement_type = fields.String(
        allow_none=True,
        validate=[validate.Length(max=64), vocabulary(ACHIEVEMENT_TYPES, error="Use an Open Badges AchievementType or ext:<name>.")],
        metadata=vocabulary_schema(ACHIEVEMENT_TYPES),
    )
    valid_for = Duration(allow_none=True)
    all_valid_at_once = JsonBoolean()


class PathwaySchema(Schema):
    id = fields.String()
    url = fields.String()
    issuer = fields.String(attribute="issuer.slug")
    name = fields.String()
    description = fields.String()
    criteria = fields.Dict()
    achievement_type = fields.String(allow_none=True)
    requirements = fields.Dict()
    valid_for = fields.String(allow_none=True)
    all_valid_at_once = fields.Boolean()
    awarded = fields.Integer(metadata={"description": "pathway credentials issued; the pathway is fixed once one is"})
    created_at = fields.AwareDateTime()


class ProgressQuerySchema(Schema):
    email = fields.Email(load_default=None, validate=validate.Length(max=320))
    did = fields.String(load_default=None, validate=validate.Length(1, 2048))
    issuer = fields.String(load_default=None, metadata={"description": "only this issuer's pathways"})


class PathwayProgressSchema(Schema):
    id = fields.String()
    name = fields.String()
    issuer = fields.String()
    complete = fields.Boolean(metadata={"description": "the requirements are met now"})
    credential_id = fields.String(allow_none=True, metadata={"description": "the earner's current pathway credential"})
    status = fields.String(allow_none=True)
    requirements = fields.Dict(metadata={"description": "the tree, each part with satisfied, and each group with "
                                                        "its count of satisfied items and the count it needs"})


class ProgressSchema(Schema):
    earner = fields.String()
    pathways = fields.List(fields.Nested(PathwayProgressSchema))


class PathwayCredentialSchema(Schema):
    credential_id = fields.String()
    achievement_id = fields.String()
