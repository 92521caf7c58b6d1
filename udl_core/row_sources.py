"""Where a loaded row lives in its source: "data.csv:17" for text formats, an image's path for an image
folder, "x.npy[42]" for arrays. Used to name the rows a person should look at (likely label errors).

Rows are the loader's source row indices (`SplitArrays.rows`, the batch table's row numbers). A text
file's line is found by walking its lines once up to the last row asked for: records are the non-blank
lines after the header (a quoted field may span lines), less the records the reader quarantined.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["row_sources"]

_TEXT_FORMATS = frozenset({"csv", "jsonl"})
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def row_sources(loader: Any, rows: Sequence[int] | np.ndarray) -> list[str]:
    """Where each of `rows` lives, in order (the row number alone where the source cannot say)."""
    rows = [int(r) for r in rows]
    table = getattr(loader, "table", None)
    path = Path(str(getattr(table, "source", None) or getattr(loader, "path", "") or "data"))
    fmt = str(getattr(table, "format", "") or "")
    if fmt in _TEXT_FORMATS and path.is_file():
        lines = _text_lines(path, rows, fmt, table)
        if lines is not None:
            return [f"{path.name}:{lines[r]}" if r in lines else f"{path.name}: row {r}" for r in rows]
    if fmt == "images" and path.is_dir():
        images = _image_paths(path, table)
        if images is not None:
            return [images[r] if 0 <= r < len(images) else f"{path.name}: row {r}" for r in rows]
    if fmt in ("npy", "npz", "pair"):
        return [f"{path.name}[{r}]" for r in rows]
    return [f"{path.name}: row {r}" for r in rows]


def _open(path: Path) -> IO[bytes]:
    opener = _OPENERS.get(path.suffix.lower())
    return opener(path, "rb") if opener is not None else path.open("rb")   # type: ignore[operator]


def _quarantined_lines(table: Any) -> set[int]:
    lines = set()
    for record in getattr(table, "quarantine", None) or ():
        location = str(getattr(record, "location", ""))
        if location.startswith("line ") and location[5:].isdigit():
            lines.add(int(location[5:]))
    return lines


def _text_lines(path: Path, rows: list[int], fmt: str, table: Any) -> dict[int, int] | None:
    """Row -> the 1-based line its record starts on, for the rows asked for (None: not readable)."""
    skip = 0
    if fmt == "csv":
        try:
            from udl_core.formats.dialect import detect_dialect
            from udl_core.table import ReadOptions

            dialect = detect_dialect(path, ReadOptions())
        except Exception:   # the file changed since it was read: say the row, not the line
            return None
        skip = dialect.skip_lines + dialect.header_lines
    wanted = set(rows)
    last = max(wanted, default=-1)
    bad = _quarantined_lines(table)
    found: dict[int, int] = {}
    row = 0
    try:
        with _open(path) as stream:
            for start in _record_starts(stream, skip, quoted=fmt == "csv"):
                if start in bad:
                    continue
                if row in wanted:
                    found[row] = start
                row += 1
                if row > last:
                    break
    except OSError:
        return None
    return found


def _record_starts(stream: IO[bytes], skip: int, quoted: bool) -> Iterator[int]:
    """The 1-based line numbers where the records after the first `skip` lines start."""
    open_quote = False
    for number, line in enumerate(stream, start=1):
        if number <= skip:
            continue
        if not open_quote and line.strip():
            yield number
        if quoted and line.count(b'"') % 2:
            open_quote = not open_quote


def _image_paths(root: Path, table: Any) -> list[str] | None:
    """The image paths in the reader's order, less the ones it could not decode."""
    try:
        from udl_core.formats.images import image_files

        paths = image_files(root)
    except Exception:
        return None
    skipped = {str(getattr(record, "location", "")) for record in getattr(table, "quarantine", None) or ()}
    return [p for p in paths if p not in skipped]
