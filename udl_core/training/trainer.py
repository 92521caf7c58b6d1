"""The MLX trainer: a generator over the loader's batches that yields step losses and epoch metrics.

`train(loader, config)` is the long job (docs/conventions.md, "Long jobs are generators"): the CLI prints its events, the GUI worker
emits them as signals, tests iterate it on a plain thread. The model, the optimizer and the compiled
step are built inside the generator, so everything MLX lives on the thread that iterates it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from udl_core.batch_source import BatchSource, SplitArrays
from udl_core.distributed import LOCAL, World
from udl_core.errors import ConfigError, DivergedError
from udl_core.events import (MODEL_KINDS, EpochMetrics, Evaluation, Notice, StepLoss, TrainConfig, TrainEvent,
                             run_job)
from udl_core.mlx_runtime import mx, nn
from udl_core.training.devices import device_name, resolve_device
from udl_core.training.evaluation import classification_evaluation, confusion_counts, regression_evaluation
from udl_core.training.kernel_cache import compile_notice
from udl_core.training.losses import predict_outputs
from udl_core.training.metrics import (chance_alarm, chance_from_counts, class_counts, plateau_alarm, r2_score,
                                       target_stats)
from udl_core.training.models import ModelSpec
from udl_core.training.steps import new_training, piece_inputs
from udl_core.values import check_seed

__all__ = ["EpochMetrics", "StepLoss", "TrainConfig", "TrainEvent", "TrainResult", "train", "train_model"]

log = logging.getLogger("udl_core.training")

_AGREE_EVERY = 8   # across processes: steps between two agreements on whether to stop
_EVAL_ROWS = 4096  # validation is forward-only, so it can use bigger batches than training


@dataclass
class TrainResult:
    """What a run leaves: the trained model (evaluated, safe to hand to another thread), its spec,
    every step's loss, the epoch metrics, and whether it was stopped early."""

    model: nn.Module
    spec: ModelSpec
    config: TrainConfig
    device: str
    classes: tuple[str, ...] | None
    target_mean: float
    target_std: float
    step_losses: np.ndarray
    epochs: list[EpochMetrics] = field(default_factory=list)
    seconds: float = 0.0
    samples: int = 0
    samples_per_s: float = 0.0
    stopped: bool = False
    evaluation: Evaluation | None = None   # of the last finished epoch's model on the validation rows

    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def epoch_losses(self) -> list[float]:
        return [m.train_loss for m in self.epochs]

    @property
    def final(self) -> EpochMetrics | None:
        return self.epochs[-1] if self.epochs else None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities [N, C] (classification) or values in the target's units [N] (regression)."""
        return predict_numpy(self.model, x, self.spec.task, self.target_mean, self.target_std)


def predict_numpy(model: nn.Module, x: np.ndarray, task: str, target_mean: float = 0.0,
                  target_std: float = 1.0) -> np.ndarray:
    """Run `model` over `x` in chunks and return numpy (see `predict_outputs`)."""
    outs = []
    for start in range(0, len(x), _EVAL_ROWS):
        out = predict_outputs(model, mx.array(np.ascontiguousarray(x[start:start + _EVAL_ROWS], np.float32)),
                              task, target_mean, target_std)
        outs.append(np.array(out))
    if outs:
        return np.concatenate(outs)
    width = (model_out_dim(model),) if task == "classification" else ()
    return np.zeros((0, *width), np.float32)


def model_out_dim(model: nn.Module) -> int:
    leaves = [v for k, v in nn.utils.tree_flatten(model.parameters()) if k.endswith("bias")]
    return int(leaves[-1].shape[0]) if leaves else 1


