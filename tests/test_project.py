"""Project-wide rules: the core/GUI boundary, the public API, the bundled sample."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_udl_core_loads_no_qt():
    code = (
        "import sys, json, udl_core, udl_core.loader, udl_core.cli, udl_core.training;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'pyqtgraph', 'udl_gui', 'shiboken6'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []


def test_import_linter_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_public_api_is_sorted_and_importable():
    import udl_core

    assert udl_core.__all__ == sorted(udl_core.__all__)
    for name in udl_core.__all__:
        assert getattr(udl_core, name) is not None


def test_bundled_sample_is_reproducible(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "resources"))
    try:
        import make_samples
    finally:
        sys.path.pop(0)
    bundled = (ROOT / "resources" / "samples" / "sample.csv").read_bytes()
    monkeypatch.setattr(make_samples, "OUT", tmp_path / "sample.csv")
    fresh = make_samples.main().read_bytes()
    assert hashlib.sha256(fresh).hexdigest() == hashlib.sha256(bundled).hexdigest()
