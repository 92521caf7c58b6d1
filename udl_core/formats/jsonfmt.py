"""JSON: an array of records, an object of columns, or JSON Lines (one record per line).

JSON Lines are parsed in one go by pyarrow.json (which types every block and widens across
them), or by polars where it gives the same table (polars_json.py); a JSON document by polars.
Only when that fails does a line-by-line pass find the malformed lines of a JSON Lines file,
quarantine them, and parse the rest. Nested values (lists, objects) become JSON-encoded text
columns; ISO date strings become timestamps.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from udl_core.dates import parse_text_dates
from udl_core.errors import CorruptFileError, EmptyDatasetError, UnsafeInputError, UnsupportedFormatError
from udl_core.events import Progress
from udl_core.formats.bounded import check_file_size
from udl_core.formats.columnar import normalise_types
from udl_core.formats.encoding import decode_sample, detect_encoding
from udl_core.formats.inputs import DATE_PATTERN, READ_ERRORS, polars_errors
from udl_core.formats.polars_json import read_lines_with_polars
from udl_core.formats.registry import read_table, register_reader, register_sizer
from udl_core.formats.sampling import SIZE_SAMPLE_BYTES, Sized, head_lines, scaled
from udl_core.table import BadRecord, ReadOptions, Table
from udl_core.temporal import temporal_notes, utc_column

if TYPE_CHECKING:
    import polars as pl

__all__ = ["MAX_DEPTH", "line_records", "nesting_depth", "read_json", "sniff_json"]

LINES_EXTENSIONS = (".jsonl", ".ndjson", ".jsonlines")


def _polars_may_panic(data: bytes) -> bool:
    """Whether a key may hold a NUL: polars then panics handing its columns to arrow, and Rust
    prints the panic to stderr before Python can catch it, so such text skips polars."""
    return b"\\u0000" in data or b"\x00" in data


MAX_DEPTH = 256
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_CHUNK = 16 << 20
# pyarrow.json blocks of 4 MiB (not 1 MiB): a quarter of the per-block typing and merging, ~25% faster.
_BLOCK = 4 << 20
_QUOTE, _BACKSLASH = 0x22, 0x5C


def nesting_depth(data: bytes) -> int:
    """How deep lists and objects nest in JSON text (brackets inside strings not counted).

    Vectorised over 16 MiB chunks: a bracket is inside a string when an odd number of
    unescaped quotes come before it (a quote after a backslash counts as escaped; an
    escaped backslash right before a quote is rare enough to be miscounted).
    """
    deepest = depth = 0
    inside = False
    for start in range(0, len(data), _CHUNK):
        end = min(start + _CHUNK, len(data))
        raw = np.frombuffer(data, np.uint8, count=end - start, offset=start)
        folded = raw | 0x20  # "[" -> "{" and "]" -> "}": two compares find all four
        brackets = np.flatnonzero((folded == 0x7B) | (folded == 0x7D))
        if not brackets.size:  # only the string state carries over
            unescaped = data.count(b'"', start, end) - data.count(b'\\"', start, end)
            inside ^= bool(unescaped % 2)
            continue
        quotes = np.flatnonzero(raw == _QUOTE)
        if quotes.size and data.find(b"\\", max(start - 1, 0), end) >= 0:
            escaped = quotes > 0
            escaped[escaped] = raw[quotes[escaped] - 1] == _BACKSLASH
            if start and quotes[0] == 0:
                escaped[0] = data[start - 1] == _BACKSLASH
            quotes = quotes[~escaped]
        in_string = (np.searchsorted(quotes, brackets) % 2 == 1) ^ inside
        step = np.where(folded[brackets] == 0x7B, 1, -1)
        step[in_string] = 0
        levels = depth + np.cumsum(step)
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
        inside ^= bool(quotes.size % 2)
    return deepest


def _may_nest_deeper(data: bytes, limit: int, lines: bool) -> bool:
    """A cheap bound first: no more than `limit` lists or objects opened (in any one line).

    JSON strings cannot hold a raw line break, so a JSON Lines record nests at most as
    deep as the brackets its line opens. Only data that fails this bound is measured exactly.
    """
    if not lines:
        return data.count(b"[") + data.count(b"{") > limit
    start = 0
    # Scratch buffers reused across chunks: fresh 16 MiB temporaries cost page faults each time.
    folded = np.empty(min(len(data), _CHUNK), np.uint8)
    hits = np.empty(folded.size, bool)
    while start < len(data):
        end = data.find(b"\n", min(start + _CHUNK, len(data)) - 1)
        end = len(data) if end < 0 else end + 1
        raw = np.frombuffer(data, np.uint8, count=end - start, offset=start)
        if raw.size > folded.size:   # a line running past the chunk
            folded, hits = np.empty(raw.size, np.uint8), np.empty(raw.size, bool)
        here, mask = folded[:raw.size], hits[:raw.size]
        np.equal(np.bitwise_or(raw, 0x20, out=here), 0x7B, out=mask)
        openers = np.flatnonzero(mask)
        if openers.size > limit:
            line_of = np.searchsorted(np.flatnonzero(np.equal(raw, 0x0A, out=mask)), openers)
            if np.bincount(line_of).max() > limit:
                return True
        start = end
    return False


def _text_head(head: bytes) -> str | None:
    encoding = detect_encoding(head)
    if encoding is None:
        return None
    return decode_sample(head, encoding).lstrip("\ufeff \t\r\n")


def sniff_json(path: Path, head: bytes) -> bool:
    """Text whose first non-blank character opens a JSON array or object."""
    text = _text_head(head)
    if not text:
        return False
    return text[0] in "[{"


def _is_lines(path: Path, text: str) -> bool:
    if path.name.lower().endswith(LINES_EXTENSIONS):
        return True
    if not text.startswith("{"):
        return False
    first, _, rest = text.partition("\n")
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        return False  # an object spread over several lines: one JSON document
    return bool(rest.strip())


def _utf8_bytes(path: Path) -> tuple[bytes, str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorruptFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    encoding = detect_encoding(data[:65536], complete=len(data) <= 65536)
    if encoding is None:
        raise UnsupportedFormatError(path, "looks like binary data, not JSON text")
    body = data[len(encoding.bom):]
    if encoding.is_utf8:
        return body, encoding.label
    try:
        return body.decode(encoding.codec).encode("utf-8"), encoding.label
    except UnicodeDecodeError as exc:
        raise CorruptFileError(path, f"is not valid {encoding.codec} text ({exc.reason})") from None


_STREAM_BYTES = 1 << 20   # plain UTF-8 JSON Lines this big are parsed straight from the file


class _Unbounded(Exception):
    """A line opens more lists and objects than the bound: measure the depth exactly."""


class _OpenerBound:
    """A binary file for pyarrow to read through: every block is checked before the parser
    sees it, and reading fails (`_Unbounded`) once one line opens more than `limit` lists or
    objects. The bytes checked are the bytes parsed, and the file is never held whole."""

    def __init__(self, handle: BinaryIO, limit: int) -> None:
        self._handle = handle
        self._limit = limit
        self._open = 0          # openers on the line that the last block ended inside
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        raw = np.frombuffer(data, np.uint8)
        openers = np.flatnonzero((raw | 0x20) == 0x7B)
        if openers.size + self._open <= self._limit:
            last = data.rfind(b"\n")
            self._open = self._open + openers.size if last < 0 else int(np.count_nonzero(openers > last))
            return data
        ends = np.flatnonzero(raw == 0x0A)
        per_line = np.bincount(np.searchsorted(ends, openers), minlength=ends.size + 1)
        per_line[0] += self._open
        if per_line.max() > self._limit:
            raise _Unbounded
        self._open = int(per_line[-1])
        return data

    def close(self) -> None:
        self.closed = True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def _plain_lines_encoding(path: Path) -> str | None:
    """The encoding label of a plain UTF-8 (no BOM) JSON Lines file of at least
    _STREAM_BYTES, which pyarrow can parse straight from the file; else None."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None   # a pipe cannot be read twice
            head = handle.read(65537)
            size = info.st_size
    except OSError:
        return None   # _utf8_bytes says why
    encoding = detect_encoding(head[:65536], complete=len(head) <= 65536)
    if encoding is None or not encoding.is_utf8 or encoding.bom or size < _STREAM_BYTES:
        return None
    text = head[:65536].decode("utf-8", errors="replace").lstrip()
    return encoding.label if text and _is_lines(path, text) else None


