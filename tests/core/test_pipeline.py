"""The load as a pipeline of values behind UnifiedDataLoader: each step callable on its own, the
storage chosen once, every load warning yielded once as a Notice and kept in `loader.warnings`,
progress between chunks of the transform and cancellation there."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from udl_core import pipeline
from udl_core.events import Notice, Progress
from udl_core.loader import UnifiedDataLoader
from udl_core.streaming import InMemory, Spilled
from udl_core.table import ReadOptions


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    table = pa.table({"Unnamed: 0": np.arange(n), "a": rng.normal(size=n), "k": np.full(n, 2.0),
                      "c": rng.choice(["p", "q", "r"], n), "label": rng.integers(0, 3, n)})
    path = tmp_path / "data.csv"
    pacsv.write_csv(table, path)
    return path


def test_each_warning_is_one_notice_and_one_entry_of_loader_warnings(csv):
    loader = UnifiedDataLoader(csv, batch_size=16)
    job = loader.iter_load()
    events = []
    while True:
        try:
            events.append(next(job))
        except StopIteration:
            break
    said = [e.message for e in events if isinstance(e, Notice) and e.level == "warning"]
    assert len(said) >= 2 and len(set(said)) == len(said)               # a row-name column, a constant one
    assert said == loader.warnings
    assert any("Unnamed: 0" in w for w in said) and any("'k'" in w or ": k" in w for w in said)


def test_the_steps_are_values_that_rebuild_the_loaders_tensors(csv):
    loader = UnifiedDataLoader(csv, batch_size=16, seed=4).load()
    options = ReadOptions()
    read = _drain(pipeline.read(str(csv), options, None, loader, 1 << 30))
    assert isinstance(read.storage, InMemory) and not read.storage.streamed and read.notice is None
    settings = pipeline.InferOptions(None, "auto", (), (), (), 32)
    schema = _drain(pipeline.infer_schema(read.table, read.storage, settings))
    labelled = _drain(pipeline.split(read.table, schema, read.storage, 0.2, 4))
    pre = _drain(pipeline.fit(read.table, schema, labelled, read.storage, 32, 1 << 30))
    train, val = _drain(pipeline.transform(read.table, pre, labelled, read.storage))
    np.testing.assert_array_equal(train.rows, loader.train_data.rows)
    np.testing.assert_array_equal(train.x, loader.train_data.x)
    np.testing.assert_array_equal(val.x, loader.val_data.x)
    np.testing.assert_array_equal(val.y, loader.val_data.y)


def test_over_the_budget_the_storage_is_spilled_and_its_notice_is_not_a_data_warning(csv):
    loader = UnifiedDataLoader(csv, batch_size=16, memory_budget=1000)
    events = list(_events(loader.iter_load()))
    assert isinstance(loader._storage, Spilled) and loader.streamed
    where = [e for e in events if isinstance(e, Notice) and "memory-mapped file" in e.message]
    assert len(where) == 1 and where[0].message not in loader.warnings
    memory = UnifiedDataLoader(csv, batch_size=16).load()
    np.testing.assert_array_equal(loader.train_data.x, memory.train_data.x)


def test_the_transform_reports_each_chunk_and_stops_between_chunks(csv, monkeypatch):
    monkeypatch.setattr("udl_core.streaming.chunk_rows", lambda width: 500)
    loader = UnifiedDataLoader(csv, batch_size=16)
    done = [e.done for e in _events(loader.iter_load()) if isinstance(e, Progress) and e.stage == "preprocess"]
    assert len(done) >= 6 and done == sorted(done) and done[-1] == 3000
    again = UnifiedDataLoader(csv, batch_size=16)
    job = again.iter_load()
    for event in job:
        if isinstance(event, Progress) and event.stage == "preprocess" and 0 < event.done < 3000:
            job.close()   # what a cancelled job does between chunks
            break
    assert again.train_data is None


def _events(job):
    while True:
        try:
            yield next(job)
        except StopIteration:
            return


def _drain(job):
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value


def test_a_spilled_read_cancelled_midway_leaves_no_spill_folder(csv, tmp_path, monkeypatch):
    monkeypatch.setenv("UDL_SPILL_DIR", str(tmp_path / "spill"))
    loader = UnifiedDataLoader(csv, memory_budget=1000)
    job = loader.iter_load()
    for event in job:
        if isinstance(event, Progress) and event.stage == "read" and event.done:
            assert any((tmp_path / "spill").iterdir())   # spilling
            job.close()
            break
    assert not any((tmp_path / "spill").iterdir())   # removed at once, not when the loader is collected
