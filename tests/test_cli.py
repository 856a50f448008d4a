"""The CLI run in-process: every command and format, the JSON contract, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from cli_runner import CliRunner

from archcost import engine, spec
from archcost.cli import COMMANDS, app, command

runner = CliRunner()

CONTRACT_TOP = {"name": str, "input": list, "batch": int, "dtype": str, "totals": dict, "layers": list}
CONTRACT_TOTALS = ("params", "macs", "flops", "activations")
CONTRACT_LAYER = {
    "name": str,
    "kind": str,
    "output_shape": list,
    "params": int,
    "macs": int,
    "flops": int,
    "activations": int,
}


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def show_json(*args: str) -> dict[str, object]:
    code, out = invoke("show", *args, "--format", "json")
    assert code == 0, out
    data: dict[str, object] = json.loads(out)
    return data


@pytest.mark.parametrize("name", spec.bundled_names())
def test_json_contract_and_totals(name: str) -> None:
    data = show_json(name)
    for key, kind in CONTRACT_TOP.items():
        assert isinstance(data[key], kind), key
    totals = data["totals"]
    layers = data["layers"]
    assert isinstance(totals, dict) and isinstance(layers, list)
    for key in CONTRACT_TOTALS:
        assert isinstance(totals[key], int)
        # the totals are the sums of the leaf rows
        assert totals[key] == sum(layer[key] for layer in layers), key
    for layer in layers:
        for key, kind in CONTRACT_LAYER.items():
            assert isinstance(layer[key], kind), (layer["name"], key)
    assert len({layer["name"] for layer in layers}) == len(layers)
    # the input excludes the batch; shapes exclude it too
    assert data["input"] == list(engine.analyze(spec.load(name)).input)


@pytest.mark.parametrize("name", spec.bundled_names())
@pytest.mark.parametrize("depth", [1, 2])
def test_depth_groups_sum_to_totals(name: str, depth: int) -> None:
    data = show_json(name, "--depth", str(depth))
    groups = data["groups"]
    totals = data["totals"]
    assert isinstance(groups, list) and isinstance(totals, dict)
    for key in CONTRACT_TOTALS:
        assert sum(g[key] for g in groups) == totals[key]
    assert all(len(g["name"].split(".")) <= depth for g in groups)


def test_table_shows_totals_and_conventions() -> None:
    code, out = invoke("show", "lenet5")
    assert code == 0, out
    # LeNet-5 C1: 5·5·1·6 + 6 = 156 params; 28·28·6·5·5 = 117,600 MACs (shown as 118K)
    assert "156" in out and "118K" in out
    assert "multiply-accumulates" in out and "output (C×H×W)" in out
    code, exact = invoke("show", "lenet5", "--exact")
    assert "117,600" in exact


def test_csv_and_markdown() -> None:
    code, out = invoke("show", "lenet5", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    analysis = engine.analyze(spec.load("lenet5"))
    assert [r["name"] for r in rows[:-1]] == [layer.name for layer in analysis.layers]
    assert rows[-1]["name"] == "total" and int(rows[-1]["macs"]) == analysis.totals.macs
    code, md = invoke("show", "lenet5", "--format", "markdown")
    assert code == 0
    assert md.count("\n| ") == len(analysis.layers) + 2  # header, rows, total
    assert f"**{analysis.totals.params:,}**" in md


def test_batch_and_dtype_scale_memory() -> None:
    one = show_json("lenet5")
    many = show_json("lenet5", "--batch", "8", "--dtype", "fp16")
    t1, t8 = one["totals"], many["totals"]
    assert isinstance(t1, dict) and isinstance(t8, dict)
    assert t1["activation_bytes"] == t1["activations"] * 1 * 4
    assert t8["activation_bytes"] == t1["activations"] * 8 * 2
    assert t8["param_bytes"] == t1["params"] * 2
    assert t8["macs"] == t1["macs"]  # per-sample figures do not change with the batch


def test_input_override() -> None:
    data = show_json("lenet5", "--input", "1x36x36")
    assert data["input"] == [1, 36, 36]
    layers = data["layers"]
    assert isinstance(layers, list)
    assert layers[0]["output_shape"] == [6, 36 - 5 + 1, 36 - 5 + 1]


def test_set_override(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(
        "archcost: 1\nname: net\ninput: [4, 8, 8]\nparams: {g: 2, width: 8}\n"
        "layers:\n  - conv: {out: $width, kernel: 3, groups: $g}\n"
    )
    grouped = show_json(str(path))
    dense = show_json(str(path), "--set", "g=1", "--set", "width=16")
    # weights: 3·3·(4/g)·out (+ out bias)
    assert grouped["totals"]["params"] == 3 * 3 * 2 * 8 + 8  # type: ignore[index]
    assert dense["totals"]["params"] == 3 * 3 * 4 * 16 + 16  # type: ignore[index]
    assert dense["settings"] == {"g": 1, "width": 16}


def test_explain_lines() -> None:
    code, out = invoke("show", "lenet5", "--explain")
    assert code == 0
    # (32 - 5)/1 + 1 = 28; 5·5·1·6 + 6 = 156; 28·28·6 · 5·5·1 = 117,600
    assert "c1: out = (32 - 5)/1 + 1 = 28 → 28×28×6; params = 5·5·1·6 + 6 = 156" in out
    assert "117,600" in out


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_list_formats(fmt: str) -> None:
    code, out = invoke("list", "--format", fmt)
    assert code == 0, out
    for name in spec.bundled_names():
        assert name in out
    if fmt == "json":
        entries = json.loads(out)
        lenet = next(e for e in entries if e["name"] == "lenet5")
        assert lenet["params"] == engine.analyze(spec.load("lenet5")).totals.params


def test_schema_is_json() -> None:
    code, out = invoke("schema")
    assert code == 0
    assert json.loads(out)["title"] == "archcost spec"


def test_version() -> None:
    code, out = invoke("--version")
    assert code == 0 and out.startswith("archcost ")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", "no_such_net"], "unknown spec 'no_such_net'"),
        (["show", "lenet5x"], "did you mean 'lenet5'"),
        (["show", "missing/file.yaml"], "no such spec file"),
        (["show", "lenet5", "--set", "groups"], "expected KEY=VALUE"),
        (["show", "lenet5", "--set", "groups=1"], "has no parameter 'groups'"),
        (["show", "lenet5", "--input", "3x224"], "expected C×H×W"),
        (["show", "lenet5", "--input", "1x4x4"], "larger than the padded input"),
        (["show", "lenet5", "--dtype", "fp64"], "fp64"),
        (["show", "lenet5", "--batch", "0"], "--batch"),
        (["show", "lenet5", "--format", "xml"], "xml"),
    ],
)
def test_bad_input_exits_2(args: list[str], fragment: str) -> None:
    code, out = invoke(*args)
    assert code == 2, out
    assert fragment in out
    assert "Traceback" not in out


def test_error_names_file_line_and_layer(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "archcost: 1\nname: bad\ninput: [3, 8, 8]\nlayers:\n"
        "  - conv: {name: a, out: 8, kernel: 3, padding: 1}\n"
        "  - conv: {name: b, out: 8, kernel: 11}\n"
    )
    code, out = invoke("show", str(path))
    assert code == 2
    assert f"{path}:6" in out and "(layer b)" in out and "larger than the padded input" in out


HEAVY = ("torch", "fvcore", "matplotlib", "pydantic")  # pydantic: typer's own coercion, replaced (cli/coerce.py)
LIGHT = (*HEAVY, "rich")  # rich is for tables: the machine-readable paths never import it


@pytest.mark.parametrize(
    ("command", "forbidden"),
    [
        (["show", "lenet5"], HEAVY),
        (["list"], HEAVY),
        (["show", "lenet5", "--format", "json"], LIGHT),
        (["show", "lenet5", "--format", "csv"], LIGHT),
        (["show", "lenet5", "--explain"], LIGHT),
        (["list", "--format", "json"], LIGHT),
        (["schema"], LIGHT),
        (["--help"], LIGHT),
        (["show", "--help"], LIGHT),
    ],
)
def test_commands_import_only_what_they_need(command: list[str], forbidden: tuple[str, ...]) -> None:
    script = (
        "import sys\n"
        "from archcost.cli import main\n"
        f"code = main({command!r})\n"
        "assert code == 0, code\n"
        f"print('LOADED=' + ','.join(m for m in {forbidden!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "LOADED="


def test_list_groups_by_family_with_imagenet_top1_only() -> None:
    code, out = invoke("list", "--format", "json")
    assert code == 0
    entries = json.loads(out)
    families = [e["family"] for e in entries]
    # each family appears as one contiguous run
    runs = [f for i, f in enumerate(families) if i == 0 or families[i - 1] != f]
    assert len(runs) == len(set(families))
    lenet = next(e for e in entries if e["name"] == "lenet5")
    assert lenet["top1_error"] is None  # its 0.95% is an MNIST error: not on the ImageNet column


# ---------------------------------------------------------------------------- the command layer


def _examples() -> list[list[str]]:
    """Every `archcost ...` line in the commands' --help examples, as arguments."""
    lines = [
        line.strip().split("#")[0].split()
        for sub in command().commands.values()
        for line in (sub.epilog or "").splitlines()
        if line.strip().startswith("archcost ")
    ]
    return [words[1:] for words in lines]


