"""What a layer kind is: the :class:`Kind` entry and the types its rules speak in.

A kind owns everything about itself in one entry: its arguments, the shape rule and the cost
figures with the text that explains them (:attr:`Kind.infer`), the words the docs print for each
rule, what autograd saves for backward, fvcore's count, the torch module that computes it and
worked examples derived by hand. The engine, the memory model, the torch cross-check, the docs and
the tests all read the entry; nothing else names kinds.

Shapes exclude the batch: ``(C, H, W)`` for feature maps, ``(N,)`` for vectors.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, TypeGuard

if TYPE_CHECKING:
    from torch import nn

Shape = tuple[int, ...]
Pair = tuple[int, int]
ArgValue = int | float | bool | str | tuple[int, ...]


class ShapeError(ValueError):
    """A layer cannot take the shape it is given; the message says what was expected."""


class ArgType(StrEnum):
    """The value types an argument can have; :attr:`text` is how errors describe each."""

    INT = "int"
    POSINT = "posint"
    PAIR = "pair"
    PAD = "pad"
    PADDING = "padding"
    PAD4 = "pad4"
    BOOL = "bool"
    FLOAT = "float"
    PROB = "prob"
    POSFLOAT = "posfloat"
    CHOICE = "choice"

    @property
    def text(self) -> str:
        return _ARG_TYPE_TEXT[self]


_ARG_TYPE_TEXT: Final = {
    ArgType.INT: "a whole number ≥ 0",
    ArgType.POSINT: "a whole number ≥ 1",
    ArgType.PAIR: "a whole number ≥ 1 or a pair [h, w]",
    ArgType.PAD: "a whole number ≥ 0 or a pair [h, w]",
    ArgType.PADDING: "a whole number ≥ 0, a pair [h, w], 'same' or 'valid'",
    ArgType.PAD4: "a whole number ≥ 0 or [left, right, top, bottom]",
    ArgType.BOOL: "true or false",
    ArgType.FLOAT: "a number",
    ArgType.PROB: "a number in [0, 1]",
    ArgType.POSFLOAT: "a number > 0",
    ArgType.CHOICE: "one of the words the argument lists",
}

ARG_TYPES: Final[dict[str, str]] = {t.value: t.text for t in ArgType}
"""Each argument type's name with how errors describe it (the spec-language doc's types table)."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


@dataclass(frozen=True)
class Arg:
    """One argument of a layer kind."""

    name: str
    type: ArgType
    default: ArgValue | _Required | None = REQUIRED
    doc: str = ""
    choices: tuple[str, ...] = ()
    """The words a :attr:`ArgType.CHOICE` argument accepts."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ArgType(self.type))  # a plain name ("pair") is accepted
        assert bool(self.choices) == (self.type == ArgType.CHOICE), self.name

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @functools.cached_property
    def normal_default(self) -> ArgValue | None:
        """The default in normal form (:func:`coerce`), worked out once; ValueError for a required argument."""
        return coerce(self, self.default)


class Args(dict[str, ArgValue | None]):
    """Validated, normalized arguments of one layer with typed accessors (a dict: reading one is C speed)."""

    def integer(self, key: str) -> int:
        value = self[key]
        assert isinstance(value, int) and not isinstance(value, bool), key
        return value

    def pair(self, key: str) -> Pair:
        value = self[key]
        assert isinstance(value, tuple) and len(value) == 2, key
        return (value[0], value[1])

    def ints(self, key: str) -> tuple[int, ...]:
        value = self[key]
        assert isinstance(value, tuple), key
        return value

    def number(self, key: str) -> float:
        value = self[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), key
        return float(value)

    def word(self, key: str) -> str:
        value = self[key]
        assert isinstance(value, str), key
        return value

    def flag(self, key: str) -> bool:
        value = self[key]
        assert isinstance(value, bool), key
        return value


Explainer = Callable[[], str]
"""Renders a layer's arithmetic as text, on demand (only ``archcost show --explain`` and a few checks read it)."""


def _no_explanation() -> str:
    return ""


