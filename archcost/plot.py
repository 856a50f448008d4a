"""Charts: the compare bubble chart and per-layer cost bars, drawn with matplotlib.

The only module that imports matplotlib; the CLI imports it only when a plot is asked for.
Figures are built without pyplot (no global figure registry, nothing to close) and written
atomically; the format follows the file's extension.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

from archcost import outputs, report, units
from archcost.check import Accuracy
from archcost.engine import Analysis
from archcost.errors import Location, SpecError
from archcost.report.writers import printable

SUFFIXES: Final = (".png", ".svg", ".pdf")
Y_AXES: Final = ("top1", "top5", "params", "memory")
OKABE_ITO: Final = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
"""Okabe & Ito's colour-blind-safe palette, the strongest colours first."""
TOL_MUTED: Final = ("#332288", "#117733", "#882255", "#999933", "#AA4499", "#44AA99", "#DDCC77", "#CC6677", "#88CCEE")
"""Paul Tol's muted palette (colour-blind safe), for families past Okabe & Ito's eight."""
GREYS: Final = ("#777777", "#BBBBBB")
FAMILY_PALETTE: Final = OKABE_ITO + TOL_MUTED + GREYS
"""One colour per family, never repeated: 19 families; more than that is an error."""
FAMILY_NAMES: Final = {
    "alexnet": "AlexNet",
    "convnext": "ConvNeXt",
    "densenet": "DenseNet",
    "efficientnet": "EfficientNet",
    "inception": "Inception",
    "lenet": "LeNet",
    "mnasnet": "MnasNet",
    "mobilenet": "MobileNet",
    "nasnet": "NASNet",
    "nin": "NiN",
    "regnet": "RegNet",
    "resnet": "ResNet",
    "resnext": "ResNeXt",
    "shufflenet": "ShuffleNet",
    "squeezenet": "SqueezeNet",
    "swin": "Swin",
    "unet": "U-Net",
    "vgg": "VGG",
    "vit": "ViT",
    "xception": "Xception",
    "fractalnet": "FractalNet",
}
"""How the colour legend names a spec's `family` (others as written)."""
LOG_RATIO: Final = 20
"""An axis is logarithmic when its largest value is more than this many times its smallest."""
MAX_BUBBLE_AREA: Final = 2400.0
"""Area in points² of the largest bubble; the others scale down in proportion to their params."""
_NOTE_WIDTH: Final = 120
"""Characters per line of the notes under a chart."""
_NOTE_COLUMN: Final = 68
"""Characters per line of a note set in two columns (many protocols under an accuracy chart)."""
_TWO_COLUMNS: Final = 8
"""More protocol lines than this are set in two columns."""
MAX_BARS: Final = 60
"""More layers than this are grouped (the deepest --depth that fits) so the bars stay readable."""

_STYLE: Final[dict[Any, Any]] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "archcost",
    "text.parse_math": False,  # spec text is shown as written: "$x$" is not mathtext
}
_NOTE_COLOR: Final = "#555555"
_GRID_COLOUR: Final = "#dddddd"


# ---------------------------------------------------------------------------- files


def check_path(path: Path) -> None:
    """Raise SpecError unless `path` ends in an extension we can draw to."""
    if path.suffix.lower() not in SUFFIXES:
        raise SpecError(
            f"cannot draw a chart to {path.name!r}: the file name must end in .png, .svg or .pdf",
            Location(str(path)),
        )


def _save(fig: Figure, path: Path) -> None:
    """Write the figure in the format its extension names, atomically (:func:`archcost.outputs.write_with`)."""
    fmt = path.suffix.lower().lstrip(".")
    metadata: dict[str, str | None] = {"Software": None} if fmt == "png" else {}
    if fmt == "svg":
        metadata["Date"] = None
    if fmt == "pdf":
        metadata["CreationDate"] = None

    def draw(handle: int, tmp_name: str) -> None:
        os.close(handle)
        fig.savefig(tmp_name, format=fmt, dpi=150, bbox_inches="tight", pad_inches=0.15, metadata=metadata)

    outputs.write_with(path, draw)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout=None)
    FigureCanvasAgg(fig)
    return fig


