"""Checks that train: loss at initialisation, overfit one batch, input dependence, and speed.

Each builds its model, loss and compiled step with the trainer's `steps.new_training` inside the generator, so
everything MLX lives on the thread that runs the checks (docs/conventions.md, "MLX stays on its thread").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import numpy as np

from udl_core.batch_source import BatchSource, SplitArrays
from udl_core.mlx_runtime import mx, nn
from udl_core.streaming import CHUNK_ROWS
from udl_core.training.checks._context import CheckContext, fmt
from udl_core.training.checks._result import CheckResult
from udl_core.training.devices import gpu_available
from udl_core.training.metrics import target_stats
from udl_core.training.models import DEFAULT_HIDDEN, ModelSpec
from udl_core.training.steps import new_training

__all__ = ["TRAINING_CHECKS", "input_dependence_check", "loss_at_init_check", "overfit_check", "speed_check"]

OVERFIT_LR = 1e-2
OVERFIT_FRACTION = 0.1       # "close to zero": within 10% of the way from the floor to the start
INIT_PASS = 0.35             # |loss - ln C| / ln C within this is "near ln C"
INIT_WARN = 1.5
CHECKPOINT_EVERY = 10        # steps between early-stopping checkpoints of the input-dependence trainings
MIN_GAIN = 0.02              # the real inputs must lower the mean per-row error by 2% at least
MIN_FAIL_ROWS = 50           # fewer scored rows than this cannot prove that the inputs do not matter
MIN_STEPS = 50               # an input-dependence training takes at least this many steps ...
MIN_BATCH = 8                # ... of batches at least this big, however wide the inputs
DATA_BOUND_WARN = 0.8        # share of the time spent waiting for data that earns a warning


class _Setup:
    """Model, loss and a compiled Adam step, built on the calling thread."""

    def __init__(self, ctx: CheckContext, learning_rate: float, seed: int) -> None:
        # Only a regression target is standardised: no float64 copy of every class label.
        self.target_mean, self.target_std = (0.0, 1.0) if ctx.classification else target_stats(ctx.train_y)
        self.classification = ctx.classification
        out_dim = max(ctx.num_classes, 2) if ctx.classification else 1
        # the trainer's model, loss and step; the step closes over locals, never `self`: no reference
        # cycle, so the compiled function and its arrays are freed when the check returns, on the
        # MLX thread, not by a later GC
        training = new_training(ModelSpec("mlp", ctx.train_x.shape[1], out_dim, ctx.task, DEFAULT_HIDDEN),
                                learning_rate, seed=seed, target_mean=self.target_mean, target_std=self.target_std)
        self.model, self.loss_fn, self.step, self.state = training.model, training.loss_fn, training.step, training.state

    def loss(self, x: mx.array, y: mx.array) -> float:
        return float(np.asarray(self.loss_fn(self.model, x, y)))

    def row_losses(self, x: mx.array, y: mx.array) -> np.ndarray:
        return self.row_scores(x, y)[0]

    def row_scores(self, x: mx.array, y: mx.array) -> tuple[np.ndarray, np.ndarray]:
        """Per-row loss, and a bounded per-row error (1 - p(true class), or |residual| in std units)
        that a few confidently wrong rows cannot dominate."""
        out = self.model(x)
        if self.classification:
            losses = nn.losses.cross_entropy(out, y, reduction="none")
            error = 1.0 - mx.exp(-losses)
        else:
            residual = out[:, 0] - (y - self.target_mean) / self.target_std
            losses, error = residual ** 2, mx.abs(residual)
        mx.eval(losses, error)
        return np.array(losses, dtype=np.float64), np.array(error, dtype=np.float64)


def _xy(x: np.ndarray, y: np.ndarray, classification: bool) -> tuple[mx.array, mx.array]:
    return (mx.array(np.ascontiguousarray(x, np.float32)),
            mx.array(np.asarray(y, np.int32 if classification else np.float32)))


def _valid_rows(ctx: CheckContext, y: np.ndarray) -> np.ndarray:
    return (y >= 0) if ctx.classification else np.isfinite(y)


def _two_values(ctx: CheckContext, y: np.ndarray) -> bool:
    """Whether the present labels of `y` take two values or more, read a chunk at a time (no
    sorted copy of every label: `y` may be a memory-mapped split)."""
    first = None
    for start in range(0, len(y), CHUNK_ROWS):
        part = np.asarray(y[start:start + CHUNK_ROWS])
        ctx.touched(part.nbytes)
        present = part[_valid_rows(ctx, part)]
        if not present.size:
            continue
        if first is None:
            first = present[0]
        if (present != first).any():
            return True
    return False


def _not_learnable(ctx: CheckContext, name: str) -> CheckResult | None:
    """A warning in place of a training check when the label gives nothing to learn."""
    if not _two_values(ctx, ctx.train_y):
        return CheckResult(name, "warn", f"not run: the label '{ctx.label_name}' takes one value in the training "
                           "rows (see labels.constant).", "Fix the label first.")
    return None


def _labelled(ctx: CheckContext, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of `x`, `y` whose label is present."""
    keep = _valid_rows(ctx, y)
    return x[keep], y[keep]


