"""The data-health strip: per batch, the label mix, NaN/inf count and the features' mean and std.

A sorted, unshuffled file shows as bands of one colour in the label mix; broken scaling as a
mean/std line far from 0/1; NaNs as red ticks. Fed with `udl_core.health.BatchHealth` chunks; long runs
are binned to at most `MAX_BARS` bars so a 30,000-batch epoch draws as fast as a short one.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from udl_core.health import SORTED_WARNING, BatchHealth, HealthSummary

__all__ = ["HealthStrip", "class_colors"]

MAX_BARS = 300


def class_colors(n: int) -> list[QColor]:
    """`n` distinguishable colours (pyqtgraph's hue wheel, a touch muted)."""
    return [pg.intColor(i, hues=max(n, 1), values=1, maxValue=220, sat=170) for i in range(n)]


def _num(value: float) -> str:
    """3 significant digits; float32 rounding noise around zero shows as 0."""
    return "0" if abs(value) < 1e-6 else f"{value:.3g}"


def _peaks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most 2 * MAX_BARS points: each bin of batches as its lowest and highest value (NaN
    where every batch in it is NaN), so one batch's spike still shows. A 15,625-batch epoch drawn
    point by point with a 1.5 px pen took ~30 ms of the GUI thread per paint (bench_gui)."""
    bins = int(np.ceil(len(y) / MAX_BARS))
    if bins <= 2:
        return x, y
    edges = np.arange(0, len(y), bins)
    low, high = np.fmin.reduceat(y, edges), np.fmax.reduceat(y, edges)   # NaN only where all are
    return np.repeat(x[edges] + (bins - 1) / 2, 2), np.column_stack([low, high]).reshape(-1)


class HealthStrip(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("healthStrip")
        self._classes: tuple[str, ...] = ()
        self._counts: list[np.ndarray] = []
        self._label_mean: list[np.ndarray] = []
        self._nonfinite: list[np.ndarray] = []
        self._mean: list[np.ndarray] = []
        self._std: list[np.ndarray] = []
        self._dirty = False
        self._symbol: str | None = None
        self._ticks: list | None = None

        self._summary = QLabel("Data health per batch appears here after a Run.")
        self._summary.setObjectName("healthSummary")
        self._summary.setWordWrap(True)
        # Room for the two lines of a summary from the start: a label that grows when the first
        # numbers arrive relays out (and repaints) the plots beside it, right after a load.
        self._summary.setMinimumHeight(2 * self._summary.fontMetrics().lineSpacing() + 2)
        self._view = pg.GraphicsLayoutWidget()
        self._view.setMinimumHeight(120)
        self._labels_plot = self._view.addPlot(row=0, col=0)
        self._stats_plot = self._view.addPlot(row=1, col=0)
        self._stats_plot.setXLink(self._labels_plot)
        self._labels_plot.setLabel("left", "labels")
        self._stats_plot.setLabel("bottom", "batch")
        self._labels_plot.getAxis("bottom").setStyle(showValues=False)
        for plot in (self._labels_plot, self._stats_plot):
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(58)  # "101.0" and the axis title side by side
            plot.setMenuEnabled(False)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.getViewBox().setMouseEnabled(y=False)
            plot.hideButtons()
        self._bars: list[pg.BarGraphItem] = []
        self._label_curve = self._labels_plot.plot([], [])
        self._mean_curve = self._stats_plot.plot([], [], name="mean")
        self._std_curve = self._stats_plot.plot([], [], name="std")
        self._nan_marks = pg.ScatterPlotItem(symbol="t1", size=9)
        self._stats_plot.addItem(self._nan_marks)
        self._cursor = [pg.InfiniteLine(angle=90, movable=False) for _ in range(2)]
        self._labels_plot.addItem(self._cursor[0])
        self._stats_plot.addItem(self._cursor[1])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._summary)
        layout.addWidget(self._view, 1)
        self.apply_palette()

        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def apply_palette(self) -> None:
        palette = QApplication.palette()
        background = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        self._view.setBackground(background)
        for plot in (self._labels_plot, self._stats_plot):
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(pg.mkPen(text))
                plot.getAxis(name).setTextPen(pg.mkPen(text))
        self._mean_curve.setPen(pg.mkPen(accent, width=1.5))
        self._std_curve.setPen(pg.mkPen(QColor("#e8743b"), width=1.5))
        self._stats_plot.setLabel("left", f"<span style='color:{accent.name()}'>mean</span> "
                                  f"<span style='color:#e8743b'>std</span>")
        self._label_curve.setPen(pg.mkPen(accent, width=1.5))
        self._nan_marks.setBrush(pg.mkBrush("#d62728"))
        self._nan_marks.setPen(pg.mkPen(None))
        faint = QColor(text)
        faint.setAlphaF(0.5)
        for line in self._cursor:
            line.setPen(pg.mkPen(faint, width=1, style=pg.QtCore.Qt.PenStyle.DotLine))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "_cursor"):
            self.apply_palette()

    # -- data ----------------------------------------------------------------------------
    def reset(self, classes: tuple[str, ...] | list[str] = ()) -> None:
        self._classes = tuple(str(c) for c in classes)
        self._counts, self._label_mean, self._nonfinite, self._mean, self._std = [], [], [], [], []
        if len(self._bars) == len(self._classes):
            # The same number of classes (a reload, a Run): the bars, coloured by the count, stay
            # and are emptied. Removing and adding ten pyqtgraph items took ~15 ms of the GUI thread.
            for bar in self._bars:
                bar.setOpts(x=[], height=[], y0=[])
        else:
            for bar in self._bars:
                self._labels_plot.removeItem(bar)
            self._bars = []
        self._labels_plot.setLabel("left", "label mix" if self._classes else "label mean")
        self._summary.setText("Data health per batch appears here after a Run.")
        self._dirty = True
        self._redraw()

    def add(self, health: BatchHealth) -> None:
        if health.label_counts is not None:
            self._counts.append(health.label_counts)
        if health.label_mean is not None:
            self._label_mean.append(health.label_mean)
        self._nonfinite.append(health.nonfinite)
        self._mean.append(health.mean)
        self._std.append(health.std)
        self._dirty = True

    def set_current(self, index: int) -> None:
        for line in self._cursor:
            line.setValue(index)

    @property
    def batches(self) -> int:
        return int(sum(len(a) for a in self._mean))

    @property
    def nonfinite_total(self) -> int:
        return int(sum(int(a.sum()) for a in self._nonfinite))

    def label_counts(self) -> np.ndarray | None:
        return np.concatenate(self._counts) if self._counts else None

    def flush(self) -> None:
        """Draw what was added since the last draw now; nothing new, nothing to draw (the window
        flushes at the end of every job, and a redraw of a long epoch's strip and its repaint took
        20-60 ms of the GUI thread: bench_gui)."""
        if self._dirty:
            self._redraw()

    def _on_timer_timeout(self) -> None:
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        n = self.batches
        mean = np.concatenate(self._mean) if self._mean else np.zeros(0)
        std = np.concatenate(self._std) if self._std else np.zeros(0)
        nonfinite = np.concatenate(self._nonfinite) if self._nonfinite else np.zeros(0, np.int64)
        xs = np.arange(n, dtype=np.float64)
        symbol = "o" if n <= 40 else None  # a handful of batches: dots, or one batch would not show
        if symbol != self._symbol:  # only on a change: pyqtgraph rebuilds every point's symbol
            self._symbol = symbol
            for curve in (self._mean_curve, self._std_curve, self._label_curve):
                curve.setData([], [])
                curve.setSymbol(symbol)
                curve.setSymbolSize(5)
                curve.setSymbolPen(None)
                curve.setSymbolBrush(curve.opts["pen"].color())
        self._mean_curve.setData(*_peaks(xs, mean), connect="finite")
        self._std_curve.setData(*_peaks(xs, std), connect="finite")
        if n:
            self._labels_plot.setXRange(-0.5, n - 0.5, padding=0.01)
        bad = np.flatnonzero(nonfinite)
        self._nan_marks.setData(bad.astype(float), np.zeros(len(bad)))
        self._draw_labels(n)
        self._set_batch_ticks(n)
        if n:
            self._summary.setText(self._summary_text(HealthSummary.of(mean, std, nonfinite, self.label_counts())))
        # The new ranges now, not when the strip is next painted: worked out there, they changed
        # the scene during that paint and had it painted again (8 ms more in the same frame).
        for plot in (self._labels_plot, self._stats_plot):
            plot.getViewBox().prepareForPaint()

    @staticmethod
    def _summary_text(summary: HealthSummary) -> str:
        # Two lines, the short one first: one run-on line wrapped mid-item ("NaN/" | "inf: 0").
        bad = summary.nonfinite
        text = (f"{summary.batches} batches \u00b7 NaN/inf: {bad}"
                f"{' in ' + str(summary.nonfinite_batches) + ' batches' if bad else ''}\n"
                f"feature mean {_num(summary.mean)} (range {_num(summary.mean_min)}"
                f"\u2026{_num(summary.mean_max)}) \u00b7 std {_num(summary.std)}")
        if summary.looks_sorted:
            text += f"\n\u26a0 {SORTED_WARNING}"
        return text

    def _set_batch_ticks(self, n: int) -> None:
        """Whole batch numbers on the x axis: pyqtgraph would tick 0, 0.5, 1.0 for two batches."""
        ticks = [[(float(i), str(i)) for i in range(n)]] if 0 < n <= 12 else None
        if ticks != self._ticks:
            self._ticks = ticks
            self._stats_plot.getAxis("bottom").setTicks(ticks)

    def _draw_labels(self, n: int) -> None:
        if self._classes:
            self._label_curve.setData([], [])
            counts = self.label_counts()
            if counts is None or not len(counts):
                for bar in self._bars:
                    bar.setOpts(x=[], height=[], y0=[])
                return
            bins = max(1, int(np.ceil(len(counts) / MAX_BARS)))
            edges = np.arange(0, len(counts), bins)
            binned = np.add.reduceat(counts, edges, axis=0).astype(np.float64)
            share = binned / np.maximum(binned.sum(axis=1, keepdims=True), 1)
            x = edges + (bins - 1) / 2
            if not self._bars:
                for color in class_colors(len(self._classes)):
                    bar = pg.BarGraphItem(x=[], height=[], width=0.9, brush=pg.mkBrush(color), pen=pg.mkPen(None))
                    self._labels_plot.addItem(bar)
                    self._bars.append(bar)
            bottom = np.zeros(len(share))
            for c, bar in enumerate(self._bars):
                bar.setOpts(x=x, height=share[:, c], y0=bottom.copy(), width=bins * 0.9)
                bottom += share[:, c]
            self._labels_plot.setYRange(0, 1, padding=0.02)
        else:
            self._labels_plot.enableAutoRange(axis="y")
            means = np.concatenate(self._label_mean) if self._label_mean else np.zeros(0)
            self._label_curve.setData(*_peaks(np.arange(len(means), dtype=np.float64), means), connect="finite")
