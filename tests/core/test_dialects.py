"""Text dialects read the way a person reads them: whitespace-delimited tables, numeric
header names, preamble lines before the header, and an all-empty column read the same in
every format (issue 10)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from udl_core.cli import main
from udl_core.formats import read_table
from udl_core.formats.delimited import iter_record_batches
from udl_core.formats.whitespace import WhitespaceReader, collapse_bytes
from udl_core.loader import UnifiedDataLoader
from udl_core.table import ReadOptions

LINNERUD = (
    "Chins Situps Jumps\n5 162 60\n2 110 60\n12 101 101\n12 105 37\n13 155 58\n"
    "4 101 42\n8 101 38\n6 125 40\n15 200 40\n17 251 250\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def inspect(capsys, path: Path, *args: str) -> dict:
    code = main(["inspect", str(path), "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def error_line(capsys, path: Path, *args: str) -> str:
    code = main(["inspect", str(path), *args])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert lines[-1].startswith("error: ") and str(path) in lines[-1] and "Traceback" not in err
    return lines[-1]


def names(report: dict) -> list[str]:
    return [column["name"] for column in report["columns"]]


def streamed(path: Path) -> pa.Table:
    return pa.Table.from_batches(list(iter_record_batches(path)))


# --- whitespace-delimited text ------------------------------------------------------------------


def test_linnerud_is_three_columns_through_the_cli(capsys, tmp_path):
    path = write(tmp_path, "linnerud_exercise.csv", LINNERUD)
    report = inspect(capsys, path, "--label", "Jumps")
    assert names(report) == ["Chins", "Situps", "Jumps"]
    assert report["rows"] == 10 and report["features"] == ["Chins", "Situps"]
    assert "delimiter: whitespace" in report["notes"]


def test_linnerud_through_the_api(tmp_path):
    path = write(tmp_path, "linnerud_exercise.csv", LINNERUD)
    loader = UnifiedDataLoader(path, label="Jumps", batch_size=4, val_fraction=0.2).load()
    assert loader.feature_names == ["Chins", "Situps"]
    assert loader.num_train + loader.num_val == 10
    batch = loader.get_batch(0)
    assert batch.x.shape == (4, 2)


def test_aligned_columns_with_leading_and_trailing_spaces(tmp_path):
    # lifelines' anderson.csv shape: aligned, leading spaces, CRLF, a whitespace-only line
    text = ("   t  cens  sex  logWBC  Rx  \r\n  35     0    1    1.45   0 \r\n  34     0    1    1.47   0\r\n"
            " \t\r\n  32     0    1    2.2    0\r\n   8     1    0    2.53   1\r\n")
    path = write(tmp_path, "anderson.csv", text)
    table = read_table(path)
    assert table.columns.column_names == ["t", "cens", "sex", "logWBC", "Rx"]
    assert table.columns.to_pylist()[3] == {"t": 8, "cens": 1, "sex": 0, "logWBC": 2.53, "Rx": 1}
    assert table.columns.schema.field("t").type == pa.int64()
    assert not table.quarantine
    assert streamed(path).equals(table.columns)


def test_r_write_table_quoted_names_and_values_with_spaces(tmp_path):
    # R's write.table: quoted names one short of the rows (row names first), quoted strings
    text = ('"x" "y" "city"\n"1" 5.1 3.5 "New York"\n"2" 4.9 3 "Oslo"\n'
            '"3" 4.7 3.2 "Los  Angeles"\n"4" 4.6 3.1 "Rome"\n')
    path = write(tmp_path, "table.txt", text)
    table = read_table(path)
    assert table.columns.column_names[-3:] == ["x", "y", "city"]
    assert table.columns.column("city").to_pylist() == ["New York", "Oslo", "Los  Angeles", "Rome"]
    assert table.columns.column("y").to_pylist() == [3.5, 3.0, 3.2, 3.1]
    assert streamed(path).equals(table.columns)


def test_tabs_and_spaces_mixed(tmp_path):
    path = write(tmp_path, "mixed.dat", "a\tb  c\n1 \t 2\t\t3\n4    5 6\n7\t8 9\n")
    assert read_table(path).columns.to_pylist() == [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6},
                                                    {"a": 7, "b": 8, "c": 9}]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "gzip", "bom"])
def test_whitespace_in_other_encodings_and_compressed(tmp_path, codec):
    if codec == "gzip":
        data = gzip.compress(LINNERUD.encode())
    elif codec == "bom":
        data = b"\xef\xbb\xbf  " + LINNERUD.replace("\n", "\n  ").encode()
    else:
        data = LINNERUD.encode(codec)
    path = write(tmp_path, "linnerud.txt" + (".gz" if codec == "gzip" else ""), data)
    table = read_table(path)
    assert table.columns.column_names == ["Chins", "Situps", "Jumps"]
    assert table.columns.column("Jumps").to_pylist()[-1] == 250
    assert streamed(path).equals(table.columns)


def test_whitespace_streams_under_the_memory_budget(tmp_path):
    lines = ["  id  x      colour"] + [f"  {i:>3}  {i * 0.5:<6} {'red' if i % 3 else 'light blue'!r}"
                                        .replace("'", '"') for i in range(300)]
    path = write(tmp_path, "wide.txt", "\n".join(lines) + "\n")
    memory = UnifiedDataLoader(path, label="colour", seed=1).load()
    spilled = UnifiedDataLoader(path, label="colour", seed=1, memory_budget=1000).load()
    assert spilled.streamed and not memory.streamed
    assert memory.classes == spilled.classes == ("light blue", "red")
    assert spilled.table.columns.equals(memory.table.columns)


def test_a_run_of_spaces_past_the_sample(tmp_path):
    # single spaces in the first 256 KiB are read by pyarrow as they are; a padded row later
    # makes the read collapse runs after all, rather than quarantine it
    lines = ["a b city"] + [f"{i} {i * 2} \"New York\"" for i in range(20000)] + ['  7   14   "Oslo"  ']
    path = write(tmp_path, "late.txt", "\n".join(lines) + "\n")
    table = read_table(path)
    assert not table.quarantine and table.num_rows == 20001
    assert table.columns.to_pylist()[-1] == {"a": 7, "b": 14, "city": "Oslo"}
    assert table.columns.column("city").to_pylist()[0] == "New York"
    assert streamed(path).equals(table.columns)


def test_blocks_end_outside_quotes(monkeypatch, tmp_path):
    monkeypatch.setattr("udl_core.formats.whitespace._BLOCK", 7)
    text = b'name  n\n"a  b" 1\n"two\nlines  here"   2\n  "say ""x  y"""\t3\nlast 4'
    with WhitespaceReader(pa.BufferReader(text)) as reader:
        out = b"".join(iter(lambda: reader.read(5), b""))
    assert out == b'name\tn\n"a  b"\t1\n"two\nlines  here"\t2\n"say ""x  y"""\t3\nlast\t4\n'
    assert collapse_bytes(text + b"\n") == out


