"""Whether MLX's CPU backend has compiled its kernels on this machine yet.

`mx.compile` on the CPU generates C++ for each fused group of operations, compiles it with the
system compiler into a shared library and keeps the libraries in
`<temp dir>/mlx/<mlx version>/cpu/` (mlx/backend/cpu/compiled.cpp: `temp_directory_path()`,
which reads TMPDIR, TMP, TEMP, TEMPDIR, else /tmp). The first compiled training step on a
machine therefore waits for the compiler (11.7 s measured, 0.7 s once the libraries exist), and
nothing else tells the user why. An empty or missing folder is the sign, and so is the first
step of a task and model not compiled here before (a marker file beside MLX's folder): the
trainer and the checks then yield `compile_notice()` before their first compiled step.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from udl_core.events import Notice
from udl_core.mlx_runtime import mx

__all__ = ["COMPILE_MESSAGE", "compile_notice", "kernel_cache_dir", "kernels_cached"]

COMPILE_MESSAGE = "compiling kernels for this machine (first run only)..."
_LIBRARY_SUFFIXES = (".so", ".dylib", ".dll")
_MLX_VERSION = str(getattr(mx, "__version__", "unknown"))  # not in mlx's type stubs


def _temp_dir() -> Path:
    """The folder C++'s `std::filesystem::temp_directory_path()` names (what MLX writes under)."""
    if sys.platform == "win32":
        return Path(tempfile.gettempdir())
    for name in ("TMPDIR", "TMP", "TEMP", "TEMPDIR"):
        value = os.environ.get(name)
        if value:
            return Path(value)
    return Path("/tmp")


def kernel_cache_dir() -> Path:
    """Where this MLX version keeps the CPU kernels it compiled."""
    return _temp_dir() / "mlx" / _MLX_VERSION / "cpu"


def kernels_cached(folder: Path | None = None) -> bool:
    """True when the kernel folder holds at least one compiled library."""
    try:
        with os.scandir(folder or kernel_cache_dir()) as entries:
            return any(entry.name.endswith(_LIBRARY_SUFFIXES) for entry in entries)
    except OSError:
        return False


def _marker(kind: str) -> Path:
    """A file beside MLX's folder (same temp dir, so cleared with it) saying that a step of
    `kind` was compiled here: each task's loss compiles kernels of its own (7 s for the first
    regression step after classification ones)."""
    return _temp_dir() / f"udl-mlx-{_MLX_VERSION}" / f"{kind}.compiled"


def compile_notice(device: mx.Device | None = None, kind: str = "") -> Notice | None:
    """The "first run" notice when a compiled step of `kind` ("<task>-<model>") on `device`
    (default: MLX's default device) is about to compile its CPU kernels; None on a GPU, with
    compilation switched off (MLX_DISABLE_COMPILE), or once they are there. Giving the notice
    records `kind` as compiled: the step that follows compiles it."""
    device = device if device is not None else mx.default_device()
    if device.type != mx.cpu or os.environ.get("MLX_DISABLE_COMPILE"):
        return None
    marker = _marker(kind) if kind else None
    if kernels_cached() and (marker is None or marker.exists()):
        return None
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:   # a read-only temp dir: the notice may show again, nothing worse
            pass
    return Notice(COMPILE_MESSAGE, "info")
