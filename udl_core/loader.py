"""UnifiedDataLoader: read, infer the schema, split, preprocess, then batch.

    loader = UnifiedDataLoader("data.csv", batch_size=64, seed=0).load()
    len(loader)                 # training batches per epoch
    loader.get_batch(3)         # the same rows and tensors for the same seed, every time
    for batch in loader: ...    # this epoch's shuffled training batches, prefetched

`iter_load()` is the long job as a generator (docs/conventions.md, "Long jobs are generators"): it yields `Progress` and
`Notice` events and returns the loaded loader; `load()` just drains it. The loader is a facade
over the pipeline in udl_core/pipeline.py (read -> infer -> split -> fit -> transform, each step a
value) and keeps its values; where the data lives (heap or spill files) is the storage object the
read chose (udl_core/streaming.py), asked by every step that makes or walks an array. Rows whose label
is missing are dropped. The split is seeded and stratified by class; epoch `e` shuffles
the training rows with `np.random.default_rng((seed, e))`, so any batch of any epoch can
be fetched again on its own. Validation batches are never shuffled.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np
import pyarrow as pa

from udl_core import pipeline
from udl_core.batching import (
    FAULT_BYTES,
    prefetched,
    Batch,
    ProcessedData,
    Split,
    check_batch_size,
    gather,
    iter_batches,
)
from udl_core.distributed import LOCAL, World
from udl_core.errors import ConfigError
from udl_core.events import Notice, Progress, run_job
from udl_core.preprocess import Preprocessor
from udl_core.schema import Schema
from udl_core.streaming import InMemory, SpillFolder
from udl_core.table import DEFAULT_MISSING_VALUES, BadRecord, ReadOptions, Table
from udl_core.temporal import python_values
from udl_core.values import check_seed

__all__ = ["Batch", "ProcessedData", "Split", "UnifiedDataLoader", "take_rows"]

_SPLITS = ("train", "val")
_T = TypeVar("_T")


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
        world: World | None = None,
        shard: bool = False,
    ) -> None:
        self.path = path.source if isinstance(path, Table) else str(path)
        self._given_table = path if isinstance(path, Table) else None
        self.label = label
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = check_seed(seed)
        fraction: object = val_fraction   # checked as any value a caller may pass
        if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
                or not 0.0 <= float(fraction) < 1.0:
            raise ConfigError(f"val_fraction must be at least 0 and below 1, got {val_fraction!r}")
        self.val_fraction = float(fraction)
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
        self.estimate: object = None   # a formats.estimate.Estimate once read
        self.train_data: Split | None = None
        self.val_data: Split | None = None
        self.warnings: list[str] = []
        self._processed: ProcessedData | None = None
        self._orders: dict[int, np.ndarray] = {}
        self._epoch = 0
        self._storage: InMemory = InMemory()   # where the data lives: chosen once, by the read
        self.world = world or LOCAL
        if self.world.distributed and self.drop_last:
            raise ConfigError("drop_last is not used across several processes: every rank runs every row "
                              "(the last global batch may be shorter)")
        self.shard = bool(shard)
        self.sharded = False     # whether this rank holds only its part of the rows (set by the load)
        self.bytes_read = 0      # a sharded load: bytes of the file this rank read for its features
        self._counts: list[list[int]] = []   # a sharded load: every rank's [train, val] rows
        self._row_offset = 0     # a sharded load: the file row of this rank's first table row

    # options that may change after loading ----------------------------------------------
    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = check_batch_size(value)

    # loading ----------------------------------------------------------------------------
    @property
    def streamed(self) -> bool:
        """Whether the data is over the memory budget and lives in memory-mapped spill files."""
        return self._storage.streamed

    @property
    def _spill(self) -> SpillFolder | None:
        return self._storage.folder

    def iter_load(self) -> Generator[Progress | Notice, None, UnifiedDataLoader]:
        """Read, infer, split and preprocess (udl_core/pipeline.py), yielding progress; returns `self`."""
        self.close()   # a reload: the last load's spill files go now, not when the loader is collected
        self.warnings = []
        self._processed = None
        self._orders = {}
        self._epoch = 0
        self.sharded, self.bytes_read, self._counts, self._row_offset = False, 0, [], 0
        if self.shard and self.world.distributed:
            done = yield from self._load_shard()
            if done:
                return self
        if self._given_table is not None:
            read = pipeline.Read(self._given_table, InMemory())
        else:
            read = yield from self._step(pipeline.read(self.path, self.read_options, self.label, self,
                                                       self.memory_budget))
            if read.notice is not None:   # where the data went: news, not a warning about the data
                self.warnings.remove(read.notice.message)
        table, self._storage, self.estimate = read.table, read.storage, read.estimate
        self.table = table
        yield from self._step(pipeline.table_notices(table))
        options = pipeline.InferOptions(self.label, self.task_option, self.ignore, self.categorical, self.numeric,
                                        self.max_categories)
        self.schema = yield from self._step(pipeline.infer_schema(table, self._storage, options))
        labelled = yield from self._step(pipeline.split(table, self.schema, self._storage, self.val_fraction,
                                                        self.seed))
        self.preprocessor = yield from self._step(pipeline.fit(table, self.schema, labelled, self._storage,
                                                               self.max_categories, self.memory_budget))
        self.train_data, self.val_data = yield from self._step(
            pipeline.transform(table, self.preprocessor, labelled, self._storage))
        if self.num_batches("train") == 0:
            yield from self._step(iter([Notice(
                f"the training split has {self.num_train} rows, fewer than one batch of "
                f"{self.batch_size} with drop_last: there are no training batches", "warning")]))
        total = self.num_train + self.num_val
        yield Progress("preprocess", total, total, f"{total} rows -> {self.preprocessor.feature_dim} features")
        return self

    def _load_shard(self) -> Generator[Progress | Notice, None, bool]:
        """Each rank reads and preprocesses only its part of the file (udl_core/sharded.py); False
        (and a note) where the format cannot be split, and every rank reads the whole file."""
        import udl_core.sharded as sharded

        if self._given_table is not None or not sharded.can_shard(self.path):
            yield Notice(f"{Path(self.path).name}: reading in parts covers Parquet, NPY and plain delimited text "
                         "(no quoted line breaks); every process reads this dataset whole")
            return False
        ranks = self.world.size
        if self.batch_size % ranks:
            raise ConfigError(f"a batch size of {self.batch_size} does not split evenly over {ranks} processes: "
                              f"each reads its own rows, {ranks} pieces of equal size a step")
        options = pipeline.InferOptions(self.label, self.task_option, self.ignore, self.categorical, self.numeric,
                                        self.max_categories)
        part = yield from self._step(sharded.load_shard(self.path, self.read_options, options, self.world,
                                                        self.val_fraction, self.seed, self.max_categories))
        self.table, self.schema, self.preprocessor = part.table, part.schema, part.preprocessor
        self.train_data, self.val_data = part.train, part.val
        self.sharded, self.bytes_read, self._row_offset = True, int(part.bytes_read), int(part.start)
        self._counts = [[int(a), int(b)] for a, b in self.world.gather([len(part.train), len(part.val)])]
        total = sum(a + b for a, b in self._counts)
        yield Progress("preprocess", total, total, f"rows {part.start:,}-{part.stop - 1:,} of {part.total_rows:,} "
                                                   f"on this process -> {self.preprocessor.feature_dim} features")
        return True

    @overload
    def _step(self, job: Generator[Progress | Notice, None, _T]) -> Generator[Progress | Notice, None, _T]: ...
    @overload
    def _step(self, job: Iterator[Progress | Notice]) -> Generator[Progress | Notice, None, object]: ...

    def _step(self, job: Iterator[Progress | Notice]) -> Generator[Progress | Notice, None, object]:
        """One step of the pipeline: its events passed on, each warning's message also kept in
        `warnings` (the one place a load warning is recorded); returns the step's value."""
        while True:
            try:
                event = next(job)
            except StopIteration as stop:
                return stop.value
            if isinstance(event, Notice) and event.level == "warning":
                self.warnings.append(event.message)
            yield event

    def release_pages(self, touched: int | None = None) -> None:
        """Data over the memory budget: drop the resident pages of its memory-mapped spill files
        (and NPY input) from this process, at once, or once `touched` bytes more of them have been
        read or written since the last release than a quarter of the budget. A no-op otherwise.
        Code that walks the loader's arrays itself (e.g. all of `train_data.x`) calls it per chunk."""
        if touched is None:
            self._storage.release()
        else:
            self._storage.touched(touched)

    def load(self) -> UnifiedDataLoader:
        """`iter_load` without the events."""
        return run_job(self.iter_load())

    def close(self) -> None:
        """Let go of the loaded data and delete the spill folder (data over the memory budget);
        also done when the loader is garbage-collected or at exit. `load()` may be called again."""
        self.train_data = self.val_data = self._processed = None
        self._orders = {}
        self._storage.remove()
        self._storage = InMemory()

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
        assert self.preprocessor is not None   # loaded: set before the splits
        return self.preprocessor.feature_names

    @property
    def feature_dim(self) -> int:
        self._loaded()
        assert self.preprocessor is not None   # loaded: set before the splits
        return self.preprocessor.feature_dim

    @property
    def task(self) -> str:
        self._loaded()
        assert self.schema is not None   # loaded: set before the splits
        return self.schema.task

    @property
    def classes(self) -> tuple[str, ...]:
        self._loaded()
        assert self.schema is not None   # loaded: set before the splits
        return self.schema.classes

    @property
    def num_classes(self) -> int:
        self._loaded()
        assert self.preprocessor is not None   # loaded: set before the splits
        return self.preprocessor.num_classes

    @property
    def num_train(self) -> int:
        self._loaded()
        assert self.train_data is not None
        return len(self.train_data)

    @property
    def num_val(self) -> int:
        self._loaded()
        assert self.val_data is not None
        return len(self.val_data)

    @property
    def processed_data(self) -> ProcessedData:
        """Every labelled row, processed, in file order (built from the splits on first use)."""
        self._loaded()
        if self._processed is None:
            assert self.train_data is not None and self.val_data is not None
            x, y, rows = self._storage.merge(self.train_data, self.val_data)
            self._processed = ProcessedData(x, y, list(self.feature_names), rows)
        return self._processed

    # batches ----------------------------------------------------------------------------
    def _split(self, split: str) -> Split:
        self._loaded()
        if split not in _SPLITS:
            raise ConfigError(f"split must be 'train' or 'val', got {split!r}")
        assert self.train_data is not None and self.val_data is not None
        return self.train_data if split == "train" else self.val_data

    def num_batches(self, split: str = "train") -> int:
        """Batches of `split` an epoch; across several processes, the global batches (every rank
        runs as many steps, each on its piece of a global batch)."""
        n = len(self._split(split))
        if self.sharded:
            return self._shard_steps(split)[0]
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
                self._storage.discard(f"order-{old}.i64")
            # a sharded load shuffles this rank's own rows: each rank draws its own permutation
            key = (self.seed, epoch, self.world.rank) if self.sharded else (self.seed, epoch)
            self._orders[epoch] = self._storage.order(len(data), np.random.default_rng(key), epoch)
        return self._orders[epoch]

    def _shard_steps(self, split: str) -> tuple[int, int, np.ndarray]:
        """A sharded load: (steps an epoch, rows of each rank's piece, every rank's rows of `split`):
        every rank runs as many steps as the rank with the most rows needs."""
        per_rank = self.batch_size // self.world.size
        counts = np.array([c[0 if split == "train" else 1] for c in self._counts], dtype=np.int64)
        return (int(max(-(-counts // per_rank))) if counts.size else 0), per_rank, counts

    def _plan(self, split: str, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Across several processes: this rank's positions into `split` for every step of `epoch`,
        the step `i` being positions[starts[i]:starts[i + 1]], and each step's global batch rows
        (`totals`). Every rank has as many steps; a piece may be shorter than the others, or empty.

        Every rank holding every row: global batch i is the epoch's order[i*B:(i+1)*B] and rank r
        takes rows r, r+n, r+2n... of it (distributed.piece). A sharded load: each rank takes
        B/n of its own rows a step, in its own seeded order, until every rank has run out."""
        ranks, rank = self.world.size, self.world.rank
        data = self._split(split)
        if self.sharded:
            steps, per_rank, counts = self._shard_steps(split)
            positions = np.asarray(self._positions(split, epoch), dtype=np.int64)
            starts = np.minimum(np.arange(steps + 1, dtype=np.int64) * per_rank, len(data))
            at = np.arange(steps, dtype=np.int64)[:, None] * per_rank
            totals = np.clip(counts[None, :] - at, 0, per_rank).sum(axis=1)
            return positions, starts, totals
        n, size = len(data), self.batch_size
        steps = -(-n // size)
        order = np.asarray(self._positions(split, epoch), dtype=np.int64)
        mine = (np.arange(n) % size) % ranks == rank
        totals = np.minimum(size, n - np.arange(steps, dtype=np.int64) * size)
        pieces = np.maximum(0, -(-(totals - rank) // ranks))
        return order[mine], np.concatenate([[0], np.cumsum(pieces)]), totals

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
        if self.world.distributed:
            positions, starts, totals = self._plan(split, epoch)
            return Batch(int(i), *gather(data, positions[starts[i]:starts[i + 1]], self._storage.touched_hook),
                         self.feature_names, split, epoch, self.raw_rows, int(totals[i]))
        index = np.asarray(self._positions(split, epoch)[i * self.batch_size:(i + 1) * self.batch_size],
                           dtype=np.int64)
        return Batch(int(i), *gather(data, index, self._storage.touched_hook), self.feature_names, split, epoch,
                     self.raw_rows)

    def batches(self, split: str = "train", epoch: int = 0, prefetch: bool = True) -> Iterator[Batch]:
        """Every batch of `split` for `epoch`, gathered ahead on a thread when `prefetch`."""
        data = self._split(split)
        if self.world.distributed:
            return prefetched(self._pieces(data, split, epoch), self.prefetch if prefetch else 0)
        return iter_batches(data, self._positions(split, epoch), self.batch_size, self.num_batches(split),
                            feature_names=self.feature_names, split=split, epoch=epoch,
                            prefetch=self.prefetch if prefetch else 0, raw_rows=self.raw_rows,
                            touched=self._storage.touched_hook)

    def _pieces(self, data: Split, split: str, epoch: int) -> Iterator[Batch]:
        positions, starts, totals = self._plan(split, epoch)
        for i, total in enumerate(totals.tolist()):
            yield Batch(i, *gather(data, positions[starts[i]:starts[i + 1]], self._storage.touched_hook),
                        self.feature_names, split, epoch, self.raw_rows, total)

    def __iter__(self) -> Iterator[Batch]:
        """This epoch's training batches; each `iter()` starts the next epoch."""
        epoch = self._epoch
        self._epoch += 1
        return self.batches("train", epoch)

    # raw rows ---------------------------------------------------------------------------
    def raw_rows(self, rows: Sequence[int] | np.ndarray) -> dict[str, list[Any]]:
        """The raw values of Table rows `rows`: column -> list (arrays: one array per row)."""
        if self.table is None:
            raise ConfigError("the loader has not loaded its data yet: call load() first")
        table = self.table
        rows = np.asarray(rows, dtype=np.int64) - self._row_offset   # a sharded load's table starts there
        if table.is_tabular:
            taken = take_rows(table.columns, rows, self.release_pages)
            return {name: python_values(column) for name, column in zip(taken.column_names, taken.columns)}
        out: dict[str, list[Any]] = {}
        assert table.features is not None   # not tabular: an array's features
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
            assert name is not None   # an inferred schema always names its label
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
