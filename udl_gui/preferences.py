"""What the window remembers between sessions (QSettings, organisation "UDL"): the last folder,
recent files, the window's geometry and splitters, the training controls, the plot's scale and
the data's memory budget (as `udl --memory-budget` takes it: 512M, 4G; empty for the default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from udl_core.errors import ConfigError
from udl_core.formats.bounded import parse_size

__all__ = ["MAX_RECENT", "Preferences"]

MAX_RECENT = 10


def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    return str(value).lower() in ("true", "1", "yes")


class Preferences:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):  # an ini file stores a one-item list as a plain string
            value = [value]
        return [str(v) for v in (value or [])]

    def remember(self, path: str) -> None:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # a name that is not UTF-8 cannot go into the settings file
            return
        recent = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recentFiles", [path, *recent][:MAX_RECENT])
        self.settings.setValue("lastFolder", str(Path(path).parent if Path(path).is_file() else Path(path)))

    def clear_recent(self) -> None:
        self.settings.setValue("recentFiles", [])

    def memory_budget_text(self) -> str:
        """The budget as the user typed it ("" for UDL's default: $UDL_MEMORY_BUDGET, else a quarter of RAM)."""
        return str(self.settings.value("data/memoryBudget", "") or "")

    def memory_budget(self) -> int | None:
        """The budget in bytes for `UnifiedDataLoader(memory_budget=...)`; None for the default."""
        try:
            return parse_size(self.memory_budget_text()) if self.memory_budget_text().strip() else None
        except ConfigError:  # an edited settings file: fall back to the default
            return None

    def set_memory_budget(self, text: str) -> None:
        """Store `text` (checked first: a bad size raises `ConfigError` and changes nothing)."""
        if text.strip():
            parse_size(text)
        self.settings.setValue("data/memoryBudget", text.strip())

    def last_folder(self) -> str:
        return str(self.settings.value("lastFolder", str(Path.home())))

    def restore(self, window: Any) -> None:
        s, c = self.settings, window.controls
        geometry = s.value("geometry")
        if geometry is not None:
            window.restoreGeometry(geometry)
        for name, splitter in getattr(window, "_splitters", {}).items():
            state = s.value(f"splitters/{name}")
            if state is not None:
                splitter.restoreState(state)
        c.epochs_spin.setValue(int(s.value("training/epochs", c.epochs_spin.value())))
        for spin, key in ((c.batch_size_spin, "training/batchSize"), (c.seed_spin, "training/seed")):
            spin.blockSignals(True)  # nothing is loaded yet: no reload for these
            spin.setValue(int(s.value(key, spin.value())))
            spin.blockSignals(False)
        c.lr_spin.setValue(float(s.value("training/learningRate", c.lr_spin.value())))
        c.model_combo.setCurrentText(str(s.value("training/model", c.model_combo.currentText())))
        c.device_combo.setCurrentText(str(s.value("training/device", c.device_combo.currentText())))
        c.train_switch.setChecked(_bool(s.value("training/trainModel")))
        window.log_scale_check.setChecked(_bool(s.value("view/logScale")))

    def save(self, window: Any) -> None:
        s, c = self.settings, window.controls
        s.setValue("geometry", window.saveGeometry())
        for name, splitter in getattr(window, "_splitters", {}).items():
            s.setValue(f"splitters/{name}", splitter.saveState())
        s.setValue("training/epochs", c.epochs_spin.value())
        s.setValue("training/batchSize", c.batch_size_spin.value())
        s.setValue("training/seed", c.seed_spin.value())
        s.setValue("training/learningRate", c.lr_spin.value())
        s.setValue("training/model", c.model_combo.currentText())
        s.setValue("training/device", c.device_combo.currentText())
        s.setValue("training/trainModel", "true" if c.train_switch.isChecked() else "false")
        s.setValue("view/logScale", "true" if window.log_scale_check.isChecked() else "false")
        s.sync()
