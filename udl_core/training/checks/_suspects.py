"""`labels.suspects`: likely label errors, by the k-fold of `training.suspects` with fewer epochs, on the
checks' sample of the rows (docs/checks.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from udl_core.events import TrainConfig
from udl_core.training.checks._context import CheckContext
from udl_core.training.checks._result import CheckResult
from udl_core.training.suspects import out_of_sample, rank_label_issues

__all__ = ["SUSPECTS_EPOCHS", "SUSPECTS_WARN", "suspects_check"]

SUSPECTS_EPOCHS = 3        # epochs of each fold's training (a run's default, short on purpose) ...
MIN_FOLD_STEPS = 150       # ... but at least this many steps: a small dataset needs more epochs to fit
SUSPECTS_WARN = 0.10       # more than this share of the scored rows being suspects earns a warning
SUSPECTS_SECONDS = 60.0    # the k-fold's time limit inside the checks
_MIN_ROWS = 50
_SHOWN = 5


def suspects_check(ctx: CheckContext) -> Iterator[CheckResult | None]:
    name = "labels.suspects"
    if not ctx.classification or ctx.num_classes < 2:
        yield CheckResult(name, "pass", "likely label errors are looked for in classification only.")
        return
    x, y, rows = _rows(ctx)
    if len(y) < _MIN_ROWS:
        yield CheckResult(name, "pass", f"{len(y)} labelled rows are too few to look for label errors.")
        return
    # steps x batch x features within the trainings' budget: fewer rows for wide inputs
    width = max(x.shape[1], 1)
    batch = min(ctx.budget.train_batch, max(16, len(y) // 20))
    steps_per_epoch = -(-(len(y) * 4 // 5) // batch)
    epochs = max(SUSPECTS_EPOCHS, -(-MIN_FOLD_STEPS // steps_per_epoch))
    config = TrainConfig(epochs=epochs, learning_rate=ctx.budget.learning_rate, seed=ctx.seed)
    job = out_of_sample(x, y, ctx.num_classes, config, batch, max_seconds=SUSPECTS_SECONDS)
    while True:
        try:
            next(job)
        except StopIteration as stop:
            oos = stop.value
            break
        yield None        # between folds: a consumer that stops asking stops the check here
    scored = np.flatnonzero(oos.scored)
    order, predicted = rank_label_issues(oos.probabilities[scored], y[scored])
    share = len(order) / max(len(scored), 1)
    first = [(int(rows[scored[i]]), ctx.class_name(int(y[scored[i]])), ctx.class_name(int(predicted[i])))
             for i in order[:_SHOWN]]
    listed = "; ".join(f"row {r} labelled '{given}' looks like '{guess}'" for r, given, guess in first)
    details = {"scored": len(scored), "suspects": len(order), "share": share, "folds": oos.folds_done,
               "epochs": epochs, "width": width, "first": [r for r, _, _ in first]}
    text = (f"Held-out models ({oos.folds_done} folds of {epochs} epochs) find the label of {len(order):,} of "
            f"{len(scored):,} rows ({share:.1%}) unlikely")
    if share > SUSPECTS_WARN:
        yield CheckResult(name, "warn", f"{text}, more than {SUSPECTS_WARN:.0%}: {listed}.",
                          "Look at these rows (udl train --suspects N lists them with their file lines); "
                          "labels may be wrong, or the classes hard to tell apart from these features.", details)
    else:
        yield CheckResult(name, "pass", text + (f" ({listed})." if first else "."), "", details)


def _rows(ctx: CheckContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checks' sample of the training rows and of the validation rows, labelled ones only, within
    `train_values` numbers per epoch."""
    width = max(ctx.train_x.shape[1], 1)
    x = np.concatenate([ctx.sample_x, ctx.rows_of(ctx.val_x, ctx.val_sample)]).astype(np.float32, copy=False)
    y = np.concatenate([ctx.train_y[ctx.sample], ctx.val_y[ctx.val_sample]]).astype(np.int64)
    rows = np.concatenate([ctx.train_rows[ctx.sample], ctx.val_rows[ctx.val_sample]]).astype(np.int64)
    keep = np.flatnonzero((y >= 0) & (y < ctx.num_classes))
    cap = max(ctx.budget.train_values // (SUSPECTS_EPOCHS * width), _MIN_ROWS)
    if len(keep) > cap:
        keep = np.sort(np.random.default_rng(ctx.seed).choice(keep, cap, replace=False))
    return x[keep], y[keep], rows[keep]
