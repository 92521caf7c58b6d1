"""The Results tab: what the trained model says about the data (udl_core/training/evaluation.py).

After a run it shows the confusion matrix as a heat map (counts, or each row divided by its support),
the per-class precision, recall, F1 and support, and, once "Find likely label errors" has run the
k-fold (`udl_core.training.suspects.find_suspects`, a job of kind "suspects" in the window's lane, on
the MLX thread), the suspects with their source rows. A regression's evaluation lists its outliers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from udl_core.events import Evaluation, Suspect, TrainConfig
from udl_gui.worker import Job, mlx_thread

__all__ = ["KIND", "ResultsPanel", "batch_place"]

KIND = "suspects"
_MAX_LABELLED_CELLS = 144     # counts are written in the cells up to 12 x 12 classes
_SUSPECTS_SHOWN = 200


class ResultsPanel(QWidget):
    """`resultsTab`: `confusionPlot`, `perClassTable`, `suspectsTable` and `findSuspectsButton`."""

    def __init__(self, runner: Any, config: Callable[[], dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsTab")
        self.runner = runner
        self._config = config
        self._loader: Any = None
        self._batch_view: Any = None
        self._job: Job | None = None
        self.evaluation: Evaluation | None = None
        self.suspects: tuple[Suspect, ...] = ()

        self.summary = QLabel("Train a model to see what it says about the validation rows.")
        self.summary.setObjectName("resultsSummary")
        self.summary.setWordWrap(True)
        self.normalize_check = QCheckBox("Row-normalised")
        self.normalize_check.setObjectName("confusionNormalizeCheck")
        self.normalize_check.setToolTip("Each row divided by its class's validation rows (recall on the diagonal)")
        self.normalize_check.toggled.connect(self._on_normalize_check_toggled)
        self.find_button = QPushButton("Find likely label errors")
        self.find_button.setObjectName("findSuspectsButton")
        self.find_button.setToolTip("5 short trainings with these settings, each predicting the rows it left "
                                    "out: about 5 runs' time")
        self.find_button.clicked.connect(self._on_find_button_clicked)

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("confusionPlot")
        self.plot.setAccessibleName("Confusion matrix")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("left", "given label")
        self.plot.setLabel("bottom", "predicted")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.plot.addItem(self.image)
        self._cell_texts: list[pg.TextItem] = []

        self.per_class = _table("perClassTable", ["class", "precision", "recall", "F1", "support"])
        self.per_class.setAccessibleName("Per-class metrics")
        self.suspects_table = _table("suspectsTable", ["row", "source", "label", "predicted", "confidence"])
        self.suspects_table.setAccessibleName("Likely label errors")

        top = QHBoxLayout()
        top.addWidget(self.normalize_check)
        top.addStretch(1)
        top.addWidget(self.find_button)
        split = QSplitter(Qt.Orientation.Vertical)
        for widget in (self.plot, self.per_class, self.suspects_table):
            split.addWidget(widget)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self.suspects_table.cellClicked.connect(self._on_suspects_table_cell_clicked)
        self.per_class.cellClicked.connect(self._on_per_class_cell_clicked)
        runner.progressed.connect(self._on_runner_progressed)
        runner.returned.connect(self._on_runner_returned)
        runner.finished.connect(self._on_runner_finished)
        self._sync_button()

    # public API ---------------------------------------------------------------------------------
    def set_loader(self, loader: Any) -> None:
        """A newly loaded dataset: what was shown belongs to the old one."""
        self._loader = loader
        self._job = None
        self.show_evaluation(None)
        self.show_suspects(())

    def follow(self, batch_view: Any) -> None:
        """Clicking a suspect (or a regression's outlier) shows its row in `batch_view`'s batch table:
        the split and batch that hold it (epoch 0's order), the row selected, its picture where the
        dataset has pictures; the Processed / Raw toggle shows either form."""
        self._batch_view = batch_view

    def show_row(self, row: int) -> bool:
        """Show source row `row` in the followed batch view; False when it is not in any split."""
        view = self._batch_view
        place = batch_place(self._loader, row) if view is not None and self._loader is not None else None
        if place is None:
            return False
        split, index, offset = place
        bar = view.toolbar
        bar.split_combo.setCurrentText(split)
        bar.index_spin.setValue(index)
        view.table.selectRow(offset)
        view.table.scrollTo(view.model.index(offset, 0))
        return True

    def show_evaluation(self, evaluation: Evaluation | None) -> None:
        self.evaluation = evaluation
        self._draw_confusion()
        if evaluation is None:
            self.summary.setText("Train a model to see what it says about the validation rows.")
            _fill(self.per_class, [])
        elif evaluation.task == "regression":
            self.summary.setText(_sentence(evaluation) + (f"; {len(evaluation.outliers)} outliers (|z| >= 3) below"
                                                    if evaluation.outliers else ""))
            _fill(self.per_class, [(f"row {o.row}", f"{o.actual:.6g}", f"{o.predicted:.6g}", f"{o.z:+.1f} sd", "")
                                   for o in evaluation.outliers])
            self.per_class.setHorizontalHeaderLabels(["outlier", "actual", "predicted", "residual", ""])
        else:
            self.summary.setText(_sentence(evaluation))
            self.per_class.setHorizontalHeaderLabels(["class", "precision", "recall", "F1", "support"])
            rows: list[tuple[str, ...]] = [(c, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", f"{s:,}") for c, p, r, f, s in
                    zip(evaluation.classes, evaluation.precision, evaluation.recall, evaluation.f1, evaluation.support)]
            for name, avg in (("macro avg", evaluation.macro), ("weighted avg", evaluation.weighted)):
                rows.append((name, *(f"{avg.get(k, float('nan')):.3f}" for k in ("precision", "recall", "f1")),
                             f"{evaluation.rows:,}"))
            _fill(self.per_class, rows)
        self._sync_button()

    def show_suspects(self, suspects: Sequence[Suspect]) -> None:
        self.suspects = tuple(suspects)
        _fill(self.suspects_table, [(str(s.row), s.source, s.label, s.predicted, f"{s.confidence:.2f}")
                                    for s in self.suspects[:_SUSPECTS_SHOWN]])

    def find_suspects(self) -> Job | None:
        """Start the k-fold on the loaded dataset; None when there is none or it is not classification."""
        if not self._can_find():
            return None
        from udl_core.training.suspects import find_suspects   # imports MLX: only when asked

        self.show_suspects(())
        self._job = self.runner.start(KIND, find_suspects, self._loader, TrainConfig(**self._config()),
                                      limit=_SUSPECTS_SHOWN, thread=mlx_thread())
        self._sync_button()
        return self._job

    # slots ----------------------------------------------------------------------------------------
    @Slot()
    def _on_find_button_clicked(self) -> None:
        if self._job is not None and self._job.running:
            self.runner.stop()
        else:
            self.find_suspects()

    @Slot(int, int)
    def _on_suspects_table_cell_clicked(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.suspects):
            self.show_row(self.suspects[row].row)

    @Slot(int, int)
    def _on_per_class_cell_clicked(self, row: int, _column: int) -> None:
        ev = self.evaluation
        if ev is not None and ev.task == "regression" and 0 <= row < len(ev.outliers):
            self.show_row(ev.outliers[row].row)

    @Slot(bool)
    def _on_normalize_check_toggled(self, _on: bool) -> None:
        self._draw_confusion()

    @Slot(str, object)
    def _on_runner_progressed(self, _kind: str, event: object) -> None:
        if isinstance(event, Evaluation):
            self.show_evaluation(event)

    @Slot(str, object)
    def _on_runner_returned(self, kind: str, result: object) -> None:
        if kind == KIND and self.runner.reporting is self._job and isinstance(result, tuple):
            self.show_suspects(result)
            found = f"{len(result)} likely label errors found (least likely label first)."
            self.summary.setText(found if self.evaluation is None else f"{_sentence(self.evaluation)} {found}")

    @Slot(str)
    def _on_runner_finished(self, _kind: str) -> None:
        self._sync_button()

    # drawing --------------------------------------------------------------------------------------
    def _draw_confusion(self) -> None:
        for text in self._cell_texts:
            self.plot.removeItem(text)
        self._cell_texts = []
        ev = self.evaluation
        if ev is None or ev.confusion is None or not len(ev.confusion):
            self.image.clear()
            self.plot.setVisible(False)   # no matrix (nothing trained yet, or a regression): no empty frame
            return
        self.plot.setVisible(True)
        counts = np.asarray(ev.confusion, np.float64)
        shown = counts
        if self.normalize_check.isChecked():
            support = counts.sum(axis=1, keepdims=True)
            shown = np.divide(counts, support, out=np.zeros_like(counts), where=support > 0)
        self.image.setImage(shown, levels=(0.0, max(float(shown.max()), 1e-12)))
        n = len(counts)
        ticks = [[(i + 0.5, str(name)[:16]) for i, name in enumerate(ev.classes)]]
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setTicks(ticks)
        if n * n <= _MAX_LABELLED_CELLS:
            top = float(shown.max()) or 1.0
            for i in range(n):
                for j in range(n):
                    value = shown[i, j]
                    label = f"{value:.2f}" if self.normalize_check.isChecked() else f"{int(value):,}"
                    ink = (0, 0, 0) if value > 0.6 * top else (255, 255, 255)   # readable on viridis
                    text = pg.TextItem(label, color=ink, anchor=(0.5, 0.5))
                    text.setPos(j + 0.5, i + 0.5)
                    self.plot.addItem(text)
                    self._cell_texts.append(text)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)

    def _can_find(self) -> bool:
        return self._loader is not None and getattr(self._loader, "task", None) == "classification"

    def _sync_button(self) -> None:
        running = self._job is not None and self._job.running
        self.find_button.setText("Stop finding label errors" if running else "Find likely label errors")
        self.find_button.setEnabled(running or self._can_find())


def batch_place(loader: Any, row: int) -> tuple[str, int, int] | None:
    """(split, batch index, place in the batch) of source row `row` in epoch 0, or None."""
    for split in ("train", "val"):
        data = getattr(loader, f"{split}_data", None)
        if data is None:
            continue
        hit = np.flatnonzero(np.asarray(data.rows) == row)
        if not len(hit):
            continue
        order = np.asarray(loader.order(split, 0)) if hasattr(loader, "order") else np.arange(len(data.rows))
        at = int(np.flatnonzero(order == hit[0])[0])
        size = max(int(loader.batch_size), 1)
        return split, at // size, at % size
    return None


def _sentence(evaluation: Evaluation) -> str:
    text = str(evaluation)
    return text[:1].upper() + text[1:]


def _table(name: str, headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            item = QTableWidgetItem(text)
            if j and text[:1].isdigit():
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(i, j, item)
