"""What a sizer learns about a file before it is read, and the sampling every sizer shares.

Each reader family registers a sizer beside its reader (registry.py); a sizer reads metadata
(columnar, arrays) or the first `SIZE_SAMPLE_BYTES` of text and scales the sample to the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from udl_core.table import ReadOptions, Table

__all__ = ["SIZE_SAMPLE_BYTES", "SIZE_SAMPLE_ROWS", "Sized", "Sizer", "head_lines", "scaled"]

SIZE_SAMPLE_BYTES = 1 << 20
SIZE_SAMPLE_ROWS = 10_000


@dataclass(frozen=True)
class Sized:
    """What a sizer learns: rows (and whether exact), raw bytes in memory, and a sample Table."""

    rows: int
    exact: bool
    in_memory_bytes: int
    sample: Table | None = None
    feature_dim: int | None = None  # when known without a sample (arrays)
    reading_bytes: int = 0          # held only while reading whole (a CSV's text and parsed blocks)
    labelled: bool = True           # the sample may hold the label column (not a pair folder's features)


Sizer = Callable[[Path, ReadOptions], Sized]


def head_lines(path: Path) -> tuple[bytes, bool]:
    """The first `SIZE_SAMPLE_BYTES` cut at a line end, and whether that is the whole file."""
    with open(path, "rb") as handle:
        sample = handle.read(SIZE_SAMPLE_BYTES)
        complete = not handle.read(1)
    if not complete:
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
    return sample, complete


def scaled(total_bytes: int, sample_rows: int, sample_bytes: int, sample_nbytes: int, complete: bool,
           overhead: int = 0) -> tuple[int, int]:
    """Rows and raw bytes of the whole file, scaled from a sample of `sample_bytes` bytes."""
    if complete or sample_rows == 0:
        return sample_rows, sample_nbytes
    per_row = max(sample_bytes - overhead, 1) / sample_rows
    rows = round((total_bytes - overhead) / per_row)
    return rows, round(sample_nbytes * rows / sample_rows)
