"""Charts: valid files in every format, and the plotted data read back from the figure objects.

The figures a chart shows are checked against independent sources: the analysis totals and
`report.rows` / `report.memory` (the numbers `show` prints), hand arithmetic for VGG-16's largest
layers, and accuracies given explicitly here (so the tests do not depend on which specs report one).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from cli_runner import CliRunner
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from archcost import check, engine, plot, report, spec, units
from archcost.check import Accuracy
from archcost.cli import app
from archcost.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

SIGNATURES = {
    ".png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    ".pdf": lambda data: data.startswith(b"%PDF"),
    ".svg": lambda data: ET.fromstring(data).tag.rsplit("}", 1)[-1] == "svg",
}


@cache
def analysis(name: str, batch: int = 1, dtype: str = "fp32") -> engine.Analysis:
    return engine.analyze(spec.load(name), batch=batch, dtype=dtype)


def row(name: str, top1: float | None = None, top5: float | None = None, **kwargs: object) -> report.CompareRow:
    a = analysis(name, **kwargs)  # type: ignore[arg-type]
    acc1 = Accuracy(top1, f"protocol of {name}", "Table 1") if top1 is not None else None
    acc5 = Accuracy(top5, f"protocol of {name}", "Table 1") if top5 is not None else None
    return report.CompareRow(a.title, a, acc1, acc5)


# Error rates chosen for the tests (not read from the specs): the chart must show 100 − error.
ERRORS = {"alexnet": 40.7, "googlenet": 31.0, "vgg16": 27.0, "resnet50": 22.85, "resnet152": 21.43}


def accuracy_rows(names: Sequence[str] = ("alexnet", "googlenet", "vgg16", "resnet50")) -> list[report.CompareRow]:
    return [row(n, top1=ERRORS[n]) for n in names]


def bubbles(fig: Figure) -> PathCollection:
    found = [c for c in fig.axes[0].collections if c.get_gid() == "bubbles"]
    assert len(found) == 1
    collection = found[0]
    assert isinstance(collection, PathCollection)
    return collection


def labels(fig: Figure) -> list[Annotation]:
    return [t for t in fig.axes[0].texts if isinstance(t, Annotation) and t.get_gid() == "bubble-label"]


def legend(fig: Figure, gid: str) -> Legend:
    found = [c for c in fig.axes[0].get_children() if isinstance(c, Legend) and c.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def all_text(fig: Figure) -> str:
    parts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        parts += [ax.get_title(loc="left"), ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    if fig._suptitle is not None:
        parts.append(fig._suptitle.get_text())
    return "\n".join(parts)


def panel(fig: Figure, gid: str) -> Axes:
    found = [ax for ax in fig.axes if ax.get_gid() == gid]
    assert len(found) == 1
    return found[0]


def widths(ax: Axes) -> list[float]:
    bars = ax.containers[0]
    return [p.get_width() for p in bars if isinstance(p, Rectangle)]


def bar_names(fig: Figure) -> list[str]:
    """The layer names on the shared axis, top to bottom ("name (kind)")."""
    ax = fig.axes[0]
    fig.canvas.draw()
    return [t.get_text().rsplit(" (", 1)[0] for t in ax.get_yticklabels()]


# ---------------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", sorted(SIGNATURES))
def test_compare_file_valid(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"chart{suffix}"
    plot.compare_chart(accuracy_rows(), path)
    assert SIGNATURES[suffix](path.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "a temporary file was left behind"


@pytest.mark.parametrize("suffix", sorted(SIGNATURES))
def test_layers_file_valid(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "sub" / f"layers{suffix.upper()}"  # the extension is read case-blind; folders are made
    plot.layers_chart(analysis("vgg16"), path)
    assert SIGNATURES[suffix](path.read_bytes())
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize("name", ["chart.jpg", "chart", "chart.png.txt", "chart.eps"])
def test_bad_extension_is_a_spec_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(SpecError, match=r"\.png, \.svg or \.pdf"):
        plot.compare_chart(accuracy_rows(), path)
    with pytest.raises(SpecError, match=r"\.png, \.svg or \.pdf"):
        plot.layers_chart(analysis("lenet5"), path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_y_axis(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="unknown y axis 'flops'"):
        plot.compare_chart(accuracy_rows(), tmp_path / "c.png", y="flops")


def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    """Written through a private temporary file, the chart still gets the mode a plain open() gives."""
    umask = os.umask(0o022)
    try:
        path = tmp_path / "c.png"
        plot.compare_chart(accuracy_rows(), path)
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o600)  # an existing file keeps its mode
        plot.compare_chart(accuracy_rows(), path)
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.png"
    path.write_bytes(b"old chart")

    def broken(self: Figure, *args: object, **kwargs: object) -> None:
        Path(str(args[0])).write_bytes(b"half a ch")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(SpecError, match="cannot write: disk full"):  # one line, exit 2 at the command line
        plot.compare_chart(accuracy_rows(), path)
    assert path.read_bytes() == b"old chart"
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]


def test_svg_is_reproducible(tmp_path: Path) -> None:
    """No dates or random ids: the chart in docs/ changes only when its figures do."""
    one, two = tmp_path / "a.svg", tmp_path / "b.svg"
    plot.compare_chart(accuracy_rows(), one)
    plot.compare_chart(accuracy_rows(), two)
    assert one.read_bytes() == two.read_bytes()


def test_no_pyplot_figures_left_open(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot.compare_chart(accuracy_rows(), tmp_path / "c.png")
    plot.layers_chart(analysis("vgg16"), tmp_path / "v.png")
    assert plt.get_fignums() == before


def test_only_plot_imports_matplotlib() -> None:
    importers = [
        p.name
        for p in sorted((ROOT / "archcost").glob("*.py"))
        if re.search(r"^\s*(import|from) matplotlib", p.read_text(encoding="utf-8"), re.M)
    ]
    assert importers == ["plot.py"]


# ---------------------------------------------------------------------------- compare: plotted data


def test_bubbles_are_macs_accuracy_and_params(tmp_path: Path) -> None:
    rows = accuracy_rows()
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    b = bubbles(fig)
    offsets = b.get_offsets()
    sizes = b.get_sizes()
    assert len(offsets) == len(rows) == len(sizes)
    for (x, y), r in zip(offsets, rows, strict=True):
        assert x == r.analysis.totals.macs  # exact: MACs are far below 2**53
        assert r.top1 is not None
        assert y == pytest.approx(100 - r.top1.error)
    assert [float(y) for _, y in offsets] == pytest.approx([59.3, 69.0, 73.0, 77.15])  # 100 − ERRORS, by hand
    # area ∝ params: every ratio of sizes is the ratio of params
    params = [r.analysis.totals.params for r in rows]
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert sizes[i] / sizes[j] == pytest.approx(params[i] / params[j], rel=1e-9)
    assert max(sizes) == pytest.approx(plot.MAX_BUBBLE_AREA)


def test_every_bubble_labelled_at_its_point(tmp_path: Path) -> None:
    rows = accuracy_rows()
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    texts = labels(fig)
    assert [t.get_text() for t in texts] == [r.label for r in rows]
    assert [t.get_text() for t in texts] == ["AlexNet", "GoogLeNet (Inception-v1)", "VGG-16", "ResNet-50"]
    for t, (x, y) in zip(texts, bubbles(fig).get_offsets(), strict=True):
        assert t.xy == (x, y)


def test_labels_do_not_overlap(tmp_path: Path) -> None:
    """VGG-16 and VGG-19 at the same accuracy overlap as bubbles; their labels must still not collide."""
    names = ["alexnet", "zfnet", "vgg11", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50"]
    errors = [40.7, 38.4, 29.6, 24.4, 24.4, 31.0, 30.2, 26.7, 22.85]
    rows = [row(n, top1=e) for n, e in zip(names, errors, strict=True)]
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in labels(fig)]
    frame = fig.axes[0].get_window_extent(renderer)
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1, names[i]
        for j in range(i):
            assert not a.overlaps(boxes[j]), (names[i], names[j])


def test_log_or_linear_x_and_human_ticks(tmp_path: Path) -> None:
    # AlexNet 0.724G to VGG-16 15.5G MACs: more than 20 times, so a log axis
    fig = plot.compare_chart(accuracy_rows(["alexnet", "vgg16"]), tmp_path / "c.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "MACs (multiply-accumulates), log scale"
    fig.canvas.draw()
    ticks = {t.get_text() for t in ax.get_xticklabels()}
    assert {"1G", "2G", "5G", "10G"} <= ticks
    # ResNet-50 3.86G to VGG-16 15.5G: 4 times, linear
    fig = plot.compare_chart(accuracy_rows(["resnet50", "vgg16"]), tmp_path / "c.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "MACs (multiply-accumulates)"
    fig.canvas.draw()
    assert all(re.fullmatch(r"\d+(\.\d+)?G|0|", t.get_text()) for t in ax.get_xticklabels())


def test_accuracy_axis_label_and_protocol_note(tmp_path: Path) -> None:
    fig = plot.compare_chart(accuracy_rows(), tmp_path / "c.png")
    assert fig.axes[0].get_ylabel() == "top-1 accuracy (%), as reported"
    text = all_text(fig)
    assert "Accuracy = 100 − top-1 error as reported, measured in different ways:" in text
    for r in accuracy_rows():
        assert f"  {r.label}: protocol of {r.analysis.name}\n" in text + "\n"  # short protocols verbatim


def test_long_protocols_are_shortened(tmp_path: Path) -> None:
    a = analysis("alexnet")
    long = "single model (1 CNN), ILSVRC-2012 validation set; predictions averaged over ten patches " + "x" * 80
    rows = [
        report.CompareRow("A", a, Accuracy(40.7, long, "T2")),
        report.CompareRow("B", a, Accuracy(40.7, long, "T2")),
    ]
    text = all_text(plot.compare_chart(rows, tmp_path / "c.png"))
    line = next(t for t in text.splitlines() if t.startswith("  A, B: "))  # same protocol: one line for both
    assert line.startswith("  A, B: single model, ILSVRC-2012 validation set; predictions averaged over ten patches")
    assert line.endswith("…")


def test_some_without_accuracy_are_named_not_plotted(tmp_path: Path) -> None:
    rows = [row("alexnet", top1=40.7), row("googlenet"), row("resnet50", top1=22.85), row("vgg19")]
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    assert [t.get_text() for t in labels(fig)] == ["AlexNet", "ResNet-50"]
    offsets = bubbles(fig).get_offsets()
    assert [float(y) for _, y in offsets] == pytest.approx([59.3, 77.15])
    assert "No reported top-1 error, not plotted: GoogLeNet (Inception-v1), VGG-19." in all_text(fig)


def test_no_accuracy_falls_back_to_params(tmp_path: Path) -> None:
    rows = [row("alexnet"), row("vgg16"), row("resnet50")]
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    offsets = bubbles(fig).get_offsets()
    assert [int(y) for _, y in offsets] == [r.analysis.totals.params for r in rows]
    assert fig.axes[0].get_ylabel() == "parameters"
    assert "parameters are plotted instead" in all_text(fig)


def test_y_params(tmp_path: Path) -> None:
    rows = accuracy_rows(["alexnet", "vgg16", "resnet50"])
    fig = plot.compare_chart(rows, tmp_path / "c.png", y="params")
    assert [int(y) for _, y in bubbles(fig).get_offsets()] == [60_965_224, 138_357_544, 25_557_032]
    assert [int(y) for _, y in bubbles(fig).get_offsets()] == [r.analysis.totals.params for r in rows]


def test_y_memory_uses_batch_and_dtype(tmp_path: Path) -> None:
    rows = [row(n, batch=4, dtype="fp16") for n in ("alexnet", "vgg16", "resnet50")]
    fig = plot.compare_chart(rows, tmp_path / "c.svg", y="memory")
    ys = [int(y) for _, y in bubbles(fig).get_offsets()]
    assert ys == [report.memory(r.analysis)["activation_bytes"] for r in rows]
    assert ys == [r.analysis.totals.activations * 4 * 2 for r in rows]  # batch 4 × 2 bytes
    ax = fig.axes[0]
    assert "activation memory" in ax.get_ylabel() and "batch 4 · fp16" in ax.get_ylabel()
    fig.canvas.draw()
    assert all(re.fullmatch(r"[\d.]+ (B|KiB|MiB|GiB)|0|", t.get_text()) for t in ax.get_yticklabels())


def test_y_top5(tmp_path: Path) -> None:
    rows = [row("alexnet", top1=40.7, top5=18.2), row("googlenet", top5=10.07)]
    fig = plot.compare_chart(rows, tmp_path / "c.png", y="top5")
    assert [float(y) for _, y in bubbles(fig).get_offsets()] == pytest.approx([81.8, 89.93])
    assert fig.axes[0].get_ylabel() == "top-5 accuracy (%), as reported"


def test_size_legend_values() -> None:
    # 7M..138M: nearest 1-2-5 number to 7M is 5M (7/5 = 1.40 < 10/7 = 1.43); to √(7M·138M) = 31.1M is
    # 20M (31.1/20 = 1.55 < 50/31.1 = 1.61); the largest not above 138M is 100M.
    assert plot.size_legend_values([7_000_000, 25_600_000, 138_000_000]) == [5e6, 2e7, 1e8]
    # one network of 61M: 50M only (never a reference bubble larger than the data)
    assert plot.size_legend_values([61_000_000]) == [5e7]
    assert plot.size_legend_values([]) == []


def test_size_legend_bubbles_to_scale(tmp_path: Path) -> None:
    rows = accuracy_rows()
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    sizes = legend(fig, "size-legend")
    values = plot.size_legend_values([r.analysis.totals.params for r in rows])
    assert [t.get_text() for t in sizes.get_texts()] == [f"{units.human(v)} params" for v in values]
    # a legend marker's area (markersize², points²) relates to a bubble's as their params do
    bubble = bubbles(fig).get_sizes()[0]
    for handle, value in zip(sizes.legend_handles, values, strict=True):
        size = handle.get_markersize()  # type: ignore[union-attr]
        assert size**2 / bubble == pytest.approx(value / rows[0].analysis.totals.params, rel=1e-9)


def test_title_names_inputs_batch_and_dtype(tmp_path: Path) -> None:
    rows = [row(n, top1=ERRORS[n], batch=8, dtype="bf16") for n in ("alexnet", "vgg16", "resnet50")]
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    title = fig.axes[0].get_title(loc="left")
    assert "batch 8 · bf16" in title
    alexnet, vgg = rows[0].analysis.input, rows[1].analysis.input
    assert alexnet != vgg  # AlexNet's spec reads 227×227 images, the others 224×224
    assert f"input {units.shape(vgg)} (AlexNet {units.shape(alexnet)})" in title


def test_colour_blind_safe_palette(tmp_path: Path) -> None:
    fig = plot.compare_chart(accuracy_rows(), tmp_path / "c.png")
    colours = [to_hex(c, keep_alpha=False).upper() for c in bubbles(fig).get_facecolors()]
    assert colours == ["#0072B2", "#D55E00", "#009E73", "#E69F00"]  # Okabe & Ito: blue, vermillion, green, orange


def test_family_colours_never_repeat() -> None:
    families = [f"f{i}" for i in range(len(plot.FAMILY_PALETTE))]
    colours = plot.family_colours([*families, "f0", "f3"])
    assert list(colours) == families  # in order of first appearance, each once
    assert len(set(colours.values())) == len(families) == 19
    assert list(colours.values())[:8] == list(plot.OKABE_ITO)
    with pytest.raises(SpecError, match="20 families on one chart"):
        plot.family_colours([*families, "one too many"])


TWENTY_TWO = [
    "alexnet",
    "zfnet",
    "vgg16",
    "vgg19",
    "googlenet",
    "inception_v3",
    "inception_v4",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "densenet121",
    "densenet201",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "squeezenet1_0",
    "mobilenet_v1",
    "mobilenet_v2",
    "shufflenet_v1",
    "shufflenet_v2_x1_0",
    "efficientnet_b0",
]


def _bundled_row(name: str) -> report.CompareRow:
    s = spec.load(name)
    found, analysis = check.accuracy(s), engine.analyze(s)
    return report.CompareRow(analysis.title, analysis, found.get("top1_error"), found.get("top5_error"))


def test_twenty_two_networks_stay_readable(tmp_path: Path) -> None:
    """The lecture's 22 ImageNet networks: a colour per family (the same within one), every label inside
    the frame, apart from the other labels and off every bubble's centre; the legends list families once."""
    rows = [_bundled_row(n) for n in TWENTY_TWO]
    fig = plot.compare_chart(rows, tmp_path / "c.png")
    faces = [to_hex(c, keep_alpha=False) for c in bubbles(fig).get_facecolors()]
    families = [plot.family_of(r) for r in rows]
    for i in range(len(rows)):
        for j in range(i):
            assert (faces[i] == faces[j]) == (families[i] == families[j]), (TWENTY_TWO[i], TWENTY_TWO[j])
    names = [t.get_text() for t in legend(fig, "family-legend").get_texts()]
    assert names == [plot.family_name(f) for f in dict.fromkeys(families)]
    assert "ResNet" in names and "MobileNet" in names and len(names) == 10
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax = fig.axes[0]
    boxes = [t.get_window_extent(renderer) for t in labels(fig)]
    frame = ax.get_window_extent(renderer)
    centres = ax.transData.transform(bubbles(fig).get_offsets())
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1, TWENTY_TWO[i]
        for j in range(i):
            assert not a.overlaps(boxes[j]), (TWENTY_TWO[i], TWENTY_TWO[j])
        for x, y in centres:
            assert not (a.x0 <= x <= a.x1 and a.y0 <= y <= a.y1), TWENTY_TWO[i]
    # the notes under the chart take two columns, not a line per network
    assert len([t for t in fig.texts if t.get_text()]) == 2


