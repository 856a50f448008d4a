"""Spec loading: safe YAML that keeps line numbers, validated into a :class:`Spec` tree.

The grammar is documented in ``docs/spec-language.md``. Loading checks structure only
(keys, kinds, blocks, literal types); values that hold expressions are evaluated later,
when the engine expands the spec with the input shapes known.
"""

from __future__ import annotations

import functools
import gc
import re
import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.composer import ComposerError

from archcost import expr, layers
from archcost.errors import Location, SpecError

FORMAT_VERSION: Final = 1
MAX_YAML_NODES: Final = 1_000_000
"""A YAML document (aliases expanded) larger than this is refused: no real spec is near it
(a flat list of 100,000 layers is about 250,000 nodes; keys are not counted)."""
MAX_YAML_DEPTH: Final = 200
"""Mappings and lists nested deeper than this are refused (bundled specs nest at most 16 deep)."""

CONTAINERS: Final = ("sequential", "parallel", "residual")
RESERVED: Final = ("cin", "hin", "win")
"""Names every expression can read: the current layer's input channels, height and width."""
COMMON_KEYS: Final = ("name", "repeat", "first", "names", "when")
MERGES: Final = ("concat", "add", "multiply")
SHORTCUTS: Final = ("auto", "identity", "projection", "optional")
NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^[0-9]+$")
_PLAIN_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null", "merge")
)
_FLOAT_RE: Final = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_FLOAT_START: Final = "+-.0123456789"
"""How a text _FLOAT_RE matches starts (a cheaper test first: most texts are names)."""

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
COMPUTED_FIGURES: Final = ("params", "macs", "flops", "activations", "buffers")
"""Figures archcost computes and can compare with a paper."""
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
BLOCK_KEYS: Final = ("params", "let", "layers", "doc")


# ---------------------------------------------------------------------------- positioned YAML


class YMap(dict[str, Any]):
    """A YAML mapping that remembers where each key and value is."""

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs = _KeyPlaces(loc.file)
        self.value_locs: dict[str, Location] = {}


class _KeyPlaces(dict[str, Any]):
    """Where each key of a mapping is: a Location, or the YAML mark it is made from when first read.

    Most keys' places are read only to report an error; making them all took 5% of loading a spec.
    """

    __slots__ = ("file",)

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def __getitem__(self, key: str) -> Location:
        place = super().__getitem__(key)
        if not isinstance(place, Location):
            place = _loc(place, self.file)
            super().__setitem__(key, place)
        return place


class YList(list[Any]):
    """A YAML sequence that remembers where each element is."""

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.locs: list[Location] = []


def _loc(mark: Any, file: str) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


_STR: Final = "tag:yaml.org,2002:str"
_INT: Final = "tag:yaml.org,2002:int"
_NULL: Final = "tag:yaml.org,2002:null"
_MERGE: Final = "tag:yaml.org,2002:merge"
_TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
_SCALAR, _ALIAS, _MAP_START = yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent
_ENDS: Final = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_STARTS: Final = (yaml.SequenceStartEvent, yaml.MappingStartEvent)


class _NotLikePyYAMLError(Exception):
    """libyaml places this text's nodes otherwise than PyYAML: read it with PyYAML."""


_RESOLVER: Final[Any] = yaml.resolver.Resolver()


@functools.lru_cache(maxsize=4096)
def _resolved(kind: type[yaml.Node], value: str | None, implicit: Any) -> str:
    """The tag PyYAML's resolver gives a node of `kind` without one, once per text (specs repeat most)."""
    return str(_RESOLVER.resolve(kind, value, implicit))


def _document(loader: Any, file: str) -> list[Any] | None:
    """The events of the stream's one document (None if it is empty), checked as PyYAML's composer
    checks them (undefined alias, duplicate anchor, a second document), in the same order.

    Stops at once on nesting deeper than MAX_YAML_DEPTH: both parsers slow down with the depth.
    """
    libyaml = not isinstance(loader, yaml.SafeLoader)
    loader.get_event()  # stream start
    if loader.check_event(yaml.StreamEndEvent):
        return None
    loader.get_event()  # document start
    events: list[Any] = []  # YAML events (the stubs type their marks loosely)
    anchors: dict[str, Any] = {}
    flow_maps: list[bool] = []  # per open collection: a flow mapping {...}?
    depth = 0
    get_event = loader.get_event
    while not events or depth:
        event: Any = get_event()
        cls = event.__class__  # the event classes have no subclasses: `is` is the cheapest test
        if cls in _ENDS:
            depth -= 1
            flow_maps.pop()
        elif cls is _ALIAS:
            if event.anchor not in anchors:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        elif cls is _SCALAR or cls in _STARTS:
            if cls is _SCALAR and libyaml and not event.value and not event.style and flow_maps[-1:] == [True]:
                raise _NotLikePyYAMLError  # an empty value in {...}: libyaml marks the next token, PyYAML the colon
            if event.anchor is not None:
                if event.anchor in anchors:
                    raise ComposerError(
                        f"found duplicate anchor {event.anchor!r}; first occurrence",
                        anchors[event.anchor],
                        "second occurrence",
                        event.start_mark,
                    )
                anchors[event.anchor] = event.start_mark
            if cls is not _SCALAR:
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise SpecError(f"the YAML nests deeper than {MAX_YAML_DEPTH} levels", _loc(event.start_mark, file))
                flow_maps.append(cls is _MAP_START and bool(event.flow_style))
        events.append(event)
    loader.get_event()  # document end
    if not loader.check_event(yaml.StreamEndEvent):
        raise ComposerError(
            "expected a single document in the stream",
            events[0].start_mark,
            "but found another document",
            loader.get_event().start_mark,
        )
    return events


