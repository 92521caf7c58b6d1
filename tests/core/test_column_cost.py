"""Cost in the number of columns (issue 9): counted, not timed.

A wide table is wrapped in a proxy that charges every rebuild of the column-name list (and of
the schema a caller walks) by its length: a loop that rebuilds it once per column costs
columns², and twice the columns then cost four times the work. Every stage that touches each
column (schema inference, the preprocessing fit and transform, the loader, the checks' raw
columns) must charge about twice, not four times, for twice the columns. Seconds go to the
bench (`python -m bench wide`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from udl_core.formats.columnar import unique_column_names
from udl_core.formats.dialect import unique_names
from udl_core.loader import UnifiedDataLoader
from udl_core.preprocess import Preprocessor
from udl_core.schema import infer
from udl_core.table import Table

NARROW = 150
LINEAR = 2.5   # work(2n) / work(n): 2 for linear work, 4 for quadratic


class _Work:
    def __init__(self) -> None:
        self.units = 0


class CountingColumns:
    """A pyarrow Table that charges `column_names` and `schema` by their length; tables it
    returns (slices, takes, selections) charge the same counter."""

    def __init__(self, table: pa.Table, work: _Work) -> None:
        self._table = table
        self._work = work

    @property
    def column_names(self) -> list[str]:
        self._work.units += self._table.num_columns
        return self._table.column_names

    @property
    def schema(self) -> pa.Schema:
        self._work.units += self._table.num_columns
        return self._table.schema

    def __len__(self) -> int:
        return len(self._table)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._table, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._work.units += 1
            out = value(*args, **kwargs)
            return CountingColumns(out, self._work) if isinstance(out, pa.Table) else out

        return call


def _wide(columns: int, rows: int = 30) -> pa.Table:
    rng = np.random.default_rng(columns)
    data = {f"c{j}": rng.standard_normal(rows) for j in range(columns)}
    data["label"] = np.arange(rows) % 3
    return pa.table(data)


def _work(columns: int, job: Callable[[Table], object]) -> int:
    work = _Work()
    table = Table(source="wide", format="csv", columns=CountingColumns(_wide(columns), work))
    job(table)
    return work.units


def _fit_transform(table: Table) -> None:
    schema = infer(table)
    pre = Preprocessor.fit(table, schema)
    pre.transform(table)


def _load(table: Table) -> None:
    UnifiedDataLoader(table, batch_size=8, seed=0).load()


def _checks_raw_columns(table: Table) -> None:
    from udl_core.training.checks._context import CheckContext
    from udl_core.training.checks._features import raw_columns
    from udl_core.training.checks._result import CheckBudget

    loader = UnifiedDataLoader(table, batch_size=8, seed=0).load()
    ctx = CheckContext.from_loader(loader, CheckBudget(), 0)
    assert len(raw_columns(ctx, ctx.sample)) == table.columns.num_columns - 1


@pytest.mark.parametrize("job", [infer, _fit_transform, _load, _checks_raw_columns],
                         ids=["infer", "fit_transform", "load", "checks_raw_columns"])
def test_column_work_grows_linearly(job: Callable[[Table], object]) -> None:
    small, large = _work(NARROW, job), _work(2 * NARROW, job)
    assert large / small < LINEAR, f"{small} -> {large} units of work for twice the columns"


def _lines_run(func: Callable[..., object], call: Callable[..., object], *args: object) -> int:
    """Lines executed inside `func` itself while `call(*args)` runs (its Python-level work)."""
    code = func.__code__
    count = 0

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if frame.f_code is not code:
            return None
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        call(*args)
    finally:
        sys.settrace(None)
    return count


def _delimited_names(names: list[str]) -> object:
    return unique_names(names, len(names))


@pytest.mark.parametrize(("func", "call", "renamed"), [
    (unique_names, _delimited_names, ["x", "x_2", "x_2_2", "x_3"]),        # first come, first named
    (unique_column_names, unique_column_names, ["x", "x_3", "x_2", "x_4"]),  # a given name is kept
], ids=["delimited_header", "columnar_names"])
def test_repeated_names_are_renamed_in_linear_work(func: Callable[..., object], call: Callable[[list[str]], object],
                                                   renamed: list[str]) -> None:
    # Every column called "x" (one repeated name): x, x_2, x_3, ...
    small, large = _lines_run(func, call, ["x"] * NARROW), _lines_run(func, call, ["x"] * 2 * NARROW)
    assert large / small < LINEAR, f"{small} -> {large} lines for twice the columns"
    assert list(call(["x", "x", "x_2", "x"])) == renamed
    assert list(call(["x"] * 5)) == ["x", "x_2", "x_3", "x_4", "x_5"]


def test_block_statistics_match_the_exact_per_column_ones() -> None:
    from udl_core.numeric_block import ColumnNumbers, exact_stats, fit_stats
    from udl_core.schema import _block_counts, _distinct, _missing

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 30, 129, 4097):
        values = [rng.standard_normal(n), rng.standard_normal(n) * 1e300, rng.standard_normal(n) * 1e-300,
                  np.full(n, 3.5), rng.integers(-3, 3, n).astype(np.float64), rng.standard_normal(n)]
        values[4][values[4] == 0] = -0.0
        values[5][::3] = np.nan
        values[5][1::3] = np.inf
        columns = [pa.chunked_array([pa.array(v[: n // 2]), pa.array(v[n // 2:])]) for v in values]
        for rows in (None, np.arange(0, n, 2)):
            block = fit_stats(ColumnNumbers(columns), rows)
            for column, got in zip(values, block):
                want = exact_stats(column if rows is None else column[rows])
                assert got["constant"] == want["constant"]
                for key in ("median", "mean", "std"):   # one shifted pass vs two scaled ones: last bits differ
                    assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-300 * 1e-9)
        distinct, missing = _block_counts([(str(j), c) for j, c in enumerate(columns)])
        assert [distinct[str(j)] for j in range(len(columns))] == [_distinct(c) for c in columns]
        assert [missing[str(j)] for j in range(len(columns))] == [_missing(c) for c in columns]


def test_block_transform_standardizes_each_column_with_its_statistics() -> None:
    rng = np.random.default_rng(8)
    data = {f"x{j}": rng.standard_normal(40) * 10.0 ** (j - 3) for j in range(7)}
    data["x2"][::4] = np.nan
    data["flag"] = rng.integers(0, 2, 40).astype(bool)
    data["colour"] = rng.choice(["red", "blue", "green"], 40)
    data["label"] = np.arange(40) % 2
    table = Table(source="mixed", format="csv", columns=pa.table(data))
    pre = Preprocessor.fit(table, infer(table), np.arange(0, 40, 2))
    out = pre.transform(table)
    for step in pre.steps:
        if step["kind"] == "numeric":
            at = pre.feature_names.index(step["column"])
            values = np.array(data[step["column"]], dtype=np.float64)
            values[np.isnan(values)] = step["median"]
            expected = ((values - step["mean"]) / step["std"]).astype(np.float32)
            assert np.array_equal(out[:, at], expected)


def test_block_fit_of_array_features_matches_the_per_column_one() -> None:
    from udl_core.numeric_block import exact_stats

    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 300)).astype(np.float32)
    x[::7, 5] = np.nan
    x[:, 9] = 2.0
    x[3, 11] = np.inf
    table = Table(source="m", format="npy", features=x, labels=rng.integers(0, 2, 50))
    rows = np.arange(0, 50, 2)
    step = Preprocessor.fit(table, infer(table), rows).steps[0]
    expected = {}
    for j in range(x.shape[1]):
        values = x[rows, j].astype(np.float64)
        values[~np.isfinite(values)] = np.nan
        stats = exact_stats(values)
        if not stats["constant"]:
            expected[j] = stats
    assert step["index"] == list(expected)
    for key in ("median", "mean", "std"):   # float32 features: sums of float32 deviations, in float64
        np.testing.assert_allclose(step[key], [stats[key] for stats in expected.values()], rtol=1e-6, atol=1e-7)
