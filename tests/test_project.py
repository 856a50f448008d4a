"""Project hygiene: lint, format, types, packaging, and the README's commands in CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archcost import spec

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    done = run(sys.executable, "-m", "ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_on_the_package() -> None:
    done = run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Quick start")
    block = text[start:].split("```", 2)[1]
    return [line.strip() for line in block.splitlines()[1:] if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert "archcost show vgg16" in commands[0]
    assert "pytest" in commands[1] and "torch==2.13.0" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_wheel_ships_the_bundled_specs(tmp_path: Path) -> None:
    if shutil.which("git") is None:  # pragma: no cover - git is part of the dev setup
        pytest.skip("git is needed to copy the tree")
    pytest.importorskip("hatchling")
    done = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."
    )
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("archcost-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    specs = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
    assert specs and all(f"archcost/specs/{s}.yaml" in names for s in specs)
    # installed (not editable) into a bare folder, the package finds its own specs
    target = tmp_path / "site"
    done = run(sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel))
    assert done.returncode == 0, done.stderr
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from archcost import spec; print(spec.bundled_dir()); print(' '.join(spec.bundled_names()));"
        "print(spec.bundled_fingerprint())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(target)], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.splitlines()
    assert out[0].startswith(str(target)) and out[1].split() == specs
    # ... and its list index, made from the same files: `archcost list` reads it instead of analysing
    assert f"archcost/specs/{spec.BUNDLED_INDEX}" in names
    assert out[2] == spec.bundled_fingerprint()


def test_readme_examples_are_real_output() -> None:
    """Every line shown under a `$ archcost ...` command in the README is a line that command prints."""
    import shlex

    from cli_runner import CliRunner

    from archcost.cli import app

    text = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```console\n")[1:]]
    checked = 0
    for block in blocks:
        command, shown = None, []
        for line in [*block.splitlines(), "$ end"]:
            if line.startswith("$ "):
                if command:
                    argv = shlex.split(command.split("|", 1)[0])[1:]
                    real = {r.strip() for r in CliRunner().invoke(app, argv).output.splitlines()}
                    missing = [x for x in shown if x.strip() not in real]
                    assert not missing, (command, missing)
                    checked += len(shown)
                command, shown = line[2:], []
            elif line and "…" not in line:
                shown.append(line)
    assert checked > 30
