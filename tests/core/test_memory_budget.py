"""The memory budget holds on every input: bombs are refused after a bounded number of bytes
decompressed (counted here, outside UDL's own counters), never expanded whole."""

from __future__ import annotations

import bz2
import json
import lzma
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from udl_core.cli import main
from udl_core.errors import ConfigError, DatasetError, MemoryBudgetError, UnsafeInputError
from udl_core.formats import read_table
from udl_core.formats.bounded import parse_size
from udl_core.formats.delimited import TEXT_PREFIX
from udl_core.pipeline import estimate
from udl_core.loader import UnifiedDataLoader
from udl_core.table import ReadOptions

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "corpus"))
import bombs  # noqa: E402

sys.path.pop(0)

BUDGET = 4 << 20
SLACK = 2 << 20   # one read past the limit: a block of compressed text, a batch of Parquet


class _Counted:
    """A decompressor that adds what it returns to `counter`."""

    def __init__(self, real, counter: list[int], *args, **kwargs) -> None:
        self._real = real(*args, **kwargs)
        self._counter = counter

    def decompress(self, data, max_length=-1):
        out = self._real.decompress(data, max_length)
        self._counter[0] += len(out)
        return out

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def decompressed(monkeypatch) -> list[int]:
    """Bytes returned by every bz2 / LZMA decompressor made from now on (zipfile's and bz2.BZ2File's)."""
    counter = [0]
    real_bz2, real_lzma = bz2.BZ2Decompressor, lzma.LZMADecompressor
    monkeypatch.setattr(bz2, "BZ2Decompressor", lambda *a, **k: _Counted(real_bz2, counter, *a, **k))
    monkeypatch.setattr(lzma, "LZMADecompressor", lambda *a, **k: _Counted(real_lzma, counter, *a, **k))
    return counter


class _CountedStream:
    def __init__(self, stream, counter: list[int]) -> None:
        self._stream, self._counter = stream, counter
        self.closed = False

    def read(self, size=-1):
        data = self._stream.read(size)
        self._counter[0] += len(data)
        return data

    def close(self):
        self.closed = True
        self._stream.close()

    def readable(self):
        return True

    def seekable(self):
        return False


@pytest.fixture
def text_decompressed(monkeypatch) -> list[int]:
    """Bytes read out of every pyarrow CompressedInputStream made from now on."""
    counter = [0]
    real = pa.CompressedInputStream
    monkeypatch.setattr(pa, "CompressedInputStream",
                        lambda *a, **k: pa.PythonFile(_CountedStream(real(*a, **k), counter), mode="r"))
    return counter


