"""Typed encoders and the bulk numeric block: sidecars written before them still load and give the
same tensors, a newer format is refused by name, and the medians follow the documented sample rule."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from udl_core.encoders import (
    ArrayEncoder,
    BoolEncoder,
    CategoricalEncoder,
    DatetimeEncoder,
    ImageEncoder,
    NumericEncoder,
    encoder_from_dict,
)
from udl_core.errors import ConfigError
from udl_core.loader import UnifiedDataLoader
from udl_core.numeric_block import MEDIAN_ROWS, ColumnNumbers, fit_stats, median_sample
from udl_core.preprocess import Preprocessor
from udl_core.schema import infer
from udl_core.table import Table

# Written by the preprocessing before the typed encoders (commit fed4996): to_dict() of three fits
# and their transform of the tables below.
OLD = json.loads((Path(__file__).parent / "data" / "preprocessor_v1.json").read_text())


def _old_tables() -> dict[str, Table]:
    """The tables the sidecars in OLD were fitted on (same seed, same order of draws)."""
    rng = np.random.default_rng(5)
    n = 24
    a = rng.normal(3, 2, n).round(3)
    a[3] = np.nan
    table = Table("old.csv", "csv", columns=pa.table({
        "a": pa.array(a, mask=np.isnan(a)),
        "c": pa.array(["x", "y", "z", None] * 6),
        "f": pa.array([True, False, None] + [bool(i % 3) for i in range(n - 3)]),
        "t": pa.array([dt.datetime(2020, 1 + i % 12, 1 + i, (5 * i) % 24) for i in range(n)]),
        "label": pa.array([i % 2 for i in range(n)])}))
    arr = Table("old.npy", "npy", features=np.column_stack([rng.normal(size=(n, 3)).round(3), np.arange(n) % 2]))
    img = Table("pics", "images", features=rng.integers(0, 256, (n, 2, 2, 3), dtype=np.uint8),
                labels=np.arange(n) % 2, label_name="class", class_names=("a", "b"))
    return {"tabular": table, "array": arr, "image": img}


@pytest.mark.parametrize("kind", ["tabular", "array", "image"])
def test_a_sidecar_written_before_the_encoders_loads_and_transforms_the_same(kind):
    table = _old_tables()[kind]
    pre = Preprocessor.from_dict(OLD[kind])
    assert pre.feature_names == OLD[kind]["feature_names"]
    np.testing.assert_array_equal(pre.transform(table), np.array(OLD[f"x_{kind}"], dtype=np.float32))
    assert pre.to_dict()["steps"] == OLD[kind]["steps"]   # saved again in the very same shape


def test_a_sidecar_of_a_newer_format_is_refused_naming_its_version():
    data = dict(OLD["tabular"], version=2)
    with pytest.raises(ConfigError, match="version 2.*newer UDL.*reads version 1"):
        Preprocessor.from_dict(data)


def test_each_encoder_saves_and_loads_itself():
    encoders = [
        NumericEncoder("a", {"median": 1.0, "mean": 2.0, "std": 3.0, "constant": False}),
        BoolEncoder("f", 1.0),
        CategoricalEncoder("c", ["x", "y"], other=True, missing=False),
        DatetimeEncoder("t", {"day": {"median": 3.0, "mean": 4.0, "std": 2.0}}, date_format=None),
        ArrayEncoder([2, 3], [0, 4], [{"median": 0.0, "mean": 0.5, "std": 1.5}] * 2, {1: 7.0}),
        ImageEncoder([2, 2, 3], 1 / 255, 3, [0.1, 0.2, 0.3], [1.0, 1.0, 2.0]),
    ]
    names = [["a"], ["f"], ["c=x", "c=y", "c=other"], ["t.day"], ["f0", "f4"], [f"pixel{j}" for j in range(12)]]
    for encoder, expected in zip(encoders, names):
        again = encoder_from_dict(json.loads(json.dumps(encoder.to_dict())))
        assert type(again) is type(encoder) and again.names() == expected == encoder.names()
        assert again.to_dict() == encoder.to_dict()
    with pytest.raises(ConfigError, match="unknown step kind 'fourier'"):
        encoder_from_dict({"kind": "fourier"})


def test_medians_come_from_a_seeded_sample_of_the_training_rows_past_the_limit():
    n = MEDIAN_ROWS + 50_001
    rng = np.random.default_rng(0)
    values = rng.exponential(size=n)           # skewed: mean and median differ
    rows = np.arange(0, n, 1)
    stats = fit_stats(ColumnNumbers([pa.chunked_array([values[:70_000], values[70_000:]])]), rows)[0]
    pick = median_sample(n)
    assert pick is not None and pick.size == MEDIAN_ROWS and np.array_equal(pick, median_sample(n))
    assert stats["median"] == np.median(values[pick]) != np.median(values)
    assert stats["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert stats["std"] == pytest.approx(values.std(), rel=1e-9)
    small = fit_stats(ColumnNumbers([pa.chunked_array([values[:1001]])]), None)[0]
    assert median_sample(1001) is None and small["median"] == np.median(values[:1001])   # exact below the limit


def test_float32_arrays_and_float32_parquet_columns_give_identical_tensors(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3000, 5)).astype(np.float32).round(4)
    x[rng.random(x.shape) < 0.02] = np.nan
    y = rng.integers(0, 3, 3000)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    columns = {f"c{j}": pa.array(x[:, j], mask=np.isnan(x[:, j])) for j in range(5)}
    pq.write_table(pa.table({**columns, "label": y}), tmp_path / "d.parquet", row_group_size=1000)
    arrays = UnifiedDataLoader(tmp_path / "d.npz", batch_size=64, seed=3).load()
    table = UnifiedDataLoader(tmp_path / "d.parquet", batch_size=64, seed=3).load()
    for split in ("train", "val"):
        one, two = arrays.train_data if split == "train" else arrays.val_data, \
            table.train_data if split == "train" else table.val_data
        np.testing.assert_array_equal(one.rows, two.rows)
        np.testing.assert_array_equal(one.x, two.x)
        assert np.isfinite(one.x).all()


def test_a_column_constant_in_the_training_rows_is_dropped_however_its_sums_round():
    rng = np.random.default_rng(6)
    n = 5000
    values = np.full(n, 0.1)                      # 0.1 has no exact binary form: sums round
    val = np.sort(rng.choice(n, n // 5, replace=False))
    values[val] = rng.normal(size=val.size)       # varies only outside the training rows
    train = np.setdiff1d(np.arange(n), val)
    table = Table("c.csv", "csv", columns=pa.table({"c": values, "v": rng.normal(size=n),
                                                    "label": np.arange(n) % 2}))
    pre = Preprocessor.fit(table, infer(table), train)
    assert pre.dropped == ["c"] and pre.feature_names == ["v"]
    x = pre.transform(table)
    assert np.isfinite(x).all() and abs(float(x[train, 0].mean())) < 1e-6


def test_one_hot_writes_the_same_into_a_whole_output_and_into_a_view_of_one():
    encoder = CategoricalEncoder("c", ["x", "y", "z"], other=True, missing=True)
    codes = encoder.prepare(pa.chunked_array([pa.array(["y", None, "w", "x", "z", "y"])]))
    whole = np.full((4, 7), 9.0, np.float32)
    wider = np.full((4, 9), 9.0, np.float32)
    rows = np.array([0, 1, 2, 4])
    encoder.write(codes, rows, whole, 2)
    encoder.write(codes, rows, wider[:, 1:8], 2)        # not C-contiguous: the 2-D assignment
    np.testing.assert_array_equal(whole, wider[:, 1:8])
    np.testing.assert_array_equal(whole[:, 2:7], [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 1, 0, 0]])
    assert (whole[:, :2] == 9).all() and (wider[:, 0] == 9).all() and (wider[:, 8] == 9).all()
