"""The bundled specs: generic checks over the whole catalog, then each network's figures.

Generic tests are parametrized over `spec.bundled_names()`, so a new spec is covered without new
test code. The per-network tests compare with independent figures only: hand arithmetic written
out here (weights per filter × filters, output pixels × filter MACs), the papers' own tables, the
derived values of /work/shared/reference/papers.md (its own arithmetic from the papers' layer
lists), or torchvision's published parameter counts (cited at each use).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from conftest import analyze_bundled as analyze
from conftest import by_name

from archcost import engine, spec
from archcost.errors import SpecError

NAMES = spec.bundled_names()
CLASSIFIERS_10 = {"lenet5"}  # digit classifiers; every other non-lecture spec is an ImageNet classifier
SEGMENTERS = {"unet": 2}  # segmentation networks and their classes: a score map, not a vector


def conv_weights(k: int, cin: int, cout: int, groups: int = 1) -> int:
    """Weights of a k×k convolution: each of cout filters is k·k·(cin/groups)."""
    return k * k * (cin // groups) * cout


def conv_macs(side: int, k: int, cin: int, cout: int, groups: int = 1) -> int:
    """MACs of a k×k convolution with a side×side output: one filter per output element."""
    return side * side * cout * k * k * (cin // groups)


# ---------------------------------------------------------------------------- the whole catalog


def test_catalog_is_the_expected_set() -> None:
    # the specs this file checks one by one; a spec added later is covered by the generic tests
    expected = {
        "lenet5",
        "alexnet",
        "zfnet",
        "vgg11",
        "vgg13",
        "vgg16",
        "vgg19",
        "googlenet",
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "inception_5x5_naive",
        "inception_5x5_bottleneck",
        "vgg_3x3_stack",
        "conv7x7",
    }
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name: str) -> None:
    loaded = spec.load(name)
    assert loaded.name == name  # name = file stem
    meta = loaded.meta
    for key in ("title", "family", "description", "reference"):
        assert isinstance(meta.get(key), str) and meta[key].strip(), f"{name}: {key} missing"
    assert isinstance(meta.get("year"), int) and 1980 <= meta["year"] <= 2030
    assert meta.get("notes"), f"{name}: notes missing"
    paper = meta.get("paper")
    assert isinstance(paper, Mapping), f"{name}: paper missing"
    for key in ("title", "authors", "venue", "url"):
        assert isinstance(paper.get(key), str) and paper[key].strip(), f"{name}: paper.{key} missing"
    assert str(paper["url"]).startswith(("http://", "https://"))
    assert isinstance(paper.get("year"), int) and 1980 <= paper["year"] <= 2030
    assert paper["year"] >= meta["year"] - 1 or meta["family"] == "lecture"


@pytest.mark.parametrize("name", NAMES)
def test_analyzes_consistently(name: str) -> None:
    analysis = analyze(name)
    names = [layer.name for layer in analysis.layers]
    assert len(names) == len(set(names)), "layer names must be unique"
    seen = {engine.INPUT}
    for layer in analysis.layers:
        assert set(layer.inputs) <= seen, f"{layer.name} reads a layer that has not run yet"
        seen.add(layer.name)
        assert all(d > 0 for d in layer.output_shape)
        assert layer.flops >= 2 * layer.macs  # FLOPs = 2·MACs + bias adds + element-wise work
    totals = analysis.totals
    assert totals.params == sum(layer.params for layer in analysis.layers)
    assert totals.macs == sum(layer.macs for layer in analysis.layers)
    assert totals.flops == sum(layer.flops for layer in analysis.layers)
    assert totals.buffers == sum(layer.buffers for layer in analysis.layers)
    assert totals.activations == sum(layer.activations for layer in analysis.layers)
    assert totals.params > 0 and totals.macs > 0


@pytest.mark.parametrize("name", NAMES)
def test_classifier_output(name: str) -> None:
    loaded = spec.load(name)
    analysis = engine.analyze(loaded)
    if loaded.meta["family"] == "lecture":  # single modules: they end on a C×H×W map, not a classifier
        assert len(analysis.output.output_shape) == 3
        return
    if name in SEGMENTERS:  # a class score per pixel: a C×H×W map from a 1×1 conv
        assert analysis.output.kind == "conv" and analysis.output.output_shape[0] == SEGMENTERS[name]
        return
    # a classifier: a vector of class scores, produced by the last weighted layer (a linear layer, or a
    # 1×1 conv followed by global pooling as in NIN and SqueezeNet)
    (classes,) = analysis.output.output_shape
    assert classes == (10 if name in CLASSIFIERS_10 or "CIFAR" in str(loaded.meta.get("description")) else 1000)
    last_weighted = [layer for layer in analysis.layers if layer.kind in ("conv", "linear")][-1]
    assert last_weighted.output_shape[0] == classes


# Depth = conv and linear layers on the longest path, the count in the networks' names and papers.
DEPTHS = {
    "lenet5": 5,  # C1, C3, C5, F6, output (the paper's "7 layers" also count S2 and S4)
    "alexnet": 8,  # "eight learned layers — five convolutional and three fully-connected" (§3)
    "zfnet": 8,  # "our 8 layer convnet model" (Fig. 3)
    "vgg11": 11,  # "11 weight layers (8 conv. and 3 FC layers)" (§2.2, config A)
    "vgg13": 13,
    "vgg16": 16,
    "vgg19": 19,  # "19 weight layers (16 conv. and 3 FC layers)" (config E)
    "googlenet": 22,  # "22 layers deep when counting only layers with parameters" (§5)
    "resnet18": 18,
    "resnet34": 34,
    "resnet50": 50,
    "resnet101": 101,
    "resnet152": 152,
    "unet": 23,  # "In total the network has 23 convolutional layers" (§2)
}


@pytest.mark.parametrize("name", sorted(DEPTHS))
def test_weighted_depth(name: str) -> None:
    assert analyze(name).weighted_depth == DEPTHS[name]


# ---------------------------------------------------------------------------- LeNet-5


def test_lenet5_layers() -> None:
    layers = by_name(analyze("lenet5"))
    shapes = {
        "c1": (6, 28, 28),
        "s2": (6, 14, 14),
        "c3": (16, 10, 10),
        "s4": (16, 5, 5),
        "c5": (120, 1, 1),  # a 5×5 conv on the 5×5 map
        "flatten": (120,),
        "f6": (84,),
        "output": (10,),
    }
    for name, shape in shapes.items():
        assert layers[name].output_shape == shape, name
    # paper §II.B: C1 156, C5 48,120, F6 10,164 trainable parameters
    assert layers["c1"].params == 5 * 5 * 1 * 6 + 6 == 156
    assert layers["c3"].params == 5 * 5 * 6 * 16 + 16 == 2_416  # dense; the paper's sparse table has 1,516
    assert layers["c5"].params == 5 * 5 * 16 * 120 + 120 == 48_120
    assert layers["f6"].params == 120 * 84 + 84 == 10_164
    assert layers["output"].params == 84 * 10 + 10 == 850
    # the paper's "connections" include the bias: C1 has 122,304 = MACs + one bias per output
    assert layers["c1"].macs == 28 * 28 * 6 * 5 * 5 == 117_600
    assert layers["c1"].macs + 28 * 28 * 6 == 122_304
    assert layers["c3"].macs == 10 * 10 * 16 * 5 * 5 * 6 == 240_000
    assert layers["c5"].macs + 120 == 48_120  # "48,120 trainable connections"
    assert layers["f6"].macs == 120 * 84 == 10_080


def test_lenet5_totals() -> None:
    totals = analyze("lenet5").totals
    # paper: 60,000 = C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 + F6 10,164
    assert 156 + 12 + 1_516 + 32 + 48_120 + 10_164 == 60_000
    # here: no S2/S4 coefficients, dense C3, a trainable 84→10 output layer
    assert totals.params == 60_000 - 12 - 32 + (2_416 - 1_516) + (84 * 10 + 10) == 61_706
    assert totals.macs == 117_600 + 240_000 + 5 * 5 * 16 * 120 + 120 * 84 + 84 * 10 == 416_520


# ---------------------------------------------------------------------------- AlexNet

# papers.md §2, AlexNet per-layer table (own arithmetic from the paper's §3.5 layer list, 227 input)
ALEXNET_LAYERS = {
    # name: (output shape (cs231n L9), params, MACs)
    "conv1": ((96, 55, 55), 11 * 11 * 3 * 96 + 96, 55 * 55 * 96 * 11 * 11 * 3),
    "pool1": ((96, 27, 27), 0, 0),
    "conv2": ((256, 27, 27), 5 * 5 * 48 * 256 + 256, 27 * 27 * 256 * 5 * 5 * 48),
    "pool2": ((256, 13, 13), 0, 0),
    "conv3": ((384, 13, 13), 3 * 3 * 256 * 384 + 384, 13 * 13 * 384 * 3 * 3 * 256),
    "conv4": ((384, 13, 13), 3 * 3 * 192 * 384 + 384, 13 * 13 * 384 * 3 * 3 * 192),
    "conv5": ((256, 13, 13), 3 * 3 * 192 * 256 + 256, 13 * 13 * 256 * 3 * 3 * 192),
    "pool5": ((256, 6, 6), 0, 0),
    "fc6": ((4096,), 6 * 6 * 256 * 4096 + 4096, 6 * 6 * 256 * 4096),
    "fc7": ((4096,), 4096 * 4096 + 4096, 4096 * 4096),
    "fc8": ((1000,), 4096 * 1000 + 1000, 4096 * 1000),
}


def test_alexnet_conv1() -> None:
    conv1 = by_name(analyze("alexnet"))["conv1"]
    assert conv1.output_shape == (96, (227 - 11) // 4 + 1, (227 - 11) // 4 + 1) == (96, 55, 55)
    assert conv1.params == 11 * 11 * 3 * 96 + 96 == 34_944  # cs231n notes: 34,848 weights + 96 biases
    assert conv1.macs == 55 * 55 * 96 * 11 * 11 * 3 == 105_415_200  # papers.md
    assert conv1.rf == (11, 11)


def test_alexnet_per_layer() -> None:
    layers = by_name(analyze("alexnet"))
    for name, (shape, params, macs) in ALEXNET_LAYERS.items():
        assert (layers[name].output_shape, layers[name].params, layers[name].macs) == (shape, params, macs), name
    # the papers.md figures for the same rows
    assert ALEXNET_LAYERS["conv2"][1:] == (307_456, 223_948_800)
    assert ALEXNET_LAYERS["conv3"][1:] == (885_120, 149_520_384)
    assert ALEXNET_LAYERS["conv4"][1:] == (663_936, 112_140_288)
    assert ALEXNET_LAYERS["conv5"][1:] == (442_624, 74_760_192)
    assert ALEXNET_LAYERS["fc6"][1:] == (37_752_832, 37_748_736)
    # LRN follows the ReLU of conv1 and conv2 (§3.3), with the paper's constants
    norm1 = layers["norm1"]
    assert norm1.kind == "lrn" and norm1.inputs == ("relu1",)
    assert (norm1.args["size"], norm1.args["alpha"], norm1.args["beta"], norm1.args["k"]) == (5, 1e-4, 0.75, 2)
    assert layers["norm2"].inputs == ("relu2",)
    # dropout on the inputs of fc6 and fc7
    assert layers["fc6"].inputs == ("drop6",) and layers["fc7"].inputs == ("drop7",)


def test_alexnet_totals_grouped() -> None:
    totals = analyze("alexnet").totals
    assert totals.params == sum(p for _, p, _ in ALEXNET_LAYERS.values()) == 60_965_224  # papers.md, derived
    assert totals.macs == sum(m for _, _, m in ALEXNET_LAYERS.values()) == 724_406_816  # papers.md, derived
    assert round(totals.params / 1e6) == 61  # the paper: "60 million parameters"


def test_alexnet_ungrouped() -> None:
    analysis = analyze("alexnet", groups=1)
    layers = by_name(analysis)
    assert layers["conv2"].params == 5 * 5 * 96 * 256 + 256
    assert layers["conv4"].params == 3 * 3 * 384 * 384 + 384
    assert layers["conv5"].params == 3 * 3 * 384 * 256 + 256
    assert layers["conv3"].params == 3 * 3 * 256 * 384 + 384  # conv3 was full already
    # one tower: conv2, conv4 and conv5 see twice the input channels, doubling their weights and MACs
    extra_params = 5 * 5 * 48 * 256 + 3 * 3 * 192 * 384 + 3 * 3 * 192 * 256
    extra_macs = 27 * 27 * 256 * 5 * 5 * 48 + 13 * 13 * 384 * 3 * 3 * 192 + 13 * 13 * 256 * 3 * 3 * 192
    assert analysis.totals.params == 60_965_224 + extra_params == 62_378_344  # papers.md, derived
    assert analysis.totals.macs == 724_406_816 + extra_macs == 1_135_256_096  # papers.md, derived


# ---------------------------------------------------------------------------- ZFNet


def test_zfnet() -> None:
    analysis = analyze("zfnet")
    layers = by_name(analysis)
    # map sizes of the paper's Fig. 3
    shapes = {
        "conv1": (96, 110, 110),
        "pool1": (96, 55, 55),
        "conv2": (256, 26, 26),
        "pool2": (256, 13, 13),
        "conv3": (384, 13, 13),
        "conv4": (384, 13, 13),
        "conv5": (256, 13, 13),
        "pool5": (256, 6, 6),
        "flatten": (6 * 6 * 256,),  # "6·6·256 = 9216 dimensions"
        "fc6": (4096,),
        "fc7": (4096,),
        "fc8": (1000,),
    }
    for name, shape in shapes.items():
        assert layers[name].output_shape == shape, name
    expected = {
        # layers 3-5 densely connected (no GPU groups)
        "conv1": (7 * 7 * 3 * 96 + 96, 110 * 110 * 96 * 7 * 7 * 3),
        "conv2": (5 * 5 * 96 * 256 + 256, 26 * 26 * 256 * 5 * 5 * 96),
        "conv3": (3 * 3 * 256 * 384 + 384, 13 * 13 * 384 * 3 * 3 * 256),
        "conv4": (3 * 3 * 384 * 384 + 384, 13 * 13 * 384 * 3 * 3 * 384),
        "conv5": (3 * 3 * 384 * 256 + 256, 13 * 13 * 256 * 3 * 3 * 384),
        "fc6": (9216 * 4096 + 4096, 9216 * 4096),
        "fc7": (4096 * 4096 + 4096, 4096 * 4096),
        "fc8": (4096 * 1000 + 1000, 4096 * 1000),
    }
    for name, (params, macs) in expected.items():
        assert (layers[name].params, layers[name].macs) == (params, macs), name
    assert analysis.totals.params == sum(p for p, _ in expected.values()) == 62_357_608
    assert analysis.totals.macs == sum(m for _, m in expected.values()) == 1_168_032_896
    assert layers["conv1"].rf == (7, 7)


# ---------------------------------------------------------------------------- VGG

VGG_CONFIGS = {
    # convolutions per stage, the paper's Table 1 columns A, B, D, E
    "vgg11": (1, 1, 2, 2, 2),
    "vgg13": (2, 2, 2, 2, 2),
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
VGG_WIDTHS = (64, 128, 256, 512, 512)


def vgg_counts(config: tuple[int, ...]) -> tuple[int, int]:
    """Params and MACs of a VGG configuration at 224, from the paper's layer list."""
    params = macs = 0
    cin, side = 3, 224
    for n, width in zip(config, VGG_WIDTHS, strict=True):
        for _ in range(n):
            params += conv_weights(3, cin, width) + width
            macs += conv_macs(side, 3, cin, width)
            cin = width
        side //= 2
    for fin, fout in ((7 * 7 * 512, 4096), (4096, 4096), (4096, 1000)):
        params += fin * fout + fout
        macs += fin * fout
    return params, macs


