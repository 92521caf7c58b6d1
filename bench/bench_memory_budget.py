"""Peak memory of reading a decompression bomb under a memory budget, against reading it with none.

Builds the corpus's bombs bigger (NPZ bzip2 64 MiB; Arrow zstd, Parquet zstd and a `.csv.gz`
whose tail packs 1000:1, 512 MiB each) in a temporary folder; reads each in a fresh
interpreter with `read_table`, under each budget and with the default budget (a quarter of
RAM: today's whole read, the baseline), and reports the peak RSS over the baseline taken
after the imports (Linux: the high-water mark reset with /proc/self/clear_refs, so the
imports' own peak does not hide the read's), what the read answered, and the ratio of the
budgeted peak to the unbudgeted one. The target: peak within budget + 64 MiB (docs/formats.md).

Then a CSV of 1,000,000 rows x 16 floats + a label (150 MB) loaded under each budget, so streamed
through memory-mapped spill files, and one epoch of batches iterated: the same peak, whose file
pages UDL releases as it goes.

    python -m bench.bench_memory_budget [--budget-mb 64 256] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OVERHEAD_MB = 64

_CHILD = """
import json, sys
import polars, pyarrow
from udl_core.formats import read_table
from udl_core.table import ReadOptions

from bench.peak_rss import peak, reset_peak  # VmHWM, not ru_maxrss (see there)
base = reset_peak()
budget = int(sys.argv[2]) or None
try:
    read_table(sys.argv[1], ReadOptions(memory_budget=budget))
    answer = "read"
except Exception as exc:
    answer = type(exc).__name__
print(json.dumps({"growth": peak() - base, "answer": answer}))
"""


_STREAMED = """
import json, sys
import numpy, polars, pyarrow
from udl_core.loader import UnifiedDataLoader

from bench.peak_rss import peak, reset_peak  # VmHWM, not ru_maxrss (see there)
base = reset_peak()
loader = UnifiedDataLoader(sys.argv[1], batch_size=256, memory_budget=int(sys.argv[2])).load()
loaded = peak() - base
rows = sum(len(batch) for batch in loader)
loader.get_batch(0).raw()
print(json.dumps({"loaded": loaded, "growth": peak() - base, "answer": f"streamed={loader.streamed}, {rows:,} rows"}))
"""


def _make_csv(path: Path, rows: int = 1_000_000) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(0)
    columns = {f"f{j}": rng.standard_normal(rows).round(6) for j in range(16)}
    columns["label"] = np.array(["a", "b", "c"])[rng.integers(0, 3, rows)]
    pacsv.write_csv(pa.table(columns), path)
    return path


def _streamed(folder: Path, budgets_mb: list[int]) -> None:
    path = _make_csv(folder / "streamed.csv")
    print(f"   {'csv, streamed + epoch':22} {path.stat().st_size / 1e6:9.1f} MB", flush=True)
    for budget_mb in budgets_mb:
        done = subprocess.run([sys.executable, "-c", _STREAMED, str(path), str(budget_mb << 20)],
                              capture_output=True, text=True, timeout=600, cwd=ROOT)
        if done.returncode:
            print(f"   {'':22} budget {budget_mb:4d} MiB: exit {done.returncode}", flush=True)
            continue
        got = json.loads(done.stdout.strip().splitlines()[-1])
        growth = got["growth"] / 2**20
        within = "ok" if growth <= budget_mb + OVERHEAD_MB else "OVER"
        print(f"   {'':22} budget {budget_mb:4d} MiB: +{growth:7.1f} MiB (load +{got['loaded'] / 2**20:.1f}; "
              f"{got['answer']}), {growth - budget_mb:+7.1f} MiB over the budget [{within}]", flush=True)


def _make(folder: Path) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT / "tests" / "corpus"))
    try:
        import bombs
    finally:
        sys.path.pop(0)
    big = 512 << 20
    paths = {"npz (bzip2, 64 MiB)": folder / "bomb.npz", "arrow (zstd)": folder / "bomb.arrow",
             "parquet (zstd)": folder / "bomb.parquet", "csv.gz (1000:1 tail)": folder / "bomb.csv.gz"}
    bombs.npz_bomb(paths["npz (bzip2, 64 MiB)"], "bz2", 64 << 20)
    bombs.arrow_bomb(paths["arrow (zstd)"], "zstd", big)
    bombs.parquet_bomb(paths["parquet (zstd)"], big)
    bombs.csv_gz_bomb(paths["csv.gz (1000:1 tail)"], big)
    return paths


def _run(path: Path, budget: int) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(budget)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    if done.returncode:
        return {"growth": float("nan"), "answer": f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-mb", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--keep", action="store_true", help="keep the bombs' folder")
    args = parser.parse_args(argv if argv is not None else [])
    if not Path("/proc/self/clear_refs").exists():
        print("   skipped: needs Linux's /proc to reset the peak")
        return
    folder = Path(tempfile.mkdtemp(prefix="udl-bench-budget-"))
    try:
        paths = _make(folder)
        for name, path in paths.items():
            whole = _run(path, 0)
            print(f"   {name:22} {path.stat().st_size / 1e3:9.1f} kB  no budget: +{whole['growth'] / 2**20:7.1f} MiB "
                  f"({whole['answer']})", flush=True)
            for budget_mb in args.budget_mb:
                got = _run(path, budget_mb << 20)
                growth = got["growth"] / 2**20
                within = "ok" if growth <= budget_mb + OVERHEAD_MB else "OVER"
                ratio = got["growth"] / whole["growth"] if whole["growth"] else float("nan")
                print(f"   {'':22} budget {budget_mb:4d} MiB: +{growth:7.1f} MiB ({got['answer']}), "
                      f"{growth - budget_mb:+7.1f} MiB over the budget [{within}], x{ratio:.2f} of no budget",
                      flush=True)
        _streamed(folder, args.budget_mb)
    finally:
        if args.keep:
            print(f"   kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
