"""Dates and timestamps of any unit and zone, read exactly for the years 1 to 9999.

Every reader hands dates and timestamps on as zone-free timestamps holding UTC: dates as
`timestamp[s]`, timestamps in their own unit (s, ms, us, ns). Values a timezone-aware column
holds are instants, so dropping the zone keeps them as UTC (and a note says so). Values outside
0001-01-01 .. 9999-12-31 (a date32 of year -5000, a timestamp[s] of year 30000) cannot be shown
as dates by Python or by any tool a user would check them with: they become missing, counted.

Arithmetic runs on int64 ticks with explicit units, never through float64 microseconds (which
overflow past 2**53, about the years 1685 and 2255).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "datetime_parts",
    "is_temporal",
    "python_value",
    "python_values",
    "temporal_notes",
    "utc_column",
    "utc_columns",
]

FIRST_DAY = -719_162    # 0001-01-01, in days since 1970-01-01
LAST_DAY = 2_932_896    # 9999-12-31
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_SECONDS_PER_DAY = 86_400
_INT64 = np.iinfo(np.int64)


def is_temporal(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind) or pa.types.is_date(kind))


def _target(kind: pa.DataType) -> pa.DataType:
    return pa.timestamp("s") if pa.types.is_date(kind) else pa.timestamp(kind.unit)


def _ticks(array: pa.Array) -> tuple[np.ndarray, np.ndarray, str]:
    """int64 ticks of a date or timestamp array in the unit of `_target(array.type)` (0 where
    null), which are valid, and that unit."""
    kind = array.type
    valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
    if pa.types.is_date32(kind):
        days = pc.fill_null(pc.cast(array, pa.int32()), 0).to_numpy(zero_copy_only=False)
        return days.astype(np.int64) * _SECONDS_PER_DAY, valid, "s"
    raw = pc.fill_null(pc.cast(array, pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_date64(kind):
        return np.floor_divide(raw, 1000), valid, "s"   # date64 counts milliseconds of whole days
    return raw, valid, kind.unit


def _in_range(ticks: np.ndarray, unit: str) -> np.ndarray:
    per_day = _SECONDS_PER_DAY * _TICKS_PER_SECOND[unit]
    low = max(FIRST_DAY * per_day, int(_INT64.min))     # Python ints: the bounds never overflow
    high = min((LAST_DAY + 1) * per_day - 1, int(_INT64.max))
    return (ticks >= low) & (ticks <= high)


def _utc_array(array: pa.Array) -> tuple[pa.Array, int]:
    ticks, valid, unit = _ticks(array)
    keep = valid & _in_range(ticks, unit)
    dropped = int(np.count_nonzero(valid) - np.count_nonzero(keep))
    target = _target(array.type)
    if not dropped and array.type == target:
        return array, 0
    return pa.array(ticks, type=target, mask=~keep), dropped


def utc_column(column: pa.ChunkedArray | pa.Array) -> tuple[pa.ChunkedArray | pa.Array, int]:
    """A date or timestamp column as a zone-free UTC timestamp (dates: seconds; timestamps:
    their unit), values outside the years 1-9999 missing; and how many values that made missing."""
    if isinstance(column, pa.Array):
        return _utc_array(column)
    parts = [_utc_array(chunk) for chunk in column.chunks]
    if column.type == _target(column.type) and all(part is chunk for (part, _), chunk in zip(parts, column.chunks)):
        return column, 0
    return (pa.chunked_array([part for part, _ in parts], type=_target(column.type)),
            sum(dropped for _, dropped in parts))


def utc_columns(table: pa.Table, dropped: dict[str, int] | None = None
                ) -> tuple[pa.Table, list[str], dict[str, int]]:
    """`table` with every date and timestamp column through `utc_column`; the names of the
    timezone-aware columns; and per column, how many values became missing (added to
    `dropped` when given, so that a reader can count over several row groups)."""
    dropped = {} if dropped is None else dropped
    zoned: list[str] = []
    columns = list(table.columns)
    changed = False
    for i, (name, column) in enumerate(zip(table.column_names, columns)):
        if not is_temporal(column.type):
            continue
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            zoned.append(name)
        fixed, count = utc_column(column)
        if count:
            dropped[name] = dropped.get(name, 0) + count
        if fixed is not column:
            columns[i], changed = fixed, True
    if changed:
        table = pa.Table.from_arrays(columns, names=table.column_names)
    return table, zoned, dropped


def temporal_notes(zoned: Iterable[str], dropped: dict[str, int]) -> list[str]:
    """The notes a reader adds after `utc_columns`."""
    notes = []
    zoned = list(zoned)
    if zoned:
        notes.append(f"timezone-aware columns converted to UTC: {', '.join(zoned)}")
    for name, count in dropped.items():
        notes.append(f"column {name!r}: {count} date(s) outside the years 1 to 9999 read as missing")
    return notes


def datetime_parts(column: pa.ChunkedArray | pa.Array) -> dict[str, np.ndarray]:
    """Year, month, day, weekday (Monday=0), hour (UTC) and days since 1970-01-01 of a date or
    timestamp column, each float64 with NaN where missing (new, writable arrays)."""
    column, _ = utc_column(column)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    parts = {
        "year": pc.year(column),
        "month": pc.month(column),
        "day": pc.day(column),
        "weekday": pc.day_of_week(column),
        "hour": pc.hour(column),
    }
    out = {name: np.array(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
           for name, values in parts.items()}
    ticks, valid, unit = _ticks(column)
    per_day = _SECONDS_PER_DAY * _TICKS_PER_SECOND[unit]
    whole, rest = np.divmod(ticks, per_day)   # exact in int64; the fraction of a day in float64
    days = whole.astype(np.float64) + rest / per_day
    days[~valid] = np.nan
    out["days"] = days
    return out


def _nanoseconds(kind: pa.DataType) -> bool:
    return bool((pa.types.is_timestamp(kind) or pa.types.is_duration(kind) or pa.types.is_time64(kind))
                and kind.unit == "ns")


def python_values(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    """`column.to_pylist()`, except that nanosecond values, which Python's datetime, time and
    timedelta cannot hold, come out exactly: timestamps and times of day as ISO text, durations
    as float seconds."""
    if not _nanoseconds(column.type):
        values = column
    elif pa.types.is_time64(column.type):
        values = pc.cast(column, pa.string())
    elif pa.types.is_duration(column.type):
        values = pc.divide(pc.cast(pc.cast(column, pa.int64()), pa.float64()), 1e9)
    else:
        values = pc.strftime(column, "%Y-%m-%dT%H:%M:%S")
    return list(values.to_pylist())


def python_value(cell: pa.Scalar) -> object:
    """One cell as `python_values` gives it."""
    if _nanoseconds(cell.type):
        return python_values(pa.array([cell], cell.type))[0]
    return cell.as_py()
