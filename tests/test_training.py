"""The cost of training: stochastic depth's `survival`, expected training MACs and training-step MACs.

References: hand arithmetic (written out at each use), the p_last = 1 identity, the paper's expected
depth, and torch's FlopCounterMode on a forward + backward step (torchvision's resnet18, the archcost
build, a depthwise conv where FlopCounterMode over-counts). The torch tests skip without torch.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from cli_runner import CliRunner
from conftest import AnalyzeYaml, analyze_bundled, by_name

from archcost import check, engine, layers, spec, training
from archcost.cli import app
from archcost.errors import SpecError

runner = CliRunner()

RESNET18_MACS = 1_814_073_344
"""resnet18's MACs (tests/test_specs.py derives them from the paper's Table 1 layers)."""
RESNET18_CONV1 = 112 * 112 * 64 * 7 * 7 * 3  # 118,013,952: the stem, whose input is the image


# ---------------------------------------------------------------------------- hand arithmetic

TINY = """
archcost: 1
name: tiny
input: [3, 8, 8]
params: {p: 0.5}
layers:
  - conv: {name: stem, out: 4, kernel: 3, padding: 1, bias: false}
  - residual:
      name: block
      survival: $p
      layers:
        - conv: {name: conv, out: 4, kernel: 3, padding: 1}
        - relu
  - global_avgpool
  - flatten
  - linear: {name: fc, out: 10}
"""
STEM = 8 * 8 * 4 * 3 * 3 * 3  # 6,912: its input is the image, so no input gradient
BODY = 8 * 8 * 4 * 3 * 3 * 4  # 9,216
FC = 4 * 10  # 40


def test_tiny_spec_by_hand(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(TINY)
    t = training.training(a)
    assert by_name(a)["block.conv"].survival == 0.5
    assert by_name(a)["block.add"].survival == 1.0  # the shortcut's add runs in every step
    assert a.totals.macs == STEM + BODY + FC
    assert t.expected_train_macs == STEM + BODY // 2 + FC
    assert t.expected_weight_grad_macs == STEM + BODY // 2 + FC
    assert t.expected_input_grad_macs == BODY // 2 + FC  # the stem sends no gradient into the image
    assert t.train_step_macs == 2 * STEM + 3 * BODY // 2 + 3 * FC
    assert t.skipped_input_grad_macs == STEM
    assert [s.name for s in t.skipped] == ["stem"]
    assert t.stochastic


def test_tiny_spec_survival_one_is_the_plain_network(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(TINY, overrides={"p": 1})
    t = training.training(a)
    assert t.expected_train_macs == a.totals.macs
    assert t.train_step_macs == 3 * a.totals.macs - STEM
    assert not t.stochastic


def test_resnet18_step_by_hand() -> None:
    a = analyze_bundled("resnet18")
    t = training.training(a)
    assert a.totals.macs == RESNET18_MACS
    assert t.expected_train_macs == RESNET18_MACS
    assert t.train_step_macs == 3 * RESNET18_MACS - RESNET18_CONV1 == 5_324_206_080
    assert [s.name for s in t.skipped] == ["conv1"]


def test_no_gradient_until_the_first_parameter(analyze_yaml: AnalyzeYaml) -> None:
    """A pool before the first conv passes no gradient to it either: only the image's descendants
    through a parameter take one."""
    a = analyze_yaml(
        """
archcost: 1
name: pooled
input: [3, 8, 8]
layers:
  - maxpool: {kernel: 2}
  - conv: {name: c1, out: 2, kernel: 1, bias: false}
  - conv: {name: c2, out: 2, kernel: 1, bias: false}
