"""The distributed check: is a run over several processes the run one process would make?

Run by `udl check PATH --distributed` under `mlx.launch`, on every rank at once (each result
needs every rank's part, gathered with `World.gather`), on a loader built with the world:

* shards: the ranks' pieces of epoch 0 are disjoint, and together they are every training row
  once (every rank's own rows, in a sharded load);
* steps: every rank runs the same number of steps an epoch (no rank waits for a gradient that
  never comes);
* statistics: the fitted preprocessing is the same on every rank, to the bit;
* weights: after one shared training step on the first global batch, the weights are the same
  on every rank, to the bit.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from udl_core.distributed import World
from udl_core.mlx_runtime import mx, nn
from udl_core.training.checks._result import CheckResult
from udl_core.training.models import ModelSpec
from udl_core.training.steps import new_training, piece_inputs

__all__ = ["distributed_checks"]

_NAME = "distributed"


def distributed_checks(loader: Any, world: World, seed: int = 0) -> list[CheckResult]:
    """The four results above, the same on every rank (each rank calls it; it blocks until all do)."""
    rows = np.concatenate([np.asarray(b.rows, np.int64) for b in loader.batches("train", 0, prefetch=False)]
                          + [np.zeros(0, np.int64)])
    return [_shards(loader, world, rows), _steps(loader, world), _statistics(loader, world),
            _weights(loader, world, seed)]


def _shards(loader: Any, world: World, rows: np.ndarray) -> CheckResult:
    name = f"{_NAME}.shards"
    every = world.gather_rows(rows)
    unique = np.unique(every)
    repeated = every.size - unique.size
    own = np.asarray(loader.train_data.rows, np.int64)
    # every rank holding every row: the ranks' pieces are the training split; sharded: each its own rows
    expected = world.gather_rows(own) if getattr(loader, "sharded", False) else own
    missing = np.setdiff1d(expected, unique).size
    if repeated or missing or unique.size != np.unique(expected).size:
        return CheckResult(name, "fail", f"the {world.size} processes' batches of epoch 0 repeat {repeated} "
                           f"training row(s) and leave out {missing}.",
                           "Every process must use the same seed, split and batch size.",
                           {"repeated": repeated, "missing": missing})
    return CheckResult(name, "pass", f"the {world.size} processes' batches of epoch 0 are disjoint and cover "
                       f"all {unique.size:,} training rows once.", details={"rows": int(unique.size)})


def _steps(loader: Any, world: World) -> CheckResult:
    name = f"{_NAME}.steps"
    counts = [int(c) for c in world.gather(len(loader))]
    if len(set(counts)) > 1:
        return CheckResult(name, "fail", f"the processes run different numbers of steps an epoch: {counts}.",
                           "Every process must load the same dataset with the same options.", {"steps": counts})
    return CheckResult(name, "pass", f"every process runs {counts[0]:,} steps an epoch.", details={"steps": counts})


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _statistics(loader: Any, world: World) -> CheckResult:
    name = f"{_NAME}.statistics"
    prints = world.gather(_fingerprint(loader.preprocessor.to_dict()))
    differ = [r for r, p in enumerate(prints) if p != prints[0]]
    if differ:
        return CheckResult(name, "fail", f"the fitted preprocessing of process(es) {differ} differs from "
                           "process 0's.", "Every process must read the same file with the same options.")
    return CheckResult(name, "pass", f"the fitted preprocessing is identical on all {world.size} processes.")


def _weights(loader: Any, world: World, seed: int) -> CheckResult:
    name = f"{_NAME}.weights"
    classification = loader.task == "classification"
    spec = ModelSpec("mlp", int(loader.feature_dim), int(loader.num_classes) if classification else 1, loader.task,
                     (64, 64))
    training = new_training(spec, 1e-3, seed=seed, world=world)
    batch = loader.get_batch(0)
    mx.eval(training.state, training.step(*piece_inputs(batch.x, batch.y, batch.global_size, world.size)))
    leaves = nn.utils.tree_flatten(training.model.parameters())
    digest = hashlib.sha256(b"".join(np.asarray(v).tobytes() for _, v in leaves)).hexdigest()
    prints = world.gather(digest)
    differ = [r for r, p in enumerate(prints) if p != prints[0]]
    if differ:
        return CheckResult(name, "fail", f"after one shared step the weights of process(es) {differ} differ from "
                           "process 0's.", "Every process must start from the same seed and average its gradients.")
    return CheckResult(name, "pass", f"after one shared step the weights are identical on all {world.size} "
                       "processes.")
