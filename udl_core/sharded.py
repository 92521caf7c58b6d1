"""Sharded reading: each rank of a distributed run reads and preprocesses only its part of a file.

`load_shard` is the load of udl_core/pipeline.py for rank r of n (`World`), on its own rows:

1. read: rank r reads a contiguous run of the file's rows, rows [start, stop), and only the
   bytes that hold them (udl_core/formats/ranges.py: Parquet row groups, an NPY's rows, byte
   ranges of delimited text). Rank r's rows come before rank r+1's, so that `start` is the
   rows of the ranks before it (gathered). Delimited text that cannot be cut safely is read
   whole by every rank, each keeping its `row_range`, with a notice;
2. schema: inferred by every rank on the same head of the file (its first SAMPLE_ROWS rows, as a
   file streamed to disk is), and rank 0's is taken by all (gathered as `Schema.to_dict`) so it
   is identical everywhere; the classes and label counts are then counted over every row. Up to
   SAMPLE_ROWS rows (or read whole) that is a single process's schema; past them, the one a load
   streamed to disk infers (its column counts are the head's);
3. labels and split: every rank holds every row's label (each rank's label column, gathered)
   and makes the seeded, stratified split of pipeline.split on them, so the split is the one a
   single process makes; a rank's training and validation rows are those within its rows;
4. fit: `Preprocessor.fit(world=...)` over every rank's training rows, reduced across ranks
   (udl_core/shard_stats.py): the same preprocessing on every rank. Against one process fitting
   on the whole file: categories, bool modes, dropped constant columns and medians identical
   (the medians come from the same seeded sample, even past MEDIAN_ROWS); means and standard
   deviations equal up to float64 rounding: |difference| <= 1e-9 x max(1, |value|), as tested
   (measured: 1e-16 to 1e-14 relative); the processed rows then agree to float32 rounding (a
   single process over its memory budget fits on its first FIT_ROWS training rows only, the
   ranks on all of them);
5. transform: the rank's own training and validation rows, in memory (`Split.rows` are rows
   of the file).

A read that fails on one rank fails on every rank (the outcome is gathered before any other
collective call), so that no rank waits forever for another. A rank's part is held in memory
(no spilling to disk here): n ranks hold about 1/n of the file each.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from udl_core import pipeline
from udl_core.batching import Split
from udl_core.distributed import World, row_range
from udl_core.errors import DatasetError, UDLError
from udl_core.events import Notice, Progress
from udl_core.preprocess import Preprocessor
from udl_core.schema import Schema, count_labels, infer
from udl_core.streaming import SAMPLE_ROWS, InMemory
from udl_core.table import ReadOptions, Table
from udl_core.values import has_class_names, label_values, table_slice

__all__ = ["ShardLoad", "can_shard", "load_shard"]

_READ_ERRORS = (UDLError, pa.ArrowException, OSError, ValueError, UnicodeDecodeError, LookupError)
Events = Generator[Progress | Notice, None, object]


@dataclass(frozen=True)
class ShardLoad:
    """This rank's part of a sharded load (module doc)."""

    table: Table                  # rows [start, stop) of the file, every column
    start: int
    stop: int
    total_rows: int
    schema: Schema                # identical on every rank
    preprocessor: Preprocessor    # identical on every rank: fitted over every rank's training rows
    train: Split                  # this rank's training rows, processed; rows are rows of the file
    val: Split
    bytes_read: int               # bytes of the file this rank read for its rows
    train_counts: list[int]       # every rank's number of training rows, in rank order


def can_shard(path: str | Path) -> bool:
    """Whether each rank can read its own part of `path`: Parquet, NPY, and plain delimited text
    in an ASCII-compatible encoding whose head shows no quoted line breaks."""
    from udl_core.formats import find_reader
    from udl_core.formats.ranges import text_splits

    try:
        reader = find_reader(path).name
        if reader == "csv":
            text_splits(Path(path), ReadOptions())
            return True
    except _READ_ERRORS:
        return False
    return reader in ("parquet", "npy")


def load_shard(path: str | Path, options: ReadOptions, infer_options: pipeline.InferOptions, world: World,
               val_fraction: float, seed: int, max_categories: int
               ) -> Generator[Progress | Notice, None, ShardLoad]:
    """Rank `world.rank`'s rows of `path` read, split and preprocessed, the preprocessing fitted
    over every rank's training rows (module doc)."""
    path = Path(path)
    yield Progress("read", 0, None, f"reading the part of {path.name} for process {world.rank + 1} of {world.size}")
    table, head, bytes_read = yield from _read_part(path, options, world)
    counts = [int(c) for c in world.gather(table.num_rows)]
    start = sum(counts[:world.rank])
    stop, total = start + counts[world.rank], sum(counts)
    yield Progress("read", total, total, f"rows {start:,} to {stop:,} of {total:,} ({bytes_read:,} bytes)")
    for note in table.notes:
        yield Notice(note)
    schema = _schema(head, infer_options, world)
    labels = _all_labels(table, schema, world)
    if head.num_rows < total:
        schema = count_labels(labels, schema)
        schema = replace(schema, warnings=(*schema.warnings, f"the column types were inferred on the first "
                                           f"{head.num_rows:,} of {total:,} rows (each process reads its own rows)"))
    yield Progress("schema", 1, 1, f"label '{schema.label}', {schema.task}")
    for message in schema.warnings:
        yield Notice(message, "warning")
    labelled = yield from pipeline.split(labels, schema, InMemory(), val_fraction, seed)
    del labels
    mine = _within(labelled, start, stop)
    yield Progress("preprocess", 0, None, f"fitting the preprocessing over {world.size} processes")
    pre = Preprocessor.fit(table, schema, mine.train_rows, max_categories=max_categories, world=world)
    for message in pre.warnings:
        yield Notice(message, "warning")
    train, val = yield from pipeline.transform(table, pre, mine, InMemory())
    train, val = (Split(s.x, s.y, s.rows + start) for s in (train, val))
    train_counts = [int(c) for c in world.gather(len(train))]
    return ShardLoad(table, start, stop, total, schema, pre, train, val, bytes_read, train_counts)


