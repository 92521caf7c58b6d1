"""The window fits a laptop screen: a minimum width <= 1,024 px, empty and with a dataset (a
wide one too), and at 1,280 x 720 (and 1,024 x 720) no control is cut off."""

from __future__ import annotations

import numpy as np
import pytest
from gui_support import load
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QWidget,
)

MAX_MIN_WIDTH = 1024
CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QProgressBar, QLabel)


@pytest.fixture
def wide_csv(tmp_path):
    """300 columns with long names, a long label name: the widest table the window meets."""
    rng = np.random.default_rng(0)
    names = [f"a_rather_long_feature_name_{i:03d}" for i in range(300)]
    lines = [",".join([*names, "the_label_column_with_a_long_name"])]
    lines += [",".join(f"{v:.3f}" for v in rng.normal(size=300)) + f",class_{i % 3}" for i in range(60)]
    path = tmp_path / ("a_folder_with_a_long_name_" * 3) / "a_wide_dataset_with_a_long_file_name.csv"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _inside_scrolled_content(widget: QWidget, window: QWidget) -> bool:
    """Cells, editors and scrolled pages: what a scroll bar reaches is not cut off."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def clipped_controls(window: QWidget) -> list[str]:
    """Visible controls whose rectangle is not wholly inside each of their parents and the window."""
    out = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(window) or widget.isWindow():
            continue
        if _inside_scrolled_content(widget, window) or isinstance(widget.parentWidget(), CONTROLS):
            continue   # cells and scrolled pages are reached by scrolling; a field's clear button is its own
        if isinstance(widget, QLabel) and not widget.text():
            continue
        rect = QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())
        parent = widget.parentWidget()
        inside_parents = True
        while parent is not None and parent is not window:
            own = QRect(widget.mapTo(parent, widget.rect().topLeft()), widget.size())
            if not parent.rect().contains(own):
                inside_parents = False
                break
            parent = parent.parentWidget()
        squeezed = widget.width() < min(widget.minimumSizeHint().width(), widget.sizeHint().width())
        if not window.rect().contains(rect) or not inside_parents or squeezed:
            name = widget.objectName() or getattr(widget, "text", lambda: "")() or type(widget).__name__
            name += f" in {type(widget.parentWidget()).__name__} {widget.parentWidget().objectName()}"
            out.append(f"{name} at {rect.getRect()} (min {widget.minimumSizeHint().width()})")
    return out


def test_the_empty_window_can_be_narrower_than_1024(window):
    assert window.minimumSizeHint().width() <= MAX_MIN_WIDTH


def test_the_window_with_a_dataset_can_be_narrower_than_1024(qtbot, window, known_csv, wide_csv):
    load(qtbot, window, known_csv)
    assert window.minimumSizeHint().width() <= MAX_MIN_WIDTH
    window.controls.batch_size_spin.setValue(16)
    load(qtbot, window, wide_csv)
    assert window.loader.feature_dim == 300
    assert window.minimumSizeHint().width() <= MAX_MIN_WIDTH
    window.batch_toolbar.raw_button.click()
    assert window.minimumSizeHint().width() <= MAX_MIN_WIDTH


@pytest.mark.parametrize("width", [1280, 1024])
def test_every_control_is_whole_at_720_px_high(qtbot, window, wide_csv, width):
    window.controls.batch_size_spin.setValue(16)
    load(qtbot, window, wide_csv)
    window.resize(width, 720)
    qtbot.waitUntil(lambda: window.width() == width and window.height() == 720)

    def nothing_clipped() -> None:   # the layouts settle on the next turns of the event loop
        assert clipped_controls(window) == []

    qtbot.waitUntil(nothing_clipped, timeout=2_000)
    window.grab().save(f"/tmp/h3_window_{width}x720.png")
