"""Wide against long: the same 12 M values as 8,000 rows x 1,500 columns and as 80,000 x 150.

Each shape (plus 8,000 x 150, for the cost of a column at fixed rows) is written as CSV and
Parquet: float32 features rounded to 4 decimals and an integer label with 5 classes that
depends on them. Then `udl inspect`, `udl train --epochs 1 --device cpu` and `udl check` run in
subprocesses (imports included: the figure a user sees), and each line prints

* the seconds for each shape, and the ratio wide / long (the target: within 2x);
* the cost of a column: (seconds at 8,000 x 1,500 - seconds at 8,000 x 150) / 1,350, given
  in seconds per 1,000 columns at 8,000 rows.

    .venv/bin/python -m bench.bench_wide_long [--values 12000000] [--formats csv,parquet]
                                              [--commands inspect,train,check]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIDE, NARROW = 1_500, 150
COMMANDS: dict[str, list[str]] = {
    "inspect": ["inspect"],
    "train": ["train", "--epochs", "1", "--device", "cpu"],
    "check": ["check"],
}
TIMEOUT_S = 900


def write(folder: Path, rows: int, columns: int, kind: str) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(columns)
    x = rng.standard_normal((rows, columns)).astype(np.float32).round(4)
    score = x @ rng.standard_normal(columns).astype(np.float32) / np.sqrt(columns)
    label = np.digitize(score, [-1.0, -0.3, 0.3, 1.0])
    table = pa.table({**{f"c{j}": x[:, j] for j in range(columns)}, "label": label})
    path = folder / f"t_{rows}x{columns}.{kind}"
    if kind == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def timed(command: list[str], path: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "udl_core", *command, str(path), "--label", "label"],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):   # udl check exits 1 when a check fails: still timed
        tail = (done.stderr.strip().splitlines() or ["?"])[-1][:200]
        raise RuntimeError(f"udl {command[0]} {path.name}: exit {done.returncode}: {tail}")
    return seconds


def run(values: int, formats: list[str], commands: list[str]) -> None:
    long_rows, wide_rows = values // NARROW, values // WIDE
    shapes = {"wide": (wide_rows, WIDE), "long": (long_rows, NARROW), "narrow": (wide_rows, NARROW)}
    print(f"bench_wide_long: wide {wide_rows:,} x {WIDE:,} vs long {long_rows:,} x {NARROW} "
          f"(narrow {wide_rows:,} x {NARROW} for the cost per column)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in formats:
            paths = {name: write(Path(tmp), rows, columns, kind) for name, (rows, columns) in shapes.items()}
            for command in commands:
                t = {name: timed(COMMANDS[command], path) for name, path in paths.items()}
                per_1000 = (t["wide"] - t["narrow"]) / (WIDE - NARROW) * 1000
                print(f"  {kind:<7s} udl {command:<7s} wide {t['wide']:6.2f} s | long {t['long']:6.2f} s | "
                      f"ratio {t['wide'] / t['long']:4.2f} | narrow {t['narrow']:6.2f} s -> "
                      f"{per_1000:5.2f} s per 1,000 columns at {wide_rows:,} rows", flush=True)
            for path in paths.values():
                path.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=12_000_000)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--commands", default=",".join(COMMANDS))
    args = parser.parse_args(argv or [])
    run(args.values, args.formats.split(","), args.commands.split(","))


if __name__ == "__main__":
    main(sys.argv[1:])
