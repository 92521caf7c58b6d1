"""One dataset, many formats: the same processed tensors batch for batch with the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from udl_core.loader import UnifiedDataLoader

N = 300


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("consistency")
    rng = np.random.default_rng(42)
    a = rng.normal(size=N).round(6)
    a[rng.random(N) < 0.1] = np.nan
    b = rng.integers(0, 1000, N).astype(float)
    b[rng.random(N) < 0.05] = np.nan
    colour = np.array(["red", "green", "blue"], dtype=object)[rng.integers(0, 3, N)]
    colour[rng.random(N) < 0.1] = None
    label = rng.integers(0, 3, N)
    table = pa.table({
        "a": pa.array(a, mask=np.isnan(a)),
        "b": pa.array(b, mask=np.isnan(b)),
        "colour": pa.array(colour.tolist(), pa.string()),
        "flag": pa.array(rng.random(N) < 0.4),
        "label": pa.array(label),
    })
    pq.write_table(table, folder / "data.parquet")
    pacsv.write_csv(table, folder / "data.csv")
    with open(folder / "data.jsonl", "w") as handle:
        for record in table.to_pylist():
            handle.write(json.dumps(record) + "\n")
    np.save(folder / "x.npy", np.column_stack([a, b]))
    np.save(folder / "y.npy", label)
    pacsv.write_csv(table.select(["a", "b", "label"]), folder / "numeric.csv")
    return folder


def batches(loader: UnifiedDataLoader, epoch: int, split: str = "train") -> list:
    return [(b.x, b.y, b.rows) for b in loader.batches(split, epoch=epoch)]


def assert_same(one: UnifiedDataLoader, two: UnifiedDataLoader) -> None:
    assert one.num_train == two.num_train and one.num_val == two.num_val
    for split in ("train", "val"):
        for epoch in (0, 1):
            left, right = batches(one, epoch, split), batches(two, epoch, split)
            assert len(left) == len(right) > 0
            for (x1, y1, r1), (x2, y2, r2) in zip(left, right):
                np.testing.assert_array_equal(x1, x2)
                np.testing.assert_array_equal(y1, y2)
                np.testing.assert_array_equal(r1, r2)


@pytest.mark.parametrize("name", ["data.parquet", "data.jsonl"])
def test_tabular_formats_agree_with_csv(dataset, name):
    csv = UnifiedDataLoader(dataset / "data.csv", batch_size=32, seed=7).load()
    other = UnifiedDataLoader(dataset / name, batch_size=32, seed=7).load()
    assert csv.feature_names == other.feature_names == [
        "a", "b", "colour=blue", "colour=green", "colour=red", "colour=missing", "flag"]
    assert csv.classes == other.classes == ("0", "1", "2")
    assert_same(csv, other)
    assert csv.get_batch(2).raw()["colour"] == other.get_batch(2).raw()["colour"]


def test_arrays_agree_with_the_numeric_columns(dataset):
    arrays = UnifiedDataLoader(dataset / "x.npy", labels=dataset / "y.npy", batch_size=32, seed=7).load()
    table = UnifiedDataLoader(dataset / "numeric.csv", batch_size=32, seed=7).load()
    assert arrays.feature_names == ["f0", "f1"] and table.feature_names == ["a", "b"]
    assert_same(arrays, table)


def test_another_seed_changes_the_batches(dataset):
    one = UnifiedDataLoader(dataset / "data.csv", batch_size=32, seed=7).load()
    two = UnifiedDataLoader(dataset / "data.csv", batch_size=32, seed=8).load()
    assert not np.array_equal(one.get_batch(0).rows, two.get_batch(0).rows)


def test_float32_numbers_agree_across_parquet_csv_and_npz(tmp_path):
    """Numbers that are float32s (a float32 Parquet column, the same values as text, a float32
    array): float32 arithmetic on every path, the fit's kept rows standardized in place
    (numeric_block.Staged), and the same tensors, a constant column dropped alike."""
    rng = np.random.default_rng(5)
    x = (rng.integers(-4000, 4000, (N, 3)) / 64).astype(np.float32)   # exact in float32 and as text
    x[:, 2] = 1.5                                                       # constant: dropped
    x[rng.random(N) < 0.1, 0] = np.nan
    label = rng.integers(0, 2, N)
    table = pa.table({"a": pa.array(x[:, 0], mask=np.isnan(x[:, 0])), "b": x[:, 1], "c": x[:, 2], "label": label})
    assert table.schema.field("a").type == pa.float32()
    pq.write_table(table, tmp_path / "f32.parquet")
    pacsv.write_csv(table, tmp_path / "f32.csv")
    np.savez(tmp_path / "f32.npz", x=x, y=label)
    parquet, csv, npz = (UnifiedDataLoader(tmp_path / name, batch_size=32, seed=7).load()
                         for name in ("f32.parquet", "f32.csv", "f32.npz"))
    assert parquet.feature_names == csv.feature_names == ["a", "b"] and npz.feature_names == ["f0", "f1"]
    assert_same(parquet, csv)
    assert_same(npz, csv)