# ---------------------------------------------------------------------------- axes


def _is_log(values: Sequence[float]) -> bool:
    low, high = min(values), max(values)
    return low > 0 and high / low > LOG_RATIO


def _limits(values: Sequence[float], log: bool, pad: float) -> tuple[float, float]:
    """Axis limits around `values` with a margin of `pad` of the span on each side (in log space if log)."""
    if log:
        low, high = math.log10(min(values)), math.log10(max(values))
        span = max(high - low, 0.5)
        return 10 ** (low - pad * span), 10 ** (high + pad * span)
    low, high = min(values), max(values)
    span = (high - low) or abs(high) or 1.0
    return low - pad * span, high + pad * span


def _human_axis(ax: Axes, which: str, log: bool, low: float, high: float) -> None:
    """Ticks labelled 100M, 1G… on a count axis: decades, or 1-2-5 steps when fewer than three are in view."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if log:
        decades = math.floor(math.log10(high)) - math.ceil(math.log10(low)) + 1  # powers of ten in view
        subs = (1.0,) if decades >= 3 else (1.0, 2.0, 5.0)
        axis.set_major_locator(LogLocator(base=10, subs=subs))
        axis.set_minor_locator(LogLocator(base=10, subs=tuple(float(s) for s in range(2, 10))))
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: units.human(v) if v >= 0 else ""))


def _binary_unit(value: float) -> float:
    unit = 1.0
    while value >= 1024 * unit and unit < 1024.0**4:
        unit *= 1024
    return unit


def _bytes_tick(value: float, _pos: int | None = None) -> str:
    if value == 0:
        return "0"
    return units.human_bytes(round(value)) if value > 0 else ""


def _bytes_axis(ax: Axes, which: str, log: bool, low: float, high: float) -> None:
    """Ticks at round binary sizes (1 MiB, 2 MiB, 5 MiB… or 0, 25 MiB, 50 MiB…) labelled in MiB/GiB."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if log:

        def within(steps: tuple[int, ...]) -> list[float]:
            return [u * m for u in (1024.0**k for k in range(5)) for m in steps if low <= u * m <= high]

        ticks = within((1, 10, 100))
        if len(ticks) < 3:
            ticks = within((1, 2, 5, 10, 20, 50, 100, 200, 500))
        while len(ticks) > 8:
            ticks = ticks[::2]
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(FixedLocator([]))
    else:
        unit = _binary_unit(max(high, 1.0))
        scaled = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(0, high / unit)
        axis.set_major_locator(FixedLocator([t * unit for t in scaled if low <= t * unit <= high]))
    axis.set_major_formatter(FuncFormatter(_bytes_tick))


def _inputs_text(labels: Sequence[str], analyses: Sequence[Analysis]) -> str:
    """``input 3×224×224``, naming the networks that differ: ``input 3×224×224 (AlexNet 3×227×227)``."""
    shapes = [units.shape(a.input) for a in analyses]
    common = max(dict.fromkeys(shapes), key=shapes.count)
    others = [f"{printable(label)} {s}" for label, s in zip(labels, shapes, strict=True) if s != common]
    return f"input {common}" + (f" ({', '.join(others)})" if others else "")


def _batch_text(analyses: Sequence[Analysis]) -> str:
    settings = list(dict.fromkeys(f"batch {a.batch} · {a.dtype}" for a in analyses))
    return ", ".join(settings)


def _wrap(text: str, width: int = _NOTE_WIDTH) -> str:
    indent = " " * (2 * (len(text) - len(text.lstrip())))  # continuation lines of an indented note go deeper
    return "\n".join(textwrap.wrap(text, width=width, subsequent_indent=indent, break_on_hyphens=False))


