"""The efficient families: MobileNet v1/v2/v3, ShuffleNet v1 and EfficientNet B0–B7.

Every figure here comes from outside archcost: the reference implementations' published parameter
counts (torchvision's model docs and weight metadata, Keras' MobileNet summary), torchvision's
"GFLOPS" column (which are multiply-accumulates), the papers' tables, and hand arithmetic written out
below (the MobileNet paper's Eq. 7 over its Table 1, ShuffleNet's Table 1 units, an EfficientNet
MBConv block, torchvision's channel rounding re-implemented here).
"""

from __future__ import annotations

import math

import pytest
from conftest import analyze_bundled as analyze
from conftest import by_name

from archcost import engine, spec


def tv_make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible, written out again (not archcost's)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


# ---------------------------------------------------------------------------- reference parameter counts

# torchvision: num_params of each model's IMAGENET1K_V1 weights (docs pages and torchvision/models/*.py meta)
TORCHVISION_PARAMS = {
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856,
    "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184,
    "efficientnet_b2": 9_109_994,
    "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616,
    "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704,
    "efficientnet_b7": 66_347_960,
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_torchvision_parameter_count(name: str) -> None:
    assert analyze(name).totals.params == TORCHVISION_PARAMS[name]
    assert "torchvision" in spec.load(name).meta["reference"]


def test_mobilenet_v1_keras_parameter_count() -> None:
    # Keras MobileNet(alpha=1.0) summary: Total 4,253,864 = trainable 4,231,976 + non-trainable 21,888
    # (batch norm moving mean and variance, which archcost keeps apart as buffers)
    totals = analyze("mobilenet_v1").totals
    assert totals.params == 4_231_976
    assert totals.buffers == 21_888
    assert totals.params + totals.buffers == 4_253_864


# torchvision's _ops (GMACs, 3 decimals; the docs round them to 2) at each weight's evaluation crop
TORCHVISION_GMACS = {
    "mobilenet_v2": (0.30, 224),  # docs: GFLOPS 0.30
    "mobilenet_v3_large": (0.217, 224),
    "mobilenet_v3_small": (0.057, 224),
    "efficientnet_b0": (0.386, 224),
    "efficientnet_b1": (0.687, 240),
    "efficientnet_b2": (1.088, 288),  # torchvision evaluates B2 at 288, the paper at 260
    "efficientnet_b3": (1.827, 300),
    "efficientnet_b4": (4.394, 380),
    "efficientnet_b5": (10.266, 456),
    "efficientnet_b6": (19.068, 528),
    "efficientnet_b7": (37.746, 600),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_torchvision_gflops_are_macs(name: str) -> None:
    gmacs, crop = TORCHVISION_GMACS[name]
    decimals = len(str(gmacs).split(".")[1])
    macs = analyze(name, resolution=crop).totals.macs
    assert abs(macs / 1e9 - gmacs) <= 0.5 * 10**-decimals


# ---------------------------------------------------------------------------- MobileNet v1: Eq. 7 over Table 1

V1_BODY = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1)]


def mobilenet_v1_by_hand(alpha: float, resolution: int) -> tuple[int, int, int]:
    """(MACs, weights without batch norm, batch-norm parameters) of Table 1 with Keras' int(c·α)."""

    def width(c: int) -> int:
        return int(c * alpha)

    side = (resolution + 2 - 3) // 2 + 1  # conv 3×3/2, padding 1
    cin = width(32)
    macs = side * side * cin * 3 * 3 * 3
    weights = 3 * 3 * 3 * cin
    bn = 2 * cin
    for out, stride in V1_BODY:
        if stride == 2:
            side = (side + 2 - 3) // 2 + 1
        cout = width(out)
        # Eq. 7: D_K·D_K·αM·ρD_F·ρD_F (depthwise) + αM·αN·ρD_F·ρD_F (pointwise)
        macs += 3 * 3 * cin * side * side + cin * cout * side * side
        weights += 3 * 3 * cin + cin * cout
        bn += 2 * cin + 2 * cout
        cin = cout
    macs += cin * 1000  # the fully connected layer
    weights += cin * 1000 + 1000
    return macs, weights, bn


# Table 6 (width multiplier at 224) and Table 7 (resolution at α = 1): Million Mult-Adds, Million Parameters
V1_TABLES = [
    (1.0, 224, 569, 4.2),
    (0.75, 224, 325, 2.6),
    (0.5, 224, 149, 1.3),
    (0.25, 224, 41, 0.5),
    (1.0, 192, 418, 4.2),
    (1.0, 160, 290, 4.2),
    (1.0, 128, 186, 4.2),
]


@pytest.mark.parametrize(("alpha", "resolution", "mult_adds_m", "params_m"), V1_TABLES)
def test_mobilenet_v1_width_and_resolution_grid(
    alpha: float, resolution: int, mult_adds_m: int, params_m: float
) -> None:
    totals = analyze("mobilenet_v1", alpha=alpha, resolution=resolution).totals
    macs, weights, bn = mobilenet_v1_by_hand(alpha, resolution)
    assert totals.macs == macs
    assert totals.params == weights + bn
    # the paper's mult-adds to its printed unit: rounded, except 160 (290.68 printed 290, truncated)
    assert abs(macs / 1e6 - mult_adds_m) < 1
    assert math.floor(macs / 1e6 + 0.5) == mult_adds_m or resolution == 160
    # its parameters are weights without batch norm, to one decimal
    assert round(weights / 1e6, 1) == params_m


def test_mobilenet_v1_table9_and_resolution_keeps_params() -> None:
    # Table 9: 0.50 MobileNet-160, 76M mult-adds (76.52 truncated), 1.32M parameters (weights only)
    macs, weights, _ = mobilenet_v1_by_hand(0.5, 160)
    assert analyze("mobilenet_v1", alpha=0.5, resolution=160).totals.macs == macs == 76_524_800
    assert round(weights / 1e6, 2) == 1.32
    # resolution changes MACs, never parameters (Table 7: 4.2M at every size)
    assert len({analyze("mobilenet_v1", resolution=r).totals.params for r in (224, 192, 160, 128)}) == 1


def test_mobilenet_v1_table3_separable_layer() -> None:
    # Table 3: one 14×14×512 → 512 layer; depthwise separable: 52.3M mult-adds, 0.27M parameters
    layers = by_name(analyze("mobilenet_v1"))
    dw, pw = layers["block8.conv_dw"], layers["block8.conv_pw"]
    assert dw.input_shapes[0] == (512, 14, 14) and pw.output_shape == (512, 14, 14)
    assert dw.macs + pw.macs == 3 * 3 * 512 * 14 * 14 + 512 * 512 * 14 * 14 == 52_283_392
    assert dw.params + pw.params == 3 * 3 * 512 + 512 * 512 == 266_752


# ---------------------------------------------------------------------------- MobileNetV2 and V3


def test_mobilenet_v2_shapes_and_an_inverted_residual() -> None:
    layers = by_name(analyze("mobilenet_v2"))
    assert layers["features.18.0"].output_shape == (1280, 7, 7)  # the last 1×1 conv
    assert layers["classifier.1"].params == 1280 * 1000 + 1000
    # features.3 (t = 6, 24 → 24 at 56×56, stride 1, residual add): hidden 144
    block = {n: r for n, r in layers.items() if n.startswith("features.3.")}
    assert sum(r.params for r in block.values()) == (24 * 144 + 2 * 144) + (9 * 144 + 2 * 144) + (144 * 24 + 2 * 24)
    assert sum(r.macs for r in block.values()) == 56 * 56 * (24 * 144 + 9 * 144 + 144 * 24)
    assert "features.3.add" in block and "features.2.add" not in layers  # stride 2 has no shortcut


def test_mobilenet_v2_table4_and_width_1_4() -> None:
    # Table 4: 300M MAdds (300.77M, truncated); width 1.4: TF-slim's released 582M and 6.06M without batch norm
    assert abs(analyze("mobilenet_v2").totals.macs / 1e6 - 300) < 1
    wide = analyze("mobilenet_v2", alpha=1.4)
    assert round(wide.totals.macs / 1e6) == 582
    bn = sum(r.params for r in wide.layers if r.kind == "batchnorm")
    assert round((wide.totals.params - bn) / 1e6, 2) == 6.06
    assert by_name(wide)["features.18.0"].output_shape == (tv_make_divisible(1280 * 1.4), 7, 7) == (1792, 7, 7)


@pytest.mark.parametrize(
    ("name", "expanded"),
    [
        # the SE blocks' expanded widths, Table 1 (Large) and Table 2 (Small) of the paper
        ("mobilenet_v3_large", [72, 120, 120, 480, 672, 672, 960, 960]),
        ("mobilenet_v3_small", [16, 96, 240, 240, 120, 144, 288, 576, 576]),
    ],
)
def test_mobilenet_v3_squeeze_widths(name: str, expanded: list[int]) -> None:
    layers = [r for r in analyze(name).layers if r.name.endswith(".gate.fc1")]
    assert [r.input_shapes[0][0] for r in layers] == expanded
    # torchvision: squeeze = _make_divisible(expanded // 4, 8), a 1×1 conv with bias each way
    assert [r.output_shape[0] for r in layers] == [tv_make_divisible(e // 4) for e in expanded]
    fc2 = [r for r in analyze(name).layers if r.name.endswith(".gate.fc2")]
    for fc1_row, fc2_row, e in zip(layers, fc2, expanded, strict=True):
        s = tv_make_divisible(e // 4)
        assert fc1_row.params == e * s + s and fc2_row.params == s * e + e


def test_mobilenet_v3_large_head_and_gates() -> None:
    layers = by_name(analyze("mobilenet_v3_large"))
    assert layers["features.16.0"].output_shape == (960, 7, 7)
    assert layers["classifier.0"].params == 960 * 1280 + 1280
    assert layers["classifier.3"].params == 1280 * 1000 + 1000
    assert layers["features.4.block.2.gate.scale_activation"].kind == "hardsigmoid"
    assert layers["features.7.block.0.2"].kind == "hardswish"  # first HS block (Table 1, 80-channel stage)
    assert layers["features.3.block.0.2"].kind == "relu"


def test_mobilenet_v3_small_head() -> None:
    layers = by_name(analyze("mobilenet_v3_small"))
    assert layers["features.12.0"].output_shape == (576, 7, 7)
    assert layers["classifier.0"].params == 576 * 1024 + 1024
    # the first block strides, has SE and no expansion (expanded 16 = input 16)
    assert layers["features.1.block.0.0"].output_shape == (16, 56, 56)
    assert "features.1.add" not in layers


# ---------------------------------------------------------------------------- ShuffleNet v1: Table 1 by hand

SHUFFLENET_WIDTHS = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}  # Table 1, Stage 2 output channels
SHUFFLENET_TABLE1 = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}  # Table 1, Complexity (MFLOPs = mult-adds)


def shufflenet_v1_by_hand(g: int) -> tuple[int, int, int]:
    """(params, MACs, classifier MACs) of ShuffleNet 1× with g groups (paper §3.2–3.3, Table 1)."""
    params = 3 * 3 * 3 * 24 + 2 * 24
    macs = 112 * 112 * 24 * 27
    cin, side = 24, 56  # after the 3×3/2 max pool
    for stage, repeats in enumerate((4, 8, 4)):
        out = SHUFFLENET_WIDTHS[g] * 2**stage
        mid = out // 4
        for i in range(repeats):
            stride = 2 if i == 0 else 1
            g1 = 1 if stage == 0 and i == 0 else g  # no group conv on Stage 2's first pointwise layer
            last = out - cin if stride == 2 else out  # a stride-2 unit concatenates its input (avg-pooled)
            after = side // stride
            params += cin * mid // g1 + 2 * mid + 9 * mid + 2 * mid + mid * last // g + 2 * last
            macs += side * side * mid * cin // g1 + after * after * (9 * mid + last * mid // g)
            cin, side = out, after
    fc = cin * 1000
    return params + fc, macs + fc, fc


@pytest.mark.parametrize("g", sorted(SHUFFLENET_WIDTHS))
def test_shufflenet_v1_groups(g: int) -> None:
    totals = analyze("shufflenet_v1", g=g).totals
    params, macs, fc = shufflenet_v1_by_hand(g)
    assert totals.params == params
    assert totals.macs == macs
    # Table 1's complexity leaves the classifier out: then every g rounds to the printed figure
    assert round((macs - fc) / 1e6) == SHUFFLENET_TABLE1[g]


def test_shufflenet_v1_official_readme() -> None:
    # megvii-model/ShuffleNet-Series README: 1.0x group=3 1.9M params, group=8 2.4M params and 138M FLOPs
    assert round(analyze("shufflenet_v1").totals.params / 1e6, 1) == 1.9
    g8 = analyze("shufflenet_v1", g=8).totals
    assert round(g8.params / 1e6, 1) == 2.4
    assert round(g8.macs / 1e6) == 138


def test_shufflenet_v1_units() -> None:
    layers = by_name(analyze("shufflenet_v1"))
    # Stage 2's first unit: 24 → 240 at 28×28; the main path ends in 240 − 24 = 216 channels
    assert layers["features.0.branch_proj"].output_shape == (24, 28, 28)
    assert layers["features.0.main.branch_main_2.0"].output_shape == (216, 28, 28)
    assert layers["features.0.concat"].output_shape == (240, 28, 28)
    assert layers["features.0.main.branch_main_1.0"].params == 24 * 60  # not grouped
    assert layers["features.1.branch_main_1.0"].params == 240 * 60 // 3  # grouped, g = 3
    assert layers["features.15.relu"].output_shape == (960, 7, 7)
    assert "features.0.main.channel_shuffle" in layers
    assert not any(n.endswith("channel_shuffle") for n in by_name(analyze("shufflenet_v1", g=1)))


# ---------------------------------------------------------------------------- ShuffleNet V2
# Not bundled yet: its stride-1 unit splits the channels in two (torchvision's x.chunk(2, dim=1)), which
# the spec language cannot express without a channel-slice layer kind. The tests run once the specs exist.

SHUFFLENET_V2 = {  # torchvision: num_params, _ops (GMACs), stages_out_channels
    "shufflenet_v2_x0_5": (1_366_792, 0.040, (24, 48, 96, 192, 1024)),
    "shufflenet_v2_x1_0": (2_278_604, 0.145, (24, 116, 232, 464, 1024)),
    "shufflenet_v2_x1_5": (3_503_624, 0.296, (24, 176, 352, 704, 1024)),
    "shufflenet_v2_x2_0": (7_393_996, 0.583, (24, 244, 488, 976, 2048)),
}
BUNDLED = set(spec.bundled_names())


def shufflenet_v2_by_hand(widths: tuple[int, ...]) -> tuple[int, int]:
    """(params, MACs) of torchvision's ShuffleNetV2 with stages_out_channels `widths`."""
    stem, *stages, last = widths
    params, macs = 27 * stem + 2 * stem, 112 * 112 * stem * 27
    cin, side = stem, 56
    for out, repeats in zip(stages, (4, 8, 4), strict=True):
        bf = out // 2
        side //= 2
        # stride 2: branch1 = dw 3×3/2 (cin) + BN + 1×1 cin→bf + BN; branch2 = 1×1 cin→bf + BN, dw/2 + BN, 1×1 + BN
        params += 9 * cin + 2 * cin + cin * bf + 2 * bf + cin * bf + 2 * bf + 9 * bf + 2 * bf + bf * bf + 2 * bf
        macs += side * side * (9 * cin + cin * bf + 9 * bf + bf * bf) + 4 * side * side * cin * bf
        # stride 1: branch2 on half the channels: 1×1 + BN, dw + BN, 1×1 + BN
        params += (repeats - 1) * (bf * bf + 2 * bf + 9 * bf + 2 * bf + bf * bf + 2 * bf)
        macs += (repeats - 1) * side * side * (2 * bf * bf + 9 * bf)
        cin = out
    params += cin * last + 2 * last + last * 1000 + 1000
    macs += side * side * cin * last + last * 1000
    return params, macs


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.skipif(n not in BUNDLED, reason="needs a channel-slice layer kind"))
        for n in sorted(SHUFFLENET_V2)
    ],
)
def test_shufflenet_v2(name: str) -> None:
    params, gmacs, widths = SHUFFLENET_V2[name]
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == shufflenet_v2_by_hand(widths)
    assert totals.params == params
    assert abs(totals.macs / 1e9 - gmacs) <= 0.0005


