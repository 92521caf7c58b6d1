"""Text and columnar readers: delimited text, JSON / JSON Lines, Parquet, Arrow / Feather."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from udl_core.errors import (
    ConfigError,
    CorruptFileError,
    DatasetError,
    EmptyDatasetError,
    UDLError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from udl_core.formats import read_table
from udl_core.formats.columnar import iter_parquet_batches
from udl_core.formats.delimited import iter_record_batches
from udl_core.formats.encoding import detect_encoding
from udl_core.label_rules import row_name_columns
from udl_core.schema import infer
from udl_core.table import ReadOptions


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def rows(path: Path, **options) -> list[dict]:
    return read_table(path, ReadOptions(**options)).columns.to_pylist()


def types(path: Path) -> dict[str, str]:
    table = read_table(path).columns
    return {field.name: str(field.type) for field in table.schema}


# --- delimited text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")]
)
def test_each_delimiter_is_sniffed(tmp_path, delimiter, name):
    text = "\n".join(delimiter.join(row) for row in [["id", "x", "city"], ["1", "2.5", "Oslo"],
                                                       ["2", "3.5", "Rome"]]) + "\n"
    table = read_table(write(tmp_path, "data.csv", text))
    assert table.format == "csv"
    assert table.columns.column_names == ["id", "x", "city"]
    assert table.columns.to_pylist()[1] == {"id": 2, "x": 3.5, "city": "Rome"}
    assert f"delimiter: {name}" in table.notes


def test_quoted_delimiters_and_newlines(tmp_path):
    path = write(tmp_path, "q.csv", 'name,score\n"Smith, John",1\n"two\nlines",2\n"say ""hi""",3\n')
    assert rows(path) == [
        {"name": "Smith, John", "score": 1},
        {"name": "two\nlines", "score": 2},
        {"name": 'say "hi"', "score": 3},
    ]


def test_headerless_file_gets_column_names(tmp_path):
    table = read_table(write(tmp_path, "nohead.csv", "1,2.0,cat\n3,4.0,dog\n"))
    assert table.columns.column_names == ["column_1", "column_2", "column_3"]
    assert table.num_rows == 2
    assert any("no header" in note for note in table.notes)


def test_excel_sep_hint_and_leading_comments(tmp_path):
    sep = read_table(write(tmp_path, "sep.csv", "sep=;\na;b\n1,5;2\n2,5;3\n"))
    assert sep.columns.to_pylist() == [{"a": 1.5, "b": 2}, {"a": 2.5, "b": 3}]
    path = write(tmp_path, "c.csv", "# exported by a tool\n# second comment\na,b\n1,x\n3,y\n")
    assert rows(path) == [{"a": 1, "b": "x"}, {"a": 3, "b": "y"}]
    streamed = pa.Table.from_batches(list(iter_record_batches(path)))
    assert streamed.equals(read_table(path).columns)


def test_header_forced_off_by_option(tmp_path):
    path = write(tmp_path, "h.csv", "a,b\nc,d\n")
    assert read_table(path).num_rows == 1
    assert read_table(path, ReadOptions(header=False)).num_rows == 2


def test_duplicate_and_blank_header_names_are_made_unique(tmp_path):
    table = read_table(write(tmp_path, "dup.csv", ",a,a\n5,1,2\n"))
    assert table.columns.column_names == ["column_1", "a", "a_2"]


def test_utf8_bom_is_dropped(tmp_path):
    table = read_table(write(tmp_path, "bom.csv", "\ufeffname,x\ncafé,1\n".encode("utf-8")))
    assert table.columns.column_names == ["name", "x"]
    assert table.columns.column("name").to_pylist() == ["café"]
    assert "encoding: utf-8 with BOM" in table.notes


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(tmp_path, codec):
    path = write(tmp_path, "u16.csv", "name,x\ncafé,1\n€uro,2\n".encode(codec))
    assert rows(path) == [{"name": "café", "x": 1}, {"name": "€uro", "x": 2}]


def test_cp1252_is_detected_by_rule(tmp_path):
    table = read_table(write(tmp_path, "cp.csv", "name,price\ncafé,€5\nnaïve,€6\n".encode("cp1252")))
    assert table.columns.to_pylist() == [{"name": "café", "price": "€5"}, {"name": "naïve", "price": "€6"}]
    assert "encoding: cp1252" in table.notes


