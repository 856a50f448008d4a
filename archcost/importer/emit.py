"""The spec text of an imported network: the tree of :mod:`.structure` as YAML a person would edit.

Owns :func:`emit`. Layer names follow the module paths: consecutive items whose paths share their next
segment are grouped in a ``sequential`` of that name (``layer1``), a fork whose layers share one becomes
a ``residual`` or ``parallel`` of that name (``layer1.0``), and a container whose items are identical
copies named 0, 1, … becomes one item with ``repeat``. Where the tree cannot give a layer its module path
(a merge, a branch of several layers), the layer gets the nearest name the language allows; every
layer's final path is recorded in :attr:`Emitted.paths`. Pure Python: no torch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from archcost.importer.mapping import INPUT, Graph, Op
from archcost.importer.structure import MERGES, Fork, Item, Leaf, leaves
from archcost.spec import COMMON_KEYS

_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)$")

Node = dict[str, Any]
"""One spec item as data: ``{kind: {args}}`` or ``{container: {...}}``."""


@dataclass
class Emitted:
    """The spec text and, for every imported layer, the path the spec gives it."""

    text: str
    paths: dict[str, str] = field(default_factory=dict)
    """Op id → the layer's name in the spec's analysis."""


def _segments(path: str) -> list[str]:
    return [s for s in path.split(".") if s]


def _clean(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", name) or "_"
    return name if _NAME.match(name) else f"_{name}"


class _Names:
    """Names already taken in one container."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, wanted: str) -> str:
        name = _clean(wanted)
        candidate, n = name, 0
        while candidate in self.taken:
            n += 1
            candidate = _clean(f"{name}_{n}")
        self.taken.add(candidate)
        return candidate


