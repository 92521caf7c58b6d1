"""Sharded reading (udl_core/sharded.py): each rank reads and preprocesses its own rows of a file, the
preprocessing fitted over every rank's training rows. Two ranks under `mlx.launch` against one process
reading the whole file; the reduced fit itself on ranks simulated by threads (fast, any edge case)."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from udl_core import pipeline
from udl_core.distributed import LOCAL, World, row_range
from udl_core.encoders import BoolEncoder, CategoricalEncoder, ImageEncoder
from udl_core.events import Notice, run_job
from udl_core.loader import UnifiedDataLoader
from udl_core.numeric_block import MEDIAN_ROWS, ArrayNumbers, fit_stats
from udl_core.preprocess import Preprocessor
from udl_core.schema import infer
from udl_core.shard_stats import column_stats
from udl_core.sharded import ShardLoad, can_shard, load_shard
from udl_core.table import ReadOptions, Table
from udl_core.values import table_slice

sys.path.insert(0, str(Path(__file__).parent))
from launch_support import launch  # noqa: E402

RTOL = 1e-9   # means and stds: a single process's up to float64 rounding (module doc of udl_core/sharded.py)


# ---- ranks simulated by threads -------------------------------------------------------------------
class _Hub:
    def __init__(self, size: int) -> None:
        self.barrier = threading.Barrier(size, timeout=60)
        self.slots: list[Any] = [None] * size

    def exchange(self, rank: int, value: Any) -> list[Any]:
        self.slots[rank] = value
        self.barrier.wait()
        out = list(self.slots)
        self.barrier.wait()
        return out


@dataclass(frozen=True)
class ThreadWorld(World):
    """World's reductions between threads, in rank order, with World's dtypes."""

    hub: Any = None

    def sum(self, values: Any) -> np.ndarray:
        array = np.asarray(values)
        array = array.astype(np.int64 if array.dtype.kind in "biu" else np.float64)
        parts = self.hub.exchange(self.rank, array)
        total = parts[0].copy()
        for part in parts[1:]:
            total = total + part
        return np.asarray(total)

    def gather(self, value: Any) -> list[Any]:
        return [json.loads(json.dumps(v)) for v in self.hub.exchange(self.rank, value)]

    def gather_rows(self, rows: np.ndarray) -> np.ndarray:
        array = np.asarray(rows)
        array = array.astype(np.int64 if array.dtype.kind in "biu" else np.float64)
        return np.concatenate(self.hub.exchange(self.rank, array))

    def agree(self, flag: bool) -> bool:
        return any(self.hub.exchange(self.rank, bool(flag)))


def on_ranks(size: int, work: Any) -> list[Any]:
    """work(world) on `size` simulated ranks at once; each rank's result, in rank order."""
    hub = _Hub(size)
    results: list[Any] = [None] * size
    errors: list[BaseException] = []

    def run(rank: int) -> None:
        try:
            results[rank] = work(ThreadWorld(rank, size, hub=hub))
        except BaseException as exc:   # noqa: BLE001 - re-raised below
            errors.append(exc)
            hub.barrier.abort()

    threads = [threading.Thread(target=run, args=(r,)) for r in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def assert_fit_close(shared: Any, single: Any, where: str = "") -> None:
    """Equal, floats within RTOL (relative, at least 1 of scale), medians exactly."""
    if isinstance(single, dict):
        assert shared.keys() == single.keys(), where
        for key in single:
            assert_fit_close(shared[key], single[key], f"{where}.{key}")
    elif isinstance(single, list):
        assert len(shared) == len(single), where
        for i, (a, b) in enumerate(zip(shared, single, strict=True)):
            assert_fit_close(a, b, f"{where}[{i}]")
    elif isinstance(single, float) and "median" not in where:
        assert abs(shared - single) <= RTOL * max(1.0, abs(single)), (where, shared, single)
    else:
        assert shared == single, (where, shared, single)


def _split(rows: np.ndarray, n: int, rank: int, size: int) -> tuple[int, int, np.ndarray]:
    start, stop = row_range(n, rank, size)
    return start, stop, rows[(rows >= start) & (rows < stop)] - start


def _numbers(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(size=n) * 5 + 2, np.full(n, 3.25), rng.normal(size=n) * 1e300,
                         rng.integers(0, 9, n).astype(np.float64), np.full(n, np.nan), rng.exponential(size=n)])
    x[rng.random(n) < 0.1, 0] = np.nan
    x[::3, 5] = np.inf
    return x


