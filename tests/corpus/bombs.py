"""Decompression bombs for the corpus and the memory-budget tests: small on disk, quick to make.

Each expands to `expanded` bytes (32 MiB by default: enough to prove a reader went past a
budget of a few MiB, little enough that today's readers, which expand it whole, stay harmless).
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

__all__ = [
    "EXPANDED",
    "arrow_bomb",
    "csv_gz_bomb",
    "csv_zst_text",
    "npz_bomb",
    "parquet_bomb",
    "sparse_file",
]

EXPANDED = 32 << 20
_LZMA_PROPS = bytes([(2 * 5 + 0) * 9 + 3]) + struct.pack("<I", 1 << 16)   # lc=3 lp=0 pb=2, 64 KiB dict


def _npy_header(shape: tuple[int, ...]) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return out.getvalue()


def npz_bomb(path: Path, method: str = "bz2", expanded: int = EXPANDED, declared: int = 9000) -> None:
    """An NPZ whose `x.npy` is bzip2- or LZMA-compressed zeros (`expanded` bytes) that its zip
    directory declares as `declared` bytes; its NPY header promises the whole array honestly."""
    rows = (expanded - 128) // 8
    payload = _npy_header((rows,)) + bytes(rows * 8)
    if method == "bz2":
        packed, kind = bz2.compress(payload, 1), zipfile.ZIP_BZIP2
    else:
        raw = lzma.compress(payload, format=lzma.FORMAT_RAW,
                            filters=[{"id": lzma.FILTER_LZMA1, "preset": 0, "dict_size": 1 << 16}])
        packed, kind = bytes([9, 4]) + struct.pack("<H", 5) + _LZMA_PROPS + raw, zipfile.ZIP_LZMA
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("x.npy", packed)
    data = bytearray(buffer.getvalue())
    # Stored -> bzip2/LZMA, and the uncompressed size a lie, in the local and central headers.
    struct.pack_into("<H", data, 8, kind)
    struct.pack_into("<I", data, 22, declared)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 10, kind)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def csv_gz_bomb(path: Path, expanded: int = EXPANDED, honest_head: int = 2 << 20) -> None:
    """A `.csv.gz` whose first `honest_head` bytes of text are ordinary rows and the rest one
    repeated row (deflate's best ratio): its first MB looks small, its whole is `expanded`."""
    rng = np.random.default_rng(3)
    rows = [f"{a:.6f},{b:.6f},{int(a > b)}\n" for a, b in rng.random((honest_head // 20, 2))]
    head = ("a,b,label\n" + "".join(rows)).encode()
    filler = b"0.5,0.5,1\n" * (1 << 20)
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    parts = [packer.compress(head)]
    for _ in range(max(0, expanded - len(head)) // len(filler)):
        parts.append(packer.compress(filler))
    parts.append(packer.flush())
    path.write_bytes(b"".join(parts))


def csv_zst_text(path: Path, expanded: int = EXPANDED) -> None:
    """A `.csv.zst` of `expanded` bytes of rows: the estimate must not decompress it all."""
    block = b"a,b,label\n" + b"0.25,0.75,1\n0.5,0.5,0\n" * (1 << 18)
    stream = pa.BufferOutputStream()
    with pa.CompressedOutputStream(stream, "zstd") as out:
        out.write(block)
        body = b"0.25,0.75,1\n0.5,0.5,0\n" * (1 << 18)
        for _ in range(max(0, expanded - len(block)) // len(body)):
            out.write(body)
    path.write_bytes(stream.getvalue().to_pybytes())


def arrow_bomb(path: Path, compression: str = "zstd", expanded: int = EXPANDED, stream: bool = False) -> None:
    """An Arrow IPC file (or stream) with one record batch of `expanded` bytes of zeros, compressed."""
    table = pa.table({"x": np.zeros(expanded // 8), "label": np.zeros(expanded // 8, np.int8)})
    options = ipc.IpcWriteOptions(compression=compression)
    make = ipc.new_stream if stream else ipc.new_file
    with make(str(path), table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=len(table))


def parquet_bomb(path: Path, expanded: int = EXPANDED) -> None:
    """A Parquet file of one row group that decodes to `expanded` bytes (a repeating pattern,
    zstd-compressed: a few kB on disk)."""
    rows = expanded // 16
    steps = np.arange(rows)
    pq.write_table(pa.table({"x": (steps % 7).astype(np.float64), "label": steps % 2}), path,
                   compression="zstd", row_group_size=rows)


def sparse_file(path: Path, size: int = 5 << 30, head: bytes = b"") -> None:
    """A file of `size` bytes that uses almost no disk: `head`, then a hole."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)

