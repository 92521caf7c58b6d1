"""Row names and the default label: which columns of a Table are no data, and which can be a label.

Both rules run on the Table after any reader (CSV, Parquet, JSON, Arrow), so one file gives
the same answer in every format. `schema.infer` applies them; an explicit `label=`,
`numeric=` or `categorical=` naming a column always wins over them.

* **Row names.** R writes its row names as a first column with a blank header (`""`, which a
  CSV reader names `column_1`) or `rownames`; pandas writes `Unnamed: 0` (a CSV round trip)
  or `__index_level_0__` (Parquet), and `reset_index()` gives `index`. A column whose header
  is `rownames`, `row.names`, `Unnamed: 0` or `__index_level_N__` (any case) holds row names
  wherever it is. The first column with a blank header or `index` holds row names when its
  values say so: no value missing, every value distinct, and whole numbers (R's "1", "2", ...,
  in any order after a sort; pandas' 0, 1, 2, ...), text (R's row names such as car models),
  or fractions in order. Any other column, however sorted (a survival `time`), is data.
* **Label eligibility.** A column can be the default label unless it is ignored, free text,
  a datetime, missing in every row, constant, an identifier (a name such as `id`, `ID`,
  `user_id` or `PassengerId` with distinct values; integers distinct in every row of 20 or
  more; text with a class per row or nearly), or year-like (whole numbers within 1800-2100
  with at most 60 distinct values: time, such as penguins' `year`).
* **Candidates.** When the label is a guess, the columns that can be one are ranked for a person
  to pick from (`label_candidates`): text or categorical columns with few distinct values first,
  then whole-number columns with few values, each group in column order with complete columns
  before those missing values; then the other eligible columns, last column first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.values import parse_numbers, whole

if TYPE_CHECKING:
    from udl_core.schema import ColumnInfo

__all__ = ["FEW_CLASSES", "ineligible_reason", "label_candidates", "nearly_unique", "row_name_columns"]

_ROW_NAME_HEADER = re.compile(r"(?i)\s*(rownames|row\.names|unnamed: ?0|__index_level_\d+__)\s*")
_ID_NAME = re.compile(r"(?i:id|.*[^a-z0-9]id|id[^a-z0-9].*)|.*[a-z0-9](Id|ID)")
ID_MIN_ROWS = 20              # integers distinct in every row of at least this many rows are ids
NEARLY_UNIQUE_MIN_CLASSES = 3   # two classes (XOR in four rows) are always a fair label
YEARS = (1800, 2100)
YEAR_MAX_DISTINCT = 60
FEW_CLASSES = 20              # a candidate with at most this many distinct values ranks as classes
CANDIDATE_SAMPLE_ROWS = 10_000  # the value rules of a candidate look at this many rows (wide files)
CANDIDATES_SHOWN = 50


def _blank_header(names: Sequence[str]) -> bool:
    """The first column's header was blank: `""`, or a CSV reader's `column_1` in a file whose
    other columns have names of their own (a headerless file names them all column_N)."""
    if names[0].strip() == "":
        return True
    return names[0] == "column_1" and any(n != f"column_{i + 1}" for i, n in enumerate(names))


def _row_name_values(column: pa.ChunkedArray) -> bool:
    """Every value present and distinct; fractions also in order (either way)."""
    rows = len(column)
    if rows < 2 or column.null_count:
        return False
    kind = column.type
    if pa.types.is_floating(kind):
        values = column.to_numpy()
        steps = np.diff(values)
        return bool(np.isfinite(values).all() and ((steps > 0).all() or (steps < 0).all()))
    if pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind) \
            or pa.types.is_dictionary(kind):
        # R's labels after a sort ("23", "7", ...) and a shuffled pandas index are in no order.
        return int(pc.count_distinct(column).as_py()) == rows
    return False


def row_name_columns(columns: pa.Table, keep: set[str]) -> list[tuple[str, str]]:
    """(name, why) for each column of `columns` that holds row names (module doc), leaving out
    the names in `keep` (the label or a column named in numeric= / categorical=)."""
    names = columns.column_names
    found = [(n, "a row-name header") for n in names if _ROW_NAME_HEADER.fullmatch(n) and n not in keep]
    if len(names) >= 2 and names[0] not in keep and not any(n == names[0] for n, _ in found):
        header = "a blank header" if _blank_header(names) else \
            "the header 'index'" if names[0].strip().lower() == "index" else None
        if header and _row_name_values(columns.column(0)):
            found.insert(0, (names[0], f"{header}, a distinct value in every row"))
    return found


def nearly_unique(classes: int, present: int) -> bool:
    """Nearly as many classes as labelled rows: at least half the rows (under 2 rows per class)."""
    return classes >= NEARLY_UNIQUE_MIN_CLASSES and 2 * classes >= present


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = parse_numbers(column)
    values = pc.cast(column, pa.float64(), safe=False).drop_null().to_numpy(zero_copy_only=False)
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def ineligible_reason(info: ColumnInfo, column: pa.ChunkedArray | None, rows: int) -> str | None:
    """Why `info`'s column cannot be the default label, or None when it can (module doc)."""
    present = rows - info.missing
    if present <= 0:
        return "no values"
    unique = info.distinct == present
    if unique and present > 1 and _ID_NAME.fullmatch(info.name.strip()):
        return "an identifier"
    if info.kind == "text":
        return "free text"
    if info.kind == "datetime":
        return "datetimes"
    if info.role == "ignore" or info.kind == "tensor":
        return "ignored"
    if info.distinct <= 1:
        return "one value"
    if info.kind in ("categorical", "bool") and nearly_unique(info.distinct, present):
        return f"{info.distinct} distinct values in {present} rows"
    if info.kind != "numeric" or column is None:
        return None
    if unique and rows >= ID_MIN_ROWS and (
            pa.types.is_integer(column.type) or (pa.types.is_string(column.type) and whole(_numbers(column)))):
        return "an identifier (a distinct whole number in every row)"
    if info.distinct <= YEAR_MAX_DISTINCT:
        values = _numbers(column)
        if values.size and whole(values) and YEARS[0] <= values.min() and values.max() <= YEARS[1]:
            return "years"
    return None


def label_candidates(infos: Sequence[ColumnInfo], columns: Sequence[pa.ChunkedArray], rows: int,
                     skip: Collection[str] = ()) -> list[str]:
    """The columns that can be the label, most likely first (module doc, "Candidates"), at
    most `CANDIDATES_SHOWN`; `skip` names columns out of the running (ignored, row names)."""
    ranked: list[tuple[int, int, int, str]] = []
    for position, (info, column) in enumerate(zip(infos, columns)):
        if info.name in skip:
            continue
        sample = column.slice(0, CANDIDATE_SAMPLE_ROWS)
        if ineligible_reason(info, sample, rows) is not None:
            continue
        few = info.distinct <= FEW_CLASSES
        if info.kind in ("categorical", "bool") and few:
            group = 0
        elif info.kind == "numeric" and few and whole(_numbers(sample)):
            group = 1
        else:
            ranked.append((2, 0, -position, info.name))
            continue
        ranked.append((group, int(info.missing > 0), position, info.name))
    return [name for *_, name in sorted(ranked)][:CANDIDATES_SHOWN]
