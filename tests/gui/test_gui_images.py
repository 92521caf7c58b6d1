"""Image datasets in the window: thumbnails in the batch table (raw and processed), the batch grid,
examples per class in the schema panel, and thumbnails made lazily."""

from __future__ import annotations

import numpy as np
import pytest
from gui_support import load
from PIL import Image
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QListView, QTabWidget

import udl_gui.thumbnails as thumbnails
from udl_core.pixels import display_bytes

DECORATION = Qt.ItemDataRole.DecorationRole


def digits_pair(folder, n: int = 80):
    """Digits-like 8x8 pictures (values 0-16) whose border pixels are constant (dropped by the preprocessing):
    the left column is 0, the top-left inner pixel 16."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 17, size=(n, 8, 8)).astype(np.float32)
    x[:, :, 0] = 0.0
    x[:, 0, 1] = 16.0
    np.save(folder / "digits_X.npy", x)
    np.save(folder / "digits_y.npy", np.arange(n) % 10)
    return folder / "digits_X.npy", folder / "digits_y.npy", x


def png_folder(root, per_class: int = 9):
    rng = np.random.default_rng(4)
    for name in ("cat", "dog", "fox"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8), "RGB").save(root / name / f"{i}.png")
    return root


def pixels_of(pixmap: QPixmap, shape: tuple[int, int, int]) -> np.ndarray:
    """The picture a thumbnail shows, read back one sample per picture pixel: [H, W, C] uint8."""
    image = pixmap.toImage()
    height, width, channels = shape
    fy, fx = image.height() // height, image.width() // width
    out = np.empty((height, width, 3), np.uint8)
    for r in range(height):
        for c in range(width):
            color = image.pixelColor(c * fx + fx // 2, r * fy + fy // 2)
            out[r, c] = (color.red(), color.green(), color.blue())
    return out[..., :1] if channels == 1 else out


def picture_cells(window) -> list[np.ndarray]:
    model = window.batch_model
    column = [model.column_name(c) for c in range(model.columnCount())].index("picture")
    return [model.data(model.index(r, column), DECORATION) for r in range(model.rowCount())]


def expected_raw(window, rows) -> np.ndarray:
    pictures = window.batch_view.pictures
    features = np.asarray(window.loader.table.features[rows], dtype=np.float64)
    return display_bytes(features.reshape(len(rows), *pictures.shape), pictures.range)


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "processed"])
def test_digits_rows_show_as_pictures_of_their_pixels(qtbot, window, tmp_path, raw):
    x_path, y_path, _ = digits_pair(tmp_path)
    window.load(str(x_path), labels=str(y_path))
    qtbot.waitUntil(lambda: window.loader is not None and window.batch_model.rowCount() > 0, timeout=30_000)
    window.batch_toolbar.raw_button.setChecked(raw)
    rows = window.batch_model._rows
    cells = picture_cells(window)
    assert all(isinstance(p, QPixmap) for p in cells)
    assert cells[0].width() == cells[0].height() >= 32   # 8x8 enlarged by a whole factor
    # Processed: the tensor mapped back (x * std + mean) with the dropped constant pixels put back.
    shown = np.stack([pixels_of(p, (8, 8, 1)) for p in cells]).astype(np.int16)
    # One grey level apart at most: 8 of 0-16 is 127.5, and x * std + mean in float32 rounds either way.
    np.testing.assert_allclose(shown, expected_raw(window, rows), atol=1)
    assert (shown[:, 0, 1] == 255).all() and (shown[:, :, 0] == 0).all()


def test_thumbnails_are_crisp_blocks(qtbot, window, tmp_path):
    x_path, y_path, _ = digits_pair(tmp_path)
    load(qtbot, window, x_path, labels=str(y_path))
    image = picture_cells(window)[0].toImage()
    factor = image.width() // 8
    block = [image.pixelColor(c, r).red() for r in range(factor) for c in range(factor)]
    assert len(set(block)) == 1   # nearest neighbour: one picture pixel is one flat square


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "processed"])
def test_image_folder_rows_show_as_pictures(qtbot, window, tmp_path, raw):
    load(qtbot, window, png_folder(tmp_path / "pets"))
    window.batch_toolbar.raw_button.setChecked(raw)
    model = window.batch_model
    assert model.column_name(1) == "picture" and model.label_column == 0
    shown = np.stack([pixels_of(p, (6, 5, 3)) for p in picture_cells(window)])
    np.testing.assert_array_equal(shown, window.loader.table.features[model._rows])


def test_tables_have_no_picture_column_and_no_grid(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    model = window.batch_model
    assert "picture" not in [model.column_name(c) for c in range(model.columnCount())]
    tabs = window.findChild(QTabWidget, "batchViews")
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Table"]


def test_grid_shows_the_batch_with_class_names_and_follows_the_toolbar(qtbot, window, tmp_path):
    window.controls.batch_size_spin.setValue(8)
    load(qtbot, window, png_folder(tmp_path / "pets"))
    tabs = window.findChild(QTabWidget, "batchViews")
    grid = window.findChild(QListView, "batchGrid")
    assert grid is not None and tabs.indexOf(grid) >= 0 and tabs.tabText(tabs.indexOf(grid)) == "Grid"
    tabs.setCurrentWidget(grid)
    model = grid.model()
    classes = window.loader.classes

    def shown():
        return [model.data(model.index(r, 0), Qt.ItemDataRole.DisplayRole) for r in range(model.rowCount())]

    batch = window.loader.get_batch(0)
    assert shown() == [classes[int(v)] for v in batch.y]
    assert isinstance(model.data(model.index(0, 0), DECORATION), QPixmap)
    window.batch_toolbar.index_spin.setValue(1)
    batch = window.loader.get_batch(1)
    assert shown() == [classes[int(v)] for v in batch.y]
    for button, kind in ((window.batch_toolbar.raw_button, "(raw)"), (window.batch_toolbar.processed_button,
                                                                      "(processed tensor mapped back to pixels)")):
        button.setChecked(True)
        assert kind in model.data(model.index(2, 0), Qt.ItemDataRole.ToolTipRole)
        pixmap = model.data(model.index(2, 0), DECORATION)
        np.testing.assert_array_equal(pixels_of(pixmap, (6, 5, 3)), window.loader.table.features[batch.rows[2]])


def test_thumbnails_are_made_for_visible_rows_once(qtbot, window, tmp_path, monkeypatch):
    made = []
    real = thumbnails.pixmap_from_pixels
    monkeypatch.setattr(thumbnails, "pixmap_from_pixels", lambda *args: made.append(1) or real(*args))
    x_path, y_path, _ = digits_pair(tmp_path, n=400)
    window.controls.batch_size_spin.setValue(256)
    load(qtbot, window, x_path, labels=str(y_path))
    made.clear()                                # the schema panel's examples were made too
    window.batch_view.pictures._cache.clear()
    table = window.batch_table
    table.viewport().repaint()
    qtbot.waitUntil(lambda: len(made) > 0)
    visible = table.rowAt(table.viewport().height() - 1) + 1 or window.batch_model.rowCount()
    assert 0 < len(made) <= visible + 2 < 256   # only the rows on screen, not the whole batch
    before = len(made)
    table.viewport().repaint()
    table.viewport().repaint()
    assert len(made) == before                 # a repaint reuses them


def test_schema_panel_shows_examples_per_class(qtbot, window, tmp_path):
    x_path, y_path, _ = digits_pair(tmp_path, n=200)
    np.save(y_path, np.arange(200) % 13)       # 13 classes: 10 shown, "and 3 more"
    load(qtbot, window, x_path, labels=str(y_path))
    examples = window.schema_panel.examples
    assert examples.objectName() == "classExamples" and examples.isVisibleTo(window)
    shown = examples.shown()
    assert len(shown) == 10 and all(1 <= len(pixmaps) <= 4 for _, pixmaps in shown)
    assert shown[0][0] == window.loader.classes[0]
    assert "and 3 more" in examples.more.text()


def test_schema_panel_has_no_examples_for_tables(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    assert not window.schema_panel.examples.isVisibleTo(window)


def test_model_with_pictures_follows_qt_rules(qtbot, qtmodeltester, window, tmp_path):
    load(qtbot, window, png_folder(tmp_path / "pets"))
    qtmodeltester.check(window.batch_model)
    window.batch_toolbar.raw_button.setChecked(True)
    qtmodeltester.check(window.batch_model)
    qtmodeltester.check(window.findChild(QListView, "batchGrid").model())
    assert window.batch_model.data(QModelIndex(), DECORATION) is None
