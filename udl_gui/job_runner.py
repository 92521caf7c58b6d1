"""The window's long jobs (load, walk, train), one current at a time.

Starting a job cancels the one before it; that job's late events are dropped here, so the
window hears only from the current job, each signal with the job's kind. Finished jobs are
kept until their thread lets go of them (`Job.done`), then dropped on a later turn of the
event loop, never inside a signal of the object being dropped.
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

    @property
    def busy(self) -> bool:
        """A job is working and has not been asked to stop."""
        job = self.current
        return job is not None and job.active and not job.stop_requested

    def start(self, kind: str, fn: Any, *args: Any, thread: QThread | None = None, **kwargs: Any) -> Job:
        if self.current is not None and self.current.running:
            self.current.stop()  # a new job cancels the old one; its late events are ignored
        self.jobs = [j for j in self.jobs if j.running]
        job = Job(fn, *args, name=kind, thread=thread, **kwargs)
        self.jobs.append(job)
        self.current = job
        job.progressed.connect(self._on_job_progressed)
        job.returned.connect(self._on_job_returned)
        job.errored.connect(self._on_job_errored)
        job.cancelled.connect(self._on_job_cancelled)
        job.finished.connect(self._on_job_finished)
        job.done.connect(self._on_job_done)
        self.started.emit(kind)
        job.start()
        return job

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

    def _kind(self) -> str | None:
        """The kind of the Job that sent the signal being handled, if it is the current one."""
        sender = self.sender()
        return sender.name if sender is self.current and sender is not None else None

    @Slot(object)
    def _on_job_progressed(self, event: Any) -> None:
        if (kind := self._kind()) is not None:
            self.progressed.emit(kind, event)

    @Slot(object)
    def _on_job_returned(self, result: Any) -> None:
        if (kind := self._kind()) is not None:
            self.returned.emit(kind, result)

    @Slot(object)
    def _on_job_errored(self, exc: BaseException) -> None:
        if (kind := self._kind()) is not None:
            self.errored.emit(kind, exc)

    @Slot()
    def _on_job_cancelled(self) -> None:
        if (kind := self._kind()) is not None:
            self.cancelled.emit(kind)

    @Slot()
    def _on_job_finished(self) -> None:
        if (kind := self._kind()) is not None:
            self.finished.emit(kind)

    @Slot()
    def _on_job_done(self) -> None:
        QTimer.singleShot(0, self._prune)

    def _prune(self) -> None:
        self.jobs = [j for j in self.jobs if j.running or j is self.current]
