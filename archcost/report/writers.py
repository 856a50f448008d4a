"""Writers: rows and their columns as CSV, Markdown or JSON text, for every command alike.

One CSV writer (the csv module's quoting), one Markdown writer (escapes ``|``, backslashes and line
breaks in any cell), one JSON writer (one key a line, one array item a line; arrays of objects by
orjson in one call, the rest and whatever orjson refuses by json's C encoder, the same text either
way; non-finite floats become null and integers past Python's 4,300-digit ``str()`` limit are
written digit for digit, so the text is always valid JSON, and ASCII). Each writer makes one pass
over the rows: its time is linear in their number.
"""

from __future__ import annotations

import io
import json
import math
import re
import secrets
from collections.abc import Iterable, Sequence
from json.encoder import c_make_encoder  # type: ignore[attr-defined]
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any, Final

from archcost import units
from archcost.report.columns import Column, Style

# ---------------------------------------------------------------------------- text


_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` as it can be printed: a lone surrogate (``\\ud800``) and a control character other than a
    line break (``\\x1b``, ``\\t``) are written as those escapes, so spec text can neither fail to encode
    as UTF-8 nor move a terminal's cursor or change its colours. Line breaks stay (``\\r\\n``, ``\\r``: ``\\n``)."""
    if text.isprintable():  # the common case, one C call
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


_MARKDOWN_SPECIAL: Final = re.compile(r"\r\n|[\\|\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_MARKDOWN_ESCAPES: Final = {"\\": "\\\\", "|": "\\|"}


def markdown_escape(text: str) -> str:
    """A table cell's text in Markdown: ``\\`` → ``\\\\``, ``|`` → ``\\|``, each line break → ``<br>``."""
    text = printable(text)
    if not _MARKDOWN_SPECIAL.search(text):
        return text
    return _MARKDOWN_SPECIAL.sub(lambda m: _MARKDOWN_ESCAPES.get(m[0], "<br>"), text)


# ---------------------------------------------------------------------------- CSV


def csv_text(columns: Sequence[Column[Any]], rows: Iterable[Any], footer: Iterable[Any] = ()) -> str:
    """A header of the columns' keys, then one line per row (and per footer row), exact figures."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for group in (rows, footer):
        writer.writerows([list(map(printable, row)) for row in _cells(columns, group, Style.CSV)])
    return out.getvalue()


def _cells(columns: Sequence[Column[Any]], rows: Iterable[Any], style: Style) -> Iterable[tuple[str, ...]]:
    """Each row's cells in `style`, made a column at a time (:meth:`Column.cells`)."""
    rows = rows if isinstance(rows, Sequence) else list(rows)
    return zip(*(c.cells(rows, style) for c in columns), strict=True)


# ---------------------------------------------------------------------------- Markdown


_ALIGN_RULE: Final = {"left": "---", "right": "---:"}


def markdown_table(
    columns: Sequence[Column[Any]], rows: Iterable[Any], footer: Iterable[Any] = (), *, bold_footer: bool = True
) -> list[str]:
    """GitHub-flavoured Markdown table lines: headers, alignment rule, rows, then footer rows in bold."""
    lines = [
        "| " + " | ".join(markdown_escape(c.header) for c in columns) + " |",
        "|" + "|".join(_ALIGN_RULE[c.align] for c in columns) + "|",
    ]
    lines += ["| " + " | ".join(map(markdown_escape, row)) + " |" for row in _cells(columns, rows, Style.MARKDOWN)]
    for row in footer:
        cells = (markdown_escape(c.text(row, Style.MARKDOWN)) for c in columns)
        lines.append("| " + " | ".join(f"**{x}**" if x and bold_footer else x for x in cells) + " |")
    return lines


# ---------------------------------------------------------------------------- JSON


def json_rows(columns: Sequence[Column[Any]], rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Each row as a JSON object: every column's key and exact value."""
    return [{c.key: c.value(row) for c in columns} for row in rows]


# json.dumps(indent=2) runs json's pure-Python encoder; without indent, the C encoder (five times faster).
# JSONEncoder.encode makes a new C encoder at every call: one made once and reused is quicker still.
_compact = json.JSONEncoder(separators=(", ", ": "), allow_nan=False).encode
_item_separators: Final = (",", ":")
"""An array item a line is written compact, as orjson writes it: both paths below give the same text."""


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_c_item = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, _refuse, _json_str, None, _item_separators[1], _item_separators[0], False, False, False)
)
_compact_item = json.JSONEncoder(separators=_item_separators, allow_nan=False).encode


def _item_text(value: Any) -> str:
    """One array item on one line, compact, through the one C encoder made once."""
    if _c_item is not None and isinstance(value, dict | list):
        return "".join(_c_item(value, 0))
    return _compact_item(value)


_LINE: Final = f"archcost-line-{secrets.token_hex(8)}"
"""A string no spec can hold (it is new in every process), written between the items of an array."""
_ESCAPED: Final = re.compile(r"[^\x00-\x7e]")
"""What json's ASCII encoder escapes beyond control characters (orjson writes it as it is)."""


def _items_at_once(items: list[Any], inner: str) -> str | None:
    """The items one a line (each line begins with `inner`), written by orjson in one call: ten times
    the C encoder's speed at 200,000 layers. None when orjson refuses (an integer past 64 bits, a
    lone surrogate) or is missing: the C encoder then writes the same text item by item.

    orjson writes the array with a marker string between the items; each marker becomes a line break
    once it is known that the text holds no other copy. Text outside ASCII is escaped as json does.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - a dependency; the C encoder writes the same text
        return None
    marked: list[Any] = [_LINE] * (2 * len(items) - 1)
    marked[::2] = items
    try:
        data = orjson.dumps(marked, option=orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME)
    except orjson.JSONEncodeError:
        return None
    marker = f',"{_LINE}",'.encode()
    if data.count(marker) != len(items) - 1:
        return None
    data = data.replace(marker, b"," + inner.encode())
    data = data.replace(b"[", inner.encode(), 1)  # the array's own brackets: the caller writes them
    text = data.decode("utf-8")[:-1]
    if text.isascii() and "\x7f" not in text:
        return text
    return _ESCAPED.sub(lambda m: _json_str(m[0])[1:-1], text)


def _layout(value: Any, out: list[str], indent: str = "\n") -> None:
    """Append `value` to `out`: an object one key a line, an array of objects (or of arrays) one item a
    line, every other value on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value and all(isinstance(key, str) for key in value):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append(f"{',' if i else ''}{inner}{_json_str(key)}: ")
            _layout(item, out, inner)
        out.append(indent + "}")
    elif isinstance(value, list) and value and isinstance(value[0], dict | list):
        text = _items_at_once(value, inner)
        out.append("[")
        out.append(",".join(inner + _item_text(item) for item in value) if text is None else text)
        out.append(indent + "]")
    else:
        out.append(_compact(value))


def _text(value: Any) -> str:
    """:func:`_layout`'s text of `value`, joined once (a big array is one long string, copied once)."""
    out: list[str] = []
    _layout(value, out)
    return "".join(out)


def dumps(value: Any) -> str:
    """`value` as JSON a person can read (:func:`_layout`): arrays of objects by orjson, the rest by json's C encoder.

    Always valid JSON: a float that is not finite is written null; an integer past Python's
    4,300-digit ``str()`` limit is written with all its digits.
    """
    try:
        return _text(value)
    except ValueError:  # the C encoder refuses inf/NaN (allow_nan=False) and ints past the digit limit
        pass
    big: dict[str, str] = {}
    marker = f"archcost-int-{secrets.token_hex(8)}-"
    text = _text(_safe(value, big, marker))
    for token, digits in big.items():
        text = text.replace(_json_str(token), digits)
    return text


def _safe(value: Any, big: dict[str, str], marker: str) -> Any:
    """`value` with non-finite floats as None and huge integers as marker strings (replaced by their digits)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            str(value)
        except ValueError:
            token = f"{marker}{len(big)}"
            big[token] = units.digits(value)
            return token
        return value
    if isinstance(value, dict):
        return {k: _safe(v, big, marker) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v, big, marker) for v in value]
    return value
