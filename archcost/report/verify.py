"""``archcost verify``: a torch + fvcore cross-check's results as a rich table and verdict lines.

The verdict lines are rich markup (their marks are coloured); every piece of spec text in them is
escaped, so a name like ``[bold]`` prints as written. torchcheck's result types are read here, never
the other way round: torchcheck does not import report. Neither this module nor torchcheck's result
modules import torch; rich is imported when a table is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from archcost import units
from archcost.report.writers import printable
from archcost.torchcheck.measure import MEMORY_TOLERANCE, MemoryCheck
from archcost.torchcheck.train import TrainCheck
from archcost.torchcheck.verify import FIGURES, Check, VerifyResult

if TYPE_CHECKING:
    from rich.table import Table


def escape(text: str) -> str:
    """Spec text inside rich markup: brackets escaped, lone surrogates written as ``\\ud800``."""
    from rich.markup import escape as rich_escape

    return rich_escape(printable(text))


_HEADINGS: Final = {
    "shape": "Output",
    "params": "Params",
    "macs": "MACs",
    "flops": "fvcore flops",
    "activations": "fvcore acts",
}


def _value(v: Any) -> str:
    if v is None:
        return "—"
    return units.shape(v) if isinstance(v, tuple) else units.exact(v)


def _cell(check: Check[Any]) -> str:
    if check.ok:
        return escape(_value(check.analytic))
    return f"[bold red]{escape(_value(check.analytic))} ≠ {escape(_value(check.measured))}[/]"


def table(result: VerifyResult, *, all_rows: bool = False) -> Table:
    """The layers that differ (every layer with `all_rows`) and the totals, each figure as
    ``analytic`` when it agrees and ``analytic ≠ measured`` when it does not."""
    from rich.table import Table

    shown = result.layers if all_rows else result.mismatches
    which = "every layer" if all_rows else f"{len(shown)} layer(s) that differ"
    out = Table(
        title=f"{escape(result.name)}: {which} (a figure that differs reads analytic ≠ torch/fvcore)",
        title_justify="left",
    )
    out.add_column("Layer", overflow="fold")
    out.add_column("Kind")
    for figure in FIGURES:
        out.add_column(_HEADINGS[figure], justify="right")
    for row in shown:
        out.add_row(escape(row.name), row.kind, *(_cell(c) for c in row.figures().values()))
    if result.totals is not None:
        totals = result.totals.figures()
        out.add_section()
        out.add_row("[bold]total[/]", "", "", *(_cell(totals[f]) for f in FIGURES[1:]))
    return out


def unsupported_line(result: VerifyResult) -> str:
    """fvcore's unsupported operators: shown, not hidden (fvcore counts them as 0; so does the convention)."""
    if not result.unsupported_ops:
        return "fvcore met no operator it does not count"
    ops = ", ".join(f"{op} ×{n}" for op, n in result.unsupported_ops.items())
    return f"fvcore does not count (0 in its convention): {escape(ops)}"


def verdict(result: VerifyResult) -> str:
    """One line: agreement with the totals, or what differs."""
    where = f"({result.seconds:.1f} s, {result.device}, batch {result.batch})"
    name = escape(result.name)
    if result.failure is not None:
        return f"[bold red]✗ {name}[/]: {escape(result.failure)} {where}"
    assert result.totals is not None
    if result.ok:
        t = result.totals
        figures = " · ".join(
            f"{label} {units.exact(check.analytic)}"
            for label, check in (
                ("params", t.params),
                ("MACs", t.macs),
                ("fvcore flops", t.flops),
                ("fvcore acts", t.activations),
            )
        )
        return f"[green]✓ {name}[/]: {len(result.layers)} layers agree with torch + fvcore: {figures} {where}"
    bad = result.mismatches
    differing = sorted({f for row in bad for f in row.differs}, key=FIGURES.index)
    parts = [f"{len(bad)} of {len(result.layers)} layers differ" + (f" in {', '.join(differing)}" if bad else "")]
    if result.totals.differs:
        parts.append(f"totals differ in {', '.join(result.totals.differs)}")
    return f"[bold red]✗ {name}[/]: {'; '.join(parts)} {where}"


