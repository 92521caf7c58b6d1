"""The live loss plot: step loss, its (debiased) moving average, validation loss and accuracy (or
R^2) per epoch, earlier runs by name, a legend above the data and a readout of the values under
the mouse below it.

Points go into growing `Series` (udl_gui/plot_series.py) and the curves are redrawn by a timer
at most ~12 times a second (docs/conventions.md, "Table models and plots") from the part of
each series in view, summarised to a few points a pixel: a redraw costs the plot's width,
not the run's length, so a million-step run redraws as fast as a short one. The view range is
kept by hand with some slack (it grows in jumps) instead of pyqtgraph's auto-range: a range that
moves every frame makes both axes regenerate and repaint their ticks every frame. There is no
grid for the same reason: the axes draw it, over the whole plot.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QImage, QPainter

from udl_core.atomic import atomic_path, atomic_write
from udl_core.outputs import RunInputs, check_output
from udl_gui.plot_colors import PlotColors, plot_colors
from udl_gui.plot_legend import PlotLegend, TextLine
from udl_gui.plot_series import Buffer, Series

__all__ = ["LossPlot"]

REDRAW_MS = 80  # 12 redraws a second: each costs 5-10 ms of the GUI thread while training (bench_gui)
EMA_ALPHA = 0.05
MAX_PREVIOUS_RUNS = 5
SEPARATOR = " \u00b7 "
HOVER_HINT = "Hover over the plot to read the values at a step"
METRIC_NAMES = {"accuracy": "val accuracy", "r2": "val R\u00b2"}


@dataclass
class _Run:
    """An earlier run, kept to compare: its smoothed loss, its name and settings."""

    number: int
    settings: dict[str, str]
    smoothed: Series
    item: pg.PlotDataItem
    summary: str = ""
    color_index: int = 0


@dataclass
class _Current:
    number: int = 0
    settings: dict[str, str] = field(default_factory=dict)
    metric: str | None = None  # "accuracy" or "r2" once the run reports one


class _FittingViewBox(pg.ViewBox):
    """The curves hold only what is in view, so pyqtgraph's "View All" and auto-range button
    would fit that part: both ask the plot to fit the whole data instead."""

    def __init__(self) -> None:
        self.fit = lambda: None
        super().__init__()

    def autoRange(self, padding=None, items=None, item=None) -> None:
        self.fit()

    def enableAutoRange(self, axis=None, enable=True, x=None, y=None) -> None:
        wanted = bool(x or y) if x is not None or y is not None else bool(enable)
        super().enableAutoRange(enable=False)
        if wanted:
            self.fit()


class _StepAxis(pg.AxisItem):
    """Step numbers as people write them: 2,500, 200k, 1.2M (not 1e+06)."""

    def tickStrings(self, values, scale, spacing) -> list[str]:
        return [_step_text(v * scale) for v in values]


def _step_text(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e5:
        return f"{value / 1e3:g}k"
    return f"{value:,.10g}"


class _OverlayViewBox(pg.ViewBox):
    """The accuracy or R^2 view, drawn over the loss view (the per-step band would hide it)
    but passing the mouse through to it: dragging and the wheel pan and zoom the loss."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(False, False)  # the wheel: ignored, so it reaches the loss view

    def mouseDragEvent(self, ev, axis=None) -> None:
        ev.ignore()

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


def _settings_text(number: int, settings: Mapping[str, str], summary: str = "") -> str:
    lines = [f"run {number}"] + [f"{key}: {value}" for key, value in settings.items()]
    return "\n".join(lines + ([summary] if summary else []))


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


