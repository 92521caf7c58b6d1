"""What a trained model says about the validation rows: the confusion matrix and per-class metrics, or
R^2, MAE and the outlying residuals. Numpy only; the trainer fills it from its last validation pass, so
a run pays one bincount of the predictions it already made (docs/training.md, "The evaluation").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from udl_core.events import Evaluation, Outlier

__all__ = ["OUTLIER_Z", "classification_evaluation", "confusion_counts", "regression_evaluation"]

OUTLIER_Z = 3.0       # a residual this many standard deviations from the mean residual is an outlier
_MAX_OUTLIERS = 20


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """[C, C] int64 counts: row = the given class, column = the predicted one."""
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(y_pred, np.int64)
    keep = (y_true >= 0) & (y_true < num_classes) & (y_pred >= 0) & (y_pred < num_classes)
    flat = np.bincount(y_true[keep] * num_classes + y_pred[keep], minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def classification_evaluation(confusion: np.ndarray, classes: Sequence[str]) -> Evaluation:
    """Per-class precision, recall, F1 and support from a confusion matrix, with the macro mean (over
    the classes that have rows or predictions) and the support-weighted mean. A class never predicted
    has precision 0, one with no rows recall 0 (as scikit-learn's `zero_division=0`)."""
    confusion = np.asarray(confusion, np.int64)
    hits = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    present = (support > 0) | (predicted > 0)
    total = int(support.sum())
    macro, weighted = {}, {}
    for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
        macro[name] = float(values[present].mean()) if present.any() else float("nan")
        weighted[name] = float((values * support).sum() / total) if total else float("nan")
    names = tuple(str(c) for c in classes) if len(classes) == len(confusion) else \
        tuple(str(i) for i in range(len(confusion)))
    return Evaluation(task="classification", rows=total, classes=names, confusion=confusion,
                      precision=tuple(map(float, precision)), recall=tuple(map(float, recall)),
                      f1=tuple(map(float, f1)), support=tuple(int(s) for s in support),
                      accuracy=float(hits.sum() / total) if total else None, macro=macro, weighted=weighted)


def regression_evaluation(actual: np.ndarray, predicted: np.ndarray, rows: np.ndarray) -> Evaluation:
    """R^2, the MAE (in the target's units) and the rows whose standardized residual is beyond
    `OUTLIER_Z`, largest first (at most 20)."""
    actual = np.asarray(actual, np.float64)
    predicted = np.asarray(predicted, np.float64)
    residual = actual - predicted
    finite = np.isfinite(residual)
    residual, actual, predicted = residual[finite], actual[finite], predicted[finite]
    rows = np.asarray(rows)[finite]
    n = len(residual)
    if n == 0:
        return Evaluation(task="regression", rows=0)
    spread = float(((actual - actual.mean()) ** 2).sum())
    r2 = 1.0 - float((residual ** 2).sum()) / spread if spread > 0 else float("nan")
    std = float(residual.std())
    outliers: tuple[Outlier, ...] = ()
    if std > 0:
        z = (residual - residual.mean()) / std
        far = np.flatnonzero(np.abs(z) >= OUTLIER_Z)
        far = far[np.argsort(-np.abs(z[far]), kind="stable")][:_MAX_OUTLIERS]
        outliers = tuple(Outlier(int(rows[i]), float(actual[i]), float(predicted[i]), float(z[i])) for i in far)
    return Evaluation(task="regression", rows=n, r2=r2, mae=float(np.abs(residual).mean()), outliers=outliers)
