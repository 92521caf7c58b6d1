"""One feature alone against the label: a 1-D nearest-neighbour model fitted on training rows and
scored on validation rows, and the rule that turns its score into a leakage verdict.

The verdict compares the feature's validation accuracy with the majority-class rate (always
guessing the training split's most common class) on the same rows: a feature that merely equals
that rate predicts nothing. `leakage.single_feature` fails only when the feature beats the rate
by `MARGIN` on at least `MIN_ROWS` validation rows (docs/checks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MARGIN_POINTS", "MIN_ROWS", "OneFeatureScore", "margin_met", "nn_accuracy", "nn_r2", "rule_text"]

MARGIN_POINTS = 10    # percentage points above the majority-class rate
MIN_ROWS = 30         # validation rows needed before a feature can fail the check


@dataclass(frozen=True)
class OneFeatureScore:
    """A feature's validation score: `correct` of `rows` rows right where the majority class gets
    `majority_correct` (classification); `score` is the accuracy, or R^2 for regression."""

    score: float
    rows: int
    correct: int = 0
    majority_correct: int = 0

    @property
    def majority_rate(self) -> float:
        return self.majority_correct / self.rows if self.rows else 0.0


def rule_text() -> str:
    return (f"a verdict of leakage needs {MARGIN_POINTS} points above the majority rate on at least "
            f"{MIN_ROWS} validation rows")


def margin_met(score: OneFeatureScore) -> bool:
    """At least `MIN_ROWS` rows and `MARGIN_POINTS` points above the majority rate (in whole rows,
    so 100% against 90% counts as the 10 points it is)."""
    return score.rows >= MIN_ROWS and 100 * (score.correct - score.majority_correct) >= MARGIN_POINTS * score.rows


def _nearest(train_v: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct training values, and for each query value the index of the nearest one (ties: lower)."""
    values, group = np.unique(train_v, return_inverse=True)
    pos = np.searchsorted(values, query)
    left = np.clip(pos - 1, 0, len(values) - 1)
    right = np.clip(pos, 0, len(values) - 1)
    take_right = (values[right] - query) < (query - values[left])
    return group.reshape(-1), np.where(take_right, right, left)


def nn_accuracy(train_v: np.ndarray, train_y: np.ndarray, val_v: np.ndarray, val_y: np.ndarray,
                num_classes: int) -> OneFeatureScore:
    """Validation accuracy of a 1-D nearest-neighbour classifier on one feature.

    A validation value predicts the majority class of the training rows with the nearest value; a
    missing value (NaN), like the baseline, predicts the training split's majority class.
    """
    train_y = np.asarray(train_y, np.int64)
    val_y = np.asarray(val_y, np.int64)
    width = max(num_classes, int(train_y.max(initial=0)) + 1, int(val_y.max(initial=0)) + 1)
    majority = int(np.argmax(np.bincount(train_y, minlength=width))) if len(train_y) else 0
    majority_correct = int((val_y == majority).sum())
    ok = np.isfinite(train_v)
    pred = np.full(len(val_y), majority, np.int64)
    if ok.any() and len(val_y):
        group, nearest = _nearest(train_v[ok], np.nan_to_num(val_v, nan=0.0))
        counts = np.zeros((int(group.max()) + 1, width), np.int64)
        np.add.at(counts, (group, train_y[ok]), 1)
        found = np.isfinite(val_v)
        pred[found] = counts.argmax(axis=1)[nearest[found]]
    correct = int((pred == val_y).sum())
    return OneFeatureScore(correct / len(val_y) if len(val_y) else 0.0, len(val_y), correct, majority_correct)


def nn_r2(train_v: np.ndarray, train_y: np.ndarray, val_v: np.ndarray, val_y: np.ndarray) -> OneFeatureScore:
    """Validation R^2 of a 1-D nearest-neighbour regressor on one feature (the mean of the training
    targets at the nearest value; the training mean for a missing value)."""
    train_y = np.asarray(train_y, np.float64)
    val_y = np.asarray(val_y, np.float64)
    total = float(((val_y - val_y.mean()) ** 2).sum()) if len(val_y) else 0.0
    ok = np.isfinite(train_v)
    if not ok.any() or len(val_y) < 3 or total == 0:
        return OneFeatureScore(0.0, len(val_y))
    pred = np.full(len(val_y), train_y.mean())
    group, nearest = _nearest(train_v[ok], np.nan_to_num(val_v, nan=0.0))
    means = np.bincount(group, weights=train_y[ok]) / np.bincount(group)
    found = np.isfinite(val_v)
    pred[found] = means[nearest[found]]
    return OneFeatureScore(1.0 - float(((val_y - pred) ** 2).sum()) / total, len(val_y))
