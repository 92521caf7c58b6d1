"""Models sized from the data: `mlp` (two hidden ReLU layers) and `linear` (the old `DummyModel`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from udl_core.errors import ConfigError
from udl_core.events import DEFAULT_HIDDEN, MODEL_KINDS
from udl_core.mlx_runtime import mx, nn

__all__ = ["DEFAULT_HIDDEN", "MODEL_KINDS", "MLP", "DummyModel", "LinearModel", "ModelSpec", "build_model"]


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a model before loading its weights (saved in the JSON sidecar)."""

    kind: str
    in_dim: int
    out_dim: int
    task: str
    hidden: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """The spec saved by `to_dict`; saving.load_model validates a description before this."""
        try:
            return cls(kind=str(data["kind"]), in_dim=int(data["in_dim"]), out_dim=int(data["out_dim"]),
                       task=str(data["task"]), hidden=tuple(int(h) for h in data.get("hidden", ())))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ConfigError(f"not a saved model spec: {exc!r}") from None


class MLP(nn.Module):
    """in_dim -> hidden... (ReLU) -> out_dim."""

    def __init__(self, in_dim: int, out_dim: int, hidden: tuple[int, ...] = DEFAULT_HIDDEN) -> None:
        super().__init__()
        sizes = [in_dim, *hidden, out_dim]
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

    def __call__(self, x: mx.array) -> mx.array:
        for layer in self.layers[:-1]:
            x = nn.relu(layer(x))
        return self.layers[-1](x)


class LinearModel(nn.Module):
    """One `nn.Linear(in_dim, out_dim)`: the old script's `DummyModel`, sized from the data."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)

    def __call__(self, x: mx.array) -> mx.array:
        return self.linear(x)


DummyModel = LinearModel  # the old script's name


def build_model(spec: ModelSpec) -> nn.Module:
    """A fresh model for `spec`, initialised from MLX's global random state (seed it first)."""
    if spec.in_dim < 1 or spec.out_dim < 1:
        raise ConfigError(f"cannot build a model with {spec.in_dim} inputs and {spec.out_dim} outputs")
    if spec.kind == "mlp":
        return MLP(spec.in_dim, spec.out_dim, spec.hidden or DEFAULT_HIDDEN)
    if spec.kind == "linear":
        return LinearModel(spec.in_dim, spec.out_dim)
    raise ConfigError(f"unknown model {spec.kind!r}: choose one of {', '.join(MODEL_KINDS)}")
