"""The bundled U-Net (Ronneberger et al. 2015) against the paper's Fig. 1 and §2, hand arithmetic, and a
torch U-Net written here from the paper's description (not from the spec).

The independent figures: every map size Fig. 1 prints, the "23 convolutional layers" of §2, parameters
and MACs summed by hand level by level, the same from the torch module (parameters counted by torch,
MACs as half of ``torch.utils.flop_counter.FlopCounterMode``'s count, run on the meta device so that no
arithmetic is done), and the receptive field measured with autograd on a narrow copy of the network.
"""

from __future__ import annotations

from typing import Any

import pytest

from archcost import engine, spec
from archcost.engine import Analysis

LEVELS = (64, 128, 256, 512)
BOTTOM = 1024


def analyze(**kwargs: Any) -> Analysis:
    return engine.analyze(spec.load("unet"), **kwargs)


def shapes(analysis: Analysis) -> dict[str, tuple[int, ...]]:
    return {layer.name: layer.output_shape for layer in analysis.layers}


def at(level: int, name: str) -> str:
    """The spec's path of `name` at level `level` (1..5: the nested branches lead down to the bottom)."""
    return ".".join([*(f"level{i}.lower" for i in range(1, level)), name])


# ---------------------------------------------------------------------------- Fig. 1 and §2


def test_map_sizes_are_fig1s() -> None:
    """Every size Fig. 1 prints, read off the figure (box, channels, x-y size)."""
    got = shapes(analyze())
    down = [(1, 570, 568), (2, 282, 280), (3, 138, 136), (4, 66, 64)]
    for level, first, second in down:
        prefix = at(level, f"down{level}")
        c = LEVELS[level - 1]
        assert got[f"{prefix}.conv1"] == (c, first, first)
        assert got[f"{prefix}.conv2"] == (c, second, second)
    bottom = at(5, "bottom")
    assert got[f"{bottom}.conv1"] == (BOTTOM, 30, 30)
    assert got[f"{bottom}.conv2"] == (BOTTOM, 28, 28)
    # the expansive path: up-conv output, the cropped copy, then two convolutions
    up = [(4, 56, 54, 52), (3, 104, 102, 100), (2, 200, 198, 196), (1, 392, 390, 388)]
    for level, side, first, second in up:
        c = LEVELS[level - 1]
        level_path = at(level, f"level{level}")
        assert got[f"{level_path}.lower.upconv"] == (c, side, side)
        assert got[f"{level_path}.skip"] == (c, side, side)
        assert got[f"{level_path}.concat"] == (2 * c, side, side)
        prefix = at(level, f"up{level}")
        assert got[f"{prefix}.conv1"] == (c, first, first)
        assert got[f"{prefix}.conv2"] == (c, second, second)
    assert got["final"] == (2, 388, 388)  # "output segmentation map", 2 classes


def test_pools_see_even_sizes() -> None:
    """§2: the tile is chosen so that every 2×2 max pool is applied to an even size."""
    analysis = analyze()
    pools = [r for r in analysis.layers if r.kind == "maxpool"]
    assert [r.input_shapes[0][1] for r in pools] == [568, 280, 136, 64]


def test_23_convolutional_layers() -> None:
    """§2: "In total the network has 23 convolutional layers": 18 3×3, 4 up-convolutions, the final 1×1."""
    analysis = analyze()
    kinds = [r.kind for r in analysis.layers if r.kind in ("conv", "conv_transpose")]
    assert (kinds.count("conv"), kinds.count("conv_transpose")) == (19, 4)
    assert analysis.weighted_depth == 23


# ---------------------------------------------------------------------------- by hand


def hand_counts() -> tuple[int, int]:
    """Parameters and MACs, level by level from Fig. 1's sizes (3×3 convs with bias, 2×2/2 up-convs)."""
    params = macs = 0

    def conv(cin: int, cout: int, k: int, side: int) -> None:
        nonlocal params, macs
        params += k * k * cin * cout + cout
        macs += side * side * cout * k * k * cin

    def upconv(cin: int, cout: int, side_in: int) -> None:  # MACs per input position
        nonlocal params, macs
        params += cin * cout * 2 * 2 + cout
        macs += side_in * side_in * cin * cout * 2 * 2

    cin = 1
    for c, (first, second) in zip(LEVELS, [(570, 568), (282, 280), (138, 136), (66, 64)], strict=True):
        conv(cin, c, 3, first)
        conv(c, c, 3, second)
        cin = c
    conv(512, BOTTOM, 3, 30)
    conv(BOTTOM, BOTTOM, 3, 28)
    side_in, cin = 28, BOTTOM
    for c, (first, second) in zip(reversed(LEVELS), [(54, 52), (102, 100), (198, 196), (390, 388)], strict=True):
        upconv(cin, c, side_in)
        conv(2 * c, c, 3, first)  # the concatenation doubles the channels
        conv(c, c, 3, second)
        side_in, cin = second, c
    conv(64, 2, 1, 388)
    return params, macs


def test_totals_by_hand() -> None:
    totals = analyze().totals
    assert (totals.params, totals.macs) == hand_counts()
    assert totals.params == 31_030_658
    assert totals.macs == 150_428_424_448