def loss_at_init_check(ctx: CheckContext) -> Iterator[CheckResult]:
    name = "loss_at_init"
    if (skipped := _not_learnable(ctx, name)) is not None:
        yield skipped
        return
    x, y = _labelled(ctx, *ctx.sample_xy())
    x, y = x[:1024], y[:1024]
    setup = _Setup(ctx, ctx.budget.learning_rate, ctx.seed)
    loss = setup.loss(*_xy(x, y, ctx.classification))
    details: dict[str, Any] = {"loss": loss, "rows": len(y)}
    if not math.isfinite(loss):
        yield CheckResult(name, "fail", f"the loss of the untrained model is {loss} on {len(y)} training rows.",
                          "NaN or inf in the inputs (see batches.finite) or overflowing feature values.", details)
        return
    if ctx.classification:
        classes = max(ctx.num_classes, 2)
        expected = math.log(classes)
        off = abs(loss - expected) / expected
        details.update(expected=expected, classes=classes)
        text = (f"the untrained model's cross-entropy is {loss:.3f} against ln({classes}) = {expected:.3f} "
                f"for {classes} classes")
        if off <= INIT_PASS:
            yield CheckResult(name, "pass", text + ": it starts from an even guess, as it should.", "", details)
        elif off <= INIT_WARN:
            yield CheckResult(name, "warn", text + f", {off:.0%} away.",
                              "Large initial logits: check the feature scale (scaling checks).", details)
        else:
            yield CheckResult(name, "fail", text + f", {off:.0%} away: the logits start huge or collapsed.",
                              "The inputs are probably unscaled (see scaling.standardized) or the class count "
                              "is wrong.", details)
        return
    details["expected"] = 1.0
    text = (f"the untrained model's MSE on standardized targets is {loss:.3f}; about 1 means it starts by "
            "predicting the mean")
    if 0.5 <= loss <= 2.5:
        yield CheckResult(name, "pass", text + ", as it should.", "", details)
    elif loss <= 25:
        yield CheckResult(name, "warn", text + f", but it is {fmt(loss)}.",
                          "The initial outputs are large: check the feature scale (scaling checks).", details)
    else:
        yield CheckResult(name, "fail", text + f", but it is {fmt(loss)}: the outputs start huge.",
                          "The inputs are probably unscaled (see scaling.standardized).", details)


def _floor(x: np.ndarray, y: np.ndarray, classification: bool, mean: float, std: float) -> float:
    """The lowest mean loss any model can reach on (x, y): rows with equal x must share a prediction."""
    _, group = np.unique(np.ascontiguousarray(x).reshape(len(x), -1), axis=0, return_inverse=True)
    group = group.reshape(-1)
    if classification:
        counts = np.zeros((group.max() + 1, int(y.max()) + 1))
        np.add.at(counts, (group, y), 1)
        p = counts[group, y] / counts[group].sum(axis=1)
        return float(-np.log(p).mean())
    t = (y.astype(np.float64) - mean) / std
    means = np.bincount(group, weights=t) / np.bincount(group)
    return float(((t - means[group]) ** 2).mean())


