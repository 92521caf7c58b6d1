"""Turn a Table's feature columns into float32 [N, D] and its label into targets.

Statistics come from the training rows only (`Preprocessor.fit(table, schema, rows)`), so
validation rows are transformed exactly as unseen data would be:

* numeric: missing and non-finite values take the training median, then
  standardize to mean 0, std 1; a column that is constant in the training rows is dropped
  (listed in `dropped`).
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

Every transform is column-at-a-time numpy / pyarrow.compute, never a loop over rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.errors import ConfigError, SchemaError
from udl_core.schema import ColumnInfo, Schema, has_class_names, label_strings, parse_numbers
from udl_core.table import Table
from udl_core.dates import saved_form
from udl_core.temporal import datetime_parts
from udl_core.values import class_codes

__all__ = ["DATETIME_PARTS", "Preprocessor", "chunk_rows"]

DATETIME_PARTS = ("year", "month", "day", "weekday", "hour", "days")
_F32_MAX = float(np.finfo(np.float32).max)
CHUNK_BYTES = 32 << 20   # float64 working memory per chunk of rows


def chunk_rows(values_per_row: int) -> int:
    """Rows per chunk so that one chunk of float64 values stays near CHUNK_BYTES."""
    return max(1, min(1 << 16, CHUNK_BYTES // (8 * max(1, values_per_row))))


def _as_rows(rows: np.ndarray | Sequence[int] | None) -> np.ndarray | None:
    return None if rows is None else np.asarray(rows, dtype=np.int64)


def _numbers(column: pa.ChunkedArray | pa.Array, rows: np.ndarray | None = None) -> np.ndarray:
    """float64 numpy (a new array, `rows` of the column when given), NaN where missing,
    unparseable or not finite."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        column = parse_numbers(column)
    elif pa.types.is_duration(kind):
        column = pc.cast(column, pa.int64())
    elif pa.types.is_boolean(kind):
        column = pc.cast(column, pa.int8())
    # Unsafe: integers past 2**53 (ids, uint64 counts) round to the nearest float64 instead of failing.
    if not pa.types.is_float64(column.type):   # float64 needs no cast: one kernel call less per column
        column = pc.cast(column, pa.float64(), safe=False)
    values = column.to_numpy(zero_copy_only=False)
    if rows is not None:
        values = values[rows]   # gathered before anything else is copied
    elif not values.flags.writeable:
        values = values.copy()
    bad = ~np.isfinite(values)
    if bad.any():
        values[bad] = np.nan
    return values


def _datetime_parts(column: pa.ChunkedArray | pa.Array) -> dict[str, np.ndarray]:
    return datetime_parts(column)   # int64 ticks, exact for the years 1 to 9999 (udl_core/temporal.py)


def _median(values: np.ndarray) -> float:
    """np.median of `values` (no NaN), bit for bit, reordering `values` in place: one
    single-kth partition (numpy's SIMD select) instead of np.median's two-kth introselect."""
    half = values.size // 2
    values.partition(half)
    middle = values[half:half + 1] if values.size % 2 else np.array([values[:half].max(), values[half]])
    return float(np.mean(middle))


def _scale_stats(values: np.ndarray) -> dict:
    """Median, mean and std of a float64 column with NaN for missing (one code path for
    every source, so CSV and NPY give bit-identical tensors)."""
    finite = ~np.isnan(values)
    complete = bool(finite.all())
    present = values if complete else values[finite]
    if present.size == 0:
        return {"median": 0.0, "mean": 0.0, "std": 1.0, "constant": True}
    # Work on the column scaled into [-1, 1]: sums and squares of tiny (1e-300) or huge
    # (1e300) values would under- or overflow.
    size = max(float(present.max()), -float(present.min())) or 1.0
    filled = values / size
    median = _median(filled.copy() if complete else filled[finite])
    if not complete:
        filled[~finite] = median
    constant = bool(filled.max() == filled.min())
    std = float(filled.std()) * size
    return {"median": median * size, "mean": float(filled.mean()) * size,
            "std": std if std > 0 and not constant else 1.0, "constant": constant}


