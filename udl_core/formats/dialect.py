"""The dialect of a delimited text file, read off its first 256 KiB.

Encoding (by rule, encoding.py), compression (by magic bytes), delimiter (the candidate
that splits the sample's records most consistently; ties go to the one least likely to
appear inside values; runs of whitespace only when every line splits the same way on them
and no single character does as well, whitespace.py), preamble (title lines with fewer
fields before a consistent table), header row (the first row holds names while the rows
below hold typed values: headerrow.py), and number style (decimal commas, numbers padded
with spaces).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa

from udl_core.errors import ConfigError, CorruptFileError, EmptyDatasetError, UnsupportedFormatError
from udl_core.formats.inputs import compression_of, first_line, open_text_stream
from udl_core.formats.encoding import TextEncoding, decode_sample, detect_encoding
from udl_core.formats.headerrow import FALSE_VALUES, NUMBER, TRUE_VALUES, has_header
from udl_core.formats.whitespace import SEPARATOR, WHITESPACE, collapse_text
from udl_core.table import ReadOptions

__all__ = [
    "DELIMITER_NAMES",
    "FALSE_VALUES",
    "GROUPED",
    "NUMBER",
    "SAMPLE_BYTES",
    "TRUE_VALUES",
    "Dialect",
    "detect_dialect",
    "read_sample",
    "unique_names",
]

SAMPLE_BYTES = 256 * 1024
_QUOTE_ROWS = 200   # records whose quoting the header rule reads
# Compressed text is recognised by its container's magic bytes, whatever the file is called.
# Ties in consistency go to the delimiter least likely to appear inside values.
_DELIMITERS = ("\t", ";", "|", ",")
DELIMITER_NAMES = {"\t": "tab", ";": "semicolon", "|": "pipe", ",": "comma", WHITESPACE: "whitespace"}
_NUMBER_RE = re.compile(rf"\s*{NUMBER}\s*")
# With a decimal comma, dots group thousands: 1.234.567,89
GROUPED = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?"
_GROUPED_RE = re.compile(rf"\s*{GROUPED}\s*")
_DOT_DECIMAL_RE = re.compile(r"\s*[+-]?\d*\.\d+\s*")
_COMMA_DECIMAL_RE = re.compile(r"\s*[+-]?\d*,\d+\s*")


@dataclass(frozen=True)
class Dialect:
    """What the sample says about a delimited file."""

    encoding: TextEncoding
    compression: str | None         # "gzip", "bz2", "zstd", or None for plain text
    delimiter: str
    header: bool
    names: tuple[str, ...]
    header_lines: int              # physical lines the header record spans (0 without one)
    skip_lines: int                # lines before it: Excel's "sep=;" hint, "#" comments, a preamble
    preamble_lines: int            # of those, the comment and title lines (said in a note)
    names_given: bool              # we name the columns (no header, or a header of another width)
    unnamed_first: bool            # the header leaves the first column unnamed (pandas' index)
    decimal_comma: bool
    quoted_newlines: bool
    has_nul: bool
    numeric_text: tuple[int, ...]  # columns whose sample values are numbers padded or comma-decimal
    single_spaces: bool = False    # whitespace-delimited with one space between fields: pyarrow reads it as is

    def describe(self) -> str:
        header = "a header row" if self.header else "no header row"
        packed = f", {self.compression}-compressed" if self.compression else ""
        return f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated, {header}{packed}"


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> tuple[bytes, bool, str | None]:
    """The first `size` bytes of text (decompressed), whether that is all, and the compression."""
    compression = None
    try:
        with open(path, "rb") as handle:
            compression = compression_of(handle.read(4))
        with open_text_stream(path, compression) as stream:
            sample = stream.read(size + 1)
    except (OSError, pa.ArrowException, ValueError) as exc:
        what = f"a damaged {compression} file" if compression else "unreadable"
        raise CorruptFileError(path, f"is {what} ({first_line(exc)})") from None
    return sample[:size], len(sample) <= size, compression


def _records(text: str, delimiter: str, complete: bool, *, quoting: Literal[0, 3] = csv.QUOTE_MINIMAL
             ) -> list[list[str]]:
    if delimiter == WHITESPACE:
        text, delimiter = collapse_text(text), SEPARATOR
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # one huge field must not stop the sniff
    try:
        # A record at a time, not list(reader): that is one C call over the whole sample, which
        # held the GIL 5-40 ms a time and stalled the window's event loop while a load began.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', quoting=quoting)
        rows = [row for row in reader]
    except csv.Error:  # the sniff is best effort; pyarrow's parse is what counts
        rows = [line.split(delimiter) for line in text.splitlines()]
    finally:
        csv.field_size_limit(limit)
    rows = [row for row in rows if row]
    if not complete and len(rows) > 1:
        rows.pop()  # the sample may end inside the last record
    return rows


def _sniff_delimiter(text: str, complete: bool) -> str:
    best, best_score = ",", -1.0
    for delimiter in _DELIMITERS:
        if delimiter not in text:
            continue
        counts = [len(row) for row in _records(text[:65536], delimiter, complete)]
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = round(hits / len(counts), 2)
        if score > best_score:  # strict: earlier delimiters win ties
            best, best_score = delimiter, score
    if _split_by_whitespace(_records(text[:65536], WHITESPACE, complete), best_score):
        return WHITESPACE
    return best


def _table_start(counts: list[int]) -> tuple[int, int, float]:
    """Records before the table (a preamble of lines with fewer fields), the table's width,
    and the share of the records after its first that have that width."""
    width = Counter(counts[1:] or counts).most_common(1)[0][0]
    start = 0
    while start < len(counts) - 1 and counts[start] < width:
        start += 1
    body = counts[start + 1:]
    return start, width, (sum(c == width for c in body) / len(body) if body else 0.0)


def _split_by_whitespace(rows: list[list[str]], rival: float) -> bool:
    """Every record (after a preamble; a header may be one name short, as R writes it) splits
    into the same number (> 1) of fields on whitespace, better than the `rival` delimiter's
    share, and some column holds numbers (lines of words are not a table)."""
    if len(rows) < 2:
        return False
    start, width, share = _table_start([len(row) for row in rows])
    if width < 2 or len(rows[start]) not in (width, width - 1) or share < 0.99 or share <= rival:
        return False
    body = [row for row in rows[start + 1:] if len(row) == width]
    numbers = [sum(bool(_NUMBER_RE.fullmatch(row[j])) for row in body) for j in range(width)]
    return max(numbers) >= 0.9 * len(body)   # a few missing-value tokens allowed


def _lines_of_records(text: str, delimiter: str, records: int) -> int | None:
    """Physical lines the first `records` non-blank records span (pyarrow skips lines)."""
    if delimiter == WHITESPACE:
        text, delimiter = collapse_text(text), SEPARATOR
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    seen = 0
    try:
        for row in reader:
            seen += bool(row)
            if seen == records:
                return reader.line_num
    except csv.Error:
        return None
    return None


def _quoting(text: str, delimiter: str, complete: bool, rows: list[list[str]]) -> list[list[bool]] | None:
    """Which fields of the first records were quoted (a record that splits differently
    without quoting says nothing: [])."""
    if any("\n" in token or "\r" in token for row in rows[:_QUOTE_ROWS] for token in row):
        return None
    end = 0
    for _ in range(_QUOTE_ROWS + 1):
        end = text.find("\n", end) + 1
        if not end:
            break
    head = text[:end] if end else text
    raw = _records(head, delimiter, complete and not end, quoting=csv.QUOTE_NONE)[:_QUOTE_ROWS]
    return [[field.lstrip().startswith('"') for field in fields] if len(fields) == len(row) else []
            for fields, row in zip(raw, rows)]


def _skip_preamble(text: str, rows: list[list[str]], delimiter: str, missing: frozenset[str]
                   ) -> tuple[int, list[list[str]], str]:
    """Lines before the table (a title, "Series Id: ...", a blank line) when every record
    after them has the table's width and the first of them reads as a header; else 0."""
    if len(rows) < 3:
        return 0, rows, text
    start, width, share = _table_start([len(row) for row in rows])
    if not start or width < 2 or len(rows[start]) not in (width, width - 1) or share < 0.99 \
            or not has_header(rows[start:], missing, all_text=False):
        return 0, rows, text
    lines = _lines_of_records(text, delimiter, start)
    if lines is None:
        return 0, rows, text
    rest = text
    for _ in range(lines):
        rest = rest.partition("\n")[2]
    while True:  # blank lines before the header are preamble too
        line, newline, after = rest.partition("\n")
        if not newline or line.strip():
            return lines, rows[start:], rest
        lines, rest = lines + 1, after


