"""Hostile values on the output side (issue 15 classes 3, 4 and 7) and the variant in every title (issue 14 §6).

* class 3: integers past a float and past Python's 4,300-digit ``str()`` limit print exactly (every digit,
  or ``1.23e45`` in the rounded terminal table, as docs/conventions.md states); JSON stays valid (no
  ``Infinity``); reported values like ``1e400`` are one-line errors; ``scale --alpha 1e308`` is one line, exit 2;
* class 4: lone surrogates (through the API; specs refuse them) and markup print escaped, in charts too (no mathtext);
* class 7: ``compare`` against a first network of 0 params and MACs: no value (—, empty, null), never
  ZeroDivisionError;
* the variant: ``show resnet50`` is the paper's v1, and says so.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_runner import CliRunner

from archcost import engine, report, spec, units
from archcost.cli import app
from archcost.report import writers

runner = CliRunner()


@contextmanager
def unlimited_digits() -> Iterator[None]:
    """Python's own int↔str without its 4,300-digit guard: the independent reference for big integers."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output and not isinstance(result.exception, Exception), result.output
    result.stdout.encode("utf-8")
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def no_float_specials(text: str) -> None:
    for word in ("Infinity", "NaN", "inf", "nan"):
        assert word not in text.replace("Inference", "").replace("inference", ""), word


# ---------------------------------------------------------------------------- class 3: units


BIG = [10**4300 + 7, -(3**9000), 2**20000 - 1, 10**15, 999_999_999_999_999, 123_456_789]


@pytest.mark.parametrize("n", BIG, ids=range(len(BIG)))
def test_digits_and_separators_are_exact(n: int) -> None:
    text = units.digits(n)
    exact = units.exact(n)
    with unlimited_digits():
        assert text == str(n)
        assert exact == f"{n:,}"
        assert int(text) == n


HUMAN = [
    (999, "999"),
    (34_944, "34.9K"),
    (3_857_973_248, "3.86G"),
    (999_499_999_999_999, "999T"),
    (999_500_000_000_000, "1e15"),  # 999.5T rounds half up to 1.00e15: no prefix past T
    (1_234_567_000_000_000, "1.23e15"),
    (1_235_000_000_000_000, "1.24e15"),
    (123_456_789 * 10**20, "1.23e28"),
    (10**5000 + 1, "1e5000"),
    (-(10**5000), "-1e5000"),
    (99_950 * 10**4996, "1e5001"),
]


@pytest.mark.parametrize(("n", "text"), HUMAN, ids=[text for _, text in HUMAN])
def test_human_never_overflows(n: int, text: str) -> None:
    assert units.human(n) == text


def test_human_bytes_of_any_size() -> None:
    assert units.human_bytes(554_000_000) == "528 MiB"  # 554e6 / 2**20 = 528.3
    assert units.human_bytes(5000 * 2**40) == "5000 TiB"
    assert units.human_bytes(10**20 * 2**40) == "1e20 TiB"
    assert units.human_bytes(10**6000).endswith(" TiB") and "e598" in units.human_bytes(10**6000)


def test_ratio_against_zero_and_past_a_float() -> None:
    assert units.ratio(5, 0) == "—" and units.quotient(5, 0) is None
    assert units.quotient(10**400, 1) is None  # past a float: no value, not inf
    assert units.ratio(3, 4) == "×0.75"


# ---------------------------------------------------------------------------- class 3: JSON


def test_json_is_always_valid() -> None:
    value = {"a": math.inf, "b": [-math.inf, math.nan, 1.5], "big": 10**5000 + 3, "nested": [{"x": -(10**4400)}]}
    text = writers.dumps(value)
    no_float_specials(text)
    with unlimited_digits():
        parsed = json.loads(text)
    assert parsed == {"a": None, "b": [None, None, 1.5], "big": 10**5000 + 3, "nested": [{"x": -(10**4400)}]}


def test_strings_that_look_like_markers_stay_strings() -> None:
    """The big-integer fallback replaces its own random markers, never a string of the data."""
    text = writers.dumps({"s": "archcost-int-0000000000000000-0", "big": 10**4301})
    with unlimited_digits():
        assert json.loads(text)["s"] == "archcost-int-0000000000000000-0"


# ---------------------------------------------------------------------------- class 3: a field past 4,300 digits


@pytest.fixture(scope="module")
def huge_field(tmp_path_factory: pytest.TempPathFactory) -> str:
    """150 max pools with stride 10^30 (padding 1 keeps each output 1×1): the field grows by 10^(30·i)."""
    pools = "".join(
        "  - maxpool: {kernel: 2, stride: 1000000000000000000000000000000, padding: 1}\n" for _ in range(150)
    )
    path = tmp_path_factory.mktemp("rf") / "rf.yaml"
    path.write_text(f"archcost: 1\nname: rf\ninput: [1, 4, 4]\nlayers:\n{pools}", encoding="utf-8")
    return str(path)


