"""The documentation is checked against the code it describes.

* The layer-kind tables in ``docs/spec-language.md`` and ``docs/conventions.md`` are generated
  from :data:`archcost.layers.CATALOG` by the functions below; the docs must hold exactly that text.
  Regenerate them after changing the catalog with ``PYTHONPATH=. python3 tests/test_docs.py --write``.
* Each written cost rule (MACs, params, buffers, FLOPs) is also checked against the kind's
  ``infer`` on probe inputs, with the rule re-derived by hand here, so the text cannot drift from
  the arithmetic.
* Every complete ```yaml example (one with a top-level ``archcost:`` key) in ``docs/*.md`` and
  ``README.md`` loads and analyzes; figures promised in an ``<!-- expect: ... -->`` comment just
  before an example hold; an example followed by a ```text block is an error example and must fail
  with exactly that message. Every other ```yaml block is a fragment and must at least be valid YAML
  for archcost's loader (duplicate keys, merge keys and odd scalars are refused there too).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from archcost import check, engine, expr, layers, spec, units
from archcost.errors import SpecError
from archcost.layers import Arg, Args, Kind, Shape

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SPEC_DOC = DOCS / "spec-language.md"
CONV_DOC = DOCS / "conventions.md"
README = ROOT / "README.md"
EXAMPLE_FILE = "example.yaml"
"""The file name examples are loaded under, so that error examples show a stable location."""


# ---------------------------------------------------------------------------- the generated tables


@dataclass(frozen=True)
class Rule:
    """How a weighted kind's MACs, params and buffers are counted: the words in the doc, and the
    same rule as arithmetic (inputs, arguments, output) → int, checked against ``infer``."""

    macs: str
    params: str
    buffers: str
    macs_of: Callable[[tuple[Shape, ...], Args, Shape], int]
    params_of: Callable[[tuple[Shape, ...], Args, Shape], int]
    buffers_of: Callable[[tuple[Shape, ...], Args, Shape], int]


def _zero(ins: tuple[Shape, ...], a: Args, out: Shape) -> int:
    return 0


def _conv_macs(ins: tuple[Shape, ...], a: Args, out: Shape) -> int:
    c_in, (kh, kw) = ins[0][0], a.pair("kernel")
    return out[0] * out[1] * out[2] * kh * kw * (c_in // a.integer("groups"))


def _conv_params(ins: tuple[Shape, ...], a: Args, out: Shape) -> int:
    c_in, (kh, kw) = ins[0][0], a.pair("kernel")
    return kh * kw * (c_in // a.integer("groups")) * out[0] + (out[0] if a.flag("bias") else 0)


RULES: dict[str, Rule] = {
    "conv": Rule(
        "C_out·H_out·W_out · k_h·k_w·C_in/groups",
        "k_h·k_w·(C_in/groups)·C_out, + C_out if bias",
        "0",
        _conv_macs,
        _conv_params,
        _zero,
    ),
    "linear": Rule(
        "N_in·N_out",
        "N_in·N_out, + N_out if bias",
        "0",
        lambda ins, a, out: ins[0][0] * out[0],
        lambda ins, a, out: ins[0][0] * out[0] + (out[0] if a.flag("bias") else 0),
        _zero,
    ),
    "batchnorm": Rule(
        "0",
        "2·C (γ, β) if affine, else 0",
        "2·C (running mean and variance)",
        _zero,
        lambda ins, a, out: 2 * ins[0][0] if a.flag("affine") else 0,
        lambda ins, a, out: 2 * ins[0][0],
    ),
}
"""Kinds with weights or state. Every other kind must have 0 MACs, params and buffers (checked)."""

NO_COST = Rule("0", "0", "0", _zero, _zero, _zero)


def _default_text(arg: Arg) -> str:
    if arg.required:
        return "required"
    value = arg.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _arg_text(arg: Arg) -> str:
    text = f"`{arg.name}` ({arg.type}, {_default_text(arg)})"
    return f"{text}: {arg.doc}" if arg.doc else text


def _kind_cell(kind: Kind) -> str:
    cell = f"`{kind.name}`"
    if kind.aliases:
        cell += " (alias " + ", ".join(f"`{a}`" for a in kind.aliases) + ")"
    if kind.merge:
        cell += " (merge only)"
    return cell


def kinds_table() -> str:
    """The spec-language table: every kind with its arguments (type, default) and summary."""
    rows = ["| kind | arguments: `name` (type, default) | what it is |", "|---|---|---|"]
    for kind in layers.CATALOG:
        args = "<br>".join(_arg_text(a) for a in kind.args) or "—"
        rows.append(f"| {_kind_cell(kind)} | {args} | {kind.summary} |")
    return "\n".join(rows)


def types_table() -> str:
    """The argument types of the kinds table, as the errors describe them."""
    rows = ["| type | accepts |", "|---|---|"]
    rows += [f"| {name} | {text} |" for name, text in layers.ARG_TYPES.items()]
    return "\n".join(rows)


def costs_table() -> str:
    """The conventions table: per kind, how MACs, FLOPs, params and buffers are counted."""
    rows = ["| kind | MACs | FLOPs (`Kind.flops_rule`) | params | buffers |", "|---|---|---|---|---|"]
    for kind in layers.CATALOG:
        rule = RULES.get(kind.name, NO_COST)
        rows.append(f"| {_kind_cell(kind)} | {rule.macs} | {kind.flops_rule} | {rule.params} | {rule.buffers} |")
    return "\n".join(rows)


def limits_table() -> str:
    """The bounds of engine.Limits, the YAML node limit and the expression bounds."""
    limits = engine.Limits()
    rows = [
        "| limit | value | where |",
        "|---|---|---|",
        f"| leaf layers after expansion | {limits.max_layers:,} | `engine.Limits.max_layers` |",
        f"| copies made by one `repeat` | {limits.max_repeat:,} | `engine.Limits.max_repeat` |",
        f"| nesting depth | {limits.max_nesting:,} | `engine.Limits.max_nesting` |",
        f"| YAML nodes, aliases expanded | {spec.MAX_YAML_NODES:,} | `spec.MAX_YAML_NODES` |",
        f"| YAML nesting (mappings and lists) | {spec.MAX_YAML_DEPTH:,} levels | `spec.MAX_YAML_DEPTH` |",
        f"| length of an expression | {expr.MAX_SOURCE:,} characters | `expr.MAX_SOURCE` |",
        f"| magnitude of any number an expression produces | 10^{round(math.log10(expr.MAX_MAGNITUDE))} "
        "| `expr.MAX_MAGNITUDE` |",
        "| exponent of `**` | 64 | `expr` |",
        f"| length of text an expression builds | {expr.MAX_TEXT:,} characters | `expr.MAX_TEXT` |",
    ]
    return "\n".join(rows)


def reported_table() -> str:
    """The keys of one `paper.reported` entry."""
    rows = ["| key | meaning |", "|---|---|"]
    rows += [f"| `{key}` | {text} |" for key, text in spec.REPORTED_KEYS.items()]
    return "\n".join(rows)


def fvcore_table() -> str:
    """Per kind: archcost's FLOPs rule beside fvcore's count (`Kind.fvcore_rule`)."""
    rows = ["| kind | archcost FLOPs | fvcore's count (`Kind.fvcore_rule`) |", "|---|---|---|"]
    rows += [f"| {_kind_cell(kind)} | {kind.flops_rule} | {kind.fvcore_rule} |" for kind in layers.CATALOG]
    return "\n".join(rows)


GENERATED: dict[Path, dict[str, Callable[[], str]]] = {
    SPEC_DOC: {"kinds": kinds_table, "types": types_table, "limits": limits_table, "reported": reported_table},
    CONV_DOC: {"costs": costs_table, "fvcore": fvcore_table},
}


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name} -->", f"<!-- end:{name} -->"


def section(text: str, name: str) -> str:
    """The text between a generated section's markers."""
    start, end = _markers(name)
    assert start in text and end in text, f"markers {start} … {end} are missing"
    return text[text.index(start) + len(start) : text.index(end)].strip("\n")


