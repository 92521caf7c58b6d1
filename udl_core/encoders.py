"""Typed encoders: one small class per kind of feature column, fitted on the training rows.

Each encoder knows its feature `names()`, writes its features into columns of the output
(`transform(..., out)` with out[:, at:at + width]) and saves itself as the plain dict that UDL
has written since the first saved model (`to_dict` / `from_dict`: a step of the preprocessing,
keyed by "kind"; `encoder_from_dict` picks the class).

* NumericEncoder: one column, imputed with the training median and standardized; fitted and
  applied a block of numeric columns at a time (udl_core/numeric_block.py).
* BoolEncoder: 0/1, missing values take the training mode; not standardized.
* CategoricalEncoder: one-hot over the most frequent training values (udl_core/preprocess.py
  has the rule).
* DatetimeEncoder: year, month, day, weekday, hour and days since 1970-01-01, each
  standardized like a numeric column; parts constant in the training rows are dropped.
* ArrayEncoder: the features of a 2-D (or flattened n-D) array, each like a numeric column.
* ImageEncoder: pixels scaled to [0, 1] (uint8) and standardized per channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.distributed import LOCAL, World
from udl_core.errors import ConfigError
from udl_core.numeric_block import (
    ArrayNumbers,
    ColumnNumbers,
    Numbers,
    Rows,
    Staged,
    standardize,
)
from udl_core.schema import label_strings
from udl_core.shard_stats import column_stats
from udl_core.temporal import datetime_parts

__all__ = ["DATETIME_PARTS", "ArrayEncoder", "BoolEncoder", "CategoricalEncoder", "DatetimeEncoder", "Encoder",
           "ImageEncoder", "NumericEncoder", "encoder_from_dict", "fit_numeric"]

DATETIME_PARTS = ("year", "month", "day", "weekday", "hour", "days")
IMAGE_CHUNK_BYTES = 32 << 20   # float64 working memory per chunk of images


def _stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {"median": float(stats["median"]), "mean": float(stats["mean"]), "std": float(stats["std"]),
            "constant": bool(stats.get("constant", False))}


class Encoder:
    """What every encoder has; `kind` is the "kind" of its saved dict."""

    kind: ClassVar[str]

    def names(self) -> list[str]:
        raise NotImplementedError

    @property
    def width(self) -> int:
        return len(self.names())

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoder:
        raise NotImplementedError


class NumericEncoder(Encoder):
    kind = "numeric"

    def __init__(self, column: str, stats: dict[str, Any]) -> None:
        self.column = column
        self.stats = _stats(stats)

    def names(self) -> list[str]:
        return [self.column]

    @staticmethod
    def fit(names: Sequence[str], columns: Sequence[pa.ChunkedArray], rows: np.ndarray | None,
            world: World = LOCAL) -> list[NumericEncoder | None]:
        """One encoder per column (None where constant), fitted together."""
        return fit_numeric(names, ColumnNumbers(columns), rows, world)

    @staticmethod
    def transform(encoders: Sequence[NumericEncoder], columns: Sequence[pa.ChunkedArray] | ColumnNumbers,
                  out: np.ndarray, at: Sequence[int], rows: Rows | None = None) -> None:
        """Standardize `rows` of `columns` (one per encoder, or their ColumnNumbers; every row if
        None) into out[:, at], a block of rows and columns at a time."""
        if encoders:
            numbers = columns if isinstance(columns, ColumnNumbers) else ColumnNumbers(columns)
            standardize(numbers, rows, [e.stats for e in encoders], out, _positions(at, out.shape[1]))

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, **self.stats}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericEncoder:
        return cls(data["column"], data)


def fit_numeric(names: Sequence[str], numbers: ColumnNumbers, rows: np.ndarray | None, world: World = LOCAL,
                staged: Staged | None = None) -> list[NumericEncoder | None]:
    """One encoder per column (None where constant); `staged`: the fit keeps the rows' values
    there for their transform (`numeric_block.Staged`)."""
    return [None if stats["constant"] else NumericEncoder(name, stats)
            for name, stats in zip(names, _fitted(numbers, rows, world, staged), strict=True)]


def _fitted(numbers: Numbers, rows: np.ndarray | None, world: World, staged: Staged | None
            ) -> list[dict[str, Any]]:
    """`column_stats` of `numbers`; with `staged`, the fit keeps the rows' values there and it
    learns which columns are features and their statistics (as an encoder keeps them)."""
    keep = staged.keep(numbers) if staged is not None else None
    fitted = column_stats(numbers, rows, world, keep)
    if keep is not None and staged is not None:
        staged.use([j for j, s in enumerate(fitted) if not s["constant"]],
                   [_stats(s) for s in fitted if not s["constant"]])
    return fitted


def _positions(at: Sequence[int], width: int) -> slice | np.ndarray:
    """Output columns `at` as a slice where they are consecutive (a plain strided write)."""
    at = list(at)
    if at and at == list(range(at[0], at[0] + len(at))):
        return slice(at[0], at[0] + len(at))
    return np.asarray(at, dtype=np.int64)


def _numbers(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """float64, NaN where missing or not a number (one column, a new array)."""
    return np.asarray(ColumnNumbers([column]).block(slice(None))[:, 0], dtype=np.float64)


class BoolEncoder(Encoder):
    kind = "bool"

    def __init__(self, column: str, mode: float) -> None:
        self.column = column
        self.mode = float(mode)

    def names(self) -> list[str]:
        return [self.column]

    @classmethod
    def fit(cls, name: str, column: pa.ChunkedArray, rows: np.ndarray | None, world: World = LOCAL
            ) -> BoolEncoder | None:
        values = _numbers(column)
        values = values if rows is None else values[rows]
        present = values[~np.isnan(values)]
        if world.distributed:   # the mode and the range over every rank's rows
            total, count = world.sum(np.array([present.sum(), present.size], dtype=np.float64))
            mode = 1.0 if count and total / count >= 0.5 else 0.0
            filled = np.where(np.isnan(values), mode, values)
            ends = [r for r in world.gather([float(filled.min()), float(filled.max())] if filled.size else None) if r]
            return cls(name, mode) if ends and min(r[0] for r in ends) < max(r[1] for r in ends) else None
        mode = 1.0 if present.size and present.mean() >= 0.5 else 0.0
        filled = np.where(np.isnan(values), mode, values)
        if filled.size == 0 or np.ptp(filled) == 0:
            return None
        return cls(name, mode)

    def prepare(self, column: pa.ChunkedArray) -> np.ndarray:
        """The column's 0/1 values, missing ones the mode (once per column; `write` takes rows)."""
        values = _numbers(column)
        return np.where(np.isnan(values), self.mode, values).astype(np.float32)

    def write(self, values: np.ndarray, rows: Rows | None, out: np.ndarray, at: int) -> None:
        out[:, at] = values if rows is None else values[rows]

    def transform(self, column: pa.ChunkedArray, out: np.ndarray, at: int) -> None:
        self.write(self.prepare(column), None, out, at)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "mode": self.mode}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoolEncoder:
        return cls(data["column"], data["mode"])


