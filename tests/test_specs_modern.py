"""The modern families and the case-study lessons, each against an independent figure.

Networks: ResNeXt-50 (32×4d), ResNeXt-101 (32×8d), Wide ResNet-50-2, DenseNet-121/169/201,
SqueezeNet 1.0/1.1, Inception-v3 (without its auxiliary head), Inception-v4 and Network in Network.
Lessons: a depthwise separable vs a standard 3×3 convolution (MobileNets eq. 5), a ResNeXt block vs a
ResNet bottleneck (ResNeXt §3.3), and depth/width/resolution doubling (EfficientNet §3.3).

The independent figures are: torchvision's published parameter counts and GFLOPS (the weights'
metadata, ``num_params`` and ``_ops``, as printed in its docs; its GFLOPS are multiply-adds), timm's
model card and the osmr/imgclsmob table for Inception-v4, papers.md's derived values, the papers' own
numbers, and closed-form counts written out below from each reference implementation's layer list
(loops over the published widths that never call archcost).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from conftest import analyze_bundled as analyze
from conftest import by_name

from archcost import engine, spec
from archcost.engine import Analysis


def group(analysis: Analysis, prefix: str) -> tuple[int, int]:
    """Params and MACs of every layer at or below `prefix`."""
    rows = [r for r in analysis.layers if r.name == prefix or r.name.startswith(prefix + ".")]
    assert rows, prefix
    return sum(r.params for r in rows), sum(r.macs for r in rows)


class Tally:
    """Hand counts of a network written as a list of convolutions: weights, biases, batch norms, MACs."""

    def __init__(self) -> None:
        self.params = 0
        self.macs = 0

    def conv(
        self, cin: int, cout: int, k: int | tuple[int, int], side: int, *, groups: int = 1, bn: bool, bias: bool
    ) -> None:
        """A k×k (or kh×kw) convolution with a side×side output; bn adds γ and β, bias adds cout."""
        kh, kw = (k, k) if isinstance(k, int) else k
        weights = kh * kw * (cin // groups) * cout
        self.params += weights + (2 * cout if bn else 0) + (cout if bias else 0)
        self.macs += side * side * weights

    def linear(self, cin: int, cout: int) -> None:
        self.params += cin * cout + cout
        self.macs += cin * cout


def out_size(n: int, k: int, s: int, p: int = 0, *, ceil: bool = False) -> int:
    """torch's sliding-window size (no dilation); with ceil, the last window may hang over the edge."""
    span = n + 2 * p - k
    return (-(-span // s) if ceil else span // s) + 1


# ---------------------------------------------------------------------------- ResNeXt and Wide ResNet


def bottleneck_resnet_counts(blocks: tuple[int, ...], groups: int, width_per_group: int) -> tuple[int, int]:
    """torchvision's ResNet with Bottleneck at 224×224 (stride on the 3×3), written out.

    width = int(planes · width_per_group / 64) · groups; conv1 1×1 to width (at the block's input
    side), conv2 3×3 grouped with the stride, conv3 1×1 to 4·planes, a batch norm after each, and a
    1×1 conv + batch norm projection where the stride or the width changes.
    """
    t = Tally()
    t.conv(3, 64, 7, 112, bn=True, bias=False)
    cin, side = 64, 56  # after the 3×3/2 max pool
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks, strict=True)):
        width, out = planes * width_per_group // 64 * groups, planes * 4
        for i in range(n):
            stride = 2 if i == 0 and stage > 0 else 1
            so = side // stride
            t.conv(cin, width, 1, side, bn=True, bias=False)
            t.conv(width, width, 3, so, groups=groups, bn=True, bias=False)
            t.conv(width, out, 1, so, bn=True, bias=False)
            if stride != 1 or cin != out:
                t.conv(cin, out, 1, so, bn=True, bias=False)
            cin, side = out, so
    t.linear(cin, 1000)
    return t.params, t.macs


@pytest.mark.parametrize(
    ("name", "blocks", "groups", "width_per_group", "tv_params", "tv_gflops"),
    [
        # torchvision ResNeXt50_32X4D_Weights: num_params 25028904, GFLOPS 4.23 (docs; _ops 4.23)
        ("resnext50_32x4d", (3, 4, 6, 3), 32, 4, 25_028_904, 4.23),
        # torchvision ResNeXt101_32X8D_Weights: num_params 88791336, _ops 16.414
        ("resnext101_32x8d", (3, 4, 23, 3), 32, 8, 88_791_336, 16.414),
        # torchvision Wide_ResNet50_2_Weights: num_params 68883240, _ops 11.398
        ("wide_resnet50_2", (3, 4, 6, 3), 1, 128, 68_883_240, 11.398),
    ],
)
def test_resnext_family_totals(
    name: str, blocks: tuple[int, ...], groups: int, width_per_group: int, tv_params: int, tv_gflops: float
) -> None:
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == bottleneck_resnet_counts(blocks, groups, width_per_group)
    assert totals.params == tv_params
    digits = len(str(tv_gflops).split(".")[1])
    assert round(totals.macs / 1e9, digits) == tv_gflops


