"""Issuer profiles: what an admin sends, and what we answer."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import SLUG, http_url

# LinkedIn organization ids are numbers; kept as text.
LINKEDIN_ORGANIZATION_ID = r"^[0-9]{1,20}\Z"


class JsonBoolean(fields.Boolean):
    """JSON true or false only: marshmallow's Boolean also takes "false", "no" or 0."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def credentials_public(**kwargs) -> fields.Boolean:
    return JsonBoolean(metadata={
        "description": "whether a new credential's page is public until its earner chooses (default true)"}, **kwargs)


def linkedin_organization_id(**kwargs) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.Regexp(LINKEDIN_ORGANIZATION_ID, error="Use the digits of the LinkedIn organization id."),
        metadata={"description": "for 'Add to LinkedIn profile' links; null to clear"},
        **kwargs,
    )


def pathways_open(**kwargs) -> fields.Boolean:
    return JsonBoolean(metadata={
        "description": "whether other issuers of this instance may name this issuer's achievements in their "
                       "pathways (default false)"}, **kwargs)


class IssuerCreateSchema(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(SLUG, error="Use 1-64 lowercase letters, digits and inner hyphens."))
    name = fields.String(required=True, validate=validate.Length(1, 255))
    url = http_url(required=True)
    email = fields.Email(load_default=None, validate=validate.Length(max=320))
    description = fields.String(load_default=None, validate=validate.Length(max=10000))
    did_method = fields.String(load_default="web", validate=validate.OneOf(["web", "key"]))
    credentials_public = credentials_public(load_default=True)
    linkedin_organization_id = linkedin_organization_id(load_default=None)
    pathways_open = pathways_open(load_default=False)


class IssuerUpdateSchema(Schema):
    """PATCH /api/v1/issuers/<slug>: the issuer's sharing settings; other fields are refused."""

    credentials_public = credentials_public()
    linkedin_organization_id = linkedin_organization_id()
    pathways_open = pathways_open()

    @validates_schema
    def _something(self, data, **_kwargs):
        if not data:
            raise ValidationError("Send credentials_public, linkedin_organization_id or pathways_open.")


class SigningKeySchema(Schema):
    verification_method = fields.String()
    public_key_multibase = fields.String()
    created_at = fields.AwareDateTime()
    retired_at = fields.AwareDateTime(allow_none=True)
    active = fields.Boolean()


class IssuerSchema(Schema):
    id = fields.String(attribute="did", metadata={"description": "the issuer's DID"})
    slug = fields.String()
    name = fields.String()
    url = fields.String()
    email = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    did_method = fields.String()
    profile_url = fields.String()
    did_document_url = fields.String(allow_none=True)
    credentials_public = fields.Boolean()
    linkedin_organization_id = fields.String(allow_none=True)
    pathways_open = fields.Boolean()
    keys = fields.List(fields.Nested(SigningKeySchema))
    created_at = fields.AwareDateTime()
