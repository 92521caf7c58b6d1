"""The registry of readers: each file family registers one, picked by content first.

A reader is a function `read(path, options) -> Table`, or a generator function that yields
`Progress` events and returns the `Table`. A sniff is `sniff(path, head) -> bool`, where
`head` is the first 64 KiB of the file (b"" for a folder). A sizer (sampling.py) tells the
size of a file before it is read; a reader without one is sized by reading it.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from udl_core.errors import DatasetError, EmptyDatasetError, UnsupportedFormatError
from udl_core.events import Progress, run_job
from udl_core.formats.sampling import Sized, Sizer
from udl_core.table import ReadOptions, Table

__all__ = ["ReaderSpec", "find_reader", "load_table", "read_table", "readers", "register_labels", "register_reader",
           "register_sizer", "size_by_reading"]

HEAD_BYTES = 64 * 1024

Sniff = Callable[[Path, bytes], bool]
Reader = TypeVar("Reader", bound=Callable[..., object])


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    extensions: tuple[str, ...]
    sniff: Sniff | None
    read: Callable[..., Any]   # (path, options) -> Table, or a generator of Progress returning it
    priority: int
    description: str
    folders: bool = False
    size: Sizer | None = None

    def matches_extension(self, path: Path) -> bool:
        name = path.name.lower()
        return any(name.endswith(ext) for ext in self.extensions)


_READERS: list[ReaderSpec] = []


def register_reader(
    name: str,
    *extensions: str,
    sniff: Sniff | None = None,
    priority: int = 100,
    description: str = "",
    folders: bool = False,
) -> Callable[[Reader], Reader]:
    """Register `read` for files ending in `extensions` (lower priority wins ties)."""

    def decorate(read: Reader) -> Reader:
        exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
        _READERS.append(ReaderSpec(name, exts, sniff, read, priority, description or name, folders))
        _READERS.sort(key=lambda spec: spec.priority)
        return read

    return decorate


def register_sizer(reader_name: str) -> Callable[[Sizer], Sizer]:
    """Register the sizer of the reader registered as `reader_name` (registered first, in the same module)."""

    def decorate(size: Sizer) -> Sizer:
        at = next(i for i, spec in enumerate(_READERS) if spec.name == reader_name)
        _READERS[at] = dataclasses.replace(_READERS[at], size=size)
        return size

    return decorate


LabelJoiner = Callable[[Table, Path, ReadOptions], Table]
_LABELS: list[LabelJoiner] = []


def register_labels(join: LabelJoiner) -> LabelJoiner:
    """Register how a separate labels file (`ReadOptions.labels_path`) joins a table (pairs.py)."""
    _LABELS[:] = [join]
    return join


def readers() -> tuple[ReaderSpec, ...]:
    """Every registered reader, best first (the GUI builds its file filter from these)."""
    return tuple(_READERS)


def _head(path: Path) -> bytes:
    if path.is_dir():
        return b""
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror or exc})") from None


def _sniffs(spec: ReaderSpec, path: Path, head: bytes) -> bool:
    if spec.sniff is None:
        return False
    try:
        return bool(spec.sniff(path, head))
    except Exception:  # a sniff that trips over odd bytes just says no
        return False


def find_reader(path: str | Path) -> ReaderSpec:
    """The reader for `path`: by content where a sniff recognises it, else by extension."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(path, "no such file or folder")
    is_dir = path.is_dir()
    if not is_dir and not path.is_file():
        # A named pipe or a device: opening it could block forever or never end.
        raise DatasetError(path, "is not a regular file or folder (a pipe, socket or device)")
    head = _head(path)
    if not is_dir and not head:
        raise EmptyDatasetError(path, "the file is empty (0 bytes)")
    candidates = [spec for spec in _READERS if spec.folders == is_dir]
    by_extension = [spec for spec in candidates if spec.matches_extension(path)]
    for spec in by_extension:
        if spec.sniff is None or _sniffs(spec, path, head):
            return spec
    for spec in candidates:
        if _sniffs(spec, path, head):
            return spec
    what = "folder" if is_dir else "file"
    known = ", ".join(sorted({e for spec in _READERS for e in spec.extensions}))
    raise UnsupportedFormatError(
        path, f"this {what} is not in a format UDL reads (known: {known}, or a folder of images)"
    )


def load_table(
    path: str | Path, options: ReadOptions | None = None
) -> Generator[Progress, None, Table]:
    """Read `path` into a Table, yielding progress on the way (docs/conventions.md, "Long jobs are generators")."""
    options = options or ReadOptions()
    path = Path(path)
    spec = find_reader(path)
    yield Progress("read", 0, None, f"reading {path.name} as {spec.description}")
    table: Table
    if inspect.isgeneratorfunction(spec.read):
        table = yield from spec.read(path, options)
    else:
        table = spec.read(path, options)
    if options.labels_path and table.format != "pair":
        table = _LABELS[0](table, Path(options.labels_path), options)
    if table.num_rows == 0:
        raise EmptyDatasetError(path, "no data rows")
    yield Progress("read", table.num_rows, table.num_rows, f"read {table.num_rows} rows")
    return table


def read_table(path: str | Path, options: ReadOptions | None = None) -> Table:
    """`load_table` without the progress events."""
    table: Table = run_job(load_table(path, options))
    return table


def size_by_reading(path: Path, options: ReadOptions) -> Sized:
    """The size of a file whose reader has no sizer (fine for the small ones that lack one): read it."""
    table = read_table(path, options)
    if table.columns is not None:
        raw = int(table.columns.nbytes)
    else:
        assert table.features is not None
        raw = int(table.features.nbytes)
    return Sized(table.num_rows, True, raw, table)
