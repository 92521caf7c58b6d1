"""The one compiled training step: Adam over a loss, the way every MLX path in UDL trains.

The trainer, the checks' short trainings and the window's kernel warm-up all build it here, so
the warm-up compiles the very kernels a run will use and a change to the step is made once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim

__all__ = ["Step", "adam_step"]

Step = Callable[[mx.array, mx.array], mx.array]


def adam_step(model: nn.Module, loss_fn: Callable[..., mx.array], learning_rate: float) -> tuple[Step, list]:
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
