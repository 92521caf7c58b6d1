"""Checks over the batches themselves: coverage, finiteness, shapes, split, and determinism."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from udl_core.batch_source import BatchSource, SplitArrays
from udl_core.streaming import CHUNK_ROWS
from udl_core.training.checks._context import CheckContext
from udl_core.training.checks._result import CheckResult

__all__ = ["batch_checks", "batch_hash", "determinism_check"]


def batch_hash(batch: Any) -> str:
    """A content hash of one batch: x, y and the row indices, with their dtypes and shapes."""
    digest = hashlib.blake2b(digest_size=8)
    for part in (batch.x, batch.y, batch.rows):
        arr = np.ascontiguousarray(part)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _iter_batches(loader: BatchSource, split: str, epoch: int, prefetch: bool) -> Iterator[SplitArrays]:
    try:
        return iter(loader.batches(split, epoch=epoch, prefetch=prefetch))
    except TypeError:  # a loader without the prefetch switch
        return iter(loader.batches(split, epoch=epoch))


@dataclass
class _Scan:
    """What one pass over a split's batches saw."""

    hashes: list[str] = field(default_factory=list)
    # How often each row id in [0, limit) was seen (saturating at 255), and the ids outside it:
    # one byte a row, where a list of every batch's ids and their sorted copies cost 30+ bytes.
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    outside: list[np.ndarray] = field(default_factory=list)
    rows_seen: int = 0
    pending: list[np.ndarray] = field(default_factory=list)   # counted CHUNK_ROWS ids at a time
    pending_rows: int = 0
    shape_problem: str | None = None
    nonfinite: list[tuple[int, str, int]] = field(default_factory=list)   # (batch, column, count)
    nonfinite_total: int = 0
    first: tuple[Any, ...] | None = None


def _scan(ctx: CheckContext, split: str, limit: int | None = None) -> Generator[None, None, _Scan]:
    """One pass over epoch 0 of `split`; the row ids are counted when `limit` is given. Yields None
    after each batch (a chance to stop)."""
    scan = _Scan(counts=np.zeros(limit or 0, np.uint8))
    batch_size = int(getattr(ctx.loader, "batch_size", 0) or 0)
    batches = _iter_batches(ctx.loader, split, 0, prefetch=False)
    try:
        for position, batch in enumerate(batches):
            x, y, rows = np.asarray(batch.x), np.asarray(batch.y), np.asarray(batch.rows)
            scan.hashes.append(batch_hash(batch))
            if limit is not None:
                _count_rows(scan, np.array(rows, np.int64).ravel())   # a copy: a loader may reuse its buffers
            signature = (x.ndim, x.shape[1:], x.dtype.str, y.ndim, y.dtype.str)
            if scan.first is None:
                scan.first = signature
            if scan.shape_problem is None:
                scan.shape_problem = _shape_problem(position, x, y, rows, signature, scan.first, batch_size)
            bad = ~np.isfinite(x)
            if bad.any():
                counts = bad.reshape(len(x), -1).sum(axis=0)
                column = int(np.argmax(counts))
                scan.nonfinite.append((position, _column_name(ctx, column), int(bad.sum())))
                scan.nonfinite_total += int(bad.sum())
            if y.dtype.kind == "f" and not np.isfinite(y).all():
                bad_y = int((~np.isfinite(y)).sum())
                scan.nonfinite.append((position, f"the label '{ctx.label_name}'", bad_y))
                scan.nonfinite_total += bad_y
            yield None
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    if limit is not None:
        _count_rows(scan, None)
    return scan


def _count_rows(scan: _Scan, rows: np.ndarray | None) -> None:
    """Count a batch's row ids (None: count what is pending)."""
    if rows is not None:
        scan.rows_seen += rows.size
        scan.pending.append(rows)
        scan.pending_rows += rows.size
        if scan.pending_rows < CHUNK_ROWS:
            return
    if not scan.pending:
        return
    rows = np.concatenate(scan.pending)
    scan.pending, scan.pending_rows = [], 0
    inside = (rows >= 0) & (rows < scan.counts.size)
    if not inside.all():
        scan.outside.append(rows[~inside])
        rows = rows[inside]
    ids, times = np.unique(rows, return_counts=True)
    scan.counts[ids] = np.minimum(scan.counts[ids] + times, 255)


def _row_limit(ctx: CheckContext) -> int:
    """One more than the largest row id of either split (0 when empty), read a chunk at a time."""
    top = -1
    for rows in (ctx.train_rows, ctx.val_rows):
        for start in range(0, len(rows), CHUNK_ROWS):
            part = np.asarray(rows[start:start + CHUNK_ROWS])
            top = max(top, int(part.max()))
            ctx.touched(part.nbytes)
    return top + 1


