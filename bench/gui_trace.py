"""What bench_gui's stalls were made of: the GUI thread's events, and who held the GIL.

`python -m bench.bench_gui --trace` runs the cases with two recorders and prints, after each
case, its longest stalls (gaps between the meter's ticks over STALL_MS):

- every event the GUI thread handled inside the stall (`QApplication.notify` timed, nested events
  indented, to depth 3), each with its wall time, the GUI thread's CPU time and run-queue wait
  (Linux schedstat), and the receiver's class and object name (or its nearest named parent's);
- where every other thread was each time a watchdog thread, runnable and off the run queue,
  could not get the GIL for over GIL_MS: the call after the one that held it, usually, with
  that thread's CPU time and run-queue wait meanwhile. A holder with CPU time close to the wait
  ran a long call; one mostly on the run queue was descheduled while holding the GIL (a busy
  machine), which no slicing of its work removes;
- the cyclic garbage collector's passes over GC_MS, on whichever thread (each holds the GIL).

Tracing slows the GUI thread a little (a Python call per event); compare stalls of traced runs
with traced runs only.
"""

from __future__ import annotations

import collections
import gc
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtWidgets import QApplication

__all__ = ["StallTrace", "TracingApplication"]

STALL_MS = 40
GIL_MS = 20
DEPTH = 3
EVENT_MS = 4  # events shorter than this are not listed
GC_MS = 5


def _thread_times(tid: int | None = None) -> tuple[float, float]:
    path = f"/proc/self/task/{tid}/schedstat" if tid else "/proc/thread-self/schedstat"
    try:
        with open(path) as handle:
            cpu, queued, _ = handle.read().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(cpu) / 1e9, int(queued) / 1e9


@dataclass
class _Event:
    start: float
    end: float
    depth: int
    kind: str
    receiver: str
    cpu: float
    queued: float


@dataclass
class _Recorder:
    on: bool = False
    gui_thread: int = 0
    depth: int = 0
    events: list[_Event] = field(default_factory=list)


_RECORDER = _Recorder()


def _name(receiver: Any) -> str:
    try:
        name = f"{type(receiver).__name__}:{receiver.objectName()}"
        parent, hops = receiver.parent(), 0
        while parent is not None and hops < 4 and not receiver.objectName():
            if parent.objectName():
                return f"{name} in {type(parent).__name__}:{parent.objectName()}"
            parent, hops = parent.parent(), hops + 1
        return name
    except (AttributeError, RuntimeError, TypeError):
        return type(receiver).__name__


class TracingApplication(QApplication):
    """A QApplication that times the events the GUI thread handles while a trace is on."""

    def notify(self, receiver: Any, event: Any) -> bool:  # noqa: D102 - Qt's
        rec = _RECORDER
        if not rec.on or rec.depth >= DEPTH or threading.get_ident() != rec.gui_thread:
            return super().notify(receiver, event)
        depth = rec.depth
        rec.depth = depth + 1
        start = time.perf_counter()
        cpu, queued = _thread_times()
        try:
            return super().notify(receiver, event)
        finally:
            rec.depth = depth
            end = time.perf_counter()
            if end - start >= EVENT_MS / 1000:
                cpu1, queued1 = _thread_times()
                kind = event.type()
                rec.events.append(_Event(start, end, depth, getattr(kind, "name", str(kind)), _name(receiver),
                                         cpu1 - cpu, queued1 - queued))


