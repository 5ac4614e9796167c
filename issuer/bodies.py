"""Reading request bodies: JSON only, an object at the top, then a schema."""

from __future__ import annotations

import json

from flask import request
from marshmallow import Schema, ValidationError

from issuer.errors import ApiError, BadRequest, ValidationFailed

# Far above any real credential or API body; deeper nesting is an attack on the parser.
MAX_JSON_DEPTH = 64


class UnsupportedMediaType(ApiError):
    status, title = 415, "Unsupported media type"


def json_body() -> dict:
    """The request body as a JSON object.

    :raise UnsupportedMediaType: not sent as application/json (or a +json type).
    :raise BadRequest: malformed JSON, too deeply nested, or not an object.
    """
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise UnsupportedMediaType("unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("malformed_json", "the body must be a JSON object")
    if _depth(body) > MAX_JSON_DEPTH:
        raise BadRequest("json_too_deep", f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    return body


def load(schema: Schema, body: dict | None = None) -> dict:
    """Validate with `schema`; every bad field is named in the 422 problem's `errors`."""
    try:
        return schema.load(json_body() if body is None else body)
    except ValidationError as error:
        raise ValidationFailed(error.messages) from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def _depth(value, level: int = 1) -> int:
    stack = [(value, level)]
    deepest = level
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