def _row_mask(ctx: CheckContext, rows: np.ndarray, limit: int) -> np.ndarray:
    """A bool per row id in [0, limit): whether it is in `rows` (non-negative ids below `limit`)."""
    mask = np.zeros(limit, bool)
    for start in range(0, len(rows), CHUNK_ROWS):
        part = np.asarray(rows[start:start + CHUNK_ROWS], np.int64)
        mask[part] = True
        ctx.touched(part.nbytes)
    return mask


def _column_name(ctx: CheckContext, column: int) -> str:
    name = ctx.feature_names[column] if column < len(ctx.feature_names) else f"f{column}"
    return f"feature '{name}'"


def _shape_problem(position: int, x: np.ndarray, y: np.ndarray, rows: np.ndarray, signature: tuple[Any, ...],
                   first: tuple[Any, ...], batch_size: int) -> str | None:
    if x.ndim != 2:
        return f"batch {position} has x of shape {x.shape}, not [batch, features]"
    if signature != first:
        return (f"batch {position} has x {x.dtype} {list(x.shape)} and y {y.dtype} {list(y.shape)}, "
                f"unlike batch 0 (x {np.dtype(first[2])} [B, {', '.join(map(str, first[1]))}], "
                f"y {np.dtype(first[4])})")
    if y.ndim != 1 or len(y) != len(x) or len(rows) != len(x):
        return f"batch {position} has {len(x)} rows of x but y of shape {list(y.shape)} and {len(rows)} row indices"
    if x.dtype != np.float32:
        return f"batch {position} has x of dtype {x.dtype}, not float32"
    if batch_size and len(x) > batch_size:
        return f"batch {position} has {len(x)} rows, more than the batch size {batch_size}"
    return None


def batch_checks(ctx: CheckContext) -> Iterator[CheckResult | None]:
    train = yield from _scan(ctx, "train", _row_limit(ctx))
    ctx.epoch_hashes = train.hashes
    val = (yield from _scan(ctx, "val")) if len(ctx.val_y) else _Scan()
    yield (yield from _coverage(ctx, train))
    yield _finite(ctx, train, val)
    yield _shapes(ctx, train, val)
    yield _disjoint(ctx)


def _coverage(ctx: CheckContext, scan: _Scan) -> Generator[None, None, CheckResult]:
    name = "batches.coverage"
    counts, limit = scan.counts, scan.counts.size
    outside = np.concatenate(scan.outside) if scan.outside else np.zeros(0, np.int64)
    out_values, out_counts = np.unique(outside, return_counts=True)
    expected = _row_mask(ctx, ctx.train_rows, limit)
    ctx.shared["train_mask"] = expected
    details = {"batches": len(scan.hashes), "rows_seen": scan.rows_seen, "train_rows": int(len(ctx.train_rows))}
    repeats = int(np.count_nonzero(counts > 1))
    out_repeats = out_values[out_counts > 1]
    if repeats or out_repeats.size:
        candidates = [int(v) for v in out_repeats[:1]] + ([int(np.argmax(counts > 1))] if repeats else [])
        candidates += [int(v) for v in out_repeats[out_repeats >= limit][:1]]
        row = min(candidates)
        times, where_ = yield from _where_row(ctx, row)
        return CheckResult(name, "fail",
                           f"row {row} appears {times} times in one epoch "
                           f"(batches {', '.join(map(str, where_))}); {repeats + out_repeats.size} rows repeat "
                           "in all.",
                           "The sampler should visit each training row once per epoch: check the "
                           "shuffle/permutation and the batch slicing.",
                           {**details, "repeated": repeats + int(out_repeats.size)})
    inside_extra = (counts > 0) & ~expected
    n_extra = int(np.count_nonzero(inside_extra)) + int(out_values.size)
    if n_extra:
        candidates = [int(v) for v in out_values[:1]] + [int(v) for v in out_values[out_values >= limit][:1]]
        if inside_extra.any():
            candidates.append(int(np.argmax(inside_extra)))
        return CheckResult(name, "fail",
                           f"row {min(candidates)} appears in a training batch but is not in the training split "
                           f"({n_extra} such rows).",
                           "Training batches must draw only from the training split's rows.",
                           {**details, "extra": n_extra})
    missing_mask = expected & (counts == 0)
    missing = int(np.count_nonzero(missing_mask))
    if missing:
        batch_size = int(getattr(ctx.loader, "batch_size", 0) or 0)
        dropped = bool(getattr(ctx.loader, "drop_last", False)) and missing < max(batch_size, 1)
        if dropped:
            return CheckResult(name, "pass",
                               f"every training row but the {missing} of the dropped last partial batch "
                               f"appears once in {len(scan.hashes)} batches.", "", details)
        return CheckResult(name, "fail",
                           f"{missing} training rows never appear in an epoch (row {int(np.argmax(missing_mask))} "
                           "first).",
                           "Check the batch count: the last partial batch is probably cut off.",
                           {**details, "missing": missing})
    return CheckResult(name, "pass",
                       f"each of the {len(ctx.train_rows):,} training rows appears exactly once in the "
                       f"{len(scan.hashes):,} batches of an epoch.", "", details)


