"""The polars fast path for plain UTF-8 delimited text: the same raw table as pyarrow's read.

polars parses CSV about twice as fast as pyarrow (2M x 32 floats, 477 MB, 2 cores: 5.0 vs
9-10 CPU seconds), but it only reads UTF-8, has no report of malformed rows, and types
columns its own way. So it is used only where it can give exactly what `pyarrow.csv` gives
(delimited.py): a plain (uncompressed) UTF-8 file with a one-character delimiter, no preamble,
no decimal commas, at least FAST_BYTES long; with the column types pyarrow infers on the
file's head, as polars' schema. Anything it cannot match hands the file back to pyarrow (the
function returns None): a value that does not parse as its column's type (pyarrow would widen
the column), a row with the wrong number of fields (pyarrow quarantines it), a blank line
(pyarrow skips it; polars makes a row of nulls), text that is not UTF-8 (pyarrow transcodes).

The file is memory-mapped and parsed RANGE_BYTES at a time, each range ending at a line break
outside quotes (an even number of quote characters before it), so that a `Progress` event with
the bytes read goes out between ranges, a cancelled load stops there, and each range's pages
are released once parsed. polars splits each range over every core itself: reading the file in
32 MiB ranges measured the same CPU time as one whole-file `pl.read_csv` (5.0 s either way).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.events import Progress
from udl_core.formats.dialect import FALSE_VALUES, TRUE_VALUES, Dialect
from udl_core.formats.inputs import polars_errors
from udl_core.table import ReadOptions

__all__ = ["FAST_BYTES", "RANGE_BYTES", "count_byte", "fast_path_applies", "read_with_polars"]

# Smaller files go to pyarrow: importing polars (0.15-0.5 s) costs more than it saves there.
FAST_BYTES = 4 << 20
RANGE_BYTES = 32 << 20
COUNT_BYTES = 2 << 20  # a GIL hold of about a millisecond (see count_byte)
_DELIMITERS = (",", "\t", ";", "|")
_UTF8_BOM = b"\xef\xbb\xbf"
_QUOTE = ord('"')


def fast_path_applies(path: Path, dialect: Dialect, options: ReadOptions) -> bool:
    """Whether polars can read `path` as pyarrow would (still subject to the checks as it reads)."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        return False
    return (size >= FAST_BYTES and dialect.compression is None and dialect.encoding.is_utf8
            and dialect.delimiter in _DELIMITERS and not dialect.decimal_comma and not dialect.has_nul
            and dialect.skip_lines == 0 and dialect.header_lines <= 1
            # one column: a blank line would not show up as a row of too few fields
            and len(dialect.names) >= 2)


