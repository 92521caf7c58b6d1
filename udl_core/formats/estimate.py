"""How big a dataset is before it is loaded: rows, bytes, and whether it fits in memory.

Columnar and array formats know their row counts from metadata (`exact`); text formats
are sampled (the first 1 MiB: rows ≈ file size / mean bytes per row). Each reader family
registers its sizer beside its reader (registry.py); `measure` asks the registry. The
feature width of a sample is counted by a function the caller passes: the pipeline passes
one that runs schema inference and preprocessing on it (`udl_core.pipeline.estimate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from udl_core.errors import UDLError
from udl_core.formats.bounded import default_memory_budget, format_size, memory_budget
from udl_core.formats.registry import find_reader, size_by_reading
from udl_core.formats.sampling import Sized
from udl_core.table import ReadOptions, Table

__all__ = ["Estimate", "FeatureDim", "default_memory_budget", "estimate", "measure", "simple_dim"]


@dataclass(frozen=True)
class Estimate:
    """The expected size of a dataset; `exact` when `rows` came from metadata, not a sample."""

    rows: int
    bytes_on_disk: int
    processed_bytes: int      # float32 features after preprocessing
    streamed: bool            # over the memory budget: read in batches, not at once
    memory_budget: int
    exact: bool
    feature_dim: int = 0
    in_memory_bytes: int = 0  # the raw columns once read

    def __str__(self) -> str:
        rows = f"{self.rows:,} rows" if self.exact else f"≈ {self.rows:,} rows"
        fits = (f"over the memory budget ({format_size(self.memory_budget)}): streamed in batches"
                if self.streamed else f"fits in memory (budget {format_size(self.memory_budget)})")
        return (f"{rows}, {_size(self.bytes_on_disk)} on disk, "
                f"≈ {_size(self.processed_bytes)} as float32; {fits}")


FeatureDim = Callable[[Table, "str | None"], int]   # (sample, label) -> features after preprocessing


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def simple_dim(sample: Table, label: str | None = None) -> int:
    """Features counted without a schema: a tensor's width, a text column as up to 32 categories."""
    if sample.features is not None:
        return int(np.prod(sample.features.shape[1:], dtype=np.int64)) or 1
    assert sample.columns is not None
    dim = 0
    for column in sample.columns.columns:
        if pa.types.is_string(column.type):
            dim += min(len(column.unique()), 32)
        else:
            dim += 1
    return max(dim, 1)


def measure(path: str | Path, options: ReadOptions) -> Sized:
    """What the sizer registered for `path`'s reader learns (by reading it where there is none)."""
    path = Path(path)
    spec = find_reader(path)
    sizer = spec.size or size_by_reading
    try:
        return sizer(path, options)
    except UDLError:
        raise
    except Exception:  # a sizer that trips over damaged metadata: the reader says what is wrong
        return size_by_reading(path, options)


_LAST: list[tuple[tuple[object, ...], Estimate]] = []   # the last estimate, by file, size, mtime and options


def estimate(path: str | Path, options: ReadOptions | None = None, *,
             label: str | None = None, feature_dim: FeatureDim = simple_dim) -> Estimate:
    """Rows, sizes and whether `path` must be streamed, without reading big files whole.

    The last answer is kept for the same unchanged file and options: the window shows the
    estimate before the load starts, and the load asks again at once."""
    path = Path(path)
    options = options or ReadOptions()
    try:
        stat = path.stat()
        key: tuple[object, ...] | None = (str(path), stat.st_size, stat.st_mtime_ns, options, label, memory_budget(options),
                             feature_dim)
        hash(key)
    except (OSError, TypeError):
        key = None
    if key is not None and _LAST and _LAST[0][0] == key:
        return _LAST[0][1]
    result = _estimate_uncached(path, options, label, feature_dim)
    if key is not None:
        _LAST[:] = [(key, result)]
    return result


def _estimate_uncached(path: Path, options: ReadOptions, label: str | None, feature_dim: FeatureDim) -> Estimate:
    sized = measure(path, options)
    dim = sized.feature_dim
    if dim is None:
        dim = feature_dim(sized.sample, label if sized.labelled else None) if sized.sample is not None else 1
    budget = memory_budget(options)
    processed = int(sized.rows) * int(dim) * 4
    return Estimate(
        rows=int(sized.rows),
        bytes_on_disk=_disk_bytes(path),
        processed_bytes=processed,
        # A load in memory holds the raw columns and the processed features together, and
        # reading some formats whole costs more for a while: past the budget it is streamed.
        streamed=processed + sized.in_memory_bytes + sized.reading_bytes > budget,
        memory_budget=budget,
        exact=sized.exact,
        feature_dim=int(dim),
        in_memory_bytes=int(sized.in_memory_bytes),
    )


def _disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
