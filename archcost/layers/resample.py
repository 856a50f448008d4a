"""The resampling kinds of decoders: upsampling (nearest, bilinear), the transposed convolution and a
spatial centre crop (U-Net's "copy and crop").

Receptive field. After an upsampling the field of an output pixel depends on where it sits: in U-Net
it is 188 or 204 input pixels, alternately (tests/test_specs_unet.py measures it). The forward rule
field += (k − 1)·jump cannot follow that, so an upsampling layer (factor u on an axis, :attr:`Cost.upscale`)
gives an upper bound instead. Derivation: m neighbouring outputs read at most (m − 1)/u + (K − 1)/u
neighbouring inputs, where K is the span of outputs one input reaches (nearest: u; bilinear: u + 1; a
transposed convolution: d·(k − 1) + 1); if m inputs' fields are at most R + (m − 1)·j, the outputs' are at
most R + (K − 1)·j/u + (m − 1)·j/u. So the layer's kernel is K and the jump becomes j/u, rounded up to a whole
number (a larger jump only loosens the bound). A merge takes its largest branch's field. For U-Net: 215
against the 204 measured.
"""

from __future__ import annotations

import math
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
    always,
    prod,
    saves_input,
    ungrouped,
    weights_and_input,
)
from archcost.layers.window import dilated, feature_map, hwc
from archcost.units import exact

if TYPE_CHECKING:
    import torch
    from torch import nn

_RF_NOTE = "Receptive field: an upper bound after upsampling (docs/conventions.md, Receptive field and jump)."

# ---------------------------------------------------------------------------- upsample


def _one_of(args: Args, first: str, second: str, kind: str) -> None:
    given = [name for name in (first, second) if args[name] is not None]
    if len(given) != 1:
        raise ShapeError(
            f"{kind} needs exactly one of {first} and {second}, got {' and '.join(given) if given else 'neither'}"
        )


