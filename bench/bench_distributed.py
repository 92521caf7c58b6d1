"""Training across processes (`udl train --distributed` under `mlx.launch`, the ring backend on loopback).

1. Throughput: samples/s of one epoch, 2 ranks over 1 process, for the same global batch (256 and
   1,024), on a 200,000-row x 32-feature, 10-class NPZ (bench_train's data), MLP 32-64-64-10, CPU.
   Each figure is the `done` event's samples/s (training time only: no load, no start-up), best of
   REPEATS, runs alternating. On a 2-core machine two processes share the two cores that one
   process's MLX and BLAS threads already use, and every step adds an all-reduce of the gradients
   over TCP: expect a ratio near or under 1 here; the layout pays off across machines.
2. Sharded reading: a 2,000,000-row x 32-column Parquet in 16 row groups (bench_ingest's data),
   loaded with `shard=True` by 2 ranks: the bytes of the file each rank read for its features
   against the file's column bytes (target: about 1/2 each), and each rank's load time against
   one process loading the whole file.

    python -m bench.bench_distributed [--rows N] [--parquet-rows N] [--data FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = int(os.environ.get("UDL_BENCH_REPEATS", 2))
BATCH_SIZES = (256, 1024)
PARQUET_ROWS, ROW_GROUPS = 2_000_000, 16
RANKS = 2

_SHARD_SCRIPT = """
import json, sys, time
from udl_core.distributed import init_world
from udl_core.loader import UnifiedDataLoader
world = init_world()
start = time.perf_counter()
loader = UnifiedDataLoader(sys.argv[1], label="label", batch_size=256, world=world,
                           shard=world.distributed).load()
print(json.dumps({"rank": world.rank, "ranks": world.size, "bytes_read": loader.bytes_read,
                  "rows": loader.num_train + loader.num_val, "seconds": time.perf_counter() - start,
                  "steps": len(loader)}), flush=True)
"""


def _launch(command: list[str], ranks: int) -> subprocess.CompletedProcess[str]:
    """`command` as one plain process, or as `ranks` ranks under mlx.launch (the tests' launcher)."""
    from tests.core.launch_support import launch

    if ranks == 1:
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    return launch(command, ranks, timeout=1800)


def _samples_per_s(data: Path, batch: int, ranks: int) -> float:
    command = [sys.executable, "-m", "udl_core", "train", str(data), "--epochs", "1", "--device", "cpu",
               "--json", "--batch-size", str(batch), "--label", "y"] + (["--distributed"] if ranks > 1 else [])
    done = _launch(command, ranks)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "udl train failed")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    final = next(e for e in events if e.get("event") == "done")
    return float(final["samples_per_s"])


def throughput(folder: Path, rows: int) -> None:
    os.environ["UDL_BENCH_TRAIN_ROWS"] = str(rows)
    from bench import bench_train

    bench_train.ROWS = rows
    data = bench_train.make_dataset(folder)
    _samples_per_s(data, BATCH_SIZES[0], 1)   # MLX's CPU kernels compiled once, outside the figures
    _samples_per_s(data, BATCH_SIZES[0], RANKS)
    print(f"throughput: {rows:,} x {bench_train.DIM} NPZ, MLP {bench_train.HIDDEN}, one epoch, CPU, best of "
          f"{REPEATS}; {os.cpu_count()} cores")
    for batch in BATCH_SIZES:
        one, two = [], []
        for _ in range(REPEATS):
            one.append(_samples_per_s(data, batch, 1))
            two.append(_samples_per_s(data, batch, RANKS))
        print(f"  global batch {batch:>5}: 1 process {max(one):>9,.0f} samples/s | {RANKS} ranks "
              f"{max(two):>9,.0f} samples/s | ratio {max(two) / max(one):.2f}x")


def _parquet(folder: Path, rows: int) -> Path:
    import pyarrow.parquet as pq

    from bench.bench_ingest import _main_frame

    path = folder / f"shards_{rows}.parquet"
    if not path.exists():
        _, _, frame = _main_frame(rows)
        pq.write_table(frame.to_arrow(), path, compression="snappy", row_group_size=-(-rows // ROW_GROUPS))
    return path


def sharded_reading(folder: Path, rows: int) -> None:
    import pyarrow.parquet as pq

    path = _parquet(folder, rows)
    meta = pq.ParquetFile(path).metadata
    label = meta.schema.names.index("label")
    features = sum(meta.row_group(g).column(c).total_compressed_size for g in range(meta.num_row_groups)
                   for c in range(meta.num_columns) if c != label)
    script = folder / "shard_load.py"
    script.write_text(_SHARD_SCRIPT)
    whole = _launch([sys.executable, str(script), str(path)], 1)
    parts = _launch([sys.executable, str(script), str(path)], RANKS)
    for done in (whole, parts):
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip()[-500:])
    one = json.loads(whole.stdout.strip().splitlines()[-1])
    ranks = sorted((json.loads(line) for line in parts.stdout.splitlines() if line.startswith("{")),
                   key=lambda r: r["rank"])
    print(f"sharded reading: {rows:,} x 32 Parquet, {meta.num_row_groups} row groups, {features / 1e6:.1f} MB of "
          f"feature column chunks ({path.stat().st_size / 1e6:.1f} MB file)")
    print(f"  1 process: loaded {one['rows']:,} rows in {one['seconds']:.2f} s")
    for r in ranks:
        print(f"  rank {r['rank']} of {r['ranks']}: read {r['bytes_read'] / 1e6:.1f} MB "
              f"({r['bytes_read'] / features:.2f} of the features), {r['rows']:,} rows, {r['steps']:,} steps, "
              f"loaded in {r['seconds']:.2f} s ({r['seconds'] / max(one['seconds'], 1e-9):.2f}x one process)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_distributed")
    parser.add_argument("--rows", type=int, default=int(os.environ.get("UDL_BENCH_TRAIN_ROWS", 200_000)))
    parser.add_argument("--parquet-rows", type=int, default=PARQUET_ROWS)
    parser.add_argument("--data", type=Path, help="a folder to keep the generated data in (reused)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        throughput(folder, args.rows)
        sharded_reading(folder, args.parquet_rows)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
