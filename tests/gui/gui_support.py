"""Helpers for the GUI tests (import as `from gui_support import ...`)."""

from __future__ import annotations


def wait_idle(qtbot, win, timeout: int = 30_000) -> None:
    """Until the current job's worker has finished and the window is idle."""
    qtbot.waitUntil(lambda: win.job is not None and not win.job.active and win.controls.run_button.isEnabled(),
                    timeout=timeout)


def load(qtbot, win, path, timeout: int = 30_000, **kwargs):
    win.load(str(path), **kwargs)
    wait_idle(qtbot, win, timeout)
    return win.loader
