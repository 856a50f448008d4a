"""The command line: `archcost show`, `list`, `compare`, `scale`, `check`, `gallery`, `verify`, `schema`.

Domain code raises :class:`~archcost.errors.SpecError`; this module alone turns it (and a bad
option) into a one-line message and exit code 2. The command layer is the standard library's
argparse, which imports in a millisecond; rich is imported only to print tables, torch only by
`verify`, matplotlib only by `--plot`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from archcost import __version__, engine, memory, report, spec, units
from archcost.errors import Location, SpecError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2

COMMANDS = ("show", "list", "compare", "scale", "check", "gallery", "verify", "schema")
FORMATS = ("table", "json", "csv", "markdown")
DTYPES = tuple(units.DTYPE_BYTES)
OPTIMIZERS = tuple(memory.OPTIMIZER_STATES)
Y_AXES = ("top1", "top5", "params", "memory")
CHART_SUFFIXES = (".png", ".svg", ".pdf")
SPEC_SUFFIXES = (".yaml", ".yml")
"""archcost writes reports, documents and charts, never a file with a spec's suffix."""
DEFAULT_PLOT = Path("archcost-compare.png")


class _MismatchError(Exception):
    """A command found a mismatch (exit 1); it has printed why."""


# ---------------------------------------------------------------------------- output


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160, emoji=False)  # spec text ":100:" stays text