@pytest.mark.parametrize(
    ("name", "params", "gmacs"),
    [
        # papers.md §4: derived params (exact) and derived MACs @224 (to 0.01 G)
        ("vgg11", 132_863_336, 7.61),
        ("vgg13", 133_047_848, 11.31),
        ("vgg16", 138_357_544, 15.47),
        ("vgg19", 143_667_240, 19.63),
    ],
)
def test_vgg_totals(name: str, params: int, gmacs: float) -> None:
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == vgg_counts(VGG_CONFIGS[name])
    assert totals.params == params
    assert round(totals.macs / 1e9, 2) == gmacs


def test_vgg16_written_out() -> None:
    totals = analyze("vgg16").totals
    macs = (
        224 * 224 * 64 * 9 * (3 + 64)
        + 112 * 112 * 128 * 9 * (64 + 128)
        + 56 * 56 * 256 * 9 * (128 + 256 + 256)
        + 28 * 28 * 512 * 9 * (256 + 512 + 512)
        + 14 * 14 * 512 * 9 * (512 + 512 + 512)
        + 7 * 7 * 512 * 4096
        + 4096 * 4096
        + 4096 * 1000
    )
    assert totals.macs == macs == 15_470_264_320  # ≈ 15.5 G
    # cs231n's weight column sums to 138,344,128; plus 13 conv and 3 FC bias vectors
    biases = 2 * 64 + 2 * 128 + 3 * 256 + 6 * 512 + 2 * 4096 + 1000
    assert totals.params == 138_344_128 + biases == 138_357_544
    assert round(totals.params / 1e6) == 138  # the paper's Table 2: 138M
    assert round(analyze("vgg19").totals.params / 1e6) == 144  # Table 2: 144M
    assert round(analyze("vgg19").totals.macs / 1e9, 1) == 19.6  # ResNet paper §3.3: VGG-19 19.6 billion FLOPs


