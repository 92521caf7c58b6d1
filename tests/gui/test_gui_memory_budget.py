"""The memory budget in the window's preferences: stored as typed, checked, handed to the loader."""

from __future__ import annotations

import pytest

from udl_core.errors import ConfigError


def test_memory_budget_dialog_stores_the_size_and_the_loader_gets_it(window, qtbot, tmp_path):
    from udl_gui.budget_dialog import ask_memory_budget

    assert "memory_budget" not in window.loader_kwargs()          # the default: UDL's own
    dialog = ask_memory_budget(window)
    assert dialog.objectName() == "memoryBudgetDialog"
    dialog.setTextValue("512M")
    dialog.grab().save(str(tmp_path / "budget_dialog.png"))
    dialog.accept()
    assert window.preferences.memory_budget_text() == "512M"
    assert window.loader_kwargs()["memory_budget"] == 512 << 20
    assert "512M" in window.statusBar().currentMessage()


def test_a_bad_size_changes_nothing(window):
    from udl_gui.budget_dialog import ask_memory_budget

    window.preferences.set_memory_budget("2G")
    dialog = ask_memory_budget(window)
    dialog.setTextValue("lots")
    dialog.accept()
    assert window.preferences.memory_budget() == 2 << 30
    assert "not changed" in window.statusBar().currentMessage()
    with pytest.raises(ConfigError):
        window.preferences.set_memory_budget("12X")
    window.preferences.set_memory_budget("")
    assert window.preferences.memory_budget() is None


def test_the_menu_has_the_action(window):
    assert window.menus.memory_budget_action.text().startswith("Memory")
