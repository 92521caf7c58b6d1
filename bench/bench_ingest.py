"""Ingest at scale: `UnifiedDataLoader(path, batch_size=256).load()` against the fastest library
read of the same file to a float32 matrix X and a label vector y (issue 12).

Data (generated into a temporary folder, never kept): ROWS (2,000,000) x 32 float32 features
(standard normal, rounded to 4 decimals) + an int64 label of 10 classes, written as CSV, JSON
Lines, Parquet (snappy, 2 row groups) and NPZ (arrays x, y); a wide table (100,000 x 1,000
numeric, Parquet) and a mixed one (1,000,000 rows: 16 numeric with 5% missing, 4 categorical
of 20 values, 1 datetime, 1 boolean, Parquet). Baselines: CSV and JSON Lines by polars;
Parquet by the faster of pyarrow and polars; NPZ by `np.load` plus one standardizing pass
`(x - x.mean(0)) / x.std(0)`; the mixed table by polars (medians filled, one-hot, datetime as
seconds, standardized), the least any loader that encodes it must do.

Time: runs alternate (library, UDL, library, ...) in this process; each figure is the best of
REPEATS; ratio = UDL / library (target <= 1.5x, stretch <= 1.1x). Memory: each case runs once
more in a child process of its own (peak RSS over the RSS after the imports: bench/peak_rss.py),
UDL against the library read's own peak plus the output's bytes (target <= 1.0x of that sum).

    python -m bench.bench_ingest [--scale F] [--repeats R] [--only csv,jsonl,...] [--data DIR]

`--scale` (or $UDL_BENCH_INGEST_SCALE) multiplies every row count (0.05 for a quick check);
`--data DIR` keeps the generated files there and reuses them on the next run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROWS, WIDE_ROWS, MIXED_ROWS = 2_000_000, 100_000, 1_000_000
DIM, WIDE_DIM, CLASSES = 32, 1_000, 10
SCALE = float(os.environ.get("UDL_BENCH_INGEST_SCALE", 1.0))
REPEATS = int(os.environ.get("UDL_BENCH_REPEATS", 2))
CASES = ("csv", "jsonl", "parquet", "npz", "wide", "mixed")
TARGET, STRETCH = 1.5, 1.1
ROOT = Path(__file__).resolve().parents[1]


# data -----------------------------------------------------------------------------------
def _main_frame(rows: int):
    import polars as pl

    rng = np.random.default_rng(12)
    x = np.round(rng.standard_normal((rows, DIM), dtype=np.float32), 4)
    y = rng.integers(0, CLASSES, rows, dtype=np.int64)
    return x, y, pl.DataFrame({f"x{j}": x[:, j] for j in range(DIM)} | {"label": y})


def _mixed_frame(rows: int):
    import polars as pl

    rng = np.random.default_rng(13)
    columns: dict[str, object] = {}
    for j in range(16):
        values = np.round(rng.standard_normal(rows) * (j + 1), 4)
        columns[f"n{j}"] = pl.Series(values).set(pl.Series(rng.random(rows) < 0.05), None)
    words = np.array([f"v{k:02d}" for k in range(20)])
    for j in range(4):
        columns[f"c{j}"] = words[rng.integers(0, 20, rows)]
    start = np.datetime64("2015-01-01T00:00:00", "s")
    columns["when"] = (start + rng.integers(0, 10 * 365 * 86400, rows).astype("timedelta64[s]")).astype("datetime64[us]")
    columns["flag"] = rng.random(rows) < 0.5
    columns["label"] = rng.integers(0, CLASSES, rows, dtype=np.int64)
    return pl.DataFrame(columns)


def write_files(folder: Path, scale: float, cases: tuple[str, ...]) -> dict[str, Path]:
    """The bench's files in `folder` (kept ones reused: their names carry the row counts)."""
    import pyarrow.parquet as pq

    rows, wide_rows, mixed_rows = (max(1000, int(n * scale)) for n in (ROWS, WIDE_ROWS, MIXED_ROWS))
    paths = {"csv": folder / f"main_{rows}.csv", "jsonl": folder / f"main_{rows}.jsonl",
             "parquet": folder / f"main_{rows}.parquet", "npz": folder / f"main_{rows}.npz",
             "wide": folder / f"wide_{wide_rows}.parquet", "mixed": folder / f"mixed_{mixed_rows}.parquet"}
    paths = {case: path for case, path in paths.items() if case in cases}
    main = [c for c in ("csv", "jsonl", "parquet", "npz") if c in paths and not paths[c].exists()]
    if main:
        x, y, frame = _main_frame(rows)
        if "csv" in main:
            frame.write_csv(paths["csv"])
        if "jsonl" in main:
            frame.write_ndjson(paths["jsonl"])
        if "parquet" in main:
            pq.write_table(frame.to_arrow(), paths["parquet"], compression="snappy",
                           row_group_size=-(-rows // 2))
        if "npz" in main:
            np.savez(paths["npz"], x=x, y=y)
        del x, y, frame
    if "wide" in paths and not paths["wide"].exists():
        import pyarrow as pa

        rng = np.random.default_rng(14)
        x = np.round(rng.standard_normal((wide_rows, WIDE_DIM), dtype=np.float32), 4)
        columns = {f"x{j}": x[:, j] for j in range(WIDE_DIM)}
        columns["label"] = rng.integers(0, CLASSES, wide_rows, dtype=np.int64)
        pq.write_table(pa.table(columns), paths["wide"], compression="snappy", row_group_size=-(-wide_rows // 2))
        del x, columns
    if "mixed" in paths and not paths["mixed"].exists():
        pq.write_table(_mixed_frame(mixed_rows).to_arrow(), paths["mixed"], compression="snappy",
                       row_group_size=-(-mixed_rows // 2))
    return paths


# the library reads ----------------------------------------------------------------------
def _xy_polars(frame) -> tuple[np.ndarray, np.ndarray]:
    import polars as pl

    x = frame.select(pl.exclude("label").cast(pl.Float32)).to_numpy()
    return x, frame["label"].to_numpy()


def _xy_arrow(table) -> tuple[np.ndarray, np.ndarray]:
    names = [n for n in table.column_names if n != "label"]
    x = np.empty((table.num_rows, len(names)), np.float32)
    for j, name in enumerate(names):
        x[:, j] = table.column(name).to_numpy()
    return x, table.column("label").to_numpy()


def _mixed_polars(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """What a hand-written polars pipeline does to the mixed table: the same features UDL makes."""
    import polars as pl

    frame = pl.read_parquet(path)
    numeric = [c for c in frame.columns if c.startswith("n")]
    categories = [c for c in frame.columns if c.startswith("c")]
    filled = [pl.col(c).fill_null(pl.col(c).median()) for c in numeric]
    seconds = pl.col("when").dt.epoch("s").cast(pl.Float64)
    block = frame.select(*filled, seconds, pl.col("flag").cast(pl.Float64))
    block = block.select((pl.all() - pl.all().mean()) / pl.all().std(ddof=0))
    dummies = frame.select(categories).to_dummies()
    x = pl.concat([block, dummies], how="horizontal").cast(pl.Float32).to_numpy()
    return x, frame["label"].to_numpy()


def library_reads(case: str, path: Path) -> dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    import polars as pl
    import pyarrow.parquet as pq

    if case == "csv":
        return {"polars read_csv": lambda: _xy_polars(pl.read_csv(path))}
    if case == "jsonl":
        return {"polars read_ndjson": lambda: _xy_polars(pl.read_ndjson(path))}
    if case in ("parquet", "wide"):
        return {"pyarrow read_table": lambda: _xy_arrow(pq.read_table(path)),
                "polars read_parquet": lambda: _xy_polars(pl.read_parquet(path))}
    if case == "npz":
        def standardized() -> tuple[np.ndarray, np.ndarray]:
            with np.load(path, allow_pickle=False) as archive:
                x, y = archive["x"], archive["y"]
            return (x - x.mean(0)) / x.std(0), y
        return {"np.load + (x - mean) / std": standardized}
    return {"polars (median, one-hot, standardize)": lambda: _mixed_polars(path)}


def udl_load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from udl_core.loader import UnifiedDataLoader

    loader = UnifiedDataLoader(path, batch_size=256).load()
    out = loader.train_data, loader.val_data
    return out[0].x, out[0].y   # (the val split's arrays are counted by `out_bytes`)


def out_bytes(result) -> int:
    return sum(int(getattr(a, "nbytes", 0)) for a in result)


# measuring ------------------------------------------------------------------------------
def warm_up(folder: Path) -> None:
    """One small load of each kind first: the first load imports the readers' and the
    preprocessing's modules, which is not what the ratios measure."""
    import polars as pl

    small = folder / "warm_up.csv"
    frame = _main_frame(2000)[2]
    frame.write_csv(small)
    frame.write_parquet(small.with_suffix(".parquet"))
    for path in (small, small.with_suffix(".parquet")):
        udl_load(path)
        pl.read_csv(small)


def _timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (CPU: every thread of this process, the steadier figure
    on a busy machine, where the libraries' threads wait for cores)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    del result
    return seconds, cpu


def time_case(case: str, path: Path, repeats: int) -> tuple[tuple[float, float], str, tuple[float, float]]:
    """UDL's best (wall, CPU) seconds, the fastest library read's name and its best, runs alternating."""
    reads = library_reads(case, path)
    best = {name: [float("inf")] * 2 for name in reads} | {"udl": [float("inf")] * 2}

    def keep(name: str, times: tuple[float, float]) -> None:
        best[name] = [min(a, b) for a, b in zip(best[name], times)]

    for _ in range(repeats):
        for name, read in reads.items():
            keep(name, _timed(read))
        keep("udl", _timed(lambda: udl_load(path)))
    fastest = min(reads, key=lambda name: best[name][0])
    return (best["udl"][0], best["udl"][1]), fastest, (best[fastest][0], best[fastest][1])


def child(method: str, case: str, path: str) -> None:
    """One run in a process of its own: prints {"peak", "out"} as JSON (peak over the imports)."""
    import polars  # noqa: F401  imports before the RSS baseline
    import pyarrow.parquet  # noqa: F401

    import udl_core.formats  # noqa: F401
    import udl_core.loader  # noqa: F401
    from bench.peak_rss import peak, reset_peak

    before = reset_peak()
    if method == "udl":
        from udl_core.loader import UnifiedDataLoader

        loader = UnifiedDataLoader(path, batch_size=256).load()
        out = out_bytes((loader.train_data.x, loader.train_data.y, loader.val_data.x, loader.val_data.y))
    else:
        read = library_reads(case, Path(path))[method]
        out = out_bytes(read())
    top = peak() if before else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak": max(0, top - before), "out": out}), flush=True)
    os._exit(0)   # the peak is read: no interpreter teardown


def measure_memory(method: str, case: str, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "bench.bench_ingest", "--child", method, case, str(path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{method} {case}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _verdict(ratio: float, target: float, stretch: float | None = None) -> str:
    if stretch is not None and ratio <= stretch:
        return "meets the stretch"
    return "meets the target" if ratio <= target else "over the target"


def run_case(case: str, path: Path, repeats: int) -> None:
    size = path.stat().st_size
    (udl_s, udl_cpu), name, (base_s, base_cpu) = time_case(case, path, repeats)
    ratio = udl_s / base_s
    mem_base = measure_memory(name, case, path)
    mem_udl = measure_memory("udl", case, path)
    allowed = mem_base["peak"] + mem_base["out"]
    mem_ratio = mem_udl["peak"] / max(allowed, 1)
    print(f"  {case:<8s} {_mb(size):>9s} | udl {udl_s:6.2f} s, {name} {base_s:6.2f} s: {ratio:5.2f}x "
          f"(target <= {TARGET}x, stretch <= {STRETCH}x: {_verdict(ratio, TARGET, STRETCH)}; CPU {udl_cpu:.1f} vs "
          f"{base_cpu:.1f} s: {udl_cpu / base_cpu:.2f}x) | peak udl "
          f"+{_mb(mem_udl['peak'])} vs library +{_mb(mem_base['peak'])} + output {_mb(mem_base['out'])}: "
          f"{mem_ratio:4.2f}x (target <= 1.0x: {_verdict(mem_ratio, 1.0)})", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=SCALE, help="multiplies every row count (default 1.0)")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--only", default=",".join(CASES), help=f"cases, comma-separated ({','.join(CASES)})")
    parser.add_argument("--data", type=Path, help="a folder to keep the generated files in (reused)")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.child:
        child(*args.child)
        return
    cases = tuple(c for c in args.only.split(",") if c in CASES)
    print(f"bench_ingest: UDL load / fastest library read to float32 X, y (scale {args.scale:g}: "
          f"{int(ROWS * args.scale):,} x {DIM}; wide {int(WIDE_ROWS * args.scale):,} x {WIDE_DIM}; mixed "
          f"{int(MIXED_ROWS * args.scale):,} rows), best of {args.repeats}, runs alternating; "
          f"peak RSS in child processes", flush=True)
    with tempfile.TemporaryDirectory(prefix="udl_bench_ingest_") as tmp:
        folder = args.data or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        paths = write_files(folder, args.scale, cases)
        print(f"  (data written in {time.perf_counter() - start:.0f} s)", flush=True)
        warm_up(folder)
        for case in cases:
            run_case(case, paths[case], args.repeats)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