@pytest.mark.parametrize(("n", "size"), [(3_000, 2), (3_000, 3), (MEDIAN_ROWS + 20_000, 2)])
def test_the_reduced_numeric_fit_is_the_single_fit(n: int, size: int) -> None:
    x = _numbers(n)
    rows = np.sort(np.random.default_rng(4).choice(n, int(0.8 * n), replace=False))
    single = fit_stats(ArrayNumbers(x), rows)

    def fit(world: World) -> list[dict[str, Any]]:
        start, stop, mine = _split(rows, n, world.rank, world.size)
        return column_stats(ArrayNumbers(x[start:stop]), mine, world)

    fitted = on_ranks(size, fit)
    assert all(f == fitted[0] for f in fitted)   # identical on every rank
    assert_fit_close(fitted[0], single)
    assert [s["constant"] for s in fitted[0]] == [False, True, False, False, True, False]


def test_a_rank_without_training_rows_still_takes_part() -> None:
    x = _numbers(400)
    rows = np.arange(150)   # every training row on rank 0 of 2
    single = fit_stats(ArrayNumbers(x), rows)
    fitted = on_ranks(2, lambda w: column_stats(ArrayNumbers(x[200 * w.rank:200 * (w.rank + 1)]),
                                             rows if w.rank == 0 else np.empty(0, np.int64), w))
    assert fitted[0] == fitted[1]
    assert_fit_close(fitted[0], single)


def test_float32_on_one_rank_and_float64_on_the_other_agree_on_float64() -> None:
    x = np.random.default_rng(5).normal(size=(1000, 2)).astype(np.float32).astype(np.float64)
    x[700:, 1] += 1e-9   # rank 1's values need float64: the whole block is fitted in float64
    rows = np.arange(1000)
    single = fit_stats(ArrayNumbers(x), rows)
    fitted = on_ranks(2, lambda w: column_stats(ArrayNumbers(x[500 * w.rank:500 * (w.rank + 1)]), rows[:500], w))
    assert_fit_close(fitted[0], single)


def _mixed(n: int) -> pa.Table:
    rng = np.random.default_rng(6)
    number = rng.normal(size=n) * 3 + 1
    number[rng.random(n) < 0.1] = np.nan
    category = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.3, 0.2, 0.07, 0.03]).astype(object)
    category[rng.random(n) < 0.05] = None
    flag = [None if rng.random() < 0.05 else bool(v) for v in rng.random(n) < 0.3]
    day = np.datetime64("2024-01-01") + rng.integers(0, 400, n)
    label = np.where(np.nan_to_num(number) > 1, "yes", "no")
    return pa.table({"number": pa.array(number, mask=np.isnan(number)), "count": rng.integers(0, 50, n),
                     "category": category, "flag": flag, "day": pa.array(day), "constant": np.full(n, 4.0),
                     "target": rng.normal(size=n) * 10, "label": np.where(rng.random(n) < 0.2, "maybe", label)})


@pytest.mark.parametrize(("label", "size", "max_categories"), [("label", 2, 32), ("target", 3, 3)])
def test_the_reduced_preprocessing_is_the_single_one(label: str, size: int, max_categories: int) -> None:
    columns = _mixed(900)
    table = Table(source="mixed", format="parquet", columns=columns)
    schema = infer(table, label=label)
    rows = np.sort(np.random.default_rng(7).choice(900, 700, replace=False))
    single = Preprocessor.fit(table, schema, rows, max_categories=max_categories).to_dict()

    def fit(world: World) -> dict[str, Any]:
        start, stop, mine = _split(rows, 900, world.rank, world.size)
        part = table_slice(table, start, stop)
        return Preprocessor.fit(part, schema, mine, max_categories=max_categories, world=world).to_dict()

    fitted = on_ranks(size, fit)
    assert all(f == fitted[0] for f in fitted)
    assert_fit_close(fitted[0], single)
    assert "constant" in fitted[0]["dropped"]


def test_bool_modes_ranges_and_categories_are_agreed_across_ranks() -> None:
    flags = pa.chunked_array([pa.array([True, True, None, True, False, False, None, False])])
    values = pa.chunked_array([pa.array(["x", "x", "y", None, "z", "z", "z", "w"])])
    rows = np.arange(8)
    single = (BoolEncoder.fit("f", flags, rows), CategoricalEncoder.fit("c", values, rows, 2))

    def fit(world: World) -> tuple[Any, Any]:
        mine = slice(4 * world.rank, 4 * world.rank + 4)   # rank 0 all True, rank 1 all False
        return (BoolEncoder.fit("f", flags[mine], np.arange(4), world),
                CategoricalEncoder.fit("c", values[mine], np.arange(4), 2, world))

    for flag, category in on_ranks(2, fit):
        assert flag is not None and single[0] is not None and flag.to_dict() == single[0].to_dict()
        assert category is not None and single[1] is not None and category.to_dict() == single[1].to_dict()
    constant = pa.chunked_array([pa.array([True, None, True, True])])
    assert on_ranks(2, lambda w: BoolEncoder.fit("f", constant, np.arange(2) + 2 * w.rank, w)) == [None, None]


