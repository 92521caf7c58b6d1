"""Numbers about a run: R^2, the chance-level loss, and the loss-curve alarms (plateau, stuck at chance)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["chance_alarm", "chance_from_counts", "chance_loss", "class_counts", "plateau_alarm", "r2_score",
           "target_stats"]


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination; NaN when the targets have no variance (or there are none)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    total = float(np.sum((y_true - y_true.mean()) ** 2)) if y_true.size else 0.0
    if total == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / total


def chance_loss(labels: np.ndarray, num_classes: int) -> float:
    """Cross-entropy of always predicting the class frequencies: ln C for balanced classes.

    A model that ignores its inputs can reach this and no lower, so a loss stuck here means the
    labels are not wired to the features (or there is nothing to learn).
    """
    return chance_from_counts(class_counts(labels, num_classes), num_classes)


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows per class (at least `num_classes` entries), a chunk at a time: labels may be a memmap."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for start in range(0, len(labels), 1 << 20):
        part = np.bincount(np.asarray(labels[start:start + (1 << 20)], dtype=np.int64), minlength=num_classes)
        size = max(counts.size, part.size)
        counts = np.pad(counts, (0, size - counts.size)) + np.pad(part, (0, size - part.size))
    return counts


def chance_from_counts(counts: np.ndarray, num_classes: int | None = None) -> float:
    """`chance_loss` of labels with these class counts (ln C of the classes when there are none)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return math.log(max(num_classes if num_classes is not None else counts.size, 1))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def chance_alarm(train_loss: float, chance: float, tolerance: float = 0.05) -> str | None:
    """A warning when a classification loss is within `tolerance` (relative) of the chance level."""
    if chance <= 0 or not math.isfinite(train_loss):
        return None
    if train_loss >= chance * (1.0 - tolerance):
        return (f"the training loss {train_loss:.4f} is at chance level ({chance:.4f}, the loss of guessing "
                "the class frequencies): check that the labels belong to the features")
    return None


def plateau_alarm(epoch_losses: Sequence[float], epochs: int, tolerance: float = 0.01) -> str | None:
    """A warning when the mean training loss has moved by no more than `tolerance` (relative)
    from one epoch to the next for the last `epochs` epochs."""
    if epochs < 1 or len(epoch_losses) < epochs + 1:
        return None
    window = [float(v) for v in epoch_losses[-(epochs + 1):]]
    if not all(math.isfinite(v) for v in window):
        return None
    for before, after in zip(window[:-1], window[1:]):
        if abs(after - before) > tolerance * max(abs(before), 1e-12):
            return None
    return (f"the training loss has not moved by more than {tolerance:.0%} for {epochs} epochs "
            f"(plateau at {window[-1]:.4f}): try another learning rate, or stop here")


def target_stats(y: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of a regression target's finite values, to standardise it with
    (0 and 1 when there are none; a std of 1 for a constant target). A memory-mapped target (over
    the memory budget) is read in two passes a chunk at a time; the trainer and the checks both
    standardise with this."""
    if isinstance(y, np.memmap):
        return _streamed_stats(y)
    values = np.asarray(y, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    mean, std = float(values.mean()), float(values.std())
    return mean, (std if std > 1e-12 else 1.0)


def _streamed_stats(y: np.memmap) -> tuple[float, float]:
    count = total = 0.0
    for part in _finite_chunks(y):
        count, total = count + part.size, total + float(part.sum())
    if count == 0:
        return 0.0, 1.0
    mean = total / count
    std = math.sqrt(sum(float(((part - mean) ** 2).sum()) for part in _finite_chunks(y)) / count)
    return mean, (std if std > 1e-12 else 1.0)


def _finite_chunks(y: np.ndarray, chunk: int = 1 << 20) -> Iterator[np.ndarray]:
    for start in range(0, len(y), chunk):
        part = np.asarray(y[start:start + chunk], dtype=np.float64)
        yield part[np.isfinite(part)]
