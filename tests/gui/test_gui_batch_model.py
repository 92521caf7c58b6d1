"""The batch table model: values, headers, the label column, raw rows, and Qt's model rules."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from udl_gui.batch_model import LABEL_MARK, BatchTableModel, format_value

DISPLAY = Qt.ItemDataRole.DisplayRole


def processed_model():
    model = BatchTableModel()
    x = np.array([[0.5, -1.25], [np.nan, 3.0], [np.inf, 1e-7]], dtype=np.float32)
    y = np.array([2, 0, 1], dtype=np.int32)
    model.set_processed(x, y, np.array([10, 11, 12]), ["f1", "f2"], "species", ("a", "b", "c"))
    return model


def test_processed_values_headers_and_label(qtmodeltester):
    model = processed_model()
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (3, 3)
    assert model.label_column == 0
    assert model.headerData(0, Qt.Orientation.Horizontal) == f"{LABEL_MARK} species"
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in (1, 2)] == ["f1", "f2"]
    assert [model.headerData(r, Qt.Orientation.Vertical) for r in range(3)] == ["10", "11", "12"]
    cell = lambda r, c: model.data(model.index(r, c), DISPLAY)  # noqa: E731
    assert cell(0, 0) == "2 \u00b7 c"
    assert cell(0, 1) == "0.5" and cell(0, 2) == "-1.25"
    assert cell(1, 1) == "NaN" and cell(2, 1) == "inf"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.FontRole).bold()
    assert "dataset row 10" in model.data(model.index(0, 1), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(5, 0), DISPLAY) is None


def test_raw_rows_put_the_label_first(qtmodeltester):
    model = BatchTableModel()
    raw = {"city": ["Oslo", None], "temp": [3.5, 7.0], "label": ["cold", "warm"]}
    model.set_raw(raw, np.array([4, 9]), label="label")
    qtmodeltester.check(model)
    assert model.mode == "raw"
    assert [model.column_name(c) for c in range(3)] == ["label", "city", "temp"]
    assert model.data(model.index(1, 0), DISPLAY) == "warm"
    assert model.data(model.index(1, 1), DISPLAY) == "\u2014"  # missing
    assert model.data(model.index(0, 2), DISPLAY) == "3.5"


def test_regression_and_unlabelled_batches(qtmodeltester):
    model = BatchTableModel()
    model.set_processed(np.ones((2, 3), np.float32), np.array([1.5, 2.5], np.float32), np.arange(2), list("xyz"),
                        "price")
    qtmodeltester.check(model)
    assert model.data(model.index(1, 0), DISPLAY) == "2.5"
    model.set_processed(np.ones((2, 3), np.float32), None, np.arange(2), list("xyz"))
    assert model.columnCount() == 3 and model.label_column is None
    model.clear()
    assert model.rowCount() == 0 and model.columnCount() == 0
    qtmodeltester.check(model)


def test_a_wide_batch_is_held_not_copied_per_cell(qtbot):
    x = np.random.default_rng(0).normal(size=(4096, 1000)).astype(np.float32)
    y = np.arange(4096, dtype=np.int32) % 7
    model = BatchTableModel()
    model.set_processed(x, y, np.arange(4096), [f"f{i}" for i in range(1000)], "y", [str(i) for i in range(7)])
    assert np.shares_memory(model._x, x)  # a view of the batch: no per-cell objects built up front
    assert (model.rowCount(), model.columnCount()) == (4096, 1001)
    assert model.data(model.index(4095, 1000), DISPLAY) == format_value(x[4095, 999])


def test_format_value():
    assert format_value(None) == "\u2014"
    assert format_value(float("-inf")) == "-inf"
    assert format_value(1234567.0) == "1.235e+06"
    assert format_value(b"\x00\x01") == "<2 bytes>"
    assert format_value("x" * 100).endswith("...")


def _raw_cells(model, rows):
    return [[model.data(model.index(r, c), DISPLAY) for c in range(model.columnCount())] for r in range(rows)]


def test_raw_columns_show_what_loader_raw_rows_returns(qtmodeltester, tmp_path):
    """The lazy raw columns (arrow or numpy) and the loader's lists look the same, cell for cell."""
    from udl_core.loader import UnifiedDataLoader
    from udl_gui.batch_model import raw_columns

    csv = tmp_path / "mixed.csv"
    csv.write_text("a,b,color,label\n1,2.5,red,x\n2,,blue,y\n3,4.25,,x\n4,1e9,red,y\n5,0.1,blue,x\n", "utf-8")
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(6, 3)).astype(np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1, 2, 0, 1, 2]))
    for path, kwargs in [(csv, {}), (tmp_path / "x.npy", {"labels": str(tmp_path / "y.npy")})]:
        loader = UnifiedDataLoader(str(path), batch_size=4, val_fraction=0.0, **kwargs).load()
        rows = loader.get_batch(0).rows
        lazy, lists = BatchTableModel(), BatchTableModel()
        lazy.set_raw(raw_columns(loader, rows), rows, loader.schema.label)
        lists.set_raw(loader.raw_rows(rows), rows, loader.schema.label)
        qtmodeltester.check(lazy)
        assert lazy.columnCount() == lists.columnCount() >= 4
        assert _raw_cells(lazy, len(rows)) == _raw_cells(lists, len(rows))
        assert lazy.column_name(0) == loader.schema.label


def test_a_batch_cells_text_is_worked_out_once_across_paints(qtbot, monkeypatch):
    # A view asks for a visible cell's text, alignment and colour on every paint; the batch does not
    # change between paints, so each cell is formatted on its first paint only.
    from PySide6.QtWidgets import QTableView

    import udl_gui.batch_model as batch_model

    formatted = []
    real = batch_model.format_value
    monkeypatch.setattr(batch_model, "format_value", lambda value: formatted.append(value) or real(value))
    model = BatchTableModel()
    x = np.arange(40 * 6, dtype=np.float32).reshape(40, 6) / 7
    model.set_processed(x, np.zeros(40, np.int64), np.arange(40), [f"f{i}" for i in range(6)],
                        label="y", classes=("a",))
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(500, 300)
    view.grab()
    first = len(formatted)
    assert first > 0
    view.grab()
    view.viewport().repaint()
    assert len(formatted) == first                  # the second and third paints format nothing
    model.set_processed(x + 1, np.zeros(40, np.int64), np.arange(40), [f"f{i}" for i in range(6)],
                        label="y", classes=("a",))
    assert model.data(model.index(0, 1), DISPLAY) == real(float(x[0, 0] + 1))   # a new batch: new text
