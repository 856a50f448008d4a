"""The command line: `archcost show`, `list`, `compare`, `scale`, `check`, `gallery`, `verify`, `schema`.

Built on typer: each command is one typed function with its options beside it, in the module of its
kind (show.py; compare.py: compare, scale; catalog.py: list, check, gallery, schema; verify.py), added to
the one app in base.py; option values are parsed in options.py. This module is the boundary: it runs the
app and turns everything that can go wrong into an exit code — SpecError or a bad option: one line on
stderr, exit 2; a mismatch: exit 1; a closed pipe: quiet, exit 0; Ctrl-C: exit 130; SIGTERM: 143 — never a
traceback. Start-up stays fast: click's plain help (no rich), rich only to print a table, matplotlib only
for --plot, torch only in verify.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
import typer.main
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from archcost import outputs
from archcost.cli import catalog, coerce, compare, show, verify
from archcost.cli.base import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_MISMATCH,
    EXIT_OK,
    HELP_OPTIONS,
    MismatchError,
    print_error,
    typer_app,
)
from archcost.cli.catalog import _catalog_entry, catalog_entries, catalog_index
from archcost.cli.options import is_chart, parse_input, parse_sets, parse_sweep, plot_values, split_ref
from archcost.cli.show import analyze_ref
from archcost.errors import SpecError
from archcost.outputs import write_atomic

__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXIT_MISMATCH",
    "EXIT_OK",
    "_catalog_entry",
    "analyze_ref",
    "app",
    "catalog",
    "catalog_entries",
    "catalog_index",
    "command",
    "compare",
    "is_chart",
    "main",
    "parse_input",
    "parse_sets",
    "parse_sweep",
    "report",
    "show",
    "split_ref",
    "verify",
    "write_atomic",
]

EXIT_INTERNAL = 70
"""A bug in archcost (sysexits' EX_SOFTWARE); ARCHCOST_TRACEBACK=1 shows its traceback instead."""
COMMANDS = ("show", "list", "compare", "scale", "check", "gallery", "verify", "schema")


def command() -> TyperGroup:
    """The click command that typer builds from the app (its subcommands by name in ``.commands``)."""
    group = typer.main.get_command(typer_app)
    assert isinstance(group, TyperGroup)
    group.commands = {name: group.commands[name] for name in COMMANDS}  # `--help` lists them in this order
    coerce.install(group, HELP_OPTIONS)
    return group


def usage_line(exc: click_errors.UsageError, args: Sequence[str] = ()) -> str:
    """click's usage error (several lines: usage, hint, message) as archcost's one line."""
    where = "archcost" + (f" {args[0]}" if args and args[0] in COMMANDS else "")
    if isinstance(exc, click_errors.BadOptionUsage) and "requires an argument" in exc.message:
        message = f"{exc.option_name} needs a value"
    elif isinstance(exc, click_errors.NoSuchOption):
        message = f"no such option {exc.option_name}"
        if exc.possibilities and len(exc.possibilities) == 1:
            message += f" (did you mean {exc.possibilities[0]}?)"
    elif isinstance(exc, click_errors.MissingParameter) and exc.param is not None:
        message = f"missing {_name(exc.param)}"
    elif isinstance(exc, click_errors.BadParameter) and exc.param is not None:
        message = f"{_name(exc.param)}: {exc.message}"
    elif exc.message.startswith("No such command"):
        name, _, guess = exc.message.removeprefix("No such command ").partition(". Did you mean ")
        message = f"no such command {name.rstrip('.')}" + (f" (did you mean {guess.rstrip('?')}?)" if guess else "")
        message += f"; the commands are {', '.join(COMMANDS)}"
    else:
        message = exc.message.rstrip(".")
        message = message[:1].lower() + message[1:]
    return f"{message} (see `{where} --help`)"


def _name(param: Any) -> str:
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if opts and getattr(param, "param_type_name", "") == "option":
        return str(opts[0])
    return str(getattr(param, "metavar", None) or param.name or "argument").upper()


def _run(args: list[str]) -> int:
    group = command()
    group._main_shell_completion({}, "archcost")  # the shell asks for completions (`_ARCHCOST_COMPLETE`): exits
    if not args:
        with group.make_context("archcost", [], resilient_parsing=True) as ctx:
            print(group.get_help(ctx))
        return EXIT_OK
    try:
        with group.make_context("archcost", plot_values(args)) as ctx:
            group.invoke(ctx)
    except click_errors.UsageError as exc:
        print_error(usage_line(exc, args))
        return EXIT_BAD_INPUT
    except typer.Exit as exc:  # --help, --version, completion installed
        return exc.exit_code
    except typer.Abort:
        return EXIT_INTERRUPTED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code: 0 ok, 1 a check found a mismatch, 2 bad input, 130 Ctrl-C."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        outputs.harden_streams()
        with outputs.exit_on_signals():
            code = _run(args)
            sys.stdout.flush()  # here, where a closed pipe or a full disk is handled, not at exit
        return code
    except SpecError as exc:
        print_error(str(exc))
        return EXIT_BAD_INPUT
    except MismatchError:
        return EXIT_MISMATCH
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except outputs.Terminated as exc:
        return 128 + exc.signum
    except OSError as exc:  # stdout: a closed pipe (quiet), a full disk, a closed descriptor
        outputs.silence_stdout()
        if exc.errno == errno.EPIPE:  # `archcost show vgg16 | head -1`: the reader has gone
            return EXIT_OK
        where = f"{exc.filename}: " if exc.filename else "cannot write the output: "
        print_error(f"{where}{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug: still one line, and the exit code says it is not the input's fault
        if os.environ.get("ARCHCOST_TRACEBACK"):
            raise
        print_error(f"internal error (please report it): {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL


def __getattr__(name: str) -> Any:
    """`archcost.cli.report`, imported when asked for (not at start-up)."""
    if name == "report":
        from archcost import report

        return report
    raise AttributeError(name)


def app(argv: Sequence[str] | None = None) -> NoReturn:
    """The `archcost` console script and `python -m archcost`."""
    sys.exit(main(argv))
