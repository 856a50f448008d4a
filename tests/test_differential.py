"""Differential test: random valid specs give the same figures in the engine and in torch.

Hypothesis writes spec YAML (convolutions with random kernel, stride, padding, dilation and
groups; pools in floor and ceil mode; parallel branches merged by concat and add; residuals
with and without a projection; repeated blocks with `first` overrides; gates merged by
multiply, zero padding, channel shuffle, LRN, adaptive pooling; a linear head after
flatten), and :func:`archcost.torchcheck.verify` compares every layer's shape, params, MACs
and fvcore-convention counts with a torch build profiled by fvcore. The generator keeps its
own shape arithmetic (torch's rules, checked against torch below) only to stay valid; the
figures themselves are never computed here.

The run is reproducible (``derandomize=True``): the same examples every time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcost import engine, spec

pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcost import torchcheck

MAX_EXAMPLES = 1000
"""About 50 s on 2 cores (each example is one build and two fvcore traces)."""

Item = dict[str, Any]


def conv_size(n: int, k: int, s: int, p: int, d: int) -> int:
    """torch's output length (floor); < 1 when the kernel does not fit."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def pool_size(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    """torch's pooling output length, ceil mode included (the last window starts inside)."""
    room = n + 2 * p - d * (k - 1) - 1
    if room < 0:
        return 0
    if not ceil:
        return room // s + 1
    out = -(-room // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def yaml_pair(a: int, b: int) -> int | list[int]:
    return a if a == b else [a, b]


@dataclass
class State:
    """The running shape, and counters for unique names."""

    c: int
    h: int
    w: int
    blocks: dict[str, Any] = field(default_factory=dict)
    serial: int = 0

    def name(self, stem: str) -> str:
        self.serial += 1
        return f"{stem}{self.serial}"


def divisors(n: int) -> list[int]:
    return [g for g in range(1, n + 1) if n % g == 0]


@st.composite
def conv_layer(draw: st.DrawFn, s: State) -> Item:
    """A conv that fits the current map; updates the state."""
    groups = draw(st.sampled_from(divisors(s.c)))
    out = groups * draw(st.integers(1, max(1, 8 // groups)))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    args: Item = {"out": out, "kernel": yaml_pair(kh, kw)}
    mode = draw(st.sampled_from(["int", "pair", "same", "valid"] if (sh, sw) == (1, 1) else ["int", "pair", "valid"]))
    if mode == "same":
        ph, pw = None, None
        args["padding"] = "same"
    elif mode == "valid":
        ph = pw = 0
        args["padding"] = "valid"
    else:
        ph = draw(st.integers(0, 3))
        pw = ph if mode == "int" else draw(st.integers(0, 3))
        args["padding"] = yaml_pair(ph, pw) if mode == "pair" else ph
    if ph is None or pw is None:
        oh, ow = s.h, s.w
    else:
        oh, ow = conv_size(s.h, kh, sh, ph, dh), conv_size(s.w, kw, sw, pw, dw)
    if oh < 1 or ow < 1:  # does not fit: fall back to a 1×1 conv
        args = {"out": out, "kernel": 1}
        dh = dw = sh = sw = 1
        oh, ow = s.h, s.w
    if (dh, dw) != (1, 1):
        args["dilation"] = yaml_pair(dh, dw)
    if (sh, sw) != (1, 1):
        args["stride"] = yaml_pair(sh, sw)
    if groups > 1:
        args["groups"] = groups
    if draw(st.booleans()):
        args["bias"] = False
    if draw(st.booleans()):
        args["name"] = s.name("conv")
    s.c, s.h, s.w = out, oh, ow
    return {"conv": args}


@st.composite
def pool_layer(draw: st.DrawFn, s: State) -> Item:
    kind = draw(st.sampled_from(["maxpool", "avgpool"]))
    k = draw(st.integers(1, 4))
    stride = draw(st.none() | st.integers(1, 3))
    p = draw(st.integers(0, k // 2))  # torch: padding at most half the kernel
    d = draw(st.integers(1, 2)) if kind == "maxpool" else 1
    ceil = draw(st.booleans())
    step = k if stride is None else stride
    oh, ow = pool_size(s.h, k, step, p, d, ceil), pool_size(s.w, k, step, p, d, ceil)
    if oh < 1 or ow < 1:
        return {"identity": {"name": s.name("skip")}}
    args: Item = {"kernel": k, "padding": p, "ceil_mode": ceil}
    if stride is not None:
        args["stride"] = stride
    if d != 1:
        args["dilation"] = d
    s.h, s.w = oh, ow
    return {kind: args}


def pointwise_layer() -> st.SearchStrategy[Item | str]:
    return st.sampled_from(
        [
            "relu",
            "relu6",
            "sigmoid",
            "hardswish",
            {"batchnorm": {"affine": True}},
            {"batchnorm": {"affine": False}},
            {"dropout": {"p": 0.1}},
            {"leaky_relu": {"slope": 0.2}},
        ]
    )


@st.composite
def same_size_conv(draw: st.DrawFn, cin: int, out: int, stride: int) -> Item:
    """A conv that maps n to (n - 1)//stride + 1, whatever n: odd kernel, half-span padding."""
    k = draw(st.sampled_from([1, 3, 5]))
    d = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([g for g in divisors(cin) if out % g == 0]))
    args: Item = {"out": out, "kernel": k, "padding": d * (k - 1) // 2, "bias": draw(st.booleans())}
    if d > 1:
        args["dilation"] = d
    if stride > 1:
        args["stride"] = stride
    if groups > 1:
        args["groups"] = groups
    return {"conv": args}


@st.composite
def parallel_layer(draw: st.DrawFn, s: State) -> Item:
    """Branches with the same output size: same-size convs (common stride), pools, identities."""
    merge = draw(st.sampled_from(["concat", "add"]))
    stride = draw(st.integers(1, 2))
    width = draw(st.integers(1, 6))  # every branch's channels for add
    branches: list[list[Item | str]] = []
    total = 0
    for _ in range(draw(st.integers(2, 3))):
        choice = draw(st.sampled_from(["conv", "conv2", "pool", "identity"]))
        if choice == "identity" and stride == 1 and (merge == "concat" or width == s.c):
            branches.append([])
            total += s.c
            continue
        if choice == "pool" and merge == "concat":
            kind = draw(st.sampled_from(["maxpool", "avgpool"]))
            branches.append([{kind: {"kernel": 3, "stride": stride, "padding": 1}}])
            total += s.c
            continue
        out = width if merge == "add" else draw(st.integers(1, 6))
        branch: list[Item | str] = [draw(same_size_conv(s.c, out, stride))]
        if choice == "conv2":
            branch += [draw(pointwise_layer()), draw(same_size_conv(out, out, 1))]
        branches.append(branch)
        total += out
    s.c = total if merge == "concat" else width
    s.h, s.w = (s.h - 1) // stride + 1, (s.w - 1) // stride + 1
    return {"parallel": {"name": s.name("mix"), "merge": merge, "branches": branches}}


@st.composite
def residual_layer(draw: st.DrawFn, s: State) -> Item:
    """A residual; when the body changes the shape, a 1×1 projection with its stride."""
    stride = draw(st.integers(1, 2))
    out = draw(st.integers(1, 8))
    body = [draw(same_size_conv(s.c, out, stride)), draw(pointwise_layer())]
    if draw(st.booleans()):
        body.append(draw(same_size_conv(out, out, 1)))
    changes = stride != 1 or out != s.c
    args: Item = {"name": s.name("res"), "layers": body}
    if changes or draw(st.booleans()):
        projection: list[Item | str] = [{"conv": {"out": out, "kernel": 1, "stride": stride, "bias": False}}]
        if draw(st.booleans()):
            projection.append("batchnorm")
        args["projection"] = {"sequential": {"layers": projection}}
        if not changes:
            args["shortcut"] = "projection"
    if draw(st.booleans()):
        args["post"] = ["relu"]
    s.c, s.h, s.w = out, (s.h - 1) // stride + 1, (s.w - 1) // stride + 1
    return {"residual": args}


@st.composite
def repeat_layer(draw: st.DrawFn, s: State) -> Item:
    """A block repeated with `first: {stride: 2}` (or other overrides), like a ResNet stage."""
    residual = draw(st.booleans())
    name = "resunit" if residual else "unit"
    if residual:
        s.blocks[name] = {
            "params": {"out": None, "stride": 1},
            "layers": [
                {
                    "residual": {
                        "layers": [
                            {"conv": {"name": "a", "out": "$out", "kernel": 3, "stride": "$stride", "padding": 1}},
                            "relu",
                            {"conv": {"name": "b", "out": "$out", "kernel": 1}},
                        ],
                        "projection": {"conv": {"out": "$out", "kernel": 1, "stride": "$stride"}},
                    }
                }
            ],
        }
    else:
        s.blocks[name] = {
            "params": {"out": None, "stride": 1, "k": 3},
            "layers": [
                {"conv": {"out": "$out", "kernel": "$k", "stride": "$stride", "padding": "$(k // 2)"}},
                {"batchnorm": {"name": "bn"}},
            ],
        }
    out = draw(st.integers(1, 8))
    repeat = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    args: Item = {"name": s.name("stage"), "out": out, "repeat": repeat}
    first: Item = {}
    if stride > 1:
        first["stride"] = stride
    if not residual and draw(st.booleans()):
        first["k"] = 5
    if first:
        args["first"] = first
    if draw(st.booleans()):
        args["names"] = draw(st.sampled_from(["u{n}", "u{i}"]))
    s.c, s.h, s.w = out, (s.h - 1) // stride + 1, (s.w - 1) // stride + 1
    return {name: args}


@st.composite
def misc_layer(draw: st.DrawFn, s: State) -> Item:
    """Squeeze-and-excitation gates, zero padding, channel shuffle, LRN, adaptive pooling."""
    choice = draw(st.sampled_from(["gate", "zeropad", "shuffle", "lrn", "adaptive"]))
    if choice == "gate":
        squeeze = draw(st.integers(1, 4))
        gate = [
            "global_avgpool",
            {"conv": {"out": squeeze, "kernel": 1}},
            "relu",
            {"conv": {"out": s.c, "kernel": 1}},
            draw(st.sampled_from(["sigmoid", "hardsigmoid"])),
        ]
        branches = [[], gate] if draw(st.booleans()) else [gate, []]
        return {"parallel": {"name": s.name("se"), "merge": "multiply", "branches": branches}}
    if choice == "zeropad":
        pads = draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))
        s.h, s.w = s.h + pads[2] + pads[3], s.w + pads[0] + pads[1]
        return {"zeropad": {"padding": pads}}
    if choice == "shuffle":
        return {"shuffle": {"groups": draw(st.sampled_from(divisors(s.c)))}}
    if choice == "lrn":
        return {"lrn": {"size": draw(st.integers(1, 5)), "k": 2.0}}
    oh, ow = draw(st.integers(1, s.h + 2)), draw(st.integers(1, s.w + 2))
    s.h, s.w = oh, ow
    return {"adaptive_avgpool": {"output": yaml_pair(oh, ow)}}


