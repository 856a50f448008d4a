"""Fuzzing the loader and the engine: hostile or broken specs never crash, never hang.

Every case either analyses cleanly or raises one SpecError whose text starts with ``file:line``
(line ≥ 1) and holds no line break; never another exception, never more than CASE_SECONDS.
Through the CLI: exit 0 or 2, a one-line error, no traceback.

The cases: bundled specs mutated in their structure (a key dropped or given another type, a
number made zero, negative, huge, fractional or text, a block that calls itself, a layer kind
swapped, an expression dropped in, a subtree moved), their text broken (characters inserted or
deleted, lines duplicated, re-indented or cut), random YAML documents, random specs built
from the layer catalog, and variants of each class of hostile spec in issue 15 (tests/hostile_specs.py).

Reproducible: hypothesis is derandomized (each test's examples follow from its name) and keeps no
example database. ``ARCHCOST_FUZZ_EXAMPLES=N`` runs N examples per test instead of the CI sizes
below (about a minute in all on two cores); ``ARCHCOST_FUZZ_SEED=S`` draws other examples, from
seed S. docs/performance.md has the long-campaign command.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_runner import CliRunner
from hostile_specs import Hostile, hostile_specs
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from archcost import engine, layers, memory, report, spec
from archcost.cli import app
from archcost.errors import SpecError
from archcost.spec import reader

FILE = "fuzz.yaml"
CASE_SECONDS = 2.0
"""Longest a case may take (the slowest bundled spec analyses in about 0.05 s)."""
HANG_SECONDS = 10
"""A case still running after this is stopped and reported as a hang."""
LIMITS = engine.Limits(max_layers=5_000)
"""A lower layer limit than the default, so a mutated repeat count that hits it does so well within
CASE_SECONDS; tests/test_limits.py times the default limit."""

BUNDLED = {name: (spec.bundled_dir() / f"{name}.yaml").read_text(encoding="utf-8") for name in spec.bundled_names()}
DOCS = {name: yaml.safe_load(text) for name, text in BUNDLED.items()}


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
    """Hypothesis settings for one fuzz test: `examples` cases (or ARCHCOST_FUZZ_EXAMPLES), derandomized."""
    count = int(os.environ.get("ARCHCOST_FUZZ_EXAMPLES", examples))
    chosen = os.environ.get("ARCHCOST_FUZZ_SEED")
    configured = settings(
        max_examples=count,
        derandomize=chosen is None,
        database=None,
        deadline=None,  # CASE_SECONDS is checked by hand, with a hang guard
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )

    def apply(test: Any) -> Any:
        test = configured(test)
        return seed(int(chosen))(test) if chosen is not None else test

    return apply


# ---------------------------------------------------------------------------- the property


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Stop a case that runs for `seconds` with TimeoutError (which fails the test)."""

    def stop(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the case ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_error(exc: SpecError) -> None:
    """One line that starts with the file and a line number ≥ 1."""
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    loc = exc.location
    assert loc.file, text
    assert loc.line >= 1, text
    assert text.startswith(f"{loc.file}:{loc.line}"), text


def outcome(text: str) -> str | None:
    """None if `text` analyses cleanly (and reports), else the SpecError's text; anything else fails."""
    start = time.perf_counter()
    result: str | None = None
    with hang_guard(HANG_SECONDS):
        try:
            loaded = spec.load_text(text, FILE, spec.bundled_dir())
            analysis = engine.analyze(loaded, limits=LIMITS)
            mem = memory.memory(analysis)
            data = json.loads(report.render_text(analysis, "json", None, mem, None))
        except SpecError as exc:
            check_error(exc)
            result = str(exc)
        else:
            totals = data["totals"]
            assert all(type(totals[k]) is int and totals[k] >= 0 for k in ("params", "macs", "flops", "activations"))
            assert len(data["layers"]) == len(analysis.layers) >= 1
    elapsed = time.perf_counter() - start
    assert elapsed < CASE_SECONDS, f"{elapsed:.2f} s"
    return result


# ---------------------------------------------------------------------------- structural mutations

Path_ = tuple[Any, ...]

ODD_VALUES: list[Any] = [
    0,
    -1,
    -7,
    1,
    2.5,
    1e12,
    10**40,
    2**64,
    "x",
    "",
    "1e-5",
    "$(10 ** 12)",
    "$(1 / 0)",
    "$(cin +)",
    "$nope",
    "$(cin * 2)",
    "$(hin // 2)",
    "$('a' + 'b')",
    True,
    None,
    [],
    {},
    [1, 2],
    [3, 3, 3],
    {"x": 1},
    "same",
    "valid",
    100_000,
]
"""Values put in a value's place: zero, negative, huge, fractional, text, expressions, other types."""


def odd_values() -> st.SearchStrategy[Any]:
    """One of ODD_VALUES, a fresh copy (later mutations must not change the list)."""
    return st.sampled_from(ODD_VALUES).map(copy.deepcopy)


NODE_NAMES = ["a", "b", "x", "prev", "left", "stem", "conv0", "cell_0"]
"""Names items take and `from` refers to: a few, so that references sometimes resolve (the bundled
NASNet specs use left, x, prev, conv0 and cell_0)."""


def references() -> st.SearchStrategy[Any]:
    """A `from` value: a name, a number (valid ones are negative), an odd value, or a list of them."""
    one = st.one_of(st.sampled_from(NODE_NAMES), st.integers(-4, 1), odd_values())
    return st.one_of(one, one, st.lists(one, min_size=0, max_size=4))


KIND_NAMES = sorted({*layers.KINDS, *layers.ALIASES, *spec.CONTAINERS, "nope", "relu6x"})


def nodes(doc: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) in a YAML document, the root first."""
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from nodes(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from nodes(value, (*path, i))


def get(doc: Any, path: Path_) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def put(doc: Any, path: Path_, value: Any) -> Any:
    """`doc` with the value at `path` replaced (the root replaced if `path` is empty)."""
    if not path:
        return value
    get(doc, path[:-1])[path[-1]] = value
    return doc


def layer_items(doc: Any) -> list[Path_]:
    """Paths of one-key mappings in lists: layer items (and a few look-alikes)."""
    return [p for p, v in nodes(doc) if p and isinstance(p[-1], int) and isinstance(v, dict) and len(v) == 1]


def mutate(data: st.DataObject, doc: Any) -> Any:
    """One structural change to `doc`, drawn by hypothesis."""
    everything = list(nodes(doc))
    op = data.draw(
        st.sampled_from(["drop", "retype", "number", "self", "kind", "insert", "expression", "graft", "delete", "from"])
    )
    if op == "drop":
        maps = [(p, v) for p, v in everything if isinstance(v, dict) and v]
        if maps:
            _, mapping = data.draw(st.sampled_from(maps))
            del mapping[data.draw(st.sampled_from(sorted(mapping, key=str)))]
        return doc
    if op in ("retype", "number"):
        candidates = [p for p, v in everything if p]
        if op == "number":
            candidates = [p for p, v in everything if p and isinstance(v, int | float) and not isinstance(v, bool)]
        if candidates:
            doc = put(doc, data.draw(st.sampled_from(candidates)), data.draw(odd_values()))
        return doc
    if op == "self":
        blocks = doc.get("blocks") if isinstance(doc, dict) else None
        if isinstance(blocks, dict) and blocks:
            name = data.draw(st.sampled_from(sorted(blocks)))
            other = data.draw(st.sampled_from(sorted(blocks)))
            for caller, callee in ((name, other), (other, name)):
                body = blocks[caller].get("layers") if isinstance(blocks[caller], dict) else None
                if isinstance(body, list):
                    body.insert(data.draw(st.integers(0, len(body))), callee)
        elif isinstance(doc, dict):
            doc["blocks"] = {"loop": {"layers": ["relu", "loop"]}}
            if isinstance(doc.get("layers"), list):
                doc["layers"].append("loop")
        return doc
    if op == "kind":
        items = layer_items(doc)
        if items:
            item = get(doc, data.draw(st.sampled_from(items)))
            (old,) = item
            blocks = sorted(doc.get("blocks") or {}) if isinstance(doc, dict) else []
            item[data.draw(st.sampled_from(KIND_NAMES + [b for b in blocks if isinstance(b, str)]))] = item.pop(old)
        return doc
    if op == "from":  # a layer reads another node: the bundled graphs rewired, the trees made graphs
        items = [p for p in layer_items(doc) if isinstance(get(doc, p)[next(iter(get(doc, p)))], dict)]
        if items:
            item = get(doc, data.draw(st.sampled_from(items)))
            item[next(iter(item))]["from"] = data.draw(references())
        return doc
    if op == "insert":
        lists = [(p, v) for p, v in everything if isinstance(v, list)]
        if lists:
            _, target = data.draw(st.sampled_from(lists))
            target.insert(data.draw(st.integers(0, len(target))), data.draw(layer_item(depth=1)))
        return doc
    if op == "expression":
        scalars = [p for p, v in everything if p and not isinstance(v, dict | list)]
        if scalars:
            doc = put(doc, data.draw(st.sampled_from(scalars)), data.draw(expressions()))
        return doc
    if op == "graft":
        if len(everything) > 1:
            source = data.draw(st.sampled_from(everything))[1]
            target = data.draw(st.sampled_from([p for p, _ in everything if p]))
            doc = put(doc, target, copy.deepcopy(source))
        return doc
    lists = [(p, v) for p, v in everything if isinstance(v, list) and v]  # delete a list element
    if lists:
        _, target = data.draw(st.sampled_from(lists))
        del target[data.draw(st.integers(0, len(target) - 1))]
    return doc


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


# ---------------------------------------------------------------------------- generated pieces

NAMES = ["cin", "hin", "win", "width", "depth", "groups", "x", "planes", "stride", "n1"]


@st.composite
def expression_source(draw: st.DrawFn, depth: int = 3) -> str:
    leaf = st.one_of(st.integers(-3, 300).map(str), st.sampled_from(NAMES), st.sampled_from(["1.5", "'a'", "True"]))
    if depth == 0 or draw(st.booleans()):
        return draw(leaf)
    form = draw(st.sampled_from(["binary", "call", "if", "unary", "compare"]))
    left, right = draw(expression_source(depth - 1)), draw(expression_source(depth - 1))
    if form == "binary":
        return f"({left} {draw(st.sampled_from(['+', '-', '*', '/', '//', '%', '**']))} {right})"
    if form == "call":
        function = draw(st.sampled_from(["min", "max", "abs", "ceil", "floor", "round", "int", "make_divisible", "x"]))
        return f"{function}({left}, {right})" if function in ("min", "max", "make_divisible") else f"{function}({left})"
    if form == "if":
        return f"({left} if {draw(expression_source(depth - 1))} else {right})"
    if form == "unary":
        return f"{draw(st.sampled_from(['-', 'not ', '+']))}{left}"
    return f"({left} {draw(st.sampled_from(['<', '==', '>=', '!=']))} {right})"


def expressions() -> st.SearchStrategy[str]:
    return st.one_of(expression_source().map(lambda e: f"$({e})"), st.sampled_from(NAMES).map(lambda n: f"${n}"))


def arg_values(arg: layers.Arg) -> st.SearchStrategy[Any]:
    """Mostly valid values for an argument, sometimes not."""
    valid: dict[str, st.SearchStrategy[Any]] = {
        "int": st.integers(0, 4),
        "posint": st.integers(1, 64),
        "pair": st.one_of(st.integers(1, 5), st.lists(st.integers(1, 5), min_size=2, max_size=2)),
        "pad": st.integers(0, 3),
        "padding": st.one_of(st.integers(0, 3), st.sampled_from(["same", "valid"])),
        "pad4": st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), min_size=4, max_size=4)),
        "bool": st.booleans(),
        "float": st.floats(-10, 10, allow_nan=False),
        "prob": st.floats(0, 1),
    }
    good = valid.get(arg.type, st.integers(1, 8))
    return st.one_of(good, good, good, good, good, odd_values(), expressions())  # 5 in 7 valid


@st.composite
def layer_item(draw: st.DrawFn, depth: int) -> Any:
    """A layer item: a catalog kind with drawn arguments, or (while depth lasts) a container."""
    container = depth > 0 and draw(st.integers(0, 4)) == 0
    if not container:
        kind = draw(st.sampled_from(layers.CATALOG))
        args = {a.name: draw(arg_values(a)) for a in kind.args if a.required or draw(st.booleans())}
        if draw(st.integers(0, 5)) == 0:
            args["name"] = draw(st.sampled_from(NODE_NAMES))
        if kind.merge or draw(st.integers(0, 4)) == 0:  # a merge reads named inputs; any item may
            near = st.integers(-2, -1)  # mostly references that resolve, so that graphs analyse too
            args["from"] = draw(
                st.lists(st.one_of(near, near, st.sampled_from(NODE_NAMES)), min_size=2, max_size=3)
                if kind.merge and draw(st.integers(0, 3))
                else st.one_of(near, near, references())
            )
        if draw(st.integers(0, 6)) == 0:
            args["repeat"] = draw(st.one_of(st.integers(1, 4), odd_values()))
        if draw(st.integers(0, 8)) == 0:
            args["when"] = draw(st.one_of(st.booleans(), expressions()))
        return {kind.name: args} if args or draw(st.booleans()) else kind.name
    body = draw(st.lists(layer_item(depth - 1), min_size=1, max_size=4))
    which = draw(st.sampled_from(["sequential", "parallel", "residual"]))
    if which == "sequential":
        return {"sequential": {"layers": body}}
    if which == "parallel":
        branches = draw(st.lists(st.lists(layer_item(depth - 1), max_size=3), min_size=2, max_size=3))
        return {"parallel": {"merge": draw(st.sampled_from([*spec.MERGES, "stack"])), "branches": branches}}
    residual: dict[str, Any] = {"layers": body, "shortcut": draw(st.sampled_from([*spec.SHORTCUTS, "maybe"]))}
    if draw(st.booleans()):
        residual["projection"] = {"conv": {"out": draw(st.integers(1, 64)), "kernel": 1}}
    return {"residual": residual}


@st.composite
def random_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A spec from the layer catalog: small input, a few layers, sometimes blocks and parameters."""
    maps, vectors = (
        st.lists(st.integers(1, 48), min_size=3, max_size=3),
        st.lists(st.integers(1, 64), min_size=1, max_size=1),
    )
    shape = draw(st.one_of(maps, vectors))
    doc: dict[str, Any] = {"archcost": 1, "name": "random", "input": shape}
    if draw(st.booleans()):
        doc["params"] = {"width": draw(st.integers(1, 32)), "groups": draw(st.integers(1, 4))}
    if draw(st.booleans()):
        doc["blocks"] = {
            "unit": {
                "params": {"planes": None, "stride": 1},
                "layers": draw(st.lists(layer_item(1), min_size=1, max_size=3)),
            }
        }
        if draw(st.booleans()):  # a block with two inputs, as a NASNet cell
            doc["blocks"]["unit"]["inputs"] = draw(
                st.sampled_from([["x", "prev"], ["x", "prev"], ["x", "prev"], ["x"]])
            )
    doc["layers"] = draw(st.lists(layer_item(2), min_size=1, max_size=6))
    if "blocks" in doc and draw(st.booleans()):
        call: dict[str, Any] = {"planes": draw(st.integers(1, 16)), "repeat": draw(st.integers(1, 3))}
        if draw(st.booleans()):
            call["from"] = draw(st.one_of(st.just([-1, -2]), references()))
        doc["layers"].append({"unit": call})
    return doc


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["relu", "conv", "$(cin)", "$x", "~", "&a", "*a", "!!int 3", "- x", "[", "{a: 1}"]),
)
KEYS = st.one_of(st.sampled_from([*spec.TOP_KEYS, "out", "kernel", "relu", "conv", "repeat"]), st.text(max_size=8))
DOCUMENTS = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5), max_leaves=40
)


