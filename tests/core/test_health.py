"""The epoch health in udl_core: per-batch statistics, the sorted-data rule, `udl batch --health`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from checks_support import write_csv

from udl_core.cli import main
from udl_core.health import SORTED_WARNING, HealthSummary, batch_health, epoch_health, looks_sorted, summarize
from udl_core.loader import UnifiedDataLoader


def _sorted_csv(tmp_path, n=400):
    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c", "d"], n // 4)          # sorted by label, as some exports are
    return write_csv(tmp_path / "sorted.csv", {"f1": rng.normal(size=n), "f2": rng.normal(size=n), "label": labels})


def test_the_sorted_rule_reads_the_label_mix():
    one_class_each = np.repeat(np.eye(3, dtype=np.int64) * 32, 3, axis=0)      # 9 batches, one class each
    assert looks_sorted(one_class_each)
    mixed = np.full((9, 3), 10, np.int64)
    assert not looks_sorted(mixed)
    assert not looks_sorted(one_class_each[:3])           # too few batches to say
    assert not looks_sorted(np.full((9, 1), 32))           # one class: nothing to sort
    assert not looks_sorted(None)                          # regression
    skewed = np.array([[32, 0]] * 9 + [[31, 1]])           # one class is 97% of the data: not sorting
    assert not looks_sorted(skewed)


def test_a_sorted_unshuffled_file_is_flagged_and_a_shuffled_one_is_not(tmp_path):
    path = _sorted_csv(tmp_path)
    plain = UnifiedDataLoader(str(path), label="label", batch_size=16, shuffle=False).load()
    summary = summarize(epoch_health(plain))
    assert summary.looks_sorted and summary.warnings == (SORTED_WARNING,)
    assert summary.batches == len(plain)
    shuffled = UnifiedDataLoader(str(path), label="label", batch_size=16).load()
    assert not summarize(epoch_health(shuffled)).looks_sorted


def test_the_summary_counts_nonfinite_values_and_ignores_them_in_the_means():
    x = [np.array([[1.0, np.nan], [3.0, 5.0]]), np.array([[np.inf, 2.0], [2.0, 2.0]]), np.array([[0.0, 0.0]])]
    y = [np.array([0, 1]), np.array([1, 1]), np.array([0])]
    health = batch_health(x, y, start=0, num_classes=2)
    summary = summarize(health)
    assert (summary.batches, summary.nonfinite, summary.nonfinite_batches) == (3, 2, 2)
    assert health.mean.tolist() == [3.0, 2.0, 0.0]
    assert summary.mean == pytest.approx(5 / 3) and (summary.mean_min, summary.mean_max) == (0.0, 3.0)
    empty = HealthSummary.of(np.zeros(0), np.zeros(0), np.zeros(0, np.int64), None)
    assert empty.batches == 0 and np.isnan(empty.mean) and not empty.looks_sorted


def test_udl_batch_health_prints_the_epoch_health(tmp_path, capsys):
    path = _sorted_csv(tmp_path)
    assert main(["batch", str(path), "--label", "label", "--batch-size", "16", "--health", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = summarize(epoch_health(UnifiedDataLoader(str(path), label="label", batch_size=16).load()))
    health = report["health"]
    assert health["batches"] == expected.batches == report["batches"]
    assert health["nonfinite"] == 0 and health["looks_sorted"] is False and health["warnings"] == []
    assert health["feature_mean"] == pytest.approx(expected.mean)
    assert health["feature_std"] == pytest.approx(expected.std)

    assert main(["batch", str(path), "--label", "label", "--batch-size", "16", "--health"]) == 0
    text = capsys.readouterr().out
    assert f"health (train, epoch 0): {expected.batches} batch(es), NaN/inf values: 0" in text


def test_udl_batch_without_health_has_no_health(tmp_path, capsys):
    assert main(["batch", str(_sorted_csv(tmp_path)), "--json"]) == 0
    assert "health" not in json.loads(capsys.readouterr().out)


def test_the_health_module_imports_neither_qt_nor_mlx():
    code = ("import sys, udl_core.health; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'mlx', 'PySide6', 'pyqtgraph', 'udl_gui'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
