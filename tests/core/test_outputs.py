"""Outputs never replace an input, a link, a device or a FIFO (issue 9, defect 1).

Every refusal comes before any work: the load is never started (a stand-in that fails the test
takes its place), the exit code is 2, one `error:` line names the path, and every file in the
folder stays byte-identical. Devices and links are made inside tmp_path only.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_inputs_untouched import snapshot

from corpus_support import ROOT, SAMPLE, cli_env, make_corpus, run_in_process
from udl_core.errors import ConfigError
from udl_core.outputs import RunInputs, check_output, check_writable_folder


@pytest.fixture
def no_load(monkeypatch):
    """The load must not start: an output refused after it is refused too late."""
    import udl_core.cli_args

    def refuse(*args, **kwargs):
        pytest.fail("the run started loading before its outputs were checked")

    monkeypatch.setattr(udl_core.cli_args, "loader_from_args", refuse)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy2(SAMPLE, folder / "data.csv")
    (folder / "data.json").write_text('[{"a": 1, "label": 0}, {"a": 2, "label": 1}]')
    (folder / "labels.json").write_text("[0, 1]")
    np.save(folder / "X.npy", np.zeros((2, 3), np.float32))
    (folder / "X.safetensors").write_bytes(b"an input that happens to be named .safetensors")
    (folder / "target.py").write_text("# someone's program\n")
    (folder / "a_dir.py").mkdir()
    os.mkfifo(folder / "fifo.py")
    os.mkfifo(folder / "fifo.safetensors")
    os.symlink("target.py", folder / "link.py")
    os.symlink("data.csv", folder / "link.safetensors")
    os.symlink("missing.py", folder / "dangling.py")
    os.link(folder / "data.csv", folder / "hard.py")
    make_corpus._image_folder(folder / "imgs", per_class=3)
    os.symlink("imgs", folder / "alias")
    (folder / "plain").write_text("a regular file where a folder is expected")
    return folder


# (dataset, extra arguments, what the error line names); paths are relative to the run folder.
REFUSED = {
    "sidecar replaces the dataset": ("data.json", ["--save", "data.safetensors"], "data.json"),
    "sidecar replaces the labels file": ("X.npy", ["--labels", "labels.json", "--save", "labels.safetensors"],
                                         "labels.json"),
    "save onto an input .safetensors": ("X.safetensors", ["--save", "X.safetensors"], "X.safetensors"),
    "script onto the dataset": ("data.csv", ["--export-script", "data.csv"], "data.csv"),
    "script not .py": ("data.csv", ["--export-script", "out.txt"], "out.txt"),
    "script is a FIFO": ("data.csv", ["--export-script", "fifo.py"], "fifo.py"),
    "save is a FIFO": ("data.csv", ["--save", "fifo.safetensors"], "fifo.safetensors"),
    "script is a link": ("data.csv", ["--export-script", "link.py"], "link.py"),
    "save is a link to the input": ("data.csv", ["--save", "link.safetensors"], "link.safetensors"),
    "script is a dangling link": ("data.csv", ["--export-script", "dangling.py"], "dangling.py"),
    "script is a folder": ("data.csv", ["--export-script", "a_dir.py"], "a_dir.py"),
    "script is a hard link to the input": ("data.csv", ["--export-script", "hard.py"], "hard.py"),
    "save inside a folder dataset": ("imgs", ["--save", "imgs/model.safetensors"], "imgs/model.safetensors"),
    "save inside it through a link": ("imgs", ["--save", "alias/model.safetensors"], "alias/model.safetensors"),
    "script inside a class folder": ("imgs", ["--export-script", "imgs/class_0/run.py"], "imgs/class_0/run.py"),
    "the folder is a file": ("data.csv", ["--save", "plain/model.safetensors"], "plain/model.safetensors"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_outputs_are_refused_before_any_work(tmp_path, monkeypatch, no_load, case):
    folder = _folder(tmp_path)
    monkeypatch.chdir(folder)
    dataset, extra, named = REFUSED[case]
    before = snapshot(folder)
    answer = run_in_process(["train", dataset, "--epochs", "1", "--device", "cpu", *extra])
    assert answer.code == 2, (case, answer)
    lines = answer.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], answer.err
    assert "Traceback" not in answer.err
    assert snapshot(folder) == before, f"{case}: the folder changed"
    assert (folder / "fifo.py").is_fifo() and (folder / "link.py").is_symlink()


def test_an_earlier_save_is_replaced_and_a_new_path_written(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    argv = ["train", str(SAMPLE), "--epochs", "1", "--device", "cpu", "--save", str(out / "m.safetensors"),
            "--export-script", str(out / "run.py")]
    assert run_in_process(argv).code == 0
    first = (out / "m.safetensors").read_bytes()
    again = run_in_process([*argv, "--seed", "5"])
    assert again.code == 0, again.err
    assert (out / "m.safetensors").read_bytes() != first
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "m.safetensors", "run.py"]


def test_api_writers_refuse_too(tmp_path):
    from test_training_e2e import write_blobs_csv
    from training_support import on_thread

    from udl_core.loader import UnifiedDataLoader
    from udl_core.training import TrainConfig, train_model
    from udl_core.training.export import write_script
    from udl_core.training.saving import save_model

    data = write_blobs_csv(tmp_path / "species.json", n=90)   # CSV text named .json: the reader sniffs it
    loader = UnifiedDataLoader(data).load()
    result = on_thread(train_model, loader, num_epochs=1)
    before = data.read_bytes()
    with pytest.raises(ConfigError, match="species.json"):
        save_model(result, loader, tmp_path / "species.safetensors")
    os.mkfifo(tmp_path / "fifo.py")
    with pytest.raises(ConfigError, match="FIFO"):
        write_script(tmp_path / "fifo.py", data, {}, TrainConfig())
    (tmp_path / "labels.py").write_text("0\n1\n")
    with pytest.raises(ConfigError, match="input"):
        write_script(tmp_path / "labels.py", data, {"labels": str(tmp_path / "labels.py")}, TrainConfig())
    assert (tmp_path / "labels.py").read_text() == "0\n1\n"
    assert data.read_bytes() == before
    assert not (tmp_path / "species.safetensors").exists()
    assert (tmp_path / "fifo.py").is_fifo()


def test_run_inputs_compare_device_and_inode(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    os.link(data, tmp_path / "other_name.py")
    inputs = RunInputs.of(str(data), None, "")
    with pytest.raises(ConfigError, match="input"):
        check_output(tmp_path / "other_name.py", inputs, suffix=".py")
    assert check_output(tmp_path / "new.py", inputs, suffix=".py") == tmp_path / "new.py"


def test_a_hard_link_into_a_folder_dataset_is_an_input(tmp_path):
    make_corpus._image_folder(tmp_path / "imgs", per_class=2)
    inside = next((tmp_path / "imgs").rglob("*.png"))
    os.link(inside, tmp_path / "outside.png")
    with pytest.raises(ConfigError, match="input"):
        check_output(tmp_path / "outside.png", [tmp_path / "imgs"])


def test_unwritable_folder_is_found_before_training(tmp_path):
    """CI runs as root, where chmod stops nothing: a file size limit of 0 makes the probe's write fail."""
    code = textwrap.dedent("""
        import resource, sys, tempfile
        from udl_core.cli import main
        import udl_core.training.saving
        tempfile.gettempdir()   # probed (by writing) before the limit
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        sys.exit(main(sys.argv[1:]))
    """)
    if resource.getrlimit(resource.RLIMIT_FSIZE)[1] == 0:
        pytest.skip("cannot lower the file size limit")
    done = subprocess.run([sys.executable, "-c", code, "train", str(SAMPLE), "--epochs", "1", "--device", "cpu",
                           "--save", str(tmp_path / "m.safetensors")], capture_output=True, text=True, cwd=ROOT,
                          env=cli_env(), timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error:") and "m.safetensors" in done.stderr and "epoch" not in done.stdout
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match="plain"):
        (tmp_path / "plain").write_text("x")
        check_writable_folder(tmp_path / "plain" / "m.safetensors")


def test_a_device_is_refused_not_replaced(tmp_path, monkeypatch, no_load):
    """A regular file that lstat reports as a character device stands in for /dev/full (never touched)."""
    import stat

    target = tmp_path / "full.py"
    target.write_text("")
    real_lstat = os.lstat

    def as_device(path, *args, **kwargs):
        st = real_lstat(path, *args, **kwargs)
        if os.fspath(path) == str(target):
            return os.stat_result((stat.S_IFCHR | 0o666, *tuple(st)[1:10]))
        return st

    monkeypatch.setattr(os, "lstat", as_device)
    answer = run_in_process(["train", str(SAMPLE), "--epochs", "1", "--device", "cpu", "--export-script", str(target)])
    assert answer.code == 2 and "full.py" in answer.err and "device" in answer.err, answer.err
    assert target.read_text() == ""
