"""Likely label errors: out-of-sample probabilities by k-fold, then confident learning's rule.

`find_suspects(loader, config)` is a long job (docs/conventions.md, "Long jobs are generators"): it
says what it will cost, trains k short models with the run's settings (`steps.new_training`), each on
k - 1 folds of every labelled row (train and validation), predicts the held-out fold, and returns the
rows ranked by `rank_label_issues` (the rule is in docs/training.md, "Likely label errors"). It stops
within its time limit, scoring only the folds it finished, and says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from udl_core.batch_source import BatchSource
from udl_core.errors import ConfigError
from udl_core.events import Notice, Progress, Suspect, TrainConfig
from udl_core.mlx_runtime import mx
from udl_core.row_sources import row_sources
from udl_core.training.devices import resolve_device
from udl_core.training.models import ModelSpec
from udl_core.training.steps import Training, new_training
from udl_core.training.trainer import predict_numpy

__all__ = ["DEFAULT_FOLDS", "DEFAULT_MAX_SECONDS", "OutOfSample", "find_suspects", "labelled_rows",
           "out_of_sample", "rank_label_issues"]

DEFAULT_FOLDS = 5
DEFAULT_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class OutOfSample:
    """Held-out probabilities [N, C] for the rows in `scored` (the folds that were trained)."""

    probabilities: np.ndarray
    scored: np.ndarray          # bool [N]
    folds_done: int
    folds: int
    epochs: int


def rank_label_issues(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(order, predicted)`: the indices of the likely label errors, least likely label first, and the
    class the model gives each row.

    Confident learning's per-class threshold t_j is the mean probability of class j over the rows
    labelled j. Row i (label y) is a suspect when its self-confidence p_y is below t_y and the model's
    most probable class is another one (`predicted`). Suspects are ranked by self-confidence, lowest
    first. (Asking also that the predicted class reach its own threshold, as confident learning's
    confident joint does, missed a third of the planted flips of a well-trained model: with 5% of
    flips t_j is ~0.95, and a held-out flipped row is often predicted its true class at 0.85-0.95.)
    """
    probs = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    n, classes = probs.shape
    thresholds = np.full(classes, np.inf)
    for j in range(classes):
        mine = labels == j
        if mine.any():
            thresholds[j] = probs[mine, j].mean()
    self_conf = probs[np.arange(n), labels]
    predicted = probs.argmax(axis=1)
    suspect = (self_conf < thresholds[labels]) & (predicted != labels)
    order = np.flatnonzero(suspect)
    order = order[np.argsort(self_conf[order], kind="stable")]
    return order, predicted


def _folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Each row's fold, 0..k-1, stratified: every class is spread over the folds in turn."""
    rng = np.random.default_rng((seed, 16))
    shuffled = rng.permutation(len(labels))
    by_class = shuffled[np.argsort(labels[shuffled], kind="stable")]
    fold = np.empty(len(labels), np.int64)
    fold[by_class] = np.arange(len(labels)) % k
    return fold


def out_of_sample(x: np.ndarray, y: np.ndarray, num_classes: int, config: TrainConfig, batch_size: int, *,
                  folds: int = DEFAULT_FOLDS, max_seconds: float = DEFAULT_MAX_SECONDS,
                  should_stop: Callable[[], bool] | None = None
                  ) -> Generator[Progress | Notice | None, None, OutOfSample]:
    """Train `folds` models with `config` (epochs, learning rate, model, seed) on all folds but one and
    predict the one left out, yielding None between steps. Run it on the thread that owns MLX. A fold that would end past
    `max_seconds` (judged by the folds before it) is not started, and a `Notice` says so."""
    n = len(y)
    if folds < 2 or n < folds:
        raise ConfigError(f"finding label errors needs at least {max(folds, 2)} labelled rows and 2 folds")
    fold_of = _folds(y, folds, config.seed)
    probs = np.zeros((n, num_classes), np.float32)
    scored = np.zeros(n, bool)
    spec = ModelSpec(kind=config.model, in_dim=int(x.shape[1]), out_dim=num_classes, task="classification",
                     hidden=tuple(config.hidden) if config.model == "mlp" else ())
    device, notice = resolve_device(config.device)
    if notice is not None:
        yield notice
    started = time.perf_counter()
    done = 0
    with mx.stream(device):
        for k in range(folds):
            elapsed = time.perf_counter() - started
            if k and elapsed / k * (k + 1) > max_seconds:
                yield Notice(f"likely label errors: stopped after {k} of {folds} folds to stay within "
                             f"{max_seconds:.0f} s; only {int(scored.sum()):,} of {n:,} rows are scored", "warning")
                break
            if should_stop is not None and should_stop():
                break
            yield Progress("suspects", k, folds, f"training fold {k + 1} of {folds}")
            held = fold_of == k
            training = new_training(spec, config.learning_rate, seed=config.seed + k)
            finished = yield from _fit(training, x, y, np.flatnonzero(~held), config, batch_size, should_stop)
            if not finished:
                break
            held_idx = np.flatnonzero(held)
            probs[held_idx] = predict_numpy(training.model, x[held_idx], "classification")
            scored[held_idx] = True
            done += 1
    yield Progress("suspects", done, folds, "done")
    return OutOfSample(probs, scored, done, folds, config.epochs)


