"""Scaling and leakage: statistics of the processed features and of the raw columns behind them."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.events import run_job
from udl_core.loader import take_rows
from udl_core.schema import parse_numbers
from udl_core.streaming import CHUNK_ROWS
from udl_core.training.checks._context import CheckContext, fmt, name_list
from udl_core.training.checks._one_feature import (MARGIN_POINTS, MIN_ROWS, OneFeatureScore, margin_met,
                                                   nn_accuracy, nn_r2, rule_text)
from udl_core.training.checks._result import CheckResult

__all__ = ["leakage_checks", "loo_accuracy", "loo_r2", "scaling_checks"]

MEAN_TOLERANCE = 0.5        # |mean| of a standardized column beyond this is off
STD_RANGE = (0.2, 2.0)      # median imputation of many missing values shrinks the std below 1
UNSCALED = 10.0             # a mean or std beyond this means "not standardized at all"
RAW_ORDERS = 3              # raw column scales this many orders of magnitude apart get named
MAX_LEAK_COLUMNS = 64       # array features: single-column leakage looks at this many at most


@dataclass(frozen=True)
class RawColumn:
    """One raw feature column at the sampled training rows, as float64 (NaN = missing)."""

    name: str
    kind: str
    values: np.ndarray
    whole: bool            # every value a whole number (an id candidate)


def raw_columns(ctx: CheckContext, positions: np.ndarray) -> list[RawColumn] | None:
    """Raw feature columns of a tabular dataset at train positions `positions`; None for arrays."""
    if "raw_columns" in ctx.shared:
        return ctx.shared["raw_columns"]
    table = getattr(ctx.loader, "table", None)
    schema = getattr(ctx.loader, "schema", None)
    columns = getattr(table, "columns", None)
    if columns is None or schema is None:
        ctx.shared["raw_columns"] = None
        return None
    # The validation rows come in the same take, so that a category has one code in both splits.
    train_rows = np.asarray(ctx.train_rows[positions], np.int64)
    rows = np.concatenate([train_rows, np.asarray(ctx.val_rows[ctx.val_sample], np.int64)])
    # One name-to-position map and one take over the table: per column, neither a scan of
    # every name nor its own kernel call (linear in the columns, issue 9).
    position = {name: i for i, name in enumerate(columns.column_names)}
    wanted = [info for info in schema.feature_columns
              if info.name in position and info.kind not in ("text", "tensor")]
    # batch by batch, pages released between: a take over a streamed (memory-mapped) table reads all of it
    taken = take_rows(columns.select([position[info.name] for info in wanted]), rows, ctx.touched)
    out, val = [], []
    for j, info in enumerate(wanted):
        both = _as_float(taken.column(j), info.kind)
        values = both[:len(train_rows)]
        finite = values[np.isfinite(values)]
        whole = bool(finite.size) and info.kind == "numeric" and bool(np.all(finite == np.round(finite)))
        out.append(RawColumn(info.name, info.kind, values, whole))
        val.append(both[len(train_rows):])
    ctx.shared["raw_columns"] = out
    ctx.shared["raw_val_columns"] = val
    return out


def _as_float(column: pa.ChunkedArray, kind: str) -> np.ndarray:
    kind_type = column.type
    if kind in ("categorical", "text") or (kind != "numeric" and (pa.types.is_string(kind_type)
                                                                  or pa.types.is_dictionary(kind_type))):
        codes = pc.dictionary_encode(column.combine_chunks())
        values = codes.indices.to_numpy(zero_copy_only=False).astype(np.float64)
        values[np.asarray(codes.is_null())] = np.nan
        return values
    if pa.types.is_string(kind_type) or pa.types.is_large_string(kind_type) or pa.types.is_dictionary(kind_type):
        column = parse_numbers(column)
    elif pa.types.is_boolean(kind_type):
        column = pc.cast(column, pa.int8())
    elif pa.types.is_timestamp(kind_type) or pa.types.is_date(kind_type) or pa.types.is_duration(kind_type):
        column = pc.cast(pc.cast(column, pa.timestamp("us")) if pa.types.is_date(kind_type) else column,
                         pa.int64())
    values = np.array(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


# --- scaling -------------------------------------------------------------------------------------

def scaling_checks(ctx: CheckContext) -> Iterator[CheckResult]:
    yield _standardized(ctx)
    yield _raw_scales(ctx)


def _standardized(ctx: CheckContext) -> CheckResult:
    name = "scaling.standardized"
    x = ctx.sample_x.astype(np.float64)
    if x.size == 0:
        return CheckResult(name, "pass", "there are no feature values to check.")
    layout = getattr(getattr(ctx.loader, "schema", None), "layout", "tabular")
    ok = np.isfinite(x)
    binary = np.all((x == 0) | (x == 1) | ~ok, axis=0) & ok.any(axis=0)
    if layout == "image":  # per-channel standardization: judge the pixels as a whole
        x, ok, names = x.reshape(-1, 1), ok.reshape(-1, 1), ["all pixels"]
    else:
        keep = ~binary
        x, ok = x[:, keep], ok[:, keep]
        names = [n for n, k in zip(ctx.feature_names, keep) if k]
    count = ok.sum(axis=0)
    with np.errstate(all="ignore"):  # all-NaN columns give NaN statistics; batches.finite names them
        mean = np.where(ok, x, 0).sum(axis=0) / count
        std = np.sqrt(np.where(ok, (x - mean) ** 2, 0).sum(axis=0) / count)
    usable = count > 0
    mean, std, names = mean[usable], std[usable], [n for n, u in zip(names, usable) if u]
    details: dict[str, Any] = {"columns": len(names), "binary_columns": int(binary.sum())}
    if not len(names):
        return CheckResult(name, "pass", f"all {int(binary.sum())} processed features are 0/1 indicators.", "",
                           details)
    off_mean = np.abs(np.nan_to_num(mean, nan=0.0))
    worst = int(np.argmax(np.maximum(off_mean, np.nan_to_num(std, nan=0.0))))
    details.update(max_abs_mean=float(off_mean.max()), min_std=float(np.nanmin(std)), max_std=float(np.nanmax(std)))
    unscaled = [names[i] for i in range(len(names)) if off_mean[i] > UNSCALED or std[i] > UNSCALED]
    if unscaled:
        return CheckResult(name, "fail",
                           f"processed feature '{names[worst]}' has mean {fmt(float(mean[worst]))} and std "
                           f"{fmt(float(std[worst]))} on the training split, so it was not standardized "
                           f"({len(unscaled)} such features).",
                           "Standardize numeric features with statistics from the training split "
                           "(subtract the mean, divide by the std).", {**details, "unscaled": unscaled[:20]})
    off = [names[i] for i in range(len(names))
           if off_mean[i] > MEAN_TOLERANCE or not (STD_RANGE[0] <= std[i] <= STD_RANGE[1])]
    if off:
        i = names.index(off[0])
        return CheckResult(name, "warn",
                           f"processed feature '{off[0]}' has mean {fmt(float(mean[i]))} and std "
                           f"{fmt(float(std[i]))} on the training split, away from 0 and 1 "
                           f"({len(off)} such features).",
                           "A std far below 1 often means most values were missing and imputed; "
                           "a mean far from 0 means the statistics came from other rows.", {**details, "off": off[:20]})
    if layout == "image":
        return CheckResult(name, "pass", f"the pixels have mean {float(mean[0]):.3f} and std {float(std[0]):.3f} "
                           "on the training split.", "", details)
    return CheckResult(name, "pass",
                       f"the {len(names)} standardized features have |mean| <= {float(off_mean.max()):.3f} and "
                       f"std {float(np.nanmin(std)):.3f} to {float(np.nanmax(std)):.3f} on the training split.",
                       "", details)


def _raw_scales(ctx: CheckContext) -> CheckResult:
    name = "scaling.raw_columns"
    columns = raw_columns(ctx, ctx.sample)
    if columns is None:
        return CheckResult(name, "pass", "the features are one array, so there are no raw columns to compare.")
    scales = []
    for column in columns:
        if column.kind != "numeric":
            continue
        values = column.values[np.isfinite(column.values)]
        std = float(values.std()) if values.size > 1 else 0.0
        if std > 0:
            scales.append((std, column.name))
    if len(scales) < 2:
        return CheckResult(name, "pass", f"{len(scales)} varying raw numeric column(s): nothing to compare.")
    scales.sort()
    (low, low_name), (high, high_name) = scales[0], scales[-1]
    orders = math.log10(high / low)
    details = {"scales": {n: s for s, n in scales}, "orders_of_magnitude": orders}
    if orders >= RAW_ORDERS:
        big = [n for s, n in scales if math.log10(s / low) >= RAW_ORDERS]
        return CheckResult(name, "warn",
                           f"raw column '{high_name}' (std {fmt(high)}) and '{low_name}' (std {fmt(low)}) differ "
                           f"by {orders:.0f} orders of magnitude; unscaled: {name_list(big[::-1])}.",
                           "UDL standardizes them for training here; scale them the same way in any other "
                           "pipeline, or a model sees mostly the largest column.", {**details, "large": big})
    return CheckResult(name, "pass",
                       f"raw numeric columns' scales are within {max(orders, 0):.1f} orders of magnitude "
                       f"('{high_name}' std {fmt(high)}, '{low_name}' std {fmt(low)}).", "", details)


# --- leakage -------------------------------------------------------------------------------------

def leakage_checks(ctx: CheckContext) -> Iterator[CheckResult | None]:
    yield (yield from _duplicates(ctx))
    columns = _leak_columns(ctx)
    yield _label_in_features(ctx, columns)
    yield (yield from _single_feature(ctx, columns))


def _row_hashes(x: np.ndarray, seed: int, touched: Callable[[int], object] | None = None) -> np.ndarray:
    """`_hash_rows` run to the end."""
    return run_job(_hash_rows(x, seed, touched))


def _hash_rows(x: np.ndarray, seed: int, touched: Callable[[int], object] | None = None
               ) -> Generator[None, None, np.ndarray]:
    """A 64-bit hash of each row's exact bytes (float32 bit patterns), a chunk of rows at a time
    (no copy of `x`: it may be a memory-mapped split, whose pages `touched` releases as it goes);
    yields None between chunks."""
    width = int(np.prod(x.shape[1:]))
    coeffs = np.random.default_rng(seed).integers(1, 2**63, width, dtype=np.uint64) | np.uint64(1)
    out = np.empty(len(x), np.uint64)
    step = max(1, (1 << 18) // max(width, 1))   # each of the uint64 temporaries 2 MiB
    for start in range(0, len(x), step):
        part = np.ascontiguousarray(x[start:start + step], dtype=np.float32)
        part = np.where(part == 0, np.float32(0), part)  # -0.0 and 0.0 are the same value
        mixed = part.reshape(len(part), -1).view(np.uint32).astype(np.uint64) * coeffs
        out[start:start + step] = np.bitwise_xor.reduce(mixed ^ (mixed >> np.uint64(29)), axis=1) \
            + mixed.sum(axis=1, dtype=np.uint64)
        if touched is not None:
            touched(part.nbytes)
        yield None
    return out


def _duplicates(ctx: CheckContext) -> Generator[None, None, CheckResult]:
    name = "leakage.duplicates"
    if not len(ctx.val_y):
        return CheckResult(name, "pass", "there are no validation rows to compare with the training rows.")
    # The hashes sorted in place and walked a chunk at a time (np.isin and np.unique would make
    # several sorted and index copies of them); for a streamed split, in hash buckets of at most
    # an eighth of the memory budget, each hashed again, so no per-row array outgrows the budget.
    buckets = 1
    if getattr(ctx.loader, "streamed", False):
        bucket_bytes = max(_MIN_BUCKET_BYTES, int(getattr(ctx.loader, "memory_budget", 0) or 0) // 8)
        buckets = max(1, -(-8 * len(ctx.train_x) // bucket_bytes))
    shared = np.zeros(len(ctx.val_x), bool)
    distinct = singles = 0
    for bucket in range(buckets):
        train_h = (yield from _bucket_hashes(ctx, ctx.train_x, buckets, bucket, positions=False))[0]
        train_h.sort()
        counted = _distinct_and_singles(train_h)
        distinct, singles = distinct + counted[0], singles + counted[1]
        if not len(train_h):
            continue
        for start in range(0, len(ctx.val_x), CHUNK_ROWS):
            part, where = yield from _bucket_hashes(ctx, ctx.val_x[start:start + CHUNK_ROWS], buckets, bucket)
            at = np.minimum(np.searchsorted(train_h, part), len(train_h) - 1)
            shared[start + where[train_h[at] == part]] = True   # type: ignore[index]
        del train_h
    n_val = len(ctx.val_x)
    count = int(shared.sum())
    continuous = _has_continuous_feature(ctx)
    seen_share = 1.0 - float(singles) / max(len(ctx.train_x), 1)  # Good-Turing
    expected = 0.0 if continuous else seen_share * n_val
    details = {"val_rows_in_train": count, "val_rows": n_val, "continuous_features": continuous,
               "expected_by_chance": expected, "distinct_train_rows": distinct}
    if count == 0:
        return CheckResult(name, "pass",
                           f"none of the {n_val:,} validation rows is an exact copy of a training row.", "", details)
    first = int(np.flatnonzero(shared)[0])
    val_row = int(ctx.val_rows[first])
    train_row = int(ctx.train_rows[_first_with_hash(ctx, _row_hashes(ctx.val_x[first:first + 1], ctx.seed)[0])])
    share = count / n_val
    text = (f"{count} of {n_val:,} validation rows ({share:.1%}) are exact copies of training rows after "
            f"preprocessing (validation row {val_row} = training row {train_row})")
    hint = ("Deduplicate before splitting, or split by a group key (user, patient, file), so the validation "
            "score measures rows the model has not seen.")
    if not continuous:
        if count <= expected * 1.5 + 3 * math.sqrt(expected) + 3:
            return CheckResult(name, "pass",
                               f"{text}, about what {details['distinct_train_rows']:,} distinct discrete rows "
                               f"give by chance ({expected:.0f} expected).", "", details)
        return CheckResult(name, "warn", f"{text}, more than the {expected:.0f} expected by chance.", hint, details)
    status = "fail" if count >= 3 and share >= 0.01 else "warn"
    return CheckResult(name, status, text + ".", hint, details)


_MIN_BUCKET_BYTES = 1 << 20   # a streamed split's smallest hash bucket, whatever the budget


def _bucket_hashes(ctx: CheckContext, x: np.ndarray, buckets: int, bucket: int, positions: bool = True
                   ) -> Generator[None, None, tuple[np.ndarray, np.ndarray | None]]:
    """The row hashes of `x` that fall in `bucket` of `buckets` (by value), and their row positions
    when asked."""
    if buckets == 1:
        hashes = yield from _hash_rows(x, ctx.seed, ctx.touched)
        return hashes, np.arange(len(hashes)) if positions else None
    kept: list[np.ndarray] = []
    where: list[np.ndarray] = []
    step = CHUNK_ROWS // 4
    for start in range(0, len(x), step):
        part = yield from _hash_rows(x[start:start + step], ctx.seed, ctx.touched)
        mine = np.flatnonzero(part % np.uint64(buckets) == bucket)
        kept.append(part[mine])
        if positions:
            where.append(mine + start)
    if not kept:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64) if positions else None
    return np.concatenate(kept), np.concatenate(where) if positions else None


def _distinct_and_singles(hashes: np.ndarray) -> tuple[int, int]:
    """Of sorted `hashes`: how many distinct values, and how many occur once (a chunk at a time)."""
    n = len(hashes)
    distinct = singles = 0
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        low = max(0, start - 1)
        part = hashes[low:min(n, stop + 1)]      # with a neighbour either side
        differs = part[1:] != part[:-1]          # differs[k]: value low + k + 1 is not value low + k
        off, size = start - low, stop - start
        starts, ends = np.ones(size, bool), np.ones(size, bool)
        starts[1 - off:] = differs[:size + off - 1]
        last = min(size, len(differs) - off)
        ends[:last] = differs[off:off + last]
        distinct += int(np.count_nonzero(starts))
        singles += int(np.count_nonzero(starts & ends))
    return distinct, singles


def _first_with_hash(ctx: CheckContext, value: np.uint64) -> int:
    """The first training row (position in the split) whose hash is `value`, hashed again a chunk
    at a time: only a failing check needs it, so the hashes were not kept in row order."""
    step = CHUNK_ROWS // 4
    for start in range(0, len(ctx.train_x), step):
        hits = np.flatnonzero(_row_hashes(ctx.train_x[start:start + step], ctx.seed, ctx.touched) == value)
        if hits.size:
            return start + int(hits[0])
    raise AssertionError("a shared hash not found again among the training rows")


def _has_continuous_feature(ctx: CheckContext) -> bool:
    """True when some feature has so many distinct values that exact row copies cannot be chance."""
    x = ctx.sample_x
    n = len(x)
    if n < 20:
        return False
    for j in range(min(x.shape[1], 512)):
        if len(np.unique(x[:, j])) >= 0.5 * n:
            return True
    return False


def _leak_columns(ctx: CheckContext) -> list[RawColumn]:
    columns = raw_columns(ctx, ctx.sample)
    if columns is not None:
        return columns
    x = ctx.sample_x
    if x.shape[1] > MAX_LEAK_COLUMNS:
        return []
    return [RawColumn(n, "numeric", x[:, j].astype(np.float64), False) for j, n in enumerate(ctx.feature_names)]


def _label_in_features(ctx: CheckContext, columns: list[RawColumn]) -> CheckResult:
    name = "leakage.label_in_features"
    y = ctx.train_y[ctx.sample]
    label = ctx.label_name
    candidates = _copy_candidates(columns, y, ctx.classification)
    for column, candidate in zip(columns, candidates):
        if column.name.strip().lower() == label.strip().lower():
            return CheckResult(name, "fail", f"feature '{column.name}' has the label's name '{label}'.",
                               f"Ignore '{column.name}' (--ignore {column.name}).")
        if candidate and _is_label_copy(column.values, y, ctx.classification):
            return CheckResult(name, "fail",
                               f"feature '{column.name}' is a copy of the label '{label}' "
                               "(one value per label value, on every sampled row).",
                               f"Remove '{column.name}' from the features (--ignore {column.name}): "
                               "it will not be there at prediction time.", {"column": column.name})
    if not columns:
        return CheckResult(name, "pass", "too many array features to compare one by one with the label.")
    return CheckResult(name, "pass", f"none of the {len(columns)} features is a copy of the label '{label}'.")


def _copy_candidates(columns: list[RawColumn], y: np.ndarray, classification: bool) -> np.ndarray:
    """Which columns could be label copies, decided for a block of columns per numpy call (one
    exact test per column cost 17 ms at 6,400 rows: 25 s for 1,500 columns). Conservative: a
    copy has no more distinct values than the label (classification) or correlates with it
    almost perfectly (regression); `_is_label_copy` decides for the few that pass."""
    out = np.zeros(len(columns), bool)
    rows = np.isfinite(y) if y.dtype.kind == "f" else np.ones(len(y), bool)
    t = y[rows].astype(np.float64)
    if not len(columns) or rows.sum() < 10:
        return out
    labels = len(np.unique(t))
    step = max(1, (1 << 22) // len(t))
    for start in range(0, len(columns), step):
        block = np.stack([c.values[rows] for c in columns[start:start + step]], axis=1)
        if classification:
            block.sort(axis=0)                       # NaN sorts last
            new = np.ones(block.shape, bool)
            new[1:] = block[1:] != block[:-1]
            out[start:start + step] = (new & np.isfinite(block)).sum(axis=0) <= labels
            continue
        ok = np.isfinite(block)
        count = np.maximum(ok.sum(axis=0), 1)
        dv = np.where(ok, block - np.where(ok, block, 0).sum(axis=0) / count, 0)
        ty = np.where(ok, t[:, None], 0)
        dy = np.where(ok, t[:, None] - ty.sum(axis=0) / count, 0)
        with np.errstate(all="ignore"):
            corr = (dv * dy).sum(axis=0) / np.sqrt((dv * dv).sum(axis=0) * (dy * dy).sum(axis=0))
        out[start:start + step] = ~(np.abs(corr) < 0.999)   # NaN stays a candidate
    return out


def _is_label_copy(values: np.ndarray, y: np.ndarray, classification: bool) -> bool:
    ok = np.isfinite(values) & (np.isfinite(y) if y.dtype.kind == "f" else True)
    v, t = values[ok], y[ok]
    if len(v) < 10 or len(v) < 0.9 * len(values) or len(np.unique(t)) < 2:
        return False
    if classification:
        pairs = np.unique(np.stack([v, t.astype(np.float64)]), axis=1)
        return pairs.shape[1] == len(np.unique(v)) == len(np.unique(t))
    with np.errstate(all="ignore"):
        corr = np.corrcoef(v, t.astype(np.float64))[0, 1]
    return bool(np.isfinite(corr) and abs(corr) >= 0.99999)


def _val_columns(ctx: CheckContext, columns: list[RawColumn]) -> list[np.ndarray]:
    """`columns` at the sampled validation rows, in the same order."""
    shared = ctx.shared.get("raw_val_columns")
    if shared is not None and ctx.shared.get("raw_columns") is columns:
        return shared
    x = ctx.rows_of(ctx.val_x, ctx.val_sample)
    return [x[:, j].astype(np.float64) for j in range(len(columns))]


def _single_feature(ctx: CheckContext, columns: list[RawColumn]) -> Generator[None, None, CheckResult]:
    """Each feature alone, fitted on the sampled training rows and scored on the validation rows
    (leave-one-out on the training rows where there are none); see `_one_feature` for the rule."""
    name = "leakage.single_feature"
    y = ctx.train_y[ctx.sample]
    if not columns:
        return CheckResult(name, "pass", "too many array features to score one by one.")
    val_y = ctx.val_y[ctx.val_sample]
    val_values = _val_columns(ctx, columns) if len(val_y) else None
    if ctx.classification:
        valid = y >= 0
        counts = np.bincount(y[valid].astype(np.int64), minlength=max(ctx.num_classes, 1))
        if 1.0 - counts.max() / max(valid.sum(), 1) < 0.01 or ctx.num_classes > 500:
            return CheckResult(name, "pass", "the label barely varies, so single-feature scores mean little.")
        train_y = y[valid].astype(np.int64)
        keep = val_y >= 0
        if val_values is not None:
            scores = yield from _each(lambda c, v: nn_accuracy(c.values[valid], train_y, v[keep], val_y[keep],
                                                               ctx.num_classes), columns, val_values)
        else:
            majority = int((train_y == counts.argmax()).sum())

            def loo(c: RawColumn, _v: object) -> OneFeatureScore:
                s = loo_accuracy(c.values[valid], train_y, ctx.num_classes)
                return OneFeatureScore(s, 0, round(s * len(train_y)), majority)

            scores = yield from _each(loo, columns, None)
        best_score, best = max(scores, key=lambda s: s[0].score)
        rows = best_score.rows or int(valid.sum())
        majority_rate = best_score.majority_correct / max(rows, 1)
        baseline_error = 1.0 - majority_rate
        error = 1.0 - best_score.score
        beats = best_score.correct > best_score.majority_correct  # equal to the majority rate is no signal
        perfect = beats and error <= 0.01 * baseline_error + 2.0 / max(rows, 1)
        near = beats and error <= 0.05 * baseline_error + 1.0 / max(rows, 1)
        where = (f"on {best_score.rows:,} validation rows" if best_score.rows else
                 f"leave-one-out on {rows:,} training rows (no validation rows)")
        text = f"{best_score.score:.1%} accuracy {where}, against {majority_rate:.1%} for always guessing " \
               "the majority class"
        margin = margin_met(best_score)
    else:
        valid = np.isfinite(y)
        keep = np.isfinite(val_y)
        if val_values is not None:
            scores = yield from _each(lambda c, v: nn_r2(c.values[valid], y[valid], v[keep], val_y[keep]),
                                      columns, val_values)
        else:
            scores = yield from _each(lambda c, _v: OneFeatureScore(loo_r2(c.values[valid],
                                                                           y[valid].astype(np.float64)), 0),
                                      columns, None)
        best_score, best = max(scores, key=lambda s: s[0].score)
        perfect, near = best_score.score >= 0.999, best_score.score >= 0.99
        where = (f"on {best_score.rows:,} validation rows" if best_score.rows else
                 f"leave-one-out on {int(valid.sum()):,} training rows (no validation rows)")
        text = f"R^2 {best_score.score:.4f} {where}"
        margin = best_score.rows >= MIN_ROWS
    score = best_score.score
    details = {"column": best.name, "score": score, "validation_rows": best_score.rows,
               "scores": {c.name: s.score for s, c in scores}}
    if ctx.classification:
        details.update(majority_rate=best_score.majority_rate if best_score.rows else 1.0 - baseline_error,
                       margin_points=MARGIN_POINTS, min_rows=MIN_ROWS)
    distinct = len(np.unique(best.values[np.isfinite(best.values)]))
    id_like = best.whole and distinct >= 0.9 * len(best.values)
    few_values = distinct <= 2 * max(ctx.num_classes, 2) and ctx.classification
    leak = perfect and (id_like or few_values or not ctx.classification)
    if leak and margin:
        kind = "an id" if id_like else "a recoding of the label" if few_values else "derived from the label"
        return CheckResult(name, "fail",
                           f"feature '{best.name}' alone predicts the label '{ctx.label_name}' with {text}, "
                           f"so it looks like {kind} ({rule_text()}).",
                           f"Drop '{best.name}' (--ignore {best.name}) unless it will truly be known at "
                           "prediction time; row ids often encode the order the data was collected in.", details)
    if leak or near:
        why = "" if margin else f"; not failed: {rule_text()}"
        return CheckResult(name, "warn",
                           f"feature '{best.name}' alone predicts the label '{ctx.label_name}' with {text}{why}.",
                           "Make sure it is not computed from the label or recorded after the outcome; "
                           "if it is genuine, the task is simply easy.", details)
    return CheckResult(name, "pass",
                       f"no single feature predicts the label '{ctx.label_name}' almost perfectly "
                       f"(best: '{best.name}', {text}).", "", details)


def _each(score: Callable[[RawColumn, Any], OneFeatureScore], columns: list[RawColumn],
          val_values: list[np.ndarray] | None) -> Generator[None, None, list[tuple[OneFeatureScore, RawColumn]]]:
    """Each column's score (with its validation values, or None), yielding None after each."""
    scores = []
    for j, column in enumerate(columns):
        scores.append((score(column, None if val_values is None else val_values[j]), column))
        yield None
    return scores


