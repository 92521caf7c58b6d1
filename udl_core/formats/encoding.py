"""Text or binary, and which encoding: decided by rule from a file's first bytes, never guessed.

The rule, in order: a byte-order mark (UTF-8, UTF-16 LE/BE); UTF-16 without a BOM by its
pattern of NUL bytes; too many control bytes means binary; valid UTF-8; else CP1252
unless the sample holds bytes CP1252 leaves undefined, which only Latin-1 maps.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["TextEncoding", "decode_sample", "detect_encoding", "looks_binary"]

_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f") + b"\x7f"
_CONTROL_TABLE = bytes(range(256))
# Share of control bytes above which a sample is binary: text with a stray NUL stays text,
# random or compressed bytes (about 11% control bytes) do not.
_BINARY_CONTROL_SHARE = 0.05


@dataclass(frozen=True)
class TextEncoding:
    """How to decode a text file: `codec` for Python and pyarrow, `bom` bytes to skip."""

    codec: str
    bom: bytes = b""

    @property
    def is_utf8(self) -> bool:
        return self.codec == "utf-8"

    @property
    def label(self) -> str:
        return self.codec + (" with BOM" if self.bom else "")


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def looks_binary(head: bytes) -> bool:
    """True when `head` (not UTF-16) holds too many control bytes to be text."""
    if not head:
        return False
    control = len(head) - len(head.translate(_CONTROL_TABLE, _CONTROL))
    return control / len(head) > _BINARY_CONTROL_SHARE


def _valid_utf8(head: bytes, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=complete)  # a sample may end inside a character
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(head: bytes, complete: bool = False) -> TextEncoding | None:
    """The encoding of a text sample, or None when it looks like binary data.

    `complete` says `head` is the whole file (so it may not end mid-character).
    """
    if head.startswith(codecs.BOM_UTF8):
        return TextEncoding("utf-8", codecs.BOM_UTF8)
    if head.startswith(codecs.BOM_UTF16_LE) and not head.startswith(codecs.BOM_UTF32_LE):
        return TextEncoding("utf-16-le", codecs.BOM_UTF16_LE)
    if head.startswith(codecs.BOM_UTF16_BE):
        return TextEncoding("utf-16-be", codecs.BOM_UTF16_BE)
    utf16 = _utf16_without_bom(head)
    if utf16:
        return TextEncoding(utf16)
    if looks_binary(head):
        return None
    if _valid_utf8(head, complete):
        return TextEncoding("utf-8")
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: undefined in CP1252
        return TextEncoding("latin-1")
    return TextEncoding("cp1252")


def decode_sample(head: bytes, encoding: TextEncoding) -> str:
    """`head` decoded, without its BOM, dropping a character cut off at the end."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    return decoder.decode(head[len(encoding.bom):], final=False)