def _notes_below(fig: Figure, ax: Axes, notes: Sequence[str], split: int = 0) -> None:
    """Small grey notes under the axes (below the x label), left-aligned with the axes; with `split`, notes
    1 to `split` (a heading's items) are set in two columns under note 0, the rest below them."""
    if not notes:
        return
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    bottom = ax.get_tightbbox(renderer)
    if bottom is None:  # pragma: no cover - an axes always has a box once drawn
        return
    height_px = fig.get_figheight() * fig.dpi
    x = ax.get_position().x0
    y = (bottom.y0 - 6) / height_px
    style: dict[str, Any] = {"ha": "left", "va": "top", "fontsize": 8, "color": _NOTE_COLOR}
    if not split:
        fig.text(x, y, "\n".join(_wrap(n) for n in notes), **style)
        return
    items = [_wrap(n, _NOTE_COLUMN) for n in notes[1 : split + 1]]
    lines = [len(i.splitlines()) for i in items]
    half = next(k for k in range(len(items) + 1) if sum(lines[:k]) * 2 >= sum(lines))  # balance the lines
    left, right = "\n".join(items[:half]), "\n".join(items[half:])
    rows = max(sum(lines[:half]), sum(lines[half:]))
    rest = [_wrap(n) for n in notes[split + 1 :]]
    fig.text(x, y, "\n".join([_wrap(notes[0]), left, *([""] * (rows - sum(lines[:half]))), *rest]), **style)
    column = x + 0.5 * (1 - x)
    fig.text(column, y, "\n".join(["", right]), **style)


# ---------------------------------------------------------------------------- compare


def _nice(value: float) -> float:
    """The 1-2-5 × 10^k number nearest to `value` on a log scale."""
    exponent = math.floor(math.log10(value))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    return min(candidates, key=lambda c: abs(math.log10(c / value)))


def _nice_below(value: float) -> float:
    """The largest 1-2-5 × 10^k number not above `value`."""
    exponent = math.floor(math.log10(value))
    return next((m * 10.0**exponent for m in (5, 2) if m * 10.0**exponent <= value), 10.0**exponent)


def size_legend_values(params: Sequence[int]) -> list[float]:
    """Up to three round parameter counts spanning the data (e.g. 5M, 20M, 100M), none above the largest."""
    positive = [p for p in params if p > 0]
    if not positive:
        return []
    low, high = min(positive), max(positive)
    top = _nice_below(high)
    return sorted({v for v in (_nice(low), _nice(math.sqrt(low * high))) if v < top} | {top})


def _bubble_scale(params: Sequence[int]) -> float:
    """Points² per parameter, so that the largest bubble has MAX_BUBBLE_AREA."""
    top = max(params, default=0)
    return MAX_BUBBLE_AREA / top if top > 0 else 0.0


_DIRECTIONS: Final[tuple[tuple[float, float], ...]] = (
    (1.0, 0.0),
    (0.0, 1.0),
    (0.0, -1.0),
    (-1.0, 0.0),
    (0.72, 0.72),
    (0.72, -0.72),
    (-0.72, 0.72),
    (-0.72, -0.72),
    (0.5, 0.87),
    (-0.5, 0.87),
    (0.5, -0.87),
    (-0.5, -0.87),
)
"""Where a label may sit around its bubble, in order of preference: right, above, below, left, diagonals."""
_DISTANCES: Final = (1.0, 1.8, 2.8, 4.0, 5.5)
"""Distances tried, in units of the bubble's radius plus a gap; past the first, a leader line is drawn."""
_REPULSION_STEPS: Final = 60
"""Iterations of the repulsion pass that pushes still-overlapping labels apart."""


def _overlap(a: Bbox, b: Bbox) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box: Bbox, frame: Bbox) -> float:
    inside = _overlap(box, frame)
    return box.width * box.height - inside


def _label_box(anchor: tuple[float, float], offset: tuple[float, float], size: tuple[float, float]) -> Bbox:
    """The label's box in pixels: `offset` from `anchor` to the box's nearest edge, in the offset's direction."""
    (ax_, ay), (dx, dy), (w, h) = anchor, offset, size
    x0 = ax_ + dx - (0 if dx > 1e-9 else w if dx < -1e-9 else w / 2)
    y0 = ay + dy - (0 if dy > 1e-9 else h if dy < -1e-9 else h / 2)
    return Bbox.from_extents(x0, y0, x0 + w, y0 + h)


