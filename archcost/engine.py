"""The engine: expands a :class:`~archcost.spec.Spec` into uniquely named leaf layers and
propagates shapes, costs and receptive fields in one pass, in execution order.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, NamedTuple, NoReturn

from archcost import expr, layers
from archcost.errors import Location, SpecError
from archcost.layers import Args, Pair, Shape
from archcost.spec import COPY, RESERVED, Block, Item, Raw, Spec, gc_paused

INPUT: Final = "input"
"""The producer name of the network input."""


@dataclass(frozen=True)
class Limits:
    """Bounds on expansion, so that a hostile spec fails fast instead of eating memory."""

    max_layers: int = 200_000
    """Leaf layers: over 200 times the largest bundled network (864); a few seconds and 200 MB to reach."""
    max_repeat: int = 100_000
    max_nesting: int = 64

    @property
    def max_steps(self) -> int:
        """Expansion steps, five per allowed layer (1,000,000): every layer, container, block call and
        repetition entered and every `when` tested, so that work which makes no layers (switched off,
        empty, repeated) is bounded too. Bundled and synthetic specs take 1 to 2.5 steps per layer."""
        return 5 * self.max_layers

    @property
    def max_name_chars(self) -> int:
        """Characters of all layer names (full dotted paths) together, 256 per allowed layer (51,200,000;
        a path 64 levels deep of three-character names is 255). Long names times repeats would otherwise
        fill the memory (a 60 KB spec asked for 9 GB)."""
        return 256 * self.max_layers


@dataclass(slots=True)
class LayerResult:
    """One leaf layer: where it sits, what it reads, its output and its costs (one sample).

    Read-only by convention, not frozen: a frozen dataclass sets each field through
    ``object.__setattr__``, which cost 7% of the analysis for one object per layer.
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    buffers: int
    macs: int
    flops: int
    activations: int
    rf: Pair
    jump: Pair
    args: Args
    loc: Location
    survival: float = 1.0
    """The probability that the layer runs in a training step: the product of the `survival` of the
    residual bodies it sits in (stochastic depth); 1 outside them. Inference runs every layer."""

    @property
    def explain(self) -> str:
        """The layer's arithmetic, lecture style: ``out = (227 - 11)/4 + 1 = 55 → 55×55×96; params = …``.

        Rendered on demand by the kind's rule, run again on the layer's input shapes and arguments:
        formatting it for every layer took a tenth of the analysis, and few callers read it.
        """
        return layers.KINDS[self.kind].infer(self.input_shapes, self.args).explain


@dataclass(frozen=True)
class Totals:
    """Sums over all leaf layers (one sample)."""

    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    activations: int = 0


@dataclass(frozen=True)
class Analysis:
    """The result of analysing a spec at one input size, batch and dtype."""

    name: str
    title: str
    input: Shape
    batch: int
    dtype: str
    settings: Mapping[str, Any]
    layers: tuple[LayerResult, ...]
    totals: Totals
    meta: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """The model parameters set by the caller (``--set``); the other settings are the spec's defaults."""

    @property
    def output(self) -> LayerResult:
        return self.layers[-1]

    @property
    def last_feature_map(self) -> LayerResult:
        """The last layer whose output is still a spatial map (H×W > 1), before global pooling."""
        maps = [r for r in self.layers if len(r.output_shape) == 3 and r.output_shape[1] * r.output_shape[2] > 1]
        return maps[-1] if maps else self.layers[-1]

    @property
    def weighted_depth(self) -> int:
        """Conv and linear layers on the longest path (the count papers call depth)."""
        depth: dict[str, int] = {INPUT: 0}
        for layer in self.layers:
            here = max(depth[i] for i in layer.inputs) + layers.KINDS[layer.kind].weighted
            depth[layer.name] = here
        return depth[self.layers[-1].name]


class _Tensor(NamedTuple):  # a tuple: made once per layer, cheaper than a frozen dataclass
    producer: str
    shape: Shape
    rf: Pair = (1, 1)
    jump: Pair = (1, 1)


