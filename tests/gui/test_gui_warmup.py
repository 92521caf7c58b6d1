"""The window warms MLX's compiled step in the background (issue 10): when it opens and when a load
ends, on the one MLX thread, cancellable, with the first-run compile said in the log."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QThread

from gui_support import load
from udl_core.training import kernel_cache
from udl_core.training.kernel_cache import COMPILE_MESSAGE
from udl_core.training.warmup import WarmResult

SHOTS = Path(os.environ.get("UDL_SCREENSHOTS", Path(__file__).resolve().parents[2] / "build" / "screenshots"))


def _window(qtbot, settings):
    from udl_gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    return win


def test_the_step_is_warmed_when_the_window_opens_and_after_a_load(qtbot, settings, known_csv):
    win = _window(qtbot, settings)
    with qtbot.waitSignal(win.run_controller.warmed, timeout=120_000) as opened:
        win.show()
    assert isinstance(opened.args[0], WarmResult)
    with qtbot.waitSignal(win.run_controller.warmed, timeout=120_000) as loaded:
        load(qtbot, win, known_csv)
    result = loaded.args[0]
    assert (result.feature_dim, result.task) == (win.loader.feature_dim, "classification")
    win.close()
    assert not any(job.thread_busy() for job in win.run_controller.warmups)


def test_the_warm_step_runs_on_the_mlx_thread_not_the_gui_thread(qtbot, settings, monkeypatch):
    from udl_core.training import warmup
    from udl_gui.worker import mlx_thread

    threads = []

    def spy(**shape):
        threads.append(QThread.currentThread())
        return (yield from real(**shape))

    real = warmup.warm_step_job
    monkeypatch.setattr(warmup, "warm_step_job", spy)
    win = _window(qtbot, settings)
    with qtbot.waitSignal(win.run_controller.warmed, timeout=120_000):
        win.show()
    assert threads and all(t is mlx_thread() for t in threads)
    assert all(t is not QThread.currentThread() for t in threads)
    win.close()


def test_a_new_warm_up_cancels_the_queued_one(qtbot, settings):
    win = _window(qtbot, settings)
    with qtbot.waitSignal(win.run_controller.warmed, timeout=120_000):
        win.show()
    first = win.run_controller.warm_up()
    second = win.run_controller.warm_up()
    with qtbot.waitSignals([first.done, second.done], timeout=120_000):
        pass
    assert first.stop_requested and not second.stop_requested and second.outcome == "returned"
    win.close()
    assert not first.thread_busy() and not second.thread_busy()


def test_a_first_run_is_said_in_the_log(qtbot, settings, tmp_path, monkeypatch):
    empty = tmp_path / "tmp"
    empty.mkdir()
    monkeypatch.setattr(kernel_cache, "_temp_dir", lambda: empty)
    win = _window(qtbot, settings)
    with qtbot.waitSignal(win.run_controller.warmed, timeout=120_000) as warmed:
        win.show()
    assert warmed.args[0].compiled
    text = win.log_view.toPlainText()
    assert f"{COMPILE_MESSAGE} (in the background)" in text
    assert "kernels compiled in" in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(SHOTS / "warmup_first_run.png"))
    win.close()
