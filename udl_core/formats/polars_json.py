"""The polars fast path for plain UTF-8 JSON Lines: the same raw table as pyarrow.json's read.

polars parses JSON Lines about twice as fast as pyarrow (2M records x 33 keys, 861 MB, 2 cores:
about 10 vs 18 CPU seconds), but it types a column by its first rows and, given a schema, drops
keys that are not in it. So the schema is the one pyarrow infers on the file's head, and every
range is checked after parsing; anything polars cannot match hands the file back to pyarrow
(the function returns None): a value that does not parse as its column's type (pyarrow would
widen the column, or quarantine the line), a key that is not in the head, a nested value, a
malformed line, a key or value with escapes.

A key not in the head is found by counting: each key's value is a colon outside strings, so the
colons of a range must equal the values polars read, plus the explicit nulls (`null` tokens),
plus the colons inside text values (and the same for `null` inside text). A key absent from the
head whose values are all null goes unseen; pyarrow would add it as an empty column, which the
schema drops as empty, so the tensors are the same.

The file is read RANGE_BYTES at a time at line ends, as polars_csv.py does, with a `Progress`
event of the bytes read between ranges. polars refuses nesting past its depth limit with an
error, not a crash, so no depth check runs before it (jsonfmt.py checks it on the pyarrow path).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from udl_core.events import Progress
from udl_core.formats import polars_csv

__all__ = ["read_lines_with_polars"]

HEAD_BYTES = 1 << 20
_COLON = ord(":")


def _polars_type(kind: pa.DataType) -> Any:   # a polars type, or None
    import polars as pl

    if kind == pa.int64():
        return pl.Int64
    if kind == pa.float64():
        return pl.Float64
    if kind == pa.bool_():
        return pl.Boolean
    if pa.types.is_string(kind) or pa.types.is_null(kind) or pa.types.is_timestamp(kind):
        return pl.String
    return None


def _head_schema(data: mmap.mmap) -> pa.Schema | None:
    head = data[:HEAD_BYTES]
    if len(data) > HEAD_BYTES:
        head = head[:head.rfind(b"\n") + 1]
    try:
        return pajson.read_json(pa.BufferReader(head)).schema
    except (pa.ArrowException, ValueError):
        return None


def read_lines_with_polars(path: Path) -> Generator[Progress, None, pa.Table | None]:
    """The raw table pyarrow.json would read from a plain UTF-8 JSON Lines file, or None where
    polars cannot give the same (the caller reads the file with pyarrow)."""
    import polars as pl

    errors = (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError, RuntimeError)
    try:
        if Path(path).stat().st_size < polars_csv.FAST_BYTES:
            return None
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            head = _head_schema(data)
            if head is None or any(_polars_type(f.type) is None or any(c in f.name for c in ':"\\') or
                                   "null" in f.name for f in head):
                return None
            schema = {f.name: _polars_type(f.type) for f in head}
            text = [f.name for f in head if schema[f.name] == pl.String]
            size, start, parts, rows = len(data), 0, [], 0
            while start < size:
                end = data.find(b"\n", min(start + polars_csv.RANGE_BYTES, size) - 1)
                end = size if end < 0 else end + 1
                chunk = os.pread(handle.fileno(), end - start, start)   # lets go of the GIL; a slice of the map holds it
                if b"\\" in chunk:
                    return None   # escapes: text values differ from their bytes, the counts below would not add up
                frame = pl.read_ndjson(chunk, schema=schema)
                if not _every_key_read(chunk, frame, text):
                    return None
                # polars parses a JSON range into ~64 pieces (1,694 a column at 2M records, ~1,200
                # rows each), and each later pass over a column paid per piece: joined as CSV's are.
                parts.append(polars_csv.few_chunks(frame))
                rows += frame.height
                start = end
                # rows so far and an estimate of all of them; the bytes are exact
                yield Progress("read", rows, rows * size // start, f"read {rows:,} records "
                               f"({start / 2**20:,.0f} of {size / 2**20:,.0f} MiB)", bytes_done=start, bytes_total=size)
    except errors:
        return None
    if not parts:
        return None
    table = pl.concat(parts, how="vertical", rechunk=False).to_arrow()
    del parts
    return _as_pyarrow_types(table, head)


def _every_key_read(chunk: bytes, frame: Any, text: list[str]) -> bool:
    """Whether the colons outside strings (one per key read) match the values polars kept, and
    the brackets the records (one `{` each: polars writes a nested value into a text column as
    its JSON text, which pyarrow would not)."""
    import polars as pl

    colons = polars_csv.count_byte(chunk, _COLON)
    # "{" and "[" counted apart: one compare each is a quarter of the time of folding them
    # together (raw | 0x20 == "{": 76 ms a 32 MiB range, against 2 x 10 ms)
    openers = polars_csv.count_byte(chunk, ord("{")) + polars_csv.count_byte(chunk, ord("["))
    nulls = chunk.count(b"null")
    values = frame.width * frame.height - sum(frame.null_count().row(0))
    if text:
        def inside(pattern: str) -> pl.Expr:
            return pl.sum_horizontal([pl.col(c).str.count_matches(pattern, literal=True).sum() for c in text])

        # polars writes a nested value into a text column as its JSON text: a text value that
        # opens with a bracket may be one (pyarrow would not read it so), and goes to pyarrow
        nested = pl.any_horizontal([pl.col(c).str.contains(r"^\s*[\[{]").any() for c in text])
        counts = frame.select(inside(":"), inside("null").alias("n"), inside("{").alias("o"),
                              inside("[").alias("b"), nested.alias("nested")).row(0)
        if counts[4]:
            return False
        colons -= int(counts[0] or 0)
        nulls -= int(counts[1] or 0)
        openers -= int(counts[2] or 0) + int(counts[3] or 0)
    return bool(colons == values + nulls and openers == frame.height)


def _as_pyarrow_types(table: pa.Table, head: pa.Schema) -> pa.Table | None:
    columns = []
    for column, field in zip(table.columns, head):
        if pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
            column = column.cast(pa.string())
        if pa.types.is_null(field.type):
            if column.null_count != len(column):
                return None
            column = pa.chunked_array([pa.nulls(len(column))])
        elif pa.types.is_timestamp(field.type):
            try:
                column = pc.cast(column, field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        columns.append(column)
    return pa.table(columns, names=head.names)
