"""torch modules in: ``archcost import`` (a spec written from a module) and ``verify --against`` (a spec
compared with a module). With :mod:`archcost.torchcheck`, the only package that imports torch; the CLI
imports it only when one of those two commands runs.

* :mod:`.source`: SOURCE (``torchvision:NAME``, ``timm:NAME``, ``module:callable``, ``file.py:callable``)
  into a module on the meta device, with its default input;
* :mod:`.trace`: the module traced with ``torch.fx``, every value's shape from a meta run;
* :mod:`.mapping`: torch operations into catalog layers (one line, exit 2, for one it cannot map);
* :mod:`.structure`: the data flow as chains and forks (residual, parallel);
* :mod:`.emit`: the YAML text, named after the module paths;
* :mod:`.measure`: the module's own figures (params, FlopCounterMode MACs, shapes);
* :mod:`.against`: a spec's analysis against those figures, layer by layer.

:func:`import_source` runs the whole way and checks the written spec against the module before it is
returned: an import whose figures would differ is an error, never a wrong spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archcost.errors import Location, SpecError

if TYPE_CHECKING:
    from torch import nn

    from archcost.engine import Analysis
    from archcost.importer.measure import ModuleFigures


@dataclass(frozen=True)
class Imported:
    """An imported spec: its text, its analysis and the module's own figures it was checked against."""

    text: str
    analysis: Analysis
    figures: ModuleFigures
    notes: tuple[str, ...] = ()


def resolve_input(source_input: tuple[int, ...] | None, given: tuple[int, ...] | None, source: str) -> tuple[int, ...]:
    """The input to import at: `given` (--input), else the model's default; SpecError if neither."""
    if given is not None:
        return given
    if source_input is None:
        raise SpecError("this module has no default input size: give one with --input CxHxW", Location(source))
    return source_input


def import_source(source: str, input_shape: tuple[int, ...] | None = None, name: str | None = None) -> Imported:
    """The spec of the module SOURCE names; SpecError (one line) if it cannot be written exactly."""
    from archcost.importer import source as sources

    loaded = sources.load(source)
    shape = resolve_input(loaded.input, input_shape, source)
    return import_module(loaded.module, shape, name=name or loaded.name, title=loaded.title, reference=source)


def import_module(module: nn.Module, shape: tuple[int, ...], *, name: str, title: str, reference: str) -> Imported:
    """The spec of `module` (best on the meta device) at input `shape`; SpecError (one line) if it cannot be
    written exactly. `reference` names the module in messages and in the spec."""
    import torch

    from archcost import engine, spec
    from archcost.importer import emit, mapping, measure, structure, trace

    source = reference
    module = module.to("meta").eval()  # no-op for a module built on meta; else its weights are dropped
    torch.set_num_threads(1)
    traced = trace.trace(module, shape, source)
    graph = mapping.map_graph(traced)
    try:
        items: tuple[structure.Item, ...] | None = structure.structure(graph, source)
    except structure.NotATreeError:
        items = None  # written with the graph construct instead
    figures = measure.measure(module, shape, source)
    used = {op.module for op in graph.ops if op.module}
    notes: list[str] = []
    unused = _unused_parameters(module, used, traced)
    if unused:
        listed = ", ".join(f"{path} ({count:,})" for path, count in unused.items())
        notes.append(
            f"Not counted: parameters the forward pass never uses at inference: {listed}; "
            f"{sum(unused.values()):,} of the module's {figures.params:,}."
        )
    if items is None:
        text = emit.emit_graph(graph, name=name, title=title, reference=reference, input_shape=shape, notes=notes)
    else:
        text = emit.emit(items, name=name, title=title, reference=reference, input_shape=shape, notes=notes)
    try:
        analysis = engine.analyze(spec.load_text(text.text, f"<import {source}>"))
    except SpecError as exc:
        raise SpecError(f"the spec written for it does not load: {exc}", Location(source)) from None
    _check(graph, text, analysis, figures, sum(unused.values()), source)
    return Imported(text.text, analysis, figures, tuple(notes))


def _unused_parameters(module: object, used: set[str], traced: object) -> dict[str, int]:
    """Parameters the traced forward never reads (an auxiliary head), summed by their module's path."""
    from torch import nn

    from archcost.importer.trace import Traced

    assert isinstance(module, nn.Module) and isinstance(traced, Traced)
    read = {str(n.target) for n in traced.graph.nodes if n.op == "get_attr"}
    found: dict[str, int] = {}
    for name, p in module.named_parameters():
        owner = name.rpartition(".")[0]
        if name in read or any(owner == u or owner.startswith(f"{u}.") for u in used):
            continue
        top = owner.split(".")[0] if owner else name
        found[top] = found.get(top, 0) + p.numel()
    return found


def _check(
    graph: object, emitted: object, analysis: Analysis, figures: ModuleFigures, unused: int, source: str
) -> None:
    """The imported spec against torch, layer by layer and in total; SpecError at the first difference."""
    from archcost.importer.emit import Emitted
    from archcost.importer.mapping import Graph

    assert isinstance(graph, Graph) and isinstance(emitted, Emitted)
    by_name = {r.name: r for r in analysis.layers}
    torch_layers = {f.path: f for f in figures.layers}
    for op in graph.ops:
        layer = by_name.get(emitted.paths.get(op.id, ""))
        if layer is None:
            raise SpecError(
                f"internal: the layer for {op.what} at '{op.path}' is missing from the spec", Location(source)
            )
        if layer.output_shape != op.shape:
            raise SpecError(
                f"{op.what} at '{op.path}' gives {_dims(op.shape)} in torch but {_dims(layer.output_shape)} as "
                f"archcost's {layer.kind}",
                Location(source),
            )
        measured = torch_layers.get(op.module) if op.module else None
        if (
            measured is not None
            and measured.macs != layer.macs
            and len([o for o in graph.ops if o.module == op.module]) == 1
        ):
            raise SpecError(
                f"{op.what} at '{op.path}': {layer.macs:,} MACs as archcost's {layer.kind}, "
                f"torch counts {measured.macs:,}",
                Location(source),
            )
    totals = analysis.totals
    if totals.params + unused != figures.params:
        raise SpecError(
            f"the imported spec has {totals.params:,} parameters, the module {figures.params:,}", Location(source)
        )
    if totals.macs != figures.macs:
        raise SpecError(
            f"the imported spec has {totals.macs:,} MACs, torch counts {figures.macs:,} (FlopCounterMode / 2)",
            Location(source),
        )
    if analysis.output.output_shape != figures.output:
        raise SpecError(
            f"the imported spec ends in {_dims(analysis.output.output_shape)}, the module in {_dims(figures.output)}",
            Location(source),
        )


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


__all__ = ["Imported", "import_module", "import_source", "resolve_input"]
