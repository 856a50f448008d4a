"""The Spec tree and its validation: a parsed YAML document (:mod:`.reader`) into :class:`Spec`.

Loading checks structure only (keys, kinds, blocks, literal types); values that hold expressions
are evaluated later, when the engine expands the spec with the input shapes known. The grammar is
documented in ``docs/spec-language.md``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from archcost import expr, layers
from archcost.errors import Location, SpecError
from archcost.spec import figures
from archcost.spec.reader import YList, YMap, printable

FORMAT_VERSION: Final = 1
CONTAINERS: Final = ("sequential", "parallel", "residual")
RESERVED: Final = ("cin", "hin", "win")
"""Names every expression can read: the current layer's input channels, height and width."""
COPY: Final = "copy"
"""The name an item's expressions read for the index (0, 1, …) of its copy in the innermost `repeat`."""
COMMON_KEYS: Final = ("name", "repeat", "first", "names", "when", "from")
MERGES: Final = ("concat", "add", "multiply", "mean")
SHORTCUTS: Final = ("auto", "identity", "projection", "optional")
NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^[0-9]+$")
TOP_KEYS: Final = {
    "archcost": "the spec format version (1)",
    "name": "the spec's name",
    "extends": "a spec (bundled name or relative path) whose input, params, blocks and layers this one reuses",
    "scaling": "which model parameters scale width, depth and resolution (for archcost scale)",
    "title": "a display name",
    "family": "the architecture family",
    "year": "year of publication",
    "description": "one paragraph on the network",
    "paper": "the paper: title, authors, year, url, venue, note",
    "reference": "the implementation this spec reproduces",
    "notes": "notes on choices and differences",
    "input": "[C, H, W]",
    "params": "model-level parameters with defaults",
    "blocks": "reusable parameterized blocks",
    "layers": "the network, a list of layers",
}
PAPER_KEYS: Final = ("title", "authors", "year", "url", "venue", "note", "reported")
COMPUTED_FIGURES: Final = (
    "params",
    "macs",
    "flops",
    "activations",
    "buffers",
    "expected_train_macs",
    "train_step_macs",
    "train_saving",
)
"""Figures archcost computes and can compare with a paper. The training ones are per sample
(docs/conventions.md); ``train_saving`` is the percentage of the training-step MACs that stochastic
depth saves: 100·(1 − expected step / step with every layer run)."""
ACCURACY_FIGURES: Final = ("top1_error", "top5_error")
"""Figures a spec records for comparisons and plots; shown, never computed."""
REPORTED_KEYS: Final = {
    "figure": "what is compared: " + ", ".join(COMPUTED_FIGURES + ACCURACY_FIGURES),
    "value": "the value as the paper prints it: 138M, 3.8e9, 569M mult-adds, 10.07%",
    "where": "where it is printed: table, section or page",
    "unit": "what the paper's unit means (e.g. FLOPs = multiply-adds)",
    "layer": "a layer or group name, for a per-layer figure",
    "set": "parameter overrides the figure applies to",
    "input": "the input [C, H, W] the figure applies to",
    "tolerance": "another tolerance than the printed precision implies",
    "deviation": "why the computed figure differs (makes a failure explained)",
    "protocol": "for accuracy: the evaluation protocol (single crop, 10-crop, dense)",
    "dataset": "for accuracy: the data set (default ImageNet); only ImageNet errors go on compare's accuracy axis",
    "source": "primary (the paper) or secondary (another source, named in note)",
    "note": "anything else",
}
BLOCK_KEYS: Final = ("params", "let", "inputs", "layers", "doc")

Ref = str | int
"""A node reference in `from`: an earlier item's name, or -k for the k-th output back in the same list."""


# ---------------------------------------------------------------------------- the Spec tree


@dataclass(frozen=True)
class Raw:
    """A value as written in the spec (possibly an expression), with its place."""

    value: Any
    loc: Location


