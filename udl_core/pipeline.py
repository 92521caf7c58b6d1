"""The load as a pipeline of values: read -> infer -> split -> fit -> transform.

Each step is a function of the values before it and returns a value (`Read`, `Schema`,
`Labelled`, `Preprocessor`, the two `Split`s); the long ones are generators that yield
`Progress` and `Notice` events on the way (docs/conventions.md, "Long jobs are generators").
Where the data lives is decided once, by `read`: `InMemory`, or `Spilled` to memory-mapped files
when it is over the memory budget (udl_core/streaming.py); every later step asks that storage
object, never "are we streaming?". `UnifiedDataLoader` (udl_core/loader.py) runs the steps
and keeps their values.

A warning about the data is yielded once, as a `Notice` at level "warning"; the loader keeps
its message in `loader.warnings`. The storage's own notice (where an over-budget dataset went)
is news about the machine, not about the data: `Read.notice`, not in `loader.warnings`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from udl_core.batching import Split
from udl_core.errors import MemoryBudgetError, UDLError
from udl_core.events import Notice, Progress
from udl_core.preprocess import Preprocessor
from udl_core.schema import Schema, count_labels, infer, table_slice
from udl_core.streaming import STREAMABLE, InMemory, Spilled, raw_width
from udl_core.table import BadRecord, ReadOptions, Table

if TYPE_CHECKING:
    from udl_core.formats.estimate import Estimate

__all__ = ["InferOptions", "Labelled", "Read", "estimate", "fit", "fitted_dim", "infer_schema", "read", "split",
           "transform"]

_LABEL_ROWS = 1 << 20
Events = Generator[Progress | Notice, None, object]


@dataclass(frozen=True)
class Read:
    """The raw table, where it lives, the size estimate and the storage's notice (if any)."""

    table: Table
    storage: InMemory
    estimate: object = None
    notice: Notice | None = None


@dataclass(frozen=True)
class InferOptions:
    label: str | None
    task: str
    ignore: tuple[str, ...]
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    max_categories: int


@dataclass(frozen=True)
class Labelled:
    """The seeded split of the labelled rows: sorted row ids and their encoded labels."""

    train_rows: np.ndarray
    val_rows: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray


