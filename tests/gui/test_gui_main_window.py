"""The main window end to end, offscreen: load, inspect, page, walk, train, stop, close, errors."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from conftest import SAMPLE
from gui_support import load, wait_idle

DISPLAY = Qt.ItemDataRole.DisplayRole
NAMES = ["datasetPathEdit", "openDatasetButton", "labelsPathEdit", "labelColumnCombo", "batchTable",
         "batchIndexSpin", "trainModelSwitch", "deviceCombo", "epochsSpin", "batchSizeSpin", "learningRateSpin",
         "runButton", "stopButton", "lossPlot", "progressBar", "logView"]


def child(win, name):
    widget = win.findChild(QWidget, name)
    assert widget is not None, name
    return widget


def cell(model, row, column):
    return model.data(model.index(row, column), DISPLAY)


def column_of(model, name):
    return [model.column_name(c) for c in range(model.columnCount())].index(name)


def test_every_contract_object_name_exists(window):
    for name in NAMES:
        child(window, name)


def test_load_by_path_field_shows_schema_and_batch(qtbot, window, known_csv):
    window.controls.batch_size_spin.setValue(4)
    edit = child(window, "datasetPathEdit")
    edit.setText(str(known_csv))
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    loader = window.loader
    assert loader is not None and loader.schema.label == "target"

    rows = {r.name: r for r in window.schema_panel.model.rows}
    assert list(rows) == ["a", "b", "color", "target"]
    assert rows["b"].missing == 1 and rows["a"].missing == 0
    assert rows["color"].kind == "categorical" and rows["target"].role == "label"
    summary = window.schema_panel.summary.text()
    assert "target" in summary and "classification" in summary
    assert child(window, "labelColumnCombo").currentText() == "target"

    model = window.batch_model
    batch = loader.get_batch(0)
    assert model.rowCount() == 4 == len(batch.rows)
    assert model.label_column == 0
    assert [model.column_name(c) for c in range(1, model.columnCount())] == list(batch.feature_names)
    for r in range(4):
        assert cell(model, r, 0).startswith(str(int(batch.y[r])))
        for c in range(batch.x.shape[1]):
            assert cell(model, r, c + 1) == f"{float(batch.x[r, c]):.4g}"
    assert child(window, "batchIndexSpin").maximum() == len(loader) - 1


def test_raw_toggle_shows_the_same_rows_raw(qtbot, window, known_csv):
    window.controls.batch_size_spin.setValue(4)
    loader = load(qtbot, window, known_csv)
    rows = window.batch_model._rows.tolist()
    window.batch_toolbar.raw_button.click()
    model = window.batch_model
    assert model.mode == "raw" and model._rows.tolist() == rows
    lines = [line.split(",") for line in known_csv.read_text().splitlines()[1:]]
    color, b = column_of(model, "color"), column_of(model, "b")
    for r, row in enumerate(rows):
        assert cell(model, r, color) == lines[row][2]
        assert cell(model, r, b) == ("\u2014" if lines[row][1] == "" else f"{float(lines[row][1]):.4g}")
    window.batch_toolbar.processed_button.click()
    assert model.mode == "processed" and model.columnCount() == loader.feature_dim + 1


def test_paging_batches(qtbot, window, known_csv):
    window.controls.batch_size_spin.setValue(3)
    loader = load(qtbot, window, known_csv)
    spin = child(window, "batchIndexSpin")
    seen = []
    for i in range(len(loader)):
        assert spin.value() == i
        seen.append(window.batch_model._rows.tolist())
        assert seen[-1] == loader.get_batch(i).rows.tolist()
        window.batch_toolbar.next_button.click()
    assert spin.value() == len(loader) - 1  # the last batch stays put
    assert sorted(r for rows in seen for r in rows) == sorted(loader.train_data.rows.tolist())
    window.batch_toolbar.prev_button.click()
    assert spin.value() == len(loader) - 2
    window.batch_toolbar.split_combo.setCurrentText("val")
    assert window.batch_model._rows.tolist() == loader.get_batch(0, split="val").rows.tolist()


def test_batch_size_change_rebatches_without_reloading(qtbot, window, known_csv):
    window.controls.batch_size_spin.setValue(4)
    loader = load(qtbot, window, known_csv)
    window.controls.batch_size_spin.setValue(2)
    assert window.loader is loader and loader.batch_size == 2
    assert window.batch_model.rowCount() == 2
    assert child(window, "batchIndexSpin").maximum() == len(loader) - 1


def drag_events(paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    return mime, enter, drop


def test_load_by_drop_with_a_highlight(qtbot, window, known_csv):
    mime, enter, drop = drag_events([known_csv])
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted() and window.drop_overlay.isVisible()
    QApplication.sendEvent(window, drop)
    assert not window.drop_overlay.isVisible()
    wait_idle(qtbot, window)
    assert window.loader is not None and window.loader.schema.label == "target"
    assert child(window, "datasetPathEdit").text() == str(known_csv)
    assert str(known_csv) in window.recent_files()


def test_drop_of_text_is_refused(window):
    mime = QMimeData()
    mime.setText("hello")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted() and not window.drop_overlay.isVisible()


def test_drop_of_features_and_labels_files(qtbot, window, tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "y.npy", y)
    _, enter, drop = drag_events([tmp_path / "y.npy", tmp_path / "X.npy"])
    QApplication.sendEvent(window, enter)
    QApplication.sendEvent(window, drop)
    wait_idle(qtbot, window)
    assert child(window, "labelsPathEdit").text() == str(tmp_path / "y.npy")
    assert window.loader is not None and window.loader.feature_dim == 3


def test_bad_file_shows_an_error_and_keeps_the_dataset(qtbot, window, known_csv, tmp_path):
    window.controls.batch_size_spin.setValue(4)
    loader = load(qtbot, window, known_csv)
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not parquet at all")
    load(qtbot, window, bad)
    box = window.last_error_box
    assert box is not None and box.isVisible()
    assert "broken.parquet" in box.text()
    assert "broken.parquet" in child(window, "logView").toPlainText()
    assert window.loader is loader  # the loaded dataset stays, and so do its fields
    assert child(window, "datasetPathEdit").text() == str(known_csv)
    assert window.batch_model.rowCount() == 4
    box.close()
    # and the window is still usable
    window.batch_toolbar.next_button.click()
    assert child(window, "batchIndexSpin").value() == 1
    load(qtbot, window, known_csv)
    assert window.loader is not loader


def test_missing_label_is_reported(qtbot, window, known_csv):
    load(qtbot, window, known_csv, label="no_such_column")
    assert window.last_error_box is not None
    assert "no_such_column" in window.last_error_box.text()
    window.last_error_box.close()


def test_run_with_train_model_off_walks_and_trains_nothing(qtbot, window, known_csv):
    window.controls.batch_size_spin.setValue(4)
    load(qtbot, window, known_csv)
    assert not child(window, "trainModelSwitch").isChecked()
    child(window, "runButton").click()
    wait_idle(qtbot, window)
    summary = window.last_walk
    assert summary is not None and summary.batches == len(window.loader)
    assert summary.samples == window.loader.num_train
    assert window.last_train is None
    assert len(window.loss_plot.step_points[0]) == 0
    assert "batches/s" in child(window, "logView").toPlainText()
    assert window.health_strip.batches == len(window.loader)


def train(qtbot, window, epochs=3, timeout=60_000):
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(epochs)
    window.controls.lr_spin.setValue(0.003)
    window.controls.device_combo.setCurrentText("CPU")
    child(window, "runButton").click()
    wait_idle(qtbot, window, timeout)


def test_training_draws_falling_losses_and_ends_with_a_validation_metric(qtbot, window):
    load(qtbot, window, SAMPLE)
    train(qtbot, window, epochs=4)
    result = window.last_train
    assert result is not None and not result.stopped and len(result.epochs) == 4
    steps, losses = window.loss_plot.step_points
    assert len(steps) == 4 * len(window.loader)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])  # falling
    val_steps, val_losses = window.loss_plot.val_points
    assert len(val_losses) == 4 and np.all(np.isfinite(val_losses))
    assert result.final.val_accuracy is not None and result.final.val_accuracy > 0.5
    log = child(window, "logView").toPlainText()
    assert "val accuracy" in log
    assert "samples/s" in window.rate_label.text()
    assert "data wait" in window.wait_label.text()
    assert child(window, "progressBar").value() == 1000
    # a second run works and keeps the first one faintly
    train(qtbot, window, epochs=2)
    assert window.last_train is not result and len(window.last_train.epochs) == 2
    assert window.loss_plot.previous_runs == 1


def start_long_training(qtbot, window):
    window.controls.batch_size_spin.setValue(4)
    load(qtbot, window, SAMPLE)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(5000)
    window.controls.device_combo.setCurrentText("CPU")
    child(window, "runButton").click()
    qtbot.waitUntil(lambda: len(window.loss_plot.step_points[0]) > 20, timeout=30_000)


def test_stop_mid_run_then_run_again(qtbot, window):
    start_long_training(qtbot, window)
    assert child(window, "stopButton").isEnabled() and not child(window, "runButton").isEnabled()
    child(window, "stopButton").click()
    wait_idle(qtbot, window)
    steps = len(window.loss_plot.step_points[0])
    assert steps < 5000 * len(window.loader)
    assert window.last_train is None  # cancelled, not finished
    assert "train stopped" in child(window, "logView").toPlainText()
    window.controls.epochs_spin.setValue(1)
    child(window, "runButton").click()
    wait_idle(qtbot, window)
    assert window.last_train is not None and len(window.last_train.epochs) == 1


def test_close_mid_run_joins_the_thread(qtbot, window):
    start_long_training(qtbot, window)
    job = window.job
    assert job.thread_busy()
    window.close()
    assert not job.thread_busy() and not job.running


def test_a_new_load_cancels_a_running_job(qtbot, window, known_csv):
    start_long_training(qtbot, window)
    old = window.job
    load(qtbot, window, known_csv)
    qtbot.waitUntil(lambda: not old.running, timeout=10_000)
    assert old.stop_requested and window.loader.schema.label == "target"


def test_schema_override_ignore_a_column_and_reload(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    model = window.schema_panel.model
    row = [r.name for r in model.rows].index("color")
    assert model.setData(model.index(row, 3), "ignore")
    button = window.schema_panel.reload_button
    assert button.isEnabled()
    button.click()
    wait_idle(qtbot, window)
    assert not any(name.startswith("color") for name in window.loader.feature_names)
    assert {r.name: r.role for r in window.schema_panel.model.rows}["color"] == "ignore"


def test_schema_override_label_column(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    combo = child(window, "labelColumnCombo")
    combo.setCurrentText("color")
    combo.activated.emit(combo.currentIndex())
    wait_idle(qtbot, window)
    assert window.loader.schema.label == "color"
    assert set(window.loader.classes) == {"red", "blue", "green"}


def test_gpu_item_is_disabled_with_a_reason_when_mlx_has_none(qtbot, window):
    from udl_core.training.devices import gpu_available

    qtbot.waitUntil(lambda: window.run_controller.gpu is not None, timeout=10_000)
    item = child(window, "deviceCombo").model().item(1)
    assert item.isEnabled() == gpu_available()
    if not gpu_available():
        assert "GPU" in item.toolTip() or "gpu" in item.toolTip().lower()


def test_training_controls_persist_in_settings(qtbot, settings):
    from udl_gui.main_window import MainWindow

    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.controls.epochs_spin.setValue(7)
    first.controls.lr_spin.setValue(0.02)
    first.controls.model_combo.setCurrentText("linear")
    first.controls.train_switch.setChecked(True)
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.controls.epochs_spin.value() == 7
    assert second.controls.lr_spin.value() == pytest.approx(0.02)
    assert second.controls.model_combo.currentText() == "linear"
    assert second.controls.train_switch.isChecked()


def test_unexpected_exception_goes_to_a_dialog_and_the_log(window):
    try:
        raise RuntimeError("boom from a slot")
    except RuntimeError as exc:
        window.report_exception(type(exc), exc, exc.__traceback__)
    box = window.last_error_box
    assert isinstance(box, QMessageBox) and "boom from a slot" in box.text()
    assert "Traceback" in child(window, "logView").toPlainText()
    box.close()


def test_exports_from_the_menu_code_path(qtbot, window, tmp_path):
    load(qtbot, window, SAMPLE)
    train(qtbot, window, epochs=1)
    window.loss_plot.export_csv(tmp_path / "l.csv")
    assert (tmp_path / "l.csv").read_text().count("\n") == len(window.loader) + 1


def test_file_dialog_filter_comes_from_the_reader_registry():
    from udl_core.formats import readers
    from udl_gui.main_window import file_dialog_filter

    text = file_dialog_filter()
    assert text.startswith("Datasets (") and text.endswith("All files (*)")
    for spec in readers():
        for ext in spec.extensions:
            assert f"*{ext}" in text


def test_recent_files_menu(qtbot, window, known_csv, tmp_path):
    load(qtbot, window, known_csv)
    other = tmp_path / "other.csv"
    other.write_text(known_csv.read_text())
    load(qtbot, window, other)
    assert window.recent_files()[:2] == [str(other), str(known_csv)]
    actions = [a.text() for a in window.menus.recent_menu.actions() if a.text()]
    assert actions[:2] == [str(other), str(known_csv)]
    next(a for a in window.menus.recent_menu.actions() if a.text() == str(known_csv)).trigger()
    wait_idle(qtbot, window)
    assert child(window, "datasetPathEdit").text() == str(known_csv)
    assert window.settings.value("lastFolder") == str(tmp_path)


def test_menus_follow_platform_conventions(window):
    from PySide6.QtGui import QKeySequence

    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&View", "&Run", "&Help"]
    assert window.menus.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)


def test_udl_gui_command_opens_the_window_on_the_path(monkeypatch):
    import argparse

    from udl_gui import main as gui_main

    seen = []
    monkeypatch.setattr(gui_main, "main", lambda argv=None: seen.append(argv) or 0)
    assert gui_main.run_from_cli(argparse.Namespace(path="data.csv")) == 0
    assert gui_main.run_from_cli(argparse.Namespace(path=None)) == 0
    assert seen == [["data.csv"], []]


def test_checks_panel_gets_the_loaded_dataset(qtbot, window, known_csv):
    assert window.side_tabs.tabText(1) == "Checks"
    assert not window.checks_panel.run_button.isEnabled()
    load(qtbot, window, known_csv)
    assert window.checks_panel.run_button.isEnabled()


def test_the_excepthook_reports_to_the_window_and_keeps_running(window, monkeypatch, capsys):
    import sys

    from udl_gui.main import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook(window)
    try:
        raise ValueError("an unexpected slip")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert "an unexpected slip" in window.last_error_box.text()
    assert "ValueError" in capsys.readouterr().err
    window.last_error_box.close()
    assert window.isVisible()


def test_a_file_name_that_is_not_utf8_reaches_the_loader_exactly(qtbot, window, known_csv, tmp_path, monkeypatch):
    """Qt cannot show a name kept by Python as surrogates; the window still hands the exact path on."""
    import os

    from udl_gui import jobs

    odd = os.fsdecode(str(tmp_path).encode() + b"/caf\xe9.csv")
    with open(odd, "w", encoding="utf-8") as handle:
        handle.write(known_csv.read_text())
    seen = []
    real = jobs.load_job

    def spy(path, **kwargs):
        seen.append(path)
        return (yield from real(path, **kwargs))

    monkeypatch.setattr(jobs, "load_job", spy)
    window.load(odd)
    wait_idle(qtbot, window)
    assert seen == [odd]
    assert window.dataset_row.path() == odd
    if window.last_error_box is not None:  # the loader's verdict on such names is its own
        window.last_error_box.close()


def test_split_dropped_finds_the_labels_file_by_name():
    from udl_gui.files import split_dropped

    assert split_dropped(["/d/y.npy", "/d/X.npy"]) == ("/d/X.npy", "/d/y.npy")
    assert split_dropped(["/d/features.csv", "/d/labels.csv"]) == ("/d/features.csv", "/d/labels.csv")
    assert split_dropped(["/d/a.csv", "/d/b.csv"]) == ("/d/a.csv", None)
    assert split_dropped(["/d/a.csv"]) == ("/d/a.csv", None)
