"""archcost's speed, measured side by side with the torch route, in one run.

    python3 benchmarks/bench.py            # everything (~7 minutes on two cores)
    python3 benchmarks/bench.py --quick    # a smoke run: no torch, small sizes, one repeat
    python3 benchmarks/bench.py --json results.json

Sections (docs/performance.md has the figures and how to read them):

1. whole-process start-up: ``archcost --help`` and ``archcost list``, and ``archcost --help`` and
   ``archcost show resnet50 --format json`` against the floor ``python3 -c "import typer, yaml"`` in
   interleaved pairs (the median ratio of the pairs, and their spread);
2. ``archcost show NET --format json`` against the torch route for the same figures: a process
   that imports torch and fvcore, builds the network (archcost.torchcheck.build), runs fvcore's
   per-module FlopCountAnalysis, ActivationCountAnalysis and parameter_count (and, as a lower
   bound, the total alone); ResNet-152 at 224×224 and EfficientNet-B7 at 600×600, in rounds that
   time both sides in the same minutes;
3. in-process time to load and analyse each bundled spec;
4. scaling: synthetic chains, residual stacks and dense concatenation chains of 1k, 10k and 100k
   layers (benchmarks/synthetic.py), load + analyse and the memory model, per layer;
5. output: the table of a 20,000-layer spec against its JSON (whole process, rounds that time both
   in the same minutes: the median round's ratio and the spread), the writers alone in-process,
   200,000 layers to JSON, and ``scale --phi`` with 2,000 values.
6. import: ``archcost import torchvision:resnet50`` (the whole process: torch, torchvision, trace,
   map, check, write) against the fvcore route for the same model (a process that imports torch,
   torchvision and fvcore, builds resnet50 and runs ``FlopCountAnalysis`` and ``parameter_count``), in
   interleaved rounds; and the largest torchvision model, ``regnet_y_128gf``, imported once.

Every subprocess runs this checkout (PYTHONPATH) with a bytecode cache in a temporary folder, as an
installed package has its .pyc files (this machine's shell sets PYTHONDONTWRITEBYTECODE=1, which
would add the compile time of every module to every run). Times are the minimum over the repeats
(the least disturbed run); the machine is named in the output. Run it from a virtual environment:
a system Python's site hooks slow every process (the script warns when they do).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402  (next to this file)

from archcost import engine, memory, spec  # noqa: E402

ARCHCOST = [sys.executable, "-c", "import sys; sys.argv[0] = 'archcost'; from archcost.__main__ import run; run()"]
"""The command line, as the installed `archcost` script runs it, on this checkout."""

TORCH_ROUTE = r"""
import sys, warnings
warnings.simplefilter("ignore")
import torch
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, parameter_count
from archcost import engine, memory, spec, torchcheck
analysis = engine.analyze(spec.load(sys.argv[1]))
model = torchcheck.build(analysis).eval()
x = torch.randn(1, *analysis.input)
def quiet(counter):
    return counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
with torch.no_grad():
    if sys.argv[2] == "same":  # per module, as `archcost verify` asks fvcore for them
        flops = quiet(FlopCountAnalysis(model, x)).by_module()[""]
        quiet(ActivationCountAnalysis(model, x)).by_module()
    else:  # "least": the total only
        flops = quiet(FlopCountAnalysis(model, x)).total()
print(parameter_count(model)[""], flops)
"""
"""The torch route: what it takes to get figures from the built network with fvcore.