def regenerate(text: str, name: str, body: str) -> str:
    start, end = _markers(name)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


@pytest.mark.parametrize(
    ("path", "name"), [(p, n) for p, tables in GENERATED.items() for n in tables], ids=lambda v: getattr(v, "name", v)
)
def test_generated_section_matches_the_code(path: Path, name: str) -> None:
    expected = GENERATED[path][name]()
    assert section(path.read_text(encoding="utf-8"), name) == expected, (
        f"{path.name}: the {name} table is stale; run `PYTHONPATH=. python3 tests/test_docs.py --write`"
    )


def _table_row(text: str, kind: Kind) -> str:
    rows = [line for line in text.splitlines() if line.startswith(f"| {_kind_cell(kind)} |")]
    assert len(rows) == 1, f"{kind.name}: expected one table row, found {len(rows)}"
    return rows[0]


@pytest.mark.parametrize("kind", layers.CATALOG, ids=lambda k: k.name)
def test_every_kind_is_in_both_tables(kind: Kind) -> None:
    spec_row = _table_row(section(SPEC_DOC.read_text(encoding="utf-8"), "kinds"), kind)
    for arg in kind.args:
        assert f"`{arg.name}` ({arg.type}, {_default_text(arg)})" in spec_row
    assert kind.summary in spec_row
    cost_row = _table_row(section(CONV_DOC.read_text(encoding="utf-8"), "costs"), kind)
    assert f"| {kind.flops_rule} |" in cost_row
    for alias in kind.aliases:
        assert f"`{alias}`" in spec_row and f"`{alias}`" in cost_row
        assert layers.lookup(alias) is kind


