"""The kinds that move or pass data without arithmetic: dropout (the identity at inference), flatten,
identity, zero padding, channel shuffle and channel slices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from archcost.layers.base import (
    Arg,
    Args,
    ArgType,
    Cost,
    Example,
    Kind,
    Saved,
    Shape,
    ShapeError,
    always,
    prod,
)
from archcost.layers.window import feature_map, hwc
from archcost.units import shape

if TYPE_CHECKING:
    import torch
    from torch import nn

_NOTE = (
    "**Dropout is the identity at inference**: no FLOPs, no parameters (its `p` changes nothing). `identity`, "
    "`flatten` (a view), `zeropad` (a copy), `shuffle` (a permutation) and `slice` (a view) are free too."
)
_IGNORED = "0: fvcore ignores {op} (in its _IGNORED_OPS)"


def _dropout(ins: tuple[Shape, ...], args: Args) -> Cost:
    return Cost(output=ins[0], explainer=lambda: "no arithmetic (dropout)")


def _identity(ins: tuple[Shape, ...], args: Args) -> Cost:
    return Cost(output=ins[0], explainer=lambda: "no arithmetic (identity)")


# ---------------------------------------------------------------------------- dropout


def _dropout_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    """The scaled keep mask, one element per output in the activations' dtype: on CPU torch draws it
    with bernoulli_ and multiplies (input · mask). On CUDA, native_dropout saves a bool mask
    (1 byte per element) instead. p = 0 returns the input itself (nothing saved); p = 1 multiplies
    by a 0-d zero, which it saves."""
    p = args.number("p")
    if p == 0:
        return ()
    if p == 1:
        return (Saved("extra", 1, per_sample=False, what="the 0-d zero the input is multiplied by"),)
    return (Saved("extra", prod(out), what="scaled keep mask (0 or 1/(1 − p), the activations' dtype)"),)


def _dropout_view(args: Mapping[str, Any], training: bool) -> bool:
    """At inference, or with p = 0, dropout returns its input itself."""
    return not training or args["p"] == 0


def _dropout_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.Dropout(args.number("p"), inplace=inplace)


DROPOUT = Kind(
    "dropout",
    "dropout: the identity at inference",
    (Arg("p", ArgType.PROB, 0.5),),
    _dropout,
    flops_rule="0",
    note=_NOTE,
    inplace=True,
    view=_dropout_view,
    saved=_dropout_saved,
    saved_rule="a mask of its output's size, in the activation dtype on CPU; nothing when p = 0",
    fvcore_rule="0: nothing is computed in eval mode",
    torch=_dropout_torch,
    examples=(
        Example(((4096,),), {"p": 0.5}, output=(4096,), explain="no arithmetic"),
        Example(((8, 4, 4),), {"p": 0.2}, output=(8, 4, 4)),
        Example(((8, 4, 4),), {"p": 0.0}, output=(8, 4, 4), note="p = 0: saves nothing"),
        Example(((8, 4, 4),), {"p": 1.0}, output=(8, 4, 4), note="p = 1: saves a 0-d zero"),
    ),
)

# ---------------------------------------------------------------------------- flatten, identity


def _flatten(ins: tuple[Shape, ...], args: Args) -> Cost:
    n = prod(ins[0])
    return Cost(
        output=(n,), kernel=None if len(ins[0]) == 3 else (1, 1), explainer=lambda: f"{shape(ins[0])} → {n} (flatten)"
    )


def _flatten_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.Flatten()


FLATTEN = Kind(
    "flatten",
    "flatten C×H×W to a vector",
    (),
    _flatten,
    flops_rule="0",
    note=_NOTE,
    view=always,
    fvcore_rule=_IGNORED.format(op="aten::flatten"),
    torch=_flatten_torch,
    examples=(
        Example(((256, 6, 6),), output=(256 * 6 * 6,), explain="256×6×6 → 9216 (flatten)", note="AlexNet's head"),
        Example(((10,),), output=(10,)),
    ),
)


def _identity_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    return nn.Identity()


IDENTITY = Kind(
    "identity",
    "passes its input through",
    (),
    _identity,
    flops_rule="0",
    note=_NOTE,
    view=always,
    fvcore_rule="0: nothing is computed",
    torch=_identity_torch,
    examples=(Example(((8, 4, 4),), output=(8, 4, 4)), Example(((1000,),), output=(1000,))),
)

# ---------------------------------------------------------------------------- zeropad


def _zeropad(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "zeropad")
    left, right, top, bottom = args.ints("padding")
    front, back = args.pair("channels")
    oc, oh, ow = c + front + back, h + top + bottom, w + left + right
    return Cost(output=(oc, oh, ow), explainer=lambda: f"{hwc(c, h, w)} → {hwc(oc, oh, ow)}")


def _zeropad_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    left, right, top, bottom = args.ints("padding")
    front, back = args.pair("channels")
    if front == back == 0:
        return nn.ZeroPad2d((left, right, top, bottom))
    from torch.nn import functional

    from archcost.layers.torch_modules import Op

    pads = (left, right, top, bottom, front, back)
    return Op("zeropad", lambda x: functional.pad(x, pads), f"(left, right, top, bottom, front, back)={pads}")


ZEROPAD = Kind(
    "zeropad",
    "zero padding, around the map and (with `channels`) of whole channels",
    (
        Arg("padding", ArgType.PAD4, 0, doc="on all sides, or [left, right, top, bottom]"),
        Arg(
            "channels",
            ArgType.PAD,
            0,
            doc="zero channels before and after the input's, or [before, after] (a ResNet option-A shortcut)",
        ),
    ),
    _zeropad,
    flops_rule="0",
    note=_NOTE,
    fvcore_rule="0: aten::pad is not among fvcore's counted operators (listed by unsupported_ops())",
    torch=_zeropad_torch,
    examples=(
        Example(((3, 32, 32),), {"padding": 2}, output=(3, 32 + 2 + 2, 32 + 2 + 2), explain="32×32×3 → 36×36×3"),
        Example(
            ((3, 32, 32),),
            {"padding": [1, 2, 3, 4]},
            output=(3, 32 + 3 + 4, 32 + 1 + 2),
            note="[left, right, top, bottom]: W grows by left + right, H by top + bottom",
        ),
        Example(
            ((16, 16, 16),),
            {"channels": [0, 16]},
            output=(16 + 0 + 16, 16, 16),
            explain="16×16×16 → 16×16×32",
            note="channels [before, after]: a ResNet option-A shortcut from 16 to 32 channels",
        ),
        Example(((10,),), {"padding": 1}, error="C×H×W"),
    ),
)

# ---------------------------------------------------------------------------- shuffle, slice


def _shuffle(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, _, _ = feature_map(ins[0], "shuffle")
    groups = args.integer("groups")
    if c % groups:
        raise ShapeError(f"channels {c} are not divisible by groups={groups}")
    return Cost(
        output=ins[0],
        explainer=lambda: f"{c} channels in {groups} groups of {c // groups}, interleaved (no arithmetic)",
    )


def _shuffle_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_modules import Op

    groups = args.integer("groups")

    def shuffle(x: torch.Tensor) -> torch.Tensor:  # as torchvision's ShuffleNetV2
        batch, channels, height, width = x.shape
        grouped = x.view(batch, groups, channels // groups, height, width)
        return grouped.transpose(1, 2).contiguous().view(batch, channels, height, width)

    return Op("shuffle", shuffle, f"groups={groups}")


SHUFFLE = Kind(
    "shuffle",
    "channel shuffle (ShuffleNet): a permutation, no arithmetic",
    (Arg("groups", ArgType.POSINT, doc="groups to interleave"),),
    _shuffle,
    flops_rule="0",
    note=_NOTE,
    fvcore_rule="0: fvcore ignores the view, transpose and contiguous that make the shuffle",
    torch=_shuffle_torch,
    examples=(
        Example(((240, 28, 28),), {"groups": 3}, output=(240, 28, 28), explain="240 channels in 3 groups of 80"),
        Example(((240, 28, 28),), {"groups": 7}, error="not divisible by groups=7"),
    ),
)


def _slice(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "slice")
    start, stop = args.integer("start"), args.integer("stop")
    if not 0 <= start < stop <= c:
        raise ShapeError(f"channels {start}:{stop} are not inside the input's 0:{c}")
    return Cost(
        output=(stop - start, h, w), explainer=lambda: f"channels {start}:{stop} of {c} (a view, no arithmetic)"
    )


def _slice_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_modules import Op

    start, stop = args.integer("start"), args.integer("stop")
    return Op("slice", lambda x: x[:, start:stop], f"{start}:{stop}")


SLICE = Kind(
    "slice",
    "channels start:stop of the input (ShuffleNet V2's channel split): a view, no arithmetic",
    (Arg("start", ArgType.INT, doc="first channel"), Arg("stop", ArgType.POSINT, doc="one past the last channel")),
    _slice,
    flops_rule="0",
    note=_NOTE,
    view=always,
    fvcore_rule=_IGNORED.format(op="aten::slice"),
    torch=_slice_torch,
    examples=(
        Example(((116, 28, 28),), {"start": 58, "stop": 116}, output=(116 - 58, 28, 28), explain="channels 58:116"),
        Example(((10, 4, 4),), {"start": 4, "stop": 11}, error="not inside the input's 0:10"),
    ),
)

KINDS = (DROPOUT, FLATTEN, IDENTITY, ZEROPAD, SHUFFLE, SLICE)