def _stream_lines(path: Path) -> tuple[pa.Table | None, bool]:
    """pyarrow's parse straight from the file, its nesting bounded block by block, and whether
    the parse itself failed. No table when a line may nest too deep (the whole-file path
    measures it) or the parse failed (the whole-file path quarantines line by line)."""
    try:
        with open(path, "rb") as handle:
            source = pa.PythonFile(_OpenerBound(handle, MAX_DEPTH), mode="r")
            return pajson.read_json(source, read_options=pajson.ReadOptions(block_size=_BLOCK)), False
    except (_Unbounded, OSError):
        return None, False
    except (pa.ArrowException, ValueError):
        return None, True


def _encode_nested(frame: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    import polars as pl

    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested() or dtype == pl.Object]
    if not nested:
        return frame
    notes.append(f"nested values kept as JSON text: {', '.join(nested)}")
    return frame.with_columns(
        pl.when(pl.col(name).is_null())
        .then(None)
        .otherwise(
            pl.struct(pl.col(name).alias("v")).struct.json_encode()
            .str.strip_prefix('{"v":').str.strip_suffix("}")
        )
        .alias(name)
        for name in nested
    )


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:   # past 1e308: as infinite as float64 gets (preprocessing makes it missing)
        return math.copysign(math.inf, value)


