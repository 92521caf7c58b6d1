"""Loader throughput: batch iteration and ingest, as ratios against plain numpy / polars / pyarrow.

Iteration: one shuffled epoch over ROWS x 32 float32 (2,000,000 by default) held in memory,
`UnifiedDataLoader` batches against the bare numpy gather `x[perm[i:i + B]], y[...]` on
the same arrays and permutation, against `np.take` into a preallocated buffer, and against
PyTorch's DataLoader (batch sampler over a TensorDataset) where torch is installed. The
consumer does nothing with a batch, so the figure is the loader's own cost. Ratio > 1:
UDL is faster. Runs alternate; each figure is the best of REPEATS.

Ingest: the same table (INGEST_ROWS x 16 float columns + an integer label) written as CSV,
JSON Lines, Parquet and NPY, read to float32 by polars / pyarrow / numpy, against
`UnifiedDataLoader(path).load()` (which also infers the schema, splits, imputes and
standardizes). Each run is its own subprocess so its peak memory (ru_maxrss minus the RSS
after imports) is its own; memory is shown against the size of the float32 output.

    python -m bench.bench_loader [--rows N] [--ingest-rows N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.peak_rss import peak as peak_rss
from bench.peak_rss import reset_peak

ROWS = int(os.environ.get("UDL_BENCH_LOADER_ROWS", 2_000_000))
INGEST_ROWS = int(os.environ.get("UDL_BENCH_INGEST_ROWS", 500_000))
DIM = 32
INGEST_DIM = 16
BATCH_SIZES = (256, 4096)
REPEATS = int(os.environ.get("UDL_BENCH_REPEATS", 3))
ROOT = Path(__file__).resolve().parents[1]


# iteration ------------------------------------------------------------------------------
def numpy_epoch(x: np.ndarray, y: np.ndarray, perm: np.ndarray, batch_size: int) -> float:
    start = time.perf_counter()
    for i in range(0, perm.size, batch_size):
        index = perm[i:i + batch_size]
        xb, yb = x[index], y[index]
    del xb, yb
    return perm.size / (time.perf_counter() - start)


def take_epoch(x: np.ndarray, y: np.ndarray, perm: np.ndarray, batch_size: int) -> float:
    xbuf = np.empty((batch_size, x.shape[1]), dtype=x.dtype)
    ybuf = np.empty(batch_size, dtype=y.dtype)
    start = time.perf_counter()
    for i in range(0, perm.size, batch_size):
        index = perm[i:i + batch_size]
        np.take(x, index, axis=0, out=xbuf[:index.size])
        np.take(y, index, out=ybuf[:index.size])
    return perm.size / (time.perf_counter() - start)


def udl_epoch(loader, epoch: int, prefetch: bool) -> float:
    start = time.perf_counter()
    n = 0
    for batch in loader.batches("train", epoch=epoch, prefetch=prefetch):
        n += batch.x.shape[0]
    return n / (time.perf_counter() - start)


def torch_epoch(x: np.ndarray, y: np.ndarray, batch_size: int) -> float | None:
    try:
        import torch
        from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset
    except ImportError:
        return None
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)))
    sampler = BatchSampler(RandomSampler(data), batch_size=batch_size, drop_last=False)
    batches = DataLoader(data, sampler=sampler, batch_size=None)
    start = time.perf_counter()
    for xb, _ in batches:
        pass
    return x.shape[0] / (time.perf_counter() - start)


def bench_iteration(rows: int, repeats: int) -> None:
    from udl_core.loader import UnifiedDataLoader
    from udl_core.table import Table

    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, DIM), dtype=np.float32)
    y = rng.integers(0, 10, rows)
    start = time.perf_counter()
    loader = UnifiedDataLoader(Table(source="memory", format="npy", features=x, labels=y),
                               val_fraction=0.0, seed=0).load()
    print(f"bench_loader: iteration, {rows:,} x {DIM} float32 in memory, one shuffled epoch, "
          f"best of {repeats} (load {time.perf_counter() - start:.1f} s)", flush=True)
    del x, y
    xs, ys = loader.train_data.x, loader.train_data.y
    for batch_size in BATCH_SIZES:
        loader.batch_size = batch_size
        perm = loader.order("train", epoch=0)
        best = {"numpy": 0.0, "take": 0.0, "udl": 0.0, "udl_inline": 0.0}
        for _ in range(repeats):
            best["numpy"] = max(best["numpy"], numpy_epoch(xs, ys, perm, batch_size))
            best["udl"] = max(best["udl"], udl_epoch(loader, 0, prefetch=True))
            best["take"] = max(best["take"], take_epoch(xs, ys, perm, batch_size))
            best["udl_inline"] = max(best["udl_inline"], udl_epoch(loader, 0, prefetch=False))
        line = (f"  B={batch_size:<5d} udl {best['udl'] / 1e6:6.1f} M samples/s | "
                f"numpy x[perm[i:i+B]] {best['numpy'] / 1e6:6.1f} M/s (ratio {best['udl'] / best['numpy']:.2f}, "
                f"target >= 1.0) | np.take into buffer {best['take'] / 1e6:6.1f} M/s "
                f"(ratio {best['udl'] / best['take']:.2f}) | udl without prefetch "
                f"{best['udl_inline'] / 1e6:6.1f} M/s")
        rate = torch_epoch(xs, ys, batch_size)
        line += (f" | torch DataLoader {rate / 1e6:.1f} M/s (ratio {best['udl'] / rate:.2f})"
                 if rate else " | torch: not installed")
        print(line, flush=True)


# ingest ---------------------------------------------------------------------------------
def write_files(folder: Path, rows: int) -> dict[str, Path]:
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    x = rng.standard_normal((rows, INGEST_DIM)).astype(np.float32)
    y = rng.integers(0, 5, rows)
    columns = {f"x{j}": x[:, j] for j in range(INGEST_DIM)} | {"label": y}
    frame = pl.DataFrame(columns)
    paths = {"csv": folder / "data.csv", "jsonl": folder / "data.jsonl",
             "parquet": folder / "data.parquet", "npy": folder / "data.npy"}
    frame.write_csv(paths["csv"])
    frame.write_ndjson(paths["jsonl"])
    pq.write_table(pa.table(columns), paths["parquet"])
    np.save(paths["npy"], np.column_stack([x, y.astype(np.float32)]))
    return paths


def baseline_read(kind: str, path: str) -> np.ndarray:
    if kind == "csv":
        import polars as pl

        return pl.read_csv(path).to_numpy().astype(np.float32)
    if kind == "jsonl":
        import polars as pl

        return pl.read_ndjson(path).to_numpy().astype(np.float32)
    if kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return np.column_stack([c.to_numpy() for c in table.columns]).astype(np.float32)
    x = np.load(path, allow_pickle=False)
    if kind == "npy+std":   # the least any loader that standardizes must do: one pass
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x


def child(method: str, kind: str, path: str) -> None:
    """One measured run in its own process: prints {"seconds", "peak", "out"} as JSON."""
    import psutil
    import polars  # noqa: F401  imports before the RSS baseline
    import pyarrow.parquet  # noqa: F401

    import udl_core.formats  # noqa: F401  the readers' imports are not part of the load
    from udl_core.loader import UnifiedDataLoader

    before = reset_peak() or psutil.Process().memory_info().rss
    cpu = time.process_time()
    start = time.perf_counter()
    if method == "udl":
        # a bare array has no guessed label: its last column is the label, as written above
        loader = UnifiedDataLoader(path, label=f"f{INGEST_DIM}" if kind == "npy" else None).load()
        out = loader.train_data.x.nbytes + loader.val_data.x.nbytes
    else:
        out = baseline_read(kind, path).nbytes
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = peak_rss() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": max(0, peak - before), "out": out}))


def measure(method: str, kind: str, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "bench.bench_loader", "--child", method, kind, str(path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{method} {kind}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def bench_ingest(rows: int, repeats: int) -> None:
    baselines = {"csv": "polars read_csv", "jsonl": "polars read_ndjson", "parquet": "pyarrow read_table",
                 "npy": "np.load"}
    print(f"bench_loader: ingest, {rows:,} rows x {INGEST_DIM} float columns + label, to float32 "
          f"(udl also infers, splits, imputes, standardizes); best of {repeats}, peak memory over the output",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp), rows)
        for kind, path in paths.items():
            runs = {"udl": [], "base": [], "std": []}
            for _ in range(repeats):
                runs["base"].append(measure("base", kind, path))
                runs["udl"].append(measure("udl", kind, path))
                if kind == "npy":
                    runs["std"].append(measure("base", "npy+std", path))
            udl = min(runs["udl"], key=lambda r: r["seconds"])
            base = min(runs["base"], key=lambda r: r["seconds"])
            # CPU seconds are the steadier figure on a busy machine (the readers use every core).
            cpu = min(r["cpu"] for r in runs["base"]) / max(min(r["cpu"] for r in runs["udl"]), 1e-9)
            line = (f"  {kind:<8s} {Path(path).stat().st_size / 1e6:6.0f} MB on disk | udl load {udl['seconds']:6.2f} s, "
                    f"peak +{_mb(udl['peak'])} ({udl['peak'] / max(udl['out'], 1):.1f}x output {_mb(udl['out'])}) | "
                    f"{baselines[kind]} -> float32 {base['seconds']:6.2f} s, peak +{_mb(base['peak'])} "
                    f"({base['peak'] / max(base['out'], 1):.1f}x) | speed ratio {base['seconds'] / udl['seconds']:.2f} "
                    f"wall, {cpu:.2f} cpu" + ("" if kind == "npy" else " (target >= 0.67)"))
            if runs["std"]:
                std = min(runs["std"], key=lambda r: r["seconds"])
                line += (f" | np.load + (x - mean) / std {std['seconds']:.2f} s: ratio "
                         f"{std['seconds'] / udl['seconds']:.2f}")
            print(line, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_loader", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="rows for the iteration bench")
    parser.add_argument("--ingest-rows", type=int, default=INGEST_ROWS, help="rows for the ingest bench")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.child:
        child(*args.child)
        return
    bench_iteration(args.rows, args.repeats)
    if not args.skip_ingest:
        bench_ingest(args.ingest_rows, args.repeats)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