class _Writer:
    def __init__(self) -> None:
        self.paths: dict[str, str] = {}

    def rest(self, op: Op, prefix: Sequence[str]) -> list[str]:
        parts = _segments(op.path)
        if parts[: len(prefix)] == list(prefix) and len(parts) > len(prefix):
            return parts[len(prefix) :]
        return [parts[-1]] if parts else [op.kind]

    def head(self, item: Item, prefix: Sequence[str]) -> str | None:
        """The next path segment every layer of `item` shares below `prefix` (None if they differ)."""
        ops = leaves([item]) if isinstance(item, Fork) else [item.op]
        # a merge made by a function is named after its scope: it does not decide
        named = ([op for op in ops if op is not item.merge] or ops) if isinstance(item, Fork) else ops
        heads = {self.rest(op, prefix)[0] for op in named}
        rests = [self.rest(op, prefix) for op in named]
        if len(heads) != 1 or (isinstance(item, Fork) and any(len(r) < 2 for r in rests)):
            return None
        return heads.pop()

    def chain(
        self, items: Sequence[Item], prefix: list[str], names: _Names, mod: list[str] | None = None
    ) -> list[Node]:
        """`items` placed under the spec path `prefix`; `mod` is the module path they are grouped under (the
        same, except below a container the module tree does not have: a fork's or a branch's own name)."""
        mod = prefix if mod is None else mod
        out: list[Node] = []
        i = 0
        while i < len(items):
            item = items[i]
            if isinstance(item, Leaf) and len(self.rest(item.op, mod)) == 1:
                out.append(self.leaf(item.op, prefix, names.take(self.rest(item.op, mod)[0])))
                i += 1
                continue
            head = self.head(item, mod)
            if head is None:
                assert isinstance(item, Fork)
                if _GRAPH:  # its layers are this list's own: written in it, with from
                    out.extend(self.inline(item, prefix, names, mod, out))
                else:
                    out.append(self.fork(item, (), prefix, names.take(self.rest(item.merge, mod)[-1]), mod))
                i += 1
                continue
            j = i + 1
            while j < len(items) and self.head(items[j], mod) == head:
                j += 1
            group = items[i:j]
            name = names.take(head)
            if isinstance(group[0], Fork) and all(isinstance(g, Leaf) for g in group[1:]) and _residual(group[0]):
                out.append(self.fork(group[0], group[1:], prefix, name, [*mod, head]))
            elif len(group) == 1 and isinstance(group[0], Fork):
                out.append(self.fork(group[0], (), prefix, name, [*mod, head]))
            else:
                out.append(_repeated(name, self.chain(group, [*prefix, name], _Names(), [*mod, head])))
            i = j
        return out

    def leaf(self, op: Op, prefix: Sequence[str], name: str) -> Node:
        self.paths[op.id] = ".".join([*prefix, name])
        return {op.kind: {"name": name, **op.args}}

    def fork(self, fork: Fork, post: Sequence[Item], prefix: list[str], name: str, mod: list[str]) -> Node:
        inner = [*prefix, name]
        names = _Names()
        merge = fork.merge
        if _residual(fork):
            body_i = max(range(2), key=lambda b: len(leaves(fork.branches[b])))
            body, shortcut = fork.branches[body_i], fork.branches[1 - body_i]
            content: Node = {"name": name, "layers": self.chain(body, inner, names, mod)}
            if shortcut:
                content["shortcut"] = "projection"
                content["projection"] = self.single(shortcut, inner, names, "downsample", mod)
            self.paths[merge.id] = ".".join([*inner, "add"])
            names.take("add")
            if post:
                content["post"] = self.chain(post, inner, names, mod)
            return {"residual": content}
        if _GRAPH and any(len(self.chain(b, inner, _copy(names), mod)) > 1 for b in fork.branches if b):
            return self.fork_with_from(fork, inner, name, mod)
        branches: list[Any] = []
        for i, branch in enumerate(fork.branches):
            if not branch:
                names.take(str(i))
                branches.append([])
                continue
            trial = _Names()
            trial.taken = set(names.taken)
            placed = self.chain(branch, inner, trial, mod)
            if len(placed) == 1:
                names.taken = trial.taken
                branches.append(placed[0])
            else:  # an unnamed list is named by its position
                position = names.take(str(i))
                branches.append(self.chain(branch, [*inner, position], _Names(), mod))
        self.paths[merge.id] = ".".join([*inner, merge.kind])
        return {"parallel": {"name": name, "merge": merge.kind, "branches": branches}}

    def inline(self, fork: Fork, prefix: list[str], names: _Names, mod: list[str], before: list[Node]) -> list[Node]:
        """A fork written into the current list with the graph construct: each branch's items in turn (a
        later branch's first item reads the fork's input with ``from``), then the merge naming what it
        reads. `before` is what the list holds already; the fork's input is its last item (or the list's
        input)."""
        items: list[Node] = []
        source = str(_content(before[-1])["name"]) if before else None

        def fork_input() -> Any:
            return source if source is not None else -(len(items) + 1)

        ends: list[Any] = []
        for branch in fork.branches:
            if not branch:
                ends.append(None)
                continue
            placed = self.chain(branch, prefix, names, mod)
            if items:
                _content(placed[0])["from"] = fork_input()
            items.extend(placed)
            ends.append(str(_content(placed[-1])["name"]))
        merge = names.take(_segments(fork.merge.path)[-1] if fork.merge.path else fork.merge.kind)
        refs = [end if end is not None else fork_input() for end in ends]
        items.append({fork.merge.kind: {"name": merge, "from": refs}})
        self.paths[fork.merge.id] = ".".join([*prefix, merge])
        return items

    def fork_with_from(self, fork: Fork, inner: list[str], name: str, mod: list[str]) -> Node:
        """A fork whose branches are not single items, as one list with the graph construct: each branch's
        layers in turn (a later branch's first layer reads the list's input with ``from``), then the merge
        naming the branches' last items. Unlike a parallel's unnamed branch lists, this adds no level to
        the layers' paths (``features.1.block.1.fc1`` stays that)."""
        names = _Names()
        items: list[Node] = []
        ends: list[str | None] = []
        for branch in fork.branches:
            if not branch:
                ends.append(None)
                continue
            placed = self.chain(branch, inner, names, mod)
            if items:
                _content(placed[0])["from"] = -(len(items) + 1)  # the list's input
            items.extend(placed)
            ends.append(str(_content(placed[-1])["name"]))
        merge = names.take(_segments(fork.merge.path)[-1] if fork.merge.path else fork.merge.kind)
        refs: list[Any] = [end if end is not None else -(len(items) + 1) for end in ends]
        items.append({fork.merge.kind: {"name": merge, "from": refs}})
        self.paths[fork.merge.id] = ".".join([*inner, merge])
        return {"sequential": {"name": name, "layers": items}}

    def single(self, items: Sequence[Item], prefix: list[str], names: _Names, fallback: str, mod: list[str]) -> Node:
        """`items` as one item under `prefix`: itself if it places as one, else a sequential `fallback`."""
        trial = _Names()
        trial.taken = set(names.taken)
        placed = self.chain(items, prefix, trial, mod)
        if len(placed) == 1:
            names.taken = trial.taken
            return placed[0]
        name = names.take(fallback)
        return {"sequential": {"name": name, "layers": self.chain(items, [*prefix, name], _Names(), mod)}}


def _copy(names: _Names) -> _Names:
    copy = _Names()
    copy.taken = set(names.taken)
    return copy


def _content(node: Node) -> dict[str, Any]:
    content: dict[str, Any] = next(iter(node.values()))
    return content


_GRAPH = "from" in COMMON_KEYS
"""The spec language has the graph construct (``from``, merges over named inputs)."""


def _residual(fork: Fork) -> bool:
    return fork.merge.kind == "add" and len(fork.branches) == 2


