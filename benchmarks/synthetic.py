"""Synthetic specs of a chosen size, for the scaling benchmark (and anyone who wants a big spec).

    python3 benchmarks/synthetic.py residual 10000 > residual-10k.yaml

Three shapes of network, each sized to about `layers` leaf layers:

* ``chain``: a flat list, one YAML item per layer (conv 1×1, relu, conv 1×1, ...), so the file
  itself is long and the loader works as hard as the engine;
* ``residual``: a stack of basic residual blocks (conv, batchnorm, relu, conv, batchnorm, add,
  relu: 7 layers each) made with ``repeat``;
* ``dense``: a DenseNet-style concatenation chain (batchnorm, relu, conv 1×1, concat: 4 layers
  each), so the channel count grows with every layer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

HEAD = "archcost: 1\nname: {name}\ntitle: synthetic {name}\n"


def chain(layers: int) -> str:
    """`layers` items, alternating conv 1×1 (16 → 16) and relu, on 16×8×8."""
    lines = [HEAD.format(name=f"chain_{layers}"), "input: [16, 8, 8]\n", "layers:\n"]
    for i in range(layers):
        lines.append("  - conv: {out: 16, kernel: 1}\n" if i % 2 == 0 else "  - relu\n")
    return "".join(lines)


RESIDUAL_LAYERS = 7


def residual(layers: int) -> str:
    """layers // 7 basic residual blocks (7 layers each) on 16×8×8, plus relus to make up the count."""
    blocks, rest = divmod(layers, RESIDUAL_LAYERS)
    text = HEAD.format(name=f"residual_{layers}") + (
        "input: [16, 8, 8]\n"
        "blocks:\n"
        "  basic:\n"
        "    params: {width: 16}\n"
        "    layers:\n"
        "      - residual:\n"
        "          layers:\n"
        "            - conv: {name: conv1, out: $width, kernel: 3, padding: 1, bias: false}\n"
        "            - batchnorm: {name: bn1}\n"
        "            - relu: {name: relu}\n"
        "            - conv: {name: conv2, out: $width, kernel: 3, padding: 1, bias: false}\n"
        "            - batchnorm: {name: bn2}\n"
        "          post: [relu: {name: relu2}]\n"
        "layers:\n"
    )
    if blocks:
        text += f"  - basic: {{name: stack, repeat: {blocks}}}\n"
    if rest:
        text += f"  - relu: {{name: tail, repeat: {rest}}}\n"
    return text


DENSE_LAYERS = 4


def dense(layers: int) -> str:
    """layers // 4 dense layers (4 layers each, growth 2 channels) on 8×4×4, plus relus to make up the count."""
    blocks, rest = divmod(layers, DENSE_LAYERS)
    text = HEAD.format(name=f"dense_{layers}") + (
        "input: [8, 4, 4]\n"
        "blocks:\n"
        "  denselayer:\n"
        "    params: {growth: 2}\n"
        "    layers:\n"
        "      - parallel:\n"
        "          merge: concat\n"
        "          branches:\n"
        "            - []\n"
        "            - [batchnorm: {name: norm}, relu: {name: relu}, conv: {name: conv, out: $growth, kernel: 1}]\n"
        "layers:\n"
    )
    if blocks:
        text += f"  - denselayer: {{name: dense, repeat: {blocks}, names: 'denselayer{{n}}'}}\n"
    if rest:
        text += f"  - relu: {{name: tail, repeat: {rest}}}\n"
    return text


SHAPES: dict[str, Callable[[int], str]] = {"chain": chain, "residual": residual, "dense": dense}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in SHAPES or not argv[1].isdigit() or int(argv[1]) < 1:
        print(f"usage: synthetic.py {{{'|'.join(SHAPES)}}} LAYERS", file=sys.stderr)
        return 2
    sys.stdout.write(SHAPES[argv[0]](int(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
