"""The window's one lane for jobs: load, walk, train, the checks, and in the background the device
probe and the warm-up.

A job in the lane becomes current: starting one stops the one before it, whose late signals are
dropped here, so the lane speaks for the current job only, each signal with the job's kind.
A background job (`background=True`: the device probe, the warm-up) runs beside the current one
and is not stopped by it or by `stop()`; it speaks through `progressed`, `returned` and
`errored` (never `started`, `cancelled`, `finished`: it does not hold the lane). `reporting` is
the job whose signal is being handled, for a listener that tells jobs apart by who started them.

The runner hears each worker directly: its slots run on the GUI thread (the connections are
queued), so a listener's lambdas do too. Finished jobs are kept until their thread lets go of
them (`Job.done`), then dropped on a later turn of the event loop, never inside a signal of the
object being dropped; `stop_all` stops and joins every job, the background ones included.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from udl_gui.worker import Job

__all__ = ["JobRunner"]


class JobRunner(QObject):
    started = Signal(str)             # the kind of the job that became current
    progressed = Signal(str, object)  # kind, event (floats, strings, numpy arrays)
    returned = Signal(str, object)    # kind, the job's result
    errored = Signal(str, object)     # kind, the exception
    cancelled = Signal(str)
    finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.current: Job | None = None
        self.jobs: list[Job] = []
        self.reporting: Job | None = None
        self._background: list[Job] = []

    @property
    def busy(self) -> bool:
        """A job is working in the lane and has not been asked to stop."""
        job = self.current
        return job is not None and job.active and not job.stop_requested

    SIGNALS = ("started", "progressed", "returned", "errored", "cancelled", "finished")

    def listen(self, listener: QObject) -> None:
        """Connect each of the runner's signals to `listener._on_runner_<signal>`."""
        for name in self.SIGNALS:
            getattr(self, name).connect(getattr(listener, f"_on_runner_{name}"))

    def start(self, kind: str, fn: Any, *args: Any, thread: QThread | None = None, background: bool = False,
              **kwargs: Any) -> Job:
        """Run `fn(*args, **kwargs)` (a generator) as a job named `kind`; see the module doc."""
        if not background and self.current is not None and self.current.running:
            self.current.stop()  # a new job cancels the old one; its late events are ignored
        self.jobs = [j for j in self.jobs if j.running]
        self._background = [j for j in self._background if j.running]
        job = Job(fn, *args, name=kind, thread=thread, **kwargs)
        self.jobs.append(job)
        worker = job.worker
        worker.progressed.connect(self._on_worker_progressed)
        worker.returned.connect(self._on_worker_returned)
        worker.errored.connect(self._on_worker_errored)
        worker.cancelled.connect(self._on_worker_cancelled)
        worker.finished.connect(self._on_worker_finished)
        job.done.connect(self._on_job_done)
        if background:
            self._background.append(job)
        else:
            self.current = job
            self.started.emit(kind)
        job.start()
        return job

    def is_background(self, job: Job | None) -> bool:
        return any(j is job for j in self._background)

    def stop(self) -> Job | None:
        """Ask the current job to stop; returns it, or None when nothing was running."""
        job = self.current
        if job is None or not job.running:
            return None
        job.stop()
        return job

    def stop_all(self, wait: bool = True) -> None:
        for job in self.jobs:
            if job.running:
                job.stop(wait=wait)

    def _heard(self, lane_only: bool) -> Job | None:
        """The job whose worker sent the signal being handled, if it may be heard: the current
        one, or (unless `lane_only`) a background one."""
        sender = self.sender()
        job = next((j for j in self.jobs if j.worker is sender), None)
        if job is None or not (job is self.current or (not lane_only and self.is_background(job))):
            return None
        return job

    def _emit(self, job: Job, signal: Any, *args: Any) -> None:
        self.reporting = job
        try:
            signal.emit(job.name, *args)
        finally:
            self.reporting = None

    @Slot(object)
    def _on_worker_progressed(self, event: Any) -> None:
        if (job := self._heard(lane_only=False)) is not None:
            self._emit(job, self.progressed, event)

    @Slot(object)
    def _on_worker_returned(self, result: Any) -> None:
        if (job := self._heard(lane_only=False)) is not None:
            self._emit(job, self.returned, result)

    @Slot(object)
    def _on_worker_errored(self, exc: BaseException) -> None:
        if (job := self._heard(lane_only=False)) is not None:
            self._emit(job, self.errored, exc)

    @Slot()
    def _on_worker_cancelled(self) -> None:
        if (job := self._heard(lane_only=True)) is not None:
            self._emit(job, self.cancelled)

    @Slot()
    def _on_worker_finished(self) -> None:
        if (job := self._heard(lane_only=True)) is not None:
            self._emit(job, self.finished)

    @Slot()
    def _on_job_done(self) -> None:
        QTimer.singleShot(0, self._prune)

    def _prune(self) -> None:
        self.jobs = [j for j in self.jobs if j.running or j is self.current]
        self._background = [j for j in self._background if j.running]
