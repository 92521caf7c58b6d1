"""The bad-input corpus and faults through the main window (offscreen).

Each corpus case is opened in the window: a bad one gives an error message, and the window
stays usable (the sample loads afterwards). Stop and close at seeded random moments of
loading and training, repeated, never hang, crash or leave a thread running.
"""

from __future__ import annotations

import os
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from conftest import SAMPLE
from gui_support import load, wait_idle
from thread_count import assert_no_thread_growth, count_threads

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import make_corpus  # noqa: E402

sys.path.pop(0)

# CLI-only cases: their bad argument cannot be entered in the window (spin boxes clamp it).
CLI_ONLY = {"batch_index_out_of_range", "batch_size_zero", "batch_size_negative", "val_fraction_out_of_range",
            "diverging_lr"}
# Cases about `udl train`'s output paths have no load-time counterpart in the window; its own
# exports are refused the same way (tests/gui/test_gui_exports.py).
OUTPUT_OPTIONS = {"--save", "--export-script"}
GUI_CASES = [c for c in make_corpus.CASES if c.name not in CLI_ONLY and not OUTPUT_OPTIONS & set(c.args)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gui-corpus")
    make_corpus.build_all(folder)
    yield folder
    for dirpath, dirnames, _ in os.walk(folder):
        for name in dirnames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(0o755)


def _load_kwargs(case, folder: Path) -> dict:
    args = [a.replace("{dir}", str(folder / case.name)) for a in case.args]
    kwargs = {}
    if "--label" in args:
        kwargs["label"] = args[args.index("--label") + 1]
    if "--labels" in args:
        kwargs["labels"] = args[args.index("--labels") + 1]
    return kwargs


def _trouble_in_cli(case, folder: Path) -> str | None:
    """"hangs" or "crashes" where `udl inspect` does on this case in a subprocess, else None."""
    import subprocess

    argv = [sys.executable, "-m", "udl_core", *case.argv("inspect", folder)]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL,
                              cwd=Path(__file__).resolve().parents[2])
    except subprocess.TimeoutExpired:
        return "hangs"
    return None if done.returncode in (0, 2) else f"crashes (exit {done.returncode})"


def _assert_usable(qtbot, window) -> None:
    """The window still works: the sample loads and shows a batch."""
    if window.last_error_box is not None:
        window.last_error_box.close()
    loader = load(qtbot, window, SAMPLE, labels="")
    assert loader is not None and loader.schema.label == "species"
    assert window.batch_model.rowCount() > 0
    assert window.controls.run_button.isEnabled()


@pytest.mark.parametrize("case", GUI_CASES, ids=[c.name for c in GUI_CASES])
def test_corpus_case_in_the_window(qtbot, window, corpus, case):
    reason = case.skip_if()
    if reason:
        pytest.skip(reason)
    if case.hazard:
        trouble = _trouble_in_cli(case, corpus)
        if trouble:
            # In the window the worker would block for good (and closing wait on it), or the
            # whole test process would die with it.
            pytest.fail(f"{case.name}: the CLI {trouble} on this input, so the window would too")
    expect = case.expect_for("inspect")
    window.load(str(corpus / case.name / case.target), **_load_kwargs(case, corpus))
    wait_idle(qtbot, window, timeout=60_000)
    box = window.last_error_box
    if expect == "error" or (expect == "handled" and box is not None):
        assert box is not None and box.isVisible(), f"{case.name}: no error message"
        text = box.text()
        assert any(name in text for name in case.names()), f"{case.name}: the message names no file: {text}"
        assert "Traceback" not in text
        assert not box.detailedText(), f"{case.name}: not a UDL error:\n{box.detailedText()}"
        assert window.loader is None
    else:
        assert box is None, f"{case.name}: {box.text()}"
        assert window.loader is not None and window.loader.num_train > 0
        if expect == "quarantine":
            assert re.search(r"\d[\d,]* records? skipped", window.log_view.toPlainText())
    _assert_usable(qtbot, window)


def test_one_class_label_fails_training_with_a_message(qtbot, window, corpus):
    load(qtbot, window, corpus / "label_one_class" / "data.csv")
    if window.last_error_box is not None:   # refused at load: also a message
        assert "data.csv" in window.last_error_box.text()
        return
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(1)
    window.controls.device_combo.setCurrentText("CPU")
    window.controls.run_button.click()
    wait_idle(qtbot, window)
    assert window.last_error_box is not None and window.last_error_box.isVisible()
    assert "class" in window.last_error_box.text()
    _assert_usable(qtbot, window)


def test_worker_exception_and_divergence_reach_the_user(qtbot, window, monkeypatch):
    from udl_core.errors import DivergedError
    from udl_gui import jobs

    load(qtbot, window, SAMPLE)
    window.controls.train_switch.setChecked(True)
    window.controls.device_combo.setCurrentText("CPU")

    def diverging(loader, **config):
        yield from ()
        raise DivergedError(step=7, loss=float("nan"), learning_rate=config.get("learning_rate"))

    def crashing(loader, **config):
        yield from ()
        raise RuntimeError("boom in the worker")

    monkeypatch.setattr(jobs, "train_job", diverging)
    window.controls.run_button.click()
    wait_idle(qtbot, window)
    assert "loss became nan at step 7" in window.last_error_box.text()
    window.last_error_box.close()

    monkeypatch.setattr(jobs, "train_job", crashing)
    window.controls.run_button.click()
    wait_idle(qtbot, window)
    assert "boom in the worker" in window.last_error_box.text()
    assert "RuntimeError" in window.last_error_box.detailedText()
    monkeypatch.undo()
    _assert_usable(qtbot, window)


