"""The layer catalog: every kind's shape, params, MACs and FLOPs against hand arithmetic.

Each expected figure is written out as the arithmetic that produces it (torch's output-size
rule, weights per filter times filters, and so on), never copied from the tool's output.
Pool and conv output sizes are also checked against torch itself on a grid of small cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from archcost import layers
from archcost.layers import ARG_TYPES, CATALOG, KINDS, REQUIRED, Arg, Args, Cost, ShapeError, coerce

Shape = tuple[int, ...]
AnalyzeYaml = Callable[..., Any]  # the conftest fixture


def make_args(kind: layers.Kind, given: dict[str, Any]) -> Args:
    """Args as the engine builds them: every argument coerced, defaults filled in."""
    unknown = set(given) - {a.name for a in kind.args}
    assert not unknown, f"{kind.name} has no arguments {unknown}"
    return Args({a.name: coerce(a, given.get(a.name, a.default)) for a in kind.args})


def infer(kind_name: str, *shapes: Shape, **given: Any) -> Cost:
    kind = KINDS[kind_name]
    return kind.infer(tuple(shapes), make_args(kind, given))


# ---------------------------------------------------------------------------- conv


def test_conv_alexnet_conv1() -> None:
    cost = infer("conv", (3, 227, 227), out=96, kernel=11, stride=4)
    side = (227 - 11) // 4 + 1
    assert side == 55
    assert cost.output == (96, side, side)
    assert cost.params == 11 * 11 * 3 * 96 + 96 == 34_944
    assert cost.macs == side * side * 96 * (11 * 11 * 3) == 105_415_200
    assert cost.flops == 2 * cost.macs + 96 * side * side  # one bias add per output element
    assert cost.buffers == 0
    assert (cost.kernel, cost.stride) == ((11, 11), (4, 4))


def test_conv_resnet_stem_floor() -> None:
    cost = infer("conv", (3, 224, 224), out=64, kernel=7, stride=2, padding=3, bias=False)
    side = (224 + 2 * 3 - 7) // 2 + 1  # 223 / 2 floored
    assert side == 112
    assert cost.output == (64, 112, 112)
    assert cost.params == 7 * 7 * 3 * 64 == 9_408
    assert cost.macs == 112 * 112 * 64 * 7 * 7 * 3 == 118_013_952
    assert cost.flops == 2 * cost.macs  # no bias: no adds


def test_conv_groups() -> None:
    # AlexNet's conv2 as in the paper: two groups, each filter sees 96 / 2 = 48 channels.
    cost = infer("conv", (96, 27, 27), out=256, kernel=5, padding=2, groups=2)
    side = (27 + 2 * 2 - 5) // 1 + 1
    assert cost.output == (256, side, side) == (256, 27, 27)
    assert cost.params == 5 * 5 * 48 * 256 + 256 == 307_456
    assert cost.macs == 27 * 27 * 256 * 5 * 5 * 48
    assert cost.flops == 2 * cost.macs + 256 * 27 * 27


def test_conv_depthwise() -> None:
    # MobileNet depthwise 3×3: groups = channels, each filter sees one channel.
    cost = infer("conv", (32, 112, 112), out=32, kernel=3, padding=1, groups=32, bias=False)
    assert cost.output == (32, 112, 112)
    assert cost.params == 3 * 3 * 1 * 32 == 288
    assert cost.macs == 112 * 112 * 32 * 3 * 3 == 3_612_672
    assert cost.flops == 2 * cost.macs


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


def test_conv_same_needs_stride_one() -> None:
    with pytest.raises(ShapeError, match="stride 1"):
        infer("conv", (3, 16, 16), out=4, kernel=3, stride=2, padding="same")


def test_conv_valid_is_no_padding() -> None:
    valid = infer("conv", (3, 17, 20), out=5, kernel=4, padding="valid")
    assert valid.output == (5, 17 - 4 + 1, 20 - 4 + 1)
    assert valid == infer("conv", (3, 17, 20), out=5, kernel=4, padding=0)


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


# ---------------------------------------------------------------------------- linear


def test_linear() -> None:
    cost = infer("linear", (9216,), out=4096)
    assert cost.output == (4096,)
    assert cost.params == 9216 * 4096 + 4096 == 37_752_832
    assert cost.macs == 9216 * 4096
    assert cost.flops == 2 * 9216 * 4096 + 4096


def test_linear_bias_false() -> None:
    cost = infer("linear", (512,), out=10, bias=False)
    assert (cost.params, cost.macs, cost.flops) == (5120, 5120, 10240)


def test_linear_needs_flat_input() -> None:
    with pytest.raises(ShapeError, match="flatten"):
        infer("linear", (256, 6, 6), out=10)


# ---------------------------------------------------------------------------- pools


def test_maxpool_alexnet() -> None:
    cost = infer("maxpool", (96, 55, 55), kernel=3, stride=2)
    side = (55 - 3) // 2 + 1
    assert cost.output == (96, side, side) == (96, 27, 27)
    assert cost.flops == 96 * 27 * 27 * (3 * 3 - 1)  # 8 comparisons per output
    assert (cost.params, cost.macs) == (0, 0)


def test_maxpool_padding_resnet() -> None:
    cost = infer("maxpool", (64, 112, 112), kernel=3, stride=2, padding=1)
    assert cost.output == (64, (112 + 2 - 3) // 2 + 1, (112 + 2 - 3) // 2 + 1) == (64, 56, 56)


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


def test_googlenet_ceil_explain() -> None:
    cost = infer("maxpool", (64, 112, 112), kernel=3, stride=2, ceil_mode=True)
    assert "⌈(112 - 3)/2⌉ + 1 = 56" in cost.explain
    assert "ceil mode" in cost.explain


def test_pool_flops() -> None:
    mx = infer("maxpool", (64, 112, 112), kernel=3, stride=2, padding=1)
    av = infer("avgpool", (64, 112, 112), kernel=3, stride=2, padding=1)
    elems = 64 * 56 * 56
    assert mx.flops == elems * (3 * 3 - 1)
    assert av.flops == elems * 3 * 3  # 8 adds and a divide
    pair = infer("avgpool", (4, 8, 9), kernel=[2, 3])
    assert pair.output == (4, 8 // 2, 9 // 3)
    assert pair.flops == 4 * 4 * 3 * (2 * 3)


def test_maxpool_dilation() -> None:
    cost = infer("maxpool", (1, 20, 20), kernel=3, stride=1, dilation=2)
    assert cost.output == (1, 20 - (2 * (3 - 1) + 1) + 1, 16)
    assert cost.kernel == (5, 5)


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


def test_adaptive_avgpool_non_divisible() -> None:
    # H 5 → 3: windows [0,2) [1,4) [3,5) → 2 + 3 + 2 = 7; W 7 → 3: [0,3) [2,5) [4,7) → 3 + 3 + 3 = 9
    assert _windows(5, 3) == [2, 3, 2]
    assert _windows(7, 3) == [3, 3, 3]
    cost = infer("adaptive_avgpool", (4, 5, 7), output=3)
    assert cost.output == (4, 3, 3)
    assert cost.flops == 4 * 7 * 9  # every window reads its inputs once
    assert cost.kernel == (3, 3)  # the largest window


def test_adaptive_avgpool_divisible_is_plain_pool() -> None:
    cost = infer("adaptive_avgpool", (512, 14, 14), output=7)
    assert cost.output == (512, 7, 7)
    assert cost.flops == 512 * 14 * 14
    assert (cost.kernel, cost.stride) == ((2, 2), (2, 2))


def test_adaptive_avgpool_upsampling_and_pair() -> None:
    # 3 → 5: windows [0,1) [0,2) [1,2) [1,3) [2,3) → 1 + 2 + 1 + 2 + 1 = 7
    assert _windows(3, 5) == [1, 2, 1, 2, 1]
    cost = infer("adaptive_avgpool", (2, 3, 6), output=[5, 1])
    assert cost.output == (2, 5, 1)
    assert cost.flops == 2 * 7 * 6


def test_adaptive_window_sums_match_torch() -> None:
    """Σ window lengths = nonzeros when pooling the identity: row j is nonzero in window i iff j ∈ window i."""
    torch = pytest.importorskip("torch")
    for n in range(1, 15):
        for out in range(1, 10):
            eye = torch.eye(n).unsqueeze(1)  # n signals of length n, each one-hot
            total = int((torch.nn.functional.adaptive_avg_pool1d(eye, out) != 0).sum())
            cost = infer("adaptive_avgpool", (1, n, 1), output=[out, 1])
            assert cost.flops == total * 1, (n, out)


def test_global_avgpool() -> None:
    cost = infer("global_avgpool", (2048, 7, 7))
    assert cost.output == (2048, 1, 1)
    assert cost.flops == 2048 * 7 * 7
    assert cost.params == 0
    assert cost.kernel is None  # sees the whole map


# ---------------------------------------------------------------------------- normalization


def test_batchnorm() -> None:
    cost = infer("batchnorm", (64, 56, 56))
    assert cost.output == (64, 56, 56)
    assert cost.params == 2 * 64  # γ and β
    assert cost.buffers == 2 * 64  # running mean and var
    assert cost.flops == 2 * 64 * 56 * 56
    assert cost.macs == 0


def test_batchnorm_without_affine_has_buffers_only() -> None:
    cost = infer("batchnorm", (64, 56, 56), affine=False, eps=1e-3, momentum=0.01)
    assert (cost.params, cost.buffers) == (0, 128)


def test_batchnorm_on_a_vector() -> None:
    cost = infer("batchnorm", (4096,))
    assert (cost.output, cost.params, cost.buffers) == ((4096,), 8192, 8192)


def test_lrn() -> None:
    cost = infer("lrn", (96, 55, 55), size=5, alpha=1e-4, beta=0.75, k=2.0)
    assert cost.output == (96, 55, 55)
    assert cost.flops == (5 + 4) * 96 * 55 * 55
    assert cost.params == cost.buffers == 0


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


def test_swish_is_silu() -> None:
    assert layers.lookup("swish") is KINDS["silu"]
    assert layers.lookup("nope") is None


# ---------------------------------------------------------------------------- reshaping


def test_flatten() -> None:
    cost = infer("flatten", (256, 6, 6))
    assert cost.output == (256 * 6 * 6,) == (9216,)
    assert cost.flops == 0
    assert infer("flatten", (10,)).output == (10,)


def test_zeropad() -> None:
    assert infer("zeropad", (3, 32, 32), padding=1).output == (3, 34, 34)
    # [left, right, top, bottom]: W grows by left + right, H by top + bottom
    cost = infer("zeropad", (3, 32, 32), padding=[1, 2, 3, 4])
    assert cost.output == (3, 32 + 3 + 4, 32 + 1 + 2)
    assert cost.flops == 0


def test_shuffle() -> None:
    cost = infer("shuffle", (240, 28, 28), groups=3)
    assert cost.output == (240, 28, 28)
    assert (cost.flops, cost.params) == (0, 0)
    with pytest.raises(ShapeError, match="not divisible by groups=7"):
        infer("shuffle", (240, 28, 28), groups=7)


# ---------------------------------------------------------------------------- merges


def test_concat_googlenet_3a() -> None:
    cost = infer("concat", (64, 28, 28), (128, 28, 28), (32, 28, 28), (32, 28, 28))
    assert cost.output == (64 + 128 + 32 + 32, 28, 28) == (256, 28, 28)
    assert cost.flops == 0
    assert "64 + 128 + 32 + 32 = 256" in cost.explain


@pytest.mark.parametrize(
    "shapes",
    [((8, 28, 28), (8, 14, 14)), ((8, 28, 28), (8, 28, 27)), ((8, 28, 28), (8,))],
)
def test_concat_needs_same_spatial_size(shapes: tuple[Shape, ...]) -> None:
    with pytest.raises(ShapeError, match="same H×W"):
        infer("concat", *shapes)


def test_add() -> None:
    two = infer("add", (64, 56, 56), (64, 56, 56))
    assert two.output == (64, 56, 56)
    assert two.flops == 64 * 56 * 56
    three = infer("add", (10,), (10,), (10,))
    assert three.flops == 2 * 10  # two adds per element
    with pytest.raises(ShapeError, match="same shape"):
        infer("add", (64, 56, 56), (32, 56, 56))


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


# ---------------------------------------------------------------------------- the whole catalog

Example = tuple[tuple[Shape, ...], dict[str, Any], Shape]

EXAMPLES: dict[str, Example] = {
    "conv": (((3, 227, 227),), {"out": 96, "kernel": 11, "stride": 4}, (96, 55, 55)),
    "linear": (((9216,),), {"out": 4096}, (4096,)),
    "maxpool": (((96, 55, 55),), {"kernel": 3, "stride": 2}, (96, 27, 27)),
    "avgpool": (((6, 28, 28),), {"kernel": 2}, (6, 14, 14)),
    "adaptive_avgpool": (((256, 13, 13),), {"output": 6}, (256, 6, 6)),
    "global_avgpool": (((2048, 7, 7),), {}, (2048, 1, 1)),
    "batchnorm": (((64, 56, 56),), {}, (64, 56, 56)),
    "lrn": (((96, 55, 55),), {"size": 5}, (96, 55, 55)),
    "relu": (((8, 4, 4),), {}, (8, 4, 4)),
    "relu6": (((8, 4, 4),), {}, (8, 4, 4)),
    "leaky_relu": (((8, 4, 4),), {"slope": 0.1}, (8, 4, 4)),
    "sigmoid": (((8, 4, 4),), {}, (8, 4, 4)),
    "tanh": (((8, 4, 4),), {}, (8, 4, 4)),
    "hardsigmoid": (((8, 4, 4),), {}, (8, 4, 4)),
    "hardswish": (((8, 4, 4),), {}, (8, 4, 4)),
    "silu": (((8, 4, 4),), {}, (8, 4, 4)),
    "gelu": (((8, 4, 4),), {}, (8, 4, 4)),
    "softmax": (((1000,),), {}, (1000,)),
    "dropout": (((4096,),), {"p": 0.5}, (4096,)),
    "flatten": (((256, 6, 6),), {}, (9216,)),
    "identity": (((8, 4, 4),), {}, (8, 4, 4)),
    "zeropad": (((3, 32, 32),), {"padding": 2}, (3, 36, 36)),
    "shuffle": (((24, 8, 8),), {"groups": 3}, (24, 8, 8)),
    "slice": (((116, 28, 28),), {"start": 58, "stop": 116}, (116 - 58, 28, 28)),
    "concat": (((64, 28, 28), (32, 28, 28)), {}, (96, 28, 28)),
    "add": (((64, 56, 56), (64, 56, 56)), {}, (64, 56, 56)),
    "multiply": (((32, 14, 14), (32, 1, 1)), {}, (32, 14, 14)),
}
"""One valid use of every kind: inputs, arguments, expected output (hand-derived)."""

SHAPE_ERRORS: dict[str, tuple[tuple[Shape, ...], dict[str, Any]]] = {
    "conv": (((3, 8, 8),), {"out": 4, "kernel": 9}),
    "linear": (((256, 6, 6),), {"out": 10}),
    "maxpool": (((3, 2, 2),), {"kernel": 3}),
    "avgpool": (((3, 8, 8),), {"kernel": 2, "padding": 2}),
    "adaptive_avgpool": (((10,),), {"output": 1}),
    "global_avgpool": (((10,),), {}),
    "zeropad": (((10,),), {"padding": 1}),
    "shuffle": (((10, 4, 4),), {"groups": 3}),
    "slice": (((10, 4, 4),), {"start": 4, "stop": 11}),
    "concat": (((3, 8, 8), (3, 4, 4)), {}),
    "add": (((3, 8, 8), (4, 8, 8)), {}),
    "multiply": (((3, 8, 8), (4, 1, 1)), {}),
}
"""A shape every kind that can refuse one refuses."""

NO_SHAPE_ERROR = {*ACTIVATION_FLOPS, "batchnorm", "lrn", "flatten"}
"""Kinds that take any shape: they have no shape-error example."""


@pytest.mark.parametrize("kind", CATALOG, ids=lambda k: k.name)
def test_catalog_example(kind: layers.Kind) -> None:
    assert kind.name in EXAMPLES, f"add an example for the new kind {kind.name!r} to EXAMPLES"
    shapes, given, expected = EXAMPLES[kind.name]
    cost = kind.infer(shapes, make_args(kind, given))
    assert cost.output == expected
    assert all(isinstance(v, int) and v >= 0 for v in (cost.params, cost.buffers, cost.macs, cost.flops))
    assert cost.flops >= 2 * cost.macs
    assert cost.explain


@pytest.mark.parametrize("kind", CATALOG, ids=lambda k: k.name)
def test_catalog_shape_error(kind: layers.Kind) -> None:
    if kind.name in NO_SHAPE_ERROR:
        assert kind.name not in SHAPE_ERRORS
        return
    assert kind.name in SHAPE_ERRORS, f"add a shape-error example for {kind.name!r} (or list it in NO_SHAPE_ERROR)"
    shapes, given = SHAPE_ERRORS[kind.name]
    with pytest.raises(ShapeError):
        kind.infer(shapes, make_args(kind, given))


@pytest.mark.parametrize("kind", [k for k in CATALOG if not k.merge], ids=lambda k: k.name)
def test_catalog_example_through_a_spec(kind: layers.Kind, analyze_yaml: AnalyzeYaml) -> None:
    """Every non-merge kind is reachable from YAML with its example arguments."""
    shapes, given, expected = EXAMPLES[kind.name]
    args = ", ".join(f"{k}: {v}" for k, v in given.items())
    text = f"archcost: 1\nname: t\ninput: {list(shapes[0])}\nlayers:\n  - {kind.name}: {{name: x, {args}}}\n"
    result = analyze_yaml(text).layers
    assert [(r.name, r.kind, r.output_shape) for r in result] == [("x", kind.name, expected)]


@pytest.mark.parametrize("kind", CATALOG, ids=lambda k: k.name)
def test_catalog_arguments_are_well_formed(kind: layers.Kind) -> None:
    assert kind.flops_rule and kind.summary
    for arg in kind.args:
        assert arg.type in ARG_TYPES
        if not arg.required:
            coerce(arg, arg.default)  # every default is a valid value of its type
    assert len({a.name for a in kind.args}) == len(kind.args)


def test_kinds_and_aliases_are_unique() -> None:
    assert len(KINDS) == len(CATALOG)
    assert not set(layers.ALIASES) & set(KINDS)


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
