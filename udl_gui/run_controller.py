"""Run, stop, the device probe and the warm-up: the window's jobs in its one lane, and what they say.

Every job runs in the window's `JobRunner`; the lane's signals are heard here once. Events and
results are dispatched by their type (`udl_core.events`, `udl_gui.jobs`, a loaded
`UnifiedDataLoader`), never by the job's name; where one type means two things (a load's
notices and batch health against a walk's or a run's), the job that sent it is told apart by
who started it (`JobRunner.reporting`). The job's name only words the bar and the log
("walk stopped", "load failed").

* Run walks every batch (TRAIN_MODEL off) or trains (on), loading first when the dataset row or
  the window's options ask for another dataset than the one on screen.
* Stop stops the current job (the checks included); a new job stops the one before it.
* The device probe (MLX is imported there, on the MLX thread) and the warm-up (MLX's compiled
  step for the loaded dataset's shape) run in the background: a load or a run does not stop them.
* After a load the window's panels are filled one per frame (`stage_loaded`); the load ends
  once they are: the warm-up starts and a Run that asked for the load goes on.
"""

from __future__ import annotations

import traceback
import weakref
from collections.abc import Callable
from functools import singledispatch
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QWidget

from udl_core.errors import UDLError
from udl_core.events import EpochMetrics, Notice, Progress
from udl_core.loader import UnifiedDataLoader
from udl_core.wording import duration, plural
from udl_gui import jobs
from udl_gui.dataset_controller import DatasetController
from udl_gui.job_runner import JobRunner
from udl_gui.run_monitor import RunMonitor
from udl_gui.training_panel import TrainingPanel
from udl_gui.worker import Job, mlx_thread

__all__ = ["RunController"]

STAGE_MS = 20  # between the panels filled after a load: about a frame
FAILED = {"load": "Could not load the dataset", "walk": "Walking the batches failed",
          "train": "Training stopped with an error", "checks": "The pipeline checks stopped with an error"}


def _ignored(_result: object) -> None:
    """A result no one here shows (the checks' verdicts: the Checks panel lists them)."""


