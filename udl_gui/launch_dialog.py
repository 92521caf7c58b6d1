"""Run > Run on Several Machines\u2026: the `mlx.launch` command that trains the loaded dataset with the
window's settings over several processes or Macs, ready to copy (README, "Training on several
machines"). The window itself trains on one machine; it only shows the command.

The command is `udl_core.distributed.launch_command` with `udl train`'s options for the loaded
dataset (its path, label, labels file and the schema's overrides) and the training controls
(model, epochs, batch size, learning rate, seed; the device and the memory budget when set). The
dialog is not modal: the command follows the controls and each new load while it is open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from udl_core.distributed import launch_command, shell_line
from udl_gui import app_paths

__all__ = ["LaunchDialog", "LaunchSettings", "launch_settings", "show_launch_dialog"]

BACKENDS = ("ring", "mpi")
README = Path(__file__).resolve().parents[1] / "README.md"   # in a source checkout; not in the app bundle
SECTION = "Training on several machines"


@dataclass(frozen=True)
class LaunchSettings:
    """What `udl train` needs to repeat the window's run: the dataset as loaded and the controls."""

    dataset: str
    label: str | None
    model: str
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    labels: str = ""
    ignore: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    device: str = "auto"
    memory_budget: str = ""

    def options(self) -> list[str]:
        """`udl train`'s options (udl_core/cli.py, cli_args.py) for these settings, the path aside."""
        options = ["--label", self.label] if self.label else []
        if self.labels:
            options += ["--labels", self.labels]
        for flag, names in (("--ignore", self.ignore), ("--categorical", self.categorical),
                            ("--numeric", self.numeric)):
            for name in names:
                options += [flag, name]
        options += ["--model", self.model, "--epochs", str(self.epochs), "--batch-size", str(self.batch_size),
                    "--lr", f"{self.learning_rate:g}", "--seed", str(self.seed)]
        if self.device != "auto":
            options += ["--device", self.device]
        if self.memory_budget:
            options += ["--memory-budget", self.memory_budget]
        return options


def launch_settings(window: Any) -> LaunchSettings | None:
    """The main window's settings for a run of its loaded dataset; None before the first load."""
    loaded = window.dataset.loaded_settings
    if loaded is None:
        return None
    config = window.run_controller.training_config()
    return LaunchSettings(
        # absolute: mlx.launch starts each process in this folder only where it exists
        dataset=os.path.abspath(loaded.path), label=window.dataset.loaded_label,
        labels=os.path.abspath(loaded.labels) if loaded.labels else "",
        ignore=tuple(loaded.ignore), categorical=tuple(loaded.categorical), numeric=tuple(loaded.numeric),
        model=config["model"], epochs=config["epochs"], batch_size=window.controls.batch_size_spin.value(),
        learning_rate=config["learning_rate"], seed=config["seed"], device=config["device"],
        memory_budget=window.preferences.memory_budget_text().strip())


