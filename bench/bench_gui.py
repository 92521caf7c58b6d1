"""Does the window stay responsive? Event-loop stalls while loading a big CSV and while training.

A QTimer inside the app ticks every TICK_MS; the gap between two ticks beyond that is a stall
(time the GUI thread could not answer). Measured offscreen, in this process, with the real
MainWindow driving udl_core on its worker thread:

- load: ROWS rows (1,000,000 by default) x 20 columns (18 numeric, 1 categorical, a 4-class
  label) from CSV, through the load job (estimate, read, infer, split, preprocess, per-batch
  health) and the GUI's filling of the schema panel and the batch table;
- cancel: the same load stopped CANCEL_AFTER_S seconds in (Stop), until its job has ended;
- checks: the pipeline checks on the loaded dataset (the Checks tab's Run), to the end; then again,
  stopped CANCEL_AFTER_S seconds in, with how long Stop took to end them;
- train: TRAIN_MODEL on, the MLP on that dataset, batch size 64, CPU, for TRAIN_SECONDS (then
  Stop), i.e. as many steps a second as MLX can do, every step reported to the plot;
- parquet: bench_ingest's 2,000,000 x 32 Parquet loaded by the window (batch size 256): the time
  to the first batch shown in the table against `UnifiedDataLoader(path, batch_size=256).load()`
  (what `udl inspect` runs) in this process, each twice, alternating (target <= 1.3x).

Each stall is split, from Linux's per-thread schedstat, into the GUI thread's own CPU time, its
wait on the run queue (the machine's other processes and this one's worker threads had the
CPUs) and the rest (waiting for the GIL or another lock). "Off the run queue" is the longest
stall less its run-queue wait: what this process alone made the window wait. "At most" gives the
largest of each part over all the gaps: the GUI thread's longest piece of work, its longest wait
for the GIL.
With --trace (bench/gui_trace.py) each case also lists its longest stalls: the events the GUI
thread handled in them and where the other threads were while the GIL was held.

Targets: longest stall <= 50 ms, p99 <= 20 ms. The same window idle for 3 s is measured first,
as the baseline of what the machine alone adds (another process's load shows there). Also the time from process start to the first
painted window (`app.py --print-first-paint`, a fresh interpreter each time, best and median of 3).

    python -m bench.bench_gui [--rows N] [--train-seconds S] [--cases load,cancel,checks,train,parquet]
                              [--data FOLDER] [--trace]
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
from typing import Any

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROWS = int(os.environ.get("UDL_BENCH_GUI_ROWS", 1_000_000))
TRAIN_SECONDS = float(os.environ.get("UDL_BENCH_GUI_TRAIN_SECONDS", 10))
TICK_MS = 5
NUMERIC = 18
CANCEL_AFTER_S = 1.5
CASES = ("cancel", "load", "checks", "train", "parquet")
FIRST_BATCH_TARGET = 1.3
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


def thread_times() -> tuple[float, float] | None:
    """(CPU seconds, run-queue wait seconds) of the calling thread, from Linux's schedstat; None
    where there is none."""
    try:
        with open("/proc/thread-self/schedstat") as handle:
            cpu, queued, _ = handle.read().split()
    except (OSError, ValueError):
        return None
    return int(cpu) / 1e9, int(queued) / 1e9


class StallMeter:
    """Records the gaps between QTimer ticks on the GUI thread, and how each gap was spent."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self.spent: list[tuple[float, float]] = []   # per gap: the GUI thread's CPU s, run-queue s
        self._last: float | None = None
        self._times: tuple[float, float] | None = None
        self.trace: Any = None   # a bench.gui_trace.StallTrace with --trace
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._on_tick)

    def start(self) -> None:
        self.gaps.clear()
        self.spent.clear()
        self._last = time.perf_counter()
        self._times = thread_times()
        if self.trace is not None:
            self.trace.start(self._last)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _on_tick(self) -> None:
        now = time.perf_counter()
        times = thread_times()
        if self.trace is not None:
            self.trace.tick(now)
        if self._last is not None:
            self.gaps.append(now - self._last)
            if times is not None and self._times is not None:
                self.spent.append((times[0] - self._times[0], times[1] - self._times[1]))
        self._last = now
        self._times = times

    def summary(self) -> tuple[float, float, int]:
        """(longest stall ms, p99 stall ms, ticks); a stall is a gap beyond the tick interval."""
        if not self.gaps:
            return float("nan"), float("nan"), 0
        stalls = np.maximum(np.asarray(self.gaps) * 1000 - TICK_MS, 0)
        return float(stalls.max()), float(np.percentile(stalls, 99)), len(stalls)

    def report(self) -> str:
        """The longest stall, how it was spent, p99, the longest off the run queue, the verdict."""
        longest, p99, ticks = self.summary()
        text = f"event loop: longest stall {longest:5.1f} ms"
        if len(self.spent) == len(self.gaps) and self.gaps:
            gaps = np.asarray(self.gaps) * 1000
            cpu, queued = (np.asarray(column) * 1000 for column in zip(*self.spent))
            i = int(np.argmax(gaps))
            text += (f" (GUI thread: CPU {cpu[i]:.0f}, run queue {queued[i]:.0f}, "
                     f"GIL/locks {max(0.0, gaps[i] - cpu[i] - queued[i]):.0f})")
            text += f", off the run queue {float(np.max(np.maximum(gaps - queued - TICK_MS, 0))):5.1f} ms"
            text += (f", at most {float(np.max(cpu)):.0f} ms of GUI CPU and "
                     f"{float(np.max(np.maximum(gaps - cpu - queued, 0))):.0f} ms of GIL/locks in a gap")
        text = (f"{text}, p99 {p99:5.1f} ms over {ticks} ticks | load average {os.getloadavg()[0]:.1f} | "
                f"{verdict(longest, p99)}")
        return text if self.trace is None else f"{text}\n{self.trace.report()}"


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