# ---------------------------------------------------------------------------- the rules are the arithmetic


PROBE_MAP: Shape = (8, 10, 10)
PROBE_VECTOR: Shape = (24,)
PROBE_REQUIRED: dict[str, object] = {
    "posint": 4,
    "int": 1,
    "pair": 3,
    "pad": 1,
    "padding": 1,
    "pad4": [1, 2, 0, 1],
    "bool": True,
    "float": 0.5,
    "prob": 0.5,
}
VARIANTS: dict[str, list[dict[str, object]]] = {
    "conv": [
        {"stride": [2, 1], "padding": [1, 0], "dilation": [2, 1], "groups": 2, "bias": False},
        {"padding": "same", "dilation": 2, "groups": 8, "out": 8},
        {"kernel": [1, 3], "padding": "valid"},
    ],
    "linear": [{"bias": False}],
    "maxpool": [{"stride": 2, "padding": 1, "ceil_mode": True}, {"kernel": [2, 3], "dilation": 2}],
    "avgpool": [{"stride": 3, "padding": 1, "ceil_mode": True}, {"kernel": [2, 4], "stride": [2, 1]}],
    "adaptive_avgpool": [{"output": [4, 7]}, {"output": 1}],
    "batchnorm": [{"affine": False}],
    "lrn": [{"size": 5}],
}
"""Argument sets beyond the defaults, for kinds whose cost depends on them."""


def _probe_args(kind: Kind, extra: dict[str, object]) -> Args:
    values = {}
    for arg in kind.args:
        raw = extra.get(arg.name, PROBE_REQUIRED[arg.type] if arg.required else arg.default)
        values[arg.name] = layers.coerce(arg, raw)
    return Args(values)


def _probe_inputs(kind: Kind) -> Iterator[tuple[Shape, ...]]:
    if kind.merge:
        yield (PROBE_MAP, PROBE_MAP)
        yield (PROBE_MAP, PROBE_MAP, PROBE_MAP)
        if kind.name == "multiply":
            yield (PROBE_MAP, (PROBE_MAP[0], 1, 1))
        if kind.name == "concat":
            yield (PROBE_MAP, (3, *PROBE_MAP[1:]))
        return
    yield (PROBE_MAP,)
    yield (PROBE_VECTOR,)


def _probes() -> Iterator[tuple[Kind, tuple[Shape, ...], dict[str, object]]]:
    for kind in layers.CATALOG:
        for extra in [{}, *VARIANTS.get(kind.name, [])]:
            for ins in _probe_inputs(kind):
                yield kind, ins, extra


def _adaptive_window_sum(n: int, out: int) -> int:
    # torch's adaptive pooling windows: [floor(i·n/out), ceil((i+1)·n/out)), written independently.
    return sum(math.ceil((i + 1) * n / out) - math.floor(i * n / out) for i in range(out))


