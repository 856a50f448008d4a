"""Sliding-window arithmetic shared by convolutions and pools: torch's output-size rule, padding, the
lecture's (N + 2P − F)/S + 1 written out, and the checks on a feature map's rank."""

from __future__ import annotations

from archcost.layers.base import ArgValue, Pair, Shape, ShapeError
from archcost.units import shape


def feature_map(shape_in: Shape, kind: str) -> tuple[int, int, int]:
    """`shape_in` as (C, H, W); ShapeError naming `kind` if it is not a feature map."""
    if len(shape_in) != 3:
        raise ShapeError(f"{kind} needs a C×H×W feature map, got a {len(shape_in)}-d input {shape(shape_in)}")
    return shape_in[0], shape_in[1], shape_in[2]


def hwc(c: int, h: int, w: int) -> str:
    """A map as the lecture writes it: ``55×55×96``."""
    return f"{h}×{w}×{c}"


def out_size(
    n: int, pad_total: int, kernel: int, stride: int, dilation: int, *, ceil_mode: bool = False, axis: str
) -> int:
    """Output length of a sliding window (torch's rule, including ceil mode)."""
    span = dilation * (kernel - 1) + 1
    room = n + pad_total - span
    out = -(-room // stride) + 1 if ceil_mode else room // stride + 1
    if ceil_mode and (out - 1) * stride >= n + pad_total // 2:  # the last window must start inside the input
        out -= 1
    if out < 1 or (room < 0 and not ceil_mode):
        raise ShapeError(
            f"the kernel ({span}{' with dilation' if dilation > 1 else ''}) is larger than the padded input "
            f"({n} + {pad_total} on {axis})"
        )
    return out


def size_formula(
    n: int, pad_total: int, kernel: int, stride: int, dilation: int, out: int, *, ceil_mode: bool = False
) -> str:
    """The lecture's (N + 2P − F)/S + 1, with floor or ceil shown when it matters."""
    span = dilation * (kernel - 1) + 1
    num = f"{n}"
    if pad_total:
        num += f" + 2·{pad_total // 2}" if pad_total % 2 == 0 else f" + {pad_total}"
    num += f" - {span}"
    room = n + pad_total - span
    body = f"({num})/{stride}"
    if room % stride:
        body = f"⌈{body}⌉" if ceil_mode else f"⌊{body}⌋"
    return f"{body} + 1 = {out}"


def spatial_text(
    h: int, w: int, pads: Pair, k: Pair, s: Pair, d: Pair, oh: int, ow: int, *, ceil_mode: bool = False
) -> str:
    """Both axes' size formulas, or one when the axes agree, with the dilated kernel noted."""
    fh = size_formula(h, pads[0], k[0], s[0], d[0], oh, ceil_mode=ceil_mode)
    if (h, pads[0], k[0], s[0], d[0]) == (w, pads[1], k[1], s[1], d[1]):
        text = f"out = {fh}"
    else:
        fw = size_formula(w, pads[1], k[1], s[1], d[1], ow, ceil_mode=ceil_mode)
        text = f"H = {fh}, W = {fw}"
    if d != (1, 1):
        text += f" (dilation {d[0]}: effective kernel {d[0] * (k[0] - 1) + 1})"
    return text


def pad_totals(padding: ArgValue | None, k: Pair, s: Pair, d: Pair) -> Pair:
    """Total padding per axis (both sides) for an int pair, 'same' or 'valid'."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if s != (1, 1):
            raise ShapeError("padding 'same' needs stride 1 (as in torch); give the padding explicitly")
        return (d[0] * (k[0] - 1), d[1] * (k[1] - 1))
    assert isinstance(padding, tuple)
    return (2 * padding[0], 2 * padding[1])


def dilated(k: Pair, d: Pair) -> Pair:
    """The kernel's extent with dilation: d·(k − 1) + 1 per axis."""
    return (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