def test_shufflenet_v2_by_hand_matches_torchvision() -> None:
    # the hand count above against torchvision's published numbers, so it is right when the specs arrive
    for params, gmacs, widths in SHUFFLENET_V2.values():
        counted, macs = shufflenet_v2_by_hand(widths)
        assert counted == params
        assert abs(macs / 1e9 - gmacs) <= 0.0005


# ---------------------------------------------------------------------------- EfficientNet

# released coefficients (tensorflow/tpu efficientnet_builder.py, torchvision): width, depth, resolution, dropout
EFFICIENTNET = {
    0: (1.0, 1.0, 224, 0.2),
    1: (1.0, 1.1, 240, 0.2),
    2: (1.1, 1.2, 260, 0.3),
    3: (1.2, 1.4, 300, 0.3),
    4: (1.4, 1.8, 380, 0.4),
    5: (1.6, 2.2, 456, 0.4),
    6: (1.8, 2.6, 528, 0.5),
    7: (2.0, 3.1, 600, 0.5),
}
B0_STAGES = [(1, 16, 1), (6, 24, 2), (6, 40, 2), (6, 80, 3), (6, 112, 3), (6, 192, 4), (6, 320, 1)]  # Table 1


@pytest.mark.parametrize("b", sorted(EFFICIENTNET))
def test_efficientnet_coefficients_and_rounding(b: int) -> None:
    width, depth, resolution, dropout = EFFICIENTNET[b]
    loaded = spec.load(f"efficientnet_b{b}")
    assert loaded.meta["scaling"] == {"width": "width", "depth": "depth", "resolution": "resolution"}
    analysis = engine.analyze(loaded)
    layers = by_name(analysis)
    assert analysis.input == (3, resolution, resolution)
    assert layers["classifier.0"].args["p"] == dropout
    assert layers["features.0.0"].output_shape[0] == tv_make_divisible(32 * width)
    for stage, (_, channels, repeats) in enumerate(B0_STAGES, start=1):
        blocks = {r.name.split(".")[2] for r in analysis.layers if r.name.startswith(f"features.{stage}.")}
        assert len(blocks) == math.ceil(repeats * depth)  # torchvision: int(math.ceil(n * depth_mult))
        prefix = f"features.{stage}.{len(blocks) - 1}.block."
        project_bn = [r for r in analysis.layers if r.name.startswith(prefix)][-1]
        assert project_bn.kind == "batchnorm"
        assert project_bn.output_shape[0] == tv_make_divisible(channels * width)
    assert layers["features.8.0"].output_shape[0] == 4 * tv_make_divisible(320 * width)