@dataclass(slots=True)
class _Anchored:
    """What an anchor names: its first event, tag and value, and what an alias to it adds."""

    event: Any
    tag: str
    value: Any = None
    nodes: int = 1
    height: int = 0
    open: bool = False


@dataclass(slots=True)
class _Open:
    """A mapping or list being built."""

    value: Any  # YMap or YList
    is_map: bool
    anchor: str | None
    nodes_before: int
    height: int = 0  # of its highest child so far (a scalar 0, a list or mapping 1 + its own)
    key: str | None = None
    key_loc: Any = None  # a Location or a YAML mark (_KeyPlaces)


class _Builder:
    """Turns a document's YAML events into YMap/YList/scalars, checking what PyYAML lets pass.

    Iterative (no recursion, whatever the nesting), with the limits: MAX_YAML_DEPTH levels and
    MAX_YAML_NODES nodes with aliases expanded (mapping keys not counted). An alias reuses the
    value built for its anchor, so an alias bomb costs nothing until the count refuses it.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, events: list[Any]) -> Any:
        file = self.file
        anchors: dict[str, _Anchored] = {}
        stack: list[_Open] = []
        nodes = 0
        root: Any = None
        for event in events:
            cls = event.__class__
            if cls in _ENDS:
                done = stack.pop()
                if done.anchor is not None:
                    anchored = anchors[done.anchor]
                    anchored.nodes, anchored.height, anchored.open = nodes - done.nodes_before, done.height + 1, False
                if stack:
                    stack[-1].height = max(stack[-1].height, done.height + 1)
                continue
            top = stack[-1] if stack else None
            if top is not None and top.is_map and top.key is None:
                top.key, top.key_loc = self._key(event, anchors, top.value)
                continue
            if cls is _SCALAR:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _resolved(yaml.ScalarNode, event.value, event.implicit)
                value = self._value_scalar(event, tag)
                height = 0
                nodes += 1
                mark = event.start_mark
                loc = Location(file, mark.line + 1, mark.column + 1)
                if event.anchor is not None:
                    anchors[event.anchor] = _Anchored(event, tag, value)
            elif cls is _ALIAS:
                anchored = anchors[event.anchor]
                mark = anchored.event.start_mark
                loc = Location(file, mark.line + 1, mark.column + 1)
                if anchored.open:
                    raise SpecError("this list or mapping contains an alias to itself (endless YAML)", loc)
                if anchored.value is None and isinstance(anchored.event, yaml.ScalarEvent):
                    anchored.value = self._value_scalar(anchored.event, anchored.tag)
                value, height = anchored.value, anchored.height
                nodes += anchored.nodes
                if len(stack) + height > MAX_YAML_DEPTH:
                    raise SpecError(f"the YAML nests deeper than {MAX_YAML_DEPTH} levels", self._at(event.start_mark))
            else:  # a mapping or a list starts
                tag = self._tag(event)
                loc = Location(file, event.start_mark.line + 1, event.start_mark.column + 1)
                if tag not in _PLAIN_TAGS:
                    raise self._not_plain(tag, event.start_mark)
                if len(stack) >= MAX_YAML_DEPTH:
                    raise SpecError(f"the YAML nests deeper than {MAX_YAML_DEPTH} levels", loc)
                is_map = cls is _MAP_START
                value = YMap(loc) if is_map else YList(loc)
                height = 1
                nodes += 1
                stack.append(_Open(value, is_map, event.anchor, nodes - 1))
                if event.anchor is not None:
                    anchors[event.anchor] = _Anchored(event, tag, value, open=True)
            if nodes > MAX_YAML_NODES:
                raise SpecError(
                    f"the YAML expands to more than {MAX_YAML_NODES:,} nodes (an alias bomb?)",
                    self._at(event.start_mark),
                )
            if top is None:
                root = value
                continue
            if top.is_map:
                out: Any = top.value
                key = top.key
                out[key] = value
                out.key_locs[key] = top.key_loc
                out.value_locs[key] = loc
                top.key = None
            else:
                top.value.append(value)
                top.value.locs.append(loc)
            top.height = max(top.height, height)
        return root

    def _key(self, event: Any, anchors: dict[str, _Anchored], out: YMap) -> tuple[str, Any]:
        """A mapping key: a name, once in the mapping; and its place, a Location or a YAML mark (_KeyPlaces)."""
        if event.__class__ is _SCALAR and event.tag is None and event.anchor is None:  # the usual key, quickly
            tag = _resolved(yaml.ScalarNode, event.value, event.implicit)
            key = self._scalar(event, tag) if tag == _STR else None
            if isinstance(key, str) and key not in out:
                return key, event.start_mark
        if event.__class__ is _ALIAS:
            anchor: Any = event.anchor
            anchored = anchors[anchor]
            key_event, tag = anchored.event, anchored.tag
        else:
            key_event, tag = event, self._tag(event)
            if event.anchor is not None:
                anchors[event.anchor] = _Anchored(event, tag, open=isinstance(event, yaml.CollectionStartEvent))
        where = self._at(key_event.start_mark)
        if tag == _MERGE:
            raise SpecError("YAML merge keys (<<) are not supported; use a block", where)
        key = self._scalar(key_event, tag) if isinstance(key_event, yaml.ScalarEvent) else None
        if not isinstance(key, str):
            raise SpecError(f"a key must be a name, got {key!r}", where)
        if key in out:
            first = out.key_locs[key].line
            raise SpecError(f"duplicate key {key!r} (first given on line {first})", where)
        return key, where

    def _tag(self, event: Any) -> str:
        """The event's tag, resolved as PyYAML's composer does (a scalar's from its text)."""
        tag: str | None = getattr(event, "tag", None)
        if tag is None or tag == "!":
            if event.__class__ is _SCALAR:
                return _resolved(yaml.ScalarNode, event.value, event.implicit)
            kind = yaml.MappingNode if event.__class__ is _MAP_START else yaml.SequenceNode
            return _resolved(kind, None, event.implicit)
        return tag

    def _value_scalar(self, event: Any, tag: str) -> Any:
        """A scalar in a value's place: only plain tags, no dates."""
        if tag not in _PLAIN_TAGS:
            if tag == _TIMESTAMP:
                raise SpecError(f"{event.value!r} reads as a date; quote it if it is text", self._at(event.start_mark))
            raise self._not_plain(tag, event.start_mark)
        return self._scalar(event, tag)

    def _not_plain(self, tag: str, mark: Any) -> SpecError:
        return SpecError(
            f"YAML tag {tag!r} is not allowed: a spec holds plain mappings, lists and scalars", self._at(mark)
        )

    def _scalar(self, event: Any, tag: str) -> Any:
        text = event.value
        if tag == _STR:  # the commonest cases first, without the constructor's bookkeeping
            plain = not event.style  # None (PyYAML) or "" (libyaml)
            if plain and text[:1] in _FLOAT_START and _FLOAT_RE.match(text):
                return float(text)  # YAML 1.1 reads 1e-5 as a string (pyyaml#173)
            return text
        if tag == _INT and text.isdecimal() and len(text) < 20 and (text == "0" or text[0] != "0"):  # plain digits
            return int(text)
        if tag == _NULL:
            return None
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        try:
            value = self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, KeyError, TypeError) as exc:
            name = tag.rsplit(":", 1)[-1]
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else str(exc)
            raise SpecError(
                f"cannot read {_short(event.value)} as {name} ({reason})", self._at(event.start_mark)
            ) from None
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise SpecError(
            f"unsupported YAML value {_short(event.value)} ({type(value).__name__}); quote it if it is text",
            self._at(event.start_mark),
        )

    def _at(self, mark: Any) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)


