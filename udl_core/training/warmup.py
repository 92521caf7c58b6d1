"""Warm MLX's compiled training step before anyone waits for it.

The first compiled step on a machine makes MLX's CPU backend compile its kernels (11.7 s measured;
see `kernel_cache`). `warm_step_job` runs the trainer's step once, on a few rows of zeros shaped
like the dataset, so that the kernels exist by the time the user presses Run. It is a job like the
others (docs/conventions.md, "Long jobs are generators"): the window runs it on its one MLX thread; stopping it between its events
cancels it (the compile itself, once started, runs to its end and only helps the next step).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass

from udl_core.events import Notice
from udl_core.mlx_runtime import mx
from udl_core.training.devices import resolve_device
from udl_core.training.kernel_cache import compile_notice
from udl_core.training.models import ModelSpec
from udl_core.training.steps import new_training

__all__ = ["WarmResult", "warm_step_job"]

WARM_ROWS = 8


@dataclass(frozen=True)
class WarmResult:
    """How long the warm step took, whether it had to compile the kernels, and for what shape."""

    seconds: float
    compiled: bool
    feature_dim: int
    task: str


def warm_step_job(feature_dim: int = 4, out_dim: int = 3, task: str = "classification", model: str = "mlp",
                  device: str = "auto") -> Generator[Notice | None, None, WarmResult]:
    """One compiled Adam step of the trainer's model and loss on `WARM_ROWS` rows of zeros.

    Yields None first (a chance to be cancelled before anything runs), then the first-run
    `Notice` when the kernels are not there yet; returns a `WarmResult`.
    """
    yield None
    started = time.perf_counter()
    resolved, _ = resolve_device(device)
    notice = compile_notice(resolved, f"{task}-{model}")
    if notice is not None:
        yield notice
    classification = task == "classification"
    out_dim = max(int(out_dim), 2) if classification else 1
    with mx.stream(resolved):
        training = new_training(ModelSpec(model, max(int(feature_dim), 1), out_dim, task), 1e-3)
        step, state = training.step, training.state

        x = mx.zeros((WARM_ROWS, max(int(feature_dim), 1)))
        y = mx.zeros((WARM_ROWS,), mx.int32 if classification else mx.float32)
        mx.eval(state, step(x, y))
    return WarmResult(time.perf_counter() - started, notice is not None, max(int(feature_dim), 1), task)
