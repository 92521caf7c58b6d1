"""The Checks panel: run the pipeline checks as a job in the window's one lane and list the verdicts.

Failures come first, then warnings, then passes (each in the order the checks made them), under a
summary line coloured by the worst verdict. The checks run in a `JobRunner` (the window's, so the
window's Stop and every other job share one lane; a panel built alone makes its own), on the MLX
thread; a stop is honoured between two checks and between the chunks of a long one.

Drop-in: `panel = ChecksPanel(runner=window.runner)`, `panel.set_loader(loader)` after every load;
`checks_finished(list[CheckResult])` when a run completes, `checks_stopped(list[CheckResult])` with
the verdicts made before a run was stopped or failed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from udl_core.events import Progress
from udl_core.training.checks import CheckBudget, CheckResult, iter_checks
from udl_gui.job_runner import JobRunner
from udl_gui.verdicts import GLYPHS, count_text, palette_color, rank, status_icon, worst
from udl_gui.worker import Job, mlx_thread

__all__ = ["ChecksPanel", "status_icon"]

KIND = "checks"   # the job's kind in the runner
STATUS_ROLE = Qt.ItemDataRole.UserRole
NAME_ROLE = Qt.ItemDataRole.UserRole + 1


class ChecksPanel(QWidget):
    """A "Run checks" button (it stops a run in progress), a progress bar, the summary, the verdicts."""

    checks_finished = Signal(list)   # list[CheckResult]: every verdict of a completed run
    checks_stopped = Signal(list)    # list[CheckResult]: the verdicts made before a stop or an error

    def __init__(self, parent: QWidget | None = None, *, runner: JobRunner | None = None,
                 budget: CheckBudget | None = None, seed: int = 0) -> None:
        super().__init__(parent)
        self.setObjectName("checksPanel")
        self.runner = runner if runner is not None else JobRunner(self)
        self._own_runner = runner is None
        self._loader: Any = None
        self._budget = budget
        self._seed = seed
        self._job: Job | None = None        # the run this panel shows; None once it is forgotten
        self._results: list[CheckResult] = []
        self._groups = (0, 0)               # check groups done, of how many

        self.run_button = QPushButton("Run checks")
        self.run_button.setObjectName("runChecksButton")
        self.run_button.setToolTip("Check batches, labels, scaling, leakage, determinism and speed, "
                                   "with a few short trainings")
        self.run_button.setEnabled(False)
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.progress = QProgressBar()
        self.progress.setObjectName("checksProgressBar")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.summary = QLabel("Load a dataset, then run the checks.")
        self.summary.setObjectName("checksSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAccessibleName("Pipeline checks summary")
        self.list = QListWidget()
        self.list.setObjectName("checksList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setIconSize(QSize(16, 16))
        self.list.setAccessibleName("Pipeline check results")

        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)

        self.runner.listen(self)

    # public API ---------------------------------------------------------------------------------
    def set_loader(self, loader: Any) -> None:
        """Check `loader` (loaded) from now on; a run in progress on the old one is stopped and forgotten."""
        self.stop()
        self._job = None
        self._loader = loader
        self.list.clear()
        self._results = []
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.resetFormat()
        self._set_summary("Ready: run the checks." if self._ready() else "Load a dataset, then run the checks.")
        self._sync_button()

    @property
    def results(self) -> list[CheckResult]:
        """The verdicts of the current or last run, in the order the checks made them."""
        return list(self._results)

    def warning_messages(self) -> list[str]:
        """One line per failed, then warned, check."""
        flagged = sorted((r for r in self._results if r.status != "pass"), key=lambda r: rank(r.status))
        return [f"{r.status}: {r.name}: {r.reason}" for r in flagged]

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def run_checks(self) -> Job | None:
        """Start the checks on the loader; None when there is none or the lane is busy with another job."""
        if not self._ready() or (self.runner.busy and not self._mine_active()):
            return None
        self.list.clear()
        self._results = []
        self._groups = (0, 0)
        self.progress.setRange(0, 0)  # busy until the first Progress says how many groups
        self._set_summary("Running the checks\u2026")
        self._job = None   # a run in progress is forgotten: the runner stops it and drops its events
        # MLX keeps a stream per thread for the life of the process: run on the one MLX thread
        self._job = self.runner.start(KIND, iter_checks, self._loader, budget=self._budget, seed=self._seed,
                                      thread=mlx_thread())
        self._sync_button()
        return self._job

    def stop(self, wait: bool = False) -> None:
        """Stop this panel's run through the runner (after the current chunk); `wait` joins it."""
        job = self._job
        if job is None or not job.running:
            return
        if self.runner.current is job:
            self.runner.stop()
        else:
            job.stop()
        if wait:
            job.stop(wait=True)
        self._sync_button()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._own_runner:
            self.runner.stop_all(wait=True)
        super().closeEvent(event)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "list"):
            self._recolor()

    # slots ----------------------------------------------------------------------------------------
    @Slot()
    def _on_run_button_clicked(self) -> None:
        if self._mine_active():
            self.stop()
        else:
            self.run_checks()

    @Slot(str)
    def _on_runner_started(self, kind: str) -> None:
        job = self._job
        if job is not None and self.runner.current is not job and job.active:
            # another job took the lane: the runner stopped this run and drops its late events
            self._show_stopped()
        self._sync_button()

    @Slot(str, object)
    def _on_runner_progressed(self, kind: str, event: object) -> None:
        if not self._is_mine(kind):
            return
        if isinstance(event, Progress):
            self._groups = (event.done, event.total or 0)
            self.progress.setRange(0, event.total or 0)
            self.progress.setValue(event.done)
            self.progress.setFormat(f"{event.message} (%v/%m)" if event.message else "%v/%m")
        elif isinstance(event, CheckResult):
            self._results.append(event)
            self._add_item(event)
            self._set_summary(f"Running the checks\u2026 {count_text(r.status for r in self._results)} so far.",
                              worst(r.status for r in self._results))

    @Slot(str, object)
    def _on_runner_returned(self, kind: str, results: object) -> None:
        if not self._is_mine(kind):
            return
        results = list(results or [])
        self._set_summary(count_text(r.status for r in results), worst(r.status for r in results), glyph=True)
        self.progress.setFormat("done")
        self.checks_finished.emit(results)

    @Slot(str, object)
    def _on_runner_errored(self, kind: str, error: object) -> None:
        if not self._is_mine(kind):
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("error")
        item = QListWidgetItem(status_icon("fail"), f"error \u2014 {error}")
        item.setData(STATUS_ROLE, "fail")
        item.setData(NAME_ROLE, "error")
        item.setForeground(self._item_color("fail"))
        self.list.insertItem(0, item)
        done = f" ({count_text(r.status for r in self._results)} before it)" if self._results else ""
        self._set_summary(f"The checks stopped with an error: {error}{done}", "fail", glyph=True)
        self.checks_stopped.emit(list(self._results))

    @Slot(str)
    def _on_runner_cancelled(self, kind: str) -> None:
        if self._is_mine(kind):
            self._show_stopped()

    @Slot(str)
    def _on_runner_finished(self, kind: str) -> None:
        if self._is_mine(kind) and self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._sync_button()

    # helpers -------------------------------------------------------------------------------------
    def _ready(self) -> bool:
        return self._loader is not None and getattr(self._loader, "train_data", None) is not None

    def _mine_active(self) -> bool:
        return self._job is not None and self._job.active

    def _is_mine(self, kind: str) -> bool:
        return kind == KIND and self._job is not None and self.runner.current is self._job

    def _sync_button(self) -> None:
        if self._mine_active():
            stopping = self._job is not None and self._job.stop_requested
            self.run_button.setText("Stopping\u2026" if stopping else "Stop checks")
            self.run_button.setEnabled(not stopping)
            return
        self.run_button.setText("Run checks")
        self.run_button.setEnabled(self._ready() and not self.runner.busy)

    def _show_stopped(self) -> None:
        done, total = self._groups
        of = f" after {done} of {total} check groups" if total else ""
        listed = count_text(r.status for r in self._results) if self._results else "none finished"
        self.progress.setFormat("stopped")
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._set_summary(f"Checks stopped{of}: {listed}.", worst(r.status for r in self._results), glyph=True)
        self.checks_stopped.emit(list(self._results))

    def _set_summary(self, text: str, status: str | None = None, glyph: bool = False) -> None:
        self.summary.setText(f"{GLYPHS[status]} {text}" if glyph and status else text)
        self.summary.setProperty("verdict", status or "")
        self._recolor_summary()

    def _recolor_summary(self) -> None:
        status = self.summary.property("verdict")
        font = self.summary.font()
        font.setBold(bool(status))
        self.summary.setFont(font)
        palette = self.summary.palette()
        own = self.palette()
        palette.setColor(QPalette.ColorRole.WindowText,
                         palette_color(status, own, QPalette.ColorRole.Window) if status
                         else own.color(QPalette.ColorRole.WindowText))
        self.summary.setPalette(palette)

    def _item_color(self, status: str) -> QColor:
        # the panel's palette: on a palette change the list hears of it only after the panel
        return palette_color(status, self.palette(), QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase)

    def _recolor(self) -> None:
        self._recolor_summary()
        for i in range(self.list.count()):
            item = self.list.item(i)
            status = item.data(STATUS_ROLE)
            if status != "pass":
                item.setForeground(self._item_color(status))

    def _add_item(self, result: CheckResult) -> None:
        """Below every verdict as bad or worse, above the milder ones."""
        text = f"{result.name} \u2014 {result.reason}"
        if result.hint and result.status != "pass":
            text += f"\nHint: {result.hint}"
        item = QListWidgetItem(status_icon(result.status), text)
        item.setToolTip(result.hint or result.reason)
        item.setData(STATUS_ROLE, result.status)
        item.setData(NAME_ROLE, result.name)
        if result.status != "pass":
            item.setForeground(self._item_color(result.status))
        row = sum(rank(self.list.item(i).data(STATUS_ROLE)) <= rank(result.status) for i in range(self.list.count()))
        self.list.insertItem(row, item)
        if row == 0:
            self.list.scrollToTop()