@dataclass(frozen=True)
class Item:
    """One entry of a layer list: a layer kind, a container or a block call."""

    kind: str
    loc: Location
    name: str | None = None
    args: Mapping[str, Raw] = field(default_factory=dict)
    repeat: Raw | None = None
    first: Mapping[str, Raw] = field(default_factory=dict)
    names: str | None = None
    when: Raw | None = None
    sources: tuple[Ref, ...] = ()
    """The item's inputs by `from` (empty: the previous item's output)."""
    sources_loc: Location | None = None
    layers: tuple[Item, ...] = ()
    branches: tuple[Item, ...] = ()
    projection: tuple[Item, ...] | None = None
    post: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Block:
    """A reusable block: parameters (None marks a required one), `let` values and a body."""

    name: str
    params: Mapping[str, Raw | None]
    let: Mapping[str, Raw]
    layers: tuple[Item, ...]
    loc: Location
    doc: str = ""
    inputs: tuple[str, ...] = ()
    """Names of the call's inputs inside the body (the first is the call's main input); empty: one, unnamed."""


@dataclass(frozen=True)
class Reported:
    """One figure a spec reports from its paper (see :data:`REPORTED_KEYS`)."""

    figure: str
    value: str
    where: str
    loc: Location
    unit: str = ""
    layer: str = ""
    settings: Mapping[str, Any] | None = None
    input: tuple[int, ...] | None = None
    tolerance: str = ""
    deviation: str = ""
    protocol: str = ""
    source: str = "primary"
    note: str = ""
    dataset: str = "ImageNet"
    places: Mapping[str, Location] = field(default_factory=dict, compare=False)
    """Where each key's value is (an error about the entry names its line)."""


@dataclass(frozen=True)
class Spec:
    """A validated spec: metadata, model parameters, blocks and the layer list."""

    name: str
    file: str
    input: tuple[Raw, ...]
    input_loc: Location
    params: Mapping[str, Raw]
    blocks: Mapping[str, Block]
    layers: tuple[Item, ...]
    meta: Mapping[str, Any]

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.name))


# ---------------------------------------------------------------------------- validation


def _fail(message: str, loc: Location) -> SpecError:
    return SpecError(message, loc)


def check_keys(mapping: YMap, allowed: Iterator[str] | tuple[str, ...] | list[str], what: str) -> None:
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            hint = suggest(key, allowed)
            raise _fail(f"unknown key {key!r} in {what}{hint}; allowed: {', '.join(allowed)}", mapping.key_locs[key])


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def literal(value: Any, loc: Location, what: str, types: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise _fail(f"{what} must be {_type_names(types)}, got {value!r}", loc)
    if not isinstance(value, types):
        raise _fail(f"{what} must be {_type_names(types)}, got {value!r}", loc)
    return value


def _type_names(types: type | tuple[type, ...]) -> str:
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a mapping",
    }
    seq = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t, t.__name__) for t in seq)


def raw(mapping: YMap, key: str) -> Raw:
    value = mapping[key]
    _check_scalar_or_list(value, mapping.value_locs[key], key)
    return Raw(value, mapping.value_locs[key])


def _check_scalar_or_list(value: Any, loc: Location, what: str) -> None:
    if isinstance(value, YMap):
        raise _fail(f"{what} must be a value or a list of values, not a mapping", loc)
    if isinstance(value, YList):
        for element, element_loc in zip(value, value.locs, strict=True):
            if isinstance(element, YMap | YList):
                raise _fail(f"{what} must be a flat list of values", element_loc)
            _check_expression(element, element_loc)
    else:
        _check_expression(value, loc)


def _check_expression(value: Any, loc: Location) -> None:
    if isinstance(value, str) and expr.is_expression(value):
        if expr.parses(value):
            return  # (the engine evaluates it later from the same parse)
        try:
            expr.names_in(value)  # the message for one that does not parse
        except (expr.ExprError, SyntaxError) as exc:
            raise _fail(f"bad expression {value!r}: {exc}", loc) from None


