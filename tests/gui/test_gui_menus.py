"""The menus say what was asked for through signals; they write nothing into the window and call
none of its slots (issue 13). The window wires each signal to whoever does the work."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMainWindow

from gui_support import load
from udl_gui.menus import Menus

TRIGGERED = {
    "open_action": "open_requested",
    "reload_action": "reload_requested",
    "export_png_action": "export_png_requested",
    "export_csv_action": "export_csv_requested",
    "memory_budget_action": "memory_budget_requested",
    "run_action": "run_requested",
    "stop_action": "stop_requested",
}


@pytest.fixture
def bare(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    before = set(vars(window))
    menus = Menus(window)
    assert set(vars(window)) == before   # nothing written into the window
    return window, menus


def _action(window: QMainWindow, *path: str):
    actions = window.menuBar().actions()
    for text in path:
        action = next(a for a in actions if a.text() == text)
        actions = action.menu().actions() if action.menu() is not None else []
    return action


@pytest.mark.parametrize(("action", "signal"), list(TRIGGERED.items()))
def test_each_action_emits_its_signal(qtbot, bare, action, signal):
    _, menus = bare
    with qtbot.waitSignal(getattr(menus, signal), timeout=1000):
        getattr(menus, action).trigger()


def test_the_menu_items_without_an_attribute_emit_too(qtbot, bare):
    window, menus = bare
    for path, signal, args in ((("&File", "Open &Folder\u2026"), menus.open_folder_requested, []),
                               (("&File", "&Quit"), menus.quit_requested, []),
                               (("&View", "&Clear Previous Runs"), menus.clear_runs_requested, []),
                               (("&View", "&Previous Batch"), menus.batch_stepped, [-1]),
                               (("&View", "&Next Batch"), menus.batch_stepped, [1]),
                               (("&View", "Clear &Log"), menus.clear_log_requested, []),
                               (("&Help", "&About UDL"), menus.about_requested, [])):
        with qtbot.waitSignal(signal, timeout=1000) as emitted:
            _action(window, *path).trigger()
        assert emitted.args == args, path


def test_recent_files_are_listed_and_chosen_by_signal(qtbot, bare):
    _, menus = bare
    assert not menus.recent_menu.isEnabled()
    menus.set_recent(["/data/a.csv", "/data/b.parquet"])
    texts = [a.text() for a in menus.recent_menu.actions()]
    assert texts == ["/data/a.csv", "/data/b.parquet", "", "Clear Menu"] and menus.recent_menu.isEnabled()
    with qtbot.waitSignal(menus.recent_chosen, timeout=1000) as chosen:
        menus.recent_menu.actions()[1].trigger()
    assert chosen.args == ["/data/b.parquet"]
    with qtbot.waitSignal(menus.recent_cleared, timeout=1000):
        menus.recent_menu.actions()[-1].trigger()


def test_view_toggles_say_raw_or_processed_and_follow_the_view_quietly(qtbot, bare):
    _, menus = bare
    assert menus.processed_action.isChecked() and not menus.raw_action.isChecked()
    with qtbot.waitSignal(menus.raw_toggled, timeout=1000) as toggled:
        menus.raw_action.trigger()
    assert toggled.args == [True]
    with qtbot.waitSignal(menus.raw_toggled, timeout=1000) as toggled:
        menus.processed_action.trigger()
    assert toggled.args == [False]
    heard: list[bool] = []
    menus.raw_toggled.connect(heard.append)
    menus.show_raw(True)
    assert menus.raw_action.isChecked() and not menus.processed_action.isChecked()
    menus.show_raw(False)
    assert menus.processed_action.isChecked() and heard == []
    with qtbot.waitSignal(menus.log_scale_toggled, timeout=1000) as scaled:
        menus.log_scale_action.trigger()
    assert scaled.args == [True]


def test_the_window_wires_the_menus_to_the_work(qtbot, window, known_csv):
    """Open Recent loads through the dataset controller; Raw Rows switches the batch view; the
    log's Clear empties it; Reload reloads."""
    load(qtbot, window, known_csv)
    menus = window.menus
    assert [a.text() for a in menus.recent_menu.actions()][0] == str(known_csv)
    menus.raw_action.trigger()
    assert window.batch_toolbar.raw_button.isChecked()
    window.batch_toolbar.processed_button.setChecked(True)
    assert menus.processed_action.isChecked()
    with qtbot.waitSignal(window.runner.started, timeout=5000) as started:
        menus.reload_action.trigger()
    assert started.args == ["load"]
    qtbot.waitUntil(lambda: not window.job.active, timeout=30_000)
    menus.clear_log_requested.emit()
    assert window.log_view.toPlainText() == ""
