"""How many bytes an Arrow IPC file's compressed buffers expand to, read before one is expanded.

With IPC body compression (zstd, lz4) every buffer starts with its uncompressed length, and
pyarrow allocates that much and decompresses a whole record batch at once: 407 KB of zstd
can hold 8 GiB of zeros in one batch. Nothing in pyarrow's API says a batch's size before
reading it, so this module reads the messages' metadata (flatbuffers, verified by pyarrow's
`read_message`) for the buffer layout and sums those length prefixes. For a file, the
batches are the footer's blocks, the same ones `RecordBatchFileReader.get_batch` reads; for
a stream, the messages in order. Uncompressed buffers cost nothing here: they are
memory-mapped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from udl_core.errors import CorruptFileError, MemoryBudgetError
from udl_core.formats.bounded import format_size
from udl_core.formats.inputs import ARROW_MAGIC

__all__ = ["BatchSize", "check_ipc_budget", "ipc_batch_sizes"]

_RECORD_BATCH, _DICTIONARY_BATCH = 3, 2


@dataclass(frozen=True)
class BatchSize:
    """One record (or dictionary) batch: its rows and the bytes its compressed buffers expand to."""

    rows: int
    expanded: int
    dictionary: bool = False


class _Flat:
    """Just enough of the flatbuffers format to walk Arrow's Message, RecordBatch and Footer."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def root(self) -> int:
        return self._u32(0)

    def _u32(self, at: int) -> int:
        return int(struct.unpack_from("<I", self.data, at)[0])

    def field(self, table: int, index: int) -> int:
        """Where field `index` of the table at `table` lies, or 0 when it is absent."""
        vtable = table - struct.unpack_from("<i", self.data, table)[0]
        size = struct.unpack_from("<H", self.data, vtable)[0]
        slot = 4 + 2 * index
        if slot + 2 > size:
            return 0
        offset = struct.unpack_from("<H", self.data, vtable + slot)[0]
        return table + offset if offset else 0

    def scalar(self, table: int, index: int, fmt: str, default: int = 0) -> int:
        at = self.field(table, index)
        return struct.unpack_from(fmt, self.data, at)[0] if at else default

    def table(self, table: int, index: int) -> int:
        at = self.field(table, index)
        return at + self._u32(at) if at else 0

    def structs(self, table: int, index: int, fmt: str) -> list[tuple[int, ...]]:
        """A vector of structs, each unpacked with `fmt`."""
        at = self.field(table, index)
        if not at:
            return []
        start = at + self._u32(at)
        count, size = self._u32(start), struct.calcsize(fmt)
        return [struct.unpack_from(fmt, self.data, start + 4 + i * size) for i in range(count)]


def _message_size(message: pa.ipc.Message) -> BatchSize | None:
    """The rows and expanded bytes of a record or dictionary batch message (None for others)."""
    flat = _Flat(message.metadata.to_pybytes())
    root = flat.root()
    kind = flat.scalar(root, 1, "<B")
    if kind not in (_RECORD_BATCH, _DICTIONARY_BATCH):
        return None
    header = flat.table(root, 2)
    batch = flat.table(header, 1) if kind == _DICTIONARY_BATCH else header
    if not batch:
        return BatchSize(0, 0, kind == _DICTIONARY_BATCH)
    rows = flat.scalar(batch, 0, "<q")
    expanded = 0
    if flat.field(batch, 3):   # BodyCompression: every buffer opens with its uncompressed length
        body = message.body
        for offset, length in flat.structs(batch, 2, "<qq"):
            if length < 8:
                continue
            if offset < 0 or offset + 8 > body.size:
                raise ValueError("a buffer lies outside the message body")
            prefix = struct.unpack("<q", body.slice(offset, 8).to_pybytes())[0]
            if prefix != -1:
                expanded += max(prefix, 0)
    return BatchSize(rows, expanded, kind == _DICTIONARY_BATCH)


def _footer_blocks(source: pa.Buffer) -> list[tuple[int, int]]:
    """(offset, length) of every dictionary and record batch block a file's footer lists."""
    size = source.size
    tail = source.slice(size - 10, 10).to_pybytes() if size >= 10 else b""
    if tail[4:] != ARROW_MAGIC:
        raise ValueError("no Arrow file footer")
    length = struct.unpack("<i", tail[:4])[0]
    if not 0 < length <= size - 10:
        raise ValueError("a damaged Arrow file footer")
    flat = _Flat(source.slice(size - 10 - length, length).to_pybytes())
    root = flat.root()
    blocks = flat.structs(root, 2, "<qi4xq") + flat.structs(root, 3, "<qi4xq")
    return [(offset, meta + body) for offset, meta, body in blocks]


def ipc_batch_sizes(path: Path, source: pa.Buffer, file: bool) -> list[BatchSize]:
    """Every batch of the IPC file (`file`) or stream in `source` (the file, memory-mapped)."""
    try:
        if file:
            sizes = []
            for offset, length in _footer_blocks(source):
                if offset < 0 or length < 0 or offset + length > source.size:
                    raise ValueError("a footer block lies outside the file")
                size = _message_size(pa.ipc.read_message(source.slice(offset, length)))
                if size is not None:
                    sizes.append(size)
            return sizes
        reader = pa.ipc.MessageReader.open_stream(pa.BufferReader(source))
        return [size for message in reader if (size := _message_size(message)) is not None]
    except (pa.ArrowException, ValueError, struct.error, IndexError) as exc:
        raise CorruptFileError(path, f"truncated or not an Arrow file ({exc})") from None


def check_ipc_budget(path: Path, head: bytes, source: pa.NativeFile, limit: int) -> list[BatchSize]:
    """The batches of an IPC file or stream, refused (`MemoryBudgetError`) when their compressed
    buffers would expand to more than `limit` bytes together: checked before any is expanded."""
    if head[:4] == b"FEA1":   # Feather v1 has no compression
        return []
    sizes = ipc_batch_sizes(path, source.read_buffer(), head[:6] == ARROW_MAGIC)
    expanded = sum(size.expanded for size in sizes)
    if expanded > limit:
        raise MemoryBudgetError(
            path, f"its compressed record batches expand to {expanded:,} bytes, more than the memory budget "
                  f"of {format_size(limit)}; refused before decompressing (a larger --memory-budget raises "
                  "it, or write the file uncompressed, which is memory-mapped)", limit=limit, seen=0)
    return sizes