class CategoricalEncoder(Encoder):
    kind = "categorical"

    def __init__(self, column: str, categories: Sequence[str], other: bool, missing: bool) -> None:
        self.column = column
        self.categories = list(categories)
        self.other = bool(other)
        self.missing = bool(missing)

    def names(self) -> list[str]:
        col = self.column
        return ([f"{col}={c}" for c in self.categories] + ([f"{col}=other"] if self.other else [])
                + ([f"{col}=missing"] if self.missing else []))

    @classmethod
    def fit(cls, name: str, column: pa.ChunkedArray, rows: np.ndarray | None,
            max_categories: int, world: World = LOCAL) -> CategoricalEncoder | None:
        values = label_strings(column if rows is None else column.take(rows))
        counts = pc.value_counts(values.drop_null())
        tally: Iterable[tuple[str, int]] = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                                               strict=True)
        missing = values.null_count > 0
        if world.distributed:   # every rank's counts, merged
            shared = world.gather([list(tally), missing])
            merged: dict[str, int] = {}
            for rank_tally, _ in shared:
                for value, count in rank_tally:
                    merged[value] = merged.get(value, 0) + count
            tally, missing = merged.items(), any(m for _, m in shared)
        pairs = sorted(tally, key=lambda item: (-item[1], item[0]))
        kept = sorted(value for value, _ in pairs[:max_categories])
        encoder = cls(name, kept, len(pairs) > max_categories, missing)
        return encoder if encoder.width > 1 else None

    def prepare(self, column: pa.ChunkedArray) -> np.ndarray:
        """Each row's one-hot position (-1: none), once per column; `write` takes rows."""
        values = label_strings(column)
        index = pc.index_in(values, value_set=pa.array(self.categories, pa.string()))
        codes: np.ndarray = pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        width = len(self.categories)
        if self.other:
            codes[(codes < 0) & values.is_valid().to_numpy(zero_copy_only=False)] = width
            width += 1
        if self.missing:
            codes[values.is_null().to_numpy(zero_copy_only=False)] = width
        return codes

    def write(self, codes: np.ndarray, rows: Rows | None, out: np.ndarray, at: int) -> None:
        codes = codes if rows is None else codes[rows]
        out[:, at:at + self.width] = 0.0
        hit = np.flatnonzero(codes >= 0)
        if out.flags.c_contiguous:   # flat positions: half the time of a 2-D fancy assignment
            out.reshape(-1)[hit * out.shape[1] + (at + codes[hit])] = 1.0
        else:
            out[hit, at + codes[hit]] = 1.0

    def transform(self, column: pa.ChunkedArray, out: np.ndarray, at: int) -> None:
        self.write(self.prepare(column), None, out, at)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "categories": list(self.categories),
                "other": self.other, "missing": self.missing}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalEncoder:
        return cls(data["column"], data["categories"], data["other"], data["missing"])


