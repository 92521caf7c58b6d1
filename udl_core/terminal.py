"""Text bound for a terminal: whatever a file put in it is shown, never obeyed.

Column names, class names, paths and notes come from the user's files; an ANSI escape or a
carriage return in one of them must not recolour, rewrite or split what UDL prints. The
command line writes through `printable_streams()`, which escapes them on the way out.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import TextIO

__all__ = ["PrintableWriter", "printable", "printable_streams"]


def printable(text: str, keep: str = "") -> str:
    """`text` with control and format characters (ANSI escapes, tabs, newlines, bidi marks)
    written as Python escapes; characters in `keep` pass as they are."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class PrintableWriter(io.TextIOBase):
    """A text stream that escapes everything `printable` does except newlines and tabs."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text, keep="\n\t"))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


@contextlib.contextmanager
def printable_streams() -> Iterator[None]:
    """`sys.stdout` and `sys.stderr` escaped for the duration (JSON output is ASCII already)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrintableWriter(saved[0]), PrintableWriter(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
