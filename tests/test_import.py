"""`archcost import` and `verify --against`: imported specs equal their modules (params = sum(p.numel()),
MACs = FlopCounterMode / 2, output shape), for every bundled spec built in torch, for modules written here
the way users write them, and for torchvision's classification models; unmappable operations are one line.

The figures an import reports are checked against torch inside the importer too; these tests compute the
module's figures themselves, on real CPU tensors where it is cheap, so the importer's check is not the judge.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from archcost import engine, spec  # noqa: E402
from archcost.cli import app  # noqa: E402
from archcost.errors import SpecError  # noqa: E402
from archcost.importer import import_module  # noqa: E402
from archcost.importer.source import import_torchvision, load  # noqa: E402
from archcost.torchcheck.build import build  # noqa: E402
from tests.cli_runner import CliRunner  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def torch_figures(module: Any, shape: tuple[int, ...]) -> tuple[int, int, tuple[int, ...]]:
    """params, MACs (FlopCounterMode / 2) and output shape of `module`, computed here on the meta device."""
    from torch.utils.flop_counter import FlopCounterMode

    module = module.eval()
    x = torch.empty(1, *shape, device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module.to("meta")(x)
    return sum(p.numel() for p in module.parameters()), counter.get_total_flops() // 2, tuple(out.shape[1:])


def imported(module: Any, shape: tuple[int, ...], name: str = "net") -> engine.Analysis:
    """The analysis of the spec imported from `module`, loaded again from its text."""
    result = import_module(module, shape, name=name, title=name, reference=f"test:{name}")
    return engine.analyze(spec.load_text(result.text, f"{name}.yaml"))


def assert_exact(module: Any, shape: tuple[int, ...]) -> engine.Analysis:
    params, macs, output = torch_figures(module, shape)
    analysis = imported(module, shape)
    assert (analysis.totals.params, analysis.totals.macs, analysis.output.output_shape) == (params, macs, output)
    return analysis


# ---------------------------------------------------------------------------- round trip of the bundled specs

ROUND_TRIP = [n for n in spec.bundled_names() if len(engine.analyze(spec.load(n)).input) == 3]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_round_trip(name: str) -> None:
    """Every bundled spec built in torch (archcost's builder) and imported back has the same figures."""
    original = engine.analyze(spec.load(name))
    with torch.device("meta"):
        module = build(original)
    result = import_module(module, original.input, name=name, title=name, reference=f"build:{name}")
    back = engine.analyze(spec.load_text(result.text, f"{name}.yaml"))
    assert back.totals.params == original.totals.params
    assert back.totals.macs == original.totals.macs
    assert back.output.output_shape == original.output.output_shape
    weighted = {r.name: (r.params, r.macs) for r in original.layers if r.params or r.macs}
    by_name = {r.name: (r.params, r.macs) for r in back.layers}
    same_names = [n for n in weighted if n in by_name]
    assert all(by_name[n] == weighted[n] for n in same_names)


# ---------------------------------------------------------------------------- user-style modules


class Functional(nn.Module):
    """Functional activations and pooling, a flatten by view."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x: Any) -> Any:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.silu(self.conv2(x))
        x = F.adaptive_avg_pool2d(x, 4)
        return self.fc(x.view(x.size(0), -1))


class Residual(nn.Module):
    """A residual add with a 1×1 projection, a concatenation, squeeze-and-excitation, `mean` pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.a = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.b = nn.Conv2d(32, 32, 3, padding=1)
        self.proj = nn.Conv2d(16, 32, 1, stride=2)
        self.left = nn.Conv2d(32, 8, 1)
        self.right = nn.Conv2d(32, 8, 3, padding=1)
        self.se_reduce = nn.Conv2d(48, 12, 1)
        self.se_expand = nn.Conv2d(12, 48, 1)
        self.head = nn.Linear(48, 5)

    def forward(self, x: Any) -> Any:
        x = F.relu(self.stem(x))
        y = self.b(F.relu(self.a(x)))
        x = F.relu(y + self.proj(x))
        x = torch.cat([x, self.left(x), self.right(x)], dim=1)
        gate = torch.sigmoid(self.se_expand(F.relu(self.se_reduce(x.mean((2, 3), keepdim=True)))))
        x = x * gate
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class EncoderDecoder(nn.Module):
    """An encoder–decoder: strided convs down, ConvTranspose2d and nn.Upsample up, a skip concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec = nn.Conv2d(32, 16, 3, padding=1)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x: Any) -> Any:
        skip = self.enc1(x)
        x = self.up(self.enc2(skip))
        x = F.relu(self.dec(torch.cat([x, skip], dim=1)))
        return self.out(self.upsample(x))


class TinyViT(nn.Module):
    """A small ViT: patch embedding, class token, position embedding, nn.MultiheadAttention blocks."""

    def __init__(self, dim: int = 32, depth: int = 2) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 17, dim))
        self.blocks = nn.ModuleList(Block(dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: Any) -> Any:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


class EncoderViT(nn.Module):
    """A small ViT from nn.TransformerEncoderLayer: class token, position embedding, pre-norm layers."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, 17, dim))
        layer = nn.TransformerEncoderLayer(dim, 4, 64, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.post = nn.TransformerEncoderLayer(dim, 2, 48, batch_first=True)  # post-norm, ReLU
        self.head = nn.Linear(dim, 10)

    def forward(self, x: Any) -> Any:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        return self.head(self.post(self.encoder(x))[:, 0])


class Block(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Any) -> Any:
        y = self.ln1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class NotATree(nn.Module):
    """`b` is read again after the concatenation it feeds has merged: written with the graph construct."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(16, 8, 1)

    def forward(self, x: Any) -> Any:
        a = F.relu(self.conv1(x))
        b = self.conv2(a)
        return self.conv3(torch.cat([a, b], dim=1)) + b


def test_not_a_tree_uses_from() -> None:
    """conv1 3·3·3·8 + 8 = 224, conv2 3·3·8·8 + 8 = 584, conv3 16·8 + 8 = 136: 944 params; MACs on 8×8:
    64·8·27 + 64·8·72 + 64·8·16 = 13,824 + 36,864 + 8,192 = 58,880."""
    result = import_module(NotATree(), (3, 8, 8), name="net", title="net", reference="test:net")
    assert "- concat: {name: cat, from: [relu, conv2]}" in result.text
    assert "- add: {name: add, from: [conv3, conv2]}" in result.text
    analysis = engine.analyze(spec.load_text(result.text, "net.yaml"))
    assert (analysis.totals.params, analysis.totals.macs) == (944, 58_880)
    assert_exact(NotATree(), (3, 8, 8))


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (Functional, (3, 16, 16)),
        (Residual, (3, 16, 16)),
        (EncoderDecoder, (3, 16, 16)),
        (TinyViT, (3, 16, 16)),
        (EncoderViT, (3, 16, 16)),
    ],
    ids=["functional", "residual_concat_se", "encoder_decoder", "tiny_vit", "transformer_encoder_vit"],
)
def test_user_modules(make: Any, shape: tuple[int, ...]) -> None:
    analysis = assert_exact(make(), shape)
    assert analysis.totals.macs > 0


def test_names_are_module_paths() -> None:
    analysis = imported(EncoderDecoder(), (3, 16, 16))
    names = {r.name for r in analysis.layers}
    assert {"enc1.0", "enc1.1", "enc1.2", "enc2.0", "enc2.1", "up", "cat", "dec", "relu", "upsample", "out"} == names


def test_torchvision_names_are_module_paths() -> None:
    """Every module with parameters that runs is a layer of the same name (ResNet-50, MobileNet v2 with its
    residuals, ShuffleNet v2 with its channel split and concatenation)."""
    _torchvision()
    for name in ("resnet50", "mobilenet_v2", "shufflenet_v2_x0_5"):
        loaded = load(f"torchvision:{name}")
        result = import_module(loaded.module, loaded.input or (), name=name, title=name, reference=name)
        weighted = {
            path
            for path, m in loaded.module.named_modules()
            if not any(True for _ in m.children()) and any(True for _ in m.parameters(recurse=False))
        }
        assert weighted <= {r.name for r in result.analysis.layers}, name


def test_functional_residual_by_hand() -> None:
    """Residual's figures, by hand: stem 3·3·3·16 + 16 = 448, a 3·3·16·32 + 32 = 4,640, b 9,248, proj 544,
    left 264, right 2,312, SE 48·12 + 12 = 588 and 12·48 + 48 = 624, head 48·5 + 5 = 245: 18,913."""
    analysis = imported(Residual(), (3, 16, 16))
    assert analysis.totals.params == 448 + 4_640 + 9_248 + 544 + 264 + 2_312 + 588 + 624 + 245
    kinds = [r.kind for r in analysis.layers]
    assert kinds.count("add") == 1 and kinds.count("concat") == 1 and kinds.count("multiply") == 1


# ---------------------------------------------------------------------------- errors


class Rolls(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), Roll())

    def forward(self, x: Any) -> Any:
        return self.body(x)


class Roll(nn.Module):
    def forward(self, x: Any) -> Any:
        return torch.roll(x, 1, dims=2)


class AddsScalar(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: Any) -> Any:
        return self.conv(x) + 3


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (Rolls, "cannot import torch.roll: archcost has no layer kind for it at 'body.1'"),
        (AddsScalar, "+ of a computed tensor and 3"),
    ],
)
def test_unmapped_operation_is_named(make: Any, expected: str) -> None:
    with pytest.raises(SpecError) as caught:
        imported(make(), (3, 8, 8))
    assert expected in str(caught.value)


class BranchesOnSize(nn.Module):
    """Python control flow on a size: plain fx fails; the trace with this input's sizes follows the branch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        if y.shape[-1] > 4:
            y = torch.relu(y)
        return self.fc(y.mean((2, 3)))


class BranchesOnValues(BranchesOnSize):
    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        if y.sum() > 0:
            y = torch.relu(y)
        return self.fc(y.mean((2, 3)))


def test_control_flow_on_sizes_follows_this_input() -> None:
    """On 3×8×8 the conv gives 6×6 (> 4): the ReLU is taken; on 3×6×6 it gives 4×4 and is not.
    params 3·3·3·8 + 8 + 8·4 + 4 = 260; MACs 6·6·8·27 + 32 = 7,808."""
    big = imported(BranchesOnSize(), (3, 8, 8))
    assert [r.kind for r in big.layers] == ["conv", "relu", "global_avgpool", "flatten", "linear"]
    assert (big.totals.params, big.totals.macs) == (260, 7_808)
    small = imported(BranchesOnSize(), (3, 6, 6))
    assert "relu" not in [r.kind for r in small.layers]


def test_control_flow_on_values_is_one_line() -> None:
    with pytest.raises(SpecError) as caught:
        imported(BranchesOnValues(), (3, 8, 8))
    assert "cannot trace the module, even with this input's sizes" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_unmapped_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "net.py"
    source.write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 4, 3)\n\n"
        "    def forward(self, x):\n        return torch.roll(self.conv(x), 1, dims=2)\n"
    )
    out = tmp_path / "net.yaml"
    result = CliRunner().invoke(app, ["import", f"{source}:Net", "-o", str(out), "--input", "3x8x8"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "torch.roll" in result.stderr and "'conv'" not in result.stderr
    assert not out.exists()


def test_cli_needs_an_input_size(tmp_path: Path) -> None:
    source = tmp_path / "net.py"
    source.write_text("from torch import nn\n\ndef Net():\n    return nn.Conv2d(3, 4, 3)\n")
    result = CliRunner().invoke(app, ["import", f"{source}:Net", "-o", str(tmp_path / "n.yaml")])
    assert result.exit_code == 2 and "--input" in result.stderr and result.stderr.count("\n") == 1


def test_cli_writes_only_a_spec(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", "torchvision:resnet18", "-o", str(tmp_path / "r.png")])
    assert result.exit_code == 2 and ".yaml" in result.stderr


def test_cli_import_then_verify_against(tmp_path: Path) -> None:
    source = tmp_path / "net.py"
    source.write_text(
        "from torch import nn\n\n"
        "def Net():\n    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 4))\n"
    )
    out = tmp_path / "net.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["import", f"{source}:Net", "-o", str(out), "--input", "3x8x8"])
    assert result.exit_code == 0, result.output
    assert "1,380 params" in result.stdout  # conv 3·3·3·8 + 8 = 224, linear 8·6·6·4 + 4 = 1,156
    same = runner.invoke(app, ["verify", str(out), "--against", f"{source}:Net", "--input", "3x8x8"])
    assert same.exit_code == 0, same.output
    edited = tmp_path / "wider.yaml"
    edited.write_text(out.read_text().replace("out: 8,", "out: 16,"))
    differs = runner.invoke(app, ["verify", str(edited), "--against", f"{source}:Net", "--input", "3x8x8"])
    assert differs.exit_code == 1
    assert "first differing layer" in differs.stdout and "FAILED" in differs.stdout


# ---------------------------------------------------------------------------- torchvision


def _torchvision() -> Any:
    try:
        return import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed")


SAMPLE = [
    "resnet18",
    "googlenet",
    "densenet121",
    "mobilenet_v3_small",
    "shufflenet_v2_x0_5",
    "regnet_y_400mf",
    "vit_b_32",
    "convnext_tiny",
]


REFUSED = {
    "maxvit_t": "at 'blocks.0.layers.0.layers.window_attention.partition_swap'",
    "swin_v2_t": "torch.shifted_window_attention",
    "swin_v2_s": "torch.shifted_window_attention",
    "swin_v2_b": "torch.shifted_window_attention",
}
"""Classification models archcost cannot import (no kind for their operation): each is one line naming it."""


def _check_torchvision(name: str) -> None:
    _torchvision()
    loaded = load(f"torchvision:{name}")  # on meta (RegNet: only its weights)
    module, shape = loaded.module, loaded.input
    assert shape is not None
    if name in REFUSED:
        with pytest.raises(SpecError) as caught:
            import_module(module, shape, name=name, title=name, reference=f"torchvision:{name}")
        assert REFUSED[name] in str(caught.value) and "\n" not in str(caught.value)
        return
    params, macs, output = torch_figures(module, shape)
    result = import_module(module, shape, name=name, title=name, reference=f"torchvision:{name}")
    analysis = engine.analyze(spec.load_text(result.text, f"{name}.yaml"))
    assert analysis.totals.macs == macs
    assert analysis.output.output_shape == output
    auxiliary = sum(p.numel() for n, p in module.named_parameters() if n.startswith(("aux", "AuxLogits")))
    assert analysis.totals.params == params - auxiliary  # auxiliary heads do not run at inference


@pytest.mark.parametrize("name", SAMPLE)
def test_torchvision_sample(name: str) -> None:
    _check_torchvision(name)


def _all_classification() -> list[str]:
    try:
        return list(import_torchvision().models.list_models(module=import_torchvision().models))
    except ImportError:
        return []


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in _all_classification() if n not in SAMPLE])
def test_torchvision_every_classification_model(name: str) -> None:
    _check_torchvision(name)


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv3_small_100", "deit_tiny_patch16_224"])
def test_timm_sample(name: str) -> None:
    pytest.importorskip("timm")
    loaded = load(f"timm:{name}")
    assert loaded.input == (3, 224, 224)  # pretrained_cfg's input_size
    params, macs, output = torch_figures(loaded.module, loaded.input)
    result = import_module(loaded.module, loaded.input, name=name, title=name, reference=f"timm:{name}")
    analysis = engine.analyze(spec.load_text(result.text, f"{name}.yaml"))
    assert (analysis.totals.params, analysis.totals.macs, analysis.output.output_shape) == (params, macs, output)


def test_show_does_not_import_torch() -> None:
    code = "import sys; from archcost.cli import main; main(['show', 'lenet5']); assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr


def test_verify_against_torchvision_finds_the_stand_in() -> None:
    """The bundled resnet50 is the paper's (stride in the first 1×1 conv), torchvision's is v1.5 (stride in
    the 3×3): --against names the first layer that differs; with --set v15=true they agree."""
    _torchvision()
    runner = CliRunner()
    differs = runner.invoke(app, ["verify", "resnet50", "--against", "torchvision:resnet50"])
    assert differs.exit_code == 1
    assert "DIFFERS layer2.0.conv1: shape 128×28×28 / 128×56×56" in differs.stdout
    agrees = runner.invoke(app, ["verify", "resnet50", "--set", "v15=true", "--against", "torchvision:resnet50"])
    assert agrees.exit_code == 0, agrees.output
    assert "4,089,184,256 / 4,089,184,256" in agrees.stdout


def test_verify_takes_an_input_size() -> None:
    """`verify --input` analyses and builds the spec at another size (LeNet-5 on 36×36: c1 gives 32×32)."""
    pytest.importorskip("fvcore")
    result = CliRunner().invoke(app, ["verify", "lenet5", "--input", "1x36x36", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"ok": true' in result.stdout
