"""``archcost show``: one analysis as a rich table with a summary, JSON, CSV or Markdown, and ``--explain``.

Every column names its convention: MACs (multiply-accumulates, bias excluded), FLOPs (2 per MAC plus
element-wise work), activations (output elements per sample), memory in bytes at the batch and dtype.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from archcost import layers, training, units
from archcost.engine import Analysis, LayerResult
from archcost.memory import OPTIMIZER_STATES, Fit, Memory
from archcost.report import columns as col
from archcost.report import terminal, writers
from archcost.report.columns import Column
from archcost.report.terminal import TerminalTable
from archcost.spec import gc_paused
from archcost.training import Training

FORMATS = ("table", "json", "csv", "markdown")


class Row(NamedTuple):
    """One report row: a leaf layer, or with ``--depth`` a group of them summed.

    This module's records are named tuples, not dataclasses: five frozen dataclasses took 3 ms of its import.
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    activations: int
    rf: tuple[int, int]
    layers: int = 1
    buffers: int = 0
    saved_bytes: int = 0
    step_macs: int = 0
    """Expected MACs of a training step (forward + backward, weighted by survival), with ``--train``."""


def rows(
    analysis: Analysis,
    depth: int | None = None,
    saved: Mapping[str, int] | None = None,
    step: Mapping[str, int] | None = None,
) -> list[Row]:
    """The rows of a report: every leaf, or with `depth` the hierarchy cut at that level.

    `saved` gives each layer's bytes saved for backward (training), `step` its expected training-step
    MACs, summed like the other figures.
    """
    saved = saved or {}
    step = step or {}
    if depth is None:
        return [_leaf_row(layer, saved, step) for layer in analysis.layers]
    groups: dict[str, list[LayerResult]] = {}
    for layer in analysis.layers:
        key = ".".join(layer.name.split(".")[:depth])
        groups.setdefault(key, []).append(layer)
    return [_group_row(key, members, saved, step) for key, members in groups.items()]


def _leaf_row(layer: LayerResult, saved: Mapping[str, int], step: Mapping[str, int]) -> Row:
    return Row(
        layer.name,
        layer.kind,
        layer.output_shape,
        layer.params,
        layer.macs,
        layer.flops,
        layer.activations,
        layer.rf,
        buffers=layer.buffers,
        saved_bytes=saved.get(layer.name, 0),
        step_macs=step.get(layer.name, 0),
    )


def _group_row(key: str, members: Sequence[LayerResult], saved: Mapping[str, int], step: Mapping[str, int]) -> Row:
    if len(members) == 1 and members[0].name == key:
        return _leaf_row(members[0], saved, step)
    last = members[-1]
    return Row(
        name=key,
        kind=f"{len(members)} layers",
        output_shape=last.output_shape,
        params=sum(m.params for m in members),
        macs=sum(m.macs for m in members),
        flops=sum(m.flops for m in members),
        activations=sum(m.activations for m in members),
        rf=last.rf,
        layers=len(members),
        buffers=sum(m.buffers for m in members),
        saved_bytes=sum(saved.get(m.name, 0) for m in members),
        step_macs=sum(step.get(m.name, 0) for m in members),
    )


def totals_row(analysis: Analysis, mem: Memory | None = None, train: Training | None = None) -> Row:
    """The totals as a row (the table's footer, the CSV and Markdown last line): the output's shape and field."""
    t = analysis.totals
    return Row(
        "total",
        "",
        analysis.output.output_shape,
        t.params,
        t.macs,
        t.flops,
        t.activations,
        analysis.output.rf,
        len(analysis.layers),
        t.buffers,
        mem.saved_activation_bytes if mem else 0,
        train.train_step_macs if train else 0,
    )


def memory(analysis: Analysis) -> dict[str, int]:
    """Bytes at the analysis' batch and dtype: weights, buffers and all layer outputs."""
    size = units.DTYPE_BYTES[analysis.dtype]
    t = analysis.totals
    return {
        "param_bytes": t.params * size,
        "buffer_bytes": t.buffers * size,
        "activation_bytes": t.activations * analysis.batch * size,
    }


