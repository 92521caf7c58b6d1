"""CSVs several times the loader's memory budget: do they load and train one epoch with bounded memory?

Writes two CSVs (8 numeric columns, a categorical one, a 3-class label) of about SIZE_MB and
2 x SIZE_MB (150 and 300 MiB by default) into a temporary folder; for each, in a fresh
interpreter so that the peak is that file's alone, loads it with
`UnifiedDataLoader(memory_budget=BUDGET_MB)` and trains one epoch of the MLP on the CPU
(batch size 1024). Reports, per file, the peak heap (RssAnon, what memory pressure cannot
drop) and peak resident memory (ru_maxrss, which also counts the reclaimable pages of the
memory-mapped spill files) over the interpreter's own baseline, and the time each step took;
then the ratio of the two files' heap over baseline. The target: heap over baseline within
4x the budget, and the same for both files (ratio ~1.0: it does not grow with the rows).

    python -m bench.bench_large_input [--mb 150] [--budget-mb 64] [--keep]
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

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _child(path: str, budget_mb: int, batch_size: int) -> None:
    """Runs in a fresh interpreter: load and train, print one JSON line of measurements."""
    import mlx.core as mx  # noqa: F401  imported before the baseline, like the loader's own imports
    import pyarrow  # noqa: F401

    from udl_core.events import run_job
    from udl_core.loader import UnifiedDataLoader
    from udl_core.training import train_model

    baseline = _peak_mb()
    anon_baseline = _status_mb().get("RssAnon", 0.0)
    sampler = _Sampler().__enter__()
    t0 = time.perf_counter()
    loader = UnifiedDataLoader(path, batch_size=batch_size, memory_budget=budget_mb * 2**20)
    notices = []

    def on_event(event: object) -> None:
        if type(event).__name__ == "Notice" and event.level == "warning":
            notices.append(event.message)

    run_job(loader.iter_load(), on_event)
    t_load = time.perf_counter() - t0
    peak_load = _peak_mb()
    sampler.__exit__()
    train_sampler = _Sampler().__enter__()
    t1 = time.perf_counter()
    result = train_model(loader, num_epochs=1, is_metal=False)
    t_train = time.perf_counter() - t1
    train_sampler.__exit__()
    print(json.dumps({
        "anon_baseline_mb": anon_baseline,
        "peak_anon_mb": max(sampler.peaks.get("RssAnon", 0.0), train_sampler.peaks.get("RssAnon", 0.0)),
        "peak_anon_load_mb": sampler.peaks.get("RssAnon", 0.0),
        "peak_anon_train_mb": train_sampler.peaks.get("RssAnon", 0.0),
        "peak_file_mb": max(sampler.peaks.get("RssFile", 0.0), train_sampler.peaks.get("RssFile", 0.0)),
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


def _measure(path: Path, args: argparse.Namespace) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.bench_large_input", "--child", str(path),
                           "--budget-mb", str(args.budget_mb), "--batch-size", str(args.batch_size)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the load/train child failed (exit {done.returncode}): {done.stderr[-2000:]}")
    m = json.loads(done.stdout.strip().splitlines()[-1])
    size_mb = path.stat().st_size / 2**20
    over = m["peak_mb"] - m["baseline_mb"]
    anon_over = (m["peak_anon_mb"] or 0.0) - m["anon_baseline_mb"]
    m.update(file_mb=size_mb, budget_mb=args.budget_mb, rss_over_mb=over, heap_over_mb=anon_over)
    print(f"   {size_mb:.0f} MiB, {m['rows']:,} rows ({size_mb / args.budget_mb:.1f}x the budget): load "
          f"{m['load_s']:.1f} s, train 1 epoch {m['train_s']:.1f} s (batch {args.batch_size}), final train loss "
          f"{m['final_train_loss']:.4f}", flush=True)
    print(f"      heap (RssAnon) peak {m['peak_anon_mb']:.0f} MiB: {anon_over:.0f} MiB over the interpreter's "
          f"{m['anon_baseline_mb']:.0f} MiB ({anon_over / args.budget_mb:.1f}x the budget; load "
          f"{m['peak_anon_load_mb'] - m['anon_baseline_mb']:.0f}, train "
          f"{m['peak_anon_train_mb'] - m['anon_baseline_mb']:.0f} MiB over); peak RSS "
          f"{m['peak_mb']:.0f} MiB: {over:.0f} MiB over the baseline {m['baseline_mb']:.0f} MiB, of which "
          f"mapped file pages (RssFile, reclaimable) peak {m['peak_file_mb']:.0f} MiB", flush=True)
    return m


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=float(os.environ.get("UDL_BENCH_LARGE_MB", 150)),
                        help="the smaller file's size; the larger one is twice that")
    parser.add_argument("--budget-mb", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the CSVs (their folder is printed)")
    parser.add_argument("--child", metavar="CSV", help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.child:
        _child(args.child, args.budget_mb, args.batch_size)
        return {}

    folder = Path(tempfile.mkdtemp(prefix="udl-bench-large-"))
    try:
        runs = []
        for scale in (1, 2):
            path = folder / f"large{scale}x.csv"
            t0 = time.perf_counter()
            rows = make_csv(path, args.mb * scale, seed=scale)
            print(f"   wrote {path.name}: {path.stat().st_size / 2**20:.0f} MiB, {rows:,} rows in "
                  f"{time.perf_counter() - t0:.1f} s; memory budget {args.budget_mb} MiB", flush=True)
            runs.append(_measure(path, args))
            if not args.keep:
                path.unlink()
        one, two = runs
        print(f"   estimate: {two['estimate']}")
        for warning in two["warnings"]:
            print(f"   warning: {warning}")
        heap_ratio = two["heap_over_mb"] / max(one["heap_over_mb"], 1e-9)
        rss_ratio = two["rss_over_mb"] / max(one["rss_over_mb"], 1e-9)
        per_row = (two["heap_over_mb"] - one["heap_over_mb"]) * 2**20 / max(two["rows"] - one["rows"], 1)
        print(f"   2x the rows: heap over baseline x{heap_ratio:.2f} ({one['heap_over_mb']:.0f} -> "
              f"{two['heap_over_mb']:.0f} MiB, {per_row:+.1f} bytes per added row); RSS over baseline "
              f"x{rss_ratio:.2f} (mapped pages of the spill files, reclaimable)")
        # bounded: within 4x the budget, and 2x the rows adds under 10% (+8 MiB of sampling noise)
        within = max(one["heap_over_mb"], two["heap_over_mb"]) <= 4 * args.budget_mb
        flat = two["heap_over_mb"] <= 1.1 * one["heap_over_mb"] + 8
        print(f"   bounded (heap over baseline <= 4x the budget, and not growing with the rows): "
              f"{'ok' if within and flat else 'MISSED'}")
        return {"runs": runs, "heap_ratio": heap_ratio, "rss_ratio": rss_ratio, "heap_bytes_per_row": per_row,
                "bounded": within and flat}
    finally:
        if args.keep:
            print(f"   kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
