"""The layer catalog: every kind a spec can name, one :class:`Kind` entry each (see :mod:`.base`).

Conventions (``docs/conventions.md`` has the per-kind tables, generated from these entries):

* **MACs** count the multiply-accumulates of weighted layers (conv, linear) and of the matmuls between
  activations in attention (Q·Kᵀ, A·V); bias excluded.
* **FLOPs** count every floating-point operation at inference: 2 per MAC, plus a bias add
  per output, plus the element-wise work each kind documents in :attr:`Kind.flops_rule`.
* **params** are trainable parameters; **buffers** are non-trainable state (BN running stats).

To add a kind, write its entry in the module of its family (or a new one) and list it in
:data:`CATALOG`; the tests, the docs' tables and the torch cross-check follow from the entry.
"""

from __future__ import annotations

from typing import Final

from archcost.layers import activations, merge, norm, pooling, resample, reshape, scale, tokens
from archcost.layers.base import (
    ARG_TYPES,
    REQUIRED,
    WEIGHTS_AND_INPUT,
    Arg,
    Args,
    ArgType,
    ArgValue,
    Backward,
    BackwardRule,
    Cost,
    Example,
    Explainer,
    FvcoreCount,
    Infer,
    Kind,
    Pair,
    Saved,
    SavedRule,
    Shape,
    ShapeError,
    TorchBuilder,
    ViewRule,
    activation_matmul,
    coerce,
    no_backward_macs,
    prod,
    ungrouped,
    weights_and_input,
)
from archcost.layers.conv import CONV
from archcost.layers.linear import LINEAR
from archcost.layers.pooling import adaptive_extent

CATALOG: Final[tuple[Kind, ...]] = (
    CONV,
    LINEAR,
    *pooling.KINDS,
    *resample.KINDS,
    *norm.KINDS,
    *activations.KINDS,
    *scale.KINDS,
    *reshape.KINDS,
    *merge.KINDS,
    *tokens.KINDS,
)
"""Every layer kind, in the order the docs list them."""

KINDS: Final[dict[str, Kind]] = {k.name: k for k in CATALOG}
"""Every layer kind by name."""

ALIASES: Final[dict[str, str]] = {alias: k.name for k in CATALOG for alias in k.aliases}
"""Other names accepted for a kind (``swish`` is ``silu``)."""


def lookup(name: str) -> Kind | None:
    """The kind called `name`, or its alias; None if there is none."""
    return KINDS.get(ALIASES.get(name, name))


__all__ = [
    "ALIASES",
    "ARG_TYPES",
    "CATALOG",
    "KINDS",
    "REQUIRED",
    "WEIGHTS_AND_INPUT",
    "Arg",
    "ArgType",
    "ArgValue",
    "Args",
    "Backward",
    "BackwardRule",
    "Cost",
    "Example",
    "Explainer",
    "FvcoreCount",
    "Infer",
    "Kind",
    "Pair",
    "Saved",
    "SavedRule",
    "Shape",
    "ShapeError",
    "TorchBuilder",
    "ViewRule",
    "activation_matmul",
    "adaptive_extent",
    "coerce",
    "lookup",
    "no_backward_macs",
    "prod",
    "ungrouped",
    "weights_and_input",
]
