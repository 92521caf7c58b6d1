"""The ingest fast paths give exactly what the plain computations they replace give.

Each fast path (sort-based distinct counts, single-kth medians, per-distinct label naming,
searchsorted splits, threaded column maps) is checked against the straightforward numpy /
pyarrow expression on awkward inputs: NaN, inf, -0.0, nulls, several chunks, even and odd
lengths, unsorted row ids.
"""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udl_core import values as values_module
from udl_core.batching import split_rows
from udl_core.numeric_block import ArrayNumbers, exact_stats, fit_stats
from udl_core.schema import _distinct, _missing
from udl_core.values import class_codes, count_classes, label_strings, parallel_map, sorted_classes

FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([0.0, -0.0, 1.0, -1.0])


def _plain_distinct(column: pa.ChunkedArray) -> int:
    values = np.concatenate([c.drop_null().to_numpy() for c in column.chunks] or [np.empty(0)])
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    return int(np.unique(values).size)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(FLOATS | st.none(), max_size=12), max_size=4))
def test_distinct_and_missing_match_the_plain_counts_for_floats(chunks):
    column = pa.chunked_array([pa.array(c, pa.float64()) for c in chunks], pa.float64())
    assert _distinct(column) == _plain_distinct(column)
    flat = [v for c in chunks for v in c]
    assert _missing(column) == sum(v is None or not np.isfinite(v) for v in flat)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(-5, 5) | st.none(), max_size=12), max_size=4))
def test_distinct_matches_for_integers(chunks):
    column = pa.chunked_array([pa.array(c, pa.int64()) for c in chunks], pa.int64())
    assert _distinct(column) == _plain_distinct(column)
    assert _missing(column) == sum(v is None for c in chunks for v in c)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64)
                | st.sampled_from([0.0, 1.0, 2.0, -3.5]), min_size=1, max_size=40))
def test_median_is_np_median_bit_for_bit(numbers):
    values = np.array(numbers, dtype=np.float64)
    with np.errstate(over="ignore"):   # two values near float64's max average to inf in both
        expected = float(np.median(values))
    got = fit_stats(ArrayNumbers(values.reshape(-1, 1)))[0]["median"]   # the bulk fit's median
    assert got == expected or not np.isfinite(expected)


def test_exact_stats_on_a_large_column_with_gaps_matches_the_formula():
    rng = np.random.default_rng(3)
    values = rng.standard_normal(10_001) * 1e3
    values[rng.random(values.size) < 0.1] = np.nan
    present = values[~np.isnan(values)]
    size = float(np.abs(present).max())
    median = float(np.median(present))
    filled = np.where(np.isnan(values), median / size, values / size)
    stats = exact_stats(values.copy())
    assert stats["median"] == median
    assert stats["mean"] == float(filled.mean()) * size
    assert stats["std"] == float(filled.std()) * size
    assert not stats["constant"]


def _label_arrays() -> list[pa.Array | pa.ChunkedArray]:
    rng = np.random.default_rng(0)
    out: list[pa.Array | pa.ChunkedArray] = []
    for n in (0, 1, 7, 300):
        out.append(pa.array(rng.integers(-3, 3, n).tolist(), mask=rng.random(n) < 0.2))
        out.append(pa.array(rng.choice([0.0, -0.0, 1.0, 2.0, np.nan, -1.0], n), mask=rng.random(n) < 0.1))
        out.append(pa.array(rng.choice([0.5, -0.0, 0.0, 1e20, 2.0 ** 60, np.nan, np.inf], n)))
        out.append(pa.array([decimal.Decimal(int(a)) if a > 0 else None for a in rng.integers(-1, 4, n)],
                            pa.decimal128(10, 2)))
        out.append(pa.chunked_array([pa.array(rng.integers(0, 4, n).astype(float)),
                                     pa.array([np.nan, 1.0, None], pa.float64())]))
        out.append(pa.array(rng.choice(["a", "b", "10", "2"], n).tolist()))
    return out


