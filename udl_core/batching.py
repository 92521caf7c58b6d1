"""Batches, the seeded train/validation split and the prefetching batch iterator.

Iteration gathers a *chunk* of shuffled rows at a time (about 4 MiB) with one
`np.take(..., axis=0)` and hands out batches as row slices of it. Each chunk is a fresh
array, so a Batch stays valid for as long as anyone holds it (nothing is overwritten
behind the consumer's back), while one large gather per chunk costs less per row than
the usual `x[perm[i:i + B]]` per batch. With `prefetch > 0` a daemon thread gathers the
next chunks while the consumer works on this one; closing the generator (or breaking out
of a for loop) stops the thread and waits for it. numpy's gather holds the GIL, so the
thread pays off while the consumer runs code that releases it (an MLX step, I/O); a split
that fits in one chunk is gathered inline.

Over the memory budget the split's arrays are memory-mapped spill files, and reading one value
of a map maps in the whole page-cache folio around it (up to 2 MiB on Linux 6.x), so a chunk of
shuffled rows read in one `take` would map in most of the file. There `gather` reads a chunk's
rows in file order, a span of PIECE_BYTES at a time, and tells `touched(bytes)` after each span
what it may have mapped in, so that the pages are released as it goes (`SpillFolder.touched`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.random  # noqa: F401  imported with the module, not on the first split

from udl_core.errors import ConfigError

T = TypeVar("T")

__all__ = ["Batch", "ProcessedData", "Split", "gather", "iter_batches", "prefetched", "split_rows", "val_counts"]

CHUNK_BYTES = 4 << 20
FAULT_BYTES = 2 << 20    # what reading one value of a file map may map in (a large folio, measured)
PIECE_BYTES = 4 << 20    # span of x's file read between two reports to `touched`


@dataclass(frozen=True, eq=False)
class ProcessedData:
    """Every labelled row, processed: x float32 [N, D], y [N], source row ids [N]."""

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    rows: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Split:
    """One split: processed x [n, D], y [n] and the Table row of each, in file order."""

    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.shape[0])


@dataclass(frozen=True, eq=False, slots=True)
class Batch:
    """One batch: x float32 [B, D], y int32 or float32 [B], and the Table rows they came from."""

    index: int
    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray
    feature_names: Sequence[str]
    split: str = "train"
    epoch: int = 0
    raw_rows: Callable[[np.ndarray], dict[str, list[Any]]] | None = field(default=None, repr=False)
    total: int | None = None   # across several processes: the rows of the global batch this is a piece of

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def global_size(self) -> int:
        """Rows of the global batch (this batch's own rows when one process trains)."""
        return int(self.rows.shape[0]) if self.total is None else int(self.total)

    @property
    def size(self) -> int:
        return int(self.rows.shape[0])

    def raw(self) -> dict[str, list[Any]]:
        """The raw values of this batch's rows, column -> list, as the reader produced them."""
        if self.raw_rows is None:
            return {}
        return self.raw_rows(self.rows)

    def to_mx(self) -> tuple[Any, Any]:
        """(x, y) as `mx.array`s, created on the calling thread (MLX streams are per thread)."""
        from udl_core.mlx_runtime import mx

        return mx.array(self.x), mx.array(self.y)


def split_rows(rows: np.ndarray, y: np.ndarray, task: str, fraction: float, seed: int
               ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Seeded train/validation row ids (each sorted), stratified by class for classification."""
    rows = np.asarray(rows, dtype=np.int64)
    warnings: list[str] = []
    if fraction <= 0 or rows.size == 0:
        return rows.copy(), np.empty(0, dtype=np.int64), warnings
    rng = np.random.default_rng(seed)
    if task == "classification":
        sizes, order = _grouped(np.asarray(y))
        take = val_counts(sizes, fraction)
        ends = np.cumsum(sizes)
        # Each class's positions in file order (one stable grouping), then the same seeded
        # permutation per class, in class order, as a pass per class drew: the same rows for a seed.
        picked = [order[end - n:end][rng.permutation(n)[:k]]
                  for n, k, end in zip(sizes.tolist(), take.tolist(), ends.tolist()) if k]
        singles = int(np.sum(sizes < 2))
        if singles:
            warnings.append(f"{singles} class(es) have a single labelled row; those rows stay in training")
        at = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
    else:
        k = min(rows.size - 1, int(round(fraction * rows.size)))
        at = rng.permutation(rows.size)[:k]
    val = np.sort(rows[at])
    if val.size == 0:
        warnings.append(f"too few rows for a validation split of {fraction:g}; validation is empty")
    if rows.size < 2 or bool(np.all(rows[1:] > rows[:-1])):
        # Sorted ids (the loader's case): val's positions marked, no setdiff1d sort.
        keep = np.ones(rows.size, dtype=bool)
        keep[at] = False
        train = rows[keep]
    else:
        train = np.setdiff1d(rows, val, assume_unique=True)
    return train, val, warnings


def _grouped(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows per class, positions grouped by class), classes in sorted order (np.unique's) and
    each class's positions ascending. Class codes (small non-negative integers, the loader's
    case) are counted with one bincount and grouped by one stable (radix) argsort of 16-bit codes,
    ~30 ms on 2M rows; other labels are made codes by np.unique first. split_rows on 2M rows of
    10 classes went from 180 to 108 ms CPU; most of the rest is the per-class permutations, which
    fix the rows a seed picks."""
    if y.dtype.kind in "iu" and y.size and int(y.min()) >= 0 and int(y.max()) < 1 << 15:
        counts = np.bincount(y)
        return counts[counts > 0], np.argsort(y.astype(np.int16, copy=False), kind="stable")
    _, inverse, sizes = np.unique(y, return_inverse=True, return_counts=True)
    return sizes, np.argsort(inverse.reshape(-1), kind="stable")


def val_counts(sizes: np.ndarray, fraction: float) -> np.ndarray:
    """Validation rows per class: round(fraction * rows) in all, by largest remainders, and
    every class keeps a training row (a class of one row stays in training)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    can = np.where(sizes >= 2, sizes - 1, 0)
    ideal = fraction * sizes * (sizes >= 2)
    take = np.minimum(np.floor(ideal).astype(np.int64), can)
    short = int(round(fraction * sizes[sizes >= 2].sum())) - int(take.sum())
    for c in np.argsort(-(ideal - take), kind="stable"):
        if short <= 0:
            break
        if take[c] < can[c]:
            take[c] += 1
            short -= 1
    return take


def check_batch_size(batch_size: object) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ConfigError(f"batch size must be a positive integer, got {batch_size}")
    return int(batch_size)


def prefetched(source: Iterator[T], depth: int) -> Iterator[T]:
    """`source`'s items, produced `depth` ahead on a daemon thread (depth 0: inline)."""
    if depth <= 0:
        yield from source
        return
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))

    thread = threading.Thread(target=produce, name="udl-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = items.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while True:
            try:
                items.get_nowait()
            except queue.Empty:
                break
        thread.join(timeout=10)


def _chunk_rows(data: Split, batch_size: int) -> int:
    row_bytes = max(1, int(np.prod(data.x.shape[1:])) * data.x.itemsize)
    return max(1, CHUNK_BYTES // (row_bytes * batch_size)) * batch_size


def gather(data: Split, index: np.ndarray | range, touched: Callable[[int], object] | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, rows) of `data` at positions `index`, new arrays. Given `touched` (a split in
    memory-mapped spill files), the rows are read in file order, PIECE_BYTES of x's file at a
    time, and `touched(bytes)` is told after each piece what it may have mapped in."""
    index = np.asarray(index, dtype=np.int64)
    if touched is None or not index.size:
        return np.take(data.x, index, axis=0), np.take(data.y, index), np.take(data.rows, index)
    x = np.empty((index.size, *data.x.shape[1:]), dtype=data.x.dtype)
    y = np.empty(index.size, dtype=data.y.dtype)
    rows = np.empty(index.size, dtype=data.rows.dtype)
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    row_bytes = max(1, int(np.prod(data.x.shape[1:])) * data.x.itemsize)
    per_piece = max(1, PIECE_BYTES // row_bytes)
    cuts = (np.flatnonzero(np.diff(ordered // per_piece)) + 1).tolist()
    for a, b in zip([0, *cuts], [*cuts, index.size]):
        where, ids = order[a:b], ordered[a:b]
        x[where] = np.take(data.x, ids, axis=0)
        y[where] = np.take(data.y, ids)
        rows[where] = np.take(data.rows, ids)
        # the span read in each of x, y and rows, and a folio mapped in around each
        touched(int(ids[-1] - ids[0] + 1) * (row_bytes + data.y.itemsize + data.rows.itemsize) + 3 * FAULT_BYTES)
    return x, y, rows


def _chunks(data: Split, order: np.ndarray | range, batch_size: int, num_batches: int,
            touched: Callable[[int], object] | None = None) -> Iterator[tuple[Any, ...]]:
    per_chunk = _chunk_rows(data, batch_size)
    end = min(len(order), num_batches * batch_size)
    for start in range(0, end, per_chunk):
        yield (start // batch_size, *gather(data, order[start:min(end, start + per_chunk)], touched))


def iter_batches(data: Split, order: np.ndarray | range, batch_size: int, num_batches: int, *,
                 feature_names: Sequence[str], split: str, epoch: int, prefetch: int,
                 raw_rows: Callable[[np.ndarray], dict[str, list[Any]]] | None,
                 touched: Callable[[int], object] | None = None) -> Iterator[Batch]:
    """Batches of `data` in `order`, gathered a chunk at a time (see the module doc)."""
    if num_batches * batch_size <= _chunk_rows(data, batch_size):
        prefetch = 0   # one chunk: a thread could only add its start-up time
    for first, x, y, rows in prefetched(_chunks(data, order, batch_size, num_batches, touched), prefetch):
        for offset in range(0, rows.shape[0], batch_size):
            stop = offset + batch_size
            yield Batch(first + offset // batch_size, x[offset:stop], y[offset:stop], rows[offset:stop],
                        feature_names, split, epoch, raw_rows)
