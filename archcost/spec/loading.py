"""Loading specs: bundled names and paths, ``extends``, and the bundled specs' fingerprint.

Reads the text, has :mod:`.reader` parse it and :mod:`.model` validate it; a spec that extends
another is the parent's tree with its parameters and metadata overridden.
"""

from __future__ import annotations

import errno
import functools
import gc
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from archcost.errors import Location, SpecError
from archcost.spec import model
from archcost.spec.model import TOP_KEYS, Spec
from archcost.spec.reader import YMap, parse_yaml, printable

MAX_EXTENDS: Final = 8


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a spec's (or an analysis') many small objects are made.

    They all live on, so its passes find nothing; on a 100,000-layer spec they took about half
    the time. Nested uses are fine: only the outermost turns it back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_count()[0] > FREEZE_AFTER:  # (objects made while paused, less those freed)
                gc.freeze()  # they live on: later passes skip them (one pass over 200,000 layers took 0.5 s)
            gc.enable()


FREEZE_AFTER: Final = 100_000
"""Objects made under :func:`gc_paused` beyond which the collector is told they are permanent
(``gc.freeze``): a big spec's analysis. Refcounting still frees them; only cycles among them would stay."""


def load_text(text: str, file: str = "<spec>", base: Path | None = None, _chain: tuple[str, ...] = ()) -> Spec:
    """Parse and validate spec text; SpecError with file and line on any problem.

    `base` is the folder a relative ``extends`` is resolved against (the spec file's own).
    """
    with gc_paused():
        doc = model.check_document(parse_yaml(text, file), file)
        if "extends" in doc:
            return _extend(doc, file, base, _chain)
        return model.spec_from_document(doc, file)


def _extend(doc: YMap, file: str, base: Path | None, chain: tuple[str, ...]) -> Spec:
    """A spec that reuses another's input, params, blocks and layers, overriding params and metadata."""
    for key in ("input", "blocks", "layers"):
        if key in doc:
            raise SpecError(
                f"a spec that extends another takes its {key} from it; change it through params", doc.key_locs[key]
            )
    for key in ("archcost", "name"):
        if key not in doc:
            raise SpecError(f"the spec needs {key!r} ({TOP_KEYS[key]})", doc.loc)
    model.check_version(doc)
    ref = model.literal(doc["extends"], doc.value_locs["extends"], "extends", str)
    where = doc.value_locs["extends"]
    if len(chain) >= MAX_EXTENDS or ref in chain:
        raise SpecError(f"extends goes round in a circle or too deep: {printable(' → '.join([*chain, ref]))}", where)
    try:
        path = resolve(ref, base)
        text = read_spec(path)
    except SpecError as exc:
        raise SpecError(exc.message, where) from None
    parent = _parent(text, _shown(path), path.parent, (*chain, ref))
    params = dict(parent.params)
    if "params" in doc:
        pmap = doc["params"]
        if not isinstance(pmap, YMap):
            raise SpecError("params must be a mapping of name: value", doc.value_locs["params"])
        for key in pmap:
            if key not in params:
                known = ", ".join(params) or "none"
                raise SpecError(
                    f"{ref} has no parameter {key!r} to override (its parameters: {known})", pmap.key_locs[key]
                )
            params[key] = model.raw(pmap, key)
    meta = {k: v for k, v in parent.meta.items() if k not in ("paper", "reported", "notes", "description")}
    meta.update(model.metadata(doc))
    meta["extends"] = ref
    model.check_scaling(meta, params, doc)
    name = model.literal(doc["name"], doc.value_locs["name"], "name", str)
    spec = Spec(name, file, parent.input, parent.input_loc, params, parent.blocks, parent.layers, meta)
    model.check_reported(spec)
    return spec


@functools.lru_cache(maxsize=64)
def _parent(text: str, file: str, base: Path, chain: tuple[str, ...]) -> Spec:
    """A spec that another extends, parsed once per process and text (`archcost list` would
    otherwise parse EfficientNet-B0 again for each of B1-B7). Nothing changes a Spec."""
    return load_text(text, file, base, chain)


# ---------------------------------------------------------------------------- bundled specs


def package_dir() -> Path:
    """The archcost package's folder (this module is in its ``spec`` subpackage)."""
    return Path(__file__).resolve().parent.parent