@st.composite
def spec_text(draw: st.DrawFn) -> str:
    c, h, w = draw(st.integers(1, 6)), draw(st.integers(4, 16)), draw(st.integers(4, 16))
    s = State(c, h, w)
    body: list[Item | str] = []
    makers = [conv_layer, pool_layer, parallel_layer, residual_layer, repeat_layer, misc_layer]
    for _ in range(draw(st.integers(1, 6))):
        maker = draw(st.sampled_from(makers))
        body.append(draw(maker(s)))
        if draw(st.booleans()):
            body.append(draw(pointwise_layer()))
    if draw(st.booleans()):  # a classifier head
        body.append(draw(st.sampled_from(["flatten", "global_avgpool"])))
        if body[-1] == "global_avgpool":
            body.append("flatten")
        body.append({"linear": {"name": "fc", "out": draw(st.integers(1, 10)), "bias": draw(st.booleans())}})
    doc: dict[str, Any] = {"archcost": 1, "name": "random", "input": [c, h, w]}
    if s.blocks:
        doc["blocks"] = s.blocks
    doc["layers"] = body
    return yaml.safe_dump(doc, sort_keys=False)


def test_generator_shape_arithmetic_is_torchs() -> None:
    """The generator's own size rules, against torch on every small case (so it stays valid)."""
    import torch

    for n in range(1, 10):
        for k in range(1, 5):
            for st_ in range(1, 4):
                for p in range(k // 2 + 1):
                    for d in (1, 2):
                        for ceil in (False, True):
                            if d * (k - 1) + 1 > n + 2 * p:
                                assert pool_size(n, k, st_, p, d, ceil) == 0
                                continue
                            pool = torch.nn.MaxPool2d(k, st_, p, d, ceil_mode=ceil)
                            assert pool_size(n, k, st_, p, d, ceil) == pool(torch.zeros(1, 1, n, n)).shape[-1]
                            conv = torch.nn.Conv2d(1, 1, k, st_, p, d)
                            assert conv_size(n, k, st_, p, d) == conv(torch.zeros(1, 1, n, n)).shape[-1]


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec_text())
def test_engine_and_torch_agree(text: str) -> None:
    analysis = engine.analyze(spec.load_text(text, "random.yaml"))
    result = torchcheck.verify(analysis)
    assert result.failure is None, result.failure
    wrong = [(r.name, {f: r.figures()[f] for f in r.differs}) for r in result.mismatches]
    assert not wrong, wrong
    assert result.totals is not None and result.totals.ok, result.totals
    assert math.prod(analysis.output.output_shape) >= 1