def test_resnext_paper_table1() -> None:
    # ResNeXt Table 1: ResNeXt-50 (32×4d) 25.0×10⁶ params, 4.2×10⁹ FLOPs (multiply-adds)
    totals = analyze("resnext50_32x4d").totals
    assert round(totals.params / 1e6, 1) == 25.0
    assert round(totals.macs / 1e9, 1) == 4.2
    # Fig. 5 caption: the 101-layer models at ResNet-101's complexity have "~44 million parameters";
    # --set width_per_group=4 is the paper's ResNeXt-101 (32×4d)
    r101 = analyze("resnext101_32x8d", width_per_group=4).totals
    assert (r101.params, r101.macs) == bottleneck_resnet_counts((3, 4, 23, 3), 32, 4)
    assert round(r101.params / 1e6) == 44


def test_resnext_layers() -> None:
    layers = by_name(analyze("resnext50_32x4d"))
    conv2 = layers["layer1.0.conv2"]  # 128 channels in 32 groups of 4: each filter sees 4 inputs
    assert conv2.args["groups"] == 32
    assert conv2.params == 3 * 3 * 4 * 128 == 4_608
    assert conv2.output_shape == (128, 56, 56)
    assert layers["layer2.0.conv2"].args["stride"] == (2, 2)  # §4: the stride sits on the 3×3
    assert layers["layer2.0.conv1"].output_shape == (256, 56, 56)
    assert layers["layer1.0.downsample.0"].params == 64 * 256
    assert "layer1.1.downsample.0" not in layers
    assert layers["layer4.2.relu3"].output_shape == (2048, 7, 7)
    assert layers["fc"].params == 2048 * 1000 + 1000
    wide = by_name(analyze("wide_resnet50_2"))
    # torchvision: "last block in ResNet-50 has 2048-512-2048 channels, and in Wide ResNet-50-2 has 2048-1024-2048"
    assert [wide[f"layer4.2.conv{i}"].output_shape[0] for i in (1, 2, 3)] == [1024, 1024, 2048]
    assert wide["layer4.2.conv2"].args["groups"] == 1
    x101 = by_name(analyze("resnext101_32x8d"))
    assert x101["layer3.22.conv2"].output_shape == (1024, 14, 14)  # 256 planes · 8/64 · 32 groups
    assert x101["layer3.22.conv2"].params == 3 * 3 * 32 * 1024


def test_resnext_family_extends_one_spec() -> None:
    for name in ("resnext101_32x8d", "wide_resnet50_2"):
        assert spec.load(name).meta["extends"] == "resnext50_32x4d"
    assert analyze("resnext50_32x4d").weighted_depth == 50
    assert analyze("resnext101_32x8d").weighted_depth == 101
    assert analyze("wide_resnet50_2").weighted_depth == 50


def test_wrn_paper_table8() -> None:
    # Wide ResNets Table 8: WRN-50-2-bottleneck 68.9M parameters
    assert round(analyze("wide_resnet50_2").totals.params / 1e6, 1) == 68.9


# ---------------------------------------------------------------------------- DenseNet