def unique_names(raw: list[str], width: int) -> tuple[str, ...]:
    names: list[str] = []
    seen: set[str] = set()
    # The next suffix to try per name: a suffix once taken stays taken, so a header of one
    # repeated name is renamed in linear time, not by rescanning x_2, x_3, ... per column.
    next_suffix: dict[str, int] = {}
    for i in range(width):
        name = raw[i].strip() if i < len(raw) else ""
        name = name or f"column_{i + 1}"
        candidate = name
        if candidate in seen:
            n = next_suffix.get(name, 2)
            candidate = f"{name}_{n}"
            while candidate in seen:
                n += 1
                candidate = f"{name}_{n}"
            next_suffix[name] = n + 1
        seen.add(candidate)
        names.append(candidate)
    return tuple(names)


def _numeric_text_columns(rows: list[list[str]], width: int, delimiter: str, decimal_comma: bool,
                          missing: frozenset[str]) -> tuple[int, ...]:
    """Columns pyarrow will leave as text but that hold numbers (padded, or mixed decimals).

    In a comma-separated file a quoted "1,234" is more likely a thousands separator than a
    decimal comma, so there such columns stay text.
    """
    found = []
    for j in range(width):
        values = [row[j] for row in rows if j < len(row) and row[j].strip() not in missing]
        if decimal_comma and values and all(_NUMBER_RE.fullmatch(v) or _GROUPED_RE.fullmatch(v) for v in values) \
                and any(_GROUPED_RE.fullmatch(v) for v in values):
            found.append(j)
            continue
        if not values or not all(_NUMBER_RE.fullmatch(v) for v in values):
            continue
        if delimiter == "," and any("," in v for v in values):
            continue
        padded = any(v != v.strip() for v in values)
        comma = any("," in v for v in values)
        if padded or (comma and not decimal_comma) or (decimal_comma and any("." in v for v in values)):
            found.append(j)
    return tuple(found)