def test_latin1_when_bytes_are_undefined_in_cp1252(tmp_path):
    data = "name,x\ncafé,1\n".encode("latin-1") + b"\x81\xe9,2\n"
    table = read_table(write(tmp_path, "l1.csv", data))
    assert table.columns.column("name").to_pylist() == ["café", "\x81é"]
    assert "encoding: latin-1" in table.notes


def test_encoding_rule():
    assert detect_encoding("a,b\ncafé\n".encode()).codec == "utf-8"
    assert detect_encoding("a,b\ncafé €\n".encode("cp1252")).codec == "cp1252"
    assert detect_encoding(b"a,\x81\n").codec == "latin-1"
    assert detect_encoding("ab,cd\n".encode("utf-16-le")).codec == "utf-16-le"
    assert detect_encoding(os.urandom(4096)) is None


def test_non_utf8_after_the_sample_falls_back_to_cp1252(tmp_path):
    data = b"name,x\n" + b"plain,1\n" * 40000 + "café,2\n".encode("cp1252")
    table = read_table(write(tmp_path, "late.csv", data))
    assert table.columns.column("name")[-1].as_py() == "café"
    assert table.columns.schema.field("name").type == pa.string()


def test_crlf_line_endings(tmp_path):
    path = write(tmp_path, "crlf.csv", "a,b\r\n1,x\r\n2,y\r\n")
    assert rows(path) == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]


def test_decimal_comma_in_semicolon_file(tmp_path):
    table = read_table(write(tmp_path, "eu.csv", "temp;count;place\n3,14;2;Lyon\n-0,5;;Gent\n12;4;Bonn\n"))
    assert table.columns.schema.field("temp").type == pa.float64()
    assert table.columns.column("temp").to_pylist() == [3.14, -0.5, 12.0]
    assert table.columns.column("count").to_pylist() == [2, None, 4]
    assert any("decimal comma" in note for note in table.notes)


def test_thousands_groups_with_decimal_comma(tmp_path):
    path = write(tmp_path, "de.csv", "Artikel;Umsatz;Menge;Preis\nA;1.234,56;3;2,5\nB;12,5;1.200;3\nC;999;4;1,25\n")
    table = read_table(path)
    assert table.columns.to_pylist() == [
        {"Artikel": "A", "Umsatz": 1234.56, "Menge": 3, "Preis": 2.5},
        {"Artikel": "B", "Umsatz": 12.5, "Menge": 1200, "Preis": 3.0},
        {"Artikel": "C", "Umsatz": 999.0, "Menge": 4, "Preis": 1.25},
    ]
    assert pa.Table.from_batches(list(iter_record_batches(path, batch_rows=2))).equals(table.columns)


def test_padded_numbers_become_numbers(tmp_path):
    table = read_table(write(tmp_path, "pad.csv", "a,b\n 1 , 2.5\n3, NA\n"))
    assert table.columns.to_pylist() == [{"a": 1, "b": 2.5}, {"a": 3, "b": None}]


def test_missing_tokens_become_nulls_in_every_column_kind(tmp_path):
    path = write(tmp_path, "m.csv", "n,s\nNA,x\n2,N/A\n?,null\nNaN,\n5,ok\n")
    table = read_table(path).columns
    assert table.schema.field("n").type == pa.int64()
    assert table.column("n").to_pylist() == [None, 2, None, None, 5]
    assert table.column("s").to_pylist() == ["x", None, None, None, "ok"]


def test_custom_missing_tokens(tmp_path):
    path = write(tmp_path, "m.csv", "n\n-999\n3\n")
    assert rows(path, missing_values=("-999",)) == [{"n": None}, {"n": 3}]


def test_booleans_and_datetimes(tmp_path):
    path = write(tmp_path, "b.csv", "flag,ok,when\ntrue,yes,2024-01-02T03:04:05\nfalse,no,2024-02-03\n")
    table = read_table(path).columns
    assert table.schema.field("flag").type == pa.bool_()
    assert table.column("ok").to_pylist() == [True, False]
    assert pa.types.is_timestamp(table.schema.field("when").type)


def test_nul_byte_does_not_crash(tmp_path):
    path = write(tmp_path, "nul.csv", "a,b\n" + "x\x00y,1\n" + "p,2\n" * 60)
    table = read_table(path)
    assert table.columns.column("a")[0].as_py() == "xy"
    assert table.num_rows == 61


