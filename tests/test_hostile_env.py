"""The CLI's promise in hostile places: bad paths, outputs that are inputs or special files, streams that
cannot encode or take the output, narrow terminals, closed pipes, Ctrl-C and SIGTERM at any moment.

Every case ends in exit 0 (the work done, or a reader that went away), 2 (one line on stderr saying what
was wrong) or 130/143 (interrupted: one line at most) — never a traceback, never a half-written file.
Environments are made for real in a subprocess; path cases run in-process through tests/cli_runner.py.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from cli_runner import CliRunner, Result

from archcost import outputs
from archcost.cli import app

ROOT = Path(__file__).resolve().parents[1]
SPEC = (
    "archcost: 1\nname: net\ninput: [3, 8, 8]\nparams: {wide: false}\n"
    "layers:\n  - conv: {out: 4, kernel: 3}\n  - relu\n"
)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line_error(result: Result, fragment: str = "") -> None:
    """Exit 2, nothing on stdout, exactly one line on stderr that starts with `error:`."""
    assert result.exit_code == 2, result.output
    assert result.stdout == "", result.stdout
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert fragment in result.stderr, result.stderr


@pytest.fixture
def net(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small spec in an empty working folder."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "net.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------- class 1: paths the OS refuses

LONG = "n" * 300


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", f"{LONG}.yaml"], "the file system allows 255"),
        (["check", f"{LONG}.yaml"], "the file system allows 255"),
        (["compare", "lenet5", f"{LONG}.yaml"], "the file system allows 255"),
        (["show", "a\x00b.yaml"], "NUL byte"),
        (["show", "."], "this is a folder, not a spec file"),
        (["show", "/dev/zero"], "this is a device, not a spec file"),
    ],
    ids=["show-long", "check-long", "compare-long", "nul", "folder", "device"],
)
def test_spec_paths_the_os_refuses(args: list[str], fragment: str, net: Path) -> None:
    one_line_error(invoke(*args), fragment)


def test_a_fifo_as_spec_is_named_and_not_read(net: Path) -> None:
    fifo = net.parent / "pipe.yaml"
    os.mkfifo(fifo)
    one_line_error(invoke("show", str(fifo)), "this is a FIFO, not a spec file")  # reading it would hang


CHART_CASES = [
    (f"{LONG}.png", "the file system allows 255"),
    ("a\x00b.png", "NUL byte"),
    ("net.yaml/x.png", "is a file, not a folder"),
    ("/proc/archcost.png", "does not write under /proc"),
    ("/sys/archcost.png", "does not write under /sys"),
    ("/dev/archcost.png", "does not write under /dev"),
]


@pytest.mark.parametrize(("target", "fragment"), CHART_CASES)
@pytest.mark.parametrize("command", ["show", "compare"])
def test_chart_paths_refused_before_the_work(command: str, target: str, fragment: str, net: Path) -> None:
    pytest.importorskip("matplotlib")
    result = invoke(command, str(net), "--plot", target)
    one_line_error(result, fragment)  # compare prints no table before failing
    assert files(net.parent) == ["net.yaml"]


@pytest.mark.parametrize(
    ("target", "fragment"),
    [*[(t.replace(".png", ".md"), f) for t, f in CHART_CASES], (".", "this is a folder")],
)
def test_gallery_paths_refused_before_the_work(target: str, fragment: str, net: Path) -> None:
    one_line_error(invoke("gallery", target), fragment)
    assert files(net.parent) == ["net.yaml"]


def test_a_folder_as_chart_is_refused(net: Path) -> None:
    pytest.importorskip("matplotlib")
    (net.parent / "out.png").mkdir()
    one_line_error(invoke("show", "net.yaml", "--plot", "out.png"), "this is a folder")


def test_a_read_only_folder_is_refused_before_the_work(net: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, permissions do not stop a write; os.access reports a read-only file system (EROFS)."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode & os.W_OK else real(path, mode))
    one_line_error(invoke("gallery", "g.md"), "no permission to write")
    assert files(net.parent) == ["net.yaml"]


def test_a_full_disk_leaves_nothing_half_written(net: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (net.parent / "g.md").write_text("old\n", encoding="utf-8")
    real = os.fdopen

    class Full:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.file = real(*args, **kwargs)  # type: ignore[call-overload]

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, text: str) -> None:
            self.file.write(text[:100])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", Full)
    one_line_error(invoke("gallery", "g.md"), "cannot write: No space left on device")
    assert files(net.parent) == ["g.md", "net.yaml"]
    assert (net.parent / "g.md").read_text(encoding="utf-8") == "old\n"


# ---------------------------------------------------------------------------- class 2: derived names


@pytest.mark.parametrize("name", ["../../evil/x", "/etc/passwd", "a\\b", "..", "x/../../y", "\u00e9t\u00e9 net"])
def test_the_default_chart_name_stays_in_the_working_folder(name: str, net: Path) -> None:
    pytest.importorskip("matplotlib")
    net.write_text(SPEC.replace("name: net", f"name: {name!r}"), encoding="utf-8")
    result = invoke("show", "net.yaml", "--plot")
    assert result.exit_code == 0, result.output
    written = [f for f in files(net.parent) if f != "net.yaml"]
    assert len(written) == 1 and written[0].startswith("archcost-") and written[0].endswith(".png"), written
    assert "/" not in written[0] and ".." not in written[0]
    assert all(p.is_file() for p in net.parent.iterdir())  # no folder was made


@pytest.mark.parametrize("stem", ["../x", "a/b", "..", ".hidden", "a\x00b", "\ud800", "x" * 400, ""])
def test_derived_name_has_no_separator_and_fits(stem: str) -> None:
    path = outputs.derived_name(stem, ".png")
    assert path.parent == Path(".") and path.name == str(path)
    assert not path.name.startswith(".") and ".." not in path.name
    assert len(os.fsencode(path.name)) <= outputs.NAME_MAX


# ---------------------------------------------------------------------------- classes 4 and 9: option values


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "wide=maybe"], "wide takes true or false"),
        (["--set", "wide=yes"], "wide takes true or false"),
        (["--set", "wide=1"], "wide takes true or false"),
        (["--set", "wide="], "the value is empty"),
        (["--memory", ""], "is not a size"),
        (["--memory", "³GB"], "is not a size"),
        (["--input", "³x8x8"], "expected C×H×W"),
        (["--input", "3x٨x8"], "expected C×H×W"),
        (["--batch", "¹"], "expected a whole number"),
        (["--depth", "⑴"], "expected a whole number"),
    ],
)
def test_loose_option_values_are_refused(args: list[str], fragment: str, net: Path) -> None:
    one_line_error(invoke("show", "net.yaml", *args), fragment)


def test_booleans_are_true_or_false_in_any_case(net: Path) -> None:
    for text, value in (("true", True), ("False", False), ("TRUE", True)):
        result = invoke("show", "net.yaml", "--set", f"wide={text}", "--format", "json")
        assert result.exit_code == 0, result.output
        assert f'"wide": {str(value).lower()}' in result.stdout


# ---------------------------------------------------------------------------- class 10: outputs that are inputs


def test_a_chart_over_its_own_spec_is_refused_whatever_the_suffix(net: Path) -> None:
    pytest.importorskip("matplotlib")
    spec_png = net.parent / "in.png"
    spec_png.write_text(SPEC, encoding="utf-8")
    (net.parent / "link.png").symlink_to(spec_png)
    for args in (["show", "in.png", "--plot", "in.png"], ["show", "in.png", "--plot", "./link.png"]):
        one_line_error(invoke(*args), "never writes over its input")
    assert spec_png.read_text(encoding="utf-8") == SPEC


@pytest.mark.parametrize("command", [["show", "net.yaml", "--plot"], ["gallery"]])
def test_a_fifo_is_never_replaced_by_a_file(command: list[str], net: Path) -> None:
    if "--plot" in command:
        pytest.importorskip("matplotlib")
    fifo = net.parent / ("out.png" if "--plot" in command else "out.md")
    os.mkfifo(fifo)
    one_line_error(invoke(*command, fifo.name), "this is a FIFO")
    assert fifo.is_fifo()


# ---------------------------------------------------------------------------- class 8: environments


def run(
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    **kwargs: object,
) -> subprocess.CompletedProcess[bytes]:
    """`python -m archcost ARGS` in `cwd` with this checkout first on the path."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full.pop("ARCHCOST_TRACEBACK", None)
    return subprocess.run(
        [sys.executable, "-m", "archcost", *args],
        cwd=cwd,
        env=full,
        capture_output="stdout" not in kwargs,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def no_traceback(err: bytes) -> None:
    text = err.decode("utf-8", "replace")
    assert "Traceback" not in text and "Exception ignored" not in text and "Fatal Python" not in text, text


@pytest.mark.parametrize("encoding", [{"LC_ALL": "C", "PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"}])
@pytest.mark.parametrize(
    "args",
    [
        ["show", "vgg16"],
        ["show", "alexnet", "--explain"],
        ["show", "resnet18", "--format", "json"],
        ["show", "lenet5", "--format", "markdown"],
        ["compare", "alexnet", "vgg16"],
        ["list"],
        ["scale", "efficientnet_b0", "--phi", "0..2"],
        ["show", "--help"],
    ],
    ids=" ".join,
)
def test_a_stream_that_cannot_encode_gets_ascii_fallbacks(
    args: list[str], encoding: dict[str, str], tmp_path: Path
) -> None:
    done = run(args, tmp_path, encoding)
    no_traceback(done.stderr)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    codec = encoding["PYTHONIOENCODING"]
    text = done.stdout.decode(codec)  # every byte is the stream's own encoding
    if codec == "ascii" and args[0] == "show" and "--explain" in args:
        assert "3x3" in text or "x" in text  # `×` printed as `x`


def test_a_lone_surrogate_in_a_title_is_refused_at_its_line(tmp_path: Path) -> None:
    """A lone surrogate (an escape in a double-quoted YAML string) is not a character: no output could
    print it, so the loader refuses it at its line, one line and exit 2, whatever the stream."""
    (tmp_path / "s.yaml").write_text(SPEC.replace("name: net", 'name: net\ntitle: "bad \\ud800 title"'))
    for encoding in ("utf-8", "ascii"):
        done = run(["show", "s.yaml", "--format", "json"], tmp_path, {"PYTHONIOENCODING": encoding})
        no_traceback(done.stderr)
        assert done.returncode == 2, done.stderr
        assert done.stdout == b""
        assert done.stderr.startswith(b"error: s.yaml:3:") and b"lone surrogate" in done.stderr
        assert done.stderr.count(b"\n") == 1


def _on_a_terminal(args: list[str], columns: str, cwd: Path) -> tuple[int, bytes, bytes]:
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": columns, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "archcost", *args], cwd=cwd, env=env, stdout=follower, stderr=subprocess.PIPE
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.stderr is not None
    err = proc.stderr.read()
    return proc.wait(timeout=60), out, err


@pytest.mark.parametrize("columns", ["0", "1", "2"])
@pytest.mark.parametrize("args", [["show", "lenet5"], ["list"], ["--help"], ["show", "--help"]], ids=" ".join)
def test_a_terminal_zero_to_two_columns_wide(args: list[str], columns: str, tmp_path: Path) -> None:
    code, out, err = _on_a_terminal(args, columns, tmp_path)
    no_traceback(err)
    assert code == 0 and err == b"", err
    assert out and not colours(out)  # NO_COLOR: no colour codes even on a terminal (bold and italic may stay)


def colours(out: bytes) -> list[bytes]:
    """The colour parameters (30-38, 40-48, 90-97, 100-107) of every SGR escape in `out`."""
    params = [p for seq in re.findall(rb"\x1b\[([0-9;]*)m", out) for p in seq.split(b";") if p]
    return [p for p in params if int(p) in {*range(30, 39), *range(40, 49), *range(90, 98), *range(100, 108)}]


@pytest.mark.parametrize("args", [["show", "vgg16"], ["show", "vgg16", "--format", "json"], ["--help"]], ids=" ".join)
def test_a_closed_stdout_is_one_line(args: list[str], tmp_path: Path) -> None:
    done = run(args, tmp_path, pass_fds=(), preexec_fn=lambda: os.close(1))
    no_traceback(done.stderr)
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1, done.stderr
    assert b"stdout is closed" in done.stderr


@pytest.mark.parametrize("args", [["show", "vgg16"], ["show", "vgg16", "--format", "json"], ["list"]], ids=" ".join)
def test_a_full_stdout_is_one_line(args: list[str], tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = run(args, tmp_path, stdout=full, stderr=subprocess.PIPE)
    no_traceback(done.stderr)
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1, done.stderr
    assert b"No space left on device" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["show", "efficientnet_b7"],
        ["show", "efficientnet_b7", "--format", "json"],
        ["show", "efficientnet_b7", "--explain"],
        ["list", "--format", "csv"],
        ["compare", "alexnet", "vgg16", "resnet50", "--format", "markdown"],
    ],
    ids=" ".join,
)
def test_a_reader_that_goes_away_is_quiet_and_exit_0(args: list[str], tmp_path: Path) -> None:
    """`archcost show vgg16 | head -1`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "archcost", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert err == b""


# ---------------------------------------------------------------------------- signals

INTERRUPT_AT = textwrap.dedent(
    """
    import os, signal, sys

    class Interrupt:
        '''Sends the signal to this process when `{module}` starts to import (or `archcost.engine.analyze` runs).'''
        def find_spec(self, name, path=None, target=None):
            if name == {module!r}:
                os.kill(os.getpid(), signal.{signal})
            return None

    sys.meta_path.insert(0, Interrupt())
    sys.argv = ["archcost", *{args!r}]
    if {module!r} == "work":
        import archcost.engine as engine
        real = engine.analyze
        def analyze(*a, **k):
            os.kill(os.getpid(), signal.{signal})
            return real(*a, **k)
        engine.analyze = analyze
    from archcost.__main__ import run
    run()
    """
)


@pytest.mark.parametrize(
    "module", ["archcost.cli", "typer", "archcost.cli.show", "archcost.spec", "archcost.report", "rich", "work"]
)
def test_ctrl_c_at_any_moment_exits_130_without_a_traceback(module: str, tmp_path: Path) -> None:
    script = INTERRUPT_AT.format(module=module, signal="SIGINT", args=["show", "lenet5"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, timeout=120, check=False
    )
    no_traceback(done.stderr)
    assert done.returncode == 130, done.stderr
    assert done.stderr.count(b"\n") <= 1


WRITE_THEN_SIGNAL = textwrap.dedent(
    """
    import os, signal, sys
    from archcost import outputs
    real = outputs.write_with

    def write_with(path, write, inputs=()):
        def half(handle, tmp):
            os.write(handle, b"half a file")
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while the temporary file is open
            write(handle, tmp)
        real(path, half, inputs)

    outputs.write_with = write_with
    from archcost.cli import main
    sys.exit(main({args!r}))
    """
)


@pytest.mark.parametrize("args", [["gallery", "g.md"], ["show", "lenet5", "--plot", "c.png"]], ids=" ".join)
def test_sigterm_during_a_write_leaves_no_temporary_file(args: list[str], tmp_path: Path) -> None:
    if "--plot" in args:
        pytest.importorskip("matplotlib")
    (tmp_path / "keep.txt").write_text("x")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WRITE_THEN_SIGNAL.format(args=args)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    no_traceback(done.stderr)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert files(tmp_path) == ["keep.txt"]  # neither the target nor a temporary file
