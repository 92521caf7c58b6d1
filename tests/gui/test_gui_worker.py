"""The Worker/Job pair, heard through a JobRunner: events become signals on the GUI thread; stop,
errors and joins. The worker's signals are the only ones a job has (the runner hears them once)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread

from udl_core.errors import DatasetError
from udl_core.events import Progress
from udl_gui.job_runner import JobRunner
from udl_gui.worker import Job, Worker


def counting(n, seen_threads):
    for i in range(n):
        seen_threads.add(threading.get_ident())
        yield Progress("count", i + 1, n)
    return "done"


def endless(gate):
    i = 0
    while True:
        i += 1
        gate.set()
        yield None if i % 2 else Progress("tick", i)


def failing():
    yield Progress("read", 0)
    raise DatasetError("bad.csv", "line 3 is not valid")


def test_a_job_relays_no_signal_of_its_worker():
    for name in ("progressed", "returned", "errored", "cancelled", "finished"):
        assert hasattr(Worker, name) and not hasattr(Job, name)


def test_events_arrive_on_the_gui_thread_and_the_result_is_returned(qtbot):
    threads: set[int] = set()
    runner = JobRunner()
    received, where = [], []
    runner.progressed.connect(lambda _kind, e: (received.append(e.done), where.append(QThread.currentThread())))
    with qtbot.waitSignal(runner.returned, timeout=5000) as returned:
        job = runner.start("count", counting, 5, threads)
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert returned.args == ["count", "done"] and job.outcome == "returned"
    assert received == [1, 2, 3, 4, 5]
    assert threading.get_ident() not in threads  # the generator body ran on the worker thread
    assert all(t is QThread.currentThread() for t in where)


def test_stop_cancels_within_one_event_and_joins(qtbot):
    gate = threading.Event()
    runner = JobRunner()
    cancelled, returned = [], []
    runner.cancelled.connect(lambda _kind: cancelled.append(True))
    runner.returned.connect(lambda _kind, result: returned.append(result))
    job = runner.start("endless", endless, gate)
    assert gate.wait(5)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        job.stop()
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert cancelled == [True] and returned == [] and job.outcome == "cancelled"
    assert not job.thread.isRunning()


def test_an_exception_becomes_errored_not_a_crash(qtbot):
    runner = JobRunner()
    with qtbot.waitSignal(runner.errored, timeout=5000) as errored:
        job = runner.start("failing", failing)
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert errored.args[0] == "failing" and isinstance(errored.args[1], DatasetError)
    assert "bad.csv" in str(errored.args[1]) and job.outcome == "errored"


def test_stop_with_wait_joins_a_running_thread(qtbot):
    gate = threading.Event()
    job = Job(endless, gate)
    job.start()
    assert gate.wait(5)
    job.stop(wait=True)
    assert not job.thread.isRunning()
    assert not job.running


@pytest.mark.parametrize("n", [0, 1])
def test_short_jobs_finish(qtbot, n):
    job = Job(counting, n, set())
    with qtbot.waitSignal(job.done, timeout=5000):
        job.start()
    assert not job.active


def test_jobs_on_the_shared_mlx_thread_run_in_turn_and_stop(qtbot):
    from udl_gui.worker import mlx_thread

    thread = mlx_thread()
    assert thread.isRunning() and mlx_thread() is thread
    threads: set[int] = set()
    first = Job(counting, 3, threads, thread=thread)
    with qtbot.waitSignal(first.done, timeout=5000):
        first.start()
    assert not first.running and not first.thread_busy()
    gate = threading.Event()
    second = Job(endless, gate, thread=thread)
    second.start()
    assert gate.wait(5) and second.thread_busy()
    second.stop(wait=True)
    assert not second.thread_busy() and thread.isRunning()  # the shared thread lives on
    runner = JobRunner()
    with qtbot.waitSignal(runner.returned, timeout=5000) as returned:
        runner.start("third", counting, 2, threads, thread=thread)
    assert returned.args == ["third", "done"]
    assert len(threads) == 1  # every job ran on the same thread


def test_training_runs_do_not_leave_threads_behind(qtbot, window):
    from conftest import SAMPLE
    from gui_support import load, wait_idle
    from thread_count import assert_no_thread_growth, count_threads

    load(qtbot, window, SAMPLE)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(1)
    window.controls.device_combo.setCurrentText("CPU")
    counts = []
    for _ in range(4):
        window.controls.run_button.click()
        wait_idle(qtbot, window)
        qtbot.waitUntil(lambda: not window.job.running)
        counts.append(count_threads())
    assert_no_thread_growth(counts)


def test_jobs_on_the_shared_thread_can_be_dropped_as_soon_as_they_are_done(qtbot):
    """Dropping a Job (and so its worker) on the GUI thread right after `done`, many times over,
    must not delete a QObject that still lives on the worker thread."""
    import gc

    from udl_gui.worker import mlx_thread

    for _ in range(25):
        job = Job(counting, 3, set(), thread=mlx_thread())
        with qtbot.waitSignal(job.done, timeout=5000):
            job.start()
        assert job.worker.thread() is QThread.currentThread()  # handed back to the GUI thread
        del job
        gc.collect()
