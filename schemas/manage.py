"""The earner's management link, as the admin API answers it."""

from marshmallow import Schema, fields


class ManagementLinkSchema(Schema):
    url = fields.String(metadata={"description": "<base>/manage/<token>: send it to the earner; it replaces any earlier link"})
