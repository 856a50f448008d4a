"""The seed list's last torchvision and timm networks, each exact against its reference module.

MnasNet 0.5/0.75/1.0/1.3, DenseNet-161, RegNetX-400MF, RegNetY-400MF, RegNetY-1.6GF and
EfficientNetV2-S (torchvision), Xception and Inception-ResNet-v2 (timm): archcost's parameters,
buffers, MACs and output shape equal the reference module's (``tests/reference_models.py``: numel
sums, half of FlopCounterMode's count), as exact integers, and so do the parameters and MACs of every
layer, matched by name: the reference's module path, rewritten by the few renames each spec's notes
give (a parallel's branch level, a hyphen a name cannot hold). Skipped without torchvision or timm.

The torch-free figures below are checked against hand arithmetic from the reference code's
constructors (loops over the published widths that never call archcost), so they hold where torch
is absent too.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable

import pytest

from archcost import engine, spec
from archcost.engine import Analysis
from tests import reference_models

Rename = Callable[[str], str]


def _subs(*pairs: tuple[str, str]) -> Rename:
    """A rename applying each (pattern, replacement) regex substitution in turn."""

    def rename(name: str) -> str:
        for pattern, replacement in pairs:
            name = re.sub(pattern, replacement, name)
        return name

    return rename


def _same(name: str) -> str:
    return name


_SE_GATE = (r"\.(fc1|fc2)$", r".gate.\1")  # a squeeze-and-excitation gate is a parallel's branch named gate

SEEDS: dict[str, tuple[str, Rename]] = {
    "mnasnet0_5": ("torchvision:mnasnet0_5", _same),
    "mnasnet0_75": ("torchvision:mnasnet0_75", _same),
    "mnasnet1_0": ("torchvision:mnasnet1_0", _same),
    "mnasnet1_3": ("torchvision:mnasnet1_3", _same),
    # a dense layer's new features are the branch `new` of a concat
    "densenet161": ("torchvision:densenet161", _subs((r"(denselayer\d+)\.", r"\1.new."))),
    # block1-0 → block1_0 (names hold letters, digits and _)
    "regnet_x_400mf": ("torchvision:regnet_x_400mf", _subs((r"(block\d+)-(\d+)", r"\1_\2"))),
    "regnet_y_400mf": ("torchvision:regnet_y_400mf", _subs((r"(block\d+)-(\d+)", r"\1_\2"), _SE_GATE)),
    "regnet_y_1_6gf": ("torchvision:regnet_y_1_6gf", _subs((r"(block\d+)-(\d+)", r"\1_\2"), _SE_GATE)),
    "efficientnet_v2_s": ("torchvision:efficientnet_v2_s", _subs(_SE_GATE)),
    # the shortcut conv and its batch norm are the projection sequential skip's .0 and .1
    "xception": ("timm:legacy_xception", _subs((r"\.skip$", ".skip.0"), (r"\.skipbn$", ".skip.1"))),
    # a residual block's branches are the parallel `branches`
    "inception_resnet_v2": (
        "timm:inception_resnet_v2",
        _subs((r"^(repeat(?:_1|_2)?\.\d+|block8)\.(branch\d)", r"\1.branches.\2")),
    ),
}


def analyze(name: str, **overrides: object) -> Analysis:
    return engine.analyze(spec.load(name), overrides=overrides)


# ---------------------------------------------------------------------------- against the reference


@pytest.fixture(scope="module")
def references() -> dict[str, reference_models.Reference]:
    """Each seed's reference figures, built once for the module's tests."""
    return {}


def _reference(name: str, cache: dict[str, reference_models.Reference]) -> reference_models.Reference:
    if name not in cache:
        source, _ = SEEDS[name]
        cache[name] = reference_models.reference(source, analyze(name).input)
    return cache[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", SEEDS)
def test_totals_equal_the_reference(name: str, references: dict[str, reference_models.Reference]) -> None:
    analysis = analyze(name)
    ref = _reference(name, references)
    totals = analysis.totals
    assert (totals.params, totals.buffers, totals.macs) == (ref.params, ref.buffers, ref.macs)
    assert analysis.layers[-1].output_shape == ref.output


@pytest.mark.slow
@pytest.mark.parametrize("name", SEEDS)
def test_every_layer_equals_its_module(name: str, references: dict[str, reference_models.Reference]) -> None:
    """Layer by layer, by name: the parameters of every module that holds some, and the MACs of every
    module FlopCounterMode counts, are those of the archcost layer of the same (renamed) path."""
    _, rename = SEEDS[name]
    analysis = analyze(name)
    ref = _reference(name, references)
    assert ref.layer_params and ref.layer_macs
    params = {r.name: r.params for r in analysis.layers if r.params}
    macs = {r.name: r.macs for r in analysis.layers if r.macs}
    assert {rename(k): v for k, v in ref.layer_params.items()} == params
    assert {rename(k): v for k, v in ref.layer_macs.items()} == macs


@pytest.mark.slow
def test_meta_device_counts_as_real_data() -> None:
    """The references run on the meta device (shapes only); on real tensors the counts are the same."""
    module = reference_models.build("torchvision:mnasnet0_5")
    real = reference_models.measure(module, (3, 64, 64), device="cpu")
    meta = reference_models.measure(module, (3, 64, 64))
    assert real == meta
    assert real.macs == analyze("mnasnet0_5", resolution=64).totals.macs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "overrides", "source", "kwargs"),
    [
        # a width torchvision builds but does not bundle, and another input size
        ("mnasnet1_0", {"alpha": 1.4}, "torchvision:MNASNet", {"alpha": 1.4}),
        ("efficientnet_v2_s", {"resolution": 224}, "torchvision:efficientnet_v2_s", {}),
        ("inception_resnet_v2", {"resolution": 331}, "timm:inception_resnet_v2", {}),
    ],
)
def test_parameters_follow_the_reference(
    name: str, overrides: dict[str, object], source: str, kwargs: dict[str, object]
) -> None:
    analysis = analyze(name, **overrides)
    ref = reference_models.reference(source, analysis.input, **kwargs)
    assert (analysis.totals.params, analysis.totals.macs) == (ref.params, ref.macs)


# ---------------------------------------------------------------------------- without torch


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible / MNASNet's _round_to_multiple_of(value, 8, 0.9), written out again."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new if new >= 0.9 * value else new + divisor


def mnasnet_counts(alpha: float) -> tuple[int, int]:
    """(params, MACs) of torchvision's MNASNet(alpha) at 224×224, from its constructor's widths."""
    d = [make_divisible(c * alpha) for c in (32, 16, 24, 40, 80, 96, 192, 320)]
    params = macs = 0

    def conv(cin: int, cout: int, k: int, side: int, groups: int = 1) -> None:
        nonlocal params, macs
        weights = k * k * cin // groups * cout
        params += weights + 2 * cout  # + its batch norm's γ and β
        macs += side * side * weights

    conv(3, d[0], 3, 112)
    conv(d[0], d[0], 3, 112, groups=d[0])
    conv(d[0], d[1], 1, 112)
    cin, side = d[1], 112
    stacks = [(d[2], 3, 2, 3, 3), (d[3], 5, 2, 3, 3), (d[4], 5, 2, 6, 3), (d[5], 3, 1, 6, 2)]
    stacks += [(d[6], 5, 2, 6, 4), (d[7], 3, 1, 6, 1)]
    for out, k, stride, t, n in stacks:
        for i in range(n):
            mid, so = cin * t, side // (stride if i == 0 else 1)
            conv(cin, mid, 1, side)
            conv(mid, mid, k, so, groups=mid)
            conv(mid, out, 1, so)
            cin, side = out, so
    conv(cin, 1280, 1, 7)
    params += 1280 * 1000 + 1000
    macs += 1280 * 1000
    return params, macs


@pytest.mark.parametrize(
    ("name", "alpha", "tv_params", "tv_gmacs"),
    [
        # torchvision MNASNet*_Weights.IMAGENET1K_V1: num_params and _ops (GMACs)
        ("mnasnet0_5", 0.5, 2_218_512, 0.104),
        ("mnasnet0_75", 0.75, 3_170_208, 0.215),
        ("mnasnet1_0", 1.0, 4_383_312, 0.314),
        ("mnasnet1_3", 1.3, 6_282_256, 0.526),
    ],
)
def test_mnasnet_by_hand(name: str, alpha: float, tv_params: int, tv_gmacs: float) -> None:
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == mnasnet_counts(alpha)
    assert totals.params == tv_params
    assert round(totals.macs / 1e9, 3) == tv_gmacs
    if name != "mnasnet1_0":
        assert spec.load(name).meta["extends"] == "mnasnet1_0"


def regnet_stages(depth: int, w0: int, wa: float, wm: float, group_width: int) -> tuple[list[int], list[int]]:
    """The RegNet rule (§3.3 of the paper) as torchvision's BlockParams computes it: (depths, widths)."""
    block_widths = []
    for j in range(depth):
        capacity = round(math.log((w0 + wa * j) / w0) / math.log(wm))
        block_widths.append(round(w0 * wm**capacity / 8) * 8)
    depths: list[int] = []
    widths: list[int] = []
    for w in block_widths:
        if widths and widths[-1] == w:
            depths[-1] += 1
        else:
            widths.append(w)
            depths.append(1)
    widths = [make_divisible(w, min(group_width, w)) for w in widths]
    return depths, widths


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("regnet_x_400mf", (22, 24, 24.48, 2.54, 16)),
        ("regnet_y_400mf", (16, 48, 27.89, 2.09, 8)),
        ("regnet_y_1_6gf", (27, 48, 20.71, 2.65, 24)),
    ],
)
def test_regnet_stages_follow_the_rule(name: str, rule: tuple[int, int, float, float, int]) -> None:
    """The stage depths and widths written as model parameters are what the quantized linear rule gives."""
    analysis = analyze(name)
    depths, widths = regnet_stages(*rule)
    blocks: dict[str, set[str]] = {}
    for r in analysis.layers:
        if r.name.startswith("trunk_output."):
            _, stage, block, *_ = r.name.split(".")
            blocks.setdefault(stage, set()).add(block)
    assert [len(blocks[f"block{i}"]) for i in range(1, 5)] == depths
    by_name = {r.name: r for r in analysis.layers}
    assert [by_name[f"trunk_output.block{i}.block{i}_0.add"].output_shape[0] for i in range(1, 5)] == widths


