"""Every Arrow and NumPy type read exactly or refused with a clear error (issue 9, defect 4).

Dates of any year and unit, zones, nanoseconds, byte order, float16, uint64, decimals,
durations, nested and dictionary columns, repeated names, JSON integers past 64 bits, a NUL
in a JSON key, a JSON array whose first record outgrows the estimate's sample, and seeds past
what MLX takes. The data files come from tests/corpus/type_cases.py.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from udl_core import UnifiedDataLoader
from udl_core.cli import main
from udl_core.errors import ConfigError
from udl_core.formats import read_table
from udl_core.temporal import datetime_parts, python_values
from udl_core.training.trainer import TrainConfig, train
from udl_core.values import MAX_SEED

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import type_cases as cases  # noqa: E402

sys.path.pop(0)

EPOCH = dt.datetime(1970, 1, 1)


def _made(make, tmp_path: Path, name: str) -> Path:
    make(tmp_path)
    return tmp_path / name


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error(code: int, err: str, *mentions: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and "Traceback" not in err, err
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], err
    for word in mentions:
        assert word in lines[-1], lines[-1]
    return lines[-1]


def _days(when: dt.datetime) -> float:
    delta = when - EPOCH
    return delta.days + delta.seconds / 86_400


# ---------------------------------------------------------------- dates and timestamps

FAR = [dt.datetime(1, 1, 1), dt.datetime(1500, 6, 1, 6), dt.datetime(1600, 1, 1),
       dt.datetime(9999, 12, 31, 23, 59, 59), dt.datetime(1969, 12, 31, 12)]


@pytest.mark.parametrize("kind", [pa.timestamp("s"), pa.timestamp("ms"), pa.timestamp("us"),
                                  pa.timestamp("us", "UTC"), pa.date32(), pa.date64()])
def test_datetime_parts_are_exact_for_years_1_to_9999(kind):
    values = [d.date() for d in FAR] if pa.types.is_date(kind) else FAR
    expected = [dt.datetime.combine(d, dt.time()) for d in values] if pa.types.is_date(kind) else FAR
    parts = datetime_parts(pa.chunked_array([pa.array(values[:2], kind), pa.array(values[2:] + [None], kind)]))
    assert parts["year"][:5].tolist() == [d.year for d in expected]
    assert parts["hour"][:5].tolist() == [d.hour for d in expected]
    assert parts["weekday"][:5].tolist() == [d.weekday() for d in expected]
    assert parts["days"][:5].tolist() == [_days(d) for d in expected]
    assert all(np.isnan(part[5]) for part in parts.values())


def test_nanoseconds_that_are_not_whole_microseconds():
    ns = np.array([1_600_000_000_000_000_123, -5], dtype=np.int64)
    parts = datetime_parts(pa.array(ns, pa.timestamp("ns")))
    assert parts["year"].tolist() == [2020, 1969]
    assert parts["days"][0] == 1_600_000_000 // 86_400 + (1_600_000_000 % 86_400 + 123e-9) / 86_400
    assert python_values(pa.array(ns, pa.timestamp("ns")))[0] == "2020-09-13T12:26:40.000000123"


def test_parquet_dates_of_any_year_through_the_cli(capsys, tmp_path):
    path = _made(cases.make_parquet_far_dates, tmp_path, "data.parquet")
    code, out, err = _cli(capsys, "batch", path, "--index", "0", "--batch-size", "40", "--val-fraction", "0",
                          "--json")
    assert code == 0, err
    batch = json.loads(out)
    days = dict(zip(batch["rows"], batch["raw"]["day"]))
    assert days[0].startswith("9999-12-31") and days[1].startswith("0001-01-01")
    assert "Traceback" not in err


def test_parquet_zones_become_utc_with_a_note(tmp_path):
    path = _made(cases.make_parquet_far_dates, tmp_path, "data.parquet")
    table = read_table(path)
    column = table.columns.column("at_us_paris")
    assert column.type == pa.timestamp("us")   # no zone left: the values are UTC
    assert column[4].as_py() == dt.datetime(2000, 1, 29, 13, 30)   # the instant, in UTC (14:30 in Paris)
    assert datetime_parts(column)["hour"][4] == 13
    assert any("converted to UTC: at_us_paris" in note for note in table.notes)
    assert datetime_parts(table.columns.column("day"))["year"][:4].tolist() == [9999, 1, 1500, 1600]


def test_dates_past_year_9999_become_missing_and_are_counted(tmp_path):
    path = _made(cases.make_arrow_dates_out_of_range, tmp_path, "data.arrow")
    table = read_table(path)
    assert table.columns.column("day").null_count == 2
    assert table.columns.column("at").null_count == 3
    assert table.columns.column("d64").null_count == 2
    assert "column 'day': 2 date(s) outside the years 1 to 9999 read as missing" in table.notes
    assert "column 'at': 3 date(s) outside the years 1 to 9999 read as missing" in table.notes
    table.columns.to_pylist()   # every value left is one Python can hold


def test_parquet_counts_out_of_range_dates_over_every_row_group(tmp_path):
    days = pa.array(np.array([3_652_000, 10_957] * 4, dtype=np.int32), pa.date32())
    pq.write_table(pa.table({"day": days, "x": np.arange(8.0)}), tmp_path / "d.parquet", row_group_size=2)
    table = read_table(tmp_path / "d.parquet")
    assert "column 'day': 4 date(s) outside the years 1 to 9999 read as missing" in table.notes


def test_parquet_int96_timestamps_of_any_year(tmp_path):
    stamps = pa.array([dt.datetime(9999, 12, 31), dt.datetime(1, 1, 1), dt.datetime(2000, 1, 1)], pa.timestamp("us"))
    pq.write_table(pa.table({"t": stamps, "x": [1.0, 2.0, 3.0]}), tmp_path / "spark.parquet",
                   use_deprecated_int96_timestamps=True)   # what Spark and Impala write
    assert read_table(tmp_path / "spark.parquet").columns.column("t").to_pylist() == stamps.to_pylist()


def test_pandas_nanoseconds_through_the_cli(capsys, tmp_path):
    path = _made(cases.make_parquet_pandas_nanoseconds, tmp_path, "data.parquet")
    code, out, err = _cli(capsys, "batch", path, "--index", "0", "--json")
    assert code == 0, err
    raw = json.loads(out)["raw"]["at"]
    assert all(value.startswith("20") and len(value) == len("2020-09-13T12:26:40.000000123") for value in raw)
    assert read_table(path).columns.column("at").type == pa.timestamp("ns")


def test_csv_dates_of_any_year_and_zones(tmp_path):
    path = _made(cases.make_csv_far_dates, tmp_path, "data.csv")
    loader = UnifiedDataLoader(path, val_fraction=0).load()
    assert "timezone-aware columns converted to UTC: at" in loader.table.notes
    parts = datetime_parts(loader.table.columns.column("day"))
    assert parts["year"][:4].tolist() == [9999, 1, 1500, 1600]
    assert np.isfinite(loader.processed_data.x).all()


def test_json_dates_with_offsets_read_as_utc(tmp_path):
    path = _made(cases.make_json_far_dates, tmp_path, "data.json")
    table = read_table(path)
    at = table.columns.column("at")
    assert at.type == pa.timestamp("s") and at[0].as_py() == dt.datetime(9999, 12, 31, 10)
    assert "timezone-aware columns converted to UTC: at" in table.notes


# ---------------------------------------------------------------- NumPy dtypes


def test_big_endian_npy_reads_as_native(tmp_path):
    path = _made(cases.make_npy_big_endian, tmp_path, "data.npy")
    table = read_table(path)
    assert table.features.dtype == np.float64 and table.features.dtype.isnative
    np.testing.assert_array_equal(table.features, np.load(path))
    assert any("other byte order (>f8)" in note for note in table.notes)
    assert not any("memory-mapped" in note for note in table.notes)


def test_big_endian_and_float16_npz_train(capsys, tmp_path):
    for make, name in ((cases.make_npz_big_endian, "be"), (cases.make_npz_float16, "f16")):
        folder = tmp_path / name
        folder.mkdir()
        make(folder)
        code, out, err = _cli(capsys, "train", folder / "data.npz", "--epochs", "1", "--json")
        assert code == 0, err
        assert json.loads(out.splitlines()[-1])["event"] == "done"
    loader = UnifiedDataLoader(tmp_path / "f16" / "data.npz").load()
    assert loader.classes == ("0", "1") and loader.table.features.dtype == np.float32


def test_labels_file_big_endian_beside_float16_features(capsys, tmp_path):
    x, y = cases._xy()
    np.save(tmp_path / "X.npy", np.stack([x, -x], axis=1).astype(np.float16))
    np.save(tmp_path / "y.npy", y.astype(">u8"))
    code, out, err = _cli(capsys, "inspect", tmp_path / "X.npy", "--labels", tmp_path / "y.npy", "--json")
    assert code == 0, err
    assert json.loads(out)["classes"] == ["0", "1"]


def test_uint64_past_2_63_keeps_its_classes(capsys, tmp_path):
    path = _made(cases.make_npz_uint64, tmp_path, "data.npz")
    code, out, err = _cli(capsys, "inspect", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["classes"] == [str(2**63), str(2**63 + 1)]
    code, _, err = _cli(capsys, "train", path, "--epochs", "1")
    assert code == 0, err
    assert any("past 2**53 become the nearest float64" in note for note in read_table(path).notes)


def test_record_arrays_big_endian_float16_and_uint64_fields(tmp_path):
    rows = 20
    records = np.zeros(rows, dtype=[("a", ">f8"), ("b", "<f2"), ("id", "<u8"), ("label", ">i4")])
    records["a"] = np.arange(rows)
    records["b"] = np.arange(rows) % 3
    records["id"] = np.uint64(2**64 - 1) - np.arange(rows, dtype=np.uint64)
    records["label"] = np.arange(rows) % 2
    np.save(tmp_path / "records.npy", records)
    columns = read_table(tmp_path / "records.npy").columns
    assert columns.column("a").to_pylist() == list(map(float, range(rows)))
    assert columns.column("id").to_pylist()[0] == 2**64 - 1   # not wrapped to -1
    assert columns.column("label").to_pylist()[:3] == [0, 1, 0]


@pytest.mark.parametrize("dtype", ["c8", "M8[D]", "m8[s]", "V4"])
def test_numpy_dtypes_without_numbers_are_refused_by_name(capsys, tmp_path, dtype):
    np.save(tmp_path / "odd.npy", np.zeros((10, 2), dtype))
    code, _, err = _cli(capsys, "inspect", tmp_path / "odd.npy")
    _one_error(code, err, "odd.npy", str(np.dtype(dtype)))


# ---------------------------------------------------------------- Arrow types


def test_arrow_every_type_handled(capsys, tmp_path):
    path = _made(cases.make_arrow_every_type, tmp_path, "data.arrow")
    code, out, err = _cli(capsys, "inspect", path, "--json")
    assert code == 0, err
    columns = {c["name"]: c for c in json.loads(out)["columns"]}
    assert columns["price"]["dtype"] == "double" and columns["price"]["kind"] == "numeric"
    assert columns["huge"]["dtype"] == "double"
    assert columns["wait"]["kind"] == "numeric"
    assert columns["colour"]["kind"] == "categorical" and columns["name"]["kind"] == "categorical"
    assert columns["half"]["dtype"] == "double"
    for ignored in ("tags", "point", "attrs", "blob"):
        assert columns[ignored]["role"] == "ignore", ignored
    assert columns["nothing"]["missing"] == cases.ROWS and columns["nothing"]["role"] == "ignore"   # no values
    assert columns["runs"]["kind"] == "numeric" and columns["text_view"]["kind"] == "categorical"
    for ignored in ("bytes_view", "list_view", "clock_ns"):
        assert columns[ignored]["role"] == "ignore", ignored
    code, out, err = _cli(capsys, "batch", path, "--index", "0", "--batch-size", "40", "--val-fraction", "0",
                          "--json")
    assert code == 0, err
    batch = json.loads(out)
    raw = {name: dict(zip(batch["rows"], values)) for name, values in batch["raw"].items()}
    assert raw["clock_ns"][3] == "00:00:03.000000003" and raw["lag_ns"][3] == 3.000000003
    assert raw["runs"][0] == 1.5 and raw["bytes_view"][0] == "6162"
    code, _, err = _cli(capsys, "train", path, "--epochs", "1")
    assert code == 0, err


@pytest.mark.parametrize("make, name", [(cases.make_parquet_duplicate_names, "data.parquet"),
                                        (cases.make_arrow_duplicate_names, "data.arrow")])
def test_repeated_column_names_are_renamed(tmp_path, make, name):
    table = read_table(_made(make, tmp_path, name))
    assert table.columns.column_names == ["x", "x_3", "x_2", "label"]
    assert "repeated column names renamed (x, x_2, ...): x" in table.notes
    loader = UnifiedDataLoader(tmp_path / name).load()
    assert loader.feature_names == ["x", "x_3", "x_2"]


def test_csv_repeated_header_names_are_renamed(tmp_path):
    (tmp_path / "d.csv").write_text("x,x,label\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(20)))
    assert read_table(tmp_path / "d.csv").columns.column_names == ["x", "x_2", "label"]


def test_integers_past_2_53_in_csv(capsys, tmp_path):
    rows = "".join(f"{2**60 + i},{i % 3},{2**62 + i % 2}\n" for i in range(30))
    (tmp_path / "big.csv").write_text("id,x,label\n" + rows)
    code, out, err = _cli(capsys, "inspect", tmp_path / "big.csv", "--json")
    assert code == 0, err
    assert json.loads(out)["classes"] == [str(2**62), str(2**62 + 1)]


# ---------------------------------------------------------------- JSON


@pytest.mark.parametrize("make, name", [(cases.make_json_ints_past_64_bits, "data.json"),
                                        (cases.make_jsonl_ints_past_64_bits, "data.jsonl")])
def test_json_integers_past_64_bits_read_as_float64(tmp_path, make, name):
    table = read_table(_made(make, tmp_path, name))
    ids = table.columns.column("id")
    assert ids.type == pa.float64()
    assert ids[0].as_py() in (float(-(2**63) - 1), float(2**64))


def test_json_array_whose_first_record_outgrows_the_sample(capsys, tmp_path):
    path = _made(cases.make_json_big_first_record, tmp_path, "data.json")
    code, out, err = _cli(capsys, "inspect", path, "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 130_001


@pytest.mark.parametrize("make, name", [(cases.make_json_nul_in_key, "data.json"),
                                        (cases.make_jsonl_nul_in_key, "data.jsonl")])
def test_json_nul_in_a_key_prints_no_rust_panic(capfd, tmp_path, make, name):
    path = _made(make, tmp_path, name)
    code = main(["inspect", str(path), "--json"])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "panicked" not in err and "backtrace" not in err, err
    assert "a\x00b" in [c["name"] for c in json.loads(out)["columns"]]


# ---------------------------------------------------------------- seeds


@pytest.mark.parametrize("seed", [str(2**64), "-1", str(2**128)])
@pytest.mark.parametrize("command", ["batch", "train", "check"])
def test_seed_out_of_range_is_a_usage_error(capsys, tmp_path, seed, command):
    (tmp_path / "d.csv").write_text("x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    extra = ["--index", "0"] if command == "batch" else []
    code, _, err = _cli(capsys, command, tmp_path / "d.csv", *extra, f"--seed={seed}")
    _one_error(code, err, "d.csv", "seed")


def test_largest_seed_trains(capsys, tmp_path):
    (tmp_path / "d.csv").write_text("x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    code, _, err = _cli(capsys, "train", tmp_path / "d.csv", "--epochs", "1", "--seed", str(MAX_SEED))
    assert code == 0, err


def test_seed_range_in_the_api(tmp_path):
    (tmp_path / "d.csv").write_text("x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    with pytest.raises(ConfigError, match="seed"):
        UnifiedDataLoader(tmp_path / "d.csv", seed=2**64)
    loader = UnifiedDataLoader(tmp_path / "d.csv").load()
    with pytest.raises(ConfigError, match="seed"):
        next(train(loader, TrainConfig(epochs=1, seed=2**64, device="cpu")))
