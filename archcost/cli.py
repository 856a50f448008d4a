"""The command line: `archcost show`, `list` and `schema`.

Domain code raises :class:`~archcost.errors.SpecError`; this module alone turns it into a
one-line message and exit code 2. torch and matplotlib are imported only by the commands
that need them.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from archcost import __version__, engine, report, spec, units
from archcost.errors import Location, SpecError

app = typer.Typer(
    name="archcost",
    help="Analytic cost of neural-network architectures from YAML specs: shapes, params, MACs, FLOPs, memory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

EXIT_BAD_INPUT = 2


class Dtype(StrEnum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"
    int8 = "int8"


class Optimizer(StrEnum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"
    adamw = "adamw"


def _parse_budget(text: str) -> int:
    try:
        value = units.parse_bytes(text)
    except ValueError as exc:
        raise SpecError(f"--memory: {exc}", Location("--memory")) from None
    except OverflowError:
        raise SpecError(f"--memory {text!r}: too large", Location("--memory")) from None
    if value <= 0:
        raise SpecError("--memory must be more than 0 bytes", Location("--memory"))
    return value


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


SpecArg = Annotated[
    str, typer.Argument(metavar="SPEC", help="A bundled spec name (see `archcost list`) or a path to a YAML spec.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="KEY=VALUE", help="Override a model parameter (repeatable): --set groups=1."),
]
InputOpt = Annotated[
    str | None,
    typer.Option("--input", "-i", metavar="CxHxW", help="Input shape, e.g. 3x224x224 (replaces the spec's)."),
]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", min=1, help="Batch size for memory figures.")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Element type for memory figures.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 160, emoji=False)  # spec text ":100:" stays text


@contextmanager
def _bad_input() -> Iterator[None]:
    """Turn SpecError into one message on stderr and exit code 2."""
    try:
        yield
    except SpecError as exc:
        message = f"[bold red]error:[/] {escape(str(exc))}"
        # one line however long; no emoji codes (an error on line 100 of a.yaml would print "a.yaml💯7")
        Console(stderr=True, width=200, emoji=False).print(message, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def parse_sets(values: list[str] | None) -> dict[str, Any]:
    """`KEY=VALUE` options into a mapping; values are read as YAML scalars (1, 0.5, true, text)."""
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise SpecError(f"--set {item!r}: expected KEY=VALUE, e.g. --set groups=1", Location("--set"))
        try:
            value = spec.parse_scalar(text)
        except SpecError:
            value = None
        if not isinstance(value, bool | int | float | str):
            raise SpecError(f"--set {item!r}: the value must be a number, true/false or text", Location("--set"))
        out[key] = value
    return out


def parse_input(text: str | None) -> tuple[int, ...] | None:
    """`3x224x224` (or `3,224,224`) into a shape."""
    if text is None:
        return None
    parts = [p for p in re.split(r"[x×,\s]+", text.strip()) if p]
    if len(parts) not in (1, 3) or not all(p.isdigit() and len(p) < 100 and int(p) > 0 for p in parts):
        raise SpecError(f"--input {text!r}: expected C×H×W such as 3x224x224", Location("--input"))
    return tuple(int(p) for p in parts)


def analyze_ref(
    ref: str,
    sets: list[str] | None = None,
    input_text: str | None = None,
    batch: int = 1,
    dtype: str = "fp32",
    max_layers: int | None = None,
) -> engine.Analysis:
    """Load and analyse a spec given on the command line (`max_layers` replaces the default limit)."""
    loaded = spec.load(ref)
    limits = engine.Limits() if max_layers is None else engine.Limits(max_layers=max_layers)
    return engine.analyze(
        loaded,
        overrides=parse_sets(sets),
        input_override=parse_input(input_text),
        batch=batch,
        dtype=dtype,
        limits=limits,
    )


@app.command()
def show(
    spec_ref: SpecArg,
    plot_file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="With --plot: the chart file (.png, .svg, .pdf).")
    ] = None,
    plot: Annotated[
        bool, typer.Option("--plot", help="Draw per-layer (or with --depth, per-stage) bars of params, MACs, memory.")
    ] = False,
    input_shape: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    sets: SetOpt = None,
    depth: Annotated[
        int | None, typer.Option("--depth", "-d", min=1, help="Collapse the hierarchy to N levels, summing children.")
    ] = None,
    fmt: FormatOpt = Format.table,
    explain: Annotated[bool, typer.Option("--explain", help="Print each layer's arithmetic, lecture style.")] = False,
    exact: Annotated[
        bool, typer.Option("--exact", help="Exact integers in the table instead of 35K, 120M, 3.86G.")
    ] = False,
    train: Annotated[
        bool, typer.Option("--train", help="Add training memory: gradients, optimizer state, saved activations.")
    ] = False,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer", help="Optimizer state for training memory.")] = (
        Optimizer.adam
    ),
    budget: Annotated[
        str | None,
        typer.Option("--memory", metavar="SIZE", help="Largest batch that fits in SIZE (3GB = 10⁹ B, 3GiB = 2³⁰ B)."),
    ] = None,
    max_layers: Annotated[
        int | None,
        typer.Option(
            "--max-layers",
            min=1,
            metavar="N",
            help=f"Allow N leaf layers (a safety limit; {engine.Limits().max_layers:,}).",
        ),
    ] = None,
) -> None:
    """Per-layer output shape, params, MACs, FLOPs, activations and receptive field, with totals."""
    with _bad_input():
        analysis = analyze_ref(spec_ref, sets, input_shape, batch, dtype.value, max_layers)
        mem = engine.memory(analysis, optimizer.value)
        fits = engine.fit(analysis, _parse_budget(budget), optimizer.value) if budget else None
    if plot_file is not None and not plot:
        with _bad_input():
            raise SpecError(f"unexpected argument {plot_file}: a chart file goes with --plot", Location(str(plot_file)))
    if plot:
        chart = _plotting()
        path = plot_file or Path(f"archcost-{analysis.name}.png")
        with _bad_input():
            chart.layers_chart(analysis, path, depth=depth)
        typer.echo(f"wrote {path}", err=True)
    if explain:
        for line in report.explain(analysis):
            typer.echo(line)
        return
    if fmt is Format.table:
        console = _console()
        console.print(report.table(analysis, depth, exact=exact, mem=mem if train else None))
        for line in report.summary(analysis, mem, train=train, fit=fits):
            console.print(line, highlight=False, soft_wrap=True)
    else:
        sys.stdout.write(report.render_text(analysis, fmt.value, depth, mem, fits))


@app.command("list")
def list_specs(fmt: FormatOpt = Format.table) -> None:
    """The bundled specs grouped by family, with year, params, MACs and reported top-1 error."""
    from archcost import check as paper_check

    entries = []
    with _bad_input():
        for name in spec.bundled_names():
            loaded = spec.load(name)
            analysis = engine.analyze(loaded)
            entries.append(
                report.CatalogEntry(
                    name=name,
                    title=analysis.title,
                    family=str(loaded.meta.get("family", "")),
                    year=loaded.meta.get("year"),
                    params=analysis.totals.params,
                    macs=analysis.totals.macs,
                    input=analysis.input,
                    top1=paper_check.accuracy(loaded).get("top1_error"),
                )
            )
    if fmt is Format.table:
        _console().print(report.catalog_table(entries))
    else:
        sys.stdout.write(report.catalog_text(entries, fmt.value))


def _analyzer(loaded: spec.Spec) -> Callable[[Mapping[str, Any], tuple[int, ...] | None], engine.Analysis]:
    """Analyses of one spec at given parameter settings and input, for the paper check."""

    def analyze(settings: Mapping[str, Any], shape: tuple[int, ...] | None) -> engine.Analysis:
        return engine.analyze(loaded, overrides=settings, input_override=shape)

    return analyze


@app.command()
def check(
    spec_refs: Annotated[
        list[str] | None, typer.Argument(metavar="[SPEC]...", help="Specs to check (default: every bundled spec).")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Compare each spec's figures reported by its paper with the computed ones; exit 1 on an unexplained failure."""
    from archcost import check as paper_check

    refs = spec_refs or spec.bundled_names()
    all_rows: list[paper_check.CheckRow] = []
    console = _console()
    with _bad_input():
        for ref in refs:
            loaded = spec.load(ref)
            rows = paper_check.check_spec(loaded, _analyzer(loaded))
            all_rows += rows
            if fmt is Format.table:
                console.print(report.check_table(loaded.title, rows))
    failed = [r for r in all_rows if r.failed]
    if fmt is Format.json:
        typer.echo(json.dumps(report.check_dicts(all_rows), indent=2))
    elif fmt is Format.markdown:
        sys.stdout.write(report.check_markdown(all_rows))
    elif fmt is Format.csv:
        raise typer.BadParameter("check prints table, json or markdown", param_hint="--format")
    if fmt is Format.table:
        counts = {
            v: sum(r.verdict == v for r in all_rows) for v in ("pass", "explained", "reported", "fail", "missing")
        }
        summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        verdict = "[bold red]FAILED[/]" if failed else "[green]ok[/]"
        console.print(f"{verdict}: {len(refs)} spec(s), {summary}")
    if failed:
        raise typer.Exit(1)


