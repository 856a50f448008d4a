"""The layer catalog beyond each kind's worked examples (tests/test_catalog.py runs those): grids of
sizes against torch, floor and ceil mode, receptive fields, explanations and argument coercion.

Each expected figure is written out as the arithmetic that produces it (torch's output-size
rule, weights per filter times filters, and so on), never copied from the tool's output.
Pool and conv output sizes are also checked against torch itself on a grid of small cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from archcost.layers import ARG_TYPES, KINDS, REQUIRED, Arg, Cost, ShapeError, coerce

Shape = tuple[int, ...]
AnalyzeYaml = Callable[..., Any]  # the conftest fixture


def infer(kind_name: str, *shapes: Shape, **given: Any) -> Cost:
    """The kind's rule on `shapes` with `given` arguments, coerced and defaulted as the engine does."""
    kind = KINDS[kind_name]
    return kind.infer(tuple(shapes), kind.args_of(given))


# ---------------------------------------------------------------------------- conv


def test_conv_depthwise_multiplier() -> None:
    # groups = C with out = 2·C: two filters per input channel, each 3·3·1.
    cost = infer("conv", (16, 10, 10), out=32, kernel=3, groups=16, bias=False)
    assert cost.output == (32, 8, 8)
    assert cost.params == 3 * 3 * 1 * 32
    assert cost.macs == 8 * 8 * 32 * 9


