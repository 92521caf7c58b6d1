"""Delimited text (CSV, TSV, semicolon, pipe): sniffed on a sample, then one pyarrow read.

The dialect (encoding, delimiter, header, decimal comma) comes from the first 256 KiB;
the whole file is then parsed once by `pyarrow.csv` with those options, so no Python runs
per row except for the rows with the wrong number of fields, which are quarantined.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from udl_core.errors import ConfigError, CorruptFileError, EmptyDatasetError, UnsupportedFormatError
from udl_core.events import Progress
from udl_core.formats.encoding import TextEncoding, decode_sample, detect_encoding
from udl_core.formats.registry import readers, register_reader
from udl_core.table import BadRecord, ReadOptions, Table

__all__ = [
    "CSV_EXTENSIONS",
    "Dialect",
    "detect_dialect",
    "iter_record_batches",
    "read_delimited",
    "sniff_delimited",
]

CSV_EXTENSIONS = (".csv", ".tsv", ".tab", ".psv", ".txt", ".dat")
COMPRESSED_EXTENSIONS = tuple(f"{e}{z}" for e in (".csv", ".tsv", ".txt") for z in (".gz", ".bz2", ".zst"))
# Compressed text is recognised by its container's magic bytes, whatever the file is called.
_COMPRESSION_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))
SAMPLE_BYTES = 256 * 1024
STREAM_SAMPLE_BYTES = 8 << 20
# Ties in consistency go to the delimiter least likely to appear inside values.
_DELIMITERS = ("\t", ";", "|", ",")
_DELIMITER_NAMES = {"\t": "tab", ";": "semicolon", "|": "pipe", ",": "comma"}
_TRUE = ["true", "True", "TRUE", "yes", "Yes", "YES"]
_FALSE = ["false", "False", "FALSE", "no", "No", "NO"]
_NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(rf"\s*{_NUMBER}\s*")
_DOT_DECIMAL_RE = re.compile(r"\s*[+-]?\d*\.\d+\s*")
_COMMA_DECIMAL_RE = re.compile(r"\s*[+-]?\d*,\d+\s*")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")
_INT_RE = re.compile(r"\s*[+-]?\d+\s*")


@dataclass(frozen=True)
class Dialect:
    """What the sample says about a delimited file."""

    encoding: TextEncoding
    compression: str | None         # "gzip", "bz2", "zstd", or None for plain text
    delimiter: str
    header: bool
    names: tuple[str, ...]
    header_lines: int              # physical lines the header record spans (0 without one)
    names_given: bool              # we name the columns (no header, or a header of another width)
    decimal_comma: bool
    quoted_newlines: bool
    has_nul: bool
    numeric_text: tuple[int, ...]  # columns whose sample values are numbers padded or comma-decimal

    def describe(self) -> str:
        header = "a header row" if self.header else "no header row"
        packed = f", {self.compression}-compressed" if self.compression else ""
        return f"{_DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated, {header}{packed}"


def compression_of(head: bytes) -> str | None:
    """The compression container `head` starts with, if any."""
    for magic, name in _COMPRESSION_MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_text_stream(path: Path, compression: str | None) -> pa.NativeFile:
    """The file's bytes, decompressed where it is compressed (never guessed from the name)."""
    return pa.input_stream(str(path), compression=compression)


def _inflate_head(head: bytes, compression: str) -> bytes:
    """As much of a compressed head as decompresses (empty when it does not)."""
    try:
        with pa.input_stream(pa.BufferReader(head), compression=compression) as stream:
            return stream.read(len(head) * 4)
    except (pa.ArrowException, OSError, ValueError):
        pass
    if compression == "gzip":  # a head cut mid-stream: zlib gives what it has
        try:
            return zlib.decompressobj(wbits=31).decompress(head, len(head) * 4)
        except zlib.error:
            return b""
    return b""


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
        inner = _inflate_head(head, compression)
        return named or (bool(inner) and detect_encoding(inner) is not None and inner.lstrip()[:1] not in b"[{")
    if detect_encoding(head) is None:
        return named
    return True