def test_one_character_delimiters_still_win(tmp_path):
    tsv = write(tmp_path, "t.tsv", "city\tpop\nNew York\t8.4\nOslo\t0.7\nLos Angeles\t3.9\n")
    assert read_table(tsv).columns.column_names == ["city", "pop"]
    spaced = write(tmp_path, "s.csv", "a, b, c\n1, 2, 3\n4, 5, 6\n")
    assert "delimiter: comma" in read_table(spaced).notes


def test_lines_of_words_stay_one_column(tmp_path):
    path = write(tmp_path, "names.txt", "name\nJohn Smith\nJane Doe\nAda Lovelace\n")
    table = read_table(path)
    assert table.columns.column_names == ["name"]
    assert table.columns.column("name").to_pylist()[0] == "John Smith"


def test_whitespace_delimiter_option(tmp_path):
    path = write(tmp_path, "words.txt", "a   b\nx \t y\n  z w\n")
    table = read_table(path, ReadOptions(delimiter=" "))
    assert table.columns.to_pylist() == [{"a": "x", "b": "y"}, {"a": "z", "b": "w"}]


# --- header rows with numeric names ----------------------------------------------------------------


def test_crimtab_quoted_numeric_names_are_a_header(capsys, tmp_path):
    text = '"","142.24","144.78","147.32"\n"9.4",0,0,1\n"9.5",0,1,0\n"9.6",1,0,3\n"9.7",0,2,0\n"9.8",4,0,1\n'
    path = write(tmp_path, "crimtab.csv", text)
    report = inspect(capsys, path, "--label", "147.32")
    assert names(report)[1:] == ["142.24", "144.78", "147.32"]
    assert report["rows"] == 5
    assert not any("no header" in note for note in report["notes"])
    loader = UnifiedDataLoader(path, label="147.32").load()
    assert loader.table.columns.column("142.24").to_pylist() == [0, 0, 1, 0, 4]


