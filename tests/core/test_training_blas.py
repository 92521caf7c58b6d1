"""The system OpenBLAS switch (udl_core/blas.py): opt-out, import order, unchanged losses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

_RUN = """
import json
from udl_core.training import TrainConfig, blas_status, train
from udl_core.events import run_job
from udl_core.loader import UnifiedDataLoader
loader = UnifiedDataLoader("resources/samples/sample.csv", batch_size=16).load()
result = run_job(train(loader, TrainConfig(epochs=3, device="cpu")))
print(json.dumps({"blas": blas_status(), "losses": result.step_losses.tolist()}))
"""


def _python(code: str, **env: str) -> dict | str:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_opting_out_keeps_the_bundled_blas_and_import_order_is_reported():
    bundled = _python("import json, udl_core.training as t; print(json.dumps(t.blas_status()))",
                      UDL_BLAS="bundled")
    assert bundled.startswith("bundled reference BLAS") and "UDL_BLAS=bundled" in bundled
    late = _python("import json, mlx.core, udl_core.training as t; print(json.dumps(t.blas_status()))",
                   UDL_BLAS="auto")
    if sys.platform.startswith("linux"):
        assert "imported before" in late


def test_a_missing_explicit_library_falls_back_with_a_reason():
    status = _python("import json, udl_core.training as t; print(json.dumps(t.blas_status()))",
                     UDL_BLAS="/no/such/libblas.so")
    if sys.platform.startswith("linux"):
        assert status.startswith("bundled reference BLAS") and "/no/such/libblas.so" in status


def test_openblas_gives_the_same_losses_to_float32_rounding():
    fast = _python(_RUN, UDL_BLAS="auto")
    if not fast["blas"].startswith("OpenBLAS"):
        pytest.skip(f"no system OpenBLAS here: {fast['blas']}")
    reference = _python(_RUN, UDL_BLAS="bundled")
    assert reference["blas"].startswith("bundled")
    np.testing.assert_allclose(fast["losses"], reference["losses"], rtol=1e-4, atol=1e-6)
    again = _python(_RUN, UDL_BLAS="auto")
    assert again["losses"] == fast["losses"]  # deterministic with OpenBLAS too


def test_the_blas_is_chosen_where_mlx_is_imported_and_nowhere_else():
    code = ("import json, sys; from udl_core import blas; import udl_core.events, udl_core.loader, udl_core.cli; "
            "before = (blas.blas_status(), 'mlx.core' in sys.modules); import udl_core.mlx_runtime; "
            "print(json.dumps([*before, blas.blas_status(), 'mlx.core' in sys.modules]))")
    before, mlx_before, after, mlx_after = _python(code, UDL_BLAS="bundled")
    assert (before, mlx_before) == ("not checked yet", False)
    assert mlx_after and after == blas_status_for("bundled", after)


def blas_status_for(choice: str, status: str) -> str:
    """What `blas_status()` says once the choice is made: the opt-out on Linux, the platform's elsewhere."""
    return f"bundled reference BLAS (UDL_BLAS={choice})" if sys.platform.startswith("linux") else status
