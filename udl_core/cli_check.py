"""`udl check PATH [loader options] [--json]`: the pipeline checklist on the command line.

Exit status: 0 when no check fails, 1 when one does; bad input raises `UDLError`, which
`udl_core.cli.main` turns into one `error:` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
import time
from collections import Counter
from typing import TextIO

from udl_core import cli_args
from udl_core.events import Notice, run_job
from udl_core.training.checks import CheckResult, iter_checks

__all__ = ["format_table", "run_check"]

_MARKS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


def run_check(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    started = time.perf_counter()
    world = cli_args.world_from_args(args)
    shared: list[CheckResult] = []
    if world.distributed:   # every process checks its part with the others; the first then checks the data
        from udl_core.training.checks._distributed import distributed_checks

        part = cli_args.loader_from_args(args, world=world, shard=bool(args.shard))
        shared = distributed_checks(part, world, seed=args.seed)
        part.close()
        if not world.main:
            return 1 if any(r.failed for r in shared) else 0
    elif getattr(args, "distributed", False):
        print("note: --distributed: not started by mlx.launch (or a group of one process): the distributed "
              "check needs two processes or more", file=sys.stderr)
    loader = cli_args.loader_from_args(args)  # by the module: tests replace it there

    notices: list[Notice] = []

    def on_event(event: object) -> None:
        if isinstance(event, CheckResult) and not args.json and out.isatty():
            print(f"{_MARKS[event.status]}  {event.name}", file=sys.stderr)
        elif isinstance(event, Notice):   # e.g. MLX compiling its CPU kernels on a first run
            notices.append(event)
            if not args.json:
                print(f"{'warning' if event.level == 'warning' else 'note'}: {event.message}", file=sys.stderr,
                      flush=True)

    results: list[CheckResult] = shared + run_job(iter_checks(loader, seed=args.seed), on_event)
    seconds = time.perf_counter() - started
    counts = Counter(r.status for r in results)
    if args.json:
        schema = loader.schema
        assert schema is not None  # a loaded loader has one
        payload = {"path": str(args.path), "label": schema.label,
                   "label_guessed": schema.label_guessed, "warnings": list(loader.warnings),
                   "checks": [r.to_dict() for r in results],
                   "notices": [{"level": n.level, "message": n.message} for n in notices],
                   "summary": {s: counts.get(s, 0) for s in ("pass", "warn", "fail")},
                   "seconds": round(seconds, 3)}
        out.write(json.dumps(payload) + "\n")
    else:
        out.write(format_table(results) + "\n")
        for warning in loader.warnings:   # what the checks ran on: a guessed label, ignored row names
            out.write(f"warning: {warning}\n")
        out.write(f"\n{args.path}: {counts.get('pass', 0)} passed, {counts.get('warn', 0)} warned, "
                  f"{counts.get('fail', 0)} failed in {seconds:.1f} s\n")
    out.flush()  # written out now, whatever happens to the process at exit
    return 1 if counts.get("fail") else 0


def format_table(results: list[CheckResult], width: int | None = None) -> str:
    """Status, name and reason in aligned columns; the hint on its own line under a non-passing reason."""
    width = width or max(shutil.get_terminal_size((120, 24)).columns, 80)
    name_width = max([len("CHECK"), *(len(r.name) for r in results)])
    indent = 8 + name_width + 2
    text_width = max(width - indent, 40)
    lines = [f"{'STATUS':<8}{'CHECK':<{name_width}}  REASON"]
    for result in results:
        reason = textwrap.wrap(result.reason, text_width) or [""]
        lines.append(f"{_MARKS[result.status]:<8}{result.name:<{name_width}}  {reason[0]}")
        lines.extend(" " * indent + line for line in reason[1:])
        if result.hint and result.status != "pass":
            hint = textwrap.wrap("hint: " + result.hint, text_width)
            lines.extend(" " * indent + line for line in hint)
    return "\n".join(lines)
