"""The layer catalog: one entry per kind, defining its arguments, output shape, parameters,
buffers, MACs, FLOPs, receptive-field step and the arithmetic behind them.

Conventions (``docs/conventions.md`` has the per-kind table):

* **MACs** count the multiply-accumulates of weighted layers (conv, linear); bias excluded.
* **FLOPs** count every floating-point operation at inference: 2 per MAC, plus a bias add
  per output, plus the element-wise work each kind documents in :attr:`Kind.flops_rule`.
* **params** are trainable parameters; **buffers** are non-trainable state (BN running stats).

Shapes exclude the batch: ``(C, H, W)`` for feature maps, ``(N,)`` for vectors.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeGuard

from archcost.units import exact, shape

Shape = tuple[int, ...]
Pair = tuple[int, int]
ArgValue = int | float | bool | str | tuple[int, ...]


class ShapeError(ValueError):
    """A layer cannot take the shape it is given; the message says what was expected."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()

ARG_TYPES: Final = {
    "int": "a whole number ≥ 0",
    "posint": "a whole number ≥ 1",
    "pair": "a whole number ≥ 1 or a pair [h, w]",
    "pad": "a whole number ≥ 0 or a pair [h, w]",
    "padding": "a whole number ≥ 0, a pair [h, w], 'same' or 'valid'",
    "pad4": "a whole number ≥ 0 or [left, right, top, bottom]",
    "bool": "true or false",
    "float": "a number",
    "prob": "a number in [0, 1]",
}
"""The value types an argument can have, with how each is described in errors."""


@dataclass(frozen=True)
class Arg:
    """One argument of a layer kind."""

    name: str
    type: str
    default: ArgValue | _Required | None = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @functools.cached_property
    def normal_default(self) -> ArgValue | None:
        """The default in normal form (:func:`coerce`), worked out once; ValueError for a required argument."""
        return coerce(self, self.default)


class Args(dict[str, ArgValue]):
    """Validated, normalized arguments of one layer with typed accessors (a dict: reading one is C speed)."""

    def integer(self, key: str) -> int:
        value = self[key]
        assert isinstance(value, int) and not isinstance(value, bool), key
        return value

    def pair(self, key: str) -> Pair:
        value = self[key]
        assert isinstance(value, tuple) and len(value) == 2, key
        return (value[0], value[1])

    def ints(self, key: str) -> tuple[int, ...]:
        value = self[key]
        assert isinstance(value, tuple), key
        return value

    def number(self, key: str) -> float:
        value = self[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), key
        return float(value)

    def flag(self, key: str) -> bool:
        value = self[key]
        assert isinstance(value, bool), key
        return value


Explainer = Callable[[], str]
"""Renders a layer's arithmetic as text, on demand (only ``archcost show --explain`` and a few checks read it)."""


def _no_explanation() -> str:
    return ""


@dataclass(slots=True)
class Cost:
    """What one layer produces and costs for one sample.

    `kernel` and `stride` are the receptive-field step per axis (H, W): the effective
    kernel (dilation applied) and the stride. ``None`` means the layer sees the whole map.
    `explainer` renders :attr:`explain`; a kind builds it as a closure over its figures, so
    the text is formatted only when someone reads it. Read-only by convention, not frozen (one
    is made per layer, and a frozen dataclass is several times slower to make).
    """

    output: Shape
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    kernel: Pair | None = (1, 1)
    stride: Pair = (1, 1)
    explainer: Explainer = field(default=_no_explanation, compare=False, repr=False)

    @property
    def explain(self) -> str:
        """The arithmetic behind the figures, lecture style."""
        return self.explainer()


Infer = Callable[[tuple[Shape, ...], Args], Cost]


@dataclass(frozen=True)
class Saved:
    """A tensor a layer keeps for its backward pass (training).

    `tensor` is ``input0``, ``input1``, … or ``output`` (an activation, shared with whoever else
    saves the same storage), ``original0`` (input 0 as it was: its storage, or a copy of it if the
    layer ran in place and overwrote it, as torch's in-place operators do when their backward
    needs the input), or ``extra`` (the layer's own: `elements` of `bytes_per_element`,
    0 meaning the analysis dtype's size; per sample unless `per_sample` is false).
    """

    tensor: str
    elements: int = 0
    bytes_per_element: int = 0
    per_sample: bool = True
    what: str = ""


SavedRule = Callable[[tuple[Shape, ...], Shape, Args], tuple[Saved, ...]]


