"""Data larger than the memory budget: spilled to disk once, then memory-mapped.

When `estimate()` says a dataset will not fit the memory budget, the loader keeps it off the
heap instead of reading it whole:

* Parquet and delimited text are read record batch by record batch (the readers'
  `iter_parquet_batches` / `iter_record_batches`) into an uncompressed Arrow IPC file in a
  spill folder, which is then memory-mapped: the raw Table lives in the page cache, and
  `raw_rows()` stays a cheap `take`. NPY files are memory-mapped by their reader already.
* The schema is inferred on the first `SAMPLE_ROWS` rows (classes and counts still come
  from every row), and the preprocessing is fitted on the first `FIT_ROWS` training rows
  (fewer, down to `FIT_MIN_ROWS`, when their float64 values pass an eighth of the budget).
* Processed features go chunk by chunk into float32 memory-mapped files in the same folder,
  so `train_data.x` is an `np.memmap` and every batching path works unchanged.
* The training order is a bounded-buffer shuffle (`block_shuffle`): blocks of `BLOCK_ROWS`
  consecutive rows in random order, then rows shuffled within windows of `BUFFER_ROWS`, so
  each gathered chunk reads a few contiguous blocks rather than the whole file at random.
* Per-row arrays live in the spill folder too, so the heap does not grow with the row
  count: the encoded labels (`spill_rows`), the split's row ids and labels (`stream_split`:
  per class exactly as many validation rows as the in-memory split takes, drawn in one
  seeded pass, a hypergeometric count per chunk), each epoch's order (`block_shuffle` with
  `out=`, written one window at a time) and `processed_data` (`merge_splits`).

What stays in RAM is a chunk of rows at a time plus one int64 per BLOCK_ROWS rows (the
block order). JSON, NPZ and image folders have no streaming reader: they are read into
memory, with a warning.

The pages of a file-backed map count in the process's RSS once touched, and a shared map
keeps them there until it is unmapped, so every map of the folder is registered with it and
its pages are dropped (`SpillFolder.release`, madvise(MADV_DONTNEED): written pages stay in
the page cache and are read back from it, nothing is lost) whenever about `release_bytes`
(a quarter of the memory budget) have been touched since the last release (`touched`): after
each chunk of the load, and while batches are gathered. RSS then stays near the budget
however large the spilled data is.

The spill folder goes under $UDL_SPILL_DIR, else the temp folder unless that is in RAM
(tmpfs), then /var/tmp. It is deleted when the loader is closed, reloaded or
garbage-collected, or at interpreter exit; folders left by killed processes are swept by
the next one.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import re
import shutil
import socket
import tempfile
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from udl_core.dates import date_notes
from udl_core.errors import CorruptFileError, EmptyDatasetError
from udl_core.events import Progress
from udl_core.preprocess import chunk_rows
from udl_core.table import BadRecord, ReadOptions, Table

if TYPE_CHECKING:
    from udl_core.batching import Split
    from udl_core.preprocess import Preprocessor

__all__ = ["BLOCK_ROWS", "BUFFER_ROWS", "CHUNK_ROWS", "FIT_MIN_ROWS", "FIT_ROWS", "SAMPLE_ROWS", "SPILL_DIR_ENV",
           "STREAMABLE", "InMemory", "SpillFolder", "Spilled", "block_shuffle", "merge_splits", "raw_width",
           "spill_roots", "spill_rows", "spill_table", "stream_split", "sweep_stale"]

SAMPLE_ROWS = 100_000
FIT_ROWS = 200_000
FIT_MIN_ROWS = 50_000   # the fewest rows the preprocessing is fitted on when the budget is small
BLOCK_ROWS = 1024
BUFFER_ROWS = 1 << 18
BATCH_ROWS = 1 << 16
MIN_BATCH_ROWS = 1024
CHUNK_ROWS = 1 << 18   # rows of a per-row array handled at a time (2 MiB of int64)
STREAMABLE = ("parquet", "csv")
SPILL_DIR_ENV = "UDL_SPILL_DIR"
RELEASE_BYTES = 64 << 20   # touched bytes between two releases when no budget is given
_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)   # absent on Windows


def _in_memory(folder: str) -> bool:
    """Whether `folder` is on tmpfs/ramfs (Linux): spill files there would be RAM after all."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return False
    real, best, kind = os.path.realpath(folder), "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        if (real == point or real.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind in ("tmpfs", "ramfs")


