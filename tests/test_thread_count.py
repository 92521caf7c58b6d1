"""The thread-leak check counts OS threads without /proc (macOS) and says when it cannot."""

from __future__ import annotations

import builtins
import os
import threading

import pytest
import thread_count
from thread_count import Threads, assert_no_thread_growth, count_threads


def _without_proc(monkeypatch):
    real = os.path.isdir
    monkeypatch.setattr(thread_count.os.path, "isdir", lambda p: False if str(p).startswith("/proc") else real(p))


def test_without_proc_the_os_threads_are_counted_by_psutil(monkeypatch):
    pytest.importorskip("psutil")
    _without_proc(monkeypatch)
    # Other threads of the test process (a pool winding down) may end meanwhile: measure again
    # until one extra thread is all that changed.
    for _attempt in range(20):
        before = count_threads()
        assert before.native is not None and before.native >= before.python >= 1
        stop = threading.Event()
        extra = threading.Thread(target=stop.wait)
        extra.start()
        try:
            grown = count_threads()
            if (grown.python, grown.native) == (before.python + 1, before.native + 1):
                break
        finally:
            stop.set()
            extra.join()
    assert (grown.python, grown.native) == (before.python + 1, before.native + 1)
    with pytest.raises(AssertionError, match="Python threads"):
        assert_no_thread_growth([before, grown])


def test_with_neither_proc_nor_psutil_the_os_part_is_skipped_not_passed(monkeypatch):
    _without_proc(monkeypatch)
    real_import = builtins.__import__

    def no_psutil(name, *args, **kwargs):
        if name == "psutil":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psutil)
    counts = [count_threads(), count_threads()]
    assert counts[0].native is None
    with pytest.raises(pytest.skip.Exception, match="cannot be counted"):
        assert_no_thread_growth(counts)
    with pytest.raises(AssertionError, match="OS threads"):
        assert_no_thread_growth([Threads(3, 10), Threads(3, 12)])