"""
    )
    c1 = c2 = 4 * 4 * 2 * 3  # then 4·4·2·2 for c2
    c2 = 4 * 4 * 2 * 2
    assert training.training(a).train_step_macs == 2 * c1 + 3 * c2


def test_a_kind_states_its_backward_rule() -> None:
    """conv and linear: weights and input again; every other kind today: none (element-wise)."""
    conv, relu = layers.KINDS["conv"], layers.KINDS["relu"]
    args = conv.args_of({"out": 4, "kernel": 3})
    assert conv.backward(((3, 8, 8),), (4, 6, 6), args, 100, (True,)) == layers.Backward(weights=100, inputs=100)
    assert conv.backward(((3, 8, 8),), (4, 6, 6), args, 100, (False,)) == layers.Backward(weights=100, inputs=0)
    assert relu.backward(((3, 8, 8),), (3, 8, 8), relu.args_of({}), 0, (True,)) == layers.Backward()
    # a product of two activations (attention's Q·Kᵀ): each operand's gradient is the forward again
    assert layers.activation_matmul((), (), layers.Args(), 50, (True, True)) == layers.Backward(inputs=100)
    assert layers.activation_matmul((), (), layers.Args(), 50, (True, False)) == layers.Backward(inputs=50)
    # every weighted kind (the kinds with MACs) states a backward rule; no other kind has one
    for kind in layers.CATALOG:
        assert kind.weighted == (kind.backward is not layers.no_backward_macs), kind.name
    attention = layers.KINDS["attention"]
    n, d = 197, 768  # ViT-B/16: projections 4·N·D², matmuls 2·N²·D
    projections, matmuls = 4 * n * d * d, 2 * n * n * d
    back = attention.backward(((n, d),), (n, d), attention.args_of({"heads": 12}), projections + matmuls, (True,))
    assert back == layers.Backward(weights=projections, inputs=projections + 2 * matmuls)
    first = attention.backward(((n, d),), (n, d), attention.args_of({"heads": 12}), projections + matmuls, (False,))
    assert first == layers.Backward(weights=projections, inputs=n * d * d + 2 * matmuls)  # only the output projection


# ---------------------------------------------------------------------------- the bundled ResNet-110


def _resnet110_block_macs() -> list[int]:
    """The two 3×3 convs of each of the 54 blocks, by hand: 16 channels on 32×32, 32 on 16×16, 64 on 8×8;
    a stage's first block (after the first stage) strides its first conv from half the channels."""
    out = []
    for stage, (c, hw) in enumerate([(16, 32), (32, 16), (64, 8)]):
        for i in range(18):
            cin = c // 2 if stage and i == 0 else c
            out.append(hw * hw * c * 9 * cin + hw * hw * c * 9 * c)
    return out


RESNET110_STEM = 32 * 32 * 16 * 3 * 3 * 3  # 442,368
RESNET110_FC = 64 * 10


def test_resnet110_figures_by_hand() -> None:
    a = analyze_bundled("resnet110_stochastic_depth")
    blocks = _resnet110_block_macs()
    assert a.totals.macs == RESNET110_STEM + sum(blocks) + RESNET110_FC == 252_887_680
    # params: convs with bias (the authors' code), BN γ/β, the fc; option-A shortcuts have none
    convs = (
        [(3, 16)] + [(16, 16)] * 36 + [(16, 32), (32, 32)] + [(32, 32)] * 34 + [(32, 64), (64, 64)] + [(64, 64)] * 34
    )
    params = sum(9 * i * o + o + 2 * o for i, o in convs) + 64 * 10 + 10
    assert a.totals.params == params == 1_732_010
    assert a.weighted_depth == 110
    survival = [1 - Fraction(block, 54) * Fraction(1, 2) for block in range(1, 55)]  # p_l = 1 − l/L·(1 − p_L)
    assert sum(survival) == Fraction(161, 4)  # the paper's expected depth (3L − 1)/4 ≈ 40
    t = training.training(a)
    exact = RESNET110_STEM + sum(p * m for p, m in zip(survival, blocks, strict=True)) + RESNET110_FC
    assert abs(t.expected_train_macs - exact) <= Fraction(1, 2) + Fraction(1, 10**6)  # float survivals
    step = 2 * RESNET110_STEM + sum(3 * p * m for p, m in zip(survival, blocks, strict=True)) + 3 * RESNET110_FC
    assert abs(t.train_step_macs - step) <= 1


def test_resnet110_p_last_one_is_the_plain_network() -> None:
    a = analyze_bundled("resnet110_stochastic_depth", p_last=1)
    t = training.training(a)
    assert {layer.survival for layer in a.layers} == {1.0}
    assert t.expected_train_macs == a.totals.macs
    assert t.train_step_macs == 3 * a.totals.macs - RESNET110_STEM


def test_resnet110_survival_decays_linearly_per_block() -> None:
    layers_ = by_name(analyze_bundled("resnet110_stochastic_depth"))
    assert layers_["layer1.0.conv1"].survival == pytest.approx(1 - 1 / 108)
    assert layers_["layer2.0.conv1"].survival == pytest.approx(1 - 19 / 108)
    assert layers_["layer3.17.conv2"].survival == pytest.approx(0.5)
    assert layers_["layer3.17.relu2"].survival == 1.0  # after the add: runs in every step
    assert layers_["layer2.0.shortcut.pad"].survival == 1.0


