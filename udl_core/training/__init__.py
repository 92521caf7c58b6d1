"""Smoke training in MLX: models sized from the data, a compiled trainer, devices, saving, export.

`train(loader, config)` is the generator the front ends drive; `train_model(loader, num_epochs=3,
is_metal=True)` is the old script's call, now learning from the loader's batches. `TRAIN_MODEL`
is the old script's switch: front ends train when it is on (`udl train`), and only inspect or
show batches when it is off (`udl inspect`, `udl batch`).

MLX comes in through `udl_core.mlx_runtime`, which picks the BLAS first (blas.py); the events and
`TrainConfig` live in `udl_core.events`, which a front end can import without MLX.
"""

from __future__ import annotations

from udl_core.blas import blas_status, prefer_system_blas
from udl_core.events import EpochMetrics, StepLoss, TrainConfig
from udl_core.training.devices import gpu_available, gpu_unavailable_reason, resolve_device
from udl_core.training.models import MLP, DummyModel, LinearModel, ModelSpec, build_model
from udl_core.training.trainer import TrainResult, train, train_model

__all__ = [
    "DummyModel",
    "EpochMetrics",
    "LinearModel",
    "MLP",
    "ModelSpec",
    "StepLoss",
    "TRAIN_MODEL",
    "TrainConfig",
    "TrainResult",
    "blas_status",
    "build_model",
    "gpu_available",
    "gpu_unavailable_reason",
    "prefer_system_blas",
    "resolve_device",
    "train",
    "train_model",
]

TRAIN_MODEL: bool = True
