"""The data health of an epoch: per batch, the label mix, the NaN/inf count and the features' mean
and std, and the rules that read them ("the data looks sorted").

A sorted, unshuffled file shows as batches that each hold one class; broken scaling as a feature
mean or std far from 0/1; NaNs as batches with non-finite values. `udl batch --health` prints
`summarize(epoch_health(loader))`; the window draws the same `BatchHealth` arrays and prints the
same summary. Numpy only: no Qt, no MLX.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from udl_core.batch_source import BatchSource
from udl_core.events import run_job

__all__ = [
    "SORTED_WARNING",
    "BatchHealth",
    "HealthSummary",
    "batch_health",
    "epoch_health",
    "iter_epoch_health",
    "looks_sorted",
    "summarize",
]

SORTED_WARNING = "most batches hold a single class: is the data sorted and unshuffled?"


@dataclass(frozen=True)
class BatchHealth:
    """Per-batch statistics for a run of consecutive batches starting at `start`.

    `label_counts` is [k, classes] for classification, else None and `label_mean` [k] holds
    the regression target's mean. `nonfinite` counts NaN/inf in x; `mean`/`std` are over x.
    """

    start: int
    label_counts: np.ndarray | None
    label_mean: np.ndarray | None
    nonfinite: np.ndarray
    mean: np.ndarray
    std: np.ndarray


@dataclass(frozen=True)
class HealthSummary:
    """An epoch's health in a few numbers (feature means and stds are over the batches' values;
    NaN where there are no batches)."""

    batches: int
    nonfinite: int
    nonfinite_batches: int
    mean: float
    mean_min: float
    mean_max: float
    std: float
    looks_sorted: bool

    @property
    def warnings(self) -> tuple[str, ...]:
        return (SORTED_WARNING,) if self.looks_sorted else ()

    @classmethod
    def of(cls, mean: np.ndarray, std: np.ndarray, nonfinite: np.ndarray,
           label_counts: np.ndarray | None) -> HealthSummary:
        """From per-batch feature means, stds, non-finite counts and (classification) label counts."""
        mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        nonfinite = np.asarray(nonfinite)
        return cls(batches=len(mean), nonfinite=int(nonfinite.sum()),
                   nonfinite_batches=int(np.count_nonzero(nonfinite)),
                   mean=_finite_stat(np.nanmean, mean), mean_min=_finite_stat(np.nanmin, mean),
                   mean_max=_finite_stat(np.nanmax, mean), std=_finite_stat(np.nanmean, std),
                   looks_sorted=looks_sorted(label_counts))

    def to_dict(self) -> dict[str, Any]:
        """The `health` object of `udl batch --health --json` (NaN stays NaN: the caller makes it null)."""
        return {"batches": self.batches, "nonfinite": self.nonfinite, "nonfinite_batches": self.nonfinite_batches,
                "feature_mean": self.mean, "feature_mean_min": self.mean_min, "feature_mean_max": self.mean_max,
                "feature_std": self.std, "looks_sorted": self.looks_sorted, "warnings": list(self.warnings)}


def _finite_stat(reduce: Any, values: np.ndarray) -> float:
    """`reduce` over the finite values; NaN (and no warning) when there are none."""
    return float(reduce(values)) if np.isfinite(values).any() else float("nan")


def _row_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: finite count, sum and sum of squares of the finite values, non-finite count."""
    x = np.asarray(x).reshape(len(x), -1)
    width = x.shape[1]
    total = x.sum(axis=1, dtype=np.float64)
    squares = np.square(x, dtype=np.float64).sum(axis=1) if x.dtype != np.float64 else np.square(x).sum(axis=1)
    count = np.full(len(x), width, dtype=np.int64)
    bad = np.zeros(len(x), dtype=np.int64)
    odd = np.flatnonzero(~np.isfinite(total) | ~np.isfinite(squares))
    if odd.size:  # only rows holding NaN/inf (or overflowing) take the slow, exact path
        sub = x[odd]
        finite = np.isfinite(sub)
        clean = np.where(finite, sub, 0).astype(np.float64)
        count[odd] = finite.sum(axis=1)
        bad[odd] = width - count[odd]
        total[odd] = clean.sum(axis=1)
        squares[odd] = np.square(clean).sum(axis=1)
    return count, total, squares, bad


