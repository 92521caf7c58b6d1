"""`udl inspect` and `udl batch`, in-process through cli.main, plus one real subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from udl_core.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["height,colour,ok,label"]
    for i in range(50):
        height = "" if i % 9 == 0 else f"{rng.normal(170, 10):.1f}"
        lines.append(f"{height},{['red', 'blue', 'green'][i % 3]},{'true' if i % 2 else 'false'},{'ab'[i % 4 == 0]}")
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(capsys, argv, *mentions) -> str:
    code, out, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert lines and lines[-1].startswith("error: "), err
    assert "Traceback" not in err
    for word in mentions:
        assert word in lines[-1], lines[-1]
    return lines[-1]


def test_inspect_json(capsys, csv_path):
    code, out, _ = run(capsys, "inspect", csv_path, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["format"] == "csv" and report["rows"] == 50
    assert [c["name"] for c in report["columns"]] == ["height", "colour", "ok", "label"]
    first = {k: v for k, v in report["columns"][0].items() if k != "distinct"}
    assert first == {"name": "height", "dtype": "double", "kind": "numeric", "role": "feature", "missing": 6}
    assert report["features"] == ["height", "colour", "ok"]
    assert report["feature_names"] == ["height", "colour=blue", "colour=green", "colour=red", "ok"]
    assert report["label"] == "label" and report["task"] == "classification"
    assert report["classes"] == ["a", "b"] and report["class_counts"] == {"a": 37, "b": 13}
    assert report["feature_dim"] == 5
    assert report["quarantine"] == []
    assert report["estimate"]["rows"] == 50


def test_inspect_human(capsys, csv_path):
    code, out, _ = run(capsys, "inspect", csv_path)
    assert code == 0
    assert "column" in out and "missing" in out
    assert "label: label   task: classification   classes: 2 (a: 37, b: 13)" in out
    assert "5 processed feature(s)" in out


def test_batch_json_is_valid_and_matches_the_raw_rows(capsys, csv_path):
    code, out, _ = run(capsys, "batch", csv_path, "--index", "1", "--batch-size", "8", "--seed", "3", "--json")
    assert code == 0
    report = json.loads(out)     # NaN would make this invalid JSON
    assert report["index"] == 1 and report["split"] == "train" and report["batch_size"] == 8
    assert len(report["rows"]) == len(report["x"]) == len(report["y"]) == 8
    assert set(report["raw"]) == {"height", "colour", "ok", "label"}
    lines = csv_path.read_text().splitlines()[1:]
    for row, colour in zip(report["rows"], report["raw"]["colour"]):
        assert lines[row].split(",")[1] == colour
    for row, height in zip(report["rows"], report["raw"]["height"]):
        assert height is None if lines[row].startswith(",") else float(lines[row].split(",")[0]) == height
    assert report["feature_names"][0] == "height" and len(report["x"][0]) == 5
    _, again, _ = run(capsys, "batch", csv_path, "--index", "1", "--batch-size", "8", "--seed", "3", "--json")
    assert json.loads(again) == report


def test_batch_human_and_val_split(capsys, csv_path):
    code, out, _ = run(capsys, "batch", csv_path, "--index", "0", "--split", "val", "--batch-size", "4")
    assert code == 0
    assert out.startswith("batch 0 of ") and "(val, epoch 0" in out
    assert "raw:" in out and "processed:" in out and "colour=blue" in out


# bad input: exit 2 and one `error:` line naming the file ---------------------------------
def test_missing_path(capsys, tmp_path):
    assert_error(capsys, ["inspect", tmp_path / "nope.csv"], "nope.csv", "no such file")


def test_empty_file(capsys, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert_error(capsys, ["inspect", path], "empty.csv", "empty")


def test_header_only_csv(capsys, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("a,b,label\n")
    assert_error(capsys, ["inspect", path], "header.csv")


def test_binary_garbage_named_csv(capsys, tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    assert_error(capsys, ["inspect", path], "garbage.csv")


def test_truncated_parquet(capsys, tmp_path):
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"a": np.arange(1000.0), "label": np.arange(1000) % 2}), path)
    path.write_bytes(path.read_bytes()[:700])
    assert_error(capsys, ["inspect", path], "cut.parquet")


def test_npz_with_a_pickled_object_array(capsys, tmp_path):
    path = tmp_path / "pickled.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", buffer.getvalue())
    assert_error(capsys, ["inspect", path], "pickled.npz")


def test_mostly_ragged_rows(capsys, tmp_path):
    path = tmp_path / "ragged.csv"
    rows = ["a,b,label"] + [("1,2,3" if i % 3 == 0 else "1,2,3,4,5") for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    assert_error(capsys, ["inspect", path], "ragged.csv")


def test_unknown_label_column(capsys, csv_path):
    assert_error(capsys, ["inspect", csv_path, "--label", "salary"], "people.csv", "salary", "height")


def test_label_column_with_every_value_missing(capsys, tmp_path):
    path = tmp_path / "nolabels.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i * 2},\n" for i in range(20)))
    assert_error(capsys, ["inspect", path], "nolabels.csv", "label")


def test_folder_with_no_images(capsys, tmp_path):
    folder = tmp_path / "pictures"
    (folder / "cats").mkdir(parents=True)
    (folder / "cats" / "readme.txt").write_text("no pictures here")
    assert_error(capsys, ["inspect", folder], "pictures")


def test_features_and_labels_of_different_lengths(capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((10, 3)))
    np.save(tmp_path / "y.npy", np.zeros(7))
    assert_error(capsys, ["inspect", tmp_path / "x.npy", "--labels", tmp_path / "y.npy"], "10", "7")


def test_batch_index_out_of_range(capsys, csv_path):
    line = assert_error(capsys, ["batch", csv_path, "--index", "99", "--batch-size", "10"], "people.csv")
    assert "batch index 99 is out of range: this split has 4 batches (0-3)" in line


@pytest.mark.parametrize("size", ["0", "-4"])
def test_batch_size_zero_or_negative(capsys, csv_path, size):
    assert_error(capsys, ["batch", csv_path, "--batch-size", size], f"got {size}")


def test_argparse_usage_errors_are_error_lines(capsys, csv_path):
    with pytest.raises(SystemExit) as exit_:
        main(["batch", str(csv_path), "--index", "one"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")


def test_subprocess_exit_code_and_single_error_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "udl_core", "inspect", str(tmp_path / "gone.parquet")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'gone.parquet'}: no such file or folder"]


def test_quarantine_is_listed_and_capped(capsys, tmp_path):
    path = tmp_path / "some_bad.csv"
    lines = ["a,b,label"] + [("1,2,3,4" if i % 12 == 5 else f"{i},{i % 7},{i % 2}") for i in range(300)]
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = run(capsys, "inspect", path, "--json")
    assert code == 0
    report = json.loads(out)
    assert len(report["quarantine"]) == 25
    assert report["quarantine"][0]["location"] == "line 7" and report["quarantine"][0]["reason"]
    code, out, _ = run(capsys, "inspect", path)
    assert "quarantine: 25 malformed record(s) skipped" in out
    assert "line 7: " in out and "... and 5 more" in out
