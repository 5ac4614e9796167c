"""Strict JSON: the one parser for every JSON text that comes from outside.

JSON as RFC 8259 and I-JSON (RFC 7493) mean it, so that every value we accept is one that any
other parser reads the same way, and one we can hash, store and answer again:

- UTF-8 text whose strings are Unicode (no lone surrogate escape such as "\\ud800": valid JSON
  syntax, but no text, so it cannot be encoded, hashed or stored);
- no NaN or Infinity (not JSON), no number outside the IEEE double range (1e999), no integer
  another parser would round (beyond +-(2**53 - 1));
- no key twice in one object (two parsers could each keep a different value, so a credential
  could mean one thing to its signer and another to us);
- nested at most `max_depth` levels.
"""

from __future__ import annotations

import json
import math
import re
import sys

MAX_DEPTH = 64
MAX_SAFE_INTEGER = 2**53 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonTextError(ValueError):
    """`code` is `json_too_deep` for nesting, `malformed_json` for everything else; `message`
    says what exactly, for a person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH):
    """The value of the JSON `text` (bytes must be UTF-8).

    :raise JsonTextError: the text is not strict JSON, or nests deeper than `max_depth`.
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonTextError("malformed_json", f"not UTF-8 text (byte {error.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_constant,
                           parse_float=_float, parse_int=_int)
    except RecursionError:
        # The C scanner recurses once per level: past the interpreter's limit, far past ours.
        raise JsonTextError("json_too_deep", f"the JSON nests deeper than {max_depth} levels") from None
    except JsonTextError:
        raise
    except ValueError as error:
        raise JsonTextError("malformed_json", f"not valid JSON: {error}") from None
    if not within(value, max_depth=max_depth, max_nodes=sys.maxsize):  # the quick walk settles most
        check_value(value, max_depth=max_depth)
    return value


def check_value(value, *, max_depth: int = MAX_DEPTH) -> None:
    """Whether a parsed value (or one a program built) is strict JSON: depth, text, numbers.

    Walked with an explicit stack, so a value too deep for recursion is measured, not crashed on.

    :raise JsonTextError: as `loads`, and for a key that is not a string or a value JSON cannot hold.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            _check_int(item)
        elif isinstance(item, float):
            _check_float(item)
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                raise JsonTextError("json_too_deep", f"the JSON nests deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise JsonTextError("malformed_json", "an object has a key that is not a string")
                    _check_text(key)
                children = item.values()
            else:
                children = item
            stack.extend((child, depth + 1) for child in children)
        else:
            raise JsonTextError("malformed_json", f"{type(item).__name__} is not a JSON value")


def within(value, *, max_depth: int = MAX_DEPTH, max_nodes: int) -> bool:
    """Whether ``value`` is an object or array that is strict JSON (as `check_value` means it) of at
    most `max_nodes` values (each object, array and scalar one) nested at most `max_depth` levels.

    The common case, answered in one walk that stops at the first doubt; on False the caller walks
    again to name the exact error (whose order this walk does not keep).
    """
    if not isinstance(value, (dict, list)):
        return False
    nodes = 1
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(item, dict):
            for key in item:
                # isascii() reads a flag CPython keeps: most text is settled without the pattern
                if not isinstance(key, str) or (not key.isascii() and _SURROGATE.search(key)):
                    return False
            children = item.values()
        else:
            children = item
        nodes += len(children)
        if nodes > max_nodes:
            return False
        for child in children:
            if isinstance(child, str):
                if not child.isascii() and _SURROGATE.search(child):
                    return False
            elif isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
            elif child is None or isinstance(child, bool):
                continue
            elif isinstance(child, int):
                if abs(child) > MAX_SAFE_INTEGER:
                    return False
            elif not isinstance(child, float) or not math.isfinite(child):
                return False
    return True


def _object(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise JsonTextError("malformed_json", f"the key {key!r:.80} appears twice in one object")
        result[key] = value
    return result


def _constant(name: str):
    raise JsonTextError("malformed_json", f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    _check_float(value, text)
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 16:  # quick refusal before int() converts a megabyte of digits
        raise JsonTextError("malformed_json", f"the number {text:.40} is out of range")
    value = int(text)
    _check_int(value)
    return value


def _check_float(value: float, text: str | None = None) -> None:
    if not math.isfinite(value):
        raise JsonTextError("malformed_json", f"the number {text or value!s:.40} is out of range")


def _check_int(value: int) -> None:
    if abs(value) > MAX_SAFE_INTEGER:
        raise JsonTextError("malformed_json", "an integer is out of range (beyond 2**53 - 1)")


def _check_text(text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise JsonTextError("malformed_json",
                            "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
