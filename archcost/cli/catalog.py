"""The commands about the bundled specs as a whole: `archcost list`, `check` (against the papers), `gallery`
(docs/gallery.md) and `schema`; and the bundled index `list` reads (specs/index.json)."""

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from archcost import outputs
from archcost.cli.base import MismatchError, console, echo, examples, typer_app, write
from archcost.cli.options import FormatOption
from archcost.cli.show import input_paths, load_ref
from archcost.errors import Location, SpecError

if TYPE_CHECKING:
    from archcost import engine, report, spec

# ---------------------------------------------------------------------------- list


@typer_app.command(
    "list",
    epilog=examples("archcost list", "archcost list --format json"),
    short_help="the bundled networks by family, with params, MACs and top-1 error",
)
def list_(format_: FormatOption = "table") -> None:
    """The bundled specs grouped by family, with year, params, MACs and reported top-1 error."""
    from archcost import report

    entries = catalog_entries()
    if format_ == "table":
        report.draw(console(), report.catalog_table(entries))
    else:
        write(report.catalog_text(entries, format_))


def catalog_entries(index: Path | None = None) -> "list[report.CatalogEntry]":
    """Every bundled spec's `list` entry: from the bundled index if it was made from these very files
    (same :func:`spec.bundled_fingerprint`), otherwise loaded and analysed (0.3 s for the 50 specs)."""
    from archcost import spec

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
    from archcost import spec

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


def _catalog_entry(name: str) -> "report.CatalogEntry":
    from archcost import check as paper_check
    from archcost import engine, report, spec

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


def _entry_from_index(item: dict[str, Any]) -> "report.CatalogEntry":
    from archcost import check as paper_check
    from archcost import report

    top1 = item["top1"]
    return report.CatalogEntry(
        **{**item, "input": tuple(item["input"]), "top1": None if top1 is None else paper_check.Accuracy(**top1)}
    )


def _analyzer(loaded: "spec.Spec") -> "Callable[[Mapping[str, Any], tuple[int, ...] | None], engine.Analysis]":
    """Analyses of one spec at given parameter settings and input, for the paper check."""

    from archcost import engine

    def analyze(settings: Mapping[str, Any], shape: tuple[int, ...] | None) -> "engine.Analysis":
        return engine.analyze(loaded, overrides=settings, input_override=shape)

    return analyze


# ---------------------------------------------------------------------------- check


@typer_app.command(
    epilog=examples("archcost check", "archcost check alexnet resnet50 --format markdown"),
    short_help="each spec's figures against its paper's; exit 1 on a failure",
)
def check(
    specs: Annotated[
        list[str] | None,
        typer.Argument(metavar="[SPEC]...", help="specs to check (default: every bundled spec)", show_default=False),
    ] = None,
    format_: Annotated[
        Literal["table", "json", "markdown"], typer.Option("--format", "-f", help="output format")
    ] = "table",
) -> None:
    """Compare each spec's figures reported by its paper with the computed ones; exit 1 on an unexplained failure."""
    from archcost import check as paper_check
    from archcost import report, spec

    refs = specs or spec.bundled_names()
    all_rows: list[paper_check.CheckRow] = []
    out = console() if format_ == "table" else None
    for ref in refs:
        loaded = load_ref(ref)
        rows = paper_check.check_spec(loaded, _analyzer(loaded))
        all_rows += rows
        if out is not None:
            report.draw(out, report.check_table(loaded.title, rows))
    failed = [r for r in all_rows if r.failed]
    if format_ == "json":
        write(report.check_json(all_rows))
    elif format_ == "markdown":
        write(report.check_markdown(all_rows))
    elif out is not None:
        counts = {
            v: sum(r.verdict == v for r in all_rows) for v in ("pass", "explained", "reported", "fail", "missing")
        }
        summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        verdict = "[bold red]FAILED[/]" if failed else "[green]ok[/]"
        out.print(f"{verdict}: {len(refs)} spec(s), {summary}")
    if failed:
        raise MismatchError


# ---------------------------------------------------------------------------- gallery


@typer_app.command(
    epilog=examples("archcost gallery docs/gallery.md"),
    short_help="write the gallery of bundled networks (docs/gallery.md)",
)
def gallery(
    file: Annotated[
        str | None,
        typer.Argument(metavar="[FILE]", help="write here (e.g. docs/gallery.md); default: stdout", show_default=False),
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="do not write: exit 1 if FILE is not what would be written")
    ] = False,
) -> None:
    """Generate the gallery of bundled networks (docs/gallery.md) from computed and reported figures."""
    from archcost import check as paper_check
    from archcost import report, spec

    output = Path(file) if file is not None else None
    bundled = [str(p) for p in sorted(spec.bundled_dir().glob("*.y*ml"))]
    if output is not None and not check_only:
        outputs.check_output(output, input_paths(bundled))  # before the work
    elif output is not None:
        outputs.check_name(output, "gallery file")
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
    if output is None:
        write(text)
        return
    if check_only:
        try:
            current = output.read_text(encoding="utf-8") if output.is_file() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read {output}: {exc}", Location(str(output))) from None
        if current != text:
            echo(f"{output} is out of date: run `archcost gallery {output}`", err=True)
            raise MismatchError
        echo(f"{output} is up to date")
        return
    outputs.write_atomic(output, text, bundled)
    echo(f"wrote {output}")


# ---------------------------------------------------------------------------- schema


@typer_app.command(short_help="print the JSON Schema of the spec format (for editors)")
def schema() -> None:
    """Print the JSON Schema of the spec format (for editor validation)."""
    from archcost import spec

    echo(json.dumps(spec.json_schema(), indent=2))
