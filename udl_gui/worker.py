"""One worker that runs a udl_core job (a generator) on a QThread and turns its events into signals.

The shape follows docs/conventions.md, "One worker" (after superqt's `GeneratorWorker`): the job's body runs on the
worker thread, each yielded event is emitted as `progressed`, the generator's return value as
`returned`, an exception as `errored`; a stop request is a flag checked between two events.

The worker's signals are the only ones a job has: a `Job` is the GUI thread's handle on one
worker and its thread (start, stop, join, when it may be dropped), and the window hears its
jobs through the `JobRunner` (udl_gui/job_runner.py), which receives the worker's signals on
the GUI thread (queued) and passes them on once.

Jobs that use MLX run on one long-lived thread (`mlx_thread()`): MLX keeps a stream, and a
scheduler thread of its own, for every thread that ever used it, for the life of the process,
so a fresh QThread per training run would leave one thread behind per run.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["Job", "Worker", "mlx_thread"]

_MLX_THREAD: QThread | None = None


def mlx_thread() -> QThread:
    """The one thread every MLX job runs on, started on first use and joined at exit."""
    global _MLX_THREAD
    if _MLX_THREAD is None:
        from udl_core.mlx_threads import register_exit_wait

        register_exit_wait()  # before our join below, so that it runs after it (atexit is LIFO)
        thread = QThread()
        thread.setObjectName("udl-mlx")
        thread.start()
        _MLX_THREAD = thread
        atexit.register(_stop_mlx_thread)
    return _MLX_THREAD


def _stop_mlx_thread() -> None:
    if _MLX_THREAD is not None and _MLX_THREAD.isRunning():
        _MLX_THREAD.quit()
        _MLX_THREAD.wait()


class Worker(QObject):
    progressed = Signal(object)   # a core event: floats and numpy arrays, never mx.array
    returned = Signal(object)
    errored = Signal(object)      # the exception
    cancelled = Signal()
    finished = Signal()

    def __init__(self, job: Callable[..., Generator], /, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._gen = job(*args, **kwargs)   # the body runs later, on the worker thread
        self._abort = False
        self._home = self.thread()         # the GUI thread, where Python will drop this object
        self.ended = threading.Event()     # set once run() has returned (for a blocking join)
        self.outcome = ""                  # "returned", "cancelled" or "errored", set before `finished`

    def quit(self) -> None:                # called from the GUI thread: just a flag
        self._abort = True

    @Slot()
    def run(self) -> None:
        try:
            while not self._abort:
                event = next(self._gen)
                if event is not None:  # None is a heartbeat: a chance to stop, nothing to show
                    self.progressed.emit(event)
            self._gen.close()
            self.outcome = "cancelled"
            self.cancelled.emit()
        except StopIteration as stop:
            self.outcome = "returned"
            self.returned.emit(stop.value)
        except Exception as exc:           # nothing escapes a slot
            self.outcome = "errored"
            self.errored.emit(exc)
        finally:
            # Back to the GUI thread before anyone hears we are done: Python deletes this
            # object where its last reference goes, and Qt refuses deleting it from another
            # thread ("shared QObject was deleted directly", then a crash).
            self.moveToThread(self._home)
            self.finished.emit()
            self.ended.set()


class Job(QObject):
    """A worker and its thread, wired once; the owner keeps this object until `done`.

    The Job lives on the GUI thread. Its worker's signals are heard through a `JobRunner`
    (connect a GUI-thread QObject's slots to `job.worker`'s signals to hear one job alone).
    `stop()` asks the generator to stop after its current event; `stop(wait=True)` also waits
    for it (for `closeEvent`).

    With `thread=None` the job gets a thread of its own that ends with it; with a shared
    thread (`mlx_thread()`) the worker is queued on that thread's event loop instead.
    """

    done = Signal()  # the job's thread is no longer busy with it: the owner may drop this Job
    _kick = Signal()

    def __init__(self, job: Callable[..., Generator], /, *args: Any, name: str = "job",
                 thread: QThread | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.name = name
        self.worker = Worker(job, *args, **kwargs)
        self._own_thread = thread is None
        self.thread = QThread() if thread is None else thread
        self.worker.moveToThread(self.thread)
        # first: whoever else hears `finished` (the runner) finds the job no longer active
        self.worker.finished.connect(self._on_worker_finished)
        if self._own_thread:
            self.thread.setObjectName(f"udl-{name}")
            self.thread.started.connect(self.worker.run)
            self.worker.finished.connect(self.thread.quit)
            # No deleteLater on the worker: this object owns it, so a late stop() never touches
            # a deleted C++ object; both go when the owner drops the Job after `done`.
            self.thread.finished.connect(self._on_thread_finished)
        else:
            self._kick.connect(self.worker.run)  # queued: run() starts on the shared thread
        self._ended = self.worker.ended
        self._running = False
        self._active = False
        self._stop_requested = False

    def start(self) -> None:
        self._running = self._active = True
        if self._own_thread:
            self.thread.start()
        else:
            self._kick.emit()

    @property
    def running(self) -> bool:
        """True from `start()` until the job's thread is done with it."""
        return self._running

    @property
    def active(self) -> bool:
        """True until the worker has finished (its own thread may still be winding down)."""
        return self._active

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def outcome(self) -> str:
        """How the job ended: "returned", "cancelled", "errored"; "" while it works."""
        return "" if self._active else self.worker.outcome

    def thread_busy(self) -> bool:
        """Whether this job still occupies a thread (its own, or the shared one)."""
        if self._own_thread:
            return self.thread.isRunning()
        return self._running and not self._ended.is_set()

    def stop(self, wait: bool = False) -> None:
        self._stop_requested = True
        if self._active:
            self.worker.quit()
        if wait and self._running:
            if self._own_thread:
                self.thread.quit()
                self.thread.wait()
            else:
                self._ended.wait()
            self._running = self._active = False

    @Slot()
    def _on_worker_finished(self) -> None:
        self._active = False
        if not self._own_thread:
            self._running = False
            self.done.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
        self.done.emit()
