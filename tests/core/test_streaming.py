"""Data over the memory budget: spilled, memory-mapped, the same batches as in memory."""

from __future__ import annotations

import gc
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from udl_core.errors import MemoryBudgetError
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
    monkeypatch.setattr("udl_core.streaming.SAMPLE_ROWS", 100)
    monkeypatch.setattr("udl_core.streaming.FIT_ROWS", 50)
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


def test_formats_without_a_streaming_reader_are_refused_over_the_budget(files):
    # JSON is read whole: past the budget it is refused before one byte is read, naming the file.
    with pytest.raises(MemoryBudgetError, match=r"d\.jsonl.*memory budget"):
        UnifiedDataLoader(files["jsonl"], memory_budget=TINY).load()
    assert not UnifiedDataLoader(files["jsonl"], memory_budget=1 << 20).load().streamed


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


def _reference_block_shuffle(n, rng, block_rows, buffer_rows):
    """The whole-array form of the block shuffle: the streamed one must match it exactly."""
    blocks = rng.permutation(-(-n // block_rows))
    order = (blocks[:, None] * block_rows + np.arange(block_rows)).ravel()
    order = order[order < n]
    for start in range(0, n, buffer_rows):
        window = order[start:start + buffer_rows]
        order[start:start + buffer_rows] = window[rng.permutation(window.size)]
    return order


@pytest.mark.parametrize("n, block, window", [(10_000, 100, 1_000), (1_234, 100, 250), (999, 7, 1), (5, 16, 3)])
def test_block_shuffle_written_window_by_window_matches_the_whole_array_form(tmp_path, n, block, window):
    out = np.memmap(tmp_path / "order", dtype=np.int64, mode="w+", shape=(n,))
    got = block_shuffle(n, np.random.default_rng(3), block, window, out=out)
    assert got is out
    np.testing.assert_array_equal(out, _reference_block_shuffle(n, np.random.default_rng(3), block, window))


def _split_case(tmp_path, y, task, fraction=0.25, seed=4, chunk=64):
    from udl_core.streaming import SpillFolder, stream_split

    owner = type("Owner", (), {})()
    folder = SpillFolder(owner)
    try:
        train, val, y_train, y_val, notes = stream_split(y, task, fraction, seed, folder, chunk_rows=chunk)
        return [np.array(a) for a in (train, val, y_train, y_val)], notes, owner
    finally:
        folder.remove()


def test_stream_split_takes_exact_per_class_counts_over_many_chunks(tmp_path):
    from udl_core.batching import split_rows

    rng = np.random.default_rng(0)
    y = rng.choice(np.array([0, 1, 2, -1, 4], dtype=np.int32), size=5_000, p=[0.6, 0.3, 0.05, 0.05, 0.0])
    y[4321] = 4                                        # a class with a single row: stays in training
    (train, val, y_train, y_val), notes, _ = _split_case(tmp_path, y, "classification")
    known = np.flatnonzero(y >= 0)
    mem_train, mem_val, mem_notes = split_rows(known, y[known], "classification", 0.25, 4)
    assert notes == mem_notes and any("single labelled row" in n for n in notes)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    np.testing.assert_array_equal(np.union1d(train, val), known)
    assert np.intersect1d(train, val).size == 0 and 4321 in train
    np.testing.assert_array_equal(y_train, y[train])
    np.testing.assert_array_equal(y_val, y[val])
    np.testing.assert_array_equal(np.bincount(y_val, minlength=5), np.bincount(y[mem_val], minlength=5))
    assert not np.array_equal(val, mem_val)           # many chunks: other rows, the same counts
    # every chunk gets its share (a uniform subset, not the first rows of each class)
    assert np.histogram(val, bins=5, range=(0, 5_000))[0].min() > 150
    again, _, _ = _split_case(tmp_path, y, "classification")
    other, _, _ = _split_case(tmp_path, y, "classification", seed=5)
    np.testing.assert_array_equal(again[1], val)
    assert not np.array_equal(other[1], val)


def test_stream_split_regression_with_missing_targets(tmp_path):
    y = np.random.default_rng(1).normal(size=1_000).astype(np.float32)
    y[::10] = np.nan
    (train, val, y_train, y_val), notes, _ = _split_case(tmp_path, y, "regression", fraction=0.2)
    assert val.size == round(0.2 * 900) and train.size == 900 - val.size and not notes
    np.testing.assert_array_equal(np.union1d(train, val), np.flatnonzero(~np.isnan(y)))
    np.testing.assert_array_equal(y_val, y[val])
    (train, val, *_), notes, _ = _split_case(tmp_path, y[1:2], "regression")
    assert train.size == 1 and val.size == 0 and "validation is empty" in notes[0]


def test_streamed_processed_data_is_every_row_in_file_order(files):
    memory = UnifiedDataLoader(files["csv"], seed=2).load()
    streamed = UnifiedDataLoader(files["csv"], seed=2, memory_budget=TINY).load()
    got, want = streamed.processed_data, memory.processed_data
    assert isinstance(got.x, np.memmap)
    np.testing.assert_array_equal(got.rows, want.rows)
    np.testing.assert_array_equal(got.x, want.x)
    np.testing.assert_array_equal(got.y, want.y)


def test_streamed_validation_batches_and_raw_rows(files):
    loader = UnifiedDataLoader(files["parquet"], batch_size=32, memory_budget=TINY).load()
    val = list(loader.batches("val"))
    np.testing.assert_array_equal(np.concatenate([b.rows for b in val]), loader.val_data.rows)
    one = loader.get_batch(1, split="val")
    np.testing.assert_array_equal(one.x, val[1].x)
    raw = one.raw()
    assert len(raw["label"]) == len(one) and set(raw) == {"a", "colour", "flag", "label"}


def test_close_removes_the_spill_folder_and_unloads(files):
    loader = UnifiedDataLoader(files["csv"], memory_budget=TINY).load()
    folder = loader._spill.path
    list(loader)
    assert any(folder.glob("order-*"))
    loader.close()
    assert not folder.exists()
    with pytest.raises(Exception, match="not loaded"):
        loader.get_batch(0)


def test_spill_folder_is_removed_at_interpreter_exit(files):
    import subprocess
    import sys

    code = ("import sys; from udl_core.loader import UnifiedDataLoader\n"
            f"loader = UnifiedDataLoader({str(files['csv'])!r}, memory_budget={TINY}).load()\n"
            "print(loader._spill.path); sys.stdout.flush()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    folder = done.stdout.strip().splitlines()[-1]
    assert "udl-spill-" in folder and not __import__("os").path.exists(folder)


def _heap_case(tmp_path, n, prefetch=0):
    """tracemalloc's peak (numpy's buffers are traced) from the schema step on (the reader's
    own buffers come before) over a streamed load, one epoch, a batch and processed_data."""
    import tracemalloc

    rng = np.random.default_rng(n)
    path = tmp_path / f"rows{n}.csv"
    if not path.exists():
        pacsv.write_csv(pa.table({"a": rng.normal(size=n), "b": rng.integers(0, 9, n),
                                  "label": np.array(["p", "q", "r"])[rng.integers(0, 3, n)]}), path)
    gc.collect()
    tracemalloc.start()
    try:
        loader = UnifiedDataLoader(path, batch_size=64, memory_budget=TINY, prefetch=prefetch)
        for event in loader.iter_load():
            if getattr(event, "stage", None) == "schema":
                tracemalloc.reset_peak()
        assert loader.streamed and loader.num_train + loader.num_val == n
        seen = sum(len(batch) for batch in loader)
        loader.get_batch(len(loader) - 1, epoch=3)
        loader.processed_data
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == loader.num_train
    # no per-row array stays on the heap: each one the loader keeps is a memmap (or tiny)
    kept = [loader.train_data, loader.val_data, loader.processed_data, *loader._orders.values()]
    arrays = [a for item in kept for a in (vars(item).values() if hasattr(item, "__dict__") else [item])
              if isinstance(a, np.ndarray)]
    assert arrays and all(isinstance(a, np.memmap) for a in arrays if a.size >= n // 10)
    loader.close()
    return peak


def test_streamed_heap_does_not_grow_with_the_row_count(tmp_path, monkeypatch):
    """Chunk sizes shrunk so that 40k rows span many chunks; then N and 2N rows peak alike."""
    import functools

    from udl_core.schema import count_labels

    small = {"udl_core.streaming.BATCH_ROWS": 2048, "udl_core.streaming.CHUNK_ROWS": 4096,
             "udl_core.streaming.BUFFER_ROWS": 4096, "udl_core.streaming.SAMPLE_ROWS": 2000,
             "udl_core.streaming.FIT_ROWS": 2000, "udl_core.pipeline._LABEL_ROWS": 4096,
             "udl_core.batching.CHUNK_BYTES": 64 << 10}
    for name, value in small.items():
        monkeypatch.setattr(name, value)
    monkeypatch.setattr("udl_core.streaming.chunk_rows", lambda width: 2048)
    monkeypatch.setattr("udl_core.pipeline.count_labels", functools.partial(count_labels, chunk_rows=4096))
    n = 40_000
    one, two = _heap_case(tmp_path, n), _heap_case(tmp_path, 2 * n)
    # per-row arrays on the heap (labels, row ids, split, order: ~60 bytes a row) added 2.4 MB here
    assert (two - one) / n < 2, f"traced heap peak {one:,} bytes for {n:,} rows, {two:,} for {2 * n:,}"
    # prefetching holds a few chunks (queue of 2, one being made, one being used), not the epoch
    ahead = _heap_case(tmp_path, 2 * n, prefetch=2)
    assert ahead - two < 16 * (64 << 10), f"{ahead - two:,} more bytes with prefetch=2"


def test_spill_folder_goes_where_udl_spill_dir_says(files, tmp_path, monkeypatch):
    monkeypatch.setenv("UDL_SPILL_DIR", str(tmp_path / "spill"))
    loader = UnifiedDataLoader(files["csv"], memory_budget=TINY).load()
    assert loader._spill.path.parent == tmp_path / "spill"
    loader.close()
    assert not any((tmp_path / "spill").iterdir())


def test_spill_roots_skip_a_temp_folder_in_ram(monkeypatch):
    import tempfile

    from udl_core.streaming import _in_memory, spill_roots

    monkeypatch.delenv("UDL_SPILL_DIR", raising=False)
    if not _in_memory("/dev/shm"):
        pytest.skip("no tmpfs at /dev/shm here")
    monkeypatch.setattr(tempfile, "tempdir", "/dev/shm")
    roots = spill_roots()
    assert roots[0] != "/dev/shm" and roots[-1] == "/dev/shm" and not _in_memory(roots[0])


def test_a_full_disk_is_an_error_that_names_the_spill_folder(monkeypatch):
    import errno
    import os

    from udl_core.streaming import SpillFolder

    def full(fd, offset, size):
        raise OSError(errno.ENOSPC, "No space left on device")

    owner = type("Owner", (), {})()
    folder = SpillFolder(owner)
    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    with pytest.raises(OSError, match="no room for .* MiB of spill files in .*UDL_SPILL_DIR"):
        folder.array("x.f32", (1000, 300), np.float32)
    folder.remove()
    assert not folder.path.exists()


def test_streamed_regression_stats_and_validation_match_the_in_memory_ones(tmp_path):
    from udl_core.training import train_model
    from udl_core.training import trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    y = pa.array(x @ [1.0, 2.0, 3.0] + 5 + rng.normal(size=600) * 0.1, mask=np.arange(600) % 50 == 0)
    path = tmp_path / "reg.csv"
    pacsv.write_csv(pa.table({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "target": y}), path)
    memory = UnifiedDataLoader(path, seed=1).load()
    streamed = UnifiedDataLoader(path, seed=1, memory_budget=TINY).load()
    assert isinstance(streamed.train_data.y, np.memmap) and streamed.task == "regression"
    stats = trainer._target_stats(memory)
    np.testing.assert_allclose(trainer._target_stats(streamed), stats, rtol=1e-12)
    model = train_model(memory, num_epochs=1, is_metal=False).model
    want = trainer._evaluate(model, memory, "regression", *stats)
    got = trainer._streamed_regression(model, streamed.val_data.x, streamed.val_data.y, *stats, chunk=7)
    for key in ("loss", "r2", "mse"):
        assert got[key] == pytest.approx(want[key], rel=1e-5)


def test_reloading_replaces_the_spill_folder(files):
    with UnifiedDataLoader(files["csv"], memory_budget=TINY) as loader:
        loader.load()
        first = loader._spill.path
        batch = loader.get_batch(0)
        loader.load()
        assert not first.exists() and loader._spill.path.exists()
        np.testing.assert_array_equal(loader.get_batch(0).x, batch.x)
        second = loader._spill.path
    assert not second.exists()


@pytest.mark.skipif(__import__("os").name != "posix", reason="the sweep asks kill(pid, 0): POSIX only")
def test_spill_folders_of_dead_processes_are_swept(files, tmp_path, monkeypatch):
    import os
    import subprocess

    from udl_core.streaming import _host

    dead = subprocess.Popen(["true"])                # a pid that has exited
    dead.wait()
    root = tmp_path / "spill"
    root.mkdir()
    stale = root / f"udl-spill-{_host()}-{dead.pid}-abcd1234"
    alive = root / f"udl-spill-{_host()}-{os.getppid()}-abcd1234"
    other_host = root / f"udl-spill-elsewhere-{dead.pid}-abcd1234"
    for folder in (stale, alive, other_host):
        folder.mkdir()
        (folder / "raw.arrow").write_bytes(b"x")
    monkeypatch.setenv("UDL_SPILL_DIR", str(root))
    loader = UnifiedDataLoader(files["csv"], memory_budget=TINY).load()
    assert not stale.exists() and alive.exists() and other_host.exists()
    assert loader._spill.path.name.startswith(f"udl-spill-{_host()}-{os.getpid()}-")
    loader.close()
