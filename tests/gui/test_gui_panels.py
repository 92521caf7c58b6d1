"""The schema panel, the health strip and palette-following colours."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QComboBox

from udl_gui.health_strip import HealthStrip
from udl_gui.jobs import BatchHealth
from udl_gui.loss_plot import LossPlot
from udl_gui.schema_panel import ColumnRow, SchemaPanel


def rows():
    return [ColumnRow("age", "int64", "numeric", 0, "feature"), ColumnRow("zip", "int64", "numeric", 2, "feature"),
            ColumnRow("city", "string", "categorical", 1, "feature"), ColumnRow("y", "string", "categorical", 0, "label")]


def test_schema_edits_become_loader_overrides(qtbot):
    panel = SchemaPanel()
    qtbot.addWidget(panel)
    panel.model.set_columns(rows())
    assert not panel.reload_button.isEnabled()
    model = panel.model
    assert model.setData(model.index(1, 1), "categorical")      # zip codes are categories
    assert model.setData(model.index(2, 3), "ignore")           # leave city out
    assert model.setData(model.index(0, 3), "label")            # age becomes the label
    assert [r.role for r in model.rows] == ["label", "feature", "ignore", "feature"]
    assert panel.reload_button.isEnabled()
    with qtbot.waitSignal(panel.overridesRequested) as sig:
        panel.reload_button.click()
    assert sig.args[0] == {"label": "age", "ignore": ("city",), "categorical": ("zip",), "numeric": ()}
    assert not model.setData(model.index(0, 0), "renamed")  # the name is not editable
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable


def test_role_is_edited_through_a_combo_delegate(qtbot):
    panel = SchemaPanel()
    qtbot.addWidget(panel)
    panel.model.set_columns(rows())
    panel.show()
    index = panel.model.index(2, 3)
    panel.table.edit(index)
    editor = panel.table.indexWidget(index) or panel.table.findChild(QComboBox)
    assert isinstance(editor, QComboBox)
    assert [editor.itemText(i) for i in range(editor.count())] == ["feature", "label", "ignore"]
    editor.setCurrentText("ignore")
    editor.activated.emit(editor.currentIndex())
    panel.table.setFocus()  # closing the editor commits
    qtbot.waitUntil(lambda: panel.model.rows[2].role == "ignore", timeout=2000)


def test_class_counts_and_messages(qtbot):
    panel = SchemaPanel()
    qtbot.addWidget(panel)
    panel.show_class_counts(["a", "b"], [3, 5])
    assert panel._bars is not None and panel._bars.opts["height"].tolist() == [3, 5]
    assert "a 3" in panel.classes_title.text()
    panel.show_messages(["label is imbalanced"], ["f.csv: line 3: 2 fields, expected 3"], ["encoding: latin-1"])
    texts = [panel.warnings.item(i).text() for i in range(panel.warnings.count())]
    assert any("imbalanced" in t for t in texts) and any("line 3" in t for t in texts)
    assert any("latin-1" in t for t in texts)


def health(counts, start=0, nonfinite=None):
    counts = np.asarray(counts)
    n = len(counts)
    return BatchHealth(start, counts, None, np.asarray(nonfinite if nonfinite is not None else [0] * n),
                       np.zeros(n), np.ones(n))


def test_health_strip_flags_a_sorted_file_and_nans(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.reset(("a", "b"))
    strip.add(health([[8, 0]] * 5 + [[0, 8]] * 5, nonfinite=[0] * 9 + [3]))
    strip.flush()
    text = strip._summary.text()
    assert "10 batches" in text and "NaN/inf: 3" in text
    assert "sorted" in text
    assert strip.nonfinite_total == 3 and len(strip._bars) == 2
    strip.reset(("a", "b"))
    strip.add(health([[4, 4]] * 10))
    strip.flush()
    assert "sorted" not in strip._summary.text()


def test_health_strip_bins_long_epochs(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.reset(("a", "b", "c"))
    strip.add(health(np.tile([[1, 2, 3]], (5000, 1))))
    strip.flush()
    assert strip.batches == 5000
    assert len(strip._bars[0].opts["x"]) <= 300


def test_health_strip_draws_a_long_epochs_mean_and_std_as_bin_peaks(qtbot):
    # 20,000 batches drawn as the lowest and highest of each bin: a few hundred points a curve,
    # and one batch's spike (or dip) still on the curve.
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.reset(("a", "b"))
    n = 20_000
    mean, std = np.zeros(n), np.ones(n)
    mean[12_345], std[777] = 9.5, -2.0
    mean[:100] = np.nan   # batches with no finite value: a gap, not a line through zero
    strip.add(BatchHealth(0, np.tile([[1, 1]], (n, 1)), None, np.zeros(n, np.int64), mean, std))
    strip.flush()
    xs, ys = strip._mean_curve.getOriginalDataset()
    assert len(ys) <= 600 and xs.min() >= 0 and xs.max() <= n - 1
    assert np.nanmax(ys) == 9.5 and np.isnan(ys[0])
    _, stds = strip._std_curve.getOriginalDataset()
    assert len(stds) <= 600 and stds.min() == -2.0 and stds.max() == 1.0


def test_health_strip_flush_draws_only_what_is_new(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.reset(("a", "b"))
    strip.add(health([[4, 4]] * 10))
    with qtbot.waitSignal(strip._mean_curve.sigPlotChanged, timeout=1000):
        strip.flush()
    with qtbot.assertNotEmitted(strip._mean_curve.sigPlotChanged):
        strip.flush()   # a job ended with nothing new for the strip (checks, training)
    strip.add(health([[8, 0]] * 2))
    with qtbot.waitSignal(strip._mean_curve.sigPlotChanged, timeout=1000):
        strip.flush()
    assert strip.batches == 12


def test_health_strip_keeps_its_bars_for_the_same_classes(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.reset(("a", "b"))
    strip.add(health([[4, 4]] * 10))
    strip.flush()
    bars = list(strip._bars)
    strip.reset(("c", "d"))   # a reload or a Run: two classes again
    assert strip._bars == bars and all(len(bar.opts["x"]) == 0 for bar in bars)
    assert all(bar in strip._labels_plot.items for bar in bars) and strip.label_counts() is None
    strip.add(health([[1, 7]] * 3))
    strip.flush()
    assert strip._bars == bars and len(bars[0].opts["x"]) == 3
    strip.reset(("a", "b", "c"))
    assert not strip._bars and not any(bar in strip._labels_plot.items for bar in bars)
    strip.add(health([[1, 2, 3]] * 4))
    strip.flush()
    assert len(strip._bars) == 3


def test_plot_follows_a_dark_palette(qtbot):
    app = QApplication.instance()
    saved = app.palette()
    dark = QPalette(saved)
    dark.setColor(QPalette.ColorRole.Base, QColor(30, 30, 30))
    dark.setColor(QPalette.ColorRole.Text, QColor(230, 230, 230))
    try:
        app.setPalette(dark)
        plot = LossPlot()
        qtbot.addWidget(plot)
        assert plot.backgroundBrush().color() == QColor(30, 30, 30)
        assert plot.getPlotItem().getAxis("left").textPen().color() == QColor(230, 230, 230)
    finally:
        app.setPalette(saved)
