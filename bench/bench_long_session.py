"""A long session: RUNS short trainings on the bundled sample, one after another, in one window.

Offscreen, in this process, with the real MainWindow: each run loads nothing new (the sample
stays loaded), flips TRAIN_MODEL on, presses Run and waits until the window is idle again.
After each run it records the process's OS threads (/proc/self/task), the Python threads,
the jobs still holding a thread, and the resident memory (VmRSS).

Targets: no thread left behind (the counts after run 50 equal those after run 5), and the
resident memory after run 50 within 10% of that after run 5.

    python -m bench.bench_long_session [--runs 50] [--epochs 1]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "samples" / "sample.csv"


def rss_mb() -> float:
    """Resident memory of this process in MiB (VmRSS), or psutil where /proc has none."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def os_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import psutil

        return psutil.Process().num_threads()


def _wait(app, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        app.processEvents()
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not become idle in time")
        time.sleep(0.002)


def _idle(win) -> bool:
    return win.job is not None and not win.job.active and win.controls.run_button.isEnabled()


def run_session(runs: int = 50, epochs: int = 1, batch_size: int = 32, quiet: bool = False) -> list[dict]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from udl_gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings_dir = tempfile.mkdtemp(prefix="udl-bench-session-")
    win = MainWindow(settings=QSettings(str(Path(settings_dir) / "udl.ini"), QSettings.Format.IniFormat))
    win.resize(1200, 800)
    win.show()
    app.processEvents()
    win.controls.batch_size_spin.setValue(batch_size)
    win.load(str(SAMPLE))
    _wait(app, lambda: _idle(win), 60)
    if win.loader is None:
        raise RuntimeError("the sample did not load")
    win.controls.train_switch.setChecked(True)
    win.controls.epochs_spin.setValue(epochs)
    win.controls.device_combo.setCurrentText("CPU")

    rows = []
    for run in range(1, runs + 1):
        start = time.perf_counter()
        job = win.run()
        if job is None:
            raise RuntimeError(f"run {run} did not start")
        _wait(app, lambda: _idle(win) and win.job is job, 120)
        for _ in range(3):      # let deleteLater and the job pruning happen
            app.processEvents()
        gc.collect()
        result = win.last_train
        row = {
            "run": run,
            "seconds": time.perf_counter() - start,
            "os_threads": os_threads(),
            "py_threads": threading.active_count(),
            # The window keeps one long-lived thread for MLX jobs; a job still holding a thread is a leak.
            "qthreads_busy": sum(1 for j in win.runner.jobs if j.thread_busy()),
            "rss_mb": rss_mb(),
            "final_loss": None if result is None or result.final is None else result.final.train_loss,
        }
        rows.append(row)
        if not quiet and (run <= 5 or run % 10 == 0):
            print(f"   run {run:3d}: {row['seconds']:.2f} s, OS threads {row['os_threads']}, Python threads "
                  f"{row['py_threads']}, jobs still holding a thread {row['qthreads_busy']}, RSS {row['rss_mb']:.1f} MiB",
                  flush=True)
    win.close()
    app.processEvents()
    rows[-1]["os_threads_after_close"] = os_threads()
    return rows


def summarise(rows: list[dict]) -> dict:
    at5, last = rows[min(4, len(rows) - 1)], rows[-1]
    return {
        "runs": len(rows),
        "rss_run5_mb": at5["rss_mb"],
        "rss_last_mb": last["rss_mb"],
        "rss_ratio": last["rss_mb"] / at5["rss_mb"],
        "os_threads_run5": at5["os_threads"],
        "os_threads_last": last["os_threads"],
        "py_threads_last": last["py_threads"],
        "qthreads_busy_last": last["qthreads_busy"],
        "os_threads_after_close": last.get("os_threads_after_close"),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args([] if argv is None else argv)
    rows = run_session(args.runs, args.epochs)
    s = summarise(rows)
    rss_ok = s["rss_ratio"] <= 1.10
    threads_ok = s["os_threads_last"] <= s["os_threads_run5"] and s["qthreads_busy_last"] == 0
    print(f"   RSS after run 5: {s['rss_run5_mb']:.1f} MiB; after run {s['runs']}: {s['rss_last_mb']:.1f} MiB; "
          f"ratio {s['rss_ratio']:.3f} (target <= 1.10: {'ok' if rss_ok else 'MISSED'})")
    print(f"   OS threads after run 5: {s['os_threads_run5']}; after run {s['runs']}: {s['os_threads_last']}; "
          f"Python threads {s['py_threads_last']}; jobs still holding a thread {s['qthreads_busy_last']} "
          f"(target: no growth: {'ok' if threads_ok else 'MISSED'})")
    return s


if __name__ == "__main__":
    main(sys.argv[1:])
