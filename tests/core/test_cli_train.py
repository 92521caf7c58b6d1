"""`udl train` and `udl predict`: the JSON Lines of docs/conventions.md, the progress lines, errors as exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from PIL import Image
from test_training_e2e import write_blobs_csv, write_regression_csv
from training_support import blobs

from udl_core.cli import main
from udl_core.training import gpu_available

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_train_json_lines_match_the_design(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv")
    code, out, err = run_cli(capsys, "train", data, "--epochs", "3", "--json", "--device", "cpu",
                             "--label", "species")   # named: no label-guess notice
    assert code == 0, err
    events = json_lines(out)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for e in epochs:
        assert {"event", "epoch", "train_loss", "val_loss", "val_accuracy"} <= set(e)
        assert "val_r2" not in e and 0.0 <= e["val_accuracy"] <= 1.0
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert epochs[-1]["val_accuracy"] >= 0.95
    done = events[-1]
    assert done["event"] == "done" and done["device"] == "cpu"
    assert done["seconds"] > 0 and done["samples_per_s"] > 0 and isinstance(done["blas"], str)
    assert not any(e["event"] == "notice" for e in events)  # --device cpu: no fallback notice


def test_regression_json_reports_r2_and_mse_and_empty_validation_is_null(tmp_path, capsys):
    data = write_regression_csv(tmp_path / "prices.csv", n=300)
    code, out, err = run_cli(capsys, "train", data, "--task", "regression", "--epochs", "2", "--json")
    assert code == 0, err
    epoch = [e for e in json_lines(out) if e["event"] == "epoch"][-1]
    assert "val_accuracy" not in epoch and epoch["val_r2"] is not None and epoch["val_mse"] > 0
    code, out, err = run_cli(capsys, "train", data, "--task", "regression", "--epochs", "1", "--json",
                             "--val-fraction", "0")
    assert code == 0, err
    epoch = [e for e in json_lines(out) if e["event"] == "epoch"][-1]
    assert epoch["val_loss"] is None and epoch["val_r2"] is None


def test_human_mode_prints_a_line_per_epoch_and_notices_on_stderr(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv", n=200)
    code, out, err = run_cli(capsys, "train", data, "--epochs", "2", "--model", "linear")
    assert code == 0, err
    lines = out.splitlines()
    pattern = r"epoch [12]/2  train_loss \d+\.\d{4}  val_loss \d+\.\d{4}  val_accuracy \d\.\d{3}  [\d,]+ samples/s"
    assert re.fullmatch(pattern, lines[0]) and re.fullmatch(pattern, lines[1])
    assert lines[2].startswith("evaluation on ")      # the evaluation's table, then the final line
    assert lines[-1].startswith("done in ") and " on cpu: " in lines[-1]
    if not gpu_available():
        assert "training on the CPU" in err


def test_gpu_requested_on_a_cpu_only_machine_exits_2_with_one_error_line(tmp_path):
    if gpu_available():
        pytest.skip("this machine has a GPU")
    data = write_blobs_csv(tmp_path / "species.csv", n=60)
    run = subprocess.run([sys.executable, "-m", "udl_core", "train", str(data), "--device", "gpu", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith("error: ") and "GPU" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_save_predict_and_export_from_the_command_line(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv", n=150)
    weights, script = tmp_path / "out" / "model.safetensors", tmp_path / "out" / "run.py"
    weights.parent.mkdir()
    code, out, err = run_cli(capsys, "train", data, "--epochs", "2", "--lr", "0.01", "--save", weights,
                             "--export-script", script, "--json")
    assert code == 0, err
    done = json_lines(out)[-1]
    assert done["saved"] == [str(weights), str(weights.with_suffix(".json")), str(script)]
    compile(script.read_text(), str(script), "exec")

    code, out, err = run_cli(capsys, "predict", weights, data)
    assert code == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == 150
    assert all(r[1] in ("setosa", "versicolor", "virginica") and 0.0 < float(r[2]) <= 1.0 for r in rows)
    code, out, err = run_cli(capsys, "predict", weights, data, "--json")
    preds = json_lines(out)
    assert [p["row"] for p in preds] == list(range(150)) and [p["prediction"] for p in preds] == [r[1] for r in rows]


@pytest.mark.parametrize("argv, message", [
    (["--save", "model.bin"], ".safetensors"),
    (["--save", "no/such/folder/m.safetensors"], "does not exist"),
    (["--epochs", "0"], "--epochs"),
    (["--lr", "-1"], "--lr"),
])
def test_bad_train_options_are_error_lines(tmp_path, capsys, argv, message):
    data = write_blobs_csv(tmp_path / "species.csv", n=60)
    code, out, err = run_cli(capsys, "train", data, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err


def test_predict_without_a_model_is_an_error_line(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv", n=60)
    code, out, err = run_cli(capsys, "predict", tmp_path / "missing.safetensors", data)
    assert code == 2 and err.startswith("error: ") and "missing.safetensors" in err


def _formats(tmp_path: Path) -> dict[str, list[str]]:
    x, y = blobs(n=120, classes=3, dim=4, spread=0.5)
    names = np.array(["a", "b", "c"])[y]
    table = pa.table({**{f"f{j}": x[:, j].astype(np.float64) for j in range(4)}, "label": names})
    pq.write_table(table, tmp_path / "d.parquet")
    feather.write_feather(table, tmp_path / "d.arrow")
    with open(tmp_path / "d.jsonl", "w") as handle:
        for row in table.to_pylist():
            handle.write(json.dumps(row) + "\n")
    (tmp_path / "d.json").write_text(json.dumps(table.to_pylist()))
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    rng = np.random.default_rng(0)
    for k, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
        folder = tmp_path / "images" / f"class{k}"
        folder.mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.array(colour) + rng.normal(0, 20, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return {
        "parquet": [tmp_path / "d.parquet"],
        "arrow": [tmp_path / "d.arrow"],
        "jsonl": [tmp_path / "d.jsonl"],
        "json": [tmp_path / "d.json"],
        "npz": [tmp_path / "d.npz"],
        "npy+labels": [tmp_path / "x.npy", "--labels", tmp_path / "y.npy"],
        "images": [tmp_path / "images"],
    }


@pytest.mark.parametrize("kind", ["parquet", "arrow", "jsonl", "json", "npz", "npy+labels", "images"])
def test_train_json_on_every_format(tmp_path, capsys, kind):
    code, out, err = run_cli(capsys, "train", *_formats(tmp_path)[kind], "--epochs", "3", "--lr", "0.01",
                             "--json", "--batch-size", "16")
    assert code == 0, err
    events = json_lines(out)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(epochs) == 3 and events[-1]["event"] == "done"
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert epochs[-1]["val_accuracy"] >= 0.8


def test_ctrl_c_stops_cleanly_and_reports_what_it_has(tmp_path):
    import signal

    data = write_blobs_csv(tmp_path / "species.csv", n=3000)
    weights = tmp_path / "m.safetensors"
    proc = subprocess.Popen([sys.executable, "-m", "udl_core", "train", str(data), "--label", "species",
                             "--epochs", "100000",
                             "--batch-size", "8", "--json", "--device", "cpu", "--save", str(weights)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["event"] == "epoch"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    done = json_lines(out)[-1]
    assert done["event"] == "done" and done["stopped"] is True and done["epochs"] >= 1
    assert "stopping after this step" in err and weights.is_file()
