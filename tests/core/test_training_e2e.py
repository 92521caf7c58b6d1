"""End to end through the real UnifiedDataLoader: files made in the test, training on a worker thread,
save + predict, and the exported script reproducing the run in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from training_support import blobs, linear_data, on_thread

from udl_core.errors import CorruptFileError, DatasetError, SchemaError
from udl_core.events import run_job
from udl_core.loader import UnifiedDataLoader
from udl_core.training import EpochMetrics, TrainConfig, train, train_model
from udl_core.blas import blas_setting
from udl_core.training.export import write_script
from udl_core.training.saving import load_model, predict_file, save_model, sidecar_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "samples" / "sample.csv"


def _drain(job):
    events = []
    return events, run_job(job, events.append)


def write_blobs_csv(path: Path, n: int = 600, seed: int = 0) -> Path:
    """Three separable species with a categorical column, a missing value and a text label."""
    x, y = blobs(n=n, classes=3, dim=3, seed=seed, spread=0.8)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    colour = np.array(["red", "green", "blue"])[(np.arange(n) % 3)]
    lines = ["width,height,depth,colour,species"]
    for i in range(n):
        width = "" if i == 7 else f"{x[i, 0]:.4f}"
        lines.append(f"{width},{x[i, 1]:.4f},{x[i, 2]:.4f},{colour[i]},{names[i]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_regression_csv(path: Path, n: int = 600) -> Path:
    x, y = linear_data(n=n, dim=3, scale=50.0, offset=1000.0)
    lines = ["a,b,c,price"] + [f"{a:.5f},{b:.5f},{c:.5f},{t:.4f}" for (a, b, c), t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bundled_sample_loss_falls_on_a_worker_thread():
    loader = UnifiedDataLoader(SAMPLE, seed=0).load()
    result = on_thread(train_model, loader, num_epochs=5)
    losses = result.epoch_losses
    assert len(losses) == 5 and losses[-1] < losses[0] * 0.5
    assert result.final.val_loss < result.epochs[0].val_loss
    assert result.final.val_accuracy >= 0.9
    assert result.spec.in_dim == loader.feature_dim and result.spec.out_dim == loader.num_classes


def test_csv_classification_learns_and_an_unloaded_loader_is_loaded(tmp_path):
    loader = UnifiedDataLoader(write_blobs_csv(tmp_path / "species.csv"), batch_size=32)
    events, result = on_thread(_drain, train(loader, TrainConfig(epochs=4, learning_rate=3e-3, device="cpu")))
    assert loader.train_data is not None
    assert result.final.val_accuracy >= 0.95
    assert result.classes == ("setosa", "versicolor", "virginica")
    assert sum(isinstance(e, EpochMetrics) for e in events) == 4


def test_csv_regression_reaches_high_r2(tmp_path):
    loader = UnifiedDataLoader(write_regression_csv(tmp_path / "prices.csv"), task="regression").load()
    result = on_thread(train_model, loader, num_epochs=10, learning_rate=1e-2)
    assert loader.task == "regression"
    assert result.final.val_r2 >= 0.95
    assert result.final.val_mse < 0.1 * float(np.var(loader.val_data.y))


def test_save_and_predict_round_trip(tmp_path):
    data = write_blobs_csv(tmp_path / "species.csv")
    loader = UnifiedDataLoader(data).load()
    result = on_thread(train_model, loader, num_epochs=3, learning_rate=3e-3)
    weights, sidecar = save_model(result, loader, tmp_path / "model.safetensors")
    assert weights.is_file() and sidecar == sidecar_path(weights) and sidecar.is_file()
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"
    meta = json.loads(sidecar.read_text())
    assert meta["model"]["in_dim"] == loader.feature_dim and meta["classes"] == list(loader.classes)
    assert meta["schema"]["label"] == "species" and "preprocessor" in meta

    saved = load_model(weights)
    _, predictions = _drain(predict_file(saved, data))
    expected = result.predict(loader.processed_data.x)
    assert len(predictions) == len(expected)
    best = expected.argmax(axis=1)
    assert [p.value for p in predictions] == [loader.classes[k] for k in best]
    np.testing.assert_allclose([p.probability for p in predictions], expected.max(axis=1), rtol=1e-5)

    # a file of the same schema without its label column predicts the same
    unlabelled = tmp_path / "new.csv"
    lines = data.read_text().splitlines()
    unlabelled.write_text("\n".join(",".join(line.split(",")[:4]) for line in lines) + "\n")
    _, again = _drain(predict_file(saved, unlabelled))
    assert [p.value for p in again] == [p.value for p in predictions]


def test_regression_predictions_are_in_target_units(tmp_path):
    data = write_regression_csv(tmp_path / "prices.csv")
    loader = UnifiedDataLoader(data, task="regression").load()
    result = on_thread(train_model, loader, num_epochs=10, learning_rate=1e-2)
    saved = load_model(save_model(result, loader, tmp_path / "m.safetensors")[0])
    _, predictions = _drain(predict_file(saved, data))
    values = np.array([p.value for p in predictions])
    np.testing.assert_allclose(values, result.predict(loader.processed_data.x), rtol=1e-5, atol=1e-3)
    assert abs(values.mean() - 1000.0) < 20 and np.corrcoef(values, loader.processed_data.y)[0, 1] > 0.97


def test_predict_rejects_a_file_of_another_schema_and_broken_sidecars(tmp_path):
    data = write_blobs_csv(tmp_path / "species.csv", n=120)
    loader = UnifiedDataLoader(data).load()
    result = on_thread(train_model, loader, num_epochs=1)
    weights, sidecar = save_model(result, loader, tmp_path / "m.safetensors")
    other = tmp_path / "other.csv"
    other.write_text("x,y\n1,2\n3,4\n")
    with pytest.raises(SchemaError, match="other.csv"):
        _drain(predict_file(load_model(weights), other))
    sidecar.write_text("{not json")
    with pytest.raises(CorruptFileError, match="m.json"):
        load_model(weights)
    sidecar.unlink()
    with pytest.raises(DatasetError, match="m.json is missing"):
        load_model(weights)


def test_exported_script_reproduces_the_losses(tmp_path):
    data = write_blobs_csv(tmp_path / "species.csv", n=300)
    kwargs = dict(label="species", batch_size=16, seed=3, val_fraction=0.25, categorical=("colour",))
    loader = UnifiedDataLoader(data, **kwargs).load()
    config = TrainConfig(epochs=2, learning_rate=3e-3, model="mlp", hidden=(32, 16), device="cpu", seed=5)
    _, result = on_thread(_drain, train(loader, config))
    script = write_script(tmp_path / "again.py", data, kwargs, config, device=result.device)
    text = script.read_text()
    assert "UnifiedDataLoader(" in text and "seed=3" in text and "hidden=(32, 16)" in text
    assert f"\"UDL_BLAS\", \"{blas_setting()}\"" in text
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["train_loss"] for line in lines] == result.epoch_losses
    steps = [loss for line in lines for loss in line["step_losses"]]
    np.testing.assert_array_equal(np.array(steps, np.float32), result.step_losses)
