"""Achievements and their assessment policy."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import MAX_SCORE, Duration, Score, credential_format, http_url, vocabulary, vocabulary_schema

# Open Badges 3.0 AchievementType vocabulary; "ext:..." names extend it.
ACHIEVEMENT_TYPES = (
    "Achievement ApprenticeshipCertificate Assessment Assignment AssociateDegree Award Badge "
    "BachelorDegree Certificate CertificateOfCompletion Certification CommunityService Competency "
    "Course CoCurricular Degree Diploma DoctoralDegree Fieldwork GeneralEducationDevelopment "
    "JourneymanCertificate LearningProgram License Membership ProfessionalDoctorate "
    "QualityAssuranceCredential MasterCertificate MasterDegree MicroCredential ResearchDoctorate "
    "SecondarySchoolDiploma"
).split()

ALIGNMENT_TARGET_TYPES = (
    "ceasn:Competency ceterms:Credential CFItem CFRubric CFRubricCriterion CFRubricCriterionLevel "
    "CTDL"
).split()


class CriteriaSchema(Schema):
    narrative = fields.String(required=True, validate=validate.Length(1, 20000))
    id = http_url(load_default=None)


class AlignmentSchema(Schema):
    target_name = fields.String(required=True, validate=validate.Length(1, 500))
    target_url = http_url(required=True)
    target_description = fields.String(load_default=None)
    target_framework = fields.String(load_default=None)
    target_code = fields.String(load_default=None)
    target_type = fields.String(
        load_default=None,
        validate=vocabulary(ALIGNMENT_TARGET_TYPES, error="Use an Open Badges AlignmentTargetType or ext:<name>."),
        metadata=vocabulary_schema(ALIGNMENT_TARGET_TYPES),
    )


class AchievementCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 255))
    description = fields.String(required=True, validate=validate.Length(1, 20000))
    criteria = fields.Nested(CriteriaSchema, required=True)
    achievement_type = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=64),
            vocabulary(ACHIEVEMENT_TYPES, error="Use an Open Badges AchievementType (e.g. Badge, Certification) or ext:<name>."),
        ],
        metadata=vocabulary_schema(ACHIEVEMENT_TYPES),
    )
    alignments = fields.List(fields.Nested(AlignmentSchema), load_default=list, validate=validate.Length(max=100))
    tags = fields.List(fields.String(validate=validate.Length(1, 100)), load_default=list, validate=validate.Length(max=50))
    image = http_url(load_default=None)
    passing_score = Score(required=True)
    max_score = Score(required=True, validate=validate.Range(min=0, min_inclusive=False, max=MAX_SCORE))
    valid_for = Duration(load_default=None, metadata={"description": "ISO 8601 duration a credential stays valid, e.g. P1Y"})
    credential_format = credential_format(load_default="ldp")

    @validates_schema
    def _passing_within_max(self, data, **kwargs):
        if "passing_score" in data and "max_score" in data and data["passing_score"] > data["max_score"]:
            raise ValidationError("The passing score cannot be above the maximum score.", "passing_score")


class AchievementSchema(Schema):
    id = fields.String()
    url = fields.String()
    issuer = fields.String(attribute="issuer.slug")
    name = fields.String()
    description = fields.String()
    criteria = fields.Dict()
    achievement_type = fields.String(allow_none=True)
    alignments = fields.List(fields.Dict())
    tags = fields.List(fields.String())
    image = fields.String(attribute="image_url", allow_none=True)
    passing_score = Score()
    max_score = Score()
    valid_for = fields.String(allow_none=True)
    credential_format = fields.String()
    created_at = fields.AwareDateTime()
