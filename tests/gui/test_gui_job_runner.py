"""The JobRunner: one current job, a new one cancels the old, only the current job is heard."""

from __future__ import annotations

import threading

from udl_gui.job_runner import JobRunner


def slow_job(release: threading.Event, value: str):
    yield f"{value} started"
    while not release.wait(0.01):
        yield None  # a heartbeat: a chance to stop
    yield f"{value} late event"
    return value


def quick_job(value: str):
    yield f"{value} event"
    return value


def test_a_new_job_cancels_the_old_one_and_its_late_events_are_dropped(qtbot):
    runner = JobRunner()
    heard: list[tuple[str, object]] = []
    runner.progressed.connect(lambda kind, event: heard.append((kind, event)))
    runner.returned.connect(lambda kind, result: heard.append((kind, f"returned {result}")))
    runner.cancelled.connect(lambda kind: heard.append((kind, "cancelled")))
    release = threading.Event()
    with qtbot.waitSignal(runner.progressed, timeout=5000):
        first = runner.start("walk", slow_job, release, "first")
    assert runner.busy and runner.current is first
    with qtbot.waitSignal(runner.finished, timeout=5000) as finished:
        second = runner.start("load", quick_job, "second")
        release.set()
    assert finished.args == ["load"]
    assert first.stop_requested and runner.current is second and not runner.busy
    assert ("load", "second event") in heard and ("load", "returned second") in heard
    assert not any("late" in str(event) or event == "cancelled" for _, event in heard)
    qtbot.waitUntil(lambda: not first.running and not second.running, timeout=5000)
    qtbot.waitUntil(lambda: runner.jobs == [second], timeout=5000)


def test_stop_asks_the_current_job_and_reports_cancelled(qtbot):
    runner = JobRunner()
    release = threading.Event()
    with qtbot.waitSignal(runner.progressed, timeout=5000):
        job = runner.start("walk", slow_job, release, "only")
    with qtbot.waitSignal(runner.cancelled, timeout=5000) as cancelled:
        assert runner.stop() is job
    assert cancelled.args == ["walk"] and not runner.busy
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert runner.stop() is None


def test_a_background_job_runs_beside_the_lane_and_is_heard_by_its_results(qtbot):
    runner = JobRunner()
    release = threading.Event()
    started: list[str] = []
    reporters: list[object] = []
    runner.started.connect(started.append)
    runner.returned.connect(lambda kind, result: reporters.append((kind, result, runner.reporting)))
    with qtbot.waitSignal(runner.progressed, timeout=5000) as first:
        background = runner.start("probe", slow_job, release, "probe", background=True)
    assert first.args == ["probe", "probe started"]
    assert started == [] and runner.current is None and not runner.busy and runner.is_background(background)
    with qtbot.waitSignal(runner.returned, timeout=5000):
        lane = runner.start("load", quick_job, "lane")   # does not stop the background job
    assert not background.stop_requested and started == ["load"]
    runner.stop()   # Stop is the lane's, not the background's
    assert not background.stop_requested
    with qtbot.waitSignal(runner.returned, timeout=5000):
        release.set()
    assert [(kind, result) for kind, result, _ in reporters] == [("load", "lane"), ("probe", "probe")]
    assert reporters[0][2] is lane and reporters[1][2] is background and runner.reporting is None
    qtbot.waitUntil(lambda: not background.running and not lane.running, timeout=5000)
    qtbot.waitUntil(lambda: runner.jobs == [lane], timeout=5000)


def test_stop_all_stops_and_joins_the_background_jobs_too(qtbot):
    runner = JobRunner()
    release = threading.Event()
    with qtbot.waitSignal(runner.progressed, timeout=5000):
        background = runner.start("warmup", slow_job, release, "warm", background=True)
    runner.stop_all(wait=True)
    assert background.stop_requested and not background.running and not background.thread_busy()
