"""A table model over one batch: the processed tensors or the raw rows, formatted on demand.

Nothing is built per cell up front (docs/conventions.md, "Table models and plots"): the model keeps the batch's arrays and
answers `data()` for the cells a view asks for, so a 4,096 x 1,000 batch costs no more to
show than a 10 x 10 one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QPalette
from PySide6.QtWidgets import QApplication

from udl_core.temporal import python_value

__all__ = ["BatchTableModel", "format_value", "raw_columns"]

_Index = QModelIndex | QPersistentModelIndex
LABEL_MARK = "\u25c6"  # a diamond before the label column's name


_ROLES = frozenset({
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.DecorationRole,
})
# the roles as plain ints: data() compares them for every cell a view paints
_DISPLAY, _TOOLTIP, _ALIGNMENT, _BACKGROUND, _FONT, _DECORATION = (int(r) for r in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.DecorationRole))
PICTURE_COLUMN = "picture"   # image datasets: a thumbnail of each row, after the label
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


def format_value(value: object) -> str:
    """A short cell text: 4 significant digits for floats, a dash for a missing value."""
    if value is None:
        return "\u2014"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.4g}"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, np.ndarray):
        return f"array{list(value.shape)}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _TakenColumn(Sequence):
    """One arrow column's values at `rows`, taken when a cell is first asked for: a view shows
    a dozen columns of a thousand, and taking them all costs ~60 ms for 4,096 rows."""

    def __init__(self, column: pa.ChunkedArray, rows: pa.Array) -> None:
        self._column = column
        self._rows = rows
        self._values: pa.Array | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):  # type: ignore[override]
        if self._values is None:
            self._values = self._column.take(self._rows).combine_chunks()
        return self._values[index]


def raw_columns(loader: Any, rows: np.ndarray) -> dict[str, Sequence[object]]:
    """The raw values of dataset rows `rows` as a loaded `UnifiedDataLoader` read them: column ->
    a pyarrow array (tabular data) or a numpy array, nothing converted to Python objects.

    The same values as `loader.raw_rows(rows)`, which builds a list per column: 4 million Python
    objects for a 4,096 x 1,000 batch, a quarter of a second on the GUI thread.
    """
    table = loader.table
    rows = np.asarray(rows, dtype=np.int64)
    if table.is_tabular:
        at = pa.array(rows)
        return {name: _TakenColumn(table.columns.column(i), at) for i, name in enumerate(table.columns.column_names)}
    out: dict[str, Sequence[object]] = {}
    features = np.asarray(table.features[rows])
    schema = loader.schema
    names = [c.name for c in schema.columns] if schema is not None else []
    if features.ndim == 2 and names and names[0] == "f0":
        for j in range(features.shape[1]):
            out[f"f{j}"] = features[:, j]
    else:
        out[names[0] if names else "features"] = list(features)
    if table.labels is not None:
        labels = np.asarray(table.labels[rows])
        name = schema.label if schema is not None else (table.label_name or "label")
        if table.class_names and labels.dtype.kind in "iu":
            labels = np.asarray(table.class_names, dtype=object)[labels]
        out[name] = labels
    return out


class BatchTableModel(QAbstractTableModel):
    """Columns are the label (marked), then the processed feature names (or the raw column names)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._mode = "processed"
        self._x: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self._y: np.ndarray | None = None
        self._rows: np.ndarray = np.zeros(0, dtype=np.int64)
        self._names: list[str] = []
        self._raw: list[Sequence[object]] = []
        self._label: str | None = None
        self._classes: tuple[str, ...] = ()
        self._pictures: Any = None   # a thumbnails.BatchPictures for image datasets: the picture column
        self.picture_side = 0
        # (row, column) -> (text, alignment, missing) of a cell shown once: a view asks for several
        # roles of every visible cell on each paint, and a batch's cells do not change.
        self._cells: dict[tuple[int, int], tuple[str, object, bool]] = {}
        self._shape: tuple[int, int, int | None, int | None] = (0, 0, None, None)   # see _keep_shape

    # -- swapping the data -------------------------------------------------------------
    def set_processed(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        rows: np.ndarray,
        feature_names: Sequence[str],
        label: str | None = None,
        classes: Sequence[str] = (),
        pictures: Any = None,
    ) -> None:
        self.beginResetModel()
        self._cells.clear()
        self._pictures = pictures
        self._mode = "processed"
        self._x = np.asarray(x).reshape(len(x), -1) if len(x) else np.zeros((0, len(feature_names)), np.float32)
        self._y = None if y is None else np.asarray(y)
        self._rows = np.asarray(rows)
        self._names = list(feature_names)
        self._raw = []
        self._label = label if y is not None else None
        self._classes = tuple(str(c) for c in classes)
        self._keep_shape()
        self.endResetModel()

    def set_raw(self, raw: Mapping[str, Sequence[object]], rows: np.ndarray, label: str | None = None,
                pictures: Any = None) -> None:
        """`raw`: column -> its values for `rows`, as lists, numpy arrays or pyarrow arrays (see
        `raw_columns`); each cell becomes a Python value only when a view asks for it."""
        self.beginResetModel()
        self._cells.clear()
        self._pictures = pictures
        self._mode = "raw"
        names = [name for name in raw if name != label]
        if label is not None and label in raw:
            names.insert(0, label)  # the label always sits first, as in the processed view
        self._names = names
        self._raw = [raw[name] for name in names]
        self._rows = np.asarray(rows)
        self._x = np.zeros((0, 0), dtype=np.float32)
        self._y = None
        self._label = label if label in raw else None
        self._classes = ()
        self._keep_shape()
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._cells.clear()
        self._x = np.zeros((0, 0), dtype=np.float32)
        self._y = None
        self._rows = np.zeros(0, dtype=np.int64)
        self._names, self._raw, self._label = [], [], None
        self._pictures = None
        self._keep_shape()
        self.endResetModel()

    def _keep_shape(self) -> None:
        """What every `data()` call needs, as plain attributes: a view asks ~8 roles of every
        visible cell on each paint, and the properties behind these cost a Python call each."""
        self._shape = (len(self._rows), self.columnCount(), self.label_column, self.picture_column)

    # -- what the view reads ------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @property
    def label_column(self) -> int | None:
        """The column index of the label (the first one), or None when the batch has none."""
        return None if self._label is None else 0

    @property
    def picture_column(self) -> int | None:
        """The column of the rows' pictures (image datasets), right after the label, or None."""
        if self._pictures is None:
            return None
        return 0 if self.label_column is None else 1

    def _offset(self, column: int = 0) -> int:
        """Processed view: feature j is column j + 1 when the label takes column 0; a column
        after the picture column is one further right."""
        picture = self.picture_column
        shifted = 1 if picture is not None and column > picture else 0
        return shifted + (1 if (self._mode == "processed" and self._y is not None) else 0)

    def column_name(self, column: int) -> str:
        if column == self.label_column:
            return self._label or ""
        if column == self.picture_column:
            return PICTURE_COLUMN
        return self._names[column - self._offset(column)]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        pictures = 1 if self._pictures is not None else 0
        if self._mode == "raw":
            return len(self._names) + pictures
        return len(self._names) + (1 if self._y is not None else 0) + pictures

    def value(self, row: int, column: int) -> object:
        """The cell's underlying value (a float, an int, or the raw object)."""
        if column == self.picture_column:
            return None
        if self._mode == "raw":
            cell = self._raw[column - self._offset(column)][row]
            if isinstance(cell, pa.Scalar):  # raw columns may be arrow or numpy: Python per cell
                return python_value(cell)
            return cell.item() if isinstance(cell, np.generic) else cell
        if self._y is not None and column == 0:
            return self._y[row].item()
        return self._x[row, column - self._offset(column)].item()

    def _label_text(self, value: object) -> str:
        if self._classes and isinstance(value, int) and 0 <= value < len(self._classes):
            return f"{value} \u00b7 {self._classes[value]}"
        return format_value(value)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # A view asks for ~10 roles per visible cell on every paint: unhandled roles leave first.
        if role not in _ROLES:
            return None
        row, column = index.row(), index.column()   # an invalid index has -1 for both
        rows, columns, label, picture = self._shape
        if not (0 <= row < rows and 0 <= column < columns):
            return None
        is_label = column == label
        if column == picture:
            return self._picture_data(row, role)
        if role == _DECORATION:
            return None
        if role == _BACKGROUND:
            return self._label_brush() if is_label else None
        if role == _FONT:
            return _bold() if is_label else None
        if role != _TOOLTIP:
            text, alignment, missing = self._cell(row, column, is_label)
            if role == _DISPLAY:
                return text
            if role == _ALIGNMENT:
                return alignment
            if missing:   # the foreground
                return QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))
            return None
        value = self.value(row, column)
        shown = repr(value) if isinstance(value, float) else self._label_text(value)  # the tooltip
        return f"{self.column_name(column)}, dataset row {int(self._rows[row])}: {shown}"

    def _cell(self, row: int, column: int, is_label: bool) -> tuple[str, object, bool]:
        """The cell's text, alignment and whether it is missing, worked out on its first paint."""
        cell = self._cells.get((row, column))
        if cell is None:
            value = self.value(row, column)
            text = self._label_text(value) if is_label and self._mode == "processed" else format_value(value)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            missing = value is None or (isinstance(value, float) and not math.isfinite(value))
            cell = self._cells[(row, column)] = (text, _RIGHT if numeric else _LEFT, missing)
        return cell

    def _picture_data(self, row: int, role: int) -> object:
        """The picture cell: the thumbnail (made on first paint, then cached) and a tooltip."""
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pictures.pixmap(row, self.picture_side)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._pictures.describe(row)
        return None

    @staticmethod
    def _label_brush() -> QBrush:
        return QBrush(QApplication.palette().color(QPalette.ColorRole.AlternateBase))

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # A header asks for ~8 roles per section each time it lays out: the others leave first.
        if role != Qt.ItemDataRole.DisplayRole and role != Qt.ItemDataRole.ToolTipRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < self.columnCount():
                return None
            if role == Qt.ItemDataRole.DisplayRole:
                name = self.column_name(section)
                return f"{LABEL_MARK} {name}" if section == self.label_column else name
            if role == Qt.ItemDataRole.ToolTipRole:
                name = self.column_name(section)
                if section == self.label_column:
                    return f"{name}: the label ({'class index' if self._classes else 'target'})"
                if section == self.picture_column:
                    return ("each row as a picture" if self._mode == "raw" else
                            "each row's processed tensor mapped back to pixels (x * std + mean)")
                return f"{name}: {'processed feature' if self._mode == 'processed' else 'raw column'}"
            return None
        if not 0 <= section < self.rowCount():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return str(int(self._rows[section]))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"row {int(self._rows[section])} of the dataset"
        return None
