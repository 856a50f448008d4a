"""`archcost list` and the bundled index it reads (specs/index.json).

The index holds each bundled spec's list entry, computed from exactly the files its fingerprint
names; `list` analyses the specs itself whenever the fingerprint differs. To update it after
changing a spec or a module: `python3 -m pytest -m golden --update-golden`,
then review the diff.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import Golden

from archcost import cli, engine, spec
from archcost.spec import loading

INDEX = spec.bundled_dir() / spec.BUNDLED_INDEX


def _computed() -> list[Any]:
    """Every entry as `list` computes it without the index."""
    return [cli._catalog_entry(name) for name in spec.bundled_names()]


def _count_analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    analyze = engine.analyze

    def counting(loaded: spec.Spec, **kwargs: Any) -> engine.Analysis:
        seen.append(loaded.name)
        return analyze(loaded, **kwargs)

    monkeypatch.setattr(engine, "analyze", counting)
    return seen


@pytest.mark.golden
def test_bundled_index_is_current(golden: Golden) -> None:
    golden.file(INDEX, cli.catalog_index())


def test_list_reads_the_current_index_without_analysing(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _count_analyses(monkeypatch)
    entries = cli.catalog_entries()
    assert seen == []
    assert entries == _computed()  # the stored entries are the computed ones, field by field
    assert [e.name for e in entries] == spec.bundled_names()


@pytest.mark.parametrize(
    "text",
    [
        None,  # no index
        "{not json",
        "[]",
        '{"fingerprint": "0000", "entries": []}',  # made from other files
        '{"entries": []}',
        "FINGERPRINT_WITH_BAD_ENTRIES",
    ],
)
def test_list_analyses_when_the_index_is_missing_stale_or_broken(
    text: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "index.json"
    if text == "FINGERPRINT_WITH_BAD_ENTRIES":
        text = json.dumps({"fingerprint": spec.bundled_fingerprint(), "entries": [{"name": "x"}]})
    if text is not None:
        index.write_text(text, encoding="utf-8")
    seen = _count_analyses(monkeypatch)
    entries = cli.catalog_entries(index)
    assert seen == spec.bundled_names()
    assert entries == _computed()


def test_the_fingerprint_changes_with_any_spec_or_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = spec.bundled_fingerprint()
    specs, package = tmp_path / "specs", tmp_path / "archcost"
    shutil.copytree(spec.bundled_dir(), specs)
    shutil.copytree(spec.package_dir(), package, ignore=shutil.ignore_patterns("__pycache__", "specs"))
    monkeypatch.setattr(loading, "bundled_dir", lambda: specs)
    monkeypatch.setattr(loading, "package_dir", lambda: package)
    assert spec.bundled_fingerprint() == original  # the same files elsewhere: the same fingerprint
    seen = {original}
    for path in (
        specs / "lenet5.yaml",
        package / "layers" / "conv.py",
        package / "engine.py",
        package / "spec" / "model.py",
    ):
        before = path.read_bytes()
        path.write_bytes(before + b"\n")  # one byte more
        assert spec.bundled_fingerprint() not in seen
        seen.add(spec.bundled_fingerprint())
        path.write_bytes(before)
        assert spec.bundled_fingerprint() == original
    (specs / "extra.yaml").write_text("name: extra\n", encoding="utf-8")  # a new spec
    assert spec.bundled_fingerprint() not in seen


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_list_prints_the_same_with_and_without_the_index(fmt: str, tmp_path: Path) -> None:
    stored = cli.catalog_entries()
    computed = cli.catalog_entries(tmp_path / "no-index.json")
    assert cli.report.catalog_text(stored, fmt) == cli.report.catalog_text(computed, fmt)
