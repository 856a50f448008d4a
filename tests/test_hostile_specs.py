"""Hostile specs (issue 15, the classes the spec reader, model and engine own): each is bad input,
refused through the CLI with exit 2 and one line ``file:line: …`` naming the right line, fast.

The classes: 3 numbers beyond a float, beyond 10^30 or beyond Python's 4,300-digit int→str limit;
4 text that cannot be formatted or printed (name patterns, lone surrogates); 5 work that makes
no layers (every expansion step counts against a limit); 6 errors about reported figures and
scaling, placed at their line; 9 loose validation (format version, error rates, what a spec path
is); and the names limit that bounds memory. The cases are in tests/hostile_specs.py, which the
fuzz suite draws variants from (tests/test_fuzz.py::test_hostile_specs_through_the_cli).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runner import CliRunner, Result
from hostile_specs import CASES, CONV, HEAD, Hostile

from archcost import engine, expr, memory, spec
from archcost.cli import app
from archcost.errors import Location, SpecError

ROOT = Path(__file__).resolve().parent.parent
ONE_LINE = re.compile(r"^(?:error|archcost): (?P<file>.+?):(?P<line>\d+)(?::\d+)?: (?P<message>.+)$")
SECONDS = 15.0
"""A bound for any one refusal on a loaded two-core machine (the slowest, 1,000,000 expansion
steps, takes about 2 s there)."""


def run(*args: str) -> Result:
    start = time.perf_counter()
    result = CliRunner().invoke(app, list(args))
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    return result


def refused_at(result: Result, file: str | None, line: int | None) -> str:
    """The one-line message of a run that exited 2 naming `file`:`line` (file None: any; line None:
    none, for a problem with the file itself or an option); fails otherwise."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    if line is None:
        prefix = re.match(r"^(?:error|archcost): ", lines[0])
        assert prefix is not None, lines[0]
        rest = lines[0][prefix.end() :]
        if file is not None:
            assert rest.startswith(f"{file}: "), lines[0]
            return rest[len(file) + 2 :]
        return rest
    match = ONE_LINE.match(lines[0])
    assert match is not None, lines[0]
    if file is not None:
        assert match["file"] == file, lines[0]
    assert int(match["line"]) == line, lines[0]
    return match["message"]


