"""JSON text to Python, within limits.

Whatever reaches the verifier is untrusted and later walked recursively (JSON-LD expansion,
schema checks), so every JSON value entering through `verifier.forms` is bounded here: nesting
depth, number of nodes, no duplicate keys (two parsers could each pick a different value of a
duplicated key, so a credential could mean one thing to the signer and another to us), and no
NaN/Infinity (not JSON, and never in a credential).
"""

from __future__ import annotations

import json

from verifier.forms.errors import FormError

MAX_DEPTH = 64
MAX_NODES = 10_000


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise FormError("unreadable_input", f"the JSON repeats the key {key!r:.80} in one object")
        result[key] = value
    return result


def _no_constant(name: str):
    raise FormError("unreadable_input", f"{name} is not a JSON value")


def parse_json(text: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES):
    """The value of the JSON `text`, checked with `check_json_shape`.

    :raise FormError: unreadable_input (not JSON, duplicate keys, NaN), json_too_deep,
        json_too_many_nodes.
    """
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        # The C scanner recurses once per level; past the interpreter's limit it is far deeper
        # than any limit of ours anyway.
        raise FormError("json_too_deep", f"the JSON is nested deeper than {max_depth} levels") from None
    except ValueError as error:
        if isinstance(error, FormError):
            raise
        raise FormError("unreadable_input", f"not valid JSON: {error}") from None
    check_json_shape(value, max_depth=max_depth, max_nodes=max_nodes)
    return value


def check_json_shape(value, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Every value (object, array, scalar) counts as one node; an object or array one level.

    Walked with an explicit stack, so a value too deep for recursion is measured, not crashed on.

    :raise FormError: json_too_deep, json_too_many_nodes, unreadable_input (a value JSON cannot
        hold, in a dict handed in by a caller).
    """
    nodes = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise FormError("json_too_many_nodes", f"the JSON has more than {max_nodes} values")
        if isinstance(item, dict):
            children = item.values()
            if any(not isinstance(key, str) for key in item):
                raise FormError("unreadable_input", "an object has a key that is not a string")
        elif isinstance(item, list):
            children = item
        elif item is None or isinstance(item, (str, bool, int, float)):
            continue
        else:
            raise FormError("unreadable_input", f"{type(item).__name__} is not a JSON value")
        if depth > max_depth:
            raise FormError("json_too_deep", f"the JSON is nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children)
