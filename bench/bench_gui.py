"""Does the window stay responsive? Event-loop stalls while loading a big CSV and while training.

A QTimer inside the app ticks every TICK_MS; the gap between two ticks beyond that is a stall
(time the GUI thread could not answer). Measured offscreen, in this process, with the real
MainWindow driving udl_core on its worker thread:

- load: ROWS rows (1,000,000 by default) x 20 columns (18 numeric, 1 categorical, a 4-class
  label) from CSV, through the load job (estimate, read, infer, split, preprocess, per-batch
  health) and the GUI's filling of the schema panel and the batch table;
- cancel: the same load stopped CANCEL_AFTER_S seconds in (Stop), until its job has ended;
- checks: the pipeline checks on the loaded dataset (the Checks tab's Run), to the end;
- train: TRAIN_MODEL on, the MLP on that dataset, batch size 64, CPU, for TRAIN_SECONDS (then
  Stop), i.e. as many steps a second as MLX can do, every step reported to the plot.

Targets: longest stall <= 50 ms, p99 <= 20 ms. The same window idle for 3 s is measured first,
as the baseline of what the machine alone adds (another process's load shows there). Also the time from process start to the first
painted window (`app.py --print-first-paint`, a fresh interpreter each time, best and median of 3).

    python -m bench.bench_gui [--rows N] [--train-seconds S]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROWS = int(os.environ.get("UDL_BENCH_GUI_ROWS", 1_000_000))
TRAIN_SECONDS = float(os.environ.get("UDL_BENCH_GUI_TRAIN_SECONDS", 10))
TICK_MS = 5
NUMERIC = 18
CANCEL_AFTER_S = 1.5
ROOT = Path(__file__).resolve().parents[1]


def make_csv(path: Path, rows: int, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, NUMERIC)).astype(np.float64)
    label = np.argmax(x[:, :4] + rng.normal(scale=0.5, size=(rows, 4)), axis=1)
    columns = {f"f{i}": np.round(x[:, i], 4) for i in range(NUMERIC)}
    columns["city"] = pa.array(np.array(["oslo", "lima", "pune", "kobe", "nice"])[rng.integers(0, 5, rows)])
    columns["label"] = pa.array(np.array(["a", "b", "c", "d"])[label])
    pacsv.write_csv(pa.table(columns), str(path))
    return path


class StallMeter:
    """Records the gaps between QTimer ticks on the GUI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._on_tick)

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _on_tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def summary(self) -> tuple[float, float, int]:
        """(longest stall ms, p99 stall ms, ticks); a stall is a gap beyond the tick interval."""
        if not self.gaps:
            return float("nan"), float("nan"), 0
        stalls = np.maximum(np.asarray(self.gaps) * 1000 - TICK_MS, 0)
        return float(stalls.max()), float(np.percentile(stalls, 99)), len(stalls)


