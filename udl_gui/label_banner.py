"""The banner above the batch table that says a label is a guess and asks to confirm or pick one.

It never blocks: it is a plain widget in the window's layout, not a dialog, so a run, the
self-test and the tests go on while it shows. Picking another column emits `picked`; Confirm
hides it and emits `confirmed`; the dataset controller reloads or remembers.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

__all__ = ["LabelGuessBanner"]

AMBER = (240, 175, 30)


class LabelGuessBanner(QFrame):
    picked = Signal(str)      # another column, to load as the label
    confirmed = Signal(str)   # the guess, kept

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labelGuessBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._tint()
        self.message = QLabel()
        self.message.setObjectName("labelGuessMessage")
        self.message.setWordWrap(True)
        self.combo = QComboBox()
        self.combo.setObjectName("labelGuessCombo")
        self.combo.setToolTip("The columns that can be the label, the likeliest first: pick one to reload with it")
        self.combo.setAccessibleName("Label candidates")
        self.combo.setMinimumContentsLength(10)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setObjectName("labelGuessConfirmButton")
        self.confirm_button.setToolTip("Keep this label; UDL remembers it for this file")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.message, 1)
        layout.addWidget(QLabel("Label:"))
        layout.addWidget(self.combo)
        layout.addWidget(self.confirm_button)
        self.combo.activated.connect(self._on_combo_activated)
        self.confirm_button.clicked.connect(self._on_confirm_button_clicked)
        self._label = ""
        self.hide()

    def _tint(self) -> None:
        """An amber wash over the window's own colour, opaque, so the palette's text colour reads on
        it in light and dark palettes alike."""
        window = QApplication.palette().color(QPalette.ColorRole.Window)   # not this widget's: it is tinted
        mix = [round(0.75 * c + 0.25 * a) for c, a in zip(window.getRgb()[:3], AMBER)]
        edge = [round(0.4 * c + 0.6 * a) for c, a in zip(window.getRgb()[:3], AMBER)]
        sheet = (f"#labelGuessBanner {{ background: rgb({mix[0]}, {mix[1]}, {mix[2]}); "
                 f"border: 1px solid rgb({edge[0]}, {edge[1]}, {edge[2]}); border-radius: 4px; }}")
        if sheet != self.styleSheet():   # setting it changes the palette again
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._tint()

    @property
    def label(self) -> str:
        return self._label

    def show_guess(self, label: str, candidates: Sequence[str]) -> None:
        """Say that `label` is a guess and offer `candidates` (likeliest first; `label` among them)."""
        self._label = label
        names = list(candidates) if label in candidates else [label, *candidates]
        self.message.setText(f"<b>The label '{label}' is a guess</b>: no column is named label, target, class or "
                             "y. Confirm it, or pick the column to predict.")
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(names)
        self.combo.setCurrentText(label)
        self.combo.blockSignals(False)
        self.show()

    def _on_combo_activated(self, _index: int) -> None:
        name = self.combo.currentText()
        if name and name != self._label:
            self.picked.emit(name)

    def _on_confirm_button_clicked(self) -> None:
        self.hide()
        self.confirmed.emit(self._label)