# ---------------------------------------------------------------------------- the tests


@fuzz_settings(1200)
@given(st.sampled_from(sorted(DOCS)), st.data())
def test_mutated_bundled_specs(name: str, data: st.DataObject) -> None:
    doc = copy.deepcopy(DOCS[name])
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(data, doc)
    outcome(dump(doc))


BREAKERS = [*"[]{}:,-#&*!|>'\"%@`?\t\n ", "- ", ": ", "&a ", "*a", "*b", "!!str ", "<<: ", "---\n", "\x00", "\u2028"]


@fuzz_settings(900)
@given(st.sampled_from(sorted(BUNDLED)), st.data())
def test_broken_text(name: str, data: st.DataObject) -> None:
    text = BUNDLED[name]
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["insert", "delete", "line", "indent", "cut"]))
        if op == "insert":
            text = text[:at] + data.draw(st.sampled_from(BREAKERS)) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 8)) :]
        elif op == "cut":
            text = text[:at]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = data.draw(st.integers(0, len(lines) - 1))
            lines[i] = lines[i] + lines[i] if op == "line" else " " * data.draw(st.integers(1, 3)) + lines[i]
            text = "".join(lines)
    outcome(text)


def parsed(text: str) -> Any:
    """parse_yaml's result with every position, or its error, for comparisons."""

    def walk(value: Any) -> Any:
        if isinstance(value, spec.YMap):
            items = [(k, str(value.key_locs[k]), str(value.value_locs[k]), walk(v)) for k, v in value.items()]
            return ("map", str(value.loc), items)
        if isinstance(value, spec.YList):
            return ("list", str(value.loc), [(str(loc), walk(v)) for v, loc in zip(value, value.locs, strict=True)])
        return (type(value).__name__, value)

    try:
        return walk(spec.parse_yaml(text, FILE))
    except SpecError as exc:
        return ("error", str(exc))


