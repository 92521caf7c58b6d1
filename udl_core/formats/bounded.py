"""Reading within the memory budget: budgets parsed, decompressed bytes counted as they stream.

A size a file declares (a zip directory's, an NPY header's, a Parquet footer's) is a hint
for an early refusal, never the limit itself: every read that expands data goes through a
`BoundedReader`, which counts the bytes it hands on and raises `MemoryBudgetError` once
they pass the limit. Zip members compressed with bzip2 or LZMA are decompressed here, a
bounded amount per read: `zipfile` hands them whole compressed chunks with no output limit,
so a 9 KB member could expand past 8 GiB inside one read.

The budget is `ReadOptions.memory_budget`, else `$UDL_MEMORY_BUDGET`, else a quarter of
physical memory.
"""

from __future__ import annotations

import bz2
import lzma
import os
import re
import struct
import zipfile
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast

from udl_core.errors import ConfigError, MemoryBudgetError
from udl_core.table import ReadOptions

__all__ = [
    "BUDGET_ENV",
    "BoundedReader",
    "Budget",
    "check_file_size",
    "default_memory_budget",
    "format_size",
    "memory_budget",
    "open_zip_member",
    "parse_size",
]

BUDGET_ENV = "UDL_MEMORY_BUDGET"
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b?)\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_MIN_BUDGET = 1 << 20


def parse_size(text: str) -> int:
    """Bytes from `512M`, `4G`, `1.5GiB`, `100kB` or plain `1048576` (units are powers of 1024).

    Raises `ConfigError` for anything else, or for less than 1 MiB (too little to read a header).
    """
    found = _SIZE_RE.fullmatch(str(text))
    if not found or (found[3] and not found[2] and found[3].lower() != "b"):
        raise ConfigError(f"memory budget {text!r} is not a size (e.g. 512M, 4G, or bytes)")
    size = int(float(found[1]) * _UNITS[found[2].lower()])
    if size < _MIN_BUDGET:
        raise ConfigError(f"memory budget {text!r} is below the smallest one UDL works in (1M)")
    return size


