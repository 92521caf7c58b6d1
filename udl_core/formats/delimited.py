"""Delimited text (CSV, TSV, semicolon, pipe; plain or compressed): one pyarrow read.

The dialect comes from a sample (dialect.py); the whole file is then parsed once by
`pyarrow.csv` with those options, so no Python runs per row except for the rows with the
wrong number of fields, which are quarantined with their line numbers. Plain UTF-8 files
are parsed by polars instead where it gives the same table (polars_csv.py), about twice as fast.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from udl_core.dates import is_text_date, parse_as_field, parse_text_dates
from udl_core.errors import CorruptFileError, EmptyDatasetError
from udl_core.events import Progress
from udl_core.formats.bounded import BoundedReader, memory_budget
from udl_core.formats.columnar import rebatch
from udl_core.formats.dialect import (
    DELIMITER_NAMES,
    FALSE_VALUES,
    GROUPED,
    NUMBER,
    SAMPLE_BYTES,
    TRUE_VALUES,
    Dialect,
    detect_dialect,
    read_sample,
    unique_names,
)
from udl_core.formats.encoding import TextEncoding, detect_encoding
from udl_core.formats.inputs import READ_ERRORS, compression_of, first_line, inflate_head, open_input, open_text_stream
from udl_core.formats.polars_csv import fast_path_applies, read_with_polars
from udl_core.formats.registry import read_table, readers, register_reader, register_sizer
from udl_core.formats.sampling import SIZE_SAMPLE_BYTES, Sized, scaled
from udl_core.formats.whitespace import SEPARATOR, WHITESPACE, WhitespaceReader
from udl_core.table import BadRecord, ReadOptions, Table
from udl_core.temporal import temporal_notes, utc_columns

__all__ = [
    "COMPRESSED_EXTENSIONS",
    "CSV_EXTENSIONS",
    "Dialect",
    "arrow_options",
    "detect_dialect",
    "iter_record_batches",
    "parse_sample",
    "read_delimited",
    "sniff_delimited",
    "text_source",
    "to_batch",
]

CSV_EXTENSIONS = (".csv", ".tsv", ".tab", ".psv", ".txt", ".dat")
COMPRESSED_EXTENSIONS = tuple(f"{e}{z}" for e in (".csv", ".tsv", ".txt") for z in (".gz", ".bz2", ".zst"))
STREAM_SAMPLE_BYTES = 8 << 20


def _other_reader_claims(path: Path, head: bytes) -> bool:
    for spec in readers():
        if spec.name == "csv" or spec.folders or spec.sniff is None:
            continue
        try:
            if spec.sniff(path, head):
                return True
        except Exception:  # a sniff that trips over odd bytes just says no
            continue
    return False


def sniff_delimited(path: Path, head: bytes) -> bool:
    """Text that no more specific reader (JSON, Parquet, ...) claims.

    Binary content with a text extension is claimed too, so that the reader can refuse it
    with a message that says why, instead of "unknown format".
    """
    if _other_reader_claims(path, head):
        return False
    named = Path(path).name.lower().endswith(CSV_EXTENSIONS + COMPRESSED_EXTENSIONS)
    compression = compression_of(head)
    if compression:
        inner = inflate_head(head, compression)
        return named or (bool(inner) and detect_encoding(inner) is not None and inner.lstrip()[:1] not in b"[{")
    if detect_encoding(head) is None:
        return named
    return True


def arrow_options(
    dialect: Dialect,
    options: ReadOptions,
    on_invalid: Callable[[pacsv.InvalidRow], str] | None,
    *,
    threads: bool,
    encoding: str | None = None,
    column_types: dict[str, pa.DataType] | None = None,
    block_size: int | None = None,
) -> dict[str, Any]:
    codec = encoding or dialect.encoding.codec
    if _rewritten(dialect) and codec.startswith("utf-16"):
        codec = "utf-8"  # WhitespaceReader hands UTF-16 text on as UTF-8
    if codec == "utf-8":
        codec = "utf8"  # pyarrow's own name: no transcoding, and it skips a UTF-8 BOM
    elif dialect.encoding.bom and codec.startswith("utf-16"):
        codec = "utf-16"  # Python's codec that consumes the BOM
    read = pacsv.ReadOptions(
        use_threads=threads,
        encoding=codec,
        column_names=list(dialect.names) if dialect.names_given else None,
        skip_rows=dialect.skip_lines + (dialect.header_lines if dialect.names_given else 0),
        block_size=block_size if block_size is not None else wide_block_size(len(dialect.names)),
    )
    if column_types is not None:  # streaming: names fixed by us, header lines skipped
        read.column_names = [f"c{i}" for i in range(len(dialect.names))]
        read.skip_rows = dialect.skip_lines + dialect.header_lines
    parse = pacsv.ParseOptions(
        delimiter=SEPARATOR if _rewritten(dialect) else dialect.delimiter,
        newlines_in_values=dialect.quoted_newlines,
        invalid_row_handler=on_invalid,
    )
    convert = pacsv.ConvertOptions(
        null_values=list(options.missing_values),
        strings_can_be_null=True,
        true_values=TRUE_VALUES,
        false_values=FALSE_VALUES,
        decimal_point="," if dialect.decimal_comma else ".",
        column_types=column_types,
    )
    return dict(read_options=read, parse_options=parse, convert_options=convert)


class _Invalid:
    """Collects the rows pyarrow could not split into the right number of fields."""

    def __init__(self) -> None:
        self.rows: list[tuple[int | None, int, int]] = []

    def __call__(self, row: pacsv.InvalidRow) -> str:
        self.rows.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    def records(self, path: Path) -> list[BadRecord]:
        return [
            BadRecord(str(path), f"line {number}" if number else "unknown line",
                      f"expected {expected} fields, found {actual}")
            for number, expected, actual in self.rows
        ]


_ARROW_ERRORS = (pa.ArrowException, OSError, ValueError, UnicodeDecodeError, LookupError)


def wide_block_size(columns: int) -> int:
    """pyarrow's block (1 MiB by default) grown with the columns, so that a chunk holds about as
    many rows however wide the table: every later step costs per column *per chunk*, and
    8,000 x 1,500 read in 1 MiB blocks made 85 chunks of 94 rows (127,000 arrays), loaded at twice
    the CPU time of the same values at 80,000 x 150 (12 MiB blocks: the same time) (issue 10)."""
    return min(max(columns * (8 << 10), 1 << 20), 16 << 20)


def _parse(path: Path, dialect: Dialect, options: ReadOptions, *, threads: bool,
           encoding: str | None = None) -> tuple[pa.Table, _Invalid]:
    invalid = _Invalid()
    arrow = arrow_options(dialect, options, None if threads else invalid, threads=threads, encoding=encoding)
    if threads:
        # No Python row handler in the threaded reader: pyarrow releases it on a pool thread
        # after the read, which can abort the interpreter at exit ("terminate called without
        # an active exception"). Threaded parsing does not know line numbers either, so only
        # files with malformed rows pay for a second, serial pass that lists them.
        try:
            return _read_csv(path, dialect, arrow, _text_limit(options)), invalid
        except pa.ArrowInvalid as exc:
            if "Expected" not in str(exc) or "columns" not in str(exc):
                raise
        return _parse(path, dialect, options, threads=False, encoding=encoding)
    return _read_csv(path, dialect, arrow, _text_limit(options)), invalid


def _text_limit(options: ReadOptions) -> int:
    """The most decompressed text a whole read may take: a sixth of the budget, as pyarrow's
    parse holds the text's blocks, the parsed blocks and the table at once, and short rows
    ("0.5,0.5,1\n": 10 bytes of text, 24 of columns) peak at about 5x their text (measured:
    64 MiB of them, +340 MiB of RSS)."""
    return memory_budget(options) // 6


def _read_csv(path: Path, dialect: Dialect, arrow: dict[str, Any], limit: int) -> pa.Table:
    """One pyarrow read; a field longer than a block (1 MiB) gets bigger blocks, not an error.

    Compressed text is counted as it is decompressed and refused (`MemoryBudgetError`) past
    `limit`: its size was only extrapolated from a prefix, and a tail can pack 1000:1 (the
    loader then streams the file instead).
    """
    block = 1 << 26
    while True:
        try:
            with open_text_stream(path, dialect.compression) as source:
                if dialect.compression:
                    counted = BoundedReader(source, limit, path, f"the {dialect.compression}-compressed "
                                            "text decompresses, to be read into memory")
                    return pacsv.read_csv(text_source(counted, dialect), **arrow)
                return pacsv.read_csv(text_source(source, dialect), **arrow)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block > 1 << 30:
                raise
            arrow["read_options"].block_size = block
            block <<= 2


def _rewritten(dialect: Dialect) -> bool:
    """Whitespace-delimited text that pyarrow reads through `WhitespaceReader` (runs, tabs or
    padding in the sample; single spaces are read as they are, pyarrow's speed)."""
    return dialect.delimiter == WHITESPACE and not dialect.single_spaces


def text_source(source: pa.NativeFile | BoundedReader | io.BytesIO, dialect: Dialect
                 ) -> pa.NativeFile | io.BytesIO:
    """What pyarrow reads: the text itself, or for whitespace-delimited text its runs as tabs."""
    if not _rewritten(dialect):
        return pa.PythonFile(source, mode="r") if isinstance(source, BoundedReader) else source
    codec = dialect.encoding.codec
    if dialect.encoding.bom and codec.startswith("utf-16"):
        codec = "utf-16"  # consumes the BOM
    return pa.PythonFile(WhitespaceReader(cast(BinaryIO, source), codec), mode="r")


def _parse_with_fallbacks(path: Path, dialect: Dialect, options: ReadOptions
                          ) -> tuple[pa.Table, _Invalid, str]:
    """Parse once; fall back to CP1252 / Latin-1 where the sample's encoding fails later on."""
    encoding = dialect.encoding.codec
    while True:
        try:
            table, invalid = _parse(path, dialect, options, threads=True, encoding=encoding)
        except UnicodeDecodeError:
            if encoding != "cp1252" or options.encoding:
                raise
            encoding = "latin-1"
            continue
        has_binary = any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types)
        if has_binary and encoding == "utf-8" and not options.encoding:
            encoding = "cp1252"  # valid UTF-8 in the sample, not after it
            continue
        if invalid.rows and dialect.single_spaces:
            # A run of spaces (or padding) past the sample adds fields: read again, runs collapsed.
            dialect = replace(dialect, single_spaces=False)
            continue
        if invalid.rows and not dialect.quoted_newlines:
            # A quoted line break past the sample splits its row in two: retry allowing them.
            multiline = replace(dialect, quoted_newlines=True)
            retried, fewer = _parse(path, multiline, options, threads=False, encoding=encoding)
            if len(fewer.rows) < len(invalid.rows):
                table, invalid = retried, fewer
        return table, invalid, encoding


