"""A few pictures of each class of an image dataset, for the schema panel.

Up to `PER_CLASS` training rows of each of the first `MAX_CLASSES` classes, as the file holds
them; the classes left out are counted ("and 3 more classes"). Hidden for datasets that hold
no images and for regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QBoxLayout, QFrame, QGridLayout, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from udl_gui.thumbnails import Pictures

__all__ = ["ClassExamples"]

PER_CLASS = 4
MAX_CLASSES = 10
ROOM_CLASSES = 3   # classes shown without scrolling: the enclosing splitter is asked for their height
SIDE = 32   # pixels of an example
GROWTH_SHARE = 8   # this widget's stretch in the panel's layout, against 1 for its neighbours


class ClassExamples(QScrollArea):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classExamples")
        self.setAccessibleName("Examples of each class")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumHeight(SIDE + self.fontMetrics().height() + 12)   # a title and one class; scrolls
        self._shown: list[tuple[str, list[QPixmap]]] = []
        self._content = QWidget()
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(4)
        self._grid.setVerticalSpacing(2)
        self.more = QLabel("")
        self.more.setObjectName("classExamplesMore")
        layout = QVBoxLayout(self._content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Examples per class"))
        layout.addLayout(self._grid)
        layout.addWidget(self.more)
        layout.addStretch(1)
        self.setWidget(self._content)
        self.hide()

    def shown(self) -> list[tuple[str, list[QPixmap]]]:
        """(class, its example pictures) for each class on show."""
        return list(self._shown)

    def show_loader(self, loader: Any) -> None:
        self.clear()
        pictures = Pictures.of(loader)
        train = getattr(loader, "train_data", None)
        if pictures is None or train is None or loader.task != "classification" or not loader.classes:
            return
        classes = [str(c) for c in loader.classes]
        y, rows = np.asarray(train.y), np.asarray(train.rows)
        for i, name in enumerate(classes[:MAX_CLASSES]):
            picked = rows[np.flatnonzero(y == i)[:PER_CLASS]]
            pixmaps = [pictures.pixmap(int(row), SIDE, raw=True) for row in picked]
            self._add_row(i, name, pixmaps)
        left = len(classes) - MAX_CLASSES
        self.more.setText(f"and {left} more classes" if left > 1 else "and 1 more class" if left == 1 else "")
        self.more.setVisible(left > 0)
        self.show()
        QTimer.singleShot(0, self._make_room)   # once laid out: its height is known then

    def _make_room(self) -> None:
        """Grow the enclosing splitter's pane (the schema panel's lower half) until the first
        `ROOM_CLASSES` classes show without scrolling, taking the height from the other panes down
        to their minimum, and take most of that growth in the pane's layout. Minimum heights stay
        as they are: a short window scrolls the examples, it never squeezes the panel."""
        pane: QWidget = self
        splitter = self.parentWidget()
        while splitter is not None and not isinstance(splitter, QSplitter):
            pane, splitter = splitter, splitter.parentWidget()
        if splitter is None or not self.isVisible():
            return
        want = self._content.sizeHint().height() if len(self._shown) <= ROOM_CLASSES else (
            self.fontMetrics().height() + ROOM_CLASSES * (SIDE + self._grid.verticalSpacing()) + 8)
        parent = self.parentWidget()
        layout = parent.layout() if parent is not None else None
        if isinstance(layout, QBoxLayout):
            layout.setStretchFactor(self, GROWTH_SHARE)
        short = (want - self.viewport().height()) * 5 // 4   # a quarter more: the neighbours take a share
        sizes, at, grown = splitter.sizes(), splitter.indexOf(pane), 0
        for i in range(splitter.count()):
            if i != at and grown < short:
                other = splitter.widget(i)
                floor = other.minimumSizeHint().height() if other is not None else sizes[i]
                take = min(max(0, sizes[i] - floor), short - grown)
                sizes[i] -= take
                grown += take
        if grown:
            sizes[at] += grown
            splitter.setSizes(sizes)

    def _add_row(self, at: int, name: str, pixmaps: list[QPixmap]) -> None:
        title = QLabel(name)
        title.setToolTip(name)
        title.setMaximumWidth(90)
        title.setText(title.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, 90))
        self._grid.addWidget(title, at, 0)
        for j, pixmap in enumerate(pixmaps, 1):
            cell = QLabel()
            cell.setPixmap(pixmap)
            cell.setToolTip(f"{name}, example {j}")
            self._grid.addWidget(cell, at, j)
        self._grid.setColumnStretch(PER_CLASS + 1, 1)
        self._shown.append((name, pixmaps))

    def clear(self) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._shown = []
        self.more.setText("")
        self.hide()
