"""UDL's exceptions: one tree, so callers catch exactly what they mean.

    UDLError
    ├── DatasetError                 the input cannot become batches (always names the file)
    │   ├── UnsupportedFormatError   no reader recognises the content
    │   ├── EmptyDatasetError        no rows, header only, a folder with no images
    │   ├── CorruptFileError         truncated, undecodable, malformed past the quarantine threshold
    │   ├── UnsafeInputError         pickled objects, decompression bombs, oversized archives
    │   │   └── MemoryBudgetError    more data than the memory budget, found as it streams
    │   └── SchemaError              unknown or unusable label, bad column overrides
    ├── ConfigError                  bad arguments: batch size 0, index out of range, bad split
    └── TrainingError                a run that cannot go on
        ├── DeviceUnavailableError   a GPU asked for where MLX has none
        └── DivergedError            the loss turned NaN or inf

A cancelled run is not an error: the job simply stops yielding.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CorruptFileError",
    "DatasetError",
    "DeviceUnavailableError",
    "DivergedError",
    "EmptyDatasetError",
    "MemoryBudgetError",
    "SchemaError",
    "TrainingError",
    "UDLError",
    "UnsafeInputError",
    "UnsupportedFormatError",
]


class UDLError(Exception):
    """Base of every error UDL raises on purpose."""


class DatasetError(UDLError):
    """The input cannot be turned into batches.

    `path` is the file or folder at fault; `str(error)` starts with it.
    """

    def __init__(self, path: object, message: str) -> None:
        self.path = str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}")


class UnsupportedFormatError(DatasetError):
    """No reader recognises the file's content."""


class EmptyDatasetError(DatasetError):
    """The input holds no usable rows."""


class CorruptFileError(DatasetError):
    """The file is truncated, undecodable, or has too many malformed records."""


class UnsafeInputError(DatasetError):
    """Reading the input would unpickle objects or expand beyond a safe limit."""


class MemoryBudgetError(UnsafeInputError):
    """Reading the input would hold more than the memory budget (`limit` bytes); `seen` is how
    many bytes had been decompressed when that was found, or None when a size said so first."""

    def __init__(self, path: object, message: str, *, limit: int = 0, seen: int | None = None) -> None:
        super().__init__(path, message)
        self.limit = limit
        self.seen = seen


class SchemaError(DatasetError):
    """The label or a column override does not fit the data."""


class ConfigError(UDLError):
    """An argument is out of range: batch size, batch index, split fraction, ..."""


class TrainingError(UDLError):
    """A training run cannot go on."""


class DeviceUnavailableError(TrainingError):
    """A GPU was asked for where MLX has none."""


class DivergedError(TrainingError):
    """The loss became NaN or infinite."""

    def __init__(self, step: int, loss: float, learning_rate: float | None = None) -> None:
        self.step = step
        self.loss = loss
        hint = f" (learning rate {learning_rate:g})" if learning_rate else ""
        super().__init__(
            f"the loss became {loss} at step {step}{hint}; "
            "try a lower learning rate or check the inputs for NaN or huge values"
        )
