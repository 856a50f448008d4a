"""Hostile spec texts, by the class of issue 15 they belong to, each with where its error must be.

Used by tests/test_hostile_specs.py (every named case through the CLI) and tests/test_fuzz.py
(the :func:`hostile_specs` strategy draws variants of each class). A case is bad input: archcost
must exit 2 with one line ``file:line: …`` naming `line`, whatever command reads the spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

HEAD = "archcost: 1\nname: t\ninput: [3, 8, 8]\n"
"""Three lines: what follows starts on line 4."""

CONV = "  - conv: {out: 4, kernel: 1}\n"


@dataclass(frozen=True)
class Hostile:
    """A spec text, the line its one-line error must name, and a fragment of the message."""

    kind: str
    """The class of issue 15: numbers, text, expansion, place, validation, names."""
    text: str
    line: int
    fragment: str
    command: str = "show"
    """The command that reads it (check for reported figures, scale for scaling)."""


def reported(entry: str) -> str:
    """A spec whose one reported figure is `entry` (a flow mapping), on line 6."""
    return HEAD + "paper:\n  reported:\n    - " + entry + "\nlayers:\n" + CONV


def big_number(digits: int) -> str:
    """A whole number of `digits` digits (9s)."""
    return "9" * digits


# ---------------------------------------------------------------------------- the named cases

CASES: dict[str, Hostile] = {
    # 3. numbers beyond a float, beyond 10^30, or beyond Python's 4,300-digit int→str limit
    "expression-literal-400-digits": Hostile(
        "numbers", HEAD + f"layers:\n  - conv: {{out: '$({big_number(400)} // 7)', kernel: 1}}\n", 5, "too large"
    ),
    "yaml-int-5000-digits": Hostile(
        "numbers", HEAD + f"layers:\n  - conv: {{out: {big_number(5000)}, kernel: 1}}\n", 5, "cannot read"
    ),
    "repeat-4200-digits": Hostile(
        "numbers", HEAD + f"layers:\n  - relu: {{repeat: {big_number(4200)}}}\n", 5, "repeat 10^4199… is more than"
    ),
    "input-4200-digits": Hostile(
        "numbers", f"archcost: 1\nname: t\ninput: [3, {big_number(4200)}, 8]\nlayers:\n" + CONV, 3, "at most 10^30"
    ),
    "float-argument-400-digits": Hostile(
        "numbers", HEAD + f"layers:\n{CONV}  - batchnorm: {{eps: {big_number(400)}}}\n", 6, "eps must be a number"
    ),
    "yaml-float-1e400": Hostile("numbers", HEAD + "params: {w: 1e400}\nlayers:\n" + CONV, 4, "beyond a float"),
    "yaml-float-inf": Hostile("numbers", HEAD + "params: {w: .inf}\nlayers:\n" + CONV, 4, "beyond a float"),
    "yaml-float-nan": Hostile("numbers", HEAD + "params: {w: .nan}\nlayers:\n" + CONV, 4, "not a number"),
    "reported-value-1e400": Hostile(
        "numbers", reported("{figure: params, value: 1e400, where: t}"), 6, "beyond a float", "check"
    ),
    "reported-value-text-1e400": Hostile(
        "numbers", reported("{figure: params, value: '1e400', where: t}"), 6, "beyond a float", "check"
    ),
    "reported-value-400-digits": Hostile(
        "numbers", reported(f"{{figure: params, value: {big_number(400)}, where: t}}"), 6, "beyond a float", "check"
    ),
    "reported-tolerance-1e400": Hostile(
        "numbers", reported("{figure: params, value: 100, tolerance: 1e400, where: t}"), 6, "beyond a float", "check"
    ),
    "reported-value-10-to-the-999": Hostile(
        "numbers", reported("{figure: macs, value: '4.2×10^999', where: t}"), 6, "beyond a float", "check"
    ),
    # 4. text that cannot be formatted or encoded
    "names-empty-field": Hostile(
        "text", HEAD + "layers:\n  - relu: {repeat: 2, names: 'x{}{n}'}\n", 5, "names must be"
    ),
    "names-positional-field": Hostile(
        "text", HEAD + "layers:\n  - relu: {repeat: 2, names: 'x{0}'}\n", 5, "names must be"
    ),
    "names-attribute": Hostile(
        "text", HEAD + "layers:\n  - relu: {repeat: 2, names: 'x{n.real}'}\n", 5, "names must be"
    ),
    "names-conversion": Hostile("text", HEAD + "layers:\n  - relu: {repeat: 2, names: 'x{n!r}'}\n", 5, "names must be"),
    "names-format-spec": Hostile(
        "text", HEAD + "layers:\n  - relu: {repeat: 2, names: 'x{n:>99}'}\n", 5, "names must be"
    ),
    "names-lone-brace": Hostile("text", HEAD + "layers:\n  - relu: {repeat: 2, names: 'x{n'}\n", 5, "names must be"),
    "surrogate-title": Hostile("text", HEAD + 'title: "a\\ud800b"\nlayers:\n' + CONV, 4, "lone surrogate"),
    "surrogate-name": Hostile(
        "text", 'archcost: 1\nname: "\\udfff"\ninput: [3, 8, 8]\nlayers:\n' + CONV, 2, "surrogate"
    ),
    "surrogate-layer-name": Hostile("text", HEAD + 'layers:\n  - relu: {name: "r\\ud800"}\n', 5, "surrogate"),
    "surrogate-key": Hostile("text", HEAD + 'layers:\n  - relu: {"\\ud800": 1}\n', 5, "surrogate"),
    "surrogate-description": Hostile("text", HEAD + 'description: "\\udc80"\nlayers:\n' + CONV, 4, "surrogate"),
    # 5. work that makes no layers
    "when-false-repeated": Hostile(
        "expansion",
        HEAD
        + "layers:\n"
        + CONV
        + "  - sequential: {repeat: 100000, layers: "
        + "[{sequential: {repeat: 100000, layers: [{relu: {when: false}}]}}]}\n",
        6,
        "expansion steps",
    ),
    "empty-sequential-repeated": Hostile(
        "expansion",
        HEAD
        + "layers:\n"
        + CONV
        + "  - sequential: {repeat: 100000, layers: [{sequential: {repeat: 100000, layers: []}}]}\n",
        6,
        "expansion steps",
    ),
    "empty-block-repeated": Hostile(
        "expansion",
        HEAD
        + "blocks:\n  nothing: {layers: [{relu: {when: false}}]}\nlayers:\n"
        + CONV
        + "  - sequential: {repeat: 100000, layers: [{nothing: {repeat: 100000}}]}\n",
        8,
        "expansion steps",
    ),
    "switched-off-branches-repeated": Hostile(
        "expansion",
        HEAD
        + "layers:\n"
        + CONV
        + "  - sequential: {repeat: 100000, layers: "
        + "[{sequential: {repeat: 100000, layers: [{relu: {when: '$(cin < 0)'}}]}}]}\n",
        6,
        "expansion steps",
    ),
    # memory: long names times repeats
    "long-names-repeated": Hostile(
        "names",
        HEAD
        + "layers:\n"
        + CONV
        + f"  - sequential: {{name: {'s' * 3000}, repeat: 1000, layers: "
        + f"[{{sequential: {{name: {'q' * 3000}, repeat: 100, layers: [relu]}}}}]}}\n",
        6,
        "layer names together are longer than",
    ),
    # 6. errors with a place
    "reported-missing-layer": Hostile(
        "place", reported("{figure: params, value: 100, where: t, layer: nope}"), 6, "no such layer", "check"
    ),
    "reported-input-zero": Hostile(
        "place", reported("{figure: params, value: 100, where: t, input: [3, 0, 0]}"), 6, "from 1 to 10^30", "check"
    ),
    "reported-input-huge": Hostile(
        "place", reported(f"{{figure: params, value: 1, where: t, input: [3, 1{'0' * 31}, 8]}}"), 6, "10^30", "check"
    ),
    "reported-input-rank": Hostile(
        "place", reported("{figure: params, value: 100, where: t, input: [3, 8]}"), 6, "give [C, H, W]", "check"
    ),
    "reported-set-unknown": Hostile(
        "place", reported("{figure: params, value: 100, where: t, set: {zz: 1}}"), 6, "reported set", "check"
    ),
    "scaling-not-a-number": Hostile(
        "place", HEAD + "params: {w: abc}\nscaling: {width: w}\nlayers:\n" + CONV, 4, "not a number", "scale"
    ),
    # 9. loose validation
    "version-true": Hostile(
        "validation", "archcost: true\nname: t\ninput: [3, 8, 8]\nlayers:\n" + CONV, 1, "format version"
    ),
    "version-float": Hostile(
        "validation", "archcost: 1.0\nname: t\ninput: [3, 8, 8]\nlayers:\n" + CONV, 1, "format version"
    ),
    "top1-error-500-percent": Hostile(
        "validation",
        reported("{figure: top1_error, value: 500%, where: t, protocol: single crop}"),
        6,
        "from 0 to 100",
        "check",
    ),
    "top5-error-over-100": Hostile(
        "validation",
        reported("{figure: top5_error, value: 100.5, where: t, protocol: 10-crop}"),
        6,
        "0 to 100",
        "check",
    ),
}


# ---------------------------------------------------------------------------- the strategy

NAME_FIELDS = ["{}", "{0}", "{1}", "{x}", "{n.real}", "{i[0]}", "{n!s}", "{i:3}", "{n:>9}", "{", "}", "{{n}", "{n}}"]
"""Pieces of a name pattern that make it no pattern of {i}/{n} alone."""
SURROGATES = ["\\ud800", "\\udbff", "\\udc00", "\\udfff"]
"""Lone surrogates as a double-quoted YAML escape writes them."""
NOTHINGS = [
    "{relu: {when: false}}",
    "{sequential: {layers: []}}",
    "{sequential: {when: '$(cin < 0)', layers: [relu]}}",
    "{relu: {repeat: 3, when: false}}",
]
"""Items that expand to no layer."""


@st.composite
def _numbers(draw: st.DrawFn) -> Hostile:
    digits = draw(st.integers(31, 4299))
    where = draw(st.sampled_from(["expression", "float-argument", "yaml-float", "reported", "tolerance"]))
    if where == "expression":
        literal = big_number(digits) if digits <= 990 else big_number(990)
        return Hostile("numbers", HEAD + f"layers:\n  - conv: {{out: '$({literal} - 1)', kernel: 1}}\n", 5, "")
    if where == "float-argument":
        return Hostile("numbers", HEAD + f"layers:\n{CONV}  - batchnorm: {{eps: {big_number(digits)}}}\n", 6, "")
    exponent = draw(st.integers(309, 100_000))
    floats = [f"1e{exponent}", f"-2.5E+{exponent}", f"{big_number(309)}.5"]
    if where == "yaml-float":
        value = draw(st.sampled_from(floats))
        return Hostile("numbers", HEAD + f"params: {{w: {value}}}\nlayers:\n" + CONV, 4, "")
    value = draw(st.sampled_from([*floats, f"'{big_number(max(digits, 310))}'", f"'1.5×10^{exponent}'"]))
    if where == "reported":
        return Hostile("numbers", reported(f"{{figure: params, value: {value}, where: t}}"), 6, "", "check")
    return Hostile("numbers", reported(f"{{figure: params, value: 1, tolerance: {value}, where: t}}"), 6, "", "check")


@st.composite
def _texts(draw: st.DrawFn) -> Hostile:
    if draw(st.booleans()):
        pieces = draw(st.lists(st.sampled_from(["x", "_", "{n}", "{i}", "7"]), max_size=3))
        pieces.insert(draw(st.integers(0, len(pieces))), draw(st.sampled_from(NAME_FIELDS)))
        pattern = "".join(pieces).replace("'", "''")
        return Hostile("text", HEAD + f"layers:\n  - relu: {{repeat: 2, names: '{pattern}'}}\n", 5, "names must be")
    text = draw(st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=4))
    at = draw(st.integers(0, len(text)))
    value = text[:at] + draw(st.sampled_from(SURROGATES)) + text[at:]
    key = draw(st.sampled_from(["title", "description", "family", "reference"]))
    return Hostile("text", HEAD + f'{key}: "{value}"\nlayers:\n' + CONV, 4, "surrogate")


@st.composite
def _expansions(draw: st.DrawFn) -> Hostile:
    nothing = draw(st.sampled_from(NOTHINGS))
    outer, inner = draw(st.integers(1_000, 100_000)), draw(st.integers(1_000, 100_000))
    text = (
        HEAD
        + "layers:\n"
        + CONV
        + (f"  - sequential: {{repeat: {outer}, layers: [{{sequential: {{repeat: {inner}, layers: [{nothing}]}}}}]}}\n")
    )
    return Hostile("expansion", text, 6, "expansion steps")


@st.composite
def _places(draw: st.DrawFn) -> Hostile:
    which = draw(st.sampled_from(["layer", "input", "rank", "set"]))
    if which == "layer":
        name = draw(st.sampled_from(["nope", "0.x", "00", "conv"]))
        return Hostile("place", reported(f"{{figure: params, value: 1, where: t, layer: '{name}'}}"), 6, "", "check")
    if which == "input":
        size = draw(st.sampled_from(["0", "-3", f"1{'0' * 31}"]))
        return Hostile(
            "place", reported(f"{{figure: params, value: 1, where: t, input: [3, {size}, 8]}}"), 6, "", "check"
        )
    if which == "rank":
        dims = draw(st.lists(st.integers(1, 9), min_size=0, max_size=5).filter(lambda d: len(d) != 3))
        return Hostile("place", reported(f"{{figure: params, value: 1, where: t, input: {dims}}}"), 6, "", "check")
    key = draw(st.text(st.characters(codec="ascii", categories=["Ll"]), min_size=1, max_size=6))
    return Hostile(
        "place", reported(f"{{figure: params, value: 1, where: t, set: {{{key}: 1}}}}"), 6, "reported set", "check"
    )


@st.composite
def _validations(draw: st.DrawFn) -> Hostile:
    if draw(st.booleans()):
        version = draw(st.sampled_from(["true", "1.0", "'1'", "2", "0", "yes", "1e0", "[1]"]))
        return Hostile("validation", f"archcost: {version}\nname: t\ninput: [3, 8, 8]\nlayers:\n" + CONV, 1, "")
    rate = draw(st.one_of(st.floats(100.01, 1e6), st.floats(-1e6, -0.01)))
    figure = draw(st.sampled_from(["top1_error", "top5_error"]))
    entry = f"{{figure: {figure}, value: '{rate:.2f}%', where: t, protocol: single crop}}"
    return Hostile("validation", reported(entry), 6, "", "check")


def hostile_specs() -> st.SearchStrategy[Hostile]:
    """A hostile spec of one of the classes above, with the line its error must name."""
    return st.one_of(_numbers(), _texts(), _expansions(), _places(), _validations())