@dataclass(slots=True)
class Cost:
    """What one layer produces and costs for one sample.

    `kernel` and `stride` are the receptive-field step per axis (H, W): the effective
    kernel (dilation applied) and the stride. ``None`` means the layer sees the whole map.
    `upscale` is the factor an upsampling layer makes the map finer by, per axis: on such an axis
    the jump is divided by it (rounded up) and `kernel` is counted in output pixels at that jump.
    `explainer` renders :attr:`explain`; a kind builds it as a closure over its figures, so
    the text is formatted only when someone reads it. Read-only by convention, not frozen (one
    is made per layer, and a frozen dataclass is several times slower to make).
    """

    output: Shape
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    kernel: Pair | None = (1, 1)
    stride: Pair = (1, 1)
    upscale: Pair = (1, 1)
    explainer: Explainer = field(default=_no_explanation, compare=False, repr=False)

    @property
    def explain(self) -> str:
        """The arithmetic behind the figures, lecture style."""
        return self.explainer()


Infer = Callable[[tuple[Shape, ...], Args], Cost]
"""A kind's shape and cost rule: input shapes and arguments → :class:`Cost` (ShapeError if it cannot)."""


@dataclass(frozen=True)
class Saved:
    """A tensor a layer keeps for its backward pass (training).

    `tensor` is ``input0``, ``input1``, … or ``output`` (an activation, shared with whoever else
    saves the same storage), ``original0`` (input 0 as it was: its storage, or a copy of it if the
    layer ran in place and overwrote it, as torch's in-place operators do when their backward
    needs the input), or ``extra`` (the layer's own: `elements` of `bytes_per_element`,
    0 meaning the analysis dtype's size; per sample unless `per_sample` is false).
    """

    tensor: str
    elements: int = 0
    bytes_per_element: int = 0
    per_sample: bool = True
    what: str = ""


SavedRule = Callable[[tuple[Shape, ...], Shape, Args], tuple[Saved, ...]]
"""What a layer keeps for backward, from its input shapes, output shape and arguments."""

FvcoreCount = Callable[[tuple[Shape, ...], Shape, Args], int]
"""fvcore 0.1.5's "flop" count of one layer (one sample, eval mode) from its input shapes,
output shape and arguments: what ``FlopCountAnalysis(...).by_module()[name]`` reports for the
module the kind's torch builder makes."""

TorchBuilder = Callable[[tuple[Shape, ...], Shape, Args, bool], "nn.Module"]
"""The torch module computing one layer, from its input shapes, output shape, arguments and whether
it runs in place (writes into its first input: ``inplace=True``, ``out += x``). It imports torch
itself, inside the function, so that the catalog loads without torch."""

ViewRule = Callable[[Mapping[str, Any], bool], bool]
"""Whether a layer's output is a view of (the same storage as) its first input, from its arguments
and whether the network is training."""


@dataclass(frozen=True, slots=True)
class Backward:
    """The MACs of one layer's backward pass, per sample: the gradient with respect to its weights and
    the gradients with respect to those of its inputs that need one (see :data:`BackwardRule`)."""

    weights: int = 0
    inputs: int = 0


BackwardRule = Callable[[tuple[Shape, ...], Shape, Args, int, tuple[bool, ...]], Backward]
"""A kind's backward MACs from its input shapes, output shape, arguments, forward MACs and, per input,
whether a gradient flows into it (False for the image and whatever is computed from it without
parameters). Element-wise work is not MACs: a kind without multiply-accumulates has none backward."""


def no_backward_macs(ins: tuple[Shape, ...], out: Shape, args: Args, macs: int, needs: tuple[bool, ...]) -> Backward:
    """:data:`BackwardRule` of a kind without multiply-accumulates (its backward is element-wise)."""
    return Backward()


def weights_and_input(ins: tuple[Shape, ...], out: Shape, args: Args, macs: int, needs: tuple[bool, ...]) -> Backward:
    """:data:`BackwardRule` of a weighted layer (conv, linear): the weight gradient costs the forward MACs
    again (each weight accumulates one product per use), and so does the input gradient (each input
    element receives one product per use), unless no gradient flows into the input."""
    return Backward(weights=macs, inputs=macs if needs[0] else 0)