class _Loader:
    def __init__(self, file: str, block_names: set[str]) -> None:
        self.file = file
        self.block_names = block_names

    def items(self, value: Any, loc: Location, what: str) -> tuple[Item, ...]:
        if not isinstance(value, YList):
            raise _fail(f"{what} must be a list of layers", loc)
        return tuple(self.item(v, vl) for v, vl in zip(value, value.locs, strict=True))

    def item(self, value: Any, loc: Location) -> Item:
        if isinstance(value, str):
            if "(" in value:
                raise _fail(f"{value!r}: layers are written as mappings, e.g. `- conv: {{out: 64, kernel: 3}}`", loc)
            kind, args = value, YMap(loc)
        elif isinstance(value, YMap) and len(value) == 1:
            kind = next(iter(value))
            loc = value.key_locs[kind]
            args = value[kind]
            if args is None:
                args = YMap(loc)
            if not isinstance(args, YMap):
                raise _fail(f"the arguments of {kind!r} must be a mapping such as {{name: x, ...}}, got {args!r}", loc)
        elif isinstance(value, YMap):
            keys = ", ".join(printable(k) for k in value)
            raise _fail(
                "a layer is one kind with its arguments, e.g. `- conv: {out: 64, kernel: 3}`; "
                f"got several keys ({keys}): is the indentation of the arguments off?",
                loc,
            )
        else:
            raise _fail(f"a layer must be a kind name or a mapping {{kind: {{arguments}}}}, got {value!r}", loc)
        return self._item(kind, args, loc)

    def _item(self, kind: str, args: YMap, loc: Location) -> Item:
        common: dict[str, Any] = {}
        name = args.get("name")
        if name is not None:
            name_loc = args.value_locs["name"]
            if not isinstance(name, str | int) or isinstance(name, bool) or not NAME_RE.match(str(name)):
                raise _fail(f"name {name!r} must be letters, digits and _ (no dots: they separate the path)", name_loc)
            common["name"] = str(name)
        if "repeat" in args:
            common["repeat"] = raw(args, "repeat")
        if "when" in args:
            common["when"] = raw(args, "when")
        if "names" in args:
            names = literal(args["names"], args.value_locs["names"], "names", str)
            if not _name_pattern(names):
                raise _fail(
                    "names must be a name pattern with {i} (0, 1, ...) or {n} (1, 2, ...), e.g. 'denselayer{n}'",
                    args.value_locs["names"],
                )
            if "repeat" not in args:
                raise _fail("names only applies with repeat", args.key_locs["names"])
            common["names"] = names
        if "from" in args:
            common["sources"] = _sources(args["from"], args.value_locs["from"])
            common["sources_loc"] = args.value_locs["from"]
        first = args.get("first")
        if first is not None:
            if not isinstance(first, YMap):
                raise _fail("first must be a mapping of arguments for the first repetition", args.value_locs["first"])
            if "repeat" not in args:
                raise _fail("first only applies with repeat", args.key_locs["first"])

        if kind in CONTAINERS:
            item = self._container(kind, args, loc, common)
            if len(item.sources) > 1:
                raise _fail(f"a {kind} takes one input; from names {len(item.sources)}", args.value_locs["from"])
        elif kind in self.block_names:
            item = Item(kind, loc, args=self._block_args(kind, args), **common)
            self._check_block_inputs(kind, item, args)
        else:
            item = Item(
                self._kind_name(kind, loc, item_sources=common.get("sources", ())),
                loc,
                **common,
                args=self._kind_args(kind, args),
            )
            found = layers.KINDS[item.kind]
            if not found.merge and len(item.sources) > 1:
                raise _fail(
                    f"{kind!r} takes one input; from names {len(item.sources)} (only the merges "
                    f"{', '.join(MERGES)} and blocks with several inputs take more)",
                    args.value_locs["from"],
                )
        if first is not None:
            if kind in CONTAINERS:
                raise _fail(
                    f"first applies to layer kinds and block calls, not to {kind}: put the {kind} in a block",
                    args.key_locs["first"],
                )
            allowed = self._arg_names(kind)
            check_keys(first, allowed, f"first of {kind!r}")
            item = _replace(item, first={k: raw(first, k) for k in first})
        return item

    def _kind_name(self, kind: str, loc: Location, item_sources: tuple[Ref, ...] = ()) -> str:
        found = layers.lookup(kind)
        if found is None:
            options = [*layers.KINDS, *layers.ALIASES, *CONTAINERS, *sorted(self.block_names)]
            raise _fail(f"unknown layer kind {kind!r}{suggest(kind, options)}", loc)
        if found.merge and len(item_sources) < 2:
            raise _fail(
                f"{kind!r} merges several inputs: name them with `from: [a, b]`, or write "
                f"`parallel: {{merge: {kind}, branches: [...]}}`" + (" or a residual" if kind == "add" else ""),
                loc,
            )
        return found.name

    def _check_block_inputs(self, kind: str, item: Item, args: YMap) -> None:
        """A call gives as many inputs (`from`) as the block names in `inputs` (at least its main one)."""
        wanted = self.blocks_inputs[kind]
        given = len(item.sources) or 1
        if len(wanted) > 1 and given != len(wanted):
            where = args.value_locs.get("from", args.loc)
            raise _fail(
                f"block {kind!r} takes {len(wanted)} inputs ({', '.join(wanted)}): give them with "
                f"`from: [{', '.join(['...'] * len(wanted))}]`, got {given}",
                where,
            )
        if len(wanted) <= 1 and given > 1:
            raise _fail(f"block {kind!r} takes one input; from names {given}", args.value_locs["from"])

    def _arg_names(self, kind: str) -> list[str]:
        if kind in self.block_names:
            return list(self.blocks_params[kind])
        found = layers.lookup(kind)
        return [a.name for a in found.args] if found else []

    def _kind_args(self, kind: str, args: YMap) -> dict[str, Raw]:
        found = layers.lookup(kind)
        assert found is not None
        allowed = [a.name for a in found.args]
        check_keys(args, [*allowed, *COMMON_KEYS], f"{kind!r}")
        out = {k: raw(args, k) for k in args if k not in COMMON_KEYS}
        for arg in found.args:
            if arg.required and arg.name not in out:
                raise _fail(f"{kind!r} needs {arg.name!r} ({arg.doc or layers.ARG_TYPES[arg.type]})", args.loc)
        return out

    def _block_args(self, kind: str, args: YMap) -> dict[str, Raw]:
        params = self.blocks_params[kind]
        check_keys(args, [*params, "args", *COMMON_KEYS], f"the call of block {kind!r}")
        out: dict[str, Raw] = {}
        if "args" in args:
            positional = args["args"]
            where = args.value_locs["args"]
            if not isinstance(positional, YList):
                raise _fail("args must be a list of positional arguments", where)
            if len(positional) > len(params):
                raise _fail(
                    f"block {kind!r} takes {len(params)} arguments ({', '.join(params)}), got {len(positional)}", where
                )
            for pname, value, vloc in zip(params, positional, positional.locs, strict=False):
                _check_scalar_or_list(value, vloc, pname)
                out[pname] = Raw(value, vloc)
        for key in args:
            if key in params:
                if key in out:
                    raise _fail(f"{key!r} is given both in args and by name", args.key_locs[key])
                out[key] = raw(args, key)
        return out

    def _container(self, kind: str, args: YMap, loc: Location, common: dict[str, Any]) -> Item:
        if kind == "sequential":
            check_keys(args, ["layers", *COMMON_KEYS], "sequential")
            body = self.items(self._need(args, "layers", kind), args.value_locs.get("layers", loc), "layers")
            return Item(kind, loc, layers=body, **common)
        if kind == "parallel":
            check_keys(args, ["merge", "branches", *COMMON_KEYS], "parallel")
            merge = literal(self._need(args, "merge", kind), args.value_locs["merge"], "merge", str)
            if merge not in MERGES:
                raise _fail(f"merge must be one of {', '.join(MERGES)}, got {merge!r}", args.value_locs["merge"])
            branches = self._need(args, "branches", kind)
            where = args.value_locs["branches"]
            if not isinstance(branches, YList) or len(branches) < 2:
                raise _fail("branches must be a list of at least two branches", where)
            parsed = tuple(
                Item("sequential", bl, layers=self.items(b, bl, "a branch"))
                if isinstance(b, YList)
                else self.item(b, bl)
                for b, bl in zip(branches, branches.locs, strict=True)
            )
            return Item(kind, loc, args={"merge": Raw(merge, args.value_locs["merge"])}, branches=parsed, **common)
        check_keys(args, ["layers", "shortcut", "projection", "post", "survival", *COMMON_KEYS], "residual")
        body = self.items(self._need(args, "layers", kind), args.value_locs.get("layers", loc), "layers")
        shortcut = args.get("shortcut", "auto")
        where = args.value_locs.get("shortcut", loc)
        if shortcut not in SHORTCUTS:
            raise _fail(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}", where)
        projection = None
        if "projection" in args:
            projection = (self.item(args["projection"], args.value_locs["projection"]),)
        if shortcut == "projection" and projection is None:
            raise _fail("shortcut: projection needs a projection layer", where)
        post = self.items(args["post"], args.value_locs["post"], "post") if "post" in args else ()
        residual_args = {"shortcut": Raw(shortcut, where)}
        if "survival" in args:
            residual_args["survival"] = _survival(args)
        return Item(
            kind,
            loc,
            args=residual_args,
            layers=body,
            projection=projection,
            post=post,
            **common,
        )

    @staticmethod
    def _need(args: YMap, key: str, kind: str) -> Any:
        if key not in args:
            raise _fail(f"{kind} needs {key!r}", args.loc)
        return args[key]

    blocks_params: dict[str, dict[str, Raw | None]]
    blocks_inputs: dict[str, tuple[str, ...]]


