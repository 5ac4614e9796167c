"""JSON-LD 1.1 Node Map Generation (JSON-LD 1.1 Processing Algorithms, section 7.2) in linear time.

pyld 3.3's ``_create_node_map`` checks for a duplicate value by comparing the new value with every
value the property already has, so a property with n values costs n squared comparisons: 10,000
values took 37 s. Here each (graph, node, property) keeps the set of the values it holds, keyed so
that two values are equal exactly when pyld's ``compare_values`` says so; the node map is the one
pyld builds (same structure, same values, same blank node labels), for pyld's ``_graph_to_rdf``.
"""

from __future__ import annotations

from typing import Any

from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import JsonLdError, _is_keyword

NodeMap = dict[str, dict[str, dict[str, Any]]]


def create_node_map(expanded: list, issuer: IdentifierIssuer) -> NodeMap:
    """The node map of pyld-expanded ``expanded``: graph name -> node id -> node object."""
    builder = _Builder(issuer)
    builder.add(expanded, "@default")
    return builder.graphs


class _Builder:
    def __init__(self, issuer: IdentifierIssuer) -> None:
        self.issuer = issuer
        self.graphs: NodeMap = {"@default": {}}
        # (graph, node id, property) -> keys of the values the property already holds
        self.held: dict[tuple[str, str, str], set] = {}

    def _add_value(self, graph: str, node: dict, property_: str, value: Any) -> None:
        """Append ``value`` to the node's property unless an equal value is there already."""
        values = node.setdefault(property_, [])
        key = _value_key(value)
        if key is not None:
            held = self.held.setdefault((graph, node["@id"], property_), set())
            if key in held:
                return
            held.add(key)
        values.append(value)

    def add(self, element: Any, graph: str, subject: str | dict | None = None, property_: str | None = None,
            list_: dict | None = None) -> None:
        if isinstance(element, list):
            for item in element:
                self.add(item, graph, subject, property_, list_)
            return
        subject_node = self.graphs.setdefault(graph, {}).get(subject) if isinstance(subject, str) else None
        types = element.get("@type")
        if isinstance(types, list):  # blank node types are labelled before anything else
            for type_ in types:
                if type_.startswith("_:"):
                    self.issuer.get_id(type_)

        if "@value" in element:
            if isinstance(types, str) and types.startswith("_:"):
                element["@type"] = self.issuer.get_id(types)
            if list_ is not None:
                list_["@list"].append(element)
            elif subject_node is not None:
                self._add_value(graph, subject_node, property_, element)
            return

        if "@list" in element:
            held_list = {"@list": []}
            self.add(element["@list"], graph, subject, property_, held_list)
            if list_ is not None:
                list_["@list"].append(held_list)
            elif subject_node is not None:
                subject_node.setdefault(property_, []).append(held_list)  # lists are never merged
            return

        id_ = element.get("@id")
        if id_ is None or str(id_).startswith("_:"):
            id_ = self.issuer.get_id(id_)
        node = self.graphs.setdefault(graph, {}).setdefault(id_, {"@id": id_})

        if isinstance(subject, dict):  # reached through @reverse: the subject is this node's value
            self._add_value(graph, node, property_, subject)
        elif property_:
            reference = {"@id": id_}
            if list_ is not None:
                list_["@list"].append(reference)
            elif subject_node is not None:
                self._add_value(graph, subject_node, property_, reference)

        for key, objects in sorted(element.items()):
            if key == "@id":
                continue
            if key == "@reverse":
                referenced = {"@id": id_}
                for reverse_property, items in objects.items():
                    for item in items:
                        self.add(item, graph, referenced, reverse_property)
                continue
            if key == "@graph":
                self.graphs.setdefault(id_, {})
                self.add(objects, graph if graph == "@merged" else id_)
                continue
            if key == "@included":
                self.add(objects, graph)
                continue
            if key != "@type" and _is_keyword(key):
                if key == "@index" and "@index" in node and objects != node["@index"]:
                    raise JsonLdError("Invalid JSON-LD syntax; conflicting @index property detected.",
                                      "jsonld.SyntaxError", {"node": node}, code="conflicting indexes")
                node[key] = objects
                continue
            if key.startswith("_:"):
                key = self.issuer.get_id(key)
            if not objects:
                node.setdefault(key, [])
                continue
            for item in objects:
                if key == "@type":
                    self._add_value(graph, node, key, self.issuer.get_id(item) if item.startswith("_:") else item)
                else:
                    self.add(item, graph, id_, key)


def _value_key(value: Any):
    """A hashable key, equal for two values exactly when pyld's ``compare_values`` finds them
    equal; None for a value equal to nothing else (an object with neither ``@value`` nor ``@id``)."""
    if not isinstance(value, dict):
        return ("primitive", _plain_key(value))
    if "@value" in value:
        return ("value", value.get("@type"), value.get("@language"), value.get("@index"), _plain_key(value["@value"]))
    if value.get("@id") is not None:
        return ("node", value["@id"])
    return None


def _plain_key(value: Any):
    """``value`` made hashable; keys are equal exactly when the values are ``==``, except that a
    boolean is never equal to a number at the top (pyld compares those strictly, nested ones not)."""
    if isinstance(value, bool):
        return ("bool", value)
    return ("other", _frozen(value))


def _frozen(value: Any):
    if isinstance(value, dict):
        return ("object", frozenset((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_frozen(item) for item in value))
    return value
