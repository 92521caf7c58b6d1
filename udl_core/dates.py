"""Dates and times written as text, recognised per column and parsed in one vectorised pass.

`parse_text_dates(table)` is the one place every reader sends its string columns (CSV, JSON /
JSON Lines, Parquet, Arrow). For each string column it takes a sample (the first 500 values
and 500 spread over the column), tries a fixed list of explicit forms on it, and keeps the
first form that parses the most sample values, provided that is at least 95% of the present
ones. The whole column is then parsed by polars' `str.strptime` with that explicit format
(chrono: strict, so `2/30/2005` is no date), never row by row in Python. Values that do not
parse become missing and are counted; `column_warnings` says so in the schema's warnings.

Forms (spaces around a value are ignored; month names and abbreviations in any case):

* ISO with any separator: `2012-01-01`, `2012/01/01`, `2012.01.01`, `2012 01 01`
* numbers with the year last: `12/16/2005`, `17-08-1984`, `16.12.2005`, `25/11/63`. Day
  first when some first field exceeds 12, month first when some second field does, and
  otherwise month first with a warning that says this rule was used.
* month names: `Jan-1-1995`, `Jan 1 2000`, `January 1, 2000`, `1 Jan 2000`, `17-Aug-84`,
  `2000-Jan-01`
* months: `1949-02`, `1949/02`, `02/1949`, `1987 Jan`, `Jan 1987`, `Jan-87` (the first day)
* quarters: `1974Q1`, `1974 Q1`, `1974-Q1`, `Q1 1974` (the quarter's first day)
* a time after a full date (space or `T`): `00:00`, `00:00:00`, `00:00:00.123`, `10:30 PM`

Two-digit years use the spreadsheet pivot: `00`-`29` are 2000-2029 and `30`-`99` are
1930-1999 (Excel's rule; POSIX `%y` would put `25/11/63` in 2063), said in a warning.

Plain numbers (`1987`, `20120101`, `3.5`) match no form: a year column stays numeric.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.table import DEFAULT_MISSING_VALUES
from udl_core.temporal import utc_column

__all__ = [
    "DATE_SHARE",
    "FORMAT_KEY",
    "TWO_DIGIT_PIVOT",
    "DATE_ALONE",
    "DateForm",
    "apply_text_dates",
    "column_warnings",
    "date_forms",
    "date_notes",
    "form_names",
    "is_text_date",
    "parse_as",
    "parse_as_field",
    "parse_text_dates",
    "parse_with_format",
    "saved_form",
    "time_names",
]

DATE_SHARE = 0.95         # share of the sample's present values a form must parse
SAMPLE_VALUES = 1000      # values tried per column: half from the head, half spread out
GATE_VALUES = 32          # a look at the first present values decides whether to take a sample
TWO_DIGIT_PIVOT = 30      # two-digit years below this are 20xx, the others 19xx
FORMAT_KEY = b"udl.date_format"   # field metadata: how a column's dates were read (JSON)
DATE_ALONE = "date alone"         # a saved form's name for a value with no time (beside others with one)

_MONTH = r"[A-Za-z]{3,9}"
_TOKENS = {   # token -> (regex, chrono format)
    "Y": (r"\d{4}", "%Y"),
    "y": (r"\d{2}", "%Y"),          # rewritten to four digits first
    "m": (r"\d{1,2}", "%m"),
    "d": (r"\d{1,2}", "%d"),
    "b": (_MONTH, "%B"),            # chrono's %B takes full names and abbreviations
}
_TIMES = (    # (regex, chrono format, example) of a time after a full date
    (r" +\d{1,2}:\d{2}", " %H:%M", "00:00"),
    (r" +\d{1,2}:\d{2}:\d{2}", " %H:%M:%S", "00:00:00"),
    (r" +\d{1,2}:\d{2}:\d{2}\.\d{1,9}", " %H:%M:%S%.f", "00:00:00.5"),
    (r"T\d{1,2}:\d{2}", "T%H:%M", "T00:00"),
    (r"T\d{1,2}:\d{2}:\d{2}", "T%H:%M:%S", "T00:00:00"),
    (r"T\d{1,2}:\d{2}:\d{2}\.\d{1,9}", "T%H:%M:%S%.f", "T00:00:00.5"),
    (r" +\d{1,2}:\d{2} *[AaPp][Mm]", " %I:%M %p", "10:30 PM"),
    (r" +\d{1,2}:\d{2}:\d{2} *[AaPp][Mm]", " %I:%M:%S %p", "10:30:00 PM"),
)


@dataclass(frozen=True)
class DateForm:
    """One way of writing a date: tokens and separators, e.g. ("m", "/", "d", "/", "Y")."""

    name: str                 # "MM/DD/YYYY"
    parts: tuple[str, ...]
    order: str = ""           # "month first" / "day first" for the two readings of 01/02/2005

    @property
    def two_digit(self) -> bool:
        return "y" in self.parts

    @property
    def quarter(self) -> bool:
        return "q" in self.parts

    @property
    def has_day(self) -> bool:
        return "d" in self.parts or self.quarter

    def pattern(self, times: Sequence[str] = ()) -> str:
        """The RE2 pattern of a trimmed value; a two-digit year is group `yy` between `a` and `b`."""
        before, year, after = [], "", []
        for part in self.parts:
            if part == "q":
                regex = r"[Qq](?P<q>[1-4])"
            elif part == "Y" and self.quarter:
                regex = r"(?P<y>\d{4})"
            elif part in _TOKENS:
                regex = _TOKENS[part][0]
            else:
                regex = " +" if part == " " else ", +" if part == ", " else "\\" + part
            if part == "y":
                year = regex
            elif year:
                after.append(regex)
            else:
                before.append(regex)
        time = f"(?:{'|'.join(times)})?" if times else ""
        if year:
            return f"^(?P<a>{''.join(before)})(?P<yy>{year})(?P<b>{''.join(after)}{time})$"
        return f"^{''.join(before)}{time}$"

    def format(self) -> str:
        """The chrono format of a value after `_rewrite` (month forms gain a day, quarters a date)."""
        if self.quarter:
            return "%Y-%m-%d"
        text = "".join(_TOKENS[p][1] if p in _TOKENS else p for p in self.parts)
        return text if self.has_day else text + " %d"


def _forms() -> tuple[DateForm, ...]:
    """Every form, in order of preference: where two parse a sample equally well, the first wins
    (so month first wins over day first when no field exceeds 12)."""
    forms: list[DateForm] = []

    def add(name: str, *parts: str, order: str = "") -> None:
        forms.append(DateForm(name, tuple(parts), order))

    for s in "-/. ":
        add(f"YYYY{s}MM{s}DD", "Y", s, "m", s, "d")
    for s in "-/":
        add(f"YYYY{s}MM", "Y", s, "m")
        add(f"MM{s}YYYY", "m", s, "Y")
    for s in "- ":
        add(f"YYYY{s}Mon{s}DD", "Y", s, "b", s, "d")
        add(f"YYYY{s}Mon", "Y", s, "b")
    for s in " -/":
        add(f"Mon{s}YYYY", "b", s, "Y")
        add(f"Mon{s}DD{s}YYYY", "b", s, "d", s, "Y")
        add(f"DD{s}Mon{s}YYYY", "d", s, "b", s, "Y")
    add("Mon DD, YYYY", "b", " ", "d", ", ", "Y")
    for s in "- ":
        add(f"DD{s}Mon{s}YY", "d", s, "b", s, "y")
    add("Mon-YY", "b", "-", "y")    # Excel's mmm-yy; "Mar 12" is more often March 12th
    for pattern in (("Y", "q"), ("Y", " ", "q"), ("Y", "-", "q"), ("q", " ", "Y"), ("q", "-", "Y")):
        add("".join({"Y": "YYYY", "q": "Qn"}.get(p, p) for p in pattern), *pattern)
    for year, digits in (("Y", "YYYY"), ("y", "YY")):
        for s in "/-.":
            add(f"MM{s}DD{s}{digits}", "m", s, "d", s, year, order="month first")
            add(f"DD{s}MM{s}{digits}", "d", s, "m", s, year, order="day first")
    return tuple(forms)


_FORMS = _forms()
_BY_NAME = {form.name: form for form in _FORMS}
# A little wider than the union of the forms, and short (pyarrow compiles a regex per call):
# most text columns fail it on their first values, so a wide table of categories pays one
# call per column, not one per form.
_ANY_FORM = (r"^(?:\d{4}[-/. ](?:\d{1,2}|[A-Za-z]{3,9})(?:[-/. ]\d{1,2})?"
             r"|\d{1,2}[-/. ](?:\d{1,2}|[A-Za-z]{3,9})[-/. ](?:\d{2}|\d{4})"
             r"|\d{1,2}[-/]\d{4}|[A-Za-z]{3,9}[-/ ]+(?:\d{1,2}(?:,? +|[-/]))?\d{2,4}"
             r"|\d{4} ?-?[Qq][1-4]|[Qq][1-4][- ]\d{4})"
             r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: *[AaPp][Mm])?)?$")


def date_forms() -> tuple[DateForm, ...]:
    """The forms tried, in order of preference."""
    return _FORMS


def form_names() -> tuple[str, ...]:
    """The names a saved form may have (`saved_form`), e.g. "DD/MM/YYYY"."""
    return tuple(_BY_NAME)


def time_names() -> tuple[str, ...]:
    """The names a saved form's times may have: an example of each time form, or `DATE_ALONE`."""
    return (*(example for _, _, example in _TIMES), DATE_ALONE)


