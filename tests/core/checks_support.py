"""Datasets for the pipeline-check tests: clean ones of several shapes, and a fake loader to plant
bugs the real loader would never make (NaN after imputation, overlapping splits, unseeded shuffles)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from udl_core.loader import UnifiedDataLoader
from training_support import Batch, Split  # the same array-backed stand-ins


def write_csv(path: Path, columns: dict[str, list | np.ndarray]) -> Path:
    names = list(columns)
    rows = zip(*(columns[n] for n in names))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(names) + "\n")
        for row in rows:
            f.write(",".join(_cell(v) for v in row) + "\n")
    return path


def _cell(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.6g}"
    return str(value)


def load(path: Path, **kwargs) -> UnifiedDataLoader:
    return UnifiedDataLoader(path, **kwargs).load()


def three_classes(n: int = 150, seed: int = 0) -> dict[str, np.ndarray]:
    """An iris-like table: 4 measurements, 3 overlapping species, rows in random order."""
    rng = np.random.default_rng(seed)
    species = np.array(["setosa", "versicolor", "virginica"])
    y = rng.permutation(np.arange(n) % 3)
    centers = np.array([[5.0, 3.4, 1.5, 0.25], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.5, 2.0]])
    spread = np.array([0.4, 0.35, 0.5, 0.25])
    x = centers[y] + rng.normal(0, 1, (n, 4)) * spread
    cols = {name: np.round(x[:, j], 2) for j, name in enumerate(
        ["sepal_length", "sepal_width", "petal_length", "petal_width"])}
    cols["species"] = species[y]
    return cols


def regression(n: int = 5000, seed: int = 0) -> dict[str, np.ndarray]:
    """A regression table with numeric, categorical and missing values; the target is 'price'."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 5))
    city = rng.choice(np.array(["paris", "lyon", "nice", "lille"]), n)
    bump = {"paris": 2.0, "lyon": 0.5, "nice": 1.0, "lille": -0.5}
    y = 3 * x[:, 0] - 2 * x[:, 1] + np.sin(2 * x[:, 2]) + x[:, 3] * x[:, 4] \
        + np.vectorize(bump.get)(city) + rng.normal(0, 1.0, n)
    cols = {f"x{j}": x[:, j].copy() for j in range(5)}
    cols["x3"][rng.random(n) < 0.1] = np.nan          # missing values, imputed by the preprocessor
    cols["rooms"] = rng.integers(1, 8, n)
    cols["city"] = city
    cols["price"] = np.round(100 + 10 * y, 2)
    return cols


class FakeLoader:
    """The loader attributes the checks read (docs/api.md), over arrays, with seams to plant bugs.

    `order_fn(split, epoch) -> positions` replaces the seeded shuffle; `batch_fn(batch) -> batch`
    rewrites each batch; `delay` sleeps before each batch (a slow data source).
    """

    def __init__(self, x, y, *, task="classification", classes=None, batch_size=32, seed=0,
                 val_fraction=0.2, train_rows=None, val_rows=None, order_fn=None, batch_fn=None,
                 delay=0.0, path="fake.csv"):
        x = np.asarray(x, np.float32)
        y = np.asarray(y, np.int32 if task == "classification" else np.float32)
        if train_rows is None:
            order = np.random.default_rng(seed).permutation(len(x))
            n_val = int(round(len(x) * val_fraction))
            val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
        self.path = path
        self.task = task
        self.classes = tuple(classes) if classes is not None else \
            (tuple(str(c) for c in range(int(y.max()) + 1)) if task == "classification" else ())
        self.num_classes = len(self.classes) if task == "classification" else 1
        self.feature_names = [f"f{j}" for j in range(x.shape[1])]
        self.feature_dim = x.shape[1]
        self.batch_size = batch_size
        self.seed = seed
        self.drop_last = False
        self.train_data = Split(x[train_rows], y[train_rows], np.asarray(train_rows, np.int64))
        self.val_data = Split(x[val_rows], y[val_rows], np.asarray(val_rows, np.int64))
        self.num_train, self.num_val = len(train_rows), len(val_rows)
        self._order_fn, self._batch_fn, self._delay = order_fn, batch_fn, delay

    def __len__(self):
        return -(-self.num_train // self.batch_size)

    def _order(self, split, epoch):
        data = self.train_data if split == "train" else self.val_data
        if self._order_fn is not None:
            return self._order_fn(split, epoch, len(data.y))
        if split != "train":
            return np.arange(len(data.y))
        return np.random.default_rng((self.seed, epoch)).permutation(len(data.y))

    def get_batch(self, i, split="train", epoch=0):
        return next(b for b in self.batches(split, epoch) if b.index == i)

    def batches(self, split="train", epoch=0, prefetch=True):
        data = self.train_data if split == "train" else self.val_data
        order = self._order(split, epoch)
        for i, start in enumerate(range(0, len(order), self.batch_size)):
            if self._delay:
                time.sleep(self._delay)
            idx = order[start:start + self.batch_size]
            batch = Batch(i, data.x[idx], data.y[idx], data.rows[idx])
            yield self._batch_fn(batch) if self._batch_fn is not None else batch


def blobs(n: int = 600, classes: int = 3, dim: int = 4, seed: int = 0, spread: float = 1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2, (classes, dim))
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.normal(0, spread, (n, dim))
    x = (x - x.mean(0)) / x.std(0)
    return x.astype(np.float32), y.astype(np.int32)
