"""The second round of ingest speed-ups changes no result: the cached CSV dialect, JSON Lines
parsed from a memory map, and the JSON Lines estimate typed by polars in one call."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udl_core.errors import UnsafeInputError
from udl_core.formats import dialect as dialect_module
from udl_core.formats.sampling import head_lines
from udl_core.pipeline import estimate
from udl_core.formats import jsonfmt
from udl_core.formats import read_table
from udl_core.formats.dialect import detect_dialect
from udl_core.schema import _distinct
from udl_core.table import ReadOptions


# CSV dialect cache ----------------------------------------------------------------------
def test_dialect_is_sniffed_once_per_sample(tmp_path, monkeypatch):
    path = tmp_path / "a.csv"
    path.write_text("x;y;label\n1,5;2;a\n3,5;4;b\n")
    calls = []
    real = dialect_module._detect_dialect
    monkeypatch.setattr(dialect_module, "_detect_dialect", lambda *a: calls.append(1) or real(*a))
    dialect_module._cache.clear()
    first = detect_dialect(path, ReadOptions())
    assert detect_dialect(path, ReadOptions()) == first
    assert len(calls) == 1
    # Other options are another sniff.
    assert detect_dialect(path, ReadOptions(header=False)).header is False
    assert len(calls) == 2


def test_dialect_cache_sees_a_rewritten_file_of_the_same_size(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a;b;c\n1;2;3\n4;5;6\n")
    before = path.stat()
    assert detect_dialect(path, ReadOptions()).delimiter == ";"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n")   # same size, possibly the same mtime
    assert path.stat().st_size == before.st_size
    assert detect_dialect(path, ReadOptions()).delimiter == ","
    assert read_table(path, ReadOptions()).columns.column_names == ["a", "b", "c"]


# JSON Lines parsed straight from the file ----------------------------------------------
def _jsonl(path: Path, rows: int, extra: list[str] = ()) -> Path:
    lines = [json.dumps({"a": i, "b": f"v{i % 7}", "c": [i, i + 1], "d": {"k": i}}) for i in range(rows)]
    lines[rows // 2:rows // 2] = list(extra)
    lines.append(json.dumps({"a": 0.5, "b": None, "late": True}))   # widens a, adds a key
    path.write_text("\n".join(lines) + "\n")
    return path


def _read_whole(path: Path, monkeypatch):
    """The reader with the streamed parse switched off: the file read whole into bytes."""
    with monkeypatch.context() as m:
        m.setattr(jsonfmt, "_plain_lines_encoding", lambda p: None)
        return read_table(path, ReadOptions())


@pytest.mark.parametrize("extra", [[], ["{not json", "[1, 2]"], ["[" * 300 + "1" + "]" * 300]],
                         ids=["clean", "malformed", "deep"])
def test_streamed_json_lines_read_as_whole(tmp_path, monkeypatch, extra):
    path = _jsonl(tmp_path / "big.jsonl", 20_000, extra)
    assert path.stat().st_size >= jsonfmt._STREAM_BYTES and jsonfmt._plain_lines_encoding(path) == "utf-8"
    streamed = jsonfmt._stream_lines(path)
    assert (streamed[0] is not None) == (not extra)
    if extra == ["{not json", "[1, 2]"]:
        assert streamed[1]                       # the parse failed: straight to line by line
    if extra and extra[0].startswith("[["):
        assert not streamed[1]                   # too many openers on a line: measured whole
        with pytest.raises(UnsafeInputError, match="300 levels deep"):
            read_table(path, ReadOptions())
        return
    fast = read_table(path, ReadOptions())
    whole = _read_whole(path, monkeypatch)
    assert fast.columns.equals(whole.columns) and fast.columns.schema == whole.columns.schema
    assert "late" in fast.columns.column_names
    assert [r.location for r in fast.quarantine] == [r.location for r in whole.quarantine]
    assert len(fast.quarantine) == len(extra)
    assert fast.notes == whole.notes


def test_many_brackets_on_one_line_that_do_not_nest_are_read(tmp_path, monkeypatch):
    wide = json.dumps({"a": 1, "list": [[i] for i in range(400)]})   # 401 openers, depth 3
    path = _jsonl(tmp_path / "wide.jsonl", 20_000, [wide])
    assert jsonfmt._stream_lines(path) == (None, False)
    fast = read_table(path, ReadOptions())
    assert fast.columns.equals(_read_whole(path, monkeypatch).columns)
    assert fast.num_rows == 20_002


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_opener_bound_across_blocks(tmp_path, limit):
    text = b'{"a": [{"b": 1}]}\n{"a": 1}\n' + b"[" * (limit + 1) + b"\n" + b"{}\n" * 3
    for size in (1, 2, 3, 7, 64):
        for body, over in ((text, True), (text.replace(b"[" * (limit + 1), b"[" * limit), limit < 3)):
            bound = jsonfmt._OpenerBound(io.BytesIO(body), limit)
            try:
                while bound.read(size):
                    pass
                failed = False
            except jsonfmt._Unbounded:
                failed = True
            assert failed == over, (size, body)


def test_small_or_bom_json_lines_are_read_whole(tmp_path):
    small = _jsonl(tmp_path / "small.jsonl", 10)
    assert jsonfmt._plain_lines_encoding(small) is None
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + _jsonl(tmp_path / "x.jsonl", 20_000).read_bytes())
    assert jsonfmt._plain_lines_encoding(bom) is None
    assert read_table(bom, ReadOptions()).num_rows == 20_001


# JSON Lines estimate --------------------------------------------------------------------
def _records_sample_table(path: Path):
    sample, _ = head_lines(path)
    return jsonfmt._records_table(jsonfmt.line_records(sample.splitlines()))


def test_json_lines_sample_typed_as_from_records(tmp_path):
    path = tmp_path / "s.jsonl"
    rows = [{"n": i, "f": None if i % 3 else i / 4, "s": "NA" if i % 5 == 0 else f"c{i % 4}",
             "t": f"2021-03-{1 + i % 28:02d}", "flag": bool(i % 2), "nested": [i]} for i in range(30_000)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    fast = jsonfmt._lines_table(head_lines(path)[0])
    assert fast is not None and fast.equals(_records_sample_table(path))
    assert fast.nbytes == _records_sample_table(path).nbytes


def test_json_lines_estimate_with_a_malformed_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = [json.dumps({"x": i, "y": i % 2}) for i in range(60_000)]
    path.write_text("\n".join(good[:10] + ["{oops"] + good[10:]) + "\n")
    assert jsonfmt._lines_table(head_lines(path)[0]) is None
    result = estimate(path)
    assert not result.exact and abs(result.rows - 60_001) < 600
    assert result.feature_dim == 1


# distinct counts of float64 columns that hold float32 values -----------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e-45]),
                max_size=600),
       st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3))
def test_distinct_of_float32_values_held_as_float64(values, wide):
    for data in (values, values + wide):    # all float32-exact, then some not
        array = np.array(data, dtype=np.float64)
        column = pa.chunked_array([pa.array(array[:300]), pa.array(array[300:])], pa.float64())
        finite = array[np.isfinite(array)]
        assert _distinct(column) == np.unique(finite).size


def test_json_lines_estimate_never_hands_deep_lines_to_polars(tmp_path, monkeypatch):
    path = tmp_path / "deep.jsonl"
    lines = [json.dumps({"x": i, "y": i % 2}) for i in range(60_000)]
    lines[3] = '{"x": ' + "[" * 5000 + "]" * 5000 + "}"
    path.write_text("\n".join(lines) + "\n")
    import polars as pl

    monkeypatch.setattr(pl, "read_ndjson", lambda *a, **k: pytest.fail("polars saw a deep line"))
    assert jsonfmt._lines_table(head_lines(path)[0]) is None
    with pytest.raises(UnsafeInputError, match="5001 levels deep"):
        estimate(path)