def _read_sample(path: Path, size: int = SAMPLE_BYTES) -> tuple[bytes, bool, str | None]:
    """The first `size` bytes of text (decompressed), whether that is all, and the compression."""
    compression = None
    try:
        with open(path, "rb") as handle:
            compression = compression_of(handle.read(4))
        with open_text_stream(path, compression) as stream:
            sample = stream.read(size + 1)
    except (OSError, pa.ArrowException, ValueError) as exc:
        what = f"a damaged {compression} file" if compression else "unreadable"
        raise CorruptFileError(path, f"is {what} ({_first_line(exc)})") from None
    return sample[:size], len(sample) <= size, compression


def _records(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # one huge field must not stop the sniff
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"'))
    except csv.Error:  # the sniff is best effort; pyarrow's parse is what counts
        rows = [line.split(delimiter) for line in text.splitlines()]
    finally:
        csv.field_size_limit(limit)
    rows = [row for row in rows if row]
    if not complete and len(rows) > 1:
        rows.pop()  # the sample may end inside the last record
    return rows


def _sniff_delimiter(text: str, complete: bool) -> str:
    best, best_score = ",", (-1.0, 0)
    for delimiter in _DELIMITERS:
        if delimiter not in text:
            continue
        counts = [len(row) for row in _records(text[:65536], delimiter, complete)]
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (round(hits / len(counts), 2), 0)
        if score > best_score:  # strict: earlier delimiters win ties
            best, best_score = delimiter, score
    return best


def _kind(token: str, missing: frozenset[str]) -> str:
    if token.strip() in missing:
        return "missing"
    if _NUMBER_RE.fullmatch(token):
        return "number"
    if token.strip() in _TRUE or token.strip() in _FALSE:
        return "bool"
    if _DATE_RE.fullmatch(token.strip()):
        return "date"
    return "text"


def _has_header(rows: list[list[str]], missing: frozenset[str]) -> bool:
    """First row all non-numeric while the rows below hold typed values => a header."""
    first = [_kind(token, missing) for token in rows[0]]
    if "number" in first:
        return False
    header_votes = data_votes = 0
    for j, kind in enumerate(first):
        below = Counter(
            _kind(row[j], missing) for row in rows[1:200] if j < len(row)
        )
        below.pop("missing", None)
        if not below:
            continue
        typical = below.most_common(1)[0][0]
        if kind == "text" and typical != "text":
            header_votes += 1
        elif kind != "text" and kind != "missing" and kind == typical:
            data_votes += 1
    if header_votes:
        return True
    return not data_votes  # all text: assume a header, as most files have one


def _unique_names(raw: list[str], width: int) -> tuple[str, ...]:
    names: list[str] = []
    seen: set[str] = set()
    for i in range(width):
        name = raw[i].strip() if i < len(raw) else ""
        name = name or f"column_{i + 1}"
        candidate, n = name, 2
        while candidate in seen:
            candidate, n = f"{name}_{n}", n + 1
        seen.add(candidate)
        names.append(candidate)
    return tuple(names)


def _numeric_text_columns(rows: list[list[str]], width: int, delimiter: str, decimal_comma: bool,
                          missing: frozenset[str]) -> tuple[int, ...]:
    """Columns pyarrow will leave as text but that hold numbers (padded, or mixed decimals).

    In a comma-separated file a quoted "1,234" is more likely a thousands separator than a
    decimal comma, so there such columns stay text.
    """
    found = []
    for j in range(width):
        values = [row[j] for row in rows if j < len(row) and row[j].strip() not in missing]
        if not values or not all(_NUMBER_RE.fullmatch(v) for v in values):
            continue
        if delimiter == "," and any("," in v for v in values):
            continue
        padded = any(v != v.strip() for v in values)
        comma = any("," in v for v in values)
        if padded or (comma and not decimal_comma) or (decimal_comma and any("." in v for v in values)):
            found.append(j)
    return tuple(found)


def detect_dialect(path: Path, options: ReadOptions) -> Dialect:
    """Encoding, delimiter, header and number style of `path`, from its first 256 KiB."""
    path = Path(path)
    head, complete, compression = _read_sample(path)
    if options.encoding:
        try:
            encoding = TextEncoding(options.encoding.lower())
            "".encode(encoding.codec)
        except LookupError:
            raise UnsupportedFormatError(path, f"unknown encoding {options.encoding!r}") from None
    else:
        detected = detect_encoding(head, complete)
        if detected is None:
            raise UnsupportedFormatError(path, "looks like binary data, not text")
        encoding = detected
    text = decode_sample(head, encoding)
    has_nul = "\x00" in text
    text = text.replace("\x00", "")
    if not text.strip():
        raise EmptyDatasetError(path, "holds only blank lines")
    if options.delimiter is not None and len(options.delimiter) != 1:
        raise ConfigError(f"the delimiter must be one character, not {options.delimiter!r}")
    delimiter = options.delimiter or _sniff_delimiter(text, complete)
    rows = _records(text, delimiter, complete)
    missing = frozenset(options.missing_values)
    header = options.header if options.header is not None else _has_header(rows, missing)
    body = rows[1:] if header else rows
    width = Counter(len(row) for row in (body or rows)).most_common(1)[0][0]
    names_given = not header
    if header:
        header_lines = 1 + sum(field.count("\n") for field in rows[0])
        # A header one name short (a pandas index) would make every row "malformed".
        names_given = len(body) >= 2 and width != len(rows[0])
        if not names_given:
            width = len(rows[0])
        raw = rows[0] if width >= len(rows[0]) else rows[0][:width]
        names = _unique_names([""] * (width - len(raw)) + raw, width) if names_given else \
            _unique_names(rows[0], width)
    else:
        names = tuple(f"column_{i + 1}" for i in range(width))
        header_lines = 0
    tokens = [token for row in body[:2000] for token in row]
    decimal_comma = delimiter != "," and any(_COMMA_DECIMAL_RE.fullmatch(t) for t in tokens) and not any(
        _DOT_DECIMAL_RE.fullmatch(t) for t in tokens
    )
    quoted_newlines = any("\n" in token or "\r" in token for row in rows for token in row)
    return Dialect(
        encoding=encoding,
        compression=compression,
        delimiter=delimiter,
        header=header,
        names=names,
        header_lines=header_lines,
        names_given=names_given,
        decimal_comma=decimal_comma,
        quoted_newlines=quoted_newlines,
        has_nul=has_nul,
        numeric_text=_numeric_text_columns(body[:2000], width, delimiter, decimal_comma, missing),
    )


def _arrow_options(
    dialect: Dialect,
    options: ReadOptions,
    on_invalid: Callable[[pacsv.InvalidRow], str],
    *,
    threads: bool,
    encoding: str | None = None,
    column_types: dict[str, pa.DataType] | None = None,
    block_size: int | None = None,
) -> dict:
    codec = encoding or dialect.encoding.codec
    if codec == "utf-8":
        codec = "utf8"  # pyarrow's own name: no transcoding, and it skips a UTF-8 BOM
    elif dialect.encoding.bom and codec.startswith("utf-16"):
        codec = "utf-16"  # Python's codec that consumes the BOM
    read = pacsv.ReadOptions(
        use_threads=threads,
        encoding=codec,
        column_names=list(dialect.names) if dialect.names_given else None,
        skip_rows=dialect.header_lines if dialect.names_given else 0,
        block_size=block_size,
    )
    if column_types is not None:  # streaming: names fixed by us, header lines skipped
        read.column_names = [f"c{i}" for i in range(len(dialect.names))]
        read.skip_rows = dialect.header_lines
    parse = pacsv.ParseOptions(
        delimiter=dialect.delimiter,
        newlines_in_values=dialect.quoted_newlines,
        invalid_row_handler=on_invalid,
    )
    convert = pacsv.ConvertOptions(
        null_values=list(options.missing_values),
        strings_can_be_null=True,
        true_values=_TRUE,
        false_values=_FALSE,
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


def _parse(path: Path, dialect: Dialect, options: ReadOptions, *, threads: bool,
           encoding: str | None = None) -> tuple[pa.Table, _Invalid]:
    invalid = _Invalid()
    with open_text_stream(path, dialect.compression) as source:
        table = pacsv.read_csv(
            source, **_arrow_options(dialect, options, invalid, threads=threads, encoding=encoding)
        )
    if invalid.rows and threads and any(n is None for n, _, _ in invalid.rows):
        # Threaded parsing does not know line numbers; only bad files pay for a second pass.
        return _parse(path, dialect, options, threads=False, encoding=encoding)
    return table, invalid


def _parse_with_fallbacks(path: Path, dialect: Dialect, options: ReadOptions
                          ) -> tuple[pa.Table, _Invalid, str]:
    """Parse once; fall back to CP1252 / Latin-1 where the sample's encoding fails later on."""
    encoding = dialect.encoding.codec
    tried: list[str] = []
    while True:
        tried.append(encoding)
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
        if invalid.rows and not dialect.quoted_newlines:
            # A quoted line break past the sample splits its row in two: retry allowing them.
            multiline = replace(dialect, quoted_newlines=True)
            retried, fewer = _parse(path, multiline, options, threads=True, encoding=encoding)
            if len(fewer.rows) < len(invalid.rows):
                table, invalid = retried, fewer
        return table, invalid, encoding


def _trimmed(column: pa.ChunkedArray, missing: list[str]) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.is_in(trimmed, pa.array(missing, pa.string())), None, trimmed)


def _numeric_from_text(column: pa.ChunkedArray, missing: list[str], delimiter: str
                       ) -> pa.ChunkedArray | None:
    """A string column of numbers (padded, or with decimal commas) as int64/float64, else None."""
    trimmed = _trimmed(column, missing)
    present = pc.drop_null(trimmed)
    number = _NUMBER.replace("[.,]", "[.]") if delimiter == "," else _NUMBER
    if len(present) == 0 or not pc.all(pc.match_substring_regex(present, f"^{number}$")).as_py():
        return None
    if pc.all(pc.match_substring_regex(present, r"^[+-]?\d+$")).as_py():
        return pc.cast(trimmed, pa.int64())
    return pc.cast(pc.replace_substring(trimmed, ",", "."), pa.float64())


def _normalise(table: pa.Table, dialect: Dialect, options: ReadOptions,
               numeric_text: bool = True) -> pa.Table:
    """Our column names, dates as timestamps, padded numbers as numbers, NUL bytes gone."""
    if table.num_columns == len(dialect.names):
        table = table.rename_columns(list(dialect.names))
    else:
        table = table.rename_columns(list(_unique_names(table.column_names, table.num_columns)))
    missing = list(options.missing_values)
    columns = []
    for j, column in enumerate(table.columns):
        kind = column.type
        if pa.types.is_date(kind):
            column = pc.cast(column, pa.timestamp("s"))
        elif pa.types.is_null(kind):
            column = column.cast(pa.string())
        elif pa.types.is_string(kind):
            if dialect.has_nul:
                column = pc.replace_substring(column, "\x00", "")
            if numeric_text and j in dialect.numeric_text:
                column = _numeric_from_text(column, missing, dialect.delimiter) or column
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def read_delimited(path: Path, options: ReadOptions) -> Generator[Progress, None, Table]:
    """Read a delimited text file into a Table (rows with the wrong field count quarantined)."""
    path = Path(path)
    dialect = detect_dialect(path, options)
    yield Progress("read", 0, None, f"parsing {path.name}: {dialect.describe()}")
    try:
        raw, invalid, encoding = _parse_with_fallbacks(path, dialect, options)
        table = _normalise(raw, dialect, options)
    except _ARROW_ERRORS as exc:
        raise CorruptFileError(path, f"cannot be parsed as delimited text ({_first_line(exc)})") from None
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
             f"delimiter: {_DELIMITER_NAMES.get(dialect.delimiter, repr(dialect.delimiter))}"]
    if dialect.compression:
        notes.append(f"compression: {dialect.compression}")
    if not dialect.header:
        notes.append(f"no header row: columns named column_1..column_{table.num_columns}")
    if dialect.decimal_comma:
        notes.append("decimal comma: numbers like 3,14 read as 3.14")
    if dialect.has_nul:
        notes.append("NUL bytes removed from text values")
    if bad:
        notes.append(f"{len(bad)} malformed rows skipped (see quarantine)")
    return Table(source=str(path), format="csv", columns=table, quarantine=bad, notes=notes)


