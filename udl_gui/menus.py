"""The menu bar, with the platform's conventions: File (Open \u2318O, Open Recent, Reload, Export, Quit),
View (Processed / Raw, batches), Run (Run Ctrl+Return, Stop Escape), Help (About). Standard key
sequences and menu roles let macOS move Quit and About into the application menu."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from udl_gui.budget_dialog import ask_memory_budget

__all__ = ["build_menus"]


def _action(window: Any, text: str, slot: Callable | None = None, *, shortcut: Any = None,
            checkable: bool = False, role: QAction.MenuRole | None = None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
    action.setCheckable(checkable)
    if role is not None:
        action.setMenuRole(role)
    if slot is not None:
        (action.toggled if checkable else action.triggered).connect(slot)
    return action


def _unique(sequences: list[QKeySequence]) -> list[QKeySequence]:
    out: list[QKeySequence] = []
    for sequence in sequences:
        if not sequence.isEmpty() and sequence not in out:
            out.append(sequence)
    return out


def _check_quietly(action: QAction) -> None:
    """Check `action` (its group unchecks the other) without running its slot again."""
    blocked = action.blockSignals(True)
    action.setChecked(True)
    action.blockSignals(blocked)


def build_menus(window: Any) -> None:
    """Add the menus to `window` (a MainWindow); keeps the actions others toggle as attributes."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    window.open_action = _action(window, "&Open\u2026", window._on_open_triggered,
                                 shortcut=QKeySequence(QKeySequence.StandardKey.Open))
    file_menu.addAction(window.open_action)
    file_menu.addAction(_action(window, "Open &Folder\u2026", window._on_open_folder_triggered))
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.setObjectName("recentMenu")
    # Reload answers the platform's Refresh key (F5, or Ctrl+R on macOS and GNOME) and Ctrl+R
    # everywhere, as browsers do: so no other action may take Ctrl+R.
    window.reload_action = _action(window, "&Reload", lambda: window.reload())
    window.reload_action.setShortcuts(_unique(QKeySequence.keyBindings(QKeySequence.StandardKey.Refresh)
                                              + [QKeySequence("Ctrl+R")]))
    file_menu.addAction(window.reload_action)
    file_menu.addSeparator()
    window.export_png_action = _action(window, "Export Plot as &PNG\u2026", window._on_export_png_triggered)
    window.export_csv_action = _action(window, "Export Losses as &CSV\u2026", window._on_export_csv_triggered)
    file_menu.addAction(window.export_png_action)
    file_menu.addAction(window.export_csv_action)
    file_menu.addSeparator()
    window.memory_budget_action = _action(window, "Memory &Budget\u2026", lambda: ask_memory_budget(window))
    file_menu.addAction(window.memory_budget_action)
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "&Quit", window.close, shortcut=QKeySequence(QKeySequence.StandardKey.Quit),
                                role=QAction.MenuRole.QuitRole))

    view_menu = bar.addMenu("&View")
    window.log_scale_action = _action(window, "&Log-Scale Loss", window.log_scale_check.setChecked, checkable=True)
    view_menu.addAction(window.log_scale_action)
    view_menu.addAction(_action(window, "&Clear Previous Runs", window.loss_plot.clear_previous))
    view_menu.addSeparator()
    toolbar = window.batch_toolbar
    window.processed_action = _action(window, "&Processed Tensors",
                                      lambda on: on and toolbar.processed_button.setChecked(True),
                                      shortcut="Ctrl+1", checkable=True)
    window.raw_action = _action(window, "&Raw Rows", lambda on: on and toolbar.raw_button.setChecked(True),
                                shortcut="Ctrl+2", checkable=True)
    views = QActionGroup(window)
    views.setExclusive(True)
    for action in (window.processed_action, window.raw_action):
        views.addAction(action)
        view_menu.addAction(action)
    window.processed_action.setChecked(toolbar.processed_button.isChecked())
    window.raw_action.setChecked(toolbar.raw_button.isChecked())
    toolbar.raw_button.toggled.connect(lambda on: _check_quietly(window.raw_action if on else window.processed_action))
    view_menu.addAction(_action(window, "&Previous Batch", lambda: toolbar.index_spin.stepBy(-1), shortcut="Ctrl+["))
    view_menu.addAction(_action(window, "&Next Batch", lambda: toolbar.index_spin.stepBy(1), shortcut="Ctrl+]"))
    view_menu.addSeparator()
    view_menu.addAction(_action(window, "Clear &Log", window.log_view.clear))

    run_menu = bar.addMenu("&Run")
    # Window-wide: they work with the focus in the table or in a field.
    window.run_action = _action(window, "&Run", lambda: window.run())
    window.run_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
    window.run_action.setToolTip("Load, then walk or train (Ctrl+Return)")
    window.stop_action = _action(window, "&Stop", lambda: window.stop(), shortcut=QKeySequence("Escape"))
    for action in (window.run_action, window.stop_action):
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        run_menu.addAction(action)

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(window, "&About UDL", window._on_about_triggered, role=QAction.MenuRole.AboutRole))