def _printable(text: str) -> str:
    """`text` as is, or with line breaks and other control characters escaped (errors are one line)."""
    return text if text.isprintable() else repr(text)[1:-1]


def _short(text: str, limit: int = 60) -> str:
    """`text` quoted as repr() does, cut in the middle if long (an error message stays one readable line)."""
    return repr(text) if len(text) <= limit else repr(f"{text[: limit // 2]}…{text[-limit // 2 :]}")


_FAST_LOADER: Final = getattr(yaml, "CSafeLoader", None)
_GLUED_COMMENT: Final = re.compile(r"[|>][-+0-9]*#")
"""libyaml's loader when PyYAML was built with it (the usual wheels are): several times faster."""


def _events(text: str, file: str) -> list[Any] | None:
    """The document's events: from libyaml if it reads the text, else from PyYAML's own parser,
    whose error messages and positions are the ones archcost has always reported."""
    # PyYAML refuses tabs, ? (complex keys) and a comment glued to a block scalar's header (>#) in places
    # where libyaml accepts them: those texts go to PyYAML, so that archcost reads every text as it always
    # has (no bundled spec has any of them)
    if _FAST_LOADER is not None and "\t" not in text and "?" not in text and not _GLUED_COMMENT.search(text):
        try:
            fast = _FAST_LOADER(text)  # UnicodeEncodeError for a lone surrogate, which PyYAML refuses with a place
        except UnicodeEncodeError:
            pass
        else:
            try:
                return _document(fast, file)
            except (yaml.YAMLError, _NotLikePyYAMLError):
                pass
            finally:
                fast.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return _document(loader, file)
    finally:
        loader.dispose()