def _parts_block(column: pa.ChunkedArray, parts: Sequence[str]) -> np.ndarray:
    values = datetime_parts(column)
    return np.column_stack([values[part] for part in parts]) if parts else np.empty((len(column), 0))


class DatetimeEncoder(Encoder):
    kind = "datetime"

    def __init__(self, column: str, parts: dict[str, dict[str, Any]], date_format: object = None) -> None:
        self.column = column
        self.parts = {part: _stats(stats) for part, stats in parts.items()}
        self.date_format = date_format   # how text dates were written: predict reads them so again

    def names(self) -> list[str]:
        return [f"{self.column}.{part}" for part in self.parts]

    @classmethod
    def fit(cls, name: str, column: pa.ChunkedArray, rows: np.ndarray | None, date_format: object,
            dropped: list[str], world: World = LOCAL) -> DatetimeEncoder | None:
        stats = column_stats(ArrayNumbers(_parts_block(column, DATETIME_PARTS)), rows, world)
        parts: dict[str, dict[str, Any]] = {}
        for part, fitted in zip(DATETIME_PARTS, stats, strict=True):
            if fitted["constant"]:
                dropped.append(f"{name}.{part}")
            else:
                parts[part] = fitted
        return cls(name, parts, date_format) if parts else None

    def prepare(self, column: pa.ChunkedArray) -> ArrayNumbers:
        """The kept parts of every row, once per column; `write` takes rows."""
        return ArrayNumbers(_parts_block(column, list(self.parts)))

    def write(self, parts: ArrayNumbers, rows: Rows | None, out: np.ndarray, at: int) -> None:
        standardize(parts, rows, list(self.parts.values()), out, slice(at, at + len(self.parts)))

    def transform(self, column: pa.ChunkedArray, out: np.ndarray, at: int) -> None:
        self.write(self.prepare(column), None, out, at)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "parts": {p: dict(s) for p, s in self.parts.items()},
                "date_format": self.date_format}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatetimeEncoder:
        return cls(data["column"], dict(data["parts"]), data.get("date_format"))


class ArrayEncoder(Encoder):
    """Features `index` of an array of `shape` per row, each standardized like a numeric column."""

    kind = "array"

    def __init__(self, shape: Sequence[int], index: Sequence[int], stats: Sequence[dict[str, Any]],
                 constant: dict[int, float] | None = None) -> None:
        self.shape = [int(s) for s in shape]
        self.index = [int(j) for j in index]
        self.stats = [_stats(s) for s in stats]
        # The dropped constant features' one value: pictures show dropped pixels (udl_core/pixels.py).
        self.constant = {int(j): float(v) for j, v in (constant or {}).items()}

    def names(self) -> list[str]:
        return [f"f{j}" for j in self.index]

    @classmethod
    def fit(cls, features: np.ndarray, index: Sequence[int], rows: np.ndarray | None,
            dropped: list[str], world: World = LOCAL, staged: Staged | None = None) -> ArrayEncoder:
        """`staged`: as for `fit_numeric`."""
        fitted = _fitted(ArrayNumbers(_flat(features), index), rows, world, staged)
        keep = [(j, s) for j, s in zip(index, fitted, strict=True) if not s["constant"]]
        constant = {j: s["median"] for j, s in zip(index, fitted, strict=True) if s["constant"]}
        dropped.extend(f"f{j}" for j in constant)
        return cls(features.shape[1:], [j for j, _ in keep], [s for _, s in keep], constant)

    def transform(self, features: np.ndarray, rows: Rows | None, out: np.ndarray) -> None:
        standardize(ArrayNumbers(_flat(features), self.index), rows, self.stats, out, slice(0, out.shape[1]))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "index": list(self.index),
                "median": [s["median"] for s in self.stats], "mean": [s["mean"] for s in self.stats],
                "std": [s["std"] for s in self.stats], "constant_index": list(self.constant),
                "constant_value": list(self.constant.values())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArrayEncoder:
        stats = [{"median": m, "mean": a, "std": d}
                 for m, a, d in zip(data["median"], data["mean"], data["std"], strict=True)]
        constant = dict(zip(data.get("constant_index", ()), data.get("constant_value", ()), strict=True))
        return cls(data["shape"], data["index"], stats, constant)


