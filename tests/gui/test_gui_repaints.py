"""What the window paints after a load: each panel once, in the frame that changed it.

A panel painted again a frame later (a column resize, a scroll bar or a layout queued for
after the first paint) is GUI-thread time spent twice, and it lands in the frame of the next
panel: on a 1M-row CSV those frames stalled the event loop 70-110 ms (bench_gui).
"""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtWidgets import QApplication

from gui_support import load


class PaintCounter(QObject):
    """Counts the Paint events of `widgets`."""

    def __init__(self, *widgets) -> None:
        super().__init__()
        self.counts: Counter = Counter()
        self.widgets = widgets
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.counts[watched] += 1
        return False

    def remove(self) -> None:
        for widget in self.widgets:
            widget.removeEventFilter(self)


def settle() -> None:
    """Run what is queued: posted events, due zero-time timers, the paints they ask for."""
    for _ in range(10):
        QCoreApplication.sendPostedEvents()
        QApplication.processEvents()


def test_the_raw_rows_paint_the_batch_table_once(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    settle()
    viewport = window.batch_table.viewport()
    counter = PaintCounter(viewport)
    window.batch_toolbar.raw_button.setChecked(True)   # other columns, other widths
    qtbot.waitUntil(lambda: counter.counts[viewport] >= 1)
    settle()
    counter.remove()
    assert window.batch_model.mode == "raw"
    assert counter.counts[viewport] == 1


def test_a_new_batch_size_paints_the_batch_table_once(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    settle()
    viewport = window.batch_table.viewport()
    counter = PaintCounter(viewport)
    window.controls.batch_size_spin.setValue(3)   # re-batched in place: 3 rows
    qtbot.waitUntil(lambda: counter.counts[viewport] >= 1)
    settle()
    counter.remove()
    assert window.batch_model.rowCount() == 3
    assert counter.counts[viewport] == 1


def test_the_schema_panel_shows_columns_and_classes_apart(qtbot, window, known_csv):
    """The window fills them a frame apart after a load: the columns first, then the class counts."""
    loader = load(qtbot, window, known_csv)
    panel = window.schema_panel
    panel.clear()
    panel.show_columns(loader)
    assert panel.model.rowCount() == 4
    assert not panel.classes_plot.isVisibleTo(panel)
    panel.show_classes(loader)
    assert panel.classes_plot.isVisibleTo(panel)
    assert panel.classes_title.text() == "Class counts: false 6, true 6"