def place_boxes(
    anchors: Sequence[tuple[float, float]],
    radii: Sequence[float],
    sizes: Sequence[tuple[float, float]],
    frame: Bbox,
    gap: float = 4.0,
) -> list[Bbox]:
    """Boxes for labels of `sizes` (pixels) near bubbles at `anchors` with `radii`, apart from each other.

    Deterministic, in two passes. Greedy: the labels of the most crowded bubbles (most others within
    80 px) first, each takes the first of 12 directions × 5 distances around its bubble that overlaps
    least with the labels already placed (weight 10), the bubbles' centres (4) and bodies (0.3) and the
    frame's outside (4), a farther position costing a little more.
    Repulsion: labels still overlapping push each other apart along the line between their centres
    (half the overlap each, in fixed order, for a fixed number of steps), kept inside the frame.
    """
    dots = [Bbox.from_extents(x - 3, y - 3, x + 3, y + 3) for x, y in anchors]
    bodies = [Bbox.from_extents(x - r, y - r, x + r, y + r) for (x, y), r in zip(anchors, radii, strict=True)]
    crowd = [sum(1 for b in anchors if math.hypot(a[0] - b[0], a[1] - b[1]) < 80) for a in anchors]
    order = sorted(range(len(anchors)), key=lambda k: (-crowd[k], k))  # the most crowded choose first
    placed: list[Bbox] = []
    chosen: dict[int, Bbox] = {}
    for i in order:
        anchor, size = anchors[i], sizes[i]
        best: tuple[float, Bbox] | None = None
        for distance in _DISTANCES:
            reach = (radii[i] + gap) * distance + (gap * 3 * (distance - 1))
            for dx, dy in _DIRECTIONS:
                box = _label_box(anchor, (dx * reach, dy * reach), size)
                score = 10 * sum(_overlap(box, p) for p in placed)
                score += 4 * sum(_overlap(box, d) for d in dots)
                score += 0.3 * sum(_overlap(box, b) for j, b in enumerate(bodies) if j != i)
                score += 4 * _outside(box, frame)
                score += 0.02 * size[0] * size[1] * (distance - 1)  # farther costs a little
                if best is None or score < best[0] - 1e-9:
                    best = (score, box)
        assert best is not None
        placed.append(best[1])
        chosen[i] = best[1]
    return _repel([chosen[k] for k in range(len(anchors))], frame)


def _repel(boxes: list[Bbox], frame: Bbox) -> list[Bbox]:
    """Push overlapping boxes apart (see :func:`place_boxes`), each kept inside `frame` where it fits."""
    pos = [[b.x0, b.y0] for b in boxes]
    dims = [(b.width, b.height) for b in boxes]
    for _ in range(_REPULSION_STEPS):
        moved = False
        for i in range(len(pos)):
            for j in range(i):
                a = Bbox.from_bounds(pos[i][0], pos[i][1], *dims[i])
                b = Bbox.from_bounds(pos[j][0], pos[j][1], *dims[j])
                if _overlap(a, b) <= 0:
                    continue
                moved = True
                over_x = min(a.x1, b.x1) - max(a.x0, b.x0)
                over_y = min(a.y1, b.y1) - max(a.y0, b.y0)
                axis = 1 if over_y <= over_x else 0  # separate along the cheaper axis
                over = over_y if axis else over_x
                sign = 1.0 if (a.y0 + a.y1 if axis else a.x0 + a.x1) >= (b.y0 + b.y1 if axis else b.x0 + b.x1) else -1.0
                share_i = _room(pos[i][axis], dims[i][axis], sign, frame, axis)
                share_j = _room(pos[j][axis], dims[j][axis], -sign, frame, axis)
                push = over + 1.0
                move_i = min(share_i, push / 2 if share_j >= push / 2 else push - share_j)
                move_j = min(share_j, push - move_i)
                pos[i][axis] += sign * move_i
                pos[j][axis] -= sign * move_j
        for k, (w, h) in enumerate(dims):
            pos[k][0] = min(max(pos[k][0], frame.x0), max(frame.x1 - w, frame.x0))
            pos[k][1] = min(max(pos[k][1], frame.y0), max(frame.y1 - h, frame.y0))
        if not moved:
            break
    return [Bbox.from_bounds(x, y, w, h) for (x, y), (w, h) in zip(pos, dims, strict=True)]


