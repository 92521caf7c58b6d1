"""Column kinds, the label and the task of a Table: `infer(table) -> Schema`.

Rules, in the order they apply:

* **Kinds.** Integers, floats and decimals are `numeric`; `bool` is `bool`; timestamps and
  dates are `datetime`; dictionary-encoded columns are `categorical`. A string column is
  `numeric` when it is named in `numeric=`, or when at least 95% of its non-missing values
  parse as numbers (the rest then count as missing, and a warning says how many). Other
  string columns are `categorical`, unless they look like free text (more than 50 distinct
  values and more than half of the values distinct, or an average length over 64
  characters): free text is `text` and ignored, with a warning. Nested and binary columns
  are ignored with a warning. `categorical=` forces a column categorical (integers too).
* **Datetimes** become six numbers in preprocessing: year, month, day, weekday (Monday=0),
  hour, and the fractional days since 1970-01-01 (the continuous one); each is imputed and
  standardized like any numeric column, and parts that never vary (the hour of a date) are
  dropped as constant.
* **Missing and row names.** A column missing in every row, whatever its type, is ignored
  with a warning. Row-name columns (R's `""` / `rownames`, pandas' `Unnamed: 0` /
  `__index_level_0__` / `index`; rules in udl_core/label_rules.py) are ignored with a
  warning that names them, unless `label=`, `numeric=` or `categorical=` names them.
* **Label.** `label=` wins; else a column called label/target/class/y (any case); else the
  last column that can be a label (label_rules.py: not a datetime, id-like, free text,
  constant, empty or year-like column), a guess that `label_guessed` and a warning report;
  when none can, a SchemaError lists the columns and why. Array tables use their `labels`
  array when the reader found one; a bare features array has no label to guess (give a
  labels file, or `label=` one of its columns f0..f{D-1}). Image folders have the label
  "class" with the subfolder names as classes. Rows whose label is missing are counted in
  `label_missing` (and dropped by the loader, with a warning).
* **Task.** `task=` wins when the label allows it. Otherwise a string, bool or categorical
  label means classification; a numeric label means classification when its values are
  all whole numbers, there are at most 20 distinct ones, and there are at least 5
  labelled rows per distinct value (two values are always classes); any other numeric
  label is a regression target. Classes are the label values as strings, sorted (numbers
  numerically), taken from every labelled row, so a class seen only in validation still
  has an index. A classification label with nearly as many classes as labelled rows (at
  least half of them, three classes or more) is refused, or, numeric with `task="auto"`,
  made a regression target with a warning that says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.dates import column_warnings
from udl_core.errors import SchemaError
from udl_core.label_rules import (
    ineligible_reason,
    label_candidates,
    nearly_unique,
    row_name_columns,
)
from udl_core.table import Table
from udl_core.values import (
    class_sort_key,
    clean_labels,
    count_classes,
    has_class_names,
    is_image_table,
    label_strings,
    label_values,
    parallel_map,
    parse_numbers,
    table_slice,
    whole,
)

__all__ = [
    "ColumnInfo", "Schema", "class_sort_key", "count_labels", "has_class_names", "infer", "is_image_table",
    "label_strings", "parse_numbers", "table_slice",
]

KINDS = ("numeric", "bool", "categorical", "datetime", "text", "tensor")
ROLES = ("feature", "label", "ignore")
LABEL_NAMES = ("label", "target", "class", "y")

NUMERIC_SHARE = 0.95          # share of parseable values that makes a text column numeric
TEXT_MIN_DISTINCT = 50        # free text: more distinct values than this ...
TEXT_DISTINCT_SHARE = 0.5     # ... and more than this share of the values distinct
TEXT_MEAN_LENGTH = 64         # or values this long on average
MAX_AUTO_CLASSES = 20         # integer labels with more distinct values are a regression target
ROWS_PER_CLASS = 5
MAX_CLASSES = 10_000
ARRAY_COLUMNS_LIMIT = 4096    # wider 2-D arrays are shown as one tensor column
COLUMNS_SHOWN = 50            # an error about a column name lists at most this many columns
DISTINCT_SAMPLE = 100_000     # distinct counts of array columns use at most this many rows



@dataclass(frozen=True)
class ColumnInfo:
    """One column: arrow/numpy type name, kind, role, missing and distinct counts."""

    name: str
    dtype: str
    kind: str
    role: str
    missing: int
    distinct: int


@dataclass(frozen=True)
class Schema:
    """What `infer` decided about a Table. `features` are the names of the feature columns."""

    columns: tuple[ColumnInfo, ...]
    label: str | None
    task: str
    classes: tuple[str, ...] = ()
    class_counts: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    layout: str = "tabular"       # tabular | array | image
    rows: int = 0
    label_missing: int = 0
    source: str = ""
    label_guessed: bool = False   # no label was named: the last column that can be one was taken
    label_candidates: tuple[str, ...] = ()   # when guessed: the columns that can be the label, likeliest first

    @property
    def features(self) -> list[str]:
        return [c.name for c in self.columns if c.role == "feature"]

    @property
    def feature_columns(self) -> list[ColumnInfo]:
        return [c for c in self.columns if c.role == "feature"]

    def column(self, name: str) -> ColumnInfo:
        for info in self.columns:
            if info.name == name:
                return info
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["columns"] = [asdict(c) for c in self.columns]
        out["classes"] = list(self.classes)
        out["warnings"] = list(self.warnings)
        out["label_candidates"] = list(self.label_candidates)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        data = dict(data)
        data["columns"] = tuple(ColumnInfo(**c) for c in data["columns"])
        data["classes"] = tuple(data.get("classes", ()))
        data["warnings"] = tuple(data.get("warnings", ()))
        data["label_candidates"] = tuple(data.get("label_candidates", ()))
        data["class_counts"] = dict(data.get("class_counts", {}))
        return cls(**data)


def _missing(column: pa.ChunkedArray) -> int:
    if not pa.types.is_floating(column.type):
        return int(column.null_count)
    # Nulls come out of to_numpy as NaN, so one isfinite pass counts both kinds of missing.
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    values = (c.to_numpy(zero_copy_only=False) for c in chunks)
    return sum(int(v.size - np.count_nonzero(np.isfinite(v))) for v in values)


def _mostly_words(column: pa.ChunkedArray, present: int) -> bool:
    """Whether the column's first rows alone hold too many values that are not numbers for
    NUMERIC_SHARE of its values to be numbers: then the whole column need not be parsed (a
    tenth of the time for 1M words). Exact: those values are in the column whatever follows."""
    head = column.slice(0, int((1 - NUMERIC_SHARE) * present) + 1_000)
    parsed = parse_numbers(head)
    not_numbers = (len(head) - head.null_count) - (len(parsed) - parsed.null_count)
    return bool(not_numbers > (1 - NUMERIC_SHARE) * present)


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _distinct(column: pa.ChunkedArray | pa.Array) -> int:
    """Distinct non-missing values (numbers, and dates and times by their integer ticks:
    `_number_counts`; text: arrow's hash count, which took 0.36 s for 1M timestamps that
    a sort of their ticks counts in 0.06 s)."""
    if _is_number(column.type):
        return _number_counts(column)[0]
    if pa.types.is_temporal(column.type):
        ticks = pa.int64() if column.type.bit_width == 64 else pa.int32()
        chunks = [column] if isinstance(column, pa.Array) else column.chunks
        return _number_counts(pa.chunked_array([chunk.view(ticks) for chunk in chunks], ticks))[0]
    return int(pc.count_distinct(column).as_py())


# Exact distinct counts, chosen by measurement (2M values, CPU seconds, this 2-core x86 machine):
# whole numbers within a span of at most SPAN_PER_VALUE x their count are tallied with np.bincount
# (label int64, 10 classes: 3-8 ms against 14 ms sorted; the tally is no larger than the int64
# copy a sort makes); other numbers are sorted and neighbours
# compared: numpy's SIMD sort of float32 took 20-25 ms whatever the cardinality, arrow's
# count_distinct 47 ms (62k distinct) to 790 ms (all distinct; it also counts -0.0 apart from 0.0), polars' n_unique 62-96 ms,
# np.unique(sorted=False) (a hash) 25 ms, and a bincount of the floats as k / 10**d (data
# rounded to 4 places) 29 ms with its exactness check. The exact count is what `inspect` and the GUI show.
SPAN_PER_VALUE = 1
TALLY_ROWS = 1 << 18   # values per bincount call: each GIL hold stays about a millisecond


def _number_counts(column: pa.ChunkedArray | pa.Array) -> tuple[int, int]:
    """(distinct, missing) of a number column: distinct finite values (-0.0 equals 0.0), and
    nulls plus, for floats, NaN and infinities as missing. One copy of the values, one pass."""
    chunks = [column] if isinstance(column, pa.Array) else column.chunks
    if pa.types.is_floating(column.type):
        # Nulls come out of to_numpy as NaN, so one isfinite pass counts both kinds of missing.
        parts = [c.to_numpy(zero_copy_only=False) for c in chunks]
        values = np.concatenate(parts or [np.empty(0)]) if len(parts) != 1 else parts[0].copy()   # sorted in place
        finite = np.isfinite(values)
        present = int(np.count_nonzero(finite))
        missing = int(values.size) - present
        if missing:
            values = values[finite]
        if values.dtype == np.float64:
            values = _as_float32(values)[0]
        values.sort()
        return int(values.size and 1 + np.count_nonzero(values[1:] != values[:-1])), missing
    missing = int(column.null_count)
    parts = [(c.drop_null() if c.null_count else c).to_numpy() for c in chunks]  # zero-copy
    ints = np.concatenate(parts or [np.empty(0, np.int64)]) if len(parts) != 1 else parts[0]
    tally = _tally(ints)
    if tally is not None:
        return int(np.count_nonzero(tally[1])), missing
    ordered = np.sort(ints)
    return int(ordered.size and 1 + np.count_nonzero(ordered[1:] != ordered[:-1])), missing


def _tally(ints: np.ndarray) -> tuple[int, np.ndarray] | None:
    """(min, occurrences of each integer from min to max), or None when the span is over
    SPAN_PER_VALUE x the count (sort those) or there are no values."""
    if not ints.size:
        return None
    low, high = int(ints.min()), int(ints.max())
    span = high - low + 1                     # Python ints: no overflow for huge int64/uint64
    if span > SPAN_PER_VALUE * ints.size + 1024:
        return None
    seen = np.zeros(span, dtype=np.int64)
    for start in range(0, ints.size, TALLY_ROWS):
        part = ints[start:start + TALLY_ROWS]
        offsets = part - part.dtype.type(low) if part.dtype.kind == "u" else part.astype(np.int64) - low
        seen += np.bincount(offsets.astype(np.intp, copy=False), minlength=span)
    return low, seen


BLOCK_VALUES = 1 << 20   # columns this short (in values) are counted in blocks, not one by one


def _in_blocks(column: pa.ChunkedArray) -> bool:
    """A short float64/float32 column without nulls: counted by `_block_counts`."""
    return (len(column) <= BLOCK_VALUES // 16 and column.null_count == 0
            and (pa.types.is_float64(column.type) or pa.types.is_float32(column.type)))


def _block_counts(items: Sequence[tuple[str, pa.ChunkedArray]]) -> tuple[dict[str, int], dict[str, int]]:
    """`_distinct` and `_missing` of many short float columns, a block of columns per numpy call
    (sorted along axis 0): a wide table costs what its values cost, not a dozen calls per column."""
    distinct: dict[str, int] = {}
    missing: dict[str, int] = {}
    if not items:
        return distinct, missing
    n = len(items[0][1])
    per_block = max(1, BLOCK_VALUES // max(n, 1))
    for start in range(0, len(items), per_block):
        block = items[start:start + per_block]
        matrix = np.empty((n, len(block)), dtype=np.float64)
        for j, (_, column) in enumerate(block):
            matrix[:, j] = column.to_numpy()
        finite = np.isfinite(matrix)
        matrix[~finite] = np.nan            # sorted last, not counted
        matrix.sort(axis=0)
        valid = ~np.isnan(matrix)
        counts = valid[:1].sum(axis=0) + ((matrix[1:] != matrix[:-1]) & valid[1:]).sum(axis=0)
        absent = n - finite.sum(axis=0)
        for j, (name, _) in enumerate(block):
            distinct[name] = int(counts[j])
            missing[name] = int(absent[j])
    return distinct, missing


def _as_float32(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """float64 values that are all exactly float32s (read from float32 data), as float32:
    half the bytes to sort, and the same distinct count (the cast is exact, so one-to-one)."""
    head = values[:256]
    with np.errstate(over="ignore"):
        if not np.array_equal(head.astype(np.float32), head):
            return values, False
        narrow = values.astype(np.float32)
    return (narrow, True) if np.array_equal(narrow, values) else (values, False)


class _Inference:
    """The state of one `infer` call: the warnings it has gathered and its overrides."""

    def __init__(self, table: Table, max_categories: int) -> None:
        self.table = table
        self.max_categories = max_categories
        self.warnings: list[str] = []
        self.distinct: dict[str, int] = {}   # number columns' counts, computed up front
        self.missing: dict[str, int] = {}    # float columns' missing counts, likewise

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    # tabular --------------------------------------------------------------------------
    def tabular_column(self, name: str, column: pa.ChunkedArray, force: str | None,
                       is_label: bool = False) -> ColumnInfo:
        kind_of = column.type
        dtype = str(kind_of)
        missing = self.missing[name] if name in self.missing else _missing(column)
        if pa.types.is_null(kind_of) or (len(column) and missing == len(column) and not is_label):
            # Every value missing, whatever the type (an empty CSV column is text, in Parquet
            # null or float): one answer in every format. A label says so later, as the label.
            self.warn(f"column '{name}' has no values; it is ignored")
            return ColumnInfo(name, dtype, "numeric", "ignore", missing, 0)
        if force == "categorical":
            values = pc.cast(column, pa.string()) if not pa.types.is_string(kind_of) else column
            return self._categorical(name, dtype, values, missing)
        if pa.types.is_boolean(kind_of):
            kind = "bool"
        elif pa.types.is_integer(kind_of) or pa.types.is_floating(kind_of) or pa.types.is_decimal(kind_of):
            kind = "numeric"
        elif pa.types.is_timestamp(kind_of) or pa.types.is_date(kind_of):
            kind = "datetime"
            columns = self.table.columns
            assert columns is not None   # a column of a table (an array has no datetime columns)
            for message in column_warnings(name, columns.schema.field(name)):   # read from text
                self.warn(message)
        elif pa.types.is_duration(kind_of):
            kind = "numeric"
        elif pa.types.is_dictionary(kind_of):
            return self._categorical(name, dtype, pc.cast(column, pa.string()), missing)
        elif pa.types.is_string(kind_of) or pa.types.is_large_string(kind_of):
            return self._string(name, dtype, column, missing, force == "numeric", is_label)
        else:
            self.warn(f"column '{name}' holds {dtype} values, which UDL does not use; it is ignored")
            return ColumnInfo(name, dtype, "text", "ignore", missing, 0)
        if force == "numeric" and kind != "numeric":
            raise SchemaError(self.table.source, f"column '{name}' ({dtype}) cannot be read as numbers")
        distinct = self.distinct[name] if name in self.distinct else _distinct(column)
        return ColumnInfo(name, dtype, kind, "feature", missing, distinct)

    def _string(self, name: str, dtype: str, column: pa.ChunkedArray, missing: int,
                numeric: bool, is_label: bool) -> ColumnInfo:
        present = len(column) - missing
        if not numeric and not is_label and _mostly_words(column, present):
            return self._words(name, dtype, column, missing, present, is_label)
        parsed = parse_numbers(column)
        numbers = len(parsed) - parsed.null_count
        if is_label and not numeric and numbers and (pc.max(pc.abs(parsed)).as_py() or 0) >= 2**53:
            # Whole numbers past 2**53 (uint64 ids kept as text) would merge as float64: classes keep every digit.
            return self._categorical(name, dtype, column, missing)
        if numeric or (present > 0 and numbers >= NUMERIC_SHARE * present):
            junk = present - numbers
            if junk:
                self.warn(f"column '{name}': {junk} value(s) that are not numbers are treated as missing")
            return ColumnInfo(name, dtype, "numeric", "feature", len(parsed) - numbers, _distinct(parsed))
        return self._words(name, dtype, column, missing, present, is_label)

    def _words(self, name: str, dtype: str, column: pa.ChunkedArray, missing: int, present: int,
               is_label: bool) -> ColumnInfo:
        """A text column that is not numbers: free text, or categories."""
        distinct = _distinct(column)
        lengths = pc.mean(pc.utf8_length(column)).as_py() or 0.0
        if not is_label and (
            (distinct > TEXT_MIN_DISTINCT and distinct > TEXT_DISTINCT_SHARE * present)
            or (lengths > TEXT_MEAN_LENGTH and distinct > 1)
        ):
            self.warn(
                f"column '{name}' looks like free text ({distinct} distinct values in {present}); "
                "it is ignored (name it with categorical= to one-hot it)"
            )
            return ColumnInfo(name, dtype, "text", "ignore", missing, distinct)
        return self._categorical(name, dtype, column, missing, distinct)

    def _categorical(self, name: str, dtype: str, values: pa.ChunkedArray, missing: int,
                     distinct: int | None = None) -> ColumnInfo:
        distinct = _distinct(values) if distinct is None else distinct
        if distinct > self.max_categories:
            self.warn(
                f"column '{name}' has {distinct} categories; the {self.max_categories} most "
                f"frequent in the training rows are kept and the rest grouped as '{name}=other'"
            )
        return ColumnInfo(name, dtype, "categorical", "feature", missing, distinct)

    # arrays ---------------------------------------------------------------------------
    def array_columns(self, features: np.ndarray) -> list[ColumnInfo]:
        """Missing values counted over every row, a chunk of rows at a time (most chunks of most
        data have none: one isfinite pass and its all()); distinct values over the first
        DISTINCT_SAMPLE rows, each column sorted as a contiguous row (float32 data in float32:
        2M x 32 in 0.09 s against 0.25 s counted per column in float64 along axis 0)."""
        rows, k = features.shape[0], features.shape[1]
        dtype = str(features.dtype)
        missing = np.zeros(k, dtype=np.int64)
        if features.dtype.kind == "f":
            step = max(1, (1 << 20) // (features.dtype.itemsize * max(1, k)))
            for start in range(0, rows, step):
                chunk = np.asarray(features[start:start + step])
                finite = np.isfinite(chunk)
                if not finite.all():
                    missing += chunk.shape[0] - np.count_nonzero(finite, axis=0)
        sample = np.asarray(features[:DISTINCT_SAMPLE])
        work = np.float32 if features.dtype in (np.float32, np.float16) else np.float64   # exact either way
        distinct = np.zeros(k, dtype=np.int64)
        group = max(1, (32 << 20) // (8 * max(1, sample.shape[0])))   # columns at a time: a bounded copy
        for first in range(0, k, group):
            ordered = np.ascontiguousarray(sample[:, first:first + group].T, dtype=work)
            ordered[~np.isfinite(ordered)] = np.nan             # sorted last, not counted
            ordered.sort(axis=1)
            valid = ~np.isnan(ordered)
            distinct[first:first + group] = valid[:, :1].sum(axis=1) + \
                ((ordered[:, 1:] != ordered[:, :-1]) & valid[:, 1:]).sum(axis=1)
        return [
            ColumnInfo(f"f{j}", dtype, "numeric", "feature", int(missing[j]), int(distinct[j]))
            for j in range(k)
        ]


def _check_names(source: str, names: Sequence[str], wanted: Iterable[str], what: str) -> None:
    known = set(names)   # a set: checking many names against many columns stays linear
    unknown = [n for n in wanted if n not in known]
    if unknown:
        shown = ", ".join(names[:COLUMNS_SHOWN]) + (f", ... ({len(names):,} in all)"
                                                    if len(names) > COLUMNS_SHOWN else "")
        raise SchemaError(
            source,
            f"{what} names unknown column(s) {', '.join(map(repr, unknown))}; "
            f"the columns are: {shown}",
        )


def _named_label(names: Sequence[str]) -> str | None:
    for name in names:
        if name.strip().lower() in LABEL_NAMES:
            return name
    return None


def _guess_label(table: Table, infos: Sequence[ColumnInfo], columns: Sequence[pa.ChunkedArray],
                 skipped: dict[str, str]) -> tuple[str, str]:
    """The last column that can be a label (label_rules.py) and the warning that says it was
    a guess; `skipped` are columns out of the running (ignored, row names) and why."""
    passed: list[str] = []
    for info, column in zip(reversed(infos), reversed(columns)):
        why = skipped.get(info.name) or ineligible_reason(info, column, table.num_rows)
        if why is None:
            after = f": after it, {', '.join(reversed(passed[:3]))}{', ...' if len(passed) > 3 else ''}" \
                if passed else ""
            return info.name, (f"label: guessed '{info.name}' (the last column that can be a label{after}); "
                               "name one with --label")
        passed.append(f"'{info.name}' ({why})")
    shown = list(reversed(passed))
    listed = ", ".join(shown[:COLUMNS_SHOWN]) + (f", ... ({len(shown):,} in all)" if len(shown) > COLUMNS_SHOWN else "")
    raise SchemaError(table.source, f"no column can be the label by default: {listed}; name one with --label")


def _missing_label_warning(count: int, label: str) -> str:
    return f"{count} row(s) have no value in the label column '{label}' and are dropped"


def count_labels(table: Table, schema: Schema, chunk_rows: int = 1 << 20) -> Schema:
    """`schema` (inferred on a sample) with its label counts, classes and missing labels
    recounted over every row of `table`, a chunk at a time."""
    label = schema.label
    if label is None:
        raise SchemaError(table.source, "has no label column to count")
    info = schema.column(label)
    names = [c.name for c in schema.columns]
    counts: dict[str, int] = {}
    missing = 0
    for start in range(0, table.num_rows, chunk_rows):
        part = table_slice(table, start, min(table.num_rows, start + chunk_rows))
        if has_class_names(part):
            class_names = part.class_names or ()
            codes = np.bincount(np.asarray(part.labels), minlength=len(class_names))
            for name, k in zip(class_names, codes.tolist()):
                counts[name] = counts.get(name, 0) + k
            continue
        values = clean_labels(label_values(part, label, names), info.kind)
        missing += values.null_count
        if schema.task == "classification":
            for name, k in zip(*count_classes(values)):
                counts[name] = counts.get(name, 0) + k
    if missing == table.num_rows:
        raise SchemaError(table.source, f"the label column '{label}' has no values: every row is missing it")
    classes = tuple(table.class_names or ()) if has_class_names(table) else tuple(sorted(counts, key=class_sort_key))
    if len(classes) > MAX_CLASSES:
        raise SchemaError(table.source, f"the label column '{label}' has {len(classes)} distinct values, "
                                        f"too many classes (at most {MAX_CLASSES})")
    warnings = [w for w in schema.warnings if w != _missing_label_warning(schema.label_missing, label)]
    if missing:
        warnings.append(_missing_label_warning(missing, label))
    return replace(schema, classes=classes if schema.task == "classification" else (),
                   class_counts={c: counts.get(c, 0) for c in classes} if schema.task == "classification" else {},
                   label_missing=missing, rows=table.num_rows, warnings=tuple(warnings))


def _decide_task(inf: _Inference, label: str, info: ColumnInfo, values: pa.Array, task: str,
                 present: int) -> tuple[str, tuple[str, ...], dict[str, int]]:
    source = inf.table.source
    if info.kind in ("datetime", "text", "tensor"):
        raise SchemaError(source, f"the label column '{label}' holds {info.kind} values ({info.dtype}), "
                                  "which cannot be a label")
    numeric = info.kind == "numeric"
    if task == "regression" and not numeric:
        raise SchemaError(
            source,
            f"the label column '{label}' holds {info.kind} values ({info.dtype}); "
            "a regression target must be numeric",
        )
    if numeric and pa.types.is_string(values.type):
        values = parse_numbers(values)
    tally = _label_tally(values) if numeric and task != "regression" else None
    if task == "auto":
        if not numeric:
            task = "classification"
        else:
            distinct = _label_numbers(values, tally)
            few = len(distinct) <= 2 or (
                len(distinct) <= MAX_AUTO_CLASSES and len(distinct) * ROWS_PER_CLASS <= present
            )
            task = "classification" if few and whole(distinct) else "regression"
            if whole(distinct) and nearly_unique(len(distinct), present):
                inf.warn(f"the label column '{label}' has {len(distinct):,} distinct whole numbers in {present:,} "
                         "labelled rows, nearly a class per row (under 2 rows per class): it is a regression "
                         "target, not classes")
    if task == "regression":
        return task, (), {}
    names, counts = _tallied_classes(*tally) if tally is not None else count_classes(values)
    if nearly_unique(len(names), present):
        why = (f"the label column '{label}' has {len(names):,} distinct values in {present:,} labelled rows, "
               "nearly a class per row (under 2 rows per class)")
        raise SchemaError(source, f"{why}: too many classes to learn (is it an identifier, a date or free text? "
                                  "name another label with --label)")
    if len(names) > MAX_CLASSES:
        raise SchemaError(source, f"the label column '{label}' has {len(names)} distinct values, "
                                  f"too many classes (at most {MAX_CLASSES})")
    if len(names) < 2:
        inf.warn(f"the label column '{label}' has a single class ({names[0]!r}); nothing can be learned from it")
    return task, tuple(names), dict(zip(names, counts))


def _label_tally(values: pa.Array) -> tuple[int, np.ndarray] | None:
    """`_tally` of an integer label within +-2**53 (its values exact as float64), else None."""
    if not pa.types.is_integer(values.type):
        return None
    tally = _tally(values.drop_null().to_numpy())
    if tally is None or max(abs(tally[0]), abs(tally[0] + tally[1].size - 1)) > 2**53:
        return None
    return tally


def _tallied_classes(low: int, seen: np.ndarray) -> tuple[list[str], list[int]]:
    """`count_classes` of the integers `_tally` counted: each present value named as text."""
    present = np.flatnonzero(seen)
    merged = {str(low + int(i)): int(seen[i]) for i in present.tolist()}
    names = sorted(merged, key=class_sort_key)
    return names, [merged[n] for n in names]


def _label_numbers(values: pa.Array, tally: tuple[int, np.ndarray] | None) -> np.ndarray:
    """The distinct numbers of a label, as float64 (so integers past 2**53 merge as they round)."""
    if tally is not None:
        return (np.flatnonzero(tally[1]) + tally[0]).astype(np.float64)   # exact as float64
    numbers: np.ndarray = pc.cast(values, pa.float64(), safe=False).drop_null().to_numpy(zero_copy_only=False)
    numbers = numbers[~np.isnan(numbers)]
    numbers.sort()
    return numbers[np.concatenate(([True], numbers[1:] != numbers[:-1]))] if numbers.size else numbers


def _tabular_infos(inf: _Inference, names: list[str], label: str | None, categorical: set[str],
                   numeric: set[str], ignored: set[str], row_names: dict[str, str]) -> tuple[list[ColumnInfo], str]:
    """The columns of a tabular Table, and its label: `label`, or when None the guess, whose
    warning then comes first. Warnings follow the column order; row names get one each."""
    table = inf.table
    assert table.columns is not None
    # The sorts behind distinct counts dominate inference: run them side by side.
    columns = table.columns.columns   # by position: no lookup by name per column
    numbers = [(n, c) for n, c in zip(names, columns) if n not in categorical and _is_number(c.type)]
    narrow = [(n, c) for n, c in numbers if _in_blocks(c)]
    inf.distinct, inf.missing = _block_counts(narrow)
    numbers = [(n, c) for n, c in numbers if n not in inf.distinct]
    counts = parallel_map(lambda item: _number_counts(item[1]), numbers, len(numbers) * table.num_rows)
    inf.distinct.update((n, d) for (n, _), (d, _) in zip(numbers, counts))
    inf.missing.update((n, m) for (n, _), (_, m) in zip(numbers, counts))

    def column_info(name: str, column: pa.ChunkedArray, is_label: bool) -> tuple[ColumnInfo, list[str]]:
        force = "categorical" if name in categorical else "numeric" if name in numeric else None
        before = len(inf.warnings)
        info = inf.tabular_column(name, column, force, is_label)
        said = inf.warnings[before:]
        del inf.warnings[before:]
        return info, said

    infos: list[ColumnInfo] = []
    said: list[list[str]] = []
    for name, column in zip(names, columns):
        info, messages = column_info(name, column, name == label)
        infos.append(info)
        said.append([] if name in row_names else messages)   # a row-name column gets one warning, below
    guess = None
    if label is None:
        skipped = {n: "ignored" for n in ignored} | {n: "row names" for n in row_names}
        label, guess = _guess_label(table, infos, columns, skipped)
        j = names.index(label)
        infos[j], said[j] = column_info(label, columns[j], True)   # a label's text is classes, not free text
    inf.warnings.extend([guess] if guess else [])
    for name, messages in zip(names, said):
        if name in row_names:
            inf.warn(f"column '{name}' holds row names ({row_names[name]}), not data; it is ignored "
                     "(name it with --label, --numeric or --categorical to use it)")
        inf.warnings.extend(messages)
    return infos, label


def infer(
    table: Table,
    *,
    label: str | None = None,
    task: str = "auto",
    ignore: Iterable[str] = (),
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    max_categories: int = 32,
) -> Schema:
    """The schema of `table`: kinds, roles, label, task and classes (rules in the module doc)."""
    if task not in ("auto", "classification", "regression"):
        raise SchemaError(table.source, f"task must be auto, classification or regression, not {task!r}")
    ignore, categorical, numeric = tuple(ignore), tuple(categorical), tuple(numeric)
    ignored, categorical_set, numeric_set = set(ignore), set(categorical), set(numeric)   # per-column lookups
    both = set(categorical) & set(numeric)
    if both:
        raise SchemaError(table.source, f"column(s) {', '.join(sorted(both))} cannot be both categorical and numeric")
    inf = _Inference(table, max_categories)
    layout = "tabular" if table.is_tabular else ("image" if is_image_table(table) else "array")

    columns, features = table.columns, table.features   # one of them: a table's columns or an array
    if columns is not None:
        names = list(columns.column_names)
    elif features is not None and features.ndim == 2 and features.shape[1] <= ARRAY_COLUMNS_LIMIT:
        if features.shape[1] == 0:
            raise SchemaError(table.source, f"the features have no columns (shape {features.shape})")
        names = [f"f{j}" for j in range(features.shape[1])]
    else:
        names = ["image" if layout == "image" else "features"]
    label_col = table.label_name or ("class" if layout == "image" else "label")
    if not table.is_tabular and table.labels is not None:
        names_all = names + ([label_col] if label_col not in names else [])
    else:
        names_all = names
    for what, wanted in (("ignore=", ignore), ("categorical=", categorical), ("numeric=", numeric)):
        _check_names(table.source, names_all, wanted, what)

    if label is not None:
        _check_names(table.source, names_all, [label], "label=")
        if label in ignore:
            raise SchemaError(table.source, f"the label column '{label}' is also in ignore=")
    elif not table.is_tabular and table.labels is not None:
        label = label_col
    elif not table.is_tabular:
        hint = f" or name one of its columns f0..f{len(names) - 1} (--label)" if names[0] == "f0" else ""
        raise SchemaError(table.source, f"this array has no labels: give a labels file (--labels){hint}")
    else:
        if not names:   # e.g. an estimate's sample that ended inside the first record
            raise SchemaError(table.source, "has no columns to take a label from")
        label = _named_label(names)
        if label in ignore:
            raise SchemaError(table.source, f"the default label column '{label}' is in ignore=; name one with label=")

    # per column ------------------------------------------------------------------------
    infos: list[ColumnInfo] = []
    guessed = False
    candidates: tuple[str, ...] = ()
    if columns is not None:
        kept = ({label} if label is not None else set()) | categorical_set | numeric_set
        row_names = {name: why for name, why in row_name_columns(columns, kept) if name not in ignored}
        guessed = label is None
        infos, label = _tabular_infos(inf, names, label, categorical_set, numeric_set, ignored, row_names)
        ignored = ignored | set(row_names)
        if guessed:
            ranked = label_candidates(infos, columns.columns, table.num_rows, ignored)
            candidates = tuple(ranked if label in ranked else [label, *ranked])
    elif names[0] == "f0":  # one column per feature; "features" is a tensor column
        assert features is not None
        infos = inf.array_columns(features)
        if categorical:
            raise SchemaError(table.source, "categorical= applies to table columns; array features are numeric "
                                            "(use task='classification' for an integer label)")
    else:
        assert features is not None
        shape = "x".join(str(s) for s in features.shape[1:])
        infos = [ColumnInfo(names[0], f"{features.dtype}[{shape}]", "tensor", "feature", 0, 0)]
    if not table.is_tabular and table.labels is not None:
        labels = np.asarray(table.labels)
        values = label_values(table, label_col, names)
        kind = "numeric" if labels.dtype.kind in "iuf" else "bool" if labels.dtype.kind == "b" else "categorical"
        if table.class_names:
            kind = "categorical"
        infos.append(ColumnInfo(label_col, str(labels.dtype), kind, "label", values.null_count,
                                int(pc.count_distinct(values).as_py())))

    rows = table.num_rows
    out: list[ColumnInfo] = []
    for info in infos:
        role = info.role
        if info.name == label:
            role = "label"
        elif info.name in ignored:
            role = "ignore"
        if role == "feature" and info.kind != "tensor" and info.distinct <= 1 and info.missing == 0 and rows > 1:
            inf.warn(f"column '{info.name}' has the same value in every row; it carries no information and is dropped")
        out.append(ColumnInfo(info.name, info.dtype, info.kind, role, info.missing, info.distinct))
    label_info = next(c for c in out if c.role == "label")
    if not [c for c in out if c.role == "feature"]:
        raise SchemaError(table.source, f"there are no feature columns besides the label '{label}'")

    # label and task ---------------------------------------------------------------------
    assert label is not None   # named, guessed with the tabular columns, or the array's labels
    values = clean_labels(label_values(table, label, names), label_info.kind)
    missing_labels = values.null_count
    present = len(values) - missing_labels
    if present == 0:
        raise SchemaError(table.source, f"the label column '{label}' has no values: every row is missing it")
    if missing_labels:
        inf.warn(_missing_label_warning(missing_labels, label))
    if has_class_names(table):
        # The reader names the classes (an image folder's subfolders): keep its order.
        if task == "regression":
            raise SchemaError(table.source, f"the label '{label}' names classes; it cannot be a regression target")
        task, classes = "classification", tuple(table.class_names or ())
        codes = np.asarray(table.labels)
        counts = dict(zip(classes, np.bincount(codes, minlength=len(classes)).tolist()))
    else:
        task, classes, counts = _decide_task(inf, label, label_info, values, task, present)
    return Schema(
        columns=tuple(out),
        label=label,
        task=task,
        classes=classes,
        class_counts=counts,
        warnings=tuple(inf.warnings),
        layout=layout,
        rows=rows,
        label_missing=missing_labels,
        source=table.source,
        label_guessed=guessed,
        label_candidates=candidates,
    )