# ------------------------------------------------------------------ stop and close at random moments


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """About 12 MB: loading it takes long enough to be interrupted."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = np.random.default_rng(0)
    n = 150_000
    x = rng.normal(size=(n, 6)).round(4)
    label = np.where(x[:, 0] + x[:, 1] > 0, "up", "down")
    colour = rng.choice(["red", "green", "blue"], n)
    with open(path, "w") as out:
        out.write("a,b,c,d,e,f,colour,label\n")
        for row, col, lab in zip(x.tolist(), colour.tolist(), label.tolist()):
            out.write(",".join(map(str, row)) + f",{col},{lab}\n")
    return path


def _new_window(qtbot, tmp_path, i):
    from PySide6.QtCore import QSettings

    from udl_gui.main_window import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / f"w{i}.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _every_job_ended(win) -> bool:
    return all(not job.thread_busy() for job in win.runner.jobs)   # the device probe and the warm-ups included


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["load", "train"])
def test_stop_or_close_at_random_moments(qtbot, tmp_path, big_csv, phase):
    rng = random.Random(f"udl-faults-{phase}")
    counts = []
    for i in range(10):
        win = _new_window(qtbot, tmp_path, i)
        if phase == "load":
            win.load(str(big_csv))
        else:
            win.controls.batch_size_spin.setValue(8)
            load(qtbot, win, SAMPLE)
            win.controls.train_switch.setChecked(True)
            win.controls.epochs_spin.setValue(5000)
            win.controls.device_combo.setCurrentText("CPU")
            win.controls.run_button.click()
        job = win.job
        qtbot.wait(rng.randint(0, 400))
        action = rng.choice(["stop", "close", "stop-then-close", "reload"])
        if action in ("stop", "stop-then-close"):
            win.controls.stop_button.click() if win.controls.stop_button.isEnabled() else win.stop()
            qtbot.waitUntil(lambda: not job.running, timeout=30_000)
            if action == "stop":
                # the job's thread may end a moment before the window hears of it
                qtbot.waitUntil(win.controls.run_button.isEnabled, timeout=10_000)
                _assert_usable(qtbot, win)
        elif action == "reload":
            load(qtbot, win, SAMPLE)   # a new job cancels the running one
            qtbot.waitUntil(lambda: not job.running, timeout=30_000)
            assert win.loader is not None
        win.close()
        assert _every_job_ended(win), f"run {i} ({action}): a thread outlived the window"
        QApplication.processEvents()
        counts.append(count_threads())
    # No thread left behind: the process's thread count stops growing once the pools exist.
    assert_no_thread_growth(counts, since=2, slack=2)


def test_training_runs_leave_no_os_thread_behind(qtbot, window):
    """Eight short trainings in one window: the process's OS threads must not grow with them."""
    window.controls.batch_size_spin.setValue(64)
    load(qtbot, window, SAMPLE)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(1)
    window.controls.device_combo.setCurrentText("CPU")
    counts = []
    for _ in range(8):
        window.controls.run_button.click()
        wait_idle(qtbot, window, 60_000)
        assert window.last_error_box is None
        QApplication.processEvents()
        counts.append(count_threads())
    assert_no_thread_growth(counts, since=1)


def test_loss_csv_export_that_fails_midway_keeps_the_old_file(qtbot, window, tmp_path, monkeypatch):
    import csv

    load(qtbot, window, SAMPLE)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(1)
    window.controls.device_combo.setCurrentText("CPU")
    window.controls.run_button.click()
    wait_idle(qtbot, window, 60_000)
    target = tmp_path / "losses.csv"
    window.loss_plot.export_csv(target)
    old = target.read_bytes()
    assert old.count(b"\n") > 2

    real_writer = csv.writer

    class Torn:
        def __init__(self, handle):
            self.inner = real_writer(handle)
            self.rows = 0

        def writerow(self, row):
            self.rows += 1
            if self.rows > 3:
                raise OSError(28, "No space left on device")
            return self.inner.writerow(row)

    monkeypatch.setattr(csv, "writer", Torn)
    with pytest.raises(OSError):
        window.loss_plot.export_csv(target)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir() if "losses" in p.name) == ["losses.csv"], "a temp file was left"


def test_settings_are_written_atomically(qtbot, window, tmp_path):
    """Qt writes a QSettings file through QSaveFile (temp file + rename) unless told otherwise."""
    assert window.settings.isAtomicSyncRequired()
    window.controls.epochs_spin.setValue(7)
    window.save_settings()
    window.settings.sync()
    path = Path(window.settings.fileName())
    assert path.exists() and "7" in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.stem)) == [path.name]
