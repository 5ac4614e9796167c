"""Many results of one achievement in one request, and the answer per item."""

from marshmallow import Schema, fields, validate

from schemas.result import ResultAnswerSchema

MAX_BATCH_ITEMS = 1000


class BatchCreateSchema(Schema):
    # Each item is checked on its own (as ResultCreateSchema), so one bad item is its own answer.
    results = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1), metadata={
        "description": f"at most {MAX_BATCH_ITEMS:,} result bodies, each as POST .../results takes"})
    atomic = fields.Boolean(load_default=False, metadata={
        "description": "all or nothing: when any item is refused, nothing is recorded and the 422 names every one"})


class BatchItemSchema(ResultAnswerSchema):
    passed = fields.Boolean(metadata={"description": "an item the single route answers 200 or 201; not one it refuses"})
    index = fields.Integer(required=True, metadata={"description": "the item's place in the request, from 0"})
    row = fields.Integer(metadata={"description": "CSV uploads: the row of the file (the header is row 1)"})
    external_id = fields.String(allow_none=True)
    status = fields.Integer(required=True, metadata={"description": "the status the single route would answer"})
    replayed = fields.Boolean(required=True, metadata={"description": "answered from an earlier request"})
    error = fields.Dict(metadata={"description": "the problem body the single route would answer"})


class BatchAnswerSchema(Schema):
    items = fields.List(fields.Nested(BatchItemSchema), required=True)