def _trimmed(column: pa.ChunkedArray, missing: list[str]) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.is_in(trimmed, pa.array(missing, pa.string())), None, trimmed)


def _numeric_from_text(column: pa.ChunkedArray, missing: list[str], dialect: Dialect
                       ) -> pa.ChunkedArray | None:
    """A string column of numbers (padded, decimal commas, 1.234,5 groups) as int64/float64, else None."""
    trimmed = _trimmed(column, missing)
    present = pc.drop_null(trimmed)
    if dialect.decimal_comma and len(present):
        grouped = pc.match_substring_regex(present, f"^(?:{GROUPED}|[+-]?\\d+(?:,\\d+)?)$")
        if pc.all(grouped).as_py():  # 1.234,5 and 12,5 alike: drop the dots, then a decimal comma
            trimmed = pc.replace_substring(trimmed, ".", "")
            present = pc.drop_null(trimmed)
    number = NUMBER.replace("[.,]", "[.]") if dialect.delimiter == "," else NUMBER
    if len(present) == 0 or not pc.all(pc.match_substring_regex(present, f"^{number}$")).as_py():
        return None
    if pc.all(pc.match_substring_regex(present, r"^[+-]?\d+$")).as_py():
        return pc.cast(trimmed, pa.int64())
    return pc.cast(pc.replace_substring(trimmed, ",", "."), pa.float64())