def memory_verdict(check: MemoryCheck) -> str:
    """One line: the saved-for-backward bytes both ways, their difference, and the CUDA peaks or why none."""
    where = f"({check.seconds:.1f} s, {check.device}, batch {check.batch}, {check.dtype})"
    name = escape(check.name)
    if check.failure is not None or check.measured is None:
        return f"[bold red]✗ {name}[/] memory: {escape(check.failure or 'not measured')} {where}"
    diff, rel = check.difference or 0, check.relative or 0.0
    saved = (
        f"saved for backward {units.human_bytes(check.analytic)} ({units.exact(check.analytic)} B), "
        f"torch {units.exact(check.measured)} B: "
        + ("equal" if diff == 0 else f"{diff:+,} B ({rel:+.3%}, tolerance ±{MEMORY_TOLERANCE:.0%})")
    )
    notes = []
    if check.layers:
        first, analytic, measured = check.layers[0]
        notes.append(f"{len(check.layers)} layer(s) differ, first {escape(first)}: {analytic:,} ≠ {measured:,} B")
    if check.in_place:
        notes.append(f"in place in only one of analysis and build: {escape(', '.join(check.in_place[:5]))}")
    if check.peak is not None:
        p = check.peak
        notes.append(
            f"inference peak {units.human_bytes(check.peak_analytic)}, torch: {escape(p.failure)}"
            if p.failure is not None
            else f"inference peak {units.human_bytes(check.peak_analytic)} ({units.exact(check.peak_analytic)} B), "
            f"torch's live storages {units.exact(p.held)} B: "
            + ("equal" if check.peak_ok else f"{p.held - check.peak_analytic:+,} B")
            + f" ({units.exact(p.allocated)} B with the caller's input)"
        )
    if check.cuda is not None:
        c = check.cuda
        notes.append(
            f"CUDA peaks (max_memory_allocated): inference {units.human_bytes(c.inference_measured)} vs analytic "
            f"{units.human_bytes(c.inference_analytic)}, training step {units.human_bytes(c.training_measured)} "
            f"vs analytic {units.human_bytes(c.training_analytic)}"
        )
    else:
        notes.append(escape(check.cuda_note))
    mark = f"[green]✓ {name}[/]" if check.ok and check.peak_ok is not False else f"[bold red]✗ {name}[/]"
    return f"{mark} memory: {saved}; {'; '.join(notes)} {where}"


def train_verdict(check: TrainCheck) -> str:
    """One line: the training step's flops (2 per MAC) from the analysis and from FlopCounterMode, for the
    whole build and layer by layer, and the layers skipped (named, with why)."""
    where = f"({check.seconds:.1f} s, batch {check.batch})"
    name = escape(check.name)
    if check.failure is not None:
        return f"[bold red]✗ {name}[/] training step: {escape(check.failure)} {where}"
    mark = "[green]✓" if check.ok else "[bold red]✗"
    compared = sum(c.expected for c in check.layers)
    skipped = check.expected - compared
    own = f" + its own count of the skipped layers {units.exact(skipped)}" if check.skipped else ""
    relation = "=" if check.whole == check.expected else "≠"
    whole = (
        f"FlopCounterMode's forward + backward of the build {units.exact(check.whole)} flops {relation} "
        f"2 × training-step MACs {units.exact(compared)}{own}"
    )
    notes = [f"{len(check.layers)} layers compared alone" + (", all equal" if not check.mismatches else "")]
    if check.mismatches:
        first = check.mismatches[0]
        notes.append(
            f"{len(check.mismatches)} differ, first {escape(first.name)}: {first.expected:,} ≠ {first.counted:,}"
        )
    if check.skipped:
        names = ", ".join(n for n, _, _ in check.skipped[:3]) + (", …" if len(check.skipped) > 3 else "")
        notes.append(f"{len(check.skipped)} skipped ({escape(names)}): {escape(check.skipped[0][1])}")
    return f"{mark} {name}[/] training step: {whole}; {'; '.join(notes)} {where}"