class StallTrace:
    """Attach to a StallMeter (`meter.trace = StallTrace()`); `report()` after each case."""

    def __init__(self) -> None:
        _RECORDER.gui_thread = threading.get_ident()
        self.stalls: list[tuple[float, float]] = []
        self.holders: list[tuple[float, float, str]] = []   # (when, GIL wait s, another thread's stack)
        self._last = 0.0
        self._lock = threading.Lock()
        self.collections: list[tuple[float, float, int, str]] = []   # (start, end, generation, thread)
        self._collecting: dict[int, float] = {}
        gc.callbacks.append(self._on_gc)
        threading.Thread(target=self._watch, name="udl-bench-gil-watchdog", daemon=True).start()

    def _on_gc(self, phase: str, info: dict) -> None:
        now = time.perf_counter()
        ident = threading.get_ident()
        if phase == "start":
            self._collecting[ident] = now
        elif (began := self._collecting.pop(ident, None)) is not None and _RECORDER.on and now - began >= GC_MS / 1000:
            self.collections.append((began, now, int(info["generation"]), threading.current_thread().name))

    def start(self, now: float) -> None:
        self._last = now
        self.stalls.clear()
        self.collections.clear()
        _RECORDER.events.clear()
        with self._lock:
            self.holders.clear()
        _RECORDER.on = True

    def tick(self, now: float) -> None:
        if now - self._last > STALL_MS / 1000:
            self.stalls.append((self._last, now))
        self._last = now

    @staticmethod
    def _others() -> dict[int, tuple[float, float]]:
        """(CPU s, run-queue s) of every other Python thread, by ident."""
        skip = (threading.get_ident(), _RECORDER.gui_thread)
        return {t.ident: _thread_times(t.native_id) for t in threading.enumerate()
                if t.ident not in skip and t.native_id}

    def _watch(self) -> None:
        me = threading.get_native_id()
        previous = time.perf_counter()
        _, queued = _thread_times(me)
        others = self._others()
        while True:
            time.sleep(0.003)
            now = time.perf_counter()
            _, queued_now = _thread_times(me)
            waited = now - previous - 0.003 - (queued_now - queued)
            previous, queued = now, queued_now
            if not _RECORDER.on:
                continue
            before, others = others, self._others()
            if waited < GIL_MS / 1000:
                continue
            mine = threading.get_ident()
            for ident, frame in sys._current_frames().items():
                if ident in (mine, _RECORDER.gui_thread):
                    continue
                stack = traceback.extract_stack(frame)[-4:]
                where = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(stack))
                # What that thread did meanwhile: the GIL's holder ran (CPU) or, descheduled while
                # holding it, waited on the run queue; a thread with neither was not the holder.
                cpu0, queued0 = before.get(ident, (0.0, 0.0))
                cpu1, queued1 = others.get(ident, (cpu0, queued0))
                if cpu1 - cpu0 + queued1 - queued0 < 0.001:
                    continue   # asleep (a lock, a queue, I/O) all along
                where += f" [CPU {1000 * (cpu1 - cpu0):.0f}, run queue {1000 * (queued1 - queued0):.0f} ms]"
                with self._lock:
                    self.holders.append((now, waited, where))

    def report(self, stalls: int = 5) -> str:
        """The longest stalls of the case with their events and GIL holders; stops recording."""
        _RECORDER.on = False
        lines = [f"    trace: {len(self.stalls)} stalls over {STALL_MS} ms"]
        with self._lock:
            holders = list(self.holders)
        for start, end in sorted(self.stalls, key=lambda s: s[0] - s[1])[:stalls]:
            lines.append(f"    stall {1000 * (end - start):.0f} ms:")
            for e in sorted(_RECORDER.events, key=lambda e: e.start):
                if e.end > start and e.start < end:
                    lines.append(f"      {'  ' * e.depth}{e.kind} -> {e.receiver}: wall {1000 * (e.end - e.start):.0f}, "
                                 f"CPU {1000 * e.cpu:.0f}, run queue {1000 * e.queued:.0f} ms")
            for began, ended, generation, thread in self.collections:
                if ended > start and began < end:
                    lines.append(f"      garbage collection (generation {generation}) on {thread}: "
                                 f"{1000 * (ended - began):.0f} ms")
            inside = sorted((h for h in holders if start < h[0] <= end + 0.01), key=lambda h: -h[1])
            for _, waited, where in inside[:3]:
                lines.append(f"      GIL wait {1000 * waited:.0f} ms, another thread active: {where}")
        if self.collections:
            longest = max(self.collections, key=lambda c: c[1] - c[0])
            lines.append(f"    garbage collections over {GC_MS} ms: {len(self.collections)}, the longest "
                         f"{1000 * (longest[1] - longest[0]):.0f} ms (generation {longest[2]}, {longest[3]})")
        worst = collections.defaultdict(float)
        for _, waited, where in holders:
            worst[where] = max(worst[where], waited)
        if worst:
            lines.append("    longest GIL waits of the watchdog, by where the other threads were:")
            for where, waited in sorted(worst.items(), key=lambda kv: -kv[1])[:5]:
                lines.append(f"      {1000 * waited:4.0f} ms  {where}")
        return "\n".join(lines)
