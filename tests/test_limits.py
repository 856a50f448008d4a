"""Limits: hostile specs fail fast with a clear SpecError, legal big figures stay exact, and archcost
writes only the files it is told to, atomically.

Bounds under test (docs/spec-language.md §12 lists them): engine.Limits (leaf layers, copies per
repeat, nesting), spec.MAX_YAML_NODES and MAX_YAML_DEPTH, expr.MAX_MAGNITUDE, MAX_SOURCE, the
exponent cap and MAX_TEXT. Times are wall-clock bounds with room for a loaded CI machine; the
typical figures are in docs/performance.md.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_runner import CliRunner

from archcost import engine, expr, layers, spec
from archcost.cli import app, write_atomic
from archcost.errors import SpecError

HEAD = "archcost: 1\nname: t\ninput: [3, 8, 8]\n"
"""Three lines: what follows starts on line 4."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """The body finishes within `seconds`: generous bounds (a bomb without its limit runs for minutes),
    so that a loaded machine does not fail them."""
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.2f} s (bound {seconds} s)"


def run(text: str, **kwargs: Any) -> engine.Analysis:
    return engine.analyze(spec.load_text(text, "limits.yaml"), **kwargs)


def refused(text: str, fragment: str, seconds: float = 5.0, **kwargs: Any) -> SpecError:
    """`text` fails within `seconds` with a SpecError holding `fragment`, placed at a line."""
    with within(seconds), pytest.raises(SpecError) as info:
        run(text, **kwargs)
    assert fragment in info.value.message, str(info.value)
    assert info.value.location.line >= 1, str(info.value)
    return info.value


# ---------------------------------------------------------------------------- YAML


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """The classic alias bomb: each level is `width` aliases of the one before (10^9 leaves)."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_fails_fast() -> None:
    err = refused(HEAD + "layers: [relu]\nnotes:\n  - x\n" + billion_laughs(), "alias bomb")
    assert "1,000,000 nodes" in err.message
    # a0 … a5 (lines 7 … 12) hold 1.2 million nodes between them: refused on a5's line
    assert err.location.line == 7 + 5


def test_alias_bomb_as_the_layer_list_fails_fast() -> None:
    bomb = billion_laughs().replace("lol", "relu").replace("a", "b")  # b0 … b8 at the top: refused while read
    refused(HEAD + "notes: [x]\n" + bomb.replace("\nb", "\nnotes_b") + "layers: *b8\n", "alias bomb")


def test_aliases_below_the_limit_are_shared_not_copied() -> None:
    """Ten aliases of a 10,000-item list: 100,000 nodes, read quickly (the list is built once)."""
    text = "n: &n [" + ", ".join(["x"] * 10_000) + "]\nm: [" + ", ".join(["*n"] * 10) + "]\n"
    with within(5.0):
        doc = spec.parse_yaml(text, "f")
    assert len(doc["m"]) == 10 and all(len(copy) == 10_000 for copy in doc["m"])
    assert doc["m"][0] is doc["n"]


