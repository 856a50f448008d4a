"""Reporting: an :class:`~archcost.engine.Analysis` as a rich table, JSON, CSV or Markdown.

Every column names its convention: MACs (multiply-accumulates, bias excluded), FLOPs
(2 per MAC plus element-wise work), activations (output elements per sample).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _json_str
from typing import TYPE_CHECKING, Any, NamedTuple

from archcost import units
from archcost.engine import Analysis, LayerResult, ScaleStep
from archcost.memory import OPTIMIZER_STATES, Fit, Memory

if TYPE_CHECKING:  # rich costs ~20 ms to import: only the table builders import it, when called
    from rich.table import Table
    from rich.text import Text

    from archcost.check import Accuracy, CheckRow

FORMATS = ("table", "json", "csv", "markdown")


class Row(NamedTuple):
    """One report row: a leaf layer, or with ``--depth`` a group of them summed.

    This module's records are named tuples, not dataclasses: five frozen dataclasses took 3 ms of its import.
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    activations: int
    rf: tuple[int, int]
    layers: int = 1
    buffers: int = 0
    saved_bytes: int = 0


def _row(table: Table, *cells: str | Text) -> None:
    """Add a row whose text is shown as written: spec titles and notes are never read as rich markup."""
    from rich.text import Text

    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells))


def rows(analysis: Analysis, depth: int | None = None, saved: Mapping[str, int] | None = None) -> list[Row]:
    """The rows of a report: every leaf, or with `depth` the hierarchy cut at that level.

    `saved` gives each layer's bytes saved for backward (training), summed like the other figures.
    """
    saved = saved or {}
    if depth is None:
        return [_leaf_row(layer, saved) for layer in analysis.layers]
    groups: dict[str, list[LayerResult]] = {}
    for layer in analysis.layers:
        key = ".".join(layer.name.split(".")[:depth])
        groups.setdefault(key, []).append(layer)
    return [_group_row(key, members, saved) for key, members in groups.items()]


def _leaf_row(layer: LayerResult, saved: Mapping[str, int]) -> Row:
    return Row(
        layer.name,
        layer.kind,
        layer.output_shape,
        layer.params,
        layer.macs,
        layer.flops,
        layer.activations,
        layer.rf,
        buffers=layer.buffers,
        saved_bytes=saved.get(layer.name, 0),
    )


def _group_row(key: str, members: Sequence[LayerResult], saved: Mapping[str, int]) -> Row:
    if len(members) == 1 and members[0].name == key:
        return _leaf_row(members[0], saved)
    last = members[-1]
    return Row(
        name=key,
        kind=f"{len(members)} layers",
        output_shape=last.output_shape,
        params=sum(m.params for m in members),
        macs=sum(m.macs for m in members),
        flops=sum(m.flops for m in members),
        activations=sum(m.activations for m in members),
        rf=last.rf,
        layers=len(members),
        buffers=sum(m.buffers for m in members),
        saved_bytes=sum(saved.get(m.name, 0) for m in members),
    )


def memory(analysis: Analysis) -> dict[str, int]:
    """Bytes at the analysis' batch and dtype: weights, buffers and all layer outputs."""
    size = units.DTYPE_BYTES[analysis.dtype]
    t = analysis.totals
    return {
        "param_bytes": t.params * size,
        "buffer_bytes": t.buffers * size,
        "activation_bytes": t.activations * analysis.batch * size,
    }


# ---------------------------------------------------------------------------- table


def _num(n: int, exact: bool) -> str:
    return units.exact(n) if exact else units.human(n)


def _rf(rf: tuple[int, int]) -> str:
    return str(rf[0]) if rf[0] == rf[1] else f"{rf[0]}×{rf[1]}"