# ---------------------------------------------------------------------------- columns


def layer_columns(
    analysis: Analysis, *, buffers: bool = True, saved: bool = True, step: bool = False
) -> list[Column[Any]]:
    """The columns of a layer row, in every format: figures per sample, memory at the batch and dtype.

    `buffers` and `saved` keep the buffer and saved-for-backward columns (the table shows them only
    when the network has buffers, and saved bytes only with ``--train``); `step` adds the expected
    training-step MACs (``--train``).
    """
    size = units.DTYPE_BYTES[analysis.dtype]
    output_size = analysis.batch * size
    out: list[Column[Any]] = [
        col.text("name", "layer"),
        col.text("kind", "kind"),
        col.shape("output_shape", "output (C×H×W)"),
        col.count("params", "params", blank_zero=True),
        col.count("macs", "MACs", blank_zero=True),
        col.count("flops", "FLOPs", blank_zero=True),
        col.count("activations", "activations"),
        Column("receptive_field", "RF", lambda r: list(r.rf), col.field_cell, "right"),
        col.size("weight_bytes", "weight mem", lambda r: r.params * size, blank_zero=True),
        col.size("output_bytes", "output mem", lambda r: r.activations * output_size),
    ]
    if buffers:
        out.append(col.size("buffer_bytes", "buffer mem", lambda r: r.buffers * size, blank_zero=True))
    if saved:
        out.append(col.size("saved_bytes", "saved mem", lambda r: getattr(r, "saved_bytes", 0), blank_zero=True))
    if step:
        out.append(col.count("step_macs", "step MACs", lambda r: getattr(r, "step_macs", 0), blank_zero=True))
    return out


_JSON_EXTRAS: tuple[Column[Any], ...] = (
    Column("inputs", "inputs", lambda r: list(r.inputs), col.text_cell),
    col.count("buffers", "buffers"),
    Column("jump", "jump", lambda r: list(r.jump), col.field_cell, "right"),
    Column("line", "line", lambda r: r.loc.line, col.plain_count_cell, "right"),
)
"""What JSON adds to a leaf layer's columns: its inputs, buffers, the jump of its field, its line in the spec."""


# ---------------------------------------------------------------------------- variant


def variant(analysis: Analysis) -> dict[str, Any]:
    """The model-level settings that say which variant of the network this is.

    A switch or a choice (a setting that is true/false or a word, such as ResNet-50's ``v15``) is
    always named, default or not, since networks of the same name differ in it; a number (a width
    or a block count) is named when it was set (``--set``), as it is the spec's own otherwise.
    """
    return {
        key: value
        for key, value in analysis.settings.items()
        if isinstance(value, bool | str) or key in analysis.overrides
    }


def setting_text(value: Any) -> str:
    """A setting's value as a spec writes it: ``false``, ``0.5``, ``relu``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return units.digits(value)
    if isinstance(value, float):
        return units.general(value)
    return str(value)


def label(analysis: Analysis) -> str:
    """The network's title naming its variant: ``ResNet-50 (v15=false)``; the title alone if none."""
    named = variant(analysis)
    if not named:
        return analysis.title
    return f"{analysis.title} ({', '.join(f'{k}={setting_text(v)}' for k, v in named.items())})"


# ---------------------------------------------------------------------------- table


def title(analysis: Analysis) -> str:
    """The network (naming its variant), its input, batch and dtype: the heading of every format."""
    return f"{label(analysis)}: input {units.shape(analysis.input)} (C×H×W), batch {analysis.batch}, {analysis.dtype}"


