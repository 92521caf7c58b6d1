"""The modules a first load needs, imported on a background thread once the window has painted.

Importing polars and pyarrow's readers is about a second of Python code (module bodies,
decorators, `inspect.signature` calls) that holds the GIL in pieces of up to 100 ms; run on the
worker during the first load, those pieces stalled the event loop (bench_gui). Imported here,
after the first paint and before most people pick a file, the load finds them ready.

Then the imported objects (about 20,000, polars' classes and functions) are frozen, as the
start-up's are (`udl_gui.main.freeze_startup_objects`): a full collection, which may run on the
GUI thread, walked them all each time (108 ms during the checks).
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading

from PySide6.QtCore import QEvent, QObject, QTimer

__all__ = ["MODULES", "BackgroundImports", "import_modules"]

# What a CSV, JSON, Parquet or Feather load imports after the window's own modules
# (polars.sql.context is imported lazily by polars on its first read).
MODULES = ("polars", "polars.sql.context", "pyarrow.compute", "pyarrow.csv", "pyarrow.json",
           "pyarrow.parquet", "pyarrow.feather", "numpy.ma")


def import_modules(names: tuple[str, ...] = MODULES) -> None:
    """Import `names` (one that fails is logged and skipped: its load reports it), then freeze
    every object alive so far out of the collector's reach."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:   # noqa: BLE001 - a broken optional module is the load's error to report
            logging.getLogger("udl_gui").warning("background import of %s failed", name, exc_info=True)
    gc.freeze()


class BackgroundImports(QObject):
    """Starts `import_modules` on a daemon thread at `widget`'s first paint; `thread` is None
    until then. The import lock makes a load that starts meanwhile wait for a module, not
    import it twice."""

    def __init__(self, widget: QObject, names: tuple[str, ...] = MODULES) -> None:
        super().__init__(widget)
        self.names = names
        self.thread: threading.Thread | None = None
        self.widget = widget
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint and self.thread is None and obj is self.widget:
            self.widget.removeEventFilter(self)
            self.thread = threading.Thread(target=import_modules, args=(self.names,),
                                           name="udl-imports", daemon=True)
            QTimer.singleShot(0, self.thread.start)   # after this paint has finished
        return False