def _color(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def print_error(message: str) -> None:
    """One line on stderr: ``error: file:line:col: what was expected``."""
    label = "\033[1;31merror:\033[0m" if _color(sys.stderr) else "error:"
    print(f"{label} {' '.join(message.splitlines())}", file=sys.stderr)


def _echo(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)


# ---------------------------------------------------------------------------- option values


def _positive_int(text: str) -> int:
    if not (text.strip().isdigit() and len(text) < 20 and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return int(text)


def _base(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 1.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number ≥ 1, got {text!r}")
    return value


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


def parse_sets(values: Sequence[str] | None) -> dict[str, Any]:
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


def is_chart(arg: str) -> bool:
    """An argument that names a file to draw into rather than a spec: it has a suffix other than .yaml/.yml."""
    suffix = Path(arg).suffix.lower()
    return bool(suffix) and suffix not in SPEC_SUFFIXES and not arg.endswith(".")


def analyze_ref(
    ref: str,
    sets: Sequence[str] | None = None,
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


def _analyzer(loaded: spec.Spec) -> Callable[[Mapping[str, Any], tuple[int, ...] | None], engine.Analysis]:
    """Analyses of one spec at given parameter settings and input, for the paper check."""

    def analyze(settings: Mapping[str, Any], shape: tuple[int, ...] | None) -> engine.Analysis:
        return engine.analyze(loaded, overrides=settings, input_override=shape)

    return analyze


def _plotting() -> Any:
    """The plot module; a SpecError (exit 2) saying how to install matplotlib when it is missing."""
    try:
        from archcost import plot as chart
    except ImportError as exc:
        if "matplotlib" not in str(exc):
            raise
        raise SpecError("plots need matplotlib: pip install 'archcost[plot]'", Location("--plot")) from None
    return chart


# ---------------------------------------------------------------------------- commands


def cmd_show(o: argparse.Namespace) -> None:
    """Per-layer output shape, params, MACs, FLOPs, activations and receptive field, with totals."""
    if o.plot is not None and o.spec is None and o.plot and not is_chart(o.plot):
        o.spec, o.plot = o.plot, ""  # `show --plot vgg16`: the option's value was the spec
    if o.spec is None:
        raise SpecError("show needs a SPEC: a bundled name (see `archcost list`) or a YAML file", Location("show"))
    chart_file = o.plot or o.file
    if o.file is not None and o.plot is None:
        raise SpecError(f"unexpected argument {o.file}: a chart file goes with --plot", Location(o.file))
    chart = _plotting() if o.plot is not None else None
    if chart is not None and chart_file:
        chart.check_path(Path(chart_file))  # before the work, not after
    analysis = analyze_ref(o.spec, o.set, o.input, o.batch, o.dtype, o.max_layers)
    mem = memory.memory(analysis, o.optimizer)
    fits = memory.fit(analysis, _parse_budget(o.memory), o.optimizer) if o.memory else None
    if chart is not None:
        path = Path(chart_file) if chart_file else Path(f"archcost-{analysis.name}.png")
        chart.layers_chart(analysis, path, depth=o.depth)
        _echo(f"wrote {path}", err=True)
    if o.explain:
        for line in report.explain(analysis):
            _echo(line)
    elif o.format == "table":
        console = _console()
        console.print(report.table(analysis, o.depth, exact=o.exact, mem=mem if o.train else None))
        for line in report.summary(analysis, mem, train=o.train, fit=fits):
            console.print(line, highlight=False, soft_wrap=True)
    else:
        sys.stdout.write(report.render_text(analysis, o.format, o.depth, mem, fits))


def cmd_list(o: argparse.Namespace) -> None:
    """The bundled specs grouped by family, with year, params, MACs and reported top-1 error."""
    entries = catalog_entries()
    if o.format == "table":
        _console().print(report.catalog_table(entries))
    else:
        sys.stdout.write(report.catalog_text(entries, o.format))


def catalog_entries(index: Path | None = None) -> list[report.CatalogEntry]:
    """Every bundled spec's `list` entry: from the bundled index if it was made from these very files
    (same :func:`spec.bundled_fingerprint`), otherwise loaded and analysed (0.3 s for the 50 specs)."""
    path = spec.bundled_dir() / spec.BUNDLED_INDEX if index is None else index
    fingerprint = spec.bundled_fingerprint()
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored["fingerprint"] == fingerprint:
            return [_entry_from_index(item) for item in stored["entries"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        pass  # no index, or not one this version wrote: compute
    return [_catalog_entry(name) for name in spec.bundled_names()]


def catalog_index() -> str:
    """The bundled index's text: every bundled spec's `list` entry, computed now, and the fingerprint of the
    files it was computed from. Regenerate it with `python3 -m pytest -m golden --update-golden`."""
    entries = [_catalog_entry(name) for name in spec.bundled_names()]
    about = (
        "archcost list's entries, computed from the bundled specs and archcost's modules with this fingerprint; "
        "archcost list analyses the specs itself when the fingerprint differs"
    )
    rows = [
        json.dumps({**e._asdict(), "input": list(e.input), "top1": e.top1 and vars(e.top1)}, ensure_ascii=False)
        for e in entries
    ]
    header = f'{{\n "about": {json.dumps(about)},\n "fingerprint": "{spec.bundled_fingerprint()}",\n "entries": [\n  '
    return header + ",\n  ".join(rows) + "\n ]\n}\n"  # one entry a line, for a readable diff


def _catalog_entry(name: str) -> report.CatalogEntry:
    from archcost import check as paper_check

    loaded = spec.load(name)
    analysis = engine.analyze(loaded)
    return report.CatalogEntry(
        name=name,
        title=analysis.title,
        family=str(loaded.meta.get("family", "")),
        year=loaded.meta.get("year"),
        params=analysis.totals.params,
        macs=analysis.totals.macs,
        input=analysis.input,
        top1=paper_check.accuracy(loaded).get("top1_error"),
    )


def _entry_from_index(item: dict[str, Any]) -> report.CatalogEntry:
    from archcost import check as paper_check

    top1 = item["top1"]
    return report.CatalogEntry(
        **{**item, "input": tuple(item["input"]), "top1": None if top1 is None else paper_check.Accuracy(**top1)}
    )


def cmd_compare(o: argparse.Namespace) -> None:
    """Compare networks side by side: params, MACs, FLOPs, memory, depth, receptive field, reported errors."""
    import itertools

    from archcost import check as paper_check

    args = [*o.specs, *([o.plot] if o.plot else [])]
    charts = [a for a in args if is_chart(a)] if o.plot is not None else []
    refs = [a for a in args if a not in charts]
    if len(charts) > 1:
        raise SpecError(f"one chart file, please; got {', '.join(charts)}", Location("--plot"))
    if not refs:
        raise SpecError("compare needs at least one spec", Location("compare"))
    chart = _plotting() if o.plot is not None else None
    path = Path(charts[0]) if charts else DEFAULT_PLOT
    if chart is not None:
        chart.check_path(path)  # before the work, not after
    common = parse_sets(o.set)
    sweeps = [parse_sweep(s) for s in o.sweep or []]
    shape = parse_input(o.input)
    rows: list[report.CompareRow] = []
    for ref in refs:
        name, own = split_ref(ref)
        loaded = spec.load(name)
        for combo in itertools.product(*[[(k, v) for v in values] for k, values in sweeps]):
            varied = {**own, **dict(combo)}
            settings = {**common, **varied}
            analysis = engine.analyze(loaded, overrides=settings, input_override=shape, batch=o.batch, dtype=o.dtype)
            acc = paper_check.accuracy(loaded, settings) if shape is None else {}
            label = (
                f"{analysis.title} ({', '.join(f'{k}={v}' for k, v in varied.items())})" if varied else analysis.title
            )
            rows.append(report.CompareRow(label, analysis, acc.get("top1_error"), acc.get("top5_error")))
    if o.format == "table":
        console = _console()
        console.print(report.compare_table(rows))
        for line in report.compare_notes(rows):
            console.print(line, highlight=False, soft_wrap=True)
    else:
        sys.stdout.write(report.compare_text(rows, o.format))
    if chart is not None:
        chart.compare_chart(rows, path, y=o.y)
        _echo(f"wrote {path}", err=o.format != "table")


def cmd_scale(o: argparse.Namespace) -> None:
    """Compound scaling (EfficientNet §3.3): depth α^φ, width β^φ, resolution γ^φ, and the MACs it costs."""
    loaded = spec.load(o.spec)
    try:
        _, phis = parse_sweep(f"phi={o.phi}")
    except SpecError as exc:
        raise SpecError(
            exc.message.replace("--sweep 'phi=", "--phi '").replace("KEY=", ""), Location("--phi")
        ) from None
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 20 for p in phis):
        raise SpecError(f"--phi {o.phi!r}: expected whole numbers from 0 to 20", Location("--phi"))
    steps = engine.compound_scaling(loaded, phis, o.alpha, o.beta, o.gamma)
    analyses: dict[int, engine.Analysis] = {}  # a φ given many times is analysed once
    for step in steps:
        if step.phi not in analyses:
            analyses[step.phi] = engine.analyze(loaded, overrides=step.settings)
    rows = [report.ScaleRow(step, analyses[step.phi]) for step in steps]
    if o.format == "table":
        _console().print(report.scale_table(rows, o.alpha, o.beta, o.gamma))
    else:
        sys.stdout.write(report.scale_text(rows, o.format, o.alpha, o.beta, o.gamma))


def cmd_check(o: argparse.Namespace) -> None:
    """Compare each spec's figures reported by its paper with the computed ones; exit 1 on an unexplained failure."""
    from archcost import check as paper_check

    refs = o.specs or spec.bundled_names()
    all_rows: list[paper_check.CheckRow] = []
    console = _console() if o.format == "table" else None
    for ref in refs:
        loaded = spec.load(ref)
        rows = paper_check.check_spec(loaded, _analyzer(loaded))
        all_rows += rows
        if console is not None:
            console.print(report.check_table(loaded.title, rows))
    failed = [r for r in all_rows if r.failed]
    if o.format == "json":
        sys.stdout.write(report.check_json(all_rows))
    elif o.format == "markdown":
        sys.stdout.write(report.check_markdown(all_rows))
    elif console is not None:
        counts = {
            v: sum(r.verdict == v for r in all_rows) for v in ("pass", "explained", "reported", "fail", "missing")
        }
        summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        verdict = "[bold red]FAILED[/]" if failed else "[green]ok[/]"
        console.print(f"{verdict}: {len(refs)} spec(s), {summary}")
    if failed:
        raise _MismatchError


def cmd_gallery(o: argparse.Namespace) -> None:
    """Generate the gallery of bundled networks (docs/gallery.md) from computed and reported figures."""
    from archcost import check as paper_check

    entries = []
    specs = sorted((spec.load(n) for n in spec.bundled_names()), key=lambda s: (s.meta.get("year", 0), s.name))
    for loaded in specs:
        analyze = _analyzer(loaded)
        entries.append(
            report.GalleryEntry(
                loaded.name, dict(loaded.meta), analyze({}, None), paper_check.check_spec(loaded, analyze)
            )
        )
    text = report.gallery(entries)
    if o.file is None:
        sys.stdout.write(text)
        return
    output = Path(o.file)
    if o.check:
        try:
            current = output.read_text(encoding="utf-8") if output.is_file() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read {output}: {exc}", Location(str(output))) from None
        if current != text:
            _echo(f"{output} is out of date: run `archcost gallery {output}`", err=True)
            raise _MismatchError
        _echo(f"{output} is up to date")
        return
    write_atomic(output, text)
    _echo(f"wrote {output}")


def cmd_verify(o: argparse.Namespace) -> None:
    """Build each spec in torch, profile it with fvcore and compare every layer's shape, params, MACs,
    fvcore flops and activations with the analytic figures (with --memory, the saved-for-backward
    bytes too); exit 1 on any mismatch."""
    from rich.console import Console
    from rich.markup import escape

    from archcost import torchcheck  # imports torch and fvcore only when verify runs
    from archcost.report import verify as verify_report

    refs = list(dict.fromkeys([*(spec.bundled_names() if o.all else []), *(o.specs or [])]))  # each once
    if not refs:
        raise SpecError("give one or more specs, or --all for every bundled spec", Location("archcost verify"))
    console, progress = _console(), Console(stderr=True, highlight=False)
    torchcheck.require()
    torchcheck.resolve_device(o.device)
    analyses = [analyze_ref(ref, o.set, batch=o.batch) for ref in refs]  # every spec loads before the slow part
    results = []
    memory_checks: list[torchcheck.MemoryCheck] = []
    table = o.format == "table"
    for i, analysis in enumerate(analyses, 1):
        if len(analyses) > 1:
            progress.print(f"[dim][{i}/{len(analyses)}] verifying {escape(analysis.name)}…[/]")
        result = torchcheck.verify(analysis, device=o.device, batch=o.batch)
        results.append(result)
        if table:
            if result.mismatches or (o.all_rows and result.layers):
                console.print(verify_report.table(result, all_rows=o.all_rows))
            if result.failure is None:
                console.print(verify_report.unsupported_line(result), highlight=False, soft_wrap=True)
            console.print(verify_report.verdict(result), highlight=False, soft_wrap=True)
        if o.memory:
            check = torchcheck.verify_memory(analysis, device=o.device)
            memory_checks.append(check)
            if table:
                console.print(verify_report.memory_verdict(check), highlight=False, soft_wrap=True)
    checks: list[torchcheck.MemoryCheck | None] = list(memory_checks) if o.memory else [None] * len(results)
    failed = [
        r.name
        for r, m in zip(results, checks, strict=True)
        if not r.ok or (m is not None and (not m.ok or m.peak_ok is False))
    ]
    if not table:
        dicts = [
            {**r.as_dict(), **({"memory": m.as_dict()} if m else {})} for r, m in zip(results, checks, strict=True)
        ]
        _echo(json.dumps({"ok": not failed, "results": dicts}, indent=2))
    elif len(results) > 1:
        summary = f"{len(results) - len(failed)} of {len(results)} specs agree with torch + fvcore"
        console.print(
            f"[bold red]FAILED[/]: {summary}; differ: {', '.join(failed)}" if failed else f"[green]ok[/]: {summary}"
        )
    if failed:
        raise _MismatchError


def cmd_schema(o: argparse.Namespace) -> None:
    """Print the JSON Schema of the spec format (for editor validation)."""
    _echo(json.dumps(spec.json_schema(), indent=2))


# ---------------------------------------------------------------------------- files


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, so readers never see half a file
    and a failed write leaves the old file as it was. SpecError for a spec's suffix, a folder, or an OS error.
    """
    if path.suffix.lower() in SPEC_SUFFIXES:
        raise SpecError("refusing to write a .yaml or .yml file: archcost never writes a spec", Location(str(path)))
    if path.is_dir():
        raise SpecError("this is a folder: give a file name", Location(str(path)))
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
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------- the parser


class _Parser(argparse.ArgumentParser):
    """argparse with archcost's error style: one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        print_error(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(EXIT_BAD_INPUT)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32, width=min(_terminal_width(), 100))


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns - 2
    except OSError:
        return 100


SPEC_HELP = "a bundled spec name (see `archcost list`) or a path to a YAML spec"


def _spec_options(p: argparse.ArgumentParser, *, input_shape: bool = True) -> None:
    """--set, --input, --batch, --dtype: how a spec is analysed."""
    p.add_argument(
        "-s",
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a model parameter (repeatable): --set groups=1",
    )
    if input_shape:
        p.add_argument("-i", "--input", metavar="CxHxW", help="input shape, e.g. 3x224x224 (replaces the spec's)")
    p.add_argument(
        "-b", "--batch", type=_positive_int, default=1, metavar="N", help="batch size for memory figures (1)"
    )
    p.add_argument("--dtype", choices=DTYPES, default="fp32", help="element type for memory figures (fp32)")


def _format_option(p: argparse.ArgumentParser, choices: Sequence[str] = FORMATS) -> None:
    p.add_argument("-f", "--format", choices=choices, default="table", help="output format (table)")


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The `archcost` command line, and each command's own parser by name (only that of `only` if it names one:
    building all eight takes longer than most commands' work)."""
    parser = _Parser(
        prog="archcost",
        description="Analytic cost of neural-network architectures from YAML specs: "
        "shapes, params, MACs, FLOPs, memory.",
        epilog="Run `archcost COMMAND --help` for a command's options. Conventions: docs/conventions.md.",
        formatter_class=_formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"archcost {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", parser_class=_Parser)
    parsers: dict[str, argparse.ArgumentParser] = {}

    def wanted(name: str) -> bool:
        return only is None or only not in COMMANDS or name == only

    def command(
        name: str, run: Callable[[argparse.Namespace], None], summary: str, usage: str, examples: str = ""
    ) -> argparse.ArgumentParser:
        doc = textwrap.fill(" ".join((run.__doc__ or summary).split()), width=min(_terminal_width(), 100))
        p = commands.add_parser(
            name,
            help=summary,
            usage=f"%(prog)s {usage}",
            description=doc,
            epilog=f"examples:\n{textwrap.indent(examples, '  ')}" if examples else None,
            formatter_class=_formatter,
            allow_abbrev=False,
        )
        p.set_defaults(run=run)
        parsers[name] = p
        return p

    if wanted("show"):
        p = command(
            "show",
            cmd_show,
            "one network layer by layer: shapes, params, MACs, FLOPs, memory",
            "SPEC [options]",
            "archcost show vgg16\n"
            "archcost show alexnet --explain           # each layer's arithmetic\n"
            "archcost show resnet50 --depth 1 --exact  # per stage, exact integers\n"
            "archcost show resnet50 --train --batch 32 --optimizer adam\n"
            "archcost show mobilenet_v1 --set alpha=0.5 --input 3x160x160 --format json\n"
            "archcost show my_net.yaml --plot my_net.png",
        )
        p.add_argument("spec", nargs="?", metavar="SPEC", help=SPEC_HELP)
        p.add_argument("file", nargs="?", metavar="FILE", help=argparse.SUPPRESS)  # `show SPEC FILE --plot`, as before
        _spec_options(p)
        p.add_argument(
            "-d", "--depth", type=_positive_int, metavar="N", help="collapse the hierarchy to N levels, summing"
        )
        _format_option(p)
        p.add_argument("--explain", action="store_true", help="print each layer's arithmetic, lecture style")
        p.add_argument("--exact", action="store_true", help="exact integers in the table instead of 35K, 120M, 3.86G")
        p.add_argument("--train", action="store_true", help="add training memory: gradients, optimizer state, saved")
        p.add_argument(
            "--optimizer", choices=OPTIMIZERS, default="adam", help="optimizer state for training memory (adam)"
        )
        p.add_argument("--memory", metavar="SIZE", help="largest batch that fits in SIZE (3GB = 10⁹ B, 3GiB = 2³⁰ B)")
        p.add_argument(
            "--max-layers",
            type=_positive_int,
            metavar="N",
            help=f"allow N leaf layers (a safety limit; default {engine.Limits().max_layers:,})",
        )
        p.add_argument(
            "--plot",
            nargs="?",
            const="",
            metavar="FILE",
            help="draw per-layer (with --depth, per-stage) bars of params, MACs, memory to FILE "
            "(.png, .svg, .pdf; default archcost-NAME.png)",
        )

    if wanted("list"):
        p = command("list", cmd_list, "the bundled networks by family, with params, MACs and top-1 error", "[options]")
        _format_option(p)

    if wanted("compare"):
        p = command(
            "compare",
            cmd_compare,
            "networks side by side, with ratios and a bubble chart",
            "SPEC[:K=V,...]... [options]",
            "archcost compare alexnet googlenet resnet152 --plot\n"
            "archcost compare alexnet alexnet:groups=1\n"
            "archcost compare mobilenet_v1 --sweep alpha=1,0.75,0.5 --sweep resolution=224,160",
        )
        p.add_argument(
            "specs",
            nargs="*",
            metavar="SPEC[:K=V,...]",
            help="specs to compare, each optionally with its own settings: alexnet alexnet:groups=1",
        )
        _spec_options(p)
        p.add_argument(
            "--sweep",
            action="append",
            metavar="KEY=V1,V2|KEY=A..B",
            help="one row per value (repeatable: all combinations)",
        )
        _format_option(p)
        p.add_argument(
            "--plot",
            nargs="?",
            const="",
            metavar="FILE",
            help=f"draw a bubble chart to FILE (.png, .svg, .pdf; default {DEFAULT_PLOT})",
        )
        p.add_argument("--y", choices=Y_AXES, default="top1", help="the chart's y axis (top1)")

    if wanted("scale"):
        p = command(
            "scale",
            cmd_scale,
            "compound scaling of depth, width and resolution (EfficientNet)",
            "SPEC [options]",
            "archcost scale efficientnet_b0 --phi 0..7",
        )
        p.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
        p.add_argument("--phi", default="0..7", metavar="A..B|A,B,...", help="the compound coefficients φ (0..7)")
        p.add_argument("--alpha", type=_base, default=1.2, help="depth base (EfficientNet: 1.2)")
        p.add_argument("--beta", type=_base, default=1.1, help="width base (EfficientNet: 1.1)")
        p.add_argument("--gamma", type=_base, default=1.15, help="resolution base (EfficientNet: 1.15)")
        _format_option(p, ("table", "json"))

    if wanted("check"):
        p = command(
            "check", cmd_check, "each spec's figures against its paper's; exit 1 on a failure", "[SPEC...] [options]"
        )
        p.add_argument("specs", nargs="*", metavar="SPEC", help="specs to check (default: every bundled spec)")
        _format_option(p, ("table", "json", "markdown"))

    if wanted("gallery"):
        p = command(
            "gallery", cmd_gallery, "write the gallery of bundled networks (docs/gallery.md)", "[FILE] [--check]"
        )
        p.add_argument("file", nargs="?", metavar="FILE", help="write here (e.g. docs/gallery.md); default: stdout")
        p.add_argument("--check", action="store_true", help="do not write: exit 1 if FILE is not what would be written")

    if wanted("verify"):
        p = command(
            "verify",
            cmd_verify,
            "cross-check every figure against torch + fvcore; exit 1 on a mismatch",
            "SPEC... | --all [options]",
            "archcost verify resnet50\narchcost verify --all --memory --batch 2",
        )
        p.add_argument("specs", nargs="*", metavar="SPEC", help="specs to verify: bundled names or YAML paths")
        p.add_argument("--all", action="store_true", help="verify every bundled spec")
        p.add_argument("--device", default="cpu", metavar="cpu|cuda", help="where torch runs the forward pass (cpu)")
        p.add_argument(
            "-b", "--batch", type=_positive_int, default=1, metavar="N", help="batch of the forward pass (1)"
        )
        p.add_argument(
            "-s", "--set", action="append", metavar="KEY=VALUE", help="override a model parameter (repeatable)"
        )
        _format_option(p, ("table", "json"))
        p.add_argument("--all-rows", action="store_true", help="list every layer, not only those that differ")
        p.add_argument(
            "--memory",
            action="store_true",
            help="also run one training-mode forward pass at --batch (2 or more for batch norm) and compare the "
            "bytes autograd saves for backward with the analytic figure (within 1%%); on CUDA also the peaks",
        )

    if wanted("schema"):
        command("schema", cmd_schema, "print the JSON Schema of the spec format (for editors)", "")
    return parser, parsers


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code: 0 ok, 1 a check found a mismatch, 2 bad input."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser, commands = build_parser(args[0] if args else None)
    try:
        if not args:
            parser.print_help()
            return EXIT_OK
        # a command takes options and arguments in any order (`show --format json vgg16`); anything else is
        # --help, --version or an unknown command (an error)
        own = commands.get(args[0])
        options = parser.parse_args(args) if own is None else own.parse_intermixed_args(args[1:])
        options.run(options)
        sys.stdout.flush()  # here, where a closed pipe is handled, not at exit
    except SystemExit as exc:  # argparse: --help, --version, or a bad option (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    except SpecError as exc:
        print_error(str(exc))
        return EXIT_BAD_INPUT
    except _MismatchError:
        return EXIT_MISMATCH
    except BrokenPipeError:  # `archcost show vgg16 | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    return EXIT_OK


def app(argv: Sequence[str] | None = None) -> NoReturn:
    """The `archcost` console script."""
    sys.exit(main(argv))