class _Siblings:
    """Names already used in one container, and the index the next unnamed child gets."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.index = 0

    def claim(self, name: str | None, path: str, loc: Location) -> str:
        chosen = name if name is not None else str(self.index)
        if chosen in self.used:
            raise SpecError(
                f"two layers are named {chosen!r} here; names must be unique in their container",
                Location(loc.file, loc.line, loc.column, _join(path, chosen)),
            )
        self.used.add(chosen)
        self.index += 1
        return chosen

    def fresh(self, base: str) -> str:
        """The name of a layer archcost makes (a merge): `base`, or `base_1`, `base_2`, … if taken."""
        chosen, suffix = base, 0
        while chosen in self.used:
            suffix += 1
            chosen = f"{base}_{suffix}"
        self.used.add(chosen)
        self.index += 1
        return chosen


class _Nodes:
    """The outputs `from` can reach in one list of items: by name, and back in order (-1, -2, ...).

    A list's first output is its input (the container's, or the block call's main input); each
    item, and each copy of a repeat, adds its output. Names are looked up here, then in the
    enclosing lists up to the block or spec boundary (`parent` None): a block's body sees only its
    own items and its `inputs`.
    """

    __slots__ = ("later", "names", "outputs", "parent")

    def __init__(self, parent: _Nodes | None, first: _Tensor, names: dict[str, _Tensor] | None = None) -> None:
        self.parent = parent
        self.outputs = [first]
        self.names: dict[str, _Tensor] = names or {}
        self.later: set[str] = set()
        """Names of the list's items not made yet (a reference to one is a forward reference)."""

    def resolve(self, ref: str | int, loc: Location, path: str) -> _Tensor:
        if isinstance(ref, int):
            if -ref > len(self.outputs):
                raise SpecError(
                    f"from: {ref} reaches before the start of this list ({len(self.outputs)} earlier output"
                    f"{'s' if len(self.outputs) > 1 else ''}: the list's input and the items before this one)",
                    _placed(loc, path),
                )
            return self.outputs[ref]
        here: _Nodes | None = self
        while here is not None:
            found = here.names.get(ref)
            if found is not None:
                return found
            if ref in here.later:
                raise SpecError(
                    f"from: {ref!r} is this item or a later one: from names earlier items only (no forward "
                    "references, no cycles)",
                    _placed(loc, path),
                )
            here = here.parent
        known = ", ".join(self.visible()) or "none"
        raise SpecError(f"from: no earlier item is named {ref!r} here (known: {known})", _placed(loc, path))

    def visible(self) -> list[str]:
        out: list[str] = []
        here: _Nodes | None = self
        while here is not None:
            out += [n for n in here.names if n not in out]
            here = here.parent
        return out[:12]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Expander:
    def __init__(self, spec: Spec, model_scope: dict[str, expr.Value], limits: Limits) -> None:
        self.spec = spec
        self.model_scope = model_scope
        self.limits = limits
        self.layers: list[LayerResult] = []
        self.depth = 0
        self.steps = 0
        self.max_steps = limits.max_steps  # (read once per step: a property would compute it each time)
        self.name_chars = 0
        self.max_name_chars = limits.max_name_chars
        self.templates: dict[int, tuple[Item, _Template | None]] = {}
        """Each leaf item's :data:`_Template`, by the item's id (the item is kept, so its id stays its own)."""
        self.costs: dict[Hashable, tuple[Args, layers.Cost]] = {}
        """The arguments and costs of each layer key seen (:meth:`record`)."""
        self.survival = 1.0
        """The survival probability of the layers being recorded (residual bodies multiply it)."""
        self.whole: Pair = (1, 1)
        """The network input's extent per axis (H, W of an image; N of tokens): what attention sees."""

    # -- values

    def scope(self, local: Mapping[str, expr.Value], tensor: _Tensor) -> dict[str, expr.Value]:
        out = {**self.model_scope, **local}
        # a token's features are its channels
        out["cin"] = tensor.shape[-1] if len(tensor.shape) == 2 else tensor.shape[0]
        if len(tensor.shape) == 3:
            out["hin"], out["win"] = tensor.shape[1], tensor.shape[2]
        return out

    def value(self, raw: Raw, scope: Mapping[str, expr.Value], path: str) -> Any:
        value = raw.value
        if isinstance(value, list):
            locs = getattr(value, "locs", [raw.loc] * len(value))
            return [evaluated(v, scope, vl, path) for v, vl in zip(value, locs, strict=True)]
        return evaluated(value, scope, raw.loc, path)

    def int_value(self, raw: Raw, scope: Mapping[str, expr.Value], path: str, what: str, least: int) -> int:
        value = self.value(raw, scope, path)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise SpecError(f"{what} must be a whole number ≥ {least}, got {expr.shown(value)}", _placed(raw.loc, path))
        return value

    def probability(self, raw: Raw, scope: Mapping[str, expr.Value], path: str) -> float:
        """A residual's `survival`: a number in [0, 1], or SpecError at its place."""
        value = self.value(raw, scope, path)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not 0 <= value <= 1:  # NaN fails the comparison; a huge int is just > 1
            raise SpecError(
                f"residual: survival must be a probability in [0, 1], got {expr.shown(value)}", _placed(raw.loc, path)
            )
        return float(value)

    # -- walking

    def sequence(
        self,
        items: Sequence[Item],
        tensor: _Tensor,
        local: Mapping[str, expr.Value],
        path: str,
        siblings: _Siblings | None = None,
        nodes: _Nodes | None = None,
        parent: _Nodes | None = None,
    ) -> _Tensor:
        """Run `items` in order on `tensor`; `nodes` (or a new list under `parent`) records their outputs."""
        siblings = siblings or _Siblings()
        nodes = nodes or _Nodes(parent, tensor)
        if any(item.name is not None for item in items):
            nodes.later.update(item.name for item in items if item.name is not None)
        for item in items:
            if item.sources:
                where = _join(path, item.name) if item.name else path
                tensor = nodes.resolve(item.sources[0], item.sources_loc or item.loc, where)
            if item.when is not None and not self.present(item, tensor, local, path):
                continue
            name = siblings.claim(item.name, path, item.loc)
            tensor = self.item(item, tensor, local, _join(path, name), nodes)
            if item.name is not None:
                nodes.later.discard(item.name)
                nodes.names[item.name] = tensor
        return tensor

    def step(self, loc: Location, path: str) -> None:
        """Count one expansion step against the limit (see :attr:`Limits.max_steps`)."""
        self.steps += 1
        if self.steps > self.max_steps:
            self.too_many_steps(loc, path)

    def too_many_steps(self, loc: Location, path: str) -> NoReturn:
        """SpecError: the step limit is reached (at `loc`, in layer `path`)."""
        raise SpecError(
            f"the spec takes more than {self.max_steps:,} expansion steps (layers, blocks, repeats"
            " and `when` tests, including those that make no layer)",
            _placed(loc, path),
        )

    def present(self, item: Item, tensor: _Tensor, local: Mapping[str, expr.Value], path: str) -> bool:
        """False when the item's `when` condition says it is not emitted."""
        if item.when is None:
            return True
        self.step(item.when.loc, path)
        cond = self.value(item.when, self.scope(local, tensor), path)
        if not isinstance(cond, bool):
            raise SpecError(
                f"when must be true or false, got {cond!r}", _placed(item.when.loc, path or item.name or "")
            )
        return cond

    def inputs(self, item: Item, tensor: _Tensor, nodes: _Nodes, path: str) -> list[_Tensor]:
        """The tensors `item` reads: its `from` references resolved in `nodes`, else `tensor`."""
        if not item.sources:
            return [tensor]
        loc = item.sources_loc or item.loc
        return [nodes.resolve(ref, loc, path) for ref in item.sources]

    def item(self, item: Item, tensor: _Tensor, local: Mapping[str, expr.Value], path: str, nodes: _Nodes) -> _Tensor:
        """Make `item` (every copy if repeated), each copy reading its `from` anew; record the outputs in `nodes`."""
        if item.repeat is None:
            out = self.single(item, self.inputs(item, tensor, nodes, path), local, path, nodes)
            nodes.outputs.append(out)
            return out
        count = self.int_value(item.repeat, self.scope(local, tensor), path, "repeat", 1)
        if count > self.limits.max_repeat:
            raise SpecError(
                f"repeat {_count(count)} is more than the limit of {self.limits.max_repeat:,}",
                _placed(item.repeat.loc, path),
            )
        plain = replace(item, repeat=None, first={}, names=None)
        first = replace(plain, args={**item.args, **item.first})
        for i in range(count):
            child = _join(path, item.names.format(i=i, n=i + 1) if item.names else str(i))
            ins = self.inputs(item, tensor, nodes, child) if i else self.inputs(item, tensor, nodes, path)
            tensor = self.single(first if i == 0 else plain, ins, {**local, COPY: i}, child, nodes)
            nodes.outputs.append(tensor)
        return tensor

    def single(
        self, item: Item, ins: list[_Tensor], local: Mapping[str, expr.Value], path: str, nodes: _Nodes
    ) -> _Tensor:
        """Make one copy of `item` on its inputs `ins` (several only for a merge or a block with `inputs`)."""
        tensor = ins[0]
        self.steps += 1  # (self.step inlined: this runs once per layer, container and copy)
        if self.steps > self.max_steps:
            self.too_many_steps(item.loc, path)
        self.depth += 1
        if self.depth > self.limits.max_nesting:
            raise SpecError(f"layers nest deeper than {self.limits.max_nesting} levels", _placed(item.loc, path))
        try:
            if item.kind == "sequential":
                return self.sequence(item.layers, tensor, local, path, parent=nodes)
            if item.kind == "parallel":
                return self.parallel(item, tensor, local, path, _Siblings(), nodes)
            if item.kind == "residual":
                return self.residual(item, tensor, local, path, _Siblings(), nodes)
            block = self.spec.blocks.get(item.kind)
            if block is not None:
                return self.block(block, item, ins, local, path)
            if len(ins) > 1:
                return self.record(item.kind, ins, {}, path, item.loc)
            return self.leaf(item, tensor, local, path)
        finally:
            self.depth -= 1

    def parallel(
        self,
        item: Item,
        tensor: _Tensor,
        local: Mapping[str, expr.Value],
        path: str,
        siblings: _Siblings,
        nodes: _Nodes,
    ) -> _Tensor:
        outs = []
        for branch in item.branches:
            own = _Nodes(nodes, tensor)  # each branch starts from the parallel's input
            start = own.resolve(branch.sources[0], branch.sources_loc or branch.loc, path) if branch.sources else tensor
            if not self.present(branch, start, local, path):
                continue
            name = siblings.claim(branch.name, path, branch.loc)
            outs.append(self.item(branch, tensor, local, _join(path, name), own))
        if not outs:
            raise SpecError("every branch of this parallel is switched off by its `when`", _placed(item.loc, path))
        merge = str(item.args["merge"].value)
        return self.merge(merge, outs, siblings.fresh(merge), path, item.loc)

    def residual(
        self,
        item: Item,
        tensor: _Tensor,
        local: Mapping[str, expr.Value],
        path: str,
        siblings: _Siblings,
        nodes: _Nodes,
    ) -> _Tensor:
        outer = self.survival
        survival = item.args.get("survival")
        if survival is not None:
            self.survival = outer * self.probability(survival, self.scope(local, tensor), path)
        try:
            body = self.sequence(item.layers, tensor, local, path, siblings, parent=nodes)
        finally:
            self.survival = outer
        mode = str(item.args["shortcut"].value)
        match = body.shape == tensor.shape
        skip: _Tensor | None = tensor
        projection = item.projection
        if projection is not None and not self.present(projection[0], tensor, local, path):
            projection = None
        if mode == "projection" or (mode == "auto" and not match):
            if projection is None:
                raise SpecError(
                    f"the residual's body turns {_shape(tensor.shape)} into {_shape(body.shape)}: give a projection"
                    " (e.g. a 1×1 conv with the body's stride) or use shortcut: optional",
                    _placed(item.loc, path),
                )
            proj = projection[0]
            name = siblings.claim(proj.name or "downsample", path, proj.loc)
            skip = self.item(replace(proj, name=None), tensor, local, _join(path, name), _Nodes(nodes, tensor))
        elif mode == "identity" and not match:
            raise SpecError(
                "shortcut: identity needs the body to keep the shape, "
                f"but it turns {_shape(tensor.shape)} into {_shape(body.shape)}",
                _placed(item.loc, path),
            )
        elif mode == "optional" and not match:
            skip = None
        out = body
        if skip is not None:
            out = self.merge("add", [body, skip], siblings.fresh("add"), path, item.loc)
        return self.sequence(item.post, out, local, path, siblings, parent=nodes)

    def block(
        self, block: Block, item: Item, ins: list[_Tensor], local: Mapping[str, expr.Value], path: str
    ) -> _Tensor:
        tensor = ins[0]
        caller = _LazyScope(self, local, tensor)
        own = _LazyScope(self, {}, tensor)  # the block's scope as it fills: defaults and lets see earlier ones
        inner: dict[str, expr.Value] = {}
        for pname, default in block.params.items():
            given = item.args.get(pname)
            if given is not None:
                value = self.value(given, caller, path)
            elif default is not None:
                value = self.value(default, own, path)
            else:
                raise SpecError(f"block {block.name!r} needs the argument {pname!r}", _placed(item.loc, path))
            inner[pname] = own[pname] = value
        for lname, raw in block.let.items():
            inner[lname] = own[lname] = self.value(raw, own, path)
        body = block.layers
        # the body sees its own items and the call's inputs by the names the block gives them, nothing outside
        nodes = _Nodes(None, tensor, dict(zip(block.inputs, ins, strict=False)))
        if all(
            b.kind in ("parallel", "residual", "sequential")
            and b.name is None
            and b.repeat is None
            and b.when is None
            and not b.sources
            for b in body
        ):
            # the containers are the block itself: their children share the block's path and positions
            # (a ViT encoder block is two residuals whose layers are ln_1, self_attention, ln_2, mlp)
            siblings = _Siblings()
            for container in body:
                tensor = self.inline(container, tensor, inner, path, siblings, nodes)
                nodes.outputs.append(tensor)
            return tensor
        return self.sequence(body, tensor, inner, path, nodes=nodes)

    def inline(
        self,
        item: Item,
        tensor: _Tensor,
        local: Mapping[str, expr.Value],
        path: str,
        siblings: _Siblings,
        nodes: _Nodes,
    ) -> _Tensor:
        """A container whose children are named in `path`, sharing `siblings` with the containers around it."""
        self.steps += 1
        if self.steps > self.max_steps:
            self.too_many_steps(item.loc, path)
        self.depth += 1
        if self.depth > self.limits.max_nesting:
            raise SpecError(f"layers nest deeper than {self.limits.max_nesting} levels", _placed(item.loc, path))
        try:
            if item.kind == "sequential":
                return self.sequence(item.layers, tensor, local, path, siblings, parent=nodes)
            if item.kind == "parallel":
                return self.parallel(item, tensor, local, path, siblings, nodes)
            return self.residual(item, tensor, local, path, siblings, nodes)
        finally:
            self.depth -= 1

    def leaf(self, item: Item, tensor: _Tensor, local: Mapping[str, expr.Value], path: str) -> _Tensor:
        kept = self.templates.get(id(item))
        if kept is None or kept[0] is not item:
            kept = self.templates[id(item)] = (item, _template(item))
        template = kept[1]
        if template is None:  # a literal argument is wrong: the plain loop reports the first error in order
            return self.record(item.kind, [tensor], self.arguments(item, tensor, local, path), path, item.loc)
        fixed, given = template
        if not given:
            return self.record(item.kind, [tensor], fixed, path, item.loc, (id(item), tensor.shape))
        values = dict(fixed)
        scope = self.scope(local, tensor)
        for arg, raw in given:
            values[arg.name] = self.argument(item, arg, raw, scope, path)
        found = tuple(values[arg.name] for arg, _ in given)
        key = (id(item), tensor.shape, found, tuple(map(type, found)))
        return self.record(item.kind, [tensor], values, path, item.loc, key)

    def arguments(self, item: Item, tensor: _Tensor, local: Mapping[str, expr.Value], path: str) -> dict[str, Any]:
        """`item`'s arguments in normal form, in the kind's order; SpecError at the first that is wrong."""
        kind = layers.KINDS[item.kind]
        scope: dict[str, expr.Value] | None = None  # built for the first argument that is an expression
        values: dict[str, Any] = {}
        for arg in kind.args:
            raw = item.args.get(arg.name)
            if raw is None:
                try:
                    values[arg.name] = arg.normal_default
                except ValueError as exc:
                    raise SpecError(f"{item.kind}: {exc}", _placed(item.loc, path)) from None
                continue
            worked_out = _is_given(raw)
            if worked_out and scope is None:
                scope = self.scope(local, tensor)
            values[arg.name] = self.argument(item, arg, raw, scope if worked_out else None, path)
        return values

    def argument(self, item: Item, arg: layers.Arg, raw: Raw, scope: Mapping[str, expr.Value] | None, path: str) -> Any:
        """One argument given in the spec, in normal form: a literal, or (given a `scope`) worked out in it."""
        try:
            value = layers.coerce(arg, raw.value if scope is None else self.value(raw, scope, path))
        except ValueError as exc:
            raise SpecError(f"{item.kind}: {exc}", _placed(raw.loc, path)) from None
        if _too_large(value):
            raise SpecError(f"{item.kind}: {arg.name} is larger than {_LARGEST}", _placed(raw.loc, path))
        return value

    def merge(self, kind: str, ins: list[_Tensor], name: str, path: str, loc: Location) -> _Tensor:
        key = (kind, tuple(i.shape for i in ins))
        return self.record(kind, ins, {}, _join(path, name), loc, key)

    def record(
        self,
        kind_name: str,
        ins: list[_Tensor],
        values: dict[str, Any],
        path: str,
        loc: Location,
        key: Hashable | None = None,
    ) -> _Tensor:
        """Add one leaf layer. `key` names its arguments and input shapes: a layer with a key seen
        before shares that layer's arguments and costs (the kind's rule is a pure function of them)."""
        if len(self.layers) >= self.limits.max_layers:
            raise SpecError(f"the spec expands to more than {self.limits.max_layers:,} layers", _placed(loc, path))
        self.name_chars += len(path)
        if self.name_chars > self.max_name_chars:
            raise SpecError(
                f"the layer names together are longer than {self.limits.max_name_chars:,} characters:"
                " shorten the names of repeated layers and blocks",
                _placed(loc, _short_path(path)),
            )
        inputs: tuple[str, ...]
        shapes: tuple[Shape, ...]
        if len(ins) == 1:
            inputs, shapes = (ins[0].producer,), (ins[0].shape,)
        else:
            inputs, shapes = tuple(i.producer for i in ins), tuple(i.shape for i in ins)
        known = None if key is None else self.costs.get(key)
        if known is None:
            known = self.cost(kind_name, shapes, values, path, loc)
            if key is not None:
                self.costs[key] = known
        args, cost = known
        output = cost.output
        rf, jump = _receptive_field(ins, cost, self.whole)
        # by position, in LayerResult's field order: 2.5 times quicker than by keyword, once per layer
        layer = LayerResult(
            path,
            kind_name,
            inputs,
            shapes,
            output,
            cost.params,
            cost.buffers,
            cost.macs,
            cost.flops,
            math.prod(output),
            rf,
            jump,
            args,
            loc,
            self.survival,
        )
        self.layers.append(layer)
        return _Tensor(path, output, rf, jump)

    def cost(
        self, kind_name: str, shapes: tuple[Shape, ...], values: dict[str, Any], path: str, loc: Location
    ) -> tuple[Args, layers.Cost]:
        """The kind's rule on `shapes` and `values`; SpecError at `loc` for what it refuses."""
        try:
            args = Args(values)
            cost = layers.KINDS[kind_name].infer(shapes, args)
        except layers.ShapeError as exc:
            raise SpecError(f"{kind_name}: {exc}", _placed(loc, path)) from None
        if min(cost.output, default=1) <= 0:
            raise SpecError(f"{kind_name}: the output {_shape(cost.output)} has a size ≤ 0", _placed(loc, path))
        return args, cost


