"""The polars path for plain UTF-8 CSV gives the very table and tensors the pyarrow path gives.

Both paths read the same files: mixed types, missing values, quoted fields (delimiters, doubled
quotes and line breaks inside), ISO and text dates, booleans, a BOM, CRLF line ends. The polars
path is forced (any size) and cut into small ranges, so ranges end next to quoted line breaks.
Where polars cannot match pyarrow (short rows, blank lines, a column that changes type past the
head, bytes that are not UTF-8) the file goes to pyarrow, with the same result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from udl_core.events import Progress, run_job
from udl_core.formats import delimited, polars_csv
from udl_core.loader import UnifiedDataLoader
from udl_core.table import ReadOptions


@pytest.fixture
def polars_used(monkeypatch):
    """Forces the polars path at any size, in 4 KiB ranges; counts which path each read took."""
    monkeypatch.setattr(polars_csv, "FAST_BYTES", 0)
    monkeypatch.setattr(polars_csv, "RANGE_BYTES", 4096)
    taken: list[bool] = []
    read = delimited.read_with_polars

    def counted(*args, **kwargs):
        table = yield from read(*args, **kwargs)
        taken.append(table is not None)
        return table

    monkeypatch.setattr(delimited, "read_with_polars", counted)
    return taken


def _pyarrow_only(monkeypatch) -> None:
    monkeypatch.setattr(delimited, "fast_path_applies", lambda *args: False)


def _mixed_lines(rows: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = ["id,amount,name,when,day,us_date,flag,note,label"]
    for i in range(rows):
        amount = rng.choice(["", "NA", "?", f"{rng.normal() * 100:.3f}", f"{rng.integers(-5, 5)}"])
        name = rng.choice(['"Smith, J"', '"say ""hi"""', "plain", '""', "NULL", '"quoted"'])
        when = "" if rng.random() < 0.1 else f"2020-{1 + i % 12:02d}-{1 + i % 28:02d} 0{i % 10}:15:30"
        day = "" if rng.random() < 0.1 else f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}"
        us_date = f"{1 + i % 12}/{1 + i % 28}/2019"
        flag = rng.choice(["true", "false", "True", "no", ""])
        note = rng.choice(['"two\nlines"', '"a,b"', "word", ""])
        lines.append(f"{i},{amount},{name},{when},{day},{us_date},{flag},{note},{rng.choice(['a', 'b', 'c'])}")
    return lines


def _write(path: Path, lines: list[str], newline: str = "\n", bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode())
    return path


def _both(path: Path, monkeypatch, **loader) -> tuple[UnifiedDataLoader, UnifiedDataLoader]:
    fast = UnifiedDataLoader(path, batch_size=64, **loader).load()
    with monkeypatch.context() as patch:
        _pyarrow_only(patch)
        slow = UnifiedDataLoader(path, batch_size=64, **loader).load()
    return fast, slow


def _assert_identical(fast: UnifiedDataLoader, slow: UnifiedDataLoader) -> None:
    assert fast.table.columns.schema == slow.table.columns.schema
    assert fast.table.columns.equals(slow.table.columns)
    assert fast.table.notes == slow.table.notes and fast.table.quarantine == slow.table.quarantine
    assert fast.feature_names == slow.feature_names
    for a, b in ((fast.train_data, slow.train_data), (fast.val_data, slow.val_data)):
        assert a.x.dtype == b.x.dtype and np.array_equal(a.x, b.x)
        assert np.array_equal(a.y, b.y) and np.array_equal(a.rows, b.rows)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_polars_and_pyarrow_give_identical_tensors(tmp_path, monkeypatch, polars_used, newline, bom):
    path = _write(tmp_path / "mixed.csv", _mixed_lines(600), newline, bom)
    fast, slow = _both(path, monkeypatch, label="label")
    assert polars_used and all(polars_used)
    _assert_identical(fast, slow)
    kinds = {f.name: str(f.type) for f in fast.table.columns.schema}
    assert kinds["when"].startswith("timestamp") and kinds["day"].startswith("timestamp")
    assert kinds["us_date"].startswith("timestamp") and kinds["flag"] == "bool"
    assert kinds["amount"] == "double" and kinds["name"] == "string"


def test_numbers_only_file_as_the_bench_writes_it(tmp_path, monkeypatch, polars_used):
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((3000, 8), dtype=np.float32), 4)
    lines = [",".join(f"x{j}" for j in range(8)) + ",label"]
    lines += [",".join(f"{v:g}" for v in row) + f",{k}" for row, k in zip(x.tolist(), rng.integers(0, 10, 3000))]
    fast, slow = _both(_write(tmp_path / "numbers.csv", lines), monkeypatch)
    assert polars_used and all(polars_used)
    _assert_identical(fast, slow)


def test_the_read_reports_bytes_as_it_goes_and_stops_between_ranges(tmp_path, polars_used):
    path = _write(tmp_path / "mixed.csv", _mixed_lines(600))
    events = []
    run_job(delimited.read_delimited(path, ReadOptions()), events.append)
    size = path.stat().st_size
    read = [e for e in events if isinstance(e, Progress) and e.bytes_total == size]
    done = [e.bytes_done for e in read]
    assert len(done) > 5 and done == sorted(done) and done[-1] == size
    assert [e.done for e in read] == sorted(e.done for e in read) and read[-1].done == read[-1].total == 600
    job = delimited.read_delimited(path, ReadOptions())
    next(job), next(job)   # the sniff's event, then the first range's
    job.close()             # cancelled between ranges: nothing more is read, nothing raises


