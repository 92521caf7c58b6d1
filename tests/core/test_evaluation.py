"""The evaluation after a run: per-class metrics from the confusion matrix, regression residuals, and
the `evaluation` event of `udl train` (before `done`; a short table without --json)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_training_e2e import write_blobs_csv, write_regression_csv
from training_support import ArrayLoader, blobs, linear_data, on_thread

from udl_core.cli import main
from udl_core.events import Evaluation, run_job
from udl_core.training import TrainConfig, train
from udl_core.training.evaluation import classification_evaluation, confusion_counts, regression_evaluation


def test_per_class_metrics_match_a_hand_count():
    given = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    predicted = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 2])
    confusion = confusion_counts(given, predicted, 4)      # class 3: no rows, never predicted
    assert confusion[:3, :3].tolist() == [[2, 1, 1], [1, 2, 0], [0, 0, 3]]
    ev = classification_evaluation(confusion, ["a", "b", "c", "d"])
    assert ev.support == (4, 3, 3, 0) and ev.rows == 10 and ev.accuracy == pytest.approx(0.7)
    assert ev.precision[:3] == pytest.approx((2 / 3, 2 / 3, 3 / 4))
    assert ev.recall[:3] == pytest.approx((2 / 4, 2 / 3, 3 / 3))
    assert ev.f1[0] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert ev.macro["recall"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)        # the empty class is left out
    assert ev.weighted["recall"] == pytest.approx(0.7)                     # weighted recall is accuracy
    event = json.loads(json.dumps(ev.to_dict()))
    assert event["event"] == "evaluation" and event["classes"] == ["a", "b", "c", "d"]
    assert event["per_class"]["c"] == {"precision": 0.75, "recall": 1.0, "f1": pytest.approx(6 / 7), "support": 3}


def test_regression_outliers_are_the_largest_standardized_residuals():
    rng = np.random.default_rng(0)
    actual = rng.normal(100, 10, 200)
    predicted = actual + rng.normal(0, 1, 200)
    predicted[[17, 90]] += [40.0, -25.0]
    ev = regression_evaluation(actual, predicted, np.arange(1000, 1200))
    assert [o.row for o in ev.outliers] == [1017, 1090]
    assert ev.outliers[0].z < -3 < 3 < ev.outliers[1].z          # actual - predicted
    assert ev.mae == pytest.approx(np.abs(actual - predicted).mean())
    assert ev.r2 == pytest.approx(1 - ((actual - predicted) ** 2).sum() / ((actual - actual.mean()) ** 2).sum())


def _train(loader, epochs):
    events = []
    result = run_job(train(loader, TrainConfig(epochs=epochs, device="cpu")), events.append)
    return result, events


def test_the_trainer_yields_the_evaluation_last_and_keeps_it_on_its_result():
    x, y = blobs(n=400, classes=3)
    loader = ArrayLoader(x, y, task="classification", classes=["a", "b", "c"])
    result, events = on_thread(_train, loader, 4)
    assert isinstance(events[-1], Evaluation) and events[-1] is result.evaluation
    ev = result.evaluation
    assert ev.rows == loader.num_val and ev.confusion.sum() == loader.num_val
    assert ev.confusion.sum(axis=1).tolist() == np.bincount(loader.val_data.y, minlength=3).tolist()
    assert ev.accuracy == pytest.approx(result.final.val_accuracy)


def test_a_regression_run_reports_mae_in_the_targets_units_and_a_planted_outlier():
    x, y = linear_data(n=500, noise=0.05)
    loader = ArrayLoader(x, y, task="regression")
    row = int(loader.val_data.rows[3])
    loader.val_data.y[3] += 5000.0        # far off in the target's units (scale 50)
    result, _ = on_thread(_train, loader, 30)
    ev = result.evaluation
    assert ev.task == "regression" and ev.rows == loader.num_val
    assert ev.outliers and ev.outliers[0].row == row and ev.outliers[0].z > 3
    assert ev.mae > 5000.0 / loader.num_val * 0.9      # the outlier alone moves the MAE by ~5000 / n


def test_udl_train_json_emits_the_evaluation_before_done(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv")
    assert main(["train", str(data), "--epochs", "3", "--json", "--device", "cpu", "--label", "species"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events[-2:]] == ["evaluation", "done"]
    ev = events[-2]
    assert len(ev["confusion"]) == len(ev["classes"]) and set(ev["per_class"]) == set(ev["classes"])
    assert sum(map(sum, ev["confusion"])) == ev["rows"] and ev["suspects"] == []


def test_udl_train_prints_a_short_table_without_json(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv")
    assert main(["train", str(data), "--epochs", "2", "--device", "cpu", "--label", "species"]) == 0
    out = capsys.readouterr().out
    assert "precision  recall" in out and "macro avg" in out and "confusion (rows: given label" in out
    regression = write_regression_csv(tmp_path / "prices.csv", n=300)
    assert main(["train", str(regression), "--task", "regression", "--epochs", "2", "--device", "cpu"]) == 0
    assert "validation rows: R2 " in capsys.readouterr().out
