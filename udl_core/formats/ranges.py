"""One rank's part of a file, for a run over several processes (udl_core/sharded.py).

Rank r of n reads a contiguous run of the file's rows, and only the bytes that hold them:

* Parquet: whole row groups, a contiguous run of them per rank, cut at the row-group boundary
  nearest to an even split of the rows (`row_range`); a rank may get none when there are fewer
  row groups than ranks. Types are normalised as `read_parquet` does; text dates take the form
  detected on the file's first rows, so every rank reads them alike.
* NPY: rows [start, stop) of the memory map (`row_range`): only their pages are ever read (a
  labels file, `ReadOptions.labels_path`, is read whole and sliced alike).
* Delimited text, plain (not compressed) and in an ASCII-compatible encoding: the bytes after
  the header cut into n even ranges, each cut moved forward to just after a line end, parsed
  with the column types the file's head gives (as `iter_record_batches` streams a file: the
  same dialect, encoding, missing values and text dates). A cut inside a quoted field would
  split a record, so a file whose head shows quoted line breaks is not split (`TextNotSplit`);
  further on, each part counts its quote characters (`Part.quotes`): a cut after an odd number
  of them in all is inside a quoted field (quotes inside a field are doubled), and
  udl_core/sharded.py then reads the file whole on every rank, with a notice.

Each part also carries the file's head (its first `head_rows` rows, the same on every rank), on
which every rank infers the same schema.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from udl_core.dates import apply_text_dates, parse_text_dates
from udl_core.distributed import row_range
from udl_core.errors import DatasetError
from udl_core.formats.arrays import array_info, read_npy
from udl_core.formats.columnar import open_parquet, normalise_types
from udl_core.formats.delimited import STREAM_SAMPLE_BYTES, arrow_options, text_source, to_batch, parse_sample
from udl_core.formats.dialect import Dialect, detect_dialect, read_sample
from udl_core.formats.pairs import attach_labels
from udl_core.table import ReadOptions, Table
from udl_core.values import table_slice

__all__ = ["Part", "TextNotSplit", "npy_part", "parquet_part", "text_part", "text_splits"]


class TextNotSplit(DatasetError):
    """Delimited text that cannot be cut into byte ranges safely (the message says why)."""


@dataclass(frozen=True)
class Part:
    """A rank's rows of a file (`table`), the bytes it read for them and the file's head."""

    table: Table
    bytes_read: int
    head: Table
    quotes: int = 0   # delimited text: the quote characters in the rank's bytes (`text_part`)


def parquet_part(path: Path, options: ReadOptions, rank: int, size: int, head_rows: int) -> Part:
    parquet = open_parquet(path, streamed=True)
    meta = parquet.metadata
    starts = np.concatenate([[0], np.cumsum([meta.row_group(g).num_rows for g in range(meta.num_row_groups)])])
    cuts = [int(np.argmin(np.abs(starts - row_range(meta.num_rows, r, size)[0]))) for r in range(size)]
    groups = list(range(cuts[rank], cuts[rank + 1] if rank + 1 < size else meta.num_row_groups))
    notes: list[str] = []
    head_columns = _parquet_head(parquet, starts, head_rows)
    head_columns, _ = parse_text_dates(normalise_types(head_columns), options.missing_values, options.date_formats)
    columns = parquet.read_row_groups(groups) if groups else parquet.schema_arrow.empty_table()
    columns = apply_text_dates(normalise_types(columns, notes), head_columns.schema, options.missing_values)
    read = sum(meta.row_group(g).column(c).total_compressed_size for g in groups for c in range(meta.num_columns))
    return Part(Table(source=str(path), format="parquet", columns=columns, notes=notes), int(read),
                Table(source=str(path), format="parquet", columns=head_columns))


def _parquet_head(parquet: pq.ParquetFile, starts: np.ndarray, rows: int) -> pa.Table:
    """The first `rows` rows, read from the row groups that hold them (their pages only, as needed)."""
    groups = list(range(min(int(np.searchsorted(starts, rows)), starts.size - 1)))
    batches, got = [], 0
    for batch in parquet.iter_batches(batch_size=max(1, rows), row_groups=groups) if groups else ():
        batches.append(batch)
        got += batch.num_rows
        if got >= rows:
            break
    return pa.Table.from_batches(batches, schema=parquet.schema_arrow).slice(0, rows)


def npy_part(path: Path, options: ReadOptions, rank: int, size: int, head_rows: int) -> Part:
    whole = read_npy(path, options)   # a memory map: nothing is read yet
    if options.labels_path:   # a labels file (small) is read whole, as the loader reads it
        whole = attach_labels(whole, Path(options.labels_path), options)
    start, stop = row_range(whole.num_rows, rank, size)
    info = array_info(path, options)
    row_bytes = info.nbytes // max(1, whole.num_rows)
    return Part(table_slice(whole, start, stop), row_bytes * (stop - start), table_slice(whole, 0, head_rows))


def text_splits(path: Path, options: ReadOptions) -> Dialect:
    """The dialect of delimited text that can be cut into byte ranges; `TextNotSplit` says why not."""
    dialect = detect_dialect(path, options)
    if dialect.compression:
        raise TextNotSplit(path, f"is {dialect.compression}-compressed: its byte ranges cannot be read apart")
    if dialect.encoding.codec.startswith("utf-16") or dialect.encoding.codec.startswith("utf-32"):
        raise TextNotSplit(path, f"is {dialect.encoding.codec} text: its line ends are not single bytes")
    if dialect.quoted_newlines:
        raise TextNotSplit(path, "has line breaks inside quoted fields: a cut at a line end could split a record")
    return dialect


def text_part(path: Path, options: ReadOptions, rank: int, size: int, head_rows: int) -> Part:
    dialect = replace(text_splits(path, options), single_spaces=False)   # runs collapsed, as when streamed
    sample, complete, _ = read_sample(path, STREAM_SAMPLE_BYTES)
    raw, first = parse_sample(sample, complete, dialect, options)
    schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in first.schema])
    types = {f"c{i}": pa.string() if pa.types.is_null(t) else t for i, t in enumerate(raw.schema.types)}
    with open(path, "rb") as handle:
        begin = _after_lines(handle, dialect.skip_lines + dialect.header_lines)
        end = os.fstat(handle.fileno()).st_size
        lo, hi = (_cut(handle, begin, end, r, size) for r in (rank, rank + 1))
        handle.seek(lo)
        data = handle.read(hi - lo)
    quotes = data.count(b'"')
    if not data.isspace() and quotes % 2 == 0:   # (an odd count: a cut in a quoted field, read whole)
        arrow = arrow_options(dialect, options, None, threads=True, column_types=types)
        arrow["read_options"].skip_rows = 0   # the range starts past the header
        parsed = pacsv.read_csv(text_source(io.BytesIO(data), dialect), **arrow)
        columns = pa.Table.from_batches([to_batch(parsed, dialect, options, schema)])
    else:
        columns = schema.empty_table()
    return Part(Table(source=str(path), format="csv", columns=columns), hi - lo,
                Table(source=str(path), format="csv", columns=first.slice(0, head_rows).cast(schema)), quotes)


def _after_lines(handle: io.BufferedReader, lines: int) -> int:
    """The offset just past the first `lines` line ends."""
    handle.seek(0)
    for _ in range(lines):
        handle.readline()
    return handle.tell()


def _cut(handle: io.BufferedReader, begin: int, end: int, rank: int, size: int) -> int:
    """Where rank `rank`'s bytes start: its even share of [begin, end), moved forward to just
    after a line end (`end` for rank `size`)."""
    if rank >= size:
        return end
    at = begin + row_range(end - begin, rank, size)[0]
    if rank == 0 or at >= end:
        return min(at, end)
    handle.seek(at - 1)
    handle.readline()   # to just after the line end at or after `at - 1`
    return min(handle.tell(), end)
