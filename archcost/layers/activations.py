"""The element-wise activation kinds: each counts the elementary operations of its formula."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcost.layers.base import (
    Arg,
    Args,
    ArgType,
    Cost,
    Example,
    Infer,
    Kind,
    Saved,
    SavedRule,
    Shape,
    ShapeError,
    TorchBuilder,
    prod,
    saves_input,
)
from archcost.units import exact, shape

if TYPE_CHECKING:
    from torch import nn

_NOTE = (
    "**Activations** count the elementary operations of their formula, each transcendental (exp, tanh, erf) "
    "as one: relu 1, relu6 2, leaky_relu 2, sigmoid 3, tanh 1, hardsigmoid 4, hardswish 5, silu 4, gelu 5, "
    "softmax 5. These are conventions, not cycle counts; most counters count activations as 0 or 1 (see the "
    "last section)."
)

_OUTPUT = (Saved("output"),)
_ORIGINAL0 = (Saved("original0", what="the input (a copy when run in place)"),)


def _saves_output(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return _OUTPUT


def _saves_original(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return _ORIGINAL0


_SAVED_TEXT: dict[SavedRule, str] = {
    saves_input: "its input",
    _saves_output: "its output (in place: the same storage as its input)",
    _saves_original: "its input; in place, torch clones the input it overwrites",
}


def elementwise(name: str, per_element: int, what: str) -> Infer:
    """The rule of a kind that costs `per_element` FLOPs per element and keeps the shape."""

    def text(elems: int) -> str:
        return f"FLOPs = {per_element}·{exact(elems)} ({name}: {what})" if per_element else f"no arithmetic ({name})"

    def infer(ins: tuple[Shape, ...], args: Args) -> Cost:
        elems = prod(ins[0])
        return Cost(output=ins[0], flops=per_element * elems, explainer=lambda: text(elems))

    return infer


def _module(name: str, **fixed: object) -> TorchBuilder:
    """A builder making ``torch.nn.<name>(**fixed)``, in place if the kind runs so."""

    def build(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
        from torch import nn

        options = {**fixed, "inplace": True} if inplace else fixed
        module: nn.Module = getattr(nn, name)(**options)
        return module

    return build


def _activation(
    name: str,
    per_element: int,
    what: str,
    summary: str,
    torch: TorchBuilder,
    *args: Arg,
    fvcore_op: str,
    saved: SavedRule,
    aliases: tuple[str, ...] = (),
    inplace: bool = False,
) -> Kind:
    shapes: tuple[Shape, ...] = ((8, 4, 4), (1000,))
    return Kind(
        name,
        summary,
        args,
        elementwise(name, per_element, what),
        flops_rule=f"{per_element} per element ({what})",
        note=_NOTE,
        aliases=aliases,
        inplace=inplace,
        saved=saved,
        saved_rule=_SAVED_TEXT[saved],
        fvcore_rule=f"0: {fvcore_op} is not among fvcore's counted operators (listed by unsupported_ops())",
        torch=torch,
        examples=tuple(
            Example((s,), output=s, flops=per_element * prod(s), explain=f"FLOPs = {per_element}·") for s in shapes
        ),
    )


def _leaky_relu_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.LeakyReLU(args.number("slope"), inplace=inplace)


def _softmax_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.Softmax(dim=args.integer("axis") + 1)


def _softmax(ins: tuple[Shape, ...], args: Args) -> Cost:
    axis = args.integer("axis")
    if axis >= len(ins[0]):
        raise ShapeError(
            f"axis {axis} is outside the {len(ins[0])}-d input {shape(ins[0])} (axes 0 to {len(ins[0]) - 1})"
        )
    return _softmax_elementwise(ins, args)


_softmax_elementwise = elementwise("softmax", 5, "max, subtract, exp, sum, divide")


RELU = Kind(
    "relu",
    "max(0, x)",
    (),
    elementwise("relu", 1, "a comparison"),
    flops_rule="1 per element (a comparison)",
    note=_NOTE,
    inplace=True,
    saved=_saves_output,
    saved_rule=_SAVED_TEXT[_saves_output],
    fvcore_rule="0: fvcore ignores aten::relu (in its _IGNORED_OPS)",
    torch=_module("ReLU"),
    examples=(
        Example(((8, 4, 4),), output=(8, 4, 4), flops=1 * 8 * 4 * 4, explain="FLOPs = 1·128 (relu: a comparison)"),
        Example(((1000,),), output=(1000,), flops=1000),
    ),
)

KINDS = (
    RELU,
    _activation(
        "relu6",
        2,
        "two comparisons",
        "min(max(0, x), 6)",
        _module("ReLU6"),
        fvcore_op="aten::hardtanh",
        inplace=True,
        saved=_saves_original,
    ),
    Kind(
        "leaky_relu",
        "x if x > 0 else slope·x",
        (Arg("slope", ArgType.FLOAT, 0.01),),
        elementwise("leaky_relu", 2, "a comparison and a multiply"),
        flops_rule="2 per element (a comparison and a multiply)",
        note=_NOTE,
        inplace=True,
        saved=saves_input,
        saved_rule="its input (in place: the result, the same storage)",
        fvcore_rule="0: aten::leaky_relu is not among fvcore's counted operators (listed by unsupported_ops())",
        torch=_leaky_relu_torch,
        examples=(Example(((8, 4, 4),), {"slope": 0.1}, output=(8, 4, 4), flops=2 * 8 * 4 * 4),),
    ),
    _activation(
        "sigmoid",
        3,
        "exp, add, divide",
        "1 / (1 + exp(−x))",
        _module("Sigmoid"),
        fvcore_op="aten::sigmoid",
        saved=_saves_output,
    ),
    _activation(
        "tanh", 1, "one transcendental", "tanh(x)", _module("Tanh"), fvcore_op="aten::tanh", saved=_saves_output
    ),
    _activation(
        "hardsigmoid",
        4,
        "add, two comparisons, divide",
        "relu6(x + 3) / 6",
        _module("Hardsigmoid"),
        fvcore_op="aten::hardsigmoid",
        inplace=True,
        saved=_saves_original,
    ),
    _activation(
        "hardswish",
        5,
        "hardsigmoid and a multiply",
        "x · relu6(x + 3) / 6",
        _module("Hardswish"),
        fvcore_op="aten::hardswish",
        inplace=True,
        saved=_saves_original,
    ),
    _activation(
        "silu",
        4,
        "sigmoid and a multiply",
        "x · sigmoid(x), also called swish",
        _module("SiLU"),
        aliases=("swish",),
        fvcore_op="aten::silu",
        inplace=True,
        saved=_saves_original,
    ),
    _activation(
        "gelu",
        5,
        "scale, erf, add, two multiplies",
        "x · Φ(x), exact erf form",
        _module("GELU"),
        fvcore_op="aten::gelu",
        saved=saves_input,
    ),
    Kind(
        "softmax",
        "softmax over one axis (default the first: a map's channels, a sequence's tokens)",
        (
            Arg(
                "axis",
                ArgType.INT,
                0,
                "the axis normalized, counted without the batch: 0 is C (or N), 1 is D of tokens",
            ),
        ),
        _softmax,
        flops_rule="5 per element (max, subtract, exp, sum, divide)",
        note=_NOTE,
        saved=_saves_output,
        saved_rule=_SAVED_TEXT[_saves_output],
        fvcore_rule="0: aten::softmax is not among fvcore's counted operators (listed by unsupported_ops())",
        torch=_softmax_torch,
        examples=(
            Example(((1000,),), output=(1000,), flops=5 * 1000, explain="FLOPs = 5·1,000"),
            Example(((10, 3, 3),), output=(10, 3, 3), flops=5 * 10 * 3 * 3, note="over the channels of a map"),
            Example(((197, 10),), {"axis": 1}, output=(197, 10), flops=5 * 197 * 10, note="over each token's features"),
            Example(((10, 3, 3),), {"axis": 3}, error="axis 3 is outside"),
        ),
    ),
)