# What torch 2.13's autograd saves for backward, per kind, measured with saved_tensors_hooks on
# CPU in training mode (tests/test_memory_torch.py checks every rule to the byte). Parameters
# and buffers are saved too (a conv's weight, BN's weight and running statistics) but are not
# activations: they are counted as weights. A rule describes a layer whose inputs autograd
# tracks; a layer before the first weighted one saves nothing (archcost.engine).


_INPUT0: Final = (Saved("input0"),)
_OUTPUT: Final = (Saved("output"),)
_ORIGINAL0: Final = (Saved("original0", what="the input (a copy when run in place)"),)
"""The rules' fixed answers, made once (the memory model asks every layer's rule)."""


def _saves_nothing(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """Nothing: the backward needs only shapes (flatten, identity and slice are views; zeropad,
    shuffle, concat, add and global average pooling, which torch computes as a mean, copy or sum)."""
    return ()


def _saves_input(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The input (linear's mat1; avgpool, adaptive pooling, gelu and leaky_relu's self — in place,
    leaky_relu saves its result, which is the same storage)."""
    return _INPUT0


def _saves_output(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The result (relu, sigmoid, tanh, softmax: their gradients are functions of the output)."""
    return _OUTPUT


def _saves_original(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The input's values: the input itself, or, run in place (``inplace=True``), a copy torch makes
    before overwriting it (relu6 as hardtanh_, hardsigmoid_, hardswish_, silu_: their gradients
    need the input, which the result does not give back)."""
    return _ORIGINAL0


def _saves_inputs(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """Every input (multiply: each factor's gradient is the other factor; a C×1×1 gate is small)."""
    return tuple(Saved(f"input{i}") for i in range(len(ins)))


def _saves_conv(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The input (and the weight, a parameter). With padding 'same' and an odd total padding torch
    first pads a copy by the odd row/column (bottom, right) and the convolution saves that copy."""
    k, d = a.pair("kernel"), a.pair("dilation")
    if a["padding"] == "same" and any(dd * (kk - 1) % 2 for kk, dd in zip(k, d, strict=True)):
        c, h, w = ins[0]
        extra_h, extra_w = (dd * (kk - 1) % 2 for kk, dd in zip(k, d, strict=True))
        return (Saved("extra", c * (h + extra_h) * (w + extra_w), what="the input padded by the odd row/column"),)
    return _INPUT0


def _saves_batchnorm(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The input and the batch's mean and inverse standard deviation per channel, always fp32
    (native_batch_norm's save_mean, save_invstd; the running statistics are buffers)."""
    c = ins[0][0]
    return (Saved("input0"), Saved("extra", 2 * c, 4, per_sample=False, what="batch mean and inverse std (fp32)"))


def _saves_maxpool(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The input and the argmax of each window, int64, one per output element (max_pool2d_with_indices)."""
    return (Saved("input0"), Saved("extra", prod(out), 8, what="argmax indices (int64)"))


def _saves_adaptive_avgpool(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The input, except for a 1×1 output, which torch computes as a mean (it saves nothing)."""
    return () if a.pair("output") == (1, 1) else _INPUT0


def _saves_lrn(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """nn.LocalResponseNorm is a composite: x / (k + α·avg_pool3d(pad(x²)))^β. Saved: the input (by
    x² and the divide), the channel-padded squares ((C + size − 1)·H·W, avg_pool3d's input),
    k + α·avg (pow's input) and its power (the divisor): 2·C·H·W."""
    c, h, w = ins[0]
    size = a.integer("size")
    return (
        Saved("input0"),
        Saved("extra", (c + size - 1) * h * w, what="squares padded over channels (avg_pool3d's input)"),
        Saved("extra", 2 * c * h * w, what="k + α·average and its power β (pow's input and the divisor)"),
    )


def _saves_dropout(ins: tuple[Shape, ...], out: Shape, a: Args) -> tuple[Saved, ...]:
    """The scaled keep mask, one element per output in the activations' dtype: on CPU torch draws it
    with bernoulli_ and multiplies (input · mask). On CUDA, native_dropout saves a bool mask
    (1 byte per element) instead. p = 0 returns the input itself (nothing saved); p = 1 multiplies
    by a 0-d zero, which it saves."""
    p = a.number("p")
    if p == 0:
        return ()
    if p == 1:
        return (Saved("extra", 1, per_sample=False, what="the 0-d zero the input is multiplied by"),)
    return (Saved("extra", prod(out), what="scaled keep mask (0 or 1/(1 − p), the activations' dtype)"),)


FvcoreCount = Callable[[tuple[Shape, ...], Shape, Args], int]
"""fvcore 0.1.5's "flop" count of one layer (one sample, eval mode) from its input shapes,
output shape and arguments: what ``FlopCountAnalysis(...).by_module()[name]`` reports for the
module archcost's torch build makes of it (see :mod:`archcost.torchcheck`)."""


@dataclass(frozen=True)
class Kind:
    """A layer kind: its arguments, its cost rule and how it is documented."""

    name: str
    summary: str
    args: tuple[Arg, ...]
    infer: Infer
    flops_rule: str
    merge: bool = False
    aliases: tuple[str, ...] = field(default=())
    fvcore: FvcoreCount = field(kw_only=True)
    """fvcore's convention for this kind, used only by the torch cross-check."""
    fvcore_rule: str = field(kw_only=True)
    """That convention in words, with the reason it differs from ours."""
    inplace: bool = field(default=False, kw_only=True)
    """At inference the output may reuse its first input's memory (in-place activation, view, `+=`)."""
    saved: SavedRule = field(default=_saves_nothing, kw_only=True)
    """What the layer keeps for its backward pass (torch's autograd), for training memory."""

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)


# ---------------------------------------------------------------------------- helpers


def prod(values: tuple[int, ...]) -> int:
    return math.prod(values)


def _map(shape_in: Shape, what: str) -> tuple[int, int, int]:
    if len(shape_in) != 3:
        raise ShapeError(f"{what} needs a C×H×W feature map, got a {len(shape_in)}-d input {shape(shape_in)}")
    return shape_in[0], shape_in[1], shape_in[2]


def _hwc(c: int, h: int, w: int) -> str:
    return f"{h}×{w}×{c}"


def _out_size(
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


def _size_formula(
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


def _spatial_text(
    h: int, w: int, pads: Pair, k: Pair, s: Pair, d: Pair, oh: int, ow: int, *, ceil_mode: bool = False
) -> str:
    fh = _size_formula(h, pads[0], k[0], s[0], d[0], oh, ceil_mode=ceil_mode)
    if (h, pads[0], k[0], s[0], d[0]) == (w, pads[1], k[1], s[1], d[1]):
        text = f"out = {fh}"
    else:
        fw = _size_formula(w, pads[1], k[1], s[1], d[1], ow, ceil_mode=ceil_mode)
        text = f"H = {fh}, W = {fw}"
    if d != (1, 1):
        text += f" (dilation {d[0]}: effective kernel {d[0] * (k[0] - 1) + 1})"
    return text


def _pad_totals(padding: ArgValue, k: Pair, s: Pair, d: Pair) -> Pair:
    """Total padding per axis (both sides) for an int, a pair, 'same' or 'valid'."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if s != (1, 1):
            raise ShapeError("padding 'same' needs stride 1 (as in torch); give the padding explicitly")
        return (d[0] * (k[0] - 1), d[1] * (k[1] - 1))
    assert isinstance(padding, tuple)
    return (2 * padding[0], 2 * padding[1])


def _check_pool_padding(pads: Pair, k: Pair) -> None:
    for total, kernel in zip(pads, k, strict=True):
        if total // 2 > kernel // 2:  # torch's rule, on the kernel before dilation
            raise ShapeError(f"pool padding {total // 2} is more than half the kernel {kernel} (torch rejects it)")


# ---------------------------------------------------------------------------- kinds


def _conv(ins: tuple[Shape, ...], a: Args) -> Cost:
    c, h, w = _map(ins[0], "conv")
    out, g = a.integer("out"), a.integer("groups")
    k, s, d = a.pair("kernel"), a.pair("stride"), a.pair("dilation")
    if c % g:
        raise ShapeError(f"input channels {c} are not divisible by groups={g}")
    if out % g:
        raise ShapeError(f"output channels out={out} are not divisible by groups={g}")
    pads = _pad_totals(a["padding"], k, s, d)
    oh = _out_size(h, pads[0], k[0], s[0], d[0], axis="H")
    ow = _out_size(w, pads[1], k[1], s[1], d[1], axis="W")
    bias = a.flag("bias")
    per_out = k[0] * k[1] * (c // g)
    elems = out * oh * ow
    weights = per_out * out
    macs = elems * per_out
    params = weights + (out if bias else 0)

    def explain() -> str:
        group_note = f" (groups={g}: each filter sees {c}/{g} = {c // g} channels)" if g > 1 else ""
        kernel_text = f"{k[0]}·{k[1]}·{c // g}"
        return (
            f"{_spatial_text(h, w, pads, k, s, d, oh, ow)} → {_hwc(out, oh, ow)}; "
            f"params = {kernel_text}·{out}{f' + {out}' if bias else ''} = {exact(params)}{group_note}; "
            f"MACs = {oh}·{ow}·{out} · {kernel_text} = {exact(macs)}"
        )

    return Cost(
        output=(out, oh, ow),
        params=params,
        macs=macs,
        flops=2 * macs + (elems if bias else 0),
        kernel=(d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1),
        stride=s,
        explainer=explain,
    )


def _linear(ins: tuple[Shape, ...], a: Args) -> Cost:
    if len(ins[0]) != 1:
        raise ShapeError(
            f"linear needs a flat vector, got {shape(ins[0])}: add a flatten first (global_avgpool still gives C×1×1)"
        )
    n_in, out, bias = ins[0][0], a.integer("out"), a.flag("bias")
    macs = n_in * out
    params = macs + (out if bias else 0)

    def explain() -> str:
        return (
            f"{n_in} → {out}; params = {n_in}·{out}{f' + {out}' if bias else ''} = {exact(params)}; "
            f"MACs = {n_in}·{out} = {exact(macs)}"
        )

    return Cost(output=(out,), params=params, macs=macs, flops=2 * macs + (out if bias else 0), explainer=explain)


def _pool(ins: tuple[Shape, ...], a: Args, what: str) -> tuple[Cost, int]:
    c, h, w = _map(ins[0], what)
    k, s = a.pair("kernel"), a.pair("stride") if a["stride"] is not None else a.pair("kernel")
    d = a.pair("dilation") if "dilation" in a else (1, 1)
    pads = _pad_totals(a["padding"], k, s, d)
    _check_pool_padding(pads, k)
    ceil_mode = a.flag("ceil_mode")
    oh = _out_size(h, pads[0], k[0], s[0], d[0], ceil_mode=ceil_mode, axis="H")
    ow = _out_size(w, pads[1], k[1], s[1], d[1], ceil_mode=ceil_mode, axis="W")

    def explain() -> str:
        mode = " (ceil mode)" if ceil_mode else ""
        return f"{_spatial_text(h, w, pads, k, s, d, oh, ow, ceil_mode=ceil_mode)}{mode} → {_hwc(c, oh, ow)}"

    kernel = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    return Cost(output=(c, oh, ow), kernel=kernel, stride=s, explainer=explain), k[0] * k[1]


def _maxpool(ins: tuple[Shape, ...], a: Args) -> Cost:
    cost, window = _pool(ins, a, "maxpool")
    elems = prod(cost.output)
    return _with(cost, flops=elems * (window - 1), note=lambda: f"FLOPs = {exact(elems)}·({window} - 1) comparisons")


def _avgpool(ins: tuple[Shape, ...], a: Args) -> Cost:
    cost, window = _pool(ins, a, "avgpool")
    elems = prod(cost.output)
    return _with(cost, flops=elems * window, note=lambda: f"FLOPs = {exact(elems)}·{window} (adds and a divide)")


def _adaptive_extent(n: int, out: int) -> tuple[int, int]:
    """Sum of the adaptive windows' lengths along one axis, and the largest window, in closed form.

    Window i is [⌊i·n/out⌋, ⌈(i+1)·n/out⌉) (torch's rule). With g = gcd(n, out), the lengths sum to
    n + out − g, and window i has length ⌈(r + n)/out⌉ where r = i·n mod out runs over the multiples of
    g below out, so the largest is ⌈(n + out − g)/out⌉. (A loop over the windows took minutes for a
    huge `output`; tests/test_limits.py checks these against the loop.)
    """
    g = math.gcd(n, out)
    return n + out - g, -(-(n + out - g) // out)


def _adaptive_avgpool(ins: tuple[Shape, ...], a: Args) -> Cost:
    c, h, w = _map(ins[0], "adaptive_avgpool")
    oh, ow = a.pair("output")
    sum_h, k_h = _adaptive_extent(h, oh)
    sum_w, k_w = _adaptive_extent(w, ow)
    flops = c * sum_h * sum_w

    def explain() -> str:
        return f"{_hwc(c, h, w)} → {_hwc(c, oh, ow)}; FLOPs = {c}·{sum_h}·{sum_w} (window sums and divides)"

    stride = (max(1, h // oh), max(1, w // ow))
    return Cost(output=(c, oh, ow), flops=flops, kernel=(k_h, k_w), stride=stride, explainer=explain)


def _global_avgpool(ins: tuple[Shape, ...], a: Args) -> Cost:
    c, h, w = _map(ins[0], "global_avgpool")

    def explain() -> str:
        return f"{_hwc(c, h, w)} → {_hwc(c, 1, 1)}; FLOPs = {c}·{h}·{w} (sums and a divide per channel)"

    return Cost(output=(c, 1, 1), flops=c * h * w, kernel=None, explainer=explain)


def _batchnorm(ins: tuple[Shape, ...], a: Args) -> Cost:
    c = ins[0][0]
    affine = a.flag("affine")
    elems = prod(ins[0])
    params = 2 * c if affine else 0

    def explain() -> str:
        return (
            f"params = 2·{c} = {params} (γ, β); buffers = 2·{c} (running mean, var); "
            f"FLOPs = 2·{exact(elems)} (scale and shift, folded at inference)"
        )

    return Cost(output=ins[0], params=params, buffers=2 * c, flops=2 * elems, explainer=explain)


def _lrn(ins: tuple[Shape, ...], a: Args) -> Cost:
    _map(ins[0], "lrn")
    size = a.integer("size")
    elems = prod(ins[0])
    per = size + 4
    return Cost(
        output=ins[0],
        flops=per * elems,
        explainer=lambda: f"FLOPs = ({size} + 4)·{exact(elems)} (window of squares, scale, offset, power, divide)",
    )


def _elementwise(name: str, per_element: int, what: str) -> Infer:
    def text(elems: int) -> str:
        return f"FLOPs = {per_element}·{exact(elems)} ({name}: {what})" if per_element else f"no arithmetic ({name})"

    def infer(ins: tuple[Shape, ...], a: Args) -> Cost:
        elems = prod(ins[0])
        return Cost(output=ins[0], flops=per_element * elems, explainer=lambda: text(elems))

    return infer


def _flatten(ins: tuple[Shape, ...], a: Args) -> Cost:
    n = prod(ins[0])
    return Cost(
        output=(n,), kernel=None if len(ins[0]) == 3 else (1, 1), explainer=lambda: f"{shape(ins[0])} → {n} (flatten)"
    )


def _zeropad(ins: tuple[Shape, ...], a: Args) -> Cost:
    c, h, w = _map(ins[0], "zeropad")
    left, right, top, bottom = a.ints("padding")
    oh, ow = h + top + bottom, w + left + right
    return Cost(output=(c, oh, ow), explainer=lambda: f"{_hwc(c, h, w)} → {_hwc(c, oh, ow)}")


def _shuffle(ins: tuple[Shape, ...], a: Args) -> Cost:
    c, _, _ = _map(ins[0], "shuffle")
    g = a.integer("groups")
    if c % g:
        raise ShapeError(f"channels {c} are not divisible by groups={g}")
    return Cost(output=ins[0], explainer=lambda: f"{c} channels in {g} groups of {c // g}, interleaved (no arithmetic)")


def _slice(ins: tuple[Shape, ...], a: Args) -> Cost:
    c, h, w = _map(ins[0], "slice")
    start, stop = a.integer("start"), a.integer("stop")
    if not 0 <= start < stop <= c:
        raise ShapeError(f"channels {start}:{stop} are not inside the input's 0:{c}")
    return Cost(
        output=(stop - start, h, w), explainer=lambda: f"channels {start}:{stop} of {c} (a view, no arithmetic)"
    )


def _concat(ins: tuple[Shape, ...], a: Args) -> Cost:
    spatial = {s[1:] for s in ins}
    if any(len(s) != 3 for s in ins) or len(spatial) > 1:
        raise ShapeError("concat needs feature maps of the same H×W; got " + ", ".join(shape(s) for s in ins))
    channels = sum(s[0] for s in ins)

    def explain() -> str:
        parts = " + ".join(str(s[0]) for s in ins)
        return f"channels {parts} = {channels}"

    return Cost(output=(channels, *ins[0][1:]), explainer=explain)


def _add(ins: tuple[Shape, ...], a: Args) -> Cost:
    if len(set(ins)) > 1:
        raise ShapeError("add needs inputs of the same shape; got " + ", ".join(shape(s) for s in ins))
    elems = prod(ins[0])
    adds = (len(ins) - 1) * elems
    return Cost(output=ins[0], flops=adds, explainer=lambda: f"FLOPs = {len(ins) - 1}·{exact(elems)} additions")


def _multiply(ins: tuple[Shape, ...], a: Args) -> Cost:
    big = max(ins, key=prod)
    for s in ins:
        ok = s == big or (len(s) == len(big) == 3 and s[0] == big[0] and s[1:] == (1, 1))
        if not ok:
            raise ShapeError(
                "multiply needs equal shapes or a C×1×1 gate with the same C; got " + ", ".join(shape(s) for s in ins)
            )
    elems = prod(big)
    mults = (len(ins) - 1) * elems
    return Cost(output=big, flops=mults, explainer=lambda: f"FLOPs = {len(ins) - 1}·{exact(elems)} multiplications")


def _with(cost: Cost, *, flops: int, note: Explainer) -> Cost:
    """`cost` with other FLOPs, and `note` after its explanation."""
    return Cost(
        output=cost.output,
        params=cost.params,
        buffers=cost.buffers,
        macs=cost.macs,
        flops=flops,
        kernel=cost.kernel,
        stride=cost.stride,
        explainer=lambda: f"{cost.explain}; {note()}",
    )


# ---------------------------------------------------------------------------- fvcore's convention
# fvcore 0.1.5 (fvcore/nn/flop_count.py, jit_handles.py, jit_analysis.py) counts only the aten
# operators it has a handle for; others are either in its _IGNORED_OPS (counted as 0, silently) or
# reported by `unsupported_ops()` (counted as 0, listed). The rules below were read from that source
# and measured on the modules archcost.torchcheck builds (torch 2.13).


def _fvcore_conv(ins: tuple[Shape, ...], out: Shape, a: Args) -> int:
    # conv_flop_count: batch · prod(weight shape) · prod(output H, W); bias not counted
    k = a.pair("kernel")
    return prod(out) * k[0] * k[1] * (ins[0][0] // a.integer("groups"))


def _fvcore_linear(ins: tuple[Shape, ...], out: Shape, a: Args) -> int:
    # linear_flop_jit: prod(input shape) · out_features; bias not counted
    return prod(ins[0]) * out[0]


def _fvcore_input_elements(ins: tuple[Shape, ...], out: Shape, a: Args) -> int:
    # elementwise_flop_counter(1, 0) on aten::adaptive_avg_pool2d: one per input element
    return prod(ins[0])


def _fvcore_batchnorm(ins: tuple[Shape, ...], out: Shape, a: Args) -> int:
    # batchnorm_flop_jit in eval mode: numel · (2 if affine else 1)
    return prod(ins[0]) * (2 if a.flag("affine") else 1)


def _fvcore_zero(ins: tuple[Shape, ...], out: Shape, a: Args) -> int:
    return 0


def _uncounted(op: str) -> str:
    return f"0: {op} is not among fvcore's counted operators (listed by unsupported_ops())"


_IGNORED = "0: fvcore ignores {op} (in its _IGNORED_OPS)"

_WINDOW_ARGS = (
    Arg("kernel", "pair", doc="window size"),
    Arg("stride", "pair", None, "step; defaults to the kernel, as in torch"),
    Arg("padding", "pad", 0, "implicit padding on each side (at most half the kernel)"),
)
_CEIL = Arg("ceil_mode", "bool", False, "round the output size up instead of down")


def _activation(
    name: str,
    per_element: int,
    what: str,
    summary: str,
    *extra: Arg,
    fvcore_rule: str,
    aliases: tuple[str, ...] = (),
    inplace: bool = False,
    saved: SavedRule = _saves_input,
) -> Kind:
    rule = f"{per_element} per element ({what})" if per_element else "0"
    return Kind(
        name,
        summary,
        extra,
        _elementwise(name, per_element, what),
        rule,
        aliases=aliases,
        fvcore=_fvcore_zero,
        fvcore_rule=fvcore_rule,
        inplace=inplace,
        saved=saved,
    )


CATALOG: Final[tuple[Kind, ...]] = (
    Kind(
        "conv",
        "2-D convolution (grouped and depthwise with `groups`)",
        (
            Arg("out", "posint", doc="output channels"),
            Arg("kernel", "pair", doc="kernel size"),
            Arg("stride", "pair", 1),
            Arg("padding", "padding", 0, "per side; 'same' keeps H×W at stride 1, 'valid' is 0"),
            Arg("dilation", "pair", 1),
            Arg("groups", "posint", 1, "divides input and output channels; groups = input channels is depthwise"),
            Arg("bias", "bool", True),
        ),
        _conv,
        "2·MACs + 1 per output element if bias",
        fvcore=_fvcore_conv,
        fvcore_rule=(
            "MACs: one multiply-add is one flop and the bias is not counted (aten::_convolution; "
            "'same' and 'valid' are built as explicit padding, since fvcore does not count aten::_convolution_mode)"
        ),
        saved=_saves_conv,
    ),
    Kind(
        "linear",
        "fully connected layer on a flat vector",
        (Arg("out", "posint", doc="output features"), Arg("bias", "bool", True)),
        _linear,
        "2·MACs + 1 per output if bias",
        fvcore=_fvcore_linear,
        fvcore_rule="MACs: one multiply-add is one flop and the bias is not counted (aten::linear)",
        saved=_saves_input,
    ),
    Kind(
        "maxpool",
        "max pooling",
        (*_WINDOW_ARGS, Arg("dilation", "pair", 1), _CEIL),
        _maxpool,
        "(k·k − 1) comparisons per output element",
        fvcore=_fvcore_zero,
        fvcore_rule=_uncounted("aten::max_pool2d"),
        saved=_saves_maxpool,
    ),
    Kind(
        "avgpool",
        "average pooling (zero padding counted in the average, as torch's default)",
        (*_WINDOW_ARGS, _CEIL),
        _avgpool,
        "k·k per output element (k·k − 1 adds and a divide)",
        fvcore=_fvcore_zero,
        fvcore_rule=_uncounted("aten::avg_pool2d"),
        saved=_saves_input,
    ),
    Kind(
        "adaptive_avgpool",
        "average pooling to a fixed output size (torch's window rule)",
        (Arg("output", "pair", doc="output H×W"),),
        _adaptive_avgpool,
        "one per input element of each window (adds and the divide)",
        fvcore=_fvcore_input_elements,
        fvcore_rule="1 per input element (aten::adaptive_avg_pool2d); overlapping windows are not counted twice",
        saved=_saves_adaptive_avgpool,
    ),
    Kind(
        "global_avgpool",
        "average over H×W, giving C×1×1",
        (),
        _global_avgpool,
        "one per input element (adds and a divide per channel)",
        fvcore=_fvcore_input_elements,
        fvcore_rule="1 per input element (built as nn.AdaptiveAvgPool2d(1): aten::adaptive_avg_pool2d)",
        saved=_saves_nothing,
    ),
    Kind(
        "batchnorm",
        "batch normalization over channels (inference: a folded scale and shift)",
        (Arg("eps", "float", 1e-5), Arg("momentum", "prob", 0.1), Arg("affine", "bool", True)),
        _batchnorm,
        "2 per element (scale and shift)",
        fvcore=_fvcore_batchnorm,
        fvcore_rule="2 per element if affine, else 1 (aten::batch_norm in eval mode; 5 or 4 in training mode)",
        saved=_saves_batchnorm,
    ),
    Kind(
        "lrn",
        "local response normalization across channels (AlexNet)",
        (
            Arg("size", "posint", doc="channels in the window"),
            Arg("alpha", "float", 1e-4),
            Arg("beta", "float", 0.75),
            Arg("k", "float", 1.0),
        ),
        _lrn,
        "size + 4 per element (squares and their sum, scale, offset, power, divide)",
        fvcore=_fvcore_zero,
        fvcore_rule=_uncounted("nn.LocalResponseNorm's aten::mul, pow, pad, avg_pool3d, add, div"),
        saved=_saves_lrn,
    ),
    _activation(
        "relu",
        1,
        "a comparison",
        "max(0, x)",
        fvcore_rule=_IGNORED.format(op="aten::relu"),
        inplace=True,
        saved=_saves_output,
    ),
    _activation(
        "relu6",
        2,
        "two comparisons",
        "min(max(0, x), 6)",
        fvcore_rule=_uncounted("aten::hardtanh"),
        inplace=True,
        saved=_saves_original,
    ),
    _activation(
        "leaky_relu",
        2,
        "a comparison and a multiply",
        "x if x > 0 else slope·x",
        Arg("slope", "float", 0.01),
        fvcore_rule=_uncounted("aten::leaky_relu"),
        inplace=True,
    ),
    _activation(
        "sigmoid",
        3,
        "exp, add, divide",
        "1 / (1 + exp(−x))",
        fvcore_rule=_uncounted("aten::sigmoid"),
        saved=_saves_output,
    ),
    _activation("tanh", 1, "one transcendental", "tanh(x)", fvcore_rule=_uncounted("aten::tanh"), saved=_saves_output),
    _activation(
        "hardsigmoid",
        4,
        "add, two comparisons, divide",
        "relu6(x + 3) / 6",
        fvcore_rule=_uncounted("aten::hardsigmoid"),
        inplace=True,
        saved=_saves_original,
    ),
    _activation(
        "hardswish",
        5,
        "hardsigmoid and a multiply",
        "x · relu6(x + 3) / 6",
        fvcore_rule=_uncounted("aten::hardswish"),
        inplace=True,
        saved=_saves_original,
    ),
    _activation(
        "silu",
        4,
        "sigmoid and a multiply",
        "x · sigmoid(x), also called swish",
        aliases=("swish",),
        fvcore_rule=_uncounted("aten::silu"),
        inplace=True,
        saved=_saves_original,
    ),
    _activation(
        "gelu", 5, "scale, erf, add, two multiplies", "x · Φ(x), exact erf form", fvcore_rule=_uncounted("aten::gelu")
    ),
    _activation(
        "softmax",
        5,
        "max, subtract, exp, sum, divide",
        "softmax over channels",
        fvcore_rule=_uncounted("aten::softmax"),
        saved=_saves_output,
    ),
    _activation(
        "dropout",
        0,
        "",
        "dropout: the identity at inference",
        Arg("p", "prob", 0.5),
        fvcore_rule="0: nothing is computed in eval mode",
        inplace=True,
        saved=_saves_dropout,
    ),
    Kind(
        "flatten",
        "flatten C×H×W to a vector",
        (),
        _flatten,
        "0",
        fvcore=_fvcore_zero,
        fvcore_rule=_IGNORED.format(op="aten::flatten"),
        inplace=True,
    ),
    _activation(
        "identity",
        0,
        "",
        "passes its input through",
        fvcore_rule="0: nothing is computed",
        inplace=True,
        saved=_saves_nothing,
    ),
    Kind(
        "zeropad",
        "zero padding",
        (Arg("padding", "pad4", doc="on all sides, or [left, right, top, bottom]"),),
        _zeropad,
        "0",
        fvcore=_fvcore_zero,
        fvcore_rule=_uncounted("aten::pad"),
    ),
    Kind(
        "shuffle",
        "channel shuffle (ShuffleNet): a permutation, no arithmetic",
        (Arg("groups", "posint", doc="groups to interleave"),),
        _shuffle,
        "0",
        fvcore=_fvcore_zero,
        fvcore_rule="0: fvcore ignores the view, transpose and contiguous that make the shuffle",
    ),
    Kind(
        "slice",
        "channels start:stop of the input (ShuffleNet V2's channel split): a view, no arithmetic",
        (Arg("start", "int", doc="first channel"), Arg("stop", "posint", doc="one past the last channel")),
        _slice,
        "0",
        fvcore=_fvcore_zero,
        fvcore_rule=_IGNORED.format(op="aten::slice"),
    ),
    Kind(
        "concat",
        "channel concatenation (the merge of a parallel)",
        (),
        _concat,
        "0",
        merge=True,
        fvcore=_fvcore_zero,
        fvcore_rule=_IGNORED.format(op="aten::cat"),
    ),
    Kind(
        "add",
        "element-wise sum (a residual or a parallel merge)",
        (),
        _add,
        "(inputs − 1) per output element",
        merge=True,
        fvcore=_fvcore_zero,
        fvcore_rule=_uncounted("aten::add"),
        inplace=True,
    ),
    Kind(
        "multiply",
        "element-wise product, a C×1×1 gate broadcast over H×W (squeeze-and-excitation)",
        (),
        _multiply,
        "(inputs − 1) per output element",
        merge=True,
        fvcore=_fvcore_zero,
        fvcore_rule=_uncounted("aten::mul"),
        saved=_saves_inputs,
    ),
)

KINDS: Final[dict[str, Kind]] = {k.name: k for k in CATALOG}
"""Every layer kind by name."""

ALIASES: Final[dict[str, str]] = {alias: k.name for k in CATALOG for alias in k.aliases}
"""Other names accepted for a kind (``swish`` is ``silu``)."""


def coerce(arg: Arg, value: object) -> ArgValue | None:
    """`value` in the normal form of `arg`'s type; ValueError saying what was expected."""
    if value is None and arg.default is None:
        return None
    kind = arg.type
    if kind in ("pair", "pad", "padding"):  # the commonest first: kernel, stride, padding, dilation
        if kind == "padding" and isinstance(value, str) and value in ("same", "valid"):
            return value
        least = 1 if kind == "pair" else 0
        if _is_int(value, least):
            return (value, value)
        if isinstance(value, list | tuple) and len(value) == 2 and all(_is_int(v, least) for v in value):
            return (value[0], value[1])
    elif kind in ("int", "posint"):
        if _is_int(value, 1 if kind == "posint" else 0):
            return value
    elif kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind in ("float", "prob"):
        is_number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if is_number and (kind == "float" or 0 <= value <= 1):  # type: ignore[operator]
            return value  # type: ignore[return-value]
    elif kind == "pad4":
        if _is_int(value, 0):
            return (value, value, value, value)
        if isinstance(value, list | tuple) and len(value) == 4 and all(_is_int(v, 0) for v in value):
            return tuple(value)
    raise ValueError(f"{arg.name} must be {ARG_TYPES[kind]}, got {value!r}")


def _is_int(value: object, least: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def lookup(name: str) -> Kind | None:
    """The kind called `name`, or its alias; None if there is none."""
    return KINDS.get(ALIASES.get(name, name))
