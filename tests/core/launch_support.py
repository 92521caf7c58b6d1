"""Run a command as several ranks with `mlx.launch` (the ring backend on loopback), bounded in time.

Each launch gets free ports of its own (`--starting-port`), so tests and other processes on the
machine never share a ring.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = Path(sys.executable).with_name("mlx.launch")
TIMEOUT_S = 240


def free_port(count: int) -> int:
    """A port p with p .. p + count - 1 free now (the ring listens on one per rank)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            start = probe.getsockname()[1]
        if start + count >= 65535:
            continue
        try:
            sockets = []
            for port in range(start, start + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no run of free ports on loopback")


def launch(command: Sequence[str], ranks: int = 2, cwd: Path | None = None,
           env: dict[str, str] | None = None, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """`mlx.launch -n ranks --backend ring -- command` on this machine; stdout and stderr as text."""
    args = [str(LAUNCH), "-n", str(ranks), "--backend", "ring", "--starting-port", str(free_port(ranks)), "--",
            *command]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd or ROOT,
                          env={**os.environ, **(env or {})})
