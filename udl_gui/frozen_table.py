"""A table view whose first column stays put while the others scroll sideways.

After Qt's "Frozen Column" example: a second view over the same model and selection sits on
top of the table's viewport, as wide as column 0, and scrolls with the table vertically only.
The batch table keeps its label there, so a wide batch never scrolls the label out of view.
The overlay shows the model's other columns too, but they lie past its right edge: nothing
is hidden per column, so a 1,500-column batch costs the same as a 5-column one.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

__all__ = ["FrozenColumnTable"]


class FrozenColumnTable(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frozen = QTableView(self)
        self.frozen.setObjectName("batchFrozenColumn")
        self.frozen.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.frozen.verticalHeader().hide()
        self.frozen.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.frozen.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.frozen.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.frozen.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.frozen.setWordWrap(False)
        self.frozen.setAlternatingRowColors(True)
        # A line on its right edge says where the frozen column ends.
        self.frozen.setStyleSheet("QTableView#batchFrozenColumn { border: none; "
                                  "border-right: 1px solid palette(mid); }")
        self.viewport().stackUnder(self.frozen)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.horizontalHeader().sectionResized.connect(self._on_header_section_resized)
        self.verticalHeader().sectionResized.connect(self._on_vertical_section_resized)
        self.frozen.verticalScrollBar().valueChanged.connect(self.verticalScrollBar().setValue)
        self.verticalScrollBar().valueChanged.connect(self.frozen.verticalScrollBar().setValue)
        self.frozen.horizontalScrollBar().valueChanged.connect(self._on_frozen_scrolled_sideways)
        self.frozen.hide()

    def setModel(self, model) -> None:
        super().setModel(model)
        self.frozen.setModel(model)
        self.frozen.setSelectionModel(self.selectionModel())
        model.modelReset.connect(self.update_frozen)
        model.layoutChanged.connect(self.update_frozen)
        self.update_frozen()

    def update_frozen(self) -> None:
        """Show the overlay over column 0 when there is one (and sync its widths and rows)."""
        model = self.model()
        show = model is not None and model.columnCount() > 0 and model.rowCount() > 0
        self.frozen.setVisible(show)
        if not show:
            return
        self.frozen.verticalHeader().setDefaultSectionSize(self.verticalHeader().defaultSectionSize())
        self.frozen.setColumnWidth(0, self.columnWidth(0))
        self.frozen.horizontalHeader().setFixedHeight(self.horizontalHeader().height())
        self.frozen.verticalScrollBar().setValue(self.verticalScrollBar().value())
        self._place_frozen()

    def _place_frozen(self) -> None:
        frame = self.frameWidth()
        self.frozen.setGeometry(self.verticalHeader().width() + frame, frame, self.columnWidth(0),
                                self.viewport().height() + self.horizontalHeader().height())

    def _on_header_section_resized(self, index: int, _old: int, size: int) -> None:
        if index == 0:
            self.frozen.setColumnWidth(0, size)
            self._place_frozen()

    def _on_vertical_section_resized(self, index: int, _old: int, size: int) -> None:
        self.frozen.setRowHeight(index, size)

    def _on_frozen_scrolled_sideways(self, value: int) -> None:
        if value:
            self.frozen.horizontalScrollBar().setValue(0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_frozen()

    def updateGeometries(self) -> None:  # the headers' sizes settle here
        super().updateGeometries()
        if hasattr(self, "frozen"):
            self.frozen.horizontalHeader().setFixedHeight(self.horizontalHeader().height())
            self._place_frozen()

    def moveCursor(self, action, modifiers) -> QModelIndex:
        """Keyboard moves never leave the current cell hidden under the frozen column."""
        current = super().moveCursor(action, modifiers)
        if (action == QAbstractItemView.CursorAction.MoveLeft and current.column() > 0
                and self.visualRect(current).topLeft().x() < self.frozen.columnWidth(0)):
            bar = self.horizontalScrollBar()
            target = bar.value() + self.visualRect(current).topLeft().x() - self.frozen.columnWidth(0)
            bar.setValue(target)
        return current

    def scrollTo(self, index: QModelIndex, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        if index.column() > 0:
            super().scrollTo(index, hint)
