"""Exact distinct and missing counts of number columns (what `inspect` and the label rules read),
and the seeded split's rows, pinned on edge cases (issue 12: counted and split in fewer passes)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from udl_core.batching import split_rows, val_counts
from udl_core.schema import infer
from udl_core.table import Table

ROWS = 70_000   # past the short-column block path: each column is counted on its own


def counted(columns: dict[str, pa.Array | pa.ChunkedArray]) -> dict[str, tuple[int, int]]:
    n = len(next(iter(columns.values())))
    table = pa.table({**columns, "label": pa.array(np.arange(n) % 2)})
    schema = infer(Table(source="data.parquet", format="parquet", columns=table), label="label")
    return {c.name: (c.distinct, c.missing) for c in schema.columns if c.name != "label"}


def reference(values: list) -> tuple[int, int]:
    """Distinct finite values (a Python set: -0.0 == 0.0) and missing (None, NaN, infinities)."""
    present = [v for v in values if v is not None and np.isfinite(float(v))] if values and not isinstance(
        values[0], int) else [v for v in values if v is not None]
    return len(set(present)), len(values) - len(present)


def test_float_edge_cases_counted_exactly():
    rng = np.random.default_rng(0)
    signed_zeros = [0.0, -0.0] * (ROWS // 2)
    special = [float(v) for v in np.round(rng.standard_normal(ROWS), 2)]
    special[:6] = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, None]
    all_distinct = [float(v) for v in rng.permutation(ROWS)]
    constant = [2.5] * ROWS
    wide64 = [float(v) for v in rng.standard_normal(ROWS)]           # float64, not float32-exact
    columns = {
        "zeros": pa.array(signed_zeros, pa.float32()),
        "special": pa.array(special, pa.float64()),
        "special32": pa.array(special, pa.float32()),
        "distinct": pa.array(all_distinct, pa.float32()),
        "constant": pa.array(constant, pa.float64()),
        "wide64": pa.array(wide64, pa.float64()),
        "chunked": pa.chunked_array([pa.array(special[:ROWS // 3]), pa.array(special[ROWS // 3:])]),
    }
    got = counted(columns)
    assert got["zeros"] == (1, 0)
    assert got["special"] == reference(special)
    assert got["special"][1] == 4                                    # NaN, +inf, -inf, null
    assert got["special32"] == got["special"] == got["chunked"]
    assert got["distinct"] == (ROWS, 0)
    assert got["constant"] == (1, 0)
    assert got["wide64"] == (len(set(wide64)), 0)


def test_integer_edge_cases_counted_exactly():
    rng = np.random.default_rng(1)
    small = rng.integers(-100, 101, ROWS).astype(np.int8)           # a span that overflows int8
    codes = rng.integers(0, 10, ROWS)
    with_nulls = [None if i % 7 == 0 else int(v) for i, v in enumerate(codes)]
    extremes = [-2**63, 2**63 - 1, 0] * (ROWS // 3) + [5] * (ROWS % 3)   # span past int64
    big = [2**53 + (i % 3) for i in range(ROWS)]                    # exact as integers, merged as floats
    top = [2**64 - 1 - (i % 5) for i in range(ROWS)]                # uint64 near its top, a small span
    scattered = (rng.permutation(ROWS).astype(np.int64) * 1_000_003).tolist()   # all distinct, sparse
    columns = {
        "small": pa.array(small), "nulls": pa.array(with_nulls, pa.int64()),
        "extremes": pa.array(extremes, pa.int64()), "big": pa.array(big, pa.int64()),
        "top": pa.array(top, pa.uint64()), "scattered": pa.array(scattered, pa.int64()),
        "chunked": pa.chunked_array([pa.array(with_nulls[:1000], pa.int64()),
                                     pa.array(with_nulls[1000:], pa.int64())]),
        "constant": pa.array([-7] * ROWS, pa.int32()),
    }
    got = counted(columns)
    assert got["small"] == (len(set(small.tolist())), 0) == (201, 0)
    assert got["nulls"] == got["chunked"] == (10, sum(v is None for v in with_nulls))
    assert got["extremes"] == (4, 0)
    assert got["big"] == (3, 0)
    assert got["top"] == (5, 0)
    assert got["scattered"] == (ROWS, 0)
    assert got["constant"] == (1, 0)


def test_short_columns_agree_with_long_ones():
    """A short float column (counted in blocks) and the same values repeated past the block
    path give the same distinct count."""
    values = [0.0, -0.0, 1.5, float("nan"), 1.5, 3.0, float("inf")] * 10
    short = counted({"x": pa.array(values)})["x"]
    long = counted({"x": pa.array(values * (ROWS // len(values) + 1))})["x"]
    assert short == (3, 20)
    assert long[0] == 3


@pytest.mark.parametrize("rule", ["year", "id", "constant"])
def test_label_rules_read_the_exact_counts(rule):
    n = 200
    years = pa.array([1990 + i % 30 for i in range(n)], pa.int64())
    ids = pa.array(list(range(n)), pa.int64())
    same = pa.array([4] * n, pa.int64())
    target = {"year": years, "id": ids, "constant": same}[rule]
    table = pa.table({"f": pa.array(np.linspace(0, 1, n)), "g": pa.array([i % 3 for i in range(n)]),
                      rule: target})
    schema = infer(Table(source="data.parquet", format="parquet", columns=table))
    assert schema.label == "g"                              # the last column was passed over
    assert schema.column(rule).distinct == {"year": 30, "id": n, "constant": 1}[rule]


def per_class_reference(rows, y, fraction, seed):
    """The split as it was drawn before: np.unique, then a pass and a permutation per class."""
    rows = np.asarray(rows, dtype=np.int64)
    rng = np.random.default_rng(seed)
    classes, sizes = np.unique(y, return_counts=True)
    take = val_counts(sizes, fraction)
    picked = [rows[np.flatnonzero(y == c)][rng.permutation(int(n))[:k]] for c, n, k in zip(classes, sizes, take) if k]
    val = np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)
    return np.setdiff1d(rows, val, assume_unique=True), val


@pytest.mark.parametrize("labels", ["codes", "gaps", "uint8", "strings", "singles", "big codes"])
@pytest.mark.parametrize("seed", [0, 7])
def test_split_rows_are_the_per_class_draw(labels, seed):
    rng = np.random.default_rng(5)
    n = 5_000
    y = {"codes": rng.integers(0, 10, n).astype(np.int32),
         "gaps": rng.choice([0, 3, 4, 9], n).astype(np.int32),
         "uint8": rng.integers(0, 3, n).astype(np.uint8),
         "strings": rng.choice(np.array(["b", "a", "c"]), n),
         "singles": np.concatenate([rng.integers(0, 4, n - 2), [7, 8]]).astype(np.int64),
         "big codes": rng.choice([5, 40_000, 2**40], n).astype(np.int64)}[labels]
    rows = np.sort(rng.choice(3 * n, n, replace=False))
    train, val, _ = split_rows(rows, y, "classification", 0.2, seed)
    want_train, want_val = per_class_reference(rows, y, 0.2, seed)
    assert np.array_equal(val, want_val) and np.array_equal(train, want_train)
    shuffled = rng.permutation(n)   # ids in no order: the same rows per class, as a set
    train_u, val_u, _ = split_rows(rows[shuffled], y[shuffled], "classification", 0.2, seed)
    want_train_u, want_val_u = per_class_reference(rows[shuffled], y[shuffled], 0.2, seed)
    assert np.array_equal(val_u, want_val_u) and np.array_equal(train_u, want_train_u)


def test_split_rows_pinned_for_a_seed():
    rows = np.arange(10) * 3
    y = np.array([3, 3, 1, 1, 1, 7, 7, 7, 7, 3])
    train, val, notes = split_rows(rows, y, "classification", 0.3, 7)
    assert val.tolist() == [3, 6, 15] and train.tolist() == [0, 9, 12, 18, 21, 24, 27] and notes == []
    train, val, _ = split_rows(np.arange(20), np.linspace(0, 1, 20), "regression", 0.25, 3)
    assert val.tolist() == [3, 8, 12, 16, 18] and len(train) == 15


@pytest.mark.parametrize("labels", [[-3, 0, 7, 7, 10, -3], [2**53 + 1, 2**53 + 2, 5, 5, 2**53 + 1, 5],
                                    [40_000, 1, 1, 40_000, 2, 2]])
def test_integer_label_classes_and_counts(labels):
    """Classes of an integer label, named and counted as count_classes names them (classes sort
    as numbers; past 2**53 as their text breaks the tie)."""
    from udl_core.values import count_classes

    y = pa.array((labels * 40) + [None] * 3, pa.int64())
    table = pa.table({"f": pa.array(np.arange(len(y), dtype=np.float64)), "label": y})
    schema = infer(Table(source="data.parquet", format="parquet", columns=table), task="classification")
    names, counts = count_classes(y)
    assert list(schema.classes) == names and schema.class_counts == dict(zip(names, counts))
    assert schema.label_missing == 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
def test_array_columns_count_missing_and_distinct_values(dtype):
    """NPY/NPZ columns: missing over every row, distinct over the first DISTINCT_SAMPLE rows;
    -0.0 is 0.0, NaN and infinities are missing, not values; a group of columns at a time."""
    from udl_core.schema import DISTINCT_SAMPLE, _Inference
    from udl_core.table import Table

    rng = np.random.default_rng(9)
    n = DISTINCT_SAMPLE + 5_000
    x = rng.integers(-50, 50, (n, 45)).astype(dtype)   # past one group of 41 columns
    if np.dtype(dtype).kind == "f":
        x[:, 1] = np.where(rng.random(n) < 0.5, -0.0, 0.0)
        x[rng.random(n) < 0.01, 2] = np.nan
        x[::97, 3] = np.inf
        x[n - 3:, 4] = -np.inf                        # past the sample: missing, not distinct
    table = Table(source="a.npy", format="npy", features=x, labels=np.zeros(n, np.int64))
    infos = _Inference(table, 32).array_columns(x)
    sample = x[:DISTINCT_SAMPLE].astype(np.float64)
    for j, info in enumerate(infos):
        column = sample[:, j]
        assert info.distinct == np.unique(column[np.isfinite(column)] + 0.0).size, info
        assert info.missing == int(np.count_nonzero(~np.isfinite(x[:, j].astype(np.float64)))), info


def test_dates_and_times_are_counted_by_their_ticks():
    rng = np.random.default_rng(3)
    ticks = rng.integers(0, 5_000, ROWS)
    mask = rng.random(ROWS) < 0.1
    columns = {
        "stamp": pa.array(ticks * 1_000_000, pa.timestamp("us"), mask=mask),
        "day": pa.array(ticks.astype(np.int32), pa.date32()),
        "took": pa.array(ticks, pa.duration("s")),
        "chunked": pa.chunked_array([pa.array(ticks[:100] * 1000, pa.timestamp("ms")),
                                     pa.array(ticks[100:] * 1000, pa.timestamp("ms"))]),
    }
    from udl_core.schema import _distinct

    for name, column in columns.items():
        assert _distinct(column) == pc.count_distinct(column).as_py(), name


@pytest.mark.parametrize("words", [4_000, 6_000])
def test_text_with_words_at_its_head_is_still_numbers_when_enough_are(words):
    """The head check only skips parsing what cannot reach NUMERIC_SHARE whatever follows:
    4% words first is still a numeric column (with its warning), 6% is text."""
    n = 100_000
    values = ["word"] * words + [f"{i / 7:.3f}" for i in range(n - words)]
    table = pa.table({"x": pa.array(values), "y": np.arange(n) * 0.5, "label": pa.array(np.arange(n) % 2)})
    info = infer(Table(source="t.csv", format="csv", columns=table), label="label").column("x")
    assert info.kind == ("numeric" if words == 4_000 else "text")
    assert info.distinct == (n - words if words == 4_000 else n - words + 1)