def test_pycls_regnet_x_400mf_is_a_set_away() -> None:
    # pycls rounds 392 to 384 (round-half-even of 392/16), torchvision to 400; pycls MODEL_ZOO: 5.2M
    assert analyze("regnet_x_400mf", w4=384).totals.params == 5_157_512
    assert round(analyze("regnet_x_400mf").totals.params / 1e6, 1) == 5.5


def test_inception_resnet_scaling() -> None:
    """The residual scaling: one FLOP per element, no MACs, the factors of the paper's §3.3 (0.1–0.3) as timm
    sets them; the MACs leave it out, as FlopCounterMode does."""
    analysis = analyze("inception_resnet_v2")
    scales = [r for r in analysis.layers if r.kind == "scale"]
    assert [r.args["factor"] for r in scales] == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]
    assert sum(r.flops for r in scales) == 10 * 320 * 35 * 35 + 20 * 1088 * 17 * 17 + 10 * 2080 * 8 * 8
    assert all(r.macs == 0 and r.params == 0 for r in scales)


def test_xception_paper_table3() -> None:
    # Chollet 2017, Table 3: Xception 22,855,952 parameters; timm's legacy_xception is that network
    assert analyze("xception").totals.params == 22_855_952


@pytest.mark.parametrize("package", ["torchvision", "timm"])
def test_a_missing_reference_package_skips(package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # what `import package` sees when it is not installed
    with pytest.raises(pytest.skip.Exception):
        reference_models.build(f"{package}:anything")