def _check_config(loader: BatchSource, config: TrainConfig) -> None:
    where = str(getattr(loader, "path", "the dataset"))
    check_seed(config.seed)
    if config.epochs < 1:
        raise ConfigError(f"epochs must be at least 1, not {config.epochs}")
    if not (config.learning_rate > 0 and math.isfinite(config.learning_rate)):
        raise ConfigError(f"the learning rate must be a positive number, not {config.learning_rate}")
    if config.model not in MODEL_KINDS:
        raise ConfigError(f"unknown model {config.model!r}: choose one of {', '.join(MODEL_KINDS)}")
    if config.model == "mlp" and (not config.hidden or any(int(h) < 1 for h in config.hidden)):
        raise ConfigError(f"hidden layer sizes must be positive, not {tuple(config.hidden)}")
    if config.report_every < 1:
        raise ConfigError(f"report_every must be at least 1, not {config.report_every}")
    if getattr(loader, "train_data", None) is None:
        raise ConfigError(f"{where}: the loader is not loaded; call loader.load() before training")
    if loader.num_train < 1:
        raise ConfigError(f"{where}: no training rows to train on (val_fraction leaves none)")
    if loader.task not in ("classification", "regression"):
        raise ConfigError(f"{where}: cannot train for task {loader.task!r}")


def _target_stats(loader: BatchSource, world: World = LOCAL) -> tuple[float, float]:
    """Mean and standard deviation of the training targets (regression), from the train split only
    (a sharded load: from every rank's part, summed across the ranks)."""
    if loader.task != "regression" or loader.train_data is None:
        return 0.0, 1.0
    if not _sharded(loader, world):
        return target_stats(loader.train_data.y)
    y = np.asarray(loader.train_data.y, dtype=np.float64)
    n, total = world.sum([y.size, float(y.sum())]).tolist()
    mean = total / max(n, 1.0)
    spread = float(world.sum([float(np.square(y - mean).sum())])[0])
    std = math.sqrt(spread / max(n, 1.0))
    return mean, std if std > 0 else 1.0


def _sharded(loader: BatchSource, world: World) -> bool:
    """Whether each rank holds only its part of the rows (then its totals are summed across ranks)."""
    return world.distributed and bool(getattr(loader, "sharded", False))


def _chance(loader: BatchSource, classes: int, world: World) -> float:
    """The chance loss of the training labels' frequencies: every rank's, in a sharded load."""
    assert loader.train_data is not None
    counts = class_counts(loader.train_data.y, classes)
    return chance_from_counts(world.sum(counts) if _sharded(loader, world) else counts, classes)


def train(loader: BatchSource, config: TrainConfig = TrainConfig(), *,
          should_stop: Callable[[], bool] | None = None, world: World | None = None
          ) -> Generator[TrainEvent, None, TrainResult]:
    """Train a model sized from `loader` and return a `TrainResult` (a loader not yet loaded is
    loaded first, and its `Progress` events pass through).

    Yields a `Notice` for a CPU fallback and one before a first run compiles MLX's CPU kernels
    (`kernel_cache.compile_notice`), a `StepLoss` every `config.report_every` steps and an
    `EpochMetrics` per epoch, then the `Evaluation` of the validation rows (made from the last
    epoch's pass). `should_stop()` is asked before every step; when it says yes the run ends
    cleanly with what it has (`stopped=True`). A NaN or infinite loss raises `DivergedError`.

    Across several processes (`world`, by default the loader's: udl_core/distributed.py) each rank
    trains on its piece of every global batch, the gradients are averaged every step, and the
    losses, metrics and evaluation are those of the global batches and of every rank's rows; a
    stop asked for on any rank stops every rank after the same step.
    """
    if getattr(loader, "train_data", None) is None and hasattr(loader, "iter_load"):
        yield from loader.iter_load()  # Progress and Notice events of the load
    _check_config(loader, config)
    device, notice = resolve_device(config.device)
    if notice is not None:
        yield notice
    world = world or getattr(loader, "world", None) or LOCAL
    # the first compiled step will wait for the C++ compiler (the step shared across processes is
    # a step of its own: it compiles kernels of its own)
    first_run = compile_notice(device, f"{loader.task}-{config.model}" + ("-shared" if world.distributed else ""))
    if first_run is not None:
        yield first_run
    with mx.stream(device):
        return (yield from _run(loader, config, device_name(device), should_stop, world))


