"""schema.infer on Tables built directly (no reader involved)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest

from udl_core.errors import SchemaError
from udl_core.schema import Schema, infer, label_strings
from udl_core.table import Table


def tab(**columns) -> Table:
    return Table(source="data.csv", format="csv", columns=pa.table(columns))


def kinds(schema: Schema) -> dict[str, tuple[str, str]]:
    return {c.name: (c.kind, c.role) for c in schema.columns}


def test_kinds_missing_and_distinct():
    n = 120
    table = tab(
        num=pa.array([float(i) if i % 10 else None for i in range(n)]),
        flag=pa.array([i % 2 == 0 for i in range(n)]),
        color=pa.array([["red", "green", None][i % 3] for i in range(n)]),
        when=pa.array([dt.datetime(2020, 1, 1) + dt.timedelta(hours=i) for i in range(n)]),
        note=pa.array([f"free text number {i}" for i in range(n)]),
        label=pa.array([i % 3 for i in range(n)]),
    )
    schema = infer(table)
    assert kinds(schema) == {
        "num": ("numeric", "feature"), "flag": ("bool", "feature"), "color": ("categorical", "feature"),
        "when": ("datetime", "feature"), "note": ("text", "ignore"), "label": ("numeric", "label"),
    }
    assert schema.column("num").missing == 12
    assert schema.column("color").missing == 40
    assert schema.column("color").distinct == 2
    assert schema.column("num").dtype == "double"
    assert schema.features == ["num", "flag", "color", "when"]
    assert any("'note'" in w and "free text" in w for w in schema.warnings)


def test_mostly_numeric_strings_are_numeric_and_junk_counts_missing():
    values = [str(i * 0.5) for i in range(99)] + ["oops"]
    schema = infer(tab(x=pa.array(values), label=pa.array([i % 2 for i in range(100)])))
    info = schema.column("x")
    assert info.kind == "numeric"
    assert info.missing == 1
    assert any("'x'" in w and "1 value" in w for w in schema.warnings)


def test_mixed_strings_below_threshold_stay_categorical_unless_forced():
    values = ["1", "2", "a", "b"] * 10
    labels = pa.array([0, 1] * 20)
    assert infer(tab(x=pa.array(values), label=labels)).column("x").kind == "categorical"
    forced = infer(tab(x=pa.array(values), label=labels), numeric=["x"]).column("x")
    assert forced.kind == "numeric" and forced.missing == 20


def test_categorical_override_on_integers_and_high_cardinality_warning():
    table = tab(code=pa.array(list(range(100)) * 2), label=pa.array([0, 1] * 100))
    schema = infer(table, categorical=["code"], max_categories=10)
    assert schema.column("code").kind == "categorical"
    assert any("100 categories" in w and "code=other" in w for w in schema.warnings)


@pytest.mark.parametrize(("names", "expected"), [
    (["a", "b", "Target"], "Target"),
    (["Y", "a", "b"], "Y"),
    (["a", "CLASS", "b"], "CLASS"),
    (["a", "b", "c"], "c"),
])
def test_default_label(names, expected):
    table = tab(**{name: pa.array([0, 1, 0, 1]) for name in names})
    assert infer(table).label == expected


def test_label_argument_wins_and_unknown_label_lists_columns():
    table = tab(a=pa.array([1.0, 2.0, 3.0]), label=pa.array([0, 1, 0]), other=pa.array([1, 2, 3]))
    assert infer(table, label="a").label == "a"
    with pytest.raises(SchemaError) as info:
        infer(table, label="nope")
    message = str(info.value)
    assert message.startswith("data.csv: ") and "'nope'" in message and "a, label, other" in message


def test_unknown_override_columns_raise():
    table = tab(a=pa.array([1.0, 2.0]), label=pa.array([0, 1]))
    for key in ("ignore", "categorical", "numeric"):
        with pytest.raises(SchemaError, match="'zzz'"):
            infer(table, **{key: ["zzz"]})


def test_all_missing_label_is_an_error_and_some_missing_are_counted():
    with pytest.raises(SchemaError, match="no values"):
        infer(tab(a=pa.array([1.0, 2.0]), label=pa.array([None, None], pa.string())))
    schema = infer(tab(a=pa.array([1.0, 2.0, 3.0, 4.0]), label=pa.array(["x", None, "y", "x"])))
    assert schema.label_missing == 1
    assert any("1 row(s)" in w for w in schema.warnings)
    assert schema.class_counts == {"x": 2, "y": 1}


def test_task_rules():
    n = 400
    rng = np.random.default_rng(0)
    features = pa.array(rng.normal(size=n))
    assert infer(tab(a=features, label=pa.array(["cat", "dog"] * 200))).task == "classification"
    assert infer(tab(a=features, label=pa.array(rng.normal(size=n)))).task == "regression"
    assert infer(tab(a=features, label=pa.array(rng.integers(0, 5, n)))).task == "classification"
    assert infer(tab(a=features, label=pa.array(rng.integers(0, 300, n)))).task == "regression"
    # whole floats with few values are classes (JSON often writes 1.0 for 1)
    whole = infer(tab(a=features, label=pa.array(rng.integers(0, 3, n).astype(float))))
    assert whole.task == "classification" and whole.classes == ("0", "1", "2")
    assert infer(tab(a=features, label=pa.array([True, False] * 200))).task == "classification"
    forced = infer(tab(a=features, label=pa.array(rng.integers(0, 5, n))), task="regression")
    assert forced.task == "regression" and forced.classes == ()
    with pytest.raises(SchemaError, match="regression target must be numeric"):
        infer(tab(a=features, label=pa.array(["cat", "dog"] * 200)), task="regression")


def test_classes_sort_numbers_numerically():
    schema = infer(tab(a=pa.array(np.arange(60.0)), label=pa.array([10, 2, 1] * 20)))
    assert schema.classes == ("1", "2", "10")
    assert schema.class_counts == {"1": 20, "2": 20, "10": 20}


def test_datetime_label_is_refused():
    table = tab(a=pa.array([1.0, 2.0]), label=pa.array([dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1)]))
    with pytest.raises(SchemaError, match="datetime"):
        infer(table)


def test_constant_column_is_reported():
    schema = infer(tab(a=pa.array([1.0, 2.0, 3.0]), k=pa.array([7, 7, 7]), label=pa.array([0, 1, 0])))
    assert any("'k'" in w and "same value" in w for w in schema.warnings)


def test_only_label_column_is_an_error():
    with pytest.raises(SchemaError, match="no feature columns"):
        infer(tab(label=pa.array([0, 1, 0])))


def test_array_table_has_no_guessed_label_but_takes_a_named_column():
    x = np.column_stack([np.arange(40.0), np.arange(40.0) * 2, np.arange(40) % 2])
    with pytest.raises(SchemaError, match=r"no labels.*--labels.*--label"):
        infer(Table(source="x.npy", format="npy", features=x))
    schema = infer(Table(source="x.npy", format="npy", features=x), label="f2")
    assert schema.layout == "array" and not schema.label_guessed
    assert schema.label == "f2"
    assert schema.features == ["f0", "f1"]
    assert schema.task == "classification"


def test_array_table_with_labels_and_images():
    x = np.zeros((30, 4), dtype=np.float32)
    x[:, 0] = np.arange(30)
    schema = infer(Table(source="x.npy", format="npy", features=x, labels=np.arange(30) % 3))
    assert schema.label == "label" and schema.classes == ("0", "1", "2")
    assert schema.features == ["f0", "f1", "f2", "f3"]
    images = Table(source="pics", format="images", features=np.zeros((6, 8, 8, 3), np.uint8),
                   labels=np.array([0, 0, 1, 1, 2, 2]), label_name="class", class_names=("cat", "dog", "emu"))
    schema = infer(images)
    assert schema.layout == "image" and schema.label == "class"
    assert schema.classes == ("cat", "dog", "emu")
    assert schema.class_counts == {"cat": 2, "dog": 2, "emu": 2}
    assert [c.kind for c in schema.columns] == ["tensor", "categorical"]


def test_schema_round_trips_through_json():
    schema = infer(tab(a=pa.array([1.0, None, 3.0, 4.0]), label=pa.array(["x", "y", "x", "y"])))
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema


def test_label_strings_treat_whole_floats_like_integers():
    assert label_strings(pa.array([1.0, 2.0, None])).to_pylist() == ["1", "2", None]
    assert label_strings(pa.array([1, 2])).to_pylist() == ["1", "2"]
    assert label_strings(np.array([0.5, np.nan])).to_pylist() == ["0.5", None]
