"""Text dates at predict (issue 10): the form chosen at training travels with the model, so a new
file whose dates are all ambiguous (01/02/2006) is read day first as the training file was, a
value not in the form is missing and counted, older descriptions still predict by detection, and
a tampered form is a clean error naming the description."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpus_support import run_in_process
from udl_core.cli import main
from udl_core.formats import read_table
from udl_core.preprocess import Preprocessor
from udl_core.training.saving import _read_options, load_model

AMBIGUOUS = ["01/02/2006", "03/04/2006", "05/06/2007", "07/08/2007", "09/10/2008", "11/12/2008"]


def _write(path: Path, dates: list[str]) -> Path:
    lines = ["date,x,label"] + [f"{d},{i * 0.37 % 3:.3f},{'yes' if i % 2 else 'no'}" for i, d in enumerate(dates)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dayfirst")
    # Day first: some first fields exceed 12.
    days = [f"{1 + i % 28:02d}/{1 + i * 5 % 12:02d}/{2000 + i % 9}" for i in range(80)]
    data = _write(folder / "train.csv", days)
    out = folder / "m.safetensors"
    assert main(["train", str(data), "--epochs", "1", "--device", "cpu", "--save", str(out)]) == 0
    return out


def _read(weights: Path, data: Path):
    saved = load_model(weights)
    table = read_table(data, _read_options(saved.meta["read_options"]))
    return table, Preprocessor.from_dict(saved.meta["preprocessor"]).transform(table)


def test_the_form_is_saved_with_the_model(weights):
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["read_options"]["date_formats"] == {"date": {"form": "DD/MM/YYYY", "times": []}}


def test_ambiguous_dates_are_read_day_first_as_at_training(weights, tmp_path):
    data = _write(tmp_path / "new.csv", AMBIGUOUS)
    # Detection alone would read this file month first.
    assert read_table(data).columns.column("date")[0].as_py() == datetime(2006, 1, 2)
    table, x = _read(weights, data)
    assert table.columns.column("date")[0].as_py() == datetime(2006, 2, 1)
    # The same rows in a file that detection reads day first give the same features.
    _, expected = _read(weights, _write(tmp_path / "plain.csv", AMBIGUOUS + ["25/12/2006"]))
    np.testing.assert_array_equal(x, expected[: len(AMBIGUOUS)])
    answer = run_in_process(["predict", str(weights), str(data), "--json"])
    assert answer.code == 0, answer.err
    assert len(answer.out.splitlines()) == len(AMBIGUOUS)


def test_a_timestamp_column_is_used_as_it_is(weights, tmp_path):
    csv = _write(tmp_path / "new.csv", AMBIGUOUS)
    _, expected = _read(weights, csv)
    parquet = tmp_path / "new.parquet"
    table = read_table(csv, _read_options(load_model(weights).meta["read_options"])).columns
    pq.write_table(table.replace_schema_metadata(None), parquet)
    _, x = _read(weights, parquet)
    np.testing.assert_array_equal(x, expected)


def test_a_value_not_in_the_form_is_missing_and_counted(weights, tmp_path):
    data = _write(tmp_path / "new.csv", AMBIGUOUS + ["soon", "2006-01-02"])
    table, x = _read(weights, data)
    assert table.columns.column("date").null_count == 2
    assert np.isfinite(x).all()
    answer = run_in_process(["predict", str(weights), str(data), "--json"])
    assert answer.code == 0, answer.err
    assert len(answer.out.splitlines()) == len(AMBIGUOUS) + 2
    assert "warning:" in answer.err and "2 value(s) that are not dates" in answer.err


def test_an_older_description_without_the_form_still_predicts(weights, tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    copy = folder / weights.name
    copy.write_bytes(weights.read_bytes())
    meta = json.loads(weights.with_suffix(".json").read_text())
    del meta["read_options"]["date_formats"]
    for step in meta["preprocessor"]["steps"]:
        step.pop("date_format", None)
    copy.with_suffix(".json").write_text(json.dumps(meta))
    data = _write(tmp_path / "new.csv", AMBIGUOUS)
    answer = run_in_process(["predict", str(copy), str(data), "--json"])
    assert answer.code == 0, answer.err
    assert len(answer.out.splitlines()) == len(AMBIGUOUS)


@pytest.mark.parametrize("value", ["%d/%m/%Y", 7, {"times": []}, {"form": "DD/MM/YYYY", "times": ["noon"]},
                                   ["DD/MM/YYYY"]])
def test_a_tampered_form_is_a_clean_error(weights, tmp_path, value):
    folder = tmp_path / "bad"
    folder.mkdir()
    copy = folder / weights.name
    copy.write_bytes(weights.read_bytes())
    meta = json.loads(weights.with_suffix(".json").read_text())
    meta["read_options"]["date_formats"]["date"] = value
    copy.with_suffix(".json").write_text(json.dumps(meta))
    answer = run_in_process(["predict", str(copy), str(_write(tmp_path / "new.csv", AMBIGUOUS))])
    assert answer.code == 2
    assert answer.err.startswith("error:") and "m.json" in answer.err and "date_formats" in answer.err
    assert "Traceback" not in answer.err


def test_saved_forms_with_times_read_as_saved_and_nothing_else_is_detected():
    import pyarrow as pa

    from udl_core.dates import DATE_ALONE, parse_text_dates, saved_form

    train = pa.table({"t": ["25/12/2005 10:30", "01/02/2006", "13/01/2007 23:59"]})
    read, _ = parse_text_dates(train)
    form = saved_form(read.schema.field("t"))
    assert form == {"form": "DD/MM/YYYY", "times": ["00:00", DATE_ALONE]}
    new = pa.table({"t": ["01/02/2006 10:30", "03/04/2006"], "code": ["01/02/2006", "03/04/2006"]})
    out, _ = parse_text_dates(new, saved=(("t", form["form"], tuple(form["times"])),))
    assert out.column("t").to_pylist() == [datetime(2006, 2, 1, 10, 30), datetime(2006, 4, 3)]
    assert out.column("code").type == pa.string()   # text at training: not detected now