``same``: the per-module figures fvcore gives that `archcost show` also prints (its "flops", activations
and parameters per module: two traces, as `archcost verify` runs them); ``least``: the whole network's
"flops" and parameters only (one trace), a lower bound on any torch route."""

LIBRARY_ROUTE = r"""
import sys
from archcost import engine, memory, report, spec
analysis = engine.analyze(spec.load(sys.argv[1]))
sys.stdout.write(report.render_text(analysis, "json", None, memory.memory(analysis), None))
"""
"""The same JSON from archcost used as a library: the process without the command-line layer (typer)."""

FVCORE_IMPORT_ROUTE = r"""
import sys, warnings
warnings.simplefilter("ignore")
import torch
from fvcore.nn import FlopCountAnalysis, parameter_count
from archcost.importer.source import import_torchvision  # torchvision, with the stub only if it must
model = import_torchvision().models.get_model(sys.argv[1]).eval()
with torch.no_grad():
    flops = FlopCountAnalysis(model, torch.randn(1, 3, 224, 224)).unsupported_ops_warnings(False).total()
print(parameter_count(model)[""], flops)
"""
"""The fvcore route to a torchvision model's figures: import torch, torchvision and fvcore, build the model (as
a user would: on the CPU, initialised), trace it once for the total "flops", count the parameters."""

FLOOR = "import argparse, dataclasses, json, yaml"
"""What any Python command that reads YAML into dataclasses imports before doing any work: a process that
does only this is the floor under `archcost show`'s time on this machine."""

TYPER_FLOOR = "import typer, yaml"
"""The floor of issue 14: a process that imports the command-line package and the YAML reader, nothing else."""
FLOOR_PAIRS = {"help_ratio": ["--help"], "show_ratio": ["show", "resnet50", "--format", "json"]}
"""The commands timed in pairs against :data:`TYPER_FLOOR`."""

TARGETS = {
    "help_ratio": ("archcost --help vs `import typer, yaml`", "≤ 2×"),
    "show_ratio": ("archcost show resnet50 --format json vs `import typer, yaml`", "≤ 2.5×"),
    "help": ("archcost --help", "< 0.3 s"),
    "list": ("archcost list", "< 0.3 s"),
    "resnet152": ("show resnet152 vs torch route", "≥ 10×"),
    "efficientnet_b7": ("show efficientnet_b7 (600×600) vs torch route", "≥ 50×"),
    "100k": ("a 100k-layer spec analysed", "< 5 s"),
    "table20k": ("show's table of a 20k-layer spec vs its JSON (whole process)", "≤ 3×"),
    "writers20k": ("the table vs the JSON writer alone, 20k layers (in-process)", "≤ 3×"),
    "json200k": ("show --format json of a 200k-layer spec (whole process)", "< 5 s"),
    "scale2000": ("scale --phi with 2,000 values (whole process)", "< 5 s"),
    "import_resnet50": ("archcost import torchvision:resnet50 vs the fvcore route", "≥ 1×"),
    "import_largest": ("archcost import torchvision:regnet_y_128gf", "< 60 s"),
}


SITE_HOOKS_WARN = 0.015
"""Seconds of `python3 -c pass` over `python3 -S -c pass` above which the interpreter's site hooks are named."""


