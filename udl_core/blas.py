"""Let MLX's CPU backend use the system's OpenBLAS on Linux, where one is installed.

The Linux `mlx[cpu]` wheel ships the reference BLAS, which runs a matrix product at a few
GFLOP/s; an optimised OpenBLAS (Debian/Ubuntu: `apt install libopenblas0`) runs it 10x faster.
Loading OpenBLAS with RTLD_GLOBAL *before* `mlx.core` is imported makes the dynamic linker bind
MLX's BLAS and LAPACK calls to it, exactly as `LD_PRELOAD` would. Same model, same maths: the
losses agree to float32 rounding (the order of the additions inside a product differs).

    UDL_BLAS unset or "auto"   use a system OpenBLAS when one is found (the default on Linux)
    UDL_BLAS=bundled           keep the wheel's reference BLAS (the opt-out)
    UDL_BLAS=/path/libblas.so  load this LP64 BLAS instead

`udl_core.mlx_runtime`, the one module of udl_core that imports MLX, calls `prefer_system_blas()`
right before it does; it does nothing on macOS (MLX uses Accelerate and Metal there) or once
`mlx.core` has already been imported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

__all__ = ["ENV_VAR", "blas_setting", "blas_status", "prefer_system_blas"]

ENV_VAR = "UDL_BLAS"
_OPT_OUT = {"bundled", "reference", "off", "none", "0", "no", "false"}
_CANDIDATES = (
    "libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
)

_status = "not checked yet"
_handle: ctypes.CDLL | None = None


def blas_setting() -> str:
    """The `UDL_BLAS` value that selects the BLAS this process uses: "openblas", "bundled", or "auto"
    where there is no choice (macOS). Exported scripts pin it, so a rerun does the same additions."""
    if not sys.platform.startswith("linux"):
        return "auto"
    return "openblas" if _handle is not None else "bundled"


def blas_status() -> str:
    """One line: which BLAS MLX's CPU backend uses in this process, and why."""
    return _status


def _try_load(name: str) -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return None
    # MLX calls the LP64 CBLAS and LAPACK names; an ILP64 build (symbols ending in 64_) won't do
    if not hasattr(lib, "cblas_sgemm") or not hasattr(lib, "sgemm_"):
        return None
    return lib


def _library_path(lib: ctypes.CDLL) -> str:
    maps = Path("/proc/self/maps")
    wanted = Path(lib._name).name.split(".so")[0]
    if maps.exists():
        for line in maps.read_text().splitlines():
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if wanted in Path(path).name:
                return path
    return lib._name


def prefer_system_blas() -> str:
    """Load a system OpenBLAS for MLX if the platform, the environment and the import order allow;
    return `blas_status()`. Safe to call more than once."""
    global _status, _handle
    if _handle is not None:
        return _status
    choice = os.environ.get(ENV_VAR, "auto").strip()
    if not sys.platform.startswith("linux"):
        _status = "platform BLAS (MLX uses Accelerate on macOS)"
    elif choice.lower() in _OPT_OUT:
        _status = f"bundled reference BLAS ({ENV_VAR}={choice})"
    elif "mlx.core" in sys.modules:
        _status = (f"bundled reference BLAS (mlx.core was imported before udl_core's training modules; set {ENV_VAR} "
                   "or LD_PRELOAD before starting Python to use OpenBLAS)")
    else:
        explicit = choice.lower() not in ("", "auto", "openblas")
        names = (choice,) if explicit else (ctypes.util.find_library("openblas") or "", *_CANDIDATES)
        for name in filter(None, names):
            _handle = _try_load(name)
            if _handle is not None:
                _status = f"OpenBLAS ({_library_path(_handle)})"
                break
        else:
            _status = (f"bundled reference BLAS ({choice} could not be loaded as an LP64 BLAS)" if explicit else
                       "bundled reference BLAS (no system OpenBLAS found; apt install libopenblas0 speeds "
                       "up CPU training)")
    return _status