@pytest.mark.parametrize("names", [("alexnet", "googlenet", "vgg16", "resnet50", "resnet152"), TWENTY_TWO[:8]])
def test_nothing_is_cut_at_the_edges(tmp_path: Path, names: Sequence[str]) -> None:
    """Both legends are inside the saved area: the file's 0.15 in (22 px) margin stays blank all round."""
    from matplotlib.image import imread

    plot.compare_chart([_bundled_row(n) for n in names], tmp_path / "c.png")
    pixels = imread(tmp_path / "c.png")[..., :3]
    for edge in (pixels[:, -10:], pixels[:, :10], pixels[:10], pixels[-10:]):
        assert edge.min() > 0.99


def test_place_boxes_is_deterministic_and_separates_labels() -> None:
    """Five labels on one spot: the greedy pass and the repulsion leave no two overlapping, every time."""
    frame = Bbox.from_extents(0, 0, 600, 400)
    anchors = [(300.0, 200.0)] * 5
    sizes = [(80.0, 12.0)] * 5
    first = plot.place_boxes(anchors, [5.0] * 5, sizes, frame)
    again = plot.place_boxes(anchors, [5.0] * 5, sizes, frame)
    assert [b.bounds for b in first] == [b.bounds for b in again]
    for i, a in enumerate(first):
        assert (a.width, a.height) == sizes[i]
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        for j in range(i):
            assert not a.overlaps(first[j])