def _where_row(ctx: CheckContext, row: int) -> Generator[None, None, tuple[int, list[int]]]:
    """How often `row` appears in epoch 0 and the first 3 batches holding it: a second pass, made
    only when a row repeats, so that the first one keeps no row ids."""
    times, where_ = 0, list[int]()
    batches = _iter_batches(ctx.loader, "train", 0, prefetch=False)
    try:
        for position, batch in enumerate(batches):
            hits = int(np.count_nonzero(np.asarray(batch.rows) == row))
            times += hits
            if hits and len(where_) < 3:
                where_.append(position)
            yield None
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    return times, where_


def _finite(ctx: CheckContext, train: _Scan, val: _Scan) -> CheckResult:
    name = "batches.finite"
    problems = [("training", p) for p in train.nonfinite] + [("validation", p) for p in val.nonfinite]
    if problems:
        split, (batch, column, count) = problems[0]
        total = train.nonfinite_total + val.nonfinite_total
        return CheckResult(name, "fail",
                           f"{split} batch {batch} holds {count} NaN or inf values ({column} among them); "
                           f"{total} in {len(problems)} batches in all.",
                           "Impute or drop missing values and check for divisions by zero or overflowing "
                           "values before batching; a single NaN turns the loss into NaN.",
                           {"batches_with_nonfinite": len(problems), "values": total,
                            "first_batch": batch, "split": split})
    return CheckResult(name, "pass",
                       f"no NaN or inf in any of the {len(train.hashes) + len(val.hashes):,} processed batches.",
                       "", {"batches": len(train.hashes) + len(val.hashes)})


def _shapes(ctx: CheckContext, train: _Scan, val: _Scan) -> CheckResult:
    name = "batches.shapes"
    problem = train.shape_problem or (val.shape_problem and "validation " + val.shape_problem)
    if train.first is not None and val.first is not None and val.first != train.first and not problem:
        problem = "validation batches have a different x or y shape or dtype than training batches"
    if problem:
        return CheckResult(name, "fail", problem[0].upper() + problem[1:] + ".",
                           "Every batch should be x float32 [B, D] and y [B] with the same D and dtypes.")
    if train.first is None:
        return CheckResult(name, "fail", "the training split gave no batches.",
                           "Check val_fraction and the number of rows.")
    width = train.first[1]
    return CheckResult(name, "pass",
                       f"every batch is x {np.dtype(train.first[2])} [B, {', '.join(map(str, width))}] "
                       f"with y {np.dtype(train.first[4])} [B].", "",
                       {"x_dtype": np.dtype(train.first[2]).name, "feature_dim": list(width),
                        "y_dtype": np.dtype(train.first[4]).name})


def _disjoint(ctx: CheckContext) -> CheckResult:
    name = "batches.disjoint"
    # Bitmaps over the row ids, not np.intersect1d: its sorted copies of both splits cost 24+ bytes a row.
    limit = _row_limit(ctx)
    train = ctx.shared.get("train_mask")
    if train is None or train.size != limit:
        train = _row_mask(ctx, ctx.train_rows, limit)
    both = np.zeros(limit, bool)
    for start in range(0, len(ctx.val_rows), CHUNK_ROWS):
        part = np.asarray(ctx.val_rows[start:start + CHUNK_ROWS], np.int64)
        both[part[train[part]]] = True
        ctx.touched(part.nbytes)
    shared = int(np.count_nonzero(both))
    if shared:
        return CheckResult(name, "fail",
                           f"{shared} rows are in both the training and the validation split "
                           f"(row {int(np.argmax(both))} first).",
                           "Split the row indices once, into two disjoint sets, before shuffling.",
                           {"shared_rows": shared})
    return CheckResult(name, "pass",
                       f"the {len(ctx.train_rows):,} training rows and {len(ctx.val_rows):,} validation "
                       "rows are disjoint.", "", {"train": len(ctx.train_rows), "val": len(ctx.val_rows)})


