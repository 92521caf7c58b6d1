"""What every reader shares about its input: opening it, its compression, its magic
bytes, the errors a read may raise and how they are told, and the date pattern of text.

A leaf: it imports no other reader module, and every reader module may import it.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pyarrow as pa

__all__ = [
    "ARROW_MAGIC",
    "COMPRESSION_MAGIC",
    "DATE_PATTERN",
    "READ_ERRORS",
    "compression_of",
    "first_line",
    "inflate_head",
    "open_input",
    "open_text_stream",
    "polars_errors",
]

ARROW_MAGIC = b"ARROW1"
COMPRESSION_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))
READ_ERRORS = (pa.ArrowException, OSError, ValueError)   # what reading a damaged file may raise
# an ISO 8601 date, optionally with a time and an offset (search it with fullmatch)
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")


def open_input(path: Path, *, memory_map: bool = False) -> pa.NativeFile:
    """A pyarrow file for `path`, read-only; through Python when the name is not valid
    UTF-8 (a Latin-1 name on a UTF-8 system), which pyarrow's own file classes refuse."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return pa.PythonFile(open(path, "rb"), mode="r")
    return pa.memory_map(name, "r") if memory_map else pa.OSFile(name, "r")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (pyarrow's can run on for a page)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def compression_of(head: bytes) -> str | None:
    """The compression container `head` starts with, if any."""
    for magic, name in COMPRESSION_MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_text_stream(path: Path, compression: str | None) -> pa.NativeFile:
    """The file's bytes, decompressed where it is compressed (never guessed from the name)."""
    source = open_input(path)
    return pa.CompressedInputStream(source, compression) if compression else source


def inflate_head(head: bytes, compression: str) -> bytes:
    """As much of a compressed head as decompresses (empty when it does not)."""
    try:
        with pa.input_stream(pa.BufferReader(head), compression=compression) as stream:
            return bytes(stream.read(len(head) * 4))
    except (pa.ArrowException, OSError, ValueError):
        pass
    if compression == "gzip":  # a head cut mid-stream: zlib gives what it has
        try:
            return zlib.decompressobj(wbits=31).decompress(head, len(head) * 4)
        except zlib.error:
            return b""
    return b""


def polars_errors() -> tuple[type[BaseException], ...]:
    """What a polars call may raise. polars is imported where it is used, never with a reader
    module: importing it takes 0.15-0.5 s, a quarter of the app's start-up (bench_gui)."""
    import polars as pl

    # polars can panic on odd input (a NUL byte in a key); its PanicException is a BaseException.
    return (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError, RuntimeError)
