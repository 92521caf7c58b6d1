"""Label checks: constant, imbalanced, too-small classes, extreme regression outliers, id-like labels."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from udl_core.streaming import CHUNK_ROWS
from udl_core.training.checks._context import CheckContext, fmt, name_list
from udl_core.training.checks._result import CheckResult

__all__ = ["label_checks"]

IMBALANCE_WARN = 10.0       # majority:minority ratio
MIN_CLASS_ROWS = 5          # fewer rows than this cannot be split into train and validation sensibly
OUTLIER_Z = 10.0            # robust z-score (median / MAD) of an extreme regression target


def label_checks(ctx: CheckContext) -> Iterator[CheckResult]:
    if ctx.classification and getattr(ctx.loader, "streamed", False):
        # Class counts a chunk at a time: all_y() and np.unique would copy every row's label twice.
        train, val = _streamed_counts(ctx, ctx.train_y), _streamed_counts(ctx, ctx.val_y)
        width = max(len(train), len(val))
        ctx.shared["label_counts"] = {"train": np.pad(train, (0, width - len(train))),
                                      "val": np.pad(val, (0, width - len(val)))}
    y = ctx.all_y() if "label_counts" not in ctx.shared else np.zeros(0, ctx.train_y.dtype)
    constant = _constant(ctx, y)
    yield constant
    if ctx.classification:
        yield _balance(ctx)
        yield _small_classes(ctx)
    else:
        yield _outliers(ctx, y)
    yield _id_like(ctx, y)


def _streamed_counts(ctx: CheckContext, y: np.ndarray) -> np.ndarray:
    counts = np.zeros(max(ctx.num_classes, 1), np.int64)
    for start in range(0, len(y), CHUNK_ROWS):
        part = np.asarray(y[start:start + CHUNK_ROWS])
        found = np.bincount(part[part >= 0].astype(np.int64), minlength=counts.size)
        counts = np.pad(counts, (0, found.size - counts.size)) + found
        ctx.touched(part.nbytes)
    return counts


def _class_counts(ctx: CheckContext, split: str) -> np.ndarray | None:
    """The streamed per-class row counts of 'train', 'val' or 'all' (None when not streamed)."""
    counts = ctx.shared.get("label_counts")
    if counts is None:
        return None
    return counts["train"] + counts["val"] if split == "all" else counts[split]


def _valid(ctx: CheckContext, y: np.ndarray) -> np.ndarray:
    return y[y >= 0] if ctx.classification else y[np.isfinite(y)]


def _constant(ctx: CheckContext, y: np.ndarray) -> CheckResult:
    name = "labels.constant"
    counts = _class_counts(ctx, "all")
    values = _valid(ctx, y) if counts is None else None
    size = values.size if values is not None else int(counts.sum()) if counts is not None else 0
    label = ctx.label_name
    if size == 0:
        return CheckResult(name, "fail", f"the label '{label}' has no usable values.",
                           "Name the right label column with --label.")
    distinct = np.unique(values) if values is not None else np.flatnonzero(np.asarray(counts))
    if len(distinct) == 1:
        shown = ctx.class_name(int(distinct[0])) if ctx.classification else fmt(float(distinct[0]))
        return CheckResult(name, "fail",
                           f"the label '{label}' is '{shown}' in all {size:,} rows, so there is nothing to learn.",
                           "Name the right label column with --label, or check that the labels file was read.",
                           {"value": shown})
    train_counts = _class_counts(ctx, "train")
    train_distinct = np.unique(_valid(ctx, ctx.train_y)) if train_counts is None else np.flatnonzero(train_counts)
    if len(train_distinct) == 1:
        return CheckResult(name, "fail",
                           f"the label '{label}' takes one value in all {len(ctx.train_y):,} training rows.",
                           "Shuffle before splitting: the rows are probably sorted by the label.")
    what = f"{len(distinct)} classes" if ctx.classification else f"{len(distinct):,} distinct values"
    return CheckResult(name, "pass", f"the label '{label}' has {what}.", "", {"distinct": len(distinct)})


def _counts(ctx: CheckContext, y: np.ndarray, split: str = "") -> np.ndarray:
    counts = _class_counts(ctx, split) if split else None
    if counts is not None:
        return counts
    return np.bincount(_valid(ctx, y).astype(np.int64), minlength=max(ctx.num_classes, 1))


def _balance(ctx: CheckContext) -> CheckResult:
    name = "labels.balance"
    counts = _class_counts(ctx, "all")
    if counts is None:
        counts = _counts(ctx, ctx.all_y())
    present = np.flatnonzero(counts)
    if len(present) < 2:
        return CheckResult(name, "pass", "fewer than two classes: no balance to measure.")
    big, small = present[np.argmax(counts[present])], present[np.argmin(counts[present])]
    ratio = counts[big] / counts[small]
    details = {"counts": {ctx.class_name(int(i)): int(counts[i]) for i in present}, "ratio": ratio}
    if counts[big] == counts[small]:
        return CheckResult(name, "pass", f"all {len(present)} classes have {counts[big]:,} rows.", "", details)
    text = (f"class '{ctx.class_name(int(big))}' has {counts[big]:,} rows and '{ctx.class_name(int(small))}' "
            f"{counts[small]:,}, a ratio of {ratio:.1f}:1")
    if ratio >= IMBALANCE_WARN:
        return CheckResult(name, "warn", text + ".",
                           "Accuracy will flatter a model that ignores the rare class: watch per-class recall, "
                           "or weight / resample the classes.", details)
    return CheckResult(name, "pass", text + ".", "", details)


def _small_classes(ctx: CheckContext) -> CheckResult:
    name = "labels.small_classes"
    train = _counts(ctx, ctx.train_y, "train")
    val = _counts(ctx, ctx.val_y, "val") if len(ctx.val_y) else np.zeros_like(train)
    width = max(len(train), len(val))
    train, val = np.pad(train, (0, width - len(train))), np.pad(val, (0, width - len(val)))
    total = train + val
    unseen = [ctx.class_name(int(i)) for i in np.flatnonzero((train == 0) & (val > 0))]
    if unseen:
        return CheckResult(name, "fail",
                           f"class {name_list(unseen)} appears in validation but never in training.",
                           "Split stratified by the label, or gather more rows of that class.",
                           {"unseen_in_training": unseen})
    small = [ctx.class_name(int(i)) for i in np.flatnonzero((total > 0) & (total < MIN_CLASS_ROWS))]
    if small:
        i = ctx.classes.index(small[0]) if small[0] in ctx.classes else int(small[0])
        return CheckResult(name, "warn",
                           f"class '{small[0]}' has only {_rows(int(total[i]))} ({int(train[i])} training, "
                           f"{int(val[i])} validation); {len(small)} of {int((total > 0).sum())} classes have "
                           f"fewer than {MIN_CLASS_ROWS}.",
                           "Too few rows to learn or to validate: merge rare classes or gather more rows.",
                           {"small": small})
    present = total[total > 0]
    return CheckResult(name, "pass",
                       f"every class has at least {_rows(int(present.min()) if present.size else 0)} and "
                       "appears in the training split.", "")


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _outliers(ctx: CheckContext, y: np.ndarray) -> CheckResult:
    name = "labels.outliers"
    values = _valid(ctx, y).astype(np.float64)
    if values.size < 10:
        return CheckResult(name, "pass", "too few targets to judge outliers.")
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) * 1.4826
    if mad == 0:
        mad = float(values.std()) or 1.0
    z = np.abs(values - median) / mad
    extreme = np.flatnonzero(z > OUTLIER_Z)
    details = {"median": median, "mad": mad, "max_z": float(z.max()), "extreme": int(extreme.size)}
    if extreme.size:
        worst = int(np.argmax(z))
        return CheckResult(name, "warn",
                           f"{extreme.size} targets lie more than {OUTLIER_Z:.0f} robust std from the median "
                           f"{fmt(median)} (the most extreme: {fmt(float(values[worst]))}).",
                           "A squared loss is dominated by these rows: check them for unit or entry errors, "
                           "or train on log(target) for a heavy-tailed quantity.", details)
    return CheckResult(name, "pass",
                       f"every target is within {fmt(float(z.max()))} robust std of the median {fmt(median)}.",
                       "", details)


def _id_like(ctx: CheckContext, y: np.ndarray) -> CheckResult:
    name = "labels.id_like"
    counts = _class_counts(ctx, "all")
    values = _valid(ctx, y)
    n = values.size if counts is None else int(counts.sum())
    distinct = len(np.unique(values)) if counts is None else int(np.count_nonzero(counts))
    label = ctx.label_name
    details = {"distinct": distinct, "rows": n}
    hint = "Name the real label with --label; an id column is never something to predict."
    if n >= 20 and ctx.classification and distinct >= 0.5 * n:
        status = "fail" if distinct == n else "warn"
        return CheckResult(name, status,
                           f"the label '{label}' has {distinct:,} distinct values in {n:,} rows, like an id.",
                           hint, details)
    if n >= 20 and not ctx.classification and distinct == n:
        whole = values.astype(np.float64)
        if np.all(whole == np.round(whole)) and float(whole.max() - whole.min()) == n - 1:
            return CheckResult(name, "fail",
                               f"the label '{label}' holds every whole number from {fmt(float(whole.min()))} "
                               f"to {fmt(float(whole.max()))} exactly once, like a row id.", hint, details)
    return CheckResult(name, "pass", f"the label '{label}' has {distinct:,} distinct values in {n:,} rows.",
                       "", details)