def test_up_convolution_by_hand() -> None:
    """The last up-convolution: 128 → 64 channels, 196 → 392 (Fig. 1), MACs per input position."""
    layer = {r.name: r for r in analyze().layers}["level1.lower.upconv"]
    assert layer.params == 128 * 64 * 2 * 2 + 64
    assert layer.macs == 196 * 196 * 128 * 64 * 2 * 2
    assert layer.flops == 2 * layer.macs + 64 * 392 * 392


def test_other_tiles() -> None:
    """The crops are margins, so any tile the paper allows works; the output is always 184 smaller."""
    for side in (188, 252, 668):
        analysis = analyze(input_override=(1, side, side))
        assert analysis.output.output_shape == (2, side - 184, side - 184)


# ---------------------------------------------------------------------------- torch


def torch_unet(width: int = 64, classes: int = 2, activation: Any = None, pool: Any = None) -> Any:
    """The network of Fig. 1 in torch, from the paper's text: unpadded 3×3 convs with ReLU, 2×2 max
    pools, 2×2 stride-2 up-convolutions halving the channels, centre crop and concatenation, a final 1×1."""
    torch = pytest.importorskip("torch")
    from torch import nn

    act = activation or nn.ReLU

    def double(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(cin, cout, 3), act(), nn.Conv2d(cout, cout, 3), act())

    def crop(x: Any, like: Any) -> Any:
        top = (x.shape[2] - like.shape[2]) // 2
        left = (x.shape[3] - like.shape[3]) // 2
        return x[:, :, top : top + like.shape[2], left : left + like.shape[3]]

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = [width * 2**i for i in range(5)]
            self.down = nn.ModuleList([double(1 if i == 0 else chans[i - 1], chans[i]) for i in range(4)])
            self.bottom = double(chans[3], chans[4])
            self.upconv = nn.ModuleList([nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in range(4)])
            self.up = nn.ModuleList([double(chans[i + 1], chans[i]) for i in range(4)])
            self.final = nn.Conv2d(chans[0], classes, 1)
            self.pool = (pool or nn.MaxPool2d)(2)

        def forward(self, x: Any) -> Any:
            skips = []
            for block in self.down:
                x = block(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottom(x)
            for i in reversed(range(4)):
                x = self.upconv[i](x)
                x = self.up[i](torch.cat([crop(skips[i], x), x], dim=1))
            return self.final(x)

    return UNet()


def test_params_and_macs_against_torch() -> None:
    """Parameters counted by torch; MACs = FlopCounterMode / 2 (conv and transposed conv), on meta tensors."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = torch_unet()
        x = torch.empty(1, 1, 572, 572)
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x)
    assert tuple(out.shape) == (1, 2, 388, 388)
    totals = analyze().totals
    assert sum(p.numel() for p in model.parameters()) == totals.params
    assert counter.get_total_flops() == 2 * totals.macs


def test_level_groups_against_torch() -> None:
    """Each level's parameters, group by group: the spec's names against the torch module's."""
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        model = torch_unet()
    analysis = analyze()

    def spec_params(prefix: str) -> int:
        return sum(r.params for r in analysis.layers if r.name.startswith(prefix + "."))

    def torch_params(module: Any) -> int:
        return sum(p.numel() for p in module.parameters())

    for i in range(4):
        level = i + 1
        down, up = at(level, f"down{level}"), at(level, f"up{level}")
        assert spec_params(down) == torch_params(model.down[i])
        assert spec_params(up) == torch_params(model.up[i])
        upconv = {r.name: r for r in analysis.layers}[at(level + 1, "upconv")]
        assert upconv.params == torch_params(model.upconv[i])
    assert spec_params(at(5, "bottom")) == torch_params(model.bottom)


def test_receptive_field_against_autograd() -> None:
    """The output's receptive field, measured: the input pixels one output pixel's gradient reaches, in a
    one-channel-wide copy with identity activations, average pools (a max pool's gradient reaches one
    input of its window; the window is the same) and positive weights, so that no path is cut or cancels.

    After upsampling the field depends on the pixel's position (188 or 204 here, by the phase of the
    16-pixel grid of the bottom level); the analysis gives an upper bound (layers/resample.py), 215.
    """
    torch = pytest.importorskip("torch")
    from torch import nn

    side = 252  # a tile the network accepts (output 68) with room for a 215-pixel field around the centre
    model = torch_unet(width=1, activation=nn.Identity, pool=nn.AvgPool2d).double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    x = torch.zeros(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    out = model(x)
    fields = set()
    for i in range(26, 26 + 16):  # every phase of the bottom level's 16-pixel grid, on the diagonal
        (grad,) = torch.autograd.grad(out[0, 0, i, i], x, retain_graph=True)
        reached = (grad[0, 0] != 0).nonzero()
        fields.add(tuple(int(reached[:, a].max() - reached[:, a].min()) + 1 for a in (0, 1)))
    assert fields == {(188, 188), (204, 204)}
    analysis = analyze(input_override=(1, side, side))
    assert analysis.output.rf == (215, 215)  # 200 by the forward rule, + 8 + 4 + 2 + 1 at the up-convolutions
    assert all(analysis.output.rf[a] >= f[a] for f in fields for a in (0, 1))