@pytest.mark.parametrize(
    ("dilation", "padding", "side", "span"),
    [
        (2, 2, (32 + 2 * 2 - (2 * (3 - 1) + 1)) // 1 + 1, 2 * (3 - 1) + 1),  # 32: dilated "same"
        (3, 0, (32 - (3 * (3 - 1) + 1)) // 1 + 1, 3 * (3 - 1) + 1),  # 26
        (1, 0, 32 - 3 + 1, 3),
    ],
)
def test_conv_dilation(dilation: int, padding: int, side: int, span: int) -> None:
    cost = infer("conv", (8, 32, 32), out=4, kernel=3, padding=padding, dilation=dilation)
    assert cost.output == (4, side, side)
    assert cost.params == 3 * 3 * 8 * 4 + 4  # dilation adds no weights
    assert cost.macs == side * side * 4 * 3 * 3 * 8
    assert cost.kernel == (span, span)  # the receptive-field step uses the dilated extent
    if dilation > 1:
        assert f"effective kernel {span}" in cost.explain


def test_conv_dilation_with_stride() -> None:
    cost = infer("conv", (1, 33, 33), out=1, kernel=3, stride=2, dilation=2, bias=False)
    assert cost.output == (1, (33 - 5) // 2 + 1, (33 - 5) // 2 + 1) == (1, 15, 15)


@pytest.mark.parametrize(
    ("kernel", "dilation"),
    [(3, 1), (5, 1), (4, 1), (2, 1), ([2, 3], 1), (3, 2), (4, 2), (1, 1)],
)
def test_conv_same_keeps_size(kernel: int | list[int], dilation: int) -> None:
    # torch's padding='same' (stride 1) keeps H×W for any kernel, odd or even (then asymmetric).
    cost = infer("conv", (3, 17, 20), out=5, kernel=kernel, padding="same", dilation=dilation)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    assert cost.output == (5, 17, 20)
    assert cost.params == kh * kw * 3 * 5 + 5
    assert cost.macs == 17 * 20 * 5 * kh * kw * 3


def test_conv_pair_kernel_stride_padding() -> None:
    cost = infer("conv", (3, 32, 48), out=6, kernel=[3, 5], stride=[2, 1], padding=[1, 2])
    oh = (32 + 2 * 1 - 3) // 2 + 1
    ow = (48 + 2 * 2 - 5) // 1 + 1
    assert (oh, ow) == (16, 48)
    assert cost.output == (6, oh, ow)
    assert cost.params == 3 * 5 * 3 * 6 + 6
    assert cost.macs == oh * ow * 6 * 3 * 5 * 3
    assert (cost.kernel, cost.stride) == ((3, 5), (2, 1))
    assert cost.explain.startswith("H = ")  # axes differ: both formulas shown
    assert f"+ 1 = {ow}" in cost.explain


def test_conv_bias_false() -> None:
    with_bias = infer("conv", (16, 8, 8), out=32, kernel=1)
    without = infer("conv", (16, 8, 8), out=32, kernel=1, bias=False)
    assert with_bias.params - without.params == 32
    assert without.params == 16 * 32
    assert with_bias.macs == without.macs == 8 * 8 * 32 * 16
    assert with_bias.flops - without.flops == 32 * 8 * 8
    assert without.flops == 2 * without.macs


@pytest.mark.parametrize(
    ("shape_in", "given", "message"),
    [
        ((3, 16, 16), {"out": 4, "kernel": 3, "groups": 2}, "input channels 3 are not divisible by groups=2"),
        ((4, 16, 16), {"out": 6, "kernel": 3, "groups": 4}, "out=6 are not divisible by groups=4"),
        ((3, 16, 16), {"out": 4, "kernel": 17}, "larger than the padded input"),
        ((3, 16, 16), {"out": 4, "kernel": 3, "dilation": 8}, "17 with dilation"),
        ((3, 16, 4), {"out": 4, "kernel": [3, 5]}, "on W"),
        ((48,), {"out": 4, "kernel": 1}, "C×H×W"),
    ],
)
def test_conv_shape_errors(shape_in: Shape, given: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        infer("conv", shape_in, **given)


def test_conv_kernel_equal_to_padded_input_gives_one() -> None:
    assert infer("conv", (3, 5, 5), out=2, kernel=7, padding=1).output == (2, (5 + 2 - 7) // 1 + 1, 1)


# ---------------------------------------------------------------------------- pools


def test_pool_stride_defaults_to_kernel() -> None:
    assert infer("maxpool", (6, 28, 28), kernel=2).output == (6, 14, 14)
    assert infer("avgpool", (6, 28, 28), kernel=2).output == (6, 14, 14)
    assert infer("maxpool", (6, 28, 28), kernel=2).stride == (2, 2)


@pytest.mark.parametrize("kind", ["maxpool", "avgpool"])
@pytest.mark.parametrize(
    ("n", "kernel", "stride", "padding", "floor_out", "ceil_out"),
    [
        # GoogLeNet: 112 → 56 with 3/2 in ceil mode; floor gives ⌊109/2⌋ + 1 = 55.
        (112, 3, 2, 0, (112 - 3) // 2 + 1, math.ceil((112 - 3) / 2) + 1),
        # 6, 2/2, padding 1: (6 + 2 - 2)/2 + 1 = 4 exactly, the same in both modes; the last
        # window starts at (4 - 1)·2 = 6 < 6 + 1 (inside the input), so it is kept.
        (6, 2, 2, 1, 4, 4),
        # 5, 2/2, padding 1: ⌈(5 + 2 - 2)/2⌉ + 1 = 4, but the 4th window would start at
        # (4 - 1)·2 = 6 ≥ 5 + 1, entirely in the right padding: torch drops it → 3.
        (5, 2, 2, 1, (5 + 2 - 2) // 2 + 1, 3),
        # 3, 2/2, padding 1: ⌈3/2⌉ + 1 = 3, last window at 4 ≥ 3 + 1 → dropped → 2.
        (3, 2, 2, 1, 2, 2),
        # 7, 3/2, padding 1: (7 + 2 - 3)/2 + 1 = 4 exactly.
        (7, 3, 2, 1, 4, 4),
        # 14, 3/2: ⌊11/2⌋ + 1 = 6, ⌈11/2⌉ + 1 = 7 (start 12 < 14: kept).
        (14, 3, 2, 0, 6, 7),
    ],
)
def test_pool_floor_and_ceil(
    kind: str, n: int, kernel: int, stride: int, padding: int, floor_out: int, ceil_out: int
) -> None:
    floor_cost = infer(kind, (2, n, n), kernel=kernel, stride=stride, padding=padding)
    ceil_cost = infer(kind, (2, n, n), kernel=kernel, stride=stride, padding=padding, ceil_mode=True)
    assert floor_cost.output == (2, floor_out, floor_out)
    assert ceil_cost.output == (2, ceil_out, ceil_out)


def test_pool_flops() -> None:
    mx = infer("maxpool", (64, 112, 112), kernel=3, stride=2, padding=1)
    av = infer("avgpool", (64, 112, 112), kernel=3, stride=2, padding=1)
    elems = 64 * 56 * 56
    assert mx.flops == elems * (3 * 3 - 1)
    assert av.flops == elems * 3 * 3  # 8 adds and a divide
    pair = infer("avgpool", (4, 8, 9), kernel=[2, 3])
    assert pair.output == (4, 8 // 2, 9 // 3)
    assert pair.flops == 4 * 4 * 3 * (2 * 3)


@pytest.mark.parametrize(("kind", "kernel", "padding"), [("maxpool", 3, 2), ("avgpool", 2, 2), ("maxpool", 1, 1)])
def test_pool_padding_more_than_half_kernel(kind: str, kernel: int, padding: int) -> None:
    with pytest.raises(ShapeError, match="more than half the kernel"):
        infer(kind, (1, 16, 16), kernel=kernel, padding=padding)


def test_pool_output_sizes_match_torch() -> None:
    """Every small pool configuration (padding up to the kernel, dilation, floor and ceil mode) against
    torch: the same output size where torch accepts it, a ShapeError where torch refuses it."""
    torch = pytest.importorskip("torch")
    checked = refused = 0
    for n in range(1, 10):
        for k in range(1, 5):
            for s in range(1, 4):
                for p in range(k + 1):
                    for d in (1, 2, 3):
                        for ceil in (False, True):
                            x = torch.zeros(1, 1, n, n + 1)
                            cases = [("maxpool", torch.nn.MaxPool2d(k, s, p, dilation=d, ceil_mode=ceil), d)]
                            if d == 1:
                                cases.append(("avgpool", torch.nn.AvgPool2d(k, s, p, ceil_mode=ceil), None))
                            for kind, module, dilation in cases:
                                extra = {} if dilation is None else {"dilation": dilation}
                                try:
                                    want = tuple(module(x).shape[1:])
                                except (RuntimeError, ValueError):
                                    with pytest.raises(ShapeError):
                                        infer(
                                            kind, (1, n, n + 1), kernel=k, stride=s, padding=p, ceil_mode=ceil, **extra
                                        )
                                    refused += 1
                                    continue
                                got = infer(kind, (1, n, n + 1), kernel=k, stride=s, padding=p, ceil_mode=ceil, **extra)
                                assert got.output == want, (kind, n, k, s, p, d, ceil)
                                checked += 1
    assert checked > 1000 and refused > 100


def test_conv_output_sizes_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for n in (5, 8, 11):
        for k in (1, 2, 3, 4):
            for s in (1, 2, 3):
                for p in (0, 1, 2):
                    for d in (1, 2):
                        if n + 2 * p < d * (k - 1) + 1:
                            continue
                        conv = torch.nn.Conv2d(2, 4, k, s, p, d, groups=2)
                        want = tuple(conv(torch.zeros(1, 2, n, n + 2)).shape[1:])
                        cost = infer("conv", (2, n, n + 2), out=4, kernel=k, stride=s, padding=p, dilation=d, groups=2)
                        assert cost.output == want, (n, k, s, p, d)
                        assert cost.params == sum(t.numel() for t in conv.parameters())


# ---------------------------------------------------------------------------- adaptive, global


def _windows(n: int, out: int) -> list[int]:
    """torch's adaptive window lengths, written out: [⌊i·n/out⌋, ⌈(i+1)·n/out⌉)."""
    return [math.ceil((i + 1) * n / out) - math.floor(i * n / out) for i in range(out)]


def test_adaptive_window_sums_match_torch() -> None:
    """Σ window lengths = nonzeros when pooling the identity: row j is nonzero in window i iff j ∈ window i."""
    torch = pytest.importorskip("torch")
    for n in range(1, 15):
        for out in range(1, 10):
            eye = torch.eye(n).unsqueeze(1)  # n signals of length n, each one-hot
            total = int((torch.nn.functional.adaptive_avg_pool1d(eye, out) != 0).sum())
            cost = infer("adaptive_avgpool", (1, n, 1), output=[out, 1])
            assert cost.flops == total * 1, (n, out)


# ---------------------------------------------------------------------------- activations


ACTIVATION_FLOPS = {
    "relu": 1,  # max(0, x): a comparison
    "relu6": 2,  # two comparisons
    "leaky_relu": 2,  # a comparison and a multiply
    "sigmoid": 3,  # exp, add, divide
    "tanh": 1,  # one transcendental
    "hardsigmoid": 4,  # add, two comparisons, divide
    "hardswish": 5,  # hardsigmoid and a multiply
    "silu": 4,  # sigmoid and a multiply
    "gelu": 5,  # scale, erf, add, two multiplies
    "softmax": 5,  # max, subtract, exp, sum, divide
    "dropout": 0,  # the identity at inference
    "identity": 0,
}


@pytest.mark.parametrize(("kind", "per_element"), ACTIVATION_FLOPS.items())
@pytest.mark.parametrize("shape_in", [(16, 7, 9), (1000,)])
def test_activation_flops(kind: str, per_element: int, shape_in: Shape) -> None:
    cost = infer(kind, shape_in)
    assert cost.output == shape_in
    assert cost.flops == per_element * math.prod(shape_in)
    assert (cost.params, cost.buffers, cost.macs) == (0, 0, 0)
    # the documented rule says the same number
    assert KINDS[kind].flops_rule.split()[0] == str(per_element)


def test_activation_arguments() -> None:
    assert infer("leaky_relu", (4,), slope=0.2).flops == 2 * 4
    assert infer("dropout", (4,), p=0.0).flops == 0


# ---------------------------------------------------------------------------- merges


@pytest.mark.parametrize(
    "shapes",
    [((8, 28, 28), (8, 14, 14)), ((8, 28, 28), (8, 28, 27)), ((8, 28, 28), (8,))],
)
def test_concat_needs_same_spatial_size(shapes: tuple[Shape, ...]) -> None:
    with pytest.raises(ShapeError, match="same H×W"):
        infer("concat", *shapes)


def test_multiply_gate_broadcast() -> None:
    # squeeze-and-excitation: a C×1×1 gate scales every position of the C×H×W map
    for order in (((32, 1, 1), (32, 14, 14)), ((32, 14, 14), (32, 1, 1))):
        cost = infer("multiply", *order)
        assert cost.output == (32, 14, 14)
        assert cost.flops == 32 * 14 * 14
    same = infer("multiply", (5, 3, 3), (5, 3, 3))
    assert (same.output, same.flops) == ((5, 3, 3), 45)


@pytest.mark.parametrize(
    "shapes",
    [((16, 1, 1), (32, 14, 14)), ((32, 2, 1), (32, 14, 14)), ((32, 14, 14), (32, 7, 7))],
)
def test_multiply_rejects_other_broadcasts(shapes: tuple[Shape, ...]) -> None:
    with pytest.raises(ShapeError, match="C×1×1 gate"):
        infer("multiply", *shapes)


# ---------------------------------------------------------------------------- receptive field

RF_SPEC = """\
archcost: 1
name: rf
input: [3, 64, 64]
layers:
  - conv: {name: c1, out: 8, kernel: 3, padding: 1}
  - conv: {name: c2, out: 8, kernel: 3, stride: 2, padding: 1}
  - maxpool: {name: p1, kernel: 2}
  - conv: {name: c3, out: 8, kernel: 3, dilation: 2, padding: 2}
  - parallel:
      name: mix
      merge: concat
      branches:
        - [conv: {name: a, out: 4, kernel: 1}]
        - [conv: {name: b, out: 4, kernel: 5, padding: 2}]
        - []
  - conv: {name: c4, out: 8, kernel: [3, 1], padding: [1, 0]}
  - global_avgpool: {name: gap}
"""


def test_receptive_field_chain(analyze_yaml: AnalyzeYaml) -> None:
    # r_out = r_in + (k - 1)·j_in, j_out = j_in·s, starting from r = 1, j = 1
    r, j = 1, 1
    expected = {}
    r, j = r + (3 - 1) * j, j * 1  # c1: 3, 1
    expected["c1"] = (r, j)
    r, j = r + (3 - 1) * j, j * 2  # c2: 5, 2
    expected["c2"] = (r, j)
    r, j = r + (2 - 1) * j, j * 2  # p1: 7, 4
    expected["p1"] = (r, j)
    k_dilated = 2 * (3 - 1) + 1
    r, j = r + (k_dilated - 1) * j, j * 1  # c3: 7 + 4·4 = 23, 4
    expected["c3"] = (r, j)
    r_a = r + (1 - 1) * j  # branch a: 23
    r_b = r + (5 - 1) * j  # branch b: 23 + 16 = 39
    expected["mix.0.a"] = (r_a, j)
    expected["mix.1.b"] = (r_b, j)
    r_mix = max(r_a, r_b, r)  # the identity branch has 23
    expected["mix.concat"] = (r_mix, j)
    assert (r, r_b, r_mix, j) == (23, 39, 39, 4)

    result = {layer.name: layer for layer in analyze_yaml(RF_SPEC).layers}
    for name, (rf, jump) in expected.items():
        assert result[name].rf == (rf, rf), name
        assert result[name].jump == (jump, jump), name

    c4 = result["c4"]  # a 3×1 kernel grows the field along H only
    assert c4.rf == (r_mix + 2 * j, r_mix)
    assert c4.jump == (4, 4)
    side = 64 // 2 // 2  # c2 halves, p1 halves
    gap = result["gap"]  # sees the whole 16×16 map
    assert gap.input_shapes == ((8, side, side),)
    assert gap.rf == (c4.rf[0] + (side - 1) * j, c4.rf[1] + (side - 1) * j)
    assert gap.jump == (j * side, j * side)


def test_receptive_field_parallel_takes_the_largest_jump(analyze_yaml: AnalyzeYaml) -> None:
    text = """\
archcost: 1
name: rf
input: [3, 32, 32]
layers:
  - parallel:
      name: p
      merge: concat
      branches:
        - [conv: {out: 4, kernel: 3, stride: 2, padding: 1}]
        - [conv: {out: 4, kernel: 1}, maxpool: {kernel: 2}]
"""
    result = {layer.name: layer for layer in analyze_yaml(text).layers}
    assert result["p.0.0"].rf == (3, 3)
    assert result["p.0.0"].jump == (2, 2)
    assert result["p.1.1"].rf == (1 + (2 - 1) * 1, 2)
    assert result["p.concat"].rf == (3, 3)
    assert result["p.concat"].jump == (2, 2)


# ---------------------------------------------------------------------------- explain


def test_explain_alexnet_conv1(analyze_yaml: AnalyzeYaml) -> None:
    text = """\
archcost: 1
name: alex
input: [3, 227, 227]
layers:
  - conv: {name: conv1, out: 96, kernel: 11, stride: 4}
"""
    (conv1,) = analyze_yaml(text).layers
    for fragment in ("(227 - 11)/4 + 1 = 55", "55×55×96", "34,944", "105,415,200"):
        assert fragment in conv1.explain


def test_explain_shows_padding_and_floor() -> None:
    cost = infer("conv", (3, 224, 224), out=64, kernel=7, stride=2, padding=3)
    assert "⌊(224 + 2·3 - 7)/2⌋ + 1 = 112" in cost.explain
    assert "groups" not in cost.explain
    grouped = infer("conv", (96, 27, 27), out=256, kernel=5, padding=2, groups=2)
    assert "96/2 = 48" in grouped.explain


# ---------------------------------------------------------------------------- coerce


def _arg(type_: str, default: Any = REQUIRED) -> Arg:
    return Arg("x", type_, default)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("posint", 160, 160),
        ("int", 0, 0),
        ("pair", 3, (3, 3)),
        ("pair", [3, 5], (3, 5)),
        ("pair", (1, 2), (1, 2)),
        ("pad", 0, (0, 0)),
        ("pad", [0, 2], (0, 2)),
        ("padding", 1, (1, 1)),
        ("padding", [1, 0], (1, 0)),
        ("padding", "same", "same"),
        ("padding", "valid", "valid"),
        ("pad4", 2, (2, 2, 2, 2)),
        ("pad4", [0, 1, 2, 3], (0, 1, 2, 3)),
        ("bool", False, False),
        ("float", 1e-5, 1e-5),
        ("float", 1, 1),
        ("float", -2.5, -2.5),
        ("prob", 0, 0),
        ("prob", 1.0, 1.0),
        ("prob", 0.5, 0.5),
    ],
)
def test_coerce_accepts(type_: str, value: Any, expected: Any) -> None:
    got = coerce(_arg(type_), value)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("posint", 160.0),
        ("posint", 64.5),
        ("posint", True),
        ("posint", False),
        ("posint", 0),
        ("posint", -1),
        ("posint", "3"),
        ("posint", None),
        ("int", -1),
        ("int", 1.0),
        ("pair", 160.0),
        ("pair", True),
        ("pair", 0),
        ("pair", [3]),
        ("pair", [3, 5, 7]),
        ("pair", [3, 5.0]),
        ("pair", [True, 1]),
        ("pair", [0, 1]),
        ("pair", "3"),
        ("pad", -1),
        ("pad", [1, -1]),
        ("padding", "full"),
        ("padding", "SAME"),
        ("padding", 1.5),
        ("pad4", [1, 2]),
        ("pad4", [1, 2, 3, -4]),
        ("pad4", True),
        ("bool", 1),
        ("bool", "true"),
        ("bool", None),
        ("float", True),
        ("float", "0.1"),
        ("float", math.nan),
        ("float", math.inf),
        ("prob", 1.5),
        ("prob", -0.1),
    ],
)
def test_coerce_rejects(type_: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"x must be {ARG_TYPES[type_][:12]}.*got"):
        coerce(_arg(type_), value)


def test_coerce_none_only_where_none_is_the_default() -> None:
    stride = KINDS["maxpool"].arg("stride")
    assert stride is not None and stride.default is None
    assert coerce(stride, None) is None
    kernel = KINDS["maxpool"].arg("kernel")
    assert kernel is not None
    with pytest.raises(ValueError, match="kernel must be"):
        coerce(kernel, None)


def test_coerce_message_names_what_was_expected() -> None:
    out = KINDS["conv"].arg("out")
    assert out is not None
    with pytest.raises(ValueError, match=r"^out must be a whole number ≥ 1, got 160\.0$"):
        coerce(out, 160.0)