def test_vgg16_per_layer_cs231n() -> None:
    layers = [layer for layer in analyze("vgg16").layers if layer.kind in ("conv", "linear")]
    # cs231n L9 "VGGNet" table: params per layer, weights only (biases excluded)
    cs231n = [
        3 * 3 * 3 * 64,  # 1,728
        3 * 3 * 64 * 64,  # 36,864
        3 * 3 * 64 * 128,  # 73,728
        3 * 3 * 128 * 128,  # 147,456
        3 * 3 * 128 * 256,  # 294,912
        3 * 3 * 256 * 256,  # 589,824
        3 * 3 * 256 * 256,
        3 * 3 * 256 * 512,  # 1,179,648
        3 * 3 * 512 * 512,  # 2,359,296
        3 * 3 * 512 * 512,
        3 * 3 * 512 * 512,
        3 * 3 * 512 * 512,
        3 * 3 * 512 * 512,
        7 * 7 * 512 * 4096,  # 102,760,448
        4096 * 4096,  # 16,777,216
        4096 * 1000,  # 4,096,000
    ]
    assert cs231n[:5] == [1_728, 36_864, 73_728, 147_456, 294_912]
    assert cs231n[7:9] == [1_179_648, 2_359_296]
    assert cs231n[13] == 102_760_448
    assert [layer.params - layer.output_shape[0] for layer in layers] == cs231n  # params − biases
    # cs231n output sizes after each conv
    sides = [224, 224, 112, 112, 56, 56, 56, 28, 28, 28, 14, 14, 14]
    assert [layer.output_shape[1] for layer in layers[:13]] == sides
    names = by_name(analyze("vgg16"))
    assert names["block3.convs.3.conv"].output_shape == (256, 56, 56)  # Caffe's conv3_3
    assert names["block5.pool"].output_shape == (512, 7, 7)


