"""Keys and looks of the batch area: Run/Stop keys, no shortcut clash, a visible Processed/Raw
toggle in a dark palette, arrows disabled at the ends, the label column frozen at the left."""

from __future__ import annotations

import pytest
from conftest import SAMPLE
from gui_support import load, wait_idle
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import QTableView

# The platforms' bindings of the standard keys the window uses (Qt's QKeySequence docs): offscreen
# Qt expands Refresh to F5 only, where macOS and GNOME have Ctrl+R (Cmd+R).
PLATFORM_BINDINGS = {
    QKeySequence.StandardKey.Refresh: ["F5", "Ctrl+R"],
    QKeySequence.StandardKey.Open: ["Ctrl+O"],
    QKeySequence.StandardKey.Quit: ["Ctrl+Q"],
    QKeySequence.StandardKey.Close: ["Ctrl+W", "Ctrl+F4"],
    QKeySequence.StandardKey.Cancel: ["Escape"],
    QKeySequence.StandardKey.Back: ["Alt+Left", "Ctrl+["],
    QKeySequence.StandardKey.Forward: ["Alt+Right", "Ctrl+]"],
}


def _sequences(window) -> dict[str, list[str]]:
    """Every key sequence of every action and shortcut in the window, on every platform."""
    owners: dict[str, list[str]] = {}
    items = [(a.text(), a.shortcuts()) for a in window.findChildren(QAction)]
    items += [(s.objectName() or "shortcut", s.keys()) for s in window.findChildren(QShortcut)]
    for name, keys in items:
        texts = {k.toString(QKeySequence.SequenceFormat.PortableText) for k in keys if not k.isEmpty()}
        for standard, everywhere in PLATFORM_BINDINGS.items():
            here = {k.toString(QKeySequence.SequenceFormat.PortableText) for k in QKeySequence.keyBindings(standard)}
            if texts & here:
                texts |= set(everywhere)
        for text in texts:
            owners.setdefault(text, []).append(name)
    return owners


def test_no_two_actions_share_a_key_sequence_on_any_platform(window):
    owners = _sequences(window)
    clashes = {key: names for key, names in owners.items() if len(set(names)) > 1}
    assert not clashes
    assert owners["Ctrl+R"] == ["&Reload"]
    assert window.menus.raw_action.shortcut().toString() not in ("", "Ctrl+R")


