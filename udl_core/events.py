"""Small frozen events that UDL's long jobs yield (docs/conventions.md, "Long jobs are generators").

Front ends iterate a job and react to each event, dispatching on the event's type; nothing here
knows about Qt or imports MLX, so a window or a script can import every event (and the training
configuration) without loading MLX. Events carry plain floats, ints, strings and numpy arrays,
never `mx.array`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_HIDDEN",
    "MODEL_KINDS",
    "EpochMetrics",
    "Notice",
    "Progress",
    "StepLoss",
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


TrainEvent = StepLoss | EpochMetrics | Notice | Progress
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