def test_vgg_depth_params_reproduce_each_other() -> None:
    # configurations differ only in n1..n5: VGG-11 with D's counts is VGG-16
    as_d = analyze("vgg11", n1=2, n2=2, n3=3, n4=3, n5=3).totals
    assert (as_d.params, as_d.macs) == vgg_counts(VGG_CONFIGS["vgg16"])


# ---------------------------------------------------------------------------- GoogLeNet

# the paper's Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj, and the listed
# params (K, weights only) and ops (M multiply-adds) of each module
INCEPTIONS = {
    "inception3a": ((64, 96, 128, 16, 32, 32), 159, 128),
    "inception3b": ((128, 128, 192, 32, 96, 64), 380, 304),
    "inception4a": ((192, 96, 208, 16, 48, 64), 364, 73),
    "inception4b": ((160, 112, 224, 24, 64, 64), 437, 88),
    "inception4c": ((128, 128, 256, 24, 64, 64), 463, 100),
    "inception4d": ((112, 144, 288, 32, 64, 64), 580, 119),
    "inception4e": ((256, 160, 320, 32, 128, 128), 840, 170),
    "inception5a": ((256, 160, 320, 32, 128, 128), 1072, 54),
    "inception5b": ((384, 192, 384, 48, 128, 128), 1388, 71),
}