def _from_records(records: list[dict[str, Any]], notes: list[str]) -> pa.Table:
    """Records polars cannot type (a key holding numbers and text) as arrow, column by column."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = {}
    for name in names:
        values = [record.get(name) for record in records]
        kinds = {type(v) for v in values if v is not None}
        if int in kinds and kinds <= {int, float} and not all(
                _INT64_MIN <= v <= _INT64_MAX for v in values if type(v) is int):
            # JSON has one kind of number: past 64 bits it is read as JavaScript reads it.
            notes.append(f"column {name!r} holds integers beyond 64 bits: read as float64 (rounded)")
            columns[name] = pa.array([None if v is None else _as_float(v) for v in values], pa.float64())
        elif kinds <= {int, float} or kinds <= {bool} or kinds <= {str}:
            columns[name] = pa.array(values)
        else:
            notes.append(f"column {name!r} mixes kinds of value: kept as text")
            columns[name] = pa.array(
                [v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string()
            )
    return pa.table(columns)


def _finish(table: pa.Table, options: ReadOptions, notes: list[str] | None = None) -> pa.Table:
    """Shared types, missing-value tokens as nulls, ISO date strings as timestamps (with a zone
    or offset: as UTC, said in `notes`), other text dates as udl_core/dates.py reads them."""
    table = normalise_types(table, notes)
    zoned: list[str] = []
    missing = pa.array(list(options.missing_values), pa.string())
    columns: list[pa.ChunkedArray] = []
    for column in table.columns:
        if pa.types.is_string(column.type):
            column = pc.if_else(pc.is_in(column, missing), pa.scalar(None, pa.string()), column)
            head = pc.drop_null(column.slice(0, 1000))
            if len(head) and pc.all(pc.match_substring_regex(head, f"^{DATE_PATTERN.pattern}$")).as_py():
                column = _as_timestamps(column)
                if pa.types.is_timestamp(column.type) and column.type.tz is not None:
                    zoned.append(table.column_names[len(columns)])
                    column, _ = utc_column(column)   # four-digit years: always in range
        columns.append(column)
    # Other date forms (12/16/2005, Jan 1 2000, 1974Q1, ...): the readers' one detector.
    table, read_dates = parse_text_dates(pa.table(columns, names=table.column_names), options.missing_values,
                                        options.date_formats)
    if notes is not None:
        notes.extend(temporal_notes(zoned, {}) + read_dates)
    return table


def _as_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO date strings as timestamps: whole seconds or fractions, local or with a zone (UTC)."""
    for kind in (pa.timestamp("s"), pa.timestamp("s", "UTC"), pa.timestamp("us"), pa.timestamp("us", "UTC")):
        try:
            return pc.cast(column, kind)
        except pa.ArrowException:
            continue
    return column   # mixed styles, or not dates past the first 1000 rows: keep text


def _nested_as_text(table: pa.Table, notes: list[str]) -> pa.Table:
    """`table` with its list and struct columns JSON-encoded (by polars, vectorised)."""
    import polars as pl

    nested = [i for i, f in enumerate(table.schema) if pa.types.is_nested(f.type)]
    if not nested:
        return table
    # By position: polars renames columns it cannot name (an empty key, say), and panics on a NUL.
    part = table.select(nested)
    part = part.rename_columns([name.replace("\x00", "\ufffd") for name in part.column_names])
    encoded = _encode_nested(pl.from_arrow(part), notes).to_arrow()
    for k, i in enumerate(nested):
        table = table.set_column(i, table.schema.field(i).name, encoded.column(k))
    return table


def _frame_to_arrow(frame: pl.DataFrame, notes: list[str]) -> pa.Table:
    return _encode_nested(frame, notes).to_arrow()