def format_size(n: float) -> str:
    """`536870912` -> `512 MiB`: how a budget is shown."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def default_memory_budget() -> int:
    """`$UDL_MEMORY_BUDGET` when set, else a quarter of physical memory (2 GiB where the system
    does not say)."""
    given = os.environ.get(BUDGET_ENV, "").strip()
    if given:
        return parse_size(given)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 2 << 30


def memory_budget(options: ReadOptions | None) -> int:
    """Bytes UDL may hold in memory: `options.memory_budget`, else the default."""
    if options is not None and options.memory_budget:
        return int(options.memory_budget)
    return default_memory_budget()


def _refuse(path: Path | str, what: str, limit: int, seen: int | None = None) -> MemoryBudgetError:
    after = f" after {seen:,} bytes" if seen is not None else ""
    return MemoryBudgetError(
        path, f"{what}: past the memory budget of {format_size(limit)}{after}; "
              "refused (a larger --memory-budget raises it)", limit=limit, seen=seen)


def check_file_size(path: Path, options: ReadOptions | None, what: str, factor: int = 1) -> None:
    """Refuse a file read whole into memory when `factor` times its size (what reading it costs
    at its peak) is more than the budget: a sparse 5 GB file costs nothing on disk."""
    limit = memory_budget(options)
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # the read says why
    if size * factor > limit:
        cost = f" (about {factor}x its size)" if factor > 1 else ""
        raise _refuse(path, f"{what}{cost}, and this one has {size:,} bytes", limit)


class Budget:
    """Bytes held so far by one read, refused (`MemoryBudgetError`) once past `limit`."""

    def __init__(self, path: Path | str, what: str, limit: int, start: int = 0) -> None:
        self.path = path
        self.what = what
        self.limit = limit
        self.start = start   # an allocator's count when the read began, for `at`
        self.held = 0

    def add(self, nbytes: int) -> None:
        self.at(self.held + int(nbytes))

    def at(self, held: int) -> None:
        """Now `held` bytes in all (an allocator's count, say, which sees padding and spare capacity)."""
        self.held = max(self.held, int(held))
        if self.held > self.limit:
            raise _refuse(self.path, self.what, self.limit, self.held)


class _Stream(Protocol):
    """What `BoundedReader` reads from: a binary file, or a decompressing stream over one."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class BoundedReader:
    """A binary file that counts the bytes read through it and raises `MemoryBudgetError`
    once they pass `limit`; `count` is how many it handed on. Usable wherever a file object is
    (numpy's header parser, `pyarrow.PythonFile`)."""

    def __init__(self, raw: _Stream, limit: int, path: Path | str, what: str) -> None:
        self._raw = raw
        self.limit = limit
        self.count = 0
        self._path = path
        self._what = what
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        room = self.limit - self.count + 1  # one byte past the limit proves the overrun
        size = room if size is None or size < 0 else min(size, room)
        data = self._raw.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise _refuse(self._path, self._what, self.limit, self.count)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.count

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._raw.close()

    def __enter__(self) -> BoundedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Slice:
    """`length` bytes of `handle` from `start`: a zip member's compressed data, read in chunks."""

    def __init__(self, handle: BinaryIO, start: int, length: int) -> None:
        handle.seek(start)
        self._handle = handle
        self._left = length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._handle.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


# zipfile's structFileHeader and stringFileHeader (module constants, not in its typed API).
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_MAGIC = b"PK\x03\x04"


def _lzma_filters(props: bytes) -> list[dict[str, Any]]:
    """The LZMA1 filter a zip member's 5-byte properties describe (APPNOTE 5.8.8)."""
    if len(props) != 5 or props[0] >= 9 * 5 * 5:
        raise zipfile.BadZipFile("bad LZMA properties")
    lc, rest = props[0] % 9, props[0] // 9
    dict_size = struct.unpack("<I", props[1:5])[0]
    return [{"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": rest % 5, "pb": rest // 5}]


def open_zip_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int,
                    what: str) -> BoundedReader:
    """A member's decompressed bytes, at most `limit` of them, whatever its directory declares.

    Stored and deflated members go through `zipfile` (whose deflate reads ask zlib for no more
    than they return); bzip2 and LZMA members through `bz2.BZ2File` / `lzma.LZMAFile` over
    the raw compressed bytes, which decompress at most what each read asks for.
    """
    if member.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return BoundedReader(archive.open(member), limit, path, what)
    if member.compress_type not in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        archive.open(member).close()  # zipfile says which method it cannot read
        raise NotImplementedError(f"compression method {member.compress_type}")
    handle = open(path, "rb")
    try:
        handle.seek(member.header_offset)
        fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
        if fields[0] != _LOCAL_MAGIC:
            raise zipfile.BadZipFile(f"bad local header for {member.filename}")
        start = member.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
        raw = _Slice(handle, start, member.compress_size)
        # The decompressors only read() it, the one file method a _Slice has.
        compressed = cast(IO[bytes], raw)
        if member.compress_type == zipfile.ZIP_BZIP2:
            stream: bz2.BZ2File | lzma.LZMAFile = bz2.BZ2File(compressed)
        else:
            head = raw.read(4)
            if len(head) < 4:
                raise zipfile.BadZipFile(f"{member.filename}: truncated LZMA header")
            props = raw.read(struct.unpack("<H", head[2:4])[0])
            stream = lzma.LZMAFile(compressed, format=lzma.FORMAT_RAW, filters=_lzma_filters(props))
    except BaseException:
        handle.close()
        raise
    return BoundedReader(_Closing(stream, handle), limit, path, what)


class _Closing:
    """A decompressing stream that closes the file under it too."""

    def __init__(self, stream: bz2.BZ2File | lzma.LZMAFile, handle: BinaryIO) -> None:
        self._stream = stream
        self._handle = handle

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise zipfile.BadZipFile(f"damaged compressed data ({exc})") from None

    def close(self) -> None:
        self._stream.close()
        self._handle.close()


#END
