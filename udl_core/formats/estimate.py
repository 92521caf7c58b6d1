"""How big a dataset is before it is loaded: rows, bytes, and whether it fits in memory.

Columnar and array formats know their row counts from metadata (`exact`); text formats
are sampled (the first 1 MiB: rows ≈ file size / mean bytes per row). The feature width
comes from running schema inference and preprocessing on the sample, so one-hot columns
count by their sampled cardinality. Each reader family adds a sizer to `_SIZERS`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from udl_core.errors import CorruptFileError, UDLError
from udl_core.formats.bounded import default_memory_budget, format_size, memory_budget
from udl_core.formats.registry import find_reader, read_table
from udl_core.table import ReadOptions, Table

__all__ = ["Estimate", "Sized", "default_memory_budget", "estimate", "register_sizer"]

SAMPLE_BYTES = 1 << 20
SAMPLE_ROWS = 10_000
TEXT_PREFIX = 16 << 20   # compressed text: decompressed bytes read to learn its ratio
_ERRORS = (pa.ArrowException, OSError, ValueError)


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


@dataclass(frozen=True)
class Sized:
    """What a sizer learns: rows (and whether exact), raw bytes in memory, and a sample Table."""

    rows: int
    exact: bool
    in_memory_bytes: int
    sample: Table | None = None
    feature_dim: int | None = None  # when known without a sample (arrays)
    reading_bytes: int = 0          # held only while reading whole (a CSV's text and parsed blocks)


Sizer = Callable[[Path, ReadOptions], Sized]
_SIZERS: dict[str, Sizer] = {}


def register_sizer(reader_name: str) -> Callable[[Sizer], Sizer]:
    """Register the sizer for a reader (by its registry name)."""

    def decorate(sizer: Sizer) -> Sizer:
        _SIZERS[reader_name] = sizer
        return sizer

    return decorate


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _feature_dim(sample: Table, label: str | None) -> int:
    """Features after preprocessing, from schema inference and a fit on the sample."""
    from udl_core.preprocess import Preprocessor
    from udl_core.schema import infer

    columns = sample.columns
    if columns is not None and columns.num_columns > WIDE_COLUMNS and all(
            pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) for t in columns.schema.types):
        # a wide table of numbers: one feature a column (the label among them). Inference and a fit
        # cost ~1 ms a column here (1.6 s of `udl inspect` at 1,500), to drop a constant column or two.
        return max(columns.num_columns - 1, 1)
    try:
        schema = infer(sample, label=label)
        return Preprocessor.fit(sample, schema).feature_dim
    except (UDLError, *_ERRORS):
        return _simple_dim(sample)


WIDE_COLUMNS = 256   # past this many columns an all-numeric sample is counted, not fitted


def _simple_dim(sample: Table) -> int:
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


_LAST: list[tuple[tuple, Estimate]] = []   # the last estimate, by file, size, mtime and options


def estimate(path: str | Path, options: ReadOptions | None = None, *,
             label: str | None = None) -> Estimate:
    """Rows, sizes and whether `path` must be streamed, without reading big files whole.

    The last answer is kept for the same unchanged file and options: the window shows the
    estimate before the load starts, and the load asks again at once."""
    path = Path(path)
    options = options or ReadOptions()
    try:
        stat = path.stat()
        key: tuple | None = (str(path), stat.st_size, stat.st_mtime_ns, options, label, memory_budget(options))
        hash(key)
    except (OSError, TypeError):
        key = None
    if key is not None and _LAST and _LAST[0][0] == key:
        return _LAST[0][1]
    result = _estimate_uncached(path, options, label)
    if key is not None:
        _LAST[:] = [(key, result)]
    return result


def _estimate_uncached(path: Path, options: ReadOptions, label: str | None) -> Estimate:
    spec = find_reader(path)
    sizer = _SIZERS.get(spec.name, _by_reading)
    try:
        sized = sizer(path, options)
    except UDLError:
        raise
    except Exception:  # a sizer that trips over damaged metadata: the reader says what is wrong
        sized = _by_reading(path, options)
    dim = sized.feature_dim
    if dim is None:
        dim = _feature_dim(sized.sample, label) if sized.sample is not None else 1
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


def _by_reading(path: Path, options: ReadOptions) -> Sized:
    """Any format without a sizer: read it (fine for the small ones that lack one)."""
    table = read_table(path, options)
    raw = table.columns.nbytes if table.columns is not None else int(table.features.nbytes)
    return Sized(table.num_rows, True, raw, table)


def _head_lines(path: Path) -> tuple[bytes, bool]:
    """The first 1 MiB cut at a line end, and whether that is the whole file."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        complete = not handle.read(1)
    if not complete:
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
    return sample, complete