def test_image_channels_are_standardized_over_every_rank() -> None:
    images = np.random.default_rng(9).integers(0, 256, (60, 4, 4, 3), dtype=np.uint8)
    rows = np.arange(0, 60, 2)
    single = ImageEncoder.fit(images, rows).to_dict()
    fitted = on_ranks(2, lambda w: ImageEncoder.fit(images[30 * w.rank:30 * w.rank + 30],
                                                    np.arange(0, 30, 2), w).to_dict())
    assert fitted[0] == fitted[1]
    assert_fit_close(fitted[0], single)


# ---- size-1 worlds ------------------------------------------------------------------------------
def _files(folder: Path, n: int = 500) -> dict[str, Path]:
    columns = _mixed(n).drop_columns(["target"])
    paths = {"parquet": folder / "mixed.parquet", "csv": folder / "mixed.csv", "npy": folder / "numbers.npy"}
    pq.write_table(columns, paths["parquet"], row_group_size=100)
    pacsv.write_csv(columns, paths["csv"])
    x = np.random.default_rng(8).normal(size=(n, 6)).astype(np.float32)
    x[:, 2] = 1.5
    x[:, 5] = np.arange(n) % 3
    np.save(paths["npy"], x)
    paths["npy_labels"] = folder / "x.npy"   # and a labels file of names beside it (y.npy)
    np.save(paths["npy_labels"], x[:, :5])
    np.save(folder / "y.npy", np.array(["bird", "cat", "dog"])[(np.arange(n) * 7) % 3])
    return paths


LABELS = {"parquet": "label", "csv": "label", "npy": "f5", "npy_labels": None, "late_quote": "label",
          "malformed": "label"}


def _labels_file(kind: str, path: Path) -> str | None:
    return str(path.with_name("y.npy")) if kind == "npy_labels" else None


def _load(path: Path, label: str | None, labels: str | None, world: World) -> ShardLoad:
    return run_job(load_shard(path, ReadOptions(labels_path=labels),
                              pipeline.InferOptions(label, "auto", (), (), (), 32), world, 0.2, 0, 32))


@pytest.mark.parametrize("kind", ["parquet", "csv", "npy", "npy_labels"])
def test_one_process_reads_the_whole_file_as_the_loader_does(tmp_path: Path, kind: str) -> None:
    path = _files(tmp_path)[kind]
    part = _load(path, LABELS[kind], _labels_file(kind, path), LOCAL)
    single = UnifiedDataLoader(path, label=LABELS[kind], labels=_labels_file(kind, path)).load()
    assert (part.start, part.stop, part.total_rows, part.train_counts) == (0, 500, 500, [len(single.train_data)])
    assert part.schema == single.schema
    assert part.preprocessor.to_dict() == single.preprocessor.to_dict()
    for mine, theirs in ((part.train, single.train_data), (part.val, single.val_data)):
        np.testing.assert_array_equal(mine.rows, theirs.rows)
        np.testing.assert_array_equal(mine.x, theirs.x)
        np.testing.assert_array_equal(mine.y, theirs.y)


