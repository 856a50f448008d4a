"""The paper check: reading printed figures, their tolerance, verdicts and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import CliRunner

from archcost import engine, spec
from archcost.check import check_spec, parse_value
from archcost.cli import app
from archcost.errors import SpecError


@pytest.mark.parametrize(
    ("text", "value", "tolerance"),
    [
        ("60M", 60e6, 0.5e6),
        ("138M", 138e6, 0.5e6),
        ("1.5 billion", 1.5e9, 0.05e9),
        ("60 million", 60e6, 0.5e6),
        ("3.8e9", 3.8e9, 0.05e9),
        ("4.2×10^9", 4.2e9, 0.05e9),
        ("4.2x10^9", 4.2e9, 0.05e9),
        ("4.2×10⁹", 4.2e9, 0.05e9),
        ("25.5×10⁶", 25.5e6, 0.05e6),
        ("569M", 569e6, 0.5e6),
        ("569M mult-adds", 569e6, 0.5e6),
        ("0.39B", 0.39e9, 0.005e9),
        ("15.3 billion FLOPs", 15.3e9, 0.05e9),
        ("35K", 35e3, 0.5e3),
        ("6,797.7K", 6797.7e3, 50.0),
        ("345 308", 345308, 0.5),
        ("345,308 connections", 345308, 0.5),
        ("9216 dimensions", 9216, 0.5),
        ("1,516 params", 1516, 0.5),
        ("60 000", 60000, 0.5),
        ("34944", 34944, 0.5),
        ("10.07% top-5", 10.07, 0.005),
        ("~7.8 billion", 7.8e9, 0.05e9),
    ],
)
def test_parse_value_and_tolerance(text: str, value: float, tolerance: float) -> None:
    parsed = parse_value(text)
    assert parsed.value == pytest.approx(value)
    assert parsed.tolerance == pytest.approx(tolerance)


def test_numbers_from_yaml() -> None:
    assert parse_value(34944).tolerance == 0.5
    assert parse_value(3.8).value == 3.8 and parse_value(3.8).tolerance == pytest.approx(0.05)


def test_bounds() -> None:
    below = parse_value("less than 25 million")
    assert below.qualifier == "below"
    assert below.accepts(23_851_784) and not below.accepts(25_000_001)
    assert parse_value("< 1M").accepts(999_999)


@pytest.mark.parametrize("text", ["", "about", "M", "sixty million", "1..5"])
def test_unreadable_values(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read a number"):
        parse_value(text)


def test_precision_decides_pass_or_fail() -> None:
    # 138M means [137.5M, 138.5M]: VGG-16's 138,357,544 passes, 138,600,000 does not
    assert parse_value("138M").accepts(138_357_544)
    assert not parse_value("138M").accepts(138_600_000)
    # 3.8e9 means ±0.05e9: 3,849,999,999 passes at the edge; ResNet-50 v1.5's 4.09e9 fails
    assert parse_value("3.8e9").accepts(3_849_999_999)
    assert not parse_value("3.8e9").accepts(4_089_184_256)


NET = """\
archcost: 1
name: tiny
input: [3, 8, 8]
params: {{c: 4}}
paper:
  title: A tiny net
  year: 2020
  url: https://example.org
  reported:
{entries}
layers:
  - conv: {{name: conv1, out: $c, kernel: 3}}
  - flatten
  - linear: {{name: fc, out: 10}}
