"""JSON text to Python, within limits.

Whatever reaches the verifier is untrusted and later walked recursively (JSON-LD expansion,
schema checks), so every JSON value entering through `verifier.forms` is read by the one strict
parser (`dataintegrity.strictjson`: Unicode text, finite numbers a double can hold, no duplicate
keys, bounded depth) and its number of nodes bounded here.
"""

from __future__ import annotations

from dataintegrity import strictjson
from verifier.forms.errors import FormError

MAX_DEPTH = 64
MAX_NODES = 10_000


def parse_json(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES):
    """The value of the JSON `text`, checked with `check_json_shape`.

    :raise FormError: unreadable_input (not strict JSON: syntax, duplicate keys, NaN, a number
        out of range, a lone surrogate), json_too_deep, json_too_many_nodes.
    """
    try:
        value = strictjson.loads(text, max_depth=max_depth)
    except strictjson.JsonTextError as error:
        raise _form_error(error) from None
    _check_size(value, max_depth=max_depth, max_nodes=max_nodes)  # the parser checked the rest
    return value


def check_json_shape(value, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Every value (object, array, scalar) counts as one node; an object or array one level.
    A value a caller built (not parsed here) must be strict JSON as well.

    :raise FormError: json_too_deep, json_too_many_nodes, unreadable_input (a value strict JSON
        cannot hold).
    """
    if strictjson.within(value, max_depth=max_depth, max_nodes=max_nodes):
        return  # the usual answer in one walk; otherwise the walks below find which error comes first
    _check_size(value, max_depth=max_depth, max_nodes=max_nodes)
    try:
        strictjson.check_value(value, max_depth=max_depth)
    except strictjson.JsonTextError as error:
        raise _form_error(error) from None


def _check_size(value, *, max_depth: int, max_nodes: int) -> None:
    """:raise FormError: json_too_many_nodes, json_too_deep (whichever the walk meets first)."""
    nodes = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise FormError("json_too_many_nodes", f"the JSON has more than {max_nodes} values")
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise FormError("json_too_deep", f"the JSON is nested deeper than {max_depth} levels")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def _form_error(error: strictjson.JsonTextError) -> FormError:
    code = "json_too_deep" if error.code == "json_too_deep" else "unreadable_input"
    return FormError(code, error.message)