def test_alias_to_itself() -> None:
    err = refused(HEAD + "layers: &a [relu, *a]\n", "contains an alias to itself")
    assert err.location.line == 4


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_flow_nesting_fails_fast(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    deep = opener * 100_000 + "1" + closer * 100_000
    refused(HEAD + f"layers: {deep}\n", "nests deeper than 200 levels")


def test_deep_block_nesting_fails_fast() -> None:
    lines = "".join(" " * i + f"k{i}:\n" for i in range(1000))
    refused(lines, "nests deeper than 200 levels")


def test_yaml_depth_boundary() -> None:
    # the root mapping is level 1, so `x:` can hold 199 nested lists and not 200
    spec.parse_yaml("x: " + "[" * 199 + "]" * 199 + "\n", "f")
    with pytest.raises(SpecError, match="nests deeper than 200"):
        spec.parse_yaml("x: " + "[" * 200 + "]" * 200 + "\n", "f")
    assert spec.MAX_YAML_DEPTH == 200


def test_deep_alias_counts_its_depth() -> None:
    inner = "[" * 150 + "]" * 150
    text = f"a: &a {inner}\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    with pytest.raises(SpecError, match="nests deeper than 200"):
        spec.parse_yaml(text, "f")


def test_control_characters_are_placed() -> None:
    err = refused("archcost: 1\nname: t\x00\n", "U+0000 is not allowed")
    assert (err.location.line, err.location.column) == (2, 8)


def test_huge_yaml_integer() -> None:
    refused(HEAD + "layers:\n  - conv: {out: " + "9" * 5000 + ", kernel: 1}\n", "cannot read")


# ---------------------------------------------------------------------------- repeats, layers, nesting


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1e12", "repeat must be a whole number ≥ 1, got 1000000000000.0"),
        ('"$(10**12)"', "repeat 1,000,000,000,000 is more than the limit of 100,000"),
        ("1000000000000", "more than the limit of 100,000"),
        ('"$(10**40)"', "too large"),
        ("-3", "repeat must be a whole number ≥ 1, got -3"),
    ],
)
def test_huge_repeat_fails_fast(value: str, fragment: str) -> None:
    err = refused(HEAD + f"layers:\n  - relu: {{name: r, repeat: {value}}}\n", fragment)
    assert err.location.line == 5


def test_repeat_limit_boundary() -> None:
    limits = engine.Limits(max_repeat=10)
    assert len(run(HEAD + "layers:\n  - relu: {repeat: 10}\n", limits=limits).layers) == 10
    refused(HEAD + "layers:\n  - relu: {repeat: 11}\n", "more than the limit of 10", limits=limits)


def test_layer_limit_boundary() -> None:
    text = HEAD + "layers:\n  - relu: {repeat: 5}\n"
    assert len(run(text, limits=engine.Limits(max_layers=5)).layers) == 5
    refused(text, "more than 4 layers", limits=engine.Limits(max_layers=4))


def nested_repeats(levels: int, copies: int) -> str:
    """Blocks b0 … b{levels-1}, each repeating the next `copies` times: copies^levels relus."""
    text = HEAD + "blocks:\n"
    for i in range(levels):
        inner = f"b{i + 1}" if i + 1 < levels else "relu"
        text += f"  b{i}:\n    layers:\n      - {inner}: {{repeat: {copies}}}\n"
    return text + "layers: [b0]\n"


def test_exploding_nested_repeats_stop_at_the_layer_limit() -> None:
    """1000^4 = 10^12 layers asked for: refused at the default limit (200,000) within seconds."""
    assert engine.Limits().max_layers == 200_000
    refused(nested_repeats(4, 1000), "the spec expands to more than 200,000 layers", seconds=15)


def test_doubling_block_chain_loads_in_linear_time() -> None:
    """60 blocks each calling the next twice: 2^60 paths, checked for cycles once per block."""
    text = HEAD + "blocks:\n"
    for i in range(60):
        text += f"  b{i}:\n    layers: [b{i + 1}, b{i + 1}]\n"
    text += "  b60:\n    layers: [relu]\nlayers: [b0]\n"
    with within(5.0):
        spec.load_text(text, "f")
    refused(text, "more than 1,000 layers", limits=engine.Limits(max_layers=1000))


def test_long_block_chain_is_a_nesting_error() -> None:
    """1,500 blocks calling one another in a line (was a RecursionError in the cycle check)."""
    text = HEAD + "blocks:\n"
    for i in range(1500):
        text += f"  b{i}:\n    layers: [{f'b{i + 1}' if i < 1499 else 'relu'}]\n"
    refused(text + "layers: [b0]\n", "layers nest deeper than 64 levels")


def test_nesting_limit_boundary() -> None:
    def nested(levels: int) -> str:
        return HEAD + "layers: " + "[sequential: {layers: " * levels + "[relu]" + "}]" * levels + "\n"

    # the relu and each sequential count one level
    assert len(run(nested(63)).layers) == 1
    refused(nested(64), "nest deeper than 64 levels")
    assert len(run(nested(64), limits=engine.Limits(max_nesting=65)).layers) == 1


