"""What a reader hands on: the raw data of one dataset, before any schema or preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

__all__ = ["DEFAULT_MISSING_VALUES", "BadRecord", "ReadOptions", "Table"]

# Tokens read as a missing value in text formats (compared after stripping spaces).
DEFAULT_MISSING_VALUES: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "na", "null", "NULL", "Null", "NaN", "nan", "NAN", "None", "?", "-",
)


@dataclass(frozen=True)
class BadRecord:
    """One skipped record: which file, where in it ("line 17", an image's path), and why."""

    source: str
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.location}: {self.reason}"


@dataclass(frozen=True)
class ReadOptions:
    """How to read a dataset. Every field has a sensible default; None means "detect"."""

    labels_path: str | None = None          # a second file holding the labels (X.npy + y.npy, ...)
    missing_values: tuple[str, ...] = DEFAULT_MISSING_VALUES
    max_bad_fraction: float = 0.1           # more skipped records than this is an error
    delimiter: str | None = None
    encoding: str | None = None
    header: bool | None = None
    image_size: tuple[int, int] | None = None   # (width, height); None: the rule in formats/images.py
    memory_budget: int | None = None        # bytes; None: a quarter of physical RAM
    # A saved model's text-date forms, (column, form or None, times) (dates.parse_text_dates):
    # read as at training, never detected again. None: detect (every read but predict's).
    date_formats: tuple[tuple[str, str | None, tuple[str, ...]], ...] | None = None


@dataclass
class Table:
    """The raw data of a dataset, in one of two shapes.

    Tabular data (CSV, JSON, Parquet, Arrow) lives in `columns`, a `pyarrow.Table` whose
    columns keep their names and types. Array data (NPY, NPZ, images) lives in `features`,
    an array [N, ...] (possibly a read-only `np.memmap`), with `labels` [N] beside it
    when the source has them. `quarantine` lists the records a reader skipped; `notes` are
    plain sentences about choices it made (encoding detected, images resized, ...).
    """

    source: str
    format: str
    columns: pa.Table | None = None
    features: np.ndarray | None = None
    labels: np.ndarray | None = None
    label_name: str | None = None
    class_names: tuple[str, ...] | None = None
    quarantine: list[BadRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_tabular(self) -> bool:
        return self.columns is not None

    @property
    def num_rows(self) -> int:
        if self.columns is not None:
            return int(self.columns.num_rows)
        assert self.features is not None
        return int(self.features.shape[0])

    @property
    def name(self) -> str:
        return Path(self.source).name
