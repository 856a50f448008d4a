"""Specs: YAML text into a validated :class:`Spec` tree. One job per module:

- :mod:`.reader`: the locating YAML composer (positions kept, limits on size and depth);
- :mod:`.model`: the Spec tree dataclasses and their validation;
- :mod:`.loading`: bundled names and paths, ``extends``, the bundled specs' fingerprint;
- :mod:`.schema`: the JSON Schema of spec files.

Callers use this package's names (``spec.load(...)``, ``spec.Spec``).
"""

from archcost.spec.loading import (
    BUNDLED_INDEX,
    MAX_EXTENDS,
    MAX_SPEC_BYTES,
    bundled_dir,
    bundled_fingerprint,
    bundled_names,
    gc_paused,
    load,
    load_text,
    package_dir,
    resolve,
)
from archcost.spec.model import (
    ACCURACY_FIGURES,
    BLOCK_KEYS,
    COMMON_KEYS,
    COMPUTED_FIGURES,
    CONTAINERS,
    COPY,
    FORMAT_VERSION,
    MERGES,
    NAME_RE,
    PAPER_KEYS,
    REPORTED_KEYS,
    RESERVED,
    SCALING_KEYS,
    SHORTCUTS,
    TOP_KEYS,
    Block,
    Item,
    Raw,
    Reported,
    Spec,
)
from archcost.spec.reader import MAX_YAML_DEPTH, MAX_YAML_NODES, YList, YMap, parse_scalar, parse_yaml
from archcost.spec.schema import json_schema

__all__ = [
    "ACCURACY_FIGURES",
    "BLOCK_KEYS",
    "BUNDLED_INDEX",
    "COMMON_KEYS",
    "COMPUTED_FIGURES",
    "CONTAINERS",
    "COPY",
    "FORMAT_VERSION",
    "MAX_EXTENDS",
    "MAX_SPEC_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "MERGES",
    "NAME_RE",
    "PAPER_KEYS",
    "REPORTED_KEYS",
    "RESERVED",
    "SCALING_KEYS",
    "SHORTCUTS",
    "TOP_KEYS",
    "Block",
    "Item",
    "Raw",
    "Reported",
    "Spec",
    "YList",
    "YMap",
    "bundled_dir",
    "bundled_fingerprint",
    "bundled_names",
    "gc_paused",
    "json_schema",
    "load",
    "load_text",
    "package_dir",
    "parse_scalar",
    "parse_yaml",
    "resolve",
]
