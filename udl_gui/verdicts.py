"""How a check's verdict looks wherever the window shows one: its order, icon, colour and summary.

Light enough to import at start-up (no MLX): the Checks panel and the Schema tab both use it.
Verdict colours are the hues below moved, where needed, until the text has WCAG's 4.5:1 contrast
against the background it is drawn on, so they read in light and dark palettes alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap

from udl_core.wording import count, plural
from udl_gui.plot_colors import contrast_ratio, with_contrast

__all__ = ["GLYPHS", "HUES", "ORDER", "TEXT_CONTRAST", "Verdict", "contrast_ratio", "count_text", "palette_color",
           "rank", "status_icon", "verdict_color", "worst"]

TEXT_CONTRAST = 4.5
ORDER = ("fail", "warn", "pass")   # how verdicts are listed: failures first
HUES = {"pass": "#2e7d32", "warn": "#ef8f00", "fail": "#c62828"}
GLYPHS = {"pass": "\u2714", "warn": "\u26a0", "fail": "\u2716"}   # never colour alone
_ICONS: dict[str, QIcon] = {}


class Verdict(Protocol):
    """What the window reads of a check result (udl_core.training.checks.CheckResult)."""

    name: str
    status: str
    reason: str


def rank(status: str) -> int:
    """0 for a failure, 1 for a warning, 2 for a pass: the order verdicts are listed in."""
    return ORDER.index(status)


def worst(statuses: Iterable[str]) -> str | None:
    """The worst of `statuses`, or None when there are none."""
    found = [rank(s) for s in statuses]
    return ORDER[min(found)] if found else None


def count_text(statuses: Iterable[str]) -> str:
    """'2 failed, 1 warning, 15 passed': the verdicts counted, worst first, zeros left out."""
    statuses = list(statuses)
    fail, warn, ok = (sum(s == k for s in statuses) for k in ORDER)
    parts = [f"{count(fail)} failed" if fail else "", plural(warn, "warning") if warn else "",
             f"{count(ok)} passed" if ok else ""]
    return ", ".join(p for p in parts if p) or "no results"


def verdict_color(status: str, *backgrounds: QColor) -> QColor:
    """The status's hue with at least `TEXT_CONTRAST` against every one of `backgrounds`."""
    color = QColor(HUES[status])
    for background in backgrounds:
        color = with_contrast(color, background, TEXT_CONTRAST + 0.1)  # a margin for rounding to 8 bits
    return color


def palette_color(status: str, palette: QPalette, *roles: QPalette.ColorRole) -> QColor:
    """`verdict_color` against the palette's `roles` (e.g. Base and AlternateBase for a list)."""
    return verdict_color(status, *(palette.color(role) for role in roles))


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
    painter.setBrush(QColor(HUES[status]))
    painter.drawEllipse(QRectF(0.5, 0.5, size - 1, size - 1))
    painter.setPen(QPen(QColor("white"), max(1.5, size / 8), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
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
