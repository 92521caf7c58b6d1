"""Garbage collection on the GUI thread only.

CPython collects reference cycles on whichever thread happens to allocate when a generation's
count passes its threshold. A cycle that holds a Qt widget (a view, a dialog, a closed window)
collected on a worker thread destroys the widget there: Qt's destructor then waits for the GIL
inside a signal disconnect while the worker holds it (a deadlock), or touches GUI state from the
wrong thread (a segfault). Both were seen during loads, in `gc_collect_main` on the load's worker.

So the app turns automatic collection off and collects on the GUI thread instead, from a timer,
generation by generation with the interpreter's own thresholds (the scheme calibre uses for the
same problem). Workers still free acyclic objects at once by reference counting.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["GuiThreadCollector"]


class GuiThreadCollector(QObject):
    """While alive, automatic collection is off and `collect_due` runs on the GUI thread every
    `interval_ms`; `stop()` (or deleting it) turns automatic collection back on."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start()

    def collect_due(self) -> int:
        """Collect the generations whose counts passed their thresholds; the objects found."""
        count0, count1, count2 = gc.get_count()
        found = 0
        if count0 > self.threshold[0]:
            found += gc.collect(0)
            if count1 > self.threshold[1]:
                found += gc.collect(1)
                if count2 > self.threshold[2]:
                    found += gc.collect(2)
        return found

    def stop(self) -> None:
        self.timer.stop()
        if self.was_enabled:
            gc.enable()