"""
# conv1: 3·3·3·4 + 4 = 112 params, 6·6·4·27 = 3,888 MACs; fc: 144·10 + 10 = 1,450 params, 1,440 MACs
TINY_PARAMS = 3 * 3 * 3 * 4 + 4 + 6 * 6 * 4 * 10 + 10
TINY_MACS = 6 * 6 * 4 * 3 * 3 * 3 + 6 * 6 * 4 * 10


def run_check(entries: str, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "tiny.yaml"
    path.write_text(NET.format(entries=entries))
    result = CliRunner().invoke(app, ["check", str(path), "--format", "json"])
    return result.exit_code, result.output


def verdicts(entries: str) -> list[str]:
    loaded = spec.load_text(NET.format(entries=entries))
    rows = check_spec(loaded, lambda s, i: engine.analyze(loaded, overrides=s, input_override=i))
    return [r.verdict for r in rows]


def test_pass_fail_explained_reported(tmp_path: Path) -> None:
    assert TINY_PARAMS == 1562 and TINY_MACS == 5328
    entries = (
        "    - {figure: params, value: '1.56K', where: T1}\n"  # 1,562 within ±5
        "    - {figure: macs, value: 5328, where: T1}\n"  # exact
        "    - {figure: params, value: '1.5K', where: T1, deviation: the paper rounds}\n"  # 1,562 vs 1,500±50
        "    - {figure: params, layer: conv1, value: 112, where: T2}\n"
        "    - {figure: params, value: '1.5K', where: T1, tolerance: 100}\n"  # widened tolerance
        "    - {figure: macs, value: 1.5e4, where: T3, set: {c: 12}}\n"  # 3·5328 = 15,984: 1.5e4 ± 500 fails
        "    - {figure: top1_error, value: 37.5%, where: T4, protocol: single crop}\n"
    )
    assert verdicts(entries) == ["pass", "pass", "explained", "pass", "pass", "fail", "reported"]
    code, _ = run_check(entries, tmp_path)
    assert code == 1
    code, _ = run_check(entries.replace("set: {c: 12}", "set: {c: 12}, deviation: scaled"), tmp_path)
    assert code == 0


def test_no_reported_figures_fails(tmp_path: Path) -> None:
    code, out = run_check("    []", tmp_path)
    assert code == 1 and "missing" in out


@pytest.mark.parametrize(
    ("entries", "fragment", "line"),
    [
        ("    - {figure: weight, value: 1, where: T1}", "figure 'weight' is not one of", 10),
        ("    - {figure: params, value: 1}", "needs 'where'", 10),
        ("    - {figure: top1_error, value: 1%, where: T}", "needs its protocol", 10),
        ("    - {figure: params, value: lots, where: T}", "cannot read a number", 10),
        ("    - {figure: params, value: 1, where: T, layer: nope}", "no such layer", 0),
        ("    - {figure: params, value: 1, where: T, colour: red}", "unknown key 'colour'", 10),
    ],
)
def test_bad_reported_entries_exit_2(entries: str, fragment: str, line: int, tmp_path: Path) -> None:
    code, out = run_check(entries, tmp_path)
    assert code == 2, out
    assert fragment in out
    if line:
        assert f"tiny.yaml:{line}" in out
    with pytest.raises(SpecError):
        verdicts(entries)


def test_markdown_and_table_formats(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(NET.format(entries="    - {figure: macs, value: 5328, where: T1}"))
    result = CliRunner().invoke(app, ["check", str(path), "--format", "markdown"])
    assert result.exit_code == 0 and "| macs | 5328 |" in result.output
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 0 and "pass" in result.output and "ok: 1 spec(s), 1 pass" in result.output


@pytest.mark.parametrize("name", spec.bundled_names())
def test_bundled_spec_matches_its_paper(name: str) -> None:
    loaded = spec.load(name)
    rows = check_spec(loaded, lambda s, i: engine.analyze(loaded, overrides=s, input_override=i))
    failed = [(r.figure, r.layer, r.reported, r.computed, r.explanation) for r in rows if r.failed]
    assert not failed
    assert any(r.verdict in ("pass", "explained") for r in rows), "no computed figure is compared with the paper"
    for row in rows:
        if row.verdict == "explained":
            assert len(row.explanation.split()) >= 5, f"deviation too short to explain anything: {row.explanation!r}"


@pytest.mark.parametrize("name", spec.bundled_names())
def test_accuracy_entries_name_a_non_imagenet_dataset(name: str) -> None:
    # an error rate measured on another data set must not land on the ImageNet accuracy axis
    for entry in spec.load(name).meta.get("reported", ()):
        text = f"{entry.protocol} {entry.note}"
        for other in ("MNIST", "CIFAR", "SVHN"):
            if entry.figure.endswith("_error") and other in text and "ImageNet" not in entry.protocol:
                assert entry.dataset != "ImageNet", (entry.value, entry.protocol)