def wait_for(app, condition, timeout: float) -> bool:
    """Run the real event loop (not a processEvents poll) until `condition()` or `timeout` s."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.perf_counter() + timeout
    result = [False]

    def check() -> None:
        if condition():
            result[0] = True
            loop.quit()
        elif time.perf_counter() >= deadline:
            loop.quit()

    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(check)
    poll.start()
    QTimer.singleShot(0, check)
    loop.exec()
    poll.stop()
    return result[0]


def verdict(longest: float, p99: float) -> str:
    ok = longest <= 50 and p99 <= 20
    return "meets the targets" if ok else "MISSES the targets (<= 50 ms, p99 <= 20 ms)"


def measure_window(rows: int, train_seconds: float) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from udl_gui.main import freeze_startup_objects, tune_interpreter
    from udl_gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    tune_interpreter()  # as udl_gui.main.main() does for the app
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = make_csv(Path(tmp) / "big.csv", rows)
        size = path.stat().st_size / 1e6
        print(f"  dataset: {rows:,} rows, {size:.0f} MB CSV (written in {time.perf_counter() - t0:.1f} s)", flush=True)
        settings = QSettings(str(Path(tmp) / "udl.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1400, 900)
        window.show()
        freeze_startup_objects()  # as main() does
        wait_for(app, lambda: window._gpu is not None, 10)
        meter = StallMeter()
        meter.start()
        wait_for(app, lambda: False, 3)  # the same window doing nothing: what the machine itself adds
        meter.stop()
        longest, p99, ticks = meter.summary()
        print(f"  idle   {3.0:6.1f} s | event loop: longest stall {longest:5.1f} ms, p99 {p99:5.1f} ms "
              f"over {ticks} ticks (baseline: no job running; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs)", flush=True)

        window.controls.batch_size_spin.setValue(64)
        meter.start()
        started = time.perf_counter()
        window.load(str(path))
        wait_for(app, lambda: False, CANCEL_AFTER_S)
        cancelled_job = window.job
        window.stop()
        ended = wait_for(app, lambda: cancelled_job is not None and not cancelled_job.active, 120)
        seconds = time.perf_counter() - started
        wait_for(app, lambda: False, 0.2)
        meter.stop()
        longest, p99, ticks = meter.summary()
        if not ended:
            raise RuntimeError("the cancelled load did not end")
        print(f"  cancel {seconds:6.1f} s | stopped {CANCEL_AFTER_S:.1f} s in | event loop: longest stall "
              f"{longest:5.1f} ms, p99 {p99:5.1f} ms over {ticks} ticks | {verdict(longest, p99)}", flush=True)

        meter.start()
        started = time.perf_counter()
        texts: list[str] = []
        window.progress_bar.valueChanged.connect(lambda _v: texts.append(window.progress_bar.format()))
        window.load(str(path))
        done = wait_for(app, lambda: window.job is not None and not window.job.active and not window.busy, 600)
        seconds = time.perf_counter() - started
        wait_for(app, lambda: False, 0.2)  # let the last queued paints run inside the measurement
        meter.stop()
        longest, p99, ticks = meter.summary()
        if not done or window.loader is None:
            raise RuntimeError(f"the load did not finish: {window.log_view.toPlainText()[-500:]}")
        loaded = window.loader.table.num_rows
        window.progress_bar.valueChanged.disconnect()
        shown = list(dict.fromkeys(texts))
        print("  the bar during the load: " + " | ".join(shown[:: max(1, len(shown) // 6)]), flush=True)
        print(f"  load   {seconds:6.1f} s | {loaded:,} rows | event loop: longest stall {longest:5.1f} ms, p99 {p99:5.1f} ms "
              f"over {ticks} ticks of {TICK_MS} ms | {verdict(longest, p99)}", flush=True)

        panel = window.checks_panel
        meter.start()
        started = time.perf_counter()
        job = panel.run_checks()
        checked = wait_for(app, lambda: job is not None and not panel.running, 900)
        seconds = time.perf_counter() - started
        wait_for(app, lambda: False, 0.2)
        meter.stop()
        longest, p99, ticks = meter.summary()
        if not checked:
            raise RuntimeError("the checks did not finish")
        print(f"  checks {seconds:6.1f} s | event loop: longest stall {longest:5.1f} ms, p99 {p99:5.1f} ms "
              f"over {ticks} ticks | {verdict(longest, p99)}", flush=True)

        window.controls.train_switch.setChecked(True)
        window.controls.epochs_spin.setValue(100)
        window.controls.device_combo.setCurrentText("CPU")
        meter.start()
        window.run()
        wait_for(app, lambda: False, train_seconds)
        steps = len(window.loss_plot.step_points[0])
        window.stop()
        stopped = wait_for(app, lambda: window.job is not None and not window.job.active, 60)
        wait_for(app, lambda: False, 0.2)
        meter.stop()
        longest, p99, ticks = meter.summary()
        if not stopped:
            raise RuntimeError("training did not stop")
        print(f"  train  {train_seconds:6.1f} s | event loop: longest stall {longest:5.1f} ms, p99 {p99:5.1f} ms "
              f"over {ticks} ticks | {steps:,} steps plotted ({steps / train_seconds:,.0f}/s, batch 64) "
              f"| {verdict(longest, p99)}", flush=True)
        window.close()
        wait_for(app, lambda: False, 0.1)
    sys.setswitchinterval(0.005)  # leave the process as it was for the next bench
    gc.unfreeze()


def first_paint(repeats: int = 3) -> None:
    times: list[float] = []
    for _ in range(repeats):
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        with tempfile.TemporaryDirectory() as home:
            env["XDG_CONFIG_HOME"] = home
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--print-first-paint", "--quit-after", "0.5"],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("first-paint"):
                    times.append(time.perf_counter() - start)
                    break
            proc.wait(timeout=60)
    if not times:
        print("  first paint: no paint reported", flush=True)
        return
    print(f"  process start -> first painted window: best {min(times):.2f} s, median {np.median(times):.2f} s "
          f"({'under' if np.median(times) < 2 else 'OVER'} the 2 s target)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_gui")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--train-seconds", type=float, default=TRAIN_SECONDS)
    parser.add_argument("--no-first-paint", action="store_true", help="only the stalls")
    args = parser.parse_args(argv if argv is not None else [])
    print(f"bench_gui: event-loop stalls in the real window ({os.environ['QT_QPA_PLATFORM']}), "
          f"timer every {TICK_MS} ms", flush=True)
    if not args.no_first_paint:
        first_paint()
    measure_window(args.rows, args.train_seconds)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
