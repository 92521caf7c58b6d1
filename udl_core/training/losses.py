"""Loss by task: cross-entropy for classification, MSE on standardized targets for regression."""

from __future__ import annotations

from collections.abc import Callable

from udl_core.errors import ConfigError
from udl_core.mlx_runtime import mx, nn

__all__ = ["LossFn", "loss_for_task", "predict_outputs"]

LossFn = Callable[[nn.Module, mx.array, mx.array], mx.array]


def _cross_entropy(model: nn.Module, x: mx.array, y: mx.array) -> mx.array:
    return nn.losses.cross_entropy(model(x), y, reduction="mean")


def loss_for_task(task: str, target_mean: float = 0.0, target_std: float = 1.0) -> LossFn:
    """`loss(model, x, y) -> scalar` for `task`; regression targets are standardized inside the loss."""
    if task == "classification":
        return _cross_entropy
    if task == "regression":
        mean, scale = float(target_mean), 1.0 / float(target_std)

        def mse(model: nn.Module, x: mx.array, y: mx.array) -> mx.array:
            return mx.mean((model(x)[:, 0] - (y - mean) * scale) ** 2)

        return mse
    raise ConfigError(f"unknown task {task!r}: expected classification or regression")


def predict_outputs(model: nn.Module, x: mx.array, task: str, target_mean: float = 0.0,
                    target_std: float = 1.0) -> mx.array:
    """Class probabilities [B, C] for classification, values in the target's units [B] for regression."""
    out = model(x)
    if task == "classification":
        return mx.softmax(out, axis=-1)
    return out[:, 0] * target_std + target_mean
