"""Rows of text laid out around the loss plot's data area, never over it.

`PlotLegend` is a row of entries (a line sample and a name, a tooltip each) that wraps onto
more rows when the plot is narrow; `TextLine` is one line of text (the hover readout). Both are
items of the plot's graphics layout, above and below the plot, so the curves never hide under
them at any scale, and both come along in the PNG export.
"""

from __future__ import annotations

import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QSizePolicy

__all__ = ["LegendEntry", "PlotLegend", "TextLine"]

SAMPLE_W = 24
GAP = 14
ROW_PAD = 2


class LegendEntry(pg.GraphicsWidget):
    """A curve's line sample (a click hides or shows the curve) and its name; the tooltip says more."""

    def __init__(self, item: pg.PlotDataItem, name: str, font: QFont, parent=None) -> None:
        super().__init__(parent)
        self.item = item
        self.sample = ItemSample(item)
        self.sample.setParentItem(self)
        self.label = QGraphicsSimpleTextItem(name, self)
        self.label.setFont(font)
        self.set_name(name)

    @property
    def name(self) -> str:
        return self.label.text()

    def set_name(self, name: str) -> None:
        self.label.setText(name)
        metrics = QFontMetricsF(self.label.font())
        height = max(20.0, metrics.height())
        self.sample.setPos(0, (height - 20) / 2)
        self.label.setPos(SAMPLE_W, (height - metrics.height()) / 2)
        self.resize(SAMPLE_W + metrics.horizontalAdvance(name), height)

    def set_text_color(self, color: QColor) -> None:
        self.label.setBrush(QBrush(color))

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.size().width(), self.size().height())


class PlotLegend(pg.GraphicsWidget):
    """Entries left to right, wrapped to the width the layout gives; its height follows."""

    def __init__(self, font: QFont, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("lossLegend")
        self._font = font
        self._color = QColor("black")
        self.entries: list[LegendEntry] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def add(self, item: pg.PlotDataItem, name: str, tooltip: str = "") -> LegendEntry:
        entry = LegendEntry(item, name, self._font, self)
        entry.set_text_color(self._color)
        entry.setToolTip(tooltip)
        self.entries.append(entry)
        self._arrange()
        return entry

    def remove(self, item: pg.PlotDataItem) -> None:
        for entry in [e for e in self.entries if e.item is item]:
            self.entries.remove(entry)
            entry.setParentItem(None)
            if entry.scene() is not None:
                entry.scene().removeItem(entry)
        self._arrange()

    def entry(self, item: pg.PlotDataItem) -> LegendEntry | None:
        return next((e for e in self.entries if e.item is item), None)

    def set_text_color(self, color: QColor) -> None:
        self._color = QColor(color)
        for entry in self.entries:
            entry.set_text_color(self._color)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        width = max(1.0, self.size().width())
        x = y = row_height = 0.0
        for entry in self.entries:
            w, h = entry.size().width(), entry.size().height()
            if x > 0 and x + w > width:
                x, y = 0.0, y + row_height + ROW_PAD
                row_height = 0.0
            entry.setPos(x, y)
            x += w + GAP
            row_height = max(row_height, h)
        height = y + row_height if self.entries else 0.0
        if abs(self.preferredHeight() - height) > 0.5:
            self.setMinimumHeight(height)
            self.setMaximumHeight(height)
            self.setPreferredHeight(height)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.size().width(), self.size().height())


class TextLine(pg.GraphicsWidget):
    """One line of text as wide as the layout gives it; its height is the font's."""

    def __init__(self, font: QFont, object_name: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self._item = QGraphicsSimpleTextItem("", self)
        self._item.setFont(font)
        height = QFontMetricsF(font).height() + 2
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._item.text()

    def set_text(self, text: str) -> None:
        if text != self._item.text():
            self._item.setText(text)

    def set_text_fitting(self, parts: list[str], separator: str) -> None:
        """As many of `parts` (the most important first) as fit the width, joined; the first always."""
        metrics = QFontMetricsF(self._item.font())
        width = self.size().width()
        shown = parts[:1]
        for part in parts[1:]:
            if metrics.horizontalAdvance(separator.join([*shown, part])) > width:
                break
            shown.append(part)
        self.set_text(separator.join(shown))

    def set_color(self, color: QColor) -> None:
        if self._item.brush().color() != color:
            self._item.setBrush(QBrush(color))

    def color(self) -> QColor:
        return self._item.brush().color()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.size().width(), self.size().height())