def _health_from_rows(stats: tuple[np.ndarray, ...], y: np.ndarray, starts: np.ndarray, start: int,
                      num_classes: int | None) -> BatchHealth:
    count, total, squares, bad = (np.add.reduceat(a, starts) if len(a) else a for a in stats)
    with np.errstate(all="ignore"):
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    batch_of_row = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(y))))
    counts = label_mean = None
    if num_classes:
        codes = batch_of_row * num_classes + np.clip(np.asarray(y, dtype=np.int64), 0, num_classes - 1)
        counts = np.bincount(codes, minlength=len(starts) * num_classes).reshape(len(starts), num_classes)
    else:
        yf = np.asarray(y, dtype=np.float64)
        ok = np.isfinite(yf)
        with np.errstate(all="ignore"):
            label_mean = (np.bincount(batch_of_row, np.where(ok, yf, 0), minlength=len(starts))
                          / np.bincount(batch_of_row, ok, minlength=len(starts)))
    return BatchHealth(start, counts, label_mean, bad.astype(np.int64), mean, std)


def batch_health(xs: list[np.ndarray], ys: list[np.ndarray], start: int, num_classes: int | None) -> BatchHealth:
    """Statistics for consecutive batches (lists of x [B, D] and y [B])."""
    sizes = np.array([len(x) for x in xs])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    stats = _row_stats(np.concatenate([np.asarray(x).reshape(len(x), -1) for x in xs]))
    return _health_from_rows(stats, np.concatenate([np.asarray(y) for y in ys]), starts, start, num_classes)


def iter_epoch_health(loader: BatchSource, split: str = "train", epoch: int = 0,
                      chunk_rows: int = 131_072) -> Generator[None, None, BatchHealth]:
    """Every batch's statistics for one epoch, from the split's arrays (no batch is built).

    Works through whole batches in chunks of about `chunk_rows` rows and yields None between
    them, so a stop is honoured and no single numpy call holds the GIL for long.
    """
    data = loader.train_data if split == "train" else loader.val_data
    classes = num_classes(loader)
    if data is None:
        return _merge([], classes)
    order = loader.order(split, epoch)
    size = int(loader.batch_size)
    n_batches = loader.num_batches(split)
    used = min(len(order), n_batches * size)
    step = max(1, chunk_rows // size) * size   # a chunk ends on a batch boundary
    y = np.asarray(data.y)
    parts: list[BatchHealth] = []
    for start in range(0, used, step):
        rows = order[start:min(start + step, used)]
        stats = _row_stats(np.take(data.x, rows, axis=0))
        starts = np.arange(0, len(rows), size, dtype=np.int64)
        parts.append(_health_from_rows(stats, y[rows], starts, start // size, classes))
        yield None
    return _merge(parts, classes)


def _merge(parts: list[BatchHealth], classes: int | None) -> BatchHealth:
    def cat(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        return None if not arrays or arrays[0] is None else np.concatenate(arrays)

    if not parts:
        empty = np.zeros(0)
        counts = np.zeros((0, classes), np.int64) if classes else None
        return BatchHealth(0, counts, None if classes else empty, np.zeros(0, np.int64), empty, empty)
    nonfinite, mean, std = cat("nonfinite"), cat("mean"), cat("std")
    assert nonfinite is not None and mean is not None and std is not None
    return BatchHealth(0, cat("label_counts"), cat("label_mean"), nonfinite, mean, std)


def epoch_health(loader: BatchSource, split: str = "train", epoch: int = 0) -> BatchHealth:
    """`iter_epoch_health` run to the end."""
    result: BatchHealth = run_job(iter_epoch_health(loader, split, epoch))
    return result


def num_classes(loader: object) -> int | None:
    """The loader's class count for a classification task, else None (the health keeps label means)."""
    if getattr(loader, "task", None) == "classification":
        return int(getattr(loader, "num_classes", 0))
    return None


def looks_sorted(label_counts: np.ndarray | None) -> bool:
    """True when most batches hold a single class although the data has several: the mark of a
    file sorted by its label and read without shuffling. Needs four batches and two classes."""
    if label_counts is None or len(label_counts) < 4 or label_counts.shape[1] < 2:
        return False
    totals = label_counts.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        top = np.nanmax(label_counts / np.maximum(totals, 1), axis=1)
    overall = label_counts.sum(axis=0).max() / max(1, label_counts.sum())
    return bool(np.median(top) > 0.95 and overall < 0.8)


def summarize(health: BatchHealth) -> HealthSummary:
    """The numbers the window's health strip and `udl batch --health` print."""
    return HealthSummary.of(health.mean, health.std, health.nonfinite, health.label_counts)