def test_header_one_name_short_like_a_pandas_index(tmp_path):
    table = read_table(write(tmp_path, "idx.csv", "a,b\n7,1,2\n9,3,4\n8,5,6\n"))
    assert table.columns.column_names == ["column_1", "a", "b"]
    assert table.columns.column("b").to_pylist() == [2, 4, 6]
    assert table.quarantine == []


@pytest.mark.parametrize("text", [",a,b\n0,1,x\n1,3,y\n2,5,z\n", "a,b\n0,1,x\n1,3,y\n2,5,z\n"])
def test_saved_pandas_index_is_left_out(tmp_path, text):
    path = write(tmp_path, "pd.csv", text)
    table = read_table(path)
    assert table.columns.column_names == ["column_1", "a", "b"]   # the schema ignores it, as in every format
    schema = infer(table, label="a")
    assert schema.column("column_1").role == "ignore" and schema.features == ["b"]
    assert any("'column_1' holds row names" in w for w in schema.warnings)
    assert pa.Table.from_batches(list(iter_record_batches(path))).equals(table.columns)


def test_named_or_unordered_first_column_is_kept(tmp_path):
    assert read_table(write(tmp_path, "id.csv", "id,a\n0,5\n1,6\n")).columns.column_names == ["id", "a"]
    kept = read_table(write(tmp_path, "u.csv", ",a\n3,5\n1,6\n")).columns
    assert kept.column_names == ["column_1", "a"]


def test_quoted_newline_past_the_sample_is_not_quarantined(tmp_path):
    body = "".join(f"{i},plain text\n" for i in range(30000))
    path = write(tmp_path, "late.csv", "n,note\n" + body + '30000,"two\nlines"\n')
    table = read_table(path)
    assert table.num_rows == 30001
    assert table.columns.column("note")[-1].as_py() == "two\nlines"
    assert table.quarantine == []


def test_quoted_thousands_in_comma_file_stay_text(tmp_path):
    table = read_table(write(tmp_path, "k.csv", 'n,amount\n1,"1,234"\n2,"5,678"\n'))
    assert table.columns.column("amount").to_pylist() == ["1,234", "5,678"]


def test_bad_delimiter_option(tmp_path):
    with pytest.raises(ConfigError, match="one character"):
        read_table(write(tmp_path, "a.csv", "a\n1\n"), ReadOptions(delimiter=";;"))


def test_explicit_delimiter_and_encoding(tmp_path):
    path = write(tmp_path, "x.csv", "a:b\ncaf\xe9:1\n".encode("latin-1"))
    table = read_table(path, ReadOptions(delimiter=":", encoding="latin-1"))
    assert table.columns.to_pylist() == [{"a": "café", "b": 1}]


# --- content decides, not the extension ------------------------------------------------------


def test_parquet_named_csv_is_read_as_parquet(tmp_path):
    path = tmp_path / "really.csv"
    pq.write_table(pa.table({"x": [1, 2, 3]}), path)
    table = read_table(path)
    assert table.format == "parquet"
    assert table.columns.column("x").to_pylist() == [1, 2, 3]


@pytest.mark.parametrize("name", ["data.dat", "data.txt", "data"])
def test_csv_with_other_or_no_extension(tmp_path, name):
    table = read_table(write(tmp_path, name, "a,b\n1,2\n3,4\n"))
    assert table.format == "csv"
    assert table.num_rows == 2


def test_jsonl_named_txt_is_read_as_json_lines(tmp_path):
    table = read_table(write(tmp_path, "log.txt", '{"a": 1}\n{"a": 2}\n'))
    assert table.format == "jsonl"


def test_binary_garbage_named_csv_is_refused(tmp_path):
    path = write(tmp_path, "garbage.csv", bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8)))
    with pytest.raises(UnsupportedFormatError, match="garbage.csv.*binary data, not text"):
        read_table(path)


@pytest.mark.parametrize(("name", "codec"), [("d.csv.gz", "gzip"), ("d.csv", "gzip"), ("d.tsv.bz2", "bz2"),
                                           ("d.csv.zst", "zstd")])
def test_compressed_text_is_read_by_its_magic(tmp_path, name, codec):
    d = "\t" if ".tsv" in name else ","
    text = f"a{d}b{d}c\n" + "".join(f"{i}{d}{i * 0.5}{d}c{i % 3}\n" for i in range(2000))
    path = tmp_path / name
    with pa.output_stream(path, compression=codec) as out:
        out.write(text.encode())
    assert path.read_bytes()[:2] != b"a" + d.encode()
    table = read_table(path)
    assert table.format == "csv"
    assert table.num_rows == 2000
    assert table.columns.column("b")[3].as_py() == 1.5
    assert f"compression: {codec}" in table.notes
    streamed = pa.Table.from_batches(list(iter_record_batches(path, batch_rows=700)))
    assert streamed.equals(table.columns)


