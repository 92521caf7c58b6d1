"""The main window: drop a dataset, see its schema and batches, Run to walk or train, watch it learn.

Every long job (load, walk, train) runs as a `Job` on a QThread through the window's
`JobRunner` (udl_gui/job_runner.py), which cancels the job before a new one and passes on only
the current job's events; the device probe is a `Job` of its own. The GUI thread never waits
on a job except in `closeEvent`, which stops and joins. Dropped files arrive through the
`DropOverlay` (udl_gui/drop_overlay.py).
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from udl_core.errors import UDLError
from udl_core.events import EpochMetrics, Notice, Progress
from udl_core.wording import duration, plural
from udl_gui import jobs
from udl_gui.batch_view import BatchView
from udl_gui.controls import DatasetRow
from udl_gui.dataset_controller import DatasetController
from udl_gui.drop_overlay import DropOverlay
from udl_gui.files import file_dialog_filter
from udl_gui.menus import build_menus
from udl_gui.job_runner import JobRunner
from udl_gui.label_banner import LabelGuessBanner
from udl_gui.preferences import Preferences
from udl_gui.run_monitor import RunMonitor
from udl_gui.schema_panel import SchemaPanel
from udl_gui.training_panel import TrainingPanel
from udl_gui.worker import Job, mlx_thread

__all__ = ["MainWindow", "file_dialog_filter"]  # file_dialog_filter lives in udl_gui.files

APP_NAME = "UDL"
STAGE_MS = 20  # between the panels filled after a load: about a frame


SIDE_MIN_WIDTH = 200  # the Schema / Checks tabs
class MainWindow(QMainWindow):
    warmed = Signal(object)   # a WarmResult: MLX's compiled step is ready (udl_core.training.warmup)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self.settings = settings if settings is not None else QSettings("UDL", "UDL")
        self.preferences = Preferences(self.settings)
        self.last_error_box: QMessageBox | None = None
        self.last_walk: jobs.WalkSummary | None = None
        self.last_train: jobs.TrainSummary | None = None
        self.runner = JobRunner(self)
        self._probe: Job | None = None
        self._warmups: list[Job] = []   # kept until done: a Job dropped while it runs crashes Qt
        self._run_after_load = False
        self._gpu: tuple[bool, str] | None = None
        self._load_health: jobs.BatchHealth | None = None
        self._staging = False

        self._build_widgets()
        self.dataset = DatasetController(self.dataset_row, self.label_banner, self.runner, self.controls,
                                         self.preferences, self.log, self)
        build_menus(self)
        self._rebuild_recent_menu()
        self._wire()
        self.preferences.restore(self)
        self._set_busy(None)
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
        self.training_panel = TrainingPanel()
        panel = self.training_panel
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
        main.addWidget(self.side_tabs)
        main.addWidget(right)
        main.setChildrenCollapsible(False)
        main.setSizes([340, 1060])
        self._splitters = {"main": main, "right": right, "charts": panel.charts}

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.dataset_row)
        layout.addWidget(main, 1)
        # The side panel gives way on a small screen: its text wraps down to SIDE_MIN_WIDTH, and
        # dragging the handle to the left edge folds it away (the window fits 1,024 px).
        self.side_tabs.setMinimumWidth(SIDE_MIN_WIDTH)
        main.setCollapsible(0, True)
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
        self.monitor = RunMonitor(self.progress_bar, self.rate_label, self.wait_label, self.loss_plot, self.log)
        screen = self.screen().availableGeometry()   # a first start on a laptop fits its screen
        self.resize(min(1400, screen.width()), min(900, screen.height()))

    def _wire(self) -> None:
        row = self.dataset_row
        row.path_edit.returnPressed.connect(self._on_path_edit_return_pressed)
        row.open_button.clicked.connect(self._on_open_triggered)
        row.folder_button.clicked.connect(self._on_open_folder_triggered)
        row.labels_button.clicked.connect(self._on_labels_button_clicked)
        row.labels_edit.returnPressed.connect(lambda: self.reload())
        row.label_combo.activated.connect(self._on_label_combo_activated)
        self.batch_view.shown.connect(self.health_strip.set_current)
        self.batch_view.problem.connect(lambda text: self.log(text, "warning"))
        c = self.controls
        c.run_button.clicked.connect(self.run)
        c.stop_button.clicked.connect(self.stop)
        c.batch_size_spin.valueChanged.connect(self._on_batch_size_changed)
        c.seed_spin.valueChanged.connect(self._on_loader_option_changed)
        self.log_scale_check.toggled.connect(self.log_scale_action.setChecked)
        self.schema_panel.overridesRequested.connect(self._on_schema_overrides_requested)
        self.drop_overlay.dropped.connect(self._on_drop_overlay_dropped)
        self.dataset.loaded.connect(self._on_dataset_loaded)
        r = self.runner
        r.started.connect(self._on_runner_started)
        r.progressed.connect(self._on_runner_progressed)
        r.returned.connect(self._on_runner_returned)
        r.errored.connect(self._on_runner_errored)
        r.cancelled.connect(self._on_runner_cancelled)
        r.finished.connect(self._on_runner_finished)

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

    def _build_checks_panel(self) -> Any:
        """The Checks tab, built on first use. Its module imports MLX, so the window builds it
        once the device probe has imported MLX on the worker thread, not at start-up."""
        if self._checks_panel is None:
            from udl_gui.checks_panel import ChecksPanel

            panel = ChecksPanel(runner=self.runner)   # one lane: Stop and every other job stop the checks
            panel.checks_finished.connect(self._on_checks_finished)
            panel.checks_stopped.connect(self._on_checks_stopped)
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

    # -- settings ------------------------------------------------------------------------
    def save_settings(self) -> None:
        self.preferences.save(self)

    def recent_files(self) -> list[str]:
        return self.preferences.recent_files()

    def _remember(self, path: str) -> None:
        self.preferences.remember(path)
        self._rebuild_recent_menu()

    def _last_folder(self) -> str:
        return self.preferences.last_folder()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.load(p))
        self.recent_menu.setEnabled(bool(recent))
        if recent:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear Menu")
            clear.triggered.connect(self._on_clear_recent_triggered)

    def _on_clear_recent_triggered(self) -> None:
        self.preferences.clear_recent()
        self._rebuild_recent_menu()

    # -- jobs ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    @property
    def job(self) -> Job | None:
        return self.runner.current

    @property
    def _jobs(self) -> list[Job]:
        return self.runner.jobs

    def _set_busy(self, kind: str | None) -> None:
        c = self.controls
        busy = kind is not None
        c.run_button.setEnabled(not busy)
        c.stop_button.setEnabled(busy)

    @Slot(str)
    def _on_runner_started(self, kind: str) -> None:
        self._set_busy(kind)
        self.monitor.begin(kind)

    @Slot(str, object)
    def _on_runner_progressed(self, kind: str, event: Any) -> None:
        if isinstance(event, jobs.StepLosses):
            self.monitor.on_steps(event)
        elif isinstance(event, jobs.BatchHealth):
            if kind == "load":
                self._load_health = event  # shown once the loaded dataset's classes are known
            else:
                self.health_strip.add(event)
        elif isinstance(event, Progress):
            self.monitor.on_progress(event)
        elif isinstance(event, Notice):
            if kind == "load":
                self.dataset.on_notice(event)
            else:
                self.log(event.message, event.level)
        elif isinstance(event, EpochMetrics):
            self.monitor.on_epoch(event)
        elif kind != "checks":   # the Checks panel lists the checks' verdicts
            self.log(str(event))

    @Slot(str, object)
    def _on_runner_returned(self, kind: str, result: Any) -> None:
        if kind == "load":
            self.dataset.on_loaded(result)
        elif kind == "walk":
            self.last_walk = result
            self.monitor.on_walked(result)
        elif kind == "train":
            self.last_train = result
            self.device_label.setText(f"device: {result.device}")
            self.monitor.on_trained(result)

    @Slot(str, object)
    def _on_runner_errored(self, kind: str, exc: BaseException) -> None:
        self._run_after_load = False
        what = {"load": "Could not load the dataset", "walk": "Walking the batches failed",
                "train": "Training stopped with an error", "checks": "The pipeline checks stopped with an error"
                }.get(kind, "The job failed")
        self.monitor.ended(f"{kind} failed")
        if kind == "load":
            self.dataset.on_failed()   # the dataset on screen stays
        if isinstance(exc, UDLError):
            self.show_error(what, str(exc))
        else:
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.show_error(what, f"{type(exc).__name__}: {exc}", details)

    @Slot(str)
    def _on_runner_cancelled(self, kind: str) -> None:
        self._run_after_load = False
        if kind == "load":
            self.dataset.on_stopped()
        self.monitor.ended(f"{kind} stopped")
        self.log(f"{kind} stopped")

    @Slot(str)
    def _on_runner_finished(self, _kind: str) -> None:
        if self._staging:
            return  # _end_load ends the load, once the staged panels are filled
        self._set_busy(None)
        self.loss_plot.flush()
        self.health_strip.flush()
        if self._run_after_load and self.loader is not None:
            self._run_after_load = False
            QTimer.singleShot(0, self.run)

    def stop(self) -> None:
        job = self.runner.stop()
        if job is not None:
            self.log(f"stopping {job.name}\u2026")
            self.controls.stop_button.setEnabled(False)

    def stop_all(self, wait: bool = True) -> None:
        self.runner.stop_all(wait=wait)
        for job in [self._probe, *self._warmups]:
            if job is not None and job.running:
                job.stop(wait=wait)

    # -- loading -------------------------------------------------------------------------
    @property
    def loader(self) -> Any:
        """The loaded dataset's `UnifiedDataLoader` (None before the first load)."""
        return self.dataset.loader

    def loader_kwargs(self) -> dict[str, Any]:
        return self.dataset.loader_kwargs()

    def load(self, path: str | Path | None = None, *, labels: str | None = None, run_after: bool = False,
             **overrides: Any) -> Job | None:
        """Load `path` (None: the path field, as typed) on the worker thread; the old dataset stays until it succeeds."""
        job = self.dataset.load(path, labels=labels, **overrides)
        self._run_after_load = run_after and job is not None
        if job is None:
            self.show_error("No dataset", "Type a path, press Open, or drop a file or folder on the window.")
        return job

    def reload(self, **overrides: Any) -> Job | None:
        return self.load(**overrides)

    def _on_dataset_loaded(self, loader: Any, other_file: bool) -> None:
        if other_file:
            self.loss_plot.clear_all()  # runs on another dataset are no comparison
        self.rate_label.clear()         # the last run's rate was another loader's
        self.wait_label.clear()
        seconds = self.monitor.elapsed
        path = str(getattr(loader, "path", None) or self.dataset_row.path())
        self._remember(self.dataset.loaded_settings.path)
        self.setWindowTitle(f"{Path(path).name} \u2014 {APP_NAME}")
        rows = getattr(getattr(loader, "table", None), "num_rows", None)
        self.monitor.set_fraction(1.0, f"loaded {plural(rows, 'row')} in {duration(seconds)}" if rows is not None
                                  else f"loaded in {duration(seconds)}")
        # The panels are filled one per frame: the whole window relaid out and repainted at
        # once was the longest stall of a load (bench_gui: 100-130 ms on 2 busy cores).
        self._staging = True
        self._stage_loaded(loader, [self._show_loaded_schema, self.batch_view.set_loader, self._show_loaded_health])

    def _stage_loaded(self, loader: Any, steps: list) -> None:
        """Run `steps` (each takes the loader) ~one frame apart, then end the load."""
        if loader is not self.loader:
            return  # a newer load took over: its own staging shows it and ends it
        if steps:
            QTimer.singleShot(STAGE_MS, self, lambda: (steps[0](loader), self._stage_loaded(loader, steps[1:])))
        else:
            self._end_load()

    def _show_loaded_schema(self, loader: Any) -> None:
        self.schema_panel.show_loader(loader)
        if self._checks_panel is not None:
            self._checks_panel.set_loader(loader)

    def _show_loaded_health(self, loader: Any) -> None:
        self.health_strip.reset(tuple(loader.classes or ()) if loader.task == "classification" else ())
        if self._load_health is not None:
            self.health_strip.add(self._load_health)
            self._load_health = None
            self.health_strip.flush()

    def _end_load(self) -> None:
        self._staging = False
        self.warm_up(self.loader)
        if self.job is not None and not self.job.active:
            self._set_busy(None)
            if self._run_after_load and self.loader is not None:
                self._run_after_load = False
                QTimer.singleShot(0, self.run)

    # -- the batch table -----------------------------------------------------------------
    def _batch_size(self) -> int:
        return int(getattr(self.loader, "batch_size", None) or self.controls.batch_size_spin.value())

    def batch_count(self, split: str | None = None) -> int:
        return self.batch_view.batch_count(split)

    def _on_loader_option_changed(self, _value: int) -> None:
        if self.loader is not None and not self.busy:
            self.reload()

    def _on_batch_size_changed(self, value: int) -> None:
        if self.loader is not None and not self.busy:
            self._apply_batch_size()

    def _apply_batch_size(self) -> None:
        """The loader re-batches in place (no reload): only the split and the seed need one."""
        value = self.controls.batch_size_spin.value()
        if self.loader is None or self.loader.batch_size == value:
            return
        self.loader.batch_size = value
        self.log(f"batch size {value}: {plural(len(self.loader), 'training batch')}")
        self.batch_view.update_range()
        self.batch_view.show_batch()

    def _needs_reload(self) -> bool:
        if self.loader is not None:
            self._apply_batch_size()
        return self.dataset.needs_reload()

    # -- running -------------------------------------------------------------------------
    def run(self) -> Job | None:
        """Walk every batch (TRAIN_MODEL off) or train (on); loads first when needed."""
        if self.busy:
            return None
        if self._needs_reload():
            return self.load(run_after=True)
        if self.controls.train_switch.isChecked():
            return self._start_training()
        self.health_strip.reset(tuple(self.loader.classes or ()) if self.loader.task == "classification" else ())
        self.log(f"walking {plural(len(self.loader), 'training batch')}")
        return self.runner.start("walk", jobs.walk_job, self.loader)

    def _start_training(self) -> Job:
        c = self.controls
        config = {"epochs": c.epochs_spin.value(), "learning_rate": c.lr_spin.value(),
                  "model": c.model_combo.currentText(), "device": c.device(), "seed": c.seed_spin.value()}
        settings = {"model": config["model"], "epochs": config["epochs"], "batch size": self._batch_size(),
                    "learning rate": f"{config['learning_rate']:g}", "device": config["device"],
                    "dataset": Path(str(getattr(self.loader, "path", ""))).name}
        self.monitor.start_training(len(self.loader), config["epochs"], self._batch_size(), settings)
        self.log(f"training {config['model']} for {plural(config['epochs'], 'epoch')}, lr {config['learning_rate']:g}, "
                 f"device {config['device']}, {plural(len(self.loader), 'batch')} of {self._batch_size()} per epoch")
        return self.runner.start("train", jobs.train_job, self.loader, thread=mlx_thread(), **config)

    # -- device --------------------------------------------------------------------------
    def probe_device(self) -> None:
        """Ask MLX for a GPU on a worker thread (MLX is imported there, not at start-up)."""
        if self._probe is not None:
            return
        self._probe = Job(jobs.probe_device_job, name="probe", thread=mlx_thread())
        self._probe.returned.connect(self._on_probe_returned)
        self._probe.errored.connect(lambda exc: self.device_label.setText(f"device: unknown ({exc})"))
        self._probe.start()

    def _on_probe_returned(self, info: jobs.DeviceInfo) -> None:
        self._gpu = (info.gpu, info.reason)
        self._build_checks_panel()  # MLX is imported by now, on the worker thread
        self.warm_up(self.loader)
        self.controls.set_gpu(info.gpu, info.reason)
        self.device_label.setText("device: GPU available" if info.gpu else "device: CPU (no GPU)")
        self.device_label.setToolTip(info.reason)
        if not info.gpu:
            self.log(f"no GPU: {info.reason}")

    def warm_up(self, loader: Any = None) -> Job:
        """Compile MLX's training step in the background, on the MLX thread, for `loader`'s
        shape (a small default before a load): the first run on a machine compiles its kernels
        (~12 s) while the user looks at the data, not after they press Run."""
        for old in self._warmups:
            old.stop()   # queued and not started: it ends at once; compiling: it finishes
        from udl_core.training.warmup import warm_step_job

        shape: dict[str, Any] = {}
        if loader is not None:
            classification = loader.task == "classification"
            shape = {"feature_dim": int(loader.feature_dim), "task": str(loader.task),
                     "out_dim": int(loader.num_classes) if classification else 1}
        shape["model"] = self.controls.model_combo.currentText()
        job = Job(warm_step_job, name="warmup", thread=mlx_thread(), **shape)
        job.progressed.connect(self._on_warmup_progressed)
        job.returned.connect(self._on_warmup_returned)
        job.done.connect(lambda: QTimer.singleShot(0, self, self._prune_warmups))
        self._warmups.append(job)
        job.start()
        return job

    def _prune_warmups(self) -> None:
        self._warmups = [job for job in self._warmups if job.running]

    def _on_warmup_progressed(self, event: object) -> None:
        if isinstance(event, Notice):
            self.log(f"{event.message} (in the background)")

    def _on_warmup_returned(self, result: Any) -> None:
        if result.compiled:
            self.log(f"kernels compiled in {duration(result.seconds)}")
        self.warmed.emit(result)

    # -- messages ------------------------------------------------------------------------
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

    # -- slots for the menus and rows ----------------------------------------------------
    def _on_open_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a dataset", self._last_folder(), file_dialog_filter())
        if path:
            self.load(path)

    def _on_open_folder_triggered(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images", self._last_folder())
        if path:
            self.load(path)

    def _on_labels_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a labels file", self._last_folder(), file_dialog_filter())
        if path:
            self.dataset_row.set_labels_path(path)
            if self.dataset_row.path():
                self.reload()

    def _on_path_edit_return_pressed(self) -> None:
        self.load()

    def _on_label_combo_activated(self, _index: int) -> None:
        if self.dataset_row.path():
            self.reload()   # the controller reads the label from the combo

    def _on_drop_overlay_dropped(self, data: str, labels: str, left_out: list) -> None:
        if left_out:
            names = ", ".join(Path(p).name for p in left_out)
            self.log(f"{plural(len(left_out) + 1, 'file')} dropped: loading {Path(data).name}"
                     f"{' with labels ' + Path(labels).name if labels else ''}; not loaded: {names}", "warning")
        self.load(data, labels=labels)

    def _on_schema_overrides_requested(self, overrides: dict) -> None:
        self.log("reloading with overrides: " + ", ".join(f"{k}={v}" for k, v in overrides.items() if v))
        self.reload(**overrides)

    def _on_checks_finished(self, results: list) -> None:
        flagged = self.checks_panel.warning_messages()
        self.log(f"pipeline checks: {plural(len(results) - len(flagged), 'check')} passed, "
                 f"{len(flagged):,} warned or failed",
                 "warning" if flagged else "info")
        for line in flagged:
            self.log(line, "warning")
        self.schema_panel.show_check_results(results)

    def _on_checks_stopped(self, results: list) -> None:
        self.schema_panel.show_check_results(results, stopped=True)

    def _input_paths(self) -> list[str | None]:
        """The dataset and labels files loaded and typed: an export never replaces one of them."""
        loaded = self.dataset.loaded_settings
        return [loaded and loaded.path, loaded and loaded.labels or None, getattr(self.loader, "path", None),
                self.dataset_row.path() or None, self.dataset_row.labels_path() or None]

    def _on_export_png_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the loss plot", str(Path(self._last_folder()) / "loss.png"),
                                              "PNG image (*.png)")
        if path:
            try:
                self.loss_plot.export_png(path, self._input_paths())
                self.log(f"saved the plot to {path}")
            except UDLError as exc:
                self.show_error("Could not save the plot", str(exc))
            except OSError as exc:
                self.show_error("Could not save the plot", f"{path}: {exc.strerror or exc}")

    def _on_export_csv_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the losses", str(Path(self._last_folder()) / "losses.csv"),
                                              "CSV (*.csv)")
        if path:
            try:
                self.loss_plot.export_csv(path, self._input_paths())
                self.log(f"saved the losses to {path}")
            except UDLError as exc:
                self.show_error("Could not save the losses", str(exc))
            except OSError as exc:
                self.show_error("Could not save the losses", f"{path}: {exc.strerror or exc}")

    def _on_about_triggered(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About UDL")
        box.setText("<b>UDL \u2014 Unified Data Loader</b>")
        box.setInformativeText("Drop a dataset, see its schema and the exact tensors of every batch, and flip "
                               "TRAIN_MODEL to watch a small MLX model learn from them.")
        box.setIcon(QMessageBox.Icon.Information)
        box.open()
        self._about_box = box

    # -- lifetime ------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._probe is None:
            QTimer.singleShot(0, self.probe_device)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_settings()
        self.stop_all(wait=True)
        if self._checks_panel is not None:
            self._checks_panel.close()  # stops and joins its job
        super().closeEvent(event)
