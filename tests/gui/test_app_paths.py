"""The app finds its resources the same way run from a checkout and frozen by PyInstaller, writes its
log to the platform's log folder, and `--self-test` checks a build in one line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from udl_gui import app_paths
from udl_gui.self_test import run_self_test

ROOT = Path(__file__).resolve().parents[2]


def test_resources_come_from_the_checkout_when_not_frozen():
    assert not app_paths.frozen()
    assert app_paths.resources_root() == ROOT / "resources"
    assert app_paths.sample_dataset().is_file()
    assert app_paths.resource("icons", "udl.svg").is_file()


def test_resources_come_from_the_bundle_when_frozen(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert app_paths.frozen()
    assert app_paths.resource("samples", "sample.csv") == tmp_path / "resources" / "samples" / "sample.csv"


def test_the_log_goes_to_the_state_folder_not_next_to_the_executable(monkeypatch, tmp_path):
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        assert app_paths.log_folder() == tmp_path / "state" / "UDL"
    path = app_paths.install_log_file(tmp_path / "logs")
    try:
        logging.getLogger("udl_gui").warning("a line for the log")
        assert path == tmp_path / "logs" / "udl.log"
        assert "WARNING udl_gui: a line for the log" in path.read_text(encoding="utf-8")
    finally:
        for name in ("udl_core", "udl_gui"):
            for handler in list(logging.getLogger(name).handlers):
                if getattr(handler, "baseFilename", None) == str(path):
                    logging.getLogger(name).removeHandler(handler)
                    handler.close()


def test_self_test_passes_with_one_line(tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("QT_QPA_PLATFORM", None)   # it needs no display of its own
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--self-test"], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("self-test passed: sample.csv (300 rows), 1 epoch on cpu")
    assert "val_accuracy" in lines[0] and "stopped by closing the window" in lines[0]
    assert not (tmp_path / "config").exists()   # throwaway settings: the user's are not touched


def test_self_test_fails_with_the_reason(tmp_path, capsys):
    assert run_self_test(sample=tmp_path / "missing.csv") == 1
    assert capsys.readouterr().err.strip() == f"self-test failed: the bundled sample is missing: {tmp_path}/missing.csv"


def test_self_test_runs_where_stderr_has_no_file_descriptor(tmp_path, capsys, monkeypatch):
    """Not yet enabled, faulthandler is pointed at sys.stderr; a captured stream (here capsys's) has
    no fileno (io.UnsupportedOperation): the self test goes on without it and still reports."""
    import faulthandler

    monkeypatch.setattr(faulthandler, "is_enabled", lambda: False)
    assert run_self_test(sample=tmp_path / "missing.csv") == 1
    assert capsys.readouterr().err.strip() == f"self-test failed: the bundled sample is missing: {tmp_path}/missing.csv"
