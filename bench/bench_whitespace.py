"""Whitespace-delimited text: `read_table` of the same data written with runs of spaces
against it written comma-separated.

One table (ROWS x 8 float columns, an integer column and a quoted two-word text column) is
written three ways: comma-separated, whitespace-separated with single spaces, and aligned
(every column padded to a fixed width, so runs of spaces and leading spaces). Each is read by
`read_table`; ratio = CSV time / whitespace time (1.0: as fast). The whitespace reader
rewrites each 4 MiB block in Python's bytes methods before pyarrow parses it, so it costs
one extra pass over the text on one thread. Wall and CPU seconds, best of REPEATS.

    python -m bench.bench_whitespace [--rows N] [--repeats R]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS = 1_000_000   # about 100 MB of text
REPEATS = 3


def write_files(folder: Path, rows: int) -> dict[str, Path]:
    import polars as pl

    rng = np.random.default_rng(0)
    columns = {f"x{j}": rng.standard_normal(rows).round(6) for j in range(8)}
    columns["k"] = rng.integers(0, 1000, rows)
    columns["city"] = rng.choice(np.array(["New York", "Los Angeles", "Oslo", "Rome"]), rows)
    frame = pl.DataFrame(columns)
    paths = {"comma": folder / "data.csv", "whitespace": folder / "data.txt", "aligned": folder / "aligned.txt"}
    frame.write_csv(paths["comma"], quote_style="non_numeric")
    frame.write_csv(paths["whitespace"], separator=" ", quote_style="non_numeric")
    text = frame.with_columns([pl.col(c).cast(pl.String).str.pad_start(12) for c in frame.columns[:-1]]
                              + [('"' + pl.col("city") + '"').str.pad_start(14).alias("city")])
    with open(paths["aligned"], "w") as out:
        out.write("".join(f"{name:>12}" for name in frame.columns[:-1]) + f"{'city':>14}\n")
        out.write("\n".join(text.select(pl.concat_str(text.columns)).to_series().to_list()) + "\n")
    return paths


def timed(path: Path) -> tuple[float, float, int]:
    from udl_core.formats import read_table

    wall, cpu = time.perf_counter(), time.process_time()
    table = read_table(path)
    return time.perf_counter() - wall, time.process_time() - cpu, table.columns.num_columns


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_whitespace")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_files(Path(folder), args.rows)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeats):
            for kind, path in paths.items():
                wall, cpu, width = timed(path)
                assert width == 10, (kind, width)
                old = best.get(kind, (float("inf"), float("inf")))
                best[kind] = (min(old[0], wall), min(old[1], cpu))
        print(f"bench_whitespace: read_table, {args.rows:,} rows x 10 columns, best of {args.repeats}")
        base_wall, base_cpu = best["comma"]
        for kind, path in paths.items():
            wall, cpu = best[kind]
            print(f"  {kind:<11} {path.stat().st_size / 1e6:7.1f} MB  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
                  f"ratio wall {base_wall / wall:4.2f}  cpu {base_cpu / cpu:4.2f}")


if __name__ == "__main__":
    main()
