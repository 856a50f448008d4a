"""The documentation is checked against the code it describes.

* The layer-kind tables in ``docs/spec-language.md`` and ``docs/conventions.md`` are generated
  from :data:`archcost.layers.CATALOG` by the functions below; the docs must hold exactly that text.
  Regenerate them after changing the catalog with ``python3 -m pytest -m golden --update-golden``.
* Each kind's rules in words sit beside its worked examples in its catalog entry, whose figures are
  derived by hand and checked by tests/test_catalog.py.
* Every complete ```yaml example (one with a top-level ``archcost:`` key) in ``docs/*.md`` and
  ``README.md`` loads and analyzes; figures promised in an ``<!-- expect: ... -->`` comment just
  before an example hold; an example followed by a ```text block is an error example and must fail
  with exactly that message. Every other ```yaml block is a fragment and must at least be valid YAML
  for archcost's loader (duplicate keys, merge keys and odd scalars are refused there too).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Golden, section

from archcost import check, engine, expr, layers, spec, units
from archcost.errors import SpecError
from archcost.layers import Arg, Kind

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SPEC_DOC = DOCS / "spec-language.md"
CONV_DOC = DOCS / "conventions.md"
README = ROOT / "README.md"
EXAMPLE_FILE = "example.yaml"
"""The file name examples are loaded under, so that error examples show a stable location."""


# ---------------------------------------------------------------------------- the generated tables


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
        rows.append(
            f"| {_kind_cell(kind)} | {kind.macs_rule} | {kind.flops_rule} | {kind.params_rule} | {kind.buffers_rule} |"
        )
    return "\n".join(rows)


def _grouped(text_of: Callable[[Kind], str]) -> list[tuple[list[Kind], str]]:
    """Kinds with the same text together, in catalog order of each text's first kind."""
    groups: dict[str, list[Kind]] = {}
    for kind in layers.CATALOG:
        groups.setdefault(text_of(kind), []).append(kind)
    return [(kinds, text) for text, kinds in groups.items()]


def saved_table() -> str:
    """The conventions table of what each kind saves for backward (`Kind.saved_rule`)."""
    rows = ["| kind | what torch 2.13 saves (training mode) |", "|---|---|"]
    for kinds, text in _grouped(lambda k: k.saved_rule):
        rows.append(f"| {', '.join(f'`{k.name}`' for k in kinds)} | {text} |")
    return "\n".join(rows)


def backward_table() -> str:
    """The conventions table of each kind's backward MACs in a training step (`Kind.backward_rule`)."""
    rows = ["| kind | backward MACs (`Kind.backward_rule`) |", "|---|---|"]
    for kinds, text in _grouped(lambda k: k.backward_rule):
        rows.append(f"| {', '.join(f'`{k.name}`' for k in kinds)} | {text} |")
    return "\n".join(rows)


def notes_list() -> str:
    """The conventions doc's notes on each kind (`Kind.note`), one bullet per distinct note."""
    return "\n".join(f"* {text}" for _, text in _grouped(lambda k: k.note))


def limits_table() -> str:
    """The bounds of engine.Limits, the YAML node limit and the expression bounds."""
    limits = engine.Limits()
    rows = [
        "| limit | value | where |",
        "|---|---|---|",
        f"| leaf layers after expansion | {limits.max_layers:,} | `engine.Limits.max_layers` |",
        f"| copies made by one `repeat` | {limits.max_repeat:,} | `engine.Limits.max_repeat` |",
        f"| nesting depth | {limits.max_nesting:,} | `engine.Limits.max_nesting` |",
        f"| expansion steps (5 per allowed layer) | {limits.max_steps:,} | `engine.Limits.max_steps` |",
        f"| characters of all layer names together (256 per allowed layer) | {limits.max_name_chars:,} "
        "| `engine.Limits.max_name_chars` |",
        f"| size of a spec file | {spec.MAX_SPEC_BYTES // 2**20} MiB | `spec.MAX_SPEC_BYTES` |",
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
    CONV_DOC: {
        "costs": costs_table,
        "notes": notes_list,
        "saved": saved_table,
        "fvcore": fvcore_table,
        "backward": backward_table,
    },
}


@pytest.mark.parametrize(
    ("path", "name"), [(p, n) for p, tables in GENERATED.items() for n in tables], ids=lambda v: getattr(v, "name", v)
)
@pytest.mark.golden
def test_generated_section_matches_the_code(path: Path, name: str, golden: Golden) -> None:
    golden.section(path, name, GENERATED[path][name]())


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