def _normalise(table: pa.Table, dialect: Dialect, options: ReadOptions,
               numeric_text: bool = True, notes: list[str] | None = None) -> pa.Table:
    """Our column names, dates as zone-free UTC timestamps (udl_core/temporal.py; said in
    `notes` when given), padded numbers as numbers, NUL bytes gone. With `numeric_text` (a
    whole read or a sample), text dates become timestamps too (udl_core/dates.py); streamed
    batches get the sample's types in `to_batch` instead."""
    if table.num_columns == len(dialect.names):
        table = table.rename_columns(list(dialect.names))
    else:
        table = table.rename_columns(list(unique_names(table.column_names, table.num_columns)))
    missing = list(options.missing_values)
    numeric_text_columns = set(dialect.numeric_text)   # a set: looked up once per column
    columns = []
    for j, column in enumerate(table.columns):
        kind = column.type
        if pa.types.is_date(kind):
            column = pc.cast(column, pa.timestamp("s"))
        elif pa.types.is_string(kind):
            if dialect.has_nul:
                column = pc.replace_substring(column, "\x00", "")
            if numeric_text and j in numeric_text_columns:
                column = _numeric_from_text(column, missing, dialect) or column
        columns.append(column)
    table, zoned, dropped = utc_columns(pa.table(columns, names=table.column_names))
    if notes is not None:
        notes.extend(temporal_notes(zoned, dropped))
    if numeric_text:
        table, read_dates = parse_text_dates(table, missing, options.date_formats)
        if notes is not None:
            notes.extend(read_dates)
    return table