def _read_document(path: Path, data: bytes, notes: list[str]) -> pa.Table:
    """One JSON document: an array of records, {"key": [records]}, or {"column": [values]}."""
    import polars as pl

    polars_ok = not _polars_may_panic(data)
    if polars_ok and data.lstrip().startswith(b"["):
        try:
            return _frame_to_arrow(pl.read_json(io.BytesIO(data), infer_schema_length=None), notes)
        except polars_errors():
            pass  # malformed, or records polars cannot type: the json module says which
    try:
        document = json.loads(data)
    except RecursionError:
        raise UnsafeInputError(path, "nests too deeply to parse") from None
    except ValueError as exc:
        where = (f"line {exc.lineno}, column {exc.colno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError)
                 else str(exc))
        raise CorruptFileError(path, f"is not valid JSON ({where})") from None
    if isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list)]
        if len(document) == 1 and lists and all(isinstance(r, dict) for r in lists[0]):
            notes.append(f"records read from the key {next(iter(document))!r}")
            document = lists[0]
        elif lists and len(lists) == len(document) and len({len(v) for v in lists}) == 1:
            notes.append("an object of columns")
            document = [dict(zip(document, row)) for row in zip(*document.values())]
        else:
            document = [document]
    if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
        raise CorruptFileError(path, "is JSON, but not a list of records (objects)")
    if not polars_ok:
        return _from_records(document, notes)
    try:
        return _frame_to_arrow(pl.DataFrame(document, infer_schema_length=None), notes)
    except polars_errors():
        return _from_records(document, notes)


def _read_lines(path: Path, data: bytes, options: ReadOptions, notes: list[str], arrow: bool = True
                ) -> tuple[pa.Table, list[BadRecord]]:
    import polars as pl

    try:
        if not arrow:   # pyarrow already failed on this file (streamed): straight to line by line
            raise ValueError
        # pyarrow types every block and widens across them (int -> double, new keys); polars
        # is faster only when it types the first rows alone, and then drops later keys.
        # 4 MiB blocks (not 1 MiB): a quarter of the per-block typing and merging, ~25% faster.
        table = pajson.read_json(pa.BufferReader(data), read_options=pajson.ReadOptions(block_size=_BLOCK))
        return _nested_as_text(table, notes), []
    except (pa.ArrowException, ValueError):
        pass  # some line is malformed, or a key changes kind: find out line by line
    good: list[bytes] = []
    records: list[dict[str, Any]] = []
    bad: list[BadRecord] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except RecursionError:
            bad.append(BadRecord(str(path), f"line {number}", "nests too deeply to parse"))
            continue
        except ValueError as exc:
            bad.append(BadRecord(str(path), f"line {number}", f"not valid JSON ({exc})"))
            continue
        if not isinstance(record, dict):
            bad.append(BadRecord(str(path), f"line {number}", "not a JSON object"))
            continue
        good.append(line)
        records.append(record)
    total = len(good) + len(bad)
    if bad and len(bad) / total > options.max_bad_fraction:
        raise CorruptFileError(
            path,
            f"{len(bad)} of {total} lines are malformed, more than the allowed "
            f"{options.max_bad_fraction:.0%} (first: {bad[0].location}, {bad[0].reason})",
        )
    if not records:
        return pa.table({}), bad
    if _polars_may_panic(data):
        return _from_records(records, notes), bad
    try:
        frame = pl.read_ndjson(io.BytesIO(b"\n".join(good)), infer_schema_length=None)
        return _frame_to_arrow(frame, notes), bad
    except polars_errors():
        return _from_records(records, notes), bad


@register_reader("json", ".json", *LINES_EXTENSIONS, sniff=sniff_json, priority=50,
                 description="JSON / JSON Lines")
def read_json(path: Path, options: ReadOptions) -> Generator[Progress, None, Table]:
    """Read a JSON array of records, an object of columns, or a JSON Lines file."""
    path = Path(path)
    plain = _plain_lines_encoding(path)
    # JSON has no streaming reader: past the budget it is refused before it is read. The peaks
    # measured: 5x the file for JSON Lines parsed by pyarrow, 21x for a document (polars, json).
    check_file_size(path, options, "a JSON file is read whole into memory", 6 if plain else 24)
    parse_failed = False
    if plain is not None:
        yield Progress("read", 0, None, f"parsing {path.name} as JSON Lines")
        table = yield from read_lines_with_polars(path)   # None where polars cannot read it as pyarrow does
        if table is None:
            table, parse_failed = _stream_lines(path)
        if table is not None:
            notes = [f"encoding: {plain}"]
            return _table(path, _nested_as_text(table, notes), True, [], notes, options)
    data, encoding = _utf8_bytes(path)
    text = data[:65536].decode("utf-8", errors="replace").lstrip()
    if not text:
        raise EmptyDatasetError(path, "holds only blank space")
    lines = _is_lines(path, text)
    depth = nesting_depth(data) if _may_nest_deeper(data, MAX_DEPTH, lines) else 0
    if depth > MAX_DEPTH:
        raise UnsafeInputError(
            path, f"nests lists or objects {depth} levels deep (limit {MAX_DEPTH}); refused, "
                  "as JSON parsers recurse once per level and would overflow the stack")
    if plain is None:
        yield Progress("read", 0, None, f"parsing {path.name} as {'JSON Lines' if lines else 'JSON'}")
    notes = [f"encoding: {encoding}"]
    bad: list[BadRecord] = []
    if lines:
        table, bad = _read_lines(path, data, options, notes, arrow=not parse_failed)
    else:
        table = _read_document(path, data, notes)
    return _table(path, table, lines, bad, notes, options)