def expected_field() -> int:
    # r_0 = 1; r_i = r_(i-1) + (k - 1)·j_(i-1) with k = 2 and j_(i-1) = (10^30)^(i-1)
    return 1 + sum(10 ** (30 * i) for i in range(150))


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_huge_field_prints_exactly(huge_field: str, fmt: str) -> None:
    field = expected_field()
    with unlimited_digits():
        digits = str(field)
    assert len(digits) > 4300
    code, out, _ = run("show", huge_field, "--format", fmt, *(["--exact"] if fmt == "table" else []))
    assert code == 0
    no_float_specials(out)
    if fmt == "json":
        with unlimited_digits():
            data = json.loads(out)
        assert data["totals"]["receptive_field"] == [field, field]
        assert data["layers"][-1]["receptive_field"] == [field, field]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[-1]["receptive_field"] == digits
    elif fmt == "markdown":
        assert f"| {digits} |" in out
    else:
        assert digits in out.replace(" ", "").replace("│", "").replace("\n", "") or digits in "".join(
            line.split("│")[8].strip() for line in out.splitlines() if line.count("│") > 8
        )
        assert "…" not in out  # folded, never cut


def test_huge_field_in_the_rounded_table_and_groups(huge_field: str) -> None:
    code, out, _ = run("show", huge_field, "--depth", "1")
    assert code == 0 and "1e4470" in out and "…" not in out


# ---------------------------------------------------------------------------- class 3: scale


@pytest.mark.parametrize("option", ["--alpha", "--beta", "--gamma"])
def test_scale_past_a_float_is_one_line(option: str) -> None:
    code, out, err = run("scale", "efficientnet_b0", option, "1e308", "--phi", "0..2")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "is beyond" in err and option in err


def test_scale_rule_past_a_float_has_no_value() -> None:
    """α = 1e308 at φ = 0 only: every network is the base one; the rule's factor α·β²·γ² is past a float."""
    code, out, _ = run("scale", "efficientnet_b0", "--alpha", "1e308", "--phi", "0", "--format", "json")
    assert code == 0
    no_float_specials(out)
    (step,) = json.loads(out)
    assert step["rule_prediction"] == 1.0 and step["macs_ratio"] == 1.0  # (anything)^0
    code, table, _ = run("scale", "efficientnet_b0", "--alpha", "1e308", "--phi", "0")
    assert code == 0 and "1.6e+308" in table and "inf" not in table  # 1e308 · 1.1² · 1.15²


# ---------------------------------------------------------------------------- class 3: reported values


NET = """\
archcost: 1
name: tiny
input: [3, 8, 8]
paper:
  reported:
{reported}
layers:
  - conv: {{out: 4, kernel: 3}}
"""
# params: 3·3·3·4 + 4 = 112


def reported(*entries: str) -> str:
    return "\n".join(f"    - {{figure: params, where: T1, {e}}}" for e in entries)


@pytest.mark.parametrize(
    "entry", ["value: '1e400'", "value: '112', tolerance: '1e400'", "value: 1e400", f"value: '1{'0' * 399}'"]
)
def test_reported_values_past_a_float_are_one_line(tmp_path: Path, entry: str) -> None:
    """A reported value or tolerance beyond a float (quoted, a YAML float that reads as inf, a 400-digit
    integer) is bad input, one line at its entry: never inf in a difference."""
    code, out, err = run("check", write(tmp_path, "net.yaml", NET.format(reported=reported(entry))), "--format", "json")
    assert code == 2 and out == "" and err.count("\n") == 1 and "net.yaml:6:" in err


def test_error_rate_out_of_range_is_one_line(tmp_path: Path) -> None:
    entry = "    - {figure: top1_error, value: 500%, where: T1, protocol: single crop}"
    path = write(tmp_path, "net.yaml", NET.format(reported=entry))
    code, _, err = run("check", path)
    assert code == 2 and err.count("\n") == 1
    assert "net.yaml:6:" in err and "from 0 to 100" in err


def test_missing_layer_names_its_line(tmp_path: Path) -> None:
    entry = "    - {figure: params, layer: nosuch, value: '1', where: T1}"
    code, _, err = run("check", write(tmp_path, "net.yaml", NET.format(reported=entry)))
    assert code == 2 and "net.yaml:6:" in err and "nosuch" in err


# ---------------------------------------------------------------------------- class 7: compare against zero


ZERO = "archcost: 1\nname: zero\ninput: [3, 8, 8]\nlayers:\n  - maxpool: {kernel: 2}\n"


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_compare_against_zero(tmp_path: Path, fmt: str) -> None:
    code, out, _ = run("compare", write(tmp_path, "zero.yaml", ZERO), "lenet5", "--format", fmt)
    assert code == 0
    no_float_specials(out)
    if fmt == "json":
        zero, lenet = json.loads(out)
        assert zero["params"] == 0 and zero["macs"] == 0
        assert lenet["params_ratio"] is None and lenet["macs_ratio"] is None
        # activation memory: zero's 3·4·4 = 48 elements → 192 B; LeNet-5's 14,722 elements → 58,888 B
        assert lenet["activation_ratio"] == pytest.approx(58_888 / 192)
    elif fmt == "csv":
        zero, lenet = csv.DictReader(io.StringIO(out))
        assert lenet["params_ratio"] == "" and lenet["macs_ratio"] == "" and float(lenet["activation_ratio"]) > 1
    else:
        lenet_line = next(line for line in out.splitlines() if "LeNet-5" in line)
        assert lenet_line.count("—") >= 2  # the params and MACs ratios