def table(
    analysis: Analysis,
    depth: int | None = None,
    *,
    exact: bool = False,
    mem: Memory | None = None,
    train: Training | None = None,
) -> TerminalTable:
    """A rich table, one row per layer (or group), totals at the bottom.

    Memory columns are bytes at the analysis' batch and dtype; with `mem` from a training
    analysis (`--train`), a column shows what each layer saves for backward, and with `train` one
    shows each layer's expected training-step MACs (forward + backward).
    """
    columns = layer_columns(analysis, buffers=analysis.totals.buffers > 0, saved=mem is not None, step=bool(train))
    step = training.expected_steps(train) if train else None
    with gc_paused():
        return terminal.table(
            columns,
            rows(analysis, depth, mem.saved_by_layer if mem else None, step),
            title=title(analysis),
            footer=totals_row(analysis, mem, train),
            exact=exact,
            styles={"kind": lambda row: "dim" if row.layers > 1 else ""},
        )


def weighted_kinds(analysis: Analysis, joiner: str) -> str:
    """The weighted kinds (the ones with MACs) this network has, in first-use order: "conv/linear"."""
    seen = dict.fromkeys(layer.kind for layer in analysis.layers if layers.KINDS[layer.kind].weighted)
    return joiner.join(seen) or joiner.join(k.name for k in layers.CATALOG if k.weighted)


def summary(
    analysis: Analysis,
    mem: Memory | None = None,
    *,
    train: bool = False,
    fit: Fit | None = None,
    steps: Training | None = None,
) -> list[str]:
    """The totals in exact integers, the memory figures with their meanings, and the fit; with `steps`,
    the training-step MACs and how they were derived."""
    t = analysis.totals
    lines = [
        f"params       {units.exact(t.params):>16}  trainable (weights, biases, norm γ/β); "
        f"buffers {units.exact(t.buffers)}",
        f"MACs         {units.exact(t.macs):>16}  multiply-accumulates of {weighted_kinds(analysis, '/')}, "
        "bias excluded (the papers' mult-adds)",
        f"FLOPs        {units.exact(t.flops):>16}  2 per MAC + bias adds + element-wise ops",
        f"activations  {units.exact(t.activations):>16}  output elements of all layers, per sample",
        f"depth {analysis.weighted_depth} weighted layers ({weighted_kinds(analysis, ' + ')}) · "
        f"receptive field of the output {units.receptive_field(analysis.output.rf)} px",
    ]
    if steps is not None:
        lines += training.summary(steps, t.macs)
    if mem is None:
        return lines
    alive = ", ".join(
        f"{name} {units.human_bytes(e * mem.batch * units.DTYPE_BYTES[mem.dtype])}" for name, e in mem.peak_alive
    )
    lines += [
        f"memory at batch {mem.batch}, {mem.dtype} (KiB, MiB, GiB are powers of 1024):",
        _mem_line("weights", mem.param_bytes, "params × bytes per element"),
        _mem_line("buffers", mem.buffer_bytes, "running statistics of batch norm"),
        _mem_line("all outputs", mem.activation_bytes, "every layer's output at once: an upper bound, no reuse"),
        _mem_line(
            "peak inference",
            mem.peak_inference_bytes,
            f"activations alive at once at {mem.peak_layer} (each kept until its last consumer; "
            "in-place activations reuse their input)",
        ),
        f"{'':18}alive there: {alive}",
        _mem_line("inference total", mem.inference_bytes, "weights + buffers + peak inference"),
    ]
    if train:
        states = OPTIMIZER_STATES[mem.optimizer]
        lines += [
            f"training step ({mem.optimizer}):",
            _mem_line("gradients", mem.gradient_bytes, "one per parameter"),
            _mem_line("optimizer state", mem.optimizer_bytes, f"{mem.optimizer}: {states} per parameter"),
            _mem_line(
                "saved for backward",
                mem.saved_activation_bytes,
                "what autograd keeps from forward (docs/conventions.md)",
            ),
            _mem_line("backward transient", mem.backward_transient_bytes, "the largest output + input gradient pair"),
            _mem_line(
                "training total", mem.training_bytes, "weights + buffers + gradients + optimizer + saved + transient"
            ),
        ]
    if fit is not None:
        lines.append(
            f"fits in {units.human_bytes(fit.budget)} ({units.exact(fit.budget)} B): "
            f"inference batch ≤ {units.exact(fit.inference_batch)}; "
            f"training batch ≤ {units.exact(fit.training_batch)} ({mem.optimizer})"
        )
    return [writers.printable(line) for line in lines]