@dataclass(frozen=True)
class _Choice:
    form: DateForm
    times: tuple[int, ...]    # indices into _TIMES, most common first (-1: a date alone); () for dates only
    example: str

    def to_json(self, unparsed: int, ambiguous: bool) -> str:
        return json.dumps({"form": self.form.name, "times": list(self.times), "example": self.example,
                           "unparsed": unparsed, "ambiguous": ambiguous})

    @classmethod
    def from_json(cls, text: str | bytes) -> tuple[_Choice, dict[str, Any]]:
        data = json.loads(text)
        return cls(_BY_NAME[data["form"]], tuple(data["times"]), data["example"]), data

    @property
    def described(self) -> str:
        times = ", ".join(_TIMES[i][2] for i in self.times if i >= 0)
        rules = [f"times like {times}"] if times else []
        if self.form.order == "day first":
            rules.append("day first: a first field exceeds 12")
        if self.form.two_digit:
            rules.append(f"two-digit years {TWO_DIGIT_PIVOT:02d}-99 are 19xx, the others 20xx")
        return self.form.name + (f" ({'; '.join(rules)})" if rules else "")


def _present(values: pa.Array | pa.ChunkedArray, missing: Sequence[str]) -> pa.Array | pa.ChunkedArray:
    """Trimmed values, with missing-value tokens and empty text as null."""
    trimmed = pc.utf8_trim_whitespace(values)
    tokens = pa.array(sorted({m.strip() for m in missing} | {""}), pa.string())
    return pc.if_else(pc.is_in(trimmed, value_set=tokens), pa.scalar(None, pa.string()), trimmed)


