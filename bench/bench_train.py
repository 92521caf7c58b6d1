"""Training throughput: udl_core's trainer against a hand-written compiled MLX loop (and PyTorch).

Same data (a 200,000-row, 32-feature, 10-class NPZ read through `UnifiedDataLoader`), same
model (MLP 32-64-64-10), Adam, same batch size; one epoch each. The baseline is the loop of
docs/conventions.md, "MLX stays on its thread" over the loader's processed arrays with a numpy permutation per epoch, so the
ratio shows what the loader's batches, the events and the callbacks cost on top of the step.
Runs alternate and each figure is the best of `REPEATS`, so warm-up and noise hit both sides.

    python -m bench.bench_train            # or: make bench
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROWS = int(os.environ.get("UDL_BENCH_TRAIN_ROWS", 200_000))
DIM, CLASSES, HIDDEN = 32, 10, (64, 64)
BATCH_SIZES = (256, 1024)
REPEATS = int(os.environ.get("UDL_BENCH_REPEATS", 3))
LEARNING_RATE = 1e-3


def make_dataset(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 1, (CLASSES, DIM))
    y = rng.integers(0, CLASSES, ROWS)
    x = (centers[y] + rng.normal(0, 1.5, (ROWS, DIM))).astype(np.float32)
    path = folder / "bench_train.npz"
    np.savez(path, x=x, y=y.astype(np.int64))
    return path


def udl_epoch(loader) -> tuple[float, float]:
    """Samples/s of one epoch through `udl_core.training.train`, model build and compile included."""
    from udl_core.events import run_job
    from udl_core.training import TrainConfig, train

    config = TrainConfig(epochs=1, learning_rate=LEARNING_RATE, hidden=HIDDEN, device="cpu", report_every=1)
    start = time.perf_counter()
    result = run_job(train(loader, config))
    seconds = time.perf_counter() - start
    return result.samples / seconds, float(result.step_losses[-1])


def mlx_epoch(x_all: np.ndarray, y_all: np.ndarray, batch_size: int, seed: int) -> tuple[float, float]:
    """The hand-written compiled MLX loop (docs/conventions.md, "MLX stays on its thread"), one epoch."""
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            sizes = [DIM, *HIDDEN, CLASSES]
            self.layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = nn.relu(layer(x))
            return self.layers[-1](x)

    start = time.perf_counter()
    mx.random.seed(0)
    model = MLP()
    mx.eval(model.parameters())
    optimizer = optim.Adam(learning_rate=LEARNING_RATE)

    def loss_fn(model, x, y):
        return nn.losses.cross_entropy(model(x), y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    state = [model.state, optimizer.state, mx.random.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def step(x, y):
        loss, grads = loss_and_grad(model, x, y)
        optimizer.update(model, grads)
        return loss

    perm = np.random.default_rng(seed).permutation(len(x_all))
    losses = []
    for i in range(0, len(perm), batch_size):
        idx = perm[i:i + batch_size]
        loss = step(mx.array(x_all[idx]), mx.array(y_all[idx]))
        mx.eval(state, loss)
        losses.append(loss)
    last = losses[-1].item()
    return len(perm) / (time.perf_counter() - start), last


def torch_epoch(x_all: np.ndarray, y_all: np.ndarray, batch_size: int, seed: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    sizes = [DIM, *HIDDEN, CLASSES]
    layers: list = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    x_t, y_t = torch.from_numpy(x_all), torch.from_numpy(y_all.astype(np.int64))
    start = time.perf_counter()
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(x_all)))
    for i in range(0, len(perm), batch_size):
        idx = perm[i:i + batch_size]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x_t[idx]), y_t[idx])
        loss.backward()
        optimizer.step()
    return len(perm) / (time.perf_counter() - start)


def _reference_blas_child(path: str, batch_size: int) -> None:
    """In a child started with UDL_BLAS=bundled: one hand-written epoch, as JSON."""
    import json

    import udl_core.training  # noqa: F401  (applies UDL_BLAS before mlx.core loads)
    from udl_core.loader import UnifiedDataLoader

    loader = UnifiedDataLoader(path, batch_size=batch_size, seed=0, val_fraction=0.01).load()
    rates, last = [], 0.0
    for _ in range(REPEATS):
        rate, last = mlx_epoch(loader.train_data.x, loader.train_data.y, batch_size, seed=1)
        rates.append(rate)
    print(json.dumps({"rate": max(rates), "last_loss": last}))


def compare_with_reference_blas(path: Path, batch_size: int, loader) -> str:
    """OpenBLAS against the wheel's reference BLAS: same loop, same data, a child process each side."""
    import json
    import subprocess

    rate, last = max((mlx_epoch(loader.train_data.x, loader.train_data.y, batch_size, seed=1)
                      for _ in range(REPEATS)), key=lambda r: r[0])
    env = {**os.environ, "UDL_BLAS": "bundled"}
    child = subprocess.run([sys.executable, "-m", "bench.bench_train", "--reference-blas", str(path),
                            str(batch_size)], capture_output=True, text=True, env=env, timeout=600,
                           cwd=Path(__file__).resolve().parents[1])
    if child.returncode != 0:
        return f"  reference BLAS run failed: {child.stderr.strip().splitlines()[-1:]}"
    ref = json.loads(child.stdout.splitlines()[-1])
    return (f"  B={batch_size:<5d} hand-written loop with OpenBLAS {rate:,.0f} samples/s vs the wheel's reference "
            f"BLAS {ref['rate']:,.0f} samples/s: {rate / ref['rate']:.1f}x; last loss {last:.7f} vs "
            f"{ref['last_loss']:.7f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--reference-blas":
        return _reference_blas_child(sys.argv[2], int(sys.argv[3]))
    from udl_core.training import blas_status  # first: it picks the BLAS before mlx.core loads
    from udl_core.loader import UnifiedDataLoader

    print(f"bench_train: one epoch, MLP {DIM}-{'-'.join(map(str, HIDDEN))}-{CLASSES}, Adam, {ROWS:,} rows, CPU, "
          f"{blas_status()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = make_dataset(Path(tmp))
        for batch_size in BATCH_SIZES:
            loader = UnifiedDataLoader(path, batch_size=batch_size, seed=0, val_fraction=0.01).load()
            x_all, y_all = loader.train_data.x, loader.train_data.y
            udl_best = mlx_best = 0.0
            torch_best: float | None = None
            for _ in range(REPEATS):
                mlx_rate, _ = mlx_epoch(x_all, y_all, batch_size, seed=1)
                udl_rate, _ = udl_epoch(loader)
                mlx_best, udl_best = max(mlx_best, mlx_rate), max(udl_best, udl_rate)
            for _ in range(REPEATS):
                rate = torch_epoch(x_all, y_all, batch_size, seed=1)
                if rate is not None:
                    torch_best = max(torch_best or 0.0, rate)
            line = (f"  B={batch_size:<5d} udl trainer {udl_best:>10,.0f} samples/s   hand-written compiled MLX "
                    f"{mlx_best:>10,.0f} samples/s   ratio {udl_best / mlx_best:.2f} (target >= 0.9)")
            if torch_best is not None:
                line += f"   PyTorch {torch_best:,.0f} samples/s (udl/torch {udl_best / torch_best:.2f})"
            print(line, flush=True)
        if torch_best is None:
            print("  PyTorch: not installed, skipped", flush=True)
        if blas_status().startswith("OpenBLAS"):
            print(compare_with_reference_blas(path, BATCH_SIZES[0], UnifiedDataLoader(
                path, batch_size=BATCH_SIZES[0], seed=0, val_fraction=0.01).load()), flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