def measure_window(rows: int, train_seconds: float, cases: tuple[str, ...] = CASES,
                   data: Path | None = None, trace: bool = False) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from udl_gui.main import freeze_startup_objects, tune_interpreter
    from udl_gui.background_imports import BackgroundImports
    from udl_gui.main_window import MainWindow

    if trace:
        from bench.gui_trace import TracingApplication

        app = QApplication.instance() or TracingApplication([sys.argv[0]])
    else:
        app = QApplication.instance() or QApplication([sys.argv[0]])
    tune_interpreter()  # as udl_gui.main.main() does for the app
    csv_cases = [case for case in cases if case != "parquet"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        if csv_cases:
            t0 = time.perf_counter()
            make_csv(path, rows)
            size = path.stat().st_size / 1e6
            print(f"  dataset: {rows:,} rows, {size:.0f} MB CSV (written in {time.perf_counter() - t0:.1f} s)",
                  flush=True)
        settings = QSettings(str(Path(tmp) / "udl.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1400, 900)
        window.show()
        freeze_startup_objects()  # as main() does
        imports = BackgroundImports(window)
        wait_for(app, lambda: window.run_controller.gpu is not None, 10)
        # What a person's first pick of a file finds: the modules imported after the first paint.
        wait_for(app, lambda: imports.thread is not None and imports.thread.ident is not None
                 and not imports.thread.is_alive(), 30)
        meter = StallMeter()
        if trace:
            from bench.gui_trace import StallTrace

            meter.trace = StallTrace()
        meter.start()
        wait_for(app, lambda: False, 3)  # the same window doing nothing: what the machine itself adds
        meter.stop()
        print(f"  idle   {3.0:6.1f} s | {meter.report()} (baseline: no job running, {os.cpu_count()} CPUs)",
              flush=True)
        window.controls.batch_size_spin.setValue(64)
        if "cancel" in cases:
            _measure_cancel(app, window, meter, path)
        if {"load", "checks", "train"} & set(cases):
            _measure_load(app, window, meter, path)
        if "checks" in cases:
            _measure_checks(app, window, meter)
        if "train" in cases:
            _measure_train(app, window, meter, train_seconds)
        if "parquet" in cases:
            _measure_parquet(app, window, meter, data or Path(tmp))
        window.close()
        wait_for(app, lambda: False, 0.1)
    sys.setswitchinterval(0.005)  # leave the process as it was for the next bench
    gc.unfreeze()


def _stop_later(app, window, job_of) -> tuple[bool, float]:
    """The window's Stop CANCEL_AFTER_S seconds from now; whether the job (`job_of()` then) ended,
    and the seconds from Stop to its end."""
    wait_for(app, lambda: False, CANCEL_AFTER_S)
    job = job_of()
    asked = time.perf_counter()
    window.stop()
    ended = wait_for(app, lambda: job is not None and not job.active, 120)
    return ended, time.perf_counter() - asked


def _measure_cancel(app, window, meter: StallMeter, path: Path) -> None:
    meter.start()
    started = time.perf_counter()
    window.load(str(path))
    ended, _ = _stop_later(app, window, lambda: window.job)
    seconds = time.perf_counter() - started
    wait_for(app, lambda: False, 0.2)
    meter.stop()
    if not ended:
        raise RuntimeError("the cancelled load did not end")
    print(f"  cancel {seconds:6.1f} s | stopped {CANCEL_AFTER_S:.1f} s in | {meter.report()}", flush=True)


def _measure_load(app, window, meter: StallMeter, path: Path) -> None:
    meter.start()
    started = time.perf_counter()
    texts: list[str] = []
    window.progress_bar.valueChanged.connect(lambda _v: texts.append(window.progress_bar.format()))
    window.load(str(path))
    # the load ends once the window's panels show it (Run is enabled again), not with its job
    done = wait_for(app, lambda: window.job is not None and not window.job.active and not window.busy
                    and window.controls.run_button.isEnabled(), 600)
    seconds = time.perf_counter() - started
    wait_for(app, lambda: False, 0.2)  # let the last queued paints run inside the measurement
    meter.stop()
    if not done or window.loader is None:
        raise RuntimeError(f"the load did not finish: {window.log_view.toPlainText()[-500:]}")
    loaded = window.loader.table.num_rows
    window.progress_bar.valueChanged.disconnect()
    shown = list(dict.fromkeys(texts))
    print("  the bar during the load: " + " | ".join(shown[:: max(1, len(shown) // 6)]), flush=True)
    print(f"  load   {seconds:6.1f} s | {loaded:,} rows | {meter.report()}", flush=True)


def _measure_checks(app, window, meter: StallMeter) -> None:
    panel = window.checks_panel
    meter.start()
    started = time.perf_counter()
    job = panel.run_checks()
    checked = wait_for(app, lambda: job is not None and not panel.running, 900)
    seconds = time.perf_counter() - started
    wait_for(app, lambda: False, 0.2)
    meter.stop()
    if not checked:
        raise RuntimeError("the checks did not finish")
    print(f"  checks {seconds:6.1f} s | {meter.report()}", flush=True)

    job = panel.run_checks()   # again, stopped CANCEL_AFTER_S seconds in with the window's Stop
    meter.start()
    ended, waited = _stop_later(app, window, lambda: job)
    wait_for(app, lambda: False, 0.2)
    meter.stop()
    if not ended:
        raise RuntimeError("the stopped checks did not end")
    print(f"  checks stopped {CANCEL_AFTER_S:.1f} s in: ended {waited:.2f} s after Stop | {meter.report()}",
          flush=True)


def _measure_train(app, window, meter: StallMeter, train_seconds: float) -> None:
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
    window.controls.train_switch.setChecked(False)
    if not stopped:
        raise RuntimeError("training did not stop")
    print(f"  train  {train_seconds:6.1f} s | {steps:,} steps plotted ({steps / train_seconds:,.0f}/s, batch 64) | "
          f"{meter.report()}", flush=True)


def _measure_parquet(app, window, meter: StallMeter, folder: Path) -> None:
    """bench_ingest's 2M x 32 Parquet: the window's time to its first batch on screen against the
    API load of the same file (what `udl inspect` runs), twice each, alternating; the stalls of
    the window's loads."""
    from bench.bench_ingest import udl_load, write_files

    t0 = time.perf_counter()
    path = write_files(folder, 1.0, ("parquet",))["parquet"]
    print(f"  dataset: {path.name}, {path.stat().st_size / 1e6:.0f} MB Parquet "
          f"(written in {time.perf_counter() - t0:.1f} s)", flush=True)
    window.controls.batch_size_spin.setValue(256)
    api: list[float] = []
    shown: list[float] = []
    reports: list[str] = []
    for _ in range(2):
        gc.collect()
        t0 = time.perf_counter()
        udl_load(path)
        api.append(time.perf_counter() - t0)
        gc.collect()
        first: list[float] = []

        def slot(_index: int, first: list[float] = first) -> None:
            first.append(time.perf_counter())

        window.batch_view.shown.connect(slot)
        meter.start()
        started = time.perf_counter()
        window.load(str(path))
        done = wait_for(app, lambda: bool(first) and window.job is not None and not window.job.active
                        and not window.busy, 600)
        wait_for(app, lambda: False, 0.2)
        meter.stop()
        window.batch_view.shown.disconnect(slot)
        if not done:
            raise RuntimeError(f"the Parquet load did not finish: {window.log_view.toPlainText()[-500:]}")
        shown.append(first[0] - started)
        reports.append(meter.report())
    ratio = min(shown) / min(api)
    print(f"  parquet: API load {' / '.join(f'{t:.2f}' for t in api)} s, window's first batch shown "
          f"{' / '.join(f'{t:.2f}' for t in shown)} s: {ratio:.2f}x (best of 2 each; "
          f"{'within' if ratio <= FIRST_BATCH_TARGET else 'OVER'} the {FIRST_BATCH_TARGET}x target)", flush=True)
    for i, report in enumerate(reports, 1):
        print(f"  parquet load {i} | {report}", flush=True)


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
    parser.add_argument("--data", type=Path, help="a folder to keep the generated Parquet in (reused)")
    parser.add_argument("--trace", action="store_true",
                        help="list each case's longest stalls: the GUI thread's events and the GIL's holders")
    parser.add_argument("--cases", default=",".join(CASES), help=f"a comma-separated subset of {','.join(CASES)}")
    args = parser.parse_args(argv if argv is not None else [])
    print(f"bench_gui: event-loop stalls in the real window ({os.environ['QT_QPA_PLATFORM']}), "
          f"timer every {TICK_MS} ms", flush=True)
    if not args.no_first_paint:
        first_paint()
    cases = tuple(case for case in args.cases.split(",") if case)
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    measure_window(args.rows, args.train_seconds, cases, args.data, args.trace)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
