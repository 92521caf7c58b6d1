"""What the window paints after a load: each panel once, in the frame that changed it.

A panel painted again a frame later (a column resize, a scroll bar or a layout queued for
after the first paint) is GUI-thread time spent twice, and it lands in the frame of the next
panel: on a 1M-row CSV those frames stalled the event loop 70-110 ms (bench_gui).
"""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
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


def test_the_batch_table_is_filled_in_one_frame_and_painted_in_a_later_one(qtbot, window, known_csv):
    settle()
    viewport = window.batch_table.viewport()
    counter = PaintCounter(viewport)
    at_next_turn: list[int] = []

    def on_shown(_index: int) -> None:   # the fill's frame: what has been painted by the next timer?
        QTimer.singleShot(0, lambda: at_next_turn.append(counter.counts[viewport]))

    window.batch_view.shown.connect(on_shown)
    load(qtbot, window, known_csv)
    qtbot.waitUntil(lambda: bool(at_next_turn) and counter.counts[viewport] >= 1 and not window.busy)
    window.batch_view.shown.disconnect(on_shown)
    counter.remove()
    assert at_next_turn[0] == 0
    assert window.batch_view.updatesEnabled() and window.health_strip.updatesEnabled()


def test_a_load_that_replaces_a_staged_one_leaves_every_panel_painting(qtbot, window, known_csv, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text(known_csv.read_text(encoding="utf-8").replace("target", "label"), encoding="utf-8")
    load(qtbot, window, known_csv)
    window.batch_view.shown.connect(lambda _index: window.load(str(other)) if window.loader.path != str(other)
                                    else None)
    window.load(str(known_csv), label="color")   # staged; its batch fill starts the other load
    qtbot.waitUntil(lambda: window.loader is not None and window.loader.path == str(other) and not window.busy,
                    timeout=30_000)
    settle()
    assert window.batch_view.updatesEnabled() and window.health_strip.updatesEnabled()


def test_the_health_strip_is_painted_once_per_redraw(qtbot):
    import numpy as np

    from udl_core.health import BatchHealth
    from udl_gui.health_strip import HealthStrip

    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.resize(500, 260)
    strip.show()
    qtbot.waitExposed(strip)
    settle()
    viewport = strip._view.viewport()
    counter = PaintCounter(viewport)
    rng = np.random.default_rng(0)
    n = 2_000
    strip.reset(("a", "b", "c"))
    strip.add(BatchHealth(start=0, label_counts=rng.integers(0, 20, size=(n, 3)), label_mean=None,
                          nonfinite=np.zeros(n, np.int64), mean=rng.normal(size=n), std=rng.random(n) + 0.5))
    strip.flush()   # new ranges on both plots: worked out here, not during the paint
    qtbot.waitUntil(lambda: counter.counts[viewport] >= 1)
    settle()
    counter.remove()
    assert strip.batches == n
    assert counter.counts[viewport] == 1