def overfit_check(ctx: CheckContext) -> Iterator[CheckResult | None]:
    name = "overfit_one_batch"
    if (skipped := _not_learnable(ctx, name)) is not None:
        yield skipped
        return
    batch = _first_batch(ctx.loader)
    x, y = _labelled(ctx, np.asarray(batch.x), np.asarray(batch.y))
    x, y = x[:ctx.budget.overfit_rows], y[:ctx.budget.overfit_rows]
    setup = _Setup(ctx, OVERFIT_LR, ctx.seed)
    floor = _floor(x, y, ctx.classification, setup.target_mean, setup.target_std) if np.isfinite(x).all() else 0.0
    xb, yb = _xy(x, y, ctx.classification)
    start = setup.loss(xb, yb)
    target = floor + OVERFIT_FRACTION * max(start - floor, 0.0)
    details: dict[str, Any] = {"rows": len(y), "start": start, "floor": floor, "target": target}
    loss, reached = start, None
    for step in range(1, ctx.budget.overfit_steps + 1):
        value = setup.step(xb, yb)
        mx.eval(setup.state, value)
        if step % 10 == 0 or step == ctx.budget.overfit_steps:
            loss = setup.loss(xb, yb)
            if not math.isfinite(loss):
                yield CheckResult(name, "fail", f"the loss on batch 0 became {loss} at step {step}.",
                                  "NaN or inf in the batch (see batches.finite) or exploding values.",
                                  {**details, "step": step})
                return
            if loss <= target:
                reached = step
                break
        yield None
    details.update(final=loss, steps=reached or ctx.budget.overfit_steps)
    where = f"{len(y)} rows of batch 0"
    if reached is None:
        yield CheckResult(name, "fail",
                          f"after {ctx.budget.overfit_steps} steps the loss on {where} is still {loss:.3f} "
                          f"(it started at {start:.3f}; reachable: {floor:.3f}).",
                          "A model that cannot memorise one batch points at the pipeline: check that x and y "
                          "are the right rows, the label encoding, and the feature shapes.", details)
    elif floor > 0.5 * start:
        yield CheckResult(name, "warn",
                          f"the loss on {where} fell from {start:.3f} to {loss:.3f} in {reached} steps, but rows "
                          f"with identical features carry different labels (lowest reachable loss {floor:.3f}).",
                          "Identical inputs with different labels: a feature that tells them apart is missing, "
                          "or the labels are noisy.", details)
    else:
        yield CheckResult(name, "pass",
                          f"the model drove the loss on {where} from {start:.3f} to {loss:.3f} in {reached} steps.",
                          "", details)


def _first_batch(loader: BatchSource) -> SplitArrays:
    get_batch = getattr(loader, "get_batch", None)
    if get_batch is not None:
        try:
            return get_batch(0, split="train", epoch=0)
        except TypeError:
            return get_batch(0)
    return next(iter(loader.batches("train", epoch=0)))


def _short_training(ctx: CheckContext, x: mx.array, y: mx.array, idx: np.ndarray,
                    stop: tuple[mx.array, mx.array],
                    evaluate: tuple[mx.array, mx.array]) -> Generator[None, None, tuple[np.ndarray, np.ndarray]]:
    """Per-row losses and errors on `evaluate` at the checkpoint with the lowest loss on `stop`
    (early stopping, chosen without looking at the scored rows, so small datasets are not judged
    by an overfit model); yields None after each step."""
    setup = _Setup(ctx, ctx.budget.learning_rate, ctx.seed)
    best, scores = float(setup.row_losses(*stop).mean()), setup.row_scores(*evaluate)  # step 0 counts too
    for i, rows in enumerate(idx, start=1):
        take = mx.array(rows)
        value = setup.step(x[take], y[take])
        mx.eval(setup.state, value)
        if i % CHECKPOINT_EVERY == 0 or i == len(idx):
            stop_loss = float(setup.row_losses(*stop).mean())
            if stop_loss < best:
                best, scores = stop_loss, setup.row_scores(*evaluate)
        yield None
    return scores


