"""A guessed label says so above the batch table and asks, without blocking anything (issue 11)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame

from gui_support import load, wait_idle


def write_penguins(path, n: int = 90) -> None:
    rng = np.random.default_rng(0)
    lines = ["rownum,species,island,bill_length_mm,body_mass_g,sex,year"]
    for i in range(n):
        sex = "" if i % 13 == 0 else ("male", "female")[i % 2]
        lines.append(f"{i},{('Adelie', 'Gentoo', 'Chinstrap')[i % 3]},{('Biscoe', 'Dream', 'Torgersen')[i % 3]},"
                     f"{rng.normal(44, 5):.1f},{rng.integers(2700, 6300)},{sex},{2007 + i % 3}")
    path.write_text("\n".join(lines) + "\n")


def banner(window):
    found = window.findChild(QFrame, "labelGuessBanner")
    assert found is not None
    return found


def test_a_guess_shows_the_banner_with_ranked_candidates_and_the_window_words(qtbot, window, tmp_path):
    path = tmp_path / "penguins.csv"
    write_penguins(path)
    load(qtbot, window, path)
    assert window.loader.schema.label == "sex" and window.loader.schema.label_guessed
    shown = banner(window)
    assert shown.isVisible() and "'sex' is a guess" in shown.message.text()
    items = [shown.combo.itemText(i) for i in range(shown.combo.count())]
    assert items[:3] == ["species", "island", "sex"] and shown.combo.currentText() == "sex"
    assert "year" not in items and "rownum" not in items
    text = window.log_view.toPlainText()
    assert "label: guessed 'sex'" in text and "--label" not in text
    assert text.count("label: guessed 'sex'") == 1
    listed = window.schema_panel.warnings
    assert not any("--label" in listed.item(i).text() for i in range(listed.count()))
    qtbot.waitUntil(lambda: shown.height() > 0)
    window.grab().save(str(tmp_path / "banner.png"))


def test_the_banner_never_blocks_a_run(qtbot, window, tmp_path):
    path = tmp_path / "penguins.csv"
    write_penguins(path)
    load(qtbot, window, path)
    assert banner(window).isVisible()
    window.run()   # TRAIN_MODEL off: walks every batch
    wait_idle(qtbot, window)
    assert window.last_walk is not None and window.last_walk.batches == len(window.loader)


def test_picking_another_candidate_reloads_with_it(qtbot, window, tmp_path):
    path = tmp_path / "penguins.csv"
    write_penguins(path)
    load(qtbot, window, path)
    shown = banner(window)
    shown.combo.setCurrentText("species")
    shown.combo.activated.emit(shown.combo.currentIndex())
    wait_idle(qtbot, window)
    assert window.loader.schema.label == "species" and not window.loader.schema.label_guessed
    assert not shown.isVisible()
    assert window.dataset_row.label_combo.currentText() == "species"


def test_confirm_hides_the_banner_and_the_file_remembers_the_label(qtbot, window, tmp_path, known_csv):
    path = tmp_path / "penguins.csv"
    write_penguins(path)
    load(qtbot, window, path)
    loader = window.loader
    shown = banner(window)
    qtbot.mouseClick(shown.confirm_button, Qt.MouseButton.LeftButton)
    assert not shown.isVisible() and window.loader is loader       # no reload
    assert not window.dataset.needs_reload()
    load(qtbot, window, known_csv)
    load(qtbot, window, path)                                       # opened again: the confirmed label
    assert window.loader.schema.label == "sex" and not window.loader.schema.label_guessed
    assert not shown.isVisible()
    assert "restored settings for penguins.csv: label 'sex'" in window.log_view.toPlainText()


def test_a_named_label_shows_no_banner(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    assert not banner(window).isVisible()


def _luminance(color) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in color.getRgb()[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_banner_reads_in_light_and_dark_palettes(qtbot):
    import re

    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from udl_gui.label_banner import LabelGuessBanner

    app = QApplication.instance()
    saved = app.palette()
    try:
        for window_color, text_color in (("#f0f0f0", "#101010"), ("#2b2b2b", "#e6e6e6")):
            palette = QPalette(saved)
            palette.setColor(QPalette.ColorRole.Window, QColor(window_color))
            palette.setColor(QPalette.ColorRole.WindowText, QColor(text_color))
            app.setPalette(palette)
            shown = LabelGuessBanner()
            qtbot.addWidget(shown)
            rgb = re.search(r"background: rgb\((\d+), (\d+), (\d+)\)", shown.styleSheet()).groups()
            light, dark = sorted((_luminance(QColor(*map(int, rgb))), _luminance(QColor(text_color))), reverse=True)
            assert (light + 0.05) / (dark + 0.05) >= 4.5, (window_color, rgb)
    finally:
        app.setPalette(saved)