def test_truncated_gzip_csv(tmp_path):
    import gzip
    packed = gzip.compress(("a,b\n" + "1,2\n" * 50000).encode())
    path = write(tmp_path, "cut.csv.gz", packed[: len(packed) // 2])
    with pytest.raises(CorruptFileError, match="cut.csv.gz"):
        read_table(path)


# --- empty, truncated, malformed --------------------------------------------------------------


def test_empty_file(tmp_path):
    with pytest.raises(EmptyDatasetError, match="empty.csv"):
        read_table(write(tmp_path, "empty.csv", b""))


def test_blank_lines_only(tmp_path):
    with pytest.raises(EmptyDatasetError, match="blank"):
        read_table(write(tmp_path, "blank.csv", "\n\n  \n"))


def test_header_only(tmp_path):
    with pytest.raises(EmptyDatasetError, match="header.csv: has a header but no data rows"):
        read_table(write(tmp_path, "header.csv", "a,b,c\n"))


def test_truncated_parquet(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"x": list(range(100))}), good)
    path = write(tmp_path, "cut.parquet", good.read_bytes()[:-20])
    with pytest.raises(CorruptFileError, match="cut.parquet: truncated or not a Parquet file"):
        read_table(path)


def test_ragged_rows_under_threshold_are_quarantined(tmp_path):
    lines = ["a,b,c,d,e"] + ["1,2,3,4,5"] * 30
    lines[10] = "1,2,3,4,5,6,7"
    lines[20] = "1,2"
    path = write(tmp_path, "ragged.csv", "\n".join(lines) + "\n")
    before = path.read_bytes()
    table = read_table(path)
    assert table.num_rows == 28
    assert [(r.location, r.reason) for r in table.quarantine] == [
        ("line 11", "expected 5 fields, found 7"),
        ("line 21", "expected 5 fields, found 2"),
    ]
    assert all(r.source == str(path) for r in table.quarantine)
    assert path.read_bytes() == before


def test_ragged_rows_over_threshold_raise(tmp_path):
    path = write(tmp_path, "bad.csv", "a,b\n1,2\n1,2,3\n4\n5,6\n7,8,9\n")
    with pytest.raises(CorruptFileError, match=r"bad.csv: 3 of 5 rows .*first: line 3"):
        read_table(path)
    assert read_table(path, ReadOptions(max_bad_fraction=0.7)).num_rows == 2


@pytest.mark.parametrize("encoding", ["no-such-codec", "\x00"])   # a NUL: codecs raise ValueError
def test_unknown_encoding_option(tmp_path, encoding):
    with pytest.raises(UnsupportedFormatError, match="unknown encoding"):
        read_table(write(tmp_path, "a.csv", "a\n1\n"), ReadOptions(encoding=encoding))


def test_missing_file():
    with pytest.raises(DatasetError, match="no such file"):
        read_table("/nonexistent/data.csv")


# --- JSON -------------------------------------------------------------------------------------


def test_json_array_of_records_with_nested_values(tmp_path):
    path = write(tmp_path, "r.json", '[{"a": 1, "tags": ["x", "y"], "m": {"k": 2}, "s": "NA"},'
                                     ' {"a": 2.5, "tags": [], "m": null, "s": "hi"}]')
    table = read_table(path)
    assert table.format == "json"
    assert table.columns.to_pylist() == [
        {"a": 1.0, "tags": '["x","y"]', "m": '{"k":2}', "s": None},
        {"a": 2.5, "tags": "[]", "m": None, "s": "hi"},
    ]
    assert any("nested" in note for note in table.notes)


def test_json_object_of_columns(tmp_path):
    path = write(tmp_path, "c.json", '{"x": [1, 2, 3], "label": ["a", "b", "a"]}')
    assert rows(path)[2] == {"x": 3, "label": "a"}