def _mem_line(label: str, value: int, meaning: str) -> str:
    return f"  {label:<18}{units.human_bytes(value):>10}  {meaning}"


def explain(analysis: Analysis, train: Training | None = None) -> Iterable[str]:
    """Each layer's arithmetic, the way a lecture writes it (shapes H×W×C); with `train`, each layer's
    training step (forward + weight and input gradients, times its survival) and the totals' derivation."""
    yield writers.printable(
        f"{label(analysis)}: input {units.shape(analysis.input)} (C×H×W). Shapes below are H×W×C, as in lectures."
    )
    step_of = {s.name: s for s in train.layers} if train else {}
    for layer in analysis.layers:
        yield writers.printable(f"{layer.name}: {layer.explain}")
        step = step_of.get(layer.name)
        if step is not None and (step.step or step.survival < 1):
            yield writers.printable(f"  {training.explain(step)}")
    t = analysis.totals
    yield f"total: params = {units.exact(t.params)}; MACs = {units.exact(t.macs)}; FLOPs = {units.exact(t.flops)}"
    if train is not None:
        for line in training.summary(train, t.macs):
            yield writers.printable(line)


# ---------------------------------------------------------------------------- machine formats


CONVENTIONS = {
    "macs": "multiply-accumulates of conv and linear layers, bias excluded",
    "flops": "2 per MAC + bias adds + element-wise operations (docs/conventions.md)",
    "activations": "output elements of every layer, one sample",
}


TRAIN_CONVENTIONS = {
    "expected_train_macs": "forward MACs with each layer weighted by its survival probability (stochastic depth)",
    "train_step_macs": "forward + weight gradients + input gradients (none into the image), expected under "
    "stochastic depth (docs/conventions.md)",
}


def to_dict(
    analysis: Analysis,
    depth: int | None = None,
    mem: Memory | None = None,
    fit: Fit | None = None,
    train: Training | None = None,
) -> dict[str, Any]:
    """The JSON contract (design README): name, input, batch, dtype, totals, layers; with `train`, the
    training-step figures in the totals and each layer's survival and expected step MACs."""
    with gc_paused():  # a dict per layer, all kept: the collector's passes would find nothing
        return _to_dict(analysis, depth, mem, fit, train)


def _to_dict(
    analysis: Analysis, depth: int | None, mem: Memory | None, fit: Fit | None, train: Training | None
) -> dict[str, Any]:
    t = analysis.totals
    data: dict[str, Any] = {
        "name": analysis.name,
        "title": analysis.title,
        "input": list(analysis.input),
        "batch": analysis.batch,
        "dtype": analysis.dtype,
        "settings": dict(analysis.settings),
        "variant": variant(analysis),
        "label": label(analysis),
        "conventions": {**CONVENTIONS, **(TRAIN_CONVENTIONS if train else {})},
        "totals": {
            "params": t.params,
            "macs": t.macs,
            "flops": t.flops,
            "activations": t.activations,
            "buffers": t.buffers,
            **memory(analysis),
            **(_memory_dict(mem) if mem else {}),
            "weighted_depth": analysis.weighted_depth,
            "receptive_field": list(analysis.output.rf),
            **(_training_dict(train) if train else {}),
        },
        "layers": _layer_dicts(analysis, mem, train),
    }
    if fit is not None:
        data["fit"] = {
            "budget_bytes": fit.budget,
            "max_batch_inference": fit.inference_batch,
            "max_batch_training": fit.training_batch,
        }
    if depth is not None:
        group_columns = [*layer_columns(analysis, step=bool(train)), col.count("layers", "layers")]
        step = training.expected_steps(train) if train else None
        data["groups"] = writers.json_rows(
            group_columns, rows(analysis, depth, mem.saved_by_layer if mem else None, step)
        )
    return data