def test_nas_story_chart(tmp_path: Path) -> None:
    """The mobile networks of the NAS story (those bundled): one colour per family, a label each."""
    names = [
        n
        for n in ("nasnet_a_mobile", "mobilenet_v1", "shufflenet_v1", "mnasnet1_0", "efficientnet_b0")
        if n in spec.bundled_names()
    ]
    rows = [_bundled_row(n) for n in names]
    fig = plot.compare_chart(rows, tmp_path / "nas.png")
    assert [t.get_text() for t in labels(fig)] == [r.label for r in rows]
    faces = {to_hex(c, keep_alpha=False) for c in bubbles(fig).get_facecolors()}
    assert len(faces) == len({plot.family_of(r) for r in rows})


def test_no_rows_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no networks"):
        plot.compare_chart([], tmp_path / "c.png")


# ---------------------------------------------------------------------------- layers: plotted data


def test_vgg16_bars_are_each_layers_figures(tmp_path: Path) -> None:
    a = analysis("vgg16")
    fig = plot.layers_chart(a, tmp_path / "v.png")
    by_name = {r.name: r for r in report.rows(a)}
    names = bar_names(fig)
    # per layer, the 13 convs, 5 pools and 3 linear layers; relu, dropout and flatten are not drawn
    assert sorted({by_name[n].kind for n in names}) == ["conv", "linear", "maxpool"]
    assert [by_name[n].kind for n in names].count("conv") == 13
    assert len(names) == 13 + 5 + 3
    assert {r.kind for r in report.rows(a) if r.name not in names} == {"relu", "dropout", "flatten"}
    assert widths(panel(fig, "params")) == [by_name[n].params for n in names]
    assert widths(panel(fig, "macs")) == [by_name[n].macs for n in names]
    assert widths(panel(fig, "memory")) == [by_name[n].activations * 4 for n in names]  # batch 1, fp32
    assert "relu" in all_text(fig) and "Not drawn" in all_text(fig)