def _flops_by_rule(kind: Kind, ins: tuple[Shape, ...], a: Args, cost: layers.Cost) -> int:
    """The FLOPs that the documented rule (Kind.flops_rule) gives, re-derived by hand."""
    out_elems = math.prod(cost.output)
    in_elems = math.prod(ins[0])
    rule = kind.flops_rule
    if rule == "0":
        return 0
    per_element = re.fullmatch(r"(\d+) per element \(.*\)", rule)
    if per_element:
        return int(per_element.group(1)) * in_elems
    name = kind.name
    if name in ("conv", "linear"):
        assert rule.startswith("2·MACs + 1 per output"), rule
        return 2 * RULES[name].macs_of(ins, a, cost.output) + (out_elems if a.flag("bias") else 0)
    if name == "maxpool":
        kh, kw = a.pair("kernel")
        return (kh * kw - 1) * out_elems
    if name == "avgpool":
        kh, kw = a.pair("kernel")
        return kh * kw * out_elems
    if name == "adaptive_avgpool":
        c, h, w = ins[0]
        oh, ow = a.pair("output")
        return c * _adaptive_window_sum(h, oh) * _adaptive_window_sum(w, ow)
    if name == "global_avgpool":
        return in_elems
    if name == "lrn":
        return (a.integer("size") + 4) * in_elems
    if name in ("add", "multiply"):
        return (len(ins) - 1) * out_elems
    raise AssertionError(f"{name}: no hand derivation for the rule {rule!r}; add one here")


@pytest.mark.parametrize(
    ("kind", "ins", "extra"),
    list(_probes()),
    ids=lambda v: v.name if isinstance(v, Kind) else str(v),
)
def test_documented_rules_match_infer(kind: Kind, ins: tuple[Shape, ...], extra: dict[str, object]) -> None:
    a = _probe_args(kind, extra)
    try:
        cost = kind.infer(ins, a)
    except layers.ShapeError:
        # Map-only kinds refuse the vector probe and linear refuses the map; nothing else may fail.
        assert len(ins[0]) == 1 or kind.name == "linear", f"{kind.name} rejected the probe {ins}"
        return
    rule = RULES.get(kind.name, NO_COST)
    assert cost.macs == rule.macs_of(ins, a, cost.output), f"{kind.name}: MACs are not {rule.macs}"
    assert cost.params == rule.params_of(ins, a, cost.output), f"{kind.name}: params are not {rule.params}"
    assert cost.buffers == rule.buffers_of(ins, a, cost.output), f"{kind.name}: buffers are not {rule.buffers}"
    assert cost.flops == _flops_by_rule(kind, ins, a, cost), f"{kind.name}: FLOPs are not {kind.flops_rule}"


# ---------------------------------------------------------------------------- examples in the docs


@dataclass(frozen=True)
class Fence:
    """One fenced block of a markdown file."""

    file: Path
    line: int
    lang: str
    body: str
    before: str
    after: str

    @property
    def complete(self) -> bool:
        return self.lang == "yaml" and re.search(r"^archcost:", self.body, re.MULTILINE) is not None

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line}"