def _run(loader: BatchSource, config: TrainConfig, device: str,
         should_stop: Callable[[], bool] | None, world: World) -> Generator[TrainEvent, None, TrainResult]:
    task = loader.task
    classification = task == "classification"
    spec = ModelSpec(kind=config.model, in_dim=int(loader.feature_dim),
                     out_dim=int(loader.num_classes) if classification else 1, task=task,
                     hidden=tuple(config.hidden) if config.model == "mlp" else ())
    if classification and spec.out_dim < 2:
        raise ConfigError(f"{getattr(loader, 'path', 'the dataset')}: classification needs at least two "
                          f"classes, found {spec.out_dim}")
    target_mean, target_std = _target_stats(loader, world)
    assert loader.train_data is not None  # _check_config made sure
    chance = _chance(loader, spec.out_dim, world) if classification else 0.0

    training = new_training(spec, config.learning_rate, seed=config.seed, target_mean=target_mean,
                            target_std=target_std, world=world)
    model, step, state = training.model, training.step, training.state

    classes = tuple(loader.classes) if classification and loader.classes is not None else None
    result = TrainResult(model=model, spec=spec, config=config, device=device, classes=classes,
                         target_mean=target_mean, target_std=target_std,
                         step_losses=np.zeros(0, np.float32))
    all_losses: list[np.ndarray] = []
    steps_per_epoch = len(loader) if hasattr(loader, "__len__") else 0
    train_seconds = 0.0
    val: dict[str, Any] = {}
    started = time.perf_counter()
    for epoch in range(config.epochs):
        epoch_start = time.perf_counter()
        run = _EpochRun(first_step=sum(map(len, all_losses)) + 1, steps_per_epoch=steps_per_epoch, world=world)
        yield from run.steps(loader, epoch, step, state, config, should_stop)
        all_losses.append(run.losses)
        train_seconds += run.wait_s + run.step_s
        result.samples += run.samples
        if run.stopped:
            result.stopped = True
            break
        train_loss = float(np.average(run.losses, weights=run.sizes)) if run.sizes else float("nan")
        val = _evaluate(model, loader, task, target_mean, target_std, world)
        history = [m.train_loss for m in result.epochs] + [train_loss]
        warnings = tuple(w for w in (
            plateau_alarm(history, config.plateau_epochs, config.plateau_tolerance),
            chance_alarm(train_loss, chance, config.chance_tolerance) if classification else None,
        ) if w)
        metrics = EpochMetrics(
            epoch=epoch + 1, epochs=config.epochs, steps=run.last_step, train_loss=train_loss,
            val_loss=val["loss"], val_accuracy=val["accuracy"], val_r2=val["r2"], val_mse=val["mse"],
            samples=run.samples, samples_per_s=run.samples / max(run.wait_s + run.step_s, 1e-9),
            seconds=time.perf_counter() - epoch_start, data_wait_s=run.wait_s, step_s=run.step_s,
            warnings=warnings, task=task)
        result.epochs.append(metrics)
        yield metrics
    result.step_losses = np.concatenate(all_losses) if all_losses else np.zeros(0, np.float32)
    result.seconds = time.perf_counter() - started
    result.samples_per_s = result.samples / max(train_seconds, 1e-9)
    result.evaluation = _evaluation(val, classes, spec.out_dim)
    if result.evaluation is not None:
        yield result.evaluation
    return result


def _evaluation(val: dict[str, Any], classes: tuple[str, ...] | None, num_classes: int) -> Evaluation | None:
    """The last validation pass's predictions made into an `Evaluation` (None without one)."""
    if val.get("confusion") is not None:
        return classification_evaluation(val["confusion"], classes or tuple(map(str, range(num_classes))))
    if val.get("predicted") is not None:
        return regression_evaluation(val["actual"], val["predicted"], val["rows"])
    if val.get("mae") is not None:   # a streamed split: the totals only
        return Evaluation(task="regression", rows=int(val["rows"]), r2=val["r2"], mae=val["mae"])
    return None