class LossPlot(pg.GraphicsLayoutWidget):
    """Call `start_run()`, then `add_step(s)(step, loss)` / `add_val(step, loss, metric)`."""

    pointsChanged = Signal()  # after a redraw that showed new points

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        self.setAccessibleName("Loss plot")
        font = QFont(self.font())
        self._colors: PlotColors = plot_colors(self.palette())
        self._steps = Series()
        self._ema = Series()
        self._val = Buffer(64)
        self._metric = Buffer(64)  # (step, accuracy in % or R^2), NaN where an epoch had none
        self._ema_value: float | None = None
        self._ema_sum = 0.0
        self._ema_weight = 0.0
        self._dirty = False
        self._runs: list[_Run] = []
        self._current = _Current()
        self._run_count = 0
        self._log = False
        self._alpha = EMA_ALPHA
        self._hovered: float | None = None
        self._drawn_view: tuple | None = None   # what the earlier runs' curves were last drawn for
        self._drawn_marks: tuple | None = None  # how many validation and metric points are drawn

        self._redraw_soon = QTimer(self)
        self._redraw_soon.setSingleShot(True)
        self._redraw_soon.timeout.connect(self._redraw)
        self.ci.setContentsMargins(6, 6, 10, 4)
        self.ci.layout.setVerticalSpacing(4)
        self._legend = PlotLegend(font)
        self._view = _FittingViewBox()
        self._view.fit = self._fit_all
        plot = self._plot = pg.PlotItem(viewBox=self._view, axisItems={"bottom": _StepAxis("bottom")})
        self._readout = TextLine(font, "lossReadout")
        self.ci.addItem(self._legend, row=0, col=0)
        self.ci.addItem(plot, row=1, col=0)
        self.ci.addItem(self._readout, row=2, col=0)

        plot.setLabel("bottom", "step")
        plot.setLabel("left", "loss")
        plot.hideButtons()  # the auto-range button: the view follows the run on its own
        self._raw_curve = self._curve(z=0)
        self._ema_curve = self._curve(z=5)
        self._val_curve = self._curve(z=6, symbol="o", symbolSize=7)
        self._metric_view = _OverlayViewBox()
        self._metric_view.setZValue(1)
        self.scene().addItem(self._metric_view)
        plot.getAxis("right").linkToView(self._metric_view)
        self._metric_view.setXLink(self._view)
        self._metric_curve = pg.PlotDataItem([], [], symbol="s", symbolSize=6, connect="finite")
        self._metric_view.addItem(self._metric_curve)
        self._crosshair = pg.InfiniteLine(angle=90, movable=False)
        self._crosshair.setZValue(20)
        self._crosshair.hide()
        plot.addItem(self._crosshair, ignoreBounds=True)
        self._marker = self._curve(z=21, symbol="o", symbolSize=9)
        self._marker.hide()
        self._view.sigResized.connect(self._on_view_resized)
        self._view.sigXRangeChanged.connect(self._on_view_x_range_changed)
        self._view.sigRangeChangedManually.connect(self._on_view_range_changed_manually)
        self._view.disableAutoRange()
        self._x_range_set = [0.0, 10.0]  # the x range the plot itself last set
        self._view.setRange(xRange=self._x_range_set, yRange=(0, 1), padding=0)
        self._follow = True  # off once the user pans or zooms, until the next run
        self._planned_steps: int | None = None
        self._lo = np.inf  # the smallest finite (and, for log scale, positive) value shown
        self._hi = -np.inf
        self._xmax = 0.0
        self._hint = pg.TextItem("Flip TRAIN_MODEL on and press Run to watch the model learn", anchor=(0.5, 0.5))
        self._hint.setPos(5, 0.5)
        plot.addItem(self._hint, ignoreBounds=True)
        self.apply_palette()
        self._show_metric_axis(False)

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def _curve(self, z: float, **kwargs) -> pg.PlotDataItem:
        item = self._plot.plot([], [], connect="finite", **kwargs)
        item.setZValue(z)
        return item

    # -- colours -------------------------------------------------------------------------
    @property
    def colors(self) -> PlotColors:
        return self._colors

    def apply_palette(self) -> None:
        """Every colour from the widget's palette (light or dark), with readable contrast."""
        c = self._colors = plot_colors(self.palette())
        self.setBackground(c.background)
        for name in ("left", "bottom", "right"):
            axis = self._plot.getAxis(name)
            axis.setPen(pg.mkPen(c.text))
            axis.setTextPen(pg.mkPen(c.text))
        self._raw_curve.setPen(pg.mkPen(c.raw, width=1))
        self._ema_curve.setPen(pg.mkPen(c.smoothed, width=2.5))
        self._val_curve.setPen(pg.mkPen(c.val, width=1.5, style=Qt.PenStyle.DashLine))
        self._val_curve.setSymbolBrush(pg.mkBrush(c.val))
        self._val_curve.setSymbolPen(pg.mkPen(c.background))
        self._metric_curve.setPen(pg.mkPen(c.metric, width=1.5))
        self._metric_curve.setSymbolBrush(pg.mkBrush(c.metric))
        self._metric_curve.setSymbolPen(pg.mkPen(c.background))
        for run in self._runs:
            run.item.setPen(pg.mkPen(c.run_color(run.color_index), width=1.5))
        self._crosshair.setPen(pg.mkPen(c.crosshair, width=1, style=Qt.PenStyle.DotLine))
        self._marker.setPen(None)
        self._marker.setSymbolBrush(pg.mkBrush(c.smoothed))
        self._marker.setSymbolPen(pg.mkPen(c.background, width=1.5))
        self._legend.set_text_color(c.text)
        self._hint.setColor(c.muted)
        self._readout.set_color(c.text if self._hovered is not None else c.muted)
        for entry in self._legend.entries:
            entry.sample.update()

    def close(self) -> bool:
        """pyqtgraph's close deletes the scene's items: no redraw may come after it."""
        self._timer.stop()
        self._redraw_soon.stop()
        self._view.sigXRangeChanged.disconnect(self._on_view_x_range_changed)
        self._view.sigResized.disconnect(self._on_view_resized)
        return super().close()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "_timer"):
            self.apply_palette()

    # -- runs ----------------------------------------------------------------------------
    def start_run(self, steps_per_epoch: int | None = None, planned_steps: int | None = None,
                  settings: Mapping[str, object] | None = None) -> None:
        """Keep the current run (named, with its settings) for comparison, then start an empty one.

        The moving average spans about an epoch (at least 5 steps, at most 50 or, on a run
        planned for more than 100,000 steps, 1/2,000 of it: under a pixel of the whole run), so
        short runs on small data are not smoothed flat and long ones are not noisy.
        """
        span = min(max(50, (planned_steps or 0) // 2000), max(5, steps_per_epoch or 20))
        self._alpha = 2.0 / (span + 1)
        self._planned_steps = planned_steps
        self._follow = True
        if len(self._ema):
            self._keep_as_previous()
        self._clear_current()
        self._run_count += 1
        self._current = _Current(self._run_count, {k: str(v) for k, v in (settings or {}).items()})
        self._show_metric_axis(False)
        self._rebuild_legend()
        self._reset_extent()
        self._dirty = True
        self._redraw()

    def _clear_current(self) -> None:
        for series in (self._steps, self._ema, self._val, self._metric):
            series.clear()
        self._drawn_marks = self._drawn_view = None
        self._ema_value = None
        self._ema_sum = self._ema_weight = 0.0

    def _keep_as_previous(self) -> None:
        summary = self._run_summary()
        smoothed, self._ema = self._ema, Series()  # the series moves over: no copy
        used = {run.color_index for run in self._runs}
        color_index = next(i for i in range(len(self._colors.runs) + 1) if i not in used or i == len(self._colors.runs))
        item = self._curve(z=2)
        item.setPen(pg.mkPen(self._colors.run_color(color_index), width=1.5))
        self._runs.append(_Run(self._current.number, self._current.settings, smoothed, item, summary, color_index))
        while len(self._runs) > MAX_PREVIOUS_RUNS:
            self._plot.removeItem(self._runs.pop(0).item)
        self._drawn_view = None

    def _run_summary(self) -> str:
        parts = []
        if len(self._ema) and math.isfinite(self._ema.y[-1]):
            parts.append(f"final smoothed loss {_fmt(self._ema.y[-1])}")
        if len(self._val):
            parts.append(f"val loss {_fmt(self._val.y[-1])}")
        if len(self._metric) and math.isfinite(self._metric.y[-1]):
            parts.append(self._metric_text(self._metric.y[-1]))
        return ", ".join(parts)

    def _rebuild_legend(self) -> None:
        for entry in list(self._legend.entries):
            self._legend.remove(entry.item)
        if self._current.number:
            tip = _settings_text(self._current.number, self._current.settings)
            self._legend.add(self._ema_curve, f"run {self._current.number} smoothed", tip)
            self._legend.add(self._raw_curve, "per step", tip)
            self._legend.add(self._val_curve, "val loss", tip)
            if self._current.metric:
                self._legend.add(self._metric_curve, METRIC_NAMES[self._current.metric], tip)
        for run in self._runs:
            self._legend.add(run.item, f"run {run.number}", _settings_text(run.number, run.settings, run.summary))

    def getPlotItem(self) -> pg.PlotItem:
        return self._plot

    @property
    def legend(self) -> PlotLegend:
        return self._legend

    @property
    def data_view(self) -> pg.ViewBox:
        """The loss's view (the data area); the accuracy or R^2 view lies under it, linked on x."""
        return self._view

    @property
    def metric_view(self) -> pg.ViewBox:
        return self._metric_view

    @property
    def run_names(self) -> list[str]:
        """The legend's names, in its order."""
        return [entry.name for entry in self._legend.entries]

    def run_tooltip(self, name: str) -> str:
        return next((e.toolTip() for e in self._legend.entries if e.name == name), "")

    # -- data ----------------------------------------------------------------------------
    def add_step(self, step: float, loss: float) -> None:
        self.add_steps(np.array([step], dtype=np.float64), np.array([loss], dtype=np.float64))

    def add_steps(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Append step losses (ascending steps): amortised O(1) a point, no copy of what is there."""
        steps = np.asarray(steps, dtype=np.float64)
        losses = np.asarray(losses, dtype=np.float64)
        smoothed = np.empty_like(losses)
        a, total, weight, value = self._alpha, self._ema_sum, self._ema_weight, self._ema_value
        for i, loss in enumerate(losses.tolist()):
            if math.isfinite(loss):
                # Debiased, as TensorBoard smooths: the average starts from 0 and is divided by the
                # weight it has gathered, so it starts on the first loss and follows a fast early
                # drop, where one seeded with the first loss stays near it for a whole span.
                total = a * loss + (1 - a) * total
                weight = a + (1 - a) * weight
                value = total / weight
            smoothed[i] = np.nan if value is None else value
        self._ema_sum, self._ema_weight, self._ema_value = total, weight, value
        self._steps.extend(steps, losses)
        self._ema.extend(steps, smoothed)
        self._extend(steps, losses)
        self._dirty = True

    def add_val(self, step: float, loss: float, metric: float | None = None, kind: str | None = None) -> None:
        """A validation loss at `step`; `metric` is the accuracy (0-1, `kind` "accuracy") or the
        R^2 (`kind` "r2") of the same epoch, drawn on the right-hand axis."""
        self._val.append(step, float(loss))
        self._extend(np.array([step], dtype=np.float64), np.array([loss], dtype=np.float64))
        if metric is not None and kind in METRIC_NAMES:
            value = 100.0 * float(metric) if kind == "accuracy" else float(metric)
            self._metric.append(step, value)
            if self._current.metric != kind:
                self._current.metric = kind
                self._plot.setLabel("right", METRIC_NAMES[kind] + (" (%)" if kind == "accuracy" else ""))
                self._show_metric_axis(True)
                self._rebuild_legend()
            self._fit_metric()
        self._dirty = True

    def flush(self) -> None:
        """Redraw now (the timer does this on its own)."""
        self._redraw()

    def clear_previous(self) -> None:
        for run in self._runs:
            self._plot.removeItem(run.item)
        self._runs.clear()
        self._rebuild_legend()
        self._reset_extent()
        self._update_range(force=True)
        self._dirty = True
        self._redraw()

    def clear_all(self) -> None:
        self.clear_previous()
        self._clear_current()
        self._current = _Current()
        self._show_metric_axis(False)
        self._rebuild_legend()
        self._reset_extent()
        self._dirty = True
        self._redraw()

    def set_log_scale(self, on: bool) -> None:
        self._log = bool(on)
        self._reset_extent()
        self._plot.setLogMode(y=self._log)  # pyqtgraph then asks for auto-range: _fit_all
        self._plot.getAxis("right").setLogMode(False, False)  # accuracy and R^2 stay linear
        self._update_range(force=True)
        self._dirty = True
        self._redraw()

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
    def metric_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Validation accuracy (in %) or R^2 by step, as drawn on the right-hand axis."""
        return self._metric.x.copy(), self._metric.y.copy()

    @property
    def previous_runs(self) -> int:
        return len(self._runs)

    def displayed_points(self) -> int:
        """How many points the per-step curve draws right now (after the last redraw)."""
        data = self._raw_curve.getOriginalDataset()
        return 0 if data[0] is None else len(data[0])

    def _on_timer_timeout(self) -> None:
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        self._redraw_soon.stop()
        self._hint.setVisible(not len(self._steps) and not self._runs)
        self._update_range()
        (x0, x1), _ = self._view.viewRange()
        pixels = max(1, int(self._view.width()))
        self._raw_curve.setData(*self._steps.view(x0, x1, pixels))
        self._ema_curve.setData(*self._ema.view(x0, x1, pixels))
        # the rest changes once an epoch or when the view moves: a setData with symbols costs ~1 ms
        view = (x0, x1, pixels, len(self._runs))
        if view != self._drawn_view:
            for run in self._runs:
                run.item.setData(*run.smoothed.view(x0, x1, pixels))
            self._drawn_view = view
        marks = (len(self._val), len(self._metric))
        if marks != self._drawn_marks:
            self._val_curve.setData(self._val.x, self._val.y)
            self._metric_curve.setData(self._metric.x, self._metric.y)
            self._drawn_marks = marks
        if self._hovered is not None:
            self._show_readout(self._hovered)
        else:
            self._hide_readout()
        self.pointsChanged.emit()

    # -- the view range ------------------------------------------------------------------
    def _extend(self, steps: np.ndarray, values: np.ndarray) -> None:
        if not len(steps):
            return
        self._xmax = max(self._xmax, float(steps.max()))
        ok = np.isfinite(values) & ((values > 0) if self._log else True)
        if ok.any():
            self._lo = min(self._lo, float(values[ok].min()))
            self._hi = max(self._hi, float(values[ok].max()))

    def _reset_extent(self) -> None:
        """Recompute the data's extent from every shown series (after a clear or a scale change)."""
        self._lo, self._hi, self._xmax = np.inf, -np.inf, 0.0
        for series in (self._steps, self._val, *(run.smoothed for run in self._runs)):
            self._extend(series.x, series.y)

    def _on_view_range_changed_manually(self, *_args) -> None:
        self._follow = False

    def _on_view_x_range_changed(self, *_args) -> None:
        if self._view.viewRange()[0] != self._x_range_set:
            self._follow = False  # moved by someone else than the plot (the user, a zoom, a caller)
        self._dirty = True
        if not self._redraw_soon.isActive():
            self._redraw_soon.start(0)  # a pan or zoom shows the newly visible part at once

    def _on_view_resized(self) -> None:
        self._metric_view.setGeometry(self._view.sceneBoundingRect())
        self._metric_view.linkedViewChanged(self._view, self._metric_view.XAxis)
        self._on_view_x_range_changed()

    def _fit_all(self) -> None:
        """Show all the data and follow the run again (pyqtgraph's "View All")."""
        self._follow = True
        self._update_range(force=True)

    def _update_range(self, force: bool = False) -> None:
        """Move the view only when the data leaves it (or fills much less of it), in jumps."""
        vb = self._view
        if not self._follow:
            return
        (_, x1), (y0, y1) = vb.viewRange()
        if self._xmax * 1.02 > x1 or force or x1 > 4 * max(self._xmax, 10):  # the last marker inside
            planned = self._planned_steps or 0
            target = planned if self._xmax <= planned <= 4 * max(self._xmax, 10) else self._xmax * 1.5
            self._x_range_set = [0.0, max(10.0, target) * 1.03]  # room for the last marker
            vb.setXRange(*self._x_range_set, padding=0)
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

    # -- the metric axis -----------------------------------------------------------------
    def _show_metric_axis(self, on: bool) -> None:
        self._plot.showAxis("right", on)
        self._metric_view.setVisible(on)

    def _fit_metric(self) -> None:
        values = self._metric.y[np.isfinite(self._metric.y)]
        if self._current.metric == "accuracy":
            self._metric_view.setYRange(0, 100, padding=0.02)
        elif len(values):
            self._metric_view.setYRange(min(0.0, float(values.min())), 1.0, padding=0.05)

    def _metric_text(self, value: float) -> str:
        if self._current.metric == "accuracy":
            return f"val accuracy {value:.1f}%"
        return f"val R\u00b2 {value:.3f}"

    # -- the hover readout ---------------------------------------------------------------
    @property
    def readout(self) -> str:
        return self._readout.text()

    @property
    def readout_line(self) -> TextLine:
        return self._readout

    def readout_at(self, x: float) -> str:
        """The values at the step nearest to `x`: loss, smoothed loss, the nearest validation
        point (and its accuracy or R^2) and the earlier runs' smoothed loss."""
        return SEPARATOR.join(self._readout_parts(x))

    def _readout_parts(self, x: float) -> list[str]:
        """The readout's values, most important first (a narrow plot shows the first ones)."""
        parts: list[str] = []
        i = _nearest(self._steps.x, x)
        if i is not None:
            parts += [f"step {self._steps.x[i]:,.0f}", f"loss {_fmt(self._steps.y[i])}",
                      f"smoothed {_fmt(self._ema.y[i])}"]
        j = _nearest(self._val.x, x)
        if j is not None:
            parts.append(f"val loss {_fmt(self._val.y[j])} at step {self._val.x[j]:,.0f}")
            k = _nearest(self._metric.x, self._val.x[j])
            if k is not None and self._metric.x[k] == self._val.x[j] and math.isfinite(self._metric.y[k]):
                parts.append(self._metric_text(self._metric.y[k]))
        for run in self._runs:
            r = _nearest(run.smoothed.x, x)
            if r is not None:
                parts.append(f"run {run.number} {_fmt(run.smoothed.y[r])}")
        if i is None and parts:
            parts.insert(0, f"step {x:,.0f}")
        return parts

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        scene_pos = self.mapToScene(event.position().toPoint())
        if self._view.sceneBoundingRect().contains(scene_pos) and (len(self._steps) or self._runs):
            self._show_readout(self._view.mapSceneToView(scene_pos).x())
        else:
            self._hide_readout()

    def leaveEvent(self, event) -> None:
        super().leaveEvent(event)
        self._hide_readout()

    def _show_readout(self, x: float) -> None:
        self._hovered = x
        self._readout.set_color(self._colors.text)
        self._readout.set_text_fitting(self._readout_parts(x), SEPARATOR)
        i = _nearest(self._steps.x, x)
        step = self._steps.x[i] if i is not None else x
        self._crosshair.setPos(step)
        self._crosshair.show()
        if i is not None and math.isfinite(self._ema.y[i]):
            self._marker.setData([step], [self._ema.y[i]])
            self._marker.show()
        else:
            self._marker.hide()

    def _hide_readout(self) -> None:
        self._hovered = None
        self._crosshair.hide()
        self._marker.hide()
        self._readout.set_color(self._colors.muted)
        self._readout.set_text(HOVER_HINT if len(self._steps) or self._runs else "")

    # -- export --------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike, inputs: RunInputs | Iterable[str | None] = ()) -> Path:
        """The plot as shown, legend and axes included, scaled up to at least 800 px wide (drawn
        again at that scale, not stretched); written beside `path`, then renamed onto it.
        `path` may not be one of `inputs`, a link, a device or a FIFO (ConfigError)."""
        check_output(path, inputs, what="the plot")
        self._redraw()
        readout = self._readout.text()
        self._readout.set_text("")  # a hint to hover says nothing on paper
        scale = max(1.0, 800 / max(1, self.width()))
        image = QImage(math.ceil(self.width() * scale), math.ceil(self.height() * scale), QImage.Format.Format_RGB32)
        image.fill(self._colors.background)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        source = self.mapToScene(self.viewport().rect()).boundingRect()
        self.scene().render(painter, QRectF(image.rect()), source)  # the scene's items, drawn at the scale
        painter.end()
        self._readout.set_text(readout)
        with atomic_path(path) as tmp:
            if not image.save(str(tmp), "PNG"):
                raise OSError(f"{path}: the image could not be written")
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


def _nearest(xs: np.ndarray, x: float) -> int | None:
    """The index of the value in ascending `xs` nearest to `x` (None when empty)."""
    if not len(xs):
        return None
    i = int(np.searchsorted(xs, x))
    if i == len(xs) or (i > 0 and x - xs[i - 1] <= xs[i] - x):
        i -= 1
    return i


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)

