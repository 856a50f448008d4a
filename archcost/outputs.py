"""Where archcost's output goes: the standard streams, made safe for hostile environments, and files,
checked before the work and written atomically.

Owns: the ASCII fallback for a stream that cannot encode a character (``×`` → ``x``), the checks an output
path must pass (:func:`check_output`), the file name derived from a spec's name (:func:`derived_name`), the
one atomic writer (:func:`write_atomic`, :func:`write_with`: a temporary file in the same folder, then
``os.replace``; removed on any failure, SIGTERM included), and turning a signal into an exception
(:func:`exit_on_signals`). Standard library only.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import signal
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from archcost.errors import Location, SpecError

SPEC_SUFFIXES = (".yaml", ".yml")
"""archcost writes reports, documents and charts, never a file with a spec's suffix."""
NAME_MAX = 255
"""Bytes in one file name on the file systems archcost runs on (ext4, xfs, tmpfs, APFS)."""
SYSTEM_TREES = ("/proc", "/sys", "/dev")
"""Folders of the kernel's own files: archcost never writes under them."""

# ---------------------------------------------------------------------------- streams

ASCII_FALLBACKS = {
    "×": "x",
    "·": "*",
    "≈": "~",
    "≥": ">=",
    "≤": "<=",
    "→": "->",
    "←": "<-",
    "…": "...",
    "—": "--",
    "–": "-",
    "−": "-",
    "φ": "phi",
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "✓": "ok",
    "✗": "x",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "\u00a0": " ",
}
"""What a stream that cannot encode a character prints instead; any other character is written as
``\\uXXXX`` (a lone surrogate too), so nothing is lost and the JSON stays valid JSON."""
FALLBACK_ERRORS = "archcost-ascii"
"""The codec error handler's name (see :func:`_fallback`)."""


SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _fallback(exc: UnicodeError) -> tuple[str, int]:
    """The codec error handler: ``2³⁰`` → ``2^30``, ``3×224`` → ``3x224``, anything else ``\\uXXXX``."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    if all(c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻" for c in bad):
        return "^" + bad.translate(SUPERSCRIPTS), exc.end
    return "".join(ASCII_FALLBACKS.get(c) or c.encode("ascii", "backslashreplace").decode() for c in bad), exc.end


codecs.register_error(FALLBACK_ERRORS, _fallback)


def harden_streams() -> None:
    """Make stdout and stderr print what they cannot encode with ASCII fallbacks instead of raising
    (``LC_ALL=C PYTHONIOENCODING=ascii``, Latin-1, lone surrogates in a spec's title), and give a closed
    stdout (``archcost show vgg16 >&-``) a stream whose writes fail with EBADF, reported in one line."""
    if sys.stdout is None:
        sys.stdout = _ClosedStream()
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a detached or closed stream: left as it is
                reconfigure(errors=FALLBACK_ERRORS)


class _ClosedStream:
    """Stands for a stdout that was closed when archcost started: every write fails with EBADF."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(9, "stdout is closed (Bad file descriptor)")

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(9, "stdout is closed (Bad file descriptor)")


def silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so the interpreter's last flush of what is still buffered (after a
    broken pipe or a full disk) neither fails nor prints ``Exception ignored``."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


