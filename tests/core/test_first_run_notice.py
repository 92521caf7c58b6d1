"""The first compiled MLX step on a machine waits for the C++ compiler: `udl train` and `udl check`
say so in one line (issue 10). "First run" means MLX's CPU kernel folder holds no library yet; the
tests point the detector at an empty folder instead of making MLX compile from nothing."""

from __future__ import annotations

import json
from functools import partial

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
import pytest

from checks_support import write_csv
from udl_core.cli import main
from udl_core.training import kernel_cache
from udl_core.training.kernel_cache import COMPILE_MESSAGE, compile_notice, kernel_cache_dir, kernels_cached


@pytest.fixture
def first_run(tmp_path, monkeypatch):
    """An empty temp folder as the one MLX compiles into: no kernels there yet."""
    empty = tmp_path / "tmp"
    empty.mkdir()
    monkeypatch.setattr(kernel_cache, "_temp_dir", lambda: empty)
    return empty


def _table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3)).round(3)
    return write_csv(tmp_path / "small.csv", {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                                              "label": np.where(x[:, 0] > 0, "up", "down")})


def test_train_json_says_it_compiles_before_the_first_epoch(tmp_path, first_run, capsys):
    assert main(["train", str(_table(tmp_path)), "--label", "label", "--epochs", "1", "--device", "cpu",
                 "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    notices = [e for e in events if e["event"] == "notice" and e["message"] == COMPILE_MESSAGE]
    assert notices == [{"event": "notice", "level": "info", "message": COMPILE_MESSAGE}]
    names = [e["event"] for e in events]
    assert names.index("notice") < names.index("epoch")


def test_train_prints_one_note_line(tmp_path, first_run, capsys):
    assert main(["train", str(_table(tmp_path)), "--label", "label", "--epochs", "1", "--device", "cpu"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err.count(f"note: {COMPILE_MESSAGE}") == 1


def test_no_note_once_the_kernels_of_that_task_are_there(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "tmp" / "mlx" / str(mx.__version__) / "cpu"
    folder.mkdir(parents=True)
    (folder / "libkernel.so").write_bytes(b"")   # another task's kernels: this one compiles its own
    monkeypatch.setattr(kernel_cache, "_temp_dir", lambda: tmp_path / "tmp")
    train = ["train", str(_table(tmp_path)), "--label", "label", "--epochs", "1", "--device", "cpu"]
    assert main(train) == 0
    assert f"note: {COMPILE_MESSAGE}" in capsys.readouterr().err
    assert main(train) == 0
    assert COMPILE_MESSAGE not in capsys.readouterr().err
    assert main([*train, "--model", "linear"]) == 0            # another model: its first run
    assert f"note: {COMPILE_MESSAGE}" in capsys.readouterr().err


@pytest.mark.slow
def test_check_notes_it_once_and_lists_it_in_json(tmp_path, first_run, capsys):
    path = str(_table(tmp_path))
    main(["check", path, "--label", "label"])
    assert capsys.readouterr().err.splitlines().count(f"note: {COMPILE_MESSAGE}") == 1
    main(["check", path, "--label", "label", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["notices"] == [{"level": "info", "message": COMPILE_MESSAGE}]


def test_the_detector_looks_where_mlx_writes(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert kernel_cache_dir() == tmp_path / "mlx" / str(mx.__version__) / "cpu"
    assert compile_notice(mx.Device(mx.cpu)) is not None and not kernels_cached()
    monkeypatch.undo()
    # a compiled step (the trainer's shape of it) leaves its libraries where the detector looks
    model = nn.Linear(3, 2)
    optimizer = optim.Adam(learning_rate=1e-3)
    loss_and_grad = nn.value_and_grad(model, lambda m, x, y: nn.losses.cross_entropy(m(x), y).mean())
    state = [model.state, optimizer.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def step(x: mx.array, y: mx.array) -> mx.array:
        loss, grads = loss_and_grad(model, x, y)
        optimizer.update(model, grads)
        return loss

    with mx.stream(mx.cpu):
        mx.eval(step(mx.zeros((4, 3)), mx.zeros((4,), mx.int32)), state)
    assert kernels_cached()
    assert compile_notice(mx.Device(mx.cpu)) is None
    assert compile_notice(mx.Device(mx.gpu)) is None
