"""The batch table shows a text-date column (issue 10) as the dates it was read as, raw and processed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from udl_core import UnifiedDataLoader
from udl_gui.batch_model import BatchTableModel, raw_columns

DISPLAY = Qt.ItemDataRole.DisplayRole


def test_raw_and_processed_rows_of_a_text_date_file_render(qtmodeltester, tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("when,value\n" + "".join(f"{1 + i % 12}/{1 + i % 28}/{1950 + i},{i * 0.5}\n" for i in range(40)))
    loader = UnifiedDataLoader(path, seed=0, val_fraction=0.0).load()
    assert loader.schema.column("when").kind == "datetime"
    rows = np.arange(4)
    model = BatchTableModel()
    model.set_raw(raw_columns(loader, rows), rows, label="value")
    qtmodeltester.check(model)
    names = [model.column_name(c) for c in range(model.columnCount())]
    assert model.data(model.index(0, names.index("when")), DISPLAY).startswith("1950-01-01")
    batch = loader.get_batch(0)
    model.set_processed(batch.x, batch.y, batch.rows, loader.feature_names, "value")
    qtmodeltester.check(model)
    assert any(name.startswith("when.") for name in loader.feature_names)