def determinism_check(ctx: CheckContext) -> Iterator[CheckResult | None]:
    name = "determinism"
    first = ctx.epoch_hashes if ctx.epoch_hashes is not None else (yield from _scan(ctx, "train")).hashes
    # Compared as the second pass goes (its hashes are not kept): the first difference, and the count.
    second, differs = 0, None
    batches = _iter_batches(ctx.loader, "train", 0, prefetch=True)
    try:
        for position, batch in enumerate(batches):
            second += 1
            digest = batch_hash(batch)
            if position < len(first) and digest != first[position]:
                differs = (position, first[position], digest)
                break
            yield None
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    seed = getattr(ctx.loader, "seed", None)
    seed_text = f"seed {seed}" if seed is not None else "the same seed"
    details: dict[str, Any] = {"batches": len(first), "hashes": first[:5]}
    if differs is not None:
        position, a, b = differs
        yield CheckResult(name, "fail",
                          f"batch {position} differs between two passes over epoch 0 with {seed_text} "
                          f"(hash {a} vs {b}).",
                          "Seed every random choice (split, shuffle, augmentation) from the loader's "
                          "seed and avoid thread-order dependence in prefetching.",
                          {**details, "first_difference": position, "hash_a": a, "hash_b": b})
        return
    if len(first) != second:
        yield CheckResult(name, "fail",
                          f"two passes over epoch 0 with {seed_text} gave {len(first)} and {second} batches.",
                          "The number of batches per epoch must not depend on timing or prefetching.",
                          details)
        return
    rebuilt = yield from _rebuilt_differs(ctx, first, seed_text)
    if rebuilt is not None:
        yield CheckResult(name, "fail", rebuilt,
                          "Seed every random choice (split, shuffle) from the loader's seed; iterate sets and "
                          "dicts in a fixed order.", details)
        return
    direct = _direct_batches_differ(ctx, first)
    if direct is not None:
        yield CheckResult(name, "fail", direct,
                          "get_batch(i) and iteration must build batch i from the same rows.", details)
        return
    shown = ", ".join(first[:3])
    how = "two loads and passes" if ctx.shared.get("rebuilt") else "two passes"
    yield CheckResult(name, "pass",
                      f"{how} with {seed_text} gave the same {len(first):,} batches "
                      f"(hashes {shown}{', ...' if len(first) > 3 else ''}).", "", details)


def _rebuilt_differs(ctx: CheckContext, hashes: list[str], seed_text: str) -> Generator[None, None, str | None]:
    """Load the same dataset again with the same options and compare the split and epoch 0."""
    loader = ctx.loader
    if not hasattr(loader, "iter_load") or ctx.train_x.size + ctx.val_x.size > ctx.budget.rebuild_values:
        return None
    if getattr(loader, "streamed", False):   # over the memory budget: a second load would double it
        return None
    clone = copy.copy(loader)
    for _event in clone.iter_load():   # its progress is not ours to show
        yield None
    if clone.train_data is None or clone.val_data is None or not (
            np.array_equal(clone.train_data.rows, ctx.train_rows) and np.array_equal(clone.val_data.rows, ctx.val_rows)):
        return f"loading the dataset again with {seed_text} gave a different train/validation split."
    again = _iter_batches(clone, "train", 0, prefetch=True)
    try:
        for position, (batch, expected) in enumerate(zip(again, hashes)):
            if batch_hash(batch) != expected:
                return (f"batch {position} differs after loading the dataset again with {seed_text} "
                        f"(hash {expected} vs {batch_hash(batch)}).")
            yield None
    finally:
        close = getattr(again, "close", None)
        if close is not None:
            close()
    ctx.shared["rebuilt"] = True
    return None


def _direct_batches_differ(ctx: CheckContext, hashes: list[str]) -> str | None:
    get_batch = getattr(ctx.loader, "get_batch", None)
    if get_batch is None or not hashes:
        return None
    for i in sorted({0, len(hashes) - 1}):
        try:
            batch = get_batch(i, split="train", epoch=0)
        except TypeError:
            batch = get_batch(i)
        if batch_hash(batch) != hashes[i]:
            return (f"get_batch({i}) differs from batch {i} of the epoch's iteration "
                    f"(hash {batch_hash(batch)} vs {hashes[i]}).")
    return None

