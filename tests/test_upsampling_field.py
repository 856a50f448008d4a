"""The receptive field after upsampling is an upper bound (docs/conventions.md, "Upsampling: an upper
bound"): for small networks mixing strided convolutions with each upsampling kind, the field archcost
reports is at least the largest one autograd measures over every output position, and the rule is
tight enough to be useful (within a few pixels here) except past the input's resolution, where the
jump cannot fall below one input pixel."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import AnalyzeYaml

NETWORKS = {
    # layers after a 1×32×32 input: (spec items, the torch modules in the same order)
    "nearest_after_stride": (
        ["conv: {out: 1, kernel: 3, stride: 2}", "upsample: {scale: 2}", "conv: {out: 1, kernel: 3}"],
        lambda nn: [nn.Conv2d(1, 1, 3, stride=2), nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3)],
    ),
    "nearest_beyond_input": (
        ["upsample: {scale: 3}", "conv: {out: 1, kernel: 5}", "conv: {out: 1, kernel: 3}"],
        lambda nn: [nn.Upsample(scale_factor=3), nn.Conv2d(1, 1, 5), nn.Conv2d(1, 1, 3)],
    ),
    "bilinear": (
        ["conv: {out: 1, kernel: 3, stride: 2}", "upsample: {mode: bilinear, scale: 2}", "conv: {out: 1, kernel: 3}"],
        lambda nn: [nn.Conv2d(1, 1, 3, stride=2), nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(1, 1, 3)],
    ),
    "transposed_3_2": (
        [
            "conv: {out: 1, kernel: 3, stride: 2}",
            "conv_transpose: {out: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
            "conv: {out: 1, kernel: 3}",
        ],
        lambda nn: [
            nn.Conv2d(1, 1, 3, stride=2),
            nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1),
            nn.Conv2d(1, 1, 3),
        ],
    ),
    "transposed_twice": (
        [
            "conv: {out: 1, kernel: 3, stride: 4}",
            "conv_transpose: {out: 1, kernel: 2, stride: 2}",
            "conv: {out: 1, kernel: 3}",
            "conv_transpose: {out: 1, kernel: 4, stride: 2}",
            "conv: {out: 1, kernel: 3}",
        ],
        lambda nn: [
            nn.Conv2d(1, 1, 3, stride=4),
            nn.ConvTranspose2d(1, 1, 2, stride=2),
            nn.Conv2d(1, 1, 3),
            nn.ConvTranspose2d(1, 1, 4, stride=2),
            nn.Conv2d(1, 1, 3),
        ],
    ),
}


BEYOND_INPUT = {"nearest_beyond_input"}
"""Networks that upsample past the input's resolution, where the jump is counted as one input pixel
and the bound is loose."""


def measured_fields(modules: list[Any], side: int) -> set[int]:
    """Along H, the input rows each output row's gradient reaches (positive weights: nothing cancels)."""
    torch = pytest.importorskip("torch")
    from torch import nn

    model = nn.Sequential(*modules).double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    x = torch.zeros(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    out = model(x)
    fields = set()
    column = out.shape[3] // 2
    for row in range(out.shape[2]):
        (grad,) = torch.autograd.grad(out[0, 0, row, column], x, retain_graph=True)
        rows = (grad[0, 0].abs().sum(dim=1) != 0).nonzero()
        if rows[0] > 0 and rows[-1] < side - 1:  # a field clipped by the border says nothing
            fields.add(int(rows[-1] - rows[0]) + 1)
    return fields


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_field_is_an_upper_bound(name: str, analyze_yaml: AnalyzeYaml) -> None:
    torch = pytest.importorskip("torch")
    items, build = NETWORKS[name]
    side = 32
    body = "".join(f"  - {item}\n" for item in items)
    analysis = analyze_yaml(f"archcost: 1\nname: {name}\ninput: [1, {side}, {side}]\nlayers:\n{body}")
    fields = measured_fields(build(torch.nn), side)
    assert fields, "no output row has an unclipped field"
    reported = analysis.output.rf[0]
    assert reported >= max(fields)
    if name in BEYOND_INPUT:  # the jump cannot go below one input pixel: 9 reported, 3 measured
        assert (reported, max(fields)) == (9, 3)
    else:
        assert reported - max(fields) <= 4  # and not much larger