def _room(start: float, length: float, sign: float, frame: Bbox, axis: int) -> float:
    """How far a box from `start` of `length` can move in direction `sign` along `axis` inside `frame`."""
    low, high = (float(frame.y0), float(frame.y1)) if axis else (float(frame.x0), float(frame.x1))
    return max(high - (start + length), 0.0) if sign > 0 else max(start - low, 0.0)


def _place_labels(
    fig: Figure, ax: Axes, xs: Sequence[float], ys: Sequence[float], areas: Sequence[float], labels: Sequence[str]
) -> list[Annotation]:
    """Label every bubble (:func:`place_boxes`); a label set away from its bubble gets a thin leader line.

    Measured in display pixels with the renderer's text extents.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    to_px = fig.dpi / 72.0
    centres = [(float(x), float(y)) for x, y in ax.transData.transform(list(zip(xs, ys, strict=True)))]
    radii = [max(math.sqrt(a) / 2, 2.0) * to_px for a in areas]
    notes = []
    sizes = []
    for i, text in enumerate(labels):
        note = ax.annotate(
            printable(text),
            (xs[i], ys[i]),
            xytext=(0, 0),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=9,
            color="#222222",
            zorder=5,
            annotation_clip=False,
        )
        note.set_gid("bubble-label")
        box = note.get_window_extent(renderer)
        sizes.append((box.width, box.height))
        notes.append(note)
    boxes = place_boxes(centres, radii, sizes, ax.get_window_extent(renderer), gap=3 * to_px)
    for note, box, (cx, cy), r in zip(notes, boxes, centres, radii, strict=True):
        note.set_position(((box.x0 - cx) / to_px, (box.y0 - cy) / to_px))  # points: the same at any dpi
        nearest_x = min(max(cx, box.x0), box.x1)
        nearest_y = min(max(cy, box.y0), box.y1)
        if math.hypot(nearest_x - cx, nearest_y - cy) > r + 8 * to_px:  # away from its bubble: a leader line
            (x0, y0), (x1, y1) = ax.transData.inverted().transform([(cx, cy), (nearest_x, nearest_y)])
            (leader,) = ax.plot([x0, x1], [y0, y1], color="#999999", linewidth=0.6, zorder=2.5)
            leader.set_gid("label-leader")
    return notes


def family_of(row: report.CompareRow) -> str:
    """The family a bubble is coloured by: the spec's `family`, or its label when it has none."""
    family = row.analysis.meta.get("family")
    return str(family) if family else row.label


def family_colours(families: Sequence[str]) -> dict[str, str]:
    """One colour per distinct family, in order of first appearance: Okabe & Ito's eight, then Paul Tol's
    muted nine, then two greys; SpecError past that (a chart with more families is unreadable anyway)."""
    distinct = list(dict.fromkeys(families))
    if len(distinct) > len(FAMILY_PALETTE):
        raise SpecError(
            f"{len(distinct)} families on one chart: at most {len(FAMILY_PALETTE)} have colours of their own",
            Location("--plot"),
        )
    return dict(zip(distinct, FAMILY_PALETTE, strict=False))


def family_name(family: str) -> str:
    return FAMILY_NAMES.get(family, family)


def _accuracy(row: report.CompareRow, y: str) -> Accuracy | None:
    return row.top1 if y == "top1" else row.top5 if y == "top5" else None