@register_reader("csv", *CSV_EXTENSIONS, *COMPRESSED_EXTENSIONS, sniff=sniff_delimited, priority=200,
                 description="delimited text (CSV, TSV)")
def read_delimited(path: Path, options: ReadOptions) -> Generator[Progress, None, Table]:
    """Read a delimited text file into a Table (rows with the wrong field count quarantined)."""
    path = Path(path)
    dialect = detect_dialect(path, options)
    yield Progress("read", 0, None, f"parsing {path.name}: {dialect.describe()}")
    try:
        raw = None
        if fast_path_applies(path, dialect, options):
            raw = yield from read_with_polars(path, dialect, options, _head_types(path, dialect, options))
        if raw is None:
            raw, invalid, encoding = _parse_with_fallbacks(path, dialect, options)
        else:
            invalid, encoding = _Invalid(), dialect.encoding.codec
        temporal: list[str] = []
        table = _normalise(raw, dialect, options, notes=temporal)
    except _ARROW_ERRORS as exc:
        raise CorruptFileError(path, f"cannot be parsed as delimited text ({first_line(exc)})") from None
    bad = invalid.records(path)
    total = table.num_rows + len(bad)
    if bad and len(bad) / total > options.max_bad_fraction:
        raise CorruptFileError(
            path,
            f"{len(bad)} of {total} rows are malformed, more than the allowed "
            f"{options.max_bad_fraction:.0%} (first: {bad[0].location}, {bad[0].reason})",
        )
    if table.num_rows == 0:
        if dialect.header:
            raise EmptyDatasetError(path, "has a header but no data rows")
        raise EmptyDatasetError(path, "holds no data rows")
    notes = [f"encoding: {_encoding_label(dialect.encoding, encoding)}",
             f"delimiter: {DELIMITER_NAMES.get(dialect.delimiter, repr(dialect.delimiter))}"]
    if dialect.compression:
        notes.append(f"compression: {dialect.compression}")
    if dialect.preamble_lines:
        before = "header" if dialect.header else "data"
        notes.append(f"preamble: the first {dialect.preamble_lines} line(s), before the {before}, skipped")
    if not dialect.header:
        notes.append(f"no header row: columns named column_1..column_{table.num_columns}")
    if dialect.decimal_comma:
        notes.append("decimal comma: numbers like 3,14 read as 3.14")
    if dialect.has_nul:
        notes.append("NUL bytes removed from text values")
    notes.extend(temporal)
    if bad:
        notes.append(f"{len(bad)} malformed rows skipped (see quarantine)")
    return Table(source=str(path), format="csv", columns=table, quarantine=bad, notes=notes)


