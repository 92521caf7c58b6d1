"""Small frozen events that UDL's long jobs yield (docs/conventions.md, "Long jobs are generators").

Front ends iterate a job and react to each event, dispatching on the event's type; nothing here
knows about Qt or imports MLX, so a window or a script can import every event (and the training
configuration) without loading MLX. Events carry plain floats, ints, strings and numpy arrays,
never `mx.array`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_HIDDEN",
    "MODEL_KINDS",
    "EpochMetrics",
    "Evaluation",
    "Notice",
    "Outlier",
    "Progress",
    "StepLoss",
    "Suspect",
    "TrainConfig",
    "TrainEvent",
    "run_job",
]

R = TypeVar("R")


@dataclass(frozen=True)
class Progress:
    """Work done so far in one stage of a job (`total` is None when unknown).

    A reading stage counts rows in `done` / `total` (the total may be an estimate) and, where
    the reader knows them, bytes of the file in `bytes_done` / `bytes_total`: the file's size is
    exact where a text file's row count is not, so the fraction is taken from the bytes first.
    """

    stage: str
    done: int
    total: int | None = None
    message: str = ""
    bytes_done: int | None = None
    bytes_total: int | None = None

    @property
    def fraction(self) -> float | None:
        if self.bytes_total and self.bytes_done is not None:
            return min(1.0, self.bytes_done / self.bytes_total)
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


@dataclass(frozen=True)
class Notice:
    """Something the user should read: `level` is "info" or "warning"."""

    message: str
    level: str = "info"


MODEL_KINDS: tuple[str, ...] = ("mlp", "linear")
DEFAULT_HIDDEN: tuple[int, ...] = (64, 64)


@dataclass(frozen=True)
class TrainConfig:
    """How to train. The batch size, shuffle and split belong to the loader."""

    epochs: int = 3
    learning_rate: float = 1e-3
    model: str = "mlp"
    hidden: tuple[int, ...] = DEFAULT_HIDDEN
    device: str = "auto"
    seed: int = 0
    report_every: int = 1          # steps between StepLoss events (each one reads the loss back)
    plateau_epochs: int = 3
    plateau_tolerance: float = 0.01
    chance_tolerance: float = 0.05


@dataclass(frozen=True)
class StepLoss:
    """The training loss after optimizer step `step` (counted from 1 over the whole run), with where
    the run stands (for a progress bar) and this epoch's running throughput so far."""

    step: int
    epoch: int
    loss: float
    epochs: int = 0
    step_in_epoch: int = 0
    steps_per_epoch: int = 0
    samples_per_s: float = 0.0
    data_wait_share: float = 0.0


@dataclass(frozen=True)
class EpochMetrics:
    """One finished epoch. `val_*` are None without validation rows; accuracy for classification,
    R^2 and MSE (in the target's units) for regression. `data_wait_s` is the time spent waiting
    for batches, `step_s` the time in the compiled step: their ratio says who is the bottleneck."""

    epoch: int
    epochs: int
    steps: int
    train_loss: float
    val_loss: float | None
    val_accuracy: float | None
    val_r2: float | None
    val_mse: float | None
    samples: int
    samples_per_s: float
    seconds: float
    data_wait_s: float
    step_s: float
    warnings: tuple[str, ...] = ()
    task: str = "classification"

    def to_dict(self) -> dict[str, Any]:
        """The `udl train --json` epoch event (docs/conventions.md, "Contracts"): accuracy or R^2/MSE by task."""
        event: dict[str, Any] = {"event": "epoch", "epoch": self.epoch, "train_loss": self.train_loss,
                                 "val_loss": self.val_loss}
        if self.task == "regression":
            event.update(val_r2=self.val_r2, val_mse=self.val_mse)
        else:
            event["val_accuracy"] = self.val_accuracy
        event.update(samples_per_s=self.samples_per_s, seconds=self.seconds, data_wait_s=self.data_wait_s,
                     step_s=self.step_s, warnings=list(self.warnings))
        return event


@dataclass(frozen=True)
class Suspect:
    """A row whose given label the model finds unlikely (out of sample): `row` is the loader's source
    row index, `confidence` the probability of `predicted`, `label_confidence` that of `label`, and
    `source` where the row lives ("file.csv:17", an image's path, an array index)."""

    row: int
    label: str
    predicted: str
    confidence: float
    label_confidence: float
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "label": self.label, "predicted": self.predicted, "confidence": self.confidence,
                "label_confidence": self.label_confidence, "source": self.source}


@dataclass(frozen=True)
class Outlier:
    """A validation row of a regression whose residual (actual - predicted) is far from the others'."""

    row: int
    actual: float
    predicted: float
    z: float                       # the residual in standard deviations of the residuals

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "actual": self.actual, "predicted": self.predicted, "z": self.z}


@dataclass(frozen=True)
class Evaluation:
    """What the trained model says about the validation rows (udl_core/training/evaluation.py).

    Classification: `confusion` [C, C] counts (rows the given class, columns the predicted one) and
    per-class `precision`, `recall`, `f1`, `support`, with their macro means (over the classes with
    rows or predictions) and their support-weighted means.
    Regression: R^2 and the MAE in the target's units, and the largest standardized residuals as
    `outliers`. `suspects` are likely label errors, filled only when they were looked for."""

    task: str
    rows: int
    classes: tuple[str, ...] = ()
    confusion: Any = None          # np.ndarray [C, C] int64
    precision: tuple[float, ...] = ()
    recall: tuple[float, ...] = ()
    f1: tuple[float, ...] = ()
    support: tuple[int, ...] = ()
    accuracy: float | None = None
    macro: Mapping[str, float] = field(default_factory=dict)      # precision, recall, f1
    weighted: Mapping[str, float] = field(default_factory=dict)
    r2: float | None = None
    mae: float | None = None
    outliers: tuple[Outlier, ...] = ()
    suspects: tuple[Suspect, ...] = ()

    def __str__(self) -> str:
        if self.task == "regression":
            return f"evaluation on {self.rows} validation rows: R2 {_num(self.r2, '.3g')}, MAE {_num(self.mae, '.4g')}"
        return (f"evaluation on {self.rows} validation rows: accuracy {_num(self.accuracy, '.3f')}, "
                f"macro F1 {_num(self.macro.get('f1'), '.3f')}")

    def to_dict(self) -> dict[str, Any]:
        """The `udl train --json` evaluation event (docs/training.md, "The evaluation")."""
        event: dict[str, Any] = {"event": "evaluation", "task": self.task, "rows": self.rows}
        if self.task == "regression":
            event.update(r2=self.r2, mae=self.mae, outliers=[o.to_dict() for o in self.outliers])
            return event
        event.update(
            classes=list(self.classes),
            confusion=[[int(v) for v in line] for line in (self.confusion if self.confusion is not None else [])],
            per_class={c: {"precision": p, "recall": r, "f1": f, "support": int(s)} for c, p, r, f, s in
                       zip(self.classes, self.precision, self.recall, self.f1, self.support)},
            accuracy=self.accuracy, macro=dict(self.macro), weighted=dict(self.weighted),
            suspects=[s.to_dict() for s in self.suspects])
        return event


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None or value != value else format(value, spec)


TrainEvent = StepLoss | EpochMetrics | Notice | Progress | Evaluation
"""What `udl_core.training.train` yields."""


def run_job(job: Generator[Any, Any, R], on_event: Callable[[Any], object] | None = None) -> R:
    """Run a job to the end and return what it returns, handing each event to `on_event`."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            result: R = stop.value
            return result
        if on_event is not None:
            on_event(event)
