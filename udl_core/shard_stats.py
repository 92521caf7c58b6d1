"""The numeric statistics of `numeric_block.fit_stats` over every rank's rows, reduced.

Each rank of a distributed `World` holds a contiguous run of the file's rows, rank r's before rank
r+1's (udl_core/sharded.py), and fits on its training rows among them. Together the ranks get
what one process fitting on all of those training rows gets:

* the working precision: float64 where any rank's values need it, float32 only when every
  rank's values are float32 (numeric_block's rule, over the union of the ranks' rows);
* medians: the very sample one process draws (`median_sample` over the n training rows of
  every rank, counted in rank order), each rank contributing the values at its own positions of
  it (`World.gather_rows`). The medians equal a single process's exactly, whether n is under
  MEDIAN_ROWS (every row) or over it (the same seeded positions);
* means and standard deviations: each rank's float64 sums of d = x - median and of d**2 over
  its rows, summed across ranks (`World.sum`). Every d is what one process computes; only the
  order of the float64 additions differs, so they equal a single process's up to float64
  rounding (the tests hold them to 1e-9 x max(1, |value|); measured 1e-16 to 1e-14 relative);
* a column whose squares sum to zero (or to rounding noise, where a rank summed its training
  rows as every row less the others, as fit_stats does) is constant when its values (missing
  ones the median) have the same minimum and maximum on every rank (gathered); one whose sums are
  not finite (values near float64's limits), or a near-constant one that is not constant, is
  gathered whole, in rank order, and fitted exactly (`exact_stats`), as one process fits it.

Every decision is taken on reduced values, the same on every rank, so that every rank makes the
same collective calls in the same order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from udl_core.distributed import LOCAL, World
from udl_core.numeric_block import (
    MEDIAN_ROWS,
    Numbers,
    Rows,
    column_medians,
    exact_stats,
    fit_stats,
    median_sample,
    shifted_sums,
)

__all__ = ["column_stats", "shared_stats"]

_SAMPLE_BYTES = 32 << 20   # float64 bytes of the merged median sample per group of columns


def column_stats(numbers: Numbers, rows: np.ndarray | None = None, world: World = LOCAL,
                 keep: np.ndarray | None = None) -> list[dict[str, Any]]:
    """`numeric_block.fit_stats` for one process (`keep`: see there); reduced over every rank's
    `rows` for several."""
    return shared_stats(numbers, rows, world) if world.distributed else fit_stats(numbers, rows, keep)


def shared_stats(numbers: Numbers, rows: np.ndarray | None, world: World) -> list[dict[str, Any]]:
    """{"median", "mean", "std", "constant"} of each column over every rank's `rows` (each rank's
    every row if None), the same list on every rank."""
    n = numbers.n if rows is None else int(rows.size)
    k = numbers.width
    counts = [int(c) for c in world.gather(n)]
    total = sum(counts)
    if k == 0:
        return []
    if total == 0:
        return [{"median": 0.0, "mean": 0.0, "std": 1.0, "constant": True} for _ in range(k)]
    if world.agree(numbers.dtype == np.float64) and numbers.dtype != np.float64:
        numbers = numbers.part(range(k))
        numbers.dtype = np.dtype(np.float64)
    where = _sample_rows(rows, n, total, sum(counts[:world.rank]))
    median = _medians(numbers, where, world, min(total, MEDIAN_ROWS))
    shift = median.astype(numbers.dtype)
    sums, squares, scale = world.sum(_sums(numbers, rows, shift))
    with np.errstate(over="ignore", invalid="ignore"):
        mean = shift.astype(np.float64) + sums / total
        std = np.sqrt(np.maximum(squares / total - np.square(sums / total), 0.0))
    redo = ~np.isfinite(squares) | ~np.isfinite(sums) | ~np.isfinite(std)
    flat = np.flatnonzero((squares <= 1e-9 * scale) & ~redo)
    constant = _constant(numbers, rows, median, flat, world)
    redo[flat[~constant]] = True
    same = set(flat[constant].tolist())
    stats = []
    for j in range(k):
        if redo[j]:
            column = numbers.part([j])
            values = np.asarray(column.block(slice(0, n) if rows is None else rows)[:, 0], dtype=np.float64)
            stats.append(exact_stats(world.gather_rows(values)))
        elif j in same:
            stats.append({"median": float(median[j]), "mean": float(mean[j]), "std": 1.0, "constant": True})
        else:
            stats.append({"median": float(median[j]), "mean": float(mean[j]), "std": float(std[j]),
                          "constant": False})
    return stats


def _sums(numbers: Numbers, rows: np.ndarray | None, shift: np.ndarray) -> np.ndarray:
    """This rank's sums of d and d**2 over `rows`, and the sums of d**2 they were taken from: as
    fit_stats does, rows that are most of the rank's, in order, are summed as every row less the
    others (so a constant column's squares may be rounding noise, up to 1e-9 of those)."""
    n = numbers.n
    if rows is not None and 2 * rows.size > n and bool(np.all(rows[1:] > rows[:-1])) \
            and rows[0] >= 0 and rows[-1] < n:
        others = np.ones(n, dtype=bool)
        others[rows] = False
        every, every_squares = shifted_sums(numbers, None, shift)
        rest, rest_squares = shifted_sums(numbers, np.flatnonzero(others), shift)
        with np.errstate(invalid="ignore"):
            return np.stack([every - rest, every_squares - rest_squares, every_squares])
    total, squares = shifted_sums(numbers, rows, shift)
    return np.stack([total, squares, squares])


def _sample_rows(rows: np.ndarray | None, n: int, total: int, offset: int) -> Rows:
    """This rank's rows of the median sample one process draws from `total` rows, this rank's
    being positions [offset, offset + n) of them."""
    pick = median_sample(total)
    if pick is None:
        return slice(0, n) if rows is None else rows
    mine = pick[(pick >= offset) & (pick < offset + n)] - offset
    return mine if rows is None else rows[mine]


def _medians(numbers: Numbers, where: Rows, world: World, sample: int) -> np.ndarray:
    """Each column's median over every rank's `where`, a bounded group of columns at a time."""
    group = max(1, _SAMPLE_BYTES // (8 * max(1, sample)))
    medians = []
    for j in range(0, numbers.width, group):
        part = numbers if numbers.width <= group else numbers.part(range(j, min(numbers.width, j + group)))
        merged = world.gather_rows(part.columns(where).T)   # [sample, columns], rank (file) order
        medians.append(column_medians(np.ascontiguousarray(merged.T)))
    return np.concatenate(medians)


def _constant(numbers: Numbers, rows: np.ndarray | None, median: np.ndarray, flat: np.ndarray,
              world: World) -> np.ndarray:
    """Whether each column of `flat` holds one value (missing values the median) on every rank."""
    if flat.size == 0:
        return np.zeros(0, dtype=bool)
    n = numbers.n if rows is None else int(rows.size)
    part = numbers.part(flat.tolist())
    low, high = np.full(flat.size, np.inf), np.full(flat.size, -np.inf)
    step = max(1, (8 << 20) // (8 * flat.size))   # rows a chunk: a bounded block of these columns
    for start in range(0, n, step):
        block = part.block(slice(start, min(n, start + step)) if rows is None else rows[start:start + step])
        filled = np.where(np.isfinite(block), block, median[flat]).astype(np.float64)
        low, high = np.minimum(low, filled.min(axis=0)), np.maximum(high, filled.max(axis=0))
    ends = [[float(a), float(b)] for a, b in zip(low, high, strict=True)] if n else None
    seen = [ranks for ranks in world.gather(ends) if ranks is not None]
    return np.array([min(r[i][0] for r in seen) == max(r[i][1] for r in seen) for i in range(flat.size)],
                    dtype=bool)