@functools.cache
def bundled_dir() -> Path:
    """The folder of bundled specs: inside the installed package, or `specs/` in a checkout.

    Found once per process: resolving the path takes 50 µs, and loading the 50 bundled specs asked 128 times."""
    packaged = package_dir() / "specs"  # as importlib.resources.files finds it
    if packaged.is_dir():
        return packaged
    return package_dir().parent / "specs"


def bundled_names() -> list[str]:
    """Names of the bundled specs, sorted."""
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


BUNDLED_INDEX: Final = "index.json"
"""The bundled specs' `archcost list` entries, in the bundled folder beside them (see :func:`bundled_fingerprint`)."""


def bundled_fingerprint() -> str:
    """SHA-256 of every bundled spec and every archcost module, by name and content.

    The list index holds figures computed from exactly these files; any other fingerprint means
    they must be computed again."""
    import hashlib

    digest = hashlib.sha256()
    package = package_dir()
    modules = sorted(package.rglob("*.py"), key=lambda p: p.relative_to(package).as_posix())
    for path in [*sorted(bundled_dir().glob("*.yaml")), *modules]:
        content = path.read_bytes()
        name = path.name if path.suffix == ".yaml" else path.relative_to(package).as_posix()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


MAX_SPEC_BYTES: Final = 64 * 2**20
"""A spec file larger than this is refused before it is read (a flat list of 200,000 layers is about 9 MB)."""

_NOT_FILES: Final = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _status(path: Path, ref: str) -> os.stat_result | None:
    """The file's status, None if there is none; SpecError for a path the system cannot look up."""
    try:
        return path.stat()
    except ValueError:  # a NUL character
        raise SpecError("a spec path cannot hold a NUL character", Location(ref)) from None
    except FileNotFoundError:
        return None
    except OSError as exc:  # a name too long, a parent that is a file, no permission, a loop of links
        if exc.errno == errno.ENOTDIR:
            return None
        raise SpecError(f"cannot read the spec: {exc.strerror or exc}", Location(ref)) from None


def _check_regular(status: os.stat_result, ref: str) -> None:
    """SpecError unless `status` is a regular file (not a folder, FIFO or device: never read for ever)."""
    for test, what in _NOT_FILES:
        if test(status.st_mode):
            raise SpecError(f"this is {what}, not a spec file", Location(ref))
    if not stat.S_ISREG(status.st_mode):
        raise SpecError("this is not a regular file, not a spec file", Location(ref))
    if status.st_size > MAX_SPEC_BYTES:
        raise SpecError(
            f"the spec file is {status.st_size:,} bytes, more than the limit of {MAX_SPEC_BYTES:,}", Location(ref)
        )


def resolve(ref: str, base: Path | None = None) -> Path:
    """A bundled spec name or a path to a YAML file (relative to `base` if given); SpecError if neither,
    or if the path is a folder, a FIFO, a device or too large a file."""
    path = Path(ref) if base is None or Path(ref).is_absolute() else base / ref
    status = _status(path, ref)
    if path.suffix in (".yaml", ".yml") or status is not None or "/" in ref:
        if status is None:
            raise SpecError(f"no such spec file: {printable(ref)}", Location(ref))
        _check_regular(status, ref)
        return path
    candidate = bundled_dir() / f"{ref}.yaml"
    if candidate.is_file():
        return candidate
    hint = model.suggest(ref, bundled_names())
    raise SpecError(f"unknown spec {ref!r}{hint}; `archcost list` shows the bundled ones", Location(ref))


def read_spec(path: Path) -> str:
    """The text of a spec file (at most MAX_SPEC_BYTES are read, whatever the file turns out to be)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read the spec: {exc.strerror or exc}", Location(str(path))) from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"the spec file is larger than the limit of {MAX_SPEC_BYTES:,} bytes", Location(str(path)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"the spec is not UTF-8 text: {exc.reason} at byte {exc.start:,}", Location(str(path), line)
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as reading in text mode does


def load(ref: str) -> Spec:
    """Load a bundled spec by name, or a spec file by path."""
    path = resolve(ref)
    return load_text(read_spec(path), _shown(path), path.parent)


def _shown(path: Path) -> str:
    """How a spec file is named in messages: bundled specs by file name, others by path."""
    return path.name if path.parent == bundled_dir() else str(path)
