"""Helpers for the training tests: synthetic datasets and a tiny in-memory loader.

`ArrayLoader` offers the loader attributes the trainer reads (docs/api.md) over numpy arrays, so the
trainer's tests do not depend on file parsing; the end-to-end tests use the real `UnifiedDataLoader`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray


@dataclass(frozen=True)
class Batch:
    index: int
    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray


class ArrayLoader:
    def __init__(self, x, y, *, task, classes=None, batch_size=32, seed=0, val_fraction=0.2, path="arrays"):
        x = np.asarray(x, np.float32)
        y = np.asarray(y, np.int32 if task == "classification" else np.float32)
        order = np.random.default_rng(seed).permutation(len(x))
        n_val = int(round(len(x) * val_fraction))
        val, tr = np.sort(order[:n_val]), np.sort(order[n_val:])
        self.path = path
        self.task = task
        self.classes = tuple(classes) if classes is not None else None
        self.num_classes = len(self.classes) if task == "classification" else 1
        self.feature_dim = x.shape[1]
        self.batch_size = batch_size
        self.seed = seed
        self.train_data = Split(x[tr], y[tr], tr)
        self.val_data = Split(x[val], y[val], val)
        self.num_train, self.num_val = len(tr), len(val)

    def __len__(self):
        return -(-self.num_train // self.batch_size)

    def batches(self, split="train", epoch=0, prefetch=True):
        data = self.train_data if split == "train" else self.val_data
        order = np.random.default_rng([self.seed, epoch]).permutation(len(data.y))
        for i, start in enumerate(range(0, len(order), self.batch_size)):
            idx = order[start:start + self.batch_size]
            yield Batch(i, data.x[idx], data.y[idx], data.rows[idx])


def blobs(n=600, classes=3, dim=4, seed=0, spread=0.3):
    """A separable classification problem: `classes` well-apart Gaussian blobs."""
    rng = np.random.default_rng(seed)
    centers = np.zeros((classes, dim))
    for k in range(classes):  # 4 apart along distinct axes: well separated for spread <= 1
        centers[k, k % dim] = 4.0 if k < dim else -4.0
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.normal(0, spread, (n, dim))
    return x.astype(np.float32), y.astype(np.int32)


def linear_data(n=600, dim=3, seed=0, noise=0.1, scale=50.0, offset=1000.0):
    """y = x @ w * scale + offset + noise: targets far from zero mean and unit variance on purpose."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, dim))
    w = rng.normal(0, 1, dim)
    y = (x @ w + rng.normal(0, noise, n)) * scale + offset
    return x.astype(np.float32), y.astype(np.float32)


def on_thread(fn, *args, **kwargs):
    """Run `fn` on a worker thread (as the GUI does) and return its result or raise its error."""
    box = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed back to the test thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "training thread did not finish"
    if "error" in box:
        raise box["error"]
    return box["value"]