@pytest.mark.parametrize("values", _label_arrays())
def test_label_counts_and_codes_match_naming_every_row(values):
    whole = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    names, counts = count_classes(values)
    assert (names, counts) == sorted_classes(label_strings(whole))
    classes = names[:-1] + ["never"]
    plain = pc.fill_null(pc.index_in(label_strings(whole), value_set=pa.array(classes, pa.string())), -1)
    codes = class_codes(whole, classes)
    assert codes.dtype == np.int32
    assert codes.tolist() == plain.to_numpy(zero_copy_only=False).astype(np.int32).tolist()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_split_of_unsorted_ids_equals_the_sorted_ones(task):
    rng = np.random.default_rng(1)
    rows = np.arange(0, 3000, 3)
    y = rng.integers(0, 4, rows.size)
    train, val, _ = split_rows(rows, y, task, 0.25, seed=5)
    assert np.array_equal(np.sort(np.concatenate([train, val])), rows)
    assert np.all(np.diff(train) > 0) and not np.intersect1d(train, val).size
    shuffled = rng.permutation(rows.size)
    train_u, val_u, _ = split_rows(rows[shuffled], y[shuffled], task, 0.25, seed=5)
    assert np.array_equal(np.sort(np.concatenate([train_u, val_u])), rows)
    assert not np.intersect1d(train_u, val_u).size and val_u.size == val.size


def test_parallel_map_keeps_order_and_raises_the_first_error(monkeypatch):
    monkeypatch.setattr(values_module, "PARALLEL_VALUES", 0)
    assert parallel_map(lambda x: x * x, list(range(20)), 10**9) == [x * x for x in range(20)]

    def fails_on_odd(x: int) -> int:
        if x % 2:
            raise ValueError(f"odd {x}")
        return x

    with pytest.raises(ValueError, match="odd 1"):
        parallel_map(fails_on_odd, list(range(10)), 10**9)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=12), st.data())
def test_chunked_columns_are_gathered_like_one_array(sizes, data):
    """Rows of columns cut into many chunks (JSON Lines: thousands), gathered by the chunks they
    touch only: sorted, unsorted, repeated or no rows, the values of one contiguous array."""
    from udl_core.numeric_block import ColumnNumbers

    n = sum(sizes)
    values = np.arange(n, dtype=np.float64) * 1.5
    cuts = np.cumsum([0] + sizes)
    chunked = [pa.chunked_array([pa.array(values[a:b]) for a, b in zip(cuts[:-1], cuts[1:])], pa.float64()),
               pa.chunked_array([pa.array(-values)], pa.float64())]
    numbers = ColumnNumbers(chunked)
    rows = np.array(data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=20) if n else st.just([])),
                    dtype=np.int64)
    if data.draw(st.booleans()):
        rows = np.sort(rows)
    np.testing.assert_array_equal(numbers.block(rows), np.column_stack([values[rows], -values[rows]]))
    np.testing.assert_array_equal(numbers.columns(rows), np.stack([values[rows], -values[rows]]))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), st.integers(0, 9), st.sampled_from([np.float32, np.float64]), st.data())
def test_column_medians_are_np_median_of_the_present_values(k, m, dtype, data):
    """One partition and a max, bit for bit np.median in float64 of each row's finite values
    (0 for a row with none), whatever mix of NaN and infinities."""
    from udl_core.numeric_block import column_medians

    values = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.25, 3e38]) | st.floats(-1e6, 1e6, width=32)
    sample = np.array(data.draw(st.lists(st.lists(values, min_size=m, max_size=m), min_size=k, max_size=k)),
                      dtype=dtype).reshape(k, m)
    expected = []
    for row in sample.astype(np.float64):
        present = row[np.isfinite(row)]
        with np.errstate(over="ignore"):
            expected.append(float(np.median(present)) if present.size else 0.0)
    np.testing.assert_array_equal(column_medians(sample.copy()), np.array(expected))
