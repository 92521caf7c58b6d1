"""Pipeline checks: the data bugs a smoke training exists to catch, each as pass / warn / fail.

`run_checks(loader)` returns a `CheckResult` per check; `iter_checks(loader)` is the same job as a
generator that yields `Progress` and each result as it completes (the CLI and the GUI drive it).
The groups, in order: batches, labels, scaling, leakage, loss_at_init, overfit_one_batch,
determinism, speed, input_dependence. Checks sample at most `CheckBudget.sample_rows` training rows
and keep their trainings to a few hundred steps, so a 100,000-row dataset is checked in seconds.
"""

from __future__ import annotations

from udl_core.training.checks._features import loo_accuracy, loo_r2
from udl_core.training.checks._result import STATUSES, CheckBudget, CheckResult, worst_status
from udl_core.training.checks._runner import CHECK_GROUPS, iter_checks, run_checks

__all__ = [
    "CHECK_GROUPS",
    "CheckBudget",
    "CheckResult",
    "STATUSES",
    "iter_checks",
    "loo_accuracy",
    "loo_r2",
    "run_checks",
    "worst_status",
]