@fuzz_settings(600)
@given(st.sampled_from(sorted(BUNDLED)), st.data())
def test_libyaml_reads_every_text_as_pyyaml(name: str, data: st.DataObject) -> None:
    """The loader reads with libyaml when it can; values, positions and errors are PyYAML's."""
    lines = BUNDLED[name].splitlines(keepends=True)
    start = data.draw(st.integers(0, len(lines) - 1))
    text = "".join(lines[start : start + data.draw(st.integers(1, 40))])
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.sampled_from(BREAKERS)) + text[at + data.draw(st.integers(0, 3)) :]
    fast = parsed(text)
    saved = reader._FAST_LOADER
    try:
        reader._FAST_LOADER = None
        assert parsed(text) == fast
    finally:
        reader._FAST_LOADER = saved


@fuzz_settings(500)
@given(DOCUMENTS, st.booleans())
def test_random_yaml(doc: Any, as_layers: bool) -> None:
    if as_layers:  # inside a valid header, so that it reaches the layer validation
        doc = {"archcost": 1, "name": "r", "input": [3, 8, 8], "layers": doc}
    outcome(dump(doc))


@fuzz_settings(600)
@given(random_specs())
def test_random_specs(doc: dict[str, Any]) -> None:
    outcome(dump(doc))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


