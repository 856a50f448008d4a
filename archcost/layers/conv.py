"""The convolution kind: 2-D, grouped and depthwise, dilated, with 'same' and 'valid' padding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcost.layers.base import (
    WEIGHTS_AND_INPUT,
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
    saves_input,
    ungrouped,
    weights_and_input,
)
from archcost.layers.window import dilated, feature_map, hwc, out_size, pad_totals, spatial_text
from archcost.units import exact

if TYPE_CHECKING:
    from torch import nn


def _infer(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "conv")
    out, groups = args.integer("out"), args.integer("groups")
    k, s, d = args.pair("kernel"), args.pair("stride"), args.pair("dilation")
    if c % groups:
        raise ShapeError(f"input channels {c} are not divisible by groups={groups}")
    if out % groups:
        raise ShapeError(f"output channels out={out} are not divisible by groups={groups}")
    pads = pad_totals(args["padding"], k, s, d)
    oh = out_size(h, pads[0], k[0], s[0], d[0], axis="H")
    ow = out_size(w, pads[1], k[1], s[1], d[1], axis="W")
    bias = args.flag("bias")
    per_out = k[0] * k[1] * (c // groups)
    elems = out * oh * ow
    macs = elems * per_out
    params = per_out * out + (out if bias else 0)

    def explain() -> str:
        group_note = f" (groups={groups}: each filter sees {c}/{groups} = {c // groups} channels)" if groups > 1 else ""
        kernel_text = f"{k[0]}·{k[1]}·{c // groups}"
        return (
            f"{spatial_text(h, w, pads, k, s, d, oh, ow)} → {hwc(out, oh, ow)}; "
            f"params = {kernel_text}·{out}{f' + {out}' if bias else ''} = {exact(params)}{group_note}; "
            f"MACs = {oh}·{ow}·{out} · {kernel_text} = {exact(macs)}"
        )

    return Cost(
        output=(out, oh, ow),
        params=params,
        macs=macs,
        flops=2 * macs + (elems if bias else 0),
        kernel=dilated(k, d),
        stride=s,
        explainer=explain,
    )


def _odd_same_padding(args: Args) -> Shape | None:
    """The odd row/column torch adds (bottom, right) before a 'same' convolution, or None if there is none."""
    if args["padding"] != "same":
        return None
    k, d = args.pair("kernel"), args.pair("dilation")
    extra = tuple(dd * (kk - 1) % 2 for kk, dd in zip(k, d, strict=True))
    return extra if any(extra) else None


def _saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    extra = _odd_same_padding(args)
    if extra is None:
        return saves_input(ins, out, args)
    c, h, w = ins[0]
    return (Saved("extra", c * (h + extra[0]) * (w + extra[1]), what="the input padded by the odd row/column"),)


def _fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # conv_flop_count: batch · prod(weight shape) · prod(output H, W); bias not counted
    k = args.pair("kernel")
    return prod(out) * k[0] * k[1] * (ins[0][0] // args.integer("groups"))


def _torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    from archcost.layers.torch_modules import PaddedConv2d

    k, d = args.pair("kernel"), args.pair("dilation")
    common: dict[str, Any] = {
        "in_channels": ins[0][0],
        "out_channels": args.integer("out"),
        "kernel_size": k,
        "stride": args.pair("stride"),
        "dilation": d,
        "groups": args.integer("groups"),
        "bias": args.flag("bias"),
    }
    padding = args["padding"]
    if padding == "valid":
        return nn.Conv2d(padding=(0, 0), **common)
    if padding != "same":
        return nn.Conv2d(padding=args.pair("padding"), **common)
    totals = (d[0] * (k[0] - 1), d[1] * (k[1] - 1))  # explicit padding: fvcore counts aten::_convolution only
    top, left = totals[0] // 2, totals[1] // 2
    if _odd_same_padding(args) is None:
        return nn.Conv2d(padding=(top, left), **common)
    return PaddedConv2d(padding=(top, left), pads=(0, totals[1] - 2 * left, 0, totals[0] - 2 * top), **common)


CONV = Kind(
    "conv",
    "2-D convolution (grouped and depthwise with `groups`)",
    (
        Arg("out", ArgType.POSINT, doc="output channels"),
        Arg("kernel", ArgType.PAIR, doc="kernel size"),
        Arg("stride", ArgType.PAIR, 1),
        Arg("padding", ArgType.PADDING, 0, "per side; 'same' keeps H×W at stride 1, 'valid' is 0"),
        Arg("dilation", ArgType.PAIR, 1),
        Arg("groups", ArgType.POSINT, 1, "divides input and output channels; groups = input channels is depthwise"),
        Arg("bias", ArgType.BOOL, True),
    ),
    _infer,
    flops_rule="2·MACs + 1 per output element if bias",
    macs_rule="C_out·H_out·W_out · k_h·k_w·C_in/groups",
    params_rule="k_h·k_w·(C_in/groups)·C_out, + C_out if bias",
    note=(
        "**conv.** Every output element is a dot product of k_h·k_w·C_in/groups inputs and weights: that many MACs. "
        "Grouped and depthwise convolutions divide the input channels each filter sees, not the outputs. "
        "Dilation spreads the kernel but adds no MACs. Padded zeros are multiplied like any other input "
        "(every kernel position counts), so `padding` changes MACs only through the output size. **Bias** adds "
        "C_out parameters and one add per output element to the FLOPs, never to the MACs."
    ),
    weighted=True,
    saved=_saved,
    saved_rule="its input; with `padding: same` and an odd total padding, a copy padded by the odd row/column instead",
    fvcore=_fvcore,
    fvcore_rule=(
        "MACs: one multiply-add is one flop and the bias is not counted (aten::_convolution; "
        "'same' and 'valid' are built as explicit padding, since fvcore does not count aten::_convolution_mode)"
    ),
    fvcore_activations=True,
    backward=weights_and_input,
    backward_rule=WEIGHTS_AND_INPUT,
    flop_counter_backward=ungrouped,
    torch=_torch,
    examples=(
        Example(
            ((3, 227, 227),),
            {"out": 96, "kernel": 11, "stride": 4},
            output=(96, (227 - 11) // 4 + 1, (227 - 11) // 4 + 1),
            params=11 * 11 * 3 * 96 + 96,
            macs=55 * 55 * 96 * (11 * 11 * 3),
            flops=2 * 55 * 55 * 96 * (11 * 11 * 3) + 96 * 55 * 55,
            fvcore=55 * 55 * 96 * (11 * 11 * 3),
            explain="out = (227 - 11)/4 + 1 = 55 → 55×55×96; params = 11·11·3·96 + 96 = 34,944",
            note="AlexNet's conv1: 55×55×96 and 34,848 weights (≈35K), plus 96 biases",
        ),
        Example(
            ((3, 224, 224),),
            {"out": 64, "kernel": 7, "stride": 2, "padding": 3, "bias": False},
            output=(64, (224 + 2 * 3 - 7) // 2 + 1, 112),
            params=7 * 7 * 3 * 64,
            macs=112 * 112 * 64 * 7 * 7 * 3,
            flops=2 * 112 * 112 * 64 * 7 * 7 * 3,
            fvcore=112 * 112 * 64 * 7 * 7 * 3,
            explain="out = ⌊(224 + 2·3 - 7)/2⌋ + 1 = 112",
            note="ResNet's stem: the size is floored",
        ),
        Example(
            ((96, 27, 27),),
            {"out": 256, "kernel": 5, "padding": 2, "groups": 2},
            output=(256, 27, 27),
            params=5 * 5 * 48 * 256 + 256,
            macs=27 * 27 * 256 * 5 * 5 * 48,
            flops=2 * 27 * 27 * 256 * 5 * 5 * 48 + 256 * 27 * 27,
            fvcore=27 * 27 * 256 * 5 * 5 * 48,
            explain="groups=2: each filter sees 96/2 = 48 channels",
            note="AlexNet's conv2 on two GPUs: two groups",
        ),
        Example(
            ((32, 112, 112),),
            {"out": 32, "kernel": 3, "padding": 1, "groups": 32, "bias": False},
            output=(32, 112, 112),
            params=3 * 3 * 1 * 32,
            macs=112 * 112 * 32 * 3 * 3,
            flops=2 * 112 * 112 * 32 * 3 * 3,
            fvcore=112 * 112 * 32 * 3 * 3,
            note="MobileNet's depthwise 3×3: groups = channels",
        ),
        Example(
            ((8, 12, 12),),
            {"out": 4, "kernel": 3, "stride": [2, 1], "padding": [1, 0], "dilation": [2, 1], "groups": 2},
            output=(4, (12 + 2 - 5) // 2 + 1, (12 + 0 - 3) // 1 + 1),
            params=3 * 3 * 4 * 4 + 4,
            macs=5 * 10 * 4 * (3 * 3 * 4),
            flops=2 * 5 * 10 * 4 * (3 * 3 * 4) + 4 * 5 * 10,
            fvcore=5 * 10 * 4 * (3 * 3 * 4),
            explain="H = ⌊(12 + 2·1 - 5)/2⌋ + 1 = 5, W = (12 - 3)/1 + 1 = 10 (dilation 2: effective kernel 5)",
            note="per-axis stride, padding and dilation",
        ),
        Example(
            ((3, 7, 9),),
            {"out": 5, "kernel": [4, 3], "padding": "same", "bias": False},
            output=(5, 7, 9),
            params=4 * 3 * 3 * 5,
            macs=7 * 9 * 5 * 4 * 3 * 3,
            flops=2 * 7 * 9 * 5 * 4 * 3 * 3,
            fvcore=7 * 9 * 5 * 4 * 3 * 3,
            note="'same' with an even kernel: torch pads the odd row at the bottom (a padded copy is saved)",
        ),
        Example(
            ((3, 17, 20),),
            {"out": 5, "kernel": 4, "padding": "valid"},
            output=(5, 14, 17),
            params=4 * 4 * 3 * 5 + 5,
            macs=14 * 17 * 5 * 4 * 4 * 3,
            flops=2 * 14 * 17 * 5 * 4 * 4 * 3 + 5 * 14 * 17,
            fvcore=14 * 17 * 5 * 4 * 4 * 3,
        ),
        Example(
            ((3, 16, 16),), {"out": 4, "kernel": 3, "groups": 2}, error="input channels 3 are not divisible by groups=2"
        ),
        Example(((4, 16, 16),), {"out": 6, "kernel": 3, "groups": 4}, error="out=6 are not divisible by groups=4"),
        Example(((3, 16, 16),), {"out": 4, "kernel": 3, "dilation": 8}, error="17 with dilation"),
        Example(((3, 16, 16),), {"out": 4, "kernel": 3, "stride": 2, "padding": "same"}, error="stride 1"),
        Example(((48,),), {"out": 4, "kernel": 1}, error="C×H×W"),
    ),
)