def densenet_counts(blocks: tuple[int, ...], growth: int = 32, bn_size: int = 4, init: int = 64) -> tuple[int, int]:
    """DenseNet-BC at 224×224 (the paper's Table 1, torchvision's densenet), written out."""
    t = Tally()
    t.conv(3, init, 7, 112, bn=True, bias=False)
    c, side = init, 56
    for b, n in enumerate(blocks):
        for _ in range(n):
            t.params += 2 * c  # norm1 on the concatenated input
            t.conv(c, bn_size * growth, 1, side, bn=True, bias=False)  # conv1 + norm2
            t.conv(bn_size * growth, growth, 3, side, bn=False, bias=False)  # conv2
            c += growth
        if b < len(blocks) - 1:
            t.params += 2 * c  # transition norm
            t.conv(c, c // 2, 1, side, bn=False, bias=False)
            c, side = c // 2, side // 2
    t.params += 2 * c  # norm5
    t.linear(c, 1000)
    return t.params, t.macs


@pytest.mark.parametrize(
    ("name", "blocks", "tv_params", "tv_gflops", "papers_md"),
    [
        # torchvision DenseNet*_Weights num_params and _ops; papers.md §7 derived params (M) and MACs (G)
        ("densenet121", (6, 12, 24, 16), 7_978_856, 2.834, (7.979, 2.834)),
        ("densenet169", (6, 12, 32, 32), 14_149_480, 3.36, (14.149, 3.360)),
        ("densenet201", (6, 12, 48, 32), 20_013_928, 4.291, (20.014, 4.291)),
    ],
)
def test_densenet_totals(
    name: str, blocks: tuple[int, ...], tv_params: int, tv_gflops: float, papers_md: tuple[float, float]
) -> None:
    analysis = analyze(name)
    totals = analysis.totals
    assert (totals.params, totals.macs) == densenet_counts(blocks)
    assert totals.params == tv_params
    assert round(totals.macs / 1e9, len(str(tv_gflops).split(".")[1])) == tv_gflops
    assert (round(totals.params / 1e6, 3), round(totals.macs / 1e9, 3)) == papers_md
    # the depth in the name: stem + 2 convs per dense layer + 3 transitions + the classifier
    assert analysis.weighted_depth == 1 + 2 * sum(blocks) + 3 + 1 == int(name.removeprefix("densenet"))


def test_densenet121_keras_total_counts_the_running_statistics() -> None:
    # Keras' DenseNet121 prints 8,062,504 (papers.md §7): parameters plus batch-norm moving mean/variance
    totals = analyze("densenet121").totals
    # batch-norm channels: norm0, every dense layer's norm1 (its input) and norm2 (128), the transitions, norm5
    channels, c = 64, 64
    for b, n in enumerate((6, 12, 24, 16)):
        for _ in range(n):
            channels += c + 128
            c += 32
        if b < 3:
            channels += c
            c //= 2
    channels += c
    assert totals.buffers == 2 * channels == 83_648  # running mean and variance
    assert totals.params + totals.buffers == 8_062_504


def test_densenet_shapes_and_names() -> None:
    layers = by_name(analyze("densenet121"))
    for name in ("features.conv0", "features.norm0", "features.pool0", "features.norm5", "classifier"):
        assert name in layers
    assert layers["features.pool0"].output_shape == (64, 56, 56)
    assert layers["features.denseblock1.denselayer1.new.conv1"].output_shape == (128, 56, 56)  # bn_size·k
    assert layers["features.denseblock1.denselayer1.new.conv2"].output_shape == (32, 56, 56)  # k
    assert layers["features.denseblock1.denselayer1.concat"].output_shape == (96, 56, 56)
    assert layers["features.denseblock1.denselayer6.concat"].output_shape == (64 + 6 * 32, 56, 56)
    assert layers["features.transition1.conv"].output_shape == (128, 56, 56)  # θ = 0.5
    assert layers["features.transition1.pool"].output_shape == (128, 28, 28)
    assert layers["features.transition2.pool"].output_shape == (256, 14, 14)
    assert layers["features.transition3.pool"].output_shape == (512, 7, 7)
    assert layers["features.norm5"].output_shape == (1024, 7, 7)
    assert layers["classifier"].params == 1024 * 1000 + 1000
    assert by_name(analyze("densenet169"))["features.norm5"].output_shape == (1664, 7, 7)
    assert by_name(analyze("densenet201"))["features.norm5"].output_shape == (1920, 7, 7)
    for name in ("densenet169", "densenet201"):
        assert spec.load(name).meta["extends"] == "densenet121"


def test_densenet201_paper_20m() -> None:
    # §4.4: "DenseNet-201 with 20M parameters"
    assert round(analyze("densenet201").totals.params / 1e6) == 20


# ---------------------------------------------------------------------------- SqueezeNet


def squeezenet_counts(version: str, size: int = 224) -> tuple[int, int, int]:
    """torchvision's SqueezeNet 1.0 / 1.1 written out; returns params, MACs and the last map's side."""
    t = Tally()
    if version == "1_0":
        side = out_size(size, 7, 2)
        t.conv(3, 96, 7, side, bn=False, bias=True)
        cin = 96
        plan: list[tuple[int, int, int] | str] = [
            "pool", (16, 64, 64), (16, 64, 64), (32, 128, 128), "pool",
            (32, 128, 128), (48, 192, 192), (48, 192, 192), (64, 256, 256), "pool", (64, 256, 256),
        ]  # fmt: skip
    else:
        side = out_size(size, 3, 2)
        t.conv(3, 64, 3, side, bn=False, bias=True)
        cin = 64
        plan = [
            "pool", (16, 64, 64), (16, 64, 64), "pool", (32, 128, 128), (32, 128, 128),
            "pool", (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256),
        ]  # fmt: skip
    for item in plan:
        if item == "pool":
            side = out_size(side, 3, 2, ceil=True)
            continue
        assert isinstance(item, tuple)
        s1, e1, e3 = item
        t.conv(cin, s1, 1, side, bn=False, bias=True)  # squeeze
        t.conv(s1, e1, 1, side, bn=False, bias=True)  # expand1x1
        t.conv(s1, e3, 3, side, bn=False, bias=True)  # expand3x3
        cin = e1 + e3
    t.conv(cin, 1000, 1, side, bn=False, bias=True)  # classifier.1
    return t.params, t.macs, side


@pytest.mark.parametrize(
    ("name", "tv_params", "tv_gflops"),
    # torchvision SqueezeNet1_0_Weights: num_params 1248424, GFLOPS 0.82; SqueezeNet1_1: 1235496, _ops 0.349
    [("squeezenet1_0", 1_248_424, 0.82), ("squeezenet1_1", 1_235_496, 0.349)],
)
def test_squeezenet_totals(name: str, tv_params: int, tv_gflops: float) -> None:
    analysis = analyze(name)
    params, macs, side = squeezenet_counts(name.removeprefix("squeezenet"))
    assert (analysis.totals.params, analysis.totals.macs) == (params, macs)
    assert analysis.totals.params == tv_params
    assert round(analysis.totals.macs / 1e9, len(str(tv_gflops).split(".")[1])) == tv_gflops
    layers = by_name(analysis)
    assert layers["classifier.1"].output_shape == (1000, side, side) == (1000, 13, 13)
    assert layers["classifier.3"].output_shape == (1000, 1, 1)
    assert analysis.output.output_shape == (1000,)


def test_squeezenet_at_227() -> None:
    # ShuffleNet Table 6 lists SqueezeNet at 833 MFLOPs (= mult-adds); the Caffe release's crop is 227
    at227 = engine.analyze(spec.load("squeezenet1_0"), input_override=(3, 227, 227)).totals
    assert at227.macs == squeezenet_counts("1_0", 227)[1]
    assert round(at227.macs / 1e6) == 833
    # SqueezeNet 1.1: "2.4x less computation" (official README); 2.35× in MACs at 224
    ratio = analyze("squeezenet1_0").totals.macs / analyze("squeezenet1_1").totals.macs
    assert round(ratio, 2) == 2.35


def test_squeezenet_fire_layers() -> None:
    layers = by_name(analyze("squeezenet1_0"))
    assert layers["features.0"].output_shape == (96, 109, 109)  # (224 − 7) // 2 + 1
    assert layers["features.2"].output_shape == (96, 54, 54)  # ceil mode: ⌈(109 − 3) / 2⌉ + 1
    assert layers["features.3.squeeze"].params == 96 * 16 + 16
    assert layers["features.3.expand.expand1x1.conv"].params == 16 * 64 + 64
    assert layers["features.3.expand.expand3x3.conv"].params == 9 * 16 * 64 + 64
    assert layers["features.3.expand.concat"].output_shape == (128, 54, 54)
    assert layers["features.12.expand.concat"].output_shape == (512, 13, 13)
    v11 = by_name(analyze("squeezenet1_1"))
    assert v11["features.0"].output_shape == (64, 111, 111)  # 3×3/2
    assert v11["features.12.expand.concat"].output_shape == (512, 13, 13)


# ---------------------------------------------------------------------------- Inception-v3


def inception_v3_counts() -> tuple[int, int, int]:
    """torchvision's Inception3 at 299×299 (BasicConv2d = conv without bias + BN), written out.

    Returns params without the auxiliary head, MACs on the eval path, and the head's params.
    """
    t = Tally()

    def c(cin: int, cout: int, k: int | tuple[int, int], side: int) -> None:
        t.conv(cin, cout, k, side, bn=True, bias=False)

    c(3, 32, 3, 149)  # Conv2d_1a_3x3, stride 2
    c(32, 32, 3, 147)  # Conv2d_2a_3x3
    c(32, 64, 3, 147)  # Conv2d_2b_3x3, padding 1; max pool → 73
    c(64, 80, 1, 73)  # Conv2d_3b_1x1
    c(80, 192, 3, 71)  # Conv2d_4a_3x3; max pool → 35
    cin = 192
    for pool_features in (32, 64, 64):  # Mixed_5b, 5c, 5d (InceptionA)
        c(cin, 64, 1, 35)
        c(cin, 48, 1, 35), c(48, 64, 5, 35)
        c(cin, 64, 1, 35), c(64, 96, 3, 35), c(96, 96, 3, 35)
        c(cin, pool_features, 1, 35)
        cin = 64 + 64 + 96 + pool_features
    c(cin, 384, 3, 17)  # Mixed_6a (InceptionB)
    c(cin, 64, 1, 35), c(64, 96, 3, 35), c(96, 96, 3, 17)
    cin = 384 + 96 + cin
    assert cin == 768
    for c7 in (128, 160, 160, 192):  # Mixed_6b … 6e (InceptionC)
        c(768, 192, 1, 17)
        c(768, c7, 1, 17), c(c7, c7, (1, 7), 17), c(c7, 192, (7, 1), 17)
        c(768, c7, 1, 17), c(c7, c7, (7, 1), 17), c(c7, c7, (1, 7), 17), c(c7, c7, (7, 1), 17), c(c7, 192, (1, 7), 17)
        c(768, 192, 1, 17)
    c(768, 192, 1, 17), c(192, 320, 3, 8)  # Mixed_7a (InceptionD)
    c(768, 192, 1, 17), c(192, 192, (1, 7), 17), c(192, 192, (7, 1), 17), c(192, 192, 3, 8)
    cin = 320 + 192 + 768
    for _ in range(2):  # Mixed_7b, 7c (InceptionE)
        c(cin, 320, 1, 8)
        c(cin, 384, 1, 8), c(384, 384, (1, 3), 8), c(384, 384, (3, 1), 8)
        c(cin, 448, 1, 8), c(448, 384, 3, 8), c(384, 384, (1, 3), 8), c(384, 384, (3, 1), 8)
        c(cin, 192, 1, 8)
        cin = 320 + 768 + 768 + 192
    t.linear(cin, 1000)
    # AuxLogits: conv0 1×1 768 → 128 (+BN), conv1 5×5 128 → 768 (+BN), fc 768 → 1000
    aux = (768 * 128 + 2 * 128) + (5 * 5 * 128 * 768 + 2 * 768) + (768 * 1000 + 1000)
    return t.params, t.macs, aux


def test_inception_v3_totals() -> None:
    totals = analyze("inception_v3").totals
    params, macs, aux = inception_v3_counts()
    assert (totals.params, totals.macs) == (params, macs)
    # torchvision Inception_V3_Weights: num_params 27161264 (with AuxLogits), _ops 5.713 (eval path)
    assert aux == 3_326_696
    assert totals.params + aux == 27_161_264
    assert totals.params == 23_834_568  # also osmr/imgclsmob's count without the head
    assert round(totals.macs / 1e9, 3) == 5.713
    # abstract: "less than 25 million parameters"; NASNet Table 2: 23.8M; EfficientNet Table 2: 5.7B
    assert totals.params < 25_000_000
    assert round(totals.params / 1e6, 1) == 23.8
    assert round(totals.macs / 1e9, 1) == 5.7


def test_inception_v3_shapes_and_names() -> None:
    layers = by_name(analyze("inception_v3"))
    assert layers["Conv2d_1a_3x3.conv"].output_shape == (32, 149, 149)
    assert layers["maxpool1"].output_shape == (64, 73, 73)
    assert layers["maxpool2"].output_shape == (192, 35, 35)
    shapes = {
        "Mixed_5b": (256, 35, 35),
        "Mixed_5c": (288, 35, 35),
        "Mixed_5d": (288, 35, 35),
        "Mixed_6a": (768, 17, 17),
        "Mixed_6e": (768, 17, 17),
        "Mixed_7a": (1280, 8, 8),
        "Mixed_7b": (2048, 8, 8),
        "Mixed_7c": (2048, 8, 8),
    }
    for module, shape in shapes.items():
        assert layers[f"{module}.concat"].output_shape == shape, module
    assert layers["Mixed_7b.branch3x3.branch3x3_2.concat"].output_shape == (768, 8, 8)
    # Mixed_5b by hand: 1×1 64; 1×1 48 → 5×5 64; 1×1 64 → 3×3 96 → 3×3 96; pool → 1×1 32 (+ BN γ, β each)
    weights = 192 * 64 + 192 * 48 + 25 * 48 * 64 + 192 * 64 + 9 * 64 * 96 + 9 * 96 * 96 + 192 * 32
    bn = 2 * (64 + 48 + 64 + 64 + 96 + 96 + 32)
    assert group(analyze("inception_v3"), "Mixed_5b")[0] == weights + bn == 254_976 + 928
    assert layers["Mixed_5b.branch1x1.conv"].params == 192 * 64
    assert layers["Mixed_5b.branch1x1.bn"].args["eps"] == 0.001
    assert layers["Mixed_6b.branch7x7.branch7x7_2.conv"].args["kernel"] == (1, 7)
    assert layers["fc"].params == 2048 * 1000 + 1000
    assert not any("Aux" in name for name in layers)  # the auxiliary classifier is excluded


# ---------------------------------------------------------------------------- Inception-v4


def inception_v4_counts() -> tuple[int, int, int]:
    """timm's inception_v4 at 299×299 (ConvNormAct = conv without bias + BN), written out.

    Returns params, MACs and the conv + linear output elements (fvcore's and timm's "activations").
    """
    t = Tally()
    acts = 0

    def c(cin: int, cout: int, k: int | tuple[int, int], side: int) -> None:
        nonlocal acts
        t.conv(cin, cout, k, side, bn=True, bias=False)
        acts += cout * side * side

    c(3, 32, 3, 149), c(32, 32, 3, 147), c(32, 64, 3, 147)  # stem convs
    c(64, 96, 3, 73)  # Mixed3a conv (‖ max pool): 160 channels
    c(160, 64, 1, 73), c(64, 96, 3, 71)  # Mixed4a branch0
    c(160, 64, 1, 73), c(64, 64, (1, 7), 73), c(64, 64, (7, 1), 73), c(64, 96, 3, 71)  # branch1
    c(192, 192, 3, 35)  # Mixed5a conv (‖ max pool): 384 channels
    for _ in range(4):  # Inception-A
        c(384, 96, 1, 35)
        c(384, 64, 1, 35), c(64, 96, 3, 35)
        c(384, 64, 1, 35), c(64, 96, 3, 35), c(96, 96, 3, 35)
        c(384, 96, 1, 35)
    c(384, 384, 3, 17)  # Reduction-A: k, l, m, n = 192, 224, 256, 384
    c(384, 192, 1, 35), c(192, 224, 3, 35), c(224, 256, 3, 17)
    for _ in range(7):  # Inception-B at 17×17, 1024 channels
        c(1024, 384, 1, 17)
        c(1024, 192, 1, 17), c(192, 224, (1, 7), 17), c(224, 256, (7, 1), 17)
        c(1024, 192, 1, 17), c(192, 192, (7, 1), 17), c(192, 224, (1, 7), 17)
        c(224, 224, (7, 1), 17), c(224, 256, (1, 7), 17)
        c(1024, 128, 1, 17)
    c(1024, 192, 1, 17), c(192, 192, 3, 8)  # Reduction-B
    c(1024, 256, 1, 17), c(256, 256, (1, 7), 17), c(256, 320, (7, 1), 17), c(320, 320, 3, 8)
    for _ in range(3):  # Inception-C at 8×8, 1536 channels
        c(1536, 256, 1, 8)
        c(1536, 384, 1, 8), c(384, 256, (1, 3), 8), c(384, 256, (3, 1), 8)
        c(1536, 384, 1, 8), c(384, 448, (3, 1), 8), c(448, 512, (1, 3), 8)
        c(512, 256, (1, 3), 8), c(512, 256, (3, 1), 8)
        c(1536, 256, 1, 8)
    t.linear(1536, 1000)
    return t.params, t.macs, acts + 1000


def test_inception_v4_totals() -> None:
    analysis = analyze("inception_v4")
    params, macs, acts = inception_v4_counts()
    assert (analysis.totals.params, analysis.totals.macs) == (params, macs)
    # osmr/imgclsmob (the Cadene/timm model): 42,679,816; timm model card: 42.7M params, 12.3 GMACs,
    # 15.1M activations (conv and linear outputs, fvcore's count)
    assert analysis.totals.params == 42_679_816
    assert round(analysis.totals.macs / 1e9, 1) == 12.3
    conv_outputs = sum(math.prod(r.output_shape) for r in analysis.layers if r.kind in ("conv", "linear"))
    assert conv_outputs == acts
    assert round(conv_outputs / 1e6, 1) == 15.1


def test_inception_v4_shapes_and_names() -> None:
    layers = by_name(analyze("inception_v4"))
    shapes = {
        "features.0.conv": (32, 149, 149),
        "features.2.conv": (64, 147, 147),
        "features.3.concat": (160, 73, 73),  # Fig. 3: 73×73×160
        "features.4.concat": (192, 71, 71),  # 71×71×192
        "features.5.concat": (384, 35, 35),  # 35×35×384
        "features.9.concat": (384, 35, 35),
        "features.10.concat": (1024, 17, 17),
        "features.17.concat": (1024, 17, 17),
        "features.18.concat": (1536, 8, 8),
        "features.21.concat": (1536, 8, 8),
        "global_pool.flatten": (1536,),
        "last_linear": (1000,),
    }
    for name, shape in shapes.items():
        assert layers[name].output_shape == shape, name
    # timm names: features.6.branch1.0.conv (Sequential), features.6.branch3.1.conv after the pool
    assert layers["features.6.branch1.0.conv"].params == 384 * 64
    assert layers["features.6.branch3.0"].kind == "avgpool"
    assert layers["features.6.branch3.1.conv"].params == 384 * 96
    # one Inception-A (Fig. 4) by hand: weights plus BN γ, β
    weights = 384 * 96 + 384 * 64 + 9 * 64 * 96 + 384 * 64 + 9 * 64 * 96 + 9 * 96 * 96 + 384 * 96
    bn = 2 * (96 + 64 + 96 + 64 + 96 + 96 + 96)
    assert group(analyze("inception_v4"), "features.6")[0] == weights + bn


# ---------------------------------------------------------------------------- Network in Network


def test_nin_cifar10() -> None:
    analysis = analyze("nin")
    layers = by_name(analysis)
    # the authors' released CIFAR-10 model: conv 5×5 192 → 1×1 160 → 1×1 96, pool; 5×5 192 → 192 → 192,
    # pool; 3×3 192 → 192 → 10, global 8×8 average pool; every conv with a bias
    t = Tally()
    for cin, cout, k, side in [
        (3, 192, 5, 32), (192, 160, 1, 32), (160, 96, 1, 32),
        (96, 192, 5, 16), (192, 192, 1, 16), (192, 192, 1, 16),
        (192, 192, 3, 8), (192, 192, 1, 8), (192, 10, 1, 8),
    ]:  # fmt: skip
        t.conv(cin, cout, k, side, bn=False, bias=True)
    assert (analysis.totals.params, analysis.totals.macs) == (t.params, t.macs) == (966_986, 222_486_528)
    assert layers["pool1"].output_shape == (96, 16, 16)  # 3×3/2, ceil: ⌈(32 − 3)/2⌉ + 1
    assert layers["pool2"].output_shape == (192, 8, 8)
    assert layers["pool3"].output_shape == (10, 1, 1)
    assert analysis.output.output_shape == (10,)
    assert analysis.weighted_depth == 9  # three mlpconv layers of three convolutions
    cifar100 = analyze("nin", classes=100)
    assert cifar100.output.output_shape == (100,)
    assert cifar100.totals.params - analysis.totals.params == 90 * (192 + 1)


# ---------------------------------------------------------------------------- lesson: separable vs standard


@pytest.mark.parametrize(("m", "n", "d"), [(512, 512, 14), (32, 64, 112), (384, 384, 10), (3, 1000, 7)])
def test_separable_vs_standard_ratio(m: int, n: int, d: int) -> None:
    standard = analyze("conv3x3_standard", M=m, N=n, D=d).totals
    separable = analyze("conv3x3_separable", M=m, N=n, D=d).totals
    # MobileNets eqs. 2 and 4: D_K²·M·N·D_F² against D_K²·M·D_F² + M·N·D_F²
    assert standard.macs == 9 * m * n * d * d
    assert separable.macs == 9 * m * d * d + m * n * d * d
    # eq. 5: the ratio is 1/N + 1/D_K², whatever M and D_F
    assert Fraction(separable.macs, standard.macs) == Fraction(1, n) + Fraction(1, 9)
    assert Fraction(separable.params, standard.params) == Fraction(1, n) + Fraction(1, 9)


def test_separable_vs_standard_mobilenet_table3() -> None:
    # Table 3 (M = N = 512, D_F = 14): convolution 462M mult-adds, 2.36M params; separable 52.3M, 0.27M;
    # α = 0.75: 29.6M, 0.15M; ρ = 0.714 (D_F = 10) on top: 15.1M, 0.15M
    standard = analyze("conv3x3_standard").totals
    assert (round(standard.macs / 1e6), round(standard.params / 1e6, 2)) == (462, 2.36)
    rows = [({}, 52.3, 0.27), ({"M": 384, "N": 384}, 29.6, 0.15), ({"M": 384, "N": 384, "D": 10}, 15.1, 0.15)]
    for settings, mmacs, mparams in rows:
        totals = analyze("conv3x3_separable", **settings).totals
        assert (round(totals.macs / 1e6, 1), round(totals.params / 1e6, 2)) == (mmacs, mparams), settings
    ratio = Fraction(analyze("conv3x3_separable").totals.macs, standard.macs)
    print(f"separable / standard MACs = {ratio} = {float(ratio):.4f} (1/512 + 1/9); {1 / float(ratio):.2f}× fewer")


# ---------------------------------------------------------------------------- lesson: ResNeXt vs ResNet block


def test_resnext_block_vs_resnet_bottleneck() -> None:
    resnet = analyze("resnet_bottleneck_256")
    resnext = analyze("resnext_block_32x4d")
    # ResNeXt §3.3: 256·64 + 3·3·64·64 + 64·256 ≈ 70k; Eqn. (4) C·(256·d + 3·3·d·d + d·256) ≈ 70k at C = 32, d = 4
    assert resnet.totals.params == 256 * 64 + 3 * 3 * 64 * 64 + 64 * 256 == 69_632
    assert resnext.totals.params == 32 * (256 * 4 + 3 * 3 * 4 * 4 + 4 * 256) == 70_144
    # "proportional FLOPs (on the same feature map size)": 56·56 positions, stride 1, every weight once
    assert resnet.totals.macs == 56 * 56 * 69_632
    assert resnext.totals.macs == 56 * 56 * 70_144
    params_ratio = resnext.totals.params / resnet.totals.params
    macs_ratio = resnext.totals.macs / resnet.totals.macs
    print(
        f"ResNet bottleneck: {resnet.totals.params:,} params, {resnet.totals.macs:,} MACs; "
        f"ResNeXt 32×4d: {resnext.totals.params:,} params, {resnext.totals.macs:,} MACs "
        f"(×{params_ratio:.4f}, ×{macs_ratio:.4f})"
    )
    assert abs(params_ratio - 1) < 0.01 and abs(macs_ratio - 1) < 0.01  # "nearly equal": 0.7 % apart
    assert resnet.output.output_shape == resnext.output.output_shape == (256, 56, 56)
    assert by_name(resnext)["block.conv2"].args["groups"] == 32
    assert by_name(resnext)["block.conv1"].output_shape == (128, 56, 56)  # 32 paths × 4


@pytest.mark.parametrize(("cardinality", "d"), [(1, 64), (2, 40), (4, 24), (8, 14), (32, 4)])
def test_resnext_table2_keeps_the_budget(cardinality: int, d: int) -> None:
    # Table 2: cardinality and bottleneck width that preserve the ~70k parameters of the template
    totals = analyze("resnext_block_32x4d", cardinality=cardinality, d=d).totals
    assert totals.params == cardinality * (256 * d + 9 * d * d + d * 256)
    assert abs(totals.params - 70_000) / 70_000 < 0.025


def test_lesson_blocks_are_the_networks_blocks() -> None:
    # the lecture blocks are the conv2-stage blocks of the bundled networks, without batch norm
    for lecture, network, overrides in [
        ("resnet_bottleneck_256", "resnet50", {}),
        ("resnext_block_32x4d", "resnext50_32x4d", {}),
    ]:
        layers = by_name(analyze(network, **overrides))
        convs = sum(layers[f"layer1.1.conv{i}"].params for i in (1, 2, 3))
        conv_macs = sum(layers[f"layer1.1.conv{i}"].macs for i in (1, 2, 3))
        assert (convs, conv_macs) == (analyze(lecture).totals.params, analyze(lecture).totals.macs)


# ---------------------------------------------------------------------------- lesson: depth, width, resolution


def test_scaling_doubles_exactly() -> None:
    base = analyze("scaling_base").totals.macs
    # 2 convolutions per stage, 9·64·64 weights each, at 56², 28² and 14² positions
    assert base == 2 * 9 * 64 * 64 * (56**2 + 28**2 + 14**2) == 303_464_448
    depth = analyze("scaling_base", depth=2).totals.macs
    width = analyze("scaling_base", width=2).totals.macs
    resolution = analyze("scaling_base", resolution=112).totals.macs
    ratios = f"depth ×2: ×{depth / base:g}; width ×2: ×{width / base:g}; resolution ×2: ×{resolution / base:g}"
    print(f"base {base:,} MACs; {ratios}")
    assert Fraction(depth, base) == 2
    assert Fraction(width, base) == 4
    assert Fraction(resolution, base) == 4
    everything = analyze("scaling_base", depth=2, width=2, resolution=112).totals.macs
    assert Fraction(everything, base) == 2 * 4 * 4  # FLOPS ∝ d·w²·r²


def test_scaling_base_declares_its_scaling() -> None:
    loaded = spec.load("scaling_base")
    assert loaded.meta["scaling"] == {"depth": "depth", "width": "width", "resolution": "resolution"}
    steps = engine.compound_scaling(loaded, [0, 1], 1.2, 1.1, 1.15)
    assert steps[0].settings == {"depth": 1.0, "width": 1.0, "resolution": 56}
    assert steps[1].settings["resolution"] == round(56 * 1.15) == 64
    layers = by_name(engine.analyze(loaded, overrides=steps[1].settings))
    assert layers["stage1.2.conv"].output_shape == (round(64 * 1.1), 64, 64)  # ⌈2·1.2⌉ = 3 convolutions
    assert "stage1.3.conv" not in layers
