"""The run controller (issue 13): results and events dispatched by their type, not by the job's
name; the device probe and the warm-up in the window's one lane, in the background; Run and Stop."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from conftest import SAMPLE
from gui_support import load, wait_idle
from udl_core.events import Notice
from udl_gui import jobs


def returns(value):
    yield None
    return value


def says(message):
    yield Notice(message, "info")
    return None


def test_a_result_is_shown_by_its_type_whatever_the_job_is_called(qtbot, window):
    summary = jobs.WalkSummary(batches=7, samples=70, seconds=0.5, nonfinite=0)
    with qtbot.waitSignal(window.runner.finished, timeout=5000):
        window.runner.start("anything", returns, summary)
    assert window.last_walk is summary
    assert "walked 7 batches (70 samples)" in window.log_view.toPlainText()
    with qtbot.waitSignal(window.runner.finished, timeout=5000):
        window.runner.start("walk", returns, "not a walk")   # the name alone shows nothing
    assert window.last_walk is summary
    with qtbot.waitSignal(window.runner.finished, timeout=5000):
        window.runner.start("walk", says, "a notice from a walk")
    assert "a notice from a walk" in window.log_view.toPlainText()


def test_a_loader_is_shown_as_the_dataset_whoever_loaded_it(qtbot, window, known_csv):
    with qtbot.waitSignal(window.dataset.loaded, timeout=30_000) as loaded:
        window.runner.start("fetch", jobs.load_job, str(known_csv))
    assert window.loader is loaded.args[0] and window.loader.schema.label == "target"
    wait_idle(qtbot, window)
    assert window.batch_model.rowCount() > 0 and window.windowTitle().startswith("known.csv")


def test_the_probe_runs_in_the_lane_in_the_background_and_a_load_does_not_stop_it(qtbot, settings, known_csv):
    from udl_gui.main_window import MainWindow

    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    started, returned = [], []
    window.runner.started.connect(started.append)
    window.runner.returned.connect(lambda kind, result: returned.append((kind, type(result))))
    window.show()
    qtbot.waitUntil(lambda: window.run_controller.probe is not None, timeout=5000)
    probe = window.run_controller.probe
    window.load(str(known_csv))   # at once: the probe may still be asking MLX
    qtbot.waitUntil(lambda: window.run_controller.gpu is not None, timeout=30_000)
    wait_idle(qtbot, window)
    assert ("probe", jobs.DeviceInfo) in returned and "probe" not in started and started[0] == "load"
    assert not probe.stop_requested and window.runner.current is not probe
    assert window.checks_panel.runner is window.runner
    window.close()
    assert not any(job.thread_busy() for job in window.runner.jobs)


def test_stop_stops_the_run_but_not_the_warm_up(qtbot, window):
    control = window.run_controller
    load(qtbot, window, SAMPLE)
    warm = control.warm_up(window.loader)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(5000)
    window.controls.device_combo.setCurrentText("CPU")
    with qtbot.waitSignal(window.runner.started, timeout=5000) as started:
        run = control.run()
    assert started.args == ["train"] and window.job is run and control.run() is None   # busy: no second run
    assert window.controls.stop_button.isEnabled() and not window.controls.run_button.isEnabled()
    with qtbot.waitSignal(window.runner.cancelled, timeout=60_000):
        qtbot.mouseClick(window.controls.stop_button, Qt.MouseButton.LeftButton)
    assert run.stop_requested and not warm.stop_requested
    wait_idle(qtbot, window)
    assert "train stopped" in window.log_view.toPlainText()


def test_a_background_job_is_heard_by_type_and_never_takes_the_lane(qtbot, window, known_csv):
    load(qtbot, window, known_csv)
    release = threading.Event()

    def background():
        yield Notice("compiling somewhere")
        release.wait(10)
        return jobs.WalkSummary(batches=1, samples=1, seconds=1.0, nonfinite=0)

    busy = []
    window.runner.started.connect(busy.append)
    job = window.runner.start("side", background, background=True)
    qtbot.waitUntil(lambda: "compiling somewhere (in the background)" in window.log_view.toPlainText(), timeout=5000)
    assert busy == [] and window.controls.run_button.isEnabled() and not window.busy
    with qtbot.waitSignal(window.runner.returned, timeout=5000):
        release.set()
    assert window.last_walk is not None and window.last_walk.batches == 1
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
