"""Data larger than the memory budget: spilled to disk once, then memory-mapped.

When `estimate()` says a dataset will not fit the memory budget, the loader keeps it off the
heap instead of reading it whole:

* Parquet and delimited text are read record batch by record batch (the readers'
  `iter_parquet_batches` / `iter_record_batches`) into an uncompressed Arrow IPC file in a
  temporary folder, which is then memory-mapped: the raw Table lives in the page cache, and
  `raw_rows()` stays a cheap `take`. NPY files are memory-mapped by their reader already.
* The schema is inferred on the first `SAMPLE_ROWS` rows (classes and counts still come
  from every row), and the preprocessing is fitted on the first `FIT_ROWS` training rows.
* Processed features go chunk by chunk into float32 memory-mapped files in the same folder,
  so `train_data.x` is an `np.memmap` and every batching path works unchanged.
* The training order is a bounded-buffer shuffle (`block_shuffle`): blocks of `BLOCK_ROWS`
  consecutive rows in random order, then rows shuffled within windows of `BUFFER_ROWS`, so
  each gathered chunk reads a few contiguous blocks rather than the whole file at random.

The split is the same seeded, stratified split as in memory. What stays in RAM grows with
the row count only through small per-row arrays (the label, the split's row ids, the
epoch's order: about 40 bytes a row at the peak), plus one chunk of rows at a time. JSON,
NPZ and image folders have no streaming reader: they are read into memory, with a warning.
The folder is deleted when the loader is garbage-collected (or at interpreter exit).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pyarrow as pa

from udl_core.errors import CorruptFileError, EmptyDatasetError
from udl_core.events import Progress
from udl_core.table import BadRecord, ReadOptions, Table

__all__ = ["BLOCK_ROWS", "BUFFER_ROWS", "FIT_ROWS", "SAMPLE_ROWS", "SpillFolder", "STREAMABLE",
           "block_shuffle", "spill_table"]

SAMPLE_ROWS = 100_000
FIT_ROWS = 200_000
BLOCK_ROWS = 1024
BUFFER_ROWS = 1 << 18
BATCH_ROWS = 1 << 16
STREAMABLE = ("parquet", "csv")


class SpillFolder:
    """A temporary folder removed when its owner is collected (or at exit)."""

    def __init__(self, owner: object) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="udl-spill-"))
        self._finalizer = weakref.finalize(owner, shutil.rmtree, str(self.path), True)

    def remove(self) -> None:
        self._finalizer()

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """A writable float32/int memmap of `shape` (a plain empty array when it has no rows)."""
        if not shape[0] or not int(np.prod(shape)):
            return np.empty(shape, dtype=dtype)
        return np.memmap(self.path / name, dtype=dtype, mode="w+", shape=shape)


def _batches(reader: str, path: Path, options: ReadOptions, quarantine: list[BadRecord]):
    if reader == "parquet":
        from udl_core.formats.columnar import iter_parquet_batches

        return iter_parquet_batches(path, options, BATCH_ROWS)
    from udl_core.formats.delimited import iter_record_batches

    return iter_record_batches(path, options, BATCH_ROWS, quarantine)


def spill_table(path: str | Path, reader: str, options: ReadOptions, folder: SpillFolder,
                expected_rows: int | None = None) -> Generator[Progress, None, Table]:
    """Stream `path` into an Arrow IPC file in `folder` and return it memory-mapped."""
    path = Path(path)
    target = folder.path / "raw.arrow"
    quarantine: list[BadRecord] = []
    rows = 0
    writer = None
    schema = None
    yield Progress("read", 0, expected_rows, f"streaming {path.name} to disk (over the memory budget)")
    try:
        for batch in _batches(reader, path, options, quarantine):
            if writer is None:
                schema = batch.schema
                writer = pa.ipc.new_file(str(target), schema)
            elif batch.schema != schema:
                try:
                    batch = pa.Table.from_batches([batch]).cast(schema).combine_chunks().to_batches()[0]
                except (pa.ArrowException, ValueError) as exc:
                    raise CorruptFileError(path, f"rows {rows + 1}-{rows + batch.num_rows} do not fit "
                                                 f"the column types of the first rows ({exc})") from None
            writer.write_batch(batch)
            rows += batch.num_rows
            yield Progress("read", rows, expected_rows, f"read {rows:,} rows")
    finally:
        if writer is not None:
            writer.close()
    total = rows + len(quarantine)
    if quarantine and len(quarantine) / total > options.max_bad_fraction:
        first = quarantine[0]
        raise CorruptFileError(path, f"{len(quarantine)} of {total} rows are malformed, more than the allowed "
                                     f"{options.max_bad_fraction:.0%} (first: {first.location}, {first.reason})")
    if rows == 0:
        raise EmptyDatasetError(path, "no data rows")
    table = pa.ipc.open_file(pa.memory_map(str(target))).read_all()
    notes = [f"larger than the memory budget: streamed into {target} and memory-mapped"]
    return Table(source=str(path), format=reader, columns=table, quarantine=quarantine, notes=notes)


def block_shuffle(n: int, rng: np.random.Generator, block_rows: int = BLOCK_ROWS,
                  buffer_rows: int = BUFFER_ROWS) -> np.ndarray:
    """A permutation of range(n): blocks in random order, rows shuffled within windows."""
    blocks = rng.permutation(-(-n // block_rows))
    order = (blocks[:, None] * block_rows + np.arange(block_rows)).ravel()
    order = order[order < n]
    for start in range(0, n, buffer_rows):
        window = order[start:start + buffer_rows]
        order[start:start + buffer_rows] = window[rng.permutation(window.size)]
    return order
