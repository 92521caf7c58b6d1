"""What every check reads from a loaded `UnifiedDataLoader`, gathered once and sampled to the budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from udl_core.batch_source import BatchSource
from udl_core.errors import ConfigError
from udl_core.training.checks._result import CheckBudget

__all__ = ["CheckContext", "fmt", "name_list"]


def fmt(value: float) -> str:
    """A number as a person reads it in a sentence: 3 significant digits, no noise."""
    if value != value:  # NaN
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.3g}"


def name_list(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass
class CheckContext:
    """A loaded loader plus the samples the checks share; arrays are views, never copies of the data."""

    loader: BatchSource
    budget: CheckBudget
    seed: int
    task: str
    num_classes: int
    classes: tuple[str, ...]
    feature_names: list[str]
    train_x: np.ndarray
    train_y: np.ndarray
    train_rows: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    val_rows: np.ndarray
    sample: np.ndarray            # positions in the train split, sorted, at most budget.sample_rows
    val_sample: np.ndarray        # positions in the val split, at most budget.eval_rows
    epoch_hashes: list[str] | None = None   # batch hashes of train epoch 0, filled by the batch checks
    shared: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_loader(cls, loader: BatchSource, budget: CheckBudget, seed: int) -> CheckContext:
        train = getattr(loader, "train_data", None)
        if train is None:
            raise ConfigError(f"{where(loader)}: the loader is not loaded; call loader.load() before the checks")
        val = getattr(loader, "val_data", None)
        task = str(loader.task)
        empty_x = np.zeros((0, np.asarray(train.x).shape[1]), np.float32)
        val_x = np.asarray(val.x) if val is not None else empty_x
        val_y = np.asarray(val.y) if val is not None else np.zeros(0, np.asarray(train.y).dtype)
        val_rows = np.asarray(val.rows) if val is not None else np.zeros(0, np.int64)
        rng = np.random.default_rng(seed)
        n_train, n_val = len(train.y), len(val_y)
        width = max(int(np.prod(np.asarray(train.x).shape[1:])), 1)
        # wide rows (images) get fewer sampled rows, so a sample stays within `sample_values` numbers
        rows = max(min(budget.sample_rows, budget.sample_values // width), 256)
        eval_rows = max(min(budget.eval_rows, budget.sample_values // (4 * width)), 128)
        sample = np.arange(n_train) if n_train <= rows else np.sort(rng.choice(n_train, rows, replace=False))
        val_sample = np.arange(n_val) if n_val <= eval_rows else \
            np.sort(rng.choice(n_val, eval_rows, replace=False))
        classes = tuple(str(c) for c in (getattr(loader, "classes", None) or ()))
        num_classes = int(getattr(loader, "num_classes", len(classes) or 1))
        names = list(getattr(loader, "feature_names", None) or [])
        if len(names) != width:
            names = [f"f{i}" for i in range(width)]
        return cls(loader=loader, budget=budget, seed=seed, task=task, num_classes=num_classes,
                   classes=classes, feature_names=names, train_x=np.asarray(train.x),
                   train_y=np.asarray(train.y), train_rows=np.asarray(train.rows), val_x=val_x,
                   val_y=val_y, val_rows=val_rows, sample=sample, val_sample=val_sample)

    @property
    def classification(self) -> bool:
        return self.task == "classification"

    @property
    def where(self) -> str:
        return where(self.loader)

    @property
    def label_name(self) -> str:
        schema = getattr(self.loader, "schema", None)
        return str(getattr(schema, "label", None) or "label")

    def class_name(self, index: int) -> str:
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    def touched(self, nbytes: int) -> None:
        """Tell a streamed loader that `nbytes` of its memory-mapped arrays were read, so that
        their pages are released as a check walks them (a no-op for other loaders)."""
        release = getattr(self.loader, "release_pages", None)
        if release is not None:
            release(nbytes)

    def rows_of(self, array: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """`array[positions]` (sorted positions): for a streamed loader read a span at a time with
        the pages released between, since one value read from a spill map maps its whole folio."""
        if not getattr(self.loader, "streamed", False) or not len(positions):
            return array[positions]
        from udl_core.batching import Split, gather

        empty = np.broadcast_to(np.int8(0), (len(array),))
        return gather(Split(array, empty, empty), positions, self.touched)[0]

    @cached_property
    def sample_x(self) -> np.ndarray:
        """The sampled training rows of x, read once (checks must not write to it)."""
        return self.rows_of(self.train_x, self.sample)

    def sample_xy(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sample_x, self.train_y[self.sample]

    def all_y(self) -> np.ndarray:
        return np.concatenate([self.train_y, self.val_y]) if len(self.val_y) else self.train_y


def where(loader: object) -> str:
    return str(getattr(loader, "path", None) or "the dataset")
