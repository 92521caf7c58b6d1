"""The run monitor's progress bar: throttled updates keep the latest value, final ones win."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar

from udl_gui.loss_plot import LossPlot
from udl_gui.run_monitor import BAR_INTERVAL_S, RunMonitor


def make_monitor(qtbot):
    bar = QProgressBar()
    plot = LossPlot()
    qtbot.addWidget(bar)
    qtbot.addWidget(plot)
    logged: list[str] = []
    return RunMonitor(bar, QLabel(), QLabel(), plot, lambda text, level="info": logged.append(text)), bar


def test_throttled_updates_show_the_latest_after_the_interval(qtbot):
    monitor, bar = make_monitor(qtbot)
    monitor.begin("walk")
    for i in range(1, 6):  # five updates within one interval: the bar waits, then shows the last
        monitor.set_fraction(i / 10, f"batch {i}", throttle=True)
    assert bar.format() != "batch 5"
    qtbot.waitUntil(lambda: bar.format() == "batch 5", timeout=int(5000 * BAR_INTERVAL_S) + 1000)
    assert bar.value() == 500


def test_a_final_update_cancels_a_pending_one(qtbot):
    monitor, bar = make_monitor(qtbot)
    monitor.begin("walk")
    monitor.set_fraction(0.3, "batch 3", throttle=True)
    monitor.ended("walk stopped")
    qtbot.wait(int(1000 * BAR_INTERVAL_S) + 100)
    assert bar.format() == "walk stopped"
    monitor.set_fraction(0.4, "batch 4", throttle=True)
    monitor.set_fraction(1.0, "walked 10 batches")
    qtbot.wait(int(1000 * BAR_INTERVAL_S) + 100)
    assert bar.format() == "walked 10 batches" and bar.value() == 1000


def test_short_runs_show_their_time_in_two_significant_digits():
    from udl_gui.run_monitor import format_seconds

    assert format_seconds(0.04321) == "0.043 s" and format_seconds(0.5) == "0.5 s"
    assert format_seconds(12.34) == "12.3 s"
