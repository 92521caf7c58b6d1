"""Whitespace-delimited text: runs of spaces and tabs as one separator.

pyarrow's CSV reader splits on one character, so a whitespace-delimited file (R's
`write.table`, fixed-width-looking columns, `Chins Situps Jumps`) reaches it through
`WhitespaceReader`, which rewrites each block of text first: every run of spaces and tabs
outside double quotes becomes one tab, and the whitespace at the start and end of a line
goes (leading spaces are alignment, not an empty first field). A quoted "New York" keeps its
space. The rewrite is a handful of bytes methods (translate, replace, split, join) and one
numpy pass over blocks of 4 MiB, never Python per row or per field, and it keeps every line
break, so line numbers stay those of the file. Text whose fields are one space apart never
comes here: pyarrow reads it with a space as its delimiter (delimited.py).
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

import numpy as np

__all__ = ["SEPARATOR", "WHITESPACE", "WhitespaceReader", "collapse_bytes", "collapse_text"]

WHITESPACE = " "      # the dialect's delimiter for "runs of spaces and tabs"
SEPARATOR = "\t"      # what the runs become for pyarrow
_BLOCK = 4 << 20
_SPACE_TO_TAB = bytes.maketrans(b" ", b"\t")
_TEXT_SPACE_TO_TAB = str.maketrans(" ", "\t")
# A byte that no block holds stands for a quoted value while the text around it is rewritten.
_SENTINELS = tuple(bytes([b]) for b in range(1, 9)) + (b"\x00",)


def _runs_to_tabs(text: bytes) -> bytes:
    text = text.translate(_SPACE_TO_TAB)
    if b"\t\t" in text:  # aligned columns: keep the first tab of each run (one numpy pass, not log2(run) replaces)
        tabs = np.frombuffer(text, np.uint8) == 9
        keep = np.ones(len(tabs), bool)
        np.logical_not(tabs[1:] & tabs[:-1], out=keep[1:])
        text = np.frombuffer(text, np.uint8)[keep].tobytes()
    text = text.replace(b"\n\t", b"\n").replace(b"\t\n", b"\n")
    return text.replace(b"\t\r", b"\r") if b"\r" in text else text   # one byte: memchr, cheap


def collapse_bytes(block: bytes) -> bytes:
    """`block` (whole lines of ASCII-compatible text) with its whitespace runs as single tabs.

    Double quotes split the block into outside / inside parts: only the outside parts are
    rewritten, all at once, joined by a byte the block does not hold.
    """
    block = b"\n" + block  # the block starts a line
    if b'"' not in block:
        return _runs_to_tabs(block)[1:]
    parts = block.split(b'"')
    sentinel = next((s for s in _SENTINELS if s not in block), None)
    if sentinel is None:  # every control byte present: not text anyone lays out in columns
        parts[0::2] = [_runs_to_tabs(part) for part in parts[0::2]]
    else:
        parts[0::2] = _runs_to_tabs(sentinel.join(parts[0::2])).split(sentinel)
    return b'"'.join(parts)[1:]


def collapse_text(text: str) -> str:
    """`text` rewritten as `collapse_bytes` rewrites bytes (the dialect's sniff reads this)."""
    return collapse_bytes(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")


class WhitespaceReader:
    """A binary file over `raw` that hands on its text with whitespace runs as tabs.

    Blocks end at a line break outside quotes (an even number of quotes before it), so a
    quoted value is never cut. UTF-16 text is decoded and handed on as UTF-8 (`codec` names
    what `raw` holds; `output_codec` what this reader gives). A UTF-8 byte-order mark goes.
    """

    def __init__(self, raw: BinaryIO, codec: str = "utf-8") -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(codec)() if codec.startswith("utf-16") else None
        self.output_codec = "utf8" if self._decoder else codec
        self._carry = b""
        self._out = bytearray()
        self._start = True
        self._ended = False
        self.closed = False

    def _next_block(self) -> None:
        chunk = self._raw.read(_BLOCK)
        if self._decoder is not None:
            chunk = self._decoder.decode(chunk, final=not chunk).encode("utf-8")
        if self._start:
            chunk = chunk.removeprefix(codecs.BOM_UTF8)
            self._start = False
        if not chunk:
            self._ended = True
            rest, self._carry = self._carry, b""
            if rest:
                self._out += collapse_bytes(rest if rest.endswith(b"\n") else rest + b"\n")
            return
        data = self._carry + chunk
        cut = data.rfind(b"\n") + 1
        while cut and data.count(b'"', 0, cut) % 2:  # that line break is inside quotes
            cut = data.rfind(b"\n", 0, cut - 1) + 1
        self._carry = data[cut:]
        if cut:
            self._out += collapse_bytes(data[:cut])

    def read(self, size: int = -1) -> bytes:
        want = None if size is None or size < 0 else size
        while not self._ended and (want is None or len(self._out) < want):
            self._next_block()
        take = len(self._out) if want is None else min(want, len(self._out))
        data = bytes(self._out[:take])
        del self._out[:take]
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._raw.close()

    def __enter__(self) -> WhitespaceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
