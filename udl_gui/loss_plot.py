"""The live loss plot: step loss, its moving average, validation loss per epoch, earlier runs.

Points are appended to growing numpy buffers and the curves redrawn by a timer at most ~30
times a second (STYLE.md §8), so a run that reports thousands of steps a second costs the
event loop one `setData` per frame, never one per point.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["Buffer", "LossPlot"]

REDRAW_MS = 33
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
        self._dirty = False
        self._previous: list[pg.PlotDataItem] = []
        self._previous_data: list[tuple[np.ndarray, np.ndarray]] = []
        self._run = 0
        self._log = False
        self._alpha = EMA_ALPHA

        plot = self.getPlotItem()
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setLabel("bottom", "step")
        plot.setLabel("left", "loss")
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        self._legend = plot.addLegend(offset=(-10, 10))
        self._raw_curve = plot.plot([], [], name="loss per step")
        self._ema_curve = plot.plot([], [], name="smoothed")
        self._val_curve = plot.plot([], [], name="validation", symbol="o", symbolSize=8)
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
        light.setAlphaF(0.30)
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

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "_val_curve"):
            self.apply_palette()

    # -- data ----------------------------------------------------------------------------
    def start_run(self, steps_per_epoch: int | None = None) -> None:
        """Keep the current run faintly for comparison, then start an empty one.

        The moving average spans about an epoch (between 5 and 50 steps), so short runs on
        small data are not smoothed flat and long ones are not noisy.
        """
        span = min(50, max(5, steps_per_epoch or 20))
        self._alpha = 2.0 / (span + 1)
        if len(self._ema):
            self._keep_as_previous()
        self._steps.clear()
        self._ema.clear()
        self._val.clear()
        self._ema_value = None
        self._run += 1
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
        if np.isfinite(loss):
            self._ema_value = loss if self._ema_value is None else (
                self._alpha * loss + (1 - self._alpha) * self._ema_value
            )
        self._ema.append(step, self._ema_value if self._ema_value is not None else np.nan)
        self._dirty = True

    def add_val(self, step: float, loss: float) -> None:
        self._val.append(step, float(loss))
        self._dirty = True

    def flush(self) -> None:
        """Redraw now (the timer does this on its own)."""
        self._redraw()

    def clear_previous(self) -> None:
        for item in self._previous:
            self.getPlotItem().removeItem(item)
        self._previous.clear()
        self._previous_data.clear()

    def clear_all(self) -> None:
        self.clear_previous()
        self._steps.clear()
        self._ema.clear()
        self._val.clear()
        self._ema_value = None
        self._dirty = True
        self._redraw()

    def set_log_scale(self, on: bool) -> None:
        self._log = bool(on)
        self.getPlotItem().setLogMode(y=self._log)

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
        self.pointsChanged.emit()

    # -- export --------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike) -> Path:
        from pyqtgraph.exporters import ImageExporter

        self._redraw()
        target = Path(path)
        tmp = target.with_name(f".{target.stem}.tmp{os.getpid()}.png")
        exporter = ImageExporter(self.getPlotItem())
        exporter.parameters()["width"] = max(800, self.width())
        exporter.export(str(tmp))
        os.replace(tmp, target)
        return target

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Rows of run, step, loss, smoothed, val_loss; written to a temp file then renamed."""
        target = Path(path)
        val = dict(zip(self._val.x.tolist(), self._val.y.tolist()))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["step", "loss", "smoothed_loss", "val_loss"])
                for step, loss, smooth in zip(self._steps.x.tolist(), self._steps.y.tolist(), self._ema.y.tolist()):
                    v = val.pop(step, None)
                    writer.writerow([_num(step), repr(loss), repr(smooth), "" if v is None else repr(v)])
                for step, v in sorted(val.items()):  # validation points past the last step
                    writer.writerow([_num(step), "", "", repr(v)])
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)
