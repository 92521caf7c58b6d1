"""`udl check`'s labels.suspects: a warning that lists the planted label flips; a pass on clean labels."""

from __future__ import annotations

import numpy as np
from training_support import ArrayLoader, blobs, on_thread

from udl_core.training.checks import run_checks
from udl_core.training.checks._suspects import SUSPECTS_WARN


def _suspects_result(loader):
    results = on_thread(run_checks, loader, select=["labels"])
    return next(r for r in results if r.name == "labels.suspects")


def test_many_flipped_labels_warn_and_name_the_flipped_rows():
    x, y = blobs(n=600, classes=3, spread=0.5, seed=6)
    flipped = np.random.default_rng(6).choice(600, 90, replace=False)    # 15%: above the 10% share
    y = y.copy()
    y[flipped] = (y[flipped] + 1) % 3
    result = _suspects_result(ArrayLoader(x, y, task="classification", classes=["a", "b", "c"]))
    assert result.status == "warn" and f"more than {SUSPECTS_WARN:.0%}" in result.reason
    assert set(result.details["first"]) <= set(flipped.tolist()) and len(result.details["first"]) == 5
    assert f"row {result.details['first'][0]} labelled" in result.reason


def test_clean_labels_pass_and_a_regression_is_not_judged():
    x, y = blobs(n=600, classes=3, spread=0.5, seed=7)
    result = _suspects_result(ArrayLoader(x, y, task="classification", classes=["a", "b", "c"]))
    assert result.status == "pass" and result.details["share"] <= 0.02
    regression = ArrayLoader(x, y.astype(np.float32), task="regression")
    assert _suspects_result(regression).status == "pass"
