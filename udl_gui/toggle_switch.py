"""A QCheckBox drawn as a switch (a rounded track and a knob), with its text beside it.

Being a QCheckBox keeps keyboard focus, Space to toggle, `isChecked()` and accessibility for
free; only the painting changes. Colours come from the palette, so dark mode works.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QCheckBox, QStyle, QStyleOptionButton

__all__ = ["ToggleSwitch"]

TRACK_W, TRACK_H, GAP = 34, 18, 8


class ToggleSwitch(QCheckBox):
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        text_w = self.fontMetrics().horizontalAdvance(self.text())
        return QSize(TRACK_W + GAP + text_w + 4, max(TRACK_H + 4, self.fontMetrics().height() + 4))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()

    def hitButton(self, pos) -> bool:  # noqa: N802 - the whole widget toggles, text included
        return self.rect().contains(pos)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        enabled = self.isEnabled()
        y = (self.height() - TRACK_H) / 2
        track = QRectF(1, y, TRACK_W, TRACK_H)
        on = self.isChecked()
        group = QPalette.ColorGroup.Active if enabled else QPalette.ColorGroup.Disabled
        if on:
            fill = palette.color(group, QPalette.ColorRole.Highlight)
        else:
            fill = palette.color(group, QPalette.ColorRole.Mid)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(track, TRACK_H / 2, TRACK_H / 2)
        radius = TRACK_H / 2 - 2
        cx = track.right() - radius - 2 if on else track.left() + radius + 2
        painter.setBrush(palette.color(group, QPalette.ColorRole.Light if not on else QPalette.ColorRole.HighlightedText))
        painter.drawEllipse(QPointF(cx, track.center().y()), radius, radius)
        painter.setPen(palette.color(group, QPalette.ColorRole.WindowText))
        text_rect = self.rect().adjusted(TRACK_W + GAP, 0, 0, 0)
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), self.text())
        if self.hasFocus():
            option = QStyleOptionButton()
            option.initFrom(self)
            option.rect = track.adjusted(-2, -2, 2, 2).toRect()
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option, painter, self)
        painter.end()