def _body(node: Node) -> str:
    """The item without its name, to compare copies."""
    ((kind, content),) = node.items()
    rest = {k: v for k, v in content.items() if k != "name"} if isinstance(content, dict) else content
    return json.dumps([kind, rest], sort_keys=True, default=str)


def _repeated(name: str, items: list[Node]) -> Node:
    """A sequential `name` of `items`; one item with `repeat` if they are identical copies named 0, 1, …"""
    names = [next(iter(n.values())).get("name") for n in items]
    if len(items) >= 2 and names == [str(i) for i in range(len(items))] and len({_body(n) for n in items}) == 1:
        ((kind, content),) = items[0].items()
        return {kind: {**content, "name": name, "repeat": len(items)}}
    return {"sequential": {"name": name, "layers": items}}


# ---------------------------------------------------------------------------- YAML text


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(value)
        text = repr(value)
        return text if any(c in text for c in ".e") else f"{text}.0"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    text = str(value)
    if _NAME.match(text) and not text.isdigit() and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def _flow(content: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in content.items()) + "}"


def _lines(items: Sequence[Any], indent: int) -> list[str]:
    """`items` as a YAML list at `indent`: a leaf on one line (flow style), a container in block style."""
    pad = " " * indent
    out: list[str] = []
    for node in items:
        if isinstance(node, list):  # a branch of several items: a list
            if node:
                out.append(f"{pad}-")
                out.extend(_lines(node, indent + 2))
            else:
                out.append(f"{pad}- []")
            continue
        first, *rest = _node(node, indent + 2)
        out.append(f"{pad}- {first.lstrip()}")
        out.extend(rest)
    return out


def _node(node: Node, indent: int) -> list[str]:
    """One item as YAML mapping lines at `indent` (no list dash)."""
    pad = " " * indent
    ((kind, content),) = node.items()
    if kind not in ("sequential", "residual", "parallel"):
        return [f"{pad}{kind}: {_flow(content)}"]
    out = [f"{pad}{kind}:"]
    inner = " " * (indent + 2)
    for key, value in content.items():
        if key in ("layers", "post", "branches"):
            out.append(f"{inner}{key}:")
            out.extend(_lines(value, indent + 4))
        elif key == "projection":
            out.append(f"{inner}projection:")
            out.extend(_node(value, indent + 4))
        else:
            out.append(f"{inner}{key}: {_scalar(value)}")
    return out


def emit_graph(
    graph: Graph,
    *,
    name: str,
    title: str,
    reference: str,
    input_shape: Sequence[int],
    notes: Sequence[str] = (),
) -> Emitted:
    """The spec of a graph that is not a tree: one flat list of layers, each reading the one before it
    unless it says otherwise with ``from`` (the spec language's graph construct); merges name their
    inputs. Names are the module paths with ``_`` for the dots (``layer1_0_conv1``)."""
    names = _Names()
    paths: dict[str, str] = {}
    position = {INPUT: -1}
    body: list[Node] = []
    previous = INPUT
    for index, op in enumerate(graph.ops):
        own = names.take(op.path.replace(".", "_") or op.kind)
        paths[op.id] = own
        position[op.id] = index

        def ref(source: str, index: int = index) -> Any:
            return paths[source] if source != INPUT else -(index + 1)

        content: dict[str, Any] = {"name": own, **op.args}
        if op.kind in MERGES:
            content["from"] = [ref(i) for i in op.inputs]
        elif op.inputs[0] != previous:
            content["from"] = ref(op.inputs[0])
        body.append({op.kind: content})
        previous = op.id
    return Emitted(_text(body, name, title, reference, input_shape, notes), paths)


def emit(
    items: Sequence[Item],
    *,
    name: str,
    title: str,
    reference: str,
    input_shape: Sequence[int],
    notes: Sequence[str] = (),
) -> Emitted:
    """The spec of `items` as YAML text, and each layer's path in it."""
    writer = _Writer()
    body = writer.chain(items, [], _Names())
    return Emitted(_text(body, name, title, reference, input_shape, notes), writer.paths)


def _text(
    body: list[Node], name: str, title: str, reference: str, input_shape: Sequence[int], notes: Sequence[str]
) -> str:
    head = [
        "# Written by `archcost import`: the figures of this spec equal the module's (docs/import.md).",
        "archcost: 1",
        f"name: {_scalar(name)}",
        f"title: {_scalar(title)}",
        f"reference: {_scalar(reference)}",
    ]
    if notes:
        head.append("notes:")
        head.extend(f"  - {json.dumps(n, ensure_ascii=False)}" for n in notes)
    head.append(f"input: {_scalar(list(input_shape))}")
    head.append("layers:")
    return "\n".join([*head, *_lines(body, 2)]) + "\n"
