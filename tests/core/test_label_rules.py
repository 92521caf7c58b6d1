"""Row names and the default label, the same in CSV, Parquet and JSON Lines (issue 10).

Each shape is written by the test in the three formats and read through the command line
(`udl inspect --json`, `batch`, `check`, `train`) and the Python API.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from udl_core.cli import main
from udl_core.errors import SchemaError
from udl_core.loader import UnifiedDataLoader
from udl_core.schema import Schema, infer
from udl_core.table import Table

FORMATS = ("csv", "parquet", "jsonl")
N = 60


def write(table: pa.Table, folder: Path, name: str, fmt: str) -> Path:
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        pacsv.write_csv(table, path)
    elif fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "feather":
        feather.write_feather(table, path)
    elif fmt == "json":
        path.write_text(json.dumps(table.to_pylist(), default=str))
    else:
        with open(path, "w") as handle:
            for record in table.to_pylist():
                handle.write(json.dumps(record, default=str) + "\n")
    return path


def inspect(capsys, *argv) -> dict:
    code = main(["inspect", *map(str, argv), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def error_line(capsys, *argv) -> str:
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def roles(report: dict) -> dict[str, str]:
    return {c["name"]: c["role"] for c in report["columns"]}


def measurements(n: int = N, seed: int = 0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    return {"length": rng.normal(40, 5, n).round(2).tolist(), "depth": rng.normal(17, 2, n).round(2).tolist(),
            "species": [["Adelie", "Gentoo", "Chinstrap"][i % 3] for i in range(n)]}


# the default label ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_penguins_year_last_is_not_the_label(tmp_path, capsys, fmt):
    data = measurements() | {"sex": [["male", "female"][i % 2] for i in range(N)],
                             "year": [2007 + i % 3 for i in range(N)]}
    report = inspect(capsys, write(pa.table(data), tmp_path, "penguins", fmt))
    assert report["label"] == "sex" and report["label_guessed"] is True
    assert roles(report)["year"] == "feature"
    guess = [w for w in report["warnings"] if w.startswith("label: guessed 'sex'")]
    assert guess and "'year' (years)" in guess[0] and "--label" in guess[0]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ids", [list(range(1000, 1000 + N)), [f"P{i:04d}" for i in range(N)]])
def test_an_id_column_last_is_not_the_label(tmp_path, capsys, fmt, ids):
    data = measurements() | {"id": list(np.random.default_rng(1).permutation(ids).tolist())}
    report = inspect(capsys, write(pa.table(data), tmp_path, "ids", fmt))
    assert report["label"] == "species" and report["label_guessed"] is True
    assert any("'id' (an identifier" in w for w in report["warnings"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_unnamed_unique_integers_last_are_an_identifier(tmp_path, capsys, fmt):
    data = measurements() | {"PassengerNo": np.random.default_rng(2).permutation(N).tolist()}
    report = inspect(capsys, write(pa.table(data), tmp_path, "serial", fmt))
    assert report["label"] == "species"


@pytest.mark.parametrize("fmt", FORMATS)
def test_free_text_comments_last_is_not_the_label(tmp_path, capsys, fmt):
    data = measurements() | {"Comments": [f"Nest {i} observed on a sunny morning, egg count {i % 4}"
                                          for i in range(N)]}
    report = inspect(capsys, write(pa.table(data), tmp_path, "comments", fmt))
    assert report["label"] == "species" and report["label_guessed"] is True
    assert roles(report)["Comments"] == "ignore"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_datetime_last_is_not_the_label(tmp_path, capsys, fmt):
    start = dt.datetime(2021, 3, 1, 8, 30)
    data = measurements() | {"Date": [start + dt.timedelta(days=i) for i in range(N)]}
    report = inspect(capsys, write(pa.table(data), tmp_path, "dated", fmt))
    assert report["label"] == "species"
    assert roles(report)["Date"] == "feature"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_named_label_is_not_a_guess(tmp_path, capsys, fmt):
    data = {"label": [i % 2 for i in range(N)]} | measurements()
    path = write(pa.table(data), tmp_path, "named", fmt)
    report = inspect(capsys, path)
    assert report["label"] == "label" and report["label_guessed"] is False
    assert not any(w.startswith("label: guessed") for w in report["warnings"])
    given = inspect(capsys, path, "--label", "species")
    assert given["label"] == "species" and given["label_guessed"] is False


def test_an_explicit_label_is_not_second_guessed(tmp_path, capsys):
    data = measurements() | {"year": [2007 + i % 3 for i in range(N)]}
    report = inspect(capsys, write(pa.table(data), tmp_path, "years", "csv"), "--label", "year")
    assert report["label"] == "year" and report["label_guessed"] is False and report["task"] == "classification"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_column_can_be_the_label(tmp_path, capsys, fmt):
    data = {"id": list(range(N)), "when": [dt.datetime(2020, 1, 1) + dt.timedelta(hours=i) for i in range(N)],
            "k": [7] * N}
    line = error_line(capsys, "inspect", write(pa.table(data), tmp_path, "nothing", fmt))
    assert f"nothing.{fmt}" in line and "no column can be the label" in line and "--label" in line
    assert "'id' (an identifier" in line and "'when' (datetimes)" in line and "'k' (one value)" in line


def test_schema_carries_label_guessed_and_old_dicts_load():
    table = Table("t.csv", "csv", columns=pa.table({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "x", "y"]}))
    schema = infer(table)
    assert schema.label == "b" and schema.label_guessed
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
    old = schema.to_dict()
    del old["label_guessed"]
    assert Schema.from_dict(old).label_guessed is False
    assert infer(table, label="b").label_guessed is False


# a bare array ---------------------------------------------------------------------------
def test_a_bare_npy_has_no_guessed_label(tmp_path, capsys):
    path = tmp_path / "digits_X.npy"
    np.save(path, np.random.default_rng(0).normal(size=(40, 5)))
    line = error_line(capsys, "inspect", path)
    assert "digits_X.npy" in line and "--labels" in line and "--label" in line
    with pytest.raises(SchemaError):
        UnifiedDataLoader(path).load()
    np.save(tmp_path / "digits_y.npy", np.arange(40) % 2)
    assert inspect(capsys, path, "--labels", tmp_path / "digits_y.npy")["label_guessed"] is False
    assert inspect(capsys, path, "--label", "f4")["label"] == "f4"


# nearly as many classes as rows ------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_class_per_row_is_refused_with_the_reason(tmp_path, capsys, fmt):
    data = measurements() | {"stamp": [f"2012/01/{1 + i % 28:02d} {i % 24:02d}:00 #{i}" for i in range(N)]}
    path = write(pa.table(data), tmp_path, "stamps", fmt)
    line = error_line(capsys, "inspect", path, "--label", "stamp")
    assert "'stamp'" in line and f"{N} distinct values in {N} labelled rows" in line
    assert "under 2 rows per class" in line


def test_numeric_labels_with_a_value_per_row(tmp_path, capsys):
    data = measurements() | {"count": [i * 3 + i % 2 for i in range(N)]}
    path = write(pa.table(data), tmp_path, "counts", "csv")
    report = inspect(capsys, path, "--label", "count")
    assert report["task"] == "regression"
    assert any("'count'" in w and "regression target" in w and "under 2 rows per class" in w
               for w in report["warnings"])
    line = error_line(capsys, "inspect", path, "--label", "count", "--task", "classification")
    assert "under 2 rows per class" in line


def test_two_classes_in_four_rows_are_fine():
    table = Table("xor.csv", "csv", columns=pa.table({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1], "y": [0, 1, 1, 0]}))
    assert infer(table).classes == ("0", "1")


# row names ------------------------------------------------------------------------------
def r_export(folder: Path, fmt: str, header: str, names: list) -> Path:
    data = measurements()
    if fmt == "csv":
        path = folder / "r.csv"
        lines = [",".join(f'"{c}"' for c in [header, *data])]
        lines += [",".join([f'"{names[i]}"', str(data["length"][i]), str(data["depth"][i]),
                            f'"{data["species"][i]}"']) for i in range(N)]
        path.write_text("\n".join(lines) + "\n")
        return path
    return write(pa.table({header: names} | data), folder, "r", fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("header", ["", "rownames", "Unnamed: 0", "__index_level_0__", "index", "ROWNAMES"])
@pytest.mark.parametrize("kind", ["numbers", "r_labels", "sorted_r_labels", "names"])
def test_row_names_are_ignored_with_a_warning(tmp_path, capsys, fmt, header, kind):
    names = {"numbers": list(range(N)), "r_labels": [str(i + 1) for i in range(N)],
             "sorted_r_labels": [str(i) for i in np.random.default_rng(4).permutation(N) + 1],
             "names": [f"Mazda RX{i}" for i in range(N)]}[kind]
    report = inspect(capsys, r_export(tmp_path, fmt, header, names))
    assert report["features"] == ["length", "depth"]
    assert report["label"] == "species"
    ignored = [c["name"] for c in report["columns"] if c["role"] == "ignore"]
    assert len(ignored) == 1
    assert any(f"column '{ignored[0]}' holds row names" in w for w in report["warnings"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_row_names_are_the_same_in_every_format(tmp_path, capsys, fmt):
    one = UnifiedDataLoader(r_export(tmp_path, fmt, "", [str(i + 1) for i in range(N)]), seed=3).load()
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    two = UnifiedDataLoader(r_export(csv_folder, "csv", "rownames", [str(i + 1) for i in range(N)]), seed=3).load()
    assert one.feature_names == two.feature_names == ["length", "depth"]
    np.testing.assert_array_equal(one.get_batch(0).x, two.get_batch(0).x)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_sorted_feature_with_a_real_header_is_kept(tmp_path, capsys, fmt):
    data = {"time": list(range(1, N + 1))} | measurements()
    report = inspect(capsys, write(pa.table(data), tmp_path, "survival", fmt))
    assert report["features"] == ["time", "length", "depth"]
    assert not any("row names" in w for w in report["warnings"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_index_that_is_not_row_names_is_kept(tmp_path, capsys, fmt):
    data = {"index": [float(i % 7) for i in range(N)]} | measurements()
    report = inspect(capsys, write(pa.table(data), tmp_path, "prices", fmt))
    assert "index" in report["features"]
    data = {"": [100 + (i * 7919 % 97) / 10 for i in range(N)]} | measurements()   # fractions in no order
    report = inspect(capsys, write(pa.table(data), tmp_path, "unnamed", fmt))
    assert len(report["features"]) == 3


def test_a_headerless_first_column_is_data(tmp_path, capsys):
    path = tmp_path / "plain.csv"
    path.write_text("".join(f"{i},{i % 5 * 1.5},{'ab'[i % 2]}\n" for i in range(N)))
    report = inspect(capsys, path)
    assert report["features"] == ["column_1", "column_2"]


def test_naming_a_row_name_column_wins(tmp_path, capsys):
    path = r_export(tmp_path, "csv", "rownames", list(range(N)))
    assert "rownames" in inspect(capsys, path, "--numeric", "rownames")["features"]
    assert inspect(capsys, path, "--label", "rownames")["label"] == "rownames"


@pytest.mark.parametrize("fmt", ["json", "feather"])
@pytest.mark.parametrize("header", ["", "rownames", "Unnamed: 0", "__index_level_0__"])
def test_row_names_in_json_and_feather_too(tmp_path, capsys, fmt, header):
    report = inspect(capsys, write(pa.table({header: list(range(N))} | measurements()), tmp_path, "r", fmt))
    assert report["features"] == ["length", "depth"] and report["label"] == "species"
    assert any(f"column '{header}' holds row names" in w for w in report["warnings"])


def test_check_no_longer_blames_a_row_name_for_a_sorted_label(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n = 200
    lines = ['"rownames","noise","group"']
    lines += [f'"{i + 1}",{rng.normal():.4f},"{"early" if i < n // 2 else "late"}"' for i in range(n)]
    path = tmp_path / "sorted.csv"
    path.write_text("\n".join(lines) + "\n")
    main(["check", str(path), "--json"])
    payload = json.loads(capsys.readouterr().out)
    single = next(c for c in payload["checks"] if c["name"] == "leakage.single_feature")
    assert single["status"] != "fail" and "rownames" not in single["reason"]
    assert payload["label_guessed"] is True
    assert any("holds row names" in w for w in payload["warnings"])


# every command says it ------------------------------------------------------------------
def test_batch_check_and_train_print_the_warnings(tmp_path, capsys):
    path = r_export(tmp_path, "csv", "", [str(i + 1) for i in range(N)])
    for argv in (["batch", path], ["batch", path, "--json"], ["check", path], ["train", path, "--epochs", "1"],
                 ["train", path, "--epochs", "1", "--json"]):
        main([*map(str, argv)])
        out, err = capsys.readouterr()
        said = out + err
        assert "label: guessed 'species'" in said, argv
        assert "column 'column_1' holds row names" in said, argv


# one cause, one message -------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_fertility_shape_loads_the_same_in_every_format(tmp_path, capsys, fmt):
    rng = np.random.default_rng(9)
    data = {"Country Name": [f"Country {i}" for i in range(N)], "Country Code": [f"C{i:02d}" for i in range(N)],
            "1960": rng.normal(5, 1, N).round(3).tolist(), "2012": rng.normal(3, 1, N).round(3).tolist(),
            "2013": pa.nulls(N, pa.float64())}
    path = write(pa.table(data), tmp_path, "fertility", fmt)
    report = inspect(capsys, path)
    assert report["label"] == "2012" and report["task"] == "regression" and report["features"] == ["1960"]
    assert roles(report)["2013"] == "ignore"
    assert any("column '2013' has no values" in w for w in report["warnings"])
    line = error_line(capsys, "inspect", path, "--label", "2013")
    assert "the label column '2013' has no values" in line
