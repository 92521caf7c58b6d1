"""UnifiedDataLoader: read, infer the schema, split, preprocess, then batch.

    loader = UnifiedDataLoader("data.csv", batch_size=64, seed=0).load()
    len(loader)                 # training batches per epoch
    loader.get_batch(3)         # the same rows and tensors for the same seed, every time
    for batch in loader: ...    # this epoch's shuffled training batches, prefetched

`iter_load()` is the long job as a generator (docs/conventions.md, "Long jobs are generators"): it yields `Progress` and
`Notice` events and returns the loaded loader; `load()` just drains it. Rows whose label
is missing are dropped. The split is seeded and stratified by class; epoch `e` shuffles
the training rows with `np.random.default_rng((seed, e))`, so any batch of any epoch can
be fetched again on its own. Validation batches are never shuffled.
"""

from __future__ import annotations

import numbers

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from udl_core.batching import (
    FAULT_BYTES,
    Batch,
    ProcessedData,
    Split,
    check_batch_size,
    iter_batches,
    gather,
    split_rows,
)
from udl_core.errors import ConfigError, MemoryBudgetError
from udl_core.events import Notice, Progress, run_job
from udl_core.preprocess import Preprocessor, chunk_rows
from udl_core.schema import Schema, count_labels, infer, table_slice
from udl_core.streaming import (
    FIT_MIN_ROWS,
    FIT_ROWS,
    SAMPLE_ROWS,
    STREAMABLE,
    SpillFolder,
    block_shuffle,
    merge_splits,
    spill_rows,
    spill_table,
    stream_split,
)
from udl_core.table import DEFAULT_MISSING_VALUES, BadRecord, ReadOptions, Table
from udl_core.temporal import python_values
from udl_core.values import check_seed

__all__ = ["Batch", "ProcessedData", "Split", "UnifiedDataLoader", "take_rows"]

_LABEL_ROWS = 1 << 20
_SPLITS = ("train", "val")


