"""The forms a credential arrives in, read into one shape.

`read_input` takes what a user gave (a parsed dict, an upload's bytes, pasted text) and says
which form it is: a JSON-LD credential, a VC-JWT, or a PNG/SVG badge image with either of those
baked in. It verifies nothing: for a JWT the caller runs `verifier.forms.jwt.verify_jwt`, for JSON
the usual checks. A URL is not read here (no network in this package): the caller fetches it with
its guarded client and passes the body and its Content-Type; `is_url` tells the two apart.

Detection goes by content, never by the name or type the sender claims; `filename` and
`content_type` only make the error clearer when the content is not what they announce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from verifier.forms.baked import PNG_SIGNATURE, extract_png, extract_svg, svg_standard_doctype
from verifier.forms.errors import FormError
from verifier.forms.jsontext import MAX_DEPTH, MAX_NODES, check_json_shape, parse_json
from verifier.forms.jwt import looks_like_jwt, read_jwt

__all__ = ["DEFAULT_MAX_BYTES", "FormError", "ParsedInput", "is_url", "read_input"]

DEFAULT_MAX_BYTES = 2_000_000

Form = Literal["json-ld", "jwt", "png", "svg"]


@dataclass(frozen=True)
class ParsedInput:
    """`form` is how it arrived; exactly one of `credential` (a JSON object) and `jwt` (a compact
    JWS, not yet verified) is set. A baked image may hold either. `relaxed`: (code, message) of
    what was read although a strict reader would refuse it, for a warning in the report."""

    form: Form
    credential: dict | None = None
    jwt: str | None = None
    relaxed: tuple[tuple[str, str], ...] = ()


def is_url(data) -> bool:
    """A single http(s) URL, to be fetched by the caller and its body read with `read_input`."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if not isinstance(data, str):
        return False
    text = data.strip()
    return text.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in text)


def read_input(data: bytes | str | dict, *, filename: str | None = None, content_type: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedInput:
    """Detect the form of `data` and read the credential or JWT out of it.

    dict -> JSON-LD; bytes with the PNG signature -> PNG; text whose root element is `<svg` ->
    SVG; three base64url parts -> JWT; a JSON object -> JSON-LD.

    :raise FormError: input_too_large (over `max_bytes`), json_too_deep, json_too_many_nodes,
        unreadable_input, not_a_credential, baked_image_without_credential, multiple_credentials,
        malformed_jwt.
    """
    if isinstance(data, dict):
        check_json_shape(data, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
        return ParsedInput("json-ld", credential=data)
    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        size = len(data)
    else:
        raise FormError("unreadable_input", f"cannot read a {type(data).__name__} as a credential")
    if size > max_bytes:
        raise FormError("input_too_large", f"the input is {size} bytes, more than the {max_bytes} accepted")
    hint = _hint(filename, content_type)
    if isinstance(data, bytes) and data.startswith(PNG_SIGNATURE):
        form, text = "png", extract_png(data, max_text=max_bytes)
        return _embedded(form, text)
    if hint == "png":
        raise FormError("unreadable_input", "the input was sent as a PNG image but is not one")
    text = _text(data)
    stripped = text.strip()
    if stripped.startswith("<"):
        parsed = _embedded("svg", extract_svg(stripped))
        if svg_standard_doctype(stripped):
            note = ("svg_doctype_ignored", "the SVG's standard SVG DOCTYPE was skipped (nothing in it was read or fetched)")
            parsed = ParsedInput(parsed.form, parsed.credential, parsed.jwt, (note,))
        return parsed
    if hint == "svg":
        raise FormError("unreadable_input", "the input was sent as an SVG image but is not one")
    if is_url(stripped):
        raise FormError("not_a_credential", "this is a URL; it has to be fetched, and its content read")
    return _parsed_text("json-ld", stripped)


def _embedded(form: Form, text: str) -> ParsedInput:
    """What a baked image holds: the JSON credential or a compact JWS (OB 3.0 baking)."""
    parsed = _parsed_text(form, text.strip())
    return ParsedInput(form, credential=parsed.credential, jwt=parsed.jwt)


def _parsed_text(form: Form, text: str) -> ParsedInput:
    if looks_like_jwt(text):
        read_jwt(text)  # the header and payload must at least decode; verification is later
        return ParsedInput("jwt" if form == "json-ld" else form, jwt=text)
    try:
        value = parse_json(text)
    except FormError as error:
        if error.code != "unreadable_input":
            raise
        raise FormError("unreadable_input", f"not JSON, a JWT or a PNG/SVG badge image ({error.message})") from None
    if not isinstance(value, dict):
        raise FormError("not_a_credential", f"the JSON is {type(value).__name__}, not an object (a credential)")
    return ParsedInput(form, credential=value)


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise FormError("unreadable_input", "the input is neither a PNG image nor UTF-8 text") from None


def _hint(filename: str | None, content_type: str | None) -> str | None:
    media = (content_type or "").split(";")[0].strip().lower()
    name = (filename or "").lower()
    if media == "image/png" or name.endswith(".png"):
        return "png"
    if media == "image/svg+xml" or name.endswith(".svg"):
        return "svg"
    return None
