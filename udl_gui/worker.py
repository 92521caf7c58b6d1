"""One worker that runs a udl_core job (a generator) on a QThread and turns its events into signals.

The shape follows STYLE.md §4 (after superqt's `GeneratorWorker`): the job's body runs on the
worker thread, each yielded event is emitted as `progressed`, the generator's return value as
`returned`, an exception as `errored`; a stop request is a flag checked between two events.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["Job", "Worker"]


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
            self.cancelled.emit()
        except StopIteration as stop:
            self.returned.emit(stop.value)
        except Exception as exc:           # nothing escapes a slot
            self.errored.emit(exc)
        finally:
            self.finished.emit()


class Job(QObject):
    """A worker and its thread, wired once; the owner keeps this object until `done`.

    The Job lives on the GUI thread and re-emits the worker's signals (signal-to-signal
    connections to an object on the GUI thread are queued), so whatever the owner connects to
    them, lambdas included, runs on the GUI thread. `stop()` asks the generator to stop after
    its current event; `stop(wait=True)` also joins the thread (for `closeEvent`).
    """

    progressed = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    cancelled = Signal()
    finished = Signal()
    done = Signal()  # the thread has ended: the owner may drop this Job

    def __init__(self, job: Callable[..., Generator], /, *args: Any, name: str = "job", **kwargs: Any) -> None:
        super().__init__()
        self.name = name
        self.worker = Worker(job, *args, **kwargs)
        self.thread = QThread()
        self.thread.setObjectName(f"udl-{name}")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self.progressed)
        self.worker.returned.connect(self.returned)
        self.worker.errored.connect(self.errored)
        self.worker.cancelled.connect(self.cancelled)
        self.worker.finished.connect(self._on_worker_finished)
        self.worker.finished.connect(self.thread.quit)
        # No deleteLater on the worker: this object owns it, so a late stop() never touches a
        # deleted C++ object; both go when the owner drops the Job after `done`.
        self.thread.finished.connect(self._on_thread_finished)
        self._running = False
        self._active = False
        self._stop_requested = False

    def start(self) -> None:
        self._running = self._active = True
        self.thread.start()

    @property
    def running(self) -> bool:
        """True from `start()` until the thread has ended."""
        return self._running

    @property
    def active(self) -> bool:
        """True until the worker has finished (its thread may still be winding down)."""
        return self._active

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def stop(self, wait: bool = False) -> None:
        self._stop_requested = True
        self.worker.quit()
        if wait and self._running:
            self.thread.quit()
            self.thread.wait()
            self._running = self._active = False

    @Slot()
    def _on_worker_finished(self) -> None:
        self._active = False
        self.finished.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
        self.done.emit()
