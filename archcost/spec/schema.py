"""The JSON Schema of spec files, generated from the grammar (:mod:`.model`) and the layer catalog."""

from __future__ import annotations

from typing import Any, Final

from archcost import layers
from archcost.spec.model import (
    ACCURACY_FIGURES,
    COMPUTED_FIGURES,
    FORMAT_VERSION,
    MERGES,
    NAME_RE,
    PAPER_KEYS,
    REPORTED_KEYS,
    SCALING_KEYS,
    SHORTCUTS,
)

# ---------------------------------------------------------------------------- JSON Schema

_EXPR: Final = {"type": "string", "pattern": r"^\$"}
_REF: Final = {
    "anyOf": [{"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$|^[0-9]+$"}, {"type": "integer", "maximum": -1}]
}
"""A node reference in `from`: an earlier item's name, or -k for the k-th output back."""


def _value_schema(arg_type: str) -> dict[str, Any]:
    """JSON Schema of one argument type; expressions (`$...`) are allowed everywhere."""
    integer: dict[str, list[Any]] = {
        "anyOf": [{"type": "integer", "minimum": 1 if arg_type in ("posint", "pair") else 0}, _EXPR]
    }
    if arg_type in ("int", "posint"):
        return integer
    if arg_type == "bool":
        return {"anyOf": [{"type": "boolean"}, _EXPR]}
    if arg_type in ("float", "prob", "posfloat"):
        return {"anyOf": [{"type": "number"}, _EXPR]}
    length = 4 if arg_type == "pad4" else 2
    options: list[Any] = [
        *integer["anyOf"],
        {"type": "array", "items": integer, "minItems": length, "maxItems": length},
    ]
    if arg_type == "padding":
        options.append({"enum": ["same", "valid"]})
    return {"anyOf": options}


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for spec files, generated from the grammar and the layer catalog.

    Built-in kinds and containers are checked strictly; block calls (any other one-key
    mapping) are checked by archcost itself, since their parameters are defined in the file.
    """
    scalar = {"type": ["string", "number", "boolean", "null"]}
    value = {"anyOf": [scalar, {"type": "array", "items": scalar}]}
    common = {
        "name": {"type": ["string", "integer"], "pattern": NAME_RE.pattern},
        "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, _EXPR]},
        "first": {"type": "object"},
        "names": {"type": "string"},
        "when": {"anyOf": [{"type": "boolean"}, _EXPR]},
        "from": {"anyOf": [_REF, {"type": "array", "minItems": 1, "items": _REF}]},
    }
    items = {"type": "array", "items": {"$ref": "#/$defs/item"}}
    kinds: dict[str, Any] = {}
    no_arg_kinds = []
    for kind in layers.CATALOG:
        if kind.merge:  # an item only with the inputs it merges
            kinds[kind.name] = {
                "type": "object",
                "description": kind.summary,
                "properties": {**common, "from": {"type": "array", "minItems": 2, "items": _REF}},
                "required": ["from"],
                "additionalProperties": False,
            }
            continue
        props = {
            a.name: {
                **({"anyOf": [{"enum": list(a.choices)}, _EXPR]} if a.choices else _value_schema(a.type)),
                "description": a.doc or layers.ARG_TYPES[a.type],
            }
            for a in kind.args
        }
        required = [a.name for a in kind.args if a.required]
        body: dict[str, Any] = {
            "type": "object",
            "description": kind.summary,
            "properties": {**props, **common},
            "additionalProperties": False,
        }
        if required:
            body["required"] = required
        else:
            body = {"anyOf": [{"type": "null"}, body]}
            no_arg_kinds += [kind.name, *kind.aliases]
        for name in (kind.name, *kind.aliases):
            kinds[name] = body
    kinds["sequential"] = {
        "type": "object",
        "properties": {"layers": items, **common},
        "required": ["layers"],
        "additionalProperties": False,
    }
    kinds["parallel"] = {
        "type": "object",
        "properties": {
            "merge": {"enum": list(MERGES)},
            "branches": {"type": "array", "minItems": 2, "items": {"anyOf": [items, {"$ref": "#/$defs/item"}]}},
            **common,
        },
        "required": ["merge", "branches"],
        "additionalProperties": False,
    }
    kinds["residual"] = {
        "type": "object",
        "properties": {
            "layers": items,
            "shortcut": {"enum": list(SHORTCUTS)},
            "projection": {"$ref": "#/$defs/item"},
            "survival": {
                "anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, _EXPR],
                "description": "probability that the body runs in a training step (stochastic depth)",
            },
            "post": items,
            **common,
        },
        "required": ["layers"],
        "additionalProperties": False,
    }
    item = {
        "anyOf": [
            {"type": "string", "description": "a kind or block with no arguments"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": kinds,
                "additionalProperties": {
                    "description": "a block call",
                    "anyOf": [
                        {"type": "null"},
                        {"type": "object", "properties": {"args": value, **common}, "additionalProperties": value},
                    ],
                },
            },
        ]
    }
    paper: dict[str, Any] = {k: {"type": "integer" if k == "year" else "string"} for k in PAPER_KEYS}
    paper["reported"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["figure", "value", "where"],
            "additionalProperties": False,
            "properties": {
                **{k: {"type": "string", "description": d} for k, d in REPORTED_KEYS.items()},
                "figure": {"enum": list(COMPUTED_FIGURES + ACCURACY_FIGURES)},
                "value": {"type": ["string", "number"]},
                "tolerance": {"type": ["string", "number"]},
                "set": {"type": "object", "additionalProperties": scalar},
                "input": {"type": "array", "items": {"type": "integer"}},
                "source": {"enum": ["primary", "secondary", "derived"]},
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "archcost spec",
        "type": "object",
        "required": ["archcost", "name"],
        "additionalProperties": False,
        "properties": {
            "archcost": {"const": FORMAT_VERSION},
            "extends": {"type": "string"},
            "scaling": {
                "type": "object",
                "properties": {k: {"type": "string"} for k in SCALING_KEYS},
                "additionalProperties": False,
            },
            "name": {"type": "string"},
            "title": {"type": "string"},
            "family": {"type": "string"},
            "year": {"type": "integer"},
            "description": {"type": "string"},
            "reference": {"type": "string"},
            "notes": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "paper": {"type": "object", "properties": paper, "additionalProperties": False},
            "input": {"type": "array", "items": value["anyOf"][0], "minItems": 1, "maxItems": 3},
            "params": {"type": "object", "additionalProperties": scalar},
            "blocks": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "params": {"type": "object", "additionalProperties": scalar},
                        "let": {"type": "object", "additionalProperties": value},
                        "layers": items,
                        "doc": {"type": "string"},
                        "inputs": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    },
                    "required": ["layers"],
                    "additionalProperties": False,
                },
            },
            "layers": items,
        },
        "$defs": {"item": item},
    }