def table(analysis: Analysis, depth: int | None = None, *, exact: bool = False, mem: Memory | None = None) -> Table:
    """A rich table, one row per layer (or group), totals at the bottom.

    Memory columns are bytes at the analysis' batch and dtype; with `mem` from a training
    analysis (`--train`), a column shows what each layer saves for backward.
    """
    from rich.table import Table
    from rich.text import Text

    size = units.DTYPE_BYTES[analysis.dtype]
    batch = analysis.batch
    result = Table(
        title=Text(f"{analysis.title}: input {units.shape(analysis.input)} (C×H×W), batch {batch}, {analysis.dtype}"),
        show_footer=True,
        header_style="bold",
        footer_style="bold",
    )
    t = analysis.totals
    has_buffers = t.buffers > 0
    result.add_column("layer", footer="total")
    result.add_column("kind")
    result.add_column("output (C×H×W)", footer=units.shape(analysis.output.output_shape))
    result.add_column("params", justify="right", footer=_num(t.params, exact))
    result.add_column("MACs", justify="right", footer=_num(t.macs, exact))
    result.add_column("FLOPs", justify="right", footer=_num(t.flops, exact))
    result.add_column("activations", justify="right", footer=_num(t.activations, exact))
    result.add_column("RF", justify="right", footer=_rf(analysis.output.rf))
    result.add_column("weight mem", justify="right", footer=units.human_bytes(t.params * size))
    result.add_column("output mem", justify="right", footer=units.human_bytes(t.activations * batch * size))
    if has_buffers:
        result.add_column("buffer mem", justify="right", footer=units.human_bytes(t.buffers * size))
    if mem is not None:
        result.add_column("saved mem", justify="right", footer=units.human_bytes(mem.saved_activation_bytes))
    for row in rows(analysis, depth, mem.saved_by_layer if mem else None):
        cells: list[str | Text] = [
            row.name,
            Text(row.kind, style="dim" if row.layers > 1 else ""),
            units.shape(row.output_shape),
            _num(row.params, exact) if row.params else "",
            _num(row.macs, exact) if row.macs else "",
            _num(row.flops, exact) if row.flops else "",
            _num(row.activations, exact),
            _rf(row.rf),
            units.human_bytes(row.params * size) if row.params else "",
            units.human_bytes(row.activations * batch * size),
        ]
        if has_buffers:
            cells.append(units.human_bytes(row.buffers * size) if row.buffers else "")
        if mem is not None:
            cells.append(units.human_bytes(row.saved_bytes) if row.saved_bytes else "")
        _row(result, *cells)
    return result


def summary(analysis: Analysis, mem: Memory | None = None, *, train: bool = False, fit: Fit | None = None) -> list[str]:
    """The totals in exact integers, the memory figures with their meanings, and the fit."""
    t = analysis.totals
    lines = [
        f"params       {units.exact(t.params):>16}  trainable (weights, biases, norm γ/β); "
        f"buffers {units.exact(t.buffers)}",
        f"MACs         {units.exact(t.macs):>16}  multiply-accumulates of conv/linear, bias excluded "
        "(the papers' mult-adds)",
        f"FLOPs        {units.exact(t.flops):>16}  2 per MAC + bias adds + element-wise ops",
        f"activations  {units.exact(t.activations):>16}  output elements of all layers, per sample",
        f"depth {analysis.weighted_depth} weighted layers (conv + linear) · receptive field of the output "
        f"{_rf(analysis.output.rf)} px",
    ]
    if mem is None:
        return lines
    alive = ", ".join(
        f"{name} {units.human_bytes(e * mem.batch * units.DTYPE_BYTES[mem.dtype])}" for name, e in mem.peak_alive
    )
    lines += [
        f"memory at batch {mem.batch}, {mem.dtype} (KiB, MiB, GiB are powers of 1024):",
        _mem_line("weights", mem.param_bytes, "params × bytes per element"),
        _mem_line("buffers", mem.buffer_bytes, "running statistics of batch norm"),
        _mem_line("all outputs", mem.activation_bytes, "every layer's output at once: an upper bound, no reuse"),
        _mem_line(
            "peak inference",
            mem.peak_inference_bytes,
            f"activations alive at once at {mem.peak_layer} (each kept until its last consumer; "
            "in-place activations reuse their input)",
        ),
        f"{'':18}alive there: {alive}",
        _mem_line("inference total", mem.inference_bytes, "weights + buffers + peak inference"),
    ]
    if train:
        states = OPTIMIZER_STATES[mem.optimizer]
        lines += [
            f"training step ({mem.optimizer}):",
            _mem_line("gradients", mem.gradient_bytes, "one per parameter"),
            _mem_line("optimizer state", mem.optimizer_bytes, f"{mem.optimizer}: {states} per parameter"),
            _mem_line(
                "saved for backward",
                mem.saved_activation_bytes,
                "what autograd keeps from forward (docs/conventions.md)",
            ),
            _mem_line("backward transient", mem.backward_transient_bytes, "the largest output + input gradient pair"),
            _mem_line(
                "training total", mem.training_bytes, "weights + buffers + gradients + optimizer + saved + transient"
            ),
        ]
    if fit is not None:
        lines.append(
            f"fits in {units.human_bytes(fit.budget)} ({units.exact(fit.budget)} B): "
            f"inference batch ≤ {units.exact(fit.inference_batch)}; "
            f"training batch ≤ {units.exact(fit.training_batch)} ({mem.optimizer})"
        )
    return lines


