"""The live loss plot: step loss, its (debiased) moving average, validation loss per epoch, earlier runs.

Points are appended to growing numpy buffers and the curves redrawn by a timer at most ~12
times a second (docs/conventions.md, "Table models and plots"), so a run that reports thousands of steps a second costs the
event loop one `setData` per frame, never one per point. The view range is kept by hand with
some slack (it grows in jumps) instead of pyqtgraph's auto-range: a range that moves every
frame makes both axes regenerate and repaint their ticks every frame, which was most of the
cost of a frame. There is no grid for the same reason: the axes draw it, over the whole plot.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from udl_core.atomic import atomic_path, atomic_write
from udl_core.outputs import RunInputs, check_output

__all__ = ["Buffer", "LossPlot"]

REDRAW_MS = 80  # 12 redraws a second: each costs 5-10 ms of the GUI thread while training (bench_gui)
EMA_ALPHA = 0.05
MAX_PREVIOUS_RUNS = 5


class Buffer:
    """A growable (x, y) series backed by preallocated arrays that double when full."""

    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, x: float, y: float) -> None:
        if self._n == len(self._x):
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1

    def clear(self) -> None:
        self._n = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]


def _palette_colors() -> tuple[QColor, QColor, QColor, QColor]:
    """Background, text, accent and a faint grey taken from the system palette (dark mode too)."""
    palette = QApplication.palette()
    background = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    accent = palette.color(QPalette.ColorRole.Highlight)
    faint = QColor(text)
    faint.setAlphaF(0.25)
    return background, text, accent, faint


class LossPlot(pg.PlotWidget):
    """Call `start_run()`, then `add_step(step, loss)` / `add_val(step, loss)`; `finish_run()`."""

    pointsChanged = Signal()  # after a redraw that showed new points

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        self.setAccessibleName("Loss plot")
        self._steps = Buffer()
        self._ema = Buffer()
        self._val = Buffer()
        self._ema_value: float | None = None
        self._ema_sum = 0.0
        self._ema_weight = 0.0
        self._dirty = False
        self._previous: list[pg.PlotDataItem] = []
        self._previous_data: list[tuple[np.ndarray, np.ndarray]] = []
        self._run = 0
        self._log = False
        self._alpha = EMA_ALPHA

        plot = self.getPlotItem()
        plot.setLabel("bottom", "step")
        plot.setLabel("left", "loss")
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        self._legend = plot.addLegend(offset=(-10, 10))
        self._raw_curve = plot.plot([], [], name="loss per step")
        self._ema_curve = plot.plot([], [], name="smoothed")
        self._val_curve = plot.plot([], [], name="validation", symbol="o", symbolSize=8)
        plot.disableAutoRange()
        plot.setXRange(0, 10, padding=0)
        plot.setYRange(0, 1, padding=0)
        self._follow = True        # off once the user pans or zooms, until the next run
        self._planned_steps: int | None = None
        self._lo = np.inf           # the smallest finite (and, for log scale, positive) value shown
        self._hi = -np.inf
        self._xmax = 0.0
        plot.getViewBox().sigRangeChangedManually.connect(self._on_range_changed_manually)
        self._hint = pg.TextItem("Flip TRAIN_MODEL on and press Run to watch the model learn", anchor=(0.5, 0.5))
        self._hint.setPos(5, 0.5)
        plot.addItem(self._hint, ignoreBounds=True)
        self.apply_palette()

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    # -- colours -------------------------------------------------------------------------
    def apply_palette(self) -> None:
        background, text, accent, faint = _palette_colors()
        self.setBackground(background)
        plot = self.getPlotItem()
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(text))
            axis.setTextPen(pg.mkPen(text))
        light = QColor(accent)
        light.setAlphaF(0.45)
        self._raw_curve.setPen(pg.mkPen(light, width=1))
        self._ema_curve.setPen(pg.mkPen(accent, width=2))
        val = QColor("#e8743b")  # an orange that reads on light and dark backgrounds
        self._val_curve.setPen(pg.mkPen(val, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        self._val_curve.setSymbolBrush(pg.mkBrush(val))
        self._val_curve.setSymbolPen(pg.mkPen(background))
        for item in self._previous:
            item.setPen(pg.mkPen(faint, width=1))
        if self._legend is not None:
            self._legend.setLabelTextColor(text)
        if hasattr(self, "_hint"):
            self._hint.setColor(faint if faint.alpha() > 120 else QColor(text.red(), text.green(), text.blue(), 150))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "_val_curve"):
            self.apply_palette()

    # -- data ----------------------------------------------------------------------------
    def start_run(self, steps_per_epoch: int | None = None, planned_steps: int | None = None) -> None:
        """Keep the current run faintly for comparison, then start an empty one.

        The moving average spans about an epoch (between 5 and 50 steps), so short runs on
        small data are not smoothed flat and long ones are not noisy.
        """
        span = min(50, max(5, steps_per_epoch or 20))
        self._alpha = 2.0 / (span + 1)
        self._planned_steps = planned_steps
        self._follow = True
        if len(self._ema):
            self._keep_as_previous()
        self._steps.clear()
        self._ema.clear()
        self._val.clear()
        self._ema_value = None
        self._ema_sum = self._ema_weight = 0.0
        self._run += 1
        self._reset_extent()
        self._dirty = True
        self._redraw()

    def _keep_as_previous(self) -> None:
        _, _, _, faint = _palette_colors()
        x, y = self._ema.x.copy(), self._ema.y.copy()
        item = self.getPlotItem().plot(x, y, pen=pg.mkPen(faint, width=1))
        item.setZValue(-10)
        self._previous.append(item)
        self._previous_data.append((x, y))
        while len(self._previous) > MAX_PREVIOUS_RUNS:
            self.getPlotItem().removeItem(self._previous.pop(0))
            self._previous_data.pop(0)

    def add_step(self, step: float, loss: float) -> None:
        loss = float(loss)
        self._steps.append(step, loss)
        self._extend(step, loss)
        if np.isfinite(loss):
            # Debiased, as TensorBoard smooths: the average starts from 0 and is divided by the
            # weight it has gathered, so it starts on the first loss and follows a fast early
            # drop, where one seeded with the first loss stays near it for a whole span.
            self._ema_sum = self._alpha * loss + (1 - self._alpha) * self._ema_sum
            self._ema_weight = self._alpha + (1 - self._alpha) * self._ema_weight
            self._ema_value = self._ema_sum / self._ema_weight
        self._ema.append(step, self._ema_value if self._ema_value is not None else np.nan)
        self._dirty = True

    def add_val(self, step: float, loss: float) -> None:
        self._val.append(step, float(loss))
        self._extend(step, float(loss))
        self._dirty = True

    def flush(self) -> None:
        """Redraw now (the timer does this on its own)."""
        self._redraw()

    def clear_previous(self) -> None:
        for item in self._previous:
            self.getPlotItem().removeItem(item)
        self._previous.clear()
        self._previous_data.clear()
        self._reset_extent()
        self._update_range(force=True)

    def clear_all(self) -> None:
        self.clear_previous()
        self._steps.clear()
        self._ema.clear()
        self._val.clear()
        self._ema_value = None
        self._ema_sum = self._ema_weight = 0.0
        self._reset_extent()
        self._dirty = True
        self._redraw()

    def set_log_scale(self, on: bool) -> None:
        self._log = bool(on)
        self.getPlotItem().setLogMode(y=self._log)
        self._reset_extent()
        self._update_range(force=True)

    @property
    def log_scale(self) -> bool:
        return self._log

    @property
    def step_points(self) -> tuple[np.ndarray, np.ndarray]:
        return self._steps.x.copy(), self._steps.y.copy()

    @property
    def smoothed_points(self) -> tuple[np.ndarray, np.ndarray]:
        return self._ema.x.copy(), self._ema.y.copy()

    @property
    def val_points(self) -> tuple[np.ndarray, np.ndarray]:
        return self._val.x.copy(), self._val.y.copy()

    @property
    def previous_runs(self) -> int:
        return len(self._previous)

    def displayed_points(self) -> int:
        """How many step points the raw curve holds right now (after the last redraw)."""
        data = self._raw_curve.getOriginalDataset()
        return 0 if data[0] is None else len(data[0])

    def _on_timer_timeout(self) -> None:
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        self._raw_curve.setData(self._steps.x, self._steps.y)
        self._ema_curve.setData(self._ema.x, self._ema.y, connect="finite")
        self._val_curve.setData(self._val.x, self._val.y)
        self._hint.setVisible(not len(self._steps) and not self._previous)
        self._update_range()
        self.pointsChanged.emit()

    # -- the view range ------------------------------------------------------------------
    def _extend(self, step: float, value: float) -> None:
        if step > self._xmax:
            self._xmax = step
        if np.isfinite(value) and (value > 0 or not self._log):
            if value < self._lo:
                self._lo = value
            if value > self._hi:
                self._hi = value

    def _reset_extent(self) -> None:
        """Recompute the data's extent from every shown series (after a clear or a scale change)."""
        self._lo, self._hi, self._xmax = np.inf, -np.inf, 0.0
        series = [(self._steps.x, self._steps.y), (self._val.x, self._val.y), *self._previous_data]
        for x, y in series:
            if len(x):
                self._xmax = max(self._xmax, float(np.max(x)))
            ok = np.isfinite(y) & ((y > 0) if self._log else True)
            if ok.any():
                self._lo = min(self._lo, float(np.min(y[ok])))
                self._hi = max(self._hi, float(np.max(y[ok])))

    def _on_range_changed_manually(self, *_args) -> None:
        self._follow = False

    def _update_range(self, force: bool = False) -> None:
        """Move the view only when the data leaves it (or fills much less of it), in jumps."""
        vb = self.getPlotItem().getViewBox()
        if not self._follow or any(vb.autoRangeEnabled()):
            return
        (x0, x1), (y0, y1) = vb.viewRange()
        if self._xmax * 1.02 > x1 or force or x1 > 4 * max(self._xmax, 10):  # the last marker inside
            planned = self._planned_steps or 0
            target = planned if self._xmax <= planned <= 4 * max(self._xmax, 10) else self._xmax * 1.5
            vb.setXRange(0, max(10.0, target) * 1.03, padding=0)  # room for the last marker
        if not np.isfinite(self._lo):
            return
        if self._log:
            lo, hi = np.log10(self._lo), np.log10(self._hi)
            if force or lo < y0 or hi > y1 or (y1 - y0) > (hi - lo) + 2:
                vb.setYRange(lo - 0.3, hi + 0.1, padding=0)
        else:
            lo = min(0.0, self._lo)
            hi = self._hi
            if force or lo < y0 or hi > y1 or (y1 - y0) > 3 * max(hi - lo, 1e-12):
                vb.setYRange(lo, lo + (hi - lo) * 1.08 or 1.0, padding=0)

    # -- export --------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike, inputs: RunInputs | Iterable[str | None] = ()) -> Path:
        """The plot as a PNG, at least 800 px wide; written beside `path`, then renamed onto it.

        `path` may not be one of `inputs`, a link, a device or a FIFO (ConfigError)."""
        from pyqtgraph.exporters import ImageExporter

        check_output(path, inputs, what="the plot")
        self._redraw()
        exporter = ImageExporter(self.getPlotItem())
        exporter.parameters()["width"] = max(800, self.width())
        with atomic_path(path) as tmp:
            exporter.export(str(tmp))
        return Path(path)

    def export_csv(self, path: str | os.PathLike, inputs: RunInputs | Iterable[str | None] = ()) -> Path:
        """Rows of step, loss, smoothed loss, validation loss; written whole or not at all.

        `path` may not be one of `inputs`, a link, a device or a FIFO (ConfigError)."""
        check_output(path, inputs, what="the losses")
        val = dict(zip(self._val.x.tolist(), self._val.y.tolist()))
        with atomic_write(path) as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", "loss", "smoothed_loss", "val_loss"])
            for step, loss, smooth in zip(self._steps.x.tolist(), self._steps.y.tolist(), self._ema.y.tolist()):
                v = val.pop(step, None)
                writer.writerow([_num(step), repr(loss), repr(smooth), "" if v is None else repr(v)])
            for step, v in sorted(val.items()):  # validation points past the last step
                writer.writerow([_num(step), "", "", repr(v)])
        return Path(path)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)