def child_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_once(command: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall time of one run of `command`, and its output."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[3:]) or command}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def timed_process(command: Sequence[str], env: dict[str, str], repeats: int) -> tuple[float, str]:
    """Minimum wall time of `command` over `repeats` runs (after one warm-up), and its last output."""
    out = run_once(command, env)[1]  # the first run warms the bytecode cache and the page cache
    times = []
    for _ in range(repeats):
        elapsed, out = run_once(command, env)
        times.append(elapsed)
    return min(times), out


def timed(call: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Minimum in-process time of `call` (garbage collected before each run)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, load {load:.1f}; "
        f"Python {platform.python_version()}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(t: float) -> str:
    return f"{t:.3f} s" if t < 10 else f"{t:.1f} s"


# ---------------------------------------------------------------------------- sections


def startup(env: dict[str, str], repeats: int, results: dict[str, Any]) -> str:
    rows = []
    for key, args in (("help", ["--help"]), ("version", ["--version"]), ("list", ["list"])):
        t, _ = timed_process([*ARCHCOST, *args], env, repeats)
        results[key] = t
        rows.append([f"`archcost {' '.join(args)}`", seconds(t)])
    for key, what, command in (
        ("python", "`python3 -c pass` (the interpreter, with this machine's site hooks)", ["-c", "pass"]),
        ("python_bare", "`python3 -S -c pass` (the interpreter without site hooks)", ["-S", "-c", "pass"]),
        ("floor", f"`python3 -c '{FLOOR}'` (the floor: the imports any YAML-reading CLI needs)", ["-c", FLOOR]),
        ("import_cli", "`python3 -c 'import archcost.cli'`", ["-c", "import archcost.cli"]),
    ):
        t, _ = timed_process([sys.executable, *command], env, repeats)
        results[key] = t
        rows.append([what, seconds(t)])
    text = "## Start-up (whole process)\n\n" + table(["command", "time"], rows)
    text += "\n\n" + against_floor(env, max(repeats, 5), results)
    hooks = results["python"] - results["python_bare"]
    if hooks > SITE_HOOKS_WARN:
        text += (
            f"\n\n**Warning**: this interpreter's site hooks (the `.pth` files of its site-packages) take "
            f"{hooks * 1e3:.0f} ms in every process, archcost's and the torch route's alike; a fresh virtual "
            "environment has none (docs/performance.md, How to measure)."
        )
    return text


def against_floor(env: dict[str, str], pairs: int, results: dict[str, Any]) -> str:
    """Each command of :data:`FLOOR_PAIRS` and the floor `python3 -c "import typer, yaml"`, run one after the
    other `pairs` times (after a warm-up of each), so both sides of a pair see the same moment of a shared
    machine; a pair's ratio is the command's time over the floor's. The median pair is the figure, the
    lowest and highest its spread."""
    floor = [sys.executable, "-c", TYPER_FLOOR]
    rows = []
    for key, args in FLOOR_PAIRS.items():
        command = [*ARCHCOST, *args]
        run_once(floor, env), run_once(command, env)  # warm the bytecode and page caches
        ratios, floors, times = [], [], []
        for _ in range(pairs):
            base, _ = run_once(floor, env)
            took, _ = run_once(command, env)
            ratios.append(took / base)
            floors.append(base)
            times.append(took)
        ratios.sort()
        median = ratios[len(ratios) // 2]
        results[key] = {
            "ratio": median,
            "low": ratios[0],
            "high": ratios[-1],
            "pairs": pairs,
            "floor": sorted(floors)[len(floors) // 2],
            "archcost": sorted(times)[len(times) // 2],
        }
        rows.append(
            [
                f"`archcost {' '.join(args)}`",
                f"{median:.2f}×",
                f"{ratios[0]:.2f}–{ratios[-1]:.2f}×",
                seconds(results[key]["archcost"]),
                seconds(results[key]["floor"]),
            ]
        )
    return f"Against the floor `python3 -c '{TYPER_FLOOR}'`, {pairs} interleaved pairs:\n\n" + table(
        ["command", "median ratio", "spread", "median time", "floor's median"], rows
    )


def versus_torch(env: dict[str, str], repeats: int, rounds: int, results: dict[str, Any]) -> str:
    """Rounds of (the torch route once, its total-only variant once, `show` and the library route `repeats`
    times each): both sides of a round see the same machine, whose speed drifts over minutes when it is
    shared. A round's ratio is its torch time over its fastest `show`; the median round is reported."""
    rows = []
    for name in ("resnet152", "efficientnet_b7"):
        commands = {
            "archcost": [*ARCHCOST, "show", name, "--format", "json"],
            "library": [sys.executable, "-c", LIBRARY_ROUTE, name],
            "torch": [sys.executable, "-c", TORCH_ROUTE, name, "same"],
            "torch_least": [sys.executable, "-c", TORCH_ROUTE, name, "least"],
        }
        outputs = {key: run_once(command, env)[1] for key, command in commands.items()}  # warm-up
        measured = []
        for _ in range(rounds):
            round_: dict[str, float] = {}
            for key, command in commands.items():
                runs = 1 if key.startswith("torch") else repeats
                round_[key] = min(run_once(command, env)[0] for _ in range(runs))
            measured.append(round_)
        ratios = sorted(r["torch"] / r["archcost"] for r in measured)
        middle = sorted(measured, key=lambda r: r["torch"] / r["archcost"])[len(measured) // 2]
        ours, theirs, least, library = (middle[k] for k in ("archcost", "torch", "torch_least", "library"))
        floor = results.get("floor") or timed_process([sys.executable, "-c", FLOOR], env, repeats)[0]
        data = json.loads(outputs["archcost"])
        params, fv_flops = (int(v) for v in outputs["torch"].split())
        same = "yes" if params == data["totals"]["params"] else f"NO ({params:,})"
        ratio = theirs / ours
        results[name] = {
            "archcost": ours,
            "torch": theirs,
            "ratio": ratio,
            "ratios": ratios,
            "torch_least": least,
            "ratio_least": least / ours,
            "library": library,
            "floor": floor,
            "rounds": measured,
        }
        shape = "×".join(map(str, data["input"]))
        rows.append(
            [
                f"{name} ({shape})",
                len(data["layers"]),
                seconds(ours),
                seconds(theirs),
                f"**{ratio:.1f}×**",
                " / ".join(f"{r:.1f}×" for r in ratios),
                f"{seconds(least)} ({least / ours:.1f}×)",
                f"{seconds(library)} ({theirs / library:.1f}×)",
                f"{theirs / floor:.0f}×",
                same,
                f"{data['totals']['macs']:,} / {fv_flops:,}",
            ]
        )
    headers = [
        "network",
        "layers",
        "archcost show --format json",
        "torch route",
        "ratio",
        "every round's ratio",
        "torch, total only (ratio)",
        "archcost as a library (ratio)",
        "the floor's ratio",
        "same params",
        "MACs / fvcore",
    ]
    note = (
        "Each round runs the torch route once, its total-only variant once, and `show` and the library route "
        f"{repeats} times each (the fastest counts); the ratio is the median round's, beside every round's. "
        "The torch route: `import torch`, fvcore, build the module (archcost.torchcheck.build), then fvcore's "
        "per-module figures that `show` also prints: FlopCountAnalysis(...).by_module(), "
        "ActivationCountAnalysis(...).by_module() and parameter_count, on one input, torch's default threads "
        "(what `archcost verify` runs). Total only: FlopCountAnalysis(...).total() and parameter_count, one "
        "trace: a lower bound on any torch route. "
        "fvcore's count is in its own convention (batch norm counted, bias not), hence not equal to MACs. "
        "As a library: the same JSON from `python3 -c` calling spec.load, engine.analyze, memory.memory and "
        "report.render_text, without the command-line layer. The floor's ratio: the torch route's time over "
        f"that of a process that only runs `{FLOOR}`, the most any Python YAML reader could reach here."
    )
    return "## archcost show vs the torch route (whole process)\n\n" + table(headers, rows) + "\n\n" + note


def per_spec(repeats: int, names: Sequence[str]) -> str:
    rows = []
    layers_all, load_all, analyse_all = 0, 0.0, 0.0
    for name in names:
        load_t, loaded = timed(lambda n=name: spec.load(n), repeats)  # type: ignore[misc]
        analyse_t, analysis = timed(lambda s=loaded: engine.analyze(s), repeats)  # type: ignore[misc]
        n = len(analysis.layers)
        layers_all, load_all, analyse_all = layers_all + n, load_all + load_t, analyse_all + analyse_t
        rows.append([name, n, f"{load_t * 1e3:.1f}", f"{analyse_t * 1e3:.1f}", f"{analyse_t / n * 1e6:.1f}"])
    rows.append(
        [
            f"**all {len(names)}**",
            f"{layers_all:,}",
            f"**{load_all * 1e3:.0f}**",
            f"**{analyse_all * 1e3:.0f}**",
            f"{analyse_all / layers_all * 1e6:.1f}",
        ]
    )
    headers = ["spec", "layers", "load (ms)", "analyse (ms)", "µs per layer (analyse)"]
    return "## In-process, per bundled spec\n\n" + table(headers, rows)


def scaling(sizes: Sequence[int], results: dict[str, Any]) -> str:
    rows = []
    worst_100k = 0.0
    for shape, make in synthetic.SHAPES.items():
        per_layer = []
        for size in sizes:
            text = make(size)
            repeats = 3 if size <= 10_000 else 1
            load_t, loaded = timed(lambda t=text, s=shape: spec.load_text(t, f"{s}.yaml"), repeats)  # type: ignore[misc]
            limits = engine.Limits(max_layers=max(size, engine.Limits().max_layers))
            analyse_t, analysis = timed(lambda s=loaded, lim=limits: engine.analyze(s, limits=lim), repeats)  # type: ignore[misc]
            memory_t, _ = timed(lambda a=analysis: memory.memory(a), 1)  # type: ignore[misc]
            n = len(analysis.layers)
            total = load_t + analyse_t
            per_layer.append(total / n)
            if size >= 100_000:
                worst_100k = max(worst_100k, total)
            rows.append(
                [
                    shape,
                    f"{n:,}",
                    f"{len(text) / 1e6:.2f} MB",
                    seconds(load_t),
                    seconds(analyse_t),
                    f"**{seconds(total)}**",
                    f"{total / n * 1e6:.1f}",
                    seconds(memory_t),
                ]
            )
            del analysis, loaded
        flat = max(per_layer) / min(per_layer)
        rows.append(["", "", "", "", "", "", f"largest/smallest: {flat:.2f}", ""])
    if worst_100k:
        results["100k"] = worst_100k
    headers = ["shape", "layers", "YAML", "load", "analyse", "load + analyse", "µs per layer", "memory model"]
    note = (
        "chain: one YAML item per layer (the loader works as hard as the engine); residual and dense: "
        "blocks made with `repeat` (7 and 4 layers each; dense concatenations grow the channels). "
        "The memory model (memory.memory: inference peak, saved activations) is what `show` adds."
    )
    return "## Scaling (in-process)\n\n" + table(headers, rows) + "\n\n" + note


WRITERS = r"""
import gc, io, json, sys, time
from rich.console import Console
from archcost import engine, memory, report, spec
analysis = engine.analyze(spec.load(sys.argv[1]), limits=engine.Limits(max_layers=10**6))
mem = memory.memory(analysis)
gc.collect()
start = time.perf_counter()
report.render_text(analysis, "json", None, mem, None)
middle = time.perf_counter()
report.draw(Console(file=io.StringIO(), width=160), report.table(analysis))  # as `archcost show` prints it
end = time.perf_counter()
print(json.dumps({"json": middle - start, "table": end - middle}))
"""
"""The writers alone, on one analysis: show's JSON text, then its terminal table drawn at 160 columns."""


def output(env: dict[str, str], rounds: int, quick: bool, results: dict[str, Any]) -> str:
    """Rounds of (the table, the JSON, the writers in-process, 200k to JSON, scale with 2,000 φ), each round
    timing every command once in the same minutes; medians and the spread (smallest–largest) over rounds."""
    small, big = (2_000, 20_000) if quick else (20_000, 200_000)
    phis = ",".join(str(i % 21) for i in range(2_000))
    with tempfile.TemporaryDirectory(prefix="archcost-output-") as folder:
        paths = {}
        for size in (small, big):
            paths[size] = Path(folder) / f"residual_{size}.yaml"
            paths[size].write_text(synthetic.residual(size), encoding="utf-8")
        commands = {
            "table": [*ARCHCOST, "show", str(paths[small])],
            "json": [*ARCHCOST, "show", str(paths[small]), "--format", "json"],
            "json_big": [*ARCHCOST, "show", str(paths[big]), "--format", "json"],
            "scale": [*ARCHCOST, "scale", "efficientnet_b0", "--phi", phis],
        }
        for command in commands.values():
            run_once(command, env)  # warm-up
        measured: list[dict[str, float]] = []
        for _ in range(rounds):
            round_ = {key: run_once(command, env)[0] for key, command in commands.items()}
            writers = json.loads(run_once([sys.executable, "-c", WRITERS, str(paths[small])], env)[1])
            round_["writer_json"], round_["writer_table"] = writers["json"], writers["table"]
            measured.append(round_)

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    def spread(values: list[float], fmt: Callable[[float], str]) -> str:
        return f"{fmt(min(values))}–{fmt(max(values))}"

    table_ratios = [r["table"] / r["json"] for r in measured]
    writer_ratios = [r["writer_table"] / r["writer_json"] for r in measured]
    results["table20k"] = {"ratio": median(table_ratios), "ratios": table_ratios, "rounds": measured}
    results["writers20k"] = {"ratio": median(writer_ratios), "ratios": writer_ratios}
    results["json200k"] = median([r["json_big"] for r in measured])
    results["scale2000"] = median([r["scale"] for r in measured])

    def ratio(x: float) -> str:
        return f"{x:.2f}×"

    rows = [
        [
            f"`show` a {small:,}-layer residual stack (table, 160 columns)",
            seconds(median([r["table"] for r in measured])),
            spread([r["table"] for r in measured], seconds),
        ],
        [
            "`show --format json`, the same spec",
            seconds(median([r["json"] for r in measured])),
            spread([r["json"] for r in measured], seconds),
        ],
        ["**table / JSON (whole process)**", f"**{ratio(median(table_ratios))}**", spread(table_ratios, ratio)],
        [
            "the JSON writer alone (in-process)",
            seconds(median([r["writer_json"] for r in measured])),
            spread([r["writer_json"] for r in measured], seconds),
        ],
        [
            "the table drawn alone (in-process)",
            seconds(median([r["writer_table"] for r in measured])),
            spread([r["writer_table"] for r in measured], seconds),
        ],
        ["**table / JSON (writers alone)**", f"**{ratio(median(writer_ratios))}**", spread(writer_ratios, ratio)],
        [
            f"`show --format json`, a {big:,}-layer residual stack",
            f"**{seconds(results['json200k'])}**",
            spread([r["json_big"] for r in measured], seconds),
        ],
        [
            "`scale efficientnet_b0 --phi` with 2,000 values (21 distinct)",
            f"**{seconds(results['scale2000'])}**",
            spread([r["scale"] for r in measured], seconds),
        ],
    ]
    note = (
        f"{rounds} round(s); each round runs every command once, so a table and its JSON are timed in the same "
        "minutes of a shared machine; the median round is shown with the spread over rounds. The table is "
        "what `archcost show` prints to a pipe (160 columns). The writers alone: one process analyses the "
        "spec, then times `report.render_text(..., 'json')` and the table drawn by rich's Console into memory."
    )
    return "## Output (whole process and writers)\n\n" + table(["what", "median", "spread"], rows) + "\n\n" + note


def importing(env: dict[str, str], rounds: int, results: dict[str, Any], largest: bool = True) -> str:
    """Rounds of (``archcost import torchvision:resnet50`` once, the fvcore route once), the minimum of each;
    then the largest torchvision model imported once."""
    ours: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="archcost-import-") as out:
        target = str(Path(out) / "resnet50.yaml")
        command = [*ARCHCOST, "import", "torchvision:resnet50", "-o", target]
        route = [sys.executable, "-c", FVCORE_IMPORT_ROUTE, "resnet50"]
        run_once(command, env)  # warm-up: the bytecode caches
        run_once(route, env)
        for _ in range(rounds):
            ours.append(run_once(command, env)[0])
            theirs.append(run_once(route, env)[0])
        rows = [
            ["archcost import torchvision:resnet50 -o FILE", seconds(min(ours))],
            [
                "fvcore route: torch + torchvision + fvcore, build, FlopCountAnalysis.total, parameter_count",
                seconds(min(theirs)),
            ],
        ]
        results["import_resnet50"] = {"archcost": min(ours), "torch": min(theirs), "ratio": min(theirs) / min(ours)}
        if largest:
            elapsed, _ = run_once(
                [*ARCHCOST, "import", "torchvision:regnet_y_128gf", "-o", str(Path(out) / "big.yaml")], env
            )
            results["import_largest"] = elapsed
            rows.append(["archcost import torchvision:regnet_y_128gf -o FILE (644.8M parameters)", seconds(elapsed)])
    return f"## Import (whole process, minimum of {rounds} interleaved rounds)\n\n" + table(["command", "time"], rows)


def summary(results: dict[str, Any]) -> str:
    rows = []
    for key, (what, target) in TARGETS.items():
        if key not in results:
            rows.append([what, target, "not measured", ""])
            continue
        value = results[key]
        if key in FLOOR_PAIRS:
            measured = f"{value['ratio']:.2f}× (pairs from {value['low']:.2f}× to {value['high']:.2f}×)"
            met = value["ratio"] <= float(target.strip("≤ ×"))
        elif key == "import_resnet50":
            measured = f"{value['ratio']:.1f}× ({seconds(value['archcost'])} vs {seconds(value['torch'])})"
            met = value["ratio"] >= float(target.strip("≥ ×"))
        elif isinstance(value, dict) and target.startswith("≤"):
            measured = f"{value['ratio']:.2f}× (rounds: {', '.join(f'{r:.2f}×' for r in value['ratios'])})"
            met = value["ratio"] <= float(target.strip("≤ ×"))
        elif isinstance(value, dict):
            measured = (
                f"{value['ratio']:.1f}× ({seconds(value['archcost'])} vs {seconds(value['torch'])}; "
                f"{value['ratio_least']:.1f}× against the total only)"
            )
            met = value["ratio"] >= float(target.strip("≥ ×"))
        else:
            measured = seconds(value)
            met = value < float(target.strip("< s"))
        rows.append([what, target, measured, "met" if met else "**missed**"])
    return "## Targets\n\n" + table(["target", "wanted", "measured", ""], rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: no torch route, small sizes, one repeat")
    parser.add_argument("--torch", action="store_true", help="with --quick: run the torch route anyway")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement (default 10, quick 1)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds of show against the torch route (default 5, quick 1)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements to this JSON file")
    parser.add_argument(
        "--only",
        default="startup,torch,specs,scaling,output,import",
        help="comma-separated sections to run (default: all): startup, torch, specs, scaling, output, import",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    repeats = args.repeats or (1 if args.quick else 10)
    sizes = (1_000, 3_000) if args.quick else (1_000, 10_000, 100_000)
    names = spec.bundled_names()[:4] if args.quick else spec.bundled_names()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}

    print(f"# archcost benchmark\n\n{results['machine']}\n")
    print("command: `" + " ".join(["python3 benchmarks/bench.py", *argv]) + "`\n")
    with tempfile.TemporaryDirectory(prefix="archcost-bench-") as cache:
        env = child_env(Path(cache))
        if "startup" in only:
            print(startup(env, repeats, results), end="\n\n", flush=True)
        if "torch" in only and (not args.quick or args.torch):
            print(versus_torch(env, repeats, args.rounds or (1 if args.quick else 5), results), end="\n\n", flush=True)
        if "output" in only:
            print(output(env, args.rounds or (1 if args.quick else 5), args.quick, results), end="\n\n", flush=True)
        if "import" in only and (not args.quick or args.torch):
            rounds = args.rounds or (1 if args.quick else 5)
            print(importing(env, rounds, results, largest=not args.quick), end="\n\n", flush=True)
    if "specs" in only:
        print(per_spec(max(repeats, 3), names), end="\n\n", flush=True)
    if "scaling" in only:
        print(scaling(sizes, results), end="\n\n", flush=True)
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
