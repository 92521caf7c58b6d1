"""`udl inspect` and `udl batch`: what the loader sees, for people and for scripts.

Human mode prints aligned tables; `--json` prints one JSON object (NaN and infinity become
null, dates ISO strings, so any JSON parser reads it). Warnings and notes are part of the
answer (stdout), not of stderr: they describe the data.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import decimal
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from udl_core import cli_args
from udl_core.errors import ConfigError
from udl_core.formats.bounded import format_size
from udl_core.health import HealthSummary, epoch_health, summarize
from udl_core.loader import UnifiedDataLoader
from udl_core.preprocess import Preprocessor
from udl_core.schema import Schema
from udl_core.table import Table

__all__ = ["batch_report", "inspect_report", "print_warnings", "run_batch", "run_inspect"]

QUARANTINE_SHOWN = 20
HUMAN_COLUMNS = 8


def to_json(value: Any) -> Any:
    """A JSON-safe copy of `value`: NaN/inf -> None, numpy -> python, dates -> ISO text."""
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [to_json(v) for v in value.tolist()]
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return to_json(float(value))
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _estimate_dict(estimate: object) -> dict[str, Any] | None:
    if estimate is None:
        return None
    if dataclasses.is_dataclass(estimate) and not isinstance(estimate, type):
        fields = dataclasses.asdict(estimate)
    else:
        fields = dict(vars(estimate))
    return {**fields, "text": str(estimate)}


def _loaded(loader: UnifiedDataLoader) -> tuple[Table, Schema, Preprocessor]:
    """The loaded loader's table, schema and preprocessing (the commands load before they report)."""
    if loader.table is None or loader.schema is None or loader.preprocessor is None:
        raise ConfigError("the loader is not loaded; call loader.load() first")
    return loader.table, loader.schema, loader.preprocessor


def inspect_report(loader: UnifiedDataLoader) -> dict[str, Any]:
    """Everything `udl inspect --json` prints, as a dict."""
    table, schema, preprocessor = _loaded(loader)
    report: dict[str, Any] = to_json({
        "source": table.source,
        "format": table.format,
        "rows": table.num_rows,
        "labelled_rows": loader.num_train + loader.num_val,
        "columns": [dataclasses.asdict(c) for c in schema.columns],
        "features": schema.features,
        "feature_names": loader.feature_names,
        "feature_dim": loader.feature_dim,
        "dropped": preprocessor.dropped,
        "label": schema.label,
        "label_guessed": schema.label_guessed,
        "label_candidates": list(schema.label_candidates),
        "task": schema.task,
        "classes": list(schema.classes),
        "class_counts": schema.class_counts,
        "num_train": loader.num_train,
        "num_val": loader.num_val,
        "batch_size": loader.batch_size,
        "batches": len(loader),
        "quarantine": [dataclasses.asdict(r) for r in table.quarantine],
        "warnings": loader.warnings,
        "notes": table.notes,
        "estimate": _estimate_dict(loader.estimate),
        "streamed": loader.streamed,
        "memory_budget": loader.memory_budget,
    })
    return report


def batch_report(loader: UnifiedDataLoader, index: int, split: str = "train", epoch: int = 0) -> dict[str, Any]:
    """Everything `udl batch --json` prints, as a dict."""
    batch = loader.get_batch(index, split=split, epoch=epoch)
    _, schema, _ = _loaded(loader)
    report: dict[str, Any] = to_json({
        "index": batch.index,
        "split": split,
        "epoch": epoch,
        "seed": loader.seed,
        "batch_size": loader.batch_size,
        "batches": loader.num_batches(split),
        "rows": batch.rows,
        "raw": batch.raw(),
        "x": batch.x,
        "y": batch.y,
        "feature_names": list(batch.feature_names),
        "label": schema.label,
        "label_guessed": schema.label_guessed,
        "task": schema.task,
        "classes": list(schema.classes),
        "warnings": loader.warnings,
    })
    return report


# human output ---------------------------------------------------------------------------
def _cell(value: Any, width: int = 14) -> str:
    if isinstance(value, float):
        text = "nan" if math.isnan(value) else f"{value:.6g}"
    elif isinstance(value, np.ndarray):
        text = f"<{'x'.join(map(str, value.shape))} {value.dtype}>"
    elif value is None:
        text = "null"
    else:
        text = str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[bool], out: TextIO,
           indent: str = "  ", first_width: int = 14) -> None:
    cells = [[_cell(v, first_width if j == 0 else 20) for j, v in enumerate(row)] for row in rows]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)]
        return (indent + "  ".join(parts)).rstrip()

    print(line(header), file=out)
    for row in cells:
        print(line(row), file=out)


def _print_quarantine(loader: UnifiedDataLoader, out: TextIO) -> None:
    records = loader.quarantine
    if not records:
        return
    print(f"quarantine: {len(records)} malformed record(s) skipped", file=out)
    for record in records[:QUARANTINE_SHOWN]:
        print(f"  {record.location}: {record.reason}", file=out)
    if len(records) > QUARANTINE_SHOWN:
        print(f"  ... and {len(records) - QUARANTINE_SHOWN} more", file=out)


