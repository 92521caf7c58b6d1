"""Guards the PySide6 pin: 6.12.0 on Python 3.11 takes references off `None` in ordinary
calls until the interpreter aborts with "none_dealloc" (any pyqtgraph plot does it)."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pyqtgraph as pg
import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_painting_a_plot_does_not_drain_none_refcount(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(320, 240)
    plot.show()
    curve = plot.plot(np.zeros(2))
    xs = np.arange(200, dtype=float)
    gc.collect()
    before = sys.getrefcount(None)
    for i in range(300):
        curve.setData(xs, np.sin(xs / 10.0 + i))
        plot.grab()  # a real paint, through Qt's and pyqtgraph's Python callbacks
    gc.collect()
    after = sys.getrefcount(None)
    # Healthy builds move by a handful either way; the broken one loses thousands.
    assert after > before - 200, f"None lost {before - after} references while painting"
