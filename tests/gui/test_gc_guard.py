"""Cycles holding Qt objects are collected on the GUI thread, never on a worker."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from udl_gui.gc_guard import GuiThreadCollector


class _Cycle(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.me = self   # a reference cycle: only the collector frees it
        self.destroyed.connect(lambda *_: None)


def _churn() -> None:
    """Allocate enough container objects to pass generation 0's threshold many times."""
    keep = []
    for _ in range(50):
        keep.append([[i] for i in range(2000)])
        keep.pop()


def test_a_worker_thread_never_collects_while_the_guard_is_on(qtbot, _collect_on_gui_thread):
    assert not gc.isenabled()
    cycle = _Cycle()
    ref = weakref.ref(cycle)
    del cycle
    worker = threading.Thread(target=_churn)
    worker.start()
    worker.join()
    assert ref() is not None   # the worker's allocations did not run a collection
    alive = [[i] for i in range(_collect_on_gui_thread.threshold[0] + 100)]   # a collection is due
    qtbot.waitUntil(lambda: ref() is None, timeout=5000)   # the guard's timer, on this thread
    del alive


def test_collect_due_collects_a_generation_past_its_threshold_and_stop_restores(qtbot):
    enabled = gc.isenabled()
    collector = GuiThreadCollector(interval_ms=60_000)
    try:
        gc.collect()   # counts start at zero; the cycle made after this is the young one
        cycle = _Cycle()
        ref = weakref.ref(cycle)
        del cycle
        alive = [[i] for i in range(collector.threshold[0] + 100)]   # generation 0 past its threshold
        assert collector.collect_due() > 0
        assert ref() is None
        del alive
    finally:
        collector.stop()
    assert gc.isenabled() == enabled