class RunController(QObject):
    probed = Signal(object)   # a jobs.DeviceInfo: MLX is imported (on the MLX thread) and knows its devices
    warmed = Signal(object)   # a WarmResult: MLX's compiled step is ready (udl_core.training.warmup)

    def __init__(self, runner: JobRunner, dataset: DatasetController, panel: TrainingPanel,
                 labels: tuple[QLabel, QLabel, QLabel], log: Callable[..., None],
                 show_error: Callable[..., Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner, self.dataset, self.log, self.show_error = runner, dataset, log, show_error
        self.controls, self.loss_plot, self.health_strip = panel.controls, panel.loss_plot, panel.health_strip
        self.rate_label, self.wait_label, self.device_label = labels
        self.monitor = RunMonitor(panel.progress_bar, self.rate_label, self.wait_label, self.loss_plot, log)
        self.last_walk: jobs.WalkSummary | None = None
        self.last_train: jobs.TrainSummary | None = None
        self.gpu: tuple[bool, str] | None = None   # (available, why not), once probed
        self.probe: Job | None = None
        self.warmups: list[Job] = []
        self._run: weakref.ref[Job] | None = None   # the walk or training started last (the runner owns it)
        self._run_after_load = False
        self._load_health: jobs.BatchHealth | None = None
        self._staging = False
        self._held: list[QWidget] = []   # filled by a staged step with their updates off (`fill_then_paint`)
        self.closed = False   # the window closed: no new job (a staged load may still end after it)

        self._on_event = singledispatch(self._on_other_event)
        events: list[tuple[type, Callable[[Any], None]]] = [
            (jobs.StepLosses, self.monitor.on_steps), (jobs.BatchHealth, self._on_health),
            (Progress, self.monitor.on_progress), (Notice, self._on_notice), (EpochMetrics, self.monitor.on_epoch)]
        for kind, handler in events:
            self._on_event.register(kind, handler)
        self._on_result = singledispatch(_ignored)
        results: list[tuple[type, Callable[[Any], None]]] = [
            (UnifiedDataLoader, dataset.on_loaded), (jobs.WalkSummary, self._on_walked),
            (jobs.TrainSummary, self._on_trained), (jobs.DeviceInfo, self._on_probed)]
        for kind, handler in results:
            self._on_result.register(kind, handler)

        c = self.controls
        c.run_button.clicked.connect(self.run)
        c.stop_button.clicked.connect(self.stop)
        runner.listen(self)
        dataset.loaded.connect(self._on_dataset_loaded)
        self._set_busy(False)

    # -- loading and running -------------------------------------------------------------
    def load(self, path: str | Path | None = None, *, labels: str | None = None, run_after: bool = False,
             **overrides: Any) -> Job | None:
        """Load through the dataset controller; with `run_after`, Run once it has loaded."""
        job = self.dataset.load(path, labels=labels, **overrides)
        self._run_after_load = run_after and job is not None
        return job

    def run(self) -> Job | None:
        """Walk every batch (TRAIN_MODEL off) or train (on); loads first when needed."""
        if self.runner.busy or self.closed:
            return None
        self.dataset.apply_batch_size()
        if self.dataset.needs_reload():
            return self.load(run_after=True)
        loader = self.dataset.loader
        if self.controls.train_switch.isChecked():
            job = self._start_training(loader)
        else:
            self.health_strip.reset(tuple(loader.classes or ()) if loader.task == "classification" else ())
            self.log(f"walking {plural(len(loader), 'training batch')}")
            job = self.runner.start("walk", jobs.walk_job, loader)
        self._run = weakref.ref(job)
        return job

    def training_config(self) -> dict[str, Any]:
        """The `TrainConfig` fields the training controls set (epochs, learning rate, model, device, seed)."""
        c = self.controls
        return {"epochs": c.epochs_spin.value(), "learning_rate": c.lr_spin.value(),
                "model": c.model_combo.currentText(), "device": c.device(), "seed": c.seed_spin.value()}

    def _start_training(self, loader: Any) -> Job:
        batch_size = int(getattr(loader, "batch_size", None) or self.controls.batch_size_spin.value())
        config = self.training_config()
        settings = {"model": config["model"], "epochs": config["epochs"], "batch size": batch_size,
                    "learning rate": f"{config['learning_rate']:g}", "device": config["device"],
                    "dataset": Path(str(getattr(loader, "path", ""))).name}
        self.monitor.start_training(len(loader), config["epochs"], batch_size, settings)
        self.log(f"training {config['model']} for {plural(config['epochs'], 'epoch')}, lr {config['learning_rate']:g}, "
                 f"device {config['device']}, {plural(len(loader), 'batch')} of {batch_size} per epoch")
        return self.runner.start("train", jobs.train_job, loader, thread=mlx_thread(), **config)

    def stop(self) -> None:
        job = self.runner.stop()
        if job is not None:
            self.log(f"stopping {job.name}\u2026")
            self.controls.stop_button.setEnabled(False)

    def stop_all(self, wait: bool = True) -> None:
        """Stop every job, the background ones included; `wait` joins them."""
        self.runner.stop_all(wait=wait)

    def close(self) -> None:
        """The window closes: stop and join every job, and start none until it shows again."""
        self.closed = True
        self.stop_all(wait=True)

    # -- the device and the warm-up ------------------------------------------------------
    def probe_device(self) -> Job | None:
        """Ask MLX for a GPU on the MLX thread (MLX is imported there, not at start-up); once."""
        if self.probe is None and not self.closed:
            self.probe = self.runner.start("probe", jobs.probe_device_job, thread=mlx_thread(), background=True)
        return self.probe

    def _on_probed(self, info: jobs.DeviceInfo) -> None:
        self.gpu = (info.gpu, info.reason)
        self.probed.emit(info)
        self.warm_up(self.dataset.loader)
        self.controls.set_gpu(info.gpu, info.reason)
        self.device_label.setText("device: GPU available" if info.gpu else "device: CPU (no GPU)")
        self.device_label.setToolTip(info.reason)
        if not info.gpu:
            self.log(f"no GPU: {info.reason}")

    def warm_up(self, loader: Any = None) -> Job:
        """Compile MLX's training step in the background, on the MLX thread, for `loader`'s
        shape (a small default before a load): the first run on a machine compiles its kernels
        (~12 s) while the user looks at the data, not after they press Run."""
        for old in self.warmups:
            old.stop()   # queued and not started: it ends at once; compiling: it finishes
        from udl_core.training.warmup import WarmResult, warm_step_job

        self._on_result.register(WarmResult, self._on_warmed)
        shape: dict[str, Any] = {}
        if loader is not None:
            classification = loader.task == "classification"
            shape = {"feature_dim": int(loader.feature_dim), "task": str(loader.task),
                     "out_dim": int(loader.num_classes) if classification else 1}
        shape["model"] = self.controls.model_combo.currentText()
        job = self.runner.start("warmup", warm_step_job, thread=mlx_thread(), background=True, **shape)
        job.done.connect(lambda: QTimer.singleShot(0, self, self._prune_warmups))
        self.warmups.append(job)
        return job

    def _prune_warmups(self) -> None:
        self.warmups = [job for job in self.warmups if job.running]

    def _on_warmed(self, result: Any) -> None:
        if result.compiled:
            self.log(f"kernels compiled in {duration(result.seconds)}")
        self.warmed.emit(result)

    # -- after a load --------------------------------------------------------------------
    def _on_dataset_loaded(self, loader: Any, other_file: bool) -> None:
        if other_file:
            self.loss_plot.clear_all()  # runs on another dataset are no comparison
        self.rate_label.clear()         # the last run's rate was another loader's
        self.wait_label.clear()
        seconds = self.monitor.elapsed
        rows = getattr(getattr(loader, "table", None), "num_rows", None)
        self.monitor.set_fraction(1.0, f"loaded {plural(rows, 'row')} in {duration(seconds)}" if rows is not None
                                  else f"loaded in {duration(seconds)}")
        self._staging = True   # the load ends once the window's panels show the dataset

    def stage_loaded(self, loader: Any, steps: list[Callable[[Any], object]]) -> None:
        """Run `steps` (each takes the loader) ~one frame apart, the batch health last, then end
        the load. The whole window relaid out and repainted at once was the longest stall of a
        load (bench_gui: 100-130 ms on 2 busy cores)."""
        # this load's health, taken now: a newer load's arrives while this one's panels fill
        health, self._load_health = self._load_health, None
        self._stage(loader, [*steps, *self.fill_then_paint(self.health_strip,
                                                           lambda loaded: self._show_loaded_health(loaded, health))])

    def fill_then_paint(self, widget: QWidget, fill: Callable[[Any], object]) -> list[Callable[[Any], object]]:
        """Two steps for `stage_loaded`: `fill(loader)` with `widget`'s updates off, then, a
        frame later, its paint. Filling a big panel and painting it in one frame was one stall
        (bench_gui, 1M rows: the batch table 28 + 44 ms, the health strip 21 + 40 ms)."""
        def filled(loader: Any) -> None:
            self._held.append(widget)
            widget.setUpdatesEnabled(False)
            try:
                fill(loader)
            except BaseException:
                self._release_held()   # the staging stops here: nothing is left unpainted
                raise

        def painted(_loader: Any) -> None:
            self._release_held()

        return [filled, painted]

    def _release_held(self) -> None:
        """Every widget a staged step filled with its updates off is painted again."""
        for widget in self._held:
            widget.setUpdatesEnabled(True)
        self._held.clear()

    def _stage(self, loader: Any, steps: list[Callable[[Any], object]]) -> None:
        if loader is not self.dataset.loader:
            self._release_held()
            return  # a newer load took over: its own staging shows it and ends it
        if not steps:
            self._end_load()
            return

        def step() -> None:
            steps[0](loader)
            # Laid out now, so that the paint that follows is the only one: a layout request left
            # queued ran after that paint and repainted what it moved in the next frame.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            self._stage(loader, steps[1:])

        QTimer.singleShot(STAGE_MS, self, step)

    def _show_loaded_health(self, loader: Any, health: jobs.BatchHealth | None) -> None:
        self.health_strip.reset(tuple(loader.classes or ()) if loader.task == "classification" else ())
        if health is not None:
            self.health_strip.add(health)
            self.health_strip.flush()

    def _end_load(self) -> None:
        self._staging = False
        self._release_held()
        if self.closed:
            return
        self.warm_up(self.dataset.loader)
        job = self.runner.current
        if job is not None and not job.active:
            self._set_busy(False)
            self._run_if_asked()

    def _run_if_asked(self) -> None:
        if self._run_after_load and self.dataset.loader is not None:
            self._run_after_load = False
            QTimer.singleShot(0, self.run)

    # -- what the lane says --------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self.controls.run_button.setEnabled(not busy)
        self.controls.stop_button.setEnabled(busy)

    def _is_load(self) -> bool:
        job = self.runner.reporting
        return job is not None and job is self.dataset.job

    def _is_ours(self) -> bool:
        job = self.runner.reporting
        return job is not None and (job is (self._run and self._run()) or job is self.dataset.job)

    @Slot(str)
    def _on_runner_started(self, kind: str) -> None:
        self._set_busy(True)
        self.monitor.begin(kind)

    @Slot(str, object)
    def _on_runner_progressed(self, _kind: str, event: Any) -> None:
        self._on_event(event)

    def _on_health(self, event: jobs.BatchHealth) -> None:
        if self._is_load():
            self._load_health = event  # shown once the loaded dataset's classes are known
        else:
            self.health_strip.add(event)

    def _on_notice(self, notice: Notice) -> None:
        if self._is_load():
            self.dataset.on_notice(notice)
        elif self.runner.is_background(self.runner.reporting):
            self.log(f"{notice.message} (in the background)", notice.level)
        else:
            self.log(notice.message, notice.level)

    def _on_other_event(self, event: Any) -> None:
        if self._is_ours():   # the Checks panel lists the checks' verdicts
            self.log(str(event))

    @Slot(str, object)
    def _on_runner_returned(self, _kind: str, result: Any) -> None:
        self._on_result(result)

    def _on_walked(self, summary: jobs.WalkSummary) -> None:
        self.last_walk = summary
        self.monitor.on_walked(summary)

    def _on_trained(self, summary: jobs.TrainSummary) -> None:
        self.last_train = summary
        self.device_label.setText(f"device: {summary.device}")
        self.monitor.on_trained(summary)

    @Slot(str, object)
    def _on_runner_errored(self, kind: str, exc: BaseException) -> None:
        job = self.runner.reporting
        if job is not None and job is self.probe:
            self.device_label.setText(f"device: unknown ({exc})")
        if self.runner.is_background(job):
            return   # a failed warm-up only means the first run compiles its step itself
        self._run_after_load = False
        self.monitor.ended(f"{kind} failed")
        if self._is_load():
            self.dataset.on_failed()   # the dataset on screen stays
        what = FAILED.get(kind, "The job failed")
        if isinstance(exc, UDLError):
            self.show_error(what, str(exc))
        else:
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.show_error(what, f"{type(exc).__name__}: {exc}", details)

    @Slot(str)
    def _on_runner_cancelled(self, kind: str) -> None:
        self._run_after_load = False
        if self._is_load():
            self.dataset.on_stopped()
        self.monitor.ended(f"{kind} stopped")
        self.log(f"{kind} stopped")

    @Slot(str)
    def _on_runner_finished(self, _kind: str) -> None:
        if self._staging:
            return  # _end_load ends the load, once the staged panels are filled
        self._set_busy(False)
        if self._is_ours():   # the checks draw neither (a redraw of a 1M-row strip: 30-85 ms)
            self.loss_plot.flush()
            self.health_strip.flush()
        self._run_if_asked()
