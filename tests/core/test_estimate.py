"""estimate(): rows, sizes and the stream-or-not decision, without reading big files whole."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from udl_core.errors import CorruptFileError
from udl_core.formats.estimate import Estimate, default_memory_budget
from udl_core.pipeline import estimate
from udl_core.table import ReadOptions


def frame(n: int) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({
        "x": rng.normal(size=n),
        "k": rng.integers(0, 1000, n),
        "color": pa.array(rng.choice(["red", "green", "blue", "cyan"], n)),
        "label": rng.integers(0, 2, n),
    })


def test_csv_estimate_is_sampled_and_close(tmp_path):
    path = tmp_path / "big.csv"
    pacsv.write_csv(frame(150_000), path)
    assert path.stat().st_size > 2 << 20  # bigger than the 1 MiB sample
    est = estimate(path)
    assert not est.exact
    assert abs(est.rows - 150_000) / 150_000 < 0.03
    assert est.bytes_on_disk == path.stat().st_size
    assert est.feature_dim == 1 + 1 + 4  # x, k, one-hot color (label left out)
    assert est.processed_bytes == est.rows * est.feature_dim * 4
    assert not est.streamed
    assert str(est).startswith("≈ ")
    assert "fits in memory" in str(est)


def test_small_csv_estimate_is_exact(tmp_path):
    path = tmp_path / "small.csv"
    pacsv.write_csv(frame(100), path)
    est = estimate(path)
    assert est.exact and est.rows == 100


def test_gzip_csv_estimate_scales_by_the_compression_ratio(tmp_path):
    path = tmp_path / "big.csv.gz"
    with pa.output_stream(path, compression="gzip") as out:
        pacsv.write_csv(frame(150_000), out)
    est = estimate(path)
    assert not est.exact
    assert abs(est.rows - 150_000) / 150_000 < 0.1
    assert est.bytes_on_disk == path.stat().st_size


def test_parquet_estimate_is_exact(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(frame(30_000), path, row_group_size=10_000)
    est = estimate(path, ReadOptions(memory_budget=10 << 10))
    assert est.exact and est.rows == 30_000
    assert est.feature_dim == 6
    assert est.streamed
    assert str(est).startswith("30,000 rows")
    assert str(est).endswith("over the memory budget (10 KiB): streamed in batches")


def test_arrow_and_jsonl_estimates(tmp_path):
    arrow = tmp_path / "t.arrow"
    feather.write_feather(frame(5_000), arrow)
    assert estimate(arrow).rows == 5_000
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("".join(f'{{"a": {i}, "b": "c{i % 3}"}}\n' for i in range(60_000)))
    est = estimate(jsonl)
    assert not est.exact
    assert abs(est.rows - 60_000) / 60_000 < 0.05


def test_big_json_array_is_sampled(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("[" + ",\n".join(f'{{"a": {i % 997}, "b": {i % 13 * 0.5}}}' for i in range(400_000)) + "]")
    est = estimate(path)
    assert not est.exact
    assert abs(est.rows - 400_000) / 400_000 < 0.05
    assert est.feature_dim == 1  # "b" is the label by the last-column rule


def test_npy_estimate_from_header(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((123, 4, 5), np.float32))
    est = estimate(path)
    assert (est.rows, est.feature_dim, est.exact) == (123, 20, True)


def test_estimate_of_truncated_parquet_raises(tmp_path):
    good = tmp_path / "g.parquet"
    pq.write_table(frame(10), good)
    bad = tmp_path / "b.parquet"
    bad.write_bytes(good.read_bytes()[:-8])
    with pytest.raises(CorruptFileError, match="b.parquet"):
        estimate(bad)


def test_default_budget_and_str():
    assert default_memory_budget() > 0
    est = Estimate(rows=1_204_000, bytes_on_disk=48_200_000, processed_bytes=150_000_000,
                   streamed=False, memory_budget=6 << 30, exact=False)
    # the budget in the unit --memory-budget takes and `udl inspect` prints it in (binary)
    assert str(est) == "≈ 1,204,000 rows, 48.2 MB on disk, ≈ 150.0 MB as float32; fits in memory (budget 6 GiB)"


def test_label_is_left_out_of_the_feature_width(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(frame(1_000), path)
    assert estimate(path).feature_dim == 6                 # "label" is the label by name
    assert estimate(path, label="color").feature_dim == 3  # x, k, label (numeric)


def test_arrow_stream_and_small_json_are_read_exactly(tmp_path):
    stream = tmp_path / "s.arrows"
    table = frame(700)
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    assert (estimate(stream).rows, estimate(stream).exact) == (700, True)
    small = tmp_path / "s.json"
    small.write_text('[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]')
    est = estimate(small)
    assert (est.rows, est.exact) == (2, True)


def test_json_array_whose_first_record_outgrows_the_sample_is_not_empty(tmp_path):
    """No record decodes from the sample: the estimate says 'some rows', not '0 rows'."""
    import json

    records = [{"note": "n" * (3 << 20), "x": 0.5, "label": 0}] * 3
    path = tmp_path / "big.json"
    path.write_text(json.dumps(records))
    est = estimate(path, ReadOptions())
    assert est.rows >= 1
