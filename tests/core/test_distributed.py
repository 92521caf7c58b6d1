"""Training across processes (udl_core/distributed.py): each rank's piece of every global batch,
the shared step, the command line under `mlx.launch` (two ranks on loopback, bounded in time).

Tolerances (docs/training.md, "Several machines"): the weights are identical on every rank, to the
bit; against one process with the same global batch the step losses agree within 1e-4 relative
(float32 gradients summed in another order), and the fitted statistics are identical.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.core.launch_support import ROOT, launch
from udl_core.distributed import LOCAL, World, launch_command, piece, row_range, shell_line
from udl_core.errors import ConfigError
from udl_core.loader import UnifiedDataLoader

LOSS_RTOL = 1e-4


def _csv(path: Path, rows: int, seed: int = 0, regression: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    lines = ["a,b,colour,y"]
    for i in range(rows):
        label = f"{2 * a[i] - b[i]:.5f}" if regression else ("yes" if a[i] + 0.5 * b[i] > 0 else "no")
        lines.append(f"{a[i]:.5f},{'' if i % 17 == 0 else f'{b[i]:.5f}'},{colour[i]},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- the pieces, without communication ---------------------------------------------------------

@pytest.mark.parametrize("rows", [0, 1, 7, 10, 1001])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_row_ranges_cover_every_row_once(rows: int, size: int) -> None:
    ranges = [row_range(rows, r, size) for r in range(size)]
    assert ranges[0][0] == 0 and ranges[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    lengths = [stop - start for start, stop in ranges]
    assert max(lengths) - min(lengths) <= 1


def test_piece_takes_every_nth_row() -> None:
    batch = np.arange(10)
    assert piece(batch, 0, 3).tolist() == [0, 3, 6, 9]
    assert piece(batch, 2, 3).tolist() == [2, 5, 8]
    assert np.sort(np.concatenate([piece(batch, r, 4) for r in range(4)])).tolist() == batch.tolist()


def test_a_world_of_one_reduces_to_itself() -> None:
    assert not LOCAL.distributed and LOCAL.main
    assert LOCAL.sum([1, 2]).dtype == np.int64 and LOCAL.sum([1.5]).tolist() == [1.5]
    assert LOCAL.gather({"a": [1, "é"]}) == [{"a": [1, "é"]}]
    assert LOCAL.gather_rows(np.ones((3, 2))).shape == (3, 2)
    assert LOCAL.agree(True) and not LOCAL.agree(False)


def test_launch_command_names_the_run() -> None:
    command = launch_command("/data/my file.csv", ["--label", "y", "--epochs", "3"], processes=3)
    assert command[command.index("-n") + 1] == "3" and "--backend" in command and "ring" in command
    assert command[command.index("--") + 1:][:4] == [sys.executable, "-m", "udl_core", "train"]
    assert "/data/my file.csv" in command and "--distributed" in command
    assert "'/data/my file.csv'" in shell_line(command)
    hosts = launch_command("d.parquet", hostfile="hosts.json", backend="mpi")
    assert hosts[1:3] == ["--hostfile", "hosts.json"] and "mpi" in hosts and "-n" not in hosts


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("rows, batch_size", [(103, 10), (40, 7), (9, 8)])
def test_each_rank_takes_its_piece_of_every_global_batch(tmp_path: Path, ranks: int, rows: int,
                                                        batch_size: int) -> None:
    path = _csv(tmp_path / "d.csv", rows)
    single = UnifiedDataLoader(path, label="y", batch_size=batch_size, seed=3).load()
    parts = [UnifiedDataLoader(path, label="y", batch_size=batch_size, seed=3, world=World(r, ranks)).load()
             for r in range(ranks)]
    for epoch in (0, 1):
        whole = [b.rows for b in single.batches("train", epoch)]
        seen = []
        for rank, part in enumerate(parts):
            assert len(part) == len(single)          # every rank runs every step
            batches = list(part.batches("train", epoch))
            assert len(batches) == len(whole)
            for i, (mine, full) in enumerate(zip(batches, whole)):
                assert mine.rows.tolist() == full[rank::ranks].tolist()
                assert mine.global_size == len(full)
                assert part.get_batch(i, epoch=epoch).rows.tolist() == mine.rows.tolist()
                assert np.array_equal(mine.x, single.train_data.x[np.searchsorted(single.train_data.rows, mine.rows)])
            seen.append(np.concatenate([b.rows for b in batches]))
        together = np.concatenate(seen)
        assert np.unique(together).size == together.size == single.num_train   # disjoint and complete


def test_drop_last_is_refused_across_processes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="drop_last"):
        UnifiedDataLoader(_csv(tmp_path / "d.csv", 20), drop_last=True, world=World(0, 2))


# ---- two ranks under mlx.launch --------------------------------------------------------------

_SCRIPT = """
import sys
import numpy as np
from udl_core.distributed import init_world
from udl_core.events import StepLoss, run_job
from udl_core.loader import UnifiedDataLoader
from udl_core.mlx_runtime import nn
from udl_core.training import TrainConfig, train