# ---------------------------------------------------------------------------- signals


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so every ``finally`` (the writer's temporary file)
    runs; the CLI exits 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` (Python's default would end the process
    at once, leaving a temporary file behind). The previous handlers come back on leaving; outside the
    main thread nothing changes."""

    def terminate(signum: int, _frame: Any) -> None:
        raise Terminated(signum)

    saved: list[tuple[signal.Signals, Any]] = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            saved.append((signum, signal.signal(signum, terminate)))
        except (ValueError, OSError):  # not the main thread
            break
    try:
        yield
    finally:
        for signum, handler in saved:
            signal.signal(signum, handler)


# ---------------------------------------------------------------------------- output paths


def _refuse(path: Path | str, message: str) -> SpecError:
    return SpecError(message, Location(_shown(path)))


def _shown(path: Path | str) -> str:
    """A path as an error message shows it: printable, and short enough for one line."""
    text = os.fspath(path).encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\0")
    return text if len(text) <= 120 else f"{text[:60]}…{text[-40:]}"


def check_name(path: Path | str, what: str = "file") -> None:
    """SpecError unless the operating system can take `path` as a name at all: no NUL byte, encodable,
    no part over 255 bytes. Used for spec paths (read) and output paths (written) alike."""
    text = os.fspath(path)
    if "\x00" in text:
        raise _refuse(text, f"a {what} name cannot contain a NUL byte")
    try:
        raw = os.fsencode(text)
    except UnicodeError:
        raise _refuse(text, f"this {what} name cannot be encoded for the file system") from None
    longest = max((len(part) for part in raw.split(b"/")), default=0)
    if longest > NAME_MAX:
        raise _refuse(text, f"part of this {what} name is {longest} bytes long; the file system allows {NAME_MAX}")
    if len(raw) >= 4096:
        raise _refuse(text, f"this {what} path is {len(raw)} bytes long; the file system allows 4095")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_input(path: str) -> None:
    """SpecError unless `path`, where it exists, is a regular file: a folder, FIFO, socket or device
    (``/dev/zero``) is named as such — reading a FIFO would wait for ever. A missing path passes: the loader
    says so, or it is a bundled spec's name."""
    check_name(path, "spec file")
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, f"this is {_kind(info.st_mode)}, not a spec file")


def check_output(path: Path, inputs: Iterable[Path | str] = ()) -> None:
    """SpecError (one line, exit 2) unless archcost may write `path`; called before the work, so a command
    that would fail to write fails before it prints anything.

    Refused: a bad name (:func:`check_name`), a spec's suffix, a place under /proc, /sys or /dev, an
    existing folder or special file (device, FIFO, socket: never replaced by a regular file), a file that
    is one of `inputs` (whatever its suffix), a parent that is a file, a read-only parent."""
    check_name(path, "output file")
    if path.suffix.lower() in SPEC_SUFFIXES:
        raise _refuse(path, "refusing to write a .yaml or .yml file: archcost never writes a spec")
    try:
        absolute = Path(os.path.abspath(path))
        resolved = absolute.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise _refuse(path, f"cannot write here: {_reason(exc)}") from None
    for tree in SYSTEM_TREES:
        if any(p == Path(tree) or Path(tree) in p.parents for p in (absolute, resolved)):
            raise _refuse(path, f"archcost does not write under {tree}")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        info = None  # a parent is a file: said below
    except OSError as exc:
        raise _refuse(path, f"cannot write here: {_reason(exc)}") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise _refuse(path, "this is a folder: give a file name")
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, f"this is {_kind(info.st_mode)}: archcost writes only regular files")
        for source in inputs:
            with contextlib.suppress(OSError, ValueError):
                if os.path.samefile(source, path):
                    raise _refuse(path, f"this is an input ({_shown(source)}): archcost never writes over its input")
    _check_parent(path, resolved)


def _check_parent(path: Path, resolved: Path) -> None:
    """The nearest existing folder above `path` must be a folder we may write in, on a writable file system."""
    ancestor = resolved.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _refuse(path, f"cannot write here: {_shown(ancestor)} is a file, not a folder")
    with contextlib.suppress(OSError, AttributeError):
        if os.statvfs(ancestor).f_flag & os.ST_RDONLY:
            raise _refuse(path, f"cannot write here: {_shown(ancestor)} is on a read-only file system")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _refuse(path, f"cannot write here: no permission to write in {_shown(ancestor)}")


def derived_name(stem: str, suffix: str) -> Path:
    """A file name in the current folder built from text a spec chose (its `name`): every character
    outside ``A-Z a-z 0-9 . _ -`` becomes ``_``, no leading dot, at most 200 bytes. Never a path
    separator, never ``..``: it cannot leave the working directory or create a folder."""
    safe = re.sub(r"[^A-Za-z0-9._-]|\.\.+", "_", stem, flags=re.ASCII).lstrip(".") or "network"
    return Path(safe[:200] + suffix)


# ---------------------------------------------------------------------------- atomic writes


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_with(path: Path, write: Callable[[int, str], None], inputs: Iterable[Path | str] = ()) -> None:
    """Have `write` fill a temporary file in `path`'s folder (it gets the open descriptor, which it must
    close, and the file's name), then move
    it over `path` in one step, so readers never see half a file and a failure leaves any old file as it
    was. The temporary file is removed on any failure: an OS error (a full disk: SpecError, one line),
    Ctrl-C, SIGTERM inside :func:`exit_on_signals`. The new file keeps the old one's mode, or gets the
    mode a plain ``open`` would give."""
    import tempfile

    check_output(path, inputs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _refuse(path, f"cannot write: {_reason(exc)}") from None
    try:
        write(handle, tmp)
        os.chmod(tmp, mode)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _refuse(path, f"cannot write: {_reason(exc)}") from None
        raise


def write_atomic(path: Path, text: str, inputs: Iterable[Path | str] = ()) -> None:
    """Write `text` (UTF-8) to `path` as :func:`write_with` does."""

    def fill(handle: int, _tmp: str) -> None:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)

    write_with(path, fill, inputs)
