"""What a running job looks like: the progress bar, the rate and data-wait labels, the log lines.

The window hands each event of the current job to a `RunMonitor`; it formats them for the
progress bar (epoch, step, time left), the status bar (samples/s or batches/s, the share of
time spent waiting for data against the training step), the loss plot and the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar

from udl_core.events import Progress
from udl_core.wording import duration, plural
from udl_gui import jobs
from udl_gui.load_progress import LoadProgress
from udl_gui.loss_plot import LossPlot

__all__ = ["RunMonitor", "format_duration", "format_seconds"]

BAR_INTERVAL_S = 0.2
STARTING = {"load": "loading\u2026", "walk": "walking batches\u2026", "train": "starting training\u2026"}


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def format_seconds(seconds: float) -> str:
    """'12.3 s', or two significant digits under a second ('0.043 s', where '0.0 s' said nothing)."""
    return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"


class RunMonitor:
    def __init__(self, progress_bar: QProgressBar, rate_label: QLabel, wait_label: QLabel, loss_plot: LossPlot,
                 log: Callable[[str, str], None]) -> None:
        self.bar = progress_bar
        self.rate_label = rate_label
        self.wait_label = wait_label
        self.plot = loss_plot
        self.log = log
        self.kind = ""
        self.started = 0.0
        self._rate_mark: tuple[float, int] | None = None
        self._steps_per_epoch = 1
        self._epochs = 1
        self._batch_size = 1
        self._bar_shown = 0.0
        self._pending: tuple[float | None, str | None] | None = None
        self.load_progress = LoadProgress()
        self._pending_timer = QTimer(progress_bar)
        self._pending_timer.setSingleShot(True)
        self._pending_timer.timeout.connect(self._on_pending_timer_timeout)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def begin(self, kind: str) -> None:
        self.kind = kind
        self.started = time.perf_counter()
        self.load_progress.begin(self.started)
        self._rate_mark = None
        self.set_fraction(0.0)
        self.bar.setFormat(STARTING.get(kind, "working\u2026"))

    def set_fraction(self, fraction: float | None, text: str | None = None, *, throttle: bool = False) -> None:
        """Show `fraction` (None: busy) and `text` on the bar. With `throttle`, at most every
        `BAR_INTERVAL_S` (the latest value waits for the rest of the interval): a progress bar
        repaints on every new value (5-20 ms each on a busy machine), and a fast run reports
        30 times a second."""
        now = time.perf_counter()
        if throttle and now - self._bar_shown < BAR_INTERVAL_S:
            self._pending = (fraction, text)  # shown when the interval is over, unless replaced
            if not self._pending_timer.isActive():
                self._pending_timer.start(int(1000 * (BAR_INTERVAL_S - (now - self._bar_shown))) + 1)
            return
        self._pending = None
        self._pending_timer.stop()
        self._show(fraction, text)

    def _on_pending_timer_timeout(self) -> None:
        if self._pending is not None:
            fraction, text = self._pending
            self._pending = None
            self._show(fraction, text)

    def _show(self, fraction: float | None, text: str | None) -> None:
        self._bar_shown = time.perf_counter()
        if fraction is None:
            self.bar.setRange(0, 0)  # a busy indicator: the total is unknown
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(1.0, max(0.0, fraction))))
        if text is not None:
            self.bar.setFormat(text)

    def ended(self, text: str) -> None:
        """A job ended without a result (stopped or failed): keep the bar where it was."""
        self._pending = None  # a late throttled update must not cover this
        self._pending_timer.stop()
        self.bar.setRange(0, 1000)
        self.bar.setFormat(text)

    def start_training(self, steps_per_epoch: int, epochs: int, batch_size: int,
                       settings: dict[str, object] | None = None) -> None:
        """A new run on the plot; `settings` (model, epochs, ...) are shown in its legend's tooltip."""
        self._steps_per_epoch, self._epochs, self._batch_size = max(1, steps_per_epoch), epochs, batch_size
        self.plot.start_run(self._steps_per_epoch, planned_steps=self._steps_per_epoch * epochs, settings=settings)

    def on_progress(self, event: Progress) -> None:
        if self.kind == "load":
            status = self.load_progress.update(event)
            if status.estimate:
                self.log(f"estimate: {status.estimate}", "info")
            self.set_fraction(status.fraction, status.text, throttle=event.stage != "estimate")
            return
        text = f"{event.stage}: {event.message}" if event.message else event.stage
        self.set_fraction(event.fraction, text, throttle=event.fraction != 1.0)
        if self.kind == "walk" and event.done and self.elapsed > 0:
            self.rate_label.setText(f"{event.done / self.elapsed:,.0f} batches/s")

    def on_steps(self, event: jobs.StepLosses) -> None:
        self.plot.add_steps(event.steps, event.losses)
        if not len(event.steps):
            return
        total = self._steps_per_epoch * self._epochs
        done = int(event.steps[-1])
        left = self.elapsed / done * (total - done) if done else 0.0
        step_in_epoch = done - (event.epoch - 1) * self._steps_per_epoch
        self.set_fraction(done / total, f"epoch {event.epoch}/{self._epochs} \u00b7 step {step_in_epoch}/"
                                        f"{self._steps_per_epoch} \u00b7 {format_duration(left)} left", throttle=True)
        now = time.perf_counter()
        if self._rate_mark is None:
            self._rate_mark = (now, done)
        elif now - self._rate_mark[0] > 0.5:  # a rate over half a second, not per event
            t0, s0 = self._rate_mark
            self.rate_label.setText(f"{(done - s0) * self._batch_size / (now - t0):,.0f} samples/s")
            self._rate_mark = (now, done)

    def on_epoch(self, m: Any) -> None:
        if m.val_loss is not None:
            regression = getattr(m, "task", "classification") == "regression"
            self.plot.add_val(m.steps, m.val_loss, m.val_r2 if regression else m.val_accuracy,
                              "r2" if regression else "accuracy")
        parts = [f"epoch {m.epoch}/{m.epochs}", f"train loss {m.train_loss:.4f}"]
        if m.val_loss is not None:
            parts.append(f"val loss {m.val_loss:.4f}")
        if m.val_accuracy is not None:
            parts.append(f"val accuracy {m.val_accuracy:.1%}")
        if getattr(m, "val_r2", None) is not None:
            parts.append(f"val R\u00b2 {m.val_r2:.3f}")
        parts.append(f"{m.samples_per_s:,.0f} samples/s")
        self.log(", ".join(parts), "info")
        for warning in getattr(m, "warnings", ()) or ():
            self.log(warning, "warning")
        self.rate_label.setText(f"{m.samples_per_s:,.0f} samples/s")
        total = m.data_wait_s + m.step_s
        if total > 0:
            self.wait_label.setText(f"data wait {m.data_wait_s / total:.0%} \u00b7 step {m.step_s / total:.0%}")

    def on_walked(self, summary: jobs.WalkSummary) -> None:
        problems = "; ".join(summary.problems) if summary.problems else "no problems found"
        self.log(f"walked {plural(summary.batches, 'batch')} ({plural(summary.samples, 'sample')}) in "
                 f"{duration(summary.seconds)}: "
                 f"{summary.batches_per_s:,.0f} batches/s, {summary.samples_per_s:,.0f} samples/s; {problems}",
                 "warning" if summary.problems else "info")
        self.set_fraction(1.0, f"{plural(summary.batches, 'batch')} \u00b7 {summary.batches_per_s:,.0f} batches/s")
        self.rate_label.setText(f"{summary.batches_per_s:,.0f} batches/s")

    def on_trained(self, result: jobs.TrainSummary) -> None:
        final = result.final
        verdict = "stopped early" if result.stopped else "finished"
        head = (f"training {verdict} on {result.device} in {format_seconds(result.seconds)}, "
                f"{result.samples_per_s:,.0f} samples/s")
        tail = ""
        if final is not None:
            tail = f"; final train loss {final.train_loss:.4f}"
            if final.val_loss is not None:
                tail += f", val loss {final.val_loss:.4f}"
            if final.val_accuracy is not None:
                tail += f", val accuracy {final.val_accuracy:.1%}"
        self.log(head + tail, "info")
        self.set_fraction(1.0 if not result.stopped else self.bar.value() / 1000, head)
        self.rate_label.setText(f"{result.samples_per_s:,.0f} samples/s")  # the run's, as on the bar
