"""Raw rows in the window for types Python cannot hold as they are (issue 9): nanosecond
timestamps, times of day and durations are shown exactly, never raised from `data()`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from udl_core import UnifiedDataLoader
from udl_gui.batch_model import BatchTableModel, raw_columns

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import type_cases as cases  # noqa: E402

sys.path.pop(0)


def test_nanosecond_values_in_the_raw_view(qtmodeltester, tmp_path):
    cases.make_parquet_pandas_nanoseconds(tmp_path)
    loader = UnifiedDataLoader(tmp_path / "data.parquet", val_fraction=0).load()
    rows = np.arange(3)
    model = BatchTableModel()
    model.set_raw(raw_columns(loader, rows), rows, "label")
    qtmodeltester.check(model)
    names = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    at = names.index("at")
    assert model.value(1, at) == "2020-09-13T13:26:40.000000123"
    assert "13:26:40" in model.data(model.index(1, at), Qt.ItemDataRole.DisplayRole)
