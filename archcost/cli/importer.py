"""`archcost import`: a spec written from a torch module (torch is imported only when the command runs).

The module comes from SOURCE (``torchvision:NAME``, ``timm:NAME``, ``package.module:callable``,
``path/to/file.py:callable``); :mod:`archcost.importer` traces it, maps it and checks the written spec's
figures against the module before this command writes anything (docs/import.md).
"""

from pathlib import Path
from typing import Annotated

import typer

from archcost.cli.base import echo, examples, typer_app
from archcost.cli.options import InputOption


@typer_app.command(
    name="import",
    epilog=examples(
        "archcost import torchvision:resnet50 -o resnet50.yaml",
        "archcost import timm:resnet18 -o r18.yaml --input 3x160x160",
        "archcost import torchvision:mobilenet_v3_small -o small.yaml --input 3x160x160 --name small",
    ),
    short_help="write a spec from a torch module (torchvision, timm or your own); its figures equal the module's",
)
def import_(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="torchvision:NAME, timm:NAME, package.module:callable or path/to/file.py:callable",
            show_default=False,
        ),
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FILE.yaml", help="the spec file to write", show_default=False)
    ],
    input_: InputOption = None,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="the spec's name (default: the model's)")
    ] = None,
) -> None:
    """Trace a torch module with torch.fx on the meta device (no weights allocated), write it as a spec whose
    layer names are the module paths, and check that the spec's params, MACs and output shape equal the
    module's (params: sum(p.numel()); MACs: half of torch's FlopCounterMode count) before writing it. An
    operation archcost cannot map is one line naming it and its module path, exit 2."""
    from archcost import outputs
    from archcost.cli.options import parse_input
    from archcost.errors import Location, SpecError

    target = Path(output)
    outputs.check_output(target, spec=True)  # before the slow part
    shape = parse_input(input_)
    if name is not None and (not name.strip() or not name.isprintable()):
        raise SpecError(f"--name {name!r}: expected a printable, non-empty name", Location("--name"))
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise SpecError("needs torch, not installed here: pip install 'archcost[torch]'", Location(source))
    from archcost import importer

    imported = importer.import_source(source, shape, name)
    outputs.write_atomic(target, imported.text, spec=True)
    totals = imported.analysis.totals
    for note in imported.notes:
        echo(f"note: {note}", err=True)
    echo(
        f"wrote {output}: {len(imported.analysis.layers)} layers, {totals.params:,} params, {totals.macs:,} MACs "
        f"at {'×'.join(map(str, imported.analysis.input))} (equal to the module's)"
    )