def parse_yaml(text: str, file: str) -> Any:
    """Safe-load one YAML document, keeping positions; SpecError on any YAML problem."""
    try:
        events = _events(text, file)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: placed by its index
        before = re.split(r"\r\n|[\n\r\x85\u2028\u2029]", text[: exc.position])
        where = Location(file, len(before), len(before[-1]) + 1)
        raise SpecError(f"invalid YAML: character U+{exc.character:04X} is not allowed ({exc.reason})", where) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"invalid YAML: {problem}", Location(file, line, column)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", Location(file)) from None
    if events is None:
        raise SpecError("the spec is empty", Location(file, 1))
    return _Builder(file).build(events)


def parse_scalar(text: str) -> Any:
    """One value as a spec would read it (``1``, ``0.5``, ``1e-5``, ``true``, text); SpecError if not a scalar."""
    value = parse_yaml(text, "<value>") if text.strip() else ""
    if isinstance(value, YMap | YList):
        raise SpecError(f"{text!r} is not a single value", Location("<value>"))
    return value


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


def _check_keys(mapping: YMap, allowed: Iterator[str] | tuple[str, ...] | list[str], what: str) -> None:
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            hint = _suggest(key, allowed)
            raise _fail(f"unknown key {key!r} in {what}{hint}; allowed: {', '.join(allowed)}", mapping.key_locs[key])


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _literal(value: Any, loc: Location, what: str, types: type | tuple[type, ...]) -> Any:
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