def _arrow_peak(code: str) -> dict:
    """Run `code` in a fresh interpreter; the peak of pyarrow's memory pool and the error's class."""
    script = textwrap.dedent(f"""
        import json, sys
        import pyarrow as pa
        from udl_core.formats import read_table
        from udl_core.loader import UnifiedDataLoader
        from udl_core.table import ReadOptions
        error = None
        try:
        {textwrap.indent(textwrap.dedent(code), '    ')}
        except Exception as exc:
            error = type(exc).__name__
        print(json.dumps({{"peak": pa.default_memory_pool().max_memory(), "error": error}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ NPZ: every zip method


@pytest.mark.parametrize("method", ["bz2", "lzma"])
def test_npz_member_that_lies_about_its_size_is_never_expanded(tmp_path, decompressed, method):
    path = tmp_path / "bomb.npz"
    bombs.npz_bomb(path, method)            # 32 MiB of zeros, declared as 9 kB
    assert path.stat().st_size < 10_000
    with pytest.raises(DatasetError, match="bomb.npz"):
        read_table(path, ReadOptions(memory_budget=BUDGET))
    assert decompressed[0] <= 64 << 10      # the header and a read's worth, not 32 MiB
    decompressed[0] = 0
    with pytest.raises(DatasetError, match="bomb.npz"):
        UnifiedDataLoader(path, memory_budget=BUDGET).load()   # the estimate reads the header too
    assert decompressed[0] <= 128 << 10


@pytest.mark.parametrize("method", ["bz2", "lzma"])
def test_honest_bzip2_and_lzma_members_are_read_under_the_budget(tmp_path, decompressed, method):
    import zipfile

    x = np.arange(4000, dtype=np.float64).reshape(1000, 4)
    path = tmp_path / "ok.npz"
    kind = zipfile.ZIP_BZIP2 if method == "bz2" else zipfile.ZIP_LZMA
    with zipfile.ZipFile(path, "w", kind) as archive:
        for name, arr in (("x.npy", x), ("y.npy", np.arange(1000) % 3)):
            with archive.open(name, "w") as handle:
                np.lib.format.write_array(handle, arr)
    table = read_table(path, ReadOptions(memory_budget=BUDGET))
    np.testing.assert_array_equal(table.features, x)
    assert decompressed[0] < 64_000 + 8_000 + 4096


def test_npz_members_past_the_budget_are_refused_as_they_stream(tmp_path):
    x = np.random.default_rng(0).random((1000, 1000))      # 8 MB, honest sizes
    path = tmp_path / "big.npz"
    np.savez_compressed(path, x=x)
    with pytest.raises(UnsafeInputError, match="big.npz"):
        read_table(path, ReadOptions(memory_budget=BUDGET))
    assert read_table(path, ReadOptions(memory_budget=16 << 20)).num_rows == 1000


# ------------------------------------------------------------------ Arrow IPC and Parquet


@pytest.mark.parametrize("compression", ["zstd", "lz4"])
@pytest.mark.parametrize("stream", [False, True], ids=["file", "stream"])
def test_compressed_arrow_batches_are_sized_before_they_are_expanded(tmp_path, compression, stream):
    path = tmp_path / ("bomb.arrows" if stream else "bomb.arrow")
    bombs.arrow_bomb(path, compression, stream=stream)     # one batch: 36 MiB from a few kB
    assert path.stat().st_size < 200_000
    with pytest.raises(MemoryBudgetError, match="bomb.arrow.*memory budget"):
        read_table(path, ReadOptions(memory_budget=BUDGET))
    answer = _arrow_peak(f"UnifiedDataLoader({str(path)!r}, memory_budget={BUDGET}).load()")
    assert answer["error"] == "MemoryBudgetError"
    assert answer["peak"] < BUDGET                          # nothing was decompressed


def test_compressed_arrow_under_the_budget_reads_as_before(tmp_path):
    path = tmp_path / "ok.arrow"
    bombs.arrow_bomb(path, "zstd", expanded=1 << 20)
    assert read_table(path, ReadOptions(memory_budget=BUDGET)).num_rows == (1 << 20) // 8


def test_parquet_is_decoded_batch_by_batch_and_refused_past_the_budget(tmp_path):
    path = tmp_path / "bomb.parquet"
    bombs.parquet_bomb(path)                                # 32 MiB decoded, one row group
    assert path.stat().st_size < 100_000
    answer = _arrow_peak(f"read_table({str(path)!r}, ReadOptions(memory_budget={BUDGET}))")
    assert answer["error"] == "MemoryBudgetError"
    assert answer["peak"] < BUDGET + 8 * SLACK              # not the row group's 36 MiB
    loader = UnifiedDataLoader(path, memory_budget=BUDGET).load()   # the loader streams it instead
    assert loader.streamed and loader.table.num_rows == EXPANDED_ROWS


EXPANDED_ROWS = bombs.EXPANDED // 16


# ------------------------------------------------------------------ compressed text


def test_the_estimate_reads_a_bounded_prefix_of_compressed_text(tmp_path, text_decompressed):
    path = tmp_path / "big.csv.zst"
    bombs.csv_zst_text(path, expanded=64 << 20)
    est = estimate(path, ReadOptions(memory_budget=BUDGET))
    assert est.streamed and not est.exact
    assert text_decompressed[0] <= TEXT_PREFIX + (1 << 20) + (8 << 20)   # prefix + the 8 MiB dialect sample


def test_compressed_text_is_counted_as_it_is_read(tmp_path, text_decompressed):
    path = tmp_path / "bomb.csv.gz"
    bombs.csv_gz_bomb(path)                  # 2 MB of ordinary rows, then 30 MB packed 1000:1
    assert path.stat().st_size < 2_000_000
    with pytest.raises(MemoryBudgetError, match="bomb.csv.gz") as caught:
        read_table(path, ReadOptions(memory_budget=BUDGET))
    assert caught.value.seen <= BUDGET + SLACK
    assert text_decompressed[0] <= BUDGET + 4 * SLACK


def test_a_compressed_csv_whose_head_looks_small_is_streamed_when_the_read_finds_otherwise(tmp_path, monkeypatch):
    path = tmp_path / "bomb.csv.gz"
    bombs.csv_gz_bomb(path)
    monkeypatch.setattr("udl_core.formats.delimited.TEXT_PREFIX", 1 << 20)   # the estimate sees the honest head
    loader = UnifiedDataLoader(path, memory_budget=24 << 20).load()
    assert not loader.estimate.streamed
    assert loader.streamed                   # the read counted past the budget: streamed after all
    assert loader.table.num_rows > 3_000_000


# ------------------------------------------------------------------ text read whole


def _big_json(path: Path, records: int) -> None:
    path.write_text("[" + ",".join(json.dumps({"a": i, "b": i * 0.5, "label": i % 2}) for i in range(records)) + "]")


def test_json_larger_than_the_budget_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    _big_json(path, 60_000)                  # about 2 MB
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read whole"))
    with pytest.raises(MemoryBudgetError, match="big.json.*memory budget"):
        read_table(path, ReadOptions(memory_budget=1 << 20))


def test_json_is_refused_by_what_reading_it_costs_not_its_size(tmp_path):
    # Measured peaks: a JSON document 21x its size, JSON Lines 5x (so the budget covers 24x / 6x).
    document, lines = tmp_path / "d.json", tmp_path / "l.jsonl"
    _big_json(document, 3_000)              # ~100 kB
    lines.write_text("".join(json.dumps({"a": i, "b": i * 0.5, "label": i % 2}) + "\n" for i in range(30_000)))
    assert 100_000 < document.stat().st_size < 1 << 20 < lines.stat().st_size < 2 << 20
    with pytest.raises(MemoryBudgetError, match="d.json.*24x"):
        read_table(document, ReadOptions(memory_budget=2 << 20))
    assert read_table(document, ReadOptions(memory_budget=4 << 20)).num_rows == 3_000
    assert read_table(lines, ReadOptions(memory_budget=12 << 20)).num_rows == 30_000
    with pytest.raises(MemoryBudgetError, match="l.jsonl.*6x"):
        read_table(lines, ReadOptions(memory_budget=4 << 20))


def test_a_sparse_5gb_json_and_labels_file_are_refused(tmp_path, capsys):
    head = ("[" + ",".join(json.dumps({"a": i, "label": i % 2}) for i in range(5000)) + ",").encode()
    bombs.sparse_file(tmp_path / "big.json", head=head + b" " * 70_000)
    assert main(["inspect", str(tmp_path / "big.json"), "--memory-budget", "64M"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'big.json'}")
    np.save(tmp_path / "X.npy", np.zeros((4, 2)))
    bombs.sparse_file(tmp_path / "y.txt", head=b"1\n0\n1\n0\n")
    assert main(["inspect", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.txt"),
                 "--memory-budget", "64M"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "y.txt" in err and "memory budget" in err


# ------------------------------------------------------------------ the option


@pytest.mark.parametrize(("text", "size"), [("512M", 512 << 20), ("4G", 4 << 30), ("1.5GiB", 3 << 29),
                                            ("2097152", 2 << 20), ("100mb", 100 << 20), (" 8 k", None)])
def test_sizes(text, size):
    if size is None:
        with pytest.raises(ConfigError):
            parse_size(text)    # below 1 MiB
    else:
        assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "lots", "12X", "-1G", "1e9", "4 GB B"])
def test_bad_sizes_are_usage_errors(bad, capsys, monkeypatch):
    sample = str(ROOT / "resources" / "samples" / "sample.csv")
    with pytest.raises(SystemExit) as exit_:
        main(["inspect", sample, "--memory-budget", bad])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: argument --memory-budget")
    monkeypatch.setenv("UDL_MEMORY_BUDGET", bad or "x")
    with pytest.raises(SystemExit) as exit_:
        main(["inspect", sample])
    assert exit_.value.code == 2


def test_inspect_shows_the_budget_from_the_option_or_the_environment(capsys, monkeypatch):
    sample = str(ROOT / "resources" / "samples" / "sample.csv")
    assert main(["inspect", sample, "--memory-budget", "512M", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["memory_budget"] == 512 << 20
    monkeypatch.setenv("UDL_MEMORY_BUDGET", "3G")
    assert main(["inspect", sample]) == 0
    assert "memory budget: 3 GiB" in capsys.readouterr().out
    assert main(["inspect", sample, "--memory-budget", "1G", "--json"]) == 0   # the option wins
    assert json.loads(capsys.readouterr().out)["memory_budget"] == 1 << 30


@pytest.mark.parametrize("command", ["inspect", "batch", "train", "check"])
def test_every_command_that_reads_data_takes_the_option(command):
    from udl_core.cli import build_parser

    args = build_parser().parse_args([command, "data.csv", "--memory-budget", "256M"])
    assert args.memory_budget == 256 << 20
    args = build_parser().parse_args(["predict", "w.safetensors", "data.csv", "--memory-budget", "2G"])
    assert args.memory_budget == 2 << 30


# ------------------------------------------------------------------ the decision: peak RSS


OVERHEAD = 64 << 20   # stated in docs/formats.md: allocator and thread-pool memory beyond the data


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="resetting the peak needs Linux's /proc")
def test_peak_rss_growth_stays_within_the_budget_plus_the_overhead(tmp_path):
    """Each bomb in a fresh interpreter under a 16 MiB budget: its peak RSS over the baseline
    taken after the imports, with the readers' refusals, not their seconds, asserted."""
    budget = 16 << 20
    big = 128 << 20   # what today's readers would hold: far above the imports' leftover heap
    makers = {"bomb.npz": bombs.npz_bomb, "bomb.arrow": lambda p: bombs.arrow_bomb(p, expanded=big),
              "bomb.parquet": lambda p: bombs.parquet_bomb(p, expanded=big),
              "bomb.csv.gz": lambda p: bombs.csv_gz_bomb(p, expanded=big)}
    for name, make in makers.items():
        make(tmp_path / name)
    for name in makers:    # one interpreter each: ru_maxrss is a peak, it never comes down
        script = textwrap.dedent(f"""
            import json
            import polars, pyarrow
            from udl_core.formats import read_table
            from udl_core.table import ReadOptions
            from bench.peak_rss import peak, reset_peak  # VmHWM, not ru_maxrss (see there)
            base = reset_peak()
            try:
                read_table({str(tmp_path / name)!r}, ReadOptions(memory_budget={budget}))
                error = None
            except Exception as exc:
                error = type(exc).__name__
            print(json.dumps([peak() - base, error]), flush=True)
            # pyarrow can abort at teardown after an abandoned threaded CSV read ("terminate
            # called without an active exception"); what is measured is done by now.
            import os
            os._exit(0)
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        growth, error = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name}: peak RSS growth {growth / 2**20:.1f} MiB under a {budget >> 20} MiB budget ({error})")
        assert error in ("MemoryBudgetError", "CorruptFileError"), (name, error)
        assert growth <= budget + OVERHEAD, (name, growth)


def test_the_export_script_carries_the_budget_when_given(monkeypatch):
    from udl_core.cli import build_parser
    from udl_core.training import TrainConfig
    from udl_core.cli_train import loader_kwargs_from_args
    from udl_core.training.export import render_script

    monkeypatch.delenv("UDL_MEMORY_BUDGET", raising=False)
    args = build_parser().parse_args(["train", "data.csv", "--memory-budget", "512M"])
    assert "memory_budget=536870912," in render_script("data.csv", loader_kwargs_from_args(args), TrainConfig())
    args = build_parser().parse_args(["train", "data.csv"])
    assert "memory_budget" not in render_script("data.csv", loader_kwargs_from_args(args), TrainConfig())
