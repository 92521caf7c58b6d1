"""Corpus cases of valid data in every Arrow and NumPy type (issue 9): each once crashed a reader.

`type_cases(Case)` returns them for make_corpus.CASES; the makers are also used by
tests/core/test_types.py, which checks the values they read as.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

__all__ = ["ROWS", "type_cases"]

ROWS = 40
_RNG_SEED = 9


def _xy(rows: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_RNG_SEED)
    x = rng.normal(size=rows)
    return x, (x > 0).astype(np.int64)


def _with_xy(columns: dict) -> pa.Table:
    x, y = _xy()
    return pa.table({**columns, "x": x, "label": y})


def far_dates() -> list[dt.date]:
    """Dates across the whole range: the sentinel 9999-12-31, year 1, 1500 and 1600."""
    dates = [dt.date(2000, 1, 1) + dt.timedelta(days=7 * i) for i in range(ROWS)]
    dates[:4] = [dt.date(9999, 12, 31), dt.date(1, 1, 1), dt.date(1500, 6, 1), dt.date(1600, 1, 1)]
    return dates


def make_parquet_far_dates(folder: Path) -> None:
    dates = far_dates()
    stamps = [dt.datetime.combine(d, dt.time(13, 30)) for d in dates]
    pq.write_table(_with_xy({
        "day": pa.array(dates, pa.date32()),
        "at_ms": pa.array(stamps, pa.timestamp("ms")),
        "at_us_paris": pa.array(stamps, pa.timestamp("us", "Europe/Paris")),
    }), folder / "data.parquet")


def make_arrow_dates_out_of_range(folder: Path) -> None:
    """date32 and timestamp[s] values Python cannot show (years -100, 12000, 30000): missing."""
    days = np.arange(ROWS, dtype=np.int32) + 10_957          # 2000-01-01 on
    days[0], days[1] = -756_000, 3_652_000                   # about years -100 and 12000
    seconds = days.astype(np.int64) * 86_400
    seconds[2] = 884_000_000_000                             # about the year 30000
    feather.write_feather(_with_xy({
        "day": pa.array(days, pa.date32()),
        "at": pa.array(seconds, pa.timestamp("s")),
        "d64": pa.array(days.astype(np.int64) * 86_400_000, pa.date64()),
    }), folder / "data.arrow")


def make_parquet_pandas_nanoseconds(folder: Path) -> None:
    """What pandas writes: timestamp[ns] values that are not whole microseconds."""
    ns = 1_600_000_000_000_000_000 + np.arange(ROWS, dtype=np.int64) * 3_600_000_000_123
    pq.write_table(_with_xy({"at": pa.array(ns, pa.timestamp("ns")),
                             "at_utc": pa.array(ns, pa.timestamp("ns", "UTC"))}),
                   folder / "data.parquet", coerce_timestamps=None, version="2.6")


def make_csv_far_dates(folder: Path) -> None:
    x, y = _xy()
    lines = ["day,at,x,label"]
    for i, d in enumerate(far_dates()):
        lines.append(f"{d.isoformat()},{d.isoformat()}T{i % 24:02d}:00:00Z,{x[i]:.4f},{y[i]}")
    (folder / "data.csv").write_text("\n".join(lines) + "\n")


def make_json_far_dates(folder: Path) -> None:
    x, y = _xy()
    records = [{"day": d.isoformat(), "at": f"{d.isoformat()}T12:00:00+02:00", "x": float(x[i]), "label": int(y[i])}
               for i, d in enumerate(far_dates())]
    (folder / "data.json").write_text(json.dumps(records))


def make_npy_big_endian(folder: Path) -> None:
    x, y = _xy()
    np.save(folder / "data.npy", np.stack([x, x * 2, y], axis=1).astype(">f8"))


def make_npz_big_endian(folder: Path) -> None:
    x, y = _xy()
    np.savez(folder / "data.npz", x=np.stack([x, -x], axis=1).astype(">f4"), y=y.astype(">i8"))


def make_npz_float16(folder: Path) -> None:
    x, y = _xy()
    np.savez(folder / "data.npz", x=np.stack([x, -x], axis=1).astype(np.float16), y=y.astype(np.float16))


def make_npz_uint64(folder: Path) -> None:
    """uint64 features at and past 2**53 and 2**63, uint64 labels past 2**63 (ids)."""
    x, y = _xy()
    big = np.uint64(2**63) + (np.abs(x) * 1e6).astype(np.uint64)
    np.savez(folder / "data.npz", x=np.stack([big, np.full(ROWS, 2**53 + 1, np.uint64),
                                              (x > 0).astype(np.uint64) * np.uint64(2**64 - 1)], axis=1),
             y=y.astype(np.uint64) + np.uint64(2**63))


def _refused_npy(values: np.ndarray) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        np.save(folder / "data.npy", values)
    return make


def make_arrow_every_type(folder: Path) -> None:
    x, _ = _xy()
    feather.write_feather(_with_xy({
        "price": pa.array([decimal.Decimal(f"{v:.2f}") for v in x], pa.decimal128(12, 2)),
        "huge": pa.array([decimal.Decimal(10) ** 40 * (i + 1) for i in range(ROWS)], pa.decimal256(60, 0)),
        "wait": pa.array(np.arange(ROWS) * 1500, pa.duration("ms")),
        "tags": pa.array([[i, i + 1] for i in range(ROWS)]),
        "point": pa.array([{"a": i} for i in range(ROWS)]),
        "attrs": pa.array([[("k", i)] for i in range(ROWS)], pa.map_(pa.string(), pa.int64())),
        "colour": pa.array(["red", "blue"] * (ROWS // 2)).dictionary_encode(),
        "name": pa.array(["p", "q", "r", "s"] * (ROWS // 4), pa.large_string()),
        "blob": pa.array([b"\x00\x01"] * ROWS),
        "nothing": pa.nulls(ROWS),
        "half": pa.array(np.arange(ROWS, dtype=np.float16)),
        "runs": pa.RunEndEncodedArray.from_arrays(pa.array([ROWS // 2, ROWS], pa.int32()), pa.array([1.5, 2.5])),
        "bytes_view": pa.array([b"ab"] * ROWS, pa.binary_view()),
        "list_view": pa.array([[i] for i in range(ROWS)], pa.list_view(pa.int64())),
        "text_view": pa.array(["u", "v"] * (ROWS // 2), pa.string_view()),
        "clock_ns": pa.array(np.arange(ROWS) * 1_000_000_001, pa.time64("ns")),
        "lag_ns": pa.array(np.arange(ROWS) * 1_000_000_001, pa.duration("ns")),
    }), folder / "data.arrow")


def _duplicate_names() -> pa.Table:
    x, y = _xy()
    return pa.Table.from_arrays([pa.array(x), pa.array(x * 2), pa.array(-x), pa.array(y)],
                                names=["x", "x", "x_2", "label"])


def make_parquet_duplicate_names(folder: Path) -> None:
    pq.write_table(_duplicate_names(), folder / "data.parquet")


def make_arrow_duplicate_names(folder: Path) -> None:
    feather.write_feather(_duplicate_names(), folder / "data.arrow")


def make_json_ints_past_64_bits(folder: Path) -> None:
    x, y = _xy()
    big = [2**64 + i if i % 2 else -(2**63) - 1 - i for i in range(ROWS)]
    text = ",".join(f'{{"id": {big[i]}, "x": {x[i]:.4f}, "label": {y[i]}}}' for i in range(ROWS))
    (folder / "data.json").write_text(f"[{text}]")


def make_jsonl_ints_past_64_bits(folder: Path) -> None:
    x, y = _xy()
    (folder / "data.jsonl").write_text("".join(
        f'{{"id": {2**64 * (i + 1)}, "x": {x[i]:.4f}, "label": {y[i]}}}\n' for i in range(ROWS)))


def make_json_big_first_record(folder: Path) -> None:
    """An array over 8 MiB whose first record alone is over 1 MiB (the estimate's sample)."""
    records = [{"note": "n" * (3 << 19), "x": 0.5, "label": 0}]
    records += [{"note": "s", "x": float(i % 7), "label": i % 2} for i in range(130_000)]
    (folder / "data.json").write_text(json.dumps(records))


def make_json_nul_in_key(folder: Path) -> None:
    x, y = _xy()
    records = [{"a\u0000b": i, "x": float(x[i]), "label": int(y[i])} for i in range(ROWS)]
    (folder / "data.json").write_text(json.dumps(records))


def make_jsonl_nul_in_key(folder: Path) -> None:
    x, y = _xy()
    (folder / "data.jsonl").write_text("".join(
        json.dumps({"a\u0000b": [i], "x": float(x[i]), "label": int(y[i])}) + "\n" for i in range(ROWS)))


def _in_folder(make: Callable[[Path], None]) -> Callable[[Path], None]:
    def wrapped(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        make(folder)
    return wrapped


def type_cases(case: type) -> tuple:
    """The cases, built with make_corpus's `Case` (passed in: this module does not import it)."""
    train = ("inspect", "batch", "train")
    refused = ("SchemaError",)
    return (
        case("parquet_dates_years_1_to_9999", _in_folder(make_parquet_far_dates), "data.parquet", expect="ok",
             commands=train, note="date32 of year 1, the 9999-12-31 sentinel, timestamps with a zone"),
        case("arrow_dates_past_year_9999", _in_folder(make_arrow_dates_out_of_range), "data.arrow", expect="ok",
             note="dates Python cannot show: missing, counted in a note"),
        case("parquet_pandas_nanoseconds", _in_folder(make_parquet_pandas_nanoseconds), "data.parquet",
             expect="ok", commands=train),
        case("csv_dates_years_1_to_9999", _in_folder(make_csv_far_dates), "data.csv", expect="ok", commands=train),
        case("json_dates_with_offsets", _in_folder(make_json_far_dates), "data.json", expect="ok"),
        case("npy_big_endian", _in_folder(make_npy_big_endian), "data.npy", args=("--label", "f2"), expect="ok",
             commands=train),   # a bare array has no guessed label: its last column named
        case("npz_big_endian_labels", _in_folder(make_npz_big_endian), "data.npz", expect="ok", commands=train),
        case("npz_float16_labels", _in_folder(make_npz_float16), "data.npz", expect="ok", commands=train),
        case("npz_uint64_past_2_63", _in_folder(make_npz_uint64), "data.npz", expect="ok", commands=train),
        case("npy_complex", _in_folder(_refused_npy(np.ones((ROWS, 2), np.complex64))), "data.npy", raises=refused),
        case("npy_datetime64", _in_folder(_refused_npy(np.zeros((ROWS, 2), "M8[D]"))), "data.npy", raises=refused),
        case("npy_timedelta64", _in_folder(_refused_npy(np.zeros((ROWS, 2), "m8[s]"))), "data.npy", raises=refused),
        case("npy_void", _in_folder(_refused_npy(np.zeros((ROWS, 2), "V4"))), "data.npy", raises=refused),
        case("arrow_every_type", _in_folder(make_arrow_every_type), "data.arrow", expect="ok", commands=train,
             note="decimals, durations, nested, dictionary, run-end, view, large_string, binary and null columns"),
        case("parquet_duplicate_names", _in_folder(make_parquet_duplicate_names), "data.parquet", expect="ok",
             commands=train),
        case("arrow_duplicate_names", _in_folder(make_arrow_duplicate_names), "data.arrow", expect="ok"),
        case("json_ints_past_64_bits", _in_folder(make_json_ints_past_64_bits), "data.json", expect="ok"),
        case("jsonl_ints_past_64_bits", _in_folder(make_jsonl_ints_past_64_bits), "data.jsonl", expect="ok"),
        case("json_big_first_record", _in_folder(make_json_big_first_record), "data.json", expect="ok",
             commands=("inspect",)),
        case("json_nul_in_key", _in_folder(make_json_nul_in_key), "data.json", expect="ok"),
        case("jsonl_nul_in_key", _in_folder(make_jsonl_nul_in_key), "data.jsonl", expect="ok"),
    )