def inception_weights(cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool: int) -> int:
    """Weights (no biases) of one Inception module: four branches of 1×1, 3×3 and 5×5 convs."""
    return cin * c1 + cin * c3r + 9 * c3r * c3 + cin * c5r + 25 * c5r * c5 + cin * pool


def test_googlenet_inceptions() -> None:
    layers = by_name(analyze("googlenet"))
    cin = 192  # conv2's output
    outputs = []
    for name, (widths, _, _) in INCEPTIONS.items():
        c1, c3r, c3, c5r, c5, pool = widths
        concat = layers[f"{name}.concat"]
        assert concat.output_shape[0] == c1 + c3 + c5 + pool
        outputs.append(concat.output_shape[0])
        side = concat.output_shape[1]
        module = [layer for layer in layers.values() if layer.name.startswith(f"{name}.")]
        weights = inception_weights(cin, *widths)
        biases = c1 + c3r + c3 + c5r + c5 + pool
        assert sum(layer.params for layer in module) == weights + biases, name
        assert sum(layer.macs for layer in module) == side * side * weights, name
        cin = concat.output_shape[0]
    assert outputs == [256, 480, 512, 512, 512, 528, 832, 832, 1024]  # Table 1 output depths
    assert layers["inception3a.branch3.conv"].args["kernel"] == (5, 5)  # the paper's 5×5, not torchvision's 3×3
    assert layers["inception3a.branch4.pool"].output_shape == (192, 28, 28)  # 3×3 max pool, stride 1, padding 1


