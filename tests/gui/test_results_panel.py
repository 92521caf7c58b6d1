"""The Results tab: the evaluation's heat map and per-class table, and the likely label errors found as
a job of kind "suspects" in the window's lane (on the MLX thread)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from training_support import ArrayLoader, blobs  # noqa: E402  (tests/core's helpers)
from udl_core.training.evaluation import classification_evaluation, regression_evaluation  # noqa: E402
from udl_gui.job_runner import JobRunner  # noqa: E402
from udl_gui.results_panel import ResultsPanel  # noqa: E402

CONFIG = {"epochs": 6, "learning_rate": 3e-3, "device": "cpu"}


def _panel(qtbot):
    runner = JobRunner()
    panel = ResultsPanel(runner, lambda: dict(CONFIG))
    qtbot.addWidget(panel)
    panel.resize(520, 720)
    return runner, panel


def test_the_confusion_matrix_shows_counts_or_row_shares_and_the_per_class_table(qtbot):
    _, panel = _panel(qtbot)
    assert panel.objectName() == "resultsTab" and panel.plot.objectName() == "confusionPlot"
    confusion = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 5]])
    panel.show_evaluation(classification_evaluation(confusion, ["cat", "dog", "eel"]))
    np.testing.assert_array_equal(panel.image.image, confusion)
    assert len(panel._cell_texts) == 9 and panel._cell_texts[1].toPlainText() == "2"
    panel.normalize_check.setChecked(True)
    np.testing.assert_allclose(panel.image.image.sum(axis=1), 1.0)
    assert panel._cell_texts[0].toPlainText() == "0.80"
    table = panel.per_class
    assert table.rowCount() == 5 and table.item(1, 0).text() == "dog" and table.item(1, 2).text() == "0.900"
    assert table.item(3, 0).text() == "macro avg" and table.item(4, 4).text() == "25"
    assert panel.summary.text().startswith("Evaluation on 25 validation rows: accuracy 0.880")
    panel.grab().save("/tmp/ev16_results_shot.png")
    panel.show_evaluation(regression_evaluation(np.r_[np.zeros(50), 40.0], np.zeros(51), np.arange(51)))
    assert panel.image.image is None and table.item(0, 0).text() == "row 50"


def test_find_likely_label_errors_runs_in_the_lane_and_lists_the_flipped_rows(qtbot):
    runner, panel = _panel(qtbot)
    assert not panel.find_button.isEnabled()          # nothing loaded yet
    x, y = blobs(n=400, classes=3, spread=0.5, seed=8)
    flipped = np.random.default_rng(8).choice(400, 8, replace=False)
    y = y.copy()
    y[flipped] = (y[flipped] + 1) % 3
    panel.set_loader(ArrayLoader(x, y, task="classification", classes=["a", "b", "c"]))
    assert panel.find_button.isEnabled() and panel.find_button.objectName() == "findSuspectsButton"
    with qtbot.waitSignal(runner.finished, timeout=120_000):
        qtbot.mouseClick(panel.find_button, Qt.MouseButton.LeftButton)
        assert panel.find_button.text() == "Stop finding label errors"
    table = panel.suspects_table
    assert table.objectName() == "suspectsTable"
    top = sorted(int(table.item(i, 0).text()) for i in range(len(flipped)))
    assert top == sorted(flipped.tolist())
    assert panel.find_button.text() == "Find likely label errors"
    panel.grab().save("/tmp/ev16_results_suspects.png")
    panel.set_loader(ArrayLoader(x, y.astype(np.float32), task="regression"))
    assert not panel.find_button.isEnabled() and table.rowCount() == 0


def test_a_run_in_the_window_fills_the_results_tab(qtbot, window):
    from conftest import SAMPLE
    from gui_support import load, wait_idle

    load(qtbot, window, SAMPLE)
    panel = window.findChild(ResultsPanel, "resultsTab")
    assert panel is not None and panel.find_button.isEnabled()
    window.controls.epochs_spin.setValue(2)
    window.controls.train_switch.setChecked(True)
    window.controls.device_combo.setCurrentText("CPU")
    window.controls.run_button.click()
    wait_idle(qtbot, window, 60_000)
    ev = panel.evaluation
    assert ev is not None and ev.rows == window.loader.num_val
    assert panel.per_class.rowCount() == len(window.loader.classes) + 2
    assert int(np.asarray(panel.image.image).sum()) == window.loader.num_val
    window.side_tabs.setCurrentWidget(panel)
    window.grab().save("/tmp/ev16_window_results.png")


def test_clicking_a_suspect_shows_its_row_in_the_batch_table(qtbot, window):
    from conftest import SAMPLE
    from gui_support import load

    from udl_core.events import Suspect

    load(qtbot, window, SAMPLE)
    panel = window.results_panel
    loader = window.loader
    val_row, train_row = int(loader.val_data.rows[7]), int(loader.train_data.rows[100])
    panel.show_suspects([Suspect(val_row, "a", "b", 0.9, 0.1, "sample.csv:9"),
                         Suspect(train_row, "a", "b", 0.8, 0.2, "sample.csv:102")])
    window.side_tabs.setCurrentWidget(panel)
    bar, table = window.batch_toolbar, window.batch_table
    for i, row in enumerate((val_row, train_row)):
        rect = panel.suspects_table.visualItemRect(panel.suspects_table.item(i, 1))
        qtbot.mouseClick(panel.suspects_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        split, index = bar.split_combo.currentText(), bar.index_spin.value()
        selected = [ix.row() for ix in table.selectionModel().selectedRows()]
        assert len(selected) == 1
        assert int(loader.get_batch(index, split=split).rows[selected[0]]) == row
    assert split == "train"
    window.grab().save("/tmp/ev16_window_suspect.png")


def test_file_menu_exports_the_processed_tensors_and_never_over_an_input(qtbot, window, tmp_path, monkeypatch):
    import shutil

    from conftest import SAMPLE
    from gui_support import load
    from PySide6.QtWidgets import QFileDialog

    data = tmp_path / "data.csv"
    shutil.copy2(SAMPLE, data)
    load(qtbot, window, data)
    target = tmp_path / "tensors.npz"
    chosen = [str(target)]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (chosen[0], "")))
    window.menus.export_tensors_action.trigger()
    assert window.last_error_box is None
    saved = np.load(target, allow_pickle=False)
    assert len(saved["rows"]) == window.loader.num_train + window.loader.num_val
    assert saved["feature_names"].tolist() == window.loader.feature_names
    before = data.read_bytes()
    (tmp_path / "same.npz").hardlink_to(data)     # the input under an exportable name
    chosen[0] = str(tmp_path / "same.npz")
    window.menus.export_tensors_action.trigger()
    box = window.last_error_box
    assert box is not None and "never overwrites an input" in box.text()
    box.close()
    assert data.read_bytes() == before and window.isVisible()