def test_resnet110_paper_check_passes() -> None:
    s = spec.load("resnet110_stochastic_depth")
    rows = check.check_spec(s, lambda settings, shape: engine.analyze(s, overrides=settings, input_override=shape))
    verdicts = {(r.figure, r.setting): r.verdict for r in rows}
    assert verdicts[("params", "")] == "pass"
    assert verdicts[("train_saving", "")] == "pass"
    saving = next(r.computed for r in rows if r.figure == "train_saving")
    assert isinstance(saving, float) and 24.5 < saving < 25.5


# ---------------------------------------------------------------------------- the language


def _error(analyze_yaml: AnalyzeYaml, text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        analyze_yaml(text)
    return info.value


SURVIVAL = """
archcost: 1
name: s
input: [3, 8, 8]
params: {{p: 0.5}}
layers:
  - residual:
      survival: {value}
      layers:
        - conv: {{out: 3, kernel: 1}}
"""


@pytest.mark.parametrize("value", ["1.5", "-0.1", "true", "high", "[0.5]", "2", "9" * 200])
def test_a_literal_survival_outside_0_1_is_an_error_at_its_line(analyze_yaml: AnalyzeYaml, value: str) -> None:
    err = _error(analyze_yaml, SURVIVAL.format(value=value))
    assert err.location.line == 8 and "survival must be a probability in [0, 1]" in str(err)


@pytest.mark.parametrize("value", ["$(p * 4)", "$(p > 0)", "$(1 - p - 1)", "$(10 ** 29)"])
def test_an_expression_survival_outside_0_1_is_an_error_at_its_line(analyze_yaml: AnalyzeYaml, value: str) -> None:
    err = _error(analyze_yaml, SURVIVAL.format(value=value))
    assert err.location.line == 8 and "survival must be a probability in [0, 1]" in str(err)


def test_nested_residuals_multiply_their_survival(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(
        """
archcost: 1
name: nested
input: [3, 8, 8]
layers:
  - residual:
      name: outer
      survival: 0.5
      layers:
        - residual:
            name: inner
            survival: 0.5
            layers:
              - conv: {name: c, out: 3, kernel: 1}
"""
    )
    assert by_name(a)["outer.inner.c"].survival == 0.25
    assert by_name(a)["outer.inner.add"].survival == 0.5


def test_copy_is_the_repeat_index(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(
        """
archcost: 1
name: copies
input: [3, 8, 8]
layers:
  - conv: {name: c, out: $(4 + copy), kernel: 1, repeat: 3}
"""
    )
    assert [layer.output_shape[0] for layer in a.layers] == [4, 5, 6]


def test_copy_is_reserved_and_unknown_outside_a_repeat(analyze_yaml: AnalyzeYaml) -> None:
    err = _error(analyze_yaml, "archcost: 1\nname: r\ninput: [3, 8, 8]\nparams: {copy: 1}\nlayers: [relu]\n")
    assert err.location.line == 4 and "'copy' is reserved" in str(err)
    err = _error(analyze_yaml, "archcost: 1\nname: r\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: $copy, kernel: 1}\n")
    assert err.location.line == 5 and "copy" in str(err)


# ---------------------------------------------------------------------------- the command line


def _show(*args: str) -> Any:
    result = runner.invoke(app, ["show", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_show_train_json() -> None:
    data = json.loads(_show("resnet18", "--train", "--format", "json"))
    totals = data["totals"]
    assert totals["expected_train_macs"] == totals["macs"] == RESNET18_MACS
    assert totals["train_step_macs"] == 5_324_206_080
    assert totals["train_weight_grad_macs"] + totals["train_input_grad_macs"] + totals["macs"] == 5_324_206_080
    first = data["layers"][0]
    assert first["survival"] == 1.0 and first["train_step_macs"] == 2 * RESNET18_CONV1
    assert sum(layer["train_step_macs"] for layer in data["layers"]) == 5_324_206_080
    grouped = json.loads(_show("resnet110_stochastic_depth", "--train", "--depth", "1", "--format", "json"))
    steps = [g["step_macs"] for g in grouped["groups"]]
    assert abs(sum(steps) - grouped["totals"]["train_step_macs"]) <= len(grouped["layers"]) / 2  # each rounded
    assert "train_step_macs" in grouped["conventions"]
    plain = json.loads(_show("resnet18", "--format", "json"))
    assert "train_step_macs" not in plain["totals"] and "survival" not in plain["layers"][0]
    assert "train_step_macs" not in plain["conventions"]


def test_show_train_table_and_explain() -> None:
    table = _show("resnet110_stochastic_depth", "--train", "--depth", "1")
    assert "step MACs" in table and "expected MACs" in table and "stochastic depth" in table
    explained = _show("resnet18", "--train", "--explain")
    assert "conv1: " in explained
    assert (
        "step = 118,013,952 fwd + 118,013,952 ∂W + 0 ∂x (no gradient flows into its input) = 236,027,904" in explained
    )
    assert "5,324,206,080" in explained
    sd = _show("resnet110_stochastic_depth", "--train", "--explain")
    assert "× survival 0.5 = " in sd


# ---------------------------------------------------------------------------- torch


@pytest.fixture
def torchvision() -> Iterator[Any]:
    """torchvision, its compiled-op registrations stubbed (they do not match this CPU torch); skipped without it."""
    pytest.importorskip("torch")
    stub = "torchvision._meta_registrations"
    had = stub in sys.modules
    if not had:
        sys.modules[stub] = types.ModuleType(stub)
    try:
        yield pytest.importorskip("torchvision")
    finally:
        if not had:
            sys.modules.pop(stub, None)


def _flop_counter(run: Any) -> tuple[int, dict[str, int]]:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        run()
    return int(counter.get_total_flops()), {str(k): int(v) for k, v in counter.get_flop_counts()["Global"].items()}


def test_resnet18_step_is_half_of_flop_counter_on_torchvision(torchvision: Any) -> None:
    import torch

    model = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224)
    total, _ = _flop_counter(lambda: model(x).sum().backward())
    assert total == 2 * training.training(analyze_bundled("resnet18")).train_step_macs == 2 * 5_324_206_080


def test_flop_counter_over_counts_a_depthwise_backward() -> None:
    """What docs/conventions.md says: torch 2.13 counts a grouped conv's weight gradient `groups` times."""
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
    x = torch.randn(1, 32, 56, 56, requires_grad=True)
    _, by_op = _flop_counter(lambda: conv(x).sum().backward())
    forward = 56 * 56 * 32 * 3 * 3  # 903,168 MACs
    assert by_op["aten.convolution"] == 2 * forward == 1_806_336
    assert by_op["aten.convolution_backward"] == 59_609_088 == 2 * forward + 32 * 2 * forward  # ours: 2 × 1,806,336
    a = engine.analyze(
        spec.load_text(
            "archcost: 1\nname: dw\ninput: [32, 56, 56]\nlayers:\n"
            "  - conv: {out: 32, kernel: 3, padding: 1, groups: 32, bias: false}\n",
            "dw.yaml",
        )
    )
    step = training.steps(a)[0]
    assert (step.forward, step.weight_grad, step.input_grad) == (forward, forward, 0)  # the image: no ∂x


@pytest.mark.parametrize("name", ["resnet110_stochastic_depth", "mobilenet_v1"])
def test_verify_train_against_the_build(name: str) -> None:
    pytest.importorskip("torch")
    from archcost import torchcheck

    result = torchcheck.verify_train(analyze_bundled(name))
    assert result.ok, result.as_dict()
    depthwise = {n for n, _, _ in result.skipped}
    if name == "mobilenet_v1":
        assert len(depthwise) == 13 and all(n.endswith("conv_dw") for n in depthwise)
    else:
        assert not depthwise
        full = training.steps(analyze_bundled(name))
        assert result.whole == 2 * sum(s.step for s in full)  # every block runs in the measured step


def test_verify_train_cli_json(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    result = runner.invoke(app, ["verify", "resnet18", "--train", "--format", "json"])
    assert result.exit_code == 0, result.output
    train = json.loads(result.stdout)["results"][0]["train"]
    assert train["ok"] and train["counted_flops"] == train["expected_flops"] == 2 * 5_324_206_080


def test_random_specs_step_agrees_with_flop_counter() -> None:
    """Random valid specs (test_differential's generator: pools before the first conv, grouped convs,
    residuals with projections, parallel merges, repeats, a linear head): the build's forward + backward
    under FlopCounterMode equals twice the training-step MACs, layer by layer and in total."""
    pytest.importorskip("torch")
    from hypothesis import HealthCheck, given, settings
    from test_differential import spec_text

    from archcost import torchcheck

    @settings(
        max_examples=60,  # about 40 s on 2 cores
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(spec_text())
    def agree(text: str) -> None:
        result = torchcheck.verify_train(engine.analyze(spec.load_text(text, "random.yaml")))
        assert result.ok, (text, result.as_dict())

    agree()
