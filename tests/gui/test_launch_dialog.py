"""Run > Run on Several Machines\u2026: the mlx.launch command for the window's configuration, live."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QDialog, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox

from gui_support import load
from udl_core.cli import build_parser
from udl_gui.launch_dialog import LaunchSettings

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "sample.csv"


def _train_args(command: list[str]):
    """`udl train`'s own parser over the command's udl part (`--distributed` aside, whoever parses it)."""
    assert command[command.index("--") + 2:command.index("--") + 4] == ["-m", "udl_core"]
    udl = command[command.index("udl_core") + 1:]
    assert "--distributed" in udl
    udl.remove("--distributed")
    return build_parser().parse_args(udl)


def _pair(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


@pytest.fixture
def dialog(qtbot, window):
    load(qtbot, window, SAMPLE)
    window.menus.launch_action.trigger()
    found = window.findChild(QDialog, "launchDialog")
    assert found is not None and found.isVisible() and not found.isModal()
    return found


def _command(dialog) -> list[str]:
    return shlex.split(dialog.findChild(QPlainTextEdit, "launchCommand").toPlainText())


def test_the_menu_item_waits_for_a_dataset(qtbot, window):
    action = window.menus.launch_action
    assert action.text().replace("&", "") == "Run on Several Machines\u2026"
    assert not action.isEnabled()
    action.trigger()   # a disabled action does nothing
    assert window.findChild(QDialog, "launchDialog") is None
    load(qtbot, window, SAMPLE)
    assert action.isEnabled()


def test_the_command_trains_the_loaded_dataset_with_the_windows_settings(window, dialog):
    command = _command(dialog)
    assert command[0].endswith("mlx.launch") and _pair(command, "-n") == "2" and _pair(command, "--backend") == "ring"
    assert "--hostfile" not in command and "--distributed" in command
    args = _train_args(command)
    assert args.command == "train" and Path(args.path) == SAMPLE
    assert args.label == window.dataset.loaded_label == "species"
    assert (args.model, args.epochs, args.batch_size) == ("mlp", 5, 32)   # the window's, not the CLI's defaults
    assert (args.lr, args.seed, args.device) == (0.001, 0, "auto")
    assert dialog.findChild(QPushButton, "launchCopy").isEnabled()


def test_the_command_follows_the_window_while_the_dialog_is_open(window, dialog):
    controls = window.controls
    for change, option, value in ((lambda: controls.epochs_spin.setValue(9), "epochs", 9),
                                  (lambda: controls.model_combo.setCurrentText("linear"), "model", "linear"),
                                  (lambda: controls.lr_spin.setValue(0.0025), "lr", 0.0025),
                                  (lambda: controls.device_combo.setCurrentText("CPU"), "device", "cpu"),
                                  (lambda: controls.batch_size_spin.setValue(16), "batch_size", 16),
                                  (lambda: controls.seed_spin.setValue(4), "seed", 4)):
        change()
        assert getattr(_train_args(_command(dialog)), option) == value, option


def test_the_command_follows_a_new_load(qtbot, window, dialog, known_csv):
    load(qtbot, window, known_csv, label="a")
    args = _train_args(_command(dialog))
    assert (Path(args.path), args.label) == (known_csv, "a")


def test_processes_hostfile_and_backend(qtbot, tmp_path, dialog):
    dialog.findChild(QSpinBox, "launchProcesses").setValue(3)
    assert _pair(_command(dialog), "-n") == "3"
    hostfile = tmp_path / "hosts.json"
    dialog.findChild(QLineEdit, "launchHostfile").setText(str(hostfile))
    command = _command(dialog)
    assert _pair(command, "--hostfile") == str(hostfile) and "-n" not in command
    assert not dialog.findChild(QSpinBox, "launchProcesses").isEnabled()
    dialog.findChild(QComboBox, "launchBackend").setCurrentText("mpi")
    assert _pair(_command(dialog), "--backend") == "mpi"
    dialog.findChild(QLineEdit, "launchHostfile").clear()
    assert _pair(_command(dialog), "-n") == "3"


def test_shard_reads_in_parts(qtbot, dialog):
    shard = dialog.findChild(QCheckBox, "launchShard")
    assert not shard.isChecked() and "--shard" not in _command(dialog)
    qtbot.mouseClick(shard, Qt.MouseButton.LeftButton)
    command = _command(dialog)
    assert "--shard" in command and _train_args(command).shard


def test_copy_puts_the_command_on_the_clipboard(qtbot, dialog):
    QApplication.clipboard().clear()
    qtbot.mouseClick(dialog.findChild(QPushButton, "launchCopy"), Qt.MouseButton.LeftButton)
    text = dialog.findChild(QPlainTextEdit, "launchCommand").toPlainText()
    assert text and QApplication.clipboard().text() == text


def test_the_menu_item_brings_back_the_same_dialog(window, dialog):
    dialog.close()
    window.menus.launch_action.trigger()
    assert window.findChildren(QDialog, "launchDialog") == [dialog] and dialog.isVisible()


def test_a_bundled_app_names_an_installed_python(qtbot, window, monkeypatch):
    from udl_gui import app_paths

    monkeypatch.setattr(app_paths, "frozen", lambda: True)   # the bundle's executable is the app, not a Python
    load(qtbot, window, SAMPLE)
    window.menus.launch_action.trigger()
    dialog = window.findChild(QDialog, "launchDialog")
    command = _command(dialog)
    assert command[command.index("--") + 1:command.index("--") + 4] == ["python3", "-m", "udl_core"]
    assert "python3" in dialog.findChild(QLabel, "launchAbout").text()


def test_settings_give_udl_trains_own_options():
    settings = LaunchSettings(dataset="/data/x.npy", label="f3", model="linear", epochs=2, batch_size=64,
                              learning_rate=0.01, seed=7, labels="/data/y.npy", ignore=("f0", "f1"),
                              categorical=("f2",), numeric=("f4",), device="gpu", memory_budget="2G")
    args = build_parser().parse_args(["train", settings.dataset, *settings.options()])
    assert (args.label, args.labels, args.model, args.epochs, args.batch_size, args.lr, args.seed) == (
        "f3", "/data/y.npy", "linear", 2, 64, 0.01, 7)
    assert (args.ignore, args.categorical, args.numeric, args.device) == (["f0", "f1"], ["f2"], ["f4"], "gpu")
    assert args.memory_budget == 2 * 1024**3
