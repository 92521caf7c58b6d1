"""The one compiled training step: Adam over a loss, the way every MLX path in UDL trains.

The trainer, the checks' short trainings and the window's kernel warm-up all build it here
(`new_training`: the model, its task's loss and the step), so the warm-up compiles the very
kernels a run will use and a change to the step is made once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from udl_core.distributed import LOCAL, World
from udl_core.mlx_runtime import mx, nn, optim
from udl_core.mlx_threads import note_mlx_thread
from udl_core.training.losses import loss_for_task
from udl_core.training.models import ModelSpec, build_model

__all__ = ["SharedStep", "Step", "Training", "adam_step", "new_training", "piece_inputs", "shared_adam_step"]

Step = Callable[[mx.array, mx.array], mx.array]
SharedStep = Callable[[mx.array, mx.array, mx.array], mx.array]   # (x, y, weight): one of several processes


@dataclass(frozen=True)
class Training:
    """A model ready to train: the loss `loss_fn(model, x, y)`, the compiled `step(x, y)` and the
    `state` to `mx.eval` after each step."""

    model: nn.Module
    loss_fn: Callable[[nn.Module, mx.array, mx.array], mx.array]
    step: Callable[..., mx.array]   # a `Step`, or a `SharedStep` for one of several processes
    state: list[Any]


def new_training(spec: ModelSpec, learning_rate: float, *, seed: int | None = None, target_mean: float = 0.0,
                 target_std: float = 1.0, world: World = LOCAL) -> Training:
    """A freshly initialised model for `spec` (seeded when `seed` is given), the loss of its task
    (a regression target standardised by `target_mean` and `target_std`) and the Adam step over it.

    Call it on the thread that will run the step (MLX streams are per thread); the thread is noted
    so that the interpreter waits for it at exit (mlx_threads.py)."""
    note_mlx_thread()
    if seed is not None:
        mx.random.seed(seed)
    model = build_model(spec)
    mx.eval(model.parameters())
    loss_fn = loss_for_task(spec.task, target_mean, target_std)
    if world.distributed:
        shared, state = shared_adam_step(model, loss_fn, learning_rate, world)
        return Training(model, loss_fn, shared, state)
    step, state = adam_step(model, loss_fn, learning_rate)
    return Training(model, loss_fn, step, state)


def adam_step(model: nn.Module, loss_fn: Callable[..., mx.array], learning_rate: float) -> tuple[Step, list[Any]]:
    """`(step, state)`: `step(x, y)` runs one Adam update of `model` on `loss_fn(model, x, y)` and
    returns the loss; `state` is everything it changes, to `mx.eval` after each step.

    Build it on the thread that will run it (MLX streams are per thread). The step closes over
    locals only, so it and its arrays are freed with the caller's last reference to it.
    """
    optimizer = optim.Adam(learning_rate=learning_rate)
    loss_and_grad = nn.value_and_grad(model, loss_fn)
    state = [model.state, optimizer.state, mx.random.state]  # all of it: not the model alone

    @partial(mx.compile, inputs=state, outputs=state)
    def step(x: mx.array, y: mx.array) -> mx.array:
        loss, grads = loss_and_grad(model, x, y)
        optimizer.update(model, grads)
        return loss

    return step, state


def shared_adam_step(model: nn.Module, loss_fn: Callable[..., mx.array], learning_rate: float, world: World
                     ) -> tuple[SharedStep, list[Any]]:
    """`adam_step` for one of several processes: `step(x, y, weight)` takes this rank's piece of a
    global batch and `weight` = ranks * piece rows / global batch rows (0 for an empty piece, run
    on a placeholder row). The weighted losses' gradients averaged over the ranks
    (`mlx.nn.average_gradients`) are the gradient of the global batch's mean loss, so every rank
    makes the same Adam update a single process would on the whole batch. Returns the weighted
    loss: their sum over the ranks, divided by the ranks, is the global batch's loss."""
    optimizer = optim.Adam(learning_rate=learning_rate)

    def weighted(model: nn.Module, x: mx.array, y: mx.array, weight: mx.array) -> mx.array:
        return loss_fn(model, x, y) * weight

    loss_and_grad = nn.value_and_grad(model, weighted)
    state = [model.state, optimizer.state, mx.random.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def step(x: mx.array, y: mx.array, weight: mx.array) -> mx.array:
        loss, grads = loss_and_grad(model, x, y, weight)
        optimizer.update(model, nn.average_gradients(grads, group=world.group))
        return loss

    return step, state


def piece_inputs(x: np.ndarray, y: np.ndarray, rows: int, ranks: int) -> tuple[mx.array, mx.array, mx.array]:
    """A `SharedStep`'s (x, y, weight) for this rank's piece (x, y) of a global batch of `rows`
    rows: weight = ranks * its rows / rows. An empty piece runs on one placeholder row of zeros
    with weight 0 (no gradient)."""
    if len(y):
        return mx.array(x), mx.array(y), mx.array(ranks * len(y) / rows, dtype=mx.float32)
    return (mx.array(np.zeros((1, *x.shape[1:]), x.dtype)), mx.array(np.zeros(1, y.dtype)),
            mx.array(0.0, dtype=mx.float32))