def _mem_line(label: str, value: int, meaning: str) -> str:
    return f"  {label:<18}{units.human_bytes(value):>10}  {meaning}"


def _batch_dtype(analysis: Analysis) -> str:
    return f"batch {analysis.batch}, {analysis.dtype}"


def explain(analysis: Analysis) -> Iterable[str]:
    """Each layer's arithmetic, the way a lecture writes it (shapes H×W×C)."""
    yield f"{analysis.title}: input {units.shape(analysis.input)} (C×H×W). Shapes below are H×W×C, as in lectures."
    for layer in analysis.layers:
        yield f"{layer.name}: {layer.explain}"
    t = analysis.totals
    yield f"total: params = {units.exact(t.params)}; MACs = {units.exact(t.macs)}; FLOPs = {units.exact(t.flops)}"


# ---------------------------------------------------------------------------- machine formats


def to_dict(
    analysis: Analysis, depth: int | None = None, mem: Memory | None = None, fit: Fit | None = None
) -> dict[str, Any]:
    """The JSON contract (design README): name, input, batch, dtype, totals, layers."""
    t = analysis.totals
    data: dict[str, Any] = {
        "name": analysis.name,
        "title": analysis.title,
        "input": list(analysis.input),
        "batch": analysis.batch,
        "dtype": analysis.dtype,
        "settings": dict(analysis.settings),
        "conventions": {
            "macs": "multiply-accumulates of conv and linear layers, bias excluded",
            "flops": "2 per MAC + bias adds + element-wise operations (docs/conventions.md)",
            "activations": "output elements of every layer, one sample",
        },
        "totals": {
            "params": t.params,
            "macs": t.macs,
            "flops": t.flops,
            "activations": t.activations,
            "buffers": t.buffers,
            **memory(analysis),
            **(_memory_dict(mem) if mem else {}),
            "weighted_depth": analysis.weighted_depth,
            "receptive_field": list(analysis.output.rf),
        },
        "layers": _layer_dicts(analysis, mem),
    }
    if fit is not None:
        data["fit"] = {
            "budget_bytes": fit.budget,
            "max_batch_inference": fit.inference_batch,
            "max_batch_training": fit.training_batch,
        }
    if depth is not None:
        data["groups"] = [_row_dict(r) for r in rows(analysis, depth)]
    return data


def _layer_dicts(analysis: Analysis, mem: Memory | None) -> list[dict[str, Any]]:
    """Each leaf layer's entry in the JSON."""
    size = units.DTYPE_BYTES[analysis.dtype]
    output_size = analysis.batch * size
    saved = mem.saved_by_layer if mem else {}
    return [
        {
            "name": layer.name,
            "kind": layer.kind,
            "inputs": list(layer.inputs),
            "output_shape": list(layer.output_shape),
            "params": layer.params,
            "macs": layer.macs,
            "flops": layer.flops,
            "activations": layer.activations,
            "buffers": layer.buffers,
            "receptive_field": list(layer.rf),
            "jump": list(layer.jump),
            "weight_bytes": layer.params * size,
            "output_bytes": layer.activations * output_size,
            "buffer_bytes": layer.buffers * size,
            "saved_bytes": saved.get(layer.name, 0),
            "line": layer.loc.line,
        }
        for layer in analysis.layers
    ]


def _memory_dict(mem: Memory) -> dict[str, Any]:
    return {
        "peak_inference_bytes": mem.peak_inference_bytes,
        "peak_inference_layer": mem.peak_layer,
        "inference_bytes": mem.inference_bytes,
        "optimizer": mem.optimizer,
        "gradient_bytes": mem.gradient_bytes,
        "optimizer_bytes": mem.optimizer_bytes,
        "saved_activation_bytes": mem.saved_activation_bytes,
        "backward_transient_bytes": mem.backward_transient_bytes,
        "training_bytes": mem.training_bytes,
    }