def test_block_cycle_still_named() -> None:
    text = HEAD + "blocks:\n  a:\n    layers: [relu, b]\n  b:\n    layers: [a]\nlayers: [a]\n"
    err = refused(text, "block 'a' uses itself (a → b → a)")
    assert err.location.line == 8


# ---------------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('"$(2 ** 65)"', "exponent too large (at most 64)"),
        ('"$(10 ** 31)"', "too large"),
        ('"$(1e29 ** 64)"', "too large"),
        ('"$(' + "+".join(["1"] * 600) + ')"', "longer than 1,000 characters"),
        ('"$(' + "-" * 998 + '1)"', "nests too deeply"),
        ('"$(' + "(" * 300 + "1" + ")" * 300 + ')"', "too many nested parentheses"),
    ],
)
def test_expression_caps(value: str, fragment: str) -> None:
    refused(HEAD + f"params: {{w: {value}}}\nlayers:\n  - conv: {{out: $w, kernel: 1}}\n", fragment)


def test_text_cap() -> None:
    text = HEAD + "params: {a: " + "a" * 600 + ", s: '$(a + a)'}\nlayers: [relu]\n"
    refused(text, f"longer than {expr.MAX_TEXT} characters")


def test_arguments_beyond_the_magnitude_cap() -> None:
    refused(HEAD + "layers:\n  - conv: {out: " + "9" * 40 + ", kernel: 1}\n", "out is larger than 10^30")
    refused("archcost: 1\nname: t\ninput: [3, 8, " + "9" * 40 + "]\nlayers: [relu]\n", "at most 10^30")


def test_names_pattern_cannot_blow_up() -> None:
    refused(HEAD + 'layers:\n  - relu: {repeat: 2, names: "x{n}{i:>99999999}"}\n', "names must be a name pattern")


# ---------------------------------------------------------------------------- exact big figures


def test_big_legal_figures_stay_exact_integers(tmp_path: Path) -> None:
    """A 3×3 conv to 100,000 channels on a 1×4096×4096 input, then a linear layer to 10,000 outputs."""
    text = (
        "archcost: 1\nname: big\ninput: [1, 4096, 4096]\nlayers:\n"
        "  - conv: {name: c, out: 100000, kernel: 3, padding: 1}\n"
        "  - flatten: {name: f}\n"
        "  - linear: {name: fc, out: 10000}\n"
    )
    conv, flat, fc = run(text).layers
    hw = 4096 * 4096
    assert conv.output_shape == (100_000, 4096, 4096)
    assert conv.params == 3 * 3 * 1 * 100_000 + 100_000 == 1_000_000
    assert conv.macs == hw * 100_000 * 3 * 3 * 1 == 15_099_494_400_000
    assert conv.flops == 2 * conv.macs + hw * 100_000
    n = 100_000 * hw
    assert flat.output_shape == (n,) and n == 1_677_721_600_000
    assert fc.macs == n * 10_000 == 16_777_216_000_000_000  # beyond 2^53: a float would round it
    assert fc.params == fc.macs + 10_000
    assert fc.macs > 2**53 and all(type(v) is int for v in (conv.macs, fc.macs, fc.params, fc.flops))

    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["show", str(path), "--format", "json", "--batch", "1024"])
    assert result.exit_code == 0, result.output
    assert '"macs":16777216000000000,' in result.stdout  # exact digits in the layer's JSON line
    data = json.loads(result.stdout)
    totals = data["totals"]
    assert totals["params"] == 1_000_000 + fc.params
    assert totals["macs"] == conv.macs + fc.macs
    assert type(totals["flops"]) is int and totals["flops"] == conv.flops + flat.flops + fc.flops
    assert [layer["macs"] for layer in data["layers"]] == [conv.macs, 0, fc.macs]


