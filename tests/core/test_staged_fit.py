"""The loader's fit keeps the training rows' numbers it gathers, and its transform standardizes
them where they lie (numeric_block.Staged): the tensors are exactly those of a plain
`Preprocessor.transform` of the same rows, and the statistics those of a fit that keeps nothing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from udl_core.loader import UnifiedDataLoader
from udl_core.numeric_block import ArrayNumbers, Staged, fit_stats
from udl_core.preprocess import Preprocessor

N = 5_000


def _numbers(rng: np.random.Generator, dtype: type) -> dict[str, np.ndarray]:
    columns = {f"x{j}": (rng.standard_normal(N) * (j + 1)).astype(dtype) for j in range(4)}
    columns["x1"][rng.random(N) < 0.05] = np.nan       # imputed with the median
    columns["x2"][7] = np.inf                          # not finite: imputed too
    return columns


@pytest.mark.parametrize("case", ["float32", "float32 with a constant column", "float64", "with a category"])
def test_a_loaded_training_split_is_the_plain_transform_of_its_rows(tmp_path, case):
    rng = np.random.default_rng(3)
    columns: dict[str, object] = dict(_numbers(rng, np.float64 if case == "float64" else np.float32))
    if "constant" in case:
        columns["same"] = np.full(N, 2.5, np.float32)
    if "category" in case:
        columns["colour"] = np.array(["red", "blue", "green"])[rng.integers(0, 3, N)]
    columns["label"] = rng.integers(0, 3, N)
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(columns), path)
    loader = UnifiedDataLoader(path, batch_size=64, seed=1).load()
    rows = loader.train_data.rows
    plain = Preprocessor.fit(loader.table, loader.schema, rows)   # keeps nothing
    assert plain.to_dict() == loader.preprocessor.to_dict()
    np.testing.assert_array_equal(loader.train_data.x, plain.transform(loader.table, rows))
    np.testing.assert_array_equal(loader.val_data.x, plain.transform(loader.table, loader.val_data.rows))
    assert ("same" in loader.feature_names) is False
    assert loader.train_data.x.flags.c_contiguous and loader.train_data.x.dtype == np.float32


@pytest.mark.parametrize("constant", [False, True])
def test_arrays_too(tmp_path, constant):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, 6)).astype(np.float32)
    x[rng.random(N) < 0.02, 3] = np.nan
    if constant:
        x[:, 1] = 7.0
    np.savez(tmp_path / "d.npz", x=x, y=rng.integers(0, 2, N))
    loader = UnifiedDataLoader(tmp_path / "d.npz", batch_size=64, seed=2).load()
    rows = loader.train_data.rows
    plain = Preprocessor.fit(loader.table, loader.schema, rows)
    assert plain.to_dict() == loader.preprocessor.to_dict()
    assert ("f1" in loader.feature_names) is not constant
    np.testing.assert_array_equal(loader.train_data.x, plain.transform(loader.table, rows))


def test_the_kept_block_holds_the_rows_and_the_stats_are_those_of_a_fit_that_keeps_nothing():
    rng = np.random.default_rng(6)
    flat = rng.standard_normal((3_000, 5)).astype(np.float32)
    flat[::11, 2] = np.nan
    rows = np.sort(rng.choice(3_000, 2_000, replace=False))
    numbers = ArrayNumbers(flat)
    staged = Staged(rows)
    block = staged.keep(numbers)
    assert block is not None
    assert fit_stats(numbers, rows, block) == fit_stats(numbers, rows)
    np.testing.assert_array_equal(block, flat[rows])
    assert Staged(rows).keep(ArrayNumbers(flat.astype(np.float64) / 3)) is None   # float64 arithmetic: not kept


def test_a_preprocessor_gives_its_kept_rows_once_and_only_for_those_rows(tmp_path):
    rng = np.random.default_rng(8)
    pq.write_table(pa.table(_numbers(rng, np.float32) | {"label": rng.integers(0, 2, N)}), tmp_path / "d.parquet")
    loader = UnifiedDataLoader(tmp_path / "d.parquet", batch_size=64).load()
    rows = loader.train_data.rows.copy()
    pre = Preprocessor.fit(loader.table, loader.schema, rows, stage=True)
    assert pre.take_staged(rows.copy()) is None        # equal rows, another array: not these
    staged = pre.take_staged(rows)
    assert staged is not None and staged.in_place
    assert pre.take_staged(rows) is None


def test_chunks_on_several_threads_give_one_thread_s_statistics_and_tensors(monkeypatch):
    """The fit's sums and the standardizing run a chunk of rows per thread: the same bits as
    one thread (sums added in chunk order; each chunk writes its own rows)."""
    import udl_core.numeric_block as numeric_block
    from udl_core.values import PARALLEL_VALUES

    rng = np.random.default_rng(11)
    flat = rng.standard_normal((PARALLEL_VALUES // 8 + 3_001, 16)).astype(np.float32)   # past the threshold
    flat[::13, 5] = np.nan
    rows = np.sort(rng.choice(flat.shape[0], flat.shape[0] * 4 // 5, replace=False))
    calls = []
    original = numeric_block.parallel_map

    def threaded(func, items, values):
        calls.append(values)
        return original(func, items, values)

    def one_thread(func, items, values):
        return [func(item) for item in items]

    results = []
    for runner in (threaded, one_thread):
        monkeypatch.setattr(numeric_block, "parallel_map", runner)
        stats = fit_stats(ArrayNumbers(flat), rows)
        out = np.empty((rows.size, 16), np.float32)
        numeric_block.standardize(ArrayNumbers(flat), rows, stats, out, slice(0, 16))
        results.append((stats, out))
    assert calls and all(v >= PARALLEL_VALUES for v in calls)
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