def test_which_files_can_be_read_in_parts(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    assert all(can_shard(p) for p in paths.values())
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('a,b\n1,"two\nlines"\n3,four\n')
    (tmp_path / "rows.json").write_text('[{"a": 1, "b": 2}]')
    import gzip

    (tmp_path / "packed.csv.gz").write_bytes(gzip.compress(paths["csv"].read_bytes()))
    for name in ("quoted.csv", "rows.json", "packed.csv.gz", "missing.csv"):
        assert not can_shard(tmp_path / name), name


# ---- two ranks under mlx.launch -----------------------------------------------------------------
RANK_SCRIPT = '''
import json, sys
import numpy as np
from udl_core import pipeline
from udl_core.distributed import init_world
from udl_core.events import Notice, run_job
from udl_core.sharded import load_shard
from udl_core.table import ReadOptions

world = init_world()
for path, label, labels, out in json.loads(sys.argv[1]):
    notes = []
    part = run_job(load_shard(path, ReadOptions(labels_path=labels), pipeline.InferOptions(label, "auto", (), (), (), 32),
                              world, 0.2, 0, 32), lambda e: isinstance(e, Notice) and notes.append(e.message))
    with open(f"{out}.{world.rank}.json", "w") as f:
        json.dump({"pre": part.preprocessor.to_dict(), "schema": part.schema.to_dict(), "start": part.start,
                   "stop": part.stop, "total": part.total_rows, "bytes": part.bytes_read,
                   "train_counts": part.train_counts, "notes": notes}, f)
    np.savez(f"{out}.{world.rank}.npz", train_x=part.train.x, train_y=part.train.y, train_rows=part.train.rows,
             val_x=part.val.x, val_y=part.val.y, val_rows=part.val.rows)
'''


def _quote_at_the_cut(path: Path) -> Path:
    head = "number,note,label\n"
    rows = [f"{i},n{i % 7},{'yes' if i % 3 else 'no'}\n" for i in range(60_000)]
    quoted = f'0,"{"z" * 80}\n{"w" * 80}",yes\n'
    size = len(head) + sum(len(r) for r in rows) + len(quoted) - len(rows[0])
    middle = len(head) + row_range(size - len(head), 1, 2)[0]
    at, before = 0, len(head)
    while before + len(rows[at]) <= middle - 40:
        before += len(rows[at])
        at += 1
    rows[at] = quoted.replace("0,", f"{at},", 1)
    text = head + "".join(rows)
    assert text.index('"', before) < middle < text.index("\n", before) + 1 < len(text)   # the cut: inside
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[dict[str, Any]], list[Any]]]:
    """Each file loaded by two ranks in one launch: its path, each rank's results and arrays."""
    folder = tmp_path_factory.mktemp("sharded")
    paths = _files(folder)
    # A quoted line break past the 256 KiB the dialect is detected on, right where the two ranks'
    # byte ranges meet: the rank that starts inside it would misread its rows.
    paths["late_quote"] = _quote_at_the_cut(folder / "late_quote.csv")
    malformed = folder / "malformed.csv"   # a row with a field too many in the second half: quarantined
    lines = paths["csv"].read_text().splitlines(keepends=True)
    lines[400] = lines[400].rstrip("\n") + ",9\n"
    malformed.write_text("".join(lines))
    paths["malformed"] = malformed
    jobs = [(str(p), LABELS[k], _labels_file(k, p), str(folder / k)) for k, p in paths.items()]
    script = folder / "rank.py"
    script.write_text(RANK_SCRIPT)
    done = launch([sys.executable, str(script), json.dumps(jobs)])
    assert done.returncode == 0, done.stderr[-3000:]
    results = {}
    for kind, path in paths.items():
        ranks = [json.loads((folder / f"{kind}.{r}.json").read_text()) for r in range(2)]
        arrays = [np.load(folder / f"{kind}.{r}.npz") for r in range(2)]
        results[kind] = (path, ranks, arrays)
    return results


