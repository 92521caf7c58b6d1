"""The drop target: a dashed frame over the window while files are dragged over it.

`DropOverlay` watches its window's drag and drop events (an event filter, so the window needs
no drag handlers of its own), shows itself over the window's central widget while local
files or folders hover, and on a drop emits `dropped(data_path, labels_path, left_out)`: the
dataset, a labels file when a pair was dropped together (X.npy with y.npy, say), and the other
dropped paths, which are not loaded.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow

from udl_gui.files import local_paths, pair_dropped

__all__ = ["DropOverlay"]


class DropOverlay(QLabel):
    dropped = Signal(str, str, list)   # the dataset path, the labels path ("" when none), the paths left out

    def __init__(self, window: QMainWindow) -> None:
        super().__init__("Drop a dataset file or folder to load it", window.centralWidget())
        self.setObjectName("dropOverlay")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(
            "#dropOverlay { border: 3px dashed palette(highlight); border-radius: 12px;"
            " background: rgba(90, 140, 230, 70); font-size: 22pt; font-weight: bold; color: palette(highlight); }")
        self.hide()
        self._window = window
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is not self._window:
            return False
        kind = event.type()
        if kind == QEvent.Type.DragEnter:
            self._on_drag_entered(event)
        elif kind == QEvent.Type.DragMove:
            if local_paths(event.mimeData()):
                event.acceptProposedAction()
        elif kind == QEvent.Type.DragLeave:
            self.hide()
            event.accept()
        elif kind == QEvent.Type.Drop:
            self._on_dropped(event)
        else:
            return False
        return True

    def _on_drag_entered(self, event) -> None:
        if not local_paths(event.mimeData()):
            event.ignore()
            return
        event.acceptProposedAction()
        self.setGeometry(self.parentWidget().rect().adjusted(6, 6, -6, -6))
        self.raise_()
        self.show()

    def _on_dropped(self, event) -> None:
        self.hide()
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        data, labels, left_out = pair_dropped(paths)
        self.dropped.emit(data, labels or "", left_out)