def _fit(training: Training, x: np.ndarray, y: np.ndarray, rows: np.ndarray, config: TrainConfig,
         batch_size: int, should_stop: Callable[[], bool] | None) -> Generator[None, None, bool]:
    """`config.epochs` epochs of shuffled batches of `rows`, yielding None after each step (a chance to
    stop: a consumer that stops asking stops the training there); False when `should_stop` said so."""
    rng = np.random.default_rng((config.seed, len(rows)))
    for _ in range(config.epochs):
        order = rows[rng.permutation(len(rows))]
        # one gather per 64 batches, then slices: a gather per step cost more than the step itself
        block = batch_size * 64
        for first in range(0, len(order), block):
            part = order[first:first + block]
            xs = mx.array(np.ascontiguousarray(x[part], np.float32))
            ys = mx.array(np.asarray(y[part], np.int32))
            for start in range(0, len(part), batch_size):
                if should_stop is not None and should_stop():
                    return False
                loss = training.step(xs[start:start + batch_size], ys[start:start + batch_size])
                mx.eval(training.state, loss)
                yield None
    return True


def find_suspects(loader: BatchSource, config: TrainConfig = TrainConfig(), *, limit: int = 50,
                  folds: int = DEFAULT_FOLDS, max_seconds: float = DEFAULT_MAX_SECONDS,
                  run_seconds: float | None = None, max_rows: int | None = None,
                  should_stop: Callable[[], bool] | None = None
                  ) -> Generator[Progress | Notice | None, None, tuple[Suspect, ...]]:
    """The `limit` likely label errors among a loaded loader's labelled rows (train and validation),
    least likely label first. `run_seconds` (what one run of these settings took) lets the opening
    notice say the cost in seconds; `max_rows` looks at a seeded sample of that many rows at most."""
    if loader.task != "classification":
        raise ConfigError(f"{getattr(loader, 'path', 'the dataset')}: likely label errors are for "
                          "classification; a regression's evaluation lists its outliers")
    x, y, rows = labelled_rows(loader, max_rows, config.seed)
    num_classes = int(loader.num_classes)
    valid = (y >= 0) & (y < num_classes)
    x, y, rows = x[valid], y[valid], rows[valid]
    runs = (folds - 1) * len(y) / max(int(loader.num_train), 1)   # k trainings on (k-1)/k of the rows
    cost = f"about {runs:.1f} runs of these settings"
    if run_seconds:
        cost += f", ~{math.ceil(runs * run_seconds)} s"
    yield Notice(f"finding likely label errors: {folds} trainings of {config.epochs} epochs on "
                 f"{folds - 1}/{folds} of {len(y):,} rows each ({cost}; at most {max_seconds:.0f} s)")
    oos = yield from out_of_sample(x, y, num_classes, config, int(loader.batch_size), folds=folds,
                                   max_seconds=max_seconds, should_stop=should_stop)
    scored = np.flatnonzero(oos.scored)
    if not len(scored):
        return ()
    order, predicted = rank_label_issues(oos.probabilities[scored], y[scored])
    picked = scored[order[:max(limit, 0)]]
    classes = [str(c) for c in (loader.classes or range(num_classes))]
    sources = row_sources(loader, rows[picked]) if len(picked) else []
    out = []
    for i, at, source in zip(picked, order[:len(picked)], sources):
        p = oos.probabilities[i]
        guess = int(predicted[at])
        out.append(Suspect(row=int(rows[i]), label=classes[int(y[i])], predicted=classes[guess],
                           confidence=float(p[guess]), label_confidence=float(p[int(y[i])]), source=source))
    return tuple(out)


def labelled_rows(loader: BatchSource, max_rows: int | None = None, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and source rows of the train and validation splits together (a seeded sample of `max_rows`)."""
    splits = [s for s in (loader.train_data, getattr(loader, "val_data", None)) if s is not None and len(s.y)]
    sizes = [len(s.y) for s in splits]
    total = sum(sizes)
    take = np.arange(total) if max_rows is None or total <= max_rows else \
        np.sort(np.random.default_rng((seed, 17)).choice(total, max_rows, replace=False))
    xs, ys, rs = [], [], []
    offset = 0
    for split, size in zip(splits, sizes):
        mine = take[(take >= offset) & (take < offset + size)] - offset
        offset += size
        xs.append(np.asarray(split.x[mine], np.float32))
        ys.append(np.asarray(split.y[mine], np.int64))
        rs.append(np.asarray(split.rows[mine], np.int64))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(rs)