WEIGHTS_AND_INPUT: Final = (
    "weights: the forward MACs again; input: the forward MACs again, unless no gradient flows into it (the image)"
)
""":func:`weights_and_input` in words (:attr:`Kind.backward_rule`)."""


def ungrouped(args: Mapping[str, Any]) -> bool:
    """:attr:`Kind.flop_counter_backward` of a convolution: FlopCounterMode (torch 2.13) counts a grouped
    one's weight gradient `groups` times over, an ungrouped one right."""
    return bool(args["groups"] == 1)


def activation_matmul(ins: tuple[Shape, ...], out: Shape, args: Args, macs: int, needs: tuple[bool, ...]) -> Backward:
    """:data:`BackwardRule` of a product of two activations (attention's Q·Kᵀ and A·V): no weights; each
    operand that needs a gradient costs the forward MACs again (dA = dC·Bᵀ, dB = Aᵀ·dC)."""
    return Backward(inputs=macs * sum(needs[:2]))


def counted(args: Mapping[str, Any]) -> bool:
    """:attr:`Kind.flop_counter_backward` of a kind whose backward FlopCounterMode counts as we do."""
    return True


def never(args: Mapping[str, Any], training: bool) -> bool:
    """:data:`ViewRule` of a kind that always makes a new tensor (or writes in place, :attr:`Kind.inplace`)."""
    return False


def always(args: Mapping[str, Any], training: bool) -> bool:
    """:data:`ViewRule` of a view: flatten, identity, a channel slice."""
    return True