CLI_ERROR = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+)(:\d+)?: .+$")


@fuzz_settings(120)
@given(st.sampled_from(sorted(DOCS)), st.data(), st.sampled_from(["table", "json"]))
def test_cli_on_mutated_specs(workdir: Path, name: str, data: st.DataObject, fmt: str) -> None:
    doc = copy.deepcopy(DOCS[name])
    doc = mutate(data, doc)
    path = workdir / FILE
    path.write_text(dump(doc), encoding="utf-8")
    with hang_guard(HANG_SECONDS):
        result = CliRunner().invoke(app, ["show", str(path), "--format", fmt, "--max-layers", str(LIMITS.max_layers)])
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        match = CLI_ERROR.match(lines[0])
        assert match is not None, lines[0]
        assert int(match["line"]) >= 1
    elif fmt == "json":
        assert type(json.loads(result.stdout)["totals"]["params"]) is int


@fuzz_settings(150)
@given(hostile_specs())
def test_hostile_specs_through_the_cli(workdir: Path, case: Hostile) -> None:
    """Variants of each class of issue 15 (tests/hostile_specs.py): exit 2 and one line at the case's line."""
    path = workdir / FILE
    path.write_text(case.text, encoding="utf-8")
    limit = ["--max-layers", str(LIMITS.max_layers)] if case.command == "show" else []
    start = time.perf_counter()
    with hang_guard(HANG_SECONDS):
        result = CliRunner().invoke(app, [case.command, str(path), *limit])
    assert time.perf_counter() - start < CASE_SECONDS * 2
    assert result.exit_code == 2, (case, result.exit_code, result.output[-500:], result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    match = CLI_ERROR.match(lines[0])
    assert match is not None, lines[0]
    assert match["file"] == str(path) and int(match["line"]) == case.line, (case, lines[0])
    assert case.fragment in lines[0], (case, lines[0])


def test_mutations_reach_every_outcome() -> None:
    """The mutations are not all rejected at the first key: some analyse, some fail in the engine."""
    cases = [
        ("resnet18", ("layers", 0, "conv", "out"), 0),
        ("resnet18", ("layers", 0, "conv", "out"), 32),
        ("alexnet", ("input",), [3, 0, 224]),
        ("vgg16", ("params",), 7),
    ]
    results = []
    for name, path, value in cases:
        doc = copy.deepcopy(DOCS[name])
        if path[:3] == ("layers", 0, "conv") and "conv" not in doc["layers"][0]:
            pytest.skip(f"{name}'s first layer is not a conv")
        results.append(outcome(dump(put(doc, path, value))))
    assert results[0] is not None and "out must be a whole number" in results[0]
    assert results[1] is None  # a narrower stem still analyses
    assert results[2] is not None and "input sizes must be whole numbers ≥ 1, got 0" in results[2]
    assert results[3] is not None and results[3].startswith(f"{FILE}:")


def test_from_mutations_reach_every_outcome() -> None:
    """A rewired `from` in a bundled graph analyses, or fails with the graph's own errors."""
    at = ("blocks", "fractal_block", "layers", 2, "unit", "from")
    rewired = [outcome(dump(put(copy.deepcopy(DOCS["fractalnet"]), at, ref))) for ref in (-1, "conv2_0", "nope", -9)]
    assert rewired[0] is None and rewired[1] is None
    assert rewired[2] is not None and "from: no earlier item is named 'nope' here" in rewired[2]
    assert rewired[3] is not None and "from: -9 reaches before the start of this list" in rewired[3]


def test_cli_error_on_line_100_is_not_an_emoji(workdir: Path) -> None:
    """Found by the fuzzer: rich read ':100:' in 'fuzz.yaml:100:7' as an emoji code."""
    path = workdir / "line100.yaml"
    path.write_text("archcost: 1\nname: t\ninput: [3, 8, 8]\n" + "#\n" * 96 + "layers: [rellu]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["show", str(path)])
    assert result.exit_code == 2
    assert f"{path}:100:10: unknown layer kind 'rellu'" in result.stderr


@pytest.mark.parametrize("command", [["show"], ["check"], ["compare", "lenet5"]])
def test_cli_spec_text_is_not_markup(workdir: Path, command: list[str]) -> None:
    """A title such as 'Net [/x]' is text: rich must not read it as a closing tag."""
    path = workdir / "markup.yaml"
    path.write_text('archcost: 1\nname: t\ntitle: "Net [/x]"\ninput: [3, 8, 8]\nlayers: [relu]\n', encoding="utf-8")
    result = CliRunner().invoke(app, [command[0], str(path), *command[1:]])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Net [/x]" in result.stdout
