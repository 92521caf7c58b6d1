"""Fuzzing: random bytes, random delimited text and damaged real files through every reader and
through `UnifiedDataLoader.load()`. The only exception that may leave udl_core is a `UDLError`.

Warnings are not the property under test here (they are silenced); hangs are guarded by
pytest's faulthandler timeout. The examples are derandomized (the same every run); set
UDL_FUZZ_EXAMPLES (default 120) for a deeper run.
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_support import make_corpus

from udl_core.errors import UDLError

# UDL_FUZZ_EXAMPLES=5000 for a deeper run than the suite's.
EXAMPLES = int(os.environ.get("UDL_FUZZ_EXAMPLES", 120))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

EXTENSIONS = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".arrow", ".feather",
              ".npy", ".npz", ".bin", "")

_counter = itertools.count()


def _only_udl_errors(path: Path, *, through_loader: bool = True, **loader_kwargs) -> None:
    """Read `path` with the reader and the loader; anything but a UDLError fails the test."""
    from udl_core.formats import read_table
    from udl_core.loader import UnifiedDataLoader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read_table(path)
        except UDLError:
            pass
        if through_loader:
            try:
                loader = UnifiedDataLoader(path, batch_size=4, **loader_kwargs).load()
                if len(loader):
                    loader.get_batch(0)
                    loader.get_batch(len(loader) - 1).raw()
            except UDLError:
                pass


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="udl-fuzz-") as folder:
        yield Path(folder)


def _fresh(scratch: Path, name: str) -> Path:
    folder = scratch / f"case{next(_counter)}"
    folder.mkdir()
    return folder / name


# ------------------------------------------------------------------ random bytes


@FUZZ
@given(data=st.binary(min_size=1, max_size=4096), ext=st.sampled_from(EXTENSIONS))
def test_random_bytes(scratch, data, ext):
    path = _fresh(scratch, "data" + ext)
    path.write_bytes(data)
    _only_udl_errors(path)
    assert path.read_bytes() == data


MAGICS = {
    ".parquet": b"PAR1",
    ".arrow": b"ARROW1\x00\x00",
    ".npy": b"\x93NUMPY\x01\x00",
    ".npz": b"PK\x03\x04",
    ".json": b"[{",
    ".csv": b"a,b,label\n",
}


@FUZZ
@given(ext=st.sampled_from(sorted(MAGICS)), tail=st.binary(max_size=2048), end=st.booleans())
def test_random_bytes_behind_a_real_magic(scratch, ext, tail, end):
    """Junk that passes each reader's sniff, so the reader itself has to cope."""
    magic = MAGICS[ext]
    data = magic + tail + (magic if end else b"")
    path = _fresh(scratch, "data" + ext)
    path.write_bytes(data)
    _only_udl_errors(path)


# ------------------------------------------------------------------ random delimited text

MISSING = ["", "NA", "N/A", "null", "NaN", "?", "-", "None", " "]
token = st.one_of(
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(MISSING),
    st.sampled_from(["true", "False", "yes", "2024-01-31", "2024-13-45T25:61", "1e400", "0x1F", "١٢٣"]),
    st.text(max_size=12),
)


@st.composite
def delimited_files(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", " ", ":"]))
    quote = draw(st.sampled_from(['"', "'"]))
    ncols = draw(st.integers(1, 6))
    nrows = draw(st.integers(0, 30))
    header = draw(st.booleans())
    lines = []
    if header:
        lines.append(delimiter.join(draw(st.lists(st.text(max_size=8), min_size=ncols, max_size=ncols))))
    for _ in range(nrows):
        width = ncols if draw(st.integers(0, 9)) else draw(st.integers(1, ncols + 3))   # ragged now and then
        cells = []
        for _ in range(width):
            cell = draw(token)
            if draw(st.integers(0, 5)) == 0:
                cell = quote + cell.replace(quote, quote * 2) + quote
            cells.append(cell)
        lines.append(delimiter.join(cells))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    return data, draw(st.sampled_from([".csv", ".tsv", ".txt"]))


@pytest.mark.slow
@FUZZ
@given(delimited_files(), st.sampled_from([None, "label", "no_such", "1"]))
def test_random_delimited_text(scratch, file, label):
    data, ext = file
    path = _fresh(scratch, "data" + ext)
    path.write_bytes(data)
    _only_udl_errors(path, label=label)
    assert path.read_bytes() == data


@FUZZ
@given(st.lists(st.one_of(
    st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5),
                                                    st.booleans(), st.lists(st.integers(), max_size=3)),
                    max_size=5),
    st.text(max_size=20),
    st.integers(),
), max_size=20), st.booleans(), st.booleans())
def test_random_json(scratch, records, lines, break_one):
    import json

    if lines:
        text = "\n".join(json.dumps(r) for r in records)
        if break_one and records:
            text = text[: len(text) // 2]
        path = _fresh(scratch, "data.jsonl")
    else:
        text = json.dumps(records)
        if break_one:
            text = text[:-1]
        path = _fresh(scratch, "data.json")
    path.write_text(text)
    _only_udl_errors(path)


# ------------------------------------------------------------------ damaged real files


def _good_binaries() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    table = pa.table({"a": x[:, 0], "b": x[:, 1], "label": ["p", "q"] * 20})
    files = {}
    out = io.BytesIO()
    pq.write_table(table, out)
    files[".parquet"] = out.getvalue()
    out = io.BytesIO()
    feather.write_feather(table, out, compression="uncompressed")
    files[".arrow"] = out.getvalue()
    out = io.BytesIO()
    np.save(out, x)
    files[".npy"] = out.getvalue()
    out = io.BytesIO()
    np.savez_compressed(out, x=x, y=np.arange(40) % 2)
    files[".npz"] = out.getvalue()
    files[".png"] = make_corpus._png(seed=1, size=12)
    return files


GOOD = _good_binaries()


@st.composite
def damaged(draw):
    ext = draw(st.sampled_from(sorted(GOOD)))
    data = bytearray(GOOD[ext])
    how = draw(st.sampled_from(["flip", "truncate", "splice"]))
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
    elif how == "truncate":
        data = data[: draw(st.integers(1, len(data) - 1))]
    else:
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=64))
    return ext, bytes(data)


@FUZZ
@given(damaged())
def test_damaged_real_files(scratch, file):
    ext, data = file
    if ext == ".png":
        # Images are read as a folder: the damaged one among good ones, and alone.
        folder = _fresh(scratch, "imgs")
        (folder / "a").mkdir(parents=True)
        (folder / "b").mkdir()
        (folder / "a" / "x.png").write_bytes(data)
        _only_udl_errors(folder)
        for i in range(3):
            (folder / "a" / f"good{i}.png").write_bytes(make_corpus._png(seed=10 + i))
            (folder / "b" / f"good{i}.png").write_bytes(make_corpus._png(seed=20 + i))
        _only_udl_errors(folder)
        return
    path = _fresh(scratch, "data" + ext)
    path.write_bytes(data)
    _only_udl_errors(path)


# ------------------------------------------------------------------ through the command line


@pytest.mark.slow
@settings(max_examples=max(60, EXAMPLES // 2), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(delimited_files(), st.sampled_from(["inspect", "batch"]))
def test_cli_answers_random_text_with_exit_0_or_one_error_line(scratch, file, command):
    from corpus_support import run_in_process

    data, ext = file
    path = _fresh(scratch, "data" + ext)
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = run_in_process([command, str(path), "--batch-size", "4"])
    assert answer.code in (0, 2), answer
    if answer.code == 2:
        lines = [line for line in answer.err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and str(path) in lines[0], answer.err