def _raw(mapping: YMap, key: str) -> Raw:
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
            keys = ", ".join(_printable(k) for k in value)
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
            common["repeat"] = _raw(args, "repeat")
        if "when" in args:
            common["when"] = _raw(args, "when")
        if "names" in args:
            names = _literal(args["names"], args.value_locs["names"], "names", str)
            if not _name_pattern(names):
                raise _fail(
                    "names must be a name pattern with {i} (0, 1, ...) or {n} (1, 2, ...), e.g. 'denselayer{n}'",
                    args.value_locs["names"],
                )
            if "repeat" not in args:
                raise _fail("names only applies with repeat", args.key_locs["names"])
            common["names"] = names
        first = args.get("first")
        if first is not None:
            if not isinstance(first, YMap):
                raise _fail("first must be a mapping of arguments for the first repetition", args.value_locs["first"])
            if "repeat" not in args:
                raise _fail("first only applies with repeat", args.key_locs["first"])

        if kind in CONTAINERS:
            item = self._container(kind, args, loc, common)
        elif kind in self.block_names:
            item = Item(kind, loc, args=self._block_args(kind, args), **common)
        else:
            item = Item(self._kind_name(kind, loc), loc, args=self._kind_args(kind, args), **common)
        if first is not None:
            if kind in CONTAINERS:
                raise _fail(
                    f"first applies to layer kinds and block calls, not to {kind}: put the {kind} in a block",
                    args.key_locs["first"],
                )
            allowed = self._arg_names(kind)
            _check_keys(first, allowed, f"first of {kind!r}")
            item = _replace(item, first={k: _raw(first, k) for k in first})
        return item

    def _kind_name(self, kind: str, loc: Location) -> str:
        found = layers.lookup(kind)
        if found is None:
            options = [*layers.KINDS, *layers.ALIASES, *CONTAINERS, *sorted(self.block_names)]
            raise _fail(f"unknown layer kind {kind!r}{_suggest(kind, options)}", loc)
        if found.merge:
            raise _fail(
                f"{kind!r} merges several inputs: write it as `parallel: {{merge: {kind}, branches: [...]}}`"
                + (" or use a residual" if kind == "add" else ""),
                loc,
            )
        return found.name

    def _arg_names(self, kind: str) -> list[str]:
        if kind in self.block_names:
            return list(self.blocks_params[kind])
        found = layers.lookup(kind)
        return [a.name for a in found.args] if found else []

    def _kind_args(self, kind: str, args: YMap) -> dict[str, Raw]:
        found = layers.lookup(kind)
        assert found is not None
        allowed = [a.name for a in found.args]
        _check_keys(args, [*allowed, *COMMON_KEYS], f"{kind!r}")
        out = {k: _raw(args, k) for k in args if k not in COMMON_KEYS}
        for arg in found.args:
            if arg.required and arg.name not in out:
                raise _fail(f"{kind!r} needs {arg.name!r} ({arg.doc or layers.ARG_TYPES[arg.type]})", args.loc)
        return out

    def _block_args(self, kind: str, args: YMap) -> dict[str, Raw]:
        params = self.blocks_params[kind]
        _check_keys(args, [*params, "args", *COMMON_KEYS], f"the call of block {kind!r}")
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
                out[key] = _raw(args, key)
        return out

    def _container(self, kind: str, args: YMap, loc: Location, common: dict[str, Any]) -> Item:
        if kind == "sequential":
            _check_keys(args, ["layers", *COMMON_KEYS], "sequential")
            body = self.items(self._need(args, "layers", kind), args.value_locs.get("layers", loc), "layers")
            return Item(kind, loc, layers=body, **common)
        if kind == "parallel":
            _check_keys(args, ["merge", "branches", *COMMON_KEYS], "parallel")
            merge = _literal(self._need(args, "merge", kind), args.value_locs["merge"], "merge", str)
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
        _check_keys(args, ["layers", "shortcut", "projection", "post", *COMMON_KEYS], "residual")
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
        return Item(
            kind,
            loc,
            args={"shortcut": Raw(shortcut, where)},
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


def _name_pattern(names: str) -> bool:
    """Whether `names` is a name with {i} or {n} fields, and nothing else in braces (no format specs:
    ``{n:>99999999}`` would make names of 100 MB)."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(names) if name]
    except ValueError:
        return False
    if not fields or any(name not in ("i", "n") or spec or conversion for name, spec, conversion in fields):
        return False
    return NAME_RE.match(names.format(i=0, n=1)) is not None


def _replace(item: Item, **changes: Any) -> Item:
    from dataclasses import replace

    return replace(item, **changes)


MAX_EXTENDS: Final = 8
SCALING_KEYS: Final = ("width", "depth", "resolution")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a spec's (or an analysis') many small objects are made.

    They all live on, so its passes find nothing; on a 100,000-layer spec they took about half
    the time. Nested uses are fine: only the outermost turns it back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_text(text: str, file: str = "<spec>", base: Path | None = None, _chain: tuple[str, ...] = ()) -> Spec:
    """Parse and validate spec text; SpecError with file and line on any problem.

    `base` is the folder a relative ``extends`` is resolved against (the spec file's own).
    """
    with gc_paused():
        return _load_text(text, file, base, _chain)


def _load_text(text: str, file: str, base: Path | None, chain: tuple[str, ...]) -> Spec:
    doc = parse_yaml(text, file)
    if not isinstance(doc, YMap):
        raise _fail("a spec is a mapping with keys such as name, input and layers", Location(file, 1))
    _check_keys(doc, list(TOP_KEYS), "the spec")
    if "extends" in doc:
        return _extend(doc, file, base, chain)
    for key in ("archcost", "name", "input", "layers"):
        if key not in doc:
            raise _fail(f"the spec needs {key!r} ({TOP_KEYS[key]})", doc.loc)
    version = doc["archcost"]
    if version != FORMAT_VERSION:
        raise _fail(
            f"archcost: {version!r} is not a known format version (this is {FORMAT_VERSION})",
            doc.value_locs["archcost"],
        )
    name = _literal(doc["name"], doc.value_locs["name"], "name", str)
    meta = _meta(doc)

    params: dict[str, Raw] = {}
    if "params" in doc:
        pmap = doc["params"]
        if not isinstance(pmap, YMap):
            raise _fail("params must be a mapping of name: default", doc.value_locs["params"])
        for key in pmap:
            _check_param_name(key, pmap.key_locs[key])
            params[key] = _raw(pmap, key)

    input_value = doc["input"]
    input_loc = doc.value_locs["input"]
    if not isinstance(input_value, YList) or len(input_value) not in (1, 3):
        raise _fail("input must be [C, H, W] (or [N] for a vector)", input_loc)
    _check_scalar_or_list(input_value, input_loc, "input")
    input_raw = tuple(Raw(v, vl) for v, vl in zip(input_value, input_value.locs, strict=True))

    blocks_doc = doc.get("blocks", YMap(doc.loc))
    if not isinstance(blocks_doc, YMap):
        raise _fail("blocks must be a mapping of block name: definition", doc.value_locs["blocks"])
    loader = _Loader(file, set(blocks_doc))
    loader.blocks_params = {}
    for bname in blocks_doc:
        bloc = blocks_doc.key_locs[bname]
        if bname in layers.KINDS or bname in layers.ALIASES or bname in CONTAINERS:
            raise _fail(f"block {bname!r} has the name of a built-in kind", bloc)
        _check_param_name(bname, bloc)
        loader.blocks_params[bname] = _block_params(blocks_doc[bname], blocks_doc.value_locs[bname], bname)
    blocks = {bname: _block(loader, bname, blocks_doc[bname], blocks_doc.key_locs[bname]) for bname in blocks_doc}
    _check_recursion(blocks)
    body = loader.items(doc["layers"], doc.value_locs["layers"], "layers")
    if not body:
        raise _fail("layers is empty", doc.value_locs["layers"])
    _check_scaling(meta, params, doc)
    return Spec(name, file, input_raw, input_loc, params, blocks, body, meta)


def _check_scaling(meta: Mapping[str, Any], params: Mapping[str, Raw], doc: YMap) -> None:
    for key, pname in meta.get("scaling", {}).items():
        if pname not in params:
            raise _fail(f"scaling.{key} names {pname!r}, which is not a model parameter", doc.value_locs["scaling"])


def _extend(doc: YMap, file: str, base: Path | None, chain: tuple[str, ...]) -> Spec:
    """A spec that reuses another's input, params, blocks and layers, overriding params and metadata."""
    for key in ("input", "blocks", "layers"):
        if key in doc:
            raise _fail(
                f"a spec that extends another takes its {key} from it; change it through params", doc.key_locs[key]
            )
    for key in ("archcost", "name"):
        if key not in doc:
            raise _fail(f"the spec needs {key!r} ({TOP_KEYS[key]})", doc.loc)
    if doc["archcost"] != FORMAT_VERSION:
        raise _fail(f"archcost: {doc['archcost']!r} is not a known format version", doc.value_locs["archcost"])
    ref = _literal(doc["extends"], doc.value_locs["extends"], "extends", str)
    where = doc.value_locs["extends"]
    if len(chain) >= MAX_EXTENDS or ref in chain:
        raise _fail(f"extends goes round in a circle or too deep: {_printable(' → '.join([*chain, ref]))}", where)
    try:
        path = resolve(ref, base)
        text = path.read_text(encoding="utf-8")
    except SpecError as exc:
        raise _fail(exc.message, where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {_printable(ref)}: {exc}", where) from None
    parent = _parent(text, _shown(path), path.parent, (*chain, ref))
    params = dict(parent.params)
    if "params" in doc:
        pmap = doc["params"]
        if not isinstance(pmap, YMap):
            raise _fail("params must be a mapping of name: value", doc.value_locs["params"])
        for key in pmap:
            if key not in params:
                known = ", ".join(params) or "none"
                raise _fail(f"{ref} has no parameter {key!r} to override (its parameters: {known})", pmap.key_locs[key])
            params[key] = _raw(pmap, key)
    meta = {k: v for k, v in parent.meta.items() if k not in ("paper", "reported", "notes", "description")}
    meta.update(_meta(doc))
    meta["extends"] = ref
    _check_scaling(meta, params, doc)
    name = _literal(doc["name"], doc.value_locs["name"], "name", str)
    return Spec(name, file, parent.input, parent.input_loc, params, parent.blocks, parent.layers, meta)


@functools.lru_cache(maxsize=64)
def _parent(text: str, file: str, base: Path, chain: tuple[str, ...]) -> Spec:
    """A spec that another extends, parsed once per process and text (`archcost list` would
    otherwise parse EfficientNet-B0 again for each of B1-B7). Nothing changes a Spec."""
    return load_text(text, file, base, chain)


def _meta(doc: YMap) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, types in (("title", str), ("family", str), ("description", str), ("reference", str)):
        if key in doc:
            meta[key] = _literal(doc[key], doc.value_locs[key], key, types)
    if "year" in doc:
        meta["year"] = _literal(doc["year"], doc.value_locs["year"], "year", int)
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
        _check_keys(scaling, SCALING_KEYS, "scaling")
        for key in scaling:
            _literal(scaling[key], scaling.value_locs[key], f"scaling.{key}", str)
        meta["scaling"] = dict(scaling)
    if "paper" in doc:
        paper = doc["paper"]
        if not isinstance(paper, YMap):
            raise _fail("paper must be a mapping: title, authors, year, url", doc.value_locs["paper"])
        _check_keys(paper, PAPER_KEYS, "paper")
        for key in paper:
            if key != "reported":
                _literal(paper[key], paper.value_locs[key], f"paper.{key}", int if key == "year" else str)
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
        _check_keys(entry, list(REPORTED_KEYS), "a reported figure")
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
                _literal(entry[key], entry.value_locs[key], key, (str, int, float))
                text[key] = str(entry[key])
        for key in ("where", "unit", "layer", "deviation", "protocol", "note", "dataset"):
            if key in entry:
                text[key] = _literal(entry[key], entry.value_locs[key], key, str)
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
        out.append(Reported(figure=figure, loc=entry.loc, settings=settings, input=shape_in, source=source, **text))
    return tuple(out)


def _check_param_name(key: str, loc: Location) -> None:
    if not key.isidentifier():
        raise _fail(f"{key!r} is not a valid name (letters, digits and _)", loc)
    if key in RESERVED:
        raise _fail(f"{key!r} is reserved: it always means the current layer's input ({', '.join(RESERVED)})", loc)


def _block_params(value: Any, loc: Location, bname: str) -> dict[str, Raw | None]:
    if not isinstance(value, YMap):
        raise _fail(f"block {bname!r} must be a mapping with params, let and layers", loc)
    _check_keys(value, BLOCK_KEYS, f"block {bname!r}")
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
        out[key] = None if pmap[key] is None else _raw(pmap, key)
    return out


def _block(loader: _Loader, bname: str, value: YMap, loc: Location) -> Block:
    let: dict[str, Raw] = {}
    if "let" in value:
        lmap = value["let"]
        if not isinstance(lmap, YMap):
            raise _fail("let must be a mapping name: value", value.value_locs["let"])
        for key in lmap:
            _check_param_name(key, lmap.key_locs[key])
            let[key] = _raw(lmap, key)
    if "layers" not in value:
        raise _fail(f"block {bname!r} needs layers", value.loc)
    body = loader.items(value["layers"], value.value_locs["layers"], "layers")
    doc = value.get("doc", "")
    return Block(bname, loader.blocks_params[bname], let, body, loc, str(doc))


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


# ---------------------------------------------------------------------------- bundled specs


@functools.cache
def bundled_dir() -> Path:
    """The folder of bundled specs: inside the installed package, or `specs/` in a checkout.

    Found once per process: resolving the path takes 50 µs, and loading the 50 bundled specs asked 128 times."""
    packaged = Path(__file__).resolve().parent / "specs"  # as importlib.resources.files finds it
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "specs"


def bundled_names() -> list[str]:
    """Names of the bundled specs, sorted."""
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


BUNDLED_INDEX: Final = "index.json"
"""The bundled specs' `archcost list` entries, in the bundled folder beside them (see :func:`bundled_fingerprint`)."""


def bundled_fingerprint() -> str:
    """SHA-256 of every bundled spec and every archcost module, by name and content.

    The list index holds figures computed from exactly these files; any other fingerprint means
    they must be computed again."""
    import hashlib

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    modules = sorted(package.rglob("*.py"), key=lambda p: p.relative_to(package).as_posix())
    for path in [*sorted(bundled_dir().glob("*.yaml")), *modules]:
        content = path.read_bytes()
        name = path.name if path.suffix == ".yaml" else path.relative_to(package).as_posix()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def resolve(ref: str, base: Path | None = None) -> Path:
    """A bundled spec name or a path to a YAML file (relative to `base` if given); SpecError if neither."""
    path = Path(ref) if base is None or Path(ref).is_absolute() else base / ref
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in ref:
        if not path.is_file():
            raise SpecError(f"no such spec file: {_printable(ref)}", Location(ref))
        return path
    candidate = bundled_dir() / f"{ref}.yaml"
    if candidate.is_file():
        return candidate
    hint = _suggest(ref, bundled_names())
    raise SpecError(f"unknown spec {ref!r}{hint}; `archcost list` shows the bundled ones", Location(ref))


def load(ref: str) -> Spec:
    """Load a bundled spec by name, or a spec file by path."""
    path = resolve(ref)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the spec: {exc}", Location(str(path))) from None
    return load_text(text, _shown(path), path.parent)


def _shown(path: Path) -> str:
    """How a spec file is named in messages: bundled specs by file name, others by path."""
    return path.name if path.parent == bundled_dir() else str(path)


# ---------------------------------------------------------------------------- JSON Schema

_EXPR: Final = {"type": "string", "pattern": r"^\$"}


def _value_schema(arg_type: str) -> dict[str, Any]:
    """JSON Schema of one argument type; expressions (`$...`) are allowed everywhere."""
    integer: dict[str, list[Any]] = {
        "anyOf": [{"type": "integer", "minimum": 1 if arg_type in ("posint", "pair") else 0}, _EXPR]
    }
    if arg_type in ("int", "posint"):
        return integer
    if arg_type == "bool":
        return {"anyOf": [{"type": "boolean"}, _EXPR]}
    if arg_type in ("float", "prob", "posfloat"):
        return {"anyOf": [{"type": "number"}, _EXPR]}
    length = 4 if arg_type == "pad4" else 2
    options: list[Any] = [
        *integer["anyOf"],
        {"type": "array", "items": integer, "minItems": length, "maxItems": length},
    ]
    if arg_type == "padding":
        options.append({"enum": ["same", "valid"]})
    return {"anyOf": options}


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for spec files, generated from the grammar and the layer catalog.

    Built-in kinds and containers are checked strictly; block calls (any other one-key
    mapping) are checked by archcost itself, since their parameters are defined in the file.
    """
    scalar = {"type": ["string", "number", "boolean", "null"]}
    value = {"anyOf": [scalar, {"type": "array", "items": scalar}]}
    common = {
        "name": {"type": ["string", "integer"], "pattern": NAME_RE.pattern},
        "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, _EXPR]},
        "first": {"type": "object"},
        "names": {"type": "string"},
        "when": {"anyOf": [{"type": "boolean"}, _EXPR]},
    }
    items = {"type": "array", "items": {"$ref": "#/$defs/item"}}
    kinds: dict[str, Any] = {}
    no_arg_kinds = []
    for kind in layers.CATALOG:
        if kind.merge:
            continue
        props = {
            a.name: {
                **({"anyOf": [{"enum": list(a.choices)}, _EXPR]} if a.choices else _value_schema(a.type)),
                "description": a.doc or layers.ARG_TYPES[a.type],
            }
            for a in kind.args
        }
        required = [a.name for a in kind.args if a.required]
        body: dict[str, Any] = {
            "type": "object",
            "description": kind.summary,
            "properties": {**props, **common},
            "additionalProperties": False,
        }
        if required:
            body["required"] = required
        else:
            body = {"anyOf": [{"type": "null"}, body]}
            no_arg_kinds += [kind.name, *kind.aliases]
        for name in (kind.name, *kind.aliases):
            kinds[name] = body
    kinds["sequential"] = {
        "type": "object",
        "properties": {"layers": items, **common},
        "required": ["layers"],
        "additionalProperties": False,
    }
    kinds["parallel"] = {
        "type": "object",
        "properties": {
            "merge": {"enum": list(MERGES)},
            "branches": {"type": "array", "minItems": 2, "items": {"anyOf": [items, {"$ref": "#/$defs/item"}]}},
            **common,
        },
        "required": ["merge", "branches"],
        "additionalProperties": False,
    }
    kinds["residual"] = {
        "type": "object",
        "properties": {
            "layers": items,
            "shortcut": {"enum": list(SHORTCUTS)},
            "projection": {"$ref": "#/$defs/item"},
            "post": items,
            **common,
        },
        "required": ["layers"],
        "additionalProperties": False,
    }
    item = {
        "anyOf": [
            {"type": "string", "description": "a kind or block with no arguments"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": kinds,
                "additionalProperties": {
                    "description": "a block call",
                    "anyOf": [
                        {"type": "null"},
                        {"type": "object", "properties": {"args": value, **common}, "additionalProperties": value},
                    ],
                },
            },
        ]
    }
    paper: dict[str, Any] = {k: {"type": "integer" if k == "year" else "string"} for k in PAPER_KEYS}
    paper["reported"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["figure", "value", "where"],
            "additionalProperties": False,
            "properties": {
                **{k: {"type": "string", "description": d} for k, d in REPORTED_KEYS.items()},
                "figure": {"enum": list(COMPUTED_FIGURES + ACCURACY_FIGURES)},
                "value": {"type": ["string", "number"]},
                "tolerance": {"type": ["string", "number"]},
                "set": {"type": "object", "additionalProperties": scalar},
                "input": {"type": "array", "items": {"type": "integer"}},
                "source": {"enum": ["primary", "secondary", "derived"]},
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "archcost spec",
        "type": "object",
        "required": ["archcost", "name"],
        "additionalProperties": False,
        "properties": {
            "archcost": {"const": FORMAT_VERSION},
            "extends": {"type": "string"},
            "scaling": {
                "type": "object",
                "properties": {k: {"type": "string"} for k in SCALING_KEYS},
                "additionalProperties": False,
            },
            "name": {"type": "string"},
            "title": {"type": "string"},
            "family": {"type": "string"},
            "year": {"type": "integer"},
            "description": {"type": "string"},
            "reference": {"type": "string"},
            "notes": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "paper": {"type": "object", "properties": paper, "additionalProperties": False},
            "input": {"type": "array", "items": value["anyOf"][0], "minItems": 1, "maxItems": 3},
            "params": {"type": "object", "additionalProperties": scalar},
            "blocks": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "params": {"type": "object", "additionalProperties": scalar},
                        "let": {"type": "object", "additionalProperties": value},
                        "layers": items,
                        "doc": {"type": "string"},
                    },
                    "required": ["layers"],
                    "additionalProperties": False,
                },
            },
            "layers": items,
        },
        "$defs": {"item": item},
    }