def read(path: str, options: ReadOptions, label: str | None, owner: object, budget: int
         ) -> Generator[Progress | Notice, None, Read]:
    """The raw Table, read whole, or spilled to disk when over the memory budget (the spill
    folder belongs to `owner`: removed when it is collected)."""
    from udl_core.formats import find_reader, load_table

    estimate = _estimate(path, options, label)
    reader = find_reader(path).name
    streamable = reader in STREAMABLE and not options.labels_path
    if not getattr(estimate, "streamed", False):
        try:
            table = yield from load_table(path, options)
            _give_back_decoding_memory()
            return Read(table, InMemory(), estimate)
        except MemoryBudgetError:
            # The estimate extrapolates compressed text from a prefix; the read counts every
            # byte, and past the budget the file is streamed after all (or refused).
            if not streamable:
                raise
    name = Path(path).name
    if streamable or reader == "npy":
        storage = Spilled(owner, budget // 4)
        try:   # a failed or cancelled read leaves no spill folder behind
            return (yield from _spilled(path, reader, options, estimate, storage))
        except BaseException:
            storage.remove()
            raise
    yield Notice(f"{name} is larger than the memory budget ({estimate}), but {reader} files have no "
                 "streaming reader: it is read into memory", "warning")
    table = yield from load_table(path, options)
    return Read(table, InMemory(), estimate)


def _give_back_decoding_memory() -> None:
    """Arrow's allocator (mimalloc) keeps the pages a read decoded into for reuse; given back
    before the outputs are allocated, they are not counted twice at the peak (2M x 32 float32
    Parquet: the read's +504 MiB of RSS, 267 of them the table, falls to +410)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _spilled(path: str, reader: str, options: ReadOptions, estimate: Estimate, storage: Spilled
             ) -> Generator[Progress | Notice, None, Read]:
    from udl_core.formats import load_table
    from udl_core.streaming import spill_table

    name = Path(path).name
    if reader == "npy":
        notice = Notice(f"{name} is larger than the memory budget ({estimate}); it stays memory-mapped "
                        f"and its processed rows go to {storage.folder.path}", "warning")
        yield notice
        table = yield from load_table(path, options)
        for array in (table.features, table.labels):
            if array is not None:   # (an NPY without labels: nothing to watch)
                storage.folder.watch(array)
        return Read(table, storage, estimate, notice)
    notice = Notice(f"{name} is larger than the memory budget ({estimate}); it is streamed to a "
                    f"memory-mapped file in {storage.folder.path}", "warning")
    yield notice
    table = yield from spill_table(path, reader, options, storage.folder, estimate.rows)
    return Read(table, storage, estimate, notice)


def table_notices(table: Table) -> Generator[Notice, None, None]:
    """The reader's notes, then the skipped records in one warning."""
    for note in table.notes:
        yield Notice(note)
    if table.quarantine:
        yield Notice(_quarantine_line(table.quarantine), "warning")


def infer_schema(table: Table, storage: InMemory, options: InferOptions
                 ) -> Generator[Progress | Notice, None, Schema]:
    """The schema, inferred on the storage's sample of rows (classes counted on every row)."""
    yield Progress("schema", 0, 1, "inferring the schema")
    sample = storage.schema_sample(table)
    schema = infer(sample, label=options.label, task=options.task, ignore=options.ignore,
                   categorical=options.categorical, numeric=options.numeric,
                   max_categories=options.max_categories)
    if sample is not table:
        storage.release()   # the sample's pages, before the label column is read through
        schema = count_labels(table, schema)
        storage.release()
    if sample.num_rows < table.num_rows:
        note = (f"the column types were inferred on the first {sample.num_rows:,} of {table.num_rows:,} rows "
                "(the data is larger than the memory budget)")
        schema = replace(schema, warnings=(*schema.warnings, note))
    yield Progress("schema", 1, 1, f"label '{schema.label}', {schema.task}")
    for message in schema.warnings:
        yield Notice(message, "warning")
    return schema


def split(table: Table, schema: Schema, storage: InMemory, fraction: float, seed: int
          ) -> Generator[Notice, None, Labelled]:
    """The labels encoded a slice of rows at a time, then the seeded, stratified split of the
    rows that have one (rows without a label are dropped)."""
    labels = Preprocessor.labels_only(table, schema)
    parts = (labels.encode_labels(table_slice(table, i, i + _LABEL_ROWS))
             for i in range(0, table.num_rows, _LABEL_ROWS))
    y_all = storage.labels(parts, table.num_rows)
    train_rows, val_rows, y_train, y_val, notes = storage.split(y_all, schema.task, fraction, seed)
    del y_all
    for message in notes:
        yield Notice(message, "warning")
    return Labelled(train_rows, val_rows, y_train, y_val)


def fit(table: Table, schema: Schema, labelled: Labelled, storage: InMemory, max_categories: int, budget: int
        ) -> Generator[Progress | Notice, None, Preprocessor]:
    """The preprocessing, fitted on the training rows (the storage's share of them)."""
    train_rows = labelled.train_rows
    total = train_rows.size + labelled.val_rows.size
    yield Progress("preprocess", 0, total, f"fitting the preprocessing on {train_rows.size} training rows")
    fit_rows = storage.fit_rows(train_rows, budget, raw_width(table))
    fit_table = table_slice(table, 0, int(fit_rows[-1]) + 1) if fit_rows is not train_rows and fit_rows.size \
        else table
    # A load held in memory keeps the training rows' numbers the fit gathers: its transform
    # standardizes them where they lie (numeric_block.Staged).
    pre = Preprocessor.fit(fit_table, schema, fit_rows, max_categories=max_categories, stage=not storage.streamed)
    storage.release()
    if fit_rows.size < train_rows.size:
        pre.warnings.append(f"the preprocessing was fitted on the first {fit_rows.size:,} of "
                            f"{train_rows.size:,} training rows (the data is larger than the memory budget)")
    for message in pre.warnings:
        yield Notice(message, "warning")
    return pre


def transform(table: Table, pre: Preprocessor, labelled: Labelled, storage: InMemory
              ) -> Generator[Progress, None, tuple[Split, Split]]:
    """Both splits processed, each written once into its own array (heap or spill file)."""
    done = yield from storage.transform(table, pre, [(labelled.train_rows, labelled.y_train),
                                                     (labelled.val_rows, labelled.y_val)])
    (x_train, y_train, train_rows), (x_val, y_val, val_rows) = done
    return Split(x_train, y_train, train_rows), Split(x_val, y_val, val_rows)


def _estimate(path: str, options: ReadOptions, label: str | None) -> Estimate:
    return estimate(path, options, label=label)


WIDE_COLUMNS = 256   # past this many columns an all-numeric sample is counted, not fitted


def fitted_dim(sample: Table, label: str | None) -> int:
    """Features after preprocessing, from schema inference and a fit on the sample."""
    import pyarrow as pa

    from udl_core.formats.estimate import simple_dim

    columns = sample.columns
    if columns is not None and columns.num_columns > WIDE_COLUMNS and all(
            pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) for t in columns.schema.types):
        # a wide table of numbers: one feature a column (the label among them). Inference and a fit
        # cost ~1 ms a column here (1.6 s of `udl inspect` at 1,500), to drop a constant column or two.
        return max(int(columns.num_columns) - 1, 1)
    try:
        schema = infer(sample, label=label)
        return Preprocessor.fit(sample, schema).feature_dim
    except (UDLError, pa.ArrowException, OSError, ValueError):
        return simple_dim(sample)


def estimate(path: str | Path, options: ReadOptions | None = None, *, label: str | None = None) -> Estimate:
    """The size of `path` before it is loaded (formats/estimate.py), its feature width fitted on a sample."""
    from udl_core.formats.estimate import estimate as sized

    return sized(path, options, label=label, feature_dim=fitted_dim)


def _quarantine_line(records: list[BadRecord]) -> str:
    first = records[0]
    more = f" (first: {first.location}: {first.reason})"
    return f"{len(records)} malformed record(s) were skipped{more}"
