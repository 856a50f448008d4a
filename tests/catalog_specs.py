"""Specs made from the layer catalog's worked examples, so that every kind's examples also run through
the loader, the engine, the torch build, fvcore and autograd with no test code of their own.

An example of a kind becomes one item named ``x`` on an input of the example's first input shape;
a merge kind's example becomes a ``parallel`` named ``x`` whose branches turn that input into each
of the example's input shapes (its merge layer is ``x.<kind>``). :func:`in_context` puts that item
after other layers, as the memory tests need (a tracked input, an input saved by an earlier layer,
an input read again later, the untracked network input).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from archcost import layers
from archcost.layers import Example, Kind, Shape

CONTEXTS = ("chain", "after_relu", "kept", "untracked")
"""Where :func:`in_context` puts an example's item (see there)."""


@dataclass(frozen=True)
class ExampleSpec:
    """An example as a spec item: the network's input, the item's YAML, the example layer's name."""

    kind: Kind
    example: Example
    input: Shape
    item: str
    layer: str

    def spec(self, body: str | None = None) -> str:
        """A whole spec with `body` (YAML list items, default: the item alone) as its layers."""
        lines = body if body is not None else f"- {self.item}\n"
        indented = "".join(f"  {line}\n" for line in lines.splitlines())
        return f"archcost: 1\nname: example\ninput: {list(self.input)}\nlayers:\n{indented}"


def _flow(args: dict[str, Any]) -> str:
    return ", ".join(f"{key}: {json.dumps(value)}" for key, value in args.items())


def _item(kind: str, args: dict[str, Any]) -> str:
    return f"{kind}: {{{_flow(args)}}}" if args else kind


def producer(source: Shape, target: Shape) -> list[str] | None:
    """Items that turn a tensor of shape `source` into one of shape `target` (None if none is known)."""
    if source == target:
        return []
    if len(source) == 3 and len(target) == 3:
        items = []
        if source[1:] != target[1:]:
            items.append(_item("adaptive_avgpool", {"output": list(target[1:])}))
        if source[0] != target[0]:
            items.append(_item("conv", {"out": target[0], "kernel": 1}))
        return items
    if len(source) == 3 and len(target) == 1:
        return ["global_avgpool", "flatten", *([] if source[0] == target[0] else [_item("linear", {"out": target[0]})])]
    if len(source) == 1 and len(target) == 1:
        return [_item("linear", {"out": target[0]})]
    return None


def example_spec(kind: Kind, example: Example) -> ExampleSpec | None:
    """`example` as a spec item; None if no generic construction reaches its inputs."""
    source = example.inputs[0]
    if not kind.merge:
        return ExampleSpec(kind, example, source, _item(kind.name, {"name": "x", **example.args}), "x")
    branches = [producer(source, shape) for shape in example.inputs]
    if any(b is None for b in branches):
        return None
    flow = ", ".join("[" + ", ".join(b or []) + "]" for b in branches)
    item = f"parallel: {{name: x, merge: {kind.name}, branches: [{flow}]}}"
    return ExampleSpec(kind, example, source, item, f"x.{kind.name}")


def examples(*, errors: bool = False) -> Iterator[tuple[Kind, int, Example]]:
    """Every kind's examples with their index: the valid ones, or with `errors` the refused ones."""
    for kind in layers.CATALOG:
        for i, example in enumerate(kind.examples):
            if bool(example.error) == errors:
                yield kind, i, example


def example_id(kind: Kind, index: int) -> str:
    return f"{kind.name}-{index}"


def _tracked(shape: Shape, name: str) -> str:
    """A layer with parameters keeping `shape`, so that autograd tracks what follows."""
    if len(shape) == 3:
        return _item("conv", {"name": name, "out": shape[0], "kernel": 3, "padding": 1})
    return _item("batchnorm", {"name": name})


def output_shape(kind: Kind, example: Example) -> Shape:
    return kind.infer(example.inputs, kind.args_of(example.args)).output


def in_context(built: ExampleSpec, context: str) -> str | None:
    """The whole spec of `built` in `context` (None where the context does not apply):

    * ``chain``: after a layer with parameters (its input tracked by autograd), read by one;
    * ``after_relu``: its input also saved by an earlier layer (a ReLU saves its output), so it
      cannot be overwritten in place;
    * ``kept``: its input read again later (by a second branch), so it cannot be overwritten either;
    * ``untracked``: on the network input, which autograd does not track.
    """
    out = output_shape(built.kind, built.example)
    # a map is read by a 1×1 conv (which saves it as it is) before the flatten: flattening a map that is a
    # non-contiguous view (a crop) copies it, which no layer's rule can see
    tail = (
        "- conv: {name: tail_conv, out: 2, kernel: 1}\n- flatten: {name: tail_flatten}\n" if len(out) == 3 else ""
    ) + "- linear: {name: tail, out: 3}\n"
    before = f"- {_tracked(built.input, 'c0')}\n"
    item = f"- {built.item}\n"
    if context == "chain":
        return built.spec(before + item + tail)
    if context == "after_relu":
        return built.spec(before + "- relu: {name: r0}\n" + item + tail)
    if context == "kept":
        if len(out) != 3 or len(built.input) != 3:
            return None
        kept = f"- parallel: {{merge: concat, branches: [[{built.item}, global_avgpool], [global_avgpool]]}}\n"
        return built.spec(before + kept + tail)
    if context == "untracked":
        return built.spec(item + tail)
    raise ValueError(context)
