"""The dataset's settings belong to the dataset (issue 11): no stale label, remembered per file,
a mistyped path kept, several dropped files answered, warnings once."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from gui_support import load, wait_idle


def type_path(qtbot, window, path) -> None:
    """Type `path` into the dataset field and press Return, as a person does."""
    edit = window.dataset_row.path_edit
    edit.setText(str(path))
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)


def log_text(window) -> str:
    return window.log_view.toPlainText()


def write_wine(path) -> None:
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"alcohol": rng.normal(13, 1, 90), "malic_acid": rng.normal(2, 1, 90),
                             "class": np.repeat([1, 2, 3], 30)}), path)


def write_cars(path) -> None:
    rng = np.random.default_rng(1)
    rows = [{"mpg": float(rng.normal(23, 5)), "cylinders": int(rng.choice([4, 6, 8])),
             "weight": int(rng.integers(1600, 5000)), "origin": str(rng.choice(["usa", "europe", "japan"]))}
            for _ in range(80)]
    path.write_text(json.dumps(rows))


def write_digits(folder) -> tuple:
    rng = np.random.default_rng(2)
    x, y = folder / "digits_X.npy", folder / "digits_y.npy"
    np.save(x, rng.integers(0, 17, size=(200, 64)).astype(np.float32))
    np.save(y, rng.integers(0, 10, size=200))
    return x, y


def test_a_typed_new_path_does_not_keep_the_previous_label(qtbot, window, tmp_path):
    wine, cars = tmp_path / "wine.parquet", tmp_path / "cars.json"
    write_wine(wine)
    write_cars(cars)
    type_path(qtbot, window, wine)
    assert window.loader.schema.label == "class"
    type_path(qtbot, window, cars)
    assert window.last_error_box is None, window.last_error_box.text()
    assert window.loader.path == str(cars) and window.loader.schema.label == "origin"
    assert window.dataset_row.label_combo.currentText() == "origin"


def test_a_labels_file_resets_the_label_to_its_own(qtbot, window, tmp_path):
    x, y = write_digits(tmp_path)
    load(qtbot, window, x, label="f63")
    assert window.loader.schema.label == "f63" and window.loader.feature_dim == 63
    window.dataset_row.labels_edit.setText(str(y))
    qtbot.keyClick(window.dataset_row.labels_edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert window.loader.labels_path == str(y)
    assert window.loader.feature_dim == 64 and "f63" in window.loader.schema.features
    assert window.loader.schema.label != "f63"


def test_a_new_path_leaves_the_previous_labels_file_behind(qtbot, window, tmp_path, known_csv):
    x, y = write_digits(tmp_path)
    load(qtbot, window, x, labels=str(y))
    type_path(qtbot, window, known_csv)
    assert window.last_error_box is None, window.last_error_box.text()
    assert window.loader.labels_path is None and window.dataset_row.labels_path() == ""


def test_settings_are_restored_only_when_the_same_file_is_opened_again(qtbot, window, tmp_path, known_csv):
    other = tmp_path / "other.csv"
    other.write_text(known_csv.read_text())
    type_path(qtbot, window, known_csv)
    combo = window.dataset_row.label_combo
    combo.setCurrentText("color")
    combo.activated.emit(combo.currentIndex())
    wait_idle(qtbot, window)
    assert window.loader.schema.label == "color"

    type_path(qtbot, window, other)                   # a new file: its own defaults
    assert window.loader.schema.label == "target"
    assert "restored settings" not in log_text(window)

    type_path(qtbot, window, known_csv)               # the same file typed again
    assert window.loader.schema.label == "color"
    assert f"restored settings for {known_csv.name}: label 'color'" in log_text(window)

    recent = next(a for a in window.menus.recent_menu.actions() if a.text() == str(other))
    recent.trigger()                                  # Recent: other.csv has only defaults to restore
    wait_idle(qtbot, window)
    assert window.loader.schema.label == "target"


def test_remembered_settings_outlive_the_window(qtbot, settings, known_csv):
    from udl_gui.main_window import MainWindow

    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    load(qtbot, first, known_csv, ignore=["a"])
    assert "a" not in first.loader.schema.features
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    next(a for a in second.menus.recent_menu.actions() if a.text() == str(known_csv)).trigger()
    wait_idle(qtbot, second)
    assert "a" not in second.loader.schema.features and "restored settings" in log_text(second)
    second.close()


def test_a_mistyped_path_stays_in_the_field_with_the_error(qtbot, window, known_csv, tmp_path):
    load(qtbot, window, known_csv)
    loader = window.loader
    typo = tmp_path / "knwon.csv"
    type_path(qtbot, window, typo)
    box = window.last_error_box
    assert box is not None and "knwon.csv" in box.text()
    assert window.dataset_row.path_edit.text() == str(typo)
    assert window.loader is loader and window.batch_model.rowCount() > 0
    box.close()


def drop(window, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    QApplication.sendEvent(window, QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                                                   Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(window, QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def test_three_dropped_files_load_the_pair_and_name_the_rest(qtbot, window, tmp_path):
    x, y = write_digits(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("where the digits came from\n")
    drop(window, [notes, y, x])
    wait_idle(qtbot, window)
    assert window.loader.path == str(x) and window.loader.labels_path == str(y)
    assert "not loaded: notes.txt" in log_text(window)


def test_several_dropped_files_without_a_pair_load_the_first(qtbot, window, tmp_path, known_csv):
    others = []
    for name in ("b.csv", "c.csv"):
        others.append(tmp_path / name)
        others[-1].write_text(known_csv.read_text())
    drop(window, [known_csv, *others])
    wait_idle(qtbot, window)
    assert window.loader.path == str(known_csv)
    assert "not loaded: b.csv, c.csv" in log_text(window)


def test_pairs_of_dropped_names():
    from udl_gui.files import pair_dropped

    assert pair_dropped(["/d/digits_y.npy", "/d/digits_X.npy"]) == ("/d/digits_X.npy", "/d/digits_y.npy", [])
    assert pair_dropped(["/d/x_train.npz", "/d/y_train.npy", "/d/a.csv"]) == \
        ("/d/x_train.npz", "/d/y_train.npy", ["/d/a.csv"])
    assert pair_dropped(["/d/X.parquet", "/d/y.csv", "/d/z.csv"]) == ("/d/X.parquet", None, ["/d/y.csv", "/d/z.csv"])
    assert pair_dropped(["/d/a.csv", "/d/b.csv"]) == ("/d/a.csv", None, ["/d/b.csv"])


def test_each_load_warning_is_logged_once(qtbot, window, tmp_path):
    path = tmp_path / "constant.csv"
    path.write_text("a,k,target\n" + "".join(f"{i},7,{'yes' if i % 2 else 'no'}\n" for i in range(40)))
    load(qtbot, window, path)
    assert window.loader.warnings, "the file should warn about its constant column"
    text = log_text(window)
    for warning in window.loader.warnings:
        assert text.count(warning) == 1, warning


def test_remembered_settings_that_no_longer_load_are_forgotten(qtbot, window, tmp_path, known_csv):
    data = tmp_path / "data.csv"
    data.write_text(known_csv.read_text())
    load(qtbot, window, data, label="color")
    load(qtbot, window, known_csv)
    data.write_text(known_csv.read_text().replace("color", "colour"))   # the file changed
    load(qtbot, window, data)
    assert window.last_error_box is not None and "color" in window.last_error_box.text()
    assert "did not load; they are forgotten" in log_text(window)
    window.last_error_box.close()
    load(qtbot, window, data)
    assert window.loader.path == str(data) and window.loader.schema.label == "target"