def _head_types(path: Path, dialect: Dialect, options: ReadOptions) -> list[pa.DataType]:
    """The column types pyarrow infers on the file's head (what the polars path parses as)."""
    sample, complete, _ = read_sample(path)
    raw, _ = parse_sample(sample, complete, dialect, options)
    return list(raw.schema.types)


def _encoding_label(detected: TextEncoding, used: str) -> str:
    if used == detected.codec:
        return detected.label
    return f"{used} (the first {SAMPLE_BYTES // 1024} KiB looked like {detected.codec})"


def parse_sample(sample: bytes, complete: bool, dialect: Dialect, options: ReadOptions
                 ) -> tuple[pa.Table, pa.Table]:
    """The first rows of a file (raw as pyarrow types them, and normalised), from its head bytes."""
    if not complete:
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
        if dialect.encoding.codec.startswith("utf-16") and len(sample) % 2:
            sample += b"\x00"  # keep the UTF-16 LE code unit whole
    arrow = arrow_options(dialect, options, _Invalid(), threads=False)
    raw = pacsv.read_csv(text_source(io.BytesIO(sample), dialect), **arrow)
    return raw, _normalise(raw, dialect, options)


def iter_record_batches(
    path: str | Path,
    options: ReadOptions | None = None,
    batch_rows: int = 65536,
    quarantine: list[BadRecord] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream a delimited file as record batches of `batch_rows` rows (the last may be short).

    Column types are inferred on the first 8 MiB (an eighth of the memory budget when that is
    less, at least 1 MiB: parsing the sample costs a few times its size) and then held fixed, so a
    value that does not fit them later on (a fraction in a column of integers) raises
    `CorruptFileError`. Skipped rows are appended to `quarantine` when one is given.
    """
    path = Path(path)
    options = options or ReadOptions()
    # A run of spaces past the sample cannot be read again mid-stream: always collapse runs.
    dialect = replace(detect_dialect(path, options), single_spaces=False)
    invalid = _Invalid()
    rows = 0
    try:
        sample_bytes = min(STREAM_SAMPLE_BYTES, max(1 << 20, memory_budget(options) // 8))
        sample, complete, _ = read_sample(path, sample_bytes)
        raw, first = parse_sample(sample, complete, dialect, options)
        schema = first.schema   # row names are the schema's to ignore (udl_core/label_rules.py)
        # A column empty in the sample may fill up later: streamed as text, not as nulls.
        schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema])
        column_types = {f"c{i}": pa.string() if pa.types.is_null(t) else t
                        for i, t in enumerate(raw.schema.types)}
        arrow = arrow_options(dialect, options, invalid, threads=False,
                               column_types=column_types, block_size=1 << 20)
        with open_text_stream(path, dialect.compression) as source:
            for batch in rebatch(pacsv.open_csv(text_source(source, dialect), **arrow), batch_rows):
                yield to_batch(pa.Table.from_batches([batch]), dialect, options, schema)
                rows += batch.num_rows
    except _ARROW_ERRORS as exc:
        raise CorruptFileError(path, _stream_failure(exc, rows, dialect, sample_bytes)) from None
    bad = invalid.records(path)
    if quarantine is not None:
        quarantine.extend(bad)
    if bad and len(bad) / (rows + len(bad)) > options.max_bad_fraction:
        raise CorruptFileError(
            path, f"{len(bad)} of {rows + len(bad)} rows are malformed (first: {bad[0].location})"
        )


def _stream_failure(exc: BaseException, rows: int, dialect: Dialect, sample_bytes: int) -> str:
    message = first_line(exc)
    found = re.search(r"column #(\d+): (?:Row #(\d+): )?CSV conversion error to (\w+): invalid value '(.*)'",
                      message)
    if not found or int(found[1]) >= len(dialect.names):
        return f"cannot be streamed after {rows:,} rows ({message})"
    name, where = dialect.names[int(found[1])], f"line {found[2]}" if found[2] else f"after row {rows:,}"
    return (f"column {name!r} holds {found[4]!r} at {where}, but its first {sample_bytes / 2**20:g} MiB "
            f"are {found[3]}; a file this large is streamed with the types of its first rows")


def _as_type(column: pa.ChunkedArray, field: pa.Field, missing: list[str], dialect: Dialect) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return column.cast(field.type)
    if is_text_date(field):
        return pa.chunked_array([parse_as_field(column, field, missing)])
    numbers = _numeric_from_text(column, missing, dialect)
    if numbers is not None:
        return numbers.cast(field.type)
    if len(pc.drop_null(_trimmed(column, missing))) == 0:
        return pa.chunked_array([pa.nulls(len(column), field.type)])
    raise pa.ArrowInvalid(f"column {field.name!r} holds values that are not {field.type}")


def to_batch(part: pa.Table, dialect: Dialect, options: ReadOptions, schema: pa.Schema) -> pa.RecordBatch:
    """One streamed batch in the full read's schema (padded numbers converted the same way)."""
    table = _normalise(part, dialect, options, numeric_text=False)
    missing = list(options.missing_values)
    columns = []
    for field in schema:
        column = table.column(field.name)
        if column.type != field.type:  # numbers that the full read pulls out of text
            column = _as_type(column, field, missing, dialect)
        columns.append(column)
    return pa.table(columns, schema=schema).combine_chunks().to_batches()[0]


TEXT_PREFIX = 16 << 20   # compressed text: decompressed bytes read to learn its ratio


@register_sizer("csv")
def _size_delimited(path: Path, options: ReadOptions) -> Sized:
    dialect = detect_dialect(path, options)
    sample, complete, compression = read_sample(path, SIZE_SAMPLE_BYTES)
    if complete:
        table = read_table(path, options)
        assert table.columns is not None
        return Sized(table.num_rows, True, table.columns.nbytes, table)
    try:
        _, columns = parse_sample(sample, complete, dialect, options)
    except READ_ERRORS as exc:
        raise CorruptFileError(path, f"cannot be parsed as delimited text ({exc})") from None
    sample = sample[: sample.rfind(b"\n") + 1] or sample
    unit = 2 if dialect.encoding.codec.startswith("utf-16") else 1
    header = len(dialect.encoding.bom) + unit * len(
        dialect.delimiter.join(dialect.names)) + unit if dialect.header else 0
    text_bytes = _text_size(path, compression)
    rows, nbytes = scaled(text_bytes, columns.num_rows, len(sample), columns.nbytes, complete, header)
    # pyarrow's threaded parse holds the text's blocks and a parsed copy of the columns at its
    # peak (measured: 617 MiB of anonymous memory for 298 MB of text giving a 137 MiB table).
    return Sized(rows, False, nbytes, Table(str(path), "csv", columns=columns), reading_bytes=text_bytes + nbytes)


def _text_size(path: Path, compression: str | None) -> int:
    """Bytes of text in `path`: its size, or for compressed text, extrapolated from a prefix.

    At most `TEXT_PREFIX` bytes are decompressed (never the whole stream: 200 GB of zstd text
    would take hours); their ratio to the compressed bytes read scales the file's size. A
    file whose tail packs tighter than its head is caught by the reader, which counts what it
    decompresses against the budget.
    """
    size = path.stat().st_size
    if compression is None:
        return size
    source = open_input(path)
    try:
        with pa.CompressedInputStream(source, compression) as stream:
            text = 0
            while text < TEXT_PREFIX and (chunk := stream.read(min(1 << 20, TEXT_PREFIX - text))):
                text += len(chunk)
            ended = not chunk or not stream.read(1)
            packed = source.tell()
    except READ_ERRORS:
        return size
    if ended:
        return text
    return int(round(size * text / max(packed, 1)))
