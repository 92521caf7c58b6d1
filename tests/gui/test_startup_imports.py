"""What the app imports before its window paints: no polars, no MLX (both load on first use)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_module_imports_neither_polars_nor_mlx():
    # polars alone was ~0.15-0.5 s of start-up; MLX is imported by the device probe, on its thread.
    code = ("import sys, json, udl_core, udl_gui.main, udl_gui.main_window;"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'polars', 'mlx'})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []
