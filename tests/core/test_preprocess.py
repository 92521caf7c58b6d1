"""Preprocessor: statistics from training rows only, encodings, saving and reloading."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udl_core.errors import SchemaError
from udl_core.preprocess import Preprocessor
from udl_core.schema import infer
from udl_core.table import Table


def tab(**columns) -> Table:
    return Table(source="data.csv", format="csv", columns=pa.table(columns))


def fitted(table: Table, rows=None, **kwargs) -> Preprocessor:
    return Preprocessor.fit(table, infer(table, **kwargs), rows)


def test_numeric_uses_training_rows_only_and_imputes_the_median():
    values = [1.0, 2.0, None, 4.0, 1000.0, 2000.0]
    table = tab(a=pa.array(values), label=pa.array([0, 1, 0, 1, 0, 1]))
    pre = fitted(table, rows=[0, 1, 2, 3])
    train = np.array([1.0, 2.0, 2.0, 4.0])          # the median 2.0 fills the gap
    x = pre.transform(table)
    assert x.dtype == np.float32 and x.flags.c_contiguous and x.shape == (6, 1)
    expected = (np.array([1.0, 2.0, 2.0, 4.0, 1000.0, 2000.0]) - train.mean()) / train.std()
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-6)
    assert x[:4, 0].mean() == pytest.approx(0.0, abs=1e-6)


def test_constant_in_training_rows_is_dropped_and_reported():
    table = tab(a=pa.array([1.0, 2.0, 3.0, 4.0]), k=pa.array([5, 5, 5, 9]), label=pa.array([0, 1, 0, 1]))
    pre = fitted(table, rows=[0, 1, 2])
    assert pre.feature_names == ["a"]
    assert pre.dropped == ["k"]
    assert any("k" in w for w in pre.warnings)


def test_one_hot_with_cap_other_missing_and_unseen_values():
    colors = ["red"] * 5 + ["green"] * 4 + ["blue"] * 3 + ["pink"] * 1 + [None] * 2
    table = tab(c=pa.array(colors + ["mauve"]), label=pa.array([0, 1] * 8))
    pre = Preprocessor.fit(table, infer(table), np.arange(15), max_categories=2)
    assert pre.feature_names == ["c=green", "c=red", "c=other", "c=missing"]
    x = pre.transform(table)
    assert x.sum(axis=1).tolist() == [1.0] * 16               # exactly one hot per row
    assert x[0].tolist() == [0, 1, 0, 0]                     # red
    assert x[9].tolist() == [0, 0, 1, 0]                     # blue: beyond the top 2 -> other
    assert x[13].tolist() == [0, 0, 0, 1]                    # missing
    assert x[15].tolist() == [0, 0, 1, 0]                    # never seen in training -> other


def test_unseen_category_without_other_is_all_zero():
    table = tab(c=pa.array(["a", "b", "a", "b", "zzz"]), label=pa.array([0, 1, 0, 1, 0]))
    pre = fitted(table, rows=[0, 1, 2, 3])
    assert pre.feature_names == ["c=a", "c=b"]
    assert pre.transform(table)[4].tolist() == [0.0, 0.0]


def test_bool_imputes_the_mode_and_stays_zero_one():
    table = tab(f=pa.array([True, True, False, None, True]), label=pa.array([0, 1, 0, 1, 0]))
    pre = fitted(table)
    assert pre.transform(table)[:, 0].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]


def test_datetime_expands_to_parts():
    stamps = [dt.datetime(2021, 3, 1 + i, 6 * (i % 4)) for i in range(20)]
    table = tab(t=pa.array(stamps), label=pa.array([0, 1] * 10))
    pre = fitted(table)
    # the year and the month never change: dropped as constant
    assert pre.feature_names == ["t.day", "t.weekday", "t.hour", "t.days"]
    assert set(pre.dropped) == {"t.year", "t.month"}
    x = pre.transform(table)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-5)


def test_string_numbers_parse_with_junk_as_missing():
    values = [str(float(i)) for i in range(39)] + ["n/a?"]
    table = tab(s=pa.array(values), label=pa.array([0, 1] * 20))
    x = fitted(table).transform(table)
    assert np.isfinite(x).all()
    assert x[39, 0] == pytest.approx(x[19, 0], abs=1e-6) or x[39, 0] == pytest.approx(x[20, 0], abs=1e-6)


def test_labels_classification_and_regression():
    table = tab(a=pa.array(np.arange(40.0)), label=pa.array(["b", "a", None, "c"] * 10))
    pre = fitted(table, rows=np.arange(20))
    y = pre.encode_labels(table)
    assert y.dtype == np.int32
    assert y[:4].tolist() == [1, 0, -1, 2]
    assert pre.classes == ("a", "b", "c")
    reg = tab(a=pa.array(np.arange(40.0)), target=pa.array(np.linspace(0, 1, 40)))
    pre = fitted(reg)
    y = pre.encode_labels(reg, rows=[0, 39])
    assert y.dtype == np.float32 and y.tolist() == [0.0, 1.0]
    assert pre.y_mean == pytest.approx(0.5)


def test_to_dict_round_trip_and_new_file_of_the_same_schema():
    rng = np.random.default_rng(1)
    table = tab(a=pa.array(rng.normal(size=50)), c=pa.array(["x", "y"] * 25),
                t=pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in range(50)]),
                label=pa.array(rng.integers(0, 2, 50)))
    pre = fitted(table, rows=np.arange(40))
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert again.feature_names == pre.feature_names
    np.testing.assert_array_equal(again.transform(table), pre.transform(table))
    np.testing.assert_array_equal(again.encode_labels(table), pre.encode_labels(table))
    newer = tab(a=pa.array([0.5]), c=pa.array(["never seen"]), t=pa.array([dt.date(2022, 5, 5)]))
    assert again.transform(newer).shape == (1, pre.feature_dim)
    with pytest.raises(SchemaError, match="'c'"):
        again.transform(tab(a=pa.array([0.5]), t=pa.array([dt.date(2022, 5, 5)])))


def test_arrays_per_feature_and_label_column():
    rng = np.random.default_rng(2)
    x = rng.normal(5.0, 3.0, size=(200, 3))
    x[5, 1] = np.nan
    features = np.column_stack([x, np.arange(200) % 2])
    table = Table(source="x.npy", format="npy", features=features)
    schema = infer(table, label="f3")   # a bare array has no guessed label
    pre = Preprocessor.fit(table, schema, np.arange(150))
    out = pre.transform(table)
    assert out.shape == (200, 3) and pre.feature_names == ["f0", "f1", "f2"]
    np.testing.assert_allclose(out[:150].mean(axis=0), 0.0, atol=1e-6)
    assert np.isfinite(out).all()
    assert pre.encode_labels(table).tolist() == (np.arange(200) % 2).tolist()


def test_images_scaled_and_standardized_per_channel():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(20, 4, 4, 3), dtype=np.uint8)
    images[..., 2] = 7                                   # a flat channel stays finite
    table = Table(source="pics", format="images", features=images, labels=np.arange(20) % 2,
                  label_name="class", class_names=("a", "b"))
    pre = Preprocessor.fit(table, infer(table), np.arange(20))
    out = pre.transform(table)
    assert out.shape == (20, 48) and out.dtype == np.float32
    channels = out.reshape(20, 16, 3)
    np.testing.assert_allclose(channels[..., :2].mean(axis=(0, 1)), 0.0, atol=1e-5)
    np.testing.assert_allclose(channels[..., :2].std(axis=(0, 1)), 1.0, atol=1e-4)
    np.testing.assert_allclose(channels[..., 2], 0.0, atol=1e-6)
    assert pre.encode_labels(table).tolist() == (np.arange(20) % 2).tolist()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=4, max_size=60))
def test_numeric_output_is_finite_and_standardized(values):
    table = tab(a=pa.array(values, pa.float64()), label=pa.array([i % 2 for i in range(len(values))]))
    if all(v is None for v in values):   # a column missing in every row is ignored, whatever its type
        with pytest.raises(SchemaError, match="no feature columns"):
            infer(table)
        return
    schema = infer(table)
    if len({v for v in values if v is not None}) < 2:      # constant once the median fills the gaps
        with pytest.raises(SchemaError, match="no feature varies"):
            Preprocessor.fit(table, schema)
        return
    pre = Preprocessor.fit(table, schema)
    x = pre.transform(table).astype(np.float64)
    assert pre.feature_names == ["a"]
    assert np.isfinite(x).all()
    assert abs(x[:, 0].mean()) < 1e-3
    assert x[:, 0].std() == pytest.approx(1.0, rel=1e-3)