class _EpochRun:
    """The steps of one epoch: their losses, batch sizes, and where the time went."""

    def __init__(self, first_step: int, steps_per_epoch: int, world: World = LOCAL) -> None:
        self.world = world
        self.asked = False   # across processes: a stop asked for here, not yet agreed
        self.last_step = first_step - 1
        self.steps_per_epoch = steps_per_epoch
        self.losses = np.zeros(0, np.float32)
        self.sizes: list[int] = []
        self.samples = 0
        self.wait_s = self.step_s = 0.0
        self.stopped = False

    def steps(self, loader: BatchSource, epoch: int, step: Callable[..., mx.array],
              state: list[Any],
              config: TrainConfig, should_stop: Callable[[], bool] | None) -> Generator[StepLoss, None, None]:
        pending: list[mx.array] = []
        read: list[np.ndarray] = []
        batches: Iterator[SplitArrays] = iter(loader.batches("train", epoch=epoch))
        try:
            while True:
                asked = should_stop is not None and should_stop()
                if self.world.distributed:
                    # every rank must stop after the same step: the ranks agree every few steps (each
                    # agreement is a round trip of the ring, as long as a step's own on a small machine)
                    self.asked = self.asked or asked
                    asked = (self.last_step % _AGREE_EVERY == 0) and self.world.agree(self.asked)
                if asked:
                    self.stopped = True
                    break
                t0 = time.perf_counter()
                batch = next(batches, None)
                if batch is None:
                    break
                rows = _global_rows(batch)
                if self.world.distributed:
                    x, y, weight = piece_inputs(batch.x, batch.y, rows, self.world.size)
                    t1 = time.perf_counter()
                    loss = step(x, y, weight)
                else:
                    x, y = mx.array(batch.x), mx.array(batch.y)
                    t1 = time.perf_counter()
                    loss = step(x, y)
                mx.eval(state, loss)
                self.step_s += time.perf_counter() - t1
                self.wait_s += t1 - t0
                self.last_step += 1
                pending.append(loss)
                self.sizes.append(rows)
                self.samples += rows
                # reading a loss back costs a transfer: do it every report_every steps, not every step
                if self.last_step % config.report_every == 0:
                    read.append(_flush(pending, self.last_step, config.learning_rate, self.world))
                    busy = max(self.wait_s + self.step_s, 1e-9)
                    yield StepLoss(step=self.last_step, epoch=epoch + 1, loss=float(read[-1][-1]),
                                   epochs=config.epochs, step_in_epoch=len(self.sizes),
                                   steps_per_epoch=self.steps_per_epoch, samples_per_s=self.samples / busy,
                                   data_wait_share=self.wait_s / busy)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        if pending:
            read.append(_flush(pending, self.last_step, config.learning_rate, self.world))
        if read:
            self.losses = np.concatenate(read)


def _global_rows(batch: SplitArrays) -> int:
    """Rows of the global batch `batch` is a piece of (its own rows when one process trains)."""
    total = getattr(batch, "total", None)
    return int(len(batch.y) if total is None else total)


def _flush(pending: list[mx.array], last_step: int, learning_rate: float, world: World = LOCAL) -> np.ndarray:
    """Read the pending step losses back in one transfer; a NaN or inf among them ends the run.
    Across several processes each rank's losses are weighted pieces: summed over the ranks and
    divided by their number they are the global batches' losses, the same on every rank."""
    values = np.array(mx.stack(pending), dtype=np.float32) if len(pending) > 1 else \
        np.array([pending[0].item()], dtype=np.float32)
    if world.distributed:
        values = (world.sum(values) / world.size).astype(np.float32)
    first = last_step - len(values) + 1
    pending.clear()
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DivergedError(step=first + int(bad[0]), loss=float(values[bad[0]]), learning_rate=learning_rate)
    return values