def _is_given(raw: Raw) -> bool:
    """Whether an argument's value is worked out per layer: an expression, or a list (of expressions)."""
    value = raw.value
    return isinstance(value, list) or (isinstance(value, str) and expr.is_expression(value))


_Template = tuple[dict[str, Any], tuple[tuple[layers.Arg, Raw], ...]]
"""A leaf item's arguments: those fixed in the spec (defaults and literals) in normal form, in the
kind's order, and those worked out per layer (expressions, lists), with their raw values."""


def _template(item: Item) -> _Template | None:
    """`item`'s :data:`_Template`, made once per item; None if a fixed argument is wrong (the
    plain loop, :meth:`_Expander.arguments`, then says which, at its place and in order)."""
    fixed: dict[str, Any] = {}
    given: list[tuple[layers.Arg, Raw]] = []
    for arg in layers.KINDS[item.kind].args:
        raw = item.args.get(arg.name)
        try:
            if raw is None:
                fixed[arg.name] = arg.normal_default
            elif _is_given(raw):
                fixed[arg.name] = None  # (a place in the kind's order, filled per layer)
                given.append((arg, raw))
            else:
                value = layers.coerce(arg, raw.value)
                if _too_large(value):
                    return None
                fixed[arg.name] = value
        except ValueError:
            return None
    return fixed, tuple(given)


