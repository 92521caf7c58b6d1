"""Small frozen events that UDL's long jobs yield (docs/conventions.md, "Long jobs are generators").

Front ends iterate a job and react to each event; nothing here knows about Qt.
Events carry plain floats, ints, strings and numpy arrays, never `mx.array`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Notice", "Progress", "run_job"]

R = TypeVar("R")


@dataclass(frozen=True)
class Progress:
    """Work done so far in one stage of a job (`total` is None when unknown)."""

    stage: str
    done: int
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


@dataclass(frozen=True)
class Notice:
    """Something the user should read: `level` is "info" or "warning"."""

    message: str
    level: str = "info"


def run_job(job: Generator[Any, Any, R], on_event: Callable[[Any], object] | None = None) -> R:
    """Run a job to the end and return what it returns, handing each event to `on_event`."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(event)
