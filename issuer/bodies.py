"""Reading request bodies: JSON only, an object at the top, then a schema."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError

from dataintegrity import strictjson
from issuer.errors import ApiError, BadRequest, ValidationFailed


class UnsupportedMediaType(ApiError):
    status, title = 415, "Unsupported media type"


def json_body(*, refuse_nul: bool = True) -> dict:
    """The request body as a JSON object.

    :param refuse_nul: refuse a body holding NUL anywhere; a batch checks each of its items instead
        (`refuse_nul_text`), so that one bad item does not sink the others.
    :raise UnsupportedMediaType: not sent as application/json (or a +json type).
    :raise BadRequest: not strict JSON (`dataintegrity.strictjson`: malformed_json,
        json_too_deep), or not an object.
    :raise ValidationFailed: text holding NUL.
    """
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise UnsupportedMediaType("unsupported_media_type", "send the body as application/json")
    try:
        body = strictjson.loads(request.get_data(cache=True))
    except strictjson.JsonTextError as error:
        raise BadRequest(error.code, f"the body is not accepted JSON: {error.message}") from None
    if not isinstance(body, dict):
        raise BadRequest("malformed_json", "the body must be a JSON object")
    if refuse_nul:
        refuse_nul_text(body)
    return body


def refuse_nul_text(value) -> None:
    """:raise ValidationFailed: a string in `value` holds NUL, named by its path in `errors`."""
    nul_fields = _fields_with_nul(value)
    if nul_fields:
        # Valid JSON, but no database stores it (PostgreSQL refuses NUL in text).
        raise ValidationFailed(_nested({path: ["Text must not contain the NUL character."] for path in nul_fields}))


def load(schema: Schema, body: dict | None = None) -> dict:
    """Validate with `schema`; every bad field is named in the 422 problem's `errors`."""
    try:
        return schema.load(json_body() if body is None else body)
    except ValidationError as error:
        raise ValidationFailed(error.messages) from None


def _fields_with_nul(value, path: str = "") -> list[str]:
    """Dotted paths (list items by index, as marshmallow names them) of strings holding NUL."""
    if isinstance(value, str):
        return [path or "_schema"] if "\x00" in value else []
    if isinstance(value, dict):
        items = ((key if "\x00" not in key else "_schema", child) for key, child in value.items())
    elif isinstance(value, list):
        items = ((str(index), child) for index, child in enumerate(value))
    else:
        return []
    return [found for key, child in items for found in _fields_with_nul(child, f"{path}.{key}" if path else key)]


def _nested(flat: dict[str, list[str]]) -> dict:
    """{"recipient.name": [...]} -> {"recipient": {"name": [...]}}, as marshmallow reports fields."""
    nested: dict = {}
    for path, messages in flat.items():
        *parents, leaf = path.split(".")
        target = nested
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = messages
    return nested