def test_efficientnet_variants_are_b0_with_other_coefficients() -> None:
    base = spec.load("efficientnet_b0")
    for b, (width, depth, resolution, dropout) in EFFICIENTNET.items():
        variant = analyze(f"efficientnet_b{b}")
        same = engine.analyze(
            base, overrides={"width": width, "depth": depth, "resolution": resolution, "dropout": dropout}
        )
        assert [(r.name, r.params, r.macs) for r in variant.layers] == [(r.name, r.params, r.macs) for r in same.layers]


def test_efficientnet_b0_shapes_and_an_mbconv_block() -> None:
    layers = by_name(analyze("efficientnet_b0"))
    assert layers["features.8.2"].output_shape == (1280, 7, 7)  # the features before pooling
    assert layers["classifier.1"].params == 1280 * 1000 + 1000
    # features.2.0: MBConv6, 3×3, 16 → 24, stride 2 (112 → 56); expanded 96, SE squeeze max(1, 16 // 4) = 4
    block = {n: r for n, r in layers.items() if n.startswith("features.2.0.")}
    expand, bn1 = 16 * 96, 2 * 96
    dw, bn2 = 9 * 96, 2 * 96
    fc1, fc2 = 96 * 4 + 4, 4 * 96 + 96
    project, bn3 = 96 * 24, 2 * 24
    assert sum(r.params for r in block.values()) == expand + bn1 + dw + bn2 + fc1 + fc2 + project + bn3 == 6_004
    macs = 112 * 112 * 96 * 16 + 56 * 56 * 96 * 9 + 96 * 4 + 4 * 96 + 56 * 56 * 24 * 96
    assert sum(r.macs for r in block.values()) == macs == 29_203_200
    assert layers["features.2.0.block.2.gate.fc1"].output_shape == (4, 1, 1)
    assert layers["features.2.0.block.2.multiply"].output_shape == (96, 56, 56)
    assert "features.2.0.add" not in layers and "features.2.1.add" in layers
    assert "features.2.1.stochastic_depth" in layers


