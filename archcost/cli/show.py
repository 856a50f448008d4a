"""`archcost show`: one network layer by layer, and the helpers that load and analyse a spec named on the
command line (shared with `verify`)."""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archcost import outputs
from archcost.cli import options
from archcost.cli.base import console, echo, examples, typer_app, write
from archcost.cli.options import (
    SPEC_HELP,
    BatchOption,
    DTypeOption,
    FormatOption,
    InputOption,
    Optimizer,
    SetOption,
    is_chart,
)
from archcost.errors import Location, SpecError

if TYPE_CHECKING:
    from archcost import engine, spec

MAX_LAYERS = 200_000
"""The default leaf-layer limit, for --help without importing the engine (a test holds it to engine.Limits)."""


def load_ref(ref: str) -> "spec.Spec":
    """The spec a command-line argument names (a bundled name or a path), its path checked first."""
    from archcost import spec

    outputs.check_input(ref)
    return spec.load(ref)


def input_paths(refs: Sequence[str]) -> list[str]:
    """The arguments that name files archcost reads: an output may never be one of them."""
    return [ref for ref in refs if os.path.lexists(ref)]


def analyze_ref(
    ref: str,
    sets: Sequence[str] | None = None,
    input_text: str | None = None,
    batch: int = 1,
    dtype: str = "fp32",
    max_layers: int | None = None,
    loaded: "spec.Spec | None" = None,
) -> "engine.Analysis":
    """Load and analyse a spec given on the command line (`max_layers` replaces the default limit)."""
    from archcost import engine

    loaded = load_ref(ref) if loaded is None else loaded
    settings = options.parse_sets(sets)
    options.check_sets(loaded, settings)
    limits = engine.Limits() if max_layers is None else engine.Limits(max_layers=max_layers)
    return engine.analyze(
        loaded,
        overrides=settings,
        input_override=options.parse_input(input_text),
        batch=batch,
        dtype=dtype,
        limits=limits,
    )


def plotting() -> Any:
    """The plot module; a SpecError (exit 2) saying how to install matplotlib when it is missing."""
    try:
        from archcost import plot as chart
    except ImportError as exc:
        if "matplotlib" not in str(exc):
            raise
        raise SpecError("plots need matplotlib: pip install 'archcost[plot]'", Location("--plot")) from None
    return chart


def chart_path(chart: Any, path: Path, inputs: Sequence[str]) -> Path:
    """`path` after the checks a chart file must pass (suffix, then place), before any work is done."""
    chart.check_path(path)
    outputs.check_output(path, inputs)
    return path


@typer_app.command(
    epilog=examples(
        "archcost show vgg16",
        "archcost show alexnet --explain           # each layer's arithmetic",
        "archcost show resnet50 --depth 1 --exact  # per stage, exact integers",
        "archcost show resnet50 --train --batch 32 --optimizer adam",
        "archcost show mobilenet_v1 --set alpha=0.5 --input 3x160x160 --format json",
        "archcost show my_net.yaml --plot my_net.png",
    ),
    short_help="one network layer by layer: shapes, params, MACs, FLOPs, memory",
)
def show(
    spec_ref: Annotated[str | None, typer.Argument(metavar="SPEC", help=SPEC_HELP, show_default=False)] = None,
    file: Annotated[str | None, typer.Argument(metavar="FILE", hidden=True, show_default=False)] = None,
    set_: SetOption = None,
    input_: InputOption = None,
    batch: BatchOption = 1,
    dtype: DTypeOption = "fp32",
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth", "-d", parser=options.positive_int, metavar="N", help="collapse the hierarchy to N levels"
        ),
    ] = None,
    format_: FormatOption = "table",
    explain: Annotated[bool, typer.Option("--explain", help="print each layer's arithmetic, lecture style")] = False,
    exact: Annotated[bool, typer.Option("--exact", help="exact integers instead of 35K, 120M, 3.86G")] = False,
    train: Annotated[
        bool,
        typer.Option(
            "--train",
            help="add the training step: its MACs (forward + gradients, expected under stochastic depth) and "
            "memory (gradients, optimizer state, saved activations)",
        ),
    ] = False,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer", help="optimizer state for training memory")] = "adam",
    memory: Annotated[
        str | None,
        typer.Option("--memory", metavar="SIZE", help="largest batch that fits in SIZE (3GB = 10^9 B, 3GiB = 2^30 B)"),
    ] = None,
    max_layers: Annotated[
        int | None,
        typer.Option(
            "--max-layers",
            parser=options.positive_int,
            metavar="N",
            help=f"allow N leaf layers (a safety limit; default {MAX_LAYERS:,})",
        ),
    ] = None,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            help="draw per-layer (with --depth, per-stage) bars of params, MACs, memory to FILE "
            "(.png, .svg, .pdf; default archcost-NAME.png in this folder)",
        ),
    ] = None,
) -> None:
    """Per-layer output shape, params, MACs, FLOPs, activations and receptive field, with totals."""
    from archcost import memory as memory_model
    from archcost import report, training

    if plot is not None and spec_ref is None and plot and not is_chart(plot):
        spec_ref, plot = plot, ""  # `show --plot vgg16`: the option's value was the spec
    if spec_ref is None:
        raise SpecError("show needs a SPEC: a bundled name (see `archcost list`) or a YAML file", Location("show"))
    if file is not None and plot is None:
        raise SpecError(f"unexpected argument {file}: a chart file goes with --plot", Location(file))
    budget = options.parse_budget(memory) if memory is not None else None
    loaded = load_ref(spec_ref)
    chart = plotting() if plot is not None else None
    path = None
    if chart is not None:  # checked before the work, not after
        given = plot or file
        path = Path(given) if given else outputs.derived_name(f"archcost-{loaded.name}", ".png")
        chart_path(chart, path, input_paths([spec_ref]))
    analysis = analyze_ref(spec_ref, set_, input_, batch, dtype, max_layers, loaded=loaded)
    mem = memory_model.memory(analysis, optimizer)
    fits = memory_model.fit(analysis, budget, optimizer) if budget is not None else None
    steps = training.training(analysis) if train else None
    if chart is not None and path is not None:
        chart.layers_chart(analysis, path, depth=depth)
        echo(f"wrote {path}", err=True)
    if explain:
        for line in report.explain(analysis, steps):
            echo(line)
    elif format_ == "table":
        out = console()
        report.draw(out, report.table(analysis, depth, exact=exact, mem=mem if train else None, train=steps))
        for line in report.summary(analysis, mem, train=train, fit=fits, steps=steps):
            out.print(line, highlight=False, soft_wrap=True)
    else:
        write(report.render_text(analysis, format_, depth, mem, fits, steps))