class UnifiedDataLoader:
    """Batches of one dataset, from any format UDL reads (see the module doc).

    `path` may also be a `Table` already read (the loader then skips reading).
    """

    def __init__(
        self,
        path: str | Path | Table,
        label: str | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        val_fraction: float = 0.2,
        *,
        labels: str | Path | None = None,
        task: str = "auto",
        ignore: Iterable[str] = (),
        categorical: Iterable[str] = (),
        numeric: Iterable[str] = (),
        missing_values: Sequence[str] = DEFAULT_MISSING_VALUES,
        drop_last: bool = False,
        max_categories: int = 32,
        memory_budget: int | None = None,
        max_bad_fraction: float = 0.1,
        prefetch: int = 2,
        read_options: ReadOptions | None = None,
    ) -> None:
        self.path = path.source if isinstance(path, Table) else str(path)
        self._given_table = path if isinstance(path, Table) else None
        self.label = label
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = check_seed(seed)
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) \
                or not 0.0 <= float(val_fraction) < 1.0:
            raise ConfigError(f"val_fraction must be at least 0 and below 1, got {val_fraction!r}")
        self.val_fraction = float(val_fraction)
        if task not in ("auto", "classification", "regression"):
            raise ConfigError(f"task must be auto, classification or regression, got {task!r}")
        self.task_option = task
        self.labels_path = None if labels is None else str(labels)
        self.ignore, self.categorical, self.numeric = tuple(ignore), tuple(categorical), tuple(numeric)
        self.drop_last = bool(drop_last)
        if isinstance(max_categories, bool) or not isinstance(max_categories, int) or max_categories < 1:
            raise ConfigError(f"max_categories must be a positive integer, got {max_categories!r}")
        self.max_categories = max_categories
        if not 0.0 <= max_bad_fraction <= 1.0:
            raise ConfigError(f"max_bad_fraction must be between 0 and 1, got {max_bad_fraction!r}")
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ConfigError(f"prefetch must be a non-negative integer, got {prefetch!r}")
        self.prefetch = prefetch
        self.read_options = read_options or ReadOptions(
            labels_path=self.labels_path,
            missing_values=tuple(missing_values),
            max_bad_fraction=max_bad_fraction,
            memory_budget=memory_budget,
        )
        self.table: Table | None = None
        self.schema: Schema | None = None
        self.preprocessor: Preprocessor | None = None
        self.estimate = None
        self.train_data: Split | None = None
        self.val_data: Split | None = None
        self.warnings: list[str] = []
        self._processed: ProcessedData | None = None
        self._orders: dict[int, np.ndarray] = {}
        self._epoch = 0
        self.streamed = False
        self._spill: SpillFolder | None = None

    # options that may change after loading ----------------------------------------------
    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = check_batch_size(value)

    # loading ----------------------------------------------------------------------------
    def iter_load(self) -> Generator[Progress | Notice, None, UnifiedDataLoader]:
        """Read, infer, split and preprocess, yielding progress; returns `self`."""
        self.close()   # a reload: the last load's spill files go now, not when the loader is collected
        self.warnings = []
        self._processed = None
        self._orders = {}
        self._epoch = 0
        self.streamed = False
        if self._given_table is not None:
            table = self._given_table
        else:
            table = yield from self._read()
        self.table = table
        for note in table.notes:
            yield Notice(note)
        if table.quarantine:
            message = _quarantine_line(table.quarantine)
            self.warnings.append(message)
            yield Notice(message, "warning")

        yield Progress("schema", 0, 1, "inferring the schema")
        sample = table_slice(table, 0, SAMPLE_ROWS) if self.streamed else table
        schema = infer(sample, label=self.label, task=self.task_option, ignore=self.ignore,
                       categorical=self.categorical, numeric=self.numeric,
                       max_categories=self.max_categories)
        if sample is not table:
            self._spill.release()   # the sample's pages, before the label column is read through
            schema = count_labels(table, schema)
            self._spill.release()
        if sample.num_rows < table.num_rows:
            schema = replace(schema, warnings=schema.warnings + (
                f"the column types were inferred on the first {sample.num_rows:,} of {table.num_rows:,} rows "
                "(the data is larger than the memory budget)",))
        self.schema = schema
        yield Progress("schema", 1, 1, f"label '{schema.label}', {schema.task}")
        for message in schema.warnings:
            self.warnings.append(message)
            yield Notice(message, "warning")

        labels = Preprocessor.labels_only(table, schema)
        parts = (labels.encode_labels(table_slice(table, i, i + _LABEL_ROWS))
                 for i in range(0, table.num_rows, _LABEL_ROWS))
        if self.streamed:
            # Over the budget no per-row array stays on the heap: labels and split go to disk.
            y_all = spill_rows(parts, table.num_rows, self._spill, "labels")
            train_rows, val_rows, y_train, y_val, notes = stream_split(
                y_all, schema.task, self.val_fraction, self.seed, self._spill)
            del y_all
            self._spill.discard("labels")
        else:
            y_all = np.concatenate(list(parts))
            known = y_all >= 0 if schema.task == "classification" else ~np.isnan(y_all)
            train_rows, val_rows, notes = split_rows(np.flatnonzero(known), y_all[known], schema.task,
                                                     self.val_fraction, self.seed)
            y_train, y_val = np.ascontiguousarray(y_all[train_rows]), np.ascontiguousarray(y_all[val_rows])
        for message in notes:
            self.warnings.append(message)
            yield Notice(message, "warning")

        total = train_rows.size + val_rows.size
        yield Progress("preprocess", 0, total, f"fitting the preprocessing on {train_rows.size} training rows")
        fit_rows = train_rows[:_fit_limit(self.memory_budget, _raw_width(table))] if self.streamed else train_rows
        fit_table = table_slice(table, 0, int(fit_rows[-1]) + 1) if self.streamed and fit_rows.size else table
        pre = Preprocessor.fit(fit_table, schema, fit_rows, max_categories=self.max_categories)
        self.release_pages()
        if fit_rows.size < train_rows.size:
            pre.warnings.append(f"the preprocessing was fitted on the first {fit_rows.size:,} of "
                                f"{train_rows.size:,} training rows (the data is larger than the memory budget)")
        self.preprocessor = pre
        for message in pre.warnings:
            self.warnings.append(message)
            yield Notice(message, "warning")
        splits = yield from self._transform(table, pre, (train_rows, y_train), (val_rows, y_val))
        self.train_data, self.val_data = splits
        if self.num_batches("train") == 0:
            message = (f"the training split has {self.num_train} rows, fewer than one batch of "
                       f"{self.batch_size} with drop_last: there are no training batches")
            self.warnings.append(message)
            yield Notice(message, "warning")
        yield Progress("preprocess", total, total, f"{total} rows -> {pre.feature_dim} features")
        return self

    def _transform(self, table: Table, pre: Preprocessor, train: tuple[np.ndarray, np.ndarray],
                   val: tuple[np.ndarray, np.ndarray]) -> Generator[Progress, None, tuple[Split, Split]]:
        """Both splits (rows, y), processed: contiguous slices of the table are transformed
        (zero-copy, no arrow take) and each slice's rows scattered into their split (rows are sorted)."""
        (train_rows, y_train), (val_rows, y_val) = train, val
        total = train_rows.size + val_rows.size
        x_train = self._array("train_x.f32", (train_rows.size, pre.feature_dim), np.float32)
        x_val = self._array("val_x.f32", (val_rows.size, pre.feature_dim), np.float32)
        first = int(min(train_rows[:1].tolist() + val_rows[:1].tolist()))
        last = int(max(train_rows[-1:].tolist() + val_rows[-1:].tolist())) + 1
        step = chunk_rows(max(pre.feature_dim, _raw_width(table)))
        row_bytes = _raw_row_bytes(table) + 4 * pre.feature_dim + 16
        for start in range(first, last, step):
            stop = min(last, start + step)
            part = pre.transform(table_slice(table, start, stop))
            for rows, x in ((train_rows, x_train), (val_rows, x_val)):
                a, b = np.searchsorted(rows, [start, stop])
                x[a:b] = part[rows[a:b] - start]
            self.release_pages((stop - start) * row_bytes)
            done = int(np.searchsorted(train_rows, stop) + np.searchsorted(val_rows, stop))
            yield Progress("preprocess", done, total, f"processed {done:,} of {total:,} rows")
        return Split(x_train, y_train, train_rows), Split(x_val, y_val, val_rows)

    def _read(self) -> Generator[Progress | Notice, None, Table]:
        """The raw Table: read whole, or spilled to disk when over the memory budget."""
        from udl_core.formats import find_reader, load_table

        self.estimate = _estimate(self.path, self.read_options, self.label)
        reader = find_reader(self.path).name
        streamable = reader in STREAMABLE and not self.read_options.labels_path
        if not getattr(self.estimate, "streamed", False):
            try:
                return (yield from load_table(self.path, self.read_options))
            except MemoryBudgetError:
                # The estimate extrapolates compressed text from a prefix; the read counts every
                # byte, and past the budget the file is streamed after all (or refused).
                if not streamable:
                    raise
        name = Path(self.path).name
        if streamable:
            self.streamed = True
            self._spill = SpillFolder(self, self.memory_budget // 4)
            yield Notice(f"{name} is larger than the memory budget ({self.estimate}); it is streamed to a "
                         f"memory-mapped file in {self._spill.path}", "warning")
            return (yield from spill_table(self.path, reader, self.read_options, self._spill, self.estimate.rows))
        if reader == "npy":
            self.streamed = True
            self._spill = SpillFolder(self, self.memory_budget // 4)
            yield Notice(f"{name} is larger than the memory budget ({self.estimate}); it stays memory-mapped "
                         f"and its processed rows go to {self._spill.path}", "warning")
            table = yield from load_table(self.path, self.read_options)
            for array in (table.features, table.labels):
                self._spill.watch(array)
            return table
        else:
            message = (f"{name} is larger than the memory budget ({self.estimate}), but {reader} files have no "
                       "streaming reader: it is read into memory")
            self.warnings.append(message)
            yield Notice(message, "warning")
        return (yield from load_table(self.path, self.read_options))

    def _array(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """A new array: on the heap, or a memmap in the spill folder when streaming."""
        if self.streamed:
            return self._spill.array(name, shape, dtype)
        return np.empty(shape, dtype=dtype)

    def release_pages(self, touched: int | None = None) -> None:
        """Data over the memory budget: drop the resident pages of its memory-mapped spill files
        (and NPY input) from this process, at once, or once `touched` bytes more of them have been
        read or written since the last release than a quarter of the budget. A no-op otherwise.
        Code that walks the loader's arrays itself (e.g. all of `train_data.x`) calls it per chunk."""
        if self._spill is None:
            return
        if touched is None:
            self._spill.release()
        else:
            self._spill.touched(touched)

    def load(self) -> UnifiedDataLoader:
        """`iter_load` without the events."""
        return run_job(self.iter_load())

    def close(self) -> None:
        """Let go of the loaded data and delete the spill folder (data over the memory budget);
        also done when the loader is garbage-collected or at exit. `load()` may be called again."""
        self.train_data = self.val_data = self._processed = None
        self._orders = {}
        if self._spill is not None:
            self._spill.remove()
            self._spill = None

    def __enter__(self) -> UnifiedDataLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _loaded(self) -> None:
        if self.train_data is None:
            raise ConfigError("the loader has not loaded its data yet: call load() first")

    # what was loaded --------------------------------------------------------------------
    @property
    def memory_budget(self) -> int:
        """Bytes of data the loader may hold in memory: the `memory_budget` given, else
        $UDL_MEMORY_BUDGET, else a quarter of physical memory. Over it CSV and Parquet are
        streamed to disk; what cannot be streamed is refused (`MemoryBudgetError`)."""
        from udl_core.formats.bounded import memory_budget

        return memory_budget(self.read_options)

    @property
    def quarantine(self) -> list[BadRecord]:
        return list(self.table.quarantine) if self.table is not None else []

    @property
    def feature_names(self) -> list[str]:
        self._loaded()
        return self.preprocessor.feature_names

    @property
    def feature_dim(self) -> int:
        self._loaded()
        return self.preprocessor.feature_dim

    @property
    def task(self) -> str:
        self._loaded()
        return self.schema.task

    @property
    def classes(self) -> tuple[str, ...]:
        self._loaded()
        return self.schema.classes

    @property
    def num_classes(self) -> int:
        self._loaded()
        return self.preprocessor.num_classes

    @property
    def num_train(self) -> int:
        self._loaded()
        return len(self.train_data)

    @property
    def num_val(self) -> int:
        self._loaded()
        return len(self.val_data)

    @property
    def processed_data(self) -> ProcessedData:
        """Every labelled row, processed, in file order (built from the splits on first use)."""
        self._loaded()
        if self._processed is None and self.streamed:
            train, val = self.train_data, self.val_data
            x, y, rows = merge_splits((train.x, train.y, train.rows), (val.x, val.y, val.rows), self._spill)
            self._processed = ProcessedData(x, y, list(self.feature_names), rows)
        if self._processed is None:
            train, val = self.train_data, self.val_data
            rows = np.concatenate([train.rows, val.rows])
            order = np.argsort(rows, kind="stable")
            x = self._array("all_x.f32", (rows.size, self.feature_dim), np.float32)
            y = np.empty(rows.size, dtype=train.y.dtype)
            where = np.empty_like(order)
            where[order] = np.arange(order.size)
            x[where[:len(train)]] = train.x
            x[where[len(train):]] = val.x
            y[where[:len(train)]] = train.y
            y[where[len(train):]] = val.y
            self._processed = ProcessedData(x, y, list(self.feature_names), rows[order])
        return self._processed

    # batches ----------------------------------------------------------------------------
    def _split(self, split: str) -> Split:
        self._loaded()
        if split not in _SPLITS:
            raise ConfigError(f"split must be 'train' or 'val', got {split!r}")
        return self.train_data if split == "train" else self.val_data

    def num_batches(self, split: str = "train") -> int:
        n = len(self._split(split))
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __len__(self) -> int:
        return self.num_batches("train")

    def order(self, split: str = "train", epoch: int = 0) -> np.ndarray:
        """Positions into the split, in the order epoch `epoch` visits them."""
        data = self._split(split)
        if split != "train" or not self.shuffle:
            return np.arange(len(data))
        if epoch not in self._orders:
            if len(self._orders) >= 4:
                old = next(iter(self._orders))
                del self._orders[old]
                if self.streamed:
                    self._spill.discard(f"order-{old}.i64")
            rng = np.random.default_rng((self.seed, epoch))
            if self.streamed:
                # A bounded-buffer shuffle that reads a few blocks at a time, written to disk.
                out = self._spill.array(f"order-{epoch}.i64", (len(data),), np.int64)
                self._orders[epoch] = block_shuffle(len(data), rng, out=out, touched=self._spill.touched)
            else:
                self._orders[epoch] = rng.permutation(len(data))
        return self._orders[epoch]

    def _positions(self, split: str, epoch: int) -> np.ndarray | range:
        """`order()`, but a `range` where it is the identity (no per-row array to build)."""
        if split != "train" or not self.shuffle:
            return range(len(self._split(split)))
        return self.order(split, epoch)

    def get_batch(self, i: int, split: str = "train", epoch: int = 0) -> Batch:
        """Batch `i` of `split` in epoch `epoch`; its arrays are its own."""
        data = self._split(split)
        count = self.num_batches(split)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < count:
            span = f"{count} batches (0-{count - 1})" if count else "no batches"
            raise ConfigError(f"batch index {i} is out of range: this split has {span}")
        index = np.asarray(self._positions(split, epoch)[i * self.batch_size:(i + 1) * self.batch_size],
                           dtype=np.int64)
        touched = self._spill.touched if self._spill is not None else None
        return Batch(int(i), *gather(data, index, touched), self.feature_names, split, epoch, self.raw_rows)

    def batches(self, split: str = "train", epoch: int = 0, prefetch: bool = True) -> Iterator[Batch]:
        """Every batch of `split` for `epoch`, gathered ahead on a thread when `prefetch`."""
        data = self._split(split)
        return iter_batches(data, self._positions(split, epoch), self.batch_size, self.num_batches(split),
                            feature_names=self.feature_names, split=split, epoch=epoch,
                            prefetch=self.prefetch if prefetch else 0, raw_rows=self.raw_rows,
                            touched=self._spill.touched if self._spill is not None else None)

    def __iter__(self) -> Iterator[Batch]:
        """This epoch's training batches; each `iter()` starts the next epoch."""
        epoch = self._epoch
        self._epoch += 1
        return self.batches("train", epoch)

    # raw rows ---------------------------------------------------------------------------
    def raw_rows(self, rows: Sequence[int] | np.ndarray) -> dict[str, list]:
        """The raw values of Table rows `rows`: column -> list (arrays: one array per row)."""
        if self.table is None:
            raise ConfigError("the loader has not loaded its data yet: call load() first")
        table = self.table
        rows = np.asarray(rows, dtype=np.int64)
        if table.is_tabular:
            taken = take_rows(table.columns, rows, self.release_pages)
            return {name: python_values(column) for name, column in zip(taken.column_names, taken.columns)}
        out: dict[str, list] = {}
        features = np.asarray(table.features[rows])
        names = [c.name for c in self.schema.columns] if self.schema is not None else []
        if features.ndim == 2 and names and names[0] == "f0":
            for j in range(features.shape[1]):
                out[f"f{j}"] = features[:, j].tolist()
        else:
            out[names[0] if names else "features"] = list(features)
        if table.labels is not None:
            labels = np.asarray(table.labels[rows])
            name = self.schema.label if self.schema is not None else (table.label_name or "label")
            if table.class_names and labels.dtype.kind in "iu":
                out[name] = [table.class_names[k] for k in labels.tolist()]
            else:
                out[name] = labels.tolist()
        return out

    def __repr__(self) -> str:
        if self.train_data is None:
            return f"UnifiedDataLoader({self.path!r}, not loaded)"
        return (f"UnifiedDataLoader({self.path!r}, {self.num_train} train / {self.num_val} val rows, "
                f"{self.feature_dim} features, {self.task}, batch_size={self.batch_size})")


def take_rows(columns: pa.Table, rows: np.ndarray, touched: Callable[[int], object] | None = None) -> pa.Table:
    """`columns.take(rows)`, reading only the record batches that hold `rows`: a take over a
    table of many batches (a memory-mapped spill file) reads every page of it. `touched(bytes)`
    after each batch: a value read from a map maps in a fault's worth of pages around it."""
    batches = columns.to_batches()
    if len(batches) < 2 or not rows.size or rows.min() < 0 or rows.max() >= columns.num_rows:
        return columns.take(pa.array(rows))   # (out-of-range rows raise as they always did)
    starts = np.cumsum([0] + [batch.num_rows for batch in batches])
    which = np.searchsorted(starts, rows, side="right") - 1
    grouped = np.argsort(which, kind="stable")
    parts = []
    for k in np.unique(which):
        local = rows[grouped][which[grouped] == k] - starts[k]
        parts.append(batches[k].take(pa.array(local)))
        if touched is not None:
            touched(local.size * columns.num_columns * 2 * FAULT_BYTES)
    inverse = np.empty_like(grouped)
    inverse[grouped] = np.arange(grouped.size)
    return pa.Table.from_batches(parts, schema=columns.schema).take(pa.array(inverse))


def _fit_limit(budget: int, width: int) -> int:
    """Training rows a streamed load fits its preprocessing on: FIT_ROWS, fewer (not under
    FIT_MIN_ROWS) when their float64 values would pass an eighth of the memory budget, since the
    fit holds several float64 copies of a block of columns at once (~130 MiB at 200k x 16)."""
    return min(FIT_ROWS, max(FIT_MIN_ROWS, budget // (64 * max(1, width))))


def _raw_row_bytes(table: Table) -> int:
    """Bytes of one raw row, on average (what a slice of the mapped table touches)."""
    if not table.num_rows:
        return 0
    if table.is_tabular:
        return -(-table.columns.nbytes // table.num_rows)
    return int(np.prod(table.features.shape[1:])) * table.features.itemsize + 8


def _raw_width(table: Table) -> int:
    if table.is_tabular:
        return table.columns.num_columns
    return int(np.prod(table.features.shape[1:]))


def _estimate(path: str, options: ReadOptions, label: str | None):
    try:
        from udl_core.formats.estimate import estimate
    except ImportError:
        return None
    return estimate(path, options, label=label)


def _quarantine_line(records: list[BadRecord]) -> str:
    first = records[0]
    more = f" (first: {first.location}: {first.reason})"
    return f"{len(records)} malformed record(s) were skipped{more}"
