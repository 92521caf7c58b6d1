"""Numbers in the window read as people read them (issue 11): separators, plurals, no "0.00 s",
and a status bar that forgets the previous dataset's run."""

from __future__ import annotations

import re

from gui_support import load, wait_idle


def write_big(path, rows: int = 2_500) -> None:
    path.write_text("a,b,target\n" + "".join(f"{i},{i % 7},{'cat' if i % 2 else 'dog'}\n" for i in range(rows)))


def test_counts_have_separators_in_the_log_the_bar_and_the_schema(qtbot, window, tmp_path):
    path = tmp_path / "big.csv"
    write_big(path)
    load(qtbot, window, path)
    text = window.log_view.toPlainText()
    assert "2,500 rows" in text and "2500 rows" not in text
    assert re.search(r"loaded 2,500 rows in (<10 ms|\d+ ms|\d+\.\d s|\d+ s)$", window.progress_bar.format()), \
        window.progress_bar.format()
    assert "0.00 s" not in window.progress_bar.format()
    summary = window.schema_panel.summary.text()
    assert "2,500 rows" in summary and "2 classes" in summary
    assert window.schema_panel.classes_title.text() == "Class counts: cat 1,250, dog 1,250"


def train_one_epoch(qtbot, window, path) -> None:
    write_big(path, rows=400)
    load(qtbot, window, path)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(1)
    window.run()
    wait_idle(qtbot, window, timeout=120_000)
    assert window.last_train is not None


def test_one_epoch_is_singular(qtbot, window, tmp_path):
    train_one_epoch(qtbot, window, tmp_path / "big.csv")
    assert "for 1 epoch," in window.log_view.toPlainText()


def test_a_new_load_clears_the_last_runs_rate(qtbot, window, tmp_path, known_csv):
    train_one_epoch(qtbot, window, tmp_path / "big.csv")
    assert "samples/s" in window.rate_label.text()
    load(qtbot, window, known_csv)
    assert window.rate_label.text() == "" and window.wait_label.text() == ""
    assert "1 training batch of 32" in window.log_view.toPlainText()   # known.csv: 12 rows


def test_a_walk_of_one_batch_is_said_in_words(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    window.run()   # TRAIN_MODEL off: a walk over the one training batch
    wait_idle(qtbot, window)
    line = next(t for t in window.log_view.toPlainText().splitlines() if "walked" in t)
    assert "walked 1 batch (10 samples) in " in line and "0.00 s" not in line
