"""The main window: drop a dataset, see its schema and batches, Run to walk or train, watch it learn.

The window lays out the widgets and wires them to the pieces that do the work:

* `DatasetController` (udl_gui/dataset_controller.py): the dataset row, Open, Open Recent, drops
  and the schema panel's overrides; what each load is asked with and what each file remembers.
* `RunController` (udl_gui/run_controller.py): Run, Stop, the device probe and the warm-up; it
  hears every job of the window's one `JobRunner` lane (udl_gui/job_runner.py) and shows what
  they say through the `RunMonitor`.
* `Menus` (udl_gui/menus.py): the menu bar, which says what was asked for through signals.

The GUI thread never waits on a job except in `closeEvent`, which stops and joins them all.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (QLabel, QMainWindow, QMessageBox, QPlainTextEdit, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from udl_core.wording import plural
from udl_gui import jobs
from udl_gui.batch_view import BatchView
from udl_gui.budget_dialog import ask_memory_budget
from udl_gui.controls import DatasetRow
from udl_gui.dataset_controller import DatasetController
from udl_gui.drop_overlay import DropOverlay
from udl_gui.files import file_dialog_filter
from udl_gui.job_runner import JobRunner
from udl_gui.label_banner import LabelGuessBanner
from udl_gui.launch_dialog import show_launch_dialog
from udl_gui.menus import Menus, about_box
from udl_gui.plot_exports import PlotExports
from udl_gui.preferences import Preferences
from udl_gui.results_panel import ResultsPanel
from udl_gui.run_controller import RunController
from udl_gui.schema_panel import SchemaPanel
from udl_gui.training_panel import TrainingPanel
from udl_gui.worker import Job

__all__ = ["MainWindow", "file_dialog_filter"]  # file_dialog_filter lives in udl_gui.files

APP_NAME = "UDL"
SIDE_MIN_WIDTH = 200  # the Schema / Checks tabs


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self.settings = settings if settings is not None else QSettings("UDL", "UDL")
        self.preferences = Preferences(self.settings)
        self.last_error_box: QMessageBox | None = None
        self._about_box: QMessageBox | None = None
        self.runner = JobRunner(self)
        self._build_widgets()
        self.menus = Menus(self)
        self.dataset = DatasetController(self.dataset_row, self.label_banner, self.runner, self.controls,
                                         self.preferences, self.menus, self.log, self.show_error, self)
        self.run_controller = RunController(self.runner, self.dataset, self.training_panel,
                                            (self.rate_label, self.wait_label, self.device_label),
                                            self.log, self.show_error, self)
        self.exports = PlotExports(self, self.loss_plot, self.dataset, self.log, self.show_error)
        self._wire()
        self.preferences.restore(self)
        self._name_for_accessibility()

    # -- construction ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.dataset_row = DatasetRow()
        self.schema_panel = SchemaPanel()
        self._checks_panel: Any = None  # built on first use: its module imports MLX (see checks_panel)
        self._checks_placeholder = QLabel("The pipeline checks appear here once a dataset is loaded.")
        self._checks_placeholder.setWordWrap(True)
        self._checks_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.batch_view = BatchView()
        self.batch_toolbar = self.batch_view.toolbar
        self.batch_model = self.batch_view.model
        self.batch_table = self.batch_view.table
        self.training_panel = panel = TrainingPanel()
        self.controls, self.loss_plot, self.health_strip = panel.controls, panel.loss_plot, panel.health_strip
        self.progress_bar, self.log_scale_check = panel.progress_bar, panel.log_scale_check
        self.clear_runs_button = panel.clear_runs_button
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("logView")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_view.setPlaceholderText("What UDL does and finds is logged here.")

        self.label_banner = LabelGuessBanner()
        batches = QWidget()
        column = QVBoxLayout(batches)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.label_banner)
        column.addWidget(self.batch_view, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(batches)
        right.addWidget(self.training_panel)
        right.addWidget(self.log_view)
        right.setChildrenCollapsible(False)
        right.setSizes([300, 430, 130])
        main = QSplitter(Qt.Orientation.Horizontal)
        self.side_tabs = QTabWidget()
        self.side_tabs.setObjectName("sideTabs")
        self.side_tabs.addTab(self.schema_panel, "Schema")
        self.side_tabs.addTab(self._checks_placeholder, "Checks")
        # the run's settings, for the Results tab's k-fold of short trainings
        self.results_panel = ResultsPanel(self.runner, lambda: self.run_controller.training_config())
        self.side_tabs.addTab(self.results_panel, "Results")
        self.results_panel.follow(self.batch_view)   # a clicked suspect shows its row in the batch table
        main.addWidget(self.side_tabs)
        main.addWidget(right)
        main.setChildrenCollapsible(False)
        # The side panel gives way on a small screen: its text wraps down to SIDE_MIN_WIDTH, and
        # dragging the handle to the left edge folds it away (the window fits 1,024 px).
        self.side_tabs.setMinimumWidth(SIDE_MIN_WIDTH)
        main.setCollapsible(0, True)
        main.setSizes([340, 1060])
        self._splitters = {"main": main, "right": right, "charts": panel.charts}

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.dataset_row)
        layout.addWidget(main, 1)
        self.setCentralWidget(central)

        self.drop_overlay = DropOverlay(self)

        status = self.statusBar()
        self.device_label = QLabel("device: \u2026")
        self.device_label.setObjectName("deviceLabel")
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("rateLabel")
        self.wait_label = QLabel("")
        self.wait_label.setObjectName("waitLabel")
        self.wait_label.setToolTip("Share of the time spent waiting for data against time in the training step")
        for label in (self.rate_label, self.wait_label, self.device_label):
            status.addPermanentWidget(label)
        screen = self.screen().availableGeometry()   # a first start on a laptop fits its screen
        self.resize(min(1400, screen.width()), min(900, screen.height()))

    def _wire(self) -> None:
        m, toolbar = self.menus, self.batch_toolbar
        m.export_png_requested.connect(self.exports.export_png)
        m.export_csv_requested.connect(self.exports.export_csv)
        m.export_tensors_requested.connect(self.exports.export_tensors)
        m.memory_budget_requested.connect(lambda: ask_memory_budget(self))
        m.quit_requested.connect(self.close)
        m.log_scale_toggled.connect(self.log_scale_check.setChecked)
        self.log_scale_check.toggled.connect(m.log_scale_action.setChecked)
        m.clear_runs_requested.connect(self.loss_plot.clear_previous)
        m.raw_toggled.connect(lambda raw: (toolbar.raw_button if raw else toolbar.processed_button).setChecked(True))
        toolbar.raw_button.toggled.connect(m.show_raw)
        m.batch_stepped.connect(toolbar.index_spin.stepBy)
        m.clear_log_requested.connect(self.log_view.clear)
        m.run_requested.connect(self.run)
        m.stop_requested.connect(self.stop)
        m.about_requested.connect(self._on_menus_about_requested)
        m.launch_requested.connect(lambda: show_launch_dialog(self))
        self.batch_view.shown.connect(self.health_strip.set_current)
        self.batch_view.problem.connect(lambda text: self.log(text, "warning"))
        self.schema_panel.overridesRequested.connect(self.dataset.reload_with)
        self.drop_overlay.dropped.connect(self.dataset.open_dropped)
        self.dataset.rebatched.connect(self._on_dataset_rebatched)
        self.dataset.loaded.connect(self._on_dataset_loaded)
        self.run_controller.probed.connect(self._build_checks_panel)   # MLX is imported by now, on its thread

    def _name_for_accessibility(self) -> None:
        names = {
            self.dataset_row.path_edit: "Dataset path", self.dataset_row.open_button: "Open dataset",
            self.dataset_row.labels_edit: "Labels file path", self.dataset_row.label_combo: "Label column",
            self.batch_table: "Batch table", self.batch_toolbar.index_spin: "Batch index",
            self.controls.train_switch: "Train model", self.controls.device_combo: "Device",
            self.controls.epochs_spin: "Epochs", self.controls.batch_size_spin: "Batch size",
            self.controls.lr_spin: "Learning rate", self.controls.run_button: "Run",
            self.controls.stop_button: "Stop", self.progress_bar: "Progress", self.log_view: "Log",
        }
        for widget, name in names.items():
            widget.setAccessibleName(name)

    @property
    def checks_panel(self) -> Any:
        return self._build_checks_panel()

    def _build_checks_panel(self, _info: object = None) -> Any:
        """The Checks tab, built on first use. Its module imports MLX, so the window builds it
        once the device probe has imported MLX on the worker thread, not at start-up."""
        if self._checks_panel is None:
            from udl_gui.checks_panel import ChecksPanel

            panel = ChecksPanel(runner=self.runner)   # one lane: Stop and every other job stop the checks
            panel.checks_finished.connect(self._on_checks_finished)
            panel.checks_stopped.connect(lambda results: self.schema_panel.show_check_results(results, stopped=True))
            index = self.side_tabs.indexOf(self._checks_placeholder)
            current = self.side_tabs.currentIndex()
            self.side_tabs.removeTab(index)
            self.side_tabs.insertTab(index, panel, "Checks")
            self.side_tabs.setCurrentIndex(current)
            self._checks_placeholder.deleteLater()
            self._checks_panel = panel
            if self.loader is not None:
                panel.set_loader(self.loader)
        return self._checks_panel

    # -- what others call --------------------------------------------------------------------
    @property
    def loader(self) -> Any:
        """The loaded dataset's `UnifiedDataLoader` (None before the first load)."""
        return self.dataset.loader

    @property
    def busy(self) -> bool:
        return self.runner.busy

    @property
    def job(self) -> Job | None:
        return self.runner.current

    @property
    def last_walk(self) -> jobs.WalkSummary | None:
        return self.run_controller.last_walk

    @property
    def last_train(self) -> jobs.TrainSummary | None:
        return self.run_controller.last_train

    def load(self, path: str | Path | None = None, *, labels: str | None = None, run_after: bool = False,
             **overrides: Any) -> Job | None:
        """Load `path` (None: the path field, as typed) on the worker thread; the old dataset stays until it succeeds."""
        return self.run_controller.load(path, labels=labels, run_after=run_after, **overrides)

    def reload(self, **overrides: Any) -> Job | None:
        return self.load(**overrides)

    def loader_kwargs(self) -> dict[str, Any]:
        return self.dataset.loader_kwargs()

    def run(self) -> Job | None:
        return self.run_controller.run()

    def stop(self) -> None:
        self.run_controller.stop()

    def stop_all(self, wait: bool = True) -> None:
        self.run_controller.stop_all(wait=wait)

    def recent_files(self) -> list[str]:
        return self.preferences.recent_files()

    def save_settings(self) -> None:
        self.preferences.save(self)

    # -- slots ---------------------------------------------------------------------------------
    def _on_dataset_loaded(self, loader: Any, _other_file: bool) -> None:
        path = str(getattr(loader, "path", None) or self.dataset_row.path())
        self.setWindowTitle(f"{Path(path).name} \u2014 {APP_NAME}")
        self.menus.launch_action.setEnabled(True)   # a loaded dataset has a launch command
        # one panel a frame: columns, class counts, the batch table (filled, then painted), the health
        self.run_controller.stage_loaded(loader, [self._show_loaded_schema, self.schema_panel.show_classes,
                                                  *self.run_controller.fill_then_paint(self.batch_view,
                                                                                       self.batch_view.set_loader)])

    def _show_loaded_schema(self, loader: Any) -> None:
        self.schema_panel.show_columns(loader)
        self.results_panel.set_loader(loader)
        if self._checks_panel is not None:
            self._checks_panel.set_loader(loader)

    def _on_dataset_rebatched(self) -> None:
        self.batch_view.update_range()
        self.batch_view.show_batch()

    def _on_checks_finished(self, results: list[Any]) -> None:
        flagged = self.checks_panel.warning_messages()
        self.log(f"pipeline checks: {plural(len(results) - len(flagged), 'check')} passed, "
                 f"{len(flagged):,} warned or failed", "warning" if flagged else "info")
        for line in flagged:
            self.log(line, "warning")
        self.schema_panel.show_check_results(results)

    def _on_menus_about_requested(self) -> None:
        self._about_box = about_box(self)

    # -- messages ------------------------------------------------------------------------------
    def log(self, message: str, level: str = "info") -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = "\u26a0 " if level == "warning" else ("\u2716 " if level == "error" else "")
        self.log_view.appendPlainText(f"{stamp}  {prefix}{message}")

    def show_error(self, title: str, message: str, details: str | None = None) -> QMessageBox:
        """A window-modal, non-blocking message box (tests find it as `last_error_box`)."""
        self.log(f"{title}: {message}", "error")
        if self.last_error_box is not None:
            self.last_error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        box.open()
        self.last_error_box = box
        return box

    def report_exception(self, exc_type: type, exc: BaseException, tb: Any) -> None:
        """The sys.excepthook's target: log and show, never abort."""
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        self.log_view.appendPlainText(details.rstrip())
        self.show_error("Unexpected error", f"{exc_type.__name__}: {exc}\n\nUDL keeps running; the details are in "
                        "the log.", details)

    # -- lifetime ------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.run_controller.closed = False
        if self.run_controller.probe is None:
            QTimer.singleShot(0, self.run_controller.probe_device)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_settings()
        self.run_controller.close()
        if self._checks_panel is not None:
            self._checks_panel.close()  # stops and joins its job
        super().closeEvent(event)