def test_adaptive_pool_windows_in_closed_form() -> None:
    """The closed form against a walk over every window, as torch's rule defines them."""

    def walk(n: int, out: int) -> tuple[int, int]:
        lengths = [-(-((i + 1) * n) // out) - (i * n) // out for i in range(out)]
        return sum(lengths), max(lengths)

    for n in range(1, 70):
        for out in range(1, 70):
            assert layers.adaptive_extent(n, out) == walk(n, out), (n, out)
    # and a huge output is instant (the walk would take hours)
    with within(5.0):
        analysis = run("archcost: 1\nname: t\ninput: [3, 7, 7]\nlayers:\n  - adaptive_avgpool: {output: 100000000}\n")
    assert analysis.output.flops == 3 * (7 + 10**8 - math.gcd(7, 10**8)) ** 2


# ---------------------------------------------------------------------------- files


@pytest.mark.parametrize("target", ["specs/vgg16.yaml", "x.yml", "NOTES.YAML"])
def test_gallery_refuses_spec_files(tmp_path: Path, target: str) -> None:
    path = tmp_path / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("archcost: 1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["gallery", str(path)])
    assert result.exit_code == 2, result.output
    assert "never writes a spec" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert path.read_text(encoding="utf-8") == "archcost: 1\n"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left


def test_bundled_spec_is_never_written() -> None:
    bundled = spec.bundled_dir() / "vgg16.yaml"
    before = bundled.read_bytes(), bundled.stat().st_mtime_ns
    result = CliRunner().invoke(app, ["gallery", str(bundled)])
    assert result.exit_code == 2
    assert (bundled.read_bytes(), bundled.stat().st_mtime_ns) == before


def test_write_atomic_replaces_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.md"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o640)
    write_atomic(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.md"]


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gallery.md"
    path.write_text("old contents\n", encoding="utf-8")

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SpecError, match="cannot write: No space left on device"):
        write_atomic(path, "new contents\n" * 1000)
    assert path.read_text(encoding="utf-8") == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery.md"]


def test_interrupted_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure half-way through writing the temporary file (here a KeyboardInterrupt)."""
    path = tmp_path / "gallery.md"
    path.write_text("old contents\n", encoding="utf-8")
    real_open: Callable[..., Any] = os.fdopen

    class Half:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.file = real_open(*args, **kwargs)

        def __enter__(self) -> Half:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, text: str) -> None:
            self.file.write(text[: len(text) // 2])
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "fdopen", Half)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new contents\n" * 1000)
    assert path.read_text(encoding="utf-8") == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery.md"]


def test_write_to_a_folder_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["gallery", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a folder" in result.stderr or "a folder" in result.stderr


def test_plot_writes_only_the_named_image(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    spec_file = tmp_path / "net.yaml"
    spec_file.write_text(HEAD + "layers:\n  - conv: {out: 4, kernel: 3}\n  - relu\n", encoding="utf-8")
    before = spec_file.read_bytes()
    refused_run = CliRunner().invoke(app, ["show", str(spec_file), str(tmp_path / "net2.yaml"), "--plot"])
    assert refused_run.exit_code == 2
    result = CliRunner().invoke(app, ["show", str(spec_file), str(tmp_path / "chart.png"), "--plot"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.png", "net.yaml"]
    assert spec_file.read_bytes() == before


def test_max_layers_option(tmp_path: Path) -> None:
    few = CliRunner().invoke(app, ["show", "resnet18", "--max-layers", "10"])
    assert few.exit_code == 2
    assert "more than 10 layers" in few.stderr
    enough = CliRunner().invoke(app, ["show", "resnet18", "--max-layers", "100", "--format", "json"])
    assert enough.exit_code == 0
    assert len(json.loads(enough.stdout)["layers"]) <= 100


# ---------------------------------------------------------------------------- the benchmark script


def test_benchmark_runs_in_quick_mode(tmp_path: Path) -> None:
    """benchmarks/bench.py is a script for people, not a timed test: this only checks that it runs."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "bench.py"), "--quick", "--json", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for heading in ("## Start-up", "## In-process, per bundled spec", "## Scaling", "## Targets"):
        assert heading in done.stdout
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["quick"] is True and results["help"] > 0 and results["list"] > 0
