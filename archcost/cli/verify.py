"""`archcost verify`: build each spec in torch, profile it with fvcore and compare every figure; or, with
`--against SOURCE`, compare a spec with a real torch module (torch and fvcore are imported only here, only
when the command runs)."""

import json
from typing import Annotated, Literal

import typer

from archcost.cli.base import MismatchError, console, echo, examples, typer_app
from archcost.cli.options import BatchOption, InputOption, SetOption
from archcost.cli.show import analyze_ref
from archcost.errors import Location, SpecError


@typer_app.command(
    epilog=examples(
        "archcost verify resnet50",
        "archcost verify --all --memory --batch 2",
        "archcost verify resnet18 --train",
        "archcost verify resnet50 --set v15=true --against torchvision:resnet50",
        "archcost verify my_net.yaml --against my_model.py:Net --input 3x64x64",
    ),
    short_help="cross-check every figure against torch + fvcore; exit 1 on a mismatch",
)
def verify(
    specs: Annotated[
        list[str] | None,
        typer.Argument(metavar="[SPEC]...", help="specs to verify: bundled names or YAML paths", show_default=False),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="verify every bundled spec")] = False,
    device: Annotated[
        str, typer.Option("--device", metavar="cpu|cuda", help="where torch runs the forward pass")
    ] = "cpu",
    batch: BatchOption = 1,
    set_: SetOption = None,
    input_: InputOption = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="SOURCE",
            help="compare with a real torch module instead of the spec's own build: torchvision:NAME, timm:NAME, "
            "package.module:callable or path/to/file.py:callable (docs/import.md)",
        ),
    ] = None,
    format_: Annotated[Literal["table", "json"], typer.Option("--format", "-f", help="output format")] = "table",
    all_rows: Annotated[bool, typer.Option("--all-rows", help="list every layer, not only those that differ")] = False,
    memory: Annotated[
        bool,
        typer.Option(
            "--memory",
            help="also run one training-mode forward pass at --batch (2 or more for batch norm) and compare the "
            "bytes autograd saves for backward with the analytic figure (within 1%); on CUDA also the peaks",
        ),
    ] = False,
    train: Annotated[
        bool,
        typer.Option(
            "--train",
            help="also count one training step (forward + backward) with torch's FlopCounterMode and compare it "
            "with twice the training-step MACs, for the whole build and layer by layer; layers FlopCounterMode "
            "miscounts (grouped convolutions) are named and skipped",
        ),
    ] = False,
) -> None:
    """Build each spec in torch, profile it with fvcore and compare every layer's shape, params, MACs,
    fvcore flops and activations with the analytic figures (with --memory, the saved-for-backward
    bytes too); exit 1 on any mismatch."""
    from rich.console import Console
    from rich.markup import escape

    from archcost import report, spec, torchcheck  # torchcheck imports torch and fvcore only when verify runs
    from archcost.report import verify as verify_report

    refs = list(dict.fromkeys([*(spec.bundled_names() if all_ else []), *(specs or [])]))  # each once
    if not refs:
        raise SpecError("give one or more specs, or --all for every bundled spec", Location("archcost verify"))
    if against is not None:
        if len(refs) != 1:
            raise SpecError("compares one spec with one module: give one spec", Location("--against"))
        if memory or train:
            raise SpecError(
                "--memory and --train check the spec's own build: not with --against", Location("--against")
            )
        _against(refs[0], against, set_, input_, format_, all_rows)
        return
    out, progress = console(), Console(stderr=True, highlight=False)
    torchcheck.require()
    torchcheck.resolve_device(device)
    analyses = [analyze_ref(ref, set_, input_, batch=batch) for ref in refs]  # every spec loads before the slow part
    results = []
    memory_checks: list[torchcheck.MemoryCheck] = []
    train_checks: list[torchcheck.TrainCheck | None] = []
    table = format_ == "table"
    for i, analysis in enumerate(analyses, 1):
        if len(analyses) > 1:
            progress.print(f"[dim][{i}/{len(analyses)}] verifying {escape(analysis.name)}…[/]")
        result = torchcheck.verify(analysis, device=device, batch=batch)
        results.append(result)
        if table:
            if result.mismatches or (all_rows and result.layers):
                report.draw(out, verify_report.table(result, all_rows=all_rows))
            if result.failure is None:
                out.print(verify_report.unsupported_line(result), highlight=False, soft_wrap=True)
            out.print(verify_report.verdict(result), highlight=False, soft_wrap=True)
        if memory:
            check = torchcheck.verify_memory(analysis, device=device)
            memory_checks.append(check)
            if table:
                out.print(verify_report.memory_verdict(check), highlight=False, soft_wrap=True)
        step_check = torchcheck.verify_train(analysis, device=device, batch=batch) if train else None
        train_checks.append(step_check)
        if table and step_check is not None:
            out.print(verify_report.train_verdict(step_check), highlight=False, soft_wrap=True)
    checks: list[torchcheck.MemoryCheck | None] = list(memory_checks) if memory else [None] * len(results)
    failed = [
        r.name
        for r, m, t in zip(results, checks, train_checks, strict=True)
        if not r.ok or (m is not None and (not m.ok or m.peak_ok is False)) or (t is not None and not t.ok)
    ]
    if not table:
        dicts = [
            {**r.as_dict(), **({"memory": m.as_dict()} if m else {}), **({"train": t.as_dict()} if t else {})}
            for r, m, t in zip(results, checks, train_checks, strict=True)
        ]
        echo(json.dumps({"ok": not failed, "results": dicts}, indent=2))
    elif len(results) > 1:
        summary = f"{len(results) - len(failed)} of {len(results)} specs agree with torch + fvcore"
        out.print(
            f"[bold red]FAILED[/]: {summary}; differ: {', '.join(failed)}" if failed else f"[green]ok[/]: {summary}"
        )
    if failed:
        raise MismatchError


def _against(
    ref: str, source: str, sets: list[str] | None, input_text: str | None, format_: str, all_rows: bool
) -> None:
    """`verify SPEC --against SOURCE`: the spec's analysis beside the module's own figures; exit 1 if they differ."""
    analysis = analyze_ref(ref, sets, input_text)
    if len(analysis.input) != 3:
        raise SpecError("--against needs a spec whose input is an image C×H×W", Location(ref))
    try:
        from archcost.importer import against, measure
        from archcost.importer import source as sources
    except ImportError:
        raise SpecError("needs torch, not installed here: pip install 'archcost[torch]'", Location(source)) from None
    module = sources.load(source).module
    figures = measure.measure(module, analysis.input, source)
    result = against.compare(analysis, figures, source)
    if format_ == "json":
        echo(json.dumps(result.as_dict(), indent=2))
    else:
        for line in against.lines(result, all_rows=all_rows):
            echo(line)
    if not result.ok:
        raise MismatchError
