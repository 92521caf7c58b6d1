"""Numbers as people read them: counts with thousands separators, plurals, durations.

One place for the words the CLI and the window show, so that a count reads the same everywhere
("1,000,000 rows", never "1000000 rows" beside "1,000,000"), one thing is never plural
("1 class", "1 epoch") and a short time is never "0.00 s".

>>> count(1000000)
'1,000,000'
>>> plural(1, "class"), plural(2, "class"), plural(1_000_000, "row")
('1 class', '2 classes', '1,000,000 rows')
>>> duration(0.004), duration(0.34), duration(2.43), duration(65)
('<10 ms', '340 ms', '2.4 s', '1 min 5 s')
"""

from __future__ import annotations

import math

__all__ = ["count", "duration", "in_window_words", "plural", "plural_word", "rate"]

_SIBILANT_ENDINGS = ("s", "sh", "ch", "x", "z")
# The command line's hints, in the window's words (the window has no --label flag to name).
_WINDOW_WORDS = (
    ("; name one with --label", "; pick one in the Label column box"),
    ("name another label with --label", "pick another label in the Label column box"),
    ("(name it with --label, --numeric or --categorical to use it)",
     "(give it a role or a type in the Schema tab to use it)"),
    ("Name the right label column with --label", "Pick the right label column in the Label column box"),
    ("Name the real label with --label", "Pick the real label in the Label column box"),
    ("(a larger --memory-budget raises it)", "(a larger File > Memory Budget raises it)"),
)
_IRREGULAR = {"epoch": "epochs", "stomach": "stomachs", "index": "indices", "matrix": "matrices"}


def count(n: float) -> str:
    """`n` with thousands separators; a whole float as a whole number, others to 3 significant digits."""
    if isinstance(n, float):
        if not math.isfinite(n):
            return str(n)
        if not n.is_integer():
            return f"{n:.3g}" if abs(n) < 100 else f"{n:,.0f}"
        n = int(n)
    return f"{int(n):,}"


def plural_word(n: float, singular: str, plural: str | None = None) -> str:
    """The word alone: `singular` for exactly one, else `plural` (default: English rules on
    the last word: class -> classes, entry -> entries, row -> rows)."""
    if n == 1:
        return singular
    if plural is not None:
        return plural
    if singular in _IRREGULAR:
        return _IRREGULAR[singular]
    if singular.endswith(_SIBILANT_ENDINGS):
        return singular + "es"
    if len(singular) > 1 and singular.endswith("y") and singular[-2] not in "aeiou":
        return singular[:-1] + "ies"
    return singular + "s"


def plural(n: float, singular: str, plural: str | None = None) -> str:
    """'1 class', '2 classes', '1,000,000 rows': the count with separators, then the word."""
    return f"{count(n)} {plural_word(n, singular, plural)}"


def duration(seconds: float) -> str:
    """A time as a person reads it: '<10 ms', '340 ms', '2.4 s', '12 s', '1 min 5 s', '2 h 3 min'."""
    if not math.isfinite(seconds):
        return "unknown time"
    seconds = max(0.0, seconds)
    if seconds < 0.01:
        return "<10 ms"
    if seconds < 0.9995:
        return f"{round(seconds * 1000):d} ms"
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    if seconds < 59.5:
        return f"{round(seconds):d} s"
    whole = round(seconds)
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(whole, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def in_window_words(message: str) -> str:
    """`message` (a warning or an error written for the command line) with its flags said as the
    window says them: "name one with --label" becomes "confirm it or pick another above the batch table"."""
    if message.startswith("label: guessed "):   # the window asks in a banner above the batch table
        message = message.replace("; name one with --label", "; confirm it or pick another above the batch table")
    for cli, window in _WINDOW_WORDS:
        message = message.replace(cli, window)
    return message


def rate(per_second: float, unit: str) -> str:
    """'1,234 samples/s' (3 significant digits under 100: '2.5 samples/s')."""
    if not math.isfinite(per_second):
        return f"- {unit}/s"
    shown = f"{per_second:.3g}" if per_second < 100 else f"{round(per_second):,}"
    return f"{shown} {unit}/s"