@app.command()
def gallery(
    output: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Write here (e.g. docs/gallery.md); default: stdout.")
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="Do not write: exit 1 if FILE is not what would be written.")
    ] = False,
) -> None:
    """Generate the gallery of bundled networks (docs/gallery.md) from computed and reported figures."""
    from archcost import check as paper_check

    entries = []
    with _bad_input():
        specs = sorted((spec.load(n) for n in spec.bundled_names()), key=lambda s: (s.meta.get("year", 0), s.name))
        for loaded in specs:
            analyze = _analyzer(loaded)
            entries.append(
                report.GalleryEntry(
                    loaded.name, dict(loaded.meta), analyze({}, None), paper_check.check_spec(loaded, analyze)
                )
            )
    text = report.gallery(entries)
    if output is None:
        sys.stdout.write(text)
        return
    with _bad_input():
        if check_only:
            try:
                current = output.read_text(encoding="utf-8") if output.is_file() else ""
            except (OSError, UnicodeDecodeError) as exc:
                raise SpecError(f"cannot read {output}: {exc}", Location(str(output))) from None
            if current != text:
                typer.echo(f"{output} is out of date: run `archcost gallery {output}`", err=True)
                raise typer.Exit(1)
            typer.echo(f"{output} is up to date")
            return
        write_atomic(output, text)
    typer.echo(f"wrote {output}")