EXAMPLES = _examples()


def test_every_command_has_help_with_a_usage_line_and_examples() -> None:
    assert set(command().commands) == set(COMMANDS)
    for name in COMMANDS:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0
        assert result.stdout.startswith(f"Usage: archcost {name}")
        assert result.stdout.isascii()  # click writes help as UTF-8 to an ASCII terminal: keep it ASCII
        if name != "schema":
            assert "Examples:\n    archcost " + name in result.stdout, name
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("args", [e for e in EXAMPLES if e[0] != "verify"], ids=" ".join)
def test_help_examples_run(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples in `--help` are real commands that work (verify's are run by tests/test_verify.py)."""
    if "--plot" in args:
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    if "my_net.yaml" in args:
        assert result.exit_code == 2 and "no such spec file" in result.stderr  # a placeholder for the user's file
        return
    assert result.exit_code == 0, result.output


def test_no_arguments_prints_the_commands() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 0
    assert "Commands:" in result.stdout and all(f"  {name} " in result.stdout for name in COMMANDS)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", "lenet5", "--nope"], "no such option --nope"),
        (["shw", "lenet5"], "no such command 'shw'"),
        (["show", "lenet5", "--form", "json"], "no such option --form (did you mean --format?)"),  # no abbreviations
        (["show", "lenet5", "--batch", "two"], "--batch: expected a whole number ≥ 1, got 'two'"),
        (["show", "lenet5", "--batch", "²"], "--batch: expected a whole number ≥ 1, got '²'"),  # ASCII digits only
        (["show", "lenet5", "--depth", "①"], "--depth: expected a whole number ≥ 1, got '①'"),
        (["show", "lenet5", "--batch", "٣"], "--batch: expected a whole number ≥ 1, got '٣'"),  # Arabic-Indic too
        (["show", "lenet5", "--max-layers", "₂"], "--max-layers: expected a whole number ≥ 1, got '₂'"),
        (["scale", "efficientnet_b0", "--alpha", "0.5"], "--alpha: expected a number ≥ 1, got '0.5'"),
        (["scale", "efficientnet_b0", "--alpha", "1e400"], "--alpha: expected a number ≥ 1, got '1e400'"),
        (["check", "lenet5", "--format", "csv"], "--format: 'csv' is not one of 'table', 'json', 'markdown'"),
        (["scale"], "missing SPEC"),
        (["show", "lenet5", "--batch"], "--batch needs a value"),
        (["show", "lenet5", "x.png", "extra"], "unexpected extra argument"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert fragment in result.stderr and "--help`)" in result.stderr


def test_options_and_arguments_in_any_order() -> None:
    first = runner.invoke(app, ["show", "--format", "json", "lenet5", "--batch", "2"])
    second = runner.invoke(app, ["show", "lenet5", "--batch", "2", "--format", "json"])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout and json.loads(first.stdout)["batch"] == 2


@pytest.mark.parametrize(
    ("args", "written"),
    [
        (["show", "lenet5", "--plot", "a.png"], "a.png"),
        (["show", "lenet5", "a.png", "--plot"], "a.png"),  # the chart file as an argument, as before
        (["show", "--plot", "lenet5"], "archcost-lenet5.png"),  # --plot's value is the spec here
        (["compare", "lenet5", "alexnet", "--plot", "c.svg"], "c.svg"),
        (["compare", "--plot", "lenet5", "alexnet"], "archcost-compare.png"),
        (["compare", "lenet5", "c.pdf", "alexnet", "--plot"], "c.pdf"),
    ],
)
def test_plot_file_as_option_value_or_argument(
    args: list[str], written: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == [written]


def test_a_bad_chart_name_is_refused_before_the_work(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = runner.invoke(app, ["compare", "alexnet", "--plot", str(tmp_path / "out.jpg")])
    assert result.exit_code == 2 and result.stdout == ""  # no table first
    assert ".jpg" in result.stderr


def test_python_dash_m_and_a_closed_pipe() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "archcost", "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0 and version.stdout.startswith("archcost ")
    # `archcost show efficientnet_b7 --format json | head -1`: the reader goes away; no traceback, exit 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "archcost", "show", "efficientnet_b7", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 0, err
    assert "Traceback" not in err and "Exception" not in err


# ---------------------------------------------------------------------------- typer: completion and coercion


@pytest.mark.parametrize(
    ("shell", "env", "expected"),
    [
        ("bash", {"COMP_WORDS": "archcost sh", "COMP_CWORD": "1"}, ["show"]),
        ("bash", {"COMP_WORDS": "archcost show --for", "COMP_CWORD": "2"}, ["--format"]),
        ("zsh", {"_TYPER_COMPLETE_ARGS": "archcost show --format "}, ['"table"', '"json"', '"csv"', '"markdown"']),
        ("fish", {"_TYPER_COMPLETE_ARGS": "archcost com", "_TYPER_COMPLETE_FISH_ACTION": "get-args"}, ["compare\t"]),
    ],
)
def test_shell_completion_answers(
    shell: str, env: dict[str, str], expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What bash, zsh and fish ask the installed completion script (`archcost --install-completion`) and
    what archcost answers: command names, option names, an option's choices."""
    monkeypatch.setenv("_ARCHCOST_COMPLETE", f"complete_{shell}")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    assert all(word in result.stdout for word in expected), result.stdout
    assert "Usage:" not in result.stdout


def test_completion_options_are_offered() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


def test_every_option_is_coerced_without_pydantic() -> None:
    """Every parameter of every command has archcost's direct conversion (cli/coerce.py), so pydantic,
    typer's own route, is never imported (the import test above runs the commands)."""
    from archcost.cli.coerce import DirectParam

    group = command()
    for sub in [group, *group.commands.values()]:
        params = [*sub.params, sub.get_help_option(typer.Context(sub, help_option_names=["-h", "--help"]))]
        for param in params:
            assert isinstance(param._runtime_param, DirectParam), (sub.name, param.name)  # type: ignore[union-attr]


def test_option_choices_are_the_engines_names() -> None:
    from typing import get_args

    from archcost import memory, units
    from archcost.cli import options, show

    assert set(get_args(options.DType)) == set(units.DTYPE_BYTES)
    assert set(get_args(options.Optimizer)) == set(memory.OPTIMIZER_STATES)
    assert engine.Limits().max_layers == show.MAX_LAYERS


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("-2", -2), ("0.5", 0.5), ("1e-5", 1e-5), ("true", True), ("FALSE", False), ("relu", "relu")],
)
def test_set_values_are_read_by_one_rule(text: str, value: object) -> None:
    from archcost.cli import parse_sets

    got = parse_sets([f"k={text}"])["k"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text", ["²", "①", "₂", "١٢"])
def test_non_ascii_digits_are_text_not_numbers(text: str) -> None:
    from archcost.cli import parse_sets

    assert parse_sets([f"k={text}"])["k"] == text  # so a numeric parameter refuses it with its own message
