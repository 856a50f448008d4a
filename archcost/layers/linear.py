"""The fully connected kind: on a vector, or on each token of a sequence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcost.layers.base import (
    WEIGHTS_AND_INPUT,
    Arg,
    Args,
    ArgType,
    Cost,
    Example,
    Kind,
    Shape,
    ShapeError,
    prod,
    saves_input,
    weights_and_input,
)
from archcost.units import exact, shape

if TYPE_CHECKING:
    from torch import nn


def _infer(ins: tuple[Shape, ...], args: Args) -> Cost:
    if len(ins[0]) not in (1, 2):
        raise ShapeError(
            f"linear needs a flat vector or tokens N×D, got {shape(ins[0])}: add a flatten first (global_avgpool "
            "still gives C×1×1), or to_tokens for per-position work on a map"
        )
    tokens = ins[0][0] if len(ins[0]) == 2 else 1
    n_in, out, bias = ins[0][-1], args.integer("out"), args.flag("bias")
    macs = tokens * n_in * out
    params = n_in * out + (out if bias else 0)
    outputs = tokens * out

    def explain() -> str:
        per = f"{tokens}·" if len(ins[0]) == 2 else ""
        head = f"{tokens} tokens: {n_in} → {out} each" if per else f"{n_in} → {out}"
        return (
            f"{head}; params = {n_in}·{out}{f' + {out}' if bias else ''} = {exact(params)}; "
            f"MACs = {per}{n_in}·{out} = {exact(macs)}"
        )

    output = (ins[0][0], out) if len(ins[0]) == 2 else (out,)
    return Cost(output=output, params=params, macs=macs, flops=2 * macs + (outputs if bias else 0), explainer=explain)


def _fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # linear_flop_jit: prod(input shape) · out_features; bias not counted
    return prod(ins[0]) * out[-1]


def _torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.Linear(ins[0][-1], args.integer("out"), bias=args.flag("bias"))


LINEAR = Kind(
    "linear",
    "fully connected layer on a flat vector, or on each token of a sequence N×D",
    (Arg("out", ArgType.POSINT, doc="output features"), Arg("bias", ArgType.BOOL, True)),
    _infer,
    flops_rule="2·MACs + 1 per output if bias",
    macs_rule="N_in·N_out (per token on a sequence)",
    params_rule="N_in·N_out, + N_out if bias",
    note=(
        "**linear.** N_in·N_out MACs; bias as for conv. On a token sequence N×D it runs on every token (torch's "
        "nn.Linear on the last axis): N·D·N_out MACs, the same weights. On a map, use `to_tokens` first "
        "(channels last, as ConvNeXt's pointwise layers) or a 1×1 conv: the same MACs."
    ),
    weighted=True,
    saved=saves_input,
    saved_rule="its input",
    fvcore=_fvcore,
    fvcore_rule="MACs: one multiply-add is one flop and the bias is not counted (aten::linear)",
    fvcore_activations=True,
    backward=weights_and_input,
    backward_rule=WEIGHTS_AND_INPUT,
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
        Example(
            ((197, 768),),
            {"out": 3072},
            output=(197, 3072),
            params=768 * 3072 + 3072,
            macs=197 * 768 * 3072,
            flops=2 * 197 * 768 * 3072 + 197 * 3072,
            fvcore=197 * 768 * 3072,
            explain=(
                "197 tokens: 768 → 3072 each; params = 768·3072 + 3072 = 2,362,368; MACs = 197·768·3072 = 464,781,312"
            ),
            note="ViT-B/16's mlp.0, on every token",
        ),
        Example(((256, 6, 6),), {"out": 10}, error="add a flatten first"),
    ),
)
