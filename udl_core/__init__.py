"""UDL's core: datasets of every common format to batches, and a smoke training in MLX.

No Qt here: use it from a script, a notebook or a server as well as from the desktop app.

    from udl_core import UnifiedDataLoader, train_model
    loader = UnifiedDataLoader("data.csv", label="target").load()
    result = train_model(loader, num_epochs=3)

The training names are imported on first use, so `import udl_core` does not load MLX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from udl_core.errors import (
    ConfigError,
    CorruptFileError,
    DatasetError,
    DeviceUnavailableError,
    DivergedError,
    EmptyDatasetError,
    SchemaError,
    TrainingError,
    UDLError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from udl_core.events import Notice, Progress, run_job
from udl_core.formats import load_table, read_table, readers
from udl_core.loader import Batch, ProcessedData, Split, UnifiedDataLoader
from udl_core.preprocess import Preprocessor
from udl_core.schema import ColumnInfo, Schema, infer
from udl_core.table import BadRecord, ReadOptions, Table

if TYPE_CHECKING:
    from udl_core.training import DummyModel, TrainConfig, TrainResult, train, train_model

__version__ = "0.1.0"

__all__ = [
    "BadRecord",
    "Batch",
    "ColumnInfo",
    "ConfigError",
    "CorruptFileError",
    "DatasetError",
    "DeviceUnavailableError",
    "DivergedError",
    "DummyModel",
    "EmptyDatasetError",
    "Notice",
    "Preprocessor",
    "ProcessedData",
    "Progress",
    "ReadOptions",
    "Schema",
    "SchemaError",
    "Split",
    "Table",
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "UDLError",
    "UnifiedDataLoader",
    "UnsafeInputError",
    "UnsupportedFormatError",
    "infer",
    "load_table",
    "read_table",
    "readers",
    "run_job",
    "train",
    "train_model",
]

_TRAINING = {"DummyModel", "TrainConfig", "TrainResult", "train", "train_model"}


def __getattr__(name: str) -> Any:
    if name in _TRAINING:
        from udl_core import training

        return getattr(training, name)
    raise AttributeError(f"module 'udl_core' has no attribute {name!r}")