world = init_world()
path, out, batch, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
loader = UnifiedDataLoader(path, label="y", batch_size=batch, seed=1, world=world).load()
losses = []
result = run_job(train(loader, TrainConfig(epochs=epochs, device="cpu", seed=5, report_every=1)),
                 lambda e: losses.append(e.loss) if isinstance(e, StepLoss) else None)
weights = {k.replace(".", "_"): np.array(v) for k, v in nn.utils.tree_flatten(result.model.parameters())}
final = result.final
np.savez(f"{out}/rank{world.rank}-of-{world.size}.npz", losses=np.array(losses), val_loss=final.val_loss,
         train_loss=final.train_loss, samples=final.samples, **weights)
"""


def _run_script(tmp_path: Path, data: Path, batch: int, epochs: int) -> dict[str, dict[str, np.ndarray]]:
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    single = subprocess.run([sys.executable, str(script), str(data), str(tmp_path), str(batch), str(epochs)],
                            capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert single.returncode == 0, single.stderr
    both = launch([sys.executable, str(script), str(data), str(tmp_path), str(batch), str(epochs)])
    assert both.returncode == 0, both.stdout + both.stderr
    return {name: dict(np.load(tmp_path / f"{name}.npz")) for name in ("rank0-of-1", "rank0-of-2", "rank1-of-2")}


@pytest.mark.parametrize("regression", [False, True])
def test_two_ranks_train_like_one_process(tmp_path: Path, regression: bool) -> None:
    # 101 rows: 81 training rows (classification) in global batches of 16, the last of one row:
    # rank 1's piece of it is empty
    data = _csv(tmp_path / "d.csv", 101, seed=4, regression=regression)
    runs = _run_script(tmp_path, data, batch=16, epochs=2)
    one, a, b = runs["rank0-of-1"], runs["rank0-of-2"], runs["rank1-of-2"]
    for key in one:
        assert np.array_equal(a[key], b[key]), key     # the ranks agree to the bit, weights and metrics
    assert a["losses"].shape == one["losses"].shape    # the same steps
    np.testing.assert_allclose(a["losses"], one["losses"], rtol=LOSS_RTOL, atol=1e-6)
    np.testing.assert_allclose(a["val_loss"], one["val_loss"], rtol=LOSS_RTOL)
    assert int(a["samples"]) == int(one["samples"])    # every training row once an epoch
    for key in one:
        if key not in ("losses", "val_loss", "train_loss", "samples"):
            np.testing.assert_allclose(a[key], one[key], rtol=1e-3, atol=1e-5, err_msg=key)


def test_udl_train_distributed_prints_and_saves_once(tmp_path: Path) -> None:
    data = _csv(tmp_path / "d.csv", 120, seed=2)
    weights = tmp_path / "out" / "model.safetensors"
    weights.parent.mkdir()
    script = tmp_path / "out" / "again.py"
    done = launch([sys.executable, "-m", "udl_core", "train", str(data), "--label", "y", "--distributed",
                   "--epochs", "2", "--device", "cpu", "--json", "--save", str(weights),
                   "--export-script", str(script)])
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events].count("done") == 1     # rank 0 alone prints
    assert [e["event"] for e in events].count("epoch") == 2
    final = next(e for e in events if e["event"] == "done")
    assert final["processes"] == 2 and str(weights) in final["saved"]
    assert weights.exists() and weights.with_suffix(".json").exists()
    text = script.read_text()
    assert "init_world()" in text and "world=world" in text and "mlx.launch -n 2" in text
    assert sorted(p.name for p in weights.parent.iterdir()) == sorted(["model.safetensors", "model.json",
                                                                      "again.py"])
    again = launch([sys.executable, str(script)])     # the exported script runs the same run the same way
    assert again.returncode == 0 and "error" not in again.stderr.lower(), again.stderr
    lines = [json.loads(line) for line in again.stdout.splitlines() if line.startswith("{")]
    assert [line["epoch"] for line in lines] == [1, 2]   # rank 0 alone prints
    first = [e for e in events if e["event"] == "epoch"]
    np.testing.assert_allclose([line["train_loss"] for line in lines], [e["train_loss"] for e in first], rtol=1e-5)


def test_udl_check_distributed_passes_on_two_ranks(tmp_path: Path) -> None:
    data = _csv(tmp_path / "d.csv", 90, seed=6)
    done = launch([sys.executable, "-m", "udl_core", "check", str(data), "--label", "y", "--distributed", "--json"])
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    shared = [c for c in payload["checks"] if c["name"].startswith("distributed.")]
    assert [c["name"] for c in shared] == ["distributed.shards", "distributed.steps", "distributed.statistics",
                                           "distributed.weights"]
    assert all(c["status"] == "pass" for c in shared), shared


def test_shard_without_distributed_is_a_usage_error(tmp_path: Path) -> None:
    data = _csv(tmp_path / "d.csv", 30)
    done = subprocess.run([sys.executable, "-m", "udl_core", "train", str(data), "--shard"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.startswith("error:") and "--distributed" in done.stderr


def test_distributed_without_a_launcher_trains_as_one_process(tmp_path: Path) -> None:
    data = _csv(tmp_path / "d.csv", 40)
    done = subprocess.run([sys.executable, "-m", "udl_core", "train", str(data), "--label", "y", "--distributed",
                           "--epochs", "1", "--device", "cpu"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "single process" in done.stderr and "across" not in done.stdout


_STOP_SCRIPT = """
import json, sys
from udl_core.distributed import init_world
from udl_core.events import run_job
from udl_core.loader import UnifiedDataLoader
from udl_core.training import TrainConfig, train

