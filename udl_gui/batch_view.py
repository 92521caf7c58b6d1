"""The batch view: the batch toolbar over a table of one batch, processed tensors or raw rows.

It reads from a loaded `UnifiedDataLoader` on the GUI thread (`get_batch` is a gather of one
batch, cheap) and never runs a job.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from udl_core.errors import UDLError
from udl_gui.batch_grid import BatchGrid, captions
from udl_gui.batch_model import BatchTableModel, raw_columns
from udl_gui.controls import BatchToolbar
from udl_gui.frozen_table import FrozenColumnTable
from udl_gui.thumbnails import BatchPictures, Pictures

__all__ = ["BatchView"]

TABLE_SIDE = 48   # pixels of a picture in the batch table (image datasets)


class BatchView(QWidget):
    shown = Signal(int)     # the index of the batch now on screen
    problem = Signal(str)   # a message for the log (a batch that cannot be shown)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader: Any = None
        self.toolbar = BatchToolbar()
        self.model = BatchTableModel(self)
        self.table = FrozenColumnTable()  # the label (column 0) stays at the left while scrolling
        self.table.setObjectName("batchTable")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setDefaultSectionSize(96)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbar)
        self.pictures: Pictures | None = None   # the dataset's pictures when it holds images
        self.grid = BatchGrid()
        self.views = QTabWidget()   # Table, and Grid for image datasets (the tab bar hides with one tab)
        self.views.setObjectName("batchViews")
        self.views.setDocumentMode(True)
        self.views.setTabBarAutoHide(True)
        self.views.addTab(self.table, "Table")
        layout.addWidget(self.views, 1)

        bar = self.toolbar
        bar.index_spin.valueChanged.connect(self._on_index_spin_changed)
        bar.prev_button.clicked.connect(lambda: bar.index_spin.stepBy(-1))
        bar.next_button.clicked.connect(lambda: bar.index_spin.stepBy(1))
        bar.split_combo.currentIndexChanged.connect(self._on_split_combo_changed)
        bar.raw_button.toggled.connect(self._on_raw_button_toggled)
        self.update_range()

    @property
    def split(self) -> str:
        return self.toolbar.split_combo.currentText()

    def set_loader(self, loader: Any) -> None:
        self.loader = loader
        self._set_pictures(Pictures.of(loader))
        self.update_range()
        self.show_batch()

    def batch_count(self, split: str | None = None) -> int:
        if self.loader is None:
            return 0
        split = split or self.split
        if split == "train":
            return len(self.loader)
        return math.ceil(int(getattr(self.loader, "num_val", 0)) / max(1, int(self.loader.batch_size)))

    def update_range(self) -> None:
        n = self.batch_count()
        spin = self.toolbar.index_spin
        spin.blockSignals(True)
        spin.setRange(0, max(0, n - 1))
        spin.blockSignals(False)
        self.toolbar.of_label.setText(f"of {n}")
        spin.setEnabled(n > 0)
        self._update_arrows()

    def _update_arrows(self) -> None:
        """The previous/next arrows are enabled only where there is a batch to go to."""
        spin, bar = self.toolbar.index_spin, self.toolbar
        bar.prev_button.setEnabled(spin.isEnabled() and spin.value() > spin.minimum())
        bar.next_button.setEnabled(spin.isEnabled() and spin.value() < spin.maximum())

    def show_batch(self) -> None:
        """Show the batch the toolbar points at, as tensors or raw rows."""
        bar = self.toolbar
        self.grid.set_batch(None)
        if self.loader is None:
            self.model.clear()
            return
        split, index = self.split, bar.index_spin.value()
        if self.batch_count(split) == 0:
            self.model.clear()
            bar.info.setText(f"no {split} batches")
            return
        try:
            batch = self.loader.get_batch(index, split=split)
            label = self.loader.schema.label
            pictures = None if self.pictures is None else BatchPictures(self.pictures, batch.rows, batch.x, bar.raw)
            if bar.raw:
                self.model.set_raw(raw_columns(self.loader, batch.rows), batch.rows, label, pictures=pictures)
            else:
                self.model.set_processed(batch.x, batch.y, batch.rows, list(batch.feature_names), label,
                                         self._classes(), pictures=pictures)
            self.grid.set_batch(pictures, captions(batch.y, self._classes()))
        except UDLError as exc:
            self.model.clear()
            bar.info.setText(str(exc))
            self.problem.emit(str(exc))
            return
        self._size_columns()
        shape = "\u00d7".join(str(d) for d in batch.x.shape)
        bar.info.setText(f"{len(batch.rows)} rows \u00b7 x {shape} {batch.x.dtype} \u00b7 y {batch.y.dtype}"
                         + (" \u00b7 raw values" if bar.raw else ""))
        self.shown.emit(index)

    def _set_pictures(self, pictures: Pictures | None) -> None:
        """Image datasets: a picture column with taller rows, and the Grid tab."""
        self.pictures = pictures
        self.model.picture_side = TABLE_SIDE
        rows = TABLE_SIDE + 4 if pictures is not None else self.fontMetrics().height() + 6
        self.table.verticalHeader().setDefaultSectionSize(rows)
        at = self.views.indexOf(self.grid)
        if pictures is not None and at < 0:
            self.views.addTab(self.grid, "Grid")
        elif pictures is None and at >= 0:
            self.views.removeTab(at)

    def _classes(self) -> tuple[str, ...]:
        if self.loader is None or self.loader.task != "classification":
            return ()
        return tuple(str(c) for c in (self.loader.classes or ()))

    def _size_columns(self) -> None:
        """Fit the first columns to their headers (cheap: header text only, never the cells).

        The header's signals are blocked meanwhile: each resized section would have the table
        queue a repaint of its column for the next event-loop turn, so a new batch was painted
        twice, the second time in the turn after (20 ms of the GUI thread: bench_gui). The new
        model's table is repainted whole once instead."""
        header = self.table.horizontalHeader()
        metrics = header.fontMetrics()
        # Wide enough for the longest text format_value gives a number ("-1.234e+05").
        floor = self.table.fontMetrics().horizontalAdvance("-8.888e+88") + 16
        header.blockSignals(True)
        try:
            for column in range(min(self.model.columnCount(), 80)):
                text = str(self.model.headerData(column, Qt.Orientation.Horizontal) or "")
                header.resizeSection(column, max(floor, min(220, metrics.horizontalAdvance(text) + 24)))
            label, classes = self.model.label_column, self._classes()
            if label is not None and classes and self.model.mode == "processed":
                longest = max(classes, key=len)[:40]
                width = metrics.horizontalAdvance(f"{len(classes) - 1} \u00b7 {longest}") + 32
                header.resizeSection(label, max(header.sectionSize(label), min(260, width)))
            if self.model.picture_column is not None:
                header.resizeSection(self.model.picture_column, TABLE_SIDE + 12)
        finally:
            header.blockSignals(False)
        self.table.frozen.setColumnWidth(0, self.table.columnWidth(0))   # the frozen label column's width
        # The new rows and columns are laid out now, and the scroll bars they show or hide with
        # them: Qt lays out a reset model during its first paint and the scroll bars in a queued
        # call after it, which repainted the table again in the next turn.
        for view in (self.table, self.table.frozen):
            view.doItemsLayout()
        for view in (self.table, self.table.frozen):
            QCoreApplication.sendPostedEvents(view, QEvent.Type.MetaCall)
            QCoreApplication.sendPostedEvents(view, QEvent.Type.LayoutRequest)

    def _on_index_spin_changed(self, _value: int) -> None:
        self._update_arrows()
        self.show_batch()

    def _on_split_combo_changed(self, _index: int) -> None:
        self.toolbar.index_spin.setValue(0)
        self.update_range()
        self.show_batch()

    def _on_raw_button_toggled(self, _on: bool) -> None:
        self.show_batch()
