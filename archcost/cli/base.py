"""The typer application that every command module adds its command to, and how commands print.

Owns: the :data:`typer_app` instance (plain click help, no rich: `--help` must start fast), the exit codes,
the mismatch signal (exit 1), the rich console for tables (imported only when a table is printed) and the
one-line error printer.
"""

import contextlib
import errno
import functools
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any

import typer

from archcost import __version__

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
MIN_WIDTH = 40
"""Narrowest table archcost draws: a terminal 0–2 columns wide (`COLUMNS=1`) gets this and wraps."""
PIPE_WIDTH = 160
"""Table width when stdout is not a terminal (a file, a pipe)."""


HELP_OPTIONS = ["-h", "--help"]


class MismatchError(Exception):
    """A command found a mismatch (exit 1); it has printed why."""


def _version(value: bool) -> None:
    if value:
        echo(f"archcost {__version__}")
        raise typer.Exit


typer_app = typer.Typer(
    name="archcost",
    help="Analytic cost of neural-network architectures from YAML specs: shapes, params, MACs, FLOPs, memory.",
    epilog="Run `archcost COMMAND --help` for a command's options and examples. Conventions: docs/conventions.md.",
    rich_markup_mode=None,  # click's plain help: rich is imported only to print tables
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_OPTIONS},
)


@typer_app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version"),
) -> None:
    """Analytic cost of neural-network architectures from YAML specs: shapes, params, MACs, FLOPs, memory."""


def examples(*lines: str) -> str:
    """A command's `--help` epilog: its example command lines, kept as written (click's ``\\b``)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


# ---------------------------------------------------------------------------- printing


def width() -> int:
    """Columns for a table: the terminal's (at least :data:`MIN_WIDTH`), or :data:`PIPE_WIDTH` off a terminal."""
    if not _isatty(sys.stdout):
        return PIPE_WIDTH
    return max(shutil.get_terminal_size((PIPE_WIDTH, 24)).columns, MIN_WIDTH)


def console() -> "Console":
    """A rich console on stdout; spec text such as ``:100:`` stays text (no emoji). A closed pipe raises
    BrokenPipeError, which the CLI turns into a quiet exit 0 (rich's own handling exits 1)."""
    return _console_class()(width=width(), emoji=False)


@functools.cache
def _console_class() -> "type[Console]":
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    return PipeConsole


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _color(stream: Any) -> bool:
    return _isatty(stream) and "NO_COLOR" not in os.environ


def print_error(message: str) -> None:
    """One line on stderr: ``error: file:line:col: what was expected``."""
    label = "\033[1;31merror:\033[0m" if _color(sys.stderr) else "error:"
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed or full: the exit code says it
        print(f"{label} {' '.join(message.splitlines())}", file=sys.stderr, flush=True)


def echo(text: str, *, err: bool = False) -> None:
    """One line of text to stdout (or stderr)."""
    print(text, file=sys.stderr if err else sys.stdout)


def write(text: str) -> None:
    """Text to stdout as it is."""
    sys.stdout.write(text)
