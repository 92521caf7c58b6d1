"""`udl check` of a wide table costs what the same number of values in a long one does (issue 10):
counted, not timed (seconds go to `python -m bench.bench_wide_long`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from udl_core.loader import UnifiedDataLoader
from udl_core.training.checks import CheckBudget, run_checks
from udl_core.training.checks import _features
from udl_core.training.checks._context import CheckContext
from udl_core.training.checks._training import _training_size


def _parquet(path, rows: int, columns: int, seed: int = 0, copy: bool = False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, columns)).astype(np.float32).round(3)
    label = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    data = {f"c{j}": x[:, j] for j in range(columns)}
    if copy:
        data["code"] = label * 5 + 1
    pq.write_table(pa.table({**data, "label": label}), path)
    return path


def test_the_label_copy_test_runs_only_for_columns_that_could_be_copies(tmp_path, monkeypatch):
    calls = []
    exact = _features._is_label_copy
    monkeypatch.setattr(_features, "_is_label_copy", lambda *a: calls.append(1) or exact(*a))
    loader = UnifiedDataLoader(str(_parquet(tmp_path / "wide.parquet", 400, 300)), label="label").load()
    result = {r.name: r for r in run_checks(loader, select=["leakage"])}["leakage.label_in_features"]
    assert result.status == "pass" and calls == []            # was one exact test per column: 300
    loader = UnifiedDataLoader(str(_parquet(tmp_path / "copy.parquet", 400, 300, copy=True)), label="label").load()
    result = {r.name: r for r in run_checks(loader, select=["leakage"])}["leakage.label_in_features"]
    assert result.status == "fail" and "'code'" in result.reason and len(calls) == 1


def test_a_wide_sample_holds_about_the_values_of_a_long_one():
    budget = CheckBudget()

    class Split:
        def __init__(self, rows: int, width: int) -> None:
            self.x = np.zeros((rows, width), np.float32)
            self.y = np.zeros(rows, np.int32)
            self.rows = np.arange(rows)

    class Loaded:
        task, num_classes, classes, feature_names = "classification", 5, None, None

        def __init__(self, rows: int, width: int) -> None:
            self.train_data, self.val_data = Split(rows * 4 // 5, width), Split(rows // 5, width)

    def values(rows: int, width: int) -> tuple[int, int]:
        ctx = CheckContext.from_loader(Loaded(rows, width), budget, 0)
        return len(ctx.sample) * width, len(ctx.val_sample) * width

    wide, long = values(8_000, 1_500), values(80_000, 150)
    assert wide[0] <= 2 * long[0] and wide[1] <= 2 * long[1]


def test_the_input_dependence_training_is_a_budget_of_values():
    class Ctx:
        budget = CheckBudget()

    work = {}
    for width, rows in ((1_500, 5_000), (150, 50_000), (10_000, 1_000)):
        batch, steps = _training_size(Ctx(), rows, width)
        work[width] = batch * steps * width
        assert steps >= 50 and batch >= 8
    assert work[1_500] <= 2 * work[150]
    assert work[150] == 300 * 128 * 150                          # narrow tables train as before


def test_a_wide_csv_is_read_in_chunks_of_many_rows(tmp_path):
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(5)
    x = rng.standard_normal((1_000, 1_500)).astype(np.float32).round(4)
    path = tmp_path / "wide.csv"
    pacsv.write_csv(pa.table({**{f"c{j}": x[:, j] for j in range(1_500)}, "label": np.arange(1_000) % 3}), path)
    assert path.stat().st_size > 8 << 20          # 1 MiB blocks made 9+ chunks of ~100 rows: x 1,501 arrays
    table = UnifiedDataLoader(str(path), label="label").load().table.columns
    assert table.column(0).num_chunks <= 2        # each later step pays per column *and* per chunk


def test_the_estimate_counts_a_wide_numeric_table_instead_of_fitting_it(tmp_path, monkeypatch):
    import udl_core.pipeline as pipeline
    from udl_core.pipeline import estimate

    inferred = []
    real = pipeline.infer
    monkeypatch.setattr(pipeline, "infer", lambda *a, **k: inferred.append(1) or real(*a, **k))
    wide = estimate(_parquet(tmp_path / "wide.parquet", 200, 400))
    assert inferred == [] and wide.feature_dim == 400      # 400 features + the label: one a column
    narrow = estimate(_parquet(tmp_path / "narrow.parquet", 200, 20))
    assert inferred and narrow.feature_dim == 20
