"""app.py in a subprocess: it starts, opens the window, renders a screenshot, and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage

from conftest import ROOT


def env_for(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path))
    return env


def test_app_quits_on_a_timer(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "--quit-after", "1.5", "--print-first-paint"],
                         cwd=ROOT, env=env_for(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "first-paint" in out.stdout
    assert "Traceback" not in out.stderr
    assert "QThread: Destroyed" not in out.stderr


def test_app_screenshot_of_a_finished_run(tmp_path):
    target = tmp_path / "shot.png"
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "--screenshot", str(target), "--epochs", "2"],
                         cwd=ROOT, env=env_for(tmp_path), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    image = QImage(str(target))
    assert not image.isNull() and image.width() >= 1000 and image.height() >= 600
    assert not (tmp_path / "config" / "UDL").exists()  # the screenshot run leaves the user's settings alone


def test_app_with_a_bad_path_exits_with_an_error_on_screenshot(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), str(tmp_path / "nope.csv"), "--screenshot",
                          str(tmp_path / "x.png")], cwd=ROOT, env=env_for(tmp_path), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert "nope.csv" in out.stderr and "Traceback" not in out.stderr


def test_opening_the_window_does_not_import_mlx():
    code = ("import sys, udl_gui.main, udl_gui.main_window; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mlx'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"  # MLX is imported on the worker thread, by the jobs that use it