def test_run_is_ctrl_return_and_stop_is_escape_from_the_table_and_a_field(qtbot, window, known_csv):
    window.controls.batch_size_spin.setValue(4)
    load(qtbot, window, known_csv)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    table = window.batch_table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    with qtbot.waitSignal(window.runner.started, timeout=5_000) as started:
        qtbot.keyClick(table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert started.args == ["walk"]
    wait_idle(qtbot, window)

    load(qtbot, window, SAMPLE)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(5000)
    window.controls.device_combo.setCurrentText("CPU")
    field = window.dataset_row.path_edit
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    with qtbot.waitSignal(window.runner.started, timeout=5_000) as started:
        qtbot.keyClick(field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert started.args == ["train"]
    qtbot.waitUntil(lambda: len(window.loss_plot.step_points[0]) > 5, timeout=30_000)
    with qtbot.waitSignal(window.runner.cancelled, timeout=30_000):
        qtbot.keyClick(field, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    assert window.last_train is None and "train stopped" in window.log_view.toPlainText()


def _luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def _contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _fill(button) -> QColor:
    """The button's most common colour, away from its border: the fill."""
    image = button.grab().toImage()
    counts: dict[int, int] = {}
    for y in range(3, image.height() - 3):
        for x in range(3, image.width() - 3):
            rgb = image.pixel(x, y)
            counts[rgb] = counts.get(rgb, 0) + 1
    return QColor.fromRgb(max(counts, key=counts.get))


def dark_palette() -> QPalette:
    palette = QPalette()
    colors = {QPalette.ColorRole.Window: "#353535", QPalette.ColorRole.WindowText: "#f0f0f0",
              QPalette.ColorRole.Base: "#232323", QPalette.ColorRole.AlternateBase: "#2c2c2c",
              QPalette.ColorRole.Button: "#353535", QPalette.ColorRole.ButtonText: "#f0f0f0",
              QPalette.ColorRole.Text: "#f0f0f0", QPalette.ColorRole.Highlight: "#2a82da",
              QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Mid: "#5a5a5a",
              QPalette.ColorRole.Midlight: "#4a4a4a", QPalette.ColorRole.Light: "#505050",
              QPalette.ColorRole.Dark: "#232323"}
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    return palette


@pytest.fixture
def dark_app(qapp):
    """The whole application in a dark palette (as when the system switches), then back."""
    light = qapp.palette()
    qapp.setPalette(dark_palette())
    yield qapp
    qapp.setPalette(light)


def test_the_checked_view_button_stands_out_in_a_dark_palette(qtbot, dark_app, window):
    toolbar = window.batch_toolbar
    dark = dark_palette()
    for checked, other in ((toolbar.processed_button, toolbar.raw_button),
                           (toolbar.raw_button, toolbar.processed_button)):
        checked.click()
        assert checked.isChecked() and not other.isChecked()
        on, off = _fill(checked), _fill(other)
        background = dark.color(QPalette.ColorRole.Window)
        assert _contrast(on, off) >= 2.5, (on.name(), off.name())
        assert _contrast(on, background) >= 2.5, (on.name(), background.name())
        assert on.name() == dark.color(QPalette.ColorRole.Highlight).name()


def test_the_checked_view_button_follows_a_switch_to_dark(qtbot, window, qapp):
    toolbar = window.batch_toolbar
    light = qapp.palette()
    try:
        qapp.setPalette(dark_palette())   # the widgets hear of it on the next turn of the event loop
        qtbot.waitUntil(lambda: _fill(toolbar.processed_button).name() == "#2a82da")
        assert _luminance(_fill(toolbar.raw_button)) < 0.1   # the dark palette's button, not the light one
    finally:
        qapp.setPalette(light)


def test_arrows_are_disabled_at_the_ends(qtbot, window, known_csv):
    bar = window.batch_toolbar
    assert not bar.prev_button.isEnabled() and not bar.next_button.isEnabled()  # nothing loaded
    window.controls.batch_size_spin.setValue(3)
    loader = load(qtbot, window, known_csv)
    assert len(loader) >= 3
    assert not bar.prev_button.isEnabled() and bar.next_button.isEnabled()
    bar.next_button.click()
    assert bar.prev_button.isEnabled() and bar.next_button.isEnabled()
    bar.index_spin.setValue(len(loader) - 1)
    assert bar.prev_button.isEnabled() and not bar.next_button.isEnabled()
    bar.split_combo.setCurrentText("val")   # one validation batch: neither way to go
    assert window.batch_view.batch_count("val") == 1
    assert not bar.prev_button.isEnabled() and not bar.next_button.isEnabled()


def test_the_label_column_stays_at_the_left_of_a_wide_table(qtbot, window, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    names = [f"feature_{i:02d}" for i in range(60)]
    lines = [",".join(names + ["target"])]
    lines += [",".join(f"{v:.3f}" for v in rng.normal(size=60)) + f",{'ab'[i % 2]}" for i in range(40)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    window.controls.batch_size_spin.setValue(8)
    load(qtbot, window, path)
    table = window.batch_table
    frozen = window.findChild(QTableView, "batchFrozenColumn")
    assert frozen is not None
    for raw in (False, True):
        (window.batch_toolbar.raw_button if raw else window.batch_toolbar.processed_button).click()
        table.horizontalScrollBar().setValue(table.horizontalScrollBar().maximum())
        qtbot.waitUntil(lambda: table.columnAt(10) > 0)
        assert table.horizontalScrollBar().value() > 0
        assert frozen.isVisible()
        # what sits at the left edge of the table is the frozen label column, in full
        left = frozen.mapTo(table, frozen.rect().topLeft())
        assert left.x() <= table.verticalHeader().width() + table.frameWidth()
        assert frozen.width() == table.columnWidth(0)
        assert frozen.indexAt(QPoint(2, 2)).column() == 0 and table.indexAt(QPoint(2, 2)).column() > 0
        assert frozen.model().headerData(0, Qt.Orientation.Horizontal) == window.batch_model.headerData(
            0, Qt.Orientation.Horizontal)
        assert "target" in str(window.batch_model.headerData(0, Qt.Orientation.Horizontal))
        table.verticalScrollBar().setValue(table.verticalScrollBar().maximum())
        assert frozen.verticalScrollBar().value() == table.verticalScrollBar().value()