def _row_dict(row: Row) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "output_shape": list(row.output_shape),
        "params": row.params,
        "macs": row.macs,
        "flops": row.flops,
        "activations": row.activations,
        "receptive_field": list(row.rf),
        "layers": row.layers,
    }


# json.dumps(indent=2) runs json's pure-Python encoder; without indent, the C encoder (five times faster)
_compact = json.JSONEncoder(separators=(", ", ": ")).encode


def _dumps(value: Any, indent: str = "\n") -> str:
    """JSON a person can read, written by json's C encoder: an object one key a line, an array of objects
    (or of arrays) one item a line, every other value on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value and all(isinstance(key, str) for key in value):
        return "{" + ",".join(f"{inner}{_json_str(k)}: {_dumps(v, inner)}" for k, v in value.items()) + indent + "}"
    if isinstance(value, list) and value and isinstance(value[0], dict | list):
        return "[" + ",".join(inner + _compact(item) for item in value) + indent + "]"
    return _compact(value)


def to_json(analysis: Analysis, depth: int | None = None, mem: Memory | None = None, fit: Fit | None = None) -> str:
    """`to_dict` as JSON text: one key a line, one layer a line."""
    return _dumps(to_dict(analysis, depth, mem, fit))


_COLUMNS = ("name", "kind", "output_shape", "params", "macs", "flops", "activations", "receptive_field")


def to_csv(analysis: Analysis, depth: int | None = None) -> str:
    """One row per layer (or group) with exact integers; shapes as C×H×W."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    writer.writerows(map(_cells, _layers_or_rows(analysis, depth)))
    t = analysis.totals
    writer.writerow(
        ["total", "", units.shape(analysis.output.output_shape), t.params, t.macs, t.flops, t.activations, ""]
    )
    return out.getvalue()


def _layers_or_rows(analysis: Analysis, depth: int | None) -> Sequence[Row | LayerResult]:
    """The leaves themselves when there is no `depth`: a layer has every field of its `Row`."""
    return analysis.layers if depth is None else rows(analysis, depth)


def _cells(row: Row | LayerResult) -> list[str | int]:
    return [
        row.name,
        row.kind,
        units.shape(row.output_shape),
        row.params,
        row.macs,
        row.flops,
        row.activations,
        _rf(row.rf),
    ]


def to_markdown(analysis: Analysis, depth: int | None = None) -> str:
    """A GitHub-flavoured Markdown table with exact integers and a totals row."""
    head = ["layer", "kind", "output (C×H×W)", "params", "MACs", "FLOPs", "activations", "RF"]
    lines = [
        f"**{analysis.title}**: input {units.shape(analysis.input)}, {_batch_dtype(analysis)}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---", "---", "---", "---:", "---:", "---:", "---:", "---:"]) + "|",
    ]
    for row in _layers_or_rows(analysis, depth):
        cells = _cells(row)
        lines.append("| " + " | ".join(units.exact(c) if isinstance(c, int) else c for c in cells) + " |")
    t = analysis.totals
    totals = [t.params, t.macs, t.flops, t.activations]
    lines.append(
        "| **total** | | "
        + units.shape(analysis.output.output_shape)
        + " | "
        + " | ".join(f"**{units.exact(v)}**" for v in totals)
        + f" | {_rf(analysis.output.rf)} |"
    )
    return "\n".join(lines) + "\n"


def render_text(
    analysis: Analysis, fmt: str, depth: int | None = None, mem: Memory | None = None, fit: Fit | None = None
) -> str:
    """The machine formats as text: json, csv or markdown."""
    if fmt == "json":
        return to_json(analysis, depth, mem, fit) + "\n"
    if fmt == "csv":
        return to_csv(analysis, depth)
    if fmt == "markdown":
        return to_markdown(analysis, depth)
    raise ValueError(fmt)


# ---------------------------------------------------------------------------- list


class CatalogEntry(NamedTuple):
    """One bundled spec in `archcost list`."""

    name: str
    title: str
    family: str
    year: int | None
    params: int
    macs: int
    input: tuple[int, ...]
    top1: Accuracy | None = None


