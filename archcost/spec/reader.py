"""The spec reader: one YAML document into YMap/YList/scalars that remember their line and column.

It owns the locating YAML composer. Why not PyYAML's: this one works on libyaml's event stream (15×
faster than PyYAML's scanner) while keeping every key's and value's position and PyYAML's own
messages, and builds without recursion so that depth, size and alias bombs are checked limits.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Final

import yaml
from yaml.composer import ComposerError

from archcost.errors import Location, SpecError

MAX_YAML_NODES: Final = 1_000_000
"""A YAML document (aliases expanded) larger than this is refused: no real spec is near it
(a flat list of 100,000 layers is about 250,000 nodes; keys are not counted)."""
MAX_YAML_DEPTH: Final = 200
"""Mappings and lists nested deeper than this are refused (bundled specs nest at most 16 deep)."""
_PLAIN_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null", "merge")
)
_FLOAT_RE: Final = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_FLOAT_START: Final = "+-.0123456789"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
"""How a text _FLOAT_RE matches starts (a cheaper test first: most texts are names)."""

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
                    raise SpecError(
                        f"the YAML nests deeper than {MAX_YAML_DEPTH} levels", self._place(event.start_mark)
                    )
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
                    self._place(event.start_mark),
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
        where = self._place(key_event.start_mark)
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
                raise SpecError(
                    f"{event.value!r} reads as a date; quote it if it is text", self._place(event.start_mark)
                )
            raise self._not_plain(tag, event.start_mark)
        return self._scalar(event, tag)

    def _not_plain(self, tag: str, mark: Any) -> SpecError:
        return SpecError(
            f"YAML tag {tag!r} is not allowed: a spec holds plain mappings, lists and scalars", self._place(mark)
        )

    def _scalar(self, event: Any, tag: str) -> Any:
        text = event.value
        if tag == _STR:  # the commonest cases first, without the constructor's bookkeeping
            plain = not event.style  # None (PyYAML) or "" (libyaml)
            if plain and text[:1] in _FLOAT_START and _FLOAT_RE.match(text):
                return self._finite(float(text), event)  # YAML 1.1 reads 1e-5 as a string (pyyaml#173)
            if event.style == '"' and _SURROGATE.search(text):  # only an escape in "..." can make one
                raise SpecError(
                    f"{_short(text)} holds a lone surrogate, which is not a character: no output can print it",
                    self._place(event.start_mark),
                )
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
                f"cannot read {_short(event.value)} as {name} ({reason})", self._place(event.start_mark)
            ) from None
        if isinstance(value, float):
            return self._finite(value, event)
        if value is None or isinstance(value, bool | int | str):
            return value
        raise SpecError(
            f"unsupported YAML value {_short(event.value)} ({type(value).__name__}); quote it if it is text",
            self._place(event.start_mark),
        )

    def _finite(self, value: float, event: Any) -> float:
        """`value`, or SpecError if it is infinite or not a number (1e400 is beyond a float: no figure is)."""
        if math.isfinite(value):
            return value
        reason = "is not a number" if math.isnan(value) else "is beyond a float's range (±1.8e308)"
        raise SpecError(f"{_short(event.value)} {reason}", self._place(event.start_mark))

    def _place(self, mark: Any) -> Location:
        """Where a YAML mark is, 1-based, in this file."""
        return Location(self.file, mark.line + 1, mark.column + 1)


def printable(text: str) -> str:
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
