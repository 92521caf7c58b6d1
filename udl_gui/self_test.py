"""`UDL --self-test`: does this build work on this machine? No display needed.

It opens the window offscreen with throwaway settings, loads the bundled sample, trains one
epoch on the CPU, then starts a long run and closes the window mid-run (the exit-time waits
must stop MLX's thread cleanly). It prints one line, `self-test passed: ...` on stdout and
exits 0, or `self-test failed: <reason>` on stderr and exits 1.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["TIMEOUT_S", "run_self_test"]

TIMEOUT_S = float(os.environ.get("UDL_SELF_TEST_TIMEOUT", 300))


class _Failed(Exception):
    pass


def _fail(reason: str) -> int:
    print(f"self-test failed: {reason}", file=sys.stderr, flush=True)
    return 1


def run_self_test(sample: Path | None = None, timeout_s: float = TIMEOUT_S) -> int:
    """Run the self test in this process; returns the exit code."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"   # before Qt starts: no display is needed or used
    if not faulthandler.is_enabled():
        try:
            faulthandler.enable()   # a crash (in Qt, MLX, at exit) prints where it happened
        except (RuntimeError, OSError, ValueError):   # no stderr with a file descriptor: nowhere to print it
            pass
    try:
        from udl_gui.app_paths import sample_dataset

        sample = sample or sample_dataset()
        if not sample.is_file():
            return _fail(f"the bundled sample is missing: {sample}")
        with tempfile.TemporaryDirectory(prefix="udl-self-test-") as folder:
            return _run(sample, Path(folder), timeout_s)
    except Exception as exc:   # an import missing from the bundle, a Qt plugin that will not load...
        return _fail(f"{type(exc).__name__}: {exc}")


def _run(sample: Path, folder: Path, timeout_s: float) -> int:
    from PySide6.QtCore import QSettings, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from udl_gui.main_window import MainWindow

    def quiet(_mode: Any, _context: Any, message: str) -> None:   # the one line is the output
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", "offscreen"])
    from udl_gui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(app)   # as the app does: cycles collected on this thread only
    window = MainWindow(settings=QSettings(str(folder / "udl.ini"), QSettings.Format.IniFormat))
    test = _SelfTest(window, app, sample)
    QTimer.singleShot(int(timeout_s * 1000), lambda: test.fail(f"timed out after {timeout_s:g} s while {test.phase}"))
    window.show()
    QTimer.singleShot(0, test.start)
    app.exec()
    window.stop_all(wait=True)
    from udl_gui.main import dispose_window

    dispose_window(window)
    collector.stop()
    if test.error:
        return _fail(test.error)
    print(f"self-test passed: {test.summary}", flush=True)
    return 0


class _SelfTest:
    """Drives the window through load, one epoch, and a run stopped by closing the window."""

    def __init__(self, window: Any, app: Any, sample: Path) -> None:
        self.window, self.app, self.sample = window, app, sample
        self.phase = "starting"
        self.error: str | None = None
        self.summary = ""
        self.done = False
        self.started = time.perf_counter()
        runner = window.runner
        runner.returned.connect(self._on_runner_returned)
        runner.errored.connect(self._on_runner_errored)
        runner.progressed.connect(self._on_runner_progressed)

    def start(self) -> None:
        c = self.window.controls
        c.train_switch.setChecked(True)
        c.epochs_spin.setValue(1)
        c.device_combo.setCurrentText("CPU")
        c.model_combo.setCurrentText("mlp")
        self.phase = f"loading {self.sample.name}"
        if self.window.load(str(self.sample), run_after=True) is None:
            self.fail(f"could not start loading {self.sample}")

    def fail(self, reason: str) -> None:
        if self.error is None and not self.done:
            self.error = reason
            self.window.close()
            self.app.exit(1)

    def _on_runner_errored(self, kind: str, exc: BaseException) -> None:
        self.fail(f"{kind}: {type(exc).__name__}: {exc}")

    def _on_runner_returned(self, kind: str, result: Any) -> None:
        if kind == "load":
            rows = getattr(getattr(result, "table", None), "num_rows", None)
            self.phase = "training one epoch on the CPU"
            self.summary = f"{self.sample.name} ({rows} rows)" if rows is not None else self.sample.name
        elif kind == "train" and self.phase.startswith("training one"):
            final = result.final
            if final is None or result.stopped:
                self.fail("the one-epoch run ended without an epoch")
                return
            scores = f"train_loss {final.train_loss:.4f}"
            if final.val_loss is not None:
                scores += f", val_loss {final.val_loss:.4f}"
            if final.val_accuracy is not None:
                scores += f", val_accuracy {final.val_accuracy:.3f}"
            self.summary += f", 1 epoch on {result.device} in {result.seconds:.2f} s: {scores}"
            self.phase = "training a long run to stop by closing the window"
            self.window.controls.epochs_spin.setValue(10_000)
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, self._start_long_run)

    def _start_long_run(self) -> None:
        if self.window.run() is None:
            self.fail("the second run did not start")

    def _on_runner_progressed(self, kind: str, event: Any) -> None:
        if kind == "train" and self.phase.startswith("training a long") and type(event).__name__ == "StepLosses":
            self.phase = "closing the window mid-run"
            self.window.close()   # closeEvent stops the run and waits for MLX's thread
            busy = [job.name for job in self.window.runner.jobs if job.thread_busy()]
            if busy:
                self.fail(f"closing the window left jobs running: {', '.join(busy)}")
                return
            self.done = True
            total = time.perf_counter() - self.started
            self.summary += f"; a second run stopped by closing the window; {total:.1f} s in all"
            self.app.exit(0)
