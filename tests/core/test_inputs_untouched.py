"""Nothing lost: every operation leaves every input byte-identical, with its mtime unchanged,
its folder without new files, and is never opened for writing (seen by an audit hook)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from corpus_support import CASES, SAMPLE, make_corpus, run_in_process, run_subprocess

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class _OpenWatch:
    """An audit hook (they cannot be removed, so it is switched on and off) that records any
    open of a file under `root` for writing."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.writes: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if self.root is None or event != "open":
            return
        path, mode, flags = args
        if not isinstance(path, (str, bytes, os.PathLike)):
            return   # an fd
        path = os.fsdecode(path)
        if not os.path.abspath(path).startswith(self.root):
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(flags & _WRITE_FLAGS)
        if writing:
            self.writes.append(f"{path} (mode={mode!r}, flags={flags:#o})")


_WATCH = _OpenWatch()


@pytest.fixture
def watch_writes():
    def start(root: Path) -> _OpenWatch:
        _WATCH.root = str(root.resolve())
        _WATCH.writes = []
        return _WATCH

    yield start
    _WATCH.root = None


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """sha256, size and mtime (ns) of every regular file under `root` (links not followed)."""
    state = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            if not path.is_file() or path.is_symlink():
                state[str(path.relative_to(root))] = ("special", 0, st.st_mtime_ns)
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[str(path.relative_to(root))] = (digest, st.st_size, st.st_mtime_ns)
    return state


def _good_inputs(folder: Path) -> dict[str, list[str]]:
    """One good dataset of each family; returns name -> extra CLI arguments."""
    rng = np.random.default_rng(0)
    shutil.copy2(SAMPLE, folder / "sample.csv")
    x = rng.normal(size=(120, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    table = pa.table({f"f{i}": x[:, i] for i in range(5)} | {"label": y})
    pq.write_table(table, folder / "data.parquet")
    feather.write_feather(table, folder / "data.arrow")
    np.savez_compressed(folder / "arrays.npz", x=x, y=y)
    np.save(folder / "X.npy", x)
    np.save(folder / "y.npy", y)
    with open(folder / "data.jsonl", "w") as out:
        for row, cls in zip(x.tolist(), y.tolist()):
            out.write('{"a": %r, "b": %r, "label": %d}\n' % (row[0], row[1], cls))
    make_corpus._image_folder(folder / "imgs", per_class=8)
    return {
        "sample.csv": [],
        "data.parquet": [],
        "data.arrow": [],
        "arrays.npz": [],
        "X.npy": ["--labels", str(folder / "y.npy")],
        "data.jsonl": [],
        "imgs": [],
    }


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "in").mkdir()
    cases = _good_inputs(folder / "in")
    # Old mtimes, so a rewrite within the same second still shows.
    for dirpath, _, filenames in os.walk(folder / "in"):
        for name in filenames:
            os.utime(Path(dirpath) / name, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    return folder, cases


COMMANDS = {
    "inspect": ["inspect", "--json"],
    "batch": ["batch", "--index", "1", "--batch-size", "4", "--json"],
    "train": ["train", "--epochs", "1", "--device", "cpu", "--save", "{out}/weights.safetensors"],
    "check": ["check"],
    "export": ["export", "--out", "{out}/tensors.npz"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("name", ["sample.csv", "data.parquet", "data.arrow", "arrays.npz", "X.npy",
                                  "data.jsonl", "imgs"])
def test_operation_leaves_input_untouched(good, watch_writes, name, command):
    folder, cases = good
    inputs = folder / "in"
    out = folder / f"out-{name}-{command}"
    out.mkdir()
    before = snapshot(inputs)
    listing = sorted(os.listdir(inputs))
    words = COMMANDS[command]
    argv = [words[0], str(inputs / name), *cases[name], *(w.replace("{out}", str(out)) for w in words[1:])]
    watch = watch_writes(inputs)
    answer = run_in_process(argv)
    assert watch.writes == [], f"inputs opened for writing: {watch.writes}"
    assert answer.code == 0, f"{argv} -> {answer.code}\n{answer.err[-2000:]}"
    assert snapshot(inputs) == before
    assert sorted(os.listdir(inputs)) == listing, "the command left files beside the input"
    if command == "train":
        assert (out / "weights.safetensors").stat().st_size > 0
        # The weights and their JSON sidecar; no temp file left behind.
        assert sorted(p.name for p in out.iterdir()) == ["weights.json", "weights.safetensors"]
    if command == "export":
        assert sorted(p.name for p in out.iterdir()) == ["tensors.npz"]   # no temp file left behind


def test_subprocess_train_leaves_sample_untouched(tmp_path):
    data = tmp_path / "in" / "sample.csv"
    data.parent.mkdir()
    shutil.copy2(SAMPLE, data)
    os.utime(data, ns=(10**18, 10**18))
    before = snapshot(data.parent)
    answer = run_subprocess(["train", str(data), "--epochs", "1", "--device", "cpu",
                             "--save", str(tmp_path / "w.safetensors")])
    assert answer.code == 0, answer.err
    assert snapshot(data.parent) == before


def test_bad_inputs_are_untouched(tmp_path, watch_writes):
    """The whole corpus through `inspect` and `batch`: not one byte or mtime of it changes."""
    make_corpus.build_all(tmp_path)
    try:
        before = snapshot(tmp_path)
        watch = watch_writes(tmp_path)
        for case in CASES:
            if case.hazard or case.skip_if():
                continue
            for command in ("inspect", "batch"):
                try:
                    run_in_process(case.argv(command, tmp_path))
                except Exception:   # a crash is test_corpus_cli's business; here only the bytes count
                    pass
        # A pickle payload that ran would also show here, as a new file.
        assert watch.writes == [], f"inputs opened for writing: {watch.writes}"
        assert snapshot(tmp_path) == before
    finally:
        for dirpath, dirnames, _ in os.walk(tmp_path):
            for name in dirnames:
                path = Path(dirpath) / name
                if not path.is_symlink():
                    path.chmod(0o755)
