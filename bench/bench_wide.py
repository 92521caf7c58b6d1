"""Wide tables: 30 rows x thousands of columns, where the cost must grow linearly with the columns.

For each width (2,000, 10,000 and 20,000 columns by default; `UDL_BENCH_WIDE_COLUMNS=2000,100000`
or `--columns` for others) the same table is written as CSV and Parquet, then timed:

* in process, `UnifiedDataLoader(path).load()` (the estimate, the read, schema inference, the
  preprocessing fit and transform: what every command does first) against the baseline of
  pyarrow reading the same file (`pyarrow.csv.read_csv`, `pyarrow.parquet.read_table`), as a ratio;
* `udl inspect PATH --json` end to end in a subprocess (imports included), the figure a user sees.

Each line also shows the time per column and how much it grew against the previous width: about
1x per column (2x the time for 2x the columns) is linear; 2x per column would be quadratic.

    .venv/bin/python -m bench.bench_wide [--columns 2000,10000,20000] [--rows 30] [--no-cli]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = tuple(int(c) for c in os.environ.get("UDL_BENCH_WIDE_COLUMNS", "2000,10000,20000").split(","))
ROWS = 30
CLI_TIMEOUT_S = 600


def write_files(folder: Path, rows: int, columns: int) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(columns)
    x = rng.standard_normal((rows, columns)).round(4)
    data = {f"c{j}": x[:, j] for j in range(columns)}
    data["label"] = np.arange(rows) % 3
    table = pa.table(data)
    paths = {"csv": folder / f"wide_{columns}.csv", "parquet": folder / f"wide_{columns}.parquet"}
    pacsv.write_csv(table, paths["csv"])
    pq.write_table(table, paths["parquet"])
    return paths


def baseline(kind: str, path: Path) -> float:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    start = time.perf_counter()
    if kind == "csv":
        pacsv.read_csv(path)
    else:
        pq.read_table(path)
    return time.perf_counter() - start


def udl_load(path: Path) -> float:
    from udl_core.loader import UnifiedDataLoader

    start = time.perf_counter()
    loader = UnifiedDataLoader(str(path)).load()
    seconds = time.perf_counter() - start
    loader.close()
    return seconds


def cli_inspect(path: Path) -> str:
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "udl_core", "inspect", str(path), "--json"], cwd=ROOT,
                              capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"udl inspect over {CLI_TIMEOUT_S} s"
    if done.returncode:
        return f"udl inspect exit {done.returncode}: {(done.stderr.strip().splitlines() or ['?'])[-1][:200]}"
    return f"udl inspect {time.perf_counter() - start:6.2f} s"


def _growth(seconds: float, columns: int, last: tuple[float, int] | None) -> str:
    if last is None or last[0] <= 0:
        return ""
    per_column = (seconds / columns) / (last[0] / last[1])
    return f", x{per_column:.2f} per column vs {last[1]:,}"


def run(widths: tuple[int, ...], rows: int, cli: bool) -> None:
    import udl_core.formats  # noqa: F401  the readers' imports are not part of the first load

    print(f"bench_wide: {rows} rows x {', '.join(f'{w:,}' for w in widths)} columns; "
          "udl load vs pyarrow's read of the same file (ratio: udl / pyarrow)", flush=True)
    last: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for columns in widths:
            paths = write_files(Path(tmp), rows, columns)
            for kind, path in paths.items():
                base = baseline(kind, path)
                load = udl_load(path)
                line = (f"  {columns:>7,} x {rows} {kind:<7s} udl load {load:7.2f} s "
                        f"({load / columns * 1e6:6.0f} us/column{_growth(load, columns, last.get(kind))}) | "
                        f"pyarrow read {base:6.2f} s (ratio {load / base:5.1f})")
                last[kind] = (load, columns)
                if cli:
                    line += " | " + cli_inspect(path)
                print(line, flush=True)
                path.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default=",".join(map(str, COLUMNS)),
                        help="comma-separated widths (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--no-cli", action="store_true", help="skip the `udl inspect` subprocess runs")
    args = parser.parse_args(argv or [])
    run(tuple(int(c) for c in args.columns.split(",")), args.rows, not args.no_cli)


if __name__ == "__main__":
    main(sys.argv[1:])
