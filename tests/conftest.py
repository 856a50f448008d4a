"""Shared fixtures and helpers: tiny specs run through the real loader and engine, bundled specs by
name, and the one switch that regenerates every generated file.

Generated files (the doc tables, docs/gallery.md, specs/index.json) are checked by tests marked
`golden`; `python3 -m pytest -m golden --update-golden` rewrites whichever are stale, then review
the diff.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archcost import engine, spec
from archcost.errors import SpecError

AnalyzeYaml = Callable[..., engine.Analysis]

REGENERATE = "python3 -m pytest -m golden --update-golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite stale generated files (doc tables, docs/gallery.md, specs/index.json) instead of failing",
    )


class Golden:
    """Compares a generated file (or a marked section of one) with what the code makes now."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def file(self, path: Path, expected: str) -> None:
        """`path` must hold exactly `expected`; with --update-golden it is rewritten to."""
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != expected and self.update:
            path.write_text(expected, encoding="utf-8")
            current = expected
        assert current == expected, stale_message(path)

    def section(self, path: Path, name: str, expected: str) -> None:
        """The text between `path`'s markers for `name` must be `expected`."""
        text = path.read_text(encoding="utf-8")
        if section(text, name) != expected and self.update:
            path.write_text(replace_section(text, name, expected), encoding="utf-8")
            text = path.read_text(encoding="utf-8")
        assert section(text, name) == expected, stale_message(path, name)


def stale_message(path: Path, name: str | None = None) -> str:
    what = f"the generated section {name!r} of {path.name}" if name else path.name
    return f"{what} is stale: run `{REGENERATE}` and review the diff"


def markers(name: str) -> tuple[str, str]:
    """The comments that open and close a generated section of a Markdown file."""
    return f"<!-- generated:{name} -->", f"<!-- end:{name} -->"


def section(text: str, name: str) -> str:
    """The text between a generated section's markers."""
    start, end = markers(name)
    assert start in text and end in text, f"markers {start} … {end} are missing"
    return text[text.index(start) + len(start) : text.index(end)].strip("\n")


def replace_section(text: str, name: str, body: str) -> str:
    """`text` with the section `name` holding `body`."""
    start, end = markers(name)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    """Checks generated files; rewrites them when the run was given --update-golden."""
    return Golden(bool(request.config.getoption("--update-golden")))


@pytest.fixture
def analyze_yaml() -> AnalyzeYaml:
    """`analyze_yaml(text, **analyze_kwargs)`: load spec text (file "test.yaml") and analyse it."""

    def run(text: str, **kwargs: Any) -> engine.Analysis:
        return engine.analyze(spec.load_text(text, "test.yaml"), **kwargs)

    return run


def analyze_bundled(name: str, **overrides: object) -> engine.Analysis:
    """A bundled spec analysed with model-level overrides (as `--set`)."""
    return engine.analyze(spec.load(name), overrides=overrides)


def by_name(analysis: engine.Analysis) -> dict[str, engine.LayerResult]:
    """The analysis's layers by their full names."""
    return {layer.name: layer for layer in analysis.layers}


def shrunk_to_budget(
    name: str, batch: int, over_budget: Callable[[engine.Analysis], bool]
) -> tuple[engine.Analysis, engine.Analysis]:
    """A bundled spec at full size, and at a halved input while `over_budget` (to keep the torch tests'
    time and memory): each step takes the largest size at or below half that the spec accepts (U-Net
    takes only tiles of 188 + 16·k: 572 halves to 286, refused, and runs at 284); it stops where none
    fits."""
    loaded = spec.load(name)
    full = analysis = engine.analyze(loaded, batch=batch)
    while over_budget(analysis):
        c, h, w = analysis.input
        smaller = largest_accepted(loaded, batch, c, h // 2, w // 2)
        if smaller is None:
            break
        analysis = smaller
    return full, analysis


def largest_accepted(loaded: spec.Spec, batch: int, c: int, h: int, w: int) -> engine.Analysis | None:
    """The analysis at h×w or the largest smaller square size the spec accepts; None if none."""
    for step in range(min(h, w)):
        try:
            return engine.analyze(loaded, batch=batch, input_override=(c, h - step, w - step))
        except SpecError:
            continue
    return None