def _single_spaces(text: str) -> bool:
    """No tab, run of spaces, or space at a line's end anywhere in the sample (quoted or not)."""
    return not text.startswith(" ") and not any(
        mark in text for mark in ("\t", "  ", "\n ", " \n", " \r"))


def _preamble(text: str) -> tuple[int, str | None, str]:
    """Lines to skip before the header ("sep=;" first, then "#" comments), the hint, the rest."""
    count, hint = 0, None
    while True:
        line, newline, rest = text.partition("\n")
        stripped = line.strip()
        if count == 0 and len(stripped) == 5 and stripped.startswith("sep="):
            hint = stripped[4]
        elif not stripped.startswith("#"):
            return count, hint, text
        if not newline:
            return count + 1, hint, ""
        count, text = count + 1, rest


# The estimate and the reader both ask for a file's dialect: the second sniff is a lookup.
# The key is the sample itself (a digest of it), so a file that changes is sniffed again.
_CACHE_SIZE = 16
_cache: dict[tuple[object, ...], Dialect] = {}
_cache_lock = threading.Lock()


def detect_dialect(path: Path, options: ReadOptions) -> Dialect:
    """Encoding, delimiter, header and number style of `path`, from its first 256 KiB."""
    path = Path(path)
    head, complete, compression = read_sample(path)
    key = (hashlib.blake2b(head, digest_size=16).digest(), len(head), complete, compression,
           options.encoding, options.delimiter, options.header, tuple(options.missing_values))
    with _cache_lock:
        dialect = _cache.get(key)
    if dialect is None:
        dialect = _detect_dialect(path, options, head, complete, compression)
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = dialect
    return dialect