def test_vgg16_story_memory_early_params_late(tmp_path: Path) -> None:
    fig = plot.layers_chart(analysis("vgg16", batch=3, dtype="fp16"), tmp_path / "v.png")
    names = bar_names(fig)
    params, memory = widths(panel(fig, "params")), widths(panel(fig, "memory"))
    # fc6: 7·7·512 = 25,088 inputs × 4,096 outputs + 4,096 biases
    assert max(params) == 25_088 * 4_096 + 4_096 == 102_764_544
    assert names[params.index(max(params))] == "fc6"
    # the first two convs each write 64×224×224 values, ×3 samples × 2 bytes
    assert max(memory) == 64 * 224 * 224 * 3 * 2
    assert [n for n, m in zip(names, memory, strict=True) if m == max(memory)] == [
        "block1.convs.1.conv",
        "block1.convs.2.conv",
    ]


@pytest.mark.parametrize("depth", [1, 2])
def test_depth_draws_every_group(tmp_path: Path, depth: int) -> None:
    a = analysis("resnet50")
    fig = plot.layers_chart(a, tmp_path / "r.png", depth=depth)
    groups = report.rows(a, depth)
    assert bar_names(fig) == [g.name for g in groups]
    assert widths(panel(fig, "params")) == [g.params for g in groups]
    assert widths(panel(fig, "macs")) == [g.macs for g in groups]
    assert widths(panel(fig, "memory")) == [g.activations * 4 for g in groups]
    # nothing left out: the bars add up to the totals `show` prints
    assert sum(widths(panel(fig, "params"))) == a.totals.params
    assert sum(widths(panel(fig, "macs"))) == a.totals.macs
    assert sum(widths(panel(fig, "memory"))) == report.memory(a)["activation_bytes"]