def _read_part(path: Path, options: ReadOptions, world: World
               ) -> Generator[Progress | Notice, None, tuple[Table, Table, int]]:
    """This rank's rows, the file's head and the bytes read; a failure on any rank raised on all."""
    from udl_core.formats import find_reader
    from udl_core.formats.ranges import Part, TextNotSplit, npy_part, parquet_part, text_part

    reader = find_reader(path).name
    parts: dict[str, Callable[[Path, ReadOptions, int, int, int], Part]] = {
        "parquet": parquet_part, "npy": npy_part, "csv": text_part}
    if reader not in parts:
        raise DatasetError(path, f"{reader} files cannot be read in parts; read it whole")
    if options.labels_path and reader != "npy":   # a labels file joins rows of the whole table
        yield Notice(f"{path.name} is read whole by every process (its labels are in another file)", "warning")
        return (yield from _whole(path, options, world))
    error: BaseException | None = None
    try:
        part = parts[reader](path, options, world.rank, world.size, SAMPLE_ROWS)
    except _READ_ERRORS as exc:
        error = exc
    failed = world.gather(None if error is None else f"{type(error).__name__}: {error}")
    if reader == "csv":
        why = error if isinstance(error, TextNotSplit) else next((f for f in failed if f), None)
        if why is None:
            quotes = [int(q) for q in world.gather(part.quotes)]
            if any(sum(quotes[:r]) % 2 for r in range(1, world.size + 1)):
                why = "a cut between the processes' byte ranges falls inside a quoted field"
        if why is not None:
            yield Notice(f"{path.name} is read whole by every process ({why})", "warning")
            return (yield from _whole(path, options, world))
    if error is not None:
        raise error
    if any(failed):
        rank = next(r for r, f in enumerate(failed) if f)
        raise DatasetError(path, f"process {rank + 1} could not read its part ({failed[rank]})")
    return part.table, part.head, part.bytes_read


def _whole(path: Path, options: ReadOptions, world: World) -> Generator[Progress, None, tuple[Table, Table, int]]:
    """Every rank reads the file whole and keeps its `row_range` (the head: every row)."""
    from udl_core.formats import load_table

    table = yield from load_table(path, options)
    start, stop = row_range(table.num_rows, world.rank, world.size)
    return table_slice(table, start, stop), table, path.stat().st_size


def _schema(head: Table, options: pipeline.InferOptions, world: World) -> Schema:
    """The schema inferred on the head of the file, rank 0's taken by every rank."""
    schema = infer(head, label=options.label, task=options.task, ignore=options.ignore,
                   categorical=options.categorical, numeric=options.numeric, max_categories=options.max_categories)
    return Schema.from_dict(world.gather(schema.to_dict())[0])


def _all_labels(table: Table, schema: Schema, world: World) -> Table:
    """Every row's label, from every rank's rows (rank order is file order), as a one-column Table."""
    assert schema.label is not None   # inference always picks a label
    if has_class_names(table):   # arrays with a labels file of names: codes into the same class_names
        codes = np.asarray(table.labels)
        merged = world.gather_rows(codes).astype(codes.dtype)
        return replace(table, features=np.empty((merged.size, 0), np.float32), labels=merged)
    values = label_values(table, schema.label, [c.name for c in schema.columns])
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        numbers = np.asarray(values.fill_null(False if pa.types.is_boolean(kind) else 0)
                             .to_numpy(zero_copy_only=False))
        merged = world.gather_rows(numbers.astype(np.float64 if pa.types.is_floating(kind) else np.int64))
        mask = None
        if world.agree(values.null_count > 0):
            mask = ~world.gather_rows(np.asarray(values.is_valid().to_numpy(zero_copy_only=False))).astype(bool)
        full = pa.array(merged.astype(kind.to_pandas_dtype()), mask=mask, type=kind)
    else:
        full = pa.array([v for rank in world.gather(values.to_pylist()) for v in rank], type=kind)
    return Table(source=table.source, format=table.format, columns=pa.table({schema.label: full}))


def _within(labelled: pipeline.Labelled, start: int, stop: int) -> pipeline.Labelled:
    """The split's rows within [start, stop), as rows of this rank's table."""
    train = (labelled.train_rows >= start) & (labelled.train_rows < stop)
    val = (labelled.val_rows >= start) & (labelled.val_rows < stop)
    return pipeline.Labelled(labelled.train_rows[train] - start, labelled.val_rows[val] - start,
                             labelled.y_train[train], labelled.y_val[val])
