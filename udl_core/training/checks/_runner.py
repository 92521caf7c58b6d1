"""`iter_checks(loader)`: the checklist as a generator (docs/conventions.md, "Long jobs are generators"); `run_checks` drains it."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from udl_core.batch_source import BatchSource
from udl_core.errors import ConfigError, UDLError
from udl_core.events import Notice, Progress, run_job
from udl_core.training.checks._batches import batch_checks, determinism_check
from udl_core.training.checks._context import CheckContext
from udl_core.training.checks._features import leakage_checks, scaling_checks
from udl_core.training.checks._labels import label_checks
from udl_core.training.checks._result import CheckBudget, CheckResult
from udl_core.training.checks._suspects import suspects_check
from udl_core.training.checks._training import (input_dependence_check, loss_at_init_check, overfit_check,
                                                speed_check)
from udl_core.training.kernel_cache import compile_notice

__all__ = ["CHECKS", "iter_checks", "run_checks"]

# A check yields its results, and None between chunks of a long step: a chance to stop, nothing to show.
CheckFn = Callable[[CheckContext], Iterator[CheckResult | None]]

# Order matters only for speed: `batches` records the epoch's hashes that `determinism` compares with.
CHECKS: tuple[tuple[str, str, CheckFn], ...] = (
    ("batches", "batches: coverage, NaN/inf, shapes, split", batch_checks),
    ("labels", "labels", lambda ctx: itertools.chain(label_checks(ctx), suspects_check(ctx))),
    ("scaling", "feature scaling", scaling_checks),
    ("leakage", "leakage", leakage_checks),
    ("loss_at_init", "loss at initialisation", loss_at_init_check),
    ("overfit_one_batch", "overfitting one batch", overfit_check),
    ("determinism", "determinism", determinism_check),
    ("speed", "data vs compute time", speed_check),
    ("input_dependence", "real vs zeroed inputs", input_dependence_check),
)
CHECK_GROUPS: tuple[str, ...] = tuple(name for name, _, _ in CHECKS)
COMPILED_CHECKS = frozenset({"labels", "overfit_one_batch", "speed", "input_dependence"})  # run an mx.compile'd step


def iter_checks(loader: BatchSource, *, budget: CheckBudget | None = None, seed: int = 0,
                select: Iterable[str] | None = None
                ) -> Generator[Progress | Notice | CheckResult | None, None, list[CheckResult]]:
    """Run the pipeline checks on a loaded loader; yield `Progress` and each `CheckResult` as it is made
    (and a `Notice` before the first compiled training step when MLX has yet to compile its CPU kernels),
    and None between the chunks of a long check: a consumer that stops asking stops the checks there.

    `select` names check groups to run (see `CHECK_GROUPS`); by default all run. Returns every result.
    A `UDLError` inside one group becomes a failed result for that group; the others still run.
    """
    budget = budget or CheckBudget()
    chosen = list(CHECK_GROUPS) if select is None else list(select)
    unknown = [name for name in chosen if name not in CHECK_GROUPS]
    if unknown:
        raise ConfigError(f"unknown check {unknown[0]!r}: choose from {', '.join(CHECK_GROUPS)}")
    plan = [(name, title, fn) for name, title, fn in CHECKS if name in chosen]
    total = len(plan)
    yield Progress("checks", 0, total, "reading the splits")
    ctx = CheckContext.from_loader(loader, budget, seed)
    results: list[CheckResult] = []
    first_run = compile_notice(kind=f"{ctx.task}-mlp")   # on MLX's default device, as the checks
    for done, (name, title, fn) in enumerate(plan):
        yield Progress("checks", done, total, f"checking {title}")
        if first_run is not None and name in COMPILED_CHECKS:
            yield first_run        # the first compiled step waits for the C++ compiler
            first_run = None
        try:
            for result in fn(ctx):
                if result is not None:
                    results.append(result)
                yield result
        except UDLError as exc:
            result = CheckResult(name, "fail", f"the check could not run: {exc}.", "Fix the error above first.")
            results.append(result)
            yield result
        # MLX objects must die on the thread that made them: collect the group's young cycles here,
        # not later on whichever thread the collector happens to run. The trainings leave only MLX's
        # own recursive closures (Module.update's `apply`, Optimizer.init's `update_state`: no
        # arrays). Not a full collection: it walks every object of the process with the GIL held,
        # and froze the window for 100-300 ms at each group's end on a busy machine (bench_gui).
        gc.collect(1)
        _trim_heap()
    yield Progress("checks", total, total, "done")
    return results


def _trim_heap() -> None:
    """Hand the heap's free pages back to the system (glibc): it keeps one check's freed arrays
    mapped, and the next check's peak (the memory budget's RSS) then comes on top of them."""
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            _MALLOC_TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):   # not glibc (macOS, Windows, musl)
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM: Any = None


def run_checks(loader: BatchSource, *, budget: CheckBudget | None = None, seed: int = 0,
               select: Iterable[str] | None = None) -> list[CheckResult]:
    """Every check's result, in order (`iter_checks` without the events)."""
    return run_job(iter_checks(loader, budget=budget, seed=seed, select=select))
