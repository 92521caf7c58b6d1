"""Time `udl check` on a 100,000-row x 50-column synthetic CSV (target: under 30 s on 2 cores).

Prints the end-to-end wall time of the command in a subprocess, then the same work in process split
into its parts: the load (the baseline every command pays), each check group, and the ratio of the
checks to the load.

    .venv/bin/python bench/bench_checks.py [--rows 100000] [--cols 50] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 30.0


def make_csv(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    """`cols - 4` numeric columns at assorted scales (5% missing), 3 categorical columns, a 3-class label."""
    rng = np.random.default_rng(seed)
    numeric = cols - 4
    x = rng.normal(0, 1, (rows, numeric))
    w = rng.normal(0, 1, numeric)
    city = rng.choice(np.array(["paris", "lyon", "nice", "lille", "brest"]), rows)
    plan = rng.choice(np.array(["free", "pro", "team"]), rows)
    tier = rng.choice(np.array(["a", "b", "c", "d"]), rows)
    score = x @ w / np.sqrt(numeric) + (plan == "pro") * 0.5 + rng.normal(0, 0.5, rows)
    label = np.where(score < -0.4, "low", np.where(score < 0.4, "mid", "high"))
    scales = 10.0 ** rng.uniform(-1, 2, numeric)
    values = x * scales
    text = np.char.mod("%.4g", values).astype(object)
    text[rng.random(values.shape) < 0.05] = ""
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join([f"x{j}" for j in range(numeric)] + ["city", "plan", "tier", "label"]) + "\n")
        for start in range(0, rows, 10_000):
            block = np.column_stack([text[start:start + 10_000], city[start:start + 10_000],
                                     plan[start:start + 10_000], tier[start:start + 10_000],
                                     label[start:start + 10_000]])
            f.write("\n".join(",".join(row) for row in block) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--keep", help="write the CSV here instead of a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"synthetic_{args.rows}x{args.cols}.csv"
        started = time.perf_counter()
        make_csv(path, args.rows, args.cols)
        print(f"dataset: {path.name}, {path.stat().st_size / 1e6:.1f} MB, written in "
              f"{time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "udl_core", "check", str(path), "--json"],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
        if proc.returncode not in (0, 1):
            print(proc.stderr, file=sys.stderr)
            return 2
        payload = json.loads(proc.stdout)
        print(f"udl check (subprocess, end to end): {wall:.1f} s, exit {proc.returncode}, "
              f"{payload['summary']} -> {'OK' if wall < TARGET_S else 'OVER'} the {TARGET_S:.0f} s target")
        for check in payload["checks"]:
            if check["status"] != "pass":
                print(f"  {check['status']}: {check['name']}: {check['reason']}")

        from udl_core.events import Progress
        from udl_core.loader import UnifiedDataLoader
        from udl_core.training.checks import CheckResult, iter_checks

        started = time.perf_counter()
        loader = UnifiedDataLoader(path).load()
        load_s = time.perf_counter() - started
        print(f"in process: load {load_s:.2f} s ({loader.num_train:,} train / {loader.num_val:,} val rows, "
              f"{loader.feature_dim} features)")
        started = last = time.perf_counter()
        group = None
        times: dict[str, float] = {}
        for event in iter_checks(loader):
            now = time.perf_counter()
            if isinstance(event, Progress) and event.message.startswith("checking "):
                if group is not None:
                    times[group] = now - last
                group, last = event.message.removeprefix("checking "), now
            elif isinstance(event, Progress) and event.message == "done" and group is not None:
                times[group] = now - last
            elif isinstance(event, CheckResult):
                pass
        checks_s = time.perf_counter() - started
        for name, seconds in times.items():
            print(f"  {name:<42} {seconds:6.2f} s")
        print(f"checks {checks_s:.2f} s = {checks_s / load_s:.2f}x the load; load + checks {load_s + checks_s:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