@pytest.mark.parametrize("kind", ["parquet", "csv", "npy", "npy_labels", "late_quote", "malformed"])
def test_two_ranks_split_the_file_and_fit_the_single_preprocessing(two_ranks: Any, kind: str) -> None:
    path, ranks, arrays = two_ranks[kind]
    single = UnifiedDataLoader(path, label=LABELS[kind], labels=_labels_file(kind, path)).load()
    assert ranks[0]["pre"] == ranks[1]["pre"] and ranks[0]["schema"] == ranks[1]["schema"]
    assert ranks[0]["schema"] == single.schema.to_dict()
    assert_fit_close(ranks[0]["pre"], single.preprocessor.to_dict())
    rows = single.table.num_rows
    assert (ranks[0]["start"], ranks[0]["stop"], ranks[1]["stop"], ranks[0]["total"]) == (0, ranks[1]["start"], rows, rows)
    train = [a["train_rows"] for a in arrays]
    assert not np.intersect1d(*train).size
    np.testing.assert_array_equal(np.sort(np.concatenate(train)), single.train_data.rows)
    np.testing.assert_array_equal(np.sort(np.concatenate([a["val_rows"] for a in arrays])), single.val_data.rows)
    assert ranks[0]["train_counts"] == [len(t) for t in train]
    for mine in arrays:
        for name, theirs in (("train", single.train_data), ("val", single.val_data)):
            at = np.searchsorted(theirs.rows, mine[f"{name}_rows"])
            np.testing.assert_allclose(mine[f"{name}_x"], theirs.x[at], rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(mine[f"{name}_y"], theirs.y[at])


def test_each_rank_reads_about_half_of_a_parquet_file(two_ranks: Any) -> None:
    path, ranks, _ = two_ranks["parquet"]
    meta = pq.ParquetFile(path).metadata
    whole = sum(meta.row_group(g).column(c).total_compressed_size
                for g in range(meta.num_row_groups) for c in range(meta.num_columns))
    assert sum(r["bytes"] for r in ranks) == whole
    assert all(0.3 * whole <= r["bytes"] <= 0.7 * whole for r in ranks)


@pytest.mark.parametrize("kind", ["late_quote", "malformed"])
def test_text_that_cannot_be_cut_is_read_whole_with_a_notice(two_ranks: Any, kind: str) -> None:
    _, ranks, _ = two_ranks[kind]
    assert all(any("read whole by every process" in note for note in r["notes"]) for r in ranks)

def test_plain_text_is_cut_into_byte_ranges(two_ranks: Any) -> None:
    path, ranks, _ = two_ranks["csv"]
    assert not any("read whole" in note for r in ranks for note in r["notes"])
    assert sum(r["bytes"] for r in ranks) == path.stat().st_size - len(path.read_text().splitlines(True)[0])


# ---- dialects, on ranks simulated by threads -------------------------------------------------------
def _dialect_text(kind: str, n: int = 300) -> str:
    rng = np.random.default_rng(10)
    rows = [(f"{rng.normal():.4f}", str(int(rng.integers(0, 9))), ["red", "green", "blue"][i % 3],
             "yes" if rng.random() < 0.5 else "no") for i in range(n)]
    if kind == "tsv_no_header":
        return "".join("\t".join(r) + "\n" for r in rows)
    if kind == "semicolon_decimal_comma":
        return "a;b;colour;label\n" + "".join(";".join((r[0].replace(".", ","), *r[1:])) + "\n" for r in rows)
    if kind == "preamble_crlf":
        return "# exported by a tool\r\n# another comment\r\na,b,colour,label\r\n" + "".join(
            ",".join(r) + "\r\n" for r in rows)
    assert kind == "whitespace"
    return "a  b  colour  label\n" + "".join("  ".join(r) + "\n" for r in rows)


@pytest.mark.parametrize("kind", ["tsv_no_header", "semicolon_decimal_comma", "preamble_crlf", "whitespace"])
def test_dialects_are_cut_and_read_as_the_whole_file_is(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.{'tsv' if kind.startswith('tsv') else 'csv'}"
    path.write_bytes(_dialect_text(kind).encode())
    assert can_shard(path)
    label = "column_4" if kind == "tsv_no_header" else "label"
    single = UnifiedDataLoader(path, label=label).load()
    parts = on_ranks(2, lambda w: _load(path, label, None, w))
    assert parts[0].preprocessor.to_dict() == parts[1].preprocessor.to_dict()
    assert parts[0].schema == parts[1].schema == single.schema
    assert_fit_close(parts[0].preprocessor.to_dict(), single.preprocessor.to_dict())
    assert parts[0].stop == parts[1].start and parts[1].stop == single.table.num_rows
    assert 0 < parts[0].bytes_read and 0 < parts[1].bytes_read
    assert parts[0].bytes_read + parts[1].bytes_read <= path.stat().st_size   # cut, not read whole twice
    np.testing.assert_array_equal(np.concatenate([p.train.rows for p in parts]), single.train_data.rows)
    x = np.concatenate([p.train.x for p in parts])
    np.testing.assert_allclose(x, single.train_data.x, rtol=1e-6, atol=1e-6)


def test_a_table_with_a_labels_file_is_read_whole_by_every_rank(tmp_path: Path) -> None:
    features = tmp_path / "features.csv"
    features.write_text("a,b\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(200)))
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"{'yes' if i % 3 else 'no'}\n" for i in range(200)))
    single = UnifiedDataLoader(features, labels=labels).load()
    notes: list[list[str]] = [[], []]

    def load(world: World) -> ShardLoad:
        job = load_shard(features, ReadOptions(labels_path=str(labels)),
                         pipeline.InferOptions(None, "auto", (), (), (), 32), world, 0.2, 0, 32)
        return run_job(job, lambda e: isinstance(e, Notice) and notes[world.rank].append(e.message))

    parts = on_ranks(2, load)
    assert all(any("labels are in another file" in n for n in rank) for rank in notes)
    assert_fit_close(parts[0].preprocessor.to_dict(), single.preprocessor.to_dict())
    np.testing.assert_array_equal(np.concatenate([p.train.rows for p in parts]), single.train_data.rows)
