"""The schema panel: columns (name, type, missing, role), label, task, class counts, warnings.

Type and role are editable through combo delegates; "Reload with overrides" turns the edits
into the loader's keyword arguments (`label`, `ignore`, `categorical`, `numeric`) and emits
them, and the window reloads the dataset with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from udl_core.wording import count, in_window_words, plural
from udl_gui.class_examples import ClassExamples
from udl_gui.health_strip import class_colors
from udl_gui.verdicts import Verdict, palette_color, rank, status_icon

__all__ = ["ColumnRow", "SchemaModel", "SchemaPanel"]

_Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Column", "Type", "Missing", "Role")
KIND_CHOICES = ("numeric", "categorical")
ROLE_CHOICES = ("feature", "label", "ignore")


@dataclass
class ColumnRow:
    name: str
    dtype: str
    kind: str
    missing: int
    role: str
    distinct: int | None = None


class SchemaModel(QAbstractTableModel):
    """The schema's columns; `kind` and `role` are editable, the originals kept for comparison."""

    edited = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[ColumnRow] = []
        self._original: list[tuple[str, str]] = []

    def set_columns(self, rows: Sequence[ColumnRow]) -> None:
        self.beginResetModel()
        self._rows = [ColumnRow(**vars(r)) for r in rows]
        self._original = [(r.kind, r.role) for r in self._rows]
        self.endResetModel()

    @property
    def rows(self) -> list[ColumnRow]:
        return list(self._rows)

    def is_edited(self) -> bool:
        return [(r.kind, r.role) for r in self._rows] != self._original

    def overrides(self) -> dict[str, Any]:
        """The loader keyword arguments that reproduce the edited schema."""
        label = next((r.name for r in self._rows if r.role == "label"), None)
        ignore = tuple(r.name for r in self._rows if r.role == "ignore")
        categorical = tuple(r.name for r, (kind, _) in zip(self._rows, self._original)
                            if r.kind == "categorical" and kind != "categorical")
        numeric = tuple(r.name for r, (kind, _) in zip(self._rows, self._original)
                        if r.kind == "numeric" and kind != "numeric")
        return {"label": label, "ignore": ignore, "categorical": categorical, "numeric": numeric}

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() in (1, 3):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole and column == 2:
            return count(row.missing)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return (row.name, row.kind, row.missing, row.role)[column] if column < 4 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                return f"{row.kind} (stored as {row.dtype}); double-click to treat it as another type"
            if column == 3:
                return "feature, label or ignore; double-click to change, then Reload with overrides"
            if column == 2:
                return plural(row.missing, "missing value") + (f", {count(row.distinct)} distinct" if row.distinct else "")
            return row.name
        if role == Qt.ItemDataRole.FontRole and (row.role == "label" or (column == 2 and row.missing)):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole:
            palette = QApplication.palette()
            if row.role == "ignore":
                return QBrush(palette.color(QPalette.ColorRole.PlaceholderText))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() not in (1, 3):
            return False
        row = self._rows[index.row()]
        value = str(value)
        if index.column() == 1:
            if value == row.kind:
                return False
            row.kind = value
            self.dataChanged.emit(index, index)
        else:
            if value not in ROLE_CHOICES or value == row.role:
                return False
            if value == "label":  # one label: the old one becomes a feature
                for i, other in enumerate(self._rows):
                    if other.role == "label":
                        other.role = "feature"
                        self.dataChanged.emit(self.index(i, 0), self.index(i, 3))
            row.role = value
            self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), 3))
        self.edited.emit()
        return True

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None


