"""The torch build and the fvcore cross-check (`archcost.torchcheck`, `archcost verify`).

The analytic engine and fvcore are independent counts of the same network: fvcore traces a
real torch forward pass and counts aten operators. Every bundled spec must agree with it
figure for figure, and a wrong figure on either side must be reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest

from archcost import engine, layers, spec
from archcost.errors import SpecError
from archcost.layers import KINDS
from tests.conftest import AnalyzeYaml

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcost import torchcheck  # noqa: E402

nn = torch.nn


@pytest.fixture(scope="module")
def verified() -> dict[str, torchcheck.VerifyResult]:
    return {}


def verify_bundled(name: str, cache: dict[str, torchcheck.VerifyResult]) -> torchcheck.VerifyResult:
    if name not in cache:
        cache[name] = torchcheck.verify(engine.analyze(spec.load(name)))
    return cache[name]


def describe(result: torchcheck.VerifyResult) -> str:
    lines = [f"failure: {result.failure}"] if result.failure else []
    for row in result.mismatches[:20]:
        figures = row.figures()
        lines.append(f"{row.name} ({row.kind}): " + ", ".join(f"{f} {figures[f]}" for f in row.differs))
    if result.totals is not None and not result.totals.ok:
        lines.append(f"totals: {result.totals}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- every bundled spec


@pytest.mark.parametrize("name", spec.bundled_names())
def test_bundled_spec_verifies(name: str, verified: dict[str, torchcheck.VerifyResult]) -> None:
    result = verify_bundled(name, verified)
    assert result.ok, describe(result)
    analysis = engine.analyze(spec.load(name))
    assert [row.name for row in result.layers] == [layer.name for layer in analysis.layers]
    assert result.totals is not None
    # the totals were measured by fvcore, not copied: they equal the analysis' own sums
    assert result.totals.params.measured == analysis.totals.params
    assert result.totals.macs.measured == analysis.totals.macs
    assert all(
        row.shape.measured == layer.output_shape for row, layer in zip(result.layers, analysis.layers, strict=True)
    )


@pytest.mark.parametrize("name", spec.bundled_names())
def test_module_paths_are_the_layer_names(name: str) -> None:
    analysis = engine.analyze(spec.load(name))
    with torch.device("meta"):
        model = torchcheck.build(analysis)
    modules = dict(model.named_modules())
    leaves = {path for path, module in modules.items() if type(module) is not nn.Module and path}
    assert leaves == {layer.name for layer in analysis.layers}
    for layer in analysis.layers:  # every prefix of a path is a plain container
        parts = layer.name.split(".")
        for i in range(1, len(parts)):
            assert type(modules[".".join(parts[:i])]) is nn.Module, layer.name


# ---------------------------------------------------------------------------- the catalog
# Every kind's worked examples are built, run and profiled in tests/test_catalog.py.


def patch_builder(monkeypatch: pytest.MonkeyPatch, kind: str, make: Any) -> None:
    """Make `kind`'s torch builder return `make()` (a wrong build) for this test."""
    wrong = replace(KINDS[kind], torch=lambda ins, out, args, inplace: make())
    monkeypatch.setitem(KINDS, kind, wrong)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    ("kernel", "dilation"), [(2, 1), (4, 1), ((3, 2), (1, 3)), (2, 2), (3, 2), ((1, 4), 1)], ids=str
)
def test_same_padding_is_built_like_torchs_same(kernel: Any, dilation: Any) -> None:
    """'same' becomes explicit padding (so fvcore counts the conv) with torch's exact arithmetic."""
    text = (
        "archcost: 1\nname: t\ninput: [4, 7, 9]\nlayers:\n"
        f"  - conv: {{name: c, out: 6, kernel: {list(kernel) if isinstance(kernel, tuple) else kernel}, "
        f"dilation: {list(dilation) if isinstance(dilation, tuple) else dilation}, padding: same}}\n"
    )
    analysis = engine.analyze(spec.load_text(text))
    ours = torchcheck.build(analysis).eval()
    conv = dict(ours.named_modules())["c"]
    reference = nn.Conv2d(4, 6, kernel, dilation=dilation, padding="same").eval()
    reference.load_state_dict(conv.state_dict())
    x = torch.randn(2, 4, 7, 9, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-6)
    result = torchcheck.verify(analysis)
    assert result.ok, describe(result)
    assert result.layers[0].flops.measured == 6 * 7 * 9 * 4 * layers.prod(nn.modules.utils._pair(kernel)) > 0


