"""The modules a first load needs are imported after the window's first paint, off the GUI
thread, and frozen out of the collector's reach: the load itself imports none of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import gc, json, os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QLabel
from udl_gui.background_imports import BackgroundImports
app = QApplication([])
widget = QLabel("udl")
imports = BackgroundImports(widget)
report = {"before_paint": imports.thread is not None or "polars" in sys.modules}
frozen = gc.get_freeze_count()
widget.show()
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not (imports.thread and imports.thread.ident and not imports.thread.is_alive()):
    app.processEvents()
    time.sleep(0.01)
report["thread"] = imports.thread.name
report["frozen_more"] = gc.get_freeze_count() > frozen
before = set(sys.modules)
from udl_core.loader import UnifiedDataLoader
UnifiedDataLoader(sys.argv[1], batch_size=4).load()
report["imported_by_load"] = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("polars", "pyarrow"))
print(json.dumps(report))
"""


def test_polars_and_the_readers_are_imported_after_the_first_paint_and_frozen(tmp_path):
    data = tmp_path / "small.csv"
    data.write_text("a,b,city,label\n" + "".join(f"{i},{i * 0.5},c{i % 3},{'xy'[i % 2]}\n" for i in range(60)))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(data)], capture_output=True, text=True, cwd=ROOT,
                         check=True, timeout=120)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["before_paint"] is False            # nothing started before the window painted
    assert report["thread"] == "udl-imports"          # imported on its own thread
    assert report["frozen_more"] is True              # and moved out of the collector's reach
    assert report["imported_by_load"] == []           # the load found every module it needs ready