def spill_roots() -> list[str]:
    """Where spill folders may go, best first: $UDL_SPILL_DIR, else the temp folder unless it is
    in RAM (tmpfs), then /var/tmp and ~/.cache/udl (on disk)."""
    given = os.environ.get(SPILL_DIR_ENV)
    if given:
        return [given]
    temp = tempfile.gettempdir()
    disk = [d for d in (temp, "/var/tmp", str(Path.home() / ".cache" / "udl")) if not _in_memory(d)]
    return disk + [temp] if temp not in disk else disk


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:40] or "host"


def sweep_stale(root: str | Path) -> list[Path]:
    """Delete the spill folders in `root` left by processes of this host that died without
    cleaning up (killed, out of memory); returns them. POSIX only: there `kill(pid, 0)` just asks."""
    if os.name != "posix":
        return []
    pattern = re.compile(rf"udl-spill-{re.escape(_host())}-(\d+)-\w+$")
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        found = pattern.match(entry.name)
        if not found or int(found[1]) == os.getpid():
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid() or not entry.is_dir(follow_symlinks=False):
                continue
            os.kill(int(found[1]), 0)
            continue                          # its process is alive
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
        except OSError:                       # not ours to ask about, or gone already
            continue
    return removed


def _remove(path: str, kept: list[mmap.mmap]) -> None:
    shutil.rmtree(path, ignore_errors=True)
    for mm in kept:
        with contextlib.suppress(BufferError, ValueError):   # still exported to a live Arrow array
            mm.close()