def by_family(entries: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    """Entries grouped by family (families in order of their first year), then by year and name."""
    first_year: dict[str, int] = {}
    for e in entries:
        first_year[e.family] = min(first_year.get(e.family, 9999), e.year or 9999)
    return sorted(entries, key=lambda e: (first_year[e.family], e.family, e.year or 9999, e.macs, e.name))


def catalog_table(entries: Sequence[CatalogEntry]) -> Table:
    """The bundled specs grouped by family: year, input, params, MACs and reported top-1 error."""
    from rich.table import Table

    result = Table(
        title="bundled specs",
        header_style="bold",
        caption="MACs: multiply-accumulates at the spec's input; top-1 error: as reported (protocols: archcost check)",
    )
    for column, justify in (
        ("family", "left"),
        ("name", "left"),
        ("network", "left"),
        ("year", "right"),
        ("input", "left"),
        ("params", "right"),
        ("MACs", "right"),
        ("top-1 err", "right"),
    ):
        result.add_column(column, justify=justify)  # type: ignore[arg-type]
    previous = None
    for e in by_family(entries):
        if previous is not None and e.family != previous:
            result.add_section()
        _row(
            result,
            e.family if e.family != previous else "",
            e.name,
            e.title,
            str(e.year or ""),
            units.shape(e.input),
            units.human(e.params),
            units.human(e.macs),
            f"{e.top1.error:g}%" if e.top1 else "—",
        )
        previous = e.family
    return result


def catalog_dicts(entries: Sequence[CatalogEntry]) -> list[dict[str, Any]]:
    return [
        {
            "name": e.name,
            "title": e.title,
            "family": e.family,
            "year": e.year,
            "input": list(e.input),
            "params": e.params,
            "macs": e.macs,
            "top1_error": e.top1.error if e.top1 else None,
        }
        for e in by_family(entries)
    ]


def catalog_text(entries: Sequence[CatalogEntry], fmt: str) -> str:
    """The bundled-spec list as json, csv or markdown, with exact integers."""
    data = catalog_dicts(entries)
    if fmt == "json":
        return _dumps(data) + "\n"
    keys = ["name", "title", "family", "year", "input", "params", "macs", "top1_error"]
    cells = [[units.shape(d[k]) if k == "input" else ("" if d[k] is None else d[k]) for k in keys] for d in data]
    if fmt == "csv":
        import csv

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(keys)
        writer.writerows(cells)
        return out.getvalue()
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += [
        "| "
        + " | ".join(
            units.exact(c) if isinstance(c, int) and k in ("params", "macs") else str(c)
            for k, c in zip(keys, row, strict=True)
        )
        + " |"
        for row in cells
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- paper check

_VERDICT_STYLE = {"pass": "green", "explained": "yellow", "reported": "cyan", "fail": "bold red", "missing": "bold red"}


def _computed_text(row: CheckRow) -> str:
    if row.computed is None:
        return ""
    return f"{units.human(row.computed)} ({units.exact(row.computed)})"


def _difference_text(row: CheckRow) -> str:
    if row.difference is None or row.computed is None:
        return ""
    base = row.computed - row.difference
    pct = f" ({100 * row.difference / base:+.1f}%)" if base else ""
    sign = "+" if row.difference >= 0 else "−"
    return f"{sign}{units.human(abs(round(row.difference)))}{pct}"


def check_table(spec_title: str, check_rows: Sequence[CheckRow]) -> Table:
    """A rich table of one spec's reported figures against the computed ones."""
    from rich.table import Table
    from rich.text import Text

    result = Table(title=Text(f"{spec_title}: reported vs computed"), header_style="bold", show_lines=False)
    for column, justify in (
        ("figure", "left"),
        ("reported", "right"),
        ("computed", "right"),
        ("difference", "right"),
        ("verdict", "left"),
        ("where / explanation", "left"),
    ):
        result.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in check_rows:
        figure = row.figure + (f" [{row.layer}]" if row.layer else "") + (f" ({row.setting})" if row.setting else "")
        where = ", ".join(filter(None, [row.where, row.source if row.source != "primary" else ""]))
        detail = f"{where}: {row.explanation}" if where and row.explanation else where or row.explanation
        _row(
            result,
            figure,
            row.reported,
            _computed_text(row),
            _difference_text(row),
            Text(row.verdict, style=_VERDICT_STYLE.get(row.verdict, "")),
            detail,
        )
    return result


def check_dicts(check_rows: Sequence[CheckRow]) -> list[dict[str, Any]]:
    return [
        {
            "spec": r.spec,
            "figure": r.figure,
            "layer": r.layer,
            "setting": r.setting,
            "reported": r.reported,
            "computed": r.computed,
            "difference": r.difference,
            "tolerance": r.tolerance,
            "verdict": r.verdict,
            "explanation": r.explanation,
            "where": r.where,
            "source": r.source,
        }
        for r in check_rows
    ]


def check_markdown(check_rows: Sequence[CheckRow]) -> str:
    """The check as a Markdown table (used by the gallery too)."""
    lines = [
        "| figure | reported | computed | difference | verdict | where / explanation |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in check_rows:
        figure = row.figure + (f" `{row.layer}`" if row.layer else "") + (f" ({row.setting})" if row.setting else "")
        where = ", ".join(filter(None, [row.where, row.source if row.source != "primary" else ""]))
        detail = f"{where}: {row.explanation}" if where and row.explanation else where or row.explanation
        cells = [figure, row.reported, _computed_text(row), _difference_text(row), row.verdict, detail]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- gallery


class GalleryEntry(NamedTuple):
    """One bundled network for the gallery: its metadata, analysis and paper check."""

    name: str
    meta: dict[str, Any]
    analysis: Analysis
    checks: Sequence[CheckRow]


def _stage_rows(analysis: Analysis) -> list[Row]:
    """Depth-1 rows that carry cost or change the shape: the network's stages."""
    out: list[Row] = []
    previous = analysis.input
    for row in rows(analysis, 1):
        if row.params or row.macs or row.output_shape != previous:
            out.append(row)
        previous = row.output_shape
    return out


def _accuracy_text(entry: GalleryEntry) -> str:
    found = [r for r in entry.checks if r.verdict == "reported" and not r.setting]
    return "; ".join(f"{r.figure.replace('_', ' ')} {r.reported} ({r.explanation})" for r in found)


def gallery(entries: Sequence[GalleryEntry]) -> str:
    """docs/gallery.md: every bundled network with its paper, computed vs reported figures and stages."""
    lines = [
        "# Gallery of bundled networks",
        "",
        "<!-- Generated by `archcost gallery docs/gallery.md`; do not edit by hand. -->",
        "",
        "Every figure below is computed by archcost at the spec's input (batch 1, fp32) and checked against",
        "the paper by `archcost check`. MACs are multiply-accumulates of conv and linear layers, bias excluded",
        '(the papers\' "multiply-adds"); FLOPs count 2 per MAC plus bias adds and element-wise work',
        "([conventions](conventions.md)).",
        "",
        "| network | year | input | params | MACs | top-1 error (ImageNet unless named) | paper check |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for e in entries:
        t = e.analysis.totals
        top1 = next((r for r in e.checks if r.figure == "top1_error" and not r.setting), None)
        top1_text = (
            "—" if top1 is None else top1.reported + ("" if top1.dataset == "ImageNet" else f" ({top1.dataset})")
        )
        failed = sum(r.failed for r in e.checks)
        count = len(e.checks)
        verdict = f"{failed} failed" if failed else f"{count} figure{'s' if count != 1 else ''} ok"
        lines.append(
            f"| [{e.analysis.title}](#{e.name}) | {e.meta.get('year', '')} | {units.shape(e.analysis.input)} | "
            f"{units.human(t.params)} | {units.human(t.macs)} | {top1_text} | {verdict} |"
        )
    for e in entries:
        lines += ["", *_gallery_section(e)]
    return "\n".join(lines) + "\n"


def _gallery_section(e: GalleryEntry) -> list[str]:
    a, t = e.analysis, e.analysis.totals
    paper = e.meta.get("paper", {})
    cite = paper.get("title", "")
    if paper.get("url"):
        cite = f"[{cite}]({paper['url']})"
    authors = f"{paper['authors']}, " if paper.get("authors") else ""
    venue = f"{paper['venue']}, " if paper.get("venue") else ""
    out = [
        f'<a id="{e.name}"></a>',
        f"## {a.title} (`{e.name}`)",
        "",
        f"{authors}{cite}, {venue}{paper.get('year', '')}.".strip(),
        "",
    ]
    if e.meta.get("description"):
        out += [e.meta["description"].strip(), ""]
    if e.meta.get("reference"):
        out += [f"Reproduces: {e.meta['reference'].strip()}", ""]
    out += [
        f"- input {units.shape(a.input)}; {units.exact(t.params)} params; {units.exact(t.macs)} MACs; "
        f"{units.exact(t.flops)} FLOPs; {units.exact(t.activations)} activations per sample",
        f"- {a.weighted_depth} weighted layers on the longest path; receptive field of the output "
        f"{_rf(a.output.rf)} px",
    ]
    if a.settings:
        out.append("- parameters: " + ", ".join(f"`{k}={v}`" for k, v in a.settings.items()))
    accuracy_text = _accuracy_text(e)
    if accuracy_text:
        out.append(f"- accuracy: {accuracy_text}")
    out += ["", "### Computed vs reported", "", check_markdown(e.checks).rstrip(), "", "### Stages", ""]
    out += [
        "| stage | output (C×H×W) | params | MACs | share of MACs |",
        "|---|---|---:|---:|---:|",
    ]
    for row in _stage_rows(a):
        share = f"{100 * row.macs / t.macs:.1f}%" if t.macs else ""
        out.append(
            f"| `{row.name}` | {units.shape(row.output_shape)} | {units.exact(row.params)} | "
            f"{units.exact(row.macs)} | {share} |"
        )
    notes = e.meta.get("notes", [])
    if notes:
        out += ["", "### Notes", "", *[f"- {n.strip()}" for n in notes]]
    return out


# ---------------------------------------------------------------------------- compare


class CompareRow(NamedTuple):
    """One network (at one setting) in `archcost compare`."""

    label: str
    analysis: Analysis
    top1: Accuracy | None = None
    top5: Accuracy | None = None

    @property
    def activation_bytes(self) -> int:
        return memory(self.analysis)["activation_bytes"]


def _error_text(acc: Accuracy | None) -> str:
    return f"{acc.error:g}%" if acc else "—"


def compare_table(compare_rows: Sequence[CompareRow]) -> Table:
    """One row per network; ratios of params, MACs and memory against the first."""
    from rich.table import Table
    from rich.text import Text

    first = compare_rows[0].analysis
    a0 = compare_rows[0]
    result = Table(
        title=Text(f"compared at batch {first.batch}, {first.dtype}; ratios against {a0.label}"),
        header_style="bold",
    )
    for column in (
        "network",
        "input",
        "params",
        "×",
        "MACs",
        "×",
        "FLOPs",
        "activation memory",
        "×",
        "depth",
        "RF",
        "top-1 err",
        "top-5 err",
    ):
        result.add_column(column, justify="left" if column in ("network", "input") else "right")
    for row in compare_rows:
        a, t = row.analysis, row.analysis.totals
        _row(
            result,
            row.label,
            units.shape(a.input),
            units.human(t.params),
            units.ratio(t.params, first.totals.params),
            units.human(t.macs),
            units.ratio(t.macs, first.totals.macs),
            units.human(t.flops),
            units.human_bytes(row.activation_bytes),
            units.ratio(row.activation_bytes, a0.activation_bytes),
            str(a.weighted_depth),
            _rf(a.last_feature_map.rf),
            _error_text(row.top1),
            _error_text(row.top5),
        )
    return result


def compare_notes(compare_rows: Sequence[CompareRow]) -> list[str]:
    """What each column means, and the protocol behind each error rate."""
    lines = [
        "MACs: multiply-accumulates (bias excluded); FLOPs: 2 per MAC + element-wise ops; activation memory: all "
        "layer outputs; depth: conv + linear layers on the longest path; RF: receptive field of the last "
        "feature map in pixels; errors: as reported by each paper (%)."
    ]
    for row in compare_rows:
        for name, acc in (("top-1", row.top1), ("top-5", row.top5)):
            if acc:
                lines.append(f"  {row.label} {name} {acc.error:g}%: {acc.protocol} ({acc.where})")
    return lines


def compare_dicts(compare_rows: Sequence[CompareRow]) -> list[dict[str, Any]]:
    first = compare_rows[0]
    out = []
    for row in compare_rows:
        a, t = row.analysis, row.analysis.totals
        out.append(
            {
                "label": row.label,
                "name": a.name,
                "settings": dict(a.settings),
                "input": list(a.input),
                "batch": a.batch,
                "dtype": a.dtype,
                "params": t.params,
                "macs": t.macs,
                "flops": t.flops,
                "activations": t.activations,
                "activation_bytes": row.activation_bytes,
                "weighted_depth": a.weighted_depth,
                "receptive_field": list(a.last_feature_map.rf),
                "top1_error": row.top1.error if row.top1 else None,
                "top1_protocol": row.top1.protocol if row.top1 else None,
                "top5_error": row.top5.error if row.top5 else None,
                "top5_protocol": row.top5.protocol if row.top5 else None,
                "params_ratio": t.params / first.analysis.totals.params,
                "macs_ratio": t.macs / first.analysis.totals.macs if first.analysis.totals.macs else None,
            }
        )
    return out


_COMPARE_COLUMNS = (
    "label",
    "input",
    "params",
    "macs",
    "flops",
    "activation_bytes",
    "weighted_depth",
    "receptive_field",
    "top1_error",
    "top5_error",
    "params_ratio",
    "macs_ratio",
)


def compare_text(compare_rows: Sequence[CompareRow], fmt: str) -> str:
    """compare as json, csv or markdown, with exact integers."""
    data = compare_dicts(compare_rows)
    if fmt == "json":
        return _dumps(data) + "\n"

    def cell(key: str, value: Any) -> str:
        if value is None:
            return ""
        if key in ("input", "receptive_field"):
            return units.shape(value)
        if key.endswith("_ratio"):
            return f"{value:.3g}"
        if isinstance(value, int) and fmt == "markdown":
            return units.exact(value)
        return str(value)

    table_rows = [[cell(k, d[k]) for k in _COMPARE_COLUMNS] for d in data]
    if fmt == "csv":
        import csv

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_COMPARE_COLUMNS)
        writer.writerows(table_rows)
        return out.getvalue()
    lines = ["| " + " | ".join(_COMPARE_COLUMNS) + " |", "|" + "---|" * len(_COMPARE_COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- compound scaling


class ScaleRow(NamedTuple):
    """One φ of `archcost scale`: the multipliers and the network they give."""

    step: ScaleStep
    analysis: Analysis


def _scale_rule(alpha: float, beta: float, gamma: float) -> float:
    return alpha * beta**2 * gamma**2


def scale_table(scale_rows: Sequence[ScaleRow], alpha: float, beta: float, gamma: float) -> Table:
    """φ, multipliers, MACs, params and the MACs ratio beside the rule's prediction."""
    from rich.table import Table
    from rich.text import Text

    rule = _scale_rule(alpha, beta, gamma)
    base = scale_rows[0].analysis.totals.macs
    first_phi = scale_rows[0].step.phi
    result = Table(
        title=Text(
            f"{scale_rows[0].analysis.title}: compound scaling, α={alpha:g} β={beta:g} γ={gamma:g} "
            f"(α·β²·γ² = {rule:.3f})"
        ),
        header_style="bold",
    )
    for column in ("φ", "depth ×", "width ×", "resolution", "params", "MACs", "MACs / φ₀", f"{rule:.2f}^Δφ", "2^Δφ"):
        result.add_column(column, justify="right")
    for row in scale_rows:
        t = row.analysis.totals
        steps = row.step.phi - first_phi
        _row(
            result,
            str(row.step.phi),
            f"{row.step.depth:.3f}",
            f"{row.step.width:.3f}",
            units.shape(row.analysis.input[1:]),
            units.human(t.params),
            units.human(t.macs),
            f"{t.macs / base:.2f}" if base else "—",
            f"{rule**steps:.2f}",
            f"{2**steps:g}",
        )
    return result


def scale_dicts(scale_rows: Sequence[ScaleRow], alpha: float, beta: float, gamma: float) -> list[dict[str, Any]]:
    rule = _scale_rule(alpha, beta, gamma)
    base = scale_rows[0].analysis.totals.macs
    first_phi = scale_rows[0].step.phi
    return [
        {
            "phi": r.step.phi,
            "depth_multiplier": r.step.depth,
            "width_multiplier": r.step.width,
            "input": list(r.analysis.input),
            "settings": dict(r.step.settings),
            "params": r.analysis.totals.params,
            "macs": r.analysis.totals.macs,
            "macs_ratio": r.analysis.totals.macs / base if base else None,
            "rule_prediction": rule ** (r.step.phi - first_phi),
            "two_to_the_phi": 2 ** (r.step.phi - first_phi),
        }
        for r in scale_rows
    ]