def saves_nothing(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    """:data:`SavedRule` of a kind whose backward needs only shapes."""
    return ()


_INPUT0 = (Saved("input0"),)


def saves_input(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    """:data:`SavedRule` of a kind whose backward needs its (first) input: conv-like and most activations."""
    return _INPUT0


def fvcore_zero(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    """:data:`FvcoreCount` of a kind fvcore does not count (ignored or unsupported)."""
    return 0


@dataclass(frozen=True)
class Example:
    """One worked use of a kind, its figures derived by hand (written as arithmetic in the entry).

    The tests run every example: through the kind's rule (`output`, `params`, `buffers`, `macs`,
    `flops`, text in `explain`), through a spec (shape and figures as the engine reports them), through
    the torch build with fvcore (shape, params, MACs, and `fvcore`, fvcore's count) and through
    autograd (the bytes saved for backward against the kind's saved rule). An example with `error`
    is one the kind refuses with a ShapeError whose message contains that text.

    `inputs` are the layer's input shapes (one per merged tensor for a merge kind); `args` its
    arguments as a spec writes them.
    """

    inputs: tuple[Shape, ...]
    args: Mapping[str, Any] = field(default_factory=dict)
    output: Shape = ()
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    fvcore: int = 0
    explain: str = ""
    error: str = ""
    note: str = ""
    """What the example shows, when it is not obvious."""


@dataclass(frozen=True)
class Kind:
    """A layer kind: everything about it in one entry (see the module doc)."""

    name: str
    summary: str
    """One line for the spec-language table."""
    args: tuple[Arg, ...]
    infer: Infer
    flops_rule: str
    """How FLOPs are counted, in words (the conventions table)."""
    macs_rule: str = "0"
    params_rule: str = "0"
    buffers_rule: str = "0"
    note: str = ""
    """Why the rules are what they are (the conventions doc's notes; kinds with the same note share a bullet)."""
    merge: bool = False
    """Combines several tensors (the merge of a parallel or residual); not written as an item."""
    aliases: tuple[str, ...] = ()
    weighted: bool = False
    """A layer of the network's depth (conv, linear): what papers count when they say "50 layers"."""
    inplace: bool = False
    """At inference the output may reuse its first input's memory (in-place activation, `+=`)."""
    view: ViewRule = never
    """The output is a view of the first input (same storage), always or in some cases."""
    saved: SavedRule = saves_nothing
    """What the layer keeps for its backward pass (torch's autograd), for training memory."""
    saved_rule: str = "nothing"
    """:attr:`saved` in words (the conventions doc's saved-for-backward table)."""
    fvcore: FvcoreCount = fvcore_zero
    """fvcore's convention for this kind, used only by the torch cross-check."""
    fvcore_rule: str = ""
    """That convention in words, with the reason it differs from ours."""
    fvcore_activations: bool | FvcoreCount = False
    """fvcore's ``ActivationCountAnalysis`` counts this kind's output (conv, linear, matmul): True, or a
    rule giving its count for a kind built from several counted operators (attention's four)."""
    backward: BackwardRule = no_backward_macs
    """The MACs of its backward pass (training step), from the forward MACs: see :data:`BackwardRule`."""
    backward_rule: str = "0: element-wise work, no multiply-accumulates"
    """:attr:`backward` in words (the conventions doc's training-step table)."""
    flop_counter_backward: Callable[[Mapping[str, Any]], bool] = counted
    """Whether torch's FlopCounterMode counts a layer's backward as twice :attr:`backward`, from its
    arguments (``verify --train`` compares the two only where it does: torch 2.13 over-counts the
    backward of grouped convolutions, and hand arithmetic is the reference there)."""
    torch: TorchBuilder | None = None
    examples: tuple[Example, ...] = ()

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)

    def args_of(self, given: Mapping[str, Any]) -> Args:
        """`given` (as a spec writes them) coerced, with defaults filled in; ValueError if one is bad."""
        unknown = set(given) - {a.name for a in self.args}
        if unknown:
            raise ValueError(f"{self.name} has no argument {', '.join(sorted(unknown))}")
        return Args({a.name: coerce(a, given[a.name]) if a.name in given else a.normal_default for a in self.args})


# ---------------------------------------------------------------------------- values


def prod(values: tuple[int, ...]) -> int:
    return math.prod(values)


def coerce(arg: Arg, value: object) -> ArgValue | None:
    """`value` in the normal form of `arg`'s type; ValueError saying what was expected."""
    if value is None and arg.default is None:
        return None
    kind = arg.type
    if kind in (ArgType.PAIR, ArgType.PAD, ArgType.PADDING):  # the commonest first: kernel, stride, padding
        if kind == ArgType.PADDING and isinstance(value, str) and value in ("same", "valid"):
            return value
        least = 1 if kind == ArgType.PAIR else 0
        if _is_int(value, least):
            return (value, value)
        if isinstance(value, list | tuple) and len(value) == 2 and all(_is_int(v, least) for v in value):
            return (value[0], value[1])
    elif kind in (ArgType.INT, ArgType.POSINT):
        if _is_int(value, 1 if kind == ArgType.POSINT else 0):
            return value
    elif kind == ArgType.BOOL:
        if isinstance(value, bool):
            return value
    elif kind in (ArgType.FLOAT, ArgType.PROB, ArgType.POSFLOAT):
        if _is_finite_number(value) and (
            kind == ArgType.FLOAT or (0 <= value <= 1 if kind == ArgType.PROB else value > 0)
        ):
            return value
    elif kind == ArgType.CHOICE:
        if isinstance(value, str) and value in arg.choices:
            return value
        raise ValueError(f"{arg.name} must be one of {', '.join(arg.choices)}, got {shown(value)}")
    elif kind == ArgType.PAD4:
        if _is_int(value, 0):
            return (value, value, value, value)
        if isinstance(value, list | tuple) and len(value) == 4 and all(_is_int(v, 0) for v in value):
            return tuple(value)
    raise ValueError(f"{arg.name} must be {kind.text}, got {shown(value)}")


def shown(value: object) -> str:
    """`value` for an error message: its repr, or how many digits an integer too long to print has."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 160:
        digits = int(abs(value).bit_length() * math.log10(2)) + 1
        return f"an integer of about {digits:,} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value: object, least: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _is_finite_number(value: object) -> TypeGuard[int | float]:
    """A number a float argument can hold: not a bool, finite, and an int small enough to be a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a float's range
        return False