SPEC_SUFFIXES = (".yaml", ".yml")
"""archcost writes reports, documents and charts, never a file with a spec's suffix."""


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, so readers never see half a file
    and a failed write leaves the old file as it was. SpecError for a spec's suffix, a folder, or an OS error.
    """
    if path.suffix.lower() in SPEC_SUFFIXES:
        raise SpecError("refusing to write a .yaml or .yml file: archcost never writes a spec", Location(str(path)))
    if path.is_dir():
        raise SpecError("this is a folder: give a file name", Location(str(path)))
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise SpecError(f"cannot write: {exc.strerror or exc}", Location(str(path))) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)  # mkstemp makes it private; keep the old file's mode, or a new file's
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise SpecError(f"cannot write: {exc.strerror or exc}", Location(str(path))) from None
        raise


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


class YAxis(StrEnum):
    top1 = "top1"
    top5 = "top5"
    params = "params"
    memory = "memory"


DEFAULT_PLOT = Path("archcost-compare.png")


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """`alpha=1.0,0.75,0.5` or `phi=0..7` (inclusive) into a key and its values."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier() or not values.strip():
        raise SpecError(f"--sweep {text!r}: expected KEY=V1,V2,... or KEY=A..B", Location("--sweep"))
    span = re.fullmatch(r"\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*", values)
    if span:
        low, high = (int(end) if len(end) < 20 else 0 for end in (span[1], span[2]))  # a huge end: refused below
        if high < low or high - low > 1000 or max(len(span[1]), len(span[2])) >= 20:
            raise SpecError(f"--sweep {text!r}: the range must go up, by at most 1000 steps", Location("--sweep"))
        return key, list(range(low, high + 1))
    return key, [parse_sets([f"{key}={v}"])[key] for v in values.split(",")]


def split_ref(ref: str) -> tuple[str, dict[str, Any]]:
    """`alexnet:groups=1,k=2` into the spec reference and its own settings."""
    name, sep, rest = ref.partition(":")
    if not sep or "=" not in rest:
        return ref, {}
    return name, parse_sets(rest.split(","))


def _label(title: str, settings: Mapping[str, Any]) -> str:
    return f"{title} ({', '.join(f'{k}={v}' for k, v in settings.items())})" if settings else title