def _receptive_field(ins: list[_Tensor], cost: layers.Cost, whole: Pair) -> tuple[Pair, Pair]:
    if len(ins) == 1:
        rf, jump = ins[0].rf, ins[0].jump
    else:
        spatial = [i for i in ins if len(i.shape) != 3 or i.shape[1:] == cost.output[1:]]
        ins = spatial or ins  # a broadcast C×1×1 gate (squeeze-and-excitation) does not move the spatial path
        rf = (max(i.rf[0] for i in ins), max(i.rf[1] for i in ins))
        jump = (max(i.jump[0] for i in ins), max(i.jump[1] for i in ins))
    if cost.kernel is None and len(ins[0].shape) == 2:  # every token sees every token: the whole input
        return (max(rf[0], whole[0]), max(rf[1], whole[1])), jump
    if cost.kernel is None:  # sees the whole map
        shape_in = ins[0].shape
        kernel = (shape_in[1], shape_in[2]) if len(shape_in) == 3 else (1, 1)
        stride = kernel
    else:
        kernel, stride = cost.kernel, cost.stride
    up = cost.upscale
    if up == (1, 1):
        rf = (rf[0] + (kernel[0] - 1) * jump[0], rf[1] + (kernel[1] - 1) * jump[1])
        return rf, (jump[0] * stride[0], jump[1] * stride[1])
    return _upsampled(rf, jump, kernel, stride, up)


