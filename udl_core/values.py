"""Small helpers on raw values shared by schema, preprocess and loader: numbers written as
text, labels as class names, class order, row slices of a Table."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.errors import ConfigError
from udl_core.table import Table

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "MAX_SEED", "check_seed", "class_codes", "class_sort_key", "clean_labels", "count_classes", "has_class_names",
    "is_image_table", "label_strings", "label_values", "parallel_map", "parse_numbers", "sorted_classes",
    "table_slice", "whole",
]

MAX_SEED = (1 << 64) - 1   # MLX's mx.random.seed takes an unsigned 64-bit integer

PARALLEL_VALUES = 1 << 20   # fewer values in all than this: one thread is quicker than starting more

_NUMBER = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"


def check_seed(seed: object) -> int:
    """`seed` as an int, or a ConfigError: seeds run from 0 to 2**64 - 1, the range MLX takes
    (numpy would take more, but one seed must mean the same run on both)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed must be a whole number from 0 to 2**64 - 1 ({MAX_SEED}), got {seed!r}")
    return int(seed)


def has_class_names(table: Table) -> bool:
    """Array labels that are integer indices into the reader's `class_names`."""
    return (not table.is_tabular and bool(table.class_names) and table.labels is not None
            and np.asarray(table.labels).dtype.kind in "iu")


def is_image_table(table: Table) -> bool:
    return not table.is_tabular and "image" in table.format.lower()


def parse_numbers(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Strings -> float64; values that are not numbers become null."""
    if pa.types.is_dictionary(values.type):
        values = pc.cast(values, pa.string())
    ok = pc.match_substring_regex(values, _NUMBER)
    kept = pc.if_else(ok, values, pa.scalar(None, values.type))
    return pc.cast(pc.utf8_trim_whitespace(kept), pa.float64())


def whole(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def label_strings(values: pa.Array | pa.ChunkedArray | np.ndarray) -> pa.Array:
    """Label values as the strings that name classes (nulls stay null).

    Whole floats print without ".0" so a label read as 1.0 from JSON and as 1 from CSV
    names the same class.
    """
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            values = pa.array(values, mask=np.isnan(values))
        else:
            values = pa.array(values)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        numbers = pc.cast(values, pa.float64())
        valid = numbers.drop_null().to_numpy(zero_copy_only=False)
        valid = valid[~np.isnan(valid)]
        if whole(valid) and (valid.size == 0 or np.abs(valid).max() < 2**53):
            numbers = pc.if_else(pc.is_nan(numbers), pa.scalar(None, pa.float64()), numbers)
            return pc.cast(pc.cast(numbers, pa.int64()), pa.string())
        return pc.cast(pc.if_else(pc.is_nan(numbers), pa.scalar(None, pa.float64()), numbers),
                       pa.string())
    if pa.types.is_dictionary(kind) or not pa.types.is_string(kind):
        return pc.cast(values, pa.string())
    return values


def class_sort_key(name: str) -> tuple[Any, ...]:
    """Classes sort as numbers where they are numbers ("2" before "10"), else as text."""
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)


def sorted_classes(values: pa.Array) -> tuple[list[str], list[int]]:
    counts = pc.value_counts(values.drop_null())
    names = counts.field("values").to_pylist()
    numbers = counts.field("counts").to_pylist()
    order = sorted(range(len(names)), key=lambda i: class_sort_key(names[i]))
    return [names[i] for i in order], [numbers[i] for i in order]


def _is_number(values: pa.Array | pa.ChunkedArray) -> bool:
    kind = values.type
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind))


def count_classes(values: pa.Array | pa.ChunkedArray) -> tuple[list[str], list[int]]:
    """`sorted_classes(label_strings(values))`, but numbers are counted first and only the
    distinct ones named (not a string per row). Values that name the same class (-0.0, 0.0) add up."""
    if not _is_number(values):
        return sorted_classes(label_strings(values))
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    counts = pc.value_counts(values.drop_null())
    merged: dict[str, int] = {}
    for name, k in zip(label_strings(counts.field("values")).to_pylist(), counts.field("counts").to_pylist()):
        if name is not None:                # NaN names no class
            merged[name] = merged.get(name, 0) + k
    names = sorted(merged, key=class_sort_key)
    return names, [merged[n] for n in names]


def class_codes(values: pa.Array | pa.ChunkedArray, classes: Sequence[str]) -> np.ndarray:
    """int32 index of each value's class name in `classes`; -1 when missing or unknown.
    Numbers are named once per distinct value and looked up by number."""
    value_set = pa.array(list(classes), pa.string())
    if _is_number(values):
        distinct = pc.unique(values)
        named = pc.fill_null(pc.index_in(label_strings(distinct), value_set=value_set), -1)
        where = pc.index_in(values, value_set=distinct)   # nulls (and NaN) find themselves
        if where.null_count == 0:
            codes: np.ndarray = named.to_numpy(zero_copy_only=False).astype(np.int32)[
                where.to_numpy(zero_copy_only=False)]
            return codes
    index = pc.index_in(label_strings(values), value_set=value_set)
    found: np.ndarray = pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int32)
    return found


def parallel_map(func: Callable[[T], R], items: Sequence[T], values: int) -> list[R]:
    """`[func(item) for item in items]`, in order, on a thread per CPU when `values` (the
    work, in array elements) is large: numpy sorts and arrow kernels release the GIL."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers < 2 or values < PARALLEL_VALUES:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="udl-columns") as pool:
        return list(pool.map(func, items))


def table_slice(table: Table, start: int, stop: int) -> Table:
    """Rows [start, stop) of `table`, sharing its memory."""
    if table.is_tabular:
        assert table.columns is not None
        return replace(table, columns=table.columns.slice(start, stop - start))
    assert table.features is not None
    return replace(table, features=table.features[start:stop],
                   labels=None if table.labels is None else table.labels[start:stop])


def label_values(table: Table, label: str, names: Sequence[str]) -> pa.Array:
    if table.is_tabular:
        assert table.columns is not None
        return table.columns.column(label).combine_chunks()
    if table.labels is not None:
        labels = np.asarray(table.labels)
        if labels.dtype.kind == "f":
            return pa.array(labels, mask=np.isnan(labels))
        if labels.dtype.kind in "US":
            return pa.array(labels.astype(str), mask=labels == labels.dtype.type(""))
        return pa.array(labels)
    assert table.features is not None
    column = np.asarray(table.features[:, names.index(label)])
    if column.dtype.kind == "f":
        return pa.array(column, mask=np.isnan(column))
    return pa.array(column)


def clean_labels(values: pa.Array, kind: str) -> pa.Array:
    """Label values with every kind of missing (null, NaN, unparseable number) as null."""
    if kind == "numeric" and pa.types.is_string(values.type):
        values = parse_numbers(values)
    if pa.types.is_floating(values.type):
        values = pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
    return values