def test_googlenet_against_table1() -> None:
    analysis = analyze("googlenet")
    layers = by_name(analysis)
    # Table 1 output sizes
    assert layers["conv1"].output_shape == (64, 112, 112)
    assert layers["pool1"].output_shape == (64, 56, 56)
    assert layers["conv2"].output_shape == (192, 56, 56)
    assert layers["pool2"].output_shape == (192, 28, 28)
    assert layers["pool3"].output_shape == (480, 14, 14)
    assert layers["pool4"].output_shape == (832, 7, 7)
    assert layers["avgpool"].output_shape == (1024, 1, 1)
    assert layers["dropout"].args["p"] == 0.4
    # Table 1's ops column (M multiply-adds) matches each module's MACs to its printed precision, except
    # 5a; the table sometimes rounds (4d: 118.5 → 119) and sometimes truncates (4a: 73.6 → 73)
    for name, (_, _, ops) in INCEPTIONS.items():
        macs = sum(layer.macs for layer in analysis.layers if layer.name.startswith(f"{name}."))
        if name == "inception5a":
            assert macs == 7 * 7 * inception_weights(832, 256, 160, 320, 32, 128, 128) == 51_079_168  # listed 54M
        else:
            assert -0.5 <= macs / 1e6 - ops < 1, name
    # ... and its params column (K = 1024 weights) for 3a, 3b, 4b to within 1K; 4a, 4c–5b differ (see notes)
    cin = {"inception3a": 192, "inception3b": 256, "inception4b": 512}
    for name, listed in (("inception3a", 159), ("inception3b", 380), ("inception4b", 437)):
        assert abs(inception_weights(cin[name], *INCEPTIONS[name][0]) / 1024 - listed) <= 1, name
    # the stem's second conv: 1×1 to 64 then 3×3 to 192: 112K params, 360M ops in Table 1
    stem2 = 1 * 1 * 64 * 64 + 3 * 3 * 64 * 192
    assert stem2 / 1024 == 112
    assert layers["conv2_reduce"].macs + layers["conv2"].macs == 56 * 56 * stem2
    assert round(56 * 56 * stem2 / 1e6) == 360
    # conv1: Table 1 lists 2.7K / 34M; a 7×7 conv from 3 to 64 channels is
    assert layers["conv1"].params == 7 * 7 * 3 * 64 + 64
    assert layers["conv1"].macs == 112 * 112 * 7 * 7 * 3 * 64 == 118_013_952


def test_googlenet_totals() -> None:
    totals = analyze("googlenet").totals
    weights = (
        7 * 7 * 3 * 64  # conv1
        + 64 * 64  # conv2 reduce
        + 3 * 3 * 64 * 192  # conv2
        + inception_weights(192, *INCEPTIONS["inception3a"][0])
        + inception_weights(256, *INCEPTIONS["inception3b"][0])
        + inception_weights(480, *INCEPTIONS["inception4a"][0])
        + inception_weights(512, *INCEPTIONS["inception4b"][0])
        + inception_weights(512, *INCEPTIONS["inception4c"][0])
        + inception_weights(512, *INCEPTIONS["inception4d"][0])
        + inception_weights(528, *INCEPTIONS["inception4e"][0])
        + inception_weights(832, *INCEPTIONS["inception5a"][0])
        + inception_weights(832, *INCEPTIONS["inception5b"][0])
        + 1024 * 1000  # linear
    )
    # one bias per filter: conv1, conv2 reduce, conv2, every module's six convs, the linear layer
    biases = 64 + 64 + 192 + sum(sum(widths) for widths, _, _ in INCEPTIONS.values()) + 1000
    assert biases == 8_280
    assert totals.params == weights + biases == 6_998_552
    # Table 1's params column sums to 6,797.7K (K = 1024); ours differs by its row inconsistencies
    assert 2.7 + 112 + sum(k for _, k, _ in INCEPTIONS.values()) + 1000 == pytest.approx(6797.7)
    assert round(weights / 1024 / 1000, 1) == 6.8  # ≈ 6.8M as the paper's Table 1 sum
    # Table 1's ops sum to 1,502M (≈ "1.5 billion multiply-adds"); with conv1 at its true 118.0M and
    # 5a at 51.1M instead of the listed 34M and 54M, the sum is ours to the table's rounding
    table_ops = 34 + 360 + sum(ops for _, _, ops in INCEPTIONS.values()) + 1
    assert table_ops == 1_502
    corrected = table_ops - 34 + 118_013_952 / 1e6 - 54 + 51_079_168 / 1e6
    assert abs(totals.macs / 1e6 - corrected) < 2  # eleven rows rounded to 1M
    assert totals.macs == 1_582_671_872


# ---------------------------------------------------------------------------- ResNet

RESNET_BLOCKS = {
    # the paper's Table 1: blocks per stage conv2_x .. conv5_x, and whether they are bottlenecks
    "resnet18": ((2, 2, 2, 2), False),
    "resnet34": ((3, 4, 6, 3), False),
    "resnet50": ((3, 4, 6, 3), True),
    "resnet101": ((3, 4, 23, 3), True),
    "resnet152": ((3, 8, 36, 3), True),
}