class LaunchDialog(QDialog):
    """The command for the window's configuration, the launch's own choices, and Copy."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self.setObjectName("launchDialog")
        self.setWindowTitle("Run on Several Machines")
        self.setModal(False)

        where = f'<a href="{QUrl.fromLocalFile(str(README)).toString()}">{SECTION}</a>' if README.exists() \
            else f"\u201c{SECTION}\u201d"
        # a bundled app has no Python that runs `-m udl_core`: the command names an installed one
        bundled = (" This app is a bundle: replace <code>python3</code> with the Python of an environment where "
                   "UDL is installed." if app_paths.frozen() else "")
        about = QLabel(f"This window trains on one machine. To share a run between several processes or Macs, "
                       f"run this command in a terminal: UDL and its Python must be at the same path on every "
                       f"machine, the dataset too. See {where} in the README.{bundled}")
        about.setObjectName("launchAbout")
        about.setWordWrap(True)
        about.setTextFormat(Qt.TextFormat.RichText)
        about.setOpenExternalLinks(True)

        self.processes_spin = QSpinBox()
        self.processes_spin.setObjectName("launchProcesses")
        self.processes_spin.setRange(1, 256)
        self.processes_spin.setValue(2)
        self.processes_spin.setToolTip("How many processes mlx.launch starts on this machine (-n)")
        self.hostfile_edit = QLineEdit()
        self.hostfile_edit.setObjectName("launchHostfile")
        self.hostfile_edit.setPlaceholderText("none: the processes run on this machine")
        self.hostfile_edit.setClearButtonEnabled(True)
        self.hostfile_edit.setToolTip('An MLX hostfile: a JSON list of {"ssh": host, "ips": [...]}, one per machine')
        browse = QPushButton("Browse\u2026")
        browse.setObjectName("launchHostfileBrowse")
        hostfile_row = QHBoxLayout()
        hostfile_row.addWidget(self.hostfile_edit, 1)
        hostfile_row.addWidget(browse)
        self.backend_combo = QComboBox()
        self.backend_combo.setObjectName("launchBackend")
        self.backend_combo.addItems(BACKENDS)
        self.backend_combo.setToolTip("ring: MLX's own, over TCP (Ethernet or Thunderbolt); mpi: needs OpenMPI "
                                      "on every machine")
        self.shard_check = QCheckBox("Each process reads only its part of the rows (--shard)")
        self.shard_check.setObjectName("launchShard")
        self.shard_check.setToolTip("Parquet row groups, NPY rows, CSV byte ranges: for data too large for one "
                                    "machine; the batch size must divide evenly by the processes")
        form = QFormLayout()
        form.addRow("Processes on this machine", _left(self.processes_spin))
        form.addRow("Or a hostfile", hostfile_row)
        form.addRow("Backend", _left(self.backend_combo))
        form.addRow("Reading", self.shard_check)

        self.command_edit = QPlainTextEdit()
        self.command_edit.setObjectName("launchCommand")
        self.command_edit.setReadOnly(True)
        self.command_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.command_edit.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.command_edit.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)   # it wraps
        self.command_edit.setPlaceholderText("Load a dataset first: the command trains the loaded dataset.")
        self.command_edit.setMinimumHeight(self.command_edit.fontMetrics().lineSpacing() * 6)
        self.command_edit.setAccessibleName("Launch command")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("launchCopy")
        self.copy_button.setToolTip("Put the command on the clipboard")
        self.copied_label = QLabel("")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        bottom = QHBoxLayout()
        bottom.addWidget(self.copied_label, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(QLabel("Command"))
        layout.addWidget(self.command_edit, 1)
        layout.addLayout(bottom)
        self.resize(640, 360)

        self.processes_spin.valueChanged.connect(self.refresh)
        self.hostfile_edit.textChanged.connect(self.refresh)
        self.backend_combo.currentTextChanged.connect(self.refresh)
        self.shard_check.toggled.connect(self.refresh)
        browse.clicked.connect(self._on_browse_clicked)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        buttons.rejected.connect(self.close)
        for signal in _changes(window):
            signal.connect(self.refresh)
        self.refresh()

    def command(self) -> str:
        """The command shown ("" before a dataset is loaded)."""
        return self.command_edit.toPlainText()

    def refresh(self, *_: object) -> None:
        """Show the command for the window's settings and the dialog's choices now."""
        hostfile = self.hostfile_edit.text().strip()
        self.processes_spin.setEnabled(not hostfile)
        settings = launch_settings(self._window)
        text = "" if settings is None else shell_line(launch_command(
            settings.dataset, settings.options() + (["--shard"] if self.shard_check.isChecked() else []),
            processes=self.processes_spin.value(),
            hostfile=os.path.expanduser(hostfile) if hostfile else None, backend=self.backend_combo.currentText(),
            python="python3" if app_paths.frozen() else None))
        if text != self.command():
            self.command_edit.setPlainText(text)
            self.copied_label.setText("")
        self.copy_button.setEnabled(bool(text))

    def _on_copy_button_clicked(self) -> None:
        QApplication.clipboard().setText(self.command())
        self.copied_label.setText("Copied to the clipboard.")

    def _on_browse_clicked(self) -> None:
        chooser = QFileDialog(self, "Choose an MLX hostfile", "", "Hostfiles (*.json);;All files (*)")
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.fileSelected.connect(self.hostfile_edit.setText)
        chooser.open()


def _left(widget: QWidget) -> QHBoxLayout:
    """`widget` at its own width, on the left of its form row."""
    row = QHBoxLayout()
    row.addWidget(widget)
    row.addStretch(1)
    return row


def _changes(window: Any) -> list[Any]:
    """The window's signals after which the command may read differently."""
    c = window.controls
    return [c.epochs_spin.valueChanged, c.batch_size_spin.valueChanged, c.lr_spin.valueChanged,
            c.seed_spin.valueChanged, c.model_combo.currentTextChanged, c.device_combo.currentTextChanged,
            window.dataset.loaded]


def show_launch_dialog(window: QWidget) -> LaunchDialog:
    """Open the window's one launch dialog (made on first use), or bring it to the front."""
    dialog = window.findChild(LaunchDialog, "launchDialog")
    if dialog is None:
        dialog = LaunchDialog(window)
    dialog.refresh()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