def _layer_dicts(analysis: Analysis, mem: Memory | None, train: Training | None = None) -> list[dict[str, Any]]:
    """Each leaf layer's entry in the JSON: its columns and the extras (with `train`, its survival and
    expected training-step MACs)."""
    saved = mem.saved_by_layer if mem else {}
    columns = [
        *layer_columns(analysis, saved=False),
        *_JSON_EXTRAS,
        col.size("saved_bytes", "saved mem", lambda r: saved.get(r.name, 0)),
    ]
    if train is not None:
        step = training.expected_steps(train)
        columns += [
            Column("survival", "survival", attrgetter("survival"), col.text_cell),
            col.count("train_step_macs", "step MACs", lambda r: step[r.name]),
        ]
    return writers.json_rows(columns, analysis.layers)


def _training_dict(train: Training) -> dict[str, Any]:
    """The training-step totals (docs/conventions.md): expected forward MACs, the step and its parts."""
    return {
        "expected_train_macs": train.expected_train_macs,
        "train_step_macs": train.train_step_macs,
        "train_weight_grad_macs": train.expected_weight_grad_macs,
        "train_input_grad_macs": train.expected_input_grad_macs,
    }


def _memory_dict(mem: Memory) -> dict[str, Any]:
    return {
        "peak_inference_bytes": mem.peak_inference_bytes,
        "peak_inference_layer": mem.peak_layer,
        "inference_bytes": mem.inference_bytes,
        "optimizer": mem.optimizer,
        "gradient_bytes": mem.gradient_bytes,
        "optimizer_bytes": mem.optimizer_bytes,
        "saved_activation_bytes": mem.saved_activation_bytes,
        "backward_transient_bytes": mem.backward_transient_bytes,
        "training_bytes": mem.training_bytes,
    }


def to_json(
    analysis: Analysis,
    depth: int | None = None,
    mem: Memory | None = None,
    fit: Fit | None = None,
    train: Training | None = None,
) -> str:
    """`to_dict` as JSON text: one key a line, one layer a line."""
    return writers.dumps(to_dict(analysis, depth, mem, fit, train))


def _layers_or_rows(analysis: Analysis, depth: int | None) -> Sequence[Row | LayerResult]:
    """The leaves themselves when there is no `depth`: a layer has every field its columns read."""
    return analysis.layers if depth is None else rows(analysis, depth)


def _text_columns(analysis: Analysis) -> list[Column[Any]]:
    """The CSV and Markdown columns: the table's, without saved bytes (a training figure)."""
    return layer_columns(analysis, buffers=analysis.totals.buffers > 0, saved=False)


def to_csv(analysis: Analysis, depth: int | None = None) -> str:
    """One row per layer (or group) with exact integers; shapes as C×H×W; a totals row last."""
    with gc_paused():
        return writers.csv_text(_text_columns(analysis), _layers_or_rows(analysis, depth), [totals_row(analysis)])


def to_markdown(analysis: Analysis, depth: int | None = None) -> str:
    """A GitHub-flavoured Markdown table with exact integers and a totals row in bold."""
    heading = (
        f"**{writers.markdown_escape(label(analysis))}**: input {units.shape(analysis.input)}, "
        f"batch {analysis.batch}, {analysis.dtype}"
    )
    with gc_paused():
        table_lines = writers.markdown_table(
            _text_columns(analysis), _layers_or_rows(analysis, depth), [totals_row(analysis)]
        )
    return "\n".join([heading, "", *table_lines]) + "\n"


def render_text(
    analysis: Analysis,
    fmt: str,
    depth: int | None = None,
    mem: Memory | None = None,
    fit: Fit | None = None,
    train: Training | None = None,
) -> str:
    """The machine formats as text: json, csv or markdown (`train` adds the training figures to JSON)."""
    if fmt == "json":
        return to_json(analysis, depth, mem, fit, train) + "\n"
    if fmt == "csv":
        return to_csv(analysis, depth)
    if fmt == "markdown":
        return to_markdown(analysis, depth)
    raise ValueError(fmt)