def print_inspect(loader: UnifiedDataLoader, out: TextIO) -> None:
    table, schema, preprocessor = _loaded(loader)
    print(f"{table.source}  ({table.format}, {table.num_rows:,} rows, {len(schema.columns)} columns)", file=out)
    _table(("column", "type", "kind", "role", "missing", "distinct"),
           [(c.name, c.dtype, c.kind, c.role, c.missing, "-" if c.kind == "tensor" else c.distinct)
            for c in schema.columns],
           (False, False, False, False, True, True), out, first_width=40)
    line = f"label: {schema.label}   task: {schema.task}"
    if schema.task == "classification":
        counts = ", ".join(f"{name}: {schema.class_counts.get(name, 0)}" for name in schema.classes[:12])
        more = f", ... {len(schema.classes) - 12} more" if len(schema.classes) > 12 else ""
        line += f"   classes: {len(schema.classes)} ({counts}{more})"
    print(line, file=out)
    print(f"features: {len(schema.features)} column(s) -> {loader.feature_dim} processed feature(s)"
          + (f", dropped: {', '.join(preprocessor.dropped)}" if preprocessor.dropped else ""),
          file=out)
    print(f"split: {loader.num_train:,} train / {loader.num_val:,} val rows; batch size {loader.batch_size}"
          f" -> {len(loader)} batch(es) per epoch", file=out)
    print(f"memory budget: {format_size(loader.memory_budget)}", file=out)
    if loader.estimate is not None:
        print(f"estimate: {loader.estimate}", file=out)
    if loader.streamed:
        print("streamed: over the memory budget, rows are memory-mapped from disk", file=out)
    for note in table.notes:
        print(f"note: {note}", file=out)
    skipped = f"{len(loader.quarantine)} malformed record(s) were skipped"
    for warning in loader.warnings:
        if not (loader.quarantine and warning.startswith(skipped)):   # listed in full below
            print(f"warning: {warning}", file=out)
    _print_quarantine(loader, out)


def print_batch(loader: UnifiedDataLoader, index: int, split: str, out: TextIO) -> None:
    batch = loader.get_batch(index, split=split)
    count = loader.num_batches(split)
    print(f"batch {index} of {count} ({split}, epoch 0, seed {loader.seed}): {len(batch)} row(s), "
          f"x {batch.x.shape[0]}x{batch.x.shape[1]} {batch.x.dtype}, y {batch.y.dtype}", file=out)
    raw = batch.raw()
    names = list(raw)[:HUMAN_COLUMNS]
    hidden = len(raw) - len(names)
    print("raw" + (f" (first {len(names)} of {len(raw)} columns)" if hidden else "") + ":", file=out)
    _table(["row", *names], [[int(r), *(raw[n][i] for n in names)] for i, r in enumerate(batch.rows)],
           [True] + [False] * len(names), out)
    features = list(batch.feature_names)[:HUMAN_COLUMNS]
    shown = len(features)
    print("processed" + (f" (first {shown} of {len(batch.feature_names)} features)"
                         if shown < len(batch.feature_names) else "") + ":", file=out)
    classes = _loaded(loader)[1].classes
    rows = []
    for i, r in enumerate(batch.rows):
        y = batch.y[i]
        target = (f"{int(y)} ({classes[int(y)]})" if loader.task == "classification" and 0 <= int(y) < len(classes)
                  else f"{float(y):.6g}")
        rows.append([int(r), *(float(v) for v in batch.x[i, :shown]), target])
    _table(["row", *features, "y"], rows, [True] * (shown + 1) + [False], out)
    print_warnings(loader, out)


def print_warnings(loader: UnifiedDataLoader, out: TextIO) -> None:
    """The load's warnings (a guessed label, ignored row names, ...), one `warning:` line each."""
    for warning in loader.warnings:
        print(f"warning: {warning}", file=out)


# commands -------------------------------------------------------------------------------
def _load(args: argparse.Namespace) -> UnifiedDataLoader:
    return cli_args.loader_from_args(args)


def run_inspect(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    loader = _load(args)
    if args.json:
        print(json.dumps(inspect_report(loader), allow_nan=False), file=out)
    else:
        print_inspect(loader, out)
    return 0


def run_batch(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    loader = _load(args)
    split = getattr(args, "split", "train")
    health = summarize(epoch_health(loader, split)) if getattr(args, "health", False) else None
    if args.json:
        report = batch_report(loader, args.index, split)
        if health is not None:
            report["health"] = to_json(health.to_dict())
        print(json.dumps(report, allow_nan=False), file=out)
    else:
        print_batch(loader, args.index, split, out)
        if health is not None:
            print_health(health, split, out)
    return 0


def print_health(health: HealthSummary, split: str, out: TextIO) -> None:
    """`udl batch --health`: the epoch's data health, the numbers the window's health strip shows."""
    bad = f" in {health.nonfinite_batches} batch(es)" if health.nonfinite else ""
    print(f"health ({split}, epoch 0): {health.batches} batch(es), NaN/inf values: {health.nonfinite}{bad}", file=out)
    print(f"  feature mean {_cell(health.mean)} (batches {_cell(health.mean_min)} to {_cell(health.mean_max)}), "
          f"std {_cell(health.std)}", file=out)
    for warning in health.warnings:
        print(f"warning: {warning}", file=out)