class SpillFolder:
    """A temporary folder removed when its owner is collected (or at exit); folders of dead
    processes (this host, this user) are swept when a new one is made.

    Every map of its files is registered (weakly: a map goes when its arrays go), so that
    `release()` can drop their resident pages; `touched(nbytes)` releases once `release_bytes`
    have been touched since the last release."""

    def __init__(self, owner: object, release_bytes: int = RELEASE_BYTES) -> None:
        self.release_bytes = max(1 << 20, int(release_bytes))
        self._maps: list[weakref.ref[mmap.mmap]] = []
        self._kept: list[mmap.mmap] = []      # maps that Arrow buffers point into: closed on remove()
        self._touched = 0
        roots = spill_roots()
        for root in roots:
            try:
                os.makedirs(root, exist_ok=True)
                sweep_stale(root)
                self.path = Path(tempfile.mkdtemp(prefix=f"udl-spill-{_host()}-{os.getpid()}-", dir=root))
                break
            except OSError as exc:
                failure = exc
        else:
            raise OSError(failure.errno, f"cannot make a folder for the spill files in {', '.join(roots)} "
                                         f"({failure.strerror}); set {SPILL_DIR_ENV} to a writable folder")
        self._finalizer = weakref.finalize(owner, _remove, str(self.path), self._kept)

    def remove(self) -> None:
        self._finalizer()

    def release(self) -> None:
        """Drop the resident pages of every live map of the folder from this process (they stay
        in the page cache, dirty ones too, and a later access reads them back from there)."""
        self._touched = 0
        if _DONTNEED is None:
            return
        live = []
        for ref in self._maps:
            mm = ref()
            if mm is None:
                continue
            live.append(ref)
            with contextlib.suppress(ValueError, OSError):   # closed, or empty
                mm.madvise(_DONTNEED)
        self._maps = live

    def touched(self, nbytes: int) -> None:
        """Count `nbytes` of the folder's maps as read or written; `release()` once
        `release_bytes` have been counted since the last release."""
        self._touched += int(nbytes)
        if self._touched >= self.release_bytes:
            self.release()

    def _register(self, mm: mmap.mmap | None) -> None:
        if mm is not None:
            self._maps.append(weakref.ref(mm))

    def watch(self, array: np.ndarray) -> None:
        """Register a read-only `np.memmap` made elsewhere (an NPY input) with `release()`."""
        if isinstance(array, np.memmap) and array.mode == "r":   # shared and never written: safe to drop
            self._register(getattr(array, "_mmap", None))

    def open_map(self, name: str) -> mmap.mmap:
        """File `name` of the folder mapped read-only, registered, and kept open as long as the
        folder (Arrow buffers made on it must not outlive the map)."""
        with open(self.path / name, "rb") as file:
            mm = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        self._register(mm)
        self._kept.append(mm)
        return mm

    def discard(self, name: str) -> None:
        """Delete one file (open memmaps of it stay valid until they are dropped)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path / name)

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """A writable float32/int memmap of `shape` (a plain empty array when it has no rows)."""
        if not shape[0] or not int(np.prod(shape)):
            return np.empty(shape, dtype=dtype)
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        # A scratch file of the mkdtemp folder, private to this user (no export: nothing to rename into place).
        fd = os.open(self.path / name, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            try:
                # Reserved up front: a full disk is an error here, not a SIGBUS on a later write.
                os.posix_fallocate(fd, 0, size)
            except AttributeError:          # no posix_fallocate (macOS)
                os.ftruncate(fd, size)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
                    raise OSError(exc.errno, f"no room for {size / 2**20:,.0f} MiB of spill files in {self.path} "
                                             f"(the data is over the memory budget); free disk space or set "
                                             f"{SPILL_DIR_ENV} to a folder on a larger disk") from None
                os.ftruncate(fd, size)      # a file system without fallocate
        finally:
            os.close(fd)
        array = np.memmap(self.path / name, dtype=dtype, mode="r+", shape=shape)
        self._register(getattr(array, "_mmap", None))
        return array


def batch_rows(path: Path, options: ReadOptions, expected_rows: int | None) -> int:
    """Rows per record batch spilled: BATCH_ROWS, fewer (not under MIN_BATCH_ROWS) when 32 times a
    batch's bytes on disk pass the budget (the reader holds the text, the parsed and the
    normalised copies of a batch, and a batch of its own that it re-chunks into ours)."""
    from udl_core.formats.bounded import memory_budget

    try:
        row_bytes = path.stat().st_size / max(1, expected_rows or 0) if expected_rows else 256
    except OSError:
        row_bytes = 256
    return int(min(BATCH_ROWS, max(MIN_BATCH_ROWS, memory_budget(options) // (32 * max(64.0, row_bytes)))))


def _batches(reader: str, path: Path, options: ReadOptions, quarantine: list[BadRecord], rows: int
             ) -> Iterator[pa.RecordBatch]:
    if reader == "parquet":
        from udl_core.formats.columnar import iter_parquet_batches

        return iter_parquet_batches(path, options, rows)
    from udl_core.formats.delimited import iter_record_batches

    return iter_record_batches(path, options, rows, quarantine)


def spill_table(path: str | Path, reader: str, options: ReadOptions, folder: SpillFolder,
                expected_rows: int | None = None) -> Generator[Progress, None, Table]:
    """Stream `path` into an Arrow IPC file in `folder` and return it memory-mapped."""
    path = Path(path)
    target = folder.path / "raw.arrow"
    quarantine: list[BadRecord] = []
    rows = 0
    writer = None
    schema = None
    yield Progress("read", 0, expected_rows, f"streaming {path.name} to disk (over the memory budget)")
    try:
        for batch in _batches(reader, path, options, quarantine, batch_rows(path, options, expected_rows)):
            if writer is None:
                schema = batch.schema
                writer = pa.ipc.new_file(str(target), schema)
            elif batch.schema != schema:
                try:
                    batch = pa.Table.from_batches([batch]).cast(schema).combine_chunks().to_batches()[0]
                except (pa.ArrowException, ValueError) as exc:
                    raise CorruptFileError(path, f"rows {rows + 1}-{rows + batch.num_rows} do not fit "
                                                 f"the column types of the first rows ({exc})") from None
            writer.write_batch(batch)
            rows += batch.num_rows
            del batch
            # The reader's freed buffers, handed back as it goes: its peak is otherwise ~20 MiB higher.
            pa.default_memory_pool().release_unused()
            yield Progress("read", rows, expected_rows, f"read {rows:,} rows")
    finally:
        if writer is not None:
            writer.close()
    total = rows + len(quarantine)
    if quarantine and len(quarantine) / total > options.max_bad_fraction:
        first = quarantine[0]
        raise CorruptFileError(path, f"{len(quarantine)} of {total} rows are malformed, more than the allowed "
                                     f"{options.max_bad_fraction:.0%} (first: {first.location}, {first.reason})")
    if rows == 0:
        raise EmptyDatasetError(path, "no data rows")
    # The reader's freed buffers (~100 MiB) would otherwise stay in the process through training.
    pa.default_memory_pool().release_unused()
    # Mapped by Python, not pa.memory_map, so that its pages can be released (zero-copy all the same).
    table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(folder.open_map(target.name)))).read_all()
    notes = [f"larger than the memory budget: streamed into {target} and memory-mapped",
             *date_notes(table.schema)]
    return Table(source=str(path), format=reader, columns=table, quarantine=quarantine, notes=notes)


def spill_rows(parts: Iterable[np.ndarray], n: int, folder: SpillFolder, name: str) -> np.ndarray:
    """Concatenate `parts` (n values in all) into a memmap in `folder`, one part at a time."""
    out = None
    at = 0
    for part in parts:
        if out is None:
            out = folder.array(name, (n,), part.dtype)
        out[at:at + part.size] = part
        at += part.size
        folder.touched(2 * part.nbytes)   # the part's source rows (the raw table) and its copy
    if out is None or at != n:
        raise ValueError(f"spill_rows: {at} values for {n} rows")
    return out


def _known(part: np.ndarray, task: str) -> np.ndarray:
    return np.flatnonzero(part >= 0 if task == "classification" else ~np.isnan(part))


def _hypergeometric(rng: np.random.Generator, good: int, bad: int, sample: int) -> int:
    """How many of `sample` rows drawn from good + bad without replacement are good."""
    if good == 0 or sample == 0:
        return 0
    if bad == 0:
        return sample
    if good >= 10**9 or bad >= 10**9:   # numpy's limit; a binomial is as good at that size
        return int(min(sample, good, rng.binomial(good, sample / (good + bad))))
    return int(rng.hypergeometric(good, bad, sample))


def stream_split(y: np.ndarray, task: str, fraction: float, seed: int, folder: SpillFolder,
                 chunk_rows: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The seeded train/validation split of rows with a known label in `y` (-1 or NaN: unknown),
    without a per-row array on the heap: (train rows, val rows, train y, val y, warnings).

    Each class gives the validation split exactly `batching.val_counts` rows, as in memory; they
    are a uniform random subset of the class, drawn in one pass: in each chunk a hypergeometric
    draw says how many of the class's rows there are picked, then which ones. The result depends
    on the seed and `chunk_rows` only: for data within one chunk it is the in-memory split itself,
    beyond that other rows (same counts) are picked.
    """
    from udl_core.batching import val_counts

    chunk_rows = chunk_rows or CHUNK_ROWS
    n = y.shape[0]
    classification = task == "classification"
    if classification:
        sizes = np.zeros(0, dtype=np.int64)
        for start in range(0, n, chunk_rows):
            part = y[start:start + chunk_rows]
            counts = np.bincount(part[part >= 0].astype(np.int64))
            sizes = np.pad(sizes, (0, max(0, counts.size - sizes.size)))
            sizes[:counts.size] += counts
            folder.touched(part.nbytes)
    else:
        sizes = np.zeros(1, dtype=np.int64)
        for start in range(0, n, chunk_rows):
            part = y[start:start + chunk_rows]
            sizes[0] += int((~np.isnan(part)).sum())
            folder.touched(part.nbytes)
    warnings: list[str] = []
    total = int(sizes.sum())
    if fraction <= 0 or total == 0:
        take = np.zeros_like(sizes)
    elif classification:
        take = val_counts(sizes, fraction)
        singles = int(np.sum(sizes == 1))
        if singles:
            warnings.append(f"{singles} class(es) have a single labelled row; those rows stay in training")
    else:
        take = np.array([min(total - 1, int(round(fraction * total)))])
    if fraction > 0 and total and not take.sum():
        warnings.append(f"too few rows for a validation split of {fraction:g}; validation is empty")
    n_val = int(take.sum())
    val_rows = folder.array("val_rows.i64", (n_val,), np.int64)
    train_rows = folder.array("train_rows.i64", (total - n_val,), np.int64)
    val_y = folder.array("val_y", (n_val,), y.dtype)
    train_y = folder.array("train_y", (total - n_val,), y.dtype)
    rng = np.random.default_rng(seed)
    left, wanted = sizes.copy(), take.copy()
    at_train = at_val = 0
    for start in range(0, n, chunk_rows):
        part = y[start:start + chunk_rows]
        known = _known(part, task)
        pick = np.zeros(known.size, dtype=bool)
        labels = part[known].astype(np.int64) if classification else np.zeros(known.size, np.int64)
        for c in np.flatnonzero(wanted):
            where = np.flatnonzero(labels == c)
            k = _hypergeometric(rng, where.size, int(left[c]) - where.size, int(wanted[c]))
            pick[where[rng.permutation(where.size)[:k]]] = True
            wanted[c] -= k
        if classification:
            left -= np.bincount(labels, minlength=left.size)[:left.size]
        else:
            left -= known.size
        for rows_out, y_out, chosen, at in ((val_rows, val_y, known[pick], at_val),
                                            (train_rows, train_y, known[~pick], at_train)):
            rows_out[at:at + chosen.size] = chosen + start
            y_out[at:at + chosen.size] = part[chosen]
        at_val += int(pick.sum())
        at_train += int(known.size - pick.sum())
        folder.touched(part.nbytes + known.size * (8 + y.itemsize))
    return train_rows, val_rows, train_y, val_y, warnings


