"""The one place udl_core imports MLX, after choosing the BLAS that MLX's CPU backend will use.

The BLAS can only be chosen before `mlx.core` is loaded (blas.py: a system OpenBLAS is bound to
MLX's calls when it is loaded first), so the choice is made here, once, right before the import,
and every udl_core module that uses MLX takes `mx`, `nn` and `optim` from this module instead of
importing `mlx` itself (tests/test_layers.py holds that). Importing `udl_core`, its events, the
loader or the command line imports no MLX; the first module that trains does, through here.
"""

from __future__ import annotations

from udl_core.blas import prefer_system_blas

prefer_system_blas()  # before mlx.core loads; UDL_BLAS=bundled opts out

import mlx.core as mx  # noqa: E402  (after the BLAS choice, on purpose)
import mlx.nn as nn  # noqa: E402
import mlx.optimizers as optim  # noqa: E402

__all__ = ["mx", "nn", "optim"]
