"""GUI fixtures: settings in a temp folder, a small known CSV, a shown main window."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "samples" / "sample.csv"

# 12 rows; `b` misses one value, `color` is categorical, `target` is the label (found by name).
KNOWN_CSV = """a,b,color,target
1,2.5,red,yes
2,,blue,no
3,4.5,red,yes
4,5.5,green,no
5,6.5,red,yes
6,7.5,blue,no
7,8.5,green,yes
8,9.5,red,no
9,10.5,blue,yes
10,11.5,green,no
11,12.5,red,yes
12,13.5,blue,no
"""


@pytest.fixture(scope="session", autouse=True)
def _collect_on_gui_thread(qapp):
    """As the app does: no automatic collection on worker threads (a cycle holding a widget
    collected there deadlocks or crashes), collections on this thread from a timer."""
    from udl_gui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(qapp)
    yield collector
    collector.stop()


@pytest.fixture(autouse=True)
def _collect_after_each_test():
    """The closed windows of a test are collected here, on the GUI thread, not by a later
    test's worker."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real settings."""
    folder = tmp_path_factory.mktemp("settings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    yield


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "udl.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def known_csv(tmp_path):
    path = tmp_path / "known.csv"
    path.write_text(KNOWN_CSV, encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot, settings):
    from udl_gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    for job in win.runner.jobs:   # the device probe and the warm-ups included
        assert not job.thread_busy(), job.name
