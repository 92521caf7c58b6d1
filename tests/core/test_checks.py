"""Pipeline checks: each planted bug is caught by the right check; clean data raises no failure."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from checks_support import FakeLoader, blobs, load, regression, three_classes, write_csv
from udl_core.errors import ConfigError, SchemaError
from udl_core.events import Progress, run_job
from udl_core.training.checks import (CHECK_GROUPS, CheckBudget, CheckResult, iter_checks, loo_accuracy, loo_r2,
                                      run_checks, worst_status)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "resources" / "samples" / "sample.csv")
FAST = CheckBudget(train_steps=150, speed_batches=10, speed_seconds=0.5)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def failures(results: list[CheckResult]) -> list[str]:
    return [f"{r.name}: {r.reason}" for r in results if r.status == "fail"]


def warnings(results: list[CheckResult]) -> list[str]:
    return [f"{r.name}: {r.reason}" for r in results if r.status == "warn"]


# --- clean data: no false alarms ---------------------------------------------------------------

@pytest.mark.slow
def test_clean_three_classes_pass_everything(tmp_path):
    results = run_checks(load(write_csv(tmp_path / "iris.csv", three_classes())))
    assert failures(results) == [] and warnings(results) == []
    assert len(results) == 19
    assert {r.name.split(".")[0] for r in results} == set(CHECK_GROUPS)


@pytest.mark.slow
def test_clean_regression_has_no_failures(tmp_path):
    results = run_checks(load(write_csv(tmp_path / "houses.csv", regression())))
    assert failures(results) == [] and warnings(results) == []
    named = by_name(results)
    assert "labels.outliers" in named and "labels.balance" not in named
    assert "MSE on standardized targets" in named["loss_at_init"].reason


@pytest.mark.slow
def test_bundled_sample_passes():
    results = run_checks(load(SAMPLE))
    assert failures(results) == [] and warnings(results) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_blobs_of_other_shapes_do_not_fail(seed):
    x, y = blobs(n=400 * seed, classes=2 + seed, dim=3 * seed, seed=seed)
    results = run_checks(FakeLoader(x, y, batch_size=16 * seed), budget=FAST)
    assert failures(results) == []


# --- planted bugs, each caught by the right check -----------------------------------------------

@pytest.mark.slow
def test_misaligned_label_file_fails_input_dependence(tmp_path):
    x, y = blobs(n=500, classes=3, dim=4, seed=4)
    write_csv(tmp_path / "x.csv", {f"f{j}": x[:, j] for j in range(4)})
    shifted = np.r_[y[1:], y[:1]]  # the labels file lost its first row and wrapped: off by one
    write_csv(tmp_path / "y.csv", {"label": shifted})
    aligned = by_name(run_checks(load(tmp_path / "x.csv", labels=_labels(tmp_path, y)), budget=FAST))
    assert aligned["input_dependence"].status == "pass"
    results = by_name(run_checks(load(tmp_path / "x.csv", labels=tmp_path / "y.csv"), budget=FAST))
    assert results["input_dependence"].status == "fail"
    assert "misaligned" in results["input_dependence"].hint
    assert results["batches.coverage"].status == "pass"


def _labels(tmp_path, y):
    return write_csv(tmp_path / "y_ok.csv", {"label": y})


def test_shuffled_labels_fail_input_dependence(tmp_path):
    cols = three_classes(n=600, seed=5)
    cols["species"] = np.random.default_rng(0).permutation(cols["species"])
    results = by_name(run_checks(load(write_csv(tmp_path / "shuffled.csv", cols)), budget=FAST))
    check = results["input_dependence"]
    assert check.status == "fail"
    assert "zeroed inputs" in check.reason and check.details["t"] < 1
    assert results["leakage.single_feature"].status == "pass"


def test_label_index_column_is_a_copy_of_the_label(tmp_path):
    cols = three_classes(n=300, seed=6)
    cols["species_code"] = np.unique(cols["species"], return_inverse=True)[1] + 1
    results = by_name(run_checks(load(write_csv(tmp_path / "leak.csv", cols)), select=["leakage"]))
    assert results["leakage.label_in_features"].status == "fail"
    assert "'species_code'" in results["leakage.label_in_features"].reason
    assert results["leakage.single_feature"].status == "fail"


def test_monotonic_id_in_label_order_is_named(tmp_path):
    cols = three_classes(n=300, seed=7)
    order = np.argsort(cols["species"], kind="stable")   # the file is sorted by species ...
    cols = {k: v[order] for k, v in cols.items()}
    cols = {"row_id": np.arange(1, 301), **cols}          # ... and numbered
    results = by_name(run_checks(load(write_csv(tmp_path / "ids.csv", cols)), select=["leakage"]))
    check = results["leakage.single_feature"]
    assert check.status == "fail"
    assert "'row_id'" in check.reason and "an id" in check.reason
    clean = by_name(run_checks(load(write_csv(tmp_path / "clean.csv", three_classes(n=300, seed=7))),
                               select=["leakage"]))
    assert clean["leakage.single_feature"].status == "pass"


def test_rows_duplicated_across_the_split(tmp_path):
    cols = regression(n=1000, seed=8)
    copies = np.random.default_rng(1).choice(1000, 300, replace=False)
    dup = {k: np.concatenate([v, v[copies]]) for k, v in cols.items()}
    results = by_name(run_checks(load(write_csv(tmp_path / "dup.csv", dup)), select=["leakage"]))
    check = results["leakage.duplicates"]
    assert check.status == "fail"
    assert "exact copies of training rows" in check.reason and check.details["val_rows_in_train"] >= 10
    clean = by_name(run_checks(load(write_csv(tmp_path / "nodup.csv", cols)), select=["leakage"]))
    assert clean["leakage.duplicates"].status == "pass"


def test_unscaled_raw_column_is_named(tmp_path):
    cols = three_classes(n=300, seed=9)
    cols["income"] = np.round(np.random.default_rng(2).lognormal(11, 0.5, 300), 0)
    results = by_name(run_checks(load(write_csv(tmp_path / "scales.csv", cols), label="species"),
                                 select=["scaling"]))
    check = results["scaling.raw_columns"]
    assert check.status == "warn"
    assert "'income'" in check.reason and "orders of magnitude" in check.reason
    assert results["scaling.standardized"].status == "pass"  # the preprocessor standardized it


def test_unscaled_processed_features_fail_scaling_and_initial_loss():
    x, y = blobs(n=400, seed=10)
    x[:, 2] = x[:, 2] * 5000 + 20000
    results = by_name(run_checks(FakeLoader(x, y), select=["scaling", "loss_at_init"]))
    assert results["scaling.standardized"].status == "fail"
    assert "'f2'" in results["scaling.standardized"].reason
    assert results["loss_at_init"].status == "fail"
    assert "ln(3)" in results["loss_at_init"].reason


def test_nan_in_processed_batches_is_located():
    x, y = blobs(n=320, seed=11)
    x[17, 3] = np.nan
    x[40, 1] = np.inf
    loader = FakeLoader(x, y, batch_size=32)
    results = by_name(run_checks(loader, select=["batches"]))
    check = results["batches.finite"]
    assert check.status == "fail"
    assert check.details["values"] == 2
    order = np.random.default_rng((0, 0)).permutation(loader.num_train)   # FakeLoader's epoch-0 shuffle
    placed = {int(loader.train_data.rows[p]): i // 32 for i, p in enumerate(order)}
    first_row = min((17, 40), key=lambda r: placed.get(r, 10**9))
    if first_row in placed:   # the planted value landed in a training batch: the reason names it
        column = "'f3'" if first_row == 17 else "'f1'"
        assert check.reason.startswith(f"Training batch {placed[first_row]} holds 1 NaN or inf values (feature {column}")
    else:
        assert check.reason.startswith("Validation batch")


def test_constant_label_fails_and_skips_trainings(tmp_path):
    cols = three_classes(n=150, seed=12)
    cols["species"] = np.array(["setosa"] * 150)
    results = by_name(run_checks(load(write_csv(tmp_path / "const.csv", cols), label="species"), budget=FAST))
    assert results["labels.constant"].status == "fail"
    assert "'species'" in results["labels.constant"].reason
    for name in ("loss_at_init", "overfit_one_batch", "input_dependence", "speed"):
        assert results[name].status == "warn" and "labels.constant" in results[name].reason


def test_rows_missing_or_repeated_in_an_epoch():
    x, y = blobs(n=200, seed=13)
    dropped = FakeLoader(x, y, order_fn=lambda split, epoch, n: np.arange(n)[: n - 5])
    check = by_name(run_checks(dropped, select=["batches"]))["batches.coverage"]
    assert check.status == "fail" and "5 training rows never appear" in check.reason
    repeated = FakeLoader(x, y, order_fn=lambda split, epoch, n: np.r_[np.arange(n - 1), 0])
    check = by_name(run_checks(repeated, select=["batches"]))["batches.coverage"]
    assert check.status == "fail" and "appears 2 times" in check.reason


def test_batch_shape_change_is_named():
    x, y = blobs(n=320, seed=14)

    def widen(batch):
        if batch.index == 3:
            return type(batch)(batch.index, batch.x.astype(np.float64), batch.y, batch.rows)
        return batch

    check = by_name(run_checks(FakeLoader(x, y, batch_fn=widen), select=["batches"]))["batches.shapes"]
    assert check.status == "fail" and check.reason.startswith("Batch 3 ")


def test_overlapping_splits_fail():
    x, y = blobs(n=200, seed=15)
    loader = FakeLoader(x, y, train_rows=np.arange(0, 170), val_rows=np.arange(150, 200))
    check = by_name(run_checks(loader, select=["batches"]))["batches.disjoint"]
    assert check.status == "fail" and "20 rows are in both" in check.reason


def test_class_imbalance_ratio_is_named(tmp_path):
    rng = np.random.default_rng(16)
    n = 1050
    label = np.where(np.arange(n) < 1000, "ham", "spam")
    cols = {"a": rng.normal(size=n) + (label == "spam"), "b": rng.normal(size=n), "label": rng.permutation(label)}
    check = by_name(run_checks(load(write_csv(tmp_path / "imb.csv", cols)), select=["labels"]))["labels.balance"]
    assert check.status == "warn" and "'ham'" in check.reason and "20.0:1" in check.reason


def test_classes_too_small_to_split(tmp_path):
    cols = three_classes(n=300, seed=17)
    cols["species"][:3] = "hybrid"
    check = by_name(run_checks(load(write_csv(tmp_path / "small.csv", cols)), select=["labels"]))
    assert check["labels.small_classes"].status == "warn"
    assert "'hybrid' has only 3 rows" in check["labels.small_classes"].reason


def test_class_seen_only_in_validation_fails():
    x, y = blobs(n=200, seed=18)
    y[:4] = 3
    loader = FakeLoader(x, y, train_rows=np.arange(4, 160), val_rows=np.r_[np.arange(0, 4), np.arange(160, 200)])
    check = by_name(run_checks(loader, select=["labels"]))["labels.small_classes"]
    assert check.status == "fail" and "'3'" in check.reason


def test_regression_outliers_are_flagged(tmp_path):
    cols = regression(n=2000, seed=19)
    cols["price"][[5, 50, 500]] = [1e7, 2e7, 5e7]
    check = by_name(run_checks(load(write_csv(tmp_path / "out.csv", cols)), select=["labels"]))["labels.outliers"]
    assert check.status == "warn" and "3 targets" in check.reason and "5.00e+07" in check.reason


def test_label_that_is_an_id_fails(tmp_path):
    cols = three_classes(n=200, seed=20)
    cols["user"] = np.array([f"user{i}" for i in range(200)])
    # A class per row is refused when the data loads (issue 10), before any check runs.
    with pytest.raises(SchemaError, match="200 distinct values in 200 labelled rows"):
        load(write_csv(tmp_path / "users.csv", cols), label="user", categorical=("user",))


def test_features_too_small_to_fit_fail_overfit_one_batch():
    x, y = blobs(n=400, seed=21)
    results = by_name(run_checks(FakeLoader(x * 1e-7, y), select=["overfit_one_batch"]))
    check = results["overfit_one_batch"]
    assert check.status == "fail" and "batch 0" in check.reason
    healthy = by_name(run_checks(FakeLoader(x, y), select=["overfit_one_batch"]))["overfit_one_batch"]
    assert healthy.status == "pass"


def test_unseeded_shuffle_fails_determinism():
    x, y = blobs(n=320, seed=22)
    loader = FakeLoader(x, y, order_fn=lambda split, epoch, n: np.random.default_rng().permutation(n)
                        if split == "train" else np.arange(n))
    check = by_name(run_checks(loader, select=["determinism"]))["determinism"]
    assert check.status == "fail"
    assert check.reason.startswith("Batch 0 differs") and check.details["first_difference"] == 0
    seeded = by_name(run_checks(FakeLoader(x, y), select=["determinism"]))["determinism"]
    assert seeded.status == "pass" and len(seeded.details["hashes"]) == 5


def test_slow_data_is_called_data_bound():
    x, y = blobs(n=640, seed=23)
    budget = CheckBudget(speed_batches=8, speed_seconds=5.0)
    check = by_name(run_checks(FakeLoader(x, y, delay=0.1), select=["speed"], budget=budget))["speed"]
    assert check.status == "warn" and check.reason.startswith("Data-bound")
    assert check.details["data_share"] > 0.6 and check.details["steps"] == 8


# --- the job itself -----------------------------------------------------------------------------

def test_iter_checks_yields_progress_then_results_and_returns_them():
    x, y = blobs(n=300, seed=24)
    job = iter_checks(FakeLoader(x, y), budget=FAST)
    events = []
    returned = run_job(job, events.append)
    assert isinstance(events[0], Progress) and events[-1] == Progress("checks", 9, 9, "done")
    results = [e for e in events if isinstance(e, CheckResult)]
    assert results == returned and len(results) == 19
    json.dumps([r.to_dict(details=True) for r in results])  # JSON-safe details
    assert worst_status(results) in ("pass", "warn")
    assert all(r.reason[:1].isupper() and r.reason.endswith(".") for r in results)


def test_a_consumer_can_stop_the_checks_between_two_batches_of_a_check():
    x, y = blobs(n=2000, seed=27)
    fetched = []
    job = iter_checks(FakeLoader(x, y, batch_fn=lambda batch: fetched.append(batch.index) or batch), budget=FAST)
    for event in job:
        if isinstance(event, Progress) and event.message.startswith("checking batches"):
            break
    assert next(job) is None and fetched == [0]   # a heartbeat after the first of 50 batches
    job.close()                                    # what a stopped worker does
    assert fetched == [0]


def test_the_short_trainings_yield_between_their_steps():
    x, y = blobs(n=600, seed=28)
    events = list(iter_checks(FakeLoader(x, y), budget=FAST, select=["input_dependence"]))
    assert events.count(None) >= 2 * FAST.train_steps   # the real and the zeroed inputs' trainings


def test_checks_run_on_another_thread():
    x, y = blobs(n=300, seed=25)
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("r", run_checks(FakeLoader(x, y), budget=FAST)))
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and len(box["r"]) == 19


def test_bad_arguments_raise_config_errors():
    x, y = blobs(n=100, seed=26)
    with pytest.raises(ConfigError, match="unknown check 'nope'"):
        run_checks(FakeLoader(x, y), select=["nope"])

    class Unloaded:
        path = "data.csv"
        train_data = None

    with pytest.raises(ConfigError, match="data.csv: the loader is not loaded"):
        run_checks(Unloaded())
    with pytest.raises(ValueError):
        CheckResult("x", "maybe", "reason")


def test_one_feature_scores():
    rng = np.random.default_rng(27)
    y = rng.integers(0, 3, 500)
    assert loo_accuracy(y.astype(float) * 7 + 1, y, 3) == 1.0          # a recoding of the label
    ids = np.arange(500.0)
    assert loo_accuracy(ids, np.sort(y), 3) == 1.0                        # an id in label order
    assert loo_accuracy(rng.normal(size=500), y, 3) < 0.5                 # noise
    t = rng.normal(size=500)
    assert loo_r2(t * 3 - 1, t) > 0.999
    assert loo_r2(rng.normal(size=500), t) < 0.1


def test_public_names_are_sorted():
    import udl_core.training.checks as checks

    assert checks.__all__ == sorted(checks.__all__)


def test_cpu_and_gpu_comparison_recommends_the_faster(monkeypatch):
    import mlx.core as mx

    from udl_core.training.checks import _training

    # no GPU here: compare the CPU with itself to exercise the path a Metal or CUDA machine takes
    monkeypatch.setattr(_training, "gpu_available", lambda: True)
    monkeypatch.setattr(_training, "COMPARED_DEVICES", (("cpu", mx.cpu), ("gpu", mx.cpu)))
    x, y = blobs(n=400, seed=28)
    check = by_name(run_checks(FakeLoader(x, y), select=["speed"], budget=FAST))["speed"]
    assert check.details["gpu"] is True and check.details["cpu_s"] > 0 and check.details["gpu_s"] > 0
    assert "faster than the" in check.reason and "--device" in check.reason


def test_label_copies_in_regression_by_value_and_by_name(tmp_path):
    cols = regression(n=600, seed=29)
    cols["price_k"] = cols["price"] / 1000        # the target in other units
    check = by_name(run_checks(load(write_csv(tmp_path / "copy.csv", cols), label="price"),
                               select=["leakage"]))["leakage.label_in_features"]
    assert check.status == "fail" and "'price_k' is a copy of the label 'price'" in check.reason
    cols = regression(n=600, seed=29)
    cols["Price"] = np.round(cols["price"] + np.random.default_rng(3).normal(0, 50, 600), 1)
    check = by_name(run_checks(load(write_csv(tmp_path / "named.csv", cols), label="price"),
                               select=["leakage"]))["leakage.label_in_features"]
    assert check.status == "fail" and "has the label's name" in check.reason


def test_a_column_of_nan_is_reported_without_crashing_any_check():
    x, y = blobs(n=400, seed=30)
    x[:, 1] = np.nan
    x[3, 2] = np.inf
    results = by_name(run_checks(FakeLoader(x, y), budget=FAST))
    assert len(results) == 19
    assert results["batches.finite"].status == "fail"
    for name in ("loss_at_init", "overfit_one_batch", "input_dependence"):
        assert results[name].status == "fail" and ("NaN" in results[name].reason or "nan" in results[name].reason)
