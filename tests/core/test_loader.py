"""UnifiedDataLoader: split, shuffle, batches, get_batch, prefetching, raw rows."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from udl_core.batching import prefetched
from udl_core.errors import ConfigError, UDLError
from udl_core.events import Notice, Progress, run_job
from udl_core.loader import UnifiedDataLoader
from udl_core.table import Table


def make_table(n: int = 200, classes: int = 3, seed: int = 0) -> Table:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    a[::17] = np.nan
    return Table(source="data.csv", format="csv", columns=pa.table({
        "a": pa.array(a, mask=np.isnan(a)),
        "color": pa.array(rng.choice(["red", "green", "blue"], n).tolist()),
        "flag": pa.array(rng.random(n) < 0.3),
        "label": pa.array(rng.integers(0, classes, n)),
    }))


def loaded(table: Table | None = None, **kwargs) -> UnifiedDataLoader:
    return UnifiedDataLoader(table or make_table(), **kwargs).load()


def prefetch_threads() -> int:
    return sum(t.name == "udl-prefetch" for t in threading.enumerate())


@pytest.mark.parametrize("size", [0, -3])
def test_batch_size_must_be_positive(size):
    with pytest.raises(ConfigError, match=f"batch size must be a positive integer, got {size}"):
        UnifiedDataLoader(make_table(), batch_size=size)
    loader = loaded()
    with pytest.raises(ConfigError):
        loader.batch_size = size


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_val_fraction_range(fraction):
    with pytest.raises(ConfigError, match="val_fraction"):
        UnifiedDataLoader(make_table(), val_fraction=fraction)


def test_get_batch_out_of_range_message():
    loader = loaded(make_table(n=100), batch_size=10, val_fraction=0.0)
    assert len(loader) == 10
    with pytest.raises(ConfigError, match=r"^batch index 12 is out of range: this split has 10 batches \(0-9\)$"):
        loader.get_batch(12)
    with pytest.raises(ConfigError, match="out of range"):
        loader.get_batch(-1)
    with pytest.raises(ConfigError, match="no batches"):
        loader.get_batch(0, split="val")
    with pytest.raises(ConfigError, match="split"):
        loader.get_batch(0, split="test")


def test_not_loaded_is_a_clear_error():
    with pytest.raises(ConfigError, match="load()"):
        len(UnifiedDataLoader(make_table()))


def test_split_is_seeded_stratified_and_disjoint():
    table = make_table(n=600)
    a, b, c = loaded(table, seed=5), loaded(table, seed=5), loaded(table, seed=6)
    np.testing.assert_array_equal(a.val_data.rows, b.val_data.rows)
    assert not np.array_equal(a.val_data.rows, c.val_data.rows)
    assert np.intersect1d(a.train_data.rows, a.val_data.rows).size == 0
    assert a.num_train + a.num_val == 600
    for k in range(3):
        share = np.mean(a.val_data.y == k) - np.mean(a.train_data.y == k)
        assert abs(share) < 0.02
    assert a.num_val == 120                             # round(0.2 * 600), shared out by class


def test_val_fraction_zero_gives_an_empty_validation_split():
    loader = loaded(val_fraction=0.0)
    assert loader.num_val == 0 and loader.num_train == 200
    assert list(loader.batches("val")) == []


def test_single_row_class_stays_in_training():
    table = Table(source="d.csv", format="csv", columns=pa.table({
        "a": pa.array(np.arange(41.0)), "label": pa.array(["x", "y"] * 20 + ["lonely"])}))
    loader = loaded(table, val_fraction=0.5)
    assert 40 in loader.train_data.rows
    assert any("single labelled row" in w for w in loader.warnings)


def test_rows_with_missing_labels_are_dropped():
    table = Table(source="d.csv", format="csv", columns=pa.table({
        "a": pa.array(np.arange(30.0)), "label": pa.array(["x", None, "y"] * 10)}))
    loader = loaded(table)
    assert loader.num_train + loader.num_val == 20
    assert 1 not in np.concatenate([loader.train_data.rows, loader.val_data.rows])
    assert any("10 row(s)" in w for w in loader.warnings)


def test_each_epoch_visits_every_training_row_once_in_a_seeded_order():
    loader = loaded(batch_size=16)
    epochs = [np.concatenate([b.rows for b in loader.batches(epoch=e)]) for e in range(3)]
    for rows in epochs:
        np.testing.assert_array_equal(np.sort(rows), loader.train_data.rows)
    assert not np.array_equal(epochs[0], epochs[1])
    again = loaded(batch_size=16)
    np.testing.assert_array_equal(np.concatenate([b.rows for b in again.batches(epoch=1)]), epochs[1])
    first, second = iter(loader), iter(loader)           # iter() moves on to the next epoch
    assert next(first).epoch == 0 and next(second).epoch == 1
    first.close()
    second.close()


def test_get_batch_matches_iteration_and_batches_stay_valid():
    loader = loaded(batch_size=7, prefetch=2)
    held = list(loader.batches(epoch=2))                  # all held at once: none overwritten
    assert len(held) == len(loader) == -(-loader.num_train // 7)
    for i, batch in enumerate(held):
        single = loader.get_batch(i, epoch=2)
        assert batch.index == i
        np.testing.assert_array_equal(batch.x, single.x)
        np.testing.assert_array_equal(batch.y, single.y)
        np.testing.assert_array_equal(batch.rows, single.rows)
        assert batch.x.dtype == np.float32 and batch.x.flags.c_contiguous
        pos = np.searchsorted(loader.train_data.rows, batch.rows)
        np.testing.assert_array_equal(batch.x, loader.train_data.x[pos])


def test_unshuffled_and_validation_batches_keep_file_order():
    loader = loaded(shuffle=False, batch_size=8)
    rows = np.concatenate([b.rows for b in loader])
    np.testing.assert_array_equal(rows, loader.train_data.rows)
    val = np.concatenate([b.rows for b in loader.batches("val")])
    np.testing.assert_array_equal(val, loader.val_data.rows)


def test_drop_last():
    loader = loaded(make_table(n=105), batch_size=10, val_fraction=0.0, drop_last=True)
    assert len(loader) == 10
    assert all(len(b) == 10 for b in loader)
    loader.drop_last = False
    assert len(loader) == 11 and len(loader.get_batch(10)) == 5


def test_breaking_out_early_stops_the_prefetch_thread(monkeypatch):
    monkeypatch.setattr("udl_core.batching.CHUNK_BYTES", 64)   # many small chunks: the thread waits on us
    loader = loaded(make_table(n=5000), batch_size=8)
    before = prefetch_threads()
    for batch in loader.batches():
        assert prefetch_threads() == before + 1
        break
    gc.collect()
    assert prefetch_threads() == before
    batches = loader.batches()
    next(batches)
    batches.close()
    assert prefetch_threads() == before


def test_producer_errors_reach_the_consumer():
    def broken():
        yield 1
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for item in prefetched(broken(), 2):
            got.append(item)
    assert got == [1]
    assert prefetch_threads() == 0


def test_raw_rows_are_the_readers_values():
    table = make_table()
    loader = loaded(table, batch_size=5)
    batch = loader.get_batch(3)
    raw = batch.raw()
    assert list(raw) == ["a", "color", "flag", "label"]
    expected = table.columns.take(pa.array(batch.rows)).to_pydict()
    assert raw == expected
    assert raw["label"] == [loader.classes[k] and int(loader.classes[k]) for k in batch.y]


def test_processed_data_is_every_labelled_row_in_file_order():
    loader = loaded()
    data = loader.processed_data
    np.testing.assert_array_equal(data.rows, np.arange(200))
    np.testing.assert_array_equal(data.x, loader.preprocessor.transform(loader.table))
    np.testing.assert_array_equal(data.y, loader.preprocessor.encode_labels(loader.table))
    assert data.feature_names == loader.feature_names


def test_preprocessing_is_fitted_on_training_rows_only():
    loader = loaded(make_table(n=1000))
    x = loader.train_data.x[:, loader.feature_names.index("a")]
    assert x.mean() == pytest.approx(0.0, abs=1e-5)
    assert x.std() == pytest.approx(1.0, abs=1e-4)


def test_iter_load_yields_stages_and_notices():
    table = make_table()
    table.notes.append("encoding: utf-8")
    events = []
    loader = run_job(UnifiedDataLoader(table).iter_load(), events.append)
    stages = [e.stage for e in events if isinstance(e, Progress)]
    assert stages[0] == "schema" and stages[-1] == "preprocess"
    assert Notice("encoding: utf-8") in events
    assert loader.num_train > 0 and loader.feature_dim == 1 + 3 + 1


def test_array_tables_and_to_mx():
    x = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    table = Table(source="x.npy", format="npy", features=x, labels=np.arange(64) % 4)
    loader = loaded(table, batch_size=16)
    batch = loader.get_batch(0)
    raw = batch.raw()
    assert list(raw) == ["f0", "f1", "f2", "f3", "f4", "label"]
    assert raw["f2"] == pytest.approx(x[batch.rows, 2].tolist())
    mx_x, mx_y = batch.to_mx()
    assert tuple(mx_x.shape) == (16, 5) and tuple(mx_y.shape) == (16,)
    np.testing.assert_allclose(np.array(mx_x), batch.x)


def test_image_raw_rows_name_the_class():
    images = np.random.default_rng(0).integers(0, 255, size=(12, 4, 4, 3), dtype=np.uint8)
    table = Table(source="pics", format="images", features=images, labels=np.arange(12) % 2,
                  label_name="class", class_names=("cat", "dog"))
    loader = loaded(table, batch_size=4, val_fraction=0.25)
    batch = loader.get_batch(0)
    raw = batch.raw()
    assert raw["class"] == [("cat", "dog")[k] for k in batch.y]
    np.testing.assert_array_equal(raw["image"][0], images[batch.rows[0]])
    assert loader.feature_dim == 48


def test_loads_a_real_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,kind,target\n" + "".join(f"{i},{'ab'[i % 2]},{i % 3}\n" for i in range(60)))
    loader = UnifiedDataLoader(path, batch_size=8).load()
    assert loader.schema.label == "target" and loader.task == "classification"
    assert loader.feature_names == ["x", "kind=a", "kind=b"]
    assert loader.estimate is not None and loader.estimate.rows == 60


# any small table loads, or fails with a UDLError: never another exception -------------------
_cells = {
    "float": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    "int": st.one_of(st.none(), st.integers(-5, 5)),
    "text": st.one_of(st.none(), st.sampled_from(["a", "b", "1.5", "x y", "", "é"])),
    "bool": st.one_of(st.none(), st.booleans()),
}
_types = {"float": pa.float64(), "int": pa.int64(), "text": pa.string(), "bool": pa.bool_()}


@st.composite
def small_tables(draw):
    rows = draw(st.integers(1, 25))
    kinds = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=4))
    columns = {f"c{j}": pa.array(draw(st.lists(_cells[k], min_size=rows, max_size=rows)), _types[k])
               for j, k in enumerate(kinds)}
    return Table(source="fuzz.csv", format="csv", columns=pa.table(columns))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_tables(), st.sampled_from(["auto", "classification", "regression"]), st.integers(1, 8))
def test_any_small_table_loads_or_raises_a_udl_error(table, task, batch_size):
    try:
        loader = UnifiedDataLoader(table, task=task, batch_size=batch_size, val_fraction=0.25).load()
    except UDLError as exc:
        assert str(exc)
        return
    for batch in loader:
        assert np.isfinite(batch.x).all()
        assert batch.x.shape == (len(batch.rows), loader.feature_dim)
        assert set(batch.raw()) == set(table.columns.column_names)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 20), st.integers(1, 4), st.data(), st.sampled_from(["auto", "classification", "regression"]))
def test_any_small_array_loads_or_raises_a_udl_error(rows, width, data, task):
    cells = st.sampled_from([0.0, 1.0, -2.5, 3.0, np.nan, np.inf, -np.inf, 1e300, -1e-300])
    x = np.array(data.draw(st.lists(cells, min_size=rows * width, max_size=rows * width))).reshape(rows, width)
    labels = data.draw(st.one_of(st.none(), st.lists(st.sampled_from([0, 1, 2]), min_size=rows, max_size=rows)))
    table = Table(source="fuzz.npy", format="npy", features=x,
                  labels=None if labels is None else np.array(labels))
    try:
        loader = UnifiedDataLoader(table, task=task, batch_size=3).load()
    except UDLError as exc:
        assert str(exc)
        return
    for batch in loader:
        assert np.isfinite(batch.x).all()
        assert len(batch.raw()) >= 1
