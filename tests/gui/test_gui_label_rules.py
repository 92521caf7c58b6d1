"""The label rules in the window (issue 10): a bare array asks for labels; a guess loads."""

from __future__ import annotations

import numpy as np

from gui_support import load, wait_idle


def test_a_bare_npy_shows_the_error_and_the_window_stays_usable(qtbot, window, tmp_path):
    path = tmp_path / "digits_X.npy"
    np.save(path, np.random.default_rng(0).normal(size=(40, 4)))
    window.load(str(path))
    wait_idle(qtbot, window)
    box = window.last_error_box
    assert box is not None and box.isVisible()
    assert "digits_X.npy" in box.text() and "--labels" in box.text()
    box.close()
    np.save(tmp_path / "digits_y.npy", np.arange(40) % 2)
    loader = load(qtbot, window, path, labels=str(tmp_path / "digits_y.npy"))
    assert loader is not None and loader.schema.label_guessed is False


def test_a_guessed_label_loads(qtbot, window, tmp_path):
    path = tmp_path / "penguins.csv"
    rows = [f"{40 + i % 9},{17 + i % 5},{['male', 'female'][i % 2]},{2007 + i % 3}" for i in range(60)]
    path.write_text("length,depth,sex,year\n" + "\n".join(rows) + "\n")
    loader = load(qtbot, window, path)
    assert loader is not None and loader.schema.label == "sex" and loader.schema.label_guessed