def _groups(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(v, kind="stable")
    sorted_v = v[order]
    new = np.r_[True, sorted_v[1:] != sorted_v[:-1]]
    group = np.cumsum(new) - 1
    return order, group, sorted_v[new]


def _neighbours(group: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    count = len(values)
    prev, nxt = group - 1, group + 1
    left = np.where(prev >= 0, values[group] - values[np.clip(prev, 0, None)], np.inf)
    right = np.where(nxt < count, values[np.clip(nxt, None, count - 1)] - values[group], np.inf)
    return np.clip(prev, 0, None), np.clip(nxt, None, count - 1), left, right


def loo_accuracy(v: np.ndarray, y: np.ndarray, num_classes: int) -> float:
    """Leave-one-out accuracy of a 1-D nearest-neighbour classifier on one feature.

    Rows sharing a value are predicted by the majority of the others with that value; a row with a
    value of its own by the majority of the nearest value's rows. An id in label order, or a
    recoding of the label, scores 100%; an honest feature scores what its overlap allows.
    """
    ok = np.isfinite(v)
    v, y = v[ok], y[ok]
    if len(v) < 2:
        return 0.0
    order, group, values = _groups(v)
    y = y[order]
    counts = np.zeros((len(values), max(num_classes, int(y.max()) + 1)), np.int64)
    np.add.at(counts, (group, y), 1)
    size = counts.sum(axis=1)[group]
    rows = np.arange(len(y))
    others = counts[group]
    others[rows, y] -= 1
    multi_ok = others[rows, y] >= others.max(axis=1)
    majority = counts == counts.max(axis=1, keepdims=True)
    prev, nxt, left, right = _neighbours(group, values)
    single_ok = ((left <= right) & np.isfinite(left) & majority[prev, y]) | \
                ((right <= left) & np.isfinite(right) & majority[nxt, y])
    return float(np.where(size > 1, multi_ok, single_ok).mean())


def loo_r2(v: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-out R^2 of a 1-D nearest-neighbour regressor on one feature (see `loo_accuracy`)."""
    ok = np.isfinite(v) & np.isfinite(y)
    v, y = v[ok], y[ok]
    total = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    if len(y) < 3 or total == 0:
        return 0.0
    order, group, values = _groups(v)
    y = y[order]
    sums = np.bincount(group, weights=y)
    sizes = np.bincount(group)
    size = sizes[group]
    means = sums / sizes
    multi = (sums[group] - y) / np.maximum(size - 1, 1)
    prev, nxt, left, right = _neighbours(group, values)
    single = np.where(left < right, means[prev], np.where(right < left, means[nxt],
                                                          (means[prev] + means[nxt]) / 2))
    pred = np.where(size > 1, multi, single)
    return 1.0 - float(((y - pred) ** 2).sum()) / total
