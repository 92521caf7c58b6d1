"""`leakage.single_feature` fails only when one feature beats the majority-class rate by 10 points
on at least 30 validation rows (issue 10); otherwise it passes, or warns with the numbers."""

from __future__ import annotations

import json

import numpy as np

from checks_support import load, write_csv
from udl_core.cli import main
from udl_core.training.checks import run_checks
from udl_core.training.checks._one_feature import OneFeatureScore, margin_met, nn_accuracy, nn_r2


def _single(path, **kwargs):
    results = run_checks(load(path, label="label", **kwargs), select=["leakage"])
    return {r.name: r for r in results}["leakage.single_feature"]


def _majority_table(n: int, minority: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A label that is 'yes' in all but `minority` rows, a useless 0/1 flag and a noise column."""
    rng = np.random.default_rng(seed)
    label = np.array(["yes"] * (n - minority) + ["no"] * minority)
    return {"flag": np.arange(n) % 2, "noise": rng.normal(size=n).round(3), "label": label}


def test_a_feature_at_the_majority_rate_never_fails(tmp_path):
    # 12 rows, 90% majority: the flag scored 90.0% against a 90.0% majority rate and failed
    path = write_csv(tmp_path / "tiny.csv", _majority_table(12, 1))
    check = _single(path)
    assert check.status != "fail"
    assert "validation rows" in check.reason and "majority class" in check.reason


def test_a_useless_feature_under_a_90_percent_majority_passes(tmp_path):
    path = write_csv(tmp_path / "majority.csv", _majority_table(300, 30, seed=1))
    check = _single(path)
    assert check.status in ("pass", "warn")
    assert check.details["validation_rows"] == 60
    assert abs(check.details["majority_rate"] - 0.9) < 0.02


def test_a_copy_of_the_label_fails_with_the_numbers_and_the_rule(tmp_path):
    cols = _majority_table(300, 30, seed=2)
    cols["code"] = (cols["label"] == "no").astype(int) * 7 + 3   # the label, recoded
    check = _single(write_csv(tmp_path / "leak.csv", cols))
    assert check.status == "fail"
    assert "'code'" in check.reason
    assert "100.0% accuracy on 60 validation rows" in check.reason
    assert "90.0% for always guessing the majority class" in check.reason
    assert "10 points above the majority rate on at least 30 validation rows" in check.reason


def test_fewer_than_30_validation_rows_never_fail(tmp_path):
    rng = np.random.default_rng(3)
    label = rng.permutation(np.array(["a", "b"] * 50))
    cols = {"x": rng.normal(size=100).round(3), "code": (label == "b").astype(int), "label": label}
    check = _single(write_csv(tmp_path / "small.csv", cols))   # 20 validation rows
    assert check.status == "warn"
    assert "on 20 validation rows" in check.reason and "at least 30 validation rows" in check.reason
    many = write_csv(tmp_path / "many.csv", {k: np.tile(v, 2) for k, v in cols.items()})
    assert _single(many).status == "fail"                       # 40 validation rows: a leak


def test_cli_check_does_not_fail_the_majority_rate_feature(tmp_path, capsys):
    path = write_csv(tmp_path / "tiny.csv", _majority_table(12, 1))
    main(["check", str(path), "--label", "label", "--json"])
    payload = json.loads(capsys.readouterr().out)
    single = {c["name"]: c for c in payload["checks"]}["leakage.single_feature"]
    assert single["status"] != "fail"


def test_nearest_neighbour_scores_on_validation_rows():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 400)
    v = y * 2.5 - 1
    score = nn_accuracy(v[:300], y[:300], v[300:], y[300:], 3)
    assert score.score == 1.0 and score.rows == 100
    noise = nn_accuracy(rng.normal(size=300), y[:300], rng.normal(size=100), y[300:], 3)
    assert noise.score < 0.6
    missing = nn_accuracy(v[:300], y[:300], np.full(100, np.nan), y[300:], 3)
    assert missing.correct == missing.majority_correct      # a missing value guesses the majority
    t = rng.normal(size=400)
    assert nn_r2(t[:300] * 3, t[:300], t[300:] * 3, t[300:]).score > 0.99
    assert margin_met(OneFeatureScore(1.0, 60, 60, 54))         # exactly 10 points on 60 rows
    assert not margin_met(OneFeatureScore(1.0, 60, 60, 55))
    assert not margin_met(OneFeatureScore(1.0, 29, 29, 10))      # too few rows