# Table 2 as printed: #Params (millions) and #FLOPs (billions, read as mult-adds)
EFFICIENTNET_TABLE2 = {
    0: ("5.3", "0.39"),
    1: ("7.8", "0.70"),
    2: ("9.2", "1.0"),
    3: ("12", "1.8"),
    4: ("19", "4.2"),
    5: ("30", "9.9"),
    6: ("43", "19"),
    7: ("66", "37"),
}


def agrees(computed: float, printed: str) -> bool:
    """True when `computed` rounds to `printed` at its printed number of decimals."""
    decimals = len(printed.partition(".")[2])
    return abs(computed - float(printed)) <= 0.5 * 10**-decimals


@pytest.mark.parametrize("b", sorted(EFFICIENTNET_TABLE2))
def test_efficientnet_table2(b: int) -> None:
    params_m, gflops = EFFICIENTNET_TABLE2[b]
    totals = analyze(f"efficientnet_b{b}").totals
    # within 5% of every printed figure
    assert abs(totals.params / 1e6 / float(params_m) - 1) < 0.05
    assert abs(totals.macs / 1e9 / float(gflops) - 1) < 0.05
    # to the printed digit exactly where the spec gives no deviation, and a deviation exactly where not
    entries = [e for e in spec.load(f"efficientnet_b{b}").meta["reported"] if e.source == "primary"]
    params_entry = next(e for e in entries if e.figure == "params")
    macs_entry = next(e for e in entries if e.figure == "macs")
    assert agrees(totals.params / 1e6, params_m) == (not params_entry.deviation)
    assert agrees(totals.macs / 1e9, gflops) == (not macs_entry.deviation)
