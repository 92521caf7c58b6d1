"""Text dates: what reading a `12/16/2005`-style column as dates costs, against the CSV read.

One file of ROWS rows, `when,value`, the dates month first with random days over 70 years
(nearly every value distinct in its first thousand, so no shortcut for repeated values) and a
float. Baseline: pyarrow's `read_csv` of the file (what a CSV read costs without dates).
Then `udl_core.dates.parse_text_dates` on that table: the detection (the form chosen from a
sample of 1,000 values) and the parse (polars' strptime over the whole column, with the
trimming, shape check and missing-value tokens around it). Ratio = cost / baseline.
Wall and CPU seconds, best of REPEATS.

    python -m bench.bench_text_dates [--rows N] [--repeats R]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS = 1_000_000   # about 17 MB of text
REPEATS = 3


def write_file(path: Path, rows: int) -> Path:
    import polars as pl

    rng = np.random.default_rng(0)
    month, day, year = rng.integers(1, 13, rows), rng.integers(1, 29, rows), rng.integers(1950, 2020, rows)
    day[::1000] = 16     # a day over 12 now and then: month first without the warning
    frame = pl.DataFrame({"m": month, "d": day, "y": year, "value": rng.standard_normal(rows).round(4)})
    frame.select(pl.concat_str([pl.col("m"), pl.col("d"), pl.col("y")], separator="/").alias("when"),
                 pl.col("value")).write_csv(path)
    return path


def timed(step) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = step()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main(argv: list[str] | None = None) -> None:
    import pyarrow.csv as pacsv

    from udl_core import dates
    from udl_core.table import DEFAULT_MISSING_VALUES

    parser = argparse.ArgumentParser(prog="python -m bench.bench_text_dates")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = write_file(Path(folder) / "dates.csv", args.rows)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeats):
            steps = {}
            steps["read_csv"] = timed(lambda: pacsv.read_csv(path))
            column = steps["read_csv"][2].column("when")
            steps["detect"] = timed(lambda: dates._choose(dates._sample(column, DEFAULT_MISSING_VALUES)))
            steps["parse"] = timed(lambda: dates.parse_as(column, steps["detect"][2]))
            steps["both"] = timed(lambda: dates.parse_text_dates(steps["read_csv"][2]))
            assert steps["both"][2][0].column("when").null_count == 0
            for name, (wall, cpu, _) in steps.items():
                old = best.get(name, (float("inf"), float("inf")))
                best[name] = (min(old[0], wall), min(old[1], cpu))
        print(f"bench_text_dates: {args.rows:,} rows, one MM/DD/YYYY column ({path.stat().st_size / 1e6:.1f} MB), "
              f"best of {args.repeats}")
        base_wall, base_cpu = best["read_csv"]
        for name, (wall, cpu) in best.items():
            print(f"  {name:<9} wall {wall:6.3f} s  cpu {cpu:6.3f} s  "
                  f"ratio to read_csv wall {wall / base_wall:5.2f}  cpu {cpu / base_cpu:5.2f}")


if __name__ == "__main__":
    main()
