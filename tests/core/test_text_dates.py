"""Dates written as text (issue 10): each common form read as a datetime in CSV, JSON Lines and
Parquet, the month-first warning, the two-digit-year pivot, garbage counted, numbers kept."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from udl_core import UnifiedDataLoader
from udl_core.cli import main
from udl_core.dates import parse_text_dates
from udl_core.formats.columnar import iter_parquet_batches
from udl_core.formats.delimited import iter_record_batches

# form -> (values written, the first value's datetime)
FORMS = {
    "slashes ISO": (["2012/01/01", "2012/02/03", "2012/03/05"], datetime(2012, 1, 1)),
    "dots ISO": (["2012.01.01", "2012.02.03", "2012.03.05"], datetime(2012, 1, 1)),
    "spaces ISO": (["2012 01 01", "2012 02 03", "2012 03 05"], datetime(2012, 1, 1)),
    "time without seconds": (["2010/01/01 00:00", "2010/01/02 13:30", "2010/01/03 23:59"], datetime(2010, 1, 1)),
    "time with seconds": (["2010/01/01 00:00:00", "2010/01/02 13:30:05", "2010/01/03 23:59:59"],
                          datetime(2010, 1, 1)),
    "times and dates alone": (["2010/01/01 06:00", "2010/01/02", "2010/01/03 23:59"], datetime(2010, 1, 1, 6)),
    "day first": (["17-08-1984", "01-02-1985", "28-12-1986"], datetime(1984, 8, 17)),
    "two-digit day first": (["25/11/63", "01/02/05", "31/12/99"], datetime(1963, 11, 25)),
    "month name dashes": (["Jan-1-1995", "Feb-14-1996", "dec-31-1997"], datetime(1995, 1, 1)),
    "month name spaces": (["Jan 1 2000", "February 2 2001", "MAR 3 2002"], datetime(2000, 1, 1)),
    "month first": (["12/16/2005", "1/2/2006", "3/4/2007"], datetime(2005, 12, 16)),
    "quarters": (["1974Q1", "1974Q2", "1974Q4"], datetime(1974, 1, 1)),
    "year month name": (["1987 Jan", "1987 Feb", "1988 Mar"], datetime(1987, 1, 1)),
    "month name year": (["Jan 1987", "Feb 1987", "Mar 1988"], datetime(1987, 1, 1)),
    "ISO months": (["1949-02", "1949-03", "1950-01"], datetime(1949, 2, 1)),
    "12-hour times": (["12/16/2005 10:30 PM", "12/17/2005 1:05 am", "12/18/2005 12:00 PM"],
                      datetime(2005, 12, 16, 22, 30)),
}


def rows(values: list[str], n: int = 12) -> list[tuple[str, float]]:
    return [(values[i % len(values)], float(i) * 1.5) for i in range(n)]


def write_csv(path: Path, values: list[str], n: int = 12) -> Path:
    path.write_text("when,value\n" + "".join(f"{d},{v}\n" for d, v in rows(values, n)))
    return path


def write_jsonl(path: Path, values: list[str], n: int = 12) -> Path:
    path.write_text("".join(json.dumps({"when": d, "value": v}) + "\n" for d, v in rows(values, n)))
    return path


def write_parquet(path: Path, values: list[str], n: int = 12) -> Path:
    data = rows(values, n)
    pq.write_table(pa.table({"when": pa.array([d for d, _ in data], pa.string()),
                             "value": [v for _, v in data]}), path)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_in_a_csv_is_a_datetime_feature(tmp_path, form):
    values, first = FORMS[form]
    loader = UnifiedDataLoader(write_csv(tmp_path / "dates.csv", values), seed=0).load()
    assert loader.schema.column("when").kind == "datetime"
    assert loader.schema.label == "value" and "when" in loader.schema.features
    assert loader.table.columns.column("when")[0].as_py() == first
    assert any(name.startswith("when.") for name in loader.feature_names)
    assert any(form_note.startswith("column 'when': text dates like") for form_note in loader.table.notes)


def test_the_same_file_gives_the_same_features_in_csv_json_lines_and_parquet(tmp_path):
    values = ["12/16/2005", "1/2/2006", "3/4/2007", "7/30/2008"]
    loaders = [UnifiedDataLoader(write(tmp_path / name, values), seed=0).load()
               for write, name in ((write_csv, "d.csv"), (write_jsonl, "d.jsonl"), (write_parquet, "d.parquet"))]
    for loader in loaders:
        assert loader.schema.column("when").kind == "datetime", loader.table.format
        assert loader.table.columns.column("when").type == pa.timestamp("s")
    first = loaders[0]
    for other in loaders[1:]:
        assert other.feature_names == first.feature_names
        np.testing.assert_array_equal(other.get_batch(0).x, first.get_batch(0).x)


def test_two_column_date_value_file_trains_from_the_command_line(tmp_path, capsys):
    days = [f"{1 + i % 12}/{1 + i % 28}/{1950 + i}" for i in range(80)]   # one date per row: free text before
    path = write_csv(tmp_path / "series.csv", days, n=80)
    code, out, err = run(capsys, "train", path, "--epochs", "1", "--device", "cpu", "--json")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [e for e in events if e["event"] == "epoch"] and events[-1]["event"] == "done"


def test_inspect_json_reports_the_date_column_and_its_features(tmp_path, capsys):
    path = write_csv(tmp_path / "series.csv", ["Jan 1 2000", "Feb 2 2001", "Mar 3 2002"])
    code, out, err = run(capsys, "inspect", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    when = next(c for c in report["columns"] if c["name"] == "when")
    assert when["kind"] == "datetime" and when["role"] == "feature"
    assert report["label"] == "value" and report["features"] == ["when"]
    assert "when.year" in report["feature_names"]


def test_month_first_when_no_field_exceeds_12_says_so_in_a_warning(tmp_path, capsys):
    path = write_csv(tmp_path / "ambiguous.csv", ["01/02/2005", "03/04/2005", "11/12/2006"])
    loader = UnifiedDataLoader(path, seed=0).load()
    assert loader.table.columns.column("when")[0].as_py() == datetime(2005, 1, 2)
    warned = [w for w in loader.warnings if "month first" in w]
    assert len(warned) == 1 and "'when'" in warned[0] and "exceeds 12" in warned[0]
    code, out, err = run(capsys, "inspect", path)
    assert code == 0 and "warning: column 'when': no day or month" in out


def test_day_first_when_a_first_field_exceeds_12_and_month_first_when_a_second_does(tmp_path):
    day_first = UnifiedDataLoader(write_csv(tmp_path / "d.csv", ["01/02/2005", "17/08/2005", "03/04/2005"]),
                                  seed=0).load()
    assert day_first.table.columns.column("when").to_pylist()[:3] == [
        datetime(2005, 2, 1), datetime(2005, 8, 17), datetime(2005, 4, 3)]
    assert not [w for w in day_first.warnings if "month first" in w]
    assert any("day first: a first field exceeds 12" in n for n in day_first.table.notes)
    month_first = UnifiedDataLoader(write_csv(tmp_path / "m.csv", ["01/02/2005", "08/17/2005"]), seed=0).load()
    assert month_first.table.columns.column("when")[0].as_py() == datetime(2005, 1, 2)
    assert not [w for w in month_first.warnings if "month first" in w]


def test_day_over_12_past_the_sample_switches_the_whole_column_to_day_first():
    values = ["01/02/2005"] * 5000 + ["25/12/2005"] + ["03/04/2005"] * 5000
    table, _ = parse_text_dates(pa.table({"when": values}))
    column = table.column("when")
    assert column.null_count == 0
    assert column[0].as_py() == datetime(2005, 2, 1) and column[5000].as_py() == datetime(2005, 12, 25)


def test_two_digit_years_use_the_documented_pivot(tmp_path):
    path = write_csv(tmp_path / "yy.csv", ["25/11/63", "01/02/05", "31/12/29", "01/01/30"])
    loader = UnifiedDataLoader(path, seed=0).load()
    assert loader.table.columns.column("when").to_pylist()[:4] == [
        datetime(1963, 11, 25), datetime(2005, 2, 1), datetime(2029, 12, 31), datetime(1930, 1, 1)]
    pivot = [w for w in loader.warnings if "two-digit years" in w]
    assert pivot and "00-29 -> 2000-2029, 30-99 -> 1930-1999" in pivot[0]


def test_garbage_in_a_date_column_is_missing_and_counted(tmp_path, capsys):
    values = ["12/16/2005", "1/2/2006", "3/4/2007", "7/30/2008"] * 10
    values[5], values[17] = "unknown", "2/30/2006"          # text, and a day February has not
    path = tmp_path / "garbage.csv"
    path.write_text("when,value\n" + "".join(f"{d},{i}.5\n" for i, d in enumerate(values)))
    code, out, err = run(capsys, "inspect", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    when = next(c for c in report["columns"] if c["name"] == "when")
    assert when["kind"] == "datetime" and when["missing"] == 2
    assert any("2 value(s) that are not dates" in w for w in report["warnings"])


def test_integers_years_and_numbers_are_not_dates(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("year,code,x,value\n" + "".join(f"{1980 + i},{20120101 + i},{i}.25,{i}\n" for i in range(30)))
    schema = UnifiedDataLoader(path, label="value", seed=0).load().schema
    assert [schema.column(n).kind for n in ("year", "code", "x")] == ["numeric"] * 3
    text = tmp_path / "text.parquet"   # numbers kept as text: still numbers, not dates
    pq.write_table(pa.table({"year": [str(1980 + i) for i in range(30)], "x": [f"{i}.5" for i in range(30)],
                             "value": list(range(30))}), text)
    schema = UnifiedDataLoader(text, label="value", seed=0).load().schema
    assert [schema.column(n).kind for n in ("year", "x")] == ["numeric", "numeric"]


def test_words_and_codes_stay_text():
    table, notes = parse_text_dates(pa.table({
        "colour": ["red", "green", "blue"], "range": ["10-20", "20-30", "30-40"], "ver": ["1.2", "1.3", "2.0"],
    }))
    assert all(pa.types.is_string(t) for t in table.schema.types) and notes == []


def test_json_lines_and_parquet_string_columns_are_read_as_dates(tmp_path):
    for path in (write_jsonl(tmp_path / "d.jsonl", ["Jan-1-1995", "Feb-2-1996"]),
                 write_parquet(tmp_path / "d.parquet", ["1974Q1", "1974Q3"])):
        loader = UnifiedDataLoader(path, seed=0).load()
        assert loader.schema.column("when").kind == "datetime", path.name
        assert loader.schema.label == "value"


def test_streamed_batches_keep_the_sample_form(tmp_path):
    values = ["01/02/2005", "03/04/2005", "12/11/2006"]
    csv = write_csv(tmp_path / "big.csv", values, n=300)
    batches = list(iter_record_batches(csv, batch_rows=64))
    assert {b.schema.field("when").type for b in batches} == {pa.timestamp("s")}
    assert batches[-1].column(0).null_count == 0 and batches[0].column(0)[0].as_py() == datetime(2005, 1, 2)
    parquet = write_parquet(tmp_path / "big.parquet", values, n=300)
    batches = list(iter_parquet_batches(parquet, batch_rows=64))
    assert {b.schema.field("when").type for b in batches} == {pa.timestamp("s")}
    assert sum(b.column(0).null_count for b in batches) == 0


@pytest.mark.parametrize("write, name", [(write_csv, "big.csv"), (write_parquet, "big.parquet")])
def test_a_file_streamed_over_the_memory_budget_gives_the_same_dates_and_says_so(tmp_path, write, name):
    path = write(tmp_path / name, ["01/02/2005", "03/04/2005", "12/11/2006"], n=400)
    streamed = UnifiedDataLoader(path, seed=0, memory_budget=1000).load()
    memory = UnifiedDataLoader(path, seed=0).load()
    assert streamed.streamed and not memory.streamed
    assert streamed.schema.column("when").kind == "datetime"
    assert streamed.feature_names == memory.feature_names
    assert any(n.startswith("column 'when': text dates like '01/02/2005'") for n in streamed.table.notes)
    assert any("month first" in w for w in streamed.warnings)