def _evaluate(model: nn.Module, loader: BatchSource, task: str, target_mean: float,
              target_std: float, world: World = LOCAL) -> dict[str, Any]:
    """Validation loss and accuracy (or R^2 and MSE in the target's units), without gradients, and
    what the evaluation is made of: the confusion counts, or the predictions beside the targets."""
    none: dict[str, Any] = {"loss": None, "accuracy": None, "r2": None, "mse": None}
    split = getattr(loader, "val_data", None)
    if world.distributed and split is not None:
        return _shared_evaluate(model, loader, split, task, target_mean, target_std, world, none)
    if split is None or len(split.y) == 0:
        return none
    x_all, y_all = split.x, split.y
    n = len(y_all)
    # over the memory budget the split is memory-mapped: its pages are released as it is read
    release = getattr(loader, "release_pages", None) or (lambda touched: None)
    if task == "classification":
        chunks = ((x_all[i:i + _EVAL_ROWS], y_all[i:i + _EVAL_ROWS]) for i in range(0, n, _EVAL_ROWS))
        loss_sum, confusion = _classification_sums(model, chunks, release)
        correct = float(np.trace(confusion))
        return {**none, "loss": loss_sum / n, "accuracy": correct / n, "confusion": confusion}
    if isinstance(y_all, np.memmap):
        return {**none, **_streamed_regression(model, x_all, y_all, target_mean, target_std, release=release)}
    pred = predict_numpy(model, x_all, task, target_mean, target_std).astype(np.float64)
    targets = np.asarray(y_all, dtype=np.float64)
    mse = float(np.mean((pred - targets) ** 2))
    # the loss in training units (standardized targets) so it compares with train_loss
    return {**none, "loss": mse / target_std**2, "r2": r2_score(targets, pred), "mse": mse,
            "actual": targets, "predicted": pred, "rows": split.rows}


def _classification_sums(model: nn.Module, chunks: Iterable[tuple[np.ndarray, np.ndarray]],
                         release: Callable[[int], object] | None = None) -> tuple[float, np.ndarray]:
    """The summed cross-entropy and the confusion counts of `model` over (x, y) chunks of
    validation rows (`release(bytes)` after each: pages of a memory-mapped split given back)."""
    classes = model_out_dim(model)
    loss_sum, confusion = 0.0, np.zeros((classes, classes), np.int64)
    for x_part, y_part in chunks:
        x = mx.array(np.ascontiguousarray(x_part, np.float32))
        y_np = np.asarray(y_part, np.int32)
        y = mx.array(y_np)
        if release is not None:
            release(x.nbytes + y.nbytes)
        logits = model(x)
        loss = nn.losses.cross_entropy(logits, y, reduction="sum")
        predicted = mx.argmax(logits, axis=-1)
        mx.eval(loss, predicted)
        loss_sum += float(loss.item())
        confusion += confusion_counts(y_np, np.asarray(predicted), classes)
    return loss_sum, confusion


