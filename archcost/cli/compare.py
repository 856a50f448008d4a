"""`archcost compare` (networks side by side, sweeps, the bubble chart) and `archcost scale` (compound scaling)."""

import itertools
from pathlib import Path
from typing import Annotated, Literal

import typer

from archcost.cli import options
from archcost.cli.base import console, echo, examples, typer_app, write
from archcost.cli.options import SPEC_HELP, BatchOption, DTypeOption, FormatOption, InputOption, SetOption, is_chart
from archcost.cli.show import chart_path, input_paths, load_ref, plotting
from archcost.errors import Location, SpecError

DEFAULT_PLOT = Path("archcost-compare.png")
YAxis = Literal["top1", "top5", "params", "memory"]


@typer_app.command(
    epilog=examples(
        "archcost compare alexnet googlenet resnet152 --plot",
        "archcost compare alexnet alexnet:groups=1",
        "archcost compare mobilenet_v1 --sweep alpha=1,0.75,0.5 --sweep resolution=224,160",
    ),
    short_help="networks side by side, with ratios and a bubble chart",
)
def compare(
    specs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SPEC[:K=V,...]...",
            help="specs to compare, each optionally with its own settings: alexnet alexnet:groups=1",
            show_default=False,
        ),
    ] = None,
    set_: SetOption = None,
    input_: InputOption = None,
    batch: BatchOption = 1,
    dtype: DTypeOption = "fp32",
    sweep: Annotated[
        list[str] | None,
        typer.Option("--sweep", metavar="KEY=V1,V2|KEY=A..B", help="one row per value (repeatable: all combinations)"),
    ] = None,
    format_: FormatOption = "table",
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot", metavar="FILE", help=f"draw a bubble chart to FILE (.png, .svg, .pdf; default {DEFAULT_PLOT})"
        ),
    ] = None,
    y: Annotated[YAxis, typer.Option("--y", help="the chart's y axis")] = "top1",
) -> None:
    """Compare networks side by side: params, MACs, FLOPs, memory, depth, receptive field, reported errors."""
    from archcost import check as paper_check
    from archcost import engine, report

    args = [*(specs or []), *([plot] if plot else [])]
    charts = [a for a in args if is_chart(a)] if plot is not None else []
    refs = [a for a in args if a not in charts]
    if len(charts) > 1:
        raise SpecError(f"one chart file, please; got {', '.join(charts)}", Location("--plot"))
    if not refs:
        raise SpecError("compare needs at least one spec", Location("compare"))
    chart = plotting() if plot is not None else None
    path = Path(charts[0]) if charts else DEFAULT_PLOT
    names = [options.split_ref(ref)[0] for ref in refs]
    if chart is not None:
        chart_path(chart, path, input_paths(names))  # before the work: no table, then a failure
    common = options.parse_sets(set_)
    sweeps = [options.parse_sweep(s) for s in sweep or []]
    shape = options.parse_input(input_)
    rows: list[report.CompareRow] = []
    for ref, name in zip(refs, names, strict=True):
        own = options.split_ref(ref)[1]
        loaded = load_ref(name)
        for combo in itertools.product(*[[(k, v) for v in values] for k, values in sweeps]):
            varied = {**own, **dict(combo)}
            settings = {**common, **varied}
            options.check_sets(loaded, settings)
            analysis = engine.analyze(loaded, overrides=settings, input_override=shape, batch=batch, dtype=dtype)
            acc = paper_check.accuracy(loaded, settings) if shape is None else {}
            label = report.label(analysis)  # the title naming its variant and the settings given
            rows.append(report.CompareRow(label, analysis, acc.get("top1_error"), acc.get("top5_error")))
    if format_ == "table":
        out = console()
        report.draw(out, report.compare_table(rows))
        for line in report.compare_notes(rows):
            out.print(line, highlight=False, soft_wrap=True)
    else:
        write(report.compare_text(rows, format_))
    if chart is not None:
        chart.compare_chart(rows, path, y=y)
        echo(f"wrote {path}", err=format_ != "table")


@typer_app.command(
    epilog=examples("archcost scale efficientnet_b0 --phi 0..7"),
    short_help="compound scaling of depth, width and resolution (EfficientNet)",
)
def scale(
    spec_ref: Annotated[str, typer.Argument(metavar="SPEC", help=SPEC_HELP, show_default=False)],
    phi: Annotated[str, typer.Option("--phi", metavar="A..B|A,B,...", help="the compound coefficients phi")] = "0..7",
    alpha: Annotated[
        float, typer.Option("--alpha", parser=options.base, metavar="X", help="depth base (EfficientNet: 1.2)")
    ] = 1.2,
    beta: Annotated[
        float, typer.Option("--beta", parser=options.base, metavar="X", help="width base (EfficientNet: 1.1)")
    ] = 1.1,
    gamma: Annotated[
        float, typer.Option("--gamma", parser=options.base, metavar="X", help="resolution base (EfficientNet: 1.15)")
    ] = 1.15,
    format_: Annotated[Literal["table", "json"], typer.Option("--format", "-f", help="output format")] = "table",
) -> None:
    """Compound scaling (EfficientNet section 3.3): depth alpha^phi, width beta^phi, resolution gamma^phi,
    and the MACs it costs."""
    from archcost import engine, report

    loaded = load_ref(spec_ref)
    try:
        _, phis = options.parse_sweep(f"phi={phi}")
    except SpecError as exc:
        raise SpecError(
            exc.message.replace("--sweep 'phi=", "--phi '").replace("KEY=", ""), Location("--phi")
        ) from None
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 20 for p in phis):
        raise SpecError(f"--phi {phi!r}: expected whole numbers from 0 to 20", Location("--phi"))
    steps = engine.compound_scaling(loaded, phis, alpha, beta, gamma)
    analyses: dict[int, engine.Analysis] = {}  # a φ given many times is analysed once
    for step in steps:
        if step.phi not in analyses:
            analyses[step.phi] = engine.analyze(loaded, overrides=step.settings)
    rows = [report.ScaleRow(step, analyses[step.phi]) for step in steps]
    if format_ == "table":
        report.draw(console(), report.scale_table(rows, alpha, beta, gamma))
    else:
        write(report.scale_text(rows, format_, alpha, beta, gamma))
