"""A spec's analysis against a real torch module (``archcost verify SPEC --against SOURCE``): per layer output
shape, parameters and MACs, and the totals.

Owns :func:`compare`. Layers are matched by name when every weighted layer of the spec (one with
parameters or MACs) names a leaf module of the module; otherwise by the order of weighted layers (each
side's layers with parameters or MACs, in the order they run). The module's figures are those of
:mod:`.measure` (params ``sum(p.numel())``, MACs half of FlopCounterMode's count), on one sample.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from archcost.engine import Analysis, LayerResult
from archcost.importer.measure import LayerFigures, ModuleFigures


@dataclass(frozen=True)
class Row:
    """One layer of the spec beside the module's (either may be missing)."""

    spec: str | None
    module: str | None
    shape: tuple[tuple[int, ...] | None, tuple[int, ...] | None]
    params: tuple[int | None, int | None]
    macs: tuple[int | None, int | None]

    @property
    def differs(self) -> tuple[str, ...]:
        return tuple(k for k in ("shape", "params", "macs") if getattr(self, k)[0] != getattr(self, k)[1])

    @property
    def ok(self) -> bool:
        return not self.differs


@dataclass(frozen=True)
class AgainstResult:
    """The comparison of one spec with one module."""

    spec: str
    source: str
    input: tuple[int, ...]
    matched_by: str
    """``name`` or ``order`` (of weighted layers)."""
    rows: tuple[Row, ...]
    params: tuple[int, int]
    macs: tuple[int, int]
    output: tuple[tuple[int, ...], tuple[int, ...]]

    @property
    def first_difference(self) -> Row | None:
        return next((r for r in self.rows if not r.ok), None)

    @property
    def totals_ok(self) -> bool:
        return self.params[0] == self.params[1] and self.macs[0] == self.macs[1] and self.output[0] == self.output[1]

    @property
    def ok(self) -> bool:
        return self.totals_ok and self.first_difference is None

    def as_dict(self) -> dict[str, Any]:
        def pair(p: tuple[Any, Any]) -> dict[str, Any]:
            plain = [list(v) if isinstance(v, tuple) else v for v in p]
            return {"spec": plain[0], "module": plain[1], "ok": p[0] == p[1]}

        return {
            "spec": self.spec,
            "against": self.source,
            "input": list(self.input),
            "ok": self.ok,
            "matched_by": self.matched_by,
            "totals": {"params": pair(self.params), "macs": pair(self.macs), "output": pair(self.output)},
            "layers": [
                {
                    "spec": r.spec,
                    "module": r.module,
                    "ok": r.ok,
                    "shape": pair(r.shape),
                    "params": pair(r.params),
                    "macs": pair(r.macs),
                }
                for r in self.rows
            ],
        }


def _weighted_spec(layer: LayerResult) -> bool:
    return bool(layer.params or layer.macs)


def _weighted_module(layer: LayerFigures) -> bool:
    return bool(layer.params or layer.macs)


def _row(spec: LayerResult | None, module: LayerFigures | None) -> Row:
    return Row(
        spec=spec.name if spec else None,
        module=module.path if module else None,
        shape=(spec.output_shape if spec else None, module.shape if module else None),
        params=(spec.params if spec else None, module.params if module else None),
        macs=(spec.macs if spec else None, module.macs if module else None),
    )


def compare(analysis: Analysis, figures: ModuleFigures, source: str) -> AgainstResult:
    """`analysis` beside the module's `figures`, layer by layer (see the module doc)."""
    modules = {f.path: f for f in figures.layers}
    weighted = [r for r in analysis.layers if _weighted_spec(r)]
    if weighted and all(r.name in modules for r in weighted):
        matched_by = "name"
        rows = [_row(r, modules[r.name]) for r in analysis.layers if r.name in modules]
        named = {r.name for r in analysis.layers}
        rows += [_row(None, f) for f in figures.layers if _weighted_module(f) and f.path not in named]
    else:
        matched_by = "order"
        theirs = [f for f in figures.layers if _weighted_module(f)]
        rows = [_row(a, b) for a, b in itertools.zip_longest(weighted, theirs)]
    return AgainstResult(
        spec=analysis.name,
        source=source,
        input=analysis.input,
        matched_by=matched_by,
        rows=tuple(rows),
        params=(analysis.totals.params, figures.params),
        macs=(analysis.totals.macs, figures.macs),
        output=(analysis.output.output_shape, figures.output),
    )


def lines(result: AgainstResult, *, all_rows: bool = False) -> list[str]:
    """The comparison as text: the first differing layer (or every layer), the totals, the verdict."""

    def dims(shape: tuple[int, ...] | None) -> str:
        return "—" if shape is None else "×".join(map(str, shape))

    def num(v: int | None) -> str:
        return "—" if v is None else f"{v:,}"

    def row_text(r: Row) -> str:
        mark = "ok" if r.ok else "DIFFERS"
        name = r.spec if r.spec == r.module else f"{r.spec or '—'} ~ {r.module or '—'}"
        return (
            f"  {mark:7} {name}: shape {dims(r.shape[0])} / {dims(r.shape[1])}, params {num(r.params[0])} / "
            f"{num(r.params[1])}, MACs {num(r.macs[0])} / {num(r.macs[1])}"
        )

    out = [
        f"{result.spec} against {result.source} at {dims(result.input)}: {len(result.rows)} layers matched by "
        f"{'name' if result.matched_by == 'name' else 'the order of weighted layers'} (spec / module)"
    ]
    first = result.first_difference
    if all_rows:
        out.extend(row_text(r) for r in result.rows)
    elif first is not None:
        out.append("first differing layer:")
        out.append(row_text(first))
    for label, pair in (("params", result.params), ("MACs", result.macs)):
        out.append(f"  {'ok' if pair[0] == pair[1] else 'DIFFERS':7} total {label}: {pair[0]:,} / {pair[1]:,}")
    o = result.output
    out.append(f"  {'ok' if o[0] == o[1] else 'DIFFERS':7} output: {dims(o[0])} / {dims(o[1])}")
    out.append("ok: the spec agrees with the module" if result.ok else f"FAILED: the spec differs from {result.source}")
    return out