# ---------------------------------------------------------------------------- the check can fail

SMALL = """
archcost: 1
name: small
input: [3, 16, 16]
layers:
  - conv: {name: conv1, out: 8, kernel: 3, padding: 1, bias: false}
  - batchnorm: {name: bn1}
  - relu
  - maxpool: {name: pool, kernel: 2}
  - residual:
      name: block
      layers:
        - conv: {name: conv, out: 8, kernel: 3, padding: 1}
        - relu
  - global_avgpool
  - flatten
  - linear: {name: fc, out: 10}
"""


def small(analyze_yaml: AnalyzeYaml) -> engine.Analysis:
    return analyze_yaml(SMALL)


def test_small_network_verifies(analyze_yaml: AnalyzeYaml) -> None:
    result = torchcheck.verify(small(analyze_yaml))
    assert result.ok, describe(result)
    assert result.unsupported_ops == {"aten::add": 1, "aten::max_pool2d": 1}
    assert result.totals is not None
    # by hand: conv1 3·3·3·8 = 216, block.conv 3·3·8·8 + 8 = 584, bn1 2·8, fc 8·10 + 10
    assert result.totals.params.measured == 216 + 16 + 584 + 90
    # MACs: conv1 16·16·8·27, block.conv 8·8·8·72, fc 80
    assert result.totals.macs.measured == 16 * 16 * 8 * 27 + 8 * 8 * 8 * 72 + 80


def test_a_wrong_row_is_reported(analyze_yaml: AnalyzeYaml) -> None:
    analysis = small(analyze_yaml)
    rows = list(analysis.layers)
    i = next(i for i, r in enumerate(rows) if r.name == "block.conv")
    rows[i] = replace(rows[i], macs=rows[i].macs + 1)
    j = next(i for i, r in enumerate(rows) if r.name == "fc")
    rows[j] = replace(rows[j], params=rows[j].params + 1, output_shape=(11,))
    result = torchcheck.verify(replace(analysis, layers=tuple(rows)))
    assert not result.ok
    # fc's wrong shape also makes its fvcore figures wrong: both derive from the output shape
    assert {r.name: r.differs for r in result.mismatches} == {
        "block.conv": ("macs",),
        "fc": ("shape", "params", "flops", "activations"),
    }


