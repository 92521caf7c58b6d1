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

from udl_core.events import Notice, Progress, StepLoss
from udl_core.health import BatchHealth, batch_health, epoch_health, iter_epoch_health, num_classes

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
    sized = _estimate(loader)
    if sized is not None:   # first, so that the window shows what to expect before reading starts
        yield Progress("estimate", sized.rows if sized.exact else 0, sized.rows, str(sized),
                       bytes_total=sized.bytes_on_disk)
    loader = yield from loader.iter_load()
    yield Progress("health", 0, None, "per-batch statistics")
    if len(loader):
        yield (yield from iter_epoch_health(loader))
    return loader


def _estimate(loader: Any) -> Any:
    """The size estimate the load itself starts with (kept, so it is not made twice); None
    where there is none (a table given in memory, a file the reader will refuse anyway)."""
    from udl_core.errors import UDLError
    from udl_core.pipeline import estimate

    if not isinstance(loader.path, str) or not loader.path:
        return None
    try:
        return estimate(loader.path, loader.read_options, label=loader.label)
    except (UDLError, OSError, ValueError):
        return None


def walk_job(loader: Any, split: str = "train", epoch: int = 0) -> Generator[Any, None, WalkSummary]:
    """Fetch every batch of one epoch as training would, report rates, health and problems."""
    total = len(loader) if split == "train" else None
    classes = num_classes(loader)
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
            yield batch_health(pending_x, pending_y, start, classes)
            yield Progress("walk", count, total, f"batch {count}")
            start, pending_x, pending_y, last = count, [], [], now
        else:
            yield None
    if pending_x:
        yield batch_health(pending_x, pending_y, start, classes)
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
