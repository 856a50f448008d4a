"""The pooling kinds: max and average over a window, adaptive average to a size, global average."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

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
    saves_input,
)
from archcost.layers.window import dilated, feature_map, hwc, out_size, pad_totals, spatial_text
from archcost.units import exact

if TYPE_CHECKING:
    from torch import nn

_WINDOW_ARGS = (
    Arg("kernel", ArgType.PAIR, doc="window size"),
    Arg("stride", ArgType.PAIR, None, "step; defaults to the kernel, as in torch"),
    Arg("padding", ArgType.PAD, 0, "implicit padding on each side (at most half the kernel)"),
)
_CEIL = Arg("ceil_mode", ArgType.BOOL, False, "round the output size up instead of down")

_POOL_NOTE = (
    "**Pools count comparisons and adds as FLOPs.** A max over k·k values takes k·k − 1 comparisons; an "
    "average takes k·k − 1 adds and one divide. Windows are counted in full, padded positions included "
    "(`avgpool` divides by k·k, torch's `count_include_pad=True`). Dilation does not change the window's size."
)


def _uncounted(op: str) -> str:
    return f"0: {op} is not among fvcore's counted operators (listed by unsupported_ops())"


def _window(ins: tuple[Shape, ...], args: Args, kind: str) -> tuple[Cost, int]:
    """The pooled map's shape and receptive-field step, and the window's size k·k."""
    c, h, w = feature_map(ins[0], kind)
    k = args.pair("kernel")
    s = k if args["stride"] is None else args.pair("stride")
    d = args.pair("dilation") if "dilation" in args else (1, 1)
    pads = pad_totals(args["padding"], k, s, d)
    for total, kernel in zip(pads, k, strict=True):
        if total // 2 > kernel // 2:  # torch's rule, on the kernel before dilation
            raise ShapeError(f"pool padding {total // 2} is more than half the kernel {kernel} (torch rejects it)")
    ceil_mode = args.flag("ceil_mode")
    oh = out_size(h, pads[0], k[0], s[0], d[0], ceil_mode=ceil_mode, axis="H")
    ow = out_size(w, pads[1], k[1], s[1], d[1], ceil_mode=ceil_mode, axis="W")

    def explain() -> str:
        mode = " (ceil mode)" if ceil_mode else ""
        return f"{spatial_text(h, w, pads, k, s, d, oh, ow, ceil_mode=ceil_mode)}{mode} → {hwc(c, oh, ow)}"

    return Cost(output=(c, oh, ow), kernel=dilated(k, d), stride=s, explainer=explain), k[0] * k[1]


def _with_flops(cost: Cost, flops: int, note: str) -> Cost:
    """`cost` with `flops`, and `note` after its explanation."""
    shape_text = cost.explainer
    return Cost(
        output=cost.output,
        kernel=cost.kernel,
        stride=cost.stride,
        flops=flops,
        explainer=lambda: f"{shape_text()}; {note}",
    )


def _torch_window(args: Args) -> dict[str, Any]:
    k = args.pair("kernel")
    return {
        "kernel_size": k,
        "stride": k if args["stride"] is None else args.pair("stride"),
        "padding": args.pair("padding"),
        "ceil_mode": args.flag("ceil_mode"),
    }


# ---------------------------------------------------------------------------- maxpool


def _maxpool(ins: tuple[Shape, ...], args: Args) -> Cost:
    cost, window = _window(ins, args, "maxpool")
    elems = prod(cost.output)
    return _with_flops(cost, elems * (window - 1), f"FLOPs = {exact(elems)}·({window} - 1) comparisons")


def _maxpool_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return (Saved("input0"), Saved("extra", prod(out), 8, what="argmax indices (int64)"))


def _maxpool_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.MaxPool2d(dilation=args.pair("dilation"), **_torch_window(args))


MAXPOOL = Kind(
    "maxpool",
    "max pooling",
    (*_WINDOW_ARGS, Arg("dilation", ArgType.PAIR, 1), _CEIL),
    _maxpool,
    flops_rule="(k·k − 1) comparisons per output element",
    note=_POOL_NOTE,
    saved=_maxpool_saved,
    saved_rule="its input and int64 argmax indices, one per output element (8 B each)",
    fvcore_rule=_uncounted("aten::max_pool2d"),
    torch=_maxpool_torch,
    examples=(
        Example(
            ((96, 55, 55),),
            {"kernel": 3, "stride": 2},
            output=(96, (55 - 3) // 2 + 1, 27),
            flops=96 * 27 * 27 * (3 * 3 - 1),
            explain="out = (55 - 3)/2 + 1 = 27 → 27×27×96; FLOPs = 69,984·(9 - 1) comparisons",
            note="AlexNet's pool1: 8 comparisons per output",
        ),
        Example(
            ((64, 112, 112),),
            {"kernel": 3, "stride": 2, "padding": 1},
            output=(64, (112 + 2 - 3) // 2 + 1, 56),
            flops=64 * 56 * 56 * (3 * 3 - 1),
        ),
        Example(
            ((64, 112, 112),),
            {"kernel": 3, "stride": 2, "ceil_mode": True},
            output=(64, math.ceil((112 - 3) / 2) + 1, 56),
            flops=64 * 56 * 56 * (3 * 3 - 1),
            explain="⌈(112 - 3)/2⌉ + 1 = 56 (ceil mode)",
            note="GoogLeNet's ceil mode: floor would give 55",
        ),
        Example(
            ((1, 20, 20),),
            {"kernel": 3, "stride": 1, "dilation": 2},
            output=(1, 20 - (2 * (3 - 1) + 1) + 1, 16),
            flops=16 * 16 * (3 * 3 - 1),
            explain="effective kernel 5",
        ),
        Example(((6, 28, 28),), {"kernel": 2}, output=(6, 14, 14), flops=6 * 14 * 14 * (2 * 2 - 1)),
        Example(((3, 2, 2),), {"kernel": 3}, error="larger than the padded input"),
        Example(((1, 16, 16),), {"kernel": 3, "padding": 2}, error="more than half the kernel"),
        Example(((10,),), {"kernel": 2}, error="C×H×W"),
    ),
)

# ---------------------------------------------------------------------------- avgpool


def _avgpool(ins: tuple[Shape, ...], args: Args) -> Cost:
    cost, window = _window(ins, args, "avgpool")
    elems = prod(cost.output)
    return _with_flops(cost, elems * window, f"FLOPs = {exact(elems)}·{window} (adds and a divide)")


def _avgpool_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.AvgPool2d(count_include_pad=True, **_torch_window(args))


AVGPOOL = Kind(
    "avgpool",
    "average pooling (zero padding counted in the average, as torch's default)",
    (*_WINDOW_ARGS, _CEIL),
    _avgpool,
    flops_rule="k·k per output element (k·k − 1 adds and a divide)",
    note=_POOL_NOTE,
    saved=saves_input,
    saved_rule="its input",
    fvcore_rule=_uncounted("aten::avg_pool2d"),
    torch=_avgpool_torch,
    examples=(
        Example(((6, 28, 28),), {"kernel": 2}, output=(6, 14, 14), flops=6 * 14 * 14 * 2 * 2, note="LeNet-5's S2"),
        Example(
            ((64, 112, 112),),
            {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            output=(64, math.ceil((112 + 2 - 3) / 2) + 1, 57),
            flops=64 * 57 * 57 * 3 * 3,
            explain="⌈(112 + 2·1 - 3)/2⌉ + 1 = 57",
            note="ceil mode keeps a last window that starts inside the input (at 112 < 112 + 1)",
        ),
        Example(
            ((2, 5, 5),),
            {"kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True},
            output=(2, 3, 3),
            flops=2 * 3 * 3 * 2 * 2,
            note="⌈(5 + 2 − 2)/2⌉ + 1 = 4, but the 4th window would start at 6 ≥ 5 + 1, in the padding: torch drops it",
        ),
        Example(((4, 8, 9),), {"kernel": [2, 3]}, output=(4, 8 // 2, 9 // 3), flops=4 * 4 * 3 * (2 * 3)),
        Example(((3, 8, 8),), {"kernel": 2, "padding": 2}, error="more than half the kernel"),
    ),
)

# ---------------------------------------------------------------------------- adaptive and global


def adaptive_extent(n: int, out: int) -> tuple[int, int]:
    """Sum of the adaptive windows' lengths along one axis, and the largest window, in closed form.

    Window i is [⌊i·n/out⌋, ⌈(i+1)·n/out⌉) (torch's rule). With g = gcd(n, out), the lengths sum to
    n + out − g, and window i has length ⌈(r + n)/out⌉ where r = i·n mod out runs over the multiples of
    g below out, so the largest is ⌈(n + out − g)/out⌉. (A loop over the windows took minutes for a
    huge `output`; tests/test_limits.py checks these against the loop.)
    """
    g = math.gcd(n, out)
    return n + out - g, -(-(n + out - g) // out)


def _adaptive_avgpool(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "adaptive_avgpool")
    oh, ow = args.pair("output")
    sum_h, k_h = adaptive_extent(h, oh)
    sum_w, k_w = adaptive_extent(w, ow)
    flops = c * sum_h * sum_w

    def explain() -> str:
        return f"{hwc(c, h, w)} → {hwc(c, oh, ow)}; FLOPs = {c}·{sum_h}·{sum_w} (window sums and divides)"

    stride = (max(1, h // oh), max(1, w // ow))
    return Cost(output=(c, oh, ow), flops=flops, kernel=(k_h, k_w), stride=stride, explainer=explain)


def _adaptive_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return () if args.pair("output") == (1, 1) else (Saved("input0"),)


def _fvcore_input_elements(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # elementwise_flop_counter(1, 0) on aten::adaptive_avg_pool2d: one per input element
    return prod(ins[0])


def _adaptive_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.AdaptiveAvgPool2d(args.pair("output"))


ADAPTIVE_AVGPOOL = Kind(
    "adaptive_avgpool",
    "average pooling to a fixed output size (torch's window rule)",
    (Arg("output", ArgType.PAIR, doc="output H×W"),),
    _adaptive_avgpool,
    flops_rule="one per input element of each window (adds and the divide)",
    note=(
        "**Adaptive average pool.** torch's windows for output cell i along an axis of length N are "
        "[⌊i·N/out⌋, ⌈(i+1)·N/out⌉); each output costs its window's size (adds plus the divide), so the FLOPs "
        "are C·(Σ window heights)·(Σ window widths). When `out` divides N the windows tile the map and this is "
        "one FLOP per input element; otherwise neighbouring windows can overlap, and shared inputs are counted "
        "once per window. Example: 10 → 3 gives windows 0–4, 3–7, 6–10, sum 12."
    ),
    saved=_adaptive_saved,
    saved_rule="its input; an adaptive pool to 1×1 runs as a mean and saves nothing",
    fvcore=_fvcore_input_elements,
    fvcore_rule="1 per input element (aten::adaptive_avg_pool2d); overlapping windows are not counted twice",
    torch=_adaptive_torch,
    examples=(
        Example(
            ((256, 13, 13),),
            {"output": 6},
            output=(256, 6, 6),
            # windows of 13 → 6: [0,3) [2,5) [4,7) [6,9) [8,11) [10,13): 3 each, 18 in all, per axis
            flops=256 * 18 * 18,
            fvcore=256 * 13 * 13,
            note="AlexNet (torchvision): 13 → 6, overlapping windows",
        ),
        Example(
            ((4, 5, 7),),
            {"output": 3},
            output=(4, 3, 3),
            # H 5 → 3: [0,2) [1,4) [3,5) → 2 + 3 + 2 = 7; W 7 → 3: [0,3) [2,5) [4,7) → 9
            flops=4 * 7 * 9,
            fvcore=4 * 5 * 7,
        ),
        Example(((512, 14, 14),), {"output": 7}, output=(512, 7, 7), flops=512 * 14 * 14, fvcore=512 * 14 * 14),
        Example(
            ((2, 3, 6),),
            {"output": [5, 1]},
            output=(2, 5, 1),
            # 3 → 5: [0,1) [0,2) [1,2) [1,3) [2,3) → 1 + 2 + 1 + 2 + 1 = 7
            flops=2 * 7 * 6,
            fvcore=2 * 3 * 6,
        ),
        Example(((64, 7, 7),), {"output": 1}, output=(64, 1, 1), flops=64 * 7 * 7, fvcore=64 * 7 * 7),
        Example(((10,),), {"output": 1}, error="C×H×W"),
    ),
)


def _global_avgpool(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "global_avgpool")

    def explain() -> str:
        return f"{hwc(c, h, w)} → {hwc(c, 1, 1)}; FLOPs = {c}·{h}·{w} (sums and a divide per channel)"

    return Cost(output=(c, 1, 1), flops=c * h * w, kernel=None, explainer=explain)


def _global_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.AdaptiveAvgPool2d((1, 1))


GLOBAL_AVGPOOL = Kind(
    "global_avgpool",
    "average over H×W, giving C×1×1",
    (),
    _global_avgpool,
    flops_rule="one per input element (adds and a divide per channel)",
    note="**Global average pool.** C·H·W: H·W − 1 adds and a divide per channel.",
    saved_rule="nothing (a mean)",
    fvcore=_fvcore_input_elements,
    fvcore_rule="1 per input element (built as nn.AdaptiveAvgPool2d(1): aten::adaptive_avg_pool2d)",
    torch=_global_torch,
    examples=(
        Example(
            ((2048, 7, 7),),
            output=(2048, 1, 1),
            flops=2048 * 7 * 7,
            fvcore=2048 * 7 * 7,
            explain="7×7×2048 → 1×1×2048; FLOPs = 2048·7·7",
            note="ResNet-50's head",
        ),
        Example(((10,),), error="C×H×W"),
    ),
)

KINDS = (MAXPOOL, AVGPOOL, ADAPTIVE_AVGPOOL, GLOBAL_AVGPOOL)
