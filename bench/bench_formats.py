"""Reader throughput: `read_table` against the fastest plain library read of the same file.

One table (ROWS x 16 float columns, a 4-level text column and an integer label) written as
CSV, semicolon CSV with decimal commas, gzip CSV, JSON Lines and Parquet. Each file is read
by UDL's reader (sniffing, types, missing tokens, quarantine) and by polars / pyarrow with
default options; ratio = fastest baseline time / UDL time (1.0: as fast; target >= 0.67,
i.e. UDL within 1.5x). Both wall and CPU seconds are shown: on a busy machine the CPU
figure is the steadier one. Each figure is the best of REPEATS, runs alternating.

    python -m bench.bench_formats [--rows N] [--repeats R]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROWS = 500_000
REPEATS = 3


def write_files(folder: Path, rows: int) -> dict[str, Path]:
    import polars as pl
    import pyarrow as pa

    rng = np.random.default_rng(0)
    columns = {f"x{j}": rng.standard_normal(rows).astype(np.float32) for j in range(16)}
    columns["color"] = rng.choice(np.array(["red", "green", "blue", "cyan"]), rows)
    columns["label"] = rng.integers(0, 5, rows)
    frame = pl.DataFrame(columns)
    paths = {kind: folder / name for kind, name in [
        ("csv", "data.csv"), ("csv decimal comma", "eu.csv"), ("csv.gz", "data.csv.gz"),
        ("jsonl", "data.jsonl"), ("parquet", "data.parquet")]}
    frame.write_csv(paths["csv"])
    frame.write_csv(paths["csv decimal comma"], separator=";", decimal_comma=True)
    with pa.output_stream(paths["csv.gz"], compression="gzip") as out:
        out.write(paths["csv"].read_bytes())
    frame.write_ndjson(paths["jsonl"])
    frame.write_parquet(paths["parquet"])
    return paths


def baselines(kind: str, path: Path) -> dict[str, Callable[[], object]]:
    import polars as pl
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    if kind == "csv decimal comma":
        return {"polars": lambda: pl.read_csv(path, separator=";", decimal_comma=True),
                "pyarrow": lambda: pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=";"),
                                                  convert_options=pacsv.ConvertOptions(decimal_point=","))}
    if kind.startswith("csv"):
        return {"polars": lambda: pl.read_csv(path), "pyarrow": lambda: pacsv.read_csv(path)}
    if kind == "jsonl":
        return {"polars": lambda: pl.read_ndjson(path), "pyarrow": lambda: pajson.read_json(path)}
    return {"polars": lambda: pl.read_parquet(path), "pyarrow": lambda: pq.read_table(path)}


def timed(job: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    job()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_formats")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)

    from udl_core.formats import read_table

    print(f"bench_formats: read_table vs plain library reads, {args.rows:,} rows x 18 columns, "
          f"best of {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="udl-bench-formats-") as folder:
        for kind, path in write_files(Path(folder), args.rows).items():
            jobs = {"udl": lambda path=path: read_table(path), **baselines(kind, path)}
            best = {name: (float("inf"), float("inf")) for name in jobs}
            for _ in range(args.repeats):
                for name, job in jobs.items():
                    wall, cpu = timed(job)
                    best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
            fastest = min((n for n in jobs if n != "udl"), key=lambda n: best[n][0])
            wall, cpu = best["udl"]
            base_wall, base_cpu = best[fastest]
            print(f"  {kind:<18} {path.stat().st_size / 1e6:6.1f} MB | udl {wall:5.2f} s wall, {cpu:5.2f} s cpu | "
                  f"{fastest} {base_wall:5.2f} s wall, {base_cpu:5.2f} s cpu | ratio {base_wall / wall:.2f} wall, "
                  f"{base_cpu / cpu:.2f} cpu (target >= 0.67)", flush=True)


if __name__ == "__main__":
    main()