def _sources(value: Any, loc: Location) -> tuple[Ref, ...]:
    """The references of a `from` value: one or a list of names and negative whole numbers."""
    values = list(value) if isinstance(value, YList) else [value]
    locs = list(value.locs) if isinstance(value, YList) else [loc]
    if not values:
        raise _fail("from must name at least one earlier item", loc)
    out: list[Ref] = []
    for ref, where in zip(values, locs, strict=True):
        if isinstance(ref, int) and not isinstance(ref, bool):
            if ref >= 0:
                raise _fail(
                    f"from: {ref} is not a reference: a number counts back, -1 is the previous output, "
                    "-2 the one before",
                    where,
                )
            out.append(ref)
        elif isinstance(ref, str) and NAME_RE.match(ref):
            out.append(ref)
        else:
            raise _fail(
                f"from: {printable(str(ref))!r} must be an earlier item's name (letters, digits and _) or -1, -2, ...",
                where,
            )
    return tuple(out)


def _survival(args: YMap) -> Raw:
    """A residual's `survival` as written: a number in [0, 1] or an expression (checked when evaluated)."""
    value, where = args["survival"], args.value_locs["survival"]
    if isinstance(value, str) and expr.is_expression(value):
        return Raw(value, where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _fail(f"survival must be a probability in [0, 1] or an expression, got {expr.shown(value)}", where)
    return Raw(value, where)


def _name_pattern(names: str) -> bool:
    """Whether `names` is a name with {i} or {n} fields, and nothing else in braces (no format specs:
    ``{n:>99999999}`` would make names of 100 MB)."""
    try:  # a field's name is None after the last field, "" for {} or {:x}
        parsed = list(string.Formatter().parse(names))
    except ValueError:
        return False
    fields = [(name, spec, conversion) for _, name, spec, conversion in parsed if name is not None]
    if not fields or any(name not in ("i", "n") or spec or conversion for name, spec, conversion in fields):
        return False
    return NAME_RE.match(names.format(i=0, n=1)) is not None


def _replace(item: Item, **changes: Any) -> Item:
    from dataclasses import replace

    return replace(item, **changes)


SCALING_KEYS: Final = ("width", "depth", "resolution")


def check_document(doc: Any, file: str) -> YMap:
    """`doc` if it is a spec's top-level mapping with only known keys; SpecError otherwise."""
    if not isinstance(doc, YMap):
        raise _fail("a spec is a mapping with keys such as name, input and layers", Location(file, 1))
    check_keys(doc, list(TOP_KEYS), "the spec")
    return doc


def check_version(doc: YMap) -> None:
    """SpecError unless the spec says ``archcost: 1`` (the whole number: not true, not 1.0)."""
    version = doc["archcost"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise _fail(
            f"archcost: {str(version).lower() if isinstance(version, bool) else repr(version)} is not a known"
            f" format version (this is {FORMAT_VERSION})",
            doc.value_locs["archcost"],
        )


def spec_from_document(doc: YMap, file: str) -> Spec:
    """The Spec tree of a spec that does not extend another (see :func:`check_document`)."""
    for key in ("archcost", "name", "input", "layers"):
        if key not in doc:
            raise _fail(f"the spec needs {key!r} ({TOP_KEYS[key]})", doc.loc)
    check_version(doc)
    name = literal(doc["name"], doc.value_locs["name"], "name", str)
    meta = metadata(doc)

    params: dict[str, Raw] = {}
    if "params" in doc:
        pmap = doc["params"]
        if not isinstance(pmap, YMap):
            raise _fail("params must be a mapping of name: default", doc.value_locs["params"])
        for key in pmap:
            _check_param_name(key, pmap.key_locs[key])
            params[key] = raw(pmap, key)

    input_value = doc["input"]
    input_loc = doc.value_locs["input"]
    if not isinstance(input_value, YList) or len(input_value) not in (1, 2, 3):
        raise _fail("input must be [C, H, W] (or [N, D] for tokens, [N] for a vector)", input_loc)
    _check_scalar_or_list(input_value, input_loc, "input")
    input_raw = tuple(Raw(v, vl) for v, vl in zip(input_value, input_value.locs, strict=True))

    blocks_doc = doc.get("blocks", YMap(doc.loc))
    if not isinstance(blocks_doc, YMap):
        raise _fail("blocks must be a mapping of block name: definition", doc.value_locs["blocks"])
    loader = _Loader(file, set(blocks_doc))
    loader.blocks_params = {}
    loader.blocks_inputs = {}
    for bname in blocks_doc:
        bloc = blocks_doc.key_locs[bname]
        if bname in layers.KINDS or bname in layers.ALIASES or bname in CONTAINERS:
            raise _fail(f"block {bname!r} has the name of a built-in kind", bloc)
        _check_param_name(bname, bloc)
        loader.blocks_params[bname] = _block_params(blocks_doc[bname], blocks_doc.value_locs[bname], bname)
        loader.blocks_inputs[bname] = _block_inputs(blocks_doc[bname], loader.blocks_params[bname])
    blocks = {bname: _block(loader, bname, blocks_doc[bname], blocks_doc.key_locs[bname]) for bname in blocks_doc}
    _check_recursion(blocks)
    body = loader.items(doc["layers"], doc.value_locs["layers"], "layers")
    if not body:
        raise _fail("layers is empty", doc.value_locs["layers"])
    check_scaling(meta, params, doc)
    spec = Spec(name, file, input_raw, input_loc, params, blocks, body, meta)
    check_reported(spec)
    return spec


def check_scaling(meta: Mapping[str, Any], params: Mapping[str, Raw], doc: YMap) -> None:
    for key, pname in meta.get("scaling", {}).items():
        if pname not in params:
            raise _fail(f"scaling.{key} names {pname!r}, which is not a model parameter", doc.value_locs["scaling"])


def metadata(doc: YMap) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, types in (("title", str), ("family", str), ("description", str), ("reference", str)):
        if key in doc:
            meta[key] = literal(doc[key], doc.value_locs[key], key, types)
    if "year" in doc:
        meta["year"] = literal(doc["year"], doc.value_locs["year"], "year", int)
    if "notes" in doc:
        notes = doc["notes"]
        if isinstance(notes, str):
            notes = [notes]
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise _fail("notes must be text or a list of texts", doc.value_locs["notes"])
        meta["notes"] = list(notes)
    if "scaling" in doc:
        scaling = doc["scaling"]
        if not isinstance(scaling, YMap):
            raise _fail("scaling must map width, depth and resolution to model parameters", doc.value_locs["scaling"])
        check_keys(scaling, SCALING_KEYS, "scaling")
        for key in scaling:
            literal(scaling[key], scaling.value_locs[key], f"scaling.{key}", str)
        meta["scaling"] = dict(scaling)
    if "paper" in doc:
        paper = doc["paper"]
        if not isinstance(paper, YMap):
            raise _fail("paper must be a mapping: title, authors, year, url", doc.value_locs["paper"])
        check_keys(paper, PAPER_KEYS, "paper")
        for key in paper:
            if key != "reported":
                literal(paper[key], paper.value_locs[key], f"paper.{key}", int if key == "year" else str)
        meta["paper"] = {k: v for k, v in paper.items() if k != "reported"}
        if "reported" in paper:
            meta["reported"] = _reported(paper["reported"], paper.value_locs["reported"])
    return meta


def _reported(value: Any, loc: Location) -> tuple[Reported, ...]:
    if not isinstance(value, YList):
        raise _fail("paper.reported must be a list of figures", loc)
    out = []
    for entry, eloc in zip(value, value.locs, strict=True):
        if not isinstance(entry, YMap):
            raise _fail("each reported figure is a mapping with figure, value and where", eloc)
        check_keys(entry, list(REPORTED_KEYS), "a reported figure")
        for key in ("figure", "value", "where"):
            if key not in entry:
                raise _fail(f"a reported figure needs {key!r} ({REPORTED_KEYS[key]})", entry.loc)
        figure = entry["figure"]
        if figure not in COMPUTED_FIGURES + ACCURACY_FIGURES:
            options = ", ".join(COMPUTED_FIGURES + ACCURACY_FIGURES)
            raise _fail(f"figure {figure!r} is not one of {options}", entry.value_locs["figure"])
        if figure in ACCURACY_FIGURES and "protocol" not in entry:
            raise _fail("an accuracy figure needs its protocol (single crop, 10-crop, ...)", entry.loc)
        text: dict[str, str] = {}
        for key in ("value", "tolerance"):
            if key in entry:
                literal(entry[key], entry.value_locs[key], key, (str, int, float))
                text[key] = _figure_text(entry[key], figure, key, entry.value_locs[key])
        for key in ("where", "unit", "layer", "deviation", "protocol", "note", "dataset"):
            if key in entry:
                text[key] = literal(entry[key], entry.value_locs[key], key, str)
        source = entry.get("source", "primary")
        if source not in ("primary", "secondary", "derived"):
            raise _fail("source must be primary, secondary or derived", entry.value_locs["source"])
        settings = None
        if "set" in entry:
            smap = entry["set"]
            if not isinstance(smap, YMap) or any(isinstance(v, YMap | YList) for v in smap.values()):
                raise _fail("set must be a mapping of parameter: value", entry.value_locs["set"])
            settings = dict(smap)
        shape_in = None
        if "input" in entry:
            dims = entry["input"]
            if not isinstance(dims, YList) or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
                raise _fail("input must be [C, H, W] in whole numbers", entry.value_locs["input"])
            shape_in = tuple(dims)
        out.append(
            Reported(
                figure=figure,
                loc=entry.loc,
                settings=settings,
                input=shape_in,
                source=source,
                places=dict(entry.value_locs),
                **text,
            )
        )
    return tuple(out)


def _figure_text(value: str | float, figure: str, key: str, loc: Location) -> str:
    """A reported value or tolerance as text, once it reads as a finite figure (an error rate: 0 to 100%)."""
    try:
        parsed = figures.parse_value(value)
    except ValueError as exc:
        raise _fail(f"{key}: {exc}", loc) from None
    if key == "value" and figure in ACCURACY_FIGURES and not 0 <= parsed.value <= 100:
        raise _fail(f"value: an error rate is a percentage from 0 to 100, got {printable(str(value))}", loc)
    return str(value)


def check_reported(spec: Spec) -> None:
    """Each reported figure's `set` names the spec's parameters and its `input` has the spec's rank and
    sizes from 1 to 10^30 (SpecError at the entry otherwise): checked once the parameters are final."""
    for entry in spec.meta.get("reported", ()):
        unknown = [key for key in entry.settings or {} if key not in spec.params]
        if unknown:
            known = ", ".join(spec.params) or "none"
            raise _fail(
                f"reported set: the spec has no parameter {printable(unknown[0])!r} (its parameters: {known})",
                entry.places.get("set", entry.loc),
            )
        if entry.input is not None:
            where = entry.places.get("input", entry.loc)
            if len(entry.input) != len(spec.input):
                shape = "[C, H, W]" if len(spec.input) == 3 else "[N]"
                raise _fail(f"reported input {list(entry.input)} is not like the spec's input: give {shape}", where)
            if not all(1 <= size <= expr.MAX_MAGNITUDE for size in entry.input):
                raise _fail("reported input sizes must be whole numbers from 1 to 10^30", where)


def _check_param_name(key: str, loc: Location) -> None:
    if not key.isidentifier():
        raise _fail(f"{key!r} is not a valid name (letters, digits and _)", loc)
    if key in RESERVED:
        raise _fail(f"{key!r} is reserved: it always means the current layer's input ({', '.join(RESERVED)})", loc)
    if key == COPY:
        raise _fail(f"{key!r} is reserved: it is the index of the copy in a repeat (0, 1, …)", loc)


def _block_params(value: Any, loc: Location, bname: str) -> dict[str, Raw | None]:
    if not isinstance(value, YMap):
        raise _fail(f"block {bname!r} must be a mapping with params, let and layers", loc)
    check_keys(value, BLOCK_KEYS, f"block {bname!r}")
    pmap = value.get("params", YMap(loc))
    if not isinstance(pmap, YMap):
        raise _fail(
            "a block's params must be a mapping name: default (~ marks a required one)", value.value_locs["params"]
        )
    out: dict[str, Raw | None] = {}
    for key in pmap:
        _check_param_name(key, pmap.key_locs[key])
        if key in COMMON_KEYS or key == "args":
            raise _fail(f"{key!r} is reserved and cannot be a block parameter", pmap.key_locs[key])
        out[key] = None if pmap[key] is None else raw(pmap, key)
    return out


def _block_inputs(value: YMap, params: Mapping[str, Raw | None]) -> tuple[str, ...]:
    """A block's `inputs`: distinct names, none a parameter, reserved word or `let` value."""
    if "inputs" not in value:
        return ()
    names = value["inputs"]
    where = value.value_locs["inputs"]
    if not isinstance(names, YList) or not names:
        raise _fail("inputs must be a list of names for the call's inputs, e.g. [x, prev]", where)
    lets = value.get("let") if isinstance(value.get("let"), YMap) else {}
    for name, nloc in zip(names, names.locs, strict=True):
        if not isinstance(name, str) or not NAME_RE.match(name) or name.isdigit():
            raise _fail(f"inputs: {printable(str(name))!r} must be a name (letters, digits and _)", nloc)
        if name in params or name in RESERVED or name in (lets or {}):
            raise _fail(f"inputs: {name!r} is also a parameter, let value or reserved name", nloc)
    if len(set(names)) != len(names):
        raise _fail("inputs: each input needs its own name", where)
    return tuple(names)


def _block(loader: _Loader, bname: str, value: YMap, loc: Location) -> Block:
    let: dict[str, Raw] = {}
    if "let" in value:
        lmap = value["let"]
        if not isinstance(lmap, YMap):
            raise _fail("let must be a mapping name: value", value.value_locs["let"])
        for key in lmap:
            _check_param_name(key, lmap.key_locs[key])
            let[key] = raw(lmap, key)
    if "layers" not in value:
        raise _fail(f"block {bname!r} needs layers", value.loc)
    body = loader.items(value["layers"], value.value_locs["layers"], "layers")
    doc = value.get("doc", "")
    return Block(bname, loader.blocks_params[bname], let, body, loc, str(doc), loader.blocks_inputs[bname])


def _calls(items: tuple[Item, ...]) -> Iterator[Item]:
    for item in items:
        yield item
        yield from _calls(item.layers)
        yield from _calls(item.branches)
        yield from _calls(item.projection or ())
        yield from _calls(item.post)


def _check_recursion(blocks: Mapping[str, Block]) -> None:
    """Refuse a block that calls itself, directly or through others (depth-first, each block once)."""
    done: set[str] = set()  # blocks whose every call chain was followed: no cycle through them
    for root in blocks:
        if root in done:
            continue
        path = [root]
        pending = [_calls(blocks[root].layers)]
        while pending:
            call = next(pending[-1], None)
            if call is None:
                pending.pop()
                done.add(path.pop())
            elif call.kind in blocks and call.kind not in done:
                if call.kind in path:
                    cycle = " → ".join([*path[path.index(call.kind) :], call.kind])
                    raise _fail(f"block {call.kind!r} uses itself ({cycle})", call.loc)
                path.append(call.kind)
                pending.append(_calls(blocks[call.kind].layers))
