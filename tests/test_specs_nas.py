"""The graph-built networks: NASNet-A (large and mobile) and FractalNet, each against an independent figure.

* ``nasnet_a_large``: timm's ``nasnetalarge`` (parameters, and MACs as half of FlopCounterMode's count),
  when timm is installed; and a closed-form count below, written from timm's cell classes as loops over
  the widths (it never calls archcost), which must give timm's figures too.
* ``nasnet_a_mobile``: the same closed form at N = 4, 1056 filters, a 32-channel stem and 224×224
  (timm has no nasnetamobile), and the paper's rounded 5.3M and 564M.
* ``fractalnet``: the count of the authors' Caffe generator's layer list, by hand.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import analyze_bundled as analyze
from conftest import by_name

# ---------------------------------------------------------------------------- closed forms


class Tally:
    """Parameters and MACs of convolutions (no bias) and batch norms, added up by hand."""

    def __init__(self) -> None:
        self.params = 0
        self.macs = 0

    def conv(self, cin: int, cout: int, k: int, side: int, *, groups: int = 1) -> None:
        weights = k * k * (cin // groups) * cout
        self.params += weights
        self.macs += side * side * weights

    def bn(self, c: int) -> None:
        self.params += 2 * c

    def act_conv_bn(self, cin: int, cout: int, side: int) -> None:  # timm's ActConvBn
        self.conv(cin, cout, 1, side)
        self.bn(cout)

    def branch(self, cin: int, cout: int, k: int, side_out: int) -> None:  # timm's BranchSeparables
        self.conv(cin, cin, k, side_out, groups=cin)
        self.conv(cin, cout, 1, side_out)
        self.bn(cout)
        self.conv(cout, cout, k, side_out, groups=cout)
        self.conv(cout, cout, 1, side_out)
        self.bn(cout)

    def path(self, cin: int, cout: int, side_out: int) -> None:  # path_1, path_2 and final_path_bn
        self.conv(cin, cout // 2, 1, side_out)
        self.conv(cin, cout // 2, 1, side_out)
        self.bn(cout)


def half(n: int) -> int:
    return -(-n // 2)


def nasnet(n: int, penultimate: int, stem: int, side: int, classes: int = 1000) -> Tally:
    """NASNet-A by timm's classes: CellStem0/1, FirstCell, NormalCell, ReductionCell0/1, at `side`×`side`."""
    t = Tally()
    ch = penultimate // 24
    s = (side - 3) // 2 + 1  # conv0: 3×3/2, no padding
    t.conv(3, stem, 3, s)
    t.bn(stem)
    # cell_stem_0 on stem channels: c = ch // 4
    c, s2 = ch // 4, half(s)
    t.act_conv_bn(stem, c, s)
    t.branch(c, c, 5, s2)  # comb 0 left, on conv_1x1
    t.branch(stem, c, 7, s2)  # comb 0 right (stem cell: the first separable maps stem → c)
    t.branch(stem, c, 7, s2)
    t.branch(stem, c, 5, s2)
    t.branch(c, c, 3, s2)  # comb 4 left, on comb 0
    stem0, s = 4 * c, s2
    # cell_stem_1: x = stem_0 (4·c at s), prev = conv0 (stem at s_prev); c = ch // 2
    c, s2 = ch // 2, half(s)
    t.act_conv_bn(stem0, c, s)
    t.path(stem, c, s)  # conv0 is twice the size: the 1×1/2 pools bring it to s
    for k in (5, 7, 7, 5):
        t.branch(c, c, k, s2)
    t.branch(c, c, 3, s2)
    x_ch, prev_ch, s = 4 * c, stem0, s2

    def normal(x: int, prev: int, c: int, side: int, first: bool) -> None:
        if first:
            t.path(prev, c, side)
        else:
            t.act_conv_bn(prev, c, side)
        t.act_conv_bn(x, c, side)
        for k in (5, 3, 5, 3, 3):  # comb 0 left/right, comb 1 left/right, comb 4 left
            t.branch(c, c, k, side)

    def reduction(x: int, prev: int, c: int, side: int) -> None:
        t.act_conv_bn(prev, c, side)
        t.act_conv_bn(x, c, side)
        for k in (5, 7, 7, 5, 3):
            t.branch(c, c, k, half(side))

    outs: list[int] = [prev_ch, x_ch]  # channels of the cells so far, the latest last
    for stage in range(3):
        c = ch * 2**stage
        if stage:
            reduction(outs[-1], outs[-2], c, s)
            outs.append(4 * c)
            s = half(s)
            prev = outs[-3]  # the cell after a reduction takes the reduction's own prev
        else:
            prev = outs[-2]
        normal(outs[-1], prev, c, s, first=True)
        outs.append(6 * c)
        for _ in range(n - 1):
            normal(outs[-1], outs[-2], c, s, first=False)
            outs.append(6 * c)
    t.params += outs[-1] * classes + classes
    t.macs += outs[-1] * classes
    return t


