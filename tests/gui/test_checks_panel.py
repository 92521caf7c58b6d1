"""The Checks panel runs the checks on its worker thread, lists each verdict, and stops cleanly."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from checks_support import FakeLoader, blobs, load  # noqa: E402  (tests/core's helpers)
from udl_core.training.checks import CheckBudget, CheckResult
from udl_gui.checks_panel import NAME_ROLE, STATUS_ROLE, ChecksPanel, status_icon

FAST = CheckBudget(train_steps=100, overfit_steps=100, speed_batches=5, speed_seconds=0.5)


def test_panel_runs_the_checks_and_fills_the_list(qtbot):
    panel = ChecksPanel(budget=FAST)
    qtbot.addWidget(panel)
    assert not panel.run_button.isEnabled()
    panel.set_loader(load(Path(__file__).resolve().parents[2] / "resources" / "samples" / "sample.csv"))
    assert panel.run_button.isEnabled() and panel.run_button.objectName() == "runChecksButton"
    with qtbot.waitSignal(panel.checks_finished, timeout=120_000) as finished:
        qtbot.mouseClick(panel.run_button, qtbot_left())
    results = finished.args[0]
    assert len(results) == 18 and all(isinstance(r, CheckResult) for r in results)
    assert panel.list.objectName() == "checksList" and panel.list.count() == 18
    items = [panel.list.item(i) for i in range(panel.list.count())]
    assert [i.data(NAME_ROLE) for i in items] == [r.name for r in results]
    assert {i.data(STATUS_ROLE) for i in items} <= {"pass", "warn"}
    assert all(not i.icon().isNull() for i in items)
    assert "input_dependence — " in items[-1].text()
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert panel.run_button.isEnabled()
    assert panel.progress.value() == panel.progress.maximum() == 9
    assert panel.summary.text().endswith("0 failed.")


def test_failures_show_with_their_hint(qtbot):
    x, y = blobs(n=300, seed=1)
    x[5, 0] = np.nan
    panel = ChecksPanel(budget=FAST)
    qtbot.addWidget(panel)
    panel.set_loader(FakeLoader(x, y))
    with qtbot.waitSignal(panel.checks_finished, timeout=120_000):
        panel.run_checks()
    items = {panel.list.item(i).data(NAME_ROLE): panel.list.item(i) for i in range(panel.list.count())}
    finite = items["batches.finite"]
    assert finite.data(STATUS_ROLE) == "fail" and "\nHint: " in finite.text()
    assert any(m.startswith("fail: batches.finite: ") for m in panel.warning_messages())
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)


def test_stopping_mid_run_joins_the_thread(qtbot):
    x, y = blobs(n=2000, seed=2)
    panel = ChecksPanel()
    qtbot.addWidget(panel)
    panel.set_loader(FakeLoader(x, y, delay=0.001))
    panel.run_checks()
    qtbot.waitUntil(lambda: panel.list.count() >= 1, timeout=60_000)
    panel.stop(wait=True)
    assert not panel.running
    assert panel.list.count() < 18
    panel.set_loader(None)
    assert panel.list.count() == 0 and not panel.run_button.isEnabled()


def test_icons_differ_by_status(qtbot):
    images = [status_icon(s).pixmap(16, 16).toImage() for s in ("pass", "warn", "fail")]
    assert images[0] != images[1] != images[2]


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_a_new_loader_cancels_the_old_run_and_ignores_its_events(qtbot):
    x, y = blobs(n=1500, seed=3)
    bad = x.copy()
    bad[:, 1] = np.nan
    panel = ChecksPanel(budget=FAST)
    qtbot.addWidget(panel)
    panel.set_loader(FakeLoader(x, y, delay=0.002))
    panel.run_checks()
    panel.set_loader(FakeLoader(bad, y))
    with qtbot.waitSignal(panel.checks_finished, timeout=120_000) as finished:
        panel.run_checks()
    names = {r.name: r.status for r in finished.args[0]}
    assert names["batches.finite"] == "fail"
    assert panel.list.count() == len(finished.args[0])
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)


def test_an_unexpected_error_is_listed_and_the_thread_finishes(qtbot):
    x, y = blobs(n=200, seed=4)

    def broken(batch):
        raise RuntimeError("disk went away")

    panel = ChecksPanel(budget=FAST)
    qtbot.addWidget(panel)
    panel.set_loader(FakeLoader(x, y, batch_fn=broken))
    panel.run_checks()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert panel.list.count() == 1
    assert panel.list.item(0).data(STATUS_ROLE) == "fail" and "disk went away" in panel.list.item(0).text()
    assert "disk went away" in panel.summary.text() and panel.run_button.isEnabled()