@pytest.mark.parametrize("below", ["5.3,5.4,5.5\n6.1,6.25,6.0\n7.5,7.1,7.25\n",
                                   "a,5.4,x\nb,6.25,y\nc,7.1,z\n",
                                   "120,131,140\n7,9,12\n55,51,60\n"])
def test_years_over_rows_of_another_kind_are_a_header(tmp_path, below):
    path = write(tmp_path, "years.csv", "1990,1991,1992\n" + below)
    table = read_table(path)
    assert table.columns.column_names == ["1990", "1991", "1992"]
    assert table.num_rows == 3


def test_country_by_year_counts_have_a_header(capsys, tmp_path):
    text = "country,2011,2012,2013\nAruba,120,131,140\nChad,7,9,12\nOman,55,51,60\nPeru,3,5,4\n"
    report = inspect(capsys, write(tmp_path, "population.csv", text), "--label", "2013")
    assert names(report) == ["country", "2011", "2012", "2013"]
    assert report["rows"] == 4


@pytest.mark.parametrize("text", ["1,2,3\n4,5,6\n7,8,9\n", "0.5,1.5,2\n1.5,2.5,3\n2.5,3.5,4\n",
                                  '"1","2","3"\n"4","5","6"\n"7","8","9"\n', "0,0,0\n0.5,1.5,2.5\n1.5,2.5,3.5\n",
                                  "1,2.5,x\n2,3.5,y\n3,4.5,z\n", "1990,1991,1992\n1993,1994,1995\n1996,1997,1998\n"])
def test_headerless_numeric_files_keep_their_first_row(tmp_path, text):
    table = read_table(write(tmp_path, "nohead.csv", text))
    assert table.columns.column_names == ["column_1", "column_2", "column_3"]
    assert table.num_rows == 3


# --- preamble lines ------------------------------------------------------------------------------


BLS = ("Series Id: LNS14000000Q\n\nYear,Period,Value\n1990,Q01,5.3\n1990,Q02,5.3\n1990,Q03,5.7\n"
       "1990,Q04,6.1\n1991,Q01,6.6\n1991,Q02,6.8\n")


def test_bls_preamble_is_skipped_and_said(capsys, tmp_path):
    path = write(tmp_path, "bls.csv", BLS)
    report = inspect(capsys, path)
    assert names(report) == ["Year", "Period", "Value"]
    assert report["rows"] == 6 and report["label"] == "Value"
    assert "preamble: the first 2 line(s), before the header, skipped" in report["notes"]
    loader = UnifiedDataLoader(path).load()
    assert loader.table.columns.column("Year").to_pylist()[-1] == 1991
    assert streamed(path).equals(loader.table.columns)


