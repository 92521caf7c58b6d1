"""The polars path for plain UTF-8 JSON Lines gives the very table and tensors pyarrow.json gives.

The polars path is forced (any size) in small ranges; files with mixed types, missing keys and
nulls, text holding colons and "null", ISO timestamps and text dates are read both ways. Where
polars cannot match pyarrow (a key past the head, an integer column that turns float, a malformed
line, a nested value, escapes) the file goes to pyarrow, with the same result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from udl_core.events import Progress, run_job
from udl_core.formats import jsonfmt, polars_csv, polars_json
from udl_core.loader import UnifiedDataLoader
from udl_core.table import ReadOptions


@pytest.fixture
def polars_used(monkeypatch):
    monkeypatch.setattr(polars_csv, "FAST_BYTES", 0)
    monkeypatch.setattr(polars_csv, "RANGE_BYTES", 8192)
    monkeypatch.setattr(jsonfmt, "_STREAM_BYTES", 0)
    monkeypatch.setattr(polars_json, "HEAD_BYTES", 16 << 10)   # types from the first ~80 records
    taken: list[bool] = []
    read = polars_json.read_lines_with_polars

    def counted(*args, **kwargs):
        table = yield from read(*args, **kwargs)
        taken.append(table is not None)
        return table

    monkeypatch.setattr(jsonfmt, "read_lines_with_polars", counted)
    return taken


def _records(rows: int) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(rows):
        record = {"id": i, "amount": None if i % 9 == 0 else round(float(rng.normal()) * 10, 3),
                  "count": int(rng.integers(0, 5)), "name": str(rng.choice(["a:b", "null", "x", "NA", ""])),
                  "when": f"2020-{1 + i % 12:02d}-{1 + i % 28:02d} 0{i % 10}:15:30",
                  "us_date": f"{1 + i % 12}/{1 + i % 28}/2019", "flag": bool(i % 3),
                  "label": str(rng.choice(["a", "b", "c"]))}
        if i % 7 == 0:
            del record["flag"]   # a missing key
        if i % 11 == 0:
            record["name"] = None
        out.append(record)
    return out


def _write(path: Path, records: list[dict], extra: str | None = None, at: int = -1) -> Path:
    lines = [json.dumps(r) for r in records]
    if extra is not None:
        lines.insert(at, extra)
    path.write_text("\n".join(lines) + "\n")
    return path


def _both(path: Path, monkeypatch) -> tuple[UnifiedDataLoader, UnifiedDataLoader]:
    fast = UnifiedDataLoader(path, label="label", batch_size=64).load()
    with monkeypatch.context() as patch:
        patch.setattr(jsonfmt, "read_lines_with_polars", lambda path: iter(()))   # returns None at once
        slow = UnifiedDataLoader(path, label="label", batch_size=64).load()
    return fast, slow


def _assert_identical(fast: UnifiedDataLoader, slow: UnifiedDataLoader) -> None:
    assert fast.table.columns.schema == slow.table.columns.schema
    assert fast.table.columns.equals(slow.table.columns)
    assert fast.table.notes == slow.table.notes and fast.table.quarantine == slow.table.quarantine
    assert fast.feature_names == slow.feature_names
    for a, b in ((fast.train_data, slow.train_data), (fast.val_data, slow.val_data)):
        assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


def test_polars_and_pyarrow_give_identical_tensors(tmp_path, monkeypatch, polars_used):
    path = _write(tmp_path / "mixed.jsonl", _records(800))
    fast, slow = _both(path, monkeypatch)
    assert polars_used and all(polars_used)
    _assert_identical(fast, slow)
    kinds = {f.name: str(f.type) for f in fast.table.columns.schema}
    assert kinds["when"].startswith("timestamp") and kinds["us_date"].startswith("timestamp")
    assert kinds["flag"] == "bool" and kinds["amount"] == "double" and kinds["count"] == "int64"


def test_the_read_reports_bytes_as_it_goes(tmp_path, polars_used):
    path = _write(tmp_path / "mixed.jsonl", _records(800))
    events: list[Progress] = []
    run_job(jsonfmt.read_json(path, ReadOptions()), events.append)
    read = [e for e in events if isinstance(e, Progress) and e.bytes_total == path.stat().st_size]
    assert len(read) > 5 and read[-1].bytes_done == read[-1].bytes_total and read[-1].done == 800


@pytest.mark.parametrize("case, extra", [
    ("a key past the head", '{"id": 1, "amount": 2.0, "count": 1, "label": "a", "late": 5}'),
    ("an integer column turns float", '{"id": 1, "amount": 2.0, "count": 1.5, "label": "a"}'),
    ("a malformed line", '{"id": 1, "amount": 2.0, '),
    ("a nested value", '{"id": 1, "amount": 2.0, "count": 1, "label": "a", "name": {"k": [1, 2]}}'),
    ("an escape", '{"id": 1, "amount": 2.0, "count": 1, "label": "a", "name": "caf\\u00e9"}'),
])
def test_what_polars_cannot_match_goes_to_pyarrow(tmp_path, monkeypatch, polars_used, case, extra):
    path = _write(tmp_path / "late.jsonl", _records(800), extra, at=700)
    fast, slow = _both(path, monkeypatch)
    assert polars_used and not any(polars_used)
    _assert_identical(fast, slow)