register_reader(
    "csv", *CSV_EXTENSIONS, *COMPRESSED_EXTENSIONS, sniff=sniff_delimited, priority=200,
    description="delimited text (CSV, TSV)",
)(read_delimited)


def _encoding_label(detected: TextEncoding, used: str) -> str:
    if used == detected.codec:
        return detected.label
    return f"{used} (the first {SAMPLE_BYTES // 1024} KiB looked like {detected.codec})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _sample_types(path: Path, dialect: Dialect, options: ReadOptions) -> tuple[list[pa.DataType], pa.Schema]:
    """Raw arrow types pyarrow infers on the first 8 MiB, and the schema after `_normalise`."""
    sample, complete, _ = _read_sample(path, STREAM_SAMPLE_BYTES)
    if not complete:
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
        if dialect.encoding.codec.startswith("utf-16") and len(sample) % 2:
            sample += b"\x00"  # keep the UTF-16 LE code unit whole
    arrow = _arrow_options(dialect, options, _Invalid(), threads=False)
    raw = pacsv.read_csv(io.BytesIO(sample), **arrow)
    types = [pa.string() if pa.types.is_null(t) else t for t in raw.schema.types]
    normalised = _normalise(raw, dialect, options)
    return types, normalised.schema


def iter_record_batches(
    path: str | Path,
    options: ReadOptions | None = None,
    batch_rows: int = 65536,
    quarantine: list[BadRecord] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream a delimited file as record batches of `batch_rows` rows (the last may be short).

    Column types are inferred on the first 8 MiB and then held fixed, so a value that does
    not fit them later on (a fraction in a column of integers) raises `CorruptFileError`.
    Skipped rows are appended to `quarantine` when one is given.
    """
    path = Path(path)
    options = options or ReadOptions()
    dialect = detect_dialect(path, options)
    invalid = _Invalid()
    rows = 0
    try:
        types, schema = _sample_types(path, dialect, options)
        column_types = {f"c{i}": t for i, t in enumerate(types)}
        arrow = _arrow_options(dialect, options, invalid, threads=False,
                               column_types=column_types, block_size=1 << 20)
        reader = pacsv.open_csv(open_text_stream(path, dialect.compression), **arrow)
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= batch_rows:
                joined = pa.Table.from_batches(pending)
                yield _to_batch(joined.slice(0, batch_rows), dialect, options, schema)
                rows += batch_rows
                rest = joined.slice(batch_rows)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            yield _to_batch(pa.Table.from_batches(pending), dialect, options, schema)
            rows += pending_rows
    except _ARROW_ERRORS as exc:
        raise CorruptFileError(
            path, f"cannot be streamed after {rows} rows ({_first_line(exc)})"
        ) from None
    bad = invalid.records(path)
    if quarantine is not None:
        quarantine.extend(bad)
    if bad and len(bad) / (rows + len(bad)) > options.max_bad_fraction:
        raise CorruptFileError(
            path, f"{len(bad)} of {rows + len(bad)} rows are malformed (first: {bad[0].location})"
        )


def _to_batch(part: pa.Table, dialect: Dialect, options: ReadOptions, schema: pa.Schema) -> pa.RecordBatch:
    table = _normalise(part, dialect, options, numeric_text=False)
    missing = list(options.missing_values)
    columns = []
    for j, field in enumerate(schema):
        column = table.column(j)
        if column.type != field.type:  # numbers that the full read pulls out of padded text
            column = pc.cast(pc.replace_substring(_trimmed(column, missing), ",", "."), field.type)
        columns.append(column)
    return pa.table(columns, schema=schema).combine_chunks().to_batches()[0]