def _table(path: Path, table: pa.Table, lines: bool, bad: list[BadRecord], notes: list[str],
           options: ReadOptions) -> Table:
    try:
        table = _finish(table, options, notes)
    except (pa.ArrowException, ValueError) as exc:
        raise CorruptFileError(path, f"has values UDL cannot type ({exc})") from None
    if bad:
        notes.append(f"{len(bad)} malformed lines skipped (see quarantine)")
    return Table(source=str(path), format="jsonl" if lines else "json", columns=table,
                 quarantine=bad, notes=notes)


@register_sizer("json")
def _size_json(path: Path, options: ReadOptions) -> Sized:
    sample, complete = head_lines(path)
    if complete or not sample.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        if complete or path.stat().st_size <= 8 * SIZE_SAMPLE_BYTES:
            table = read_table(path, options)
            assert table.columns is not None  # JSON is read as columns
            return Sized(table.num_rows, True, table.columns.nbytes, table)
        return _size_json_array(path)
    lines = [line for line in sample.splitlines() if line.strip()]
    columns = _lines_table(sample)
    if columns is None:  # some line is malformed or not a record: decode them one by one
        columns = _records_table(line_records(lines))
    rows, nbytes = scaled(path.stat().st_size, len(lines), len(sample), columns.nbytes, complete)
    return Sized(rows, False, nbytes, Table(str(path), "jsonl", columns=columns))


def _lines_table(sample: bytes) -> pa.Table | None:
    """The sample's JSON Lines typed by polars in one call (a third of json.loads per line
    plus a frame from the dicts); None when polars cannot read every line, or some line
    opens so many lists or objects that it might nest too deep for a native parser."""
    import polars as pl

    if _may_nest_deeper(sample, MAX_DEPTH, True):
        return None
    try:
        frame = pl.read_ndjson(io.BytesIO(sample), infer_schema_length=None)
        nested = [n for n, t in frame.schema.items() if t.is_nested()]
        return _finish(frame.drop(nested).rechunk().to_arrow(), ReadOptions())
    except (*READ_ERRORS, pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None


def line_records(lines: Iterable[str | bytes]) -> list[dict[str, Any]]:
    """The records among JSON Lines `lines`: each line that decodes to an object (others are skipped)."""
    records = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _records_table(records: list[dict[str, Any]]) -> pa.Table:
    import polars as pl  # on first use: its import is a quarter of the app's start-up

    try:
        frame = pl.DataFrame(records, infer_schema_length=None)
        nested = [n for n, t in frame.schema.items() if t.is_nested()]
        table = frame.drop(nested).to_arrow()
    except (*READ_ERRORS, pl.exceptions.PolarsError, pl.exceptions.PanicException):
        table = pa.table({})
    return _finish(table, ReadOptions())


def _size_json_array(path: Path) -> Sized:
    """A big JSON array: decode records from the first 1 MiB, scale by their mean size."""
    with open(path, "rb") as handle:
        text = handle.read(SIZE_SAMPLE_BYTES).decode("utf-8", errors="ignore")
    decoder = json.JSONDecoder()
    at = text.index("[") + 1
    records, consumed = [], 0
    while True:
        while at < len(text) and text[at] in " \t\r\n,":
            at += 1
        try:
            record, end = decoder.raw_decode(text, at)
        except ValueError:
            break
        if isinstance(record, dict):
            records.append(record)
        consumed, at = end, end
    columns = _records_table(records)
    size = path.stat().st_size
    if not records:  # the first record outgrows the sample: each is over SIZE_SAMPLE_BYTES, so at most this many
        return Sized(max(1, size // SIZE_SAMPLE_BYTES), False, size, Table(str(path), "json", columns=columns))
    rows, nbytes = scaled(size, len(records), max(consumed, 1), columns.nbytes, False)
    return Sized(rows, False, nbytes, Table(str(path), "json", columns=columns))
