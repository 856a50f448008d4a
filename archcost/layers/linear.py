"""The fully connected kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcost.layers.base import (
    Arg,
    Args,
    ArgType,
    Cost,
    Example,
    Kind,
    Saved,
    Shape,
    ShapeError,
    prod,
    weights_and_input,
)
from archcost.units import exact, shape

if TYPE_CHECKING:
    from torch import nn


def _infer(ins: tuple[Shape, ...], args: Args) -> Cost:
    if len(ins[0]) != 1:
        raise ShapeError(
            f"linear needs a flat vector, got {shape(ins[0])}: add a flatten first (global_avgpool still gives C×1×1)"
        )
    n_in, out, bias = ins[0][0], args.integer("out"), args.flag("bias")
    macs = n_in * out
    params = macs + (out if bias else 0)

    def explain() -> str:
        return (
            f"{n_in} → {out}; params = {n_in}·{out}{f' + {out}' if bias else ''} = {exact(params)}; "
            f"MACs = {n_in}·{out} = {exact(macs)}"
        )

    return Cost(output=(out,), params=params, macs=macs, flops=2 * macs + (out if bias else 0), explainer=explain)


def _saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return (Saved("input0"),)


def _fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # linear_flop_jit: prod(input shape) · out_features; bias not counted
    return prod(ins[0]) * out[0]


def _torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.Linear(ins[0][0], args.integer("out"), bias=args.flag("bias"))


LINEAR = Kind(
    "linear",
    "fully connected layer on a flat vector",
    (Arg("out", ArgType.POSINT, doc="output features"), Arg("bias", ArgType.BOOL, True)),
    _infer,
    flops_rule="2·MACs + 1 per output if bias",
    macs_rule="N_in·N_out",
    params_rule="N_in·N_out, + N_out if bias",
    note="**linear.** N_in·N_out MACs; bias as for conv.",
    weighted=True,
    saved=_saved,
    saved_rule="its input",
    fvcore=_fvcore,
    fvcore_rule="MACs: one multiply-add is one flop and the bias is not counted (aten::linear)",
    fvcore_activations=True,
    backward=weights_and_input,
    backward_rule=(
        "weights: the forward MACs again; input: the forward MACs again, unless no gradient flows into it"
        " (the image)"
    ),
    torch=_torch,
    examples=(
        Example(
            ((9216,),),
            {"out": 4096},
            output=(4096,),
            params=9216 * 4096 + 4096,
            macs=9216 * 4096,
            flops=2 * 9216 * 4096 + 4096,
            fvcore=9216 * 4096,
            explain="9216 → 4096; params = 9216·4096 + 4096 = 37,752,832",
            note="AlexNet's fc6",
        ),
        Example(
            ((512,),),
            {"out": 10, "bias": False},
            output=(10,),
            params=512 * 10,
            macs=512 * 10,
            flops=2 * 512 * 10,
            fvcore=512 * 10,
        ),
        Example(((256, 6, 6),), {"out": 10}, error="add a flatten first"),
    ),
)