class _ChoiceDelegate(QStyledItemDelegate):
    def __init__(self, choices_for, parent=None) -> None:
        super().__init__(parent)
        self._choices_for = choices_for

    def createEditor(self, parent, option, index):  # noqa: N802 - Qt's name
        combo = QComboBox(parent)
        combo.addItems(self._choices_for(index))
        combo.activated.connect(lambda _=0, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor, index) -> None:  # noqa: N802
        editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole)))

    def setModelData(self, editor, model, index) -> None:  # noqa: N802
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class SchemaPanel(QWidget):
    overridesRequested = Signal(dict)  # the loader keyword arguments to reload with
    _messages: tuple[Sequence[str], Sequence[Any], Sequence[str]] = ((), (), ())   # the load's
    _checks: tuple[Verdict, ...] = ()   # the last check run's verdicts
    _checks_stopped = False

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("schemaPanel")
        self.summary = QLabel("No dataset loaded.")
        self.summary.setObjectName("schemaSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model = SchemaModel(self)
        self.table = QTableView()
        self.table.setObjectName("schemaTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.SelectedClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Type, Missing and Role are sized to their text once per dataset (`_fit_columns`): sized
        # to contents, the header measured every cell again on each layout and paint after a load
        # (10-20 ms of the GUI thread a time on a 20-column CSV: bench_gui).
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        self.table.setItemDelegateForColumn(1, _ChoiceDelegate(self._kind_choices, self.table))
        self.table.setItemDelegateForColumn(3, _ChoiceDelegate(lambda _i: list(ROLE_CHOICES), self.table))

        self.reload_button = QPushButton("Reload with overrides")
        self.reload_button.setObjectName("reloadOverridesButton")
        self.reload_button.setToolTip("Load the dataset again with the types and roles edited above")
        self.reload_button.setEnabled(False)
        self.reload_button.clicked.connect(self._on_reload_clicked)
        self.model.edited.connect(self._on_model_edited)

        self.classes_plot = pg.PlotWidget()
        self.classes_plot.setObjectName("classCountsPlot")
        self.classes_plot.setMinimumHeight(110)
        self.classes_plot.setMenuEnabled(False)
        self.classes_plot.setMouseEnabled(x=False, y=False)
        self.classes_plot.hideButtons()
        self.classes_plot.setLabel("left", "rows")
        self._bars: pg.BarGraphItem | None = None

        self.warnings = QListWidget()
        self.warnings.setObjectName("schemaWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setAlternatingRowColors(True)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.summary)
        top_layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reload_button)
        top_layout.addLayout(row)

        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        self.classes_title = QLabel("Class counts")
        self.classes_title.setWordWrap(True)   # many classes: lines, not a wider window
        bottom_layout.addWidget(self.classes_title)
        bottom_layout.addWidget(self.classes_plot, 1)
        self.examples = ClassExamples()   # image datasets: a few pictures of each class
        bottom_layout.addWidget(self.examples, 1)
        bottom_layout.addWidget(QLabel("Warnings and skipped records"))
        bottom_layout.addWidget(self.warnings, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([520, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._apply_palette()

    def _apply_palette(self) -> None:
        palette = QApplication.palette()
        self.classes_plot.setBackground(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        for name in ("left", "bottom"):
            self.classes_plot.getAxis(name).setPen(pg.mkPen(text))
            self.classes_plot.getAxis(name).setTextPen(pg.mkPen(text))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "classes_plot"):
            self._apply_palette()
            self._list_messages()

    def _kind_choices(self, index: _Index) -> list[str]:
        current = str(index.data(Qt.ItemDataRole.EditRole))
        return list(dict.fromkeys([current, *KIND_CHOICES]))

    # -- filling it ----------------------------------------------------------------------
    def show_loader(self, loader: Any) -> None:
        """Fill every part from a loaded `UnifiedDataLoader`."""
        self.show_columns(loader)
        self.show_classes(loader)

    def show_columns(self, loader: Any) -> None:
        """The summary, the columns and the warnings of a loaded `UnifiedDataLoader` (the window
        shows its classes a frame later: `show_classes`)."""
        schema = loader.schema
        rows = [ColumnRow(c.name, str(c.dtype), str(c.kind), int(c.missing or 0), str(c.role),
                          getattr(c, "distinct", None)) for c in schema.columns]
        self.model.set_columns(rows)
        self._fit_columns()
        self.reload_button.setEnabled(False)
        classes = [str(c) for c in (schema.classes or ())]
        num_rows = getattr(getattr(loader, "table", None), "num_rows", None)
        parts = [f"<b>label</b>: {schema.label or '(none)'}", f"<b>task</b>: {schema.task}"]
        if classes:
            parts.append(plural(len(classes), "class"))
        if num_rows is not None:
            parts.append(plural(num_rows, "row"))
        dim = getattr(loader, "feature_dim", None)
        if dim is not None:
            parts.append(plural(dim, "processed feature"))
        estimate = getattr(loader, "estimate", None)
        text = " \u00b7 ".join(parts)
        if estimate is not None:
            text += f"<br><span style='color:gray'>{estimate}</span>"
        self.summary.setText(text)
        warnings = list(dict.fromkeys([*(getattr(loader, "warnings", None) or ()), *(schema.warnings or ())]))
        table = getattr(loader, "table", None)
        notes = [n for n in (getattr(table, "notes", None) or ()) if n not in warnings]
        self.show_messages(warnings, list(getattr(loader, "quarantine", None) or ()), notes)

    def _fit_columns(self) -> None:
        """Type, Missing and Role as wide as their widest text (the label's row is bold)."""
        bold = QFont(self.table.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        header = self.table.horizontalHeader()
        texts = {1: [r.kind for r in self.model.rows], 2: [count(r.missing) for r in self.model.rows],
                 3: [r.role for r in self.model.rows]}
        for column, cells in texts.items():
            widest = max([metrics.horizontalAdvance(text) for text in cells] + [
                header.fontMetrics().horizontalAdvance(HEADERS[column])])
            header.resizeSection(column, widest + 20)

    def show_classes(self, loader: Any) -> None:
        """The class counts plot and, for images, a few examples of each class."""
        schema = loader.schema
        classes = [str(c) for c in (schema.classes or ())]
        counts = getattr(schema, "class_counts", None) or {}
        self.show_class_counts(classes, [int(counts.get(c, 0)) if isinstance(counts, dict) else 0 for c in classes]
                               if classes else [])
        self.examples.show_loader(loader)

    def show_class_counts(self, classes: Sequence[str], counts: Sequence[int]) -> None:
        if self._bars is not None:
            self.classes_plot.removeItem(self._bars)
            self._bars = None
        visible = bool(classes)
        self.classes_plot.setVisible(visible)
        self.classes_title.setVisible(visible)
        if not visible:
            return
        x = np.arange(len(classes), dtype=float)
        brushes = [pg.mkBrush(c) for c in class_colors(len(classes))]
        self._bars = pg.BarGraphItem(x=x, height=np.asarray(counts, float), width=0.7, brushes=brushes,
                                     pen=pg.mkPen(None))
        self.classes_plot.addItem(self._bars)
        shown = list(classes) if len(classes) <= 12 else [c if i % (len(classes) // 12 + 1) == 0 else ""
                                                           for i, c in enumerate(classes)]
        self.classes_plot.getAxis("bottom").setTicks([[(float(i), str(c)[:12]) for i, c in enumerate(shown)]])
        self.classes_plot.setXRange(-0.6, len(classes) - 0.4, padding=0)
        top = max(max(counts, default=0), 1) * 1.1
        self.classes_plot.setYRange(0, top, padding=0)
        self._fit_count_axis(top)
        self.classes_title.setText("Class counts: " + ", ".join(f"{c} {count(n)}" for c, n in zip(classes, counts))
                                   if len(classes) <= 6 else f"Class counts ({plural(len(classes), 'class')})")

    def _fit_count_axis(self, top: float) -> None:
        """The count axis as wide as its widest number from the start: pyqtgraph widens an axis
        after painting its labels, and the relayout repainted the plot a frame later (7-17 ms of
        the GUI thread in the next panel's frame: bench_gui)."""
        axis = self.classes_plot.getAxis("left")
        # at least "0.5": a few rows a class get fractional ticks
        digits = QFontMetrics(axis.font()).horizontalAdvance("0" * max(len(str(int(top))), 3))
        label = axis.label.boundingRect().height() * 0.8 if axis.label.isVisible() else 0
        axis.setWidth(int(digits + axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"]) + label + 6))

    def show_messages(self, warnings: Sequence[str], quarantine: Sequence[Any], notes: Sequence[str] = ()) -> None:
        """A load's warnings, skipped records and notes (the last dataset's check verdicts go)."""
        self._messages = (list(warnings), list(quarantine), list(notes))
        self._checks, self._checks_stopped = (), False
        self._list_messages()

    def show_check_results(self, results: Sequence[Verdict], stopped: bool = False) -> None:
        """The pipeline checks' failures, then warnings, listed above the load's messages (a new run
        replaces the last one's); `stopped`: the run was stopped, these are the checks it finished."""
        self._checks, self._checks_stopped = tuple(results), stopped
        self._list_messages()

    def _list_messages(self) -> None:
        warnings, quarantine, notes = self._messages
        self.warnings.clear()
        flagged = sorted((r for r in self._checks if r.status != "pass"), key=lambda r: rank(r.status))
        palette = self.palette()   # on a palette change the list hears of it only after this panel
        for result in flagged:
            verb = "failed" if result.status == "fail" else "warned"
            item = QListWidgetItem(status_icon(result.status), f"check {result.name} {verb}: {result.reason}",
                                   self.warnings)
            item.setForeground(palette_color(result.status, palette, QPalette.ColorRole.Base,
                                             QPalette.ColorRole.AlternateBase))
            item.setToolTip(getattr(result, "hint", "") or result.reason)
        for text in warnings:
            QListWidgetItem(f"\u26a0 {in_window_words(text)}", self.warnings)
        for text in notes:
            QListWidgetItem(f"\u2139 {text}", self.warnings)
        if quarantine:
            QListWidgetItem(f"{plural(len(quarantine), 'record')} skipped:", self.warnings)
            for record in list(quarantine)[:200]:
                QListWidgetItem(f"  {record}", self.warnings)
        if not warnings and not quarantine and not flagged:
            passed = f"; {plural(len(self._checks), 'check')} passed" if self._checks else ""
            stopped = " before the checks were stopped" if self._checks and self._checks_stopped else ""
            QListWidgetItem(f"No warnings; no records skipped{passed}{stopped}.", self.warnings)
        self.warnings.scrollToTop()

    def add_messages(self, lines: Sequence[str]) -> None:
        """More warnings after the load (the pipeline checks' verdicts)."""
        for text in lines:
            QListWidgetItem(f"\u26a0 {text}", self.warnings)

    def clear(self) -> None:
        self.model.set_columns([])
        self.summary.setText("No dataset loaded.")
        self.show_class_counts([], [])
        self.examples.clear()
        self.warnings.clear()

    def _on_model_edited(self) -> None:
        self.reload_button.setEnabled(self.model.is_edited())

    def _on_reload_clicked(self) -> None:
        self.overridesRequested.emit(self.model.overrides())