def _detect_dialect(path: Path, options: ReadOptions, head: bytes, complete: bool,
                    compression: str | None) -> Dialect:
    if options.encoding:
        try:
            encoding = TextEncoding(options.encoding.lower())
            "".encode(encoding.codec)
        except (LookupError, ValueError):   # ValueError: a NUL in the name
            raise UnsupportedFormatError(path, f"unknown encoding {options.encoding!r}") from None
    else:
        detected = detect_encoding(head, complete)
        if detected is None:
            raise UnsupportedFormatError(path, "looks like binary data, not text")
        encoding = detected
    text = decode_sample(head, encoding)
    has_nul = "\x00" in text
    text = text.replace("\x00", "")
    if not text.strip():
        raise EmptyDatasetError(path, "holds only blank lines")
    if options.delimiter is not None and len(options.delimiter) != 1:
        raise ConfigError(f"the delimiter must be one character, not {options.delimiter!r}")
    skip_lines, hint, text = _preamble(text)
    if not text.strip():
        raise EmptyDatasetError(path, "holds only comment lines")
    delimiter = options.delimiter or hint or _sniff_delimiter(text, complete)
    rows = _records(text, delimiter, complete)
    missing = frozenset(options.missing_values)
    preamble_lines = skip_lines - (hint is not None)
    if options.header is not False:
        extra, rows, text = _skip_preamble(text, rows, delimiter, missing)
        skip_lines, preamble_lines = skip_lines + extra, preamble_lines + extra
    header = options.header if options.header is not None else \
        has_header(rows, missing, _quoting(text, delimiter, complete, rows))
    body = rows[1:] if header else rows
    width = Counter(len(row) for row in (body or rows)).most_common(1)[0][0]
    names_given = not header
    if header:
        header_lines = 1 + sum(field.count("\n") for field in rows[0])
        # A header one name short (a pandas index) would make every row "malformed".
        names_given = len(body) >= 2 and width != len(rows[0])
        if not names_given:
            width = len(rows[0])
        raw = rows[0] if width >= len(rows[0]) else rows[0][:width]
        names = unique_names([""] * (width - len(raw)) + raw, width) if names_given else \
            unique_names(rows[0], width)
    else:
        names = tuple(f"column_{i + 1}" for i in range(width))
        header_lines = 0
    tokens = [token for row in body[:2000] for token in row]
    # Decimal commas: some "3,14" or "1.234,5", and no "3.14" that is not a thousands group.
    decimal_comma = delimiter != "," and any(
        _COMMA_DECIMAL_RE.fullmatch(t) or ("," in t and _GROUPED_RE.fullmatch(t)) for t in tokens
    ) and not any(_DOT_DECIMAL_RE.fullmatch(t) and not _GROUPED_RE.fullmatch(t) for t in tokens)
    quoted_newlines = any("\n" in token or "\r" in token for row in rows for token in row)
    return Dialect(
        encoding=encoding,
        compression=compression,
        delimiter=delimiter,
        header=header,
        names=names,
        header_lines=header_lines,
        skip_lines=skip_lines,
        preamble_lines=preamble_lines,
        names_given=names_given,
        unnamed_first=header and (not rows[0][0].strip() or (names_given and width > len(rows[0]))),
        decimal_comma=decimal_comma,
        quoted_newlines=quoted_newlines,
        single_spaces=delimiter == WHITESPACE and _single_spaces(text),
        has_nul=has_nul,
        numeric_text=_numeric_text_columns(body[:2000], width, delimiter, decimal_comma, missing),
    )