def resnet_counts(blocks: tuple[int, ...], bottleneck: bool, v15: bool = False) -> tuple[int, int]:
    """Params (convs without bias, BN γ and β, fc) and MACs of a ResNet at 224, from Table 1.

    A downsampling block strides on its first 1×1 (the paper) or on its 3×3 (v15, torchvision);
    the projection shortcut is a strided 1×1 conv plus batch norm (option B).
    """
    params = 7 * 7 * 3 * 64 + 2 * 64
    macs = 112 * 112 * 64 * 7 * 7 * 3
    cin, side = 64, 56  # after the 3×3/2 max pool
    for stage, n in enumerate(blocks):
        planes = 64 * 2**stage
        out = planes * 4 if bottleneck else planes
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            half = side // stride
            if bottleneck:
                side1 = side if v15 else half  # output side of the first 1×1
                params += cin * planes + planes * 9 * planes + planes * out + 2 * (planes + planes + out)
                macs += side1 * side1 * planes * cin + half * half * (9 * planes * planes + planes * out)
            else:
                params += 9 * cin * planes + 9 * planes * planes + 2 * (planes + planes)
                macs += half * half * (9 * cin * planes + 9 * planes * planes)
            if stride != 1 or cin != out:
                params += cin * out + 2 * out
                macs += half * half * cin * out
            cin, side = out, half
    params += cin * 1000 + 1000
    macs += cin * 1000
    return params, macs


@pytest.mark.parametrize(
    ("name", "torchvision_params", "derived_gmacs", "table1_gflops"),
    [
        # params: torchvision's published num_params (docs of ResNet*_Weights.IMAGENET1K_V1);
        # derived MACs: papers.md §6 (stride on the first 1×1); FLOPs: the paper's Table 1
        ("resnet18", 11_689_512, 1.814, 1.8),
        ("resnet34", 21_797_672, 3.664, 3.6),
        ("resnet50", 25_557_032, 3.858, 3.8),
        ("resnet101", 44_549_160, 7.570, 7.6),
        ("resnet152", 60_192_808, 11.282, 11.3),
    ],
)
def test_resnet_totals(name: str, torchvision_params: int, derived_gmacs: float, table1_gflops: float) -> None:
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == resnet_counts(*RESNET_BLOCKS[name])
    assert totals.params == torchvision_params
    assert round(totals.macs / 1e9, 3) == derived_gmacs
    # Table 1 prints one decimal, sometimes rounded (7.570 → 7.6), sometimes truncated (3.858 → 3.8)
    assert table1_gflops - 0.05 <= totals.macs / 1e9 < table1_gflops + 0.1


@pytest.mark.parametrize(
    ("name", "gmacs"),
    # papers.md §6, stride on the 3×3 (torchvision/fb.resnet.torch); torchvision lists 4.089 GFLOPS for resnet50
    [("resnet50", 4.089), ("resnet101", 7.801), ("resnet152", 11.514)],
)
def test_resnet_v15(name: str, gmacs: float) -> None:
    v1 = analyze(name).totals
    v15 = analyze(name, v15=True).totals
    assert (v15.params, v15.macs) == resnet_counts(*RESNET_BLOCKS[name], v15=True)
    assert v15.params == v1.params  # only the stride moves
    assert round(v15.macs / 1e9, 3) == gmacs
    # only the three downsampling blocks' first 1×1 changes: it runs at the input side, not half of it
    delta = (56 * 56 - 28 * 28) * 256 * 128 + (28 * 28 - 14 * 14) * 512 * 256 + (14 * 14 - 7 * 7) * 1024 * 512
    assert v15.macs - v1.macs == delta == 231_211_008


def test_resnet50_exact() -> None:
    assert analyze("resnet50").totals.macs == 3_857_973_248
    assert analyze("resnet50", v15=True).totals.macs == 4_089_184_256
    assert analyze("resnet152", v15=True).totals.macs == 11_513_626_624


def test_resnet_stride_placement() -> None:
    v1 = by_name(analyze("resnet50"))
    v15 = by_name(analyze("resnet50", v15=True))
    assert v1["layer2.0.conv1"].args["stride"] == (2, 2) and v1["layer2.0.conv2"].args["stride"] == (1, 1)
    assert v15["layer2.0.conv1"].args["stride"] == (1, 1) and v15["layer2.0.conv2"].args["stride"] == (2, 2)
    assert v1["layer2.0.conv1"].output_shape == (128, 28, 28)
    assert v15["layer2.0.conv1"].output_shape == (128, 56, 56)
    assert v1["layer2.0.conv1"].macs == 28 * 28 * 128 * 256
    assert v15["layer2.0.conv1"].macs == 56 * 56 * 128 * 256
    for layers in (v1, v15):
        assert layers["layer2.0.conv3"].output_shape == (512, 28, 28)
        assert layers["layer2.1.conv1"].args["stride"] == (1, 1)  # only the first block strides


