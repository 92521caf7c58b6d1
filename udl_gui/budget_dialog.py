"""The memory-budget preference: how much memory UDL may use for a dataset, as
`udl --memory-budget` takes it (512M, 4G, or bytes; empty for the default)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QInputDialog, QLineEdit

from udl_core.errors import ConfigError

__all__ = ["ask_memory_budget"]

PROMPT = ("Most memory UDL may use for a dataset, e.g. 512M or 4G.\n"
          "Larger CSV and Parquet files are streamed from disk; other files are refused.\n"
          "Leave it empty for the default ($UDL_MEMORY_BUDGET, else a quarter of the memory).")


def budget_dialog(window: Any) -> QInputDialog:
    """The dialog, filled with the stored budget (object name `memoryBudgetDialog`)."""
    dialog = QInputDialog(window)
    dialog.setObjectName("memoryBudgetDialog")
    dialog.setWindowTitle("Memory Budget")
    dialog.setLabelText(PROMPT)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
    dialog.setTextValue(window.preferences.memory_budget_text())
    dialog.textValueSelected.connect(lambda text: _on_budget_selected(window, text))
    return dialog


def _on_budget_selected(window: Any, text: str) -> None:
    try:
        window.preferences.set_memory_budget(text)
    except ConfigError as exc:
        window.statusBar().showMessage(f"Memory budget not changed: {exc}", 8000)
        return
    shown = text.strip() or "the default"
    window.statusBar().showMessage(f"Memory budget: {shown} (used from the next load)", 8000)


def ask_memory_budget(window: Any) -> QInputDialog:
    """Open the dialog (window-modal, not blocking); an accepted size is stored in the preferences."""
    dialog = budget_dialog(window)
    dialog.open()
    window._memory_budget_dialog = dialog   # keep it alive while it is open
    return dialog
