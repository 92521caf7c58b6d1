"""Turn a Table's feature columns into float32 [N, D] and its label into targets.

Statistics come from the training rows only (`Preprocessor.fit(table, schema, rows)`), so
validation rows are transformed exactly as unseen data would be. Each feature column has a
typed encoder (udl_core/encoders.py); numeric columns, datetime parts and array features are
fitted and transformed a block of columns at a time (udl_core/numeric_block.py):

* numeric: missing and non-finite values take the training median, then
  standardize to mean 0, std 1; a column that is constant in the training rows is dropped
  (listed in `dropped`). The medians come from a seeded sample of at most 100,000 training
  rows (every training row below that), so `predict` can impute any column of new data.
* bool: 0/1, missing values take the training mode; not standardized.
* categorical: one-hot over the `max_categories` most frequent training values (ties by
  name); rarer ones go to `<col>=other`, and missing values to `<col>=missing` when the
  training rows have any. A value never seen in training has no column of its own: it
  goes to `<col>=other` where that exists, else the row is all zeros for that column.
* datetime: year, month, day, weekday, hour and days since 1970-01-01, each as numeric.
* 2-D arrays: per-feature, like numeric columns. Other arrays are flattened and
  standardized per feature. Images (uint8 scaled to [0, 1]) are standardized per channel,
  the usual choice for pictures, and flattened to [N, H*W*C].
* values standardized past float32's range (an outlier far outside the training rows)
  are clipped to the largest finite float32, so no feature is ever inf or NaN.
* labels: classification -> int32 index into `classes` (-1 for a missing or unknown
  label); regression -> float32 (NaN when missing). `y_mean` / `y_std` are the training
  targets' statistics for a trainer that wants to scale them.

Saved (`to_dict`), a preprocessing is version 1: its "steps" are the encoders' dicts, the
shape every UDL has written; a later version is refused with a message naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pyarrow as pa

from udl_core.dates import saved_form
from udl_core.distributed import LOCAL, World
from udl_core.encoders import (
    DATETIME_PARTS,
    ArrayEncoder,
    BoolEncoder,
    CategoricalEncoder,
    DatetimeEncoder,
    Encoder,
    ImageEncoder,
    NumericEncoder,
    encoder_from_dict,
    fit_numeric,
)
from udl_core.errors import ConfigError, SchemaError
from udl_core.numeric_block import ColumnNumbers, Staged
from udl_core.schema import Schema, has_class_names
from udl_core.table import Table
from udl_core.values import class_codes

__all__ = ["DATETIME_PARTS", "FORMAT_VERSION", "Prepared", "Preprocessor", "chunk_rows"]

FORMAT_VERSION = 1   # the saved shape (`to_dict`); unchanged since the first saved model
_F32_MAX = float(np.finfo(np.float32).max)
CHUNK_BYTES = 32 << 20   # float64 working memory per chunk of rows

# What a fit made ready for the first transform of its table: the table's columns, each numeric
# column's position among the converted ones, and those converted numbers.
_Ready = tuple[Any, dict[str, int], ColumnNumbers]
# The encoders of a tabular preprocessing (one per feature column) and of an array's one step.
_ColumnEncoder = NumericEncoder | BoolEncoder | CategoricalEncoder | DatetimeEncoder
_ArrayStep = ArrayEncoder | ImageEncoder


def chunk_rows(values_per_row: int) -> int:
    """Rows per chunk so that one chunk of float64 values stays near CHUNK_BYTES."""
    return max(1, min(1 << 16, CHUNK_BYTES // (8 * max(1, values_per_row))))


def _as_rows(rows: np.ndarray | Sequence[int] | None) -> np.ndarray | None:
    return None if rows is None else np.asarray(rows, dtype=np.int64)


def _numbers(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """float64 numpy (a new array), NaN where missing, unparseable or not finite."""
    values = np.asarray(ColumnNumbers([column]).block(slice(None))[:, 0], dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


def _label_source(table: Table, schema: Schema) -> dict[str, Any]:
    assert schema.label is not None   # inference always picks a label (named or guessed)
    info = schema.column(schema.label)
    return {"kind": info.kind, "dtype": info.dtype, "class_names": has_class_names(table)}


class Preprocessor:
    """Fitted feature and label encoding; build one with `Preprocessor.fit`."""

    def __init__(self, encoders: Sequence[Encoder | dict[str, Any]], *, layout: str, label: str | None, task: str,
                 classes: Sequence[str], dropped: Sequence[str] = (), label_source: dict[str, Any] | None = None,
                 y_mean: float = 0.0, y_std: float = 1.0, max_categories: int = 32,
                 warnings: Sequence[str] = ()) -> None:
        self.encoders = [e if isinstance(e, Encoder) else encoder_from_dict(e) for e in encoders]
        self.layout = layout
        self.label = label
        self.task = task
        self.classes = tuple(classes)
        self.dropped = list(dropped)
        self.label_source = label_source or {}
        self.y_mean = y_mean
        self.y_std = y_std
        self.max_categories = max_categories
        self.warnings = list(warnings)
        self.feature_names = [name for encoder in self.encoders for name in encoder.names()]
        self._ready: _Ready | None = None
        self._staged: Staged | None = None

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The encoders as saved (one dict per feature column, or the one array/image step)."""
        return [encoder.to_dict() for encoder in self.encoders]

    # fitting ----------------------------------------------------------------------------
    @classmethod
    def fit(cls, table: Table, schema: Schema, rows: np.ndarray | Sequence[int] | None = None, *,
            max_categories: int = 32, world: World = LOCAL, stage: bool = False) -> Preprocessor:
        """Statistics from `rows` of `table` (the training split); every row if None. With a
        distributed `world`, from every rank's `rows` of its own `table` (udl_core/sharded.py):
        the same preprocessing on every rank, a single process's up to float64 rounding
        (udl_core/shard_stats.py). `stage`: keep the rows' values the fit gathers when every
        feature is a number (`numeric_block.Staged`), for `take_staged` (the loader's transform
        of these very rows), so that they are copied once."""
        rows = _as_rows(rows)
        staged = Staged(rows) if stage and rows is not None and not world.distributed else None
        fitted = table.num_rows if rows is None else rows.size
        if (int(world.sum(fitted)) if world.distributed else fitted) == 0:
            raise ConfigError("cannot fit the preprocessing on zero training rows")
        if max_categories < 1:
            raise ConfigError(f"max_categories must be at least 1, got {max_categories}")
        dropped: list[str] = []
        ready = None
        if table.is_tabular:
            encoders, ready = _fit_tabular(table, schema, rows, max_categories, dropped, world, staged)
        else:
            encoders = _fit_array(table, schema, rows, dropped, world, staged)
        pre = cls(encoders, layout=schema.layout, label=schema.label, task=schema.task,
                  classes=schema.classes, dropped=dropped, label_source=_label_source(table, schema),
                  max_categories=max_categories)
        # The fit's numbers (columns converted and checked once), for the first `prepare` of this
        # very table (the loader's transform); any `prepare` lets go of them.
        pre._ready = ready
        pre._staged = staged if staged is not None and staged.block is not None else None
        if dropped:
            pre.warnings.append(
                f"{len(dropped)} feature(s) constant in the training rows were dropped: "
                + ", ".join(dropped[:10]) + (" ..." if len(dropped) > 10 else "")
            )
        if not pre.feature_names:
            raise SchemaError(table.source, "no feature varies in the training rows; there is nothing to learn from")
        if schema.task == "regression":
            y = pre.encode_labels(table, rows)
            y = y[~np.isnan(y)].astype(np.float64)
            if world.distributed:   # two passes over every rank's targets, as y.mean() and y.std()
                total, count = world.sum(np.array([y.sum(), y.size]))
                if count:
                    mean = total / count
                    pre.y_mean = float(mean)
                    pre.y_std = float(np.sqrt(world.sum(np.square(y - mean).sum()) / count)) or 1.0
            elif y.size:
                pre.y_mean = float(y.mean())
                pre.y_std = float(y.std()) or 1.0
        return pre

    @classmethod
    def labels_only(cls, table: Table, schema: Schema) -> Preprocessor:
        """A preprocessor with no features yet, enough to `encode_labels` (for the split)."""
        return cls([], layout=schema.layout, label=schema.label, task=schema.task,
                   classes=schema.classes, label_source=_label_source(table, schema))

    @property
    def feature_dim(self) -> int:
        return len(self.feature_names)

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.task == "classification" else 1

    # transforming -----------------------------------------------------------------------
    def transform(self, table: Table, rows: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """float32 [n, D], C-contiguous, for `rows` of `table` (every row if None)."""
        rows = _as_rows(rows)
        n = table.num_rows if rows is None else rows.size
        out = np.empty((n, self.feature_dim), dtype=np.float32)
        self.transform_into(table, rows, out)
        return out

    def transform_into(self, table: Table, rows: np.ndarray | None, out: np.ndarray) -> None:
        """`transform(table, rows)` written into `out` (float32 [n, D], e.g. a memmap), once."""
        self.prepare(table).transform_into(rows, out)

    def take_staged(self, rows: np.ndarray) -> Staged | None:
        """The values the fit kept (`fit(stage=True)`) when `rows` is the very array it was
        fitted on; given once."""
        staged = self._staged
        if staged is None or staged.rows is not rows:
            return None
        self._staged = None
        return staged

    def prepare(self, table: Table) -> Prepared:
        """`table` made ready to be transformed a chunk of rows at a time (`Prepared`)."""
        ready, self._ready = self._ready, None
        return Prepared(self, table, ready)

    def encode_labels(self, table: Table, rows: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """int32 class indices (-1 missing/unknown) or float32 targets (NaN missing)."""
        rows = _as_rows(rows)
        if self.label_source.get("class_names"):
            assert table.labels is not None   # class names come with a labels array
            codes = np.asarray(table.labels if rows is None else table.labels[rows])
            return np.ascontiguousarray(codes, dtype=np.int32)
        values = self._label_values(table, rows)
        if self.task == "classification":
            return class_codes(values, self.classes)
        targets = _numbers(values)
        if np.any(np.abs(targets[~np.isnan(targets)]) > _F32_MAX):
            raise SchemaError(table.source, f"the label column '{self.label}' holds values beyond float32's range "
                                            f"(largest {np.nanmax(np.abs(targets)):.3g}); rescale the target")
        return targets.astype(np.float32)

    def label_mask(self, table: Table) -> np.ndarray:
        """True for the rows that have a label (the loader keeps only those)."""
        y = self.encode_labels(table)
        return y >= 0 if self.task == "classification" else ~np.isnan(y)

    def _label_values(self, table: Table, rows: np.ndarray | None) -> pa.Array:
        label = self.label
        if table.is_tabular:
            assert table.columns is not None
            if label not in table.columns.column_names:
                raise SchemaError(table.source, f"the label column '{label}' is missing")
            column = table.columns.column(label)
            return (column if rows is None else column.take(rows)).combine_chunks()
        if table.labels is not None:
            labels = np.asarray(table.labels if rows is None else table.labels[rows])
        else:
            assert label is not None and table.features is not None
            j = int(label[1:])
            labels = np.asarray(table.features[:, j] if rows is None else table.features[rows, j])
        if labels.dtype.kind == "f":
            return pa.array(labels, mask=np.isnan(labels))
        if labels.dtype.kind in "US":
            return pa.array(labels.astype(str), mask=labels == labels.dtype.type(""))
        return pa.array(labels)

    # saving -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "steps": self.steps,
            "layout": self.layout,
            "label": self.label,
            "task": self.task,
            "classes": list(self.classes),
            "dropped": list(self.dropped),
            "label_source": dict(self.label_source),
            "y_mean": self.y_mean,
            "y_std": self.y_std,
            "max_categories": self.max_categories,
            "feature_names": list(self.feature_names),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        version = data.get("version", 1) if isinstance(data, dict) else None
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise ConfigError(f"this preprocessing was saved in format version {version} by a newer UDL; "
                              f"this one reads version {FORMAT_VERSION}: upgrade UDL to use it")
        try:
            return cls(
                [dict(step) for step in data["steps"]], layout=data["layout"], label=data["label"],
                task=data["task"], classes=data["classes"], dropped=data.get("dropped", ()),
                label_source=data.get("label_source"), y_mean=data.get("y_mean", 0.0),
                y_std=data.get("y_std", 1.0), max_categories=data.get("max_categories", 32),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not a saved preprocessing: missing {exc}") from None
        except ValueError as exc:   # lists of statistics of different lengths
            raise ConfigError(f"not a saved preprocessing: {exc}") from None


def _fit_tabular(table: Table, schema: Schema, rows: np.ndarray | None, max_categories: int,
                 dropped: list[str], world: World, staged: Staged | None = None) -> tuple[list[Encoder], _Ready | None]:
    """The encoders, and what the numeric block made ready (kept for the transform of this table)."""
    assert table.columns is not None   # a tabular table
    infos = schema.feature_columns
    position = {name: i for i, name in enumerate(table.columns.column_names)}
    columns = [table.columns.column(position[info.name]) for info in infos]
    numeric_infos = [(info.name, column) for info, column in zip(infos, columns, strict=True) if info.kind == "numeric"]
    numbers = ColumnNumbers([c for _, c in numeric_infos], table.num_rows)
    only_numbers = len(numeric_infos) == len(infos)   # else the output is more than the numbers: not staged
    numeric = iter(fit_numeric([name for name, _ in numeric_infos], numbers, rows, world,
                               staged if only_numbers else None))
    encoders: list[Encoder] = []
    encoder: Encoder | None
    for info, column in zip(infos, columns, strict=True):
        if info.kind == "numeric":   # fitted a block of columns at a time
            encoder = next(numeric)
        elif info.kind == "bool":
            encoder = BoolEncoder.fit(info.name, column, rows, world)
        elif info.kind == "categorical":
            encoder = CategoricalEncoder.fit(info.name, column, rows, max_categories, world)
        elif info.kind == "datetime":
            # How text dates were written travels with the model: predict reads them so again.
            form = saved_form(table.columns.schema.field(position[info.name]))
            encoder = DatetimeEncoder.fit(info.name, column, rows, form, dropped, world)
            if encoder is None:
                continue   # every part constant: each listed in `dropped` already
        else:
            raise SchemaError(info.name, f"column kind {info.kind!r} cannot be a feature")
        if encoder is None:
            dropped.append(info.name)
            continue
        encoders.append(encoder)
    ready = (table.columns, {name: j for j, (name, _) in enumerate(numeric_infos)}, numbers)
    return encoders, ready


def _fit_array(table: Table, schema: Schema, rows: np.ndarray | None, dropped: list[str], world: World,
               staged: Staged | None = None) -> list[Encoder]:
    features = table.features
    assert features is not None   # an array table
    if schema.layout == "image":
        return [ImageEncoder.fit(features, rows if rows is not None else np.arange(features.shape[0]), world)]
    if features.ndim == 2 and schema.feature_columns[0].kind != "tensor":
        index = [int(c.name[1:]) for c in schema.feature_columns]
    else:
        index = list(range(int(np.prod(features.shape[1:]))))
    return [ArrayEncoder.fit(features, index, rows, dropped, world, staged)]


class Prepared:
    """A table's feature columns made ready once for a fitted preprocessing (numbers parsed,
    categories coded, dates split into parts), then written for any rows into an output: a
    long transform goes a chunk of rows at a time without casting a column per chunk."""

    def __init__(self, pre: Preprocessor, table: Table, ready: _Ready | None = None) -> None:
        self.table = table
        self.layout = pre.layout
        self.encoders = pre.encoders
        self.width = pre.feature_dim
        if pre.layout != "tabular":
            if table.is_tabular:
                raise SchemaError(table.source, "this preprocessing was fitted on arrays, not a table of columns")
            step = cast(_ArrayStep, self.encoders[0])   # an array layout has one array or image step
            assert table.features is not None   # a table that is not tabular holds features
            if list(table.features.shape[1:]) != step.shape:
                raise SchemaError(table.source, f"features have shape {list(table.features.shape[1:])}, "
                                                f"the preprocessing expects {step.shape}")
            return
        if not table.is_tabular:
            raise SchemaError(table.source, "this preprocessing was fitted on a table of columns, not arrays")
        assert table.columns is not None
        encoders = cast("list[_ColumnEncoder]", self.encoders)   # a tabular layout: one encoder a column
        needed = [encoder.column for encoder in encoders]
        # Names to positions once: a lookup per column must not scan every column (issue 9).
        position = {name: i for i, name in enumerate(table.columns.column_names)}
        missing = [name for name in needed if name not in position]
        if missing:
            raise SchemaError(table.source, f"column(s) {', '.join(map(repr, missing))} are missing; "
                                            f"the preprocessing needs: {', '.join(needed)}")
        self.numeric: list[NumericEncoder] = []
        self.numeric_at: list[int] = []
        numeric_columns = []
        self.others: list[tuple[BoolEncoder | CategoricalEncoder | DatetimeEncoder, Any, int]] = []
        at = 0
        for encoder in encoders:
            column = table.columns.column(position[encoder.column])
            if isinstance(encoder, NumericEncoder):   # standardized a block of columns at a time
                self.numeric.append(encoder)
                self.numeric_at.append(at)
                numeric_columns.append(column)
            else:
                self.others.append((encoder, encoder.prepare(column), at))
            at += encoder.width
        if ready is not None and ready[0] is table.columns:   # converted by the fit already
            self.numbers = ready[2].select([ready[1][e.column] for e in self.numeric])
        else:
            self.numbers = ColumnNumbers(numeric_columns, table.num_rows)

    def transform_into(self, rows: np.ndarray | slice | None, out: np.ndarray) -> None:
        """out = the features of `rows` (positions or a slice of the table; every row if None)."""
        if self.layout != "tabular":
            assert self.table.features is not None
            cast(_ArrayStep, self.encoders[0]).transform(self.table.features, rows, out)
            return
        # The numbers first: standardized a chunk of rows per thread, they touch the output's
        # fresh pages on every core (a page's first touch was most of the one-hot writes' 0.57 s
        # for 1M rows x 103 features when they came first).
        NumericEncoder.transform(self.numeric, self.numbers, out, self.numeric_at, rows)
        for encoder, state, at in self.others:
            encoder.write(state, rows, out, at)