def _flat(features: np.ndarray) -> np.ndarray:
    flat = np.asarray(features)    # a plain view: no np.memmap bookkeeping per slice
    return flat if flat.ndim == 2 else flat.reshape(flat.shape[0], -1)


class ImageEncoder(Encoder):
    """Pixels scaled by `scale` (1/255 for uint8), then standardized per channel; flattened."""

    kind = "image"

    def __init__(self, shape: Sequence[int], scale: float, channels: int, mean: Sequence[float],
                 std: Sequence[float]) -> None:
        self.shape = [int(s) for s in shape]
        self.scale = float(scale)
        self.channels = int(channels)
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def names(self) -> list[str]:
        return [f"pixel{j}" for j in range(int(np.prod(self.shape)))]

    @classmethod
    def fit(cls, features: np.ndarray, rows: np.ndarray, world: World = LOCAL) -> ImageEncoder:
        scale = 1.0 / 255.0 if features.dtype == np.uint8 else 1.0
        channels = features.shape[-1] if features.ndim == 4 else 1
        per_row = int(np.prod(features.shape[1:]))
        step = max(1, min(1 << 16, IMAGE_CHUNK_BYTES // (8 * max(1, per_row))))

        def chunks() -> Iterator[np.ndarray]:
            for start in range(0, rows.size, step):
                chunk = np.asarray(features[rows[start:start + step]], dtype=np.float64) * scale
                yield chunk.reshape(-1, channels)

        # Two passes (mean, then squared deviations): a flat channel gets std 0, not rounding noise.
        # Each pass's sums are summed over every rank (`world.sum`; the identity on one process).
        count = max(1, int(world.sum(rows.size)) * per_row // channels)
        mean = world.sum(sum((c.sum(axis=0) for c in chunks()), np.zeros(channels))) / count
        var = world.sum(sum((np.square(c - mean).sum(axis=0) for c in chunks()), np.zeros(channels))) / count
        std = np.sqrt(var)
        std[std < 1e-12] = 1.0
        return cls(features.shape[1:], scale, channels, mean.tolist(), std.tolist())

    def transform(self, features: np.ndarray, rows: Rows | None, out: np.ndarray) -> None:
        if isinstance(rows, slice):
            features, rows = features[rows], None
        n = out.shape[0]
        step = max(1, min(1 << 16, IMAGE_CHUNK_BYTES // (8 * max(1, out.shape[1]))))
        mean, std = np.asarray(self.mean, dtype=np.float32), np.asarray(self.std, dtype=np.float32)
        for start in range(0, n, step):
            stop = min(n, start + step)
            chunk = np.asarray(features[start:stop] if rows is None else features[rows[start:stop]])
            values = chunk.astype(np.float32) * np.float32(self.scale)
            values = values.reshape(stop - start, -1, self.channels)
            values -= mean
            values /= std
            out[start:stop] = values.reshape(stop - start, -1)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "scale": self.scale, "channels": self.channels,
                "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageEncoder:
        return cls(data["shape"], data["scale"], data["channels"], data["mean"], data["std"])


_KINDS: dict[str, type[Encoder]] = {cls.kind: cls for cls in (
    NumericEncoder, BoolEncoder, CategoricalEncoder, DatetimeEncoder, ArrayEncoder, ImageEncoder)}


def encoder_from_dict(data: dict[str, Any]) -> Encoder:
    """The encoder a saved step describes (a KeyError or TypeError when it is malformed)."""
    kind = data["kind"]
    if kind not in _KINDS:
        raise ConfigError(f"not a saved preprocessing: unknown step kind {kind!r}")
    return _KINDS[kind].from_dict(data)
