"""A pathway's requirement tree: checking a definition, and evaluating it for one earner. Pure.

A tree is a group, `{"all_of": [item, ...]}` or `{"n_of": N, "from": [item, ...]}`, whose items
are achievement ids or nested groups. Stored normalized: ids as bare UUIDs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from issuer.models import is_id

MAX_DEPTH = 5
MAX_GROUP_ITEMS = 100
MAX_ACHIEVEMENTS = 200

# "No end": a credential without validUntil, or a requirement met by one.
FOREVER = datetime.max.replace(tzinfo=timezone.utc)


class RequirementsInvalid(Exception):
    """`errors`: {"requirements.all_of.1.n_of": ["..."]}, each part named by its JSON path."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items()))
        self.errors = errors


def normalize(tree, *, achievement_id_of: Callable[[str], str | None]) -> dict:
    """The tree with every achievement named by its bare id.

    :param achievement_id_of: an item's text -> the achievement id it names (a UUID or our
        achievement URL), or None when it names none.
    :raise RequirementsInvalid: the shape is wrong, a group is empty or too large, n is impossible,
        or an item names no achievement or is given twice in a group.
    """
    errors: dict[str, list[str]] = {}
    count = [0]

    def group(node, path: str, depth: int):
        if not isinstance(node, dict):
            errors[path] = ['Expected a group: {"all_of": [...]} or {"n_of": N, "from": [...]}.']
            return None
        if depth > MAX_DEPTH:
            errors[path] = [f"Groups nest at most {MAX_DEPTH} deep."]
            return None
        keys = set(node)
        if keys == {"all_of"}:
            items_path, items = f"{path}.all_of", node["all_of"]
        elif keys == {"n_of", "from"}:
            items_path, items = f"{path}.from", node["from"]
        else:
            errors[path] = ['A group is {"all_of": [...]} or {"n_of": N, "from": [...]}; '
                            f"got the keys {sorted(keys)}."]
            return None
        if not isinstance(items, list) or not items:
            errors[items_path] = ["Give a non-empty list of achievement ids or groups."]
            return None
        if len(items) > MAX_GROUP_ITEMS:
            errors[items_path] = [f"At most {MAX_GROUP_ITEMS} items in a group."]
            return None
        normalized, seen = [], set()
        for index, item in enumerate(items):
            item_path = f"{items_path}.{index}"
            if isinstance(item, str):
                count[0] += 1
                achievement_id = achievement_id_of(item)
                if achievement_id is None:
                    errors[item_path] = [f"There is no achievement {item!r} that this pathway may name."]
                elif achievement_id in seen:
                    errors[item_path] = ["This achievement is in the group already."]
                else:
                    seen.add(achievement_id)
                    normalized.append(achievement_id)
            else:
                normalized.append(group(item, item_path, depth + 1))
        if "n_of" in node:
            n = node["n_of"]
            if isinstance(n, bool) or not isinstance(n, int):
                errors[f"{path}.n_of"] = ["Give a whole number."]
            elif not 1 <= n <= len(items):
                errors[f"{path}.n_of"] = [f"Impossible: {n} of {len(items)} items; give 1 to {len(items)}."]
            return {"n_of": n, "from": normalized}
        return {"all_of": normalized}

    result = group(tree, "requirements", 1)
    if count[0] > MAX_ACHIEVEMENTS:
        errors.setdefault("requirements", []).append(f"At most {MAX_ACHIEVEMENTS} achievements in all.")
    if errors:
        raise RequirementsInvalid(errors)
    return result


def achievements_in(tree: dict) -> list[str]:
    """Every achievement id the tree names, in order, each once."""
    found: list[str] = []

    def walk(node):
        for item in node.get("all_of") or node.get("from") or ():
            if isinstance(item, str):
                if item not in found:
                    found.append(item)
            else:
                walk(item)

    walk(tree)
    return found


def path_to(tree: dict, achievement_id: str) -> str:
    """The JSON path of the first item naming `achievement_id` (for an error about it)."""

    def walk(node, path):
        key = "all_of" if "all_of" in node else "from"
        for index, item in enumerate(node[key]):
            here = f"{path}.{key}.{index}"
            if item == achievement_id:
                return here
            if isinstance(item, dict):
                found = walk(item, here)
                if found:
                    return found
        return None

    return walk(tree, "requirements") or "requirements"


@dataclass(frozen=True)
class Held:
    """One of the earner's component credentials that may count: active, valid from before now."""

    credential_id: str
    achievement_id: str
    valid_until: datetime | None
    expired: bool


@dataclass
class Evaluation:
    satisfied: bool
    # Until when the requirement stays met by the valid credentials counted (FOREVER: no end).
    until: datetime = FOREVER
    used: list[Held] = field(default_factory=list)
    view: dict = field(default_factory=dict)


def evaluate(tree: dict, held: dict[str, list[Held]], *, all_valid_at_once: bool) -> Evaluation:
    """Whether `held` (achievement id -> the earner's credentials of it) meets the tree.

    A requirement counts the credential valid longest; an expired one counts only without
    `all_valid_at_once`, and then sets no end (it was earned; its validity is over already). An
    n_of group counts its n items met longest, so the end is the latest the choice allows.
    """

    def item(node) -> Evaluation:
        if isinstance(node, str):
            candidates = held.get(node, [])
            valid = [h for h in candidates if not h.expired]
            if valid:
                best = max(valid, key=lambda h: h.valid_until or FOREVER)
                return Evaluation(True, best.valid_until or FOREVER, [best],
                                  {"achievement_id": node, "satisfied": True, "credential_id": best.credential_id})
            expired = [h for h in candidates if h.expired]
            if expired and not all_valid_at_once:
                best = max(expired, key=lambda h: h.valid_until)
                return Evaluation(True, FOREVER, [best],
                                  {"achievement_id": node, "satisfied": True, "credential_id": best.credential_id,
                                   "expired": True})
            return Evaluation(False, view={"achievement_id": node, "satisfied": False, "credential_id": None})
        key = "all_of" if "all_of" in node else "from"
        children = [item(child) for child in node[key]]
        needed = len(children) if key == "all_of" else node["n_of"]
        met = sorted((c for c in children if c.satisfied), key=lambda c: c.until, reverse=True)
        counted = met[:needed]
        satisfied = len(met) >= needed
        view = {**({"all_of": [c.view for c in children]} if key == "all_of" else
                   {"n_of": needed, "from": [c.view for c in children]}),
                "satisfied": satisfied, "met": len(met), "needed": needed}
        if not satisfied:
            return Evaluation(False, view=view)
        return Evaluation(True, min(c.until for c in counted), [h for c in counted for h in c.used], view)

    return item(tree)