# ---------------------------------------------------------------------------- class 4: charts


HOSTILE_TITLE = "Net $x^2$ [b] \ud800 \x1b[31m"


def test_charts_show_spec_text_as_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from dataclasses import replace

    from archcost import plot

    analysis = replace(engine.analyze(spec.load("lenet5")), title=HOSTILE_TITLE)
    fig = plot.layers_chart(analysis, tmp_path / "layers.svg")
    title = fig._suptitle  # type: ignore[attr-defined]
    assert title is not None and title.get_text().startswith("Net $x^2$ [b] \\ud800 \\x1b[31m")
    assert title._parse_math is False  # type: ignore[attr-defined]  # "$x^2$" is not mathtext
    row = report.CompareRow(HOSTILE_TITLE, analysis)
    fig = plot.compare_chart(
        [row, report.CompareRow("B", engine.analyze(spec.load("alexnet")))], tmp_path / "c.png", y="params"
    )
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "Net $x^2$ [b] \\ud800 \\x1b[31m" in labels
    assert (tmp_path / "layers.svg").stat().st_size > 0 and (tmp_path / "c.png").stat().st_size > 0


def test_show_plot_with_a_hostile_title(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    text = 'archcost: 1\nname: net\ntitle: "N $a$ [b] |"\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n'
    code, _, err = run("show", write(tmp_path, "net.yaml", text), "--plot", str(tmp_path / "net.png"))
    assert code == 0 and (tmp_path / "net.png").stat().st_size > 0, err


# ---------------------------------------------------------------------------- the variant (issue 14 §6)


def test_resnet50_says_which_variant() -> None:
    """The bundled resnet50 is the paper's v1 (stride on the first 1×1): 3,857,973,248 MACs; torchvision's
    resnet50 is v1.5 (stride on the 3×3): 4,089,184,256 (the spec's notes and its check). Both are "ResNet-50"."""
    code, out, _ = run("show", "resnet50", "--format", "json")
    data = json.loads(out)
    assert data["totals"]["macs"] == 3_857_973_248
    assert data["settings"]["v15"] is False and data["variant"] == {"v15": False}
    assert data["label"] == "ResNet-50 (v15=false)"
    code, out, _ = run("show", "resnet50", "--set", "v15=true", "--format", "json")
    assert code == 0
    v15 = json.loads(out)
    assert v15["totals"]["macs"] == 4_089_184_256 and v15["label"] == "ResNet-50 (v15=true)"
    _, table, _ = run("show", "resnet50", "--depth", "1")
    assert "ResNet-50 (v15=false): input 3×224×224" in table
    _, md, _ = run("show", "resnet50", "--format", "markdown")
    assert md.startswith("**ResNet-50 (v15=false)**")
    _, explain, _ = run("show", "resnet50", "--explain")
    assert explain.startswith("ResNet-50 (v15=false): input")


def test_variant_rule() -> None:
    """Switches and choices always; numbers only when set."""

    def label(name: str, **overrides: Any) -> str:
        return report.label(engine.analyze(spec.load(name), overrides=overrides))

    assert label("lenet5") == "LeNet-5"  # no parameters
    assert label("alexnet") == "AlexNet"  # groups=2 is a number at its default
    assert label("alexnet", groups=1) == "AlexNet (groups=1)"
    assert label("mobilenet_v1", alpha=0.5) == "MobileNet (v1) (alpha=0.5)"
    assert label("resnet152") == "ResNet-152 (v15=false)"
    for name in spec.bundled_names():  # every switch of a bundled spec is in its label
        analysis = engine.analyze(spec.load(name))
        switches = {k: v for k, v in analysis.settings.items() if isinstance(v, bool)}
        assert all(f"{k}={str(v).lower()}" in report.label(analysis) for k, v in switches.items()), name
        if name in ("resnet50", "resnet101", "resnet152"):  # bottleneck ResNets: v1 or v1.5
            assert switches == {"v15": False}


def test_layers_chart_names_the_variant(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from archcost import plot

    fig = plot.layers_chart(engine.analyze(spec.load("resnet50")), tmp_path / "r.png", depth=1)
    assert fig._suptitle.get_text().startswith("ResNet-50 (v15=false): params, MACs")  # type: ignore[attr-defined]


def test_compare_names_the_variant() -> None:
    code, out, _ = run("compare", "resnet50", "resnet50:v15=true", "--format", "json")
    assert code == 0
    v1, v15 = json.loads(out)
    assert [v1["label"], v15["label"]] == ["ResNet-50 (v15=false)", "ResNet-50 (v15=true)"]
    assert (v1["macs"], v15["macs"]) == (3_857_973_248, 4_089_184_256)
