"""The one error type for bad input (a spec, an option or a file) and where it is; every message is one line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem is: file, 1-based line and column, and the layer path."""

    file: str = ""
    line: int = 0
    column: int = 0
    layer: str = ""

    def __str__(self) -> str:
        where = self.file or "<spec>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where


def printable(text: str) -> str:
    """`text` with line breaks, other control characters and lone surrogates escaped as repr() does
    (``\\n``, ``\\ud800``): a message is one line that any UTF-8 output can print."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class SpecError(Exception):
    """Bad input. The CLI turns it into one message and exit code 2."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location or Location()

    def __str__(self) -> str:
        """``file:line:column: message (layer path)``, always one line of printable characters."""
        loc = self.location
        layer = f" (layer {loc.layer})" if loc.layer else ""
        return printable(f"{loc}: {self.message}{layer}")

    def at(self, location: Location) -> SpecError:
        """The same error, placed at `location` where it has no place of its own yet."""
        if self.location.line:
            if location.layer and not self.location.layer:
                return SpecError(
                    self.message,
                    Location(self.location.file, self.location.line, self.location.column, location.layer),
                )
            return self
        return SpecError(self.message, location)