@pytest.mark.parametrize("case", ["short row", "long row", "blank line", "float after the head",
                                  "text after the head", "not UTF-8 after the head"])
def test_what_polars_cannot_match_goes_to_pyarrow(tmp_path, monkeypatch, polars_used, case):
    lines = ["a,b,c,label"] + [f"{i},{i * 0.5},w{i % 7},{i % 3}" for i in range(20_000)]
    body = {"short row": ("10,1.5,x", None), "long row": ("10,1.5,x,1,9", None),
            "blank line": ("", None), "float after the head": ("2.5,1.5,x,1", None),
            "text after the head": ("10,abc,x,1", None), "not UTF-8 after the head": (None, b"5,1.5,caf\xe9,1")}[case]
    text, raw = body
    lines.insert(19_000, text if text is not None else "")
    data = "\n".join(lines).encode() + b"\n"
    if raw is not None:
        data = data.replace(b"\n\n", b"\n" + raw + b"\n", 1)
    path = tmp_path / "late.csv"
    path.write_bytes(data)
    fast, slow = _both(path, monkeypatch)
    assert polars_used and not any(polars_used)
    _assert_identical(fast, slow)


@pytest.mark.parametrize("piece", [1, 7, 64, 1 << 20])
def test_quotes_are_counted_a_piece_at_a_time_across_piece_boundaries(piece):
    # The count runs a piece at a time (each numpy call holds the GIL only that long); quotes on
    # either side of every piece boundary are each counted once.
    rng = np.random.default_rng(3)
    data = bytes(rng.choice(np.frombuffer(b'ab,"\n', np.uint8), 1000).tolist()) + b'"'
    assert polars_csv.count_byte(data, ord('"'), piece=piece) == data.count(b'"')
    assert polars_csv.count_byte(b"", ord('"'), piece=piece) == 0


def test_a_range_read_from_the_file_is_the_map_s_bytes_up_to_closed_quotes(tmp_path, monkeypatch):
    # Ranges are read with os.pread (which lets go of the GIL), not sliced from the map; a range
    # still ends at a line break outside quotes.
    import mmap

    monkeypatch.setattr(polars_csv, "RANGE_BYTES", 3)   # the first range's line break is inside quotes
    path = _write(tmp_path / "quoted.csv", ["a,b", '1,"x', 'y"', "2,z", '3,"p,q"'])
    data_bytes = path.read_bytes()
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start, pieces = 4, []
        while start < len(data_bytes):
            end, chunk = polars_csv._range(data, start, len(data_bytes), handle.fileno())
            assert chunk == data_bytes[start:end] and chunk.count(b'"') % 2 == 0
            pieces.append(chunk)
            start = end
    assert b"".join(pieces) == data_bytes[4:] and pieces[0] == b'1,"x\ny"\n'


def test_ranges_parsed_into_small_pieces_are_joined_and_large_ones_kept():
    import polars as pl

    from udl_core.formats.polars_csv import PIECE_ROWS, few_chunks

    def pieces(rows: int, count: int) -> pl.DataFrame:
        parts = [pl.DataFrame({"a": range(rows), "b": [0.5] * rows}) for _ in range(count)]
        return pl.concat(parts, rechunk=False)

    small, large = pieces(10, 40), pieces(PIECE_ROWS, 3)
    assert small.n_chunks() == 40 and large.n_chunks() == 3
    assert few_chunks(small).n_chunks() == 1 and few_chunks(small).equals(small)
    assert few_chunks(large).n_chunks() == 3
    assert few_chunks(pieces(10, 1)).n_chunks() == 1


def test_missing_words_read_alike_when_polars_parses_without_them(tmp_path, monkeypatch, polars_used):
    """polars parses a range without the missing-value words where it can (they slow every
    field), then makes NaN and the words in text null; a range with a word in a number column
    is parsed again with them. Either way the table is pyarrow's, word for word."""
    monkeypatch.setattr(polars_csv, "PLAIN_BYTES_PER_COLUMN", 0)   # the 4 KiB ranges too
    rng = np.random.default_rng(5)
    lines = ["x,y,name,label"]
    for i in range(1_500):
        x = rng.choice(["NaN", "nan", "NAN", "", f"{rng.normal():.4f}"], p=[0.02, 0.02, 0.02, 0.04, 0.9])
        y = "NA" if i in (700, 701) else ("-" if i == 1_400 else f"{rng.normal():.3f}")   # a few ranges only
        name = rng.choice(["NA", "None", '"NA"', "?", "n/a", "plain", '"quoted, word"', ""])
        lines.append(f"{x},{y},{name},{rng.integers(0, 3)}")
    fast, slow = _both(_write(tmp_path / "words.csv", lines), monkeypatch, label="label")
    assert polars_used and all(polars_used)
    _assert_identical(fast, slow)
    column = fast.table.columns.column("x")
    assert column.null_count > 0 and not np.isnan(column.to_numpy(zero_copy_only=False)[column.is_valid()]).any()
    assert fast.table.columns.column("name").null_count > 0