def test_title_and_comment_lines_are_skipped(tmp_path):
    text = "# measured in 1977\nLinnerud data\n\nChins Situps Jumps\n5 162 60\n2 110 60\n12 101 101\n"
    table = read_table(write(tmp_path, "titled.txt", text))
    assert table.columns.column_names == ["Chins", "Situps", "Jumps"]
    assert table.num_rows == 3
    assert "preamble: the first 3 line(s), before the header, skipped" in table.notes
    comments = read_table(write(tmp_path, "c.csv", "# one\n# two\na,b\n1,x\n2,y\n"))
    assert "preamble: the first 2 line(s), before the header, skipped" in comments.notes


@pytest.mark.parametrize(("text", "rows"), [
    ("1\n" + "".join(f"{i},{i + 1}\n" for i in range(12)), 12),   # a short data row: quarantined
    ("x\n1,2\n3,4\n5,6\n", 3),                                    # a name short: pandas' index
    ("label\nrow1,a\nrow2,b\nrow3,c\n", 3),                       # all text: nothing says preamble
    ('"x" "y"\n"1" 5 6\n"2" 7 8\n"3" 9 1\n', 3),                  # R's write.table names
])
def test_a_short_first_line_over_data_is_not_a_preamble(tmp_path, text, rows):
    table = read_table(write(tmp_path, "short.csv", text))
    assert not any("preamble" in note for note in table.notes)
    assert table.num_rows == rows
    assert [bad.location for bad in table.quarantine] == (["line 1"] if rows == 12 else [])


# --- one cause, one message: an all-empty column in every format --------------------------------------


@pytest.fixture
def fertility(tmp_path) -> dict[str, Path]:
    """statsmodels' fertility shape: years as names, the last one empty in every row."""
    data = pa.table({
        "Country Name": ["Aruba", "Andorra", "Afghanistan", "Angola", "Albania", "Chad"],
        "1990": [2.36, 1.4, 7.47, 7.17, 2.98, 7.3],
        "2000": [1.9, 1.3, 7.7, 6.8, 2.3, 7.4],
        "2012": [1.7, 1.2, 5.1, 6.0, 1.7, 6.4],
        "2013": pa.array([None] * 6, pa.float64()),
    })
    paths = {kind: tmp_path / f"fertility.{kind}" for kind in ("csv", "parquet", "jsonl")}
    lines = ["Country Name,1990,2000,2012,2013"] + [
        f"{r['Country Name']},{r['1990']},{r['2000']},{r['2012']}," for r in data.to_pylist()]
    paths["csv"].write_text("\n".join(lines) + "\n")
    pq.write_table(data, paths["parquet"])
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in data.to_pylist()))
    return paths


def test_all_empty_csv_column_reads_as_nulls(fertility):
    table = read_table(fertility["csv"])
    assert table.columns.column_names == ["Country Name", "1990", "2000", "2012", "2013"]
    assert pa.types.is_null(table.columns.schema.field("2013").type)
    assert read_table(fertility["jsonl"]).columns.column("2013").null_count == 6


def test_fertility_gives_one_message_in_every_format(capsys, fertility):
    messages = {kind: error_line(capsys, path, "--label", "2013").split(": ", 2)[-1]
                for kind, path in fertility.items()}
    assert set(messages.values()) == {"the label column '2013' has no values: every row is missing it"}
    reports = {kind: inspect(capsys, path) for kind, path in fertility.items()}
    for report in reports.values():
        assert names(report) == ["Country Name", "1990", "2000", "2012", "2013"]
        assert report["label"] == reports["parquet"]["label"]
        assert {c["name"]: c["role"] for c in report["columns"]} == \
            {c["name"]: c["role"] for c in reports["parquet"]["columns"]}
        assert [w for w in report["warnings"] if "2013" in w] == \
            [w for w in reports["parquet"]["warnings"] if "2013" in w]
