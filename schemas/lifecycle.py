"""Revoke, suspend, unsuspend and reissue: what an admin sends, and the reissue answer."""

from marshmallow import Schema, ValidationError, fields, validate

from schemas.common import Score
from schemas.result import EvidenceSchema

# Most credentials an admin revokes in one request; one transaction, so all or nothing.
MAX_BULK_REVOKE = 1000


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Give a reason; it is kept in the audit log.")
    if "\x00" in value:  # PostgreSQL cannot store it; the CLI reaches here without the API's body checks
        raise ValidationError("The reason must not contain a NUL character.")


def reason_field():
    return fields.String(
        required=True, validate=[validate.Length(1, 1000), _not_blank],
        metadata={"description": "why; kept with the credential's status and in the audit log"},
    )


class StatusChangeSchema(Schema):
    """The body of /revoke, /suspend and /unsuspend."""

    reason = reason_field()


class ReissueSchema(Schema):
    reason = reason_field()
    score = Score(load_default=None, metadata={
        "description": "the corrected score, between the achievement's passing score and its maximum; "
                       "without it the credential's score is kept"})
    evidence = fields.List(fields.Nested(EvidenceSchema), load_default=None, validate=validate.Length(max=50),
                           metadata={"description": "the corrected evidence (replaces it all); without it the "
                                                    "credential's evidence is kept"})


def _unique(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise ValidationError("Each credential id may appear only once.")


class BulkRevokeSchema(Schema):
    credential_ids = fields.List(
        fields.String(validate=validate.Length(1, 64)), required=True,
        validate=[validate.Length(1, MAX_BULK_REVOKE), _unique],
        metadata={"description": f"1 to {MAX_BULK_REVOKE} distinct credential ids; all are revoked or none",
                  "uniqueItems": True},
    )
    reason = reason_field()


class BulkRevokedSchema(Schema):
    revoked = fields.List(fields.String(), metadata={"description": "the ids revoked, as given"})


class ReissuedSchema(Schema):
    credential_id = fields.String(metadata={"description": "the corrected credential's id"})
    credential = fields.Raw(metadata={
        "description": "the corrected, signed OpenBadgeCredential (the VC-JWT when it was issued as one)",
        "oneOf": [{"type": "object"}, {"type": "string"}]})
    supersedes = fields.String(metadata={"description": "the id of the credential it replaces (now revoked)"})