def merge_splits(train: tuple[np.ndarray, ...], val: tuple[np.ndarray, ...], folder: SpillFolder,
                 chunk_rows: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two splits (x, y, sorted rows) merged into file order in memmaps: (x, y, rows), a chunk at
    a time (row i of a split lands at i + the count of the other split's rows before it)."""
    n = len(train[2]) + len(val[2])
    chunk_rows = chunk_rows or CHUNK_ROWS
    x = folder.array("all_x.f32", (n, *train[0].shape[1:]), np.float32)
    y = folder.array("all_y", (n,), train[1].dtype)
    rows = folder.array("all_rows.i64", (n,), np.int64)
    for (sx, sy, srows), other in ((train, val[2]), (val, train[2])):
        for start in range(0, len(srows), chunk_rows):
            ids = np.asarray(srows[start:start + chunk_rows])
            where = np.arange(start, start + ids.size) + np.searchsorted(other, ids)
            x[where], y[where], rows[where] = sx[start:start + ids.size], sy[start:start + ids.size], ids
            folder.touched(2 * (ids.size * (x.itemsize * int(np.prod(x.shape[1:])) + y.itemsize + 8)))
    return x, y, rows


def block_shuffle(n: int, rng: np.random.Generator, block_rows: int | None = None,
                  buffer_rows: int | None = None, out: np.ndarray | None = None,
                  touched: Callable[[int], object] | None = None) -> np.ndarray:
    """A permutation of range(n): blocks in random order, rows shuffled within windows of
    `buffer_rows`. Written one window at a time into `out` (e.g. a memmap) when given, and
    `touched(bytes)` called after each window (`SpillFolder.touched`)."""
    block_rows, buffer_rows = block_rows or BLOCK_ROWS, buffer_rows or BUFFER_ROWS
    blocks = rng.permutation(-(-n // block_rows))
    lengths = np.full(blocks.size, block_rows, dtype=np.int64)
    lengths[blocks == blocks.size - 1] = n - (blocks.size - 1) * block_rows   # the short last block
    ends = np.cumsum(lengths)
    order = np.empty(n, dtype=np.int64) if out is None else out
    for start in range(0, n, buffer_rows):
        stop = min(n, start + buffer_rows)
        first, last = np.searchsorted(ends, [start, stop - 1], side="right")
        rows = (blocks[first:last + 1, None] * block_rows + np.arange(block_rows)).ravel()
        rows = rows[rows < n]
        skip = start - (int(ends[first - 1]) if first else 0)
        window = rows[skip:skip + stop - start]
        order[start:stop] = window[rng.permutation(window.size)]
        if touched is not None:
            touched(8 * window.size)
    return order


class InMemory:
    """Where a load within the memory budget keeps its arrays: on the heap."""

    streamed = False
    folder: SpillFolder | None = None
    touched_hook: Callable[[int], object] | None = None   # (gather reads the heap: nothing to count)

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        return np.empty(shape, dtype=dtype)

    def release(self) -> None:
        """Nothing is mapped: nothing to release."""

    def touched(self, nbytes: int) -> None:
        """Nothing is mapped: nothing to count."""

    def discard(self, name: str) -> None:
        """Heap arrays go with their last reference."""

    def remove(self) -> None:
        """No folder to delete."""

    def schema_sample(self, table: Table) -> Table:
        """The rows the schema is inferred on: all of them."""
        return table

    def labels(self, parts: Iterable[np.ndarray], n: int) -> np.ndarray:
        return np.concatenate(list(parts)) if n else np.empty(0, dtype=np.float32)

    def split(self, y: np.ndarray, task: str, fraction: float, seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """The seeded split (batching.split_rows) of the rows with a known label."""
        from udl_core.batching import split_rows

        known = y >= 0 if task == "classification" else ~np.isnan(y)
        train, val, notes = split_rows(np.flatnonzero(known), y[known], task, fraction, seed)
        return train, val, np.ascontiguousarray(y[train]), np.ascontiguousarray(y[val]), notes

    def fit_rows(self, train_rows: np.ndarray, budget: int, width: int) -> np.ndarray:
        """The training rows the preprocessing is fitted on: all of them."""
        return train_rows

    def transform(self, table: Table, pre: Preprocessor, splits: Sequence[tuple[np.ndarray, np.ndarray]]
                  ) -> Generator[Progress, None, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """Each split's rows (sorted) transformed straight into its own output array, a chunk of
        rows at a time (progress, and a chance to cancel, between chunks); the table's columns
        are made ready once (`Preprocessor.prepare`), not once per chunk."""
        prepared = pre.prepare(table)
        total = sum(rows.size for rows, _ in splits)
        step = _chunk_rows(pre.feature_dim, table)
        done = 0
        out = []
        for name, (rows, y) in zip(("train", "val"), splits, strict=True):
            staged = pre.take_staged(rows)   # the fit's copy of these rows (numeric_block.Staged)
            x = staged.block if staged is not None and staged.block is not None and staged.in_place else \
                self.array(f"{name}_x.f32", (rows.size, pre.feature_dim), np.float32)
            for start in range(0, rows.size, step):
                stop = min(rows.size, start + step)
                if staged is not None:
                    staged.transform(start, stop, x[start:stop])
                else:
                    part = rows[start:stop]
                    contiguous = part.size and int(part[-1]) - int(part[0]) == part.size - 1
                    where = slice(int(part[0]), int(part[-1]) + 1) if contiguous else part
                    prepared.transform_into(where, x[start:stop])
                done += stop - start
                yield Progress("preprocess", done, total, f"processed {done:,} of {total:,} rows")
            out.append((x, y, rows))
        return out

    def merge(self, train: Split, val: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Both splits in file order: (x, y, rows)."""
        rows = np.concatenate([train.rows, val.rows])
        order = np.argsort(rows, kind="stable")
        x = np.empty((rows.size, *train.x.shape[1:]), dtype=np.float32)
        y = np.empty(rows.size, dtype=train.y.dtype)
        where = np.empty_like(order)
        where[order] = np.arange(order.size)
        x[where[:len(train)]] = train.x
        x[where[len(train):]] = val.x
        y[where[:len(train)]] = train.y
        y[where[len(train):]] = val.y
        return x, y, rows[order]

    def order(self, n: int, rng: np.random.Generator, epoch: int) -> np.ndarray:
        """A shuffled order of n rows for epoch `epoch`."""
        return rng.permutation(n)


class Spilled(InMemory):
    """Where a load over the memory budget keeps its arrays: memory maps in a spill folder
    (removed with its owner), whose resident pages are dropped as they are touched."""

    streamed = True
    folder: SpillFolder

    def __init__(self, owner: object, release_bytes: int) -> None:
        self.folder = SpillFolder(owner, release_bytes)
        self.touched_hook = self.folder.touched

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        return self.folder.array(name, shape, dtype)

    def release(self) -> None:
        self.folder.release()

    def touched(self, nbytes: int) -> None:
        self.folder.touched(nbytes)

    def discard(self, name: str) -> None:
        self.folder.discard(name)

    def remove(self) -> None:
        self.folder.remove()

    def schema_sample(self, table: Table) -> Table:
        """The first SAMPLE_ROWS rows."""
        from udl_core.schema import table_slice

        return table_slice(table, 0, SAMPLE_ROWS)

    def labels(self, parts: Iterable[np.ndarray], n: int) -> np.ndarray:
        return spill_rows(parts, n, self.folder, "labels")

    def split(self, y: np.ndarray, task: str, fraction: float, seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """The seeded split, without a per-row array on the heap (`stream_split`)."""
        try:
            return stream_split(y, task, fraction, seed, self.folder)
        finally:
            self.folder.discard("labels")

    def fit_rows(self, train_rows: np.ndarray, budget: int, width: int) -> np.ndarray:
        """The first FIT_ROWS training rows, fewer (not under FIT_MIN_ROWS) when their float64
        values would pass an eighth of the memory budget, since the fit holds several float64
        copies of a block of columns at once (~130 MiB at 200k x 16)."""
        return train_rows[:min(FIT_ROWS, max(FIT_MIN_ROWS, budget // (64 * max(1, width))))]

    def transform(self, table: Table, pre: Preprocessor, splits: Sequence[tuple[np.ndarray, np.ndarray]]
                  ) -> Generator[Progress, None, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """Contiguous slices of the mapped table transformed (zero-copy, no arrow take) and each
        slice's rows scattered into their split (rows are sorted), the pages read and written
        released as they add up: memory stays bounded however large the data."""
        from udl_core.schema import table_slice

        total = sum(rows.size for rows, _ in splits)
        outs = [self.array(f"{name}_x.f32", (rows.size, pre.feature_dim), np.float32)
                for name, (rows, _) in zip(("train", "val"), splits, strict=True)]
        ends = [rows[:1].tolist() + rows[-1:].tolist() for rows, _ in splits]
        first = int(min(e[0] for e in ends if e)) if any(ends) else 0
        last = int(max(e[-1] for e in ends if e)) + 1 if any(ends) else 0
        step = _chunk_rows(pre.feature_dim, table)
        row_bytes = _raw_row_bytes(table) + 4 * pre.feature_dim + 16
        for start in range(first, last, step):
            stop = min(last, start + step)
            part = pre.transform(table_slice(table, start, stop))
            for (rows, _), x in zip(splits, outs, strict=True):
                a, b = np.searchsorted(rows, [start, stop])
                x[a:b] = part[rows[a:b] - start]
            self.touched((stop - start) * row_bytes)
            done = int(sum(np.searchsorted(rows, stop) for rows, _ in splits))
            yield Progress("preprocess", done, total, f"processed {done:,} of {total:,} rows")
        return [(x, y, rows) for x, (rows, y) in zip(outs, splits, strict=True)]

    def merge(self, train: Split, val: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return merge_splits((train.x, train.y, train.rows), (val.x, val.y, val.rows), self.folder)

    def order(self, n: int, rng: np.random.Generator, epoch: int) -> np.ndarray:
        """A bounded-buffer shuffle that reads a few blocks at a time, written to disk."""
        out = self.folder.array(f"order-{epoch}.i64", (n,), np.int64)
        return block_shuffle(n, rng, out=out, touched=self.folder.touched)

    def forget_order(self, epoch: int) -> None:
        self.folder.discard(f"order-{epoch}.i64")


def _chunk_rows(feature_dim: int, table: Table) -> int:
    return chunk_rows(max(feature_dim, raw_width(table)))


def _raw_row_bytes(table: Table) -> int:
    """Bytes of one raw row, on average (what a slice of the mapped table touches)."""
    if not table.num_rows:
        return 0
    if table.columns is not None:
        return int(-(-table.columns.nbytes // table.num_rows))
    assert table.features is not None
    return int(np.prod(table.features.shape[1:])) * table.features.itemsize + 8


def raw_width(table: Table) -> int:
    """Raw values per row: a table's columns, an array's values per row."""
    if table.columns is not None:
        return int(table.columns.num_columns)
    assert table.features is not None
    return int(np.prod(table.features.shape[1:]))
