"""Let threads that ran a compiled MLX step finish before the interpreter shuts down.

MLX keeps a compile cache per thread. A step compiled with `inputs=`/`outputs=` state leaves
Python objects in that cache, and the thread's C++ destructors release them *after*
`Thread.join()` has returned. If the main thread exits at that moment, the destructor finds
the interpreter finalizing and the process aborts ("terminate called without an active
exception", exit 134) — seen in 22 of 30 runs of a script that trains on a worker thread and
then exits. An `atexit` hook (which runs while the interpreter is still whole) waits, with the
GIL released, until those threads are gone.
"""

from __future__ import annotations

import atexit
import os
import threading
import time

__all__ = ["note_mlx_thread", "register_exit_wait"]

_WAIT_SECONDS = 2.0
_lock = threading.Lock()
_threads: set[int] = set()
_registered = False


def register_exit_wait() -> None:
    """Register the exit hook now. `atexit` runs hooks last-registered first, so a front end
    that joins its own MLX thread at exit calls this before registering that join."""
    global _registered
    with _lock:
        if not _registered:
            atexit.register(_wait_for_threads)
            _registered = True


def note_mlx_thread() -> None:
    """Call on the thread that is about to compile MLX code (a no-op on the main thread)."""
    if threading.current_thread() is threading.main_thread():
        return
    register_exit_wait()
    with _lock:
        _threads.add(threading.get_native_id())


def _alive(native_id: int) -> bool | None:
    """Whether the OS thread still exists; None where the platform cannot tell."""
    task = f"/proc/self/task/{native_id}"
    if os.path.isdir("/proc/self/task"):
        return os.path.exists(task)
    return None


def _wait_for_threads() -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    current = threading.get_native_id()
    for native_id in sorted(_threads - {current}):
        while time.monotonic() < deadline:
            alive = _alive(native_id)
            if alive is False:
                break
            if alive is None:  # no /proc (macOS): give the destructors a moment
                time.sleep(0.05)
                break
            time.sleep(0.002)
