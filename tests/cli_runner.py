"""Runs the `archcost` command in-process and captures what it prints, for the CLI tests.

``CliRunner().invoke(app, ["show", "lenet5"])`` calls ``app(["show", "lenet5"])`` with stdout and
stderr captured; the result has the exit code, each stream, and both interleaved in the order
written (``output``), like click's runner that these tests were first written against.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    """What one run of the command did."""

    exit_code: int
    stdout: str
    stderr: str
    output: str
    """stdout and stderr together, in the order they were written."""
    exception: BaseException | None
    """The SystemExit of a failing run, or an exception that escaped the command (a bug)."""


class _Stream(io.StringIO):
    """A captured stream that also appends to the shared, interleaved record."""

    def __init__(self, both: list[str]) -> None:
        super().__init__()
        self.both = both

    def write(self, text: str) -> int:
        written = super().write(text)  # a text stream refuses bytes (click probes with b""): so does this
        self.both.append(text)
        return written


class CliRunner:
    """Invokes a command-line entry point (``archcost.cli.app``) with captured output."""

    def invoke(self, app: Callable[[Sequence[str]], Any], args: Sequence[str]) -> Result:
        both: list[str] = []
        out, err = _Stream(both), _Stream(both)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        exception: BaseException | None = None
        try:
            app(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            exception = exc if code else None
        except Exception as exc:  # a bug: the test shows it
            code, exception = 1, exc
            print(f"{type(exc).__name__}: {exc}", file=err)
        finally:
            sys.stdout, sys.stderr = saved
        return Result(code, out.getvalue(), err.getvalue(), "".join(both), exception)
