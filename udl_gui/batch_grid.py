"""A batch of an image dataset as a grid of pictures, the class under each (like fastai's show_batch).

The grid shows the batch the toolbar points at, raw or processed (the processed tensor mapped
back to pixels), as the batch table does. Its model keeps the batch's `BatchPictures` and
makes a pixmap only when the view paints that item.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from udl_gui.thumbnails import BatchPictures

__all__ = ["BatchGrid", "BatchGridModel"]

_Index = QModelIndex | QPersistentModelIndex
GRID_SIDE = 96   # pixels of a picture in the grid


class BatchGridModel(QAbstractListModel):
    """One item per row of the batch: its picture and, under it, its class (or target)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pictures: BatchPictures | None = None
        self._captions: list[str] = []

    def set_batch(self, pictures: BatchPictures | None, captions: Sequence[str] = ()) -> None:
        self.beginResetModel()
        self._pictures = pictures
        self._captions = list(captions)
        self.endResetModel()

    def caption(self, row: int) -> str:
        return self._captions[row] if row < len(self._captions) else ""

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() or self._pictures is None else len(self._pictures)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or self._pictures is None or not 0 <= index.row() < len(self._pictures):
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pictures.pixmap(row, GRID_SIDE)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.caption(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            caption = self.caption(row)
            return self._pictures.describe(row) + (f"; class {caption}" if caption else "")
        return None


def captions(y: np.ndarray | None, classes: Sequence[str]) -> list[str]:
    """What goes under each picture: the class name, else the target value."""
    if y is None:
        return []
    if classes:
        names = list(classes)
        return [names[int(v)] if 0 <= int(v) < len(names) else "?" for v in np.asarray(y).tolist()]
    return [f"{float(v):.4g}" for v in np.asarray(y).tolist()]


class BatchGrid(QListView):
    """The grid: pictures in rows that wrap with the width, captions under them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchGrid")
        self.setAccessibleName("Batch pictures")
        self.grid_model = BatchGridModel(self)
        self.setModel(self.grid_model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setWrapping(True)
        self.setSpacing(4)
        self.setIconSize(QSize(GRID_SIDE, GRID_SIDE))
        line = self.fontMetrics().height()
        self.setGridSize(QSize(GRID_SIDE + 16, GRID_SIDE + line + 12))
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def set_batch(self, pictures: BatchPictures | None, captions: Sequence[str] = ()) -> None:
        self.grid_model.set_batch(pictures, captions)