def _protocols_note(rows: Sequence[report.CompareRow], y: str, width: int = _NOTE_WIDTH) -> list[str]:
    """The caveat under an accuracy chart: one line per protocol, networks with the same one together.

    A protocol too long for its line loses its parenthetical asides, then is cut at a word with "…".
    More than eight lines are set in two columns (:func:`_notes_below`).
    """
    groups: dict[str, list[str]] = {}
    for r in rows:
        acc = _accuracy(r, y)
        if acc is not None:
            protocol = printable(acc.protocol).strip().rstrip(".") or "not stated"
            groups.setdefault(protocol, []).append(printable(r.label))
    lines = [f"Accuracy = 100 − {_TOP[y]} error as reported, measured in different ways:"]
    for protocol, labels in groups.items():
        prefix = f"  {', '.join(labels)}: "
        room = max(width - len(prefix), 40)
        text = protocol if len(protocol) <= room else re.sub(r"\s*\([^()]*\)", "", protocol)
        lines.append(prefix + textwrap.shorten(text, room, placeholder=" …"))
    return lines


_TOP: Final = {"top1": "top-1", "top5": "top-5"}


def compare_chart(rows: Sequence[report.CompareRow], path: Path, y: str = "top1") -> Figure:
    """The lecture's bubble chart: MACs (x) against accuracy, params or activation memory (y).

    `y` is ``top1`` or ``top5`` (100 − the reported error, %), ``params`` or ``memory`` (activation
    bytes at the analyses' batch and dtype). Bubble area is proportional to params. On an accuracy
    axis only networks with a reported error are plotted (the others are named in a note); if none
    has one, params are plotted instead. Writes `path` (.png, .svg or .pdf) and returns the figure.
    """
    check_path(path)
    if y not in Y_AXES:
        raise SpecError(f"unknown y axis {y!r}: choose one of {', '.join(Y_AXES)}", Location("--y"))
    if not rows:
        raise SpecError("nothing to plot: no networks", Location(str(path)))
    notes: list[str] = []
    shown = list(rows)
    mode = y
    if y in _TOP:
        shown = [r for r in rows if _accuracy(r, y) is not None]
        missing = [printable(r.label) for r in rows if _accuracy(r, y) is None]
        if not shown:
            mode, shown = "params", list(rows)
            notes.append(f"No network here has a reported {_TOP[y]} error, so parameters are plotted instead.")
        elif missing:
            notes.append(f"No reported {_TOP[y]} error, not plotted: " + ", ".join(missing) + ".")
    analyses = [r.analysis for r in shown]
    xs = [float(r.analysis.totals.macs) for r in shown]
    params = [r.analysis.totals.params for r in shown]
    split = 0
    if mode in _TOP:
        ys = [100.0 - acc.error for acc in (_accuracy(r, mode) for r in shown) if acc is not None]
        protocols = _protocols_note(shown, mode)
        if len(protocols) - 1 > _TWO_COLUMNS:
            protocols = _protocols_note(shown, mode, _NOTE_COLUMN)
            split = len(protocols) - 1
        notes[:0] = protocols
    elif mode == "params":
        ys = [float(p) for p in params]
    else:
        ys = [float(r.activation_bytes) for r in shown]
    scale = _bubble_scale(params)
    areas = [p * scale for p in params]

    fig = _new_figure(9.0, 5.6)
    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        x_log = _is_log(xs)
        y_log = mode not in _TOP and _is_log(ys)
        if x_log:
            ax.set_xscale("log")
        if y_log:
            ax.set_yscale("log")
        ax.set_xlim(*_limits(xs, x_log, 0.14))
        ax.set_ylim(*_limits(ys, y_log, 0.2))
        families = [family_of(r) for r in shown]
        palette = family_colours(families)
        colours = [palette[f] for f in families]
        bubbles = ax.scatter(xs, ys, s=areas, c=colours, alpha=0.55, edgecolors=colours, linewidths=1.2, zorder=3)
        bubbles.set_gid("bubbles")
        centres = ax.scatter(xs, ys, s=6, c=colours, zorder=4)
        centres.set_gid("centres")
        ax.grid(True, which="major", color=_GRID_COLOUR, linewidth=0.6)
        ax.set_axisbelow(True)
        _human_axis(ax, "x", x_log, *ax.get_xlim())
        ax.set_xlabel("MACs (multiply-accumulates)" + (", log scale" if x_log else ""))
        if mode in _TOP:
            ax.set_ylabel(f"{_TOP[mode]} accuracy (%), as reported")
            what = f"{_TOP[mode].capitalize()} accuracy"
        elif mode == "params":
            _human_axis(ax, "y", y_log, *ax.get_ylim())
            ax.set_ylabel("parameters" + (", log scale" if y_log else ""))
            what = "Parameters"
        else:
            _bytes_axis(ax, "y", y_log, *ax.get_ylim())
            batch = _batch_text(analyses)
            ax.set_ylabel(f"activation memory, all layer outputs ({batch})" + (", log scale" if y_log else ""))
            what = "Activation memory"
        setting = f"{_inputs_text([r.label for r in shown], analyses)} · {_batch_text(analyses)}"
        ax.set_title(f"{what} vs compute (MACs), bubble area ∝ parameters\n{setting}", loc="left")
        legend_values = size_legend_values(params)
        handles = [
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=math.sqrt(v * scale),
                markerfacecolor="#bbbbbb",
                markeredgecolor="#777777",
                label=f"{units.human(v)} params",
            )
            for v in legend_values
        ]
        if handles:
            biggest = max(h.get_markersize() for h in handles)  # points; the legend's font is 9 points
            sizes_legend = ax.legend(
                handles=handles,
                title="bubble area",
                loc="upper left",
                bbox_to_anchor=(1.02, 1.0),
                frameon=False,
                handlelength=biggest / 9 + 0.4,
                handleheight=biggest / 9,
                labelspacing=0.6,
                borderpad=1.0,
                handletextpad=0.6,
            )
            sizes_legend.set_gid("size-legend")
            ax.add_artist(sizes_legend)  # kept when the family legend becomes the axes' legend
            sizes_legend.set_clip_on(False)  # add_artist clips to the axes: the saved bbox would leave it out
        if len(palette) > 1:
            family_handles = [
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker="o",
                    markersize=7,
                    markerfacecolor=c,
                    markeredgecolor=c,
                    alpha=0.8,
                    label=family_name(f),
                )
                for f, c in palette.items()
            ]
            family_legend = ax.legend(
                handles=family_handles,
                title="family",
                loc="lower left",
                bbox_to_anchor=(1.02, 0.0),
                frameon=False,
                fontsize=8,
                title_fontsize=9,
                ncols=2 if len(palette) > 10 else 1,
                labelspacing=0.3,
                handletextpad=0.2,
                columnspacing=0.8,
                borderaxespad=0.0,
            )
            family_legend.set_gid("family-legend")
        fig.tight_layout()
        _place_labels(fig, ax, xs, ys, areas, [r.label for r in shown])
        _notes_below(fig, ax, notes, split)
        _save(fig, path)
    return fig


