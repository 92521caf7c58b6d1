"""Counting a process's threads the same way on Linux and macOS, for the thread-leak tests.

Python threads come from `threading.enumerate()`; OS threads (Qt's, MLX's, pyarrow's pools) from
/proc on Linux and psutil elsewhere. Where neither is there, the OS part of a check is skipped
explicitly rather than passing on a count of zero.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import pytest

__all__ = ["Threads", "assert_no_thread_growth", "count_threads"]


@dataclass(frozen=True)
class Threads:
    python: int
    native: int | None     # None: this platform cannot count them here


def _native() -> int | None:
    if os.path.isdir("/proc/self/task"):
        return len(os.listdir("/proc/self/task"))
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.Process().num_threads())


def count_threads() -> Threads:
    return Threads(len(threading.enumerate()), _native())


def assert_no_thread_growth(counts: list[Threads], since: int = 0, slack: int = 0) -> None:
    """The last count is no higher than `counts[since]` (plus `slack` for pools that fill up late):
    Python threads always, OS threads where they can be counted (else an explicit skip)."""
    first, last = counts[since], counts[-1]
    assert last.python <= first.python + slack, f"Python threads after each run: {[c.python for c in counts]}"
    if last.native is None or first.native is None:
        pytest.skip("OS threads cannot be counted here (no /proc and no psutil); Python threads did not grow")
    assert last.native <= first.native + slack, f"OS threads after each run: {[c.native for c in counts]}"
