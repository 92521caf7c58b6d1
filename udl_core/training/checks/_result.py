"""The record every check produces, the budget that keeps checks short, and the shared view of a loader."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["STATUSES", "CheckBudget", "CheckResult", "json_safe", "worst_status"]

STATUSES: tuple[str, ...] = ("pass", "warn", "fail")


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: `status` is pass / warn / fail, `reason` one sentence, `hint` the fix."""

    name: str
    status: str
    reason: str
    hint: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")
        object.__setattr__(self, "details", json_safe(dict(self.details)))
        if self.reason[:1].islower():  # checks write sentences; the first word is capitalized here
            object.__setattr__(self, "reason", self.reason[0].upper() + self.reason[1:])

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "reason": self.reason,
                               "hint": self.hint}
        if details:
            out["details"] = dict(self.details)
        return out


@dataclass(frozen=True)
class CheckBudget:
    """How much work the checks may do; the defaults keep 100,000 x 50 well under 30 s on 2 cores."""

    # The per-feature checks and the short trainings cost rows x features, so wide inputs get
    # fewer rows: 8,000 x 1,500 then costs what 80,000 x 150 does (issue 10).
    sample_rows: int = 20_000       # training rows the statistics and short trainings look at
    sample_values: int = 4_000_000  # ... but no more than this many feature values (wide tables, images)
    eval_rows: int = 5_000          # validation rows the short trainings are scored on (a quarter of that)
    train_steps: int = 300          # steps of each input-dependence training
    train_batch: int = 128
    train_values: int = 6_000_000   # steps x batch x features of one such training at most
    overfit_steps: int = 300
    overfit_rows: int = 64          # rows of batch 0 the overfit check uses at most
    speed_batches: int = 100
    speed_seconds: float = 2.0
    learning_rate: float = 3e-3
    rebuild_values: int = 10_000_000  # reload the dataset to test determinism up to this many x values


def worst_status(results: Iterable[CheckResult]) -> str:
    worst = 0
    for result in results:
        worst = max(worst, STATUSES.index(result.status))
    return STATUSES[worst]


def json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, arrays to lists, NaN/inf to None."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