def _shared_evaluate(model: nn.Module, loader: BatchSource, split: SplitArrays, task: str, target_mean: float,
                     target_std: float, world: World, none: dict[str, Any]) -> dict[str, Any]:
    """`_evaluate` across several processes: each rank predicts its share of the validation rows
    (its own rows in a sharded load, else rows rank, rank + n, ...), and the sums are reduced, so
    every rank gets the numbers of every validation row (regression: the totals, no row list)."""
    share = np.arange(len(split.y)) if _sharded(loader, world) else np.arange(world.rank, len(split.y), world.size)
    x_all, y_all = split.x, np.asarray(split.y)
    if task == "classification":
        loss_sum, confusion = _classification_sums(
            model, ((x_all[at], y_all[at]) for at in np.array_split(share, max(1, -(-share.size // _EVAL_ROWS)))))
        loss_total = float(world.sum([loss_sum])[0])
        confusion = world.sum(confusion)
        n = int(confusion.sum())
        if n == 0:
            return none
        return {**none, "loss": loss_total / n, "accuracy": float(np.trace(confusion)) / n, "confusion": confusion}
    pred = predict_numpy(model, x_all[share], task, target_mean, target_std).astype(np.float64)
    targets = y_all[share].astype(np.float64)
    n, sse, sae, total, squares = world.sum([targets.size, float(((pred - targets) ** 2).sum()),
                                             float(np.abs(pred - targets).sum()), float(targets.sum()),
                                             float((targets ** 2).sum())]).tolist()
    if n == 0:
        return none
    spread = squares - total * total / n
    mse = sse / n
    return {**none, "loss": mse / target_std**2, "r2": 1.0 - sse / spread if spread > 0 else float("nan"),
            "mse": mse, "mae": sae / n, "rows": int(n)}


def _streamed_regression(model: nn.Module, x: np.ndarray, y: np.memmap, target_mean: float, target_std: float,
                         release: Callable[[int], object] | None = None, chunk: int = 1 << 18) -> dict[str, float]:
    """`_evaluate`'s regression numbers for a split over the memory budget, a chunk at a time."""
    n = len(y)
    sse = sae = total = 0.0
    for start in range(0, n, chunk):
        pred = predict_numpy(model, x[start:start + chunk], "regression", target_mean, target_std)
        part = np.asarray(y[start:start + chunk], dtype=np.float64)
        sse += float(((pred.astype(np.float64) - part) ** 2).sum())
        sae += float(np.abs(pred.astype(np.float64) - part).sum())
        total += float(part.sum())
        if release is not None:
            release(x[start:start + chunk].nbytes + part.nbytes)
    mean = total / n
    spread = sum(float(((np.asarray(y[i:i + chunk], dtype=np.float64) - mean) ** 2).sum()) for i in range(0, n, chunk))
    mse = sse / n
    return {"loss": mse / target_std**2, "r2": 1.0 - sse / spread if spread else float("nan"), "mse": mse,
            "mae": sae / n, "rows": n}


def train_model(loader: BatchSource, num_epochs: int = 3, is_metal: bool = True, *, model: str = "mlp",
                learning_rate: float = 1e-3, seed: int = 0,
                on_step: Callable[[int, float], object] | None = None,
                on_epoch: Callable[[EpochMetrics], object] | None = None,
                should_stop: Callable[[], bool] | None = None,
                device: str | None = None, report_every: int = 1,
                on_notice: Callable[[Notice], object] | None = None) -> TrainResult:
    """The old script's entry point, now real: train on `loader`'s batches and return the result.

    `is_metal=True` keeps its old meaning, "use the GPU when MLX has one" (falling back to the CPU
    with one logged notice); `is_metal=False` means the CPU. `device` ("auto" | "gpu" | "cpu")
    overrides it. The callbacks hold no Qt: `on_step(step, loss)`, `on_epoch(metrics)`, and
    `should_stop()`, asked before every step.
    """
    config = TrainConfig(epochs=num_epochs, learning_rate=learning_rate, model=model, seed=seed,
                         device=device or ("auto" if is_metal else "cpu"), report_every=report_every)

    def on_event(event: object) -> None:
        if isinstance(event, StepLoss):
            if on_step is not None:
                on_step(event.step, event.loss)
        elif isinstance(event, EpochMetrics):
            for warning in event.warnings:
                log.warning("epoch %d: %s", event.epoch, warning)
            if on_epoch is not None:
                on_epoch(event)
        elif isinstance(event, Notice):
            log.log(logging.WARNING if event.level == "warning" else logging.INFO, "%s", event.message)
            if on_notice is not None:
                on_notice(event)

    return run_job(train(loader, config, should_stop=should_stop), on_event)