def _upsample(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "upsample")
    _one_of(args, "scale", "size", "upsample")
    mode = args.word("mode")
    if mode == "nearest" and args.flag("align_corners"):
        raise ShapeError("align_corners applies to bilinear only (torch refuses it with nearest)")
    if args["size"] is not None:
        oh, ow = args.pair("size")
        size_text = f"to {oh}×{ow}"
    else:
        scale = args.number("scale")
        oh, ow = math.floor(float(h) * scale), math.floor(float(w) * scale)  # F.interpolate's rule
        if min(oh, ow) < 1:
            raise ShapeError(f"scale {scale} makes {h}×{w} smaller than 1×1")
        size_text = f"⌊{h}·{scale:g}⌋ = {oh}" + ("" if h == w else f", ⌊{w}·{scale:g}⌋ = {ow}")
    elems = c * oh * ow
    bilinear = mode == "bilinear"
    flops = 7 * elems if bilinear else 0

    def explain() -> str:
        cost = f"FLOPs = 7·{exact(elems)} (4 multiplies, 3 adds per output)" if bilinear else "a copy: 0 FLOPs"
        return f"{hwc(c, h, w)} → {hwc(c, oh, ow)} ({mode}, {size_text}); {cost}"

    return Cost(
        output=(c, oh, ow),
        flops=flops,
        kernel=(_span(h, oh, bilinear), _span(w, ow, bilinear)),
        stride=(max(1, h // oh), max(1, w // ow)),
        upscale=(max(1, oh // h), max(1, ow // w)),
        explainer=explain,
    )


def _span(n: int, out: int, bilinear: bool) -> int:
    """Outputs one input reaches along an axis when upsampling (⌈out/n⌉, + 1 for bilinear's second
    neighbour); when the axis shrinks, the inputs one output reads (nearest 1, bilinear 2)."""
    if out < 2 * n:  # upscale 1 on this axis: counted in input pixels
        return 2 if bilinear else 1
    return -(-out // n) + (1 if bilinear else 0)


def _upsample_fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # elementwise_flop_counter(0, 1) for aten::upsample_nearest2d, (0, 4) for aten::upsample_bilinear2d
    return prod(out) * (4 if args.word("mode") == "bilinear" else 1)


def _upsample_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    mode = args.word("mode")
    align = args.flag("align_corners") if mode == "bilinear" else None
    if args["size"] is not None:
        return nn.Upsample(size=args.pair("size"), mode=mode, align_corners=align)
    return nn.Upsample(scale_factor=args.number("scale"), mode=mode, align_corners=align)


UPSAMPLE = Kind(
    "upsample",
    "upsampling by a scale or to a size: nearest neighbour or bilinear",
    (
        Arg("mode", ArgType.CHOICE, "nearest", "nearest or bilinear", choices=("nearest", "bilinear")),
        Arg("scale", ArgType.POSFLOAT, None, "output = ⌊input · scale⌋ per axis (give scale or size)"),
        Arg("size", ArgType.PAIR, None, "output H×W (give scale or size)"),
        Arg("align_corners", ArgType.BOOL, False, "bilinear only: corner pixels aligned, as torch's"),
    ),
    _upsample,
    flops_rule="nearest: 0 (a copy); bilinear: 7 per output element (4 multiplies, 3 adds)",
    note=(
        "**upsample.** Nearest neighbour copies: 0 FLOPs. Bilinear makes each output a weighted sum of its 4 "
        "nearest inputs, w₀₀·a + w₀₁·b + w₁₀·c + w₁₁·d: 4 multiplies and 3 adds, 7 FLOPs per output element. "
        "The weights depend only on the output's row and column (and `align_corners`), are shared by every "
        "channel and are not counted. torch's kernels evaluate the factored form h₀·(w₀·a + w₁·b) + "
        "h₁·(w₀·c + w₁·d), 6 multiplies and 3 adds, which saves forming the 4 products per position; fvcore "
        "counts 4 per output element for bilinear and 1 for nearest; FlopCounterMode counts neither. " + _RF_NOTE
    ),
    saved_rule="nothing (its backward needs only the sizes)",
    fvcore=_upsample_fvcore,
    fvcore_rule=(
        "1 per output element for nearest (aten::upsample_nearest2d), 4 for bilinear (aten::upsample_bilinear2d); "
        "FlopCounterMode counts 0 for both"
    ),
    torch=_upsample_torch,
    examples=(
        Example(
            ((64, 28, 28),),
            {"scale": 2},
            output=(64, 56, 56),
            fvcore=64 * 56 * 56,
            explain="28×28×64 → 56×56×64 (nearest, ⌊28·2⌋ = 56); a copy: 0 FLOPs",
            note="nearest ×2, a decoder's usual step",
        ),
        Example(
            ((8, 5, 6),),
            {"mode": "bilinear", "size": [9, 11], "align_corners": True},
            output=(8, 9, 11),
            flops=7 * 8 * 9 * 11,
            fvcore=4 * 8 * 9 * 11,
            explain="FLOPs = 7·792 (4 multiplies, 3 adds per output)",
            note="bilinear to a size: 7 FLOPs per output element, fvcore 4",
        ),
        Example(
            ((3, 7, 6),),
            {"mode": "bilinear", "scale": 1.5},
            output=(3, math.floor(7 * 1.5), math.floor(6 * 1.5)),
            flops=7 * 3 * 10 * 9,
            fvcore=4 * 3 * 10 * 9,
            explain="⌊7·1.5⌋ = 10, ⌊6·1.5⌋ = 9",
            note="a fractional scale: the size is floored",
        ),
        Example(((4, 8, 8),), error="exactly one of scale and size, got neither"),
        Example(((4, 8, 8),), {"scale": 2, "size": 16}, error="got scale and size"),
        Example(((4, 8, 8),), {"scale": 2, "align_corners": True}, error="bilinear only"),
        Example(((4, 8, 8),), {"scale": 0.1}, error="smaller than 1×1"),
        Example(((10,),), {"scale": 2}, error="C×H×W"),
    ),
)

# ---------------------------------------------------------------------------- conv_transpose


def _transposed_size(n: int, k: int, s: int, p: int, op: int, d: int, axis: str) -> int:
    """torch's ConvTranspose2d output length: (n − 1)·s − 2p + d·(k − 1) + output_padding + 1."""
    if op >= max(s, d):
        raise ShapeError(
            f"output_padding {op} on {axis} must be smaller than the stride {s} or the dilation {d} (as in torch)"
        )
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ShapeError(f"padding {p} on {axis} leaves no output ((n − 1)·s − 2p + d·(k − 1) + op + 1 = {out})")
    return out


def _conv_transpose(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "conv_transpose")
    out, groups = args.integer("out"), args.integer("groups")
    k, s, d = args.pair("kernel"), args.pair("stride"), args.pair("dilation")
    p, op = args.pair("padding"), args.pair("output_padding")
    if c % groups:
        raise ShapeError(f"input channels {c} are not divisible by groups={groups}")
    if out % groups:
        raise ShapeError(f"output channels out={out} are not divisible by groups={groups}")
    oh = _transposed_size(h, k[0], s[0], p[0], op[0], d[0], "H")
    ow = _transposed_size(w, k[1], s[1], p[1], op[1], d[1], "W")
    bias = args.flag("bias")
    per_in = k[0] * k[1] * (out // groups)
    macs = h * w * c * per_in
    params = c * per_in + (out if bias else 0)
    out_elems = out * oh * ow

    def explain() -> str:
        def size(n: int, i: int, o: int) -> str:
            terms = f"({n} - 1)·{s[i]}"
            terms += f" - 2·{p[i]}" if p[i] else ""
            terms += f" + {d[i]}·({k[i]} - 1)" if d[i] > 1 else f" + ({k[i]} - 1)"
            terms += f" + {op[i]}" if op[i] else ""
            return f"{terms} + 1 = {o}"

        shape_text = (
            f"out = {size(h, 0, oh)}"
            if (h, oh) == (w, ow) and k[0] == k[1]
            else (f"H = {size(h, 0, oh)}, W = {size(w, 1, ow)}")
        )
        kernel_text = f"{k[0]}·{k[1]}·{out // groups}"
        group_note = (
            f" (groups={groups}: each input feeds {out}/{groups} = {out // groups} outputs)" if groups > 1 else ""
        )
        return (
            f"{shape_text} → {hwc(out, oh, ow)}; params = {c}·{kernel_text}{f' + {out}' if bias else ''} = "
            f"{exact(params)}{group_note}; MACs = {h}·{w}·{c} · {kernel_text} = {exact(macs)} (per input position)"
        )

    return Cost(
        output=(out, oh, ow),
        params=params,
        macs=macs,
        flops=2 * macs + (out_elems if bias else 0),
        kernel=dilated(k, d),
        upscale=s,
        explainer=explain,
    )


def _conv_transpose_fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # conv_flop_count, transposed: batch · prod(weight shape (C_in, C_out/groups, k_h, k_w)) · prod(input H, W)
    k = args.pair("kernel")
    c, h, w = ins[0]
    return h * w * c * (args.integer("out") // args.integer("groups")) * k[0] * k[1]


def _conv_transpose_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.ConvTranspose2d(
        ins[0][0],
        args.integer("out"),
        args.pair("kernel"),
        stride=args.pair("stride"),
        padding=args.pair("padding"),
        output_padding=args.pair("output_padding"),
        groups=args.integer("groups"),
        bias=args.flag("bias"),
        dilation=args.pair("dilation"),
    )


CONV_TRANSPOSE = Kind(
    "conv_transpose",
    "transposed 2-D convolution (U-Net's up-convolution, a learned upsampling)",
    (
        Arg("out", ArgType.POSINT, doc="output channels"),
        Arg("kernel", ArgType.PAIR, doc="kernel size"),
        Arg("stride", ArgType.PAIR, 1, "the upsampling factor"),
        Arg("padding", ArgType.PAD, 0, "rows and columns removed from each side of the full output"),
        Arg("output_padding", ArgType.PAD, 0, "rows and columns added at the bottom and right (< stride or dilation)"),
        Arg("dilation", ArgType.PAIR, 1),
        Arg("groups", ArgType.POSINT, 1, "divides input and output channels"),
        Arg("bias", ArgType.BOOL, True),
    ),
    _conv_transpose,
    flops_rule="2·MACs + 1 per output element if bias",
    macs_rule="H_in·W_in·C_in · k_h·k_w·C_out/groups (per input position)",
    params_rule="C_in·(C_out/groups)·k_h·k_w, + C_out if bias",
    note=(
        "**conv_transpose.** Every input element is multiplied by the k_h·k_w·C_out/groups weights it feeds and "
        "added into the output: H_in·W_in·C_in·k_h·k_w·C_out/groups MACs, counted per *input* position, the "
        "convention of fvcore (conv_flop_count with transposed=True) and of torch's FlopCounterMode (2 per MAC). "
        "Products that land in the border `padding` removes are counted too, as both tools count them. The "
        "output is (H_in − 1)·s − 2p + d·(k − 1) + output_padding + 1 per axis. " + _RF_NOTE
    ),
    weighted=True,
    saved=saves_input,
    saved_rule="its input",
    fvcore=_conv_transpose_fvcore,
    fvcore_rule="MACs, per input position: one multiply-add is one flop, bias not counted (aten::_convolution)",
    fvcore_activations=True,
    backward=weights_and_input,
    backward_rule=WEIGHTS_AND_INPUT,
    flop_counter_backward=ungrouped,
    torch=_conv_transpose_torch,
    examples=(
        Example(
            ((16, 7, 7),),
            {"out": 8, "kernel": 2, "stride": 2},
            output=(8, (7 - 1) * 2 + (2 - 1) + 1, 14),
            params=16 * 8 * 2 * 2 + 8,
            macs=7 * 7 * 16 * 2 * 2 * 8,
            flops=2 * 7 * 7 * 16 * 2 * 2 * 8 + 8 * 14 * 14,
            fvcore=7 * 7 * 16 * 2 * 2 * 8,
            explain="out = (7 - 1)·2 + (2 - 1) + 1 = 14 → 14×14×8; params = 16·2·2·8 + 8 = 520",
            note="U-Net's 2×2 up-convolution (halving the channels), at a small size",
        ),
        Example(
            ((8, 5, 6),),
            {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
            output=(6, (5 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1, (6 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1),
            params=8 * 3 * 3 * 3 + 6,
            macs=5 * 6 * 8 * 3 * 3 * 3,
            flops=2 * 5 * 6 * 8 * 3 * 3 * 3 + 6 * 10 * 12,
            fvcore=5 * 6 * 8 * 3 * 3 * 3,
            explain="H = (5 - 1)·2 - 2·1 + (3 - 1) + 1 + 1 = 10, W = (6 - 1)·2 - 2·1 + (3 - 1) + 1 + 1 = 12",
            note="padding and output_padding: exactly twice the input size; groups=2: each input feeds 3 outputs",
        ),
        Example(
            ((4, 6, 5),),
            {"out": 3, "kernel": [3, 2], "stride": [1, 2], "padding": [0, 1], "dilation": 2, "bias": False},
            output=(3, (6 - 1) * 1 + 2 * (3 - 1) + 1, (5 - 1) * 2 - 2 * 1 + 2 * (2 - 1) + 1),
            params=4 * 3 * 3 * 2,
            macs=6 * 5 * 4 * 3 * 2 * 3,
            flops=2 * 6 * 5 * 4 * 3 * 2 * 3,
            fvcore=6 * 5 * 4 * 3 * 2 * 3,
            explain="H = (6 - 1)·1 + 2·(3 - 1) + 1 = 10, W = (5 - 1)·2 - 2·1 + 2·(2 - 1) + 1 = 9",
            note="per-axis stride and padding, dilation 2, no bias",
        ),
        Example(((8, 4, 4),), {"out": 4, "kernel": 2, "stride": 2, "output_padding": 2}, error="smaller than"),
        Example(((6, 4, 4),), {"out": 4, "kernel": 2, "groups": 4}, error="not divisible by groups=4"),
        Example(((8, 4, 4),), {"out": 6, "kernel": 2, "groups": 4}, error="out=6 are not divisible"),
        Example(((8, 1, 1),), {"out": 4, "kernel": 1, "padding": 1}, error="leaves no output"),
        Example(((10,),), {"out": 4, "kernel": 2}, error="C×H×W"),
    ),
)

# ---------------------------------------------------------------------------- crop


def _crop(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "crop")
    _one_of(args, "size", "margin", "crop")
    if args["size"] is not None:
        oh, ow = args.pair("size")
    else:
        mh, mw = args.pair("margin")
        oh, ow = h - 2 * mh, w - 2 * mw
    if not (0 < oh <= h and 0 < ow <= w):
        raise ShapeError(f"a centre crop to {oh}×{ow} does not fit in the input's {h}×{w}")
    top, left = (h - oh) // 2, (w - ow) // 2

    def explain() -> str:
        return (
            f"centre crop {hwc(c, h, w)} → {hwc(c, oh, ow)}: rows {top}:{top + oh}, columns {left}:{left + ow} "
            "(a view, no arithmetic)"
        )

    return Cost(output=(c, oh, ow), explainer=explain)


def _crop_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_modules import Op

    _, h, w = ins[0]
    _, oh, ow = out
    top, left = (h - oh) // 2, (w - ow) // 2

    def crop(x: torch.Tensor) -> torch.Tensor:
        return x[:, :, top : top + oh, left : left + ow]

    return Op("crop", crop, f"rows {top}:{top + oh}, columns {left}:{left + ow}")


CROP = Kind(
    "crop",
    "centre crop of H×W to a size, or by a margin on each side (U-Net's copy and crop): a view",
    (
        Arg("size", ArgType.PAIR, None, "output H×W (give size or margin)"),
        Arg("margin", ArgType.PAD, None, "rows and columns removed from each side (give size or margin)"),
    ),
    _crop,
    flops_rule="0",
    note=(
        "**crop** keeps the centre H×W window of its input: rows ⌊(H_in − H)/2⌋ onwards, so an odd difference "
        "leaves the extra row at the bottom (and column at the right). It is a view: no arithmetic, no new memory "
        "at inference; its output is still counted as an activation, as every layer's is. Its receptive field is "
        "its input's."
    ),
    view=always,
    saved_rule="nothing (a view)",
    fvcore_rule="0: fvcore ignores aten::slice (in its _IGNORED_OPS)",
    torch=_crop_torch,
    examples=(
        Example(
            ((8, 64, 64),),
            {"size": 56},
            output=(8, 56, 56),
            explain="centre crop 64×64×8 → 56×56×8: rows 4:60, columns 4:60",
            note="U-Net's deepest crop (64 → 56), with fewer channels",
        ),
        Example(
            ((3, 9, 8),),
            {"size": [6, 5]},
            output=(3, 6, 5),
            explain="rows 1:7, columns 1:6",
            note="odd differences: the extra row and column are cut at the bottom and right",
        ),
        Example(((4, 20, 20),), {"margin": [2, 4]}, output=(4, 20 - 2 * 2, 20 - 2 * 4), explain="rows 2:18"),
        Example(((4, 20, 20),), {"size": 24}, error="does not fit"),
        Example(((4, 20, 20),), {"margin": 10}, error="does not fit"),
        Example(((4, 20, 20),), error="exactly one of size and margin, got neither"),
        Example(((4, 20, 20),), {"size": 8, "margin": 2}, error="got size and margin"),
        Example(((10,),), {"size": 2}, error="C×H×W"),
    ),
)

KINDS = (UPSAMPLE, CONV_TRANSPOSE, CROP)