def test_json_lines_with_a_bad_line(tmp_path):
    good = [f'{{"x": {i}, "y": "c{i % 3}"}}' for i in range(30)]
    good.insert(7, '{"x": 99, "y": ')
    good.insert(12, "[1, 2]")
    path = write(tmp_path, "d.jsonl", "\n".join(good) + "\n")
    table = read_table(path)
    assert table.format == "jsonl"
    assert table.num_rows == 30
    assert [r.location for r in table.quarantine] == ["line 8", "line 13"]
    assert "not a JSON object" in table.quarantine[1].reason


def test_json_lines_keys_and_kinds_that_change_late(tmp_path):
    lines = [f'{{"a": {i}, "s": null}}' for i in range(30000)]
    lines.append('{"a": 1.5, "s": "late", "extra": {"k": [1, 2]}}')
    table = read_table(write(tmp_path, "late.jsonl", "\n".join(lines) + "\n\n"))
    assert table.num_rows == 30001
    assert table.columns.schema.field("a").type == pa.float64()
    assert table.columns.to_pylist()[-1] == {"a": 1.5, "s": "late", "extra": '{"k":[1,2]}'}
    assert table.quarantine == []


def test_json_lines_with_mixed_kinds_in_one_key(tmp_path):
    table = read_table(write(tmp_path, "mixed.jsonl", '{"v": 1}\n{"v": "two"}\n{"v": 3}\n'))
    assert table.columns.column("v").to_pylist() == ["1", "two", "3"]