def _scaled(total_bytes: int, sample_rows: int, sample_bytes: int, sample_nbytes: int, complete: bool,
            overhead: int = 0) -> tuple[int, int]:
    if complete or sample_rows == 0:
        return sample_rows, sample_nbytes
    per_row = max(sample_bytes - overhead, 1) / sample_rows
    rows = round((total_bytes - overhead) / per_row)
    return rows, round(sample_nbytes * rows / sample_rows)


@register_sizer("csv")
def _size_delimited(path: Path, options: ReadOptions) -> Sized:
    from udl_core.formats.delimited import detect_dialect, parse_sample
    from udl_core.formats.dialect import read_sample

    dialect = detect_dialect(path, options)
    sample, complete, compression = read_sample(path, SAMPLE_BYTES)
    if complete:
        table = read_table(path, options)
        return Sized(table.num_rows, True, table.columns.nbytes, table)
    try:
        _, columns = parse_sample(sample, complete, dialect, options)
    except _ERRORS as exc:
        raise CorruptFileError(path, f"cannot be parsed as delimited text ({exc})") from None
    sample = sample[: sample.rfind(b"\n") + 1] or sample
    unit = 2 if dialect.encoding.codec.startswith("utf-16") else 1
    header = len(dialect.encoding.bom) + unit * len(
        dialect.delimiter.join(dialect.names)) + unit if dialect.header else 0
    text_bytes = _text_size(path, compression)
    rows, nbytes = _scaled(text_bytes, columns.num_rows, len(sample), columns.nbytes, complete, header)
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
    from udl_core.formats.columnar import open_input

    source = open_input(path)
    try:
        with pa.CompressedInputStream(source, compression) as stream:
            text = 0
            while text < TEXT_PREFIX and (chunk := stream.read(min(1 << 20, TEXT_PREFIX - text))):
                text += len(chunk)
            ended = not chunk or not stream.read(1)
            packed = source.tell()
    except _ERRORS:
        return size
    if ended:
        return text
    return round(size * text / max(packed, 1))


@register_sizer("json")
def _size_json(path: Path, options: ReadOptions) -> Sized:
    sample, complete = _head_lines(path)
    if complete or not sample.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        if complete or path.stat().st_size <= 8 * SAMPLE_BYTES:
            table = read_table(path, options)
            return Sized(table.num_rows, True, table.columns.nbytes, table)
        return _size_json_array(path)
    lines = [line for line in sample.splitlines() if line.strip()]
    columns = _lines_table(sample)
    if columns is None:  # some line is malformed or not a record: decode them one by one
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        columns = _records_table(records)
    rows, nbytes = _scaled(path.stat().st_size, len(lines), len(sample), columns.nbytes, complete)
    return Sized(rows, False, nbytes, Table(str(path), "jsonl", columns=columns))