def test_a_wrong_infer_is_reported(analyze_yaml: AnalyzeYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = KINDS["conv"]

    def one_param_too_many(ins: tuple[layers.Shape, ...], a: layers.Args) -> layers.Cost:
        return replace(conv.infer(ins, a), params=conv.infer(ins, a).params + 1)

    monkeypatch.setitem(KINDS, "conv", replace(conv, infer=one_param_too_many))
    result = torchcheck.verify(small(analyze_yaml))
    assert not result.ok
    assert {r.name: r.differs for r in result.mismatches} == {"conv1": ("params",), "block.conv": ("params",)}
    assert result.totals is not None and result.totals.differs == ("params",)
    assert result.totals.params.analytic == result.totals.params.measured + 2  # type: ignore[operator]


def test_a_wrong_fvcore_rule_is_reported(analyze_yaml: AnalyzeYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    bn = KINDS["batchnorm"]
    monkeypatch.setitem(KINDS, "batchnorm", replace(bn, fvcore=lambda ins, out, a: 5 * layers.prod(ins[0])))
    result = torchcheck.verify(small(analyze_yaml))
    assert {r.name: r.differs for r in result.mismatches} == {"bn1": ("flops",)}
    assert result.totals is not None and result.totals.differs == ("flops",)


def test_a_wrong_torch_build_is_reported(analyze_yaml: AnalyzeYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    patch_builder(monkeypatch, "maxpool", lambda: nn.MaxPool2d(2, stride=1))
    result = torchcheck.verify(small(analyze_yaml))
    assert not result.ok
    assert result.mismatches[0].name == "pool" and result.mismatches[0].differs == ("shape",)
    assert "block.conv" in {r.name for r in result.mismatches}  # the larger map costs more MACs


def test_a_torch_failure_is_reported_with_the_layer(analyze_yaml: AnalyzeYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    patch_builder(monkeypatch, "linear", lambda: nn.Linear(7, 10))
    result = torchcheck.verify(small(analyze_yaml))
    assert not result.ok
    assert result.failure is not None and "'fc'" in result.failure
    assert result.totals is None


def test_batch_scales_fvcore_counts(analyze_yaml: AnalyzeYaml) -> None:
    one = torchcheck.verify(small(analyze_yaml))
    three = torchcheck.verify(small(analyze_yaml), batch=3)
    assert three.ok, describe(three)
    assert one.totals is not None and three.totals is not None
    assert three.totals.macs.measured == 3 * one.totals.macs.measured  # type: ignore[operator]
    assert three.totals.params.measured == one.totals.params.measured


def test_result_is_json_ready(analyze_yaml: AnalyzeYaml) -> None:
    data = torchcheck.verify(small(analyze_yaml)).as_dict()
    again = json.loads(json.dumps(data))
    assert again["ok"] is True and again["mismatches"] == 0
    assert again["layers"][0]["shape"] == {"analytic": [8, 16, 16], "measured": [8, 16, 16], "ok": True}


# ---------------------------------------------------------------------------- devices and the extra


def test_cuda_without_a_device_is_bad_input(analyze_yaml: AnalyzeYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SpecError, match="--device cuda: no CUDA device is available here"):
        torchcheck.verify(small(analyze_yaml), device="cuda")


@pytest.mark.parametrize("device", ["tpu", "gpu", "cpux"])
def test_unknown_device_is_bad_input(analyze_yaml: AnalyzeYaml, device: str) -> None:
    with pytest.raises(SpecError, match="expected cpu or cuda"):
        torchcheck.verify(small(analyze_yaml), device=device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_verifies(analyze_yaml: AnalyzeYaml) -> None:
    result = torchcheck.verify(small(analyze_yaml), device="cuda")
    assert result.ok and result.device.startswith("cuda"), describe(result)


def test_a_layer_name_torch_cannot_take_is_bad_input(analyze_yaml: AnalyzeYaml) -> None:
    analysis = analyze_yaml("archcost: 1\nname: t\ninput: [2, 4, 4]\nlayers:\n  - relu: {name: eval}\n")
    with pytest.raises(SpecError, match=r"'eval'.*attribute of torch's nn\.Module"):
        torchcheck.build(analysis)


@pytest.mark.parametrize("name", ["title", "steps", "output", "input", "add", "_archcost", "0"])
def test_ordinary_layer_names_build(analyze_yaml: AnalyzeYaml, name: str) -> None:
    text = (
        f"archcost: 1\nname: t\ninput: [2, 4, 4]\nlayers:\n  - relu: {{name: {name}}}\n  - conv: {{out: 2, kernel: 1}}"
    )
    result = torchcheck.verify(analyze_yaml(text))
    assert result.ok, describe(result)
    assert [r.name for r in result.layers] == [name, "1"]


def test_import_without_torch_and_the_install_hint() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"  # makes `import torch` fail
        "import archcost.torchcheck as t\n"
        "from archcost import engine, spec\n"
        "try:\n"
        "    t.verify(engine.analyze(spec.load('lenet5')))\n"
        "except t.MissingExtraError as exc:\n"
        "    print(exc.message)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "torch" in out and "pip install 'archcost[torch]'" in out


def test_importing_torchcheck_does_not_import_torch() -> None:
    code = "import sys, archcost.torchcheck\nprint('torch' in sys.modules, 'fvcore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------------------- the command


def run_cli(*args: str) -> tuple[int, str]:
    from cli_runner import CliRunner

    from archcost.cli import app

    result = CliRunner().invoke(app, ["verify", *args])
    return result.exit_code, result.output


def test_cli_verifies_specs_with_a_verdict_each() -> None:
    code, out = run_cli("lenet5", "conv7x7")
    assert code == 0, out
    assert "✓ lenet5: 12 layers agree" in out and "✓ conv7x7" in out
    assert "aten::avg_pool2d ×2" in out  # fvcore's unsupported operators are shown
    assert "ok: 2 of 2 specs agree" in out
    assert "[1/2] verifying lenet5" in out and "[2/2] verifying conv7x7" in out  # progress


def test_cli_all_verifies_every_bundled_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec, "bundled_names", lambda: ["lenet5", "conv7x7"])  # the plumbing; all specs: above
    code, out = run_cli("--all", "--format", "json")
    assert code == 0, out
    data = json.loads(out[out.index("{") :])
    assert data["ok"] is True
    assert [r["name"] for r in data["results"]] == ["lenet5", "conv7x7"]
    lenet = data["results"][0]
    assert lenet["totals"]["params"] == {"analytic": 61706, "measured": 61706, "ok": True}
    assert len(lenet["layers"]) == 12 and lenet["unsupported_ops"] == {"aten::avg_pool2d": 2, "aten::tanh": 4}


def test_cli_mismatch_exits_1_with_the_differing_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    conv = KINDS["conv"]

    def one_param_too_many(ins: tuple[layers.Shape, ...], a: layers.Args) -> layers.Cost:
        return replace(conv.infer(ins, a), params=conv.infer(ins, a).params + 1)

    monkeypatch.setitem(KINDS, "conv", replace(conv, infer=one_param_too_many))
    code, out = run_cli("lenet5")
    assert code == 1, out
    # lenet5's C1 is 5·5·1·6 + 6 = 156 params; the patched engine says 157
    assert "157 ≠ 156" in out
    assert "✗ lenet5: 3 of 12 layers differ in params; totals differ in params" in out
    assert "s2" not in out  # agreeing layers are not listed...
    code, out = run_cli("lenet5", "--all-rows")
    assert code == 1 and "s2" in out  # ...unless asked


def test_cli_all_rows_lists_every_layer() -> None:
    code, out = run_cli("lenet5", "--all-rows")
    assert code == 0, out
    analysis = engine.analyze(spec.load("lenet5"))
    assert all(layer.name in out for layer in analysis.layers)


def test_cli_set_and_batch(tmp_path: Any) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(
        "archcost: 1\nname: net\ninput: [3, 8, 8]\nparams: {width: 4}\n"
        "layers:\n  - conv: {out: $width, kernel: 3}\n  - batchnorm\n",
        encoding="utf-8",
    )
    code, out = run_cli(str(path), "--set", "width=6", "--batch", "2", "--format", "json")
    assert code == 0, out
    result = json.loads(out)["results"][0]
    assert result["batch"] == 2
    # conv 6·6·6 outputs · 27 MACs each, twice for the batch; 3·3·3·6 + 6 params
    assert result["totals"]["macs"]["measured"] == 2 * 6 * 6 * 6 * 27
    assert result["totals"]["params"]["measured"] == 3 * 3 * 3 * 6 + 6 + 2 * 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give one or more specs, or --all"),
        (("nosuchspec",), "unknown spec 'nosuchspec'"),
        (("lenet5", "--set", "nosuch=1"), "no parameter 'nosuch'"),
        (("lenet5", "--device", "tpu"), "expected cpu or cuda"),
    ],
)
def test_cli_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    code, out = run_cli(*args)
    assert code == 2, out
    assert message in out


def test_cli_cuda_without_a_device_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, out = run_cli("lenet5", "--device", "cuda")
    assert code == 2
    assert "--device cuda: no CUDA device is available here" in out


def test_cli_without_torch_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fvcore", None)  # `import fvcore` now fails...
    monkeypatch.setitem(sys.modules, "fvcore.nn", None)  # ...and so does `import fvcore.nn`
    code, out = run_cli("lenet5")
    assert code == 2
    assert "pip install 'archcost[torch]'" in out and "fvcore" in out


def test_cli_torch_failure_exits_1_with_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_builder(monkeypatch, "linear", lambda: nn.Linear(7, 10))
    code, out = run_cli("lenet5", "lenet5")  # given twice: verified once
    assert code == 1
    assert "✗ lenet5: torch fails at layer 'f6': RuntimeError" in out
    assert out.count("lenet5") == 1  # no table, no operator list: only the verdict
