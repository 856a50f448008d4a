"""The merge kinds, which combine the outputs of a `parallel`'s branches, a `residual`'s body and
shortcut, or the items a `from:` names: channel concatenation, element-wise sum, product and mean."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcost.layers.base import Args, Cost, Example, Kind, Saved, Shape, ShapeError, prod
from archcost.units import exact, shape

if TYPE_CHECKING:
    import torch
    from torch import nn

_NOTE = (
    "**Merges.** `concat` copies: 0. `add` sums `inputs` tensors: inputs − 1 adds per output element (a "
    "residual: one per element). `multiply` likewise, counted on the output: a C×1×1 gate broadcast over C×H×W "
    "costs C·H·W multiplies. `mean` adds its inputs and divides once: inputs FLOPs per element (inputs − 1 adds, "
    "1 divide). Merge layers have outputs and therefore activations."
)


def _uncounted(op: str) -> str:
    return f"0: {op} is not among fvcore's counted operators (listed by unsupported_ops())"


# ---------------------------------------------------------------------------- concat


def _concat(ins: tuple[Shape, ...], args: Args) -> Cost:
    spatial = {s[1:] for s in ins}
    if any(len(s) != 3 for s in ins) or len(spatial) > 1:
        raise ShapeError("concat needs feature maps of the same H×W; got " + ", ".join(shape(s) for s in ins))
    channels = sum(s[0] for s in ins)

    def explain() -> str:
        parts = " + ".join(str(s[0]) for s in ins)
        return f"channels {parts} = {channels}"

    return Cost(output=(channels, *ins[0][1:]), explainer=explain)


def _concat_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    import torch

    from archcost.layers.torch_modules import Op

    def concat(*xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)

    return Op("concat", concat)


CONCAT = Kind(
    "concat",
    "channel concatenation (the merge of a parallel)",
    (),
    _concat,
    flops_rule="0",
    note=_NOTE,
    merge=True,
    fvcore_rule="0: fvcore ignores aten::cat (in its _IGNORED_OPS)",
    torch=_concat_torch,
    examples=(
        Example(
            ((64, 28, 28), (128, 28, 28), (32, 28, 28), (32, 28, 28)),
            output=(64 + 128 + 32 + 32, 28, 28),
            explain="channels 64 + 128 + 32 + 32 = 256",
            note="GoogLeNet's inception (3a)",
        ),
        Example(((8, 28, 28), (8, 14, 14)), error="same H×W"),
        Example(((8, 28, 28), (8,)), error="same H×W"),
    ),
)

# ---------------------------------------------------------------------------- add


def _add(ins: tuple[Shape, ...], args: Args) -> Cost:
    if len(set(ins)) > 1:
        raise ShapeError("add needs inputs of the same shape; got " + ", ".join(shape(s) for s in ins))
    elems = prod(ins[0])
    return Cost(
        output=ins[0],
        flops=(len(ins) - 1) * elems,
        explainer=lambda: f"FLOPs = {len(ins) - 1}·{exact(elems)} additions",
    )


def _add_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_modules import Op

    def add(*xs: torch.Tensor) -> torch.Tensor:
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total

    def add_in_place(*xs: torch.Tensor) -> torch.Tensor:  # `out += identity`, as torchvision's ResNet
        total = xs[0]
        for x in xs[1:]:
            total += x
        return total

    return Op("add", add_in_place, "in place") if inplace else Op("add", add)


ADD = Kind(
    "add",
    "element-wise sum (a residual or a parallel merge)",
    (),
    _add,
    flops_rule="(inputs − 1) per output element",
    note=_NOTE,
    merge=True,
    inplace=True,
    fvcore_rule=_uncounted("aten::add"),
    torch=_add_torch,
    examples=(
        Example(((64, 56, 56), (64, 56, 56)), output=(64, 56, 56), flops=64 * 56 * 56, note="a residual"),
        Example(((10,), (10,), (10,)), output=(10,), flops=2 * 10, explain="FLOPs = 2·10 additions"),
        Example(((64, 56, 56), (32, 56, 56)), error="same shape"),
    ),
)

# ---------------------------------------------------------------------------- multiply


def _multiply(ins: tuple[Shape, ...], args: Args) -> Cost:
    big = max(ins, key=prod)
    for s in ins:
        if not (s == big or (len(s) == len(big) == 3 and s[0] == big[0] and s[1:] == (1, 1))):
            raise ShapeError(
                "multiply needs equal shapes or a C×1×1 gate with the same C; got " + ", ".join(shape(s) for s in ins)
            )
    elems = prod(big)
    return Cost(
        output=big,
        flops=(len(ins) - 1) * elems,
        explainer=lambda: f"FLOPs = {len(ins) - 1}·{exact(elems)} multiplications",
    )


def _multiply_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return tuple(Saved(f"input{i}") for i in range(len(ins)))


def _multiply_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_modules import Op

    def multiply(*xs: torch.Tensor) -> torch.Tensor:  # a C×1×1 gate broadcasts over H×W
        product = xs[0]
        for x in xs[1:]:
            product = product * x
        return product

    return Op("multiply", multiply)


MULTIPLY = Kind(
    "multiply",
    "element-wise product, a C×1×1 gate broadcast over H×W (squeeze-and-excitation)",
    (),
    _multiply,
    flops_rule="(inputs − 1) per output element",
    note=_NOTE,
    merge=True,
    saved=_multiply_saved,
    saved_rule="each factor, for the other's gradient",
    fvcore_rule=_uncounted("aten::mul"),
    torch=_multiply_torch,
    examples=(
        Example(
            ((32, 14, 14), (32, 1, 1)),
            output=(32, 14, 14),
            flops=32 * 14 * 14,
            explain="FLOPs = 1·6,272 multiplications",
            note="a squeeze-and-excitation gate",
        ),
        Example(((32, 1, 1), (32, 14, 14)), output=(32, 14, 14), flops=32 * 14 * 14, note="the gate first"),
        Example(((5, 3, 3), (5, 3, 3)), output=(5, 3, 3), flops=5 * 3 * 3),
        Example(((16, 1, 1), (32, 14, 14)), error="C×1×1 gate"),
        Example(((32, 14, 14), (32, 7, 7)), error="C×1×1 gate"),
    ),
)

# ---------------------------------------------------------------------------- mean


def _mean(ins: tuple[Shape, ...], args: Args) -> Cost:
    if len(set(ins)) > 1:
        raise ShapeError("mean needs inputs of the same shape; got " + ", ".join(shape(s) for s in ins))
    elems = prod(ins[0])
    n = len(ins)
    return Cost(
        output=ins[0],
        flops=n * elems,
        explainer=lambda: (
            f"FLOPs = ({n - 1} addition{'s' if n > 2 else ''} + 1 division)·{exact(elems)} = {exact(n * elems)}"
        ),
    )


def _mean_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_modules import Op

    def mean(*xs: torch.Tensor) -> torch.Tensor:  # FractalNet's join: the element-wise mean of its inputs
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total / len(xs)

    return Op("mean", mean)


MEAN = Kind(
    "mean",
    "element-wise mean of several inputs (FractalNet's join)",
    (),
    _mean,
    flops_rule="inputs per output element (inputs − 1 adds, 1 divide)",
    note=_NOTE,
    merge=True,
    fvcore_rule="0: aten::add and aten::div are not among fvcore's counted operators (listed by unsupported_ops())",
    torch=_mean_torch,
    examples=(
        Example(
            ((64, 32, 32), (64, 32, 32), (64, 32, 32)),
            output=(64, 32, 32),
            flops=3 * 64 * 32 * 32,
            explain="FLOPs = (2 additions + 1 division)·65,536 = 196,608",
            note="a FractalNet join of three columns",
        ),
        Example(((10,), (10,)), output=(10,), flops=2 * 10, explain="FLOPs = (1 addition + 1 division)·10 = 20"),
        Example(((64, 16, 16), (64, 8, 8)), error="same shape"),
    ),
)

KINDS = (CONCAT, ADD, MULTIPLY, MEAN)
