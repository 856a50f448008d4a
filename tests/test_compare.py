"""archcost compare: the figures equal each network's `show` totals; ratios, settings, sweeps, formats."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from cli_runner import CliRunner

from archcost import engine, spec
from archcost.cli import app, parse_sweep, split_ref

NETS = ["alexnet", "googlenet", "resnet152"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def compare_json(*args: str) -> list[dict[str, Any]]:
    code, out = invoke("compare", *args, "--format", "json")
    assert code == 0, out
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def show_totals(name: str, *sets: str) -> dict[str, Any]:
    args = ["show", name, "--format", "json"]
    for s in sets:
        args += ["--set", s]
    code, out = invoke(*args)
    assert code == 0, out
    totals: dict[str, Any] = json.loads(out)["totals"]
    return totals


def test_figures_equal_show_totals_and_ratios() -> None:
    rows = compare_json(*NETS, "--batch", "4", "--dtype", "fp16")
    assert [r["name"] for r in rows] == NETS
    for row in rows:
        totals = show_totals(row["name"])
        for key in ("params", "macs", "flops", "activations"):
            assert row[key] == totals[key], (row["name"], key)
        assert row["activation_bytes"] == totals["activations"] * 4 * 2
        assert row["weighted_depth"] == totals["weighted_depth"]
    first = rows[0]
    for row in rows:
        assert row["params_ratio"] == row["params"] / first["params"]
        assert row["macs_ratio"] == row["macs"] / first["macs"]
    # the paper's errors, with their protocols
    alexnet = rows[0]
    assert alexnet["top1_error"] == pytest.approx(40.7) and "ILSVRC-2012" in alexnet["top1_protocol"]


def test_receptive_field_is_the_last_feature_maps() -> None:
    (row,) = compare_json("vgg16")
    analysis = engine.analyze(spec.load("vgg16"))
    last_map = [r for r in analysis.layers if len(r.output_shape) == 3 and r.output_shape[1] > 1][-1]
    assert last_map.output_shape == (512, 7, 7)  # pool5
    assert row["receptive_field"] == list(last_map.rf)
    # conv5_3's receptive field is 196 (the classic figure); pool5 adds (2 − 1)·16 = 16
    conv5_3 = [r for r in analysis.layers if r.kind == "conv"][-1]
    assert conv5_3.rf == (196, 196) and last_map.rf == (196 + 16, 212)


def test_the_same_spec_twice_with_its_own_settings() -> None:
    rows = compare_json("alexnet", "alexnet:groups=1")
    assert [r["label"] for r in rows] == ["AlexNet", "AlexNet (groups=1)"]
    assert rows[1]["params"] == show_totals("alexnet", "groups=1")["params"] == 62_378_344
    assert rows[0]["params"] == 60_965_224


def test_sweeps() -> None:
    rows = compare_json("mobilenet_v1", "--sweep", "alpha=1.0,0.75,0.5,0.25")
    assert [r["settings"]["alpha"] for r in rows] == [1.0, 0.75, 0.5, 0.25]
    # MobileNet Table 6: 569, 325, 149, 41 million mult-adds
    assert [round(r["macs"] / 1e6) for r in rows] == [569, 325, 149, 41]
    rows = compare_json("efficientnet_b0", "--sweep", "resolution=224..226")
    assert [r["input"] for r in rows] == [[3, 224, 224], [3, 225, 225], [3, 226, 226]]
    two = compare_json("vgg_3x3_stack", "--sweep", "c=32,64", "--sweep", "c=16")
    assert len(two) == 2  # all combinations; a later value of the same key wins


def test_parse_sweep_and_refs() -> None:
    assert parse_sweep("phi=0..3") == ("phi", [0, 1, 2, 3])
    assert parse_sweep("alpha=1.0,0.5") == ("alpha", [1.0, 0.5])
    assert split_ref("alexnet:groups=1,k=2") == ("alexnet", {"groups": 1, "k": 2})
    assert split_ref("specs/net.yaml") == ("specs/net.yaml", {})


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_formats(fmt: str) -> None:
    code, out = invoke("compare", *NETS, "--format", fmt)
    assert code == 0, out
    totals = {n: show_totals(n) for n in NETS}
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [int(r["macs"]) for r in rows] == [totals[n]["macs"] for n in NETS]
    elif fmt == "markdown":
        assert out.startswith("| network |") and out.count("\n| ") == len(NETS)  # header, separator, rows
        assert f"{totals['resnet152']['macs']:,}" in out
    else:
        assert "×1" in out and "ResNet-152" in out and "top-1 err" in out
        assert "single model" in out  # the protocol notes under the table


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["compare", "alexnet", "--sweep", "alpha"], "expected KEY=V1,V2"),
        (["compare", "alexnet", "--sweep", "groups=3..1"], "must go up"),
        (["compare", "alexnet", "--sweep", "nope=1,2"], "no parameter 'nope'"),
        (["compare", "nosuchnet"], "unknown spec"),
        (["compare", "alexnet:groups"], "unknown spec"),
    ],
)
def test_bad_input_exits_2(args: list[str], fragment: str) -> None:
    code, out = invoke(*args)
    assert code == 2, out
    assert fragment in out and "Traceback" not in out