@app.command()
def compare(
    spec_refs: Annotated[
        list[str],
        typer.Argument(
            metavar="SPEC[:K=V,...]...",
            help="Specs to compare, each optionally with its own settings: alexnet alexnet:groups=1. "
            "With --plot, an argument ending in .png/.svg/.pdf names the chart file.",
        ),
    ],
    sets: SetOpt = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option("--sweep", metavar="KEY=V1,V2|KEY=A..B", help="One row per value (repeatable: all combinations)."),
    ] = None,
    input_shape: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    fmt: FormatOpt = Format.table,
    plot: Annotated[
        bool, typer.Option("--plot", help=f"Draw a bubble chart (to FILE given among the specs, else {DEFAULT_PLOT}).")
    ] = False,
    y_axis: Annotated[
        YAxis, typer.Option("--y", help="The chart's y axis: top-1 or top-5 accuracy, params or memory.")
    ] = YAxis.top1,
) -> None:
    """Compare networks side by side: params, MACs, FLOPs, memory, depth, receptive field, reported errors."""
    from archcost import check as paper_check

    plot_file = None
    refs = []
    for ref in spec_refs:
        if plot and Path(ref).suffix.lower() not in ("", ".yaml", ".yml"):
            plot_file = Path(ref)
        else:
            refs.append(ref)
    rows: list[report.CompareRow] = []
    with _bad_input():
        if not refs:
            raise SpecError("compare needs at least one spec", Location("compare"))
        common = parse_sets(sets)
        sweeps = [parse_sweep(s) for s in sweep or []]
        shape = parse_input(input_shape)
        for ref in refs:
            name, own = split_ref(ref)
            loaded = spec.load(name)
            for combo in itertools.product(*[[(k, v) for v in values] for k, values in sweeps]):
                varied = {**own, **dict(combo)}
                settings = {**common, **varied}
                analysis = engine.analyze(
                    loaded, overrides=settings, input_override=shape, batch=batch, dtype=dtype.value
                )
                acc = paper_check.accuracy(loaded, settings) if shape is None else {}
                rows.append(
                    report.CompareRow(
                        _label(analysis.title, varied), analysis, acc.get("top1_error"), acc.get("top5_error")
                    )
                )
    if fmt is Format.table:
        console = _console()
        console.print(report.compare_table(rows))
        for line in report.compare_notes(rows):
            console.print(line, highlight=False, soft_wrap=True)
    else:
        sys.stdout.write(report.compare_text(rows, fmt.value))
    if plot:
        chart = _plotting()
        path = plot_file or DEFAULT_PLOT
        with _bad_input():
            chart.compare_chart(rows, path, y=y_axis.value)
        typer.echo(f"wrote {path}", err=fmt is not Format.table)


def _plotting() -> Any:
    """The plot module, or a clear message (exit 2) when matplotlib is not installed."""
    try:
        from archcost import plot as chart
    except ImportError as exc:
        if "matplotlib" not in str(exc):
            raise
        Console(stderr=True).print(
            "[bold red]error:[/] " + escape("plots need matplotlib: pip install 'archcost[plot]'"), highlight=False
        )
        raise typer.Exit(EXIT_BAD_INPUT) from None
    return chart


class VerifyFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def verify(
    spec_refs: Annotated[
        list[str] | None, typer.Argument(metavar="[SPEC]...", help="Specs to verify: bundled names or YAML paths.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Verify every bundled spec.")] = False,
    device: Annotated[
        str, typer.Option("--device", metavar="cpu|cuda", help="Where torch runs the forward pass.")
    ] = "cpu",
    batch: Annotated[
        int, typer.Option("--batch", "-b", min=1, help="Batch of the forward pass; counts are compared per batch.")
    ] = 1,
    sets: SetOpt = None,
    fmt: Annotated[VerifyFormat, typer.Option("--format", "-f", help="Output format.")] = VerifyFormat.table,
    all_rows: Annotated[bool, typer.Option("--all-rows", help="List every layer, not only those that differ.")] = False,
    memory: Annotated[
        bool,
        typer.Option(
            "--memory",
            help="Also run one training-mode forward pass at --batch (2 or more for batch norm) and compare the bytes "
            "autograd saves for backward with the analytic figure (within 1%); on CUDA also the allocator's peaks.",
        ),
    ] = False,
) -> None:
    """Build each spec in torch, profile it with fvcore and compare every layer's shape, params, MACs,
    fvcore flops and activations with the analytic figures (with --memory, the saved-for-backward
    bytes too); exit 1 on any mismatch."""
    from archcost import torchcheck  # imports torch and fvcore only when verify runs

    refs = list(dict.fromkeys([*(spec.bundled_names() if every else []), *(spec_refs or [])]))  # each once
    console, progress = _console(), Console(stderr=True, highlight=False)
    results = []
    memory_checks: list[torchcheck.MemoryCheck] = []
    with _bad_input():
        if not refs:
            raise SpecError("give one or more specs, or --all for every bundled spec", Location("archcost verify"))
        torchcheck.require()
        torchcheck.resolve_device(device)
        analyses = [analyze_ref(ref, sets, batch=batch) for ref in refs]  # every spec loads before the slow part
        for i, analysis in enumerate(analyses, 1):
            if len(analyses) > 1:
                progress.print(f"[dim][{i}/{len(analyses)}] verifying {escape(analysis.name)}…[/]")
            result = torchcheck.verify(analysis, device=device, batch=batch)
            results.append(result)
            if fmt is VerifyFormat.table:
                if result.mismatches or (all_rows and result.layers):
                    console.print(torchcheck.table(result, all_rows=all_rows))
                if result.failure is None:
                    console.print(torchcheck.unsupported_line(result), highlight=False, soft_wrap=True)
                console.print(torchcheck.verdict(result), highlight=False, soft_wrap=True)
            if memory:
                check = torchcheck.verify_memory(analysis, device=device)
                memory_checks.append(check)
                if fmt is VerifyFormat.table:
                    console.print(torchcheck.memory_verdict(check), highlight=False, soft_wrap=True)
    checks: list[torchcheck.MemoryCheck | None] = list(memory_checks) if memory else [None] * len(results)
    failed = [
        r.name
        for r, m in zip(results, checks, strict=True)
        if not r.ok or (m is not None and (not m.ok or m.peak_ok is False))
    ]
    if fmt is VerifyFormat.json:
        dicts = [
            {**r.as_dict(), **({"memory": m.as_dict()} if m else {})} for r, m in zip(results, checks, strict=True)
        ]
        typer.echo(json.dumps({"ok": not failed, "results": dicts}, indent=2))
    elif len(results) > 1:
        summary = f"{len(results) - len(failed)} of {len(results)} specs agree with torch + fvcore"
        console.print(
            f"[bold red]FAILED[/]: {summary}; differ: {', '.join(failed)}" if failed else f"[green]ok[/]: {summary}"
        )
    if failed:
        raise typer.Exit(1)


@app.command()
def scale(
    spec_ref: SpecArg,
    phi: Annotated[str, typer.Option("--phi", metavar="A..B|A,B,...", help="The compound coefficients φ.")] = "0..7",
    alpha: Annotated[float, typer.Option("--alpha", min=1.0, help="Depth base (EfficientNet: 1.2).")] = 1.2,
    beta: Annotated[float, typer.Option("--beta", min=1.0, help="Width base (EfficientNet: 1.1).")] = 1.1,
    gamma: Annotated[float, typer.Option("--gamma", min=1.0, help="Resolution base (EfficientNet: 1.15).")] = 1.15,
    fmt: FormatOpt = Format.table,
) -> None:
    """Compound scaling (EfficientNet §3.3): depth α^φ, width β^φ, resolution γ^φ, and the MACs it costs."""
    with _bad_input():
        loaded = spec.load(spec_ref)
        try:
            _, phis = parse_sweep(f"phi={phi}")
        except SpecError as exc:
            raise SpecError(
                exc.message.replace("--sweep 'phi=", "--phi '").replace("KEY=", ""), Location("--phi")
            ) from None
        if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 20 for p in phis):
            raise SpecError(f"--phi {phi!r}: expected whole numbers from 0 to 20", Location("--phi"))
        steps = engine.compound_scaling(loaded, phis, alpha, beta, gamma)
        rows = [report.ScaleRow(step, engine.analyze(loaded, overrides=step.settings)) for step in steps]
    if fmt is Format.table:
        _console().print(report.scale_table(rows, alpha, beta, gamma))
    elif fmt is Format.json:
        typer.echo(json.dumps(report.scale_dicts(rows, alpha, beta, gamma), indent=2))
    else:
        raise typer.BadParameter("scale prints table or json", param_hint="--format")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec format (for editor validation)."""
    typer.echo(json.dumps(spec.json_schema(), indent=2))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"archcost {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """archcost: analytic cost of neural-network architectures."""