def _sample(column: pa.ChunkedArray, missing: Sequence[str]) -> pa.Array:
    n = len(column)
    if n > SAMPLE_VALUES:
        spread = np.linspace(0, n - 1, SAMPLE_VALUES // 2).astype(np.int64)
        rows = np.unique(np.concatenate([np.arange(SAMPLE_VALUES // 2), spread]))
        column = column.take(pa.array(rows))
    sample = pc.drop_null(_present(column, missing))
    return sample.combine_chunks() if isinstance(sample, pa.ChunkedArray) else sample


def _rewrite(text: pa.Array | pa.ChunkedArray, form: DateForm, times: Sequence[str]
             ) -> pa.Array | pa.ChunkedArray:
    """Text in the form's `format()`: four-digit years by the pivot, quarters as their first
    day, months with day 1. Values not in the form become null (so never half-parsed)."""
    if form.quarter:
        fields = pc.extract_regex(text, form.pattern())
        quarter = pc.cast(pc.struct_field(fields, "q"), pa.int64())
        month = pc.cast(pc.add(pc.multiply(pc.subtract(quarter, 1), 3), 1), pa.string())
        return pc.binary_join_element_wise(pc.struct_field(fields, "y"), month, "1", "-")
    if form.two_digit:
        fields = pc.extract_regex(text, form.pattern(times))
        yy = pc.struct_field(fields, "yy")
        century = pc.if_else(pc.less(pc.cast(yy, pa.int64()), TWO_DIGIT_PIVOT), "20", "19")
        text = pc.binary_join_element_wise(pc.struct_field(fields, "a"), century, yy,
                                           pc.struct_field(fields, "b"), "")
    else:
        text = pc.if_else(pc.match_substring_regex(text, form.pattern(times)), text, pa.scalar(None, pa.string()))
    if not form.has_day:
        text = pc.binary_join_element_wise(text, "1", " ")
    return text


def _strptime(text: pa.Array | pa.ChunkedArray, form: DateForm, times: Sequence[int]) -> pa.Array:
    """polars' strict, vectorised strptime with the form's explicit format(s): each time form
    seen in the sample (-1: a date alone), most common first; the first that parses a value wins."""
    import polars as pl

    series = pl.from_arrow(text)
    base = form.format()
    if not times:
        out = series.str.strptime(pl.Date, base, strict=False, exact=True)
        return pc.cast(out.to_arrow(), pa.timestamp("s"))
    out = None
    for fmt in [base + (_TIMES[i][1] if i >= 0 else "") for i in times]:
        parsed = series.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True)
        out = parsed if out is None else out.fill_null(parsed)
    result = out.to_arrow()
    if not any(".f" in _TIMES[i][1] for i in times if i >= 0):
        result = pc.cast(result, pa.timestamp("s"))
    return result


def _parse_text(text: pa.Array | pa.ChunkedArray, choice: _Choice, missing: Sequence[str]
                ) -> tuple[pa.Array, int]:
    text = _present(text, missing)
    present = len(text) - text.null_count
    times = [_TIMES[i][0] for i in choice.times if i >= 0]
    parsed = _strptime(_rewrite(text, choice.form, times), choice.form, choice.times)
    parsed, _ = utc_column(parsed)       # year 0000 and the like: missing, and counted below
    return parsed, present - (len(parsed) - parsed.null_count)


def parse_as(column: pa.ChunkedArray | pa.Array, choice: _Choice,
             missing: Sequence[str] = DEFAULT_MISSING_VALUES) -> tuple[pa.Array, int]:
    """`column` (text) read in `choice`'s form: a timestamp array, and how many present values
    did not parse (now missing). A column whose values repeat (dates of events, months) is
    parsed once per distinct value and the results taken back to the rows."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    head = column.slice(0, SAMPLE_VALUES)
    if len(column) <= SAMPLE_VALUES or pc.count_distinct(head).as_py() > len(head) // 2:
        return _parse_text(column, choice, missing)
    encoded = pc.dictionary_encode(column)
    parsed, _ = _parse_text(encoded.dictionary, choice, missing)
    parsed = parsed.take(encoded.indices)
    present = pc.sum(_present(encoded.dictionary, missing).is_valid().take(encoded.indices)).as_py() or 0
    return parsed, present - (len(parsed) - parsed.null_count)


def _times(sample: pa.Array) -> tuple[int, ...]:
    """The time forms the sample's values end with, most common first (at most three; -1 for a
    date alone, when some values have a time and others not). () when none has a time."""
    counts = []
    for i, (regex, _, _) in enumerate(_TIMES):
        hits = pc.sum(pc.match_substring_regex(sample, f"{regex}$")).as_py() or 0
        if hits:
            counts.append((-hits, i))
    if not counts:
        return ()
    alone = len(sample) + sum(hits for hits, _ in counts)
    if alone > 0:
        counts.append((-alone, -1))
    return tuple(i for _, i in sorted(counts)[:3])


def _choose(sample: pa.Array) -> _Choice | None:
    present = len(sample)
    if present == 0:
        return None
    if (pc.sum(pc.match_substring_regex(sample, _ANY_FORM)).as_py() or 0) < DATE_SHARE * present:
        return None
    times = _times(sample)
    time_regexes = [_TIMES[i][0] for i in times if i >= 0]
    best: tuple[int, DateForm, pa.Scalar] | None = None
    for form in _FORMS:
        if times and (not form.has_day or form.quarter):
            continue
        shaped = pc.sum(pc.match_substring_regex(sample, form.pattern(time_regexes))).as_py() or 0
        if shaped < DATE_SHARE * present or (best is not None and shaped <= best[0]):
            continue
        parsed = _strptime(_rewrite(sample, form, time_regexes), form, times)
        count = len(parsed) - parsed.null_count
        if count >= DATE_SHARE * present and (best is None or count > best[0]):
            best = (count, form, sample[int(np.argmax(parsed.is_valid().to_numpy(zero_copy_only=False)))])
    if best is None:
        return None
    return _Choice(best[1], times, best[2].as_py())


def _looks_like_dates(column: pa.ChunkedArray, missing: Sequence[str]) -> bool:
    """Most of the first few present values are in some form: worth a sample."""
    head = pc.drop_null(_present(column.slice(0, 4 * GATE_VALUES), missing)).slice(0, GATE_VALUES)
    return len(head) == 0 or (pc.sum(pc.match_substring_regex(head, _ANY_FORM)).as_py() or 0) >= len(head) // 2


def _read_column(column: pa.ChunkedArray, missing: Sequence[str]
                 ) -> tuple[pa.ChunkedArray, _Choice, int, bool] | None:
    if not _looks_like_dates(column, missing):
        return None
    choice = _choose(_sample(column, missing))
    if choice is None:
        return None
    parsed, unparsed = parse_as(column, choice, missing)
    if unparsed and choice.form.order:
        # The sample may have held only the smaller fields: the other reading of the whole column.
        other = next(f for f in _FORMS if f.order and f.order != choice.form.order
                     and set(f.parts) == set(choice.form.parts) and f.parts[1] == choice.form.parts[1])
        swapped = _Choice(other, choice.times, choice.example)
        parsed_other, unparsed_other = parse_as(column, swapped, missing)
        if unparsed_other < unparsed:
            choice, parsed, unparsed = swapped, parsed_other, unparsed_other
    ambiguous = False
    if choice.form.order == "month first":
        days = pc.max(pc.day(parsed)).as_py()
        ambiguous = days is not None and days <= 12
    return pa.chunked_array([parsed]), choice, unparsed, ambiguous


def parse_text_dates(table: pa.Table, missing: Sequence[str] = DEFAULT_MISSING_VALUES,
                     saved: SavedForms | None = None) -> tuple[pa.Table, list[str]]:
    """`table` with each string column that holds dates (module doc) as a timestamp column whose
    field metadata (`FORMAT_KEY`) says how it was read; and a note per such column.

    `saved` (a model's forms, `saved_form` per column) replaces detection: a column named there
    is read in that form; one named with no form (a timestamp at training) is detected; any
    other column stays text, as it was when the model was trained."""
    notes: list[str] = []
    forms = {name: (form, times) for name, form, times in saved} if saved is not None else None
    for i, field in enumerate(table.schema):
        if not pa.types.is_string(field.type):   # readers hand on large_string as string
            continue
        form, times = forms.get(field.name, (None, ())) if forms is not None else (None, ())
        found: tuple[pa.ChunkedArray, _Choice, int, bool] | None
        if form is not None:
            found = _read_saved(table.column(i), _saved_choice(form, times), missing)
        elif forms is None or field.name in forms:
            found = _read_column(table.column(i), missing)
        else:
            continue
        if found is None:
            continue
        column, choice, unparsed, ambiguous = found
        meta = {**(field.metadata or {}), FORMAT_KEY: choice.to_json(unparsed, ambiguous).encode()}
        table = table.set_column(i, pa.field(field.name, column.type, metadata=meta), column)
        notes.append(_note(field.name, choice))
    return table, notes


# A model's saved forms: (column, form name or None, time names), as ReadOptions holds them.
SavedForms = tuple[tuple[str, str | None, tuple[str, ...]], ...]


def saved_form(field: pa.Field) -> dict[str, Any] | None:
    """How a column `parse_text_dates` read was written, for a model description:
    {"form": a `form_names` name, "times": `time_names`}; None for a column not read from text."""
    if not is_text_date(field):
        return None
    try:
        choice, _ = _Choice.from_json(field.metadata[FORMAT_KEY])
    except (ValueError, KeyError, TypeError):
        return None
    return {"form": choice.form.name, "times": [time_names()[i] for i in choice.times]}


def _saved_choice(form: str, times: Sequence[str]) -> _Choice:
    names = time_names()
    # DATE_ALONE is -1 (and the last of time_names); the example is filled in by _read_saved.
    return _Choice(_BY_NAME[form], tuple(-1 if t == DATE_ALONE else names.index(t) for t in times), "")


def _read_saved(column: pa.ChunkedArray, choice: _Choice, missing: Sequence[str]
                ) -> tuple[pa.ChunkedArray, _Choice, int, bool]:
    parsed, unparsed = parse_as(column, choice, missing)
    valid = parsed.is_valid().to_numpy(zero_copy_only=False)
    example = column[int(np.argmax(valid))].as_py().strip() if valid.any() else choice.form.name
    return pa.chunked_array([parsed]), _Choice(choice.form, choice.times, example), unparsed, False


def parse_with_format(column: pa.ChunkedArray | pa.Array, form: dict[str, Any],
                      missing: Sequence[str] = DEFAULT_MISSING_VALUES) -> tuple[pa.Array, int]:
    """`column` (text) read in a saved form (`saved_form`), never detected: a timestamp array and
    how many present values did not parse (now missing)."""
    return parse_as(column, _saved_choice(form["form"], form.get("times", ())), missing)


def _note(name: str, choice: _Choice) -> str:
    return f"column {name!r}: text dates like {choice.example!r} read as {choice.described}"


def date_notes(schema: pa.Schema) -> list[str]:
    """The notes `parse_text_dates` gave, again, from a schema that kept its fields' metadata
    (a file streamed to disk, whose notes are written after the reader's)."""
    notes = []
    for field in schema:
        if is_text_date(field):
            try:
                notes.append(_note(field.name, _Choice.from_json(field.metadata[FORMAT_KEY])[0]))
            except (ValueError, KeyError, TypeError):
                continue
    return notes


def is_text_date(field: pa.Field) -> bool:
    """A column `parse_text_dates` read from text."""
    return field.metadata is not None and FORMAT_KEY in field.metadata


def parse_as_field(column: pa.ChunkedArray | pa.Array, field: pa.Field,
                   missing: Sequence[str] = DEFAULT_MISSING_VALUES) -> pa.Array:
    """`column` (text, a later batch of a streamed file) read as `field` says (`is_text_date`),
    so that every batch of a file has the first batch's form and type."""
    choice, _ = _Choice.from_json(field.metadata[FORMAT_KEY])
    parsed, _ = parse_as(column, choice, missing)
    return pc.cast(parsed, field.type)


def apply_text_dates(table: pa.Table, schema: pa.Schema,
                     missing: Sequence[str] = DEFAULT_MISSING_VALUES) -> pa.Table:
    """`table` with the text columns that are text dates in `schema` read as `parse_as_field`."""
    for field in schema:
        if not is_text_date(field) or field.name not in table.column_names:
            continue
        i = table.column_names.index(field.name)
        if pa.types.is_string(table.schema.field(i).type):
            table = table.set_column(i, field, pa.chunked_array([parse_as_field(table.column(i), field, missing)]))
    return table


def column_warnings(name: str, field: pa.Field) -> list[str]:
    """The warnings about a column `parse_text_dates` read: the month-first rule when no field
    exceeds 12, the two-digit-year pivot, values that are not dates."""
    if not is_text_date(field):
        return []
    try:
        choice, data = _Choice.from_json(field.metadata[FORMAT_KEY])
    except (ValueError, KeyError, TypeError):   # metadata of the same name written by something else
        return []
    out = []
    if data.get("ambiguous"):
        out.append(f"column {name!r}: no day or month in these dates exceeds 12, so {choice.example!r} is read "
                   f"month first ({choice.form.name}), the default rule; day first is used only when a "
                   "first field exceeds 12")
    if choice.form.two_digit:
        last = TWO_DIGIT_PIVOT - 1
        out.append(f"column {name!r}: two-digit years read with the pivot 00-{last:02d} -> 2000-20{last:02d}, "
                   f"{TWO_DIGIT_PIVOT:02d}-99 -> 19{TWO_DIGIT_PIVOT:02d}-1999 (e.g. {choice.example!r})")
    if data.get("unparsed"):
        out.append(f"column {name!r}: {data['unparsed']} value(s) that are not dates like {choice.example!r} "
                   f"({choice.form.name}) are treated as missing")
    return out
