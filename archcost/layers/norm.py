"""The normalization kinds: batch norm (folded at inference), AlexNet's local response norm and group norm."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from archcost.layers.base import Arg, Args, ArgType, Cost, Example, Kind, Saved, Shape, ShapeError, prod
from archcost.layers.window import feature_map
from archcost.units import exact

if TYPE_CHECKING:
    from torch import nn


def _batchnorm(ins: tuple[Shape, ...], args: Args) -> Cost:
    c = ins[0][0]
    affine = args.flag("affine")
    elems = prod(ins[0])
    params = 2 * c if affine else 0

    def explain() -> str:
        return (
            f"params = 2·{c} = {params} (γ, β); buffers = 2·{c} (running mean, var); "
            f"FLOPs = 2·{exact(elems)} (scale and shift, folded at inference)"
        )

    return Cost(output=ins[0], params=params, buffers=2 * c, flops=2 * elems, explainer=explain)


def _batchnorm_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return _batch_statistics(ins[0][0])


@cache  # one tuple per channel count: a network repeats a few widths over thousands of layers
def _batch_statistics(c: int) -> tuple[Saved, ...]:
    return (Saved("input0"), Saved("extra", 2 * c, 4, per_sample=False, what="batch mean and inverse std (fp32)"))


def _batchnorm_fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # batchnorm_flop_jit in eval mode: numel · (2 if affine else 1)
    return prod(ins[0]) * (2 if args.flag("affine") else 1)


def _batchnorm_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    shape = ins[0]
    cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
    return cls(shape[0], eps=args.number("eps"), momentum=args.number("momentum"), affine=args.flag("affine"))


BATCHNORM = Kind(
    "batchnorm",
    "batch normalization over channels (inference: a folded scale and shift)",
    (
        Arg("eps", ArgType.FLOAT, 1e-5),
        Arg("momentum", ArgType.PROB, 0.1),
        Arg("affine", ArgType.BOOL, True),
    ),
    _batchnorm,
    flops_rule="2 per element (scale and shift)",
    params_rule="2·C (γ, β) if affine, else 0",
    buffers_rule="2·C (running mean and variance)",
    note=(
        "**batchnorm, folded at inference.** At inference y = γ·(x − μ)/√(σ² + ε) + β reduces to y = a·x + b "
        "with a = γ/√(σ² + ε) and b = β − a·μ precomputed per channel, so it costs 2 FLOPs per element (a "
        "multiply and an add) and no MACs. γ, β are parameters (only with `affine: true`); μ, σ² are buffers. A "
        "deployment that folds batch norm into the preceding convolution's weights removes this cost entirely; "
        "archcost keeps it so that the count follows the module graph. `eps` and `momentum` change nothing."
    ),
    saved=_batchnorm_saved,
    saved_rule="its input, and the batch mean and inverse std: 2·C fp32 values, independent of the batch",
    fvcore=_batchnorm_fvcore,
    fvcore_rule="2 per element if affine, else 1 (aten::batch_norm in eval mode; 5 or 4 in training mode)",
    torch=_batchnorm_torch,
    examples=(
        Example(
            ((64, 56, 56),),
            output=(64, 56, 56),
            params=2 * 64,
            buffers=2 * 64,
            flops=2 * 64 * 56 * 56,
            fvcore=2 * 64 * 56 * 56,
            explain="params = 2·64 = 128 (γ, β)",
        ),
        Example(
            ((64, 56, 56),),
            {"affine": False, "eps": 1e-3, "momentum": 0.01},
            output=(64, 56, 56),
            buffers=2 * 64,
            flops=2 * 64 * 56 * 56,
            fvcore=64 * 56 * 56,
            note="without affine: buffers only",
        ),
        Example(
            ((4096,),),
            output=(4096,),
            params=2 * 4096,
            buffers=2 * 4096,
            flops=2 * 4096,
            fvcore=2 * 4096,
            note="on a vector (BatchNorm1d)",
        ),
    ),
)


def _lrn(ins: tuple[Shape, ...], args: Args) -> Cost:
    feature_map(ins[0], "lrn")
    size = args.integer("size")
    elems = prod(ins[0])
    return Cost(
        output=ins[0],
        flops=(size + 4) * elems,
        explainer=lambda: f"FLOPs = ({size} + 4)·{exact(elems)} (window of squares, scale, offset, power, divide)",
    )


def _lrn_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    """nn.LocalResponseNorm is a composite: x / (k + α·avg_pool3d(pad(x²)))^β. Saved: the input (by
    x² and the divide), the channel-padded squares ((C + size − 1)·H·W, avg_pool3d's input),
    k + α·avg (pow's input) and its power (the divisor): 2·C·H·W."""
    c, h, w = ins[0]
    size = args.integer("size")
    return (
        Saved("input0"),
        Saved("extra", (c + size - 1) * h * w, what="squares padded over channels (avg_pool3d's input)"),
        Saved("extra", 2 * c * h * w, what="k + α·average and its power β (pow's input and the divisor)"),
    )


def _lrn_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.LocalResponseNorm(
        args.integer("size"), alpha=args.number("alpha"), beta=args.number("beta"), k=args.number("k")
    )


LRN = Kind(
    "lrn",
    "local response normalization across channels (AlexNet)",
    (
        Arg("size", ArgType.POSINT, doc="channels in the window"),
        Arg("alpha", ArgType.FLOAT, 1e-4),
        Arg("beta", ArgType.FLOAT, 0.75),
        Arg("k", ArgType.FLOAT, 1.0),
    ),
    _lrn,
    flops_rule="size + 4 per element (squares and their sum, scale, offset, power, divide)",
    note=(
        "**LRN** (AlexNet): per element, `size` for the squares over the channel window and their sum, plus a "
        "scale, an offset, a power and a divide: size + 4."
    ),
    saved=_lrn_saved,
    saved_rule="a composite: its input, the channel-padded squares (C + size − 1)·H·W, k + α·avg and its power",
    fvcore_rule=(
        "0: nn.LocalResponseNorm's aten::mul, pow, pad, avg_pool3d, add, div are not among fvcore's counted "
        "operators (listed by unsupported_ops())"
    ),
    torch=_lrn_torch,
    examples=(
        Example(
            ((96, 55, 55),),
            {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0},
            output=(96, 55, 55),
            flops=(5 + 4) * 96 * 55 * 55,
            note="AlexNet's norm1",
        ),
        Example(((6, 4, 4),), {"size": 4}, output=(6, 4, 4), flops=(4 + 4) * 6 * 4 * 4, note="an even window"),
        Example(((10,),), {"size": 3}, error="C×H×W"),
    ),
)


def _groupnorm(ins: tuple[Shape, ...], args: Args) -> Cost:
    shape_in = ins[0]
    if len(shape_in) not in (1, 3):
        raise ShapeError(f"groupnorm needs a C×H×W feature map or a vector, got a {len(shape_in)}-d input")
    c, groups = shape_in[0], args.integer("groups")
    if c % groups:
        raise ShapeError(f"channels {c} are not divisible by groups={groups}")
    affine = args.flag("affine")
    elems = prod(shape_in)
    params = 2 * c if affine else 0

    def explain() -> str:
        per_group = elems // groups
        return (
            f"{groups} group{'s' if groups > 1 else ''} of {c // groups} channels ({exact(per_group)} values each); "
            f"params = {f'2·{c} = {params} (γ, β)' if affine else '0'}; FLOPs = 5·{exact(elems)} "
            "(sum and sum of squares: 3, then a·x + b: 2)"
        )

    return Cost(output=shape_in, params=params, flops=5 * elems, explainer=explain)


def _groupnorm_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    groups = args.integer("groups")
    return (Saved("input0"), Saved("extra", 2 * groups, what="each group's mean and inverse std"))


def _groupnorm_fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # norm_flop_counter(2) on aten::group_norm: numel · (5 if a weight is given else 4)
    return prod(ins[0]) * (5 if args.flag("affine") else 4)


def _groupnorm_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.GroupNorm(args.integer("groups"), ins[0][0], eps=args.number("eps"), affine=args.flag("affine"))


GROUPNORM = Kind(
    "groupnorm",
    "group normalization: channels in groups, each normalized over its channels and H×W, per sample",
    (
        Arg("groups", ArgType.POSINT, doc="groups of channels; divides C (1: over C·H·W, C: per channel)"),
        Arg("eps", ArgType.FLOAT, 1e-5),
        Arg("affine", ArgType.BOOL, True),
    ),
    _groupnorm,
    flops_rule="5 per element (3 for the group's sum and sum of squares, 2 for a·x + b)",
    params_rule="2·C (γ, β) if affine, else 0",
    note=(
        "**groupnorm** normalizes each sample's groups of C/groups channels over their channels and H×W, with "
        "statistics computed at inference too (nothing is folded, unlike batch norm). FLOPs = 5 per element, as "
        "torch's CPU kernel computes it: the group's sum and sum of squares (an add; a multiply and an add: 3), "
        "then y = a·x + b (2), where a = γ/σ and b = β − a·μ are per sample and channel. Those per-group and "
        "per-channel constants (μ, σ, a, b: a few per channel) are not counted, and the count is the same without "
        "`affine`. fvcore counts 5 per element with affine and 4 without; FlopCounterMode counts 0. No buffers."
    ),
    saved=_groupnorm_saved,
    saved_rule="its input, and each group's mean and inverse std (2·groups per sample, in the activations' dtype)",
    fvcore=_groupnorm_fvcore,
    fvcore_rule="5 per element if affine, else 4 (aten::group_norm)",
    torch=_groupnorm_torch,
    examples=(
        Example(
            ((64, 56, 56),),
            {"groups": 32},
            output=(64, 56, 56),
            params=2 * 64,
            flops=5 * 64 * 56 * 56,
            fvcore=5 * 64 * 56 * 56,
            explain="32 groups of 2 channels (6,272 values each); params = 2·64 = 128 (γ, β); FLOPs = 5·200,704",
            note="32 groups, the paper's default (Wu & He, 2018)",
        ),
        Example(
            ((16, 7, 9),),
            {"groups": 1, "eps": 1e-6, "affine": False},
            output=(16, 7, 9),
            flops=5 * 16 * 7 * 9,
            fvcore=4 * 16 * 7 * 9,
            note="one group (a LayerNorm over C, H and W); without affine fvcore counts 4",
        ),
        Example(((32,),), {"groups": 4}, output=(32,), params=2 * 32, flops=5 * 32, fvcore=5 * 32, note="a vector"),
        Example(((30, 8, 8),), {"groups": 4}, error="channels 30 are not divisible by groups=4"),
    ),
)

KINDS = (BATCHNORM, LRN, GROUPNORM)
