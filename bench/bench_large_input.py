"""A CSV several times the loader's memory budget: does it load and train one epoch with bounded memory?

Writes a CSV of about SIZE_MB (300 by default: 8 numeric columns, a categorical one, a
3-class label) into a temporary folder, then, in a fresh interpreter so that the peak is
this work's alone, loads it with `UnifiedDataLoader(memory_budget=BUDGET_MB)` and trains one
epoch of the MLP on the CPU (batch size 1024). Reports the peak resident memory (ru_maxrss)
next to the interpreter's own baseline, the file size and the budget, and the time each step
took. The target: the peak stays within a small multiple of the budget over the baseline,
and not proportional to the file.

    python -m bench.bench_large_input [--mb 300] [--budget-mb 64] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ROW_BYTES = 76   # about, for the columns below


def make_csv(path: Path, size_mb: float, seed: int = 0, chunk_rows: int = 200_000) -> int:
    """Write the CSV chunk by chunk (never the whole table in memory); returns the row count."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rows_wanted = int(size_mb * 2**20 / ROW_BYTES)
    rng = np.random.default_rng(seed)
    written = 0
    with pacsv.CSVWriter(str(path), pa.schema([*(pa.field(f"f{i}", pa.float64()) for i in range(8)),
                                              pa.field("city", pa.string()), pa.field("label", pa.string())])) as out:
        while written < rows_wanted:
            n = min(chunk_rows, rows_wanted - written)
            x = np.round(rng.normal(size=(n, 8)), 4)
            label = np.argmax(x[:, :3] + rng.normal(scale=0.7, size=(n, 3)), axis=1)
            cols = {f"f{i}": x[:, i] for i in range(8)}
            cols["city"] = pa.array(np.array(["oslo", "lima", "pune", "kobe", "nice"])[rng.integers(0, 5, n)])
            cols["label"] = pa.array(np.array(["a", "b", "c"])[label])
            out.write_table(pa.table(cols))
            written += n
    return written


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024   # bytes on macOS, KiB on Linux


def _status_mb() -> dict[str, float]:
    """RssAnon (heap: what memory pressure cannot drop) and RssFile (mapped file pages) in MiB."""
    found = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key = line.split(":", 1)[0]
                if key in ("RssAnon", "RssFile", "VmRSS"):
                    found[key] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return found


class _Sampler:
    """Samples /proc/self/status every 20 ms on a thread and keeps the peaks."""

    def __init__(self) -> None:
        import threading

        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for key, value in _status_mb().items():
                self.peaks[key] = max(self.peaks.get(key, 0.0), value)

    def __enter__(self) -> "_Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _child(path: str, budget_mb: int, batch_size: int) -> None:
    """Runs in a fresh interpreter: load and train, print one JSON line of measurements."""
    import mlx.core as mx  # noqa: F401  imported before the baseline, like the loader's own imports
    import pyarrow  # noqa: F401

    from udl_core.loader import UnifiedDataLoader
    from udl_core.training import train_model

    baseline = _peak_mb()
    anon_baseline = _status_mb().get("RssAnon", 0.0)
    sampler = _Sampler().__enter__()
    t0 = time.perf_counter()
    loader = UnifiedDataLoader(path, batch_size=batch_size, memory_budget=budget_mb * 2**20)
    notices = []
    job = loader.iter_load()
    while True:
        try:
            event = next(job)
        except StopIteration:
            break
        if type(event).__name__ == "Notice" and event.level == "warning":
            notices.append(event.message)
    t_load = time.perf_counter() - t0
    peak_load = _peak_mb()
    t1 = time.perf_counter()
    result = train_model(loader, num_epochs=1, is_metal=False)
    t_train = time.perf_counter() - t1
    sampler.__exit__()
    print(json.dumps({
        "anon_baseline_mb": anon_baseline,
        "peak_anon_mb": sampler.peaks.get("RssAnon"),
        "peak_file_mb": sampler.peaks.get("RssFile"),
        "rows": int(loader.table.num_rows),
        "baseline_mb": baseline,
        "peak_after_load_mb": peak_load,
        "peak_mb": _peak_mb(),
        "load_s": t_load,
        "train_s": t_train,
        "final_train_loss": None if result.final is None else result.final.train_loss,
        "estimate": str(loader.estimate),
        "streamed": bool(getattr(loader.estimate, "streamed", False)),
        "warnings": notices,
    }))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=float(os.environ.get("UDL_BENCH_LARGE_MB", 300)))
    parser.add_argument("--budget-mb", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the CSV (its path is printed)")
    parser.add_argument("--child", metavar="CSV", help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.child:
        _child(args.child, args.budget_mb, args.batch_size)
        return {}

    folder = Path(tempfile.mkdtemp(prefix="udl-bench-large-"))
    try:
        path = folder / "large.csv"
        t0 = time.perf_counter()
        rows = make_csv(path, args.mb)
        size_mb = path.stat().st_size / 2**20
        print(f"   wrote {path.name}: {size_mb:.0f} MiB, {rows:,} rows in {time.perf_counter() - t0:.1f} s; "
              f"memory budget {args.budget_mb} MiB (the file is {size_mb / args.budget_mb:.1f}x the budget)", flush=True)
        done = subprocess.run([sys.executable, "-m", "bench.bench_large_input", "--child", str(path),
                               "--budget-mb", str(args.budget_mb), "--batch-size", str(args.batch_size)],
                              capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"the load/train child failed (exit {done.returncode}): {done.stderr[-2000:]}")
        m = json.loads(done.stdout.strip().splitlines()[-1])
        m.update(file_mb=size_mb, budget_mb=args.budget_mb)
        over = m["peak_mb"] - m["baseline_mb"]
        anon_over = (m["peak_anon_mb"] or 0.0) - m["anon_baseline_mb"]
        bounded = anon_over <= 4 * args.budget_mb
        print(f"   estimate: {m['estimate']}")
        for warning in m["warnings"]:
            print(f"   warning: {warning}")
        print(f"   load {m['load_s']:.1f} s, train 1 epoch {m['train_s']:.1f} s (batch {args.batch_size}), "
              f"final train loss {m['final_train_loss']}")
        print(f"   peak RSS {m['peak_mb']:.0f} MiB: interpreter baseline {m['baseline_mb']:.0f} MiB + "
              f"{over:.0f} MiB for the data ({over / size_mb:.2f}x the file, {over / args.budget_mb:.1f}x the budget); "
              f"after load {m['peak_after_load_mb']:.0f} MiB")
        if m["peak_anon_mb"] is not None:
            print(f"   of which heap (RssAnon): peak {m['peak_anon_mb']:.0f} MiB, {anon_over:.0f} MiB over the "
                  f"interpreter's {m['anon_baseline_mb']:.0f} MiB ({anon_over / args.budget_mb:.1f}x the budget); "
                  f"memory-mapped file pages (RssFile, reclaimable): peak {m['peak_file_mb']:.0f} MiB")
        print(f"   bounded (heap over baseline <= 4x the budget): {'ok' if bounded else 'MISSED'}")
        m["bounded"] = bounded
        return m
    finally:
        if args.keep:
            print(f"   kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
