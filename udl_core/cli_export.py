"""`udl export PATH --out FILE.npz|FILE.parquet [--using W.safetensors]` (udl_core/data_export.py)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from udl_core import cli_args
from udl_core.data_export import check_export_path, export_loader, export_with_model
from udl_core.events import Notice, run_job

__all__ = ["run_export"]


def run_export(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    budget = getattr(args, "memory_budget", None)
    if args.using:
        written = run_job(export_with_model(args.using, args.path, args.out, budget), _warn)
        print(f"wrote {written} (preprocessed with {args.using})", file=out)
        return 0
    check_export_path(args.out, args.path, args.labels)   # before the (possibly long) load
    loader = cli_args.loader_from_args(args)
    for warning in getattr(loader, "warnings", None) or ():
        print(f"warning: {warning}", file=sys.stderr)
    written = export_loader(loader, args.out)
    print(f"wrote {written}: {loader.num_train + loader.num_val:,} rows x {loader.feature_dim:,} features", file=out)
    return 0


def _warn(event: object) -> None:
    if isinstance(event, Notice) and event.level == "warning":
        print(f"warning: {event.message}", file=sys.stderr)
