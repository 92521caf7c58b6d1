"""The menu bar, with the platform's conventions: File (Open \u2318O, Open Recent, Reload, Export, Quit),
View (Processed / Raw, batches), Run (Run Ctrl+Return, Stop Escape, Run on Several Machines), Help
(About). Standard key sequences and menu roles let macOS move Quit and About into the application menu.

`Menus` builds the bar and says what was asked for through its signals; the window connects
them to whoever does the work (the dataset and run controllers, the plot, the log). It keeps
the actions that others read or toggle, and fills Open Recent from a list of paths.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

__all__ = ["Menus", "about_box"]


def _unique(sequences: list[QKeySequence]) -> list[QKeySequence]:
    out: list[QKeySequence] = []
    for sequence in sequences:
        if not sequence.isEmpty() and sequence not in out:
            out.append(sequence)
    return out


class Menus(QObject):
    open_requested = Signal()
    open_folder_requested = Signal()
    recent_chosen = Signal(str)        # a path from Open Recent
    recent_cleared = Signal()          # Open Recent > Clear Menu
    reload_requested = Signal()
    export_png_requested = Signal()
    export_csv_requested = Signal()
    export_tensors_requested = Signal()
    memory_budget_requested = Signal()
    quit_requested = Signal()
    log_scale_toggled = Signal(bool)
    clear_runs_requested = Signal()
    raw_toggled = Signal(bool)         # True: Raw Rows, False: Processed Tensors
    batch_stepped = Signal(int)        # -1 previous batch, +1 next
    clear_log_requested = Signal()
    run_requested = Signal()
    stop_requested = Signal()
    launch_requested = Signal()        # Run > Run on Several Machines…
    about_requested = Signal()

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window   # the actions' parent: their shortcuts work anywhere in it
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action("&Open\u2026", self.open_requested,
                                        shortcut=QKeySequence(QKeySequence.StandardKey.Open))
        file_menu.addAction(self.open_action)
        file_menu.addAction(self._action("Open &Folder\u2026", self.open_folder_requested))
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        # Reload answers the platform's Refresh key (F5, or Ctrl+R on macOS and GNOME) and Ctrl+R
        # everywhere, as browsers do: so no other action may take Ctrl+R.
        self.reload_action = self._action("&Reload", self.reload_requested)
        self.reload_action.setShortcuts(_unique(QKeySequence.keyBindings(QKeySequence.StandardKey.Refresh)
                                                + [QKeySequence("Ctrl+R")]))
        file_menu.addAction(self.reload_action)
        file_menu.addSeparator()
        self.export_png_action = self._action("Export Plot as &PNG\u2026", self.export_png_requested)
        self.export_csv_action = self._action("Export Losses as &CSV\u2026", self.export_csv_requested)
        file_menu.addAction(self.export_png_action)
        file_menu.addAction(self.export_csv_action)
        self.export_tensors_action = self._action("Export Processed &Tensors…", self.export_tensors_requested)
        file_menu.addAction(self.export_tensors_action)
        file_menu.addSeparator()
        self.memory_budget_action = self._action("Memory &Budget\u2026", self.memory_budget_requested)
        file_menu.addAction(self.memory_budget_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.quit_requested,
                                         shortcut=QKeySequence(QKeySequence.StandardKey.Quit),
                                         role=QAction.MenuRole.QuitRole))

        view_menu = bar.addMenu("&View")
        self.log_scale_action = self._action("&Log-Scale Loss", self.log_scale_toggled, checkable=True)
        view_menu.addAction(self.log_scale_action)
        view_menu.addAction(self._action("&Clear Previous Runs", self.clear_runs_requested))
        view_menu.addSeparator()
        self.processed_action = self._action("&Processed Tensors", None, shortcut="Ctrl+1", checkable=True)
        self.raw_action = self._action("&Raw Rows", self._on_raw_action_toggled, shortcut="Ctrl+2", checkable=True)
        self._following = False   # show_raw is checking an action: not a request
        views = QActionGroup(self)
        views.setExclusive(True)
        for action in (self.processed_action, self.raw_action):
            views.addAction(action)
            view_menu.addAction(action)
        self.processed_action.setChecked(True)
        view_menu.addAction(self._action("&Previous Batch", lambda: self.batch_stepped.emit(-1), shortcut="Ctrl+["))
        view_menu.addAction(self._action("&Next Batch", lambda: self.batch_stepped.emit(1), shortcut="Ctrl+]"))
        view_menu.addSeparator()
        view_menu.addAction(self._action("Clear &Log", self.clear_log_requested))

        run_menu = bar.addMenu("&Run")
        # Window-wide: they work with the focus in the table or in a field.
        self.run_action = self._action("&Run", self.run_requested)
        self.run_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.run_action.setToolTip("Load, then walk or train (Ctrl+Return)")
        self.stop_action = self._action("&Stop", self.stop_requested, shortcut=QKeySequence("Escape"))
        for action in (self.run_action, self.stop_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            run_menu.addAction(action)
        run_menu.addSeparator()
        # the mlx.launch command for the loaded dataset: nothing to show before a load
        self.launch_action = self._action("Run on Several &Machines\u2026", self.launch_requested)
        self.launch_action.setEnabled(False)
        run_menu.addAction(self.launch_action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&About UDL", self.about_requested, role=QAction.MenuRole.AboutRole))
        self.set_recent([])

    def _action(self, text: str, signal: Any, *, shortcut: QKeySequence | str | None = None,
                checkable: bool = False, role: QAction.MenuRole | None = None) -> QAction:
        """An action whose trigger (or toggle, if `checkable`) emits `signal` (a signal or a callable)."""
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
        action.setCheckable(checkable)
        if role is not None:
            action.setMenuRole(role)
        if signal is not None:
            (action.toggled if checkable else action.triggered).connect(signal)
        return action

    def set_recent(self, paths: list[str]) -> None:
        """Open Recent lists `paths` (newest first) and Clear Menu; disabled when there are none."""
        menu = self.recent_menu
        menu.clear()
        for path in paths:
            menu.addAction(path).triggered.connect(lambda _=False, p=path: self.recent_chosen.emit(p))
        menu.setEnabled(bool(paths))
        if paths:
            menu.addSeparator()
            menu.addAction("Clear Menu").triggered.connect(self.recent_cleared)

    def show_raw(self, raw: bool) -> None:
        """Check Raw Rows (or Processed Tensors) to match the view, without emitting `raw_toggled`."""
        self._following = True
        try:
            (self.raw_action if raw else self.processed_action).setChecked(True)
        finally:
            self._following = False

    def _on_raw_action_toggled(self, raw: bool) -> None:
        if not self._following:
            self.raw_toggled.emit(raw)


def about_box(parent: QWidget) -> QMessageBox:
    """Help > About UDL, opened (window-modal, not blocking); the caller keeps it while it is open."""
    box = QMessageBox(parent)
    box.setWindowTitle("About UDL")
    box.setText("<b>UDL \u2014 Unified Data Loader</b>")
    box.setInformativeText("Drop a dataset, see its schema and the exact tensors of every batch, and flip "
                           "TRAIN_MODEL to watch a small MLX model learn from them.")
    box.setIcon(QMessageBox.Icon.Information)
    box.open()
    return box
