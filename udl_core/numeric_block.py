"""Numeric features in bulk: the statistics and the standardization of a block of columns at once.

A block is k numeric columns of n rows, read a chunk of rows at a time as one C-ordered 2-D
array (`Numbers.block`): a 2-D array's rows (NPY, NPZ) or a table's columns, each converted to
numbers once (strings parsed, booleans and durations cast) and then handed out in zero-copy
pieces (one per Arrow chunk). Each chunk holds about CHUNK_BYTES, so the few numpy passes over
it stay in the CPU's cache; the whole block is never copied.

* Working precision: float32 when every value of the block is a float32 (float32 data, whatever
  type a reader gave it; small integers), float64 otherwise (decimal text, wide values), so a
  float64 column past float32's range (1e41) keeps its statistics. The same values give
  bit-identical features whatever file they came from (chunks depend on k only).
* Medians: of every column, from a seeded sample of at most MEDIAN_ROWS of the rows fitted on
  (all of them below that; `median_sample`), the median of the present values; a column with
  no present value has median 0. Missing and non-finite values take the median.
* Mean and standard deviation: one pass, sums of (x - median) and of its squares accumulated
  in float64 (axis-0 reductions of each chunk of the fitted rows, in their order); the imputed
  values count as the median, as they are imputed. Shifting by the median keeps E[d^2] - E[d]^2
  exact enough. A column whose sums over- or underflow (values near 1e300 or 1e-300), or whose
  squares sum to zero, is fitted again on its own, exactly (`exact_stats`, scaled into [-1, 1]).
  The loader's fit keeps the training rows' values it gathers (`Staged`): the transform of those
  rows standardizes them where they lie, so each value is copied once. Chunks of rows (and a
  wide block's median groups) run on a thread per core; chunk sums are added in chunk order.
* A column constant in the fitted rows has `constant` set (its encoder is dropped).
* The transform writes each chunk's result once into the caller's float32 output, row-major:
  impute, subtract the mean, divide by the std, clip to float32's finite range.

numpy is used rather than Arrow compute or polars, by measurement: standardizing 2M x 32
float32 columns into a row-major float32 array (2 shared cores, CPU seconds, best of 3) costs
0.47 s here (chunked numpy), 0.89 s with Arrow compute (`pc.subtract`/`pc.divide` per column,
each a new column, then a transposing `np.column_stack`) and 0.42 s with polars expressions and
`to_numpy(order="c")` (multi-threaded), about as much as the one-pass numpy reference
`(x - x.mean(0)) / x.std(0)` (0.56 s). polars would win nothing here and would need a frame
built for NPY/NPZ arrays and its own imputation and clipping; the reads stay the readers' own
(udl_core/formats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.values import parallel_map, parse_numbers

__all__ = ["CHUNK_BYTES", "MEDIAN_ROWS", "MEDIAN_SEED", "ArrayNumbers", "ColumnNumbers", "Numbers", "Staged",
           "column_medians", "exact_stats", "fit_stats", "median_sample", "shifted_sums", "standardize"]

MEDIAN_ROWS = 100_000
MEDIAN_SEED = 20_240_512
CHUNK_BYTES = 1 << 20
F32_MAX = float(np.finfo(np.float32).max)
_NARROW = frozenset(np.dtype(t) for t in (np.float32, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.bool_))

Rows = slice | np.ndarray


def _exact_in_float32(values: np.ndarray) -> bool:
    """Whether every value of `values` is a float32 (NaN and inf count as such)."""
    if values.dtype in _NARROW or values.size == 0:
        return True
    if values.dtype.kind in "iu":
        return bool(-(1 << 24) <= int(values.min()) and int(values.max()) <= 1 << 24)
    if values.dtype != np.float64:
        return False
    flat = values.reshape(-1)
    step = 1 << 16   # values at a time: the round trip and its comparison stay in the CPU's cache
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, flat.size, step):   # most columns that are not fail on their first values
            part = flat[start:start + step]
            same = part.astype(np.float32) == part
            if not same.all() and not np.isnan(part[~same]).all():   # NaN differs from itself only
                return False
    return True


def work_dtype(arrays: Sequence[np.ndarray]) -> np.dtype:
    """float32 when every value is a float32 (whatever the arrays' dtypes), else float64: the same
    values give the same dtype, so float32 data read as float64 (Parquet) or kept float32 (NPZ)
    give identical features."""
    return np.dtype(np.float32) if all(_exact_in_float32(a) for a in arrays) else np.dtype(np.float64)


def chunk_rows(width: int, dtype: np.dtype) -> int:
    """Rows per chunk so that a chunk of `width` values a row stays near CHUNK_BYTES; at least
    4,096 rows (up to 32 MiB) for wide blocks, whose columns are visited once per chunk: the fit
    of 80k x 1,000 float32 took 1.06 s in chunks of 1,024 rows, 0.55 s in chunks of 4,096."""
    row_bytes = np.dtype(dtype).itemsize * max(1, width)
    return max(1, CHUNK_BYTES // row_bytes, min(4096, (32 << 20) // row_bytes))


def median_sample(n: int) -> np.ndarray | None:
    """Sorted positions (out of n fitted rows) the medians are taken from: None (every row) for
    n <= MEDIAN_ROWS, else MEDIAN_ROWS positions drawn without replacement with MEDIAN_SEED."""
    if n <= MEDIAN_ROWS:
        return None
    return np.sort(np.random.default_rng(MEDIAN_SEED).choice(n, MEDIAN_ROWS, replace=False))


class Numbers:
    """k numeric columns of n rows; `block(rows)` is a new C-ordered [m, k] array of the working
    dtype (NaN or inf where a value is missing or not finite)."""

    n: int
    width: int
    dtype: np.dtype

    def fill(self, rows: Rows, out: np.ndarray) -> None:
        """Write `rows` into `out`, a C-ordered [m, k] array of the working dtype."""
        raise NotImplementedError

    def block(self, rows: Rows) -> np.ndarray:
        m = len(range(*rows.indices(self.n))) if isinstance(rows, slice) else rows.size
        out = np.empty((m, self.width), dtype=self.dtype)
        self.fill(rows, out)
        return out

    def view(self, rows: Rows) -> np.ndarray | None:
        """`rows` as a view of the source when it already is such an array (not to be written)."""
        return None

    def part(self, columns: Sequence[int]) -> Numbers:
        """Columns `columns` of these (positions among them), at this block's precision."""
        raise NotImplementedError

    def columns(self, rows: Rows, dtype: np.dtype | type = np.float64) -> np.ndarray:
        """[k, m] of `dtype`: one contiguous row per column (what a median partitions along)."""
        return np.ascontiguousarray(self.block(rows).T, dtype=dtype)


class ArrayNumbers(Numbers):
    """Columns `index` (every column if None) of a 2-D array [n, F]."""

    def __init__(self, flat: np.ndarray, index: Sequence[int] | np.ndarray | None = None, dtype: np.dtype | None = None) -> None:
        self.flat = np.asarray(flat)    # a plain view: no np.memmap bookkeeping per slice
        if index is not None and list(index) == list(range(self.flat.shape[1])):
            index = None
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.n = self.flat.shape[0]
        self.width = self.flat.shape[1] if self.index is None else self.index.size
        self.dtype = np.dtype(dtype) if dtype is not None else work_dtype([self.flat])

    def part(self, columns: Sequence[int]) -> ArrayNumbers:
        index = np.arange(self.flat.shape[1]) if self.index is None else self.index
        return ArrayNumbers(self.flat, index[list(columns)], self.dtype)

    def fill(self, rows: Rows, out: np.ndarray) -> None:
        part = self.flat[rows]   # (np.take with out= is far slower on a memory map, as NPY/NPZ data is)
        out[...] = part if self.index is None else part[:, self.index]

    def view(self, rows: Rows) -> np.ndarray | None:
        if isinstance(rows, slice) and self.index is None and self.flat.dtype == self.dtype \
                and self.flat.flags.c_contiguous:
            return self.flat[rows]
        return None


def _number_array(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """The column as an Arrow array numpy reads as numbers (one cast for the whole column)."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return parse_numbers(column)
    if pa.types.is_duration(kind):
        return pc.cast(column, pa.int64())
    if pa.types.is_boolean(kind):
        return pc.cast(column, pa.int8())
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return column
    # Unsafe: decimals and the like round to the nearest float64 instead of failing.
    return pc.cast(column, pa.float64(), safe=False)


class ColumnNumbers(Numbers):
    """Arrow columns, each converted once and read in zero-copy pieces (one per chunk; a chunk
    with missing values is one float copy, NaN where missing)."""

    def __init__(self, columns: Sequence[pa.ChunkedArray | pa.Array], n: int | None = None) -> None:
        self.pieces: list[tuple[np.ndarray, list[np.ndarray]]] = []
        self.exact: list[bool] = []   # per column: every value a float32
        for column in columns:
            column = _number_array(column)
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            arrays = [chunk.to_numpy(zero_copy_only=False) for chunk in chunks if len(chunk)]
            self.pieces.append((np.cumsum([0] + [a.size for a in arrays]), arrays))
            self.exact.append(all(_exact_in_float32(a) for a in arrays))
        self.n = int(self.pieces[0][0][-1]) if self.pieces else int(n or 0)
        self.width = len(self.pieces)
        self.dtype = np.dtype(np.float32 if all(self.exact) else np.float64)

    def select(self, columns: Sequence[int]) -> ColumnNumbers:
        """Columns `columns` of these, with nothing converted or checked again."""
        chosen = ColumnNumbers([], self.n)
        chosen.pieces = [self.pieces[j] for j in columns]
        chosen.exact = [self.exact[j] for j in columns]
        chosen.width = len(chosen.pieces)
        chosen.dtype = np.dtype(np.float32 if all(chosen.exact) else np.float64)
        return chosen

    def part(self, columns: Sequence[int]) -> ColumnNumbers:
        chosen = self.select(columns)
        chosen.dtype = self.dtype
        return chosen

    def fill(self, rows: Rows, out: np.ndarray) -> None:
        # Each column gathered straight into its strided column of `out` (chunks of ~8k rows stay
        # in the CPU's cache): 1.6M of 2M rows x 32 float32 columns in 0.29-0.34 s here, against
        # 0.39-0.42 s reading each chunk's span of rows and then taking the rows from it.
        self._columns_into(rows, out.T)

    def columns(self, rows: Rows, dtype: np.dtype | type = np.float64) -> np.ndarray:
        """[k, m] of `dtype`: each column's `rows`, gathered straight into a contiguous row."""
        m = len(range(*rows.indices(self.n))) if isinstance(rows, slice) else rows.size
        out = np.empty((self.width, m), dtype=dtype)
        self._columns_into(rows, out)
        return out

    def _columns_into(self, rows: Rows, dest: np.ndarray) -> None:
        """dest[j] = column j at `rows` (dest[j] a row of a [k, m] array, or out.T's column view)."""
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(self.n)
            for j, (starts, arrays) in enumerate(self.pieces):
                if len(arrays) == 1:
                    dest[j] = arrays[0][start:stop]
                    continue
                first = int(np.searchsorted(starts, start, side="right")) - 1
                for p in range(max(first, 0), len(arrays)):
                    lo, hi = max(start, int(starts[p])), min(stop, int(starts[p + 1]))
                    if lo >= hi:
                        break
                    dest[j, lo - start:hi - start] = arrays[p][lo - starts[p]:hi - starts[p]]
            return
        which: dict[bytes, list[tuple[slice | np.ndarray, int, np.ndarray]]] = {}
        for j, (starts, arrays) in enumerate(self.pieces):
            if len(arrays) == 1:
                dest[j] = arrays[0][rows]
                continue
            key = starts.tobytes()
            if key not in which:   # rows grouped by piece once for the columns chunked alike
                which[key] = _by_piece(starts, rows)
            for at, p, local in which[key]:
                dest[j, at] = arrays[p][local]


def _by_piece(starts: np.ndarray, rows: np.ndarray) -> list[tuple[slice | np.ndarray, int, np.ndarray]]:
    """`rows` grouped by the piece (chunk) holding them: (where in rows, piece, positions in it)
    for each piece they touch only: a column of thousands of small chunks (JSON Lines) costs
    what its rows cost, not a visit to every chunk per block of rows."""
    if not rows.size:
        return []
    piece = np.searchsorted(starts, rows, side="right") - 1
    order = None if rows.size < 2 or bool(np.all(rows[1:] >= rows[:-1])) else np.argsort(piece, kind="stable")
    ordered = piece if order is None else piece[order]
    touched = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(touched[1:], ordered.size)
    groups: list[tuple[slice | np.ndarray, int, np.ndarray]] = []
    for a, b in zip(touched.tolist(), ends.tolist()):
        at: slice | np.ndarray = slice(a, b) if order is None else order[a:b]
        p = int(ordered[a])
        groups.append((at, p, rows[at] - starts[p]))
    return groups


def exact_stats(values: np.ndarray) -> dict[str, Any]:
    """Median, mean and std of one float64 column (NaN = missing), exactly, scaled into [-1, 1]
    first so that sums of tiny (1e-300) or huge (1e300) values neither under- nor overflow."""
    finite = np.isfinite(values)
    present = values[finite]
    if present.size == 0:
        return {"median": 0.0, "mean": 0.0, "std": 1.0, "constant": True}
    size = max(float(present.max()), -float(present.min())) or 1.0
    with np.errstate(over="ignore"):   # two values near float64's max average to inf: then scaled
        median = float(np.median(present))
    if not np.isfinite(median):
        median = float(np.median(present / size)) * size
    filled = np.where(finite, values, np.nan) / size
    filled[~finite] = median / size
    constant = bool(filled.max() == filled.min())
    std = float(filled.std()) * size
    return {"median": median, "mean": float(filled.mean()) * size,
            "std": std if std > 0 and not constant else 1.0, "constant": constant}


def _medians(numbers: Numbers, rows: np.ndarray | None, n: int) -> np.ndarray:
    pick = median_sample(n)
    where: Rows
    if pick is None:
        where = slice(0, n) if rows is None else rows
    else:
        where = pick if rows is None else rows[pick]
    m = len(range(*where.indices(numbers.n))) if isinstance(where, slice) else where.size
    group = max(1, (32 << 20) // (8 * max(1, m)))   # columns at a time: a bounded sample block
    if numbers.width > group:   # groups on a thread per core (numpy's gathers and partitions let go of the GIL)
        def medians_from(j: int) -> np.ndarray:
            return _medians_of(numbers.part(range(j, min(numbers.width, j + group))), where)

        return np.concatenate(parallel_map(medians_from, range(0, numbers.width, group), numbers.width * m))
    return _medians_of(numbers, where)


def _medians_of(numbers: Numbers, where: Rows) -> np.ndarray:
    # One contiguous row per column: a partition along a strided axis costs several times more.
    # In the working dtype: a float32 block's values are float32s, and half the bytes to select.
    return column_medians(numbers.columns(where, numbers.dtype))


def column_medians(sample: np.ndarray) -> np.ndarray:
    """The median of the present values of each row of `sample` ([k, m] float32 or float64, one
    row per column, reordered in place), as float64; 0 for a row with none.

    Bit for bit np.median's (the middle value, or the float64 mean of the two middle values),
    found by one partition at the upper middle and the maximum below it: numpy selects a single
    kth with SIMD, two with introselect (1,000 x 80,000 float32: 0.14 s against 1.05 s)."""
    medians = np.zeros(sample.shape[0])
    if not sample.size:
        return medians
    finite = np.isfinite(sample)
    whole = finite.all(axis=1)
    # Two values near float64's max average to inf: that column's sums are not finite, and it is
    # fitted exactly (scaled) in fit_stats.
    with np.errstate(over="ignore"):
        if whole.all():
            return _middles(sample)
        if whole.any():
            medians[whole] = _middles(sample[whole])
        for j in np.flatnonzero(~whole).tolist():
            present = sample[j][finite[j]]
            if present.size:
                medians[j] = _middles(present[None, :])[0]
        return medians


def _middles(rows: np.ndarray) -> np.ndarray:
    """np.median along axis 1 of [k, m] finite values, m > 0 (rows reordered in place)."""
    m = rows.shape[1]
    half = m // 2
    rows.partition(half, axis=1)
    upper = rows[:, half].astype(np.float64)
    if m % 2:
        return upper
    lower = rows[:, :half].max(axis=1).astype(np.float64)
    middle: np.ndarray = (lower + upper) / 2
    return middle


def shifted_sums(numbers: Numbers, rows: np.ndarray | None, shift: np.ndarray, keep: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per column, float64 sums of d = x - shift and of d**2 over `rows` (every row if None),
    d = 0 where x is missing or not finite; a chunk of rows at a time. `keep` (C-ordered
    [n, k] of the working dtype): each chunk's values are written there once and summed from
    there, for a transform of the same rows to start from (`Staged`)."""
    k = numbers.width
    n = numbers.n if rows is None else rows.size
    step = chunk_rows(k, numbers.dtype)

    def sums(start: int) -> tuple[np.ndarray, np.ndarray]:
        where = slice(start, start + step) if rows is None else rows[start:start + step]
        with np.errstate(over="ignore", invalid="ignore"):   # (numpy's error state is per thread)
            if keep is not None:
                numbers.fill(where, keep[start:start + step])
            source = numbers.view(where) if keep is None else keep[start:start + step]
            if source is None:
                block = numbers.block(where)
                bad = ~np.isfinite(block)
                block -= shift
            else:   # the source itself: read once, never written
                bad = ~np.isfinite(source)
                block = source - shift
            if bad.any():
                block[bad] = 0
            return block.sum(axis=0, dtype=np.float64), np.einsum("ij,ij->j", block, block, dtype=np.float64)

    total, squares = np.zeros(k), np.zeros(k)
    with np.errstate(over="ignore", invalid="ignore"):   # sums past float64: fitted exactly after
        # Chunks on a thread per core (numpy lets go of the GIL), added up in chunk order: the
        # very sums one thread makes.
        for chunk_total, chunk_squares in parallel_map(sums, range(0, n, step), n * k):
            total += chunk_total
            squares += chunk_squares
    return total, squares


def fit_stats(numbers: Numbers, rows: np.ndarray | None = None, keep: np.ndarray | None = None
              ) -> list[dict[str, Any]]:
    """{"median", "mean", "std", "constant"} of each column over `rows` (every row if None).

    The sums run over the fitted rows themselves, a chunk of them at a time in their order, so
    they are a function of those rows' values alone, whatever holds them (Arrow columns, a 2-D
    array, a spilled file). `keep`: see `shifted_sums`. Over every rank's rows of a distributed
    run: `shard_stats.column_stats`, which builds on this."""
    n = numbers.n if rows is None else rows.size
    k = numbers.width
    if k == 0:
        return []
    if n == 0:
        return [{"median": 0.0, "mean": 0.0, "std": 1.0, "constant": True} for _ in range(k)]
    median = _medians(numbers, rows, n)
    shift = median.astype(numbers.dtype)
    total, squares = shifted_sums(numbers, rows, shift, keep)
    tiny = squares == 0
    with np.errstate(over="ignore", invalid="ignore"):
        mean = shift.astype(np.float64) + total / n
        std = np.sqrt(np.maximum(squares / n - np.square(total / n), 0.0))
    redo = ~np.isfinite(squares) | ~np.isfinite(total) | tiny | ~np.isfinite(std)
    stats = []
    for j in range(k):
        if redo[j]:
            column = numbers.part([j])   # that column alone, not the block's every column
            values = np.asarray(column.block(slice(0, n) if rows is None else rows)[:, 0], dtype=np.float64)
            stats.append(exact_stats(values))
            continue
        stats.append({"median": float(median[j]), "mean": float(mean[j]),
                      "std": float(std[j]) if std[j] > 0 else 1.0, "constant": False})
    return stats


def standardize(numbers: Numbers, rows: Rows | None, stats: Sequence[dict[str, Any]], out: np.ndarray,
                columns: slice | np.ndarray) -> None:
    """out[i, columns] = (x - mean) / std of row i of `rows` (every row if None), missing and
    non-finite values first set to the median, clipped to float32's finite range."""
    n = out.shape[0]
    if n == 0 or not stats:
        return
    dtype = numbers.dtype
    median, mean, std = (np.array([s[key] for s in stats], dtype=np.float64).astype(dtype)
                         for key in ("median", "mean", "std"))
    full = isinstance(columns, slice) and columns == slice(0, out.shape[1]) and out.flags.c_contiguous
    step = chunk_rows(numbers.width, dtype)
    first = 0 if rows is None else (rows.indices(numbers.n)[0] if isinstance(rows, slice) else None)

    def one(start: int) -> None:
        stop = min(n, start + step)
        if first is None:
            assert rows is not None and not isinstance(rows, slice)
            where: Rows = rows[start:stop]
        else:
            where = slice(first + start, first + stop)
        direct = full and dtype == np.float32   # computed in the output itself
        with np.errstate(over="ignore"):   # clipped below (numpy's error state is per thread)
            target = out[start:stop] if direct else numbers.block(where)
            source = numbers.view(where) if direct else None
            if direct and source is None:
                numbers.fill(where, target)
            source = target if source is None else source
            bad = ~np.isfinite(source)
            if bad.any():
                if source is not target:
                    np.copyto(target, source)
                    source = target
                np.copyto(target, np.broadcast_to(median, target.shape), where=bad)
            np.subtract(source, mean, out=target)
            target /= std
            np.clip(target, -F32_MAX, F32_MAX, out=target)
            if not direct:
                out[start:stop, columns] = target

    parallel_map(one, range(0, n, step), n * numbers.width)   # each chunk its own rows of `out`


class Staged:
    """The fitted rows' numeric values, gathered once by the fit (`fit_stats(keep=)`) into a
    float32 [n, k] row-major block, for the transform of those very rows: standardized where
    they lie when every column is kept (the block becomes the output), else read from there, a
    contiguous source, into the output. Only float32 arithmetic keeps them: float64 values
    would take twice the output's bytes, and are gathered again by the transform instead."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.block: np.ndarray | None = None
        self.kept: list[int] = []
        self.stats: list[dict[str, Any]] = []

    def keep(self, numbers: Numbers) -> np.ndarray | None:
        """The block for the fit of `numbers` at `rows` to write into, or None (not kept)."""
        if numbers.dtype != np.float32 or not self.rows.size or not numbers.width:
            return None
        self.block = np.empty((self.rows.size, numbers.width), dtype=np.float32)
        return self.block

    def use(self, kept: Sequence[int], stats: Sequence[dict[str, Any]]) -> None:
        """The block's columns that are features (in the output's order) and their statistics."""
        self.kept, self.stats = list(kept), list(stats)

    @property
    def in_place(self) -> bool:
        """Whether the output is the block itself (every column kept, in order)."""
        return self.block is not None and self.kept == list(range(self.block.shape[1]))

    def transform(self, start: int, stop: int, out: np.ndarray) -> None:
        """out = the features of the staged rows start:stop (out may be the block's own rows)."""
        assert self.block is not None
        standardize(ArrayNumbers(self.block, self.kept, np.dtype(np.float32)), slice(start, stop), self.stats, out,
                    slice(0, out.shape[1]))
