"""One compiled step and one target standardisation for the trainer, the checks and the warm-up."""

from __future__ import annotations

import numpy as np
import pytest
from training_support import on_thread

from udl_core.training.metrics import target_stats
from udl_core.training.models import ModelSpec
from udl_core.training.steps import new_training


def test_target_stats_skip_non_finite_values_and_read_a_memory_map_in_chunks(tmp_path):
    y = np.array([1.0, 2.0, np.nan, 4.0, np.inf, 5.0], np.float32)
    mean, std = target_stats(y)
    assert mean == pytest.approx(3.0) and std == pytest.approx(np.std([1.0, 2.0, 4.0, 5.0]))
    mapped = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float32, shape=y.shape)
    mapped[:] = y
    assert target_stats(mapped) == pytest.approx((mean, std))
    assert target_stats(np.full(5, 7.0)) == (7.0, 1.0)          # constant: divide by 1, not 0
    assert target_stats(np.array([np.nan])) == (0.0, 1.0)


def _two_steps(seed):
    spec = ModelSpec("mlp", 3, 1, "regression", (8,))
    training = new_training(spec, 1e-2, seed=seed, target_mean=10.0, target_std=2.0)
    import mlx.core as mx

    x = mx.array(np.arange(12, dtype=np.float32).reshape(4, 3))
    y = mx.array(np.array([9.0, 11.0, 10.0, 12.0], np.float32))
    losses = []
    for _ in range(2):
        loss = training.step(x, y)
        mx.eval(training.state, loss)
        losses.append(loss.item())
    assert training.loss_fn(training.model, x, y).item() == pytest.approx(
        float(np.mean(((np.array(training.model(x))[:, 0]) - (np.array(y) - 10.0) / 2.0) ** 2)), rel=1e-4)
    return losses


def test_new_training_is_seeded_and_its_step_learns():
    first, again = on_thread(_two_steps, 3), on_thread(_two_steps, 3)
    assert first == again and first[1] < first[0]