@pytest.mark.parametrize(("name", "text"), [
    ("deep.json", "[" * 50_000 + "]" * 50_000),
    ("deep.jsonl", '{"a": 1}\n' + ('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}\n") * 2),
    ("pretty.json", "[\n" + "[\n" * 400 + "]\n" * 400 + "]\n"),
])
def test_deep_nesting_is_refused_before_a_parser_recurses(tmp_path, name, text):
    with pytest.raises(UnsafeInputError, match=rf"{name}: nests lists or objects \d+ levels deep"):
        read_table(write(tmp_path, name, text))


def test_nesting_depth_skips_brackets_in_strings():
    from udl_core.formats.jsonfmt import nesting_depth

    assert nesting_depth(b'{"a": [1, {"b": [2]}]}') == 4
    assert nesting_depth(b'{"s": "[[[[", "t": "\\"[[["}') == 1
    assert nesting_depth(b'"]]]" [[0]]') == 2
    assert nesting_depth(b"") == 0


def test_malformed_json_document(tmp_path):
    with pytest.raises(CorruptFileError, match=r"broken.json: is not valid JSON \(line 2"):
        read_table(write(tmp_path, "broken.json", '[{"a": 1},\n {"a": }]'))


def test_json_lines_mostly_bad_raises(tmp_path):
    with pytest.raises(CorruptFileError, match="lines are malformed"):
        read_table(write(tmp_path, "bad.jsonl", '{"a": 1}\nnope\nnope\n'))


# --- Parquet / Arrow -------------------------------------------------------------------------


def sample_arrow_table() -> pa.Table:
    return pa.table({
        "i": pa.array([1, 2, None], pa.int32()),
        "f": pa.array([0.5, 1.5, 2.5], pa.float32()),
        "s": pa.array(["a", "b", "a"]).dictionary_encode(),
        "d": pa.array([0, 1, 2], pa.date32()),
    })


def assert_normalised(table: pa.Table) -> None:
    # float32 stays float32 (widening only doubles its memory); float16 widens to float64.
    assert [str(t) for t in table.schema.types] == ["int64", "float", "string", "timestamp[s]"]
    assert table.column("s").to_pylist() == ["a", "b", "a"]
    assert table.column("i").to_pylist() == [1, 2, None]


def test_parquet_float16_widens_and_float32_is_kept(tmp_path):
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table({"h": pa.array(np.array([0.5, 1.5], np.float16)),
                             "f": pa.array([0.25, 0.1], pa.float32())}), path)
    columns = read_table(path).columns
    assert [str(t) for t in columns.schema.types] == ["double", "float"]
    assert columns.column("f").to_pylist() == [0.25, float(np.float32(0.1))]   # not a digit changed


def test_parquet_types_are_normalised(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(sample_arrow_table(), path)
    table = read_table(path)
    assert table.format == "parquet"
    assert_normalised(table.columns)


def test_pandas_row_index_is_left_out(tmp_path):
    path = tmp_path / "p.parquet"
    data = pa.table({"__index_level_0__": [10, 20], "x": [1.0, 2.0]})
    pq.write_table(data, path)
    table = read_table(path)
    assert [name for name, _ in row_name_columns(table.columns, set())] == ["__index_level_0__"]   # every format
    assert pa.Table.from_batches(list(iter_parquet_batches(path))).column_names == ["__index_level_0__", "x"]


def test_uint64_ids_past_int64_become_text(tmp_path):
    path = tmp_path / "ids.parquet"
    ids = [2**64 - 5, 2**63 + 1, 7]
    pq.write_table(pa.table({"id": pa.array(ids, pa.uint64()), "small": pa.array([1, 2, 3], pa.uint64())}), path)
    table = read_table(path).columns
    assert table.column("id").to_pylist() == [str(i) for i in ids]
    assert table.schema.field("small").type == pa.int64()


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet", "arrow"])
def test_file_name_that_is_not_utf8(tmp_path, kind):
    path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9." + kind.encode()))
    data = pa.table({"x": [1, 2, 3], "label": ["a", "b", "a"]})
    if kind == "parquet":
        with open(path, "wb") as handle:
            pq.write_table(data, handle)
    elif kind == "arrow":
        with open(path, "wb") as handle:
            feather.write_feather(data, handle)
    else:
        import gzip
        text = b"x,label\n1,a\n2,b\n3,a\n"
        path.write_bytes(gzip.compress(text) if kind == "csv.gz" else text)
    assert read_table(path).columns.equals(data)


@pytest.mark.parametrize("kind", ["feather", "ipc_stream", "feather_v1"])
def test_arrow_and_feather(tmp_path, kind):
    path = tmp_path / "t.arrow"
    data = sample_arrow_table()
    if kind == "feather":
        feather.write_feather(data, path)
    elif kind == "feather_v1":
        data = data.drop_columns(["d"]).set_column(2, "s", pa.array(["a", "b", "a"]))
        with pytest.warns(DeprecationWarning):
            feather.write_feather(data, path, version=1)
    else:
        with pa.ipc.new_stream(path, data.schema) as writer:
            writer.write_table(data)
    table = read_table(path)
    assert table.format == "arrow"
    if kind == "feather_v1":
        assert table.columns.column("i").to_pylist() == [1, 2, None]
    else:
        assert_normalised(table.columns)


def test_truncated_arrow(tmp_path):
    good = tmp_path / "g.feather"
    feather.write_feather(pa.table({"x": list(range(1000))}), good, compression="uncompressed")
    path = write(tmp_path, "cut.feather", good.read_bytes()[:-100])
    with pytest.raises(CorruptFileError, match="cut.feather"):
        read_table(path)


# --- streaming --------------------------------------------------------------------------------


def test_csv_stream_matches_full_read(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["id;value;flag;name;when"]
    for i in range(5000):
        value = f"{rng.normal():.4f}".replace(".", ",")
        when = f"2024-01-{1 + i % 28:02d}"
        lines.append(f"{i};{value};{'yes' if i % 2 else 'no'};{'NA' if i % 7 == 0 else 'n' + str(i % 5)};{when}")
    lines[100] = "1;2"
    path = write(tmp_path, "s.csv", "\n".join(lines) + "\n")
    full = read_table(path)
    quarantine: list = []
    batches = list(iter_record_batches(path, ReadOptions(), batch_rows=1000, quarantine=quarantine))
    assert [b.num_rows for b in batches] == [1000, 1000, 1000, 1000, 999]
    streamed = pa.Table.from_batches(batches)
    assert streamed.schema == full.columns.schema
    assert streamed.equals(full.columns)
    assert [r.location for r in quarantine] == [r.location for r in full.quarantine] == ["line 101"]


def test_csv_stream_headerless_and_padded(tmp_path):
    path = write(tmp_path, "p.csv", "".join(f"{i}, {i / 2}\n" for i in range(50)))
    streamed = pa.Table.from_batches(list(iter_record_batches(path, batch_rows=16)))
    assert streamed.equals(read_table(path).columns)


def test_csv_stream_type_change_after_the_sample_names_the_column(tmp_path, monkeypatch):
    from udl_core.formats import delimited

    monkeypatch.setattr(delimited, "STREAM_SAMPLE_BYTES", 4096)
    path = write(tmp_path, "drift.csv", "n,price\n" + "".join(f"{i},{i}\n" for i in range(5000)) + "1,12.5\n")
    assert read_table(path).columns.schema.field("price").type == pa.float64()
    with pytest.raises(CorruptFileError, match=r"drift.csv: column 'price' holds '12.5' at line 5002, but .* int64"):
        list(iter_record_batches(path, batch_rows=1000))


def test_parquet_stream_matches_full_read(tmp_path):
    path = tmp_path / "t.parquet"
    data = pa.concat_tables([sample_arrow_table()] * 700)
    pq.write_table(data, path, row_group_size=500)
    full = read_table(path).columns
    batches = list(iter_parquet_batches(path, ReadOptions(), batch_rows=300))
    assert {b.num_rows for b in batches[:-1]} == {300}
    assert pa.Table.from_batches(batches).equals(full)


def test_large_parquet_reports_progress_per_row_group(tmp_path):
    from udl_core.events import run_job
    from udl_core.formats import load_table

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": np.arange(10_000)}), path, row_group_size=2_000)
    events = []
    table = run_job(load_table(path), events.append)
    assert table.num_rows == 10_000
    assert [e.done for e in events if e.total == 10_000][:5] == [2000, 4000, 6000, 8000, 10000]


# --- robustness -------------------------------------------------------------------------------

_counter = itertools.count()
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _only_udl_errors(path: Path) -> None:
    try:
        table = read_table(path)
    except UDLError:
        return
    assert table.num_rows > 0


@_FUZZ
@given(data=st.binary(min_size=1, max_size=600), ext=st.sampled_from([".csv", ".json", ".jsonl", ".bin", ""]))
def test_random_bytes_raise_only_udl_errors(tmp_path, data, ext):
    _only_udl_errors(write(tmp_path, f"f{next(_counter)}{ext}", data))


_cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
    st.sampled_from(["", "NA", "1,5", "3.0", "true", '"', '"a,b"', "\n", "\r\n", "2024-01-01"]),
    st.integers(-10**6, 10**6).map(str),
)


@_FUZZ
@given(
    grid=st.lists(st.lists(_cell, min_size=1, max_size=5), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    codec=st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1"]),
)
def test_random_delimited_text_raises_only_udl_errors(tmp_path, grid, delimiter, codec):
    text = "\n".join(delimiter.join(row) for row in grid)
    data = text.encode(codec, errors="replace")
    _only_udl_errors(write(tmp_path, f"g{next(_counter)}.csv", data))


def test_parquet_of_fixed_width_columns_is_read_a_group_of_columns_at_a_time(tmp_path, monkeypatch):
    """Every column fixed-width (numbers, booleans, dates, times): each row group read a group of
    columns at a time (bounded before it is decoded); the table is pyarrow's, names made unique."""
    from udl_core.formats import columnar

    rng = np.random.default_rng(2)
    n, width = 3_000, 73
    columns = [pa.array(rng.standard_normal(n).astype(np.float32), mask=rng.random(n) < 0.1) for _ in range(width)]
    columns += [pa.array(rng.standard_normal(n)), pa.array(rng.integers(0, 9, n), pa.int16()), pa.array(rng.random(n) < 0.5),
                pa.array(np.arange(n).astype("datetime64[ms]")), pa.array(np.arange(n), pa.uint32())]
    names = [f"f{j}" for j in range(width)] + ["f0", "small", "flag", "when", "count"]
    path = tmp_path / "fixed.parquet"
    pq.write_table(pa.table(columns, names=names), path, row_group_size=700)   # 5 row groups
    parquet = pq.ParquetFile(path)
    widths = columnar._column_widths(parquet, parquet.schema_arrow)
    assert widths is not None and widths[:2] == [5, 5] and widths[width] == 9
    monkeypatch.setattr(columnar, "GROUP_BYTES", 700 * 5 * 10)   # ten float32 columns of a row group
    assert [len(g) for g in columnar._column_groups(widths, 700)][:7] == [10] * 7
    assert columnar._column_groups(widths, 30) == [list(range(len(names)))]   # a short table: one read
    pq.write_table(pa.table({"a": [1.5], "s": ["text"]}), tmp_path / "text.parquet")
    text = pq.ParquetFile(tmp_path / "text.parquet")
    assert columnar._column_widths(text, text.schema_arrow) is None   # decoded in batches of rows
    table = read_table(path)
    assert table.columns.column_names[width] == "f0_2"
    expected = pq.ParquetFile(path).read()
    for j, column in enumerate(table.columns.columns):
        want = expected.column(j)
        if pa.types.is_integer(want.type):
            want = want.cast(pa.int64())
        assert column.type == want.type and column.to_pylist() == want.to_pylist(), names[j]
