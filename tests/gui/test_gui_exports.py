"""The window's exports (loss plot PNG, losses CSV) never replace an input, a link, a device or a
FIFO: the window says so in its error dialog and stays alive (issue 9, defect 1)."""

from __future__ import annotations

import os
import shutil

import pytest
from PySide6.QtWidgets import QFileDialog

from conftest import SAMPLE
from gui_support import load, wait_idle

ACTIONS = {"png": "export_png_action", "csv": "export_csv_action"}


@pytest.fixture
def trained(qtbot, window, tmp_path):
    data = tmp_path / "data.csv"
    shutil.copy2(SAMPLE, data)
    load(qtbot, window, data)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(1)
    window.controls.device_combo.setCurrentText("CPU")
    window.controls.run_button.click()
    wait_idle(qtbot, window, 60_000)
    return window, data


@pytest.mark.parametrize("kind", list(ACTIONS))
@pytest.mark.parametrize("target", ["input", "fifo", "link", "folder"])
def test_an_export_onto_an_input_or_a_special_file_is_refused_with_a_dialog(trained, tmp_path, monkeypatch,
                                                                              kind, target):
    window, data = trained
    (tmp_path / "other.txt").write_text("someone's file\n")
    paths = {"input": data, "fifo": tmp_path / f"pipe.{kind}", "link": tmp_path / f"link.{kind}",
             "folder": tmp_path / f"dir.{kind}"}
    os.mkfifo(paths["fifo"])
    os.symlink(tmp_path / "other.txt", paths["link"])
    paths["folder"].mkdir()
    before = data.read_bytes()
    chosen = paths[target]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(chosen), "")))
    getattr(window.menus, ACTIONS[kind]).trigger()
    box = window.last_error_box
    assert box is not None and str(chosen) in box.text()
    box.close()
    assert data.read_bytes() == before
    assert paths["fifo"].is_fifo() and paths["link"].is_symlink() and paths["folder"].is_dir()
    assert (tmp_path / "other.txt").read_text() == "someone's file\n"
    assert window.isVisible()


def test_an_export_to_a_new_file_still_works(trained, tmp_path, monkeypatch):
    window, _ = trained
    target = tmp_path / "losses.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.menus.export_csv_action.trigger()
    assert window.last_error_box is None
    assert target.read_text().startswith("step,loss")