FENCE_RE = re.compile(r"^```([\w-]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def fences(path: Path) -> list[Fence]:
    text = path.read_text(encoding="utf-8")
    found = list(FENCE_RE.finditer(text))
    out = []
    for i, m in enumerate(found):
        start_prev = found[i - 1].end() if i else 0
        end_next = found[i + 1].start() if i + 1 < len(found) else len(text)
        out.append(
            Fence(
                file=path,
                line=text.count("\n", 0, m.start()) + 1,
                lang=m.group(1),
                body=m.group(2),
                before=text[start_prev : m.start()],
                after=text[m.end() : end_next],
            )
        )
    return out


def _next_fence(fence: Fence, all_fences: list[Fence]) -> Fence | None:
    index = all_fences.index(fence)
    if index + 1 < len(all_fences) and not fence.after.strip():
        return all_fences[index + 1]
    return None


def _doc_files() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _yaml_fences(paths: list[Path]) -> list[tuple[Fence, Fence | None]]:
    out = []
    for path in paths:
        all_fences = fences(path)
        out += [(f, _next_fence(f, all_fences)) for f in all_fences if f.lang == "yaml"]
    return out


EXPECT_RE = re.compile(r"<!--\s*expect:(.*?)-->", re.DOTALL)


def _expectations(fence: Fence) -> dict[str, str]:
    found = EXPECT_RE.findall(fence.before)
    if not found:
        return {}
    pairs = found[-1].split()
    return dict(p.split("=", 1) for p in pairs)


def _check_example(fence: Fence, following: Fence | None) -> None:
    if following is not None and following.lang == "text" and following.body.startswith(f"{EXAMPLE_FILE}:"):
        with pytest.raises(SpecError) as caught:
            engine.analyze(spec.load_text(fence.body, EXAMPLE_FILE))
        assert str(caught.value) == following.body.strip(), f"{fence}: the documented error differs"
        return
    loaded = spec.load_text(fence.body, EXAMPLE_FILE)
    analysis = engine.analyze(loaded)
    names = {layer.name for layer in analysis.layers}
    if loaded.meta.get("reported"):
        rows = check.check_spec(
            loaded, lambda sets, shape: engine.analyze(loaded, overrides=sets, input_override=shape)
        )
        failed = [(r.figure, r.layer, r.reported, r.computed) for r in rows if r.failed]
        assert not failed, f"{fence}: reported figures fail `archcost check`: {failed}"
    for key, value in _expectations(fence).items():
        if key in ("params", "buffers", "macs", "flops", "activations"):
            got = getattr(analysis.totals, key)
            assert got == int(value.replace(",", "")), f"{fence}: {key} is {got:,}, the doc says {value}"
        elif key == "output":
            got_shape = "x".join(map(str, analysis.output.output_shape))
            assert got_shape == value, f"{fence}: the output is {got_shape}, the doc says {value}"
        elif key == "layers":
            for name in value.split(","):
                assert name in names, f"{fence}: no layer named {name}; the doc names it"
        elif key == "rf":
            assert analysis.output.rf == (int(value), int(value)), f"{fence}: rf is {analysis.output.rf}"
        else:
            raise AssertionError(f"{fence}: unknown expectation {key!r}")


@pytest.mark.parametrize(("fence", "following"), _yaml_fences(_doc_files()), ids=str)
def test_doc_yaml_examples(fence: Fence, following: Fence | None) -> None:
    if fence.complete:
        _check_example(fence, following)
    else:
        assert not _expectations(fence), f"{fence}: an expect comment before a fragment"
        spec.parse_yaml(fence.body, str(fence))  # a fragment: valid YAML for archcost's loader


def test_docs_have_complete_examples() -> None:
    complete = [f for f, _ in _yaml_fences(_doc_files()) if f.complete]
    assert len(complete) >= 6, "the spec-language doc's worked examples are missing"


def test_readme_quick_start() -> None:
    if not README.is_file():
        pytest.skip("README.md is not written yet")
    text = README.read_text(encoding="utf-8")
    for fence, following in _yaml_fences([README]):
        if fence.complete:
            _check_example(fence, following)
    for name in re.findall(r"archcost show ([a-z][a-z0-9_]*)(?![\w./-])", text):
        assert name in spec.bundled_names(), f"README shows `archcost show {name}` but no such bundled spec"


# ---------------------------------------------------------------------------- named constants in the prose


def test_spec_doc_names_every_key_and_function() -> None:
    text = SPEC_DOC.read_text(encoding="utf-8")
    for word in [*spec.TOP_KEYS, *spec.COMMON_KEYS, *spec.MERGES, *spec.SHORTCUTS, *spec.CONTAINERS]:
        assert f"`{word}`" in text, f"spec-language.md does not mention `{word}`"
    for word in [*spec.PAPER_KEYS, *spec.BLOCK_KEYS, *engine.RESERVED]:
        assert f"`{word}`" in text, f"spec-language.md does not mention `{word}`"
    for function in expr.FUNCTIONS:
        assert f"`{function}(" in text, f"spec-language.md does not describe the function {function}()"


def test_conventions_doc_names_every_dtype() -> None:
    text = CONV_DOC.read_text(encoding="utf-8")
    for dtype, size in units.DTYPE_BYTES.items():
        assert f"| `{dtype}` | {size} |" in text, f"conventions.md: {dtype} should be {size} bytes"


def main(argv: list[str]) -> int:
    """Print the generated tables, or with --write rewrite them in the docs."""
    write = "--write" in argv
    for path, tables in GENERATED.items():
        if not write:
            for name, make in tables.items():
                print(f"{path.name} · {name}\n{make()}\n")
            continue
        text = path.read_text(encoding="utf-8")
        for name, make in tables.items():
            text = regenerate(text, name, make())
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