def test_resnet_torchvision_names() -> None:
    layers = by_name(analyze("resnet50"))
    for name in ("conv1", "bn1", "relu", "maxpool", "avgpool", "fc"):
        assert name in layers
    assert layers["layer3.2.conv2"].kind == "conv"
    assert layers["layer3.2.conv2"].output_shape == (256, 14, 14)
    assert layers["layer3.2.conv2"].params == 3 * 3 * 256 * 256
    proj = layers["layer1.0.downsample.0"]  # 64 → 256 channels at 56×56: a projection even without stride
    assert (proj.kind, proj.params, proj.output_shape) == ("conv", 64 * 256, (256, 56, 56))
    assert layers["layer1.0.downsample.1"].kind == "batchnorm"
    assert layers["layer1.0.downsample.1"].params == 2 * 256
    assert "layer1.1.downsample.0" not in layers  # identity shortcut
    assert layers["layer1.0.add"].inputs == ("layer1.0.bn3", "layer1.0.downsample.1")
    assert [n for n in layers if n.startswith("layer4.") and n.endswith(".conv1")] == [
        "layer4.0.conv1",
        "layer4.1.conv1",
        "layer4.2.conv1",
    ]
    assert layers["layer4.2.relu3"].output_shape == (2048, 7, 7)
    assert layers["avgpool"].output_shape == (2048, 1, 1)


def test_resnet18_basic_block() -> None:
    layers = by_name(analyze("resnet18"))
    assert "layer1.0.downsample.0" not in layers  # 64 → 64: identity
    proj = layers["layer2.0.downsample.0"]  # option B: 1×1 stride 2 + BN
    assert proj.params == 64 * 128
    assert proj.args["kernel"] == (1, 1) and proj.args["stride"] == (2, 2)
    assert proj.output_shape == (128, 28, 28)
    assert layers["layer2.0.downsample.1"].kind == "batchnorm"
    assert layers["layer2.0.conv1"].args["stride"] == (2, 2)
    assert layers["layer4.1.conv2"].params == 3 * 3 * 512 * 512
    assert layers["fc"].params == 512 * 1000 + 1000


def test_basic_resnets_have_no_v15() -> None:
    with pytest.raises(SpecError, match="v15"):
        analyze("resnet18", v15=True)


# ---------------------------------------------------------------------------- lecture examples


def test_inception_5x5_naive() -> None:
    analysis = analyze("inception_5x5_naive")
    assert analysis.input == (192, 28, 28)
    assert analysis.output.output_shape == (32, 28, 28)
    assert analysis.totals.macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400  # Coursera: ≈120M
    assert analysis.totals.params == 5 * 5 * 192 * 32


def test_inception_5x5_bottleneck() -> None:
    analysis = analyze("inception_5x5_bottleneck")
    layers = by_name(analysis)
    assert layers["reduce"].output_shape == (16, 28, 28)
    assert layers["reduce"].macs == 28 * 28 * 16 * 192 == 2_408_448  # Coursera: ≈2.4M
    assert layers["conv5x5"].macs == 28 * 28 * 32 * 5 * 5 * 16 == 10_035_200  # Coursera: ≈10.0M
    assert analysis.output.output_shape == (32, 28, 28)  # as without the bottleneck
    assert analysis.totals.macs == 2_408_448 + 10_035_200 == 12_443_648  # Coursera: ≈12.4M
    assert analysis.totals.params == 192 * 16 + 5 * 5 * 16 * 32
    naive = analyze("inception_5x5_naive").totals.macs
    assert round(naive / analysis.totals.macs) == 10  # "about a tenth"


@pytest.mark.parametrize("c", [64, 256])
def test_3x3_stack_vs_7x7(c: int) -> None:
    stack = analyze("vgg_3x3_stack", c=c)
    single = analyze("conv7x7", c=c)
    assert stack.input == single.input == (c, 56, 56)
    # VGG §2.3: three 3×3 layers have 3(3²C²) = 27C² weights; one 7×7 layer has 7²C² = 49C²
    assert stack.totals.params == 3 * (3 * 3 * c * c) == 27 * c * c
    assert single.totals.params == 7 * 7 * c * c == 49 * c * c
    assert stack.totals.macs == 3 * 56 * 56 * c * 3 * 3 * c
    assert single.totals.macs == 56 * 56 * c * 7 * 7 * c
    # the same 7×7 receptive field: 1 + 3·(3 − 1) = 7 for the stack
    stack_layers = by_name(stack)
    assert [stack_layers[f"conv{i}"].rf for i in (1, 2, 3)] == [(3, 3), (5, 5), (7, 7)]
    assert stack.output.rf == single.output.rf == (7, 7)
    assert by_name(single)["conv"].rf == (1 + (7 - 1), 1 + (7 - 1))
    assert stack.output.output_shape == single.output.output_shape == (c, 56, 56)
