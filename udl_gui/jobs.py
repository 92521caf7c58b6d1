"""The jobs the window runs on its worker thread: load, walk every batch, train, probe the device.

Each is a plain generator (docs/conventions.md, "Long jobs are generators") over udl_core; nothing here imports Qt, so the tests
can drive them without a window. Events that cross to the GUI thread hold floats, strings and
numpy arrays only. Training steps are coalesced into one `StepLosses` event per ~30 ms so a
fast run does not flood the event loop, and the job yields `None` between steps as a
heartbeat so a stop request is still honoured within one step.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from udl_core.events import Notice, Progress, StepLoss, run_job

__all__ = [
    "BatchHealth",
    "DeviceInfo",
    "StepLosses",
    "TrainSummary",
    "WalkSummary",
    "batch_health",
    "coalesce_steps",
    "epoch_health",
    "iter_epoch_health",
    "load_job",
    "probe_device_job",
    "train_job",
    "walk_job",
]

COALESCE_S = 0.03


@dataclass(frozen=True)
class DeviceInfo:
    gpu: bool
    reason: str


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
class WalkSummary:
    batches: int
    samples: int
    seconds: float
    nonfinite: int
    problems: tuple[str, ...] = ()

    @property
    def batches_per_s(self) -> float:
        return self.batches / self.seconds if self.seconds > 0 else float("inf")

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class StepLosses:
    """Several training steps at once: their step numbers (counted over the run), their losses,
    and the epoch (from 1) of the last one."""

    steps: np.ndarray
    losses: np.ndarray
    epoch: int


def probe_device_job() -> Generator[None, None, DeviceInfo]:
    """Ask MLX whether it has a GPU (imports MLX, so it runs on the worker thread)."""
    from udl_core.training.devices import gpu_available, gpu_unavailable_reason

    yield None
    return DeviceInfo(gpu_available(), gpu_unavailable_reason())


def load_job(path: str, **kwargs: Any) -> Generator[Progress | Notice, None, Any]:
    """Build and load a `UnifiedDataLoader`; returns it loaded."""
    from udl_core.loader import UnifiedDataLoader

    loader = UnifiedDataLoader(path, **kwargs)
    loader = yield from loader.iter_load()
    yield Progress("health", 0, None, "per-batch statistics")
    if len(loader):
        yield (yield from iter_epoch_health(loader))
    return loader


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


def iter_epoch_health(loader: Any, split: str = "train", epoch: int = 0,
                      chunk_rows: int = 131_072) -> Generator[None, None, BatchHealth]:
    """Every batch's statistics for one epoch, from the split's arrays (no batch is built).

    Works through whole batches in chunks of about `chunk_rows` rows and yields None between
    them, so a stop is honoured and no single numpy call holds the GIL for long.
    """
    data = loader.train_data if split == "train" else loader.val_data
    order = loader.order(split, epoch)
    size = int(loader.batch_size)
    n_batches = loader.num_batches(split)
    used = min(len(order), n_batches * size)
    step = max(1, chunk_rows // size) * size   # a chunk ends on a batch boundary
    classes = _num_classes(loader)
    y = np.asarray(data.y)
    parts: list[BatchHealth] = []
    for start in range(0, used, step):
        rows = order[start:min(start + step, used)]
        stats = _row_stats(np.take(data.x, rows, axis=0))
        starts = np.arange(0, len(rows), size, dtype=np.int64)
        parts.append(_health_from_rows(stats, y[rows], starts, start // size, classes))
        yield None
    return _merge(parts, classes)


def _merge(parts: list[BatchHealth], num_classes: int | None) -> BatchHealth:
    def cat(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        return None if not arrays or arrays[0] is None else np.concatenate(arrays)

    if not parts:
        empty = np.zeros(0)
        counts = np.zeros((0, num_classes), np.int64) if num_classes else None
        return BatchHealth(0, counts, None if num_classes else empty, np.zeros(0, np.int64), empty, empty)
    return BatchHealth(0, cat("label_counts"), cat("label_mean"), cat("nonfinite"), cat("mean"), cat("std"))


def epoch_health(loader: Any, split: str = "train", epoch: int = 0) -> BatchHealth:
    """`iter_epoch_health` run to the end."""
    return run_job(iter_epoch_health(loader, split, epoch))


def _num_classes(loader: Any) -> int | None:
    if getattr(loader, "task", None) == "classification":
        return int(loader.num_classes)
    return None


def walk_job(loader: Any, split: str = "train", epoch: int = 0) -> Generator[Any, None, WalkSummary]:
    """Fetch every batch of one epoch as training would, report rates, health and problems."""
    total = len(loader) if split == "train" else None
    num_classes = _num_classes(loader)
    t0 = time.perf_counter()
    last = t0
    pending_x: list[np.ndarray] = []
    pending_y: list[np.ndarray] = []
    start = 0
    count = samples = nonfinite = 0
    problems: list[str] = []
    feature_dim = getattr(loader, "feature_dim", None)
    yield Progress("walk", 0, total, "walking the batches")
    for batch in loader.batches(split=split, epoch=epoch, prefetch=True):
        x, y = np.asarray(batch.x), np.asarray(batch.y)
        bad = int(np.count_nonzero(~np.isfinite(x)))
        if bad and len(problems) < 20:
            problems.append(f"batch {count}: {bad} NaN/inf values in the features")
        if feature_dim is not None and x.ndim == 2 and x.shape[1] != feature_dim and len(problems) < 20:
            problems.append(f"batch {count}: {x.shape[1]} features, expected {feature_dim}")
        if len(x) != len(y) and len(problems) < 20:
            problems.append(f"batch {count}: {len(x)} inputs but {len(y)} labels")
        nonfinite += bad
        pending_x.append(x)
        pending_y.append(y)
        count += 1
        samples += len(x)
        now = time.perf_counter()
        if now - last >= COALESCE_S:
            yield batch_health(pending_x, pending_y, start, num_classes)
            yield Progress("walk", count, total, f"batch {count}")
            start, pending_x, pending_y, last = count, [], [], now
        else:
            yield None
    if pending_x:
        yield batch_health(pending_x, pending_y, start, num_classes)
    seconds = time.perf_counter() - t0
    yield Progress("walk", count, total or count, f"walked {count} batches")
    return WalkSummary(count, samples, seconds, nonfinite, tuple(problems))


def coalesce_steps(events: Iterable[Any], interval: float = COALESCE_S) -> Generator[Any, None, Any]:
    """Pass events through, merging `StepLoss` events into one `StepLosses` per `interval`.

    Every other event flushes the pending steps first, so the order is kept.
    """
    steps: list[float] = []
    losses: list[float] = []
    epoch = 0
    last = time.perf_counter()
    gen: Iterator[Any] = iter(events)

    def flush() -> StepLosses:
        out = StepLosses(np.asarray(steps, dtype=np.float64), np.asarray(losses, dtype=np.float64), epoch)
        steps.clear()
        losses.clear()
        return out

    while True:
        try:
            event = next(gen)
        except StopIteration as stop:
            if steps:
                yield flush()
            return stop.value
        if isinstance(event, StepLoss):
            steps.append(float(event.step))
            losses.append(float(event.loss))
            epoch = int(event.epoch)
            now = time.perf_counter()
            if now - last >= interval:
                last = now
                yield flush()
            else:
                yield None
            continue
        if steps:
            yield flush()
        yield event


@dataclass(frozen=True)
class TrainSummary:
    """What the window keeps of a run: numbers only (the MLX model stays on the worker thread)."""

    device: str
    seconds: float
    samples: int
    samples_per_s: float
    stopped: bool
    epochs: tuple[Any, ...] = field(default_factory=tuple)   # EpochMetrics (floats only)

    @property
    def final(self) -> Any:
        return self.epochs[-1] if self.epochs else None


def train_job(loader: Any, **config: Any) -> Generator[Any, None, TrainSummary]:
    """Train with udl_core's trainer; MLX is imported and used only here, on the worker thread."""
    from udl_core.training import TrainConfig, train

    result = yield from coalesce_steps(train(loader, TrainConfig(**config)))
    return TrainSummary(result.device, float(result.seconds), int(result.samples), float(result.samples_per_s),
                        bool(result.stopped), tuple(result.epochs))
