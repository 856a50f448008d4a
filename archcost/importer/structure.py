"""The data flow of an imported graph as the spec language's tree: chains, and forks that meet again
in one merge (a residual, or a parallel with concat, add or multiply).

Owns :func:`structure`: a series-parallel reading of the graph from its input to its output. At a
tensor read by several layers it finds the first layer where every path from that tensor meets (the
merge), reads each of the merge's inputs back to the fork as a branch, and goes on from the merge. A
graph that is not such a tree (a tensor read again after its branch has merged, branches that share
a layer) is refused with one line naming the layer; :func:`reassociate` first rewrites concatenations
of a growing list (DenseNet's ``torch.cat(features)``) into a chain of two-way concatenations, which
is a tree. Pure Python: no torch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from archcost.errors import Location, SpecError
from archcost.importer.mapping import INPUT, Graph, Op


class NotATreeError(SpecError):
    """The data flow cannot be written with sequential, parallel and residual containers."""


@dataclass(frozen=True)
class Leaf:
    """One layer in a chain."""

    op: Op


@dataclass(frozen=True)
class Fork:
    """Branches from one tensor that meet in `merge`; a branch is a chain, empty for the tensor itself."""

    merge: Op
    branches: tuple[tuple[Item, ...], ...] = field(default=())


Item = Leaf | Fork

MERGES = frozenset({"add", "multiply", "concat"})


def reassociate(graph: Graph) -> None:
    """Rewrite ``cat(a, b, c)`` as ``cat(cat(a, b), c)`` where ``cat(a, b)`` is already a layer (in place)."""
    seen: dict[tuple[str, ...], str] = {}
    for op in graph.ops:
        if op.kind != "concat":
            continue
        original = op.inputs
        for cut in range(len(op.inputs) - 1, 1, -1):
            earlier = seen.get(op.inputs[:cut])
            if earlier is not None:
                op.inputs = (earlier, *op.inputs[cut:])
                break
        seen.setdefault(original, op.id)


class _Reader:
    def __init__(self, graph: Graph, source: str) -> None:
        self.ops = {op.id: op for op in graph.ops}
        self.order = {INPUT: -1, **{op.id: i for i, op in enumerate(graph.ops)}}
        self.sequence = [op.id for op in graph.ops]
        self.users: dict[str, list[str]] = {INPUT: []}
        for op in graph.ops:
            self.users.setdefault(op.id, [])
            for i in op.inputs:
                self.users[i].append(op.id)
        self.source = source
        for op in graph.ops:
            if not self.users[op.id] and op.id != graph.output:
                raise self.refuse(op, "its result is never used (so its cost would not count)")

    def refuse(self, op: Op, why: str) -> NotATreeError:
        return NotATreeError(f"cannot import {op.what} at '{op.path}': {why}", Location(self.source))

    def not_a_tree(self, op: Op) -> NotATreeError:
        return self.refuse(
            op,
            "the data flow there is not a tree of sequential, parallel and residual containers (a tensor is read "
            "again after its branch has merged); archcost's spec language cannot write it yet",
        )

    def chain(self, cur: str, end: str, allowed: set[str] | None) -> tuple[Item, ...]:
        items: list[Item] = []
        while cur != end:
            outs = [u for u in self.users[cur] if allowed is None or u in allowed]
            if not outs:
                raise self.refuse(self.ops[cur], "the branch from it ends before its merge")
            if len(outs) == 1 and len(self.ops[outs[0]].inputs) == 1:
                cur = outs[0]
                items.append(Leaf(self.ops[cur]))
                continue
            join, region = self.join(cur, len(outs), allowed)
            merge = self.ops[join]
            if merge.kind not in MERGES:
                raise self.not_a_tree(merge)
            branches: list[tuple[Item, ...]] = []
            taken: set[str] = set()
            for source in merge.inputs:
                if source == cur:
                    branches.append(())
                    continue
                part = self.ancestors(source, region)
                if part & taken:
                    raise self.not_a_tree(merge)
                taken |= part
                branches.append(self.chain(cur, source, part))
            if taken != region:
                raise self.not_a_tree(merge)
            items.append(Fork(merge, tuple(branches)))
            cur = join
        return tuple(items)

    def join(self, cur: str, edges: int, allowed: set[str] | None) -> tuple[str, set[str]]:
        """The first layer every path from `cur` passes through, and the layers strictly between."""
        reach = {cur}
        open_edges = edges
        for node in self.sequence[self.order[cur] + 1 :]:
            if allowed is not None and node not in allowed:
                continue
            op = self.ops[node]
            k = sum(1 for i in op.inputs if i in reach)
            if not k:
                continue
            if k != len(op.inputs):
                raise self.not_a_tree(op)
            reach.add(node)
            open_edges -= k
            if open_edges == 0:
                return node, reach - {cur, node}
            open_edges += sum(1 for u in self.users[node] if allowed is None or u in allowed)
        raise self.not_a_tree(self.ops[self.users[cur][0]])

    def ancestors(self, node: str, region: set[str]) -> set[str]:
        found = {node}
        todo = [node]
        while todo:
            for i in self.ops[todo.pop()].inputs:
                if i in region and i not in found:
                    found.add(i)
                    todo.append(i)
        return found


def structure(graph: Graph, source: str) -> tuple[Item, ...]:
    """The graph's layers as a chain of leaves and forks; NotATreeError (one line) if it has no such reading."""
    reassociate(graph)
    return _Reader(graph, source).chain(INPUT, graph.output, None)


def leaves(items: Iterable[Item]) -> list[Op]:
    """Every layer of `items`, merges included, in the order the spec runs them."""
    found: list[Op] = []
    for item in items:
        if isinstance(item, Leaf):
            found.append(item.op)
        else:
            for branch in item.branches:
                found.extend(leaves(branch))
            found.append(item.merge)
    return found
