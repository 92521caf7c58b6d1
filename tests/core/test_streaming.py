"""Data over the memory budget: spilled, memory-mapped, the same batches as in memory."""

from __future__ import annotations

import gc
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from udl_core.loader import UnifiedDataLoader
from udl_core.streaming import block_shuffle

N = 400
TINY = 1000   # bytes: every test file is "larger than the memory budget"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streaming")
    rng = np.random.default_rng(5)
    a = rng.normal(size=N)
    a[::13] = np.nan
    label = np.array(["x", "y"])[rng.integers(0, 2, N)].astype(object)
    label[-3:] = "late"                       # a class that only appears at the very end
    table = pa.table({
        "a": pa.array(a, mask=np.isnan(a)),
        "colour": pa.array(rng.choice(["red", "green", "blue"], N).tolist()),
        "flag": pa.array(rng.random(N) < 0.5),
        "label": pa.array(label.tolist()),
    })
    paths = {"csv": folder / "d.csv", "parquet": folder / "d.parquet", "jsonl": folder / "d.jsonl",
             "npy": folder / "x.npy", "npy_labels": folder / "y.npy"}
    pacsv.write_csv(table, paths["csv"])
    pq.write_table(table, paths["parquet"], row_group_size=64)
    with open(paths["jsonl"], "w") as handle:
        for record in table.to_pylist():
            handle.write(json.dumps(record) + "\n")
    np.save(paths["npy"], np.column_stack([np.nan_to_num(a), rng.normal(size=N)]))
    np.save(paths["npy_labels"], rng.integers(0, 3, N))
    return paths


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_streamed_tables_match_the_in_memory_load(files, kind):
    memory = UnifiedDataLoader(files[kind], batch_size=16, seed=2).load()
    streamed = UnifiedDataLoader(files[kind], batch_size=16, seed=2, memory_budget=TINY).load()
    assert streamed.streamed and not memory.streamed
    assert isinstance(streamed.train_data.x, np.memmap)
    assert streamed.feature_names == memory.feature_names
    assert streamed.classes == memory.classes == ("late", "x", "y")
    np.testing.assert_array_equal(streamed.train_data.rows, memory.train_data.rows)
    np.testing.assert_array_equal(streamed.train_data.x, memory.train_data.x)
    np.testing.assert_array_equal(streamed.val_data.y, memory.val_data.y)
    batch = streamed.get_batch(3)
    assert batch.raw() == memory.raw_rows(batch.rows)
    rows = np.concatenate([b.rows for b in streamed])
    np.testing.assert_array_equal(np.sort(rows), streamed.train_data.rows)
    assert any("memory budget" in w for w in streamed.warnings) or streamed.table.notes


def test_sample_schema_and_fit_with_classes_from_every_row(files, monkeypatch):
    monkeypatch.setattr("udl_core.loader.SAMPLE_ROWS", 100)
    monkeypatch.setattr("udl_core.loader.FIT_ROWS", 50)
    loader = UnifiedDataLoader(files["csv"], memory_budget=TINY).load()
    assert loader.classes == ("late", "x", "y")                 # "late" is past the sample
    assert loader.schema.class_counts["late"] == 3
    assert sum(loader.schema.class_counts.values()) == N
    assert any("first 100 of 400 rows" in w for w in loader.warnings)
    assert any("first 50 of" in w for w in loader.warnings)
    assert np.isfinite(loader.train_data.x).all()


def test_npy_over_budget_keeps_its_memmap_and_spills_the_processed_rows(files):
    loader = UnifiedDataLoader(files["npy"], labels=files["npy_labels"], memory_budget=TINY).load()
    assert loader.streamed and isinstance(loader.train_data.x, np.memmap)
    memory = UnifiedDataLoader(files["npy"], labels=files["npy_labels"]).load()
    np.testing.assert_array_equal(loader.train_data.x, memory.train_data.x)


def test_formats_without_a_streaming_reader_load_in_memory_with_a_warning(files):
    loader = UnifiedDataLoader(files["jsonl"], memory_budget=TINY).load()
    assert not loader.streamed
    assert any("no streaming reader" in w for w in loader.warnings)


def test_spill_folder_is_removed_with_the_loader(files):
    loader = UnifiedDataLoader(files["parquet"], memory_budget=TINY).load()
    folder = loader._spill.path
    assert (folder / "raw.arrow").exists()
    del loader
    gc.collect()
    assert not folder.exists()


def test_block_shuffle_is_a_seeded_permutation_with_bounded_windows():
    n, block, window = 10_000, 100, 1_000
    one = block_shuffle(n, np.random.default_rng(1), block, window)
    two = block_shuffle(n, np.random.default_rng(1), block, window)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(np.sort(one), np.arange(n))
    assert not np.array_equal(one, np.arange(n))
    for start in range(0, n, window):
        blocks = np.unique(one[start:start + window] // block)
        assert blocks.size <= window // block + 1        # each window reads a few blocks only
