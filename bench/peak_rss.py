"""Peak RSS of this process from a baseline (Linux): what `--memory-budget` promises is measured so.

`ru_maxrss` cannot be used in a child of a big process: Linux carries the parent's peak across
exec. The per-process high-water mark (VmHWM) can be reset to the current RSS by writing 5 to
/proc/self/clear_refs, so a child resets it after its imports and reads the growth at the end.
Shared by the benches and by the tests' child processes (run with the repository as cwd).
"""

from __future__ import annotations

__all__ = ["peak", "reset_peak"]


def _status_bytes(field: str) -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak() -> int:
    """Reset the peak to the current RSS and return it (the baseline); 0 where /proc cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return 0
    return _status_bytes("VmHWM")


def peak() -> int:
    """The highest RSS since the last `reset_peak()` (bytes; 0 where /proc cannot say)."""
    return _status_bytes("VmHWM")