@pytest.mark.parametrize("name", spec.bundled_names())
def test_every_bundled_network_charts(tmp_path: Path, name: str) -> None:
    """Each catalog network draws at most MAX_BARS bars whose params and MACs add up to its totals
    (only cost-free element-wise layers are left out), and its memory bars to no more than its total."""
    a = analysis(name)
    fig = plot.layers_chart(a, tmp_path / f"{name}.png")
    assert SIGNATURES[".png"]((tmp_path / f"{name}.png").read_bytes())
    assert 0 < len(bar_names(fig)) <= plot.MAX_BARS
    assert sum(widths(panel(fig, "params"))) == a.totals.params
    assert sum(widths(panel(fig, "macs"))) == a.totals.macs
    assert 0 < sum(widths(panel(fig, "memory"))) <= report.memory(a)["activation_bytes"]


def test_too_many_layers_are_grouped_and_said_so(tmp_path: Path) -> None:
    a = analysis("resnet152")
    assert len(report.rows(a)) > plot.MAX_BARS
    fig = plot.layers_chart(a, tmp_path / "r.png")
    names = bar_names(fig)
    assert 0 < len(names) <= plot.MAX_BARS
    assert "--depth" in all_text(fig)
    assert "layer3.35" in names  # ResNet-152's stage 3 has 36 bottlenecks, each one bar at depth 2