# ---------------------------------------------------------------------------- layers


def _elementwise(analysis: Analysis) -> set[str]:
    """Leaf layers with no params or MACs whose output has as many elements as their single input
    (relu, dropout, flatten, LRN…): hidden from the per-layer chart, which would show each twice."""
    out = set()
    for layer in analysis.layers:
        if layer.params or layer.macs or len(layer.input_shapes) != 1:
            continue
        if math.prod(layer.output_shape) == math.prod(layer.input_shapes[0]):
            out.add(layer.name)
    return out


def chart_rows(analysis: Analysis, depth: int | None = None) -> tuple[list[report.Row], list[str]]:
    """The rows the layers chart draws and notes on what it left out or grouped.

    Per layer, element-wise layers without params or MACs are hidden (their outputs still count in the
    totals); more than MAX_BARS layers are grouped at the deepest level that fits. With `depth`, every
    group is drawn.
    """
    notes: list[str] = []
    if depth is not None:
        grouped = report.rows(analysis, depth)
        if len(grouped) > MAX_BARS:
            notes.append(f"{len(grouped)} bars: a smaller --depth groups them into fewer.")
        return grouped, notes
    hidden = _elementwise(analysis)

    def drawn(level: int | None) -> list[report.Row]:
        return [r for r in report.rows(analysis, level) if not (r.layers == 1 and r.name in hidden)]

    leaves = drawn(None)
    if len(leaves) > MAX_BARS:
        deepest = max(layer.name.count(".") + 1 for layer in analysis.layers)
        level = next((d for d in range(deepest, 0, -1) if len(drawn(d)) <= MAX_BARS), 1)
        notes.append(
            f"{len(leaves)} layers are too many bars to read: grouped to depth {level} "
            "(choose another level with --depth N); element-wise layers without params or MACs not drawn."
        )
        return drawn(level), notes
    if hidden:
        kinds = sorted({layer.kind for layer in analysis.layers if layer.name in hidden})
        size = units.DTYPE_BYTES[analysis.dtype] * analysis.batch
        memory = sum(layer.activations for layer in analysis.layers if layer.name in hidden) * size
        count = f"{len(hidden)} element-wise layer{'s' if len(hidden) > 1 else ''}"
        notes.append(
            f"Not drawn: {count} without params or MACs ({', '.join(kinds)}); "
            f"{'their outputs' if len(hidden) > 1 else 'its output'} ({units.human_bytes(memory)}) "
            "count in the memory total."
        )
    return leaves, notes