def _scale_stats_many(columns: Sequence[pa.ChunkedArray], rows: np.ndarray | None) -> Iterator[dict]:
    """`_scale_stats(_numbers(column, rows))` for each column in order, bit for bit, with one
    numpy call per statistic for a block of columns instead of one per column: thousands of
    narrow columns cost what their values cost, not a dozen numpy calls each (issue 9)."""
    n = len(columns[0]) if rows is None and columns else (0 if rows is None else rows.size)
    per_block = max(1, CHUNK_BYTES // (8 * max(n, 1)))
    for start in range(0, len(columns), per_block):
        block = columns[start:start + per_block]
        if n == 0 or len(block) == 1:
            yield from (_scale_stats(_numbers(column, rows)) for column in block)
            continue
        matrix = np.empty((n, len(block)), dtype=np.float64, order="F")   # each column contiguous
        for j, column in enumerate(block):
            matrix[:, j] = _numbers(column, rows)
        yield from _matrix_stats(matrix)


def _matrix_stats(matrix: np.ndarray) -> list[dict]:
    """`_scale_stats` of each column of a Fortran-ordered float64 [n, k] matrix (NaN = missing)."""
    complete = ~np.isnan(matrix).any(axis=0)
    with np.errstate(invalid="ignore"):   # columns with NaN are redone one by one below
        stats = _block_stats(matrix)
    return [done if complete[j] else _scale_stats(matrix[:, j].copy()) for j, done in enumerate(stats)]


def _block_stats(matrix: np.ndarray) -> list[dict]:
    """`_scale_stats` of each column of a Fortran-ordered float64 [n, k] matrix without NaN:
    the same operations in the same order, each over axis 0 (one contiguous column at a time,
    so sums are the same pairwise sums as on a 1-D column)."""
    size = np.maximum(matrix.max(axis=0), -matrix.min(axis=0))
    size[size == 0] = 1.0
    filled = np.asfortranarray(matrix / size)
    half = filled.shape[0] // 2
    part = np.partition(filled, half, axis=0)
    median = part[half] if filled.shape[0] % 2 else (part[:half].max(axis=0) + part[half]) / 2
    constant = filled.max(axis=0) == filled.min(axis=0)
    std = filled.std(axis=0) * size
    mean = filled.mean(axis=0) * size
    return [{"median": float(m), "mean": float(a), "std": float(d) if d > 0 and not c else 1.0, "constant": bool(c)}
            for m, a, d, c in zip((median * size).tolist(), mean.tolist(), std.tolist(), constant.tolist())]


def _scale_many(numeric: Sequence[tuple[int, pa.ChunkedArray, dict]], out: np.ndarray) -> None:
    """`out[:, at] = _scale(_numbers(column), stats)` for each (at, column, stats), element for
    element the same operations, on a block of columns per numpy call."""
    n = out.shape[0]
    per_block = max(1, CHUNK_BYTES // (8 * max(n, 1)))
    for start in range(0, len(numeric), per_block):
        block = numeric[start:start + per_block]
        matrix = np.empty((n, len(block)), dtype=np.float64)
        for j, (_, column, _) in enumerate(block):
            matrix[:, j] = _numbers(column)
        median, mean, std = (np.array([stats[key] for _, _, stats in block], dtype=np.float64)
                             for key in ("median", "mean", "std"))
        with np.errstate(over="ignore"):   # clipped just below
            np.copyto(matrix, np.broadcast_to(median, matrix.shape), where=np.isnan(matrix))
            matrix -= mean
            matrix /= std
            _fit_f32(matrix)
        out[:, [at for at, _, _ in block]] = matrix


def _scale(values: np.ndarray, stats: dict) -> np.ndarray:
    """`values` imputed and standardized in place (float64; the caller's own array)."""
    with np.errstate(over="ignore"):   # clipped just below
        values[np.isnan(values)] = stats["median"]
        values -= stats["mean"]
        values /= stats["std"]
        return _fit_f32(values)


def _fit_f32(values: np.ndarray) -> np.ndarray:
    # An outlier far outside the training range can standardize past float32's range.
    return np.clip(values, -_F32_MAX, _F32_MAX, out=values)


def _categories(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return label_strings(column)


def _label_source(table: Table, schema: Schema) -> dict:
    info = schema.column(schema.label)
    return {"kind": info.kind, "dtype": info.dtype, "class_names": has_class_names(table)}


class Preprocessor:
    """Fitted feature and label encoding; build one with `Preprocessor.fit`."""

    def __init__(self, steps: list[dict], *, layout: str, label: str | None, task: str,
                 classes: Sequence[str], dropped: Sequence[str] = (), label_source: dict | None = None,
                 y_mean: float = 0.0, y_std: float = 1.0, max_categories: int = 32,
                 warnings: Sequence[str] = ()) -> None:
        self.steps = steps
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
        self.feature_names = [name for step in steps for name in self._names(step)]

    # fitting ----------------------------------------------------------------------------
    @classmethod
    def fit(cls, table: Table, schema: Schema, rows: np.ndarray | Sequence[int] | None = None, *,
            max_categories: int = 32) -> Preprocessor:
        """Statistics from `rows` of `table` (the training split); every row if None."""
        rows = _as_rows(rows)
        if rows is not None and rows.size == 0:
            raise ConfigError("cannot fit the preprocessing on zero training rows")
        if max_categories < 1:
            raise ConfigError(f"max_categories must be at least 1, got {max_categories}")
        dropped: list[str] = []
        if table.is_tabular:
            steps = cls._fit_tabular(table, schema, rows, max_categories, dropped)
        else:
            steps = cls._fit_array(table, schema, rows, dropped)
        pre = cls(steps, layout=schema.layout, label=schema.label, task=schema.task,
                  classes=schema.classes, dropped=dropped, label_source=_label_source(table, schema),
                  max_categories=max_categories)
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
            if y.size:
                pre.y_mean = float(y.mean())
                pre.y_std = float(y.std()) or 1.0
        return pre

    @classmethod
    def labels_only(cls, table: Table, schema: Schema) -> Preprocessor:
        """A preprocessor with no features yet, enough to `encode_labels` (for the split)."""
        return cls([], layout=schema.layout, label=schema.label, task=schema.task,
                   classes=schema.classes, label_source=_label_source(table, schema))

    @classmethod
    def _fit_tabular(cls, table: Table, schema: Schema, rows: np.ndarray | None, max_categories: int,
                     dropped: list[str]) -> list[dict]:
        infos = schema.feature_columns
        position = {name: i for i, name in enumerate(table.columns.column_names)}
        columns = [table.columns.column(position[info.name]) for info in infos]
        numeric = _scale_stats_many([c for c, info in zip(columns, infos) if info.kind == "numeric"], rows)
        steps = []
        for info, column in zip(infos, columns):
            if info.kind == "numeric":   # fitted a block of columns at a time
                stats = next(numeric)
                step = None if stats["constant"] else {"column": info.name, "kind": "numeric", **stats}
            else:
                step = cls._fit_column(info, column, rows, max_categories)
            if step is None:
                dropped.append(info.name)
                continue
            if step["kind"] == "datetime":
                # How text dates were written travels with the model: predict reads them so again.
                step["date_format"] = saved_form(table.columns.schema.field(position[info.name]))
                for part in list(step["parts"]):
                    if step["parts"][part]["constant"]:
                        dropped.append(f"{info.name}.{part}")
                        del step["parts"][part]
                if not step["parts"]:
                    continue
            steps.append(step)
        return steps

    @staticmethod
    def _fit_column(info: ColumnInfo, column: pa.ChunkedArray, rows: np.ndarray | None,
                    max_categories: int) -> dict | None:
        # Numbers are converted whole and indexed in numpy: cheaper than an arrow take.
        def numbers() -> np.ndarray:
            return _numbers(column, rows)

        base = {"column": info.name, "kind": info.kind}
        if info.kind == "numeric":
            stats = _scale_stats(numbers())
            return None if stats["constant"] else {**base, **stats}
        if info.kind == "bool":
            values = numbers()
            present = values[~np.isnan(values)]
            mode = 1.0 if present.size and present.mean() >= 0.5 else 0.0
            filled = np.where(np.isnan(values), mode, values)
            if filled.size == 0 or np.ptp(filled) == 0:
                return None
            return {**base, "mode": mode}
        if info.kind == "categorical":
            values = _categories(column if rows is None else column.take(rows))
            counts = pc.value_counts(values.drop_null())
            pairs = sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()),
                           key=lambda item: (-item[1], item[0]))
            kept = sorted(name for name, _ in pairs[:max_categories])
            step = {**base, "categories": kept, "other": len(pairs) > max_categories,
                    "missing": values.null_count > 0}
            if len(kept) + step["other"] + step["missing"] <= 1:
                return None
            return step
        if info.kind == "datetime":
            parts = _datetime_parts(column)
            return {**base, "parts": {name: _scale_stats(parts[name] if rows is None else parts[name][rows])
                                      for name in DATETIME_PARTS}}
        raise SchemaError(info.name, f"column kind {info.kind!r} cannot be a feature")

    @classmethod
    def _fit_array(cls, table: Table, schema: Schema, rows: np.ndarray | None, dropped: list[str]) -> list[dict]:
        features = table.features
        train_rows = rows if rows is not None else np.arange(features.shape[0])
        if schema.layout == "image":
            return [cls._fit_image(features, train_rows)]
        if features.ndim == 2 and schema.feature_columns[0].kind != "tensor":
            index = [int(c.name[1:]) for c in schema.feature_columns]
        else:
            index = list(range(int(np.prod(features.shape[1:]))))
        flat = np.asarray(features)    # a plain view: no np.memmap bookkeeping per slice
        flat = flat if flat.ndim == 2 else flat.reshape(flat.shape[0], -1)
        per_block = max(1, CHUNK_BYTES // (8 * max(train_rows.size, 1)))
        keep, stats, constant = [], [], {}
        for start in range(0, len(index), per_block):   # a block of features per numpy call
            block = index[start:start + per_block]
            if train_rows.size == 0:
                fitted = [_scale_stats(cls._array_column(features, train_rows, j)) for j in block]
            else:
                matrix = np.asarray(flat[np.ix_(train_rows, block)], dtype=np.float64, order="F")
                matrix[~np.isfinite(matrix)] = np.nan
                fitted = _matrix_stats(matrix)
            for j, s in zip(block, fitted):
                if s["constant"]:
                    dropped.append(f"f{j}")
                    constant[j] = s["median"]   # its one value: pictures show dropped pixels (udl_core/pixels.py)
                    continue
                keep.append(j)
                stats.append(s)
        return [{
            "kind": "array",
            "shape": list(features.shape[1:]),
            "index": keep,
            "median": [s["median"] for s in stats],
            "mean": [s["mean"] for s in stats],
            "std": [s["std"] for s in stats],
            "constant_index": list(constant),
            "constant_value": list(constant.values()),
        }]

    @staticmethod
    def _array_column(features: np.ndarray, rows: np.ndarray, j: int) -> np.ndarray:
        flat = np.asarray(features)    # a plain view: no np.memmap bookkeeping per slice
        flat = flat if flat.ndim == 2 else flat.reshape(flat.shape[0], -1)
        values = flat[rows, j].astype(np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            values[bad] = np.nan
        return values

    @staticmethod
    def _fit_image(features: np.ndarray, rows: np.ndarray) -> dict:
        scale = 1.0 / 255.0 if features.dtype == np.uint8 else 1.0
        channels = features.shape[-1] if features.ndim == 4 else 1
        def chunks():
            step = chunk_rows(int(np.prod(features.shape[1:])))
            for start in range(0, rows.size, step):
                chunk = np.asarray(features[rows[start:start + step]], dtype=np.float64) * scale
                yield chunk.reshape(-1, channels)

        # Two passes (mean, then squared deviations): a flat channel gets std 0, not rounding noise.
        count = max(1, rows.size * int(np.prod(features.shape[1:])) // channels)
        mean = sum((c.sum(axis=0) for c in chunks()), np.zeros(channels)) / count
        var = sum((np.square(c - mean).sum(axis=0) for c in chunks()), np.zeros(channels)) / count
        std = np.sqrt(var)
        std[std < 1e-12] = 1.0
        return {"kind": "image", "shape": list(features.shape[1:]), "scale": scale,
                "channels": channels, "mean": mean.tolist(), "std": std.tolist()}

    # names ------------------------------------------------------------------------------
    @staticmethod
    def _names(step: dict) -> list[str]:
        kind = step["kind"]
        if kind in ("numeric", "bool"):
            return [step["column"]]
        if kind == "categorical":
            col = step["column"]
            return ([f"{col}={c}" for c in step["categories"]] + ([f"{col}=other"] if step["other"] else [])
                    + ([f"{col}=missing"] if step["missing"] else []))
        if kind == "datetime":
            return [f"{step['column']}.{part}" for part in step["parts"]]
        if kind == "array":
            return [f"f{j}" for j in step["index"]]
        shape = step["shape"]
        return [f"pixel{j}" for j in range(int(np.prod(shape)))]

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
        if self.layout == "tabular":
            return self._transform_tabular(table, rows)
        if table.is_tabular:
            raise SchemaError(table.source, "this preprocessing was fitted on arrays, not a table of columns")
        step = self.steps[0]
        if list(table.features.shape[1:]) != step["shape"]:
            raise SchemaError(table.source, f"features have shape {list(table.features.shape[1:])}, "
                                            f"the preprocessing expects {step['shape']}")
        n = table.num_rows if rows is None else rows.size
        out = np.empty((n, self.feature_dim), dtype=np.float32)
        per_chunk = chunk_rows(int(np.prod(table.features.shape[1:])))
        for start in range(0, n, per_chunk):
            stop = min(n, start + per_chunk)
            chunk = table.features[start:stop] if rows is None else table.features[rows[start:stop]]
            out[start:stop] = self._transform_array(step, np.asarray(chunk))
        return out

    def _transform_array(self, step: dict, chunk: np.ndarray) -> np.ndarray:
        n = chunk.shape[0]
        if step["kind"] == "image":
            values = chunk.astype(np.float32) * np.float32(step["scale"])
            values = values.reshape(n, -1, step["channels"])
            values -= np.asarray(step["mean"], dtype=np.float32)
            values /= np.asarray(step["std"], dtype=np.float32)
            return values.reshape(n, -1)
        flat = chunk.reshape(n, -1)
        index = step["index"]
        if index != list(range(flat.shape[1])):   # no fancy-index copy when every column is kept
            flat = flat[:, index]
        flat = flat.astype(np.float64)
        bad = ~np.isfinite(flat)
        if bad.any():
            np.copyto(flat, np.broadcast_to(np.asarray(step["median"]), flat.shape), where=bad)
        with np.errstate(over="ignore"):   # clipped by _fit_f32
            flat -= np.asarray(step["mean"])
            flat /= np.asarray(step["std"])
            return _fit_f32(flat)

    def _transform_tabular(self, table: Table, rows: np.ndarray | None) -> np.ndarray:
        if not table.is_tabular:
            raise SchemaError(table.source, "this preprocessing was fitted on a table of columns, not arrays")
        needed = [step["column"] for step in self.steps]
        # Names to positions once: a lookup per column must not scan every column (issue 9).
        position = {name: i for i, name in enumerate(table.columns.column_names)}
        missing = [name for name in needed if name not in position]
        if missing:
            raise SchemaError(table.source, f"column(s) {', '.join(map(repr, missing))} are missing; "
                                            f"the preprocessing needs: {', '.join(needed)}")
        data = table.columns.select([position[name] for name in needed])
        if rows is not None:
            data = data.take(rows)
        n = data.num_rows
        out = np.zeros((n, self.feature_dim), dtype=np.float32)
        at = 0
        numeric: list[tuple[int, pa.ChunkedArray, dict]] = []   # scaled a block of columns at a time
        for j, step in enumerate(self.steps):
            column = data.column(j)
            kind = step["kind"]
            if kind == "numeric":
                numeric.append((at, column, step))
                at += 1
            elif kind == "bool":
                values = _numbers(column)
                out[:, at] = np.where(np.isnan(values), step["mode"], values)
                at += 1
            elif kind == "categorical":
                at = self._one_hot(step, column, out, at)
            else:
                parts = _datetime_parts(column)
                for part, stats in step["parts"].items():
                    out[:, at] = _scale(parts[part], stats)
                    at += 1
        _scale_many(numeric, out)
        return out

    @staticmethod
    def _one_hot(step: dict, column: pa.ChunkedArray, out: np.ndarray, at: int) -> int:
        values = _categories(column)
        kept = step["categories"]
        index = pc.index_in(values, value_set=pa.array(kept, pa.string()))
        codes = pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        width = len(kept)
        if step["other"]:
            codes[(codes < 0) & values.is_valid().to_numpy(zero_copy_only=False)] = width
            width += 1
        if step["missing"]:
            codes[values.is_null().to_numpy(zero_copy_only=False)] = width
            width += 1
        hit = np.flatnonzero(codes >= 0)
        out[hit, at + codes[hit]] = 1.0
        return at + width

    def encode_labels(self, table: Table, rows: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """int32 class indices (-1 missing/unknown) or float32 targets (NaN missing)."""
        rows = _as_rows(rows)
        if self.label_source.get("class_names"):
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
            if label not in table.columns.column_names:
                raise SchemaError(table.source, f"the label column '{label}' is missing")
            column = table.columns.column(label)
            return (column if rows is None else column.take(rows)).combine_chunks()
        if table.labels is not None:
            labels = np.asarray(table.labels if rows is None else table.labels[rows])
        else:
            j = int(label[1:])
            labels = np.asarray(table.features[:, j] if rows is None else table.features[rows, j])
        if labels.dtype.kind == "f":
            return pa.array(labels, mask=np.isnan(labels))
        if labels.dtype.kind in "US":
            return pa.array(labels.astype(str), mask=labels == labels.dtype.type(""))
        return pa.array(labels)

    # saving -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "version": 1,
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
    def from_dict(cls, data: dict) -> Preprocessor:
        try:
            return cls(
                [dict(step) for step in data["steps"]], layout=data["layout"], label=data["label"],
                task=data["task"], classes=data["classes"], dropped=data.get("dropped", ()),
                label_source=data.get("label_source"), y_mean=data.get("y_mean", 0.0),
                y_std=data.get("y_std", 1.0), max_categories=data.get("max_categories", 32),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not a saved preprocessing: missing {exc}") from None