def test_layers_title_and_panel_totals(tmp_path: Path) -> None:
    a = analysis("vgg16", batch=4, dtype="int8")
    fig = plot.layers_chart(a, tmp_path / "v.png")
    text = all_text(fig)
    assert "VGG-16" in text and "input 3×224×224 · batch 4 · int8" in text
    assert panel(fig, "params").get_title() == "params (total 138M)"
    assert panel(fig, "macs").get_title() == "MACs (total 15.5G)"
    mem = units.human_bytes(a.totals.activations * 4 * 1)
    assert panel(fig, "memory").get_title() == f"activation memory (total {mem})"


# ---------------------------------------------------------------------------- through the CLI


def test_cli_compare_plot_to_file(tmp_path: Path) -> None:
    out = tmp_path / "OUT.svg"
    result = runner.invoke(app, ["compare", "alexnet", "vgg16", "resnet50", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert SIGNATURES[".svg"](out.read_bytes())
    assert f"wrote {out}" in result.output


def test_cli_compare_plot_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["compare", "alexnet", "vgg16", "resnet50", "--plot", "--y", "memory"])
    assert result.exit_code == 0, result.output
    assert SIGNATURES[".png"]((tmp_path / "archcost-compare.png").read_bytes())
    assert "wrote archcost-compare.png" in result.output


@pytest.mark.parametrize("args", [["show", "vgg16"], ["show", "resnet50", "--depth", "1"]])
def test_cli_show_plot(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "OUT.png"
    result = runner.invoke(app, [*args, "--plot", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert SIGNATURES[".png"](out.read_bytes())
    assert f"wrote {out}" in result.stderr


def test_cli_bad_extension_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "OUT.jpg"
    result = runner.invoke(app, ["show", "vgg16", "--plot", str(out)])
    assert result.exit_code == 2
    assert "the file name must end in .png, .svg or .pdf" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not out.exists()


def test_cli_without_matplotlib(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "from archcost.cli import app\n"
        "sys.argv = ['archcost', *sys.argv[1:]]\n"
        "app()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for args in (["show", "lenet5", "--plot", "x.png"], ["compare", "lenet5", "alexnet", "--plot"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 2, done.stderr
        assert "pip install 'archcost[plot]'" in done.stderr
        assert "Traceback" not in done.stderr
        assert list(tmp_path.iterdir()) == []


def test_bubble_radius_matches_params_visually(tmp_path: Path) -> None:
    """Area, not radius, is proportional to params: VGG-16 (138M) is √(138/7) ≈ 4.4 GoogLeNets wide."""
    rows = accuracy_rows(["googlenet", "vgg16"])
    sizes = bubbles(plot.compare_chart(rows, tmp_path / "c.png")).get_sizes()
    width_ratio = math.sqrt(sizes[1] / sizes[0])
    assert width_ratio == pytest.approx(math.sqrt(138_357_544 / 6_998_552), rel=1e-9)


def test_compare_plot_with_a_bad_extension_names_the_extension(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", "alexnet", "--plot", str(tmp_path / "out.jpg")])
    assert result.exit_code == 2
    assert "no such spec file" not in result.output and ".jpg" in result.output