def _upsampled(rf: Pair, jump: Pair, kernel: Pair, stride: Pair, up: Pair) -> tuple[Pair, Pair]:
    """An upsampling layer's field and jump, an upper bound (layers/resample.py derives it): on an axis it
    refines by u, the jump becomes ⌈jump/u⌉ and the kernel (in output pixels) is counted at that jump."""
    out_rf, out_jump = [], []
    for a in (0, 1):
        if up[a] == 1:
            out_rf.append(rf[a] + (kernel[a] - 1) * jump[a])
            out_jump.append(jump[a] * stride[a])
        else:
            fine = -(-jump[a] * stride[a] // up[a])
            out_rf.append(rf[a] + (kernel[a] - 1) * fine)
            out_jump.append(fine)
    return (out_rf[0], out_rf[1]), (out_jump[0], out_jump[1])


_LARGEST: Final = "10^30"


def _too_large(value: Any) -> bool:
    """A whole number (or one in a tuple) beyond expr.MAX_MAGNITUDE, as a YAML literal can be.

    Sizes are bounded so that every figure (products of a few sizes) stays a modest exact integer:
    Python refuses to print integers of more than 4,300 digits.
    """
    if type(value) is int:  # the usual case first
        return value > expr.MAX_MAGNITUDE
    if isinstance(value, tuple):
        return any(isinstance(v, int) and v > expr.MAX_MAGNITUDE for v in value)
    return isinstance(value, int) and value > expr.MAX_MAGNITUDE


def evaluated(
    value: Any, scope: Mapping[str, expr.Value], loc: Location, path: str = "", context: str | None = None
) -> Any:
    """`value` itself, or its value in `scope` if it is an expression: the one place expressions are
    evaluated. SpecError at `loc` (in layer `path`) if it fails, saying `context` first (by default,
    which expression)."""
    if isinstance(value, str) and expr.is_expression(value):
        try:
            return expr.evaluate(value, scope)
        except expr.ExprError as exc:
            raise SpecError(f"{context or f'in {value!r}'}: {exc}", _placed(loc, path)) from None
    return value


class _LazyScope(Mapping[str, expr.Value]):
    """The names an expression sees (:meth:`_Expander.scope`), built only when an expression reads one.

    Most block arguments are literals, so most calls never build it. Names set on it (a block's
    parameters and lets, in order) go on top of the scope, as ``scope(inner, tensor)`` would put them.
    """

    __slots__ = ("added", "built", "expander", "local", "tensor")

    def __init__(self, expander: _Expander, local: Mapping[str, expr.Value], tensor: _Tensor) -> None:
        self.expander, self.local, self.tensor = expander, local, tensor
        self.added: dict[str, expr.Value] = {}
        self.built: dict[str, expr.Value] | None = None

    def _scope(self) -> dict[str, expr.Value]:
        if self.built is None:
            self.built = self.expander.scope({**self.local, **self.added}, self.tensor)
        return self.built

    def __setitem__(self, key: str, value: expr.Value) -> None:
        self.added[key] = value
        if self.built is not None:
            self.built[key] = value

    def __getitem__(self, key: str) -> expr.Value:
        return self._scope()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._scope()

    def __iter__(self) -> Iterator[str]:
        return iter(self._scope())

    def __len__(self) -> int:
        return len(self._scope())


def _placed(loc: Location, path: str) -> Location:
    """`loc` with the layer path the error is about."""
    return Location(loc.file, loc.line, loc.column, path)


def _count(value: int) -> str:
    """A whole number with thousands separators, or by its size alone beyond 10^30 (see :func:`expr.shown`)."""
    return f"{value:,}" if abs(value) <= expr.MAX_MAGNITUDE else expr.shown(value)


def _short_path(path: str, limit: int = 120) -> str:
    """A layer path cut in the middle if long (an error message stays one readable line)."""
    return path if len(path) <= limit else f"{path[: limit // 2]}…{path[-limit // 2 :]}"


def _shape(s: Shape) -> str:
    return "×".join(map(str, s))


def model_scope(spec: Spec, overrides: Mapping[str, expr.Value]) -> dict[str, expr.Value]:
    """Model parameters: defaults in order (each may use earlier ones), with `overrides` applied."""
    unknown = sorted(set(overrides) - set(spec.params))
    if unknown:
        known = ", ".join(spec.params) or "none"
        raise SpecError(
            f"--set {unknown[0]}: the spec has no parameter {unknown[0]!r} (its parameters: {known})",
            Location(spec.file),
        )
    scope: dict[str, expr.Value] = {}
    for name, raw in spec.params.items():
        if name in overrides:
            scope[name] = overrides[name]
            continue
        if isinstance(raw.value, list):
            raise SpecError(f"parameter {name!r} must be a single value", raw.loc)
        value = evaluated(raw.value, scope, raw.loc, context=f"parameter {name!r}")
        if value is None:
            raise SpecError(f"parameter {name!r} needs a default value", raw.loc)
        scope[name] = value
    return scope


def input_shape(spec: Spec, scope: Mapping[str, expr.Value]) -> Shape:
    """The spec's input shape evaluated in the model scope."""
    dims = []
    for raw in spec.input:
        value = evaluated(raw.value, scope, raw.loc, context="input")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SpecError(f"input sizes must be whole numbers ≥ 1, got {expr.shown(value)}", raw.loc)
        if _too_large(value):
            raise SpecError(f"input sizes must be at most {_LARGEST}", raw.loc)
        dims.append(value)
    return tuple(dims)


def analyze(
    spec: Spec,
    *,
    overrides: Mapping[str, expr.Value] | None = None,
    input_override: Shape | None = None,
    batch: int = 1,
    dtype: str = "fp32",
    limits: Limits | None = None,
) -> Analysis:
    """Expand `spec` and compute every layer's shape and costs; SpecError on bad input."""
    for reserved in RESERVED:
        if reserved in spec.params:
            raise SpecError(
                f"{reserved!r} is reserved (the current input) and cannot be a parameter", spec.params[reserved].loc
            )
    scope = model_scope(spec, overrides or {})
    shape_in = input_override or input_shape(spec, scope)
    if _too_large(shape_in):
        raise SpecError(f"input sizes must be at most {_LARGEST}", Location("--input"))
    expander = _Expander(spec, scope, limits or Limits())
    expander.whole = (shape_in[1], shape_in[2]) if len(shape_in) == 3 else (shape_in[0], shape_in[0])
    with gc_paused():
        expander.sequence(spec.layers, _Tensor(INPUT, shape_in), {}, "", nodes=_Nodes(None, _Tensor(INPUT, shape_in)))
    if not expander.layers:
        raise SpecError("the spec has no layers once its `when` conditions are applied", spec.layers[0].loc)
    result = tuple(expander.layers)
    totals = Totals(
        params=sum(r.params for r in result),
        buffers=sum(r.buffers for r in result),
        macs=sum(r.macs for r in result),
        flops=sum(r.flops for r in result),
        activations=sum(r.activations for r in result),
    )
    return Analysis(
        name=spec.name,
        title=spec.title,
        input=shape_in,
        batch=batch,
        dtype=dtype,
        settings=scope,
        layers=result,
        totals=totals,
        meta=spec.meta,
        overrides=dict(overrides or {}),
    )


def _power(option: str, factor: float, phi: int) -> float:
    """`factor` ** `phi`; SpecError naming `option` when that is beyond a float or not a real number."""
    try:
        value = factor**phi
    except (OverflowError, ZeroDivisionError):
        value = math.inf
    if not isinstance(value, float | int) or not math.isfinite(value):
        raise SpecError(f"{option} {factor:g}: {factor:g}^{phi} is beyond a float's range (±1.8e308)", Location(option))
    return float(value)


@dataclass(frozen=True)
class ScaleStep:
    """One compound-scaling step: the multipliers and the settings they give."""

    phi: int
    depth: float
    width: float
    resolution: int | None
    settings: Mapping[str, Any]


def compound_scaling(spec: Spec, phis: Sequence[int], alpha: float, beta: float, gamma: float) -> list[ScaleStep]:
    """EfficientNet's rule: depth × alpha^phi, width × beta^phi, resolution × gamma^phi (rounded).

    The spec's ``scaling:`` section names the parameters; their defaults are the φ = 0 values.
    """
    scaling: Mapping[str, str] = spec.meta.get("scaling", {})
    if not scaling:
        raise SpecError(
            f"{spec.name} does not declare how it scales: add `scaling: {{width: ..., depth: ..., resolution: ...}}`",
            Location(spec.file),
        )
    scope = model_scope(spec, {})
    base: dict[str, float] = {}
    for key, pname in scaling.items():
        value = scope[pname]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SpecError(
                f"scaling.{key}: parameter {pname!r} is not a number, got {value!r}", spec.params[pname].loc
            )
        base[pname] = value
    options = {"depth": ("--alpha", alpha), "width": ("--beta", beta), "resolution": ("--gamma", gamma)}
    steps = []
    for phi in phis:
        factors = {key: _power(option, base_factor, phi) for key, (option, base_factor) in options.items()}
        settings: dict[str, Any] = {}
        for key, pname in scaling.items():
            scaled = base[pname] * factors[key]
            if not math.isfinite(scaled) or abs(scaled) > expr.MAX_MAGNITUDE:
                option, base_factor = options[key]
                raise SpecError(
                    f"{option} {base_factor:g}: {pname} × {base_factor:g}^{phi} is beyond 10^30", Location(option)
                )
            settings[pname] = round(scaled) if key == "resolution" else scaled
        resolution = settings.get(scaling.get("resolution", ""))
        steps.append(ScaleStep(phi, factors["depth"], factors["width"], resolution, settings))
    return steps
