"""Cycles holding Qt objects are collected on the GUI thread, never on a worker."""

from __future__ import annotations

import gc
import threading

from udl_gui.gc_guard import GuiThreadCollector


def _churn() -> None:
    """Allocate enough container objects to pass generation 0's threshold many times."""
    keep = []
    for _ in range(50):
        keep.append([[i] for i in range(2000)])
        keep.pop()


def test_a_worker_thread_never_collects_while_the_guard_is_on(qtbot):
    """Every collection runs on this (the GUI) thread: the worker's allocations start none,
    the guard's timer starts one once a generation is past its threshold. (Watched through
    gc.callbacks, not through one cycle: a window's background imports may gc.freeze() it.)"""
    enabled = gc.isenabled()
    guard = GuiThreadCollector(interval_ms=20)
    assert not gc.isenabled()
    threads: list[int] = []

    def seen(phase: str, _info: dict) -> None:
        if phase == "start":
            threads.append(threading.get_ident())

    gc.callbacks.append(seen)
    try:
        worker = threading.Thread(target=_churn)
        worker.start()
        worker.join()
        assert worker.ident not in threads   # the worker's allocations ran no collection
        alive: list[list[list[int]]] = []

        def collected_here() -> bool:
            # Keep generation 0 past its threshold: objects freed by the event loop meanwhile
            # (other tests' deferred deletes) lower its count.
            alive.append([[i] for i in range(guard.threshold[0] + 100)])
            return threading.get_ident() in threads

        qtbot.waitUntil(collected_here, timeout=5000)   # the guard's timer, on this thread
        assert set(threads) == {threading.get_ident()}
        alive.clear()
    finally:
        gc.callbacks.remove(seen)
        guard.stop()
        if not enabled:
            gc.disable()   # the session's guard is still on
    assert gc.isenabled() == enabled


def test_collect_due_collects_a_generation_past_its_threshold_and_stop_restores(qtbot):
    enabled = gc.isenabled()
    collector = GuiThreadCollector(interval_ms=60_000)
    generations: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        gc.collect()   # counts start at zero
        generations.clear()
        collector.collect_due()
        assert generations == []   # nothing due yet
        alive = [[i] for i in range(collector.threshold[0] + 100)]   # generation 0 past its threshold
        collector.collect_due()
        assert generations[:1] == [0]
        del alive
    finally:
        gc.callbacks.remove(seen)
        collector.stop()
    assert gc.isenabled() == enabled
