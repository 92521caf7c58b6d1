"""The loss plot's colours, derived from a QPalette so that light and dark themes both read.

Contrast is WCAG 2's ratio of relative luminances, (L1 + 0.05) / (L2 + 0.05): text and the axes
get at least 4.5:1 against the plot's background, lines and markers at least 3:1 (the figure
WCAG asks of graphics). The raw per-step line is kept deliberately faint (about 1.8:1) so that
the smoothed line, drawn over it, stands out at any number of steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

__all__ = ["PlotColors", "contrast_ratio", "mix", "plot_colors", "relative_luminance", "toward_background", "with_contrast"]

TEXT_CONTRAST = 4.5
LINE_CONTRAST = 3.0
RAW_CONTRAST = 1.8
# Okabe and Ito's colour-blind safe hues: validation, the metric, then the earlier runs.
VAL_HUE = "#d55e00"
METRIC_HUE = "#009e73"
RUN_HUES = ("#cc79a7", "#e69f00", "#56b4e9", "#8c6bb1", "#999933")


def relative_luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast_ratio(a: QColor, b: QColor) -> float:
    la, lb = relative_luminance(a), relative_luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved a fraction `t` of the way to `b` (opaque)."""
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t, a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


def with_contrast(color: QColor, background: QColor, minimum: float) -> QColor:
    """`color` itself if it has `minimum` contrast against `background`, else the least change
    towards black (light background) or white (dark) that has it."""
    if contrast_ratio(color, background) >= minimum:
        return QColor(color)
    target = QColor("black") if relative_luminance(background) > 0.18 else QColor("white")
    return _least_mix(color, target, lambda c: contrast_ratio(c, background) >= minimum)


def toward_background(color: QColor, background: QColor, ratio: float) -> QColor:
    """`color` blended into `background` until it has about `ratio` contrast (a faint version)."""
    if contrast_ratio(color, background) <= ratio:
        return QColor(color)
    return _least_mix(background, color, lambda c: contrast_ratio(c, background) >= ratio)


def _least_mix(start: QColor, target: QColor, good: Callable[[QColor], bool]) -> QColor:
    """`start` moved the least share of the way to `target` that is `good` (by bisection;
    `good` holds at `target` and, once it holds, further along)."""
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if good(mix(start, target, mid)):
            hi = mid
        else:
            lo = mid
    return mix(start, target, hi)


@dataclass(frozen=True)
class PlotColors:
    background: QColor
    text: QColor       # axes, tick labels, legend and readout text
    muted: QColor      # hints: softer than `text`, still 4.5:1
    smoothed: QColor   # the current run's smoothed loss
    raw: QColor        # the current run's per-step loss, faint
    val: QColor        # validation loss markers
    metric: QColor     # validation accuracy or R^2 (right-hand axis)
    crosshair: QColor
    runs: tuple[QColor, ...]  # earlier runs, oldest colour first

    def run_color(self, index: int) -> QColor:
        return self.runs[index % len(self.runs)]


def plot_colors(palette: QPalette) -> PlotColors:
    background = palette.color(QPalette.ColorRole.Base)
    text = with_contrast(palette.color(QPalette.ColorRole.Text), background, TEXT_CONTRAST + 0.5)
    muted = with_contrast(mix(text, background, 0.4), background, TEXT_CONTRAST + 0.2)
    smoothed = with_contrast(palette.color(QPalette.ColorRole.Highlight), background, TEXT_CONTRAST)
    raw = toward_background(mix(smoothed, text, 0.5), background, RAW_CONTRAST)
    def line(hue: str) -> QColor:
        return with_contrast(QColor(hue), background, LINE_CONTRAST)

    return PlotColors(background=background, text=text, muted=muted, smoothed=smoothed, raw=raw,
                      val=line(VAL_HUE), metric=line(METRIC_HUE), crosshair=muted,
                      runs=tuple(line(h) for h in RUN_HUES))
