"""`BatchSource`: what the trainer, the checks and the health statistics read from a loader.

`UnifiedDataLoader` is one; the tests' array loaders are others. The protocol is structural
(`typing.Protocol`): nothing has to inherit from it. A loader may also offer `path` (named in
errors), `iter_load()` (a loader not yet loaded is loaded first), `release_pages(touched)` (pages
of a memory-mapped split given back as they are read), `streamed`, `schema`, `get_batch(i)`, `seed`
and `memory_budget`; the code that uses those asks for them with `getattr` and does without.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

__all__ = ["BatchSource", "SplitArrays"]


class SplitArrays(Protocol):
    """One split's (or one batch's) processed arrays: x [n, D] float32, y [n] (int32 classes or
    float32 targets) and `rows`, the Table row each came from."""

    @property
    def x(self) -> np.ndarray: ...

    @property
    def y(self) -> np.ndarray: ...

    @property
    def rows(self) -> np.ndarray: ...


class BatchSource(Protocol):
    """A loaded dataset, split and batched: the train and validation arrays and their batches."""

    @property
    def task(self) -> str: ...                          # "classification" or "regression"

    @property
    def classes(self) -> Sequence[str] | None: ...

    @property
    def num_classes(self) -> int: ...

    @property
    def feature_dim(self) -> int: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def num_train(self) -> int: ...

    @property
    def train_data(self) -> SplitArrays | None: ...     # None until the loader is loaded

    @property
    def val_data(self) -> SplitArrays | None: ...

    def __len__(self) -> int: ...                       # training batches per epoch

    def num_batches(self, split: str = "train") -> int: ...

    def order(self, split: str = "train", epoch: int = 0) -> np.ndarray: ...

    def batches(self, split: str = "train", epoch: int = 0, prefetch: bool = True) -> Iterator[SplitArrays]: ...