def _row_label(row: report.Row) -> str:
    return printable(f"{row.name} ({row.kind})")


def layers_chart(analysis: Analysis, path: Path, depth: int | None = None) -> Figure:
    """Params, MACs and activation memory of every layer (or group) as three bar panels side by side.

    Writes `path` (.png, .svg or .pdf) and returns the figure.
    """
    check_path(path)
    drawn, notes = chart_rows(analysis, depth)
    size = units.DTYPE_BYTES[analysis.dtype] * analysis.batch
    memory = report.memory(analysis)
    t = analysis.totals
    panels: list[tuple[str, str, list[float], str]] = [
        ("params", f"params (total {units.human(t.params)})", [float(r.params) for r in drawn], OKABE_ITO[0]),
        ("macs", f"MACs (total {units.human(t.macs)})", [float(r.macs) for r in drawn], OKABE_ITO[1]),
        (
            "memory",
            f"activation memory (total {units.human_bytes(memory['activation_bytes'])})",
            [float(r.activations * size) for r in drawn],
            OKABE_ITO[2],
        ),
    ]
    height = 1.6 + 0.2 * max(len(drawn), 6)
    fig = _new_figure(12.0, height)
    with matplotlib.rc_context(_STYLE):
        axes = fig.subplots(1, 3, sharey=True)
        positions = list(range(len(drawn)))
        for ax, (gid, title, values, colour) in zip(axes, panels, strict=True):
            ax.set_gid(gid)
            ax.barh(positions, values, height=0.72, color=colour)
            ax.set_title(title, fontsize=10)
            top = max(values, default=0.0) or 1.0
            ax.set_xlim(0, top * 1.08)
            if gid == "memory":
                _bytes_axis(ax, "x", False, 0, top * 1.08)
            else:
                _human_axis(ax, "x", False, 0, top * 1.08)
            ax.grid(True, axis="x", color=_GRID_COLOUR, linewidth=0.6)
            ax.set_axisbelow(True)
            ax.tick_params(axis="y", length=0)
        axes[0].set_yticks(positions, [_row_label(r) for r in drawn], fontsize=8 if len(drawn) > 30 else 9)
        axes[0].set_ylim(len(drawn) - 0.5, -0.5)
        level = "per layer" if depth is None and not any(r.layers > 1 for r in drawn) else "per group"
        fig.suptitle(
            f"{printable(report.label(analysis))}: params, MACs and activation memory {level}\n"
            f"input {units.shape(analysis.input)} · batch {analysis.batch} · {analysis.dtype} "
            "(memory: each output at this batch and dtype)",
            x=0.01,
            ha="left",
            fontsize=11,
        )
        fig.tight_layout()
        _notes_below(fig, axes[0], notes)
        _save(fig, path)
    return fig