def command_line(case: Hostile, path: Path) -> list[str]:
    extra = ["--format", "json"] if case.command in ("show", "scale") else []
    return [case.command, str(path), *extra]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_is_one_line_at_its_place(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    path = tmp_path / "hostile.yaml"
    path.write_text(case.text, encoding="utf-8")
    message = refused_at(run(*command_line(case, path)), str(path), case.line)
    assert case.fragment in message, message


def test_every_class_has_cases() -> None:
    assert {case.kind for case in CASES.values()} == {"numbers", "text", "expansion", "names", "place", "validation"}


# ---------------------------------------------------------------------------- class 3: numbers


def test_a_receptive_field_beyond_4300_digits_is_exact() -> None:
    """150 pools of stride 10^30: the jump is 10^4500 and the field 1 + Σ 10^(30 i); nothing prints them."""
    text = (
        HEAD.replace("[3, 8, 8]", "[3, 1, 1]")
        + "layers:\n  - maxpool: {kernel: 2, stride: $(10**30), padding: 1, repeat: 150}\n"
    )
    analysis = engine.analyze(spec.load_text(text, "rf.yaml"))
    last = analysis.layers[-1]
    expected = 1 + sum(10 ** (30 * i) for i in range(150))
    assert last.rf == (expected, expected)
    assert last.jump == (10**4500, 10**4500)
    assert memory.memory(analysis).param_bytes == 0  # the memory model does not print them either
    with pytest.raises(ValueError, match="4300"):
        str(last.rf[0])  # (what the report must print otherwise)


@pytest.mark.parametrize("option", ["--alpha", "--beta", "--gamma"])
@pytest.mark.parametrize("value", ["1e308", "1.7976931348623157e308", "1e200"])
def test_compound_scaling_beyond_a_float_is_one_line(option: str, value: str) -> None:
    message = refused_at(run("scale", "efficientnet_b0", option, value, "--format", "json"), None, None)
    assert option in message and "beyond" in message, message


def test_compound_scaling_itself_refuses_a_factor_beyond_a_float() -> None:
    loaded = spec.load("efficientnet_b0")
    with pytest.raises(SpecError, match=r"--beta 1e\+200: 1e\+200\^2 is beyond a float's range"):
        engine.compound_scaling(loaded, [0, 2], 1.2, 1e200, 1.15)
    with pytest.raises(SpecError, match=r"--alpha 1e\+40: depth × 1e\+40\^1 is beyond 10\^30"):
        engine.compound_scaling(loaded, [0, 1], 1e40, 1.1, 1.15)
    assert [s.phi for s in engine.compound_scaling(loaded, [0, 1], 1.2, 1.1, 1.15)] == [0, 1]


def test_expression_results_beyond_10_to_the_30_are_described_not_printed() -> None:
    with pytest.raises(expr.ExprError, match=r"the result 10\^399… is too large"):
        expr.evaluate(f"$({'9' * 400} + 1)", {})
    with pytest.raises(expr.ExprError, match=r"too large"):
        expr.evaluate("$(2 ** 60 * 2 ** 60 * 2 ** 60 * 2 ** 60 * 2 ** 60 * 2 ** 60 * 2 ** 60 * 2 ** 60)", {})


# ---------------------------------------------------------------------------- class 4: text


def test_errors_escape_what_cannot_be_printed() -> None:
    error = SpecError("name 'a\ud800' and\na break", Location("f\udcff.yaml", 3, 1, "x\ty"))
    text = str(error)
    assert text == "f\\udcff.yaml:3:1: name 'a\\ud800' and\\na break (layer x\\ty)"
    text.encode("utf-8")  # printable on any UTF-8 output


def test_a_surrogate_in_single_quotes_or_plain_text_is_refused_by_yaml_itself(tmp_path: Path) -> None:
    path = tmp_path / "raw.yaml"
    path.write_bytes((HEAD + "title: a\xed\xa0\x80b\nlayers:\n" + CONV).encode("latin-1"))
    refused_at(run("show", str(path)), str(path), 4)


# ---------------------------------------------------------------------------- class 5 and names: limits


def test_the_step_limit_follows_max_layers(tmp_path: Path) -> None:
    case = CASES["when-false-repeated"]
    path = tmp_path / "steps.yaml"
    path.write_text(case.text, encoding="utf-8")
    start = time.perf_counter()
    message = refused_at(run("show", str(path), "--max-layers", "1000"), str(path), case.line)
    assert "5,000 expansion steps" in message
    assert time.perf_counter() - start < 2.0
    assert engine.Limits(max_layers=1000).max_steps == 5000


def test_legal_specs_stay_well_within_the_step_limit() -> None:
    """The bundled networks take at most 2.5 steps per layer: the limit (5 per allowed layer) is no nuisance."""
    counted: dict[int, int] = {}
    step = engine._Expander.step

    def counting(self: engine._Expander, loc: Location, path: str) -> None:
        counted[id(self)] = counted.get(id(self), 0) + 1
        step(self, loc, path)

    for name in spec.bundled_names():
        counted.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(engine._Expander, "step", counting)
            analysis = engine.analyze(spec.load(name))
        assert sum(counted.values()) <= 2.5 * len(analysis.layers), name


def test_long_names_repeated_stay_within_memory(tmp_path: Path) -> None:
    """The case that asked for 8.9 GB, in a process allowed 1.5 GB of address space: one line, exit 2."""
    case = CASES["long-names-repeated"]
    path = tmp_path / "names.yaml"
    path.write_text(case.text, encoding="utf-8")

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1_500 * 2**20, 1_500 * 2**20))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "archcost", "show", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=limit,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "layer names together are longer than 51,200,000 characters" in lines[0], lines
    assert f"{path}:6:" in lines[0]


# ---------------------------------------------------------------------------- class 9: what a spec path is


def test_a_folder_is_said_to_be_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "specs.yaml"
    folder.mkdir()
    message = refused_at(run("show", str(folder)), str(folder), None)
    assert "folder" in message and "not a spec file" in message


def test_a_fifo_is_never_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    message = refused_at(run("show", str(fifo)), str(fifo), None)  # (opening it would wait for ever)
    assert "FIFO" in message


def test_a_device_is_never_read() -> None:
    message = refused_at(run("show", "/dev/zero"), "/dev/zero", None)
    assert "device" in message


def test_paths_the_system_refuses(tmp_path: Path) -> None:
    long_name = str(tmp_path / ("a" * 300 + ".yaml"))
    refused_at(run("show", long_name), None, None)  # (the command line may refuse it before the loader)
    with pytest.raises(SpecError, match="too long"):
        spec.load(long_name)
    with pytest.raises(SpecError, match="NUL"):
        spec.load(str(tmp_path / "a\0b.yaml"))
    under_a_file = tmp_path / "file.yaml"
    under_a_file.write_text(HEAD + "layers:\n" + CONV, encoding="utf-8")
    assert "no such spec file" in refused_at(run("show", str(under_a_file / "x.yaml")), None, None)


def test_extends_of_a_folder_is_placed_at_extends(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").mkdir()
    path = tmp_path / "child.yaml"
    path.write_text("archcost: 1\nname: c\nextends: parent.yaml\n", encoding="utf-8")
    message = refused_at(run("show", str(path)), str(path), 3)
    assert "folder" in message


def test_a_spec_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes((HEAD + "title: caf\xe9\nlayers:\n" + CONV).encode("latin-1"))
    assert "not UTF-8" in refused_at(run("show", str(path)), str(path), 4)