def _polars_type(kind: pa.DataType) -> Any:   # a polars type, or None
    """The polars type that parses a column pyarrow typed `kind` on the head (text where pyarrow's
    own conversion follows), or None when there is none."""
    import polars as pl

    if kind == pa.int64():
        return pl.Int64
    if kind == pa.float64():
        return pl.Float64
    if pa.types.is_string(kind) or pa.types.is_null(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_date32(kind) or pa.types.is_timestamp(kind):
        return pl.String
    return None


def read_with_polars(path: Path, dialect: Dialect, options: ReadOptions, head_types: list[pa.DataType]
                     ) -> Generator[Progress, None, pa.Table | None]:
    """The raw table pyarrow's read would give (columns named `dialect.names`), or None where
    polars cannot give the same (the caller reads the file with pyarrow)."""
    import polars as pl

    width = len(dialect.names)
    types = [_polars_type(kind) for kind in head_types]
    if len(types) != width or any(kind is None for kind in types):
        return None
    schema = dict(zip(dialect.names, types))
    read = dict(has_header=False, schema=schema, separator=dialect.delimiter, quote_char='"',
                null_values=list(options.missing_values), truncate_ragged_lines=False, raise_if_empty=False)
    tokens = _plain_tokens(options.missing_values, schema)
    parts = []
    rows = 0
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            size = len(data)
            start = len(_UTF8_BOM) if data[:3] == _UTF8_BOM else 0
            if data[start:start + 1] in (b"\n", b"\r"):
                return None   # blank lines before the header: pyarrow skips them
            if dialect.header_lines:
                start = data.find(b"\n", start) + 1
                if start == 0:
                    return None
            released = 0
            while start < size:
                end, chunk = _range(data, start, size, handle.fileno())
                # (a range of few bytes a column: its words matched while parsing, as the fix-up
                # after costs a polars expression a column: 20,000 columns of 30 rows, +2.9 s)
                plain = tokens if len(chunk) >= PLAIN_BYTES_PER_COLUMN * width else None
                frame = _parse(chunk, read, plain)
                if not _whole_rows(chunk, frame, dialect.delimiter):
                    return None
                if plain is not None:
                    frame = _missing_as_null(frame, plain)
                parts.append(few_chunks(frame))
                rows += frame.height
                start = end
                released = _release(data, released, start)
                # rows so far and an estimate of all of them; the bytes are exact
                yield Progress("read", rows, rows * size // start, f"read {rows:,} rows "
                               f"({start / 2**20:,.0f} of {size / 2**20:,.0f} MiB)", bytes_done=start, bytes_total=size)
    except polars_errors():
        return None
    if not parts:
        return None
    table = pl.concat(parts, how="vertical", rechunk=False).to_arrow()
    del parts
    return _as_pyarrow_types(table, head_types)


PIECE_ROWS = 4096


def few_chunks(frame: Any) -> Any:
    """`frame` in one chunk a column where polars parsed it into pieces of under PIECE_ROWS rows
    (a wide file's range: a few rows each), as every later step pays per column *and* per chunk;
    else as it is: 2M x 32 CSV ranges came in 17 pieces of ~7,800 rows, and copying them into
    one (0.3 s of the read) saved the gathers less than it cost."""
    pieces = max(1, frame.n_chunks())
    return frame.rechunk() if frame.height < PIECE_ROWS * pieces and pieces > 1 else frame


PLAIN_BYTES_PER_COLUMN = 16 << 10
_NAN_WORDS = frozenset({"NaN", "nan", "NAN"})   # what polars reads as NaN among the usual missing words


def _plain_tokens(missing: tuple[str, ...] | list[str], schema: dict[str, Any]) -> list[str] | None:
    """The missing-value words, when a range may be parsed without them (`_parse`), else None.

    polars matches every field against `null_values`, which made it parse 38% slower (64 MiB of
    2M x 32 floats: 0.48 s against 0.35). Without them, a float column reads the NaN words as
    NaN and an empty field as null, and fails on any other word (then the range is parsed again
    with them); so where the words hold the NaN ones and the empty one, NaN becomes null and
    text equal to a word becomes null after the parse, as pyarrow reads them."""
    import polars as pl

    words = set(missing)
    if not (_NAN_WORDS | {""}) <= words:
        return None
    return sorted(words) if any(kind == pl.String for kind in schema.values()) else []


def _parse(chunk: bytes, read: dict[str, Any], tokens: list[str] | None) -> Any:
    """`chunk` parsed by polars: without the missing-value words where `_plain_tokens` allows."""
    import polars as pl

    if tokens is not None:
        try:
            return pl.read_csv(chunk, **(read | {"null_values": None}))
        except pl.exceptions.ComputeError:   # a word in a number column: parsed with the words
            pass
    return pl.read_csv(chunk, **read)


def _missing_as_null(frame: Any, tokens: list[str]) -> Any:
    """A range parsed by `_parse` as polars would have parsed it with the missing-value words
    (a range parsed with them is unchanged): NaN as null, text equal to a word as null."""
    import polars as pl

    floats = [name for name, kind in frame.schema.items() if kind == pl.Float64]
    found = frame.select(pl.col(floats).is_nan().any()).row(0) if floats else ()
    with_nan = [name for name, nan in zip(floats, found) if nan]
    text = [name for name, kind in frame.schema.items() if kind == pl.String] if tokens else []
    if not with_nan and not text:
        return frame
    return frame.with_columns([pl.col(name).fill_nan(None) for name in with_nan] +
                              [pl.when(pl.col(name).is_in(tokens)).then(None).otherwise(pl.col(name)).alias(name)
                               for name in text])


def _range(data: mmap.mmap, start: int, size: int, fd: int) -> tuple[int, bytes]:
    """The next range of whole records from `start`: its end and its bytes. It ends at a line
    break after an even number of quote characters (CSV's doubled quotes count twice), so never
    inside a quoted field. The bytes are read with os.pread, which lets go of the GIL: a slice of
    the map copies them, page faults and all, holding it (up to 180 ms a range, stalling the
    window's event loop that long: bench_gui)."""
    end = data.find(b"\n", min(start + RANGE_BYTES, size) - 1)
    end = size if end < 0 else end + 1
    chunk = os.pread(fd, end - start, start)
    quotes = count_byte(chunk, _QUOTE) if b'"' in chunk else 0
    while quotes % 2 and end < size:   # a line break inside quotes: take lines until they close
        after = data.find(b"\n", end)
        after = size if after < 0 else after + 1
        more = data[end:after]
        quotes += more.count(b'"')
        chunk += more
        end = after
    return end, chunk


def count_byte(chunk: bytes, byte: int, piece: int = COUNT_BYTES) -> int:
    """How many times `byte` occurs in `chunk` (numpy: bytes.count takes three times as long), a
    piece of `piece` bytes at a time: numpy holds the GIL through each comparison, and a whole
    range at once held it 40-200 ms, stalling the window's event loop that long (bench_gui)."""
    raw = np.frombuffer(chunk, np.uint8)
    return sum(int(np.count_nonzero(raw[i:i + piece] == byte)) for i in range(0, len(raw), piece))


def _whole_rows(chunk: bytes, frame: Any, delimiter: str) -> bool:
    """Whether every record polars parsed from `chunk` into `frame` had all its fields.

    polars raises on a record with too many fields but fills one with too few with nulls (a blank
    line too). So a last column without nulls says every record was whole; else the delimiters
    outside quotes are counted: (width - 1) per record, exactly."""
    if frame.get_column(frame.columns[-1]).null_count() == 0:
        return True
    expected = int((frame.width - 1) * frame.height)
    mark = ord(delimiter)
    if b'"' not in chunk:
        return count_byte(chunk, mark) == expected
    raw = np.frombuffer(chunk, np.uint8)
    quotes = np.flatnonzero(raw == _QUOTE)
    delimiters = np.flatnonzero(raw == mark)
    return int(np.count_nonzero(np.searchsorted(quotes, delimiters) % 2 == 0)) == expected


def _release(data: mmap.mmap, released: int, upto: int) -> int:
    """Drop the parsed range's pages from this process (a mapped file's pages count in its RSS)."""
    upto -= upto % mmap.PAGESIZE
    if upto > released and hasattr(data, "madvise"):
        data.madvise(mmap.MADV_DONTNEED, released, upto - released)
        return upto
    return released


def _as_pyarrow_types(table: pa.Table, head_types: list[pa.DataType]) -> pa.Table | None:
    """polars' columns in the types pyarrow gives: text as `string`, and the columns pyarrow
    types itself (booleans, dates, timestamps, all-empty) converted by pyarrow's rules; None
    where a value past the head would have made pyarrow type the column otherwise."""
    columns = []
    for column, kind in zip(table.columns, head_types):
        if pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
            column = column.cast(pa.string())
        if pa.types.is_null(kind):
            if column.null_count != len(column):
                return None
            column = pa.chunked_array([pa.nulls(len(column))])
        elif pa.types.is_boolean(kind):
            column = _booleans(column)
            if column is None:
                return None
        elif pa.types.is_date32(kind) or pa.types.is_timestamp(kind):
            try:
                column = pc.cast(column, kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _booleans(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Text as pyarrow's CSV reader makes booleans of it (UDL's true and false words), or None
    when some value is neither."""
    true = pc.is_in(column, pa.array(TRUE_VALUES))
    false = pc.is_in(column, pa.array(FALSE_VALUES))
    if (pc.sum(pc.or_(true, false)).as_py() or 0) != len(column) - column.null_count:
        return None
    return pc.if_else(pc.is_null(column), pa.scalar(None, pa.bool_()), true)
