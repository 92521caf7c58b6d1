"""Files and folders opened from the desktop: Finder's Open With, a drop on the Dock icon.

macOS hands them to the application as `QFileOpenEvent`s, not as arguments, and the first one
can arrive before the window exists (the app was started by opening the file). An event filter
on the application instance takes them: it queues them until a window is attached, then loads
them through the window's public `load`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QFileOpenEvent

__all__ = ["FileOpenFilter"]


class FileOpenFilter(QObject):
    """Loads what `QFileOpenEvent`s name; queued until `attach` gives it a window."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self._app = app
        self._window: Any = None
        self.pending: list[str] = []
        self.opened: list[str] = []   # every path an event named, in order (start-up reads it)
        app.installEventFilter(self)

    def attach(self, window: Any) -> None:
        """From now on load into `window`; what arrived before loads now (the last one: one dataset at a time)."""
        self._window = window
        pending, self.pending = self.pending, []
        if pending:
            for skipped in pending[:-1]:
                window.log(f"opened {Path(skipped).name} and then another file: loading the last one", "warning")
            window.load(pending[-1])

    def remove(self) -> None:
        self._app.removeEventFilter(self)
        self._window = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return False
        path = event.file() or event.url().toLocalFile()
        if not path:
            return False   # a URL that is not a local file: nothing UDL can open
        self.opened.append(path)
        if self._window is None:
            self.pending.append(path)
        else:
            self._window.load(path)
        return True