world = init_world()
loader = UnifiedDataLoader(sys.argv[1], label="y", batch_size=4, seed=1, world=world).load()
asked = []
def should_stop():   # only rank 1 is asked to stop, at its third step
    asked.append(1)
    return world.rank == 1 and len(asked) >= 3
result = run_job(train(loader, TrainConfig(epochs=3, device="cpu", seed=5), should_stop=should_stop))
print(json.dumps({"rank": world.rank, "stopped": result.stopped, "steps": len(result.step_losses)}), flush=True)
"""


def test_a_stop_on_one_rank_stops_every_rank_after_the_same_step(tmp_path: Path) -> None:
    script = tmp_path / "stop.py"
    script.write_text(_STOP_SCRIPT)
    done = launch([sys.executable, str(script), str(_csv(tmp_path / "d.csv", 200))])
    assert done.returncode == 0, done.stderr
    ranks = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(ranks) == 2 and all(r["stopped"] for r in ranks)
    assert ranks[0]["steps"] == ranks[1]["steps"] < 40    # the same step, long before the epoch's end


def test_sharded_reading_trains_and_checks_on_two_ranks(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(8)
    a = rng.normal(size=400)
    table = pa.table({"a": a, "b": rng.normal(size=400), "colour": rng.choice(["red", "blue"], 400),
                      "y": np.where(a > 0, "yes", "no")})
    data = tmp_path / "d.parquet"
    pq.write_table(table, data, row_group_size=50)
    trained = launch([sys.executable, "-m", "udl_core", "train", str(data), "--label", "y", "--distributed", "--shard",
                      "--epochs", "3", "--batch-size", "16", "--device", "cpu", "--json"])
    assert trained.returncode == 0, trained.stderr
    events = [json.loads(line) for line in trained.stdout.splitlines() if line.startswith("{")]
    epochs = [e for e in events if e["event"] == "epoch"]
    final = next(e for e in events if e["event"] == "done")
    assert len(epochs) == 3 and final["processes"] == 2
    assert final["steps"] % 3 == 0 and final["steps"] >= 3 * 320 // 16   # each rank: 8 of its rows a step
    assert epochs[-1]["val_accuracy"] > 0.8                       # it learns from its parts
    checked = launch([sys.executable, "-m", "udl_core", "check", str(data), "--label", "y", "--distributed",
                      "--shard", "--batch-size", "16", "--json"])
    payload = json.loads(checked.stdout.strip().splitlines()[-1])
    shared = {c["name"]: c["status"] for c in payload["checks"] if c["name"].startswith("distributed.")}
    assert shared == dict.fromkeys(["distributed.shards", "distributed.steps", "distributed.statistics",
                                    "distributed.weights"], "pass")
    odd = launch([sys.executable, "-m", "udl_core", "train", str(data), "--label", "y", "--distributed", "--shard",
                  "--batch-size", "15"])
    assert "error:" in odd.stderr and "does not split evenly" in odd.stderr   # (mlx.launch itself exits 0)
