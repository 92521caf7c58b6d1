"""One run over several processes or machines, on MLX's own distributed layer (`mx.distributed`).

`mlx.launch -n 2 --backend ring -- python -m udl_core train data.csv --distributed` starts two
processes; in each, `init_world()` gives a `World`: its `rank` r of `size` n and the group that
`all_sum` and `all_gather` run over (the ring backend over TCP, MPI, or NCCL on CUDA; UDL adds no
transport of its own). Without a launcher the world is one process (rank 0 of 1) and every
reduction below is the identity, so the same code runs on one machine unchanged.

The rules every rank follows (docs/training.md, "Several machines"):

* every rank computes the same seeded split and the same per-epoch permutation, and each global
  batch of `batch_size` rows is split across ranks: rank r takes rows r, r+n, r+2n... of it
  (`piece`). Every rank runs the same number of steps; no row is dropped or repeated: the last
  global batch may be shorter, and a rank's piece of it may be shorter still, or empty;
* the step's loss on a piece is weighted by the piece's share of its global batch, so that the
  averaged gradient (`mlx.nn.average_gradients`) is the gradient of the global batch's mean loss;
* only rank 0 prints, plots and saves.

Reductions run on the CPU stream in float64 or int64 (`sum`), so fitted statistics are the same
on every rank and equal a single process's up to float64 rounding; `gather` moves small JSON
values (category counts, shard sizes, fingerprints) between ranks. MLX is imported on first use:
importing this module loads none.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LOCAL", "World", "init_world", "launch_command", "piece", "row_range", "shell_line"]


@dataclass(frozen=True)
class World:
    """Rank `rank` of `size` processes, and the `mx.distributed` group they reduce over."""

    rank: int = 0
    size: int = 1
    group: Any = field(default=None, repr=False, compare=False)

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that prints, plots and saves."""
        return self.rank == 0

    def sum(self, values: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """`values` summed over every rank: int64 for integers and booleans, float64 otherwise."""
        array = _wide(values)
        if not self.distributed:
            return array
        from udl_core.mlx_runtime import mx

        # float64 exists on MLX's CPU only: every reduction runs there, whatever the step's device
        total: np.ndarray = np.array(mx.distributed.all_sum(_mx_array(array), group=self.group, stream=mx.cpu))
        return total

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value` (anything `json.dumps` takes), in rank order, on every rank."""
        data = np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)
        return [json.loads(part.tobytes()) for part in self._gathered(data)]

    def gather_rows(self, rows: np.ndarray) -> np.ndarray:
        """Every rank's `rows` (an [m_r, ...] numeric array, m_r may differ by rank, even be 0)
        stacked in rank order along axis 0, on every rank; float64, or int64 for integers."""
        merged: np.ndarray = np.concatenate(self._gathered(_wide(rows)))
        return merged

    def _gathered(self, array: np.ndarray) -> list[np.ndarray]:
        """Every rank's `array` (lengths along axis 0 may differ), in rank order: the lengths are
        gathered first, then every rank's rows padded to the longest."""
        if not self.distributed:
            return [array]
        from udl_core.mlx_runtime import mx

        def all_gather(values: np.ndarray) -> np.ndarray:
            gathered: np.ndarray = np.array(mx.distributed.all_gather(_mx_array(values), group=self.group,
                                                                      stream=mx.cpu))
            return gathered

        counts = all_gather(np.array([array.shape[0]], np.int64)).tolist()
        padded = np.zeros((max(max(counts), 1), *array.shape[1:]), array.dtype)
        padded[:array.shape[0]] = array
        stacked = all_gather(padded).reshape(self.size, padded.shape[0], *array.shape[1:])
        return [stacked[r, :counts[r]] for r in range(self.size)]

    def agree(self, flag: bool) -> bool:
        """True on every rank when any rank says True (a stop asked for on one rank stops all)."""
        return bool(self.sum(np.array([int(flag)]))[0] > 0) if self.distributed else bool(flag)


LOCAL = World()


def _wide(values: np.ndarray | Sequence[float] | float) -> np.ndarray:
    """A new int64 (integers, booleans) or float64 array of `values`: what the ranks exchange."""
    array: np.ndarray = np.asarray(values)
    wide: np.ndarray = array.astype(np.int64 if array.dtype.kind in "biu" else np.float64)
    return wide


def _mx_array(values: np.ndarray) -> Any:
    """`values` as an MLX array of the same dtype (int64, float64 or uint8; MLX would narrow float64)."""
    from udl_core.mlx_runtime import mx

    return mx.array(values, dtype=getattr(mx, values.dtype.name))


def init_world() -> World:
    """This process's place in the run `mlx.launch` started: rank 0 of 1 without a launcher."""
    from udl_core.mlx_runtime import mx

    group = mx.distributed.init()
    return World(int(group.rank()), int(group.size()), group)


def piece(batch: np.ndarray, rank: int, size: int) -> np.ndarray:
    """Rank `rank`'s rows of one global batch: rows rank, rank + size, rank + 2*size..."""
    return batch[rank::size]


def row_range(rows: int, rank: int, size: int) -> tuple[int, int]:
    """The contiguous rows [start, stop) of `rows` that rank `rank` of `size` reads (sharded reading):
    as equal as whole rows allow, the first `rows % size` ranks one row more."""
    base, extra = divmod(int(rows), int(size))
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def launch_command(dataset: str | Path, options: Sequence[str] = (), *, processes: int = 2,
                   hostfile: str | Path | None = None, backend: str = "ring", python: str | None = None
                   ) -> list[str]:
    """The `mlx.launch` command line that trains on `dataset` across processes: `processes` on this
    machine (loopback), or one per host of an MLX `hostfile`. `options` are `udl train`'s (the
    label, model, epochs, batch size...); `--distributed` is added."""
    launcher = Path(sys.executable).with_name("mlx.launch")
    where = ["--hostfile", str(hostfile)] if hostfile is not None else ["-n", str(int(processes))]
    return [str(launcher) if launcher.exists() else "mlx.launch", *where, "--backend", backend, "--",
            python or sys.executable, "-m", "udl_core", "train", str(dataset), "--distributed", *options]


def shell_line(command: Sequence[str]) -> str:
    """`command` quoted for a POSIX shell, ready to paste."""
    return shlex.join(list(command))
