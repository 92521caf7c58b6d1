"""Whether the first record of a delimited sample is a header, read off the kinds of its values.

A first row with no numbers is a header when some column below it holds typed values (or
when every row is text, as most files have a header). A first row with numbers among its
names is a header too when it differs in kind from the rows below and no column says it is
data: numbers quoted over the same columns unquoted (R's `write.csv` quotes every name, so
`crimtab`'s `"142.24"` over `0`), whole numbers over fractions or text (years over
rates: `1990,1991` over `5.3,5.4`), or a run of three or more years at a constant step over
numbers that are not years (`2011,2012,2013` over counts). A row of numbers over the same
kind of numbers, unquoted, stays data: real headerless numeric files keep their first row.
"""

from __future__ import annotations

import re
from collections import Counter

from udl_core.formats.inputs import DATE_PATTERN

__all__ = ["FALSE_VALUES", "NUMBER", "TRUE_VALUES", "has_header", "kind"]

TRUE_VALUES = ["true", "True", "TRUE", "yes", "Yes", "YES"]
FALSE_VALUES = ["false", "False", "FALSE", "no", "No", "NO"]
NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(rf"\s*{NUMBER}\s*")
_WHOLE_RE = re.compile(r"\s*[+-]?\d+\s*")
_ROWS = 200   # rows below the first that vote


def kind(token: str, missing: frozenset[str]) -> str:
    """"missing", "number", "bool", "date" or "text"."""
    if token.strip() in missing:
        return "missing"
    if _NUMBER_RE.fullmatch(token):
        return "number"
    if token.strip() in TRUE_VALUES or token.strip() in FALSE_VALUES:
        return "bool"
    if DATE_PATTERN.fullmatch(token.strip()):
        return "date"
    return "text"


def has_header(rows: list[list[str]], missing: frozenset[str],
               quoted: list[list[bool]] | None = None, *, all_text: bool = True) -> bool:
    """Whether `rows[0]` names the columns; `quoted[i][j]` says field j of row i was quoted.

    `all_text` is the answer when every value is text and nothing says either way."""
    first = [kind(token, missing) for token in rows[0]]
    if "number" in first:
        return _numeric_names(rows, first, missing, quoted)
    header_votes = data_votes = 0
    for j, first_kind in enumerate(first):
        below = Counter(kind(row[j], missing) for row in rows[1:_ROWS] if j < len(row))
        below.pop("missing", None)
        if not below:
            continue
        typical = below.most_common(1)[0][0]
        if first_kind == "text" and typical != "text":
            header_votes += 1
        elif first_kind != "text" and first_kind != "missing" and first_kind == typical:
            data_votes += 1
    if header_votes:
        return True
    return all_text and not data_votes  # all text: assume a header, as most files have one


def _numeric_names(rows: list[list[str]], first: list[str], missing: frozenset[str],
                   quoted: list[list[bool]] | None) -> bool:
    """A first row holding numbers: a header only when some column differs in kind below it
    and none looks the same (names are distinct, too)."""
    names = [token.strip() for token, k in zip(rows[0], first) if k != "missing"]
    if len(set(names)) != len(names) or len(rows) < 2:
        return False
    years = _year_run([token for token, k in zip(rows[0], first) if k == "number"])
    header_votes = 0
    for j, first_kind in enumerate(first):
        below = [(i, row[j]) for i, row in enumerate(rows[1:_ROWS], start=1) if j < len(row)]
        kinds = Counter(kind(token, missing) for _, token in below)
        kinds.pop("missing", None)
        if not kinds or first_kind == "missing":
            continue
        typical = kinds.most_common(1)[0][0]
        if first_kind == "text":
            header_votes += typical != "text"
            continue
        if first_kind != "number":
            if first_kind == typical:
                return False  # one column that reads as data is enough (a wide file stops early)
            continue
        if typical != "number":
            header_votes += 1  # a number over text, dates or booleans names the column
            continue
        numbers = [(i, token) for i, token in below if kind(token, missing) == "number"]
        if _quoted_over_bare(quoted, j, [i for i, _ in numbers]):
            header_votes += 1
        elif _WHOLE_RE.fullmatch(rows[0][j]) and \
                sum(not _WHOLE_RE.fullmatch(token) for _, token in numbers) * 2 > len(numbers):
            header_votes += 1  # a whole number over mostly fractions: a year over rates
        elif years and sum(_is_year(token) for _, token in numbers) * 2 < len(numbers):
            header_votes += 1  # 2011, 2012, 2013 over counts
        else:
            return False
    return header_votes > 0


def _is_year(token: str) -> bool:
    return bool(_WHOLE_RE.fullmatch(token)) and 1800 <= int(token) <= 2100


def _year_run(tokens: list[str]) -> bool:
    """Three or more years, rising by one constant step of at most 10."""
    if len(tokens) < 3 or not all(_is_year(token) for token in tokens):
        return False
    steps = {int(b) - int(a) for a, b in zip(tokens, tokens[1:])}
    return len(steps) == 1 and 0 < steps.pop() <= 10


def _quoted_over_bare(quoted: list[list[bool]] | None, j: int, below: list[int]) -> bool:
    """Field j quoted in the first row and bare in most rows below that hold numbers."""
    if not quoted or j >= len(quoted[0]) or not quoted[0][j]:
        return False
    flags = [quoted[i][j] for i in below if i < len(quoted) and j < len(quoted[i])]
    return bool(flags) and sum(not q for q in flags) * 2 > len(flags)
