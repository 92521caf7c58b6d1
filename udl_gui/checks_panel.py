"""The Checks panel: run the pipeline checks on the worker thread and list each verdict as it comes.

Drop-in: `panel = ChecksPanel()`, `panel.set_loader(loader)` after every load, and connect
`panel.checks_finished(list[CheckResult])` to whatever else should show the warnings.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from udl_core.events import Progress
from udl_core.training.checks import CheckBudget, CheckResult, iter_checks
from udl_gui.worker import Job, mlx_thread

__all__ = ["ChecksPanel", "status_icon"]

STATUS_ROLE = Qt.ItemDataRole.UserRole
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
_COLORS = {"pass": "#2e7d32", "warn": "#ef8f00", "fail": "#c62828"}
_ICONS: dict[str, QIcon] = {}
# Every check Job ever started, kept for the life of the process. On the shared MLX thread the
# worker deletes itself (deleteLater) there; if Python dropped the Job first, the wrapper would
# delete that worker directly from the GUI thread while its deferred delete is pending, which
# crashes ("QObject: shared QObject was deleted directly"). A Job is a few hundred bytes once done.
_STARTED_JOBS: list[Job] = []


def status_icon(status: str, size: int = 16) -> QIcon:
    """A drawn disc with a tick, an exclamation mark or a cross (standard icons are absent offscreen)."""
    key = f"{status}{size}"
    if key in _ICONS:
        return _ICONS[key]
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(_COLORS[status]))
    painter.drawEllipse(QRectF(0.5, 0.5, size - 1, size - 1))
    pen = QPen(QColor("white"), max(1.5, size / 8), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    s = size
    if status == "pass":
        path = QPainterPath(QPointF(s * 0.28, s * 0.52))
        path.lineTo(QPointF(s * 0.44, s * 0.68))
        path.lineTo(QPointF(s * 0.72, s * 0.34))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
    elif status == "warn":
        painter.drawLine(QPointF(s / 2, s * 0.25), QPointF(s / 2, s * 0.56))
        painter.drawPoint(QPointF(s / 2, s * 0.74))
    else:
        painter.drawLine(QPointF(s * 0.32, s * 0.32), QPointF(s * 0.68, s * 0.68))
        painter.drawLine(QPointF(s * 0.68, s * 0.32), QPointF(s * 0.32, s * 0.68))
    painter.end()
    _ICONS[key] = QIcon(pixmap)
    return _ICONS[key]


class ChecksPanel(QWidget):
    """A "Run checks" button, a progress bar, a summary line and the list of results."""

    checks_finished = Signal(list)   # list[CheckResult], once a run completes (not when stopped)

    def __init__(self, parent: QWidget | None = None, *, budget: CheckBudget | None = None, seed: int = 0) -> None:
        super().__init__(parent)
        self.setObjectName("checksPanel")
        self._loader: Any = None
        self._budget = budget
        self._seed = seed
        self._job: Job | None = None
        self._jobs: list[Job] = []
        self._results: list[CheckResult] = []

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
        self.summary.setObjectName("checksSummaryLabel")
        self.summary.setWordWrap(True)
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

    # public API ---------------------------------------------------------------------------------
    def set_loader(self, loader: Any) -> None:
        """Check `loader` (loaded) from now on; a run in progress on the old one is stopped."""
        self.stop()
        self._loader = loader
        self.list.clear()
        self._results = []
        ready = loader is not None and getattr(loader, "train_data", None) is not None
        self.run_button.setEnabled(ready)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.summary.setText("Ready: run the checks." if ready else "Load a dataset, then run the checks.")

    @property
    def results(self) -> list[CheckResult]:
        return list(self._results)

    def warning_messages(self) -> list[str]:
        """One line per warned or failed check, for the schema panel's message list."""
        return [f"{r.status}: {r.name}: {r.reason}" for r in self._results if r.status != "pass"]

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def run_checks(self) -> None:
        if self._loader is None:
            return
        self.stop()
        self.list.clear()
        self._results = []
        self.progress.setRange(0, 0)  # busy until the first Progress says how many groups
        self.summary.setText("Running the checks…")
        self.run_button.setEnabled(False)
        # MLX keeps a stream per thread for the life of the process: run on the GUI's one MLX thread
        job = Job(iter_checks, self._loader, budget=self._budget, seed=self._seed, name="checks",
                  thread=mlx_thread())
        job.progressed.connect(self._on_job_progressed)
        job.returned.connect(self._on_job_returned)
        job.errored.connect(self._on_job_errored)
        job.cancelled.connect(self._on_job_cancelled)
        job.done.connect(self._on_job_done)
        self._jobs = [j for j in self._jobs if j.running]
        self._jobs.append(job)
        _STARTED_JOBS.append(job)
        self._job = job
        job.start()

    def stop(self, wait: bool = False) -> None:
        """Ask a running check job to stop after its current check step; `wait` joins the thread."""
        if self._job is not None and self._job.running:
            self._job.stop(wait=wait)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        for job in self._jobs:
            if job.running:
                job.stop(wait=True)
        super().closeEvent(event)

    # slots ----------------------------------------------------------------------------------------
    @Slot()
    def _on_run_button_clicked(self) -> None:
        self.run_checks()

    @Slot(object)
    def _on_job_progressed(self, event: object) -> None:
        if self.sender() is not self._job:
            return
        if isinstance(event, Progress):
            self.progress.setRange(0, event.total or 0)
            self.progress.setValue(event.done)
            self.progress.setFormat(f"{event.message} (%v/%m)" if event.message else "%v/%m")
        elif isinstance(event, CheckResult):
            self._results.append(event)
            self._add_item(event)

    @Slot(object)
    def _on_job_returned(self, results: object) -> None:
        if self.sender() is not self._job:
            return
        results = list(results or [])
        counts = {s: sum(r.status == s for r in results) for s in ("pass", "warn", "fail")}
        self.summary.setText(f"{counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed.")
        self.progress.setFormat("done")
        self.checks_finished.emit(results)

    @Slot(object)
    def _on_job_errored(self, error: object) -> None:
        if self.sender() is not self._job:
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.summary.setText(f"The checks stopped with an error: {error}")
        item = QListWidgetItem(status_icon("fail"), f"error — {error}")
        item.setData(STATUS_ROLE, "fail")
        item.setData(NAME_ROLE, "error")
        self.list.addItem(item)

    @Slot()
    def _on_job_cancelled(self) -> None:
        if self.sender() is not self._job:
            return
        self.summary.setText(f"Stopped after {len(self._results)} results.")

    @Slot()
    def _on_job_done(self) -> None:
        if self.sender() is self._job:
            self.run_button.setEnabled(self._loader is not None)
            if self.progress.maximum() == 0:
                self.progress.setRange(0, 1)
        # drop finished jobs later, never inside the signal of the object being dropped
        QTimer.singleShot(0, self._prune_jobs)

    def _prune_jobs(self) -> None:
        self._jobs = [j for j in self._jobs if j.running or j is self._job]

    # helpers -------------------------------------------------------------------------------------
    def _add_item(self, result: CheckResult) -> None:
        text = f"{result.name} — {result.reason}"
        if result.hint and result.status != "pass":
            text += f"\nHint: {result.hint}"
        item = QListWidgetItem(status_icon(result.status), text)
        item.setToolTip(result.hint or result.reason)
        item.setData(STATUS_ROLE, result.status)
        item.setData(NAME_ROLE, result.name)
        if result.status != "pass":
            item.setForeground(QColor(_COLORS[result.status]))
        self.list.addItem(item)