def _lines_table(sample: bytes) -> pa.Table | None:
    """The sample's JSON Lines typed by polars in one call (a third of json.loads per line
    plus a frame from the dicts); None when polars cannot read every line, or some line
    opens so many lists or objects that it might nest too deep for a native parser."""
    from udl_core.formats.jsonfmt import MAX_DEPTH, _finish, _may_nest_deeper

    import polars as pl

    if _may_nest_deeper(sample, MAX_DEPTH, True):
        return None
    try:
        frame = pl.read_ndjson(io.BytesIO(sample), infer_schema_length=None)
        nested = [n for n, t in frame.schema.items() if t.is_nested()]
        return _finish(frame.drop(nested).rechunk().to_arrow(), ReadOptions())
    except (*_ERRORS, pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None


def _records_table(records: list[dict]) -> pa.Table:
    from udl_core.formats.jsonfmt import _finish

    import polars as pl  # on first use: its import is a quarter of the app's start-up

    try:
        frame = pl.DataFrame(records, infer_schema_length=None)
        nested = [n for n, t in frame.schema.items() if t.is_nested()]
        table = frame.drop(nested).to_arrow()
    except (*_ERRORS, pl.exceptions.PolarsError, pl.exceptions.PanicException):
        table = pa.table({})
    return _finish(table, ReadOptions())


def _size_json_array(path: Path) -> Sized:
    """A big JSON array: decode records from the first 1 MiB, scale by their mean size."""
    with open(path, "rb") as handle:
        text = handle.read(SAMPLE_BYTES).decode("utf-8", errors="ignore")
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
    if not records:  # the first record outgrows the sample: each is over SAMPLE_BYTES, so at most this many
        return Sized(max(1, size // SAMPLE_BYTES), False, size, Table(str(path), "json", columns=columns))
    rows, nbytes = _scaled(size, len(records), max(consumed, 1), columns.nbytes, False)
    return Sized(rows, False, nbytes, Table(str(path), "json", columns=columns))


@register_sizer("parquet")
def _size_parquet(path: Path, options: ReadOptions) -> Sized:
    from udl_core.formats.columnar import _open_parquet, normalise_types

    parquet = _open_parquet(path)
    meta = parquet.metadata
    try:
        first = next(parquet.iter_batches(batch_size=SAMPLE_ROWS), None)
    except _ERRORS as exc:
        raise CorruptFileError(path, f"is damaged ({exc})") from None
    sample = normalise_types(pa.Table.from_batches([first])) if first is not None else None
    if sample is None or sample.num_rows == 0:
        return Sized(meta.num_rows, True, 0, None)
    raw = round(sample.nbytes * meta.num_rows / sample.num_rows)  # decoded, not compressed, size
    return Sized(meta.num_rows, True, raw, Table(str(path), "parquet", columns=sample))


@register_sizer("arrow")
def _size_arrow(path: Path, options: ReadOptions) -> Sized:
    from udl_core.formats.columnar import ARROW_MAGIC, normalise_types, open_input
    from udl_core.formats.ipc_budget import check_ipc_budget

    with open(path, "rb") as handle:
        head = handle.read(8)
    if head[:6] != ARROW_MAGIC:
        return _by_reading(path, options)
    rows = raw = 0
    first: list[pa.RecordBatch] = []
    source = open_input(path, memory_map=True)
    # Arrow has no streaming reader here: compressed batches past the budget are refused
    # from their metadata, before the loop below expands any of them.
    check_ipc_budget(path, head, source, memory_budget(options))
    try:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)  # zero-copy unless compressed; one at a time either way
            rows, raw = rows + batch.num_rows, raw + batch.nbytes
            if sum(b.num_rows for b in first) < SAMPLE_ROWS:
                batch.validate(full=True)  # damaged offsets would crash the schema's kernels
                first.append(batch)
    except _ERRORS as exc:
        raise CorruptFileError(path, f"truncated or not an Arrow file ({exc})") from None
    sample = normalise_types(pa.Table.from_batches(first, schema=reader.schema).slice(0, SAMPLE_ROWS))
    return Sized(rows, True, raw, Table(str(path), "arrow", columns=sample))


def _size_array(path: Path, options: ReadOptions) -> Sized:
    from udl_core.formats.arrays import array_info

    try:
        info = array_info(path, options)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptFileError(path, f"cannot read its array header ({exc})") from None
    rows = int(info.shape[0]) if info.shape else 1
    dim = int(np.prod(info.shape[1:], dtype=np.int64)) if len(info.shape) > 1 else 1
    return Sized(rows, True, info.nbytes, None, feature_dim=dim)


_SIZERS.setdefault("npy", _size_array)
_SIZERS.setdefault("npz", _size_array)