def test_nasnet_large_closed_form() -> None:
    a = analyze("nasnet_a_large")
    t = nasnet(6, 4032, 96, 331)
    assert (a.totals.params, a.totals.macs) == (t.params, t.macs) == (88_753_150, 23_783_414_658)
    assert a.input == (3, 331, 331)
    names = by_name(a)
    assert names["cell_stem_0.combs.cat"].output_shape == (168, 83, 83)
    assert names["stage1.cell_5.combs.cat"].output_shape == (1008, 42, 42)
    assert names["reduction_cell_1.combs.cat"].output_shape == (2688, 11, 11)
    assert names["stage3.cell_5.combs.cat"].output_shape == (4032, 11, 11)


def test_nasnet_mobile_closed_form_and_paper() -> None:
    a = analyze("nasnet_a_mobile")
    t = nasnet(4, 1056, 32, 224)
    assert (a.totals.params, a.totals.macs) == (t.params, t.macs) == (5_289_978, 563_638_816)
    assert round(a.totals.params / 1e6, 1) == 5.3  # Table 3
    assert round(a.totals.macs / 1e6) == 564  # Table 3: 564M mult-adds
    assert by_name(a)["stage3.cell_3.combs.cat"].output_shape == (1056, 7, 7)


def test_cells_read_the_two_previous_cells() -> None:
    names = by_name(analyze("nasnet_a_mobile"))
    # a normal cell: right from the previous cell, left from the one before
    assert names["stage1.cell_2.conv_1x1.act"].inputs == ("stage1.cell_1.combs.cat",)
    assert names["stage1.cell_2.conv_prev_1x1.act"].inputs == ("cell_0.combs.cat",)
    # the first cell after a reduction: prev is the reduction cell's own prev (from: [-1, -3])
    assert names["reduction_cell_0.conv_prev_1x1.act"].inputs == ("stage1.cell_2.combs.cat",)
    assert names["cell_after_reduction_0.left.act"].inputs == ("stage1.cell_2.combs.cat",)
    assert names["cell_after_reduction_0.conv_1x1.act"].inputs == ("reduction_cell_0.combs.cat",)
    # the cell stems: cell_stem_1 reads conv0 (prev) and cell_stem_0 (x)
    assert names["cell_stem_1.left.act"].inputs == ("conv0.bn",)
    assert names["cell_stem_1.conv_1x1.act"].inputs == ("cell_stem_0.combs.cat",)


# ---------------------------------------------------------------------------- FractalNet


def test_fractalnet_by_hand() -> None:
    a = analyze("fractalnet")
    params = macs = 0
    c, side = 3, 32
    for w in (64, 128, 256, 512, 512):  # three 3×3 convs from c, four from w, with bias; no BN scale
        weights = 9 * w * (3 * c + 4 * w)
        params += weights + 7 * w
        macs += side * side * weights
        c, side = w, side // 2
    params += 512 * 10 + 10
    macs += 512 * 10
    assert (a.totals.params, a.totals.macs) == (params, macs) == (33_714_314, 845_222_912)
    names = by_name(a)
    join = names["block1.join"]
    assert join.kind == "mean" and join.inputs == ("block1.pool0", "block1.pool1", "block1.pool2")
    assert names["block1.join_1"].inputs == ("block1.conv1_0.relu", "block1.conv2_1.relu")
    assert names["block2.conv0_0.conv"].inputs == ("block1.join",)
    assert join.flops == 3 * 64 * 16 * 16  # 2 adds and 1 divide per element
    # the deepest path is 4 convolutions per block: 20 weighted layers and the classifier
    assert a.weighted_depth == 21


# ---------------------------------------------------------------------------- timm


@pytest.fixture(scope="module")
def timm_module() -> Iterator[Any]:
    """timm, imported with the stub torchvision's compiled ops need on this CPU torch; skipped without it."""
    stub = "torchvision._meta_registrations"
    added = stub not in sys.modules
    if added:
        sys.modules[stub] = types.ModuleType(stub)
    try:
        timm = pytest.importorskip("timm")
        yield timm
    finally:
        if added:
            sys.modules.pop(stub, None)


@pytest.mark.slow
def test_nasnet_large_equals_timm(timm_module: Any) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = timm_module.create_model("nasnetalarge").eval()
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 331, 331))
    a = analyze("nasnet_a_large")
    assert a.totals.params == params
    assert 2 * a.totals.macs == counter.get_total_flops()