def _training_size(ctx: CheckContext, rows: int, width: int) -> tuple[int, int]:
    """Batch size and steps of one input-dependence training: steps x batch x features stays
    within `train_values`, so a wide table costs what a long one does; past that, smaller batches
    rather than fewer than MIN_STEPS steps."""
    budget = ctx.budget
    width = max(width, 1)
    batch = min(budget.train_batch, rows)
    steps = min(budget.train_steps, budget.train_values // (batch * width))
    if steps < MIN_STEPS:
        batch = max(min(batch, budget.train_values // (MIN_STEPS * width)), MIN_BATCH)
        steps = MIN_STEPS
    return batch, steps


def input_dependence_check(ctx: CheckContext) -> Iterator[CheckResult | None]:
    name = "input_dependence"
    if (skipped := _not_learnable(ctx, name)) is not None:
        yield skipped
        return
    x, y = _labelled(ctx, *ctx.sample_xy())
    rng = np.random.default_rng(ctx.seed)
    if len(ctx.val_y):
        xe, ye = _labelled(ctx, ctx.rows_of(ctx.val_x, ctx.val_sample), ctx.val_y[ctx.val_sample])
        held = "validation"
    else:  # no validation split: hold out a fifth of the sample
        perm = rng.permutation(len(y))
        cut = max(1, int(len(y) * 0.8))
        xe, ye, held = x[perm[cut:]], y[perm[cut:]], "held-out training"
        x, y = x[perm[:cut]], y[perm[:cut]]
    perm = rng.permutation(len(y))
    cut = max(1, int(len(y) * 0.8))
    xs, ys, x, y = x[perm[cut:]], y[perm[cut:]], x[perm[:cut]], y[perm[:cut]]
    if len(ye) < 5 or len(y) < 5 or len(ys) < 2:
        yield CheckResult(name, "warn", f"too few rows to compare ({len(y)} training, {len(ye)} {held}).",
                          "Add rows or lower --val-fraction.")
        return
    batch, steps = _training_size(ctx, len(y), x.shape[1])
    idx = rng.integers(0, len(y), (steps, batch)).astype(np.int32)
    xr, yr = _xy(x, y, ctx.classification)
    xs_m, ys_m = _xy(xs, ys, ctx.classification)
    xe_m, ye_m = _xy(xe, ye, ctx.classification)
    real, real_error = yield from _short_training(ctx, xr, yr, idx, (xs_m, ys_m), (xe_m, ye_m))
    zero, zero_error = yield from _short_training(ctx, mx.zeros_like(xr), yr, idx, (mx.zeros_like(xs_m), ys_m),
                                                  (mx.zeros_like(xe_m), ye_m))
    n = len(real)
    details: dict[str, Any] = {"real_loss": float(real.mean()), "zeroed_loss": float(zero.mean()),
                               "rows": n, "steps": steps}
    if not (np.isfinite(real).all() and np.isfinite(zero).all()):
        yield CheckResult(name, "fail", f"the short trainings' {held} loss is NaN or inf.",
                          "NaN or inf in the inputs (see batches.finite).", details)
        return
    # judged on the bounded error, so that a few confidently wrong rows cannot hide a clear win
    diff = zero_error - real_error
    se = float(diff.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    t = float(diff.mean()) / se if se > 0 else (math.inf if diff.mean() > 0 else 0.0)
    base = float(zero_error.mean())
    gain = float(diff.mean()) / base if base > 0 else 0.0
    wins = int((diff > 0).sum())
    details.update(t=t, wins=wins, gain=gain, real_error=float(real_error.mean()), zeroed_error=base)
    what = "probability of a wrong class" if ctx.classification else "absolute error (in target stds)"
    text = (f"after up to {steps} steps the mean {what} on {n:,} {held} rows is "
            f"{real_error.mean():.3f} with the real inputs and {base:.3f} with zeroed inputs "
            f"(loss {real.mean():.3f} vs {zero.mean():.3f}, paired t = {fmt(t)})")
    helps = t >= 1 and gain >= MIN_GAIN
    hint = ("The labels do not follow from the features: shuffled labels, the wrong label column (--label), "
            "or a labels file misaligned with the features row by row.")
    if helps and t >= 3:
        yield CheckResult(name, "pass", text + ": the model uses its inputs.", "", details)
    elif helps:
        yield CheckResult(name, "warn", text + ": the inputs help only a little.", hint, details)
    elif n < MIN_FAIL_ROWS:
        yield CheckResult(name, "warn", text + f": the inputs do not help, but {n} rows are too few to be sure.",
                          hint, details)
    else:
        yield CheckResult(name, "fail", text + ": the inputs do not help.", hint, details)


def speed_check(ctx: CheckContext) -> Iterator[CheckResult | None]:
    name = "speed"
    if (skipped := _not_learnable(ctx, name)) is not None:
        yield skipped
        return
    setup = _Setup(ctx, ctx.budget.learning_rate, ctx.seed)
    batches = iter(ctx.loader.batches("train", epoch=0))
    wait = compute = 0.0
    steps = rows = 0
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    try:
        warm = next(batches, None)
        if warm is None:
            yield CheckResult(name, "warn", "the training split gave no batches to time.", "")
            return
        _timed_step(setup, warm, ctx.classification)  # compiles the step; not timed
        deadline = time.perf_counter() + ctx.budget.speed_seconds
        while steps < ctx.budget.speed_batches and time.perf_counter() < deadline:
            t0 = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            t1 = time.perf_counter()
            _timed_step(setup, batch, ctx.classification)
            wait += t1 - t0
            compute += time.perf_counter() - t1
            steps += 1
            rows += len(batch.y)
            if len(kept) < 20:
                kept.append((np.asarray(batch.x), np.asarray(batch.y)))
            yield None
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    if steps == 0:
        yield CheckResult(name, "pass", "one batch per epoch: nothing to time beyond the first step.", "")
        return
    share = wait / max(wait + compute, 1e-12)
    per_s = rows / max(wait + compute, 1e-12)
    details: dict[str, Any] = {"steps": steps, "data_wait_s": wait, "step_s": compute, "data_share": share,
                               "samples_per_s": per_s, "gpu": gpu_available()}
    verdict = "data-bound" if share > 0.5 else "compute-bound"
    text = (f"{verdict}: over {steps} steps {share:.0%} of the time went to waiting for batches "
            f"({wait * 1e3 / steps:.2f} ms a batch) and {1 - share:.0%} to the training step "
            f"({compute * 1e3 / steps:.2f} ms), {per_s:,.0f} samples/s")
    device = _device_comparison(ctx, kept)
    if device:
        details.update(device)
        text += f"; {device['recommendation']}"
    else:
        text += "; MLX has no GPU here, so the CPU runs it"
    if share > DATA_BOUND_WARN:
        yield CheckResult(name, "warn", text + ".",
                          "The model waits for data: raise --batch-size, keep prefetching on, or store the data "
                          "as Parquet/NPY so batches are gathered, not parsed.", details)
    else:
        hint = "Fine for a smoke run." if share <= 0.5 else \
            "Loading and computing are close: a larger batch size helps both."
        yield CheckResult(name, "pass", text + ".", hint, details)


def _timed_step(setup: _Setup, batch: Any, classification: bool) -> None:
    x, y = _xy(np.asarray(batch.x), np.asarray(batch.y), classification)
    value = setup.step(x, y)
    mx.eval(setup.state, value)


def _device_comparison(ctx: CheckContext, kept: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any] | None:
    """The same steps timed on the CPU and the GPU, where MLX has one."""
    if not gpu_available() or not kept:
        return None
    seconds = {}
    for label, device in COMPARED_DEVICES:
        with mx.stream(device):
            setup = _Setup(ctx, ctx.budget.learning_rate, ctx.seed)
            _timed_step(setup, _Pair(*kept[0]), ctx.classification)
            start = time.perf_counter()
            for _ in range(3):
                for x, y in kept:
                    _timed_step(setup, _Pair(x, y), ctx.classification)
            seconds[label] = time.perf_counter() - start
    faster = min(seconds, key=lambda device: seconds[device])
    slower = max(seconds, key=lambda device: seconds[device])
    ratio = seconds[slower] / max(seconds[faster], 1e-12)
    return {"cpu_s": seconds["cpu"], "gpu_s": seconds["gpu"],
            "recommendation": f"the {faster.upper()} ran the same steps {ratio:.1f}x faster than the "
                              f"{slower.upper()}, so use --device {faster}"}


COMPARED_DEVICES = (("cpu", mx.cpu), ("gpu", mx.gpu))


class _Pair:
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y


TRAINING_CHECKS: tuple[tuple[str, Callable[[CheckContext], Iterator[CheckResult | None]]], ...] = (
    ("loss_at_init", loss_at_init_check),
    ("overfit_one_batch", overfit_check),
    ("input_dependence", input_dependence_check),
    ("speed", speed_check),
)
