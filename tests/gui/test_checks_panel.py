"""The Checks panel: verdicts worst first under a coloured summary, the checks run and stop as a job
in the window's one lane, and the Schema tab lists their failures and warnings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from checks_support import FakeLoader, blobs, load  # noqa: E402  (tests/core's helpers)
from udl_core.training.checks import CheckBudget, CheckResult
from udl_gui.checks_panel import NAME_ROLE, STATUS_ROLE, ChecksPanel, status_icon
from udl_gui.verdicts import ORDER, contrast_ratio, count_text, rank, verdict_color

FAST = CheckBudget(train_steps=100, overfit_steps=100, speed_batches=5, speed_seconds=0.5)
SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "sample.csv"


def light_palette() -> QPalette:
    palette = QPalette()
    for role, color in {QPalette.ColorRole.Window: "#efefef", QPalette.ColorRole.WindowText: "#000000",
                        QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#f7f7f7",
                        QPalette.ColorRole.Text: "#000000"}.items():
        palette.setColor(role, QColor(color))
    return palette


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in {QPalette.ColorRole.Window: "#353535", QPalette.ColorRole.WindowText: "#f0f0f0",
                        QPalette.ColorRole.Base: "#232323", QPalette.ColorRole.AlternateBase: "#2c2c2c",
                        QPalette.ColorRole.Text: "#f0f0f0", QPalette.ColorRole.Button: "#353535",
                        QPalette.ColorRole.ButtonText: "#f0f0f0"}.items():
        palette.setColor(role, QColor(color))
    return palette


def items(panel):
    return [panel.list.item(i) for i in range(panel.list.count())]


def nan_blobs(n=300, seed=1):
    x, y = blobs(n=n, seed=seed)
    x[5, 0] = np.nan   # batches.finite fails, the trainings go on
    return x, y


def test_panel_runs_the_checks_and_lists_them(qtbot):
    panel = ChecksPanel(budget=FAST)
    qtbot.addWidget(panel)
    assert not panel.run_button.isEnabled()
    panel.set_loader(load(SAMPLE))
    assert panel.run_button.isEnabled() and panel.run_button.objectName() == "runChecksButton"
    with qtbot.waitSignal(panel.checks_finished, timeout=120_000) as finished:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    results = finished.args[0]
    assert len(results) == 19 and all(isinstance(r, CheckResult) for r in results)
    assert panel.list.objectName() == "checksList" and panel.list.count() == 19
    assert {i.data(STATUS_ROLE) for i in items(panel)} <= {"pass", "warn"}
    assert all(not i.icon().isNull() for i in items(panel))
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert panel.run_button.isEnabled() and panel.run_button.text() == "Run checks"
    assert panel.progress.value() == panel.progress.maximum() == 9
    assert panel.summary.objectName() == "checksSummary"
    assert panel.summary.text().endswith(count_text(r.status for r in results))


def test_failures_come_first_then_warnings_then_passes_under_a_summary(qtbot):
    panel = ChecksPanel(budget=FAST)
    qtbot.addWidget(panel)
    x, y = nan_blobs()
    y[:290] = 0   # a rare class or two: labels.balance warns
    panel.set_loader(FakeLoader(x, y))
    with qtbot.waitSignal(panel.checks_finished, timeout=120_000) as finished:
        panel.run_checks()
    results = finished.args[0]
    statuses = [r.status for r in results]
    assert "fail" in statuses and "warn" in statuses and "pass" in statuses
    assert statuses.index("fail") > 0   # the checks made a pass before their first failure
    shown = [(i.data(STATUS_ROLE), i.data(NAME_ROLE)) for i in items(panel)]
    # worst first, and within a verdict in the order the checks made them
    assert shown == sorted(((r.status, r.name) for r in results), key=lambda s: rank(s[0]))
    assert shown[0] == ("fail", "batches.finite") and "\nHint: " in panel.list.item(0).text()
    assert panel.warning_messages()[0].startswith("fail: batches.finite: ")
    fails, warns, passes = (statuses.count(s) for s in ORDER)
    words = f"{fails} failed, {warns} warning{'s' if warns > 1 else ''}, {passes} passed"
    assert panel.summary.text() == f"\u2716 {words}"
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)

    app = QApplication.instance()
    saved = app.palette()
    try:
        for palette in (light_palette(), dark_palette()):
            app.setPalette(palette)
            qtbot.waitUntil(lambda: panel.palette().color(QPalette.ColorRole.Window)
                            == palette.color(QPalette.ColorRole.Window))
            text = panel.summary.palette().color(QPalette.ColorRole.WindowText)
            assert contrast_ratio(text, palette.color(QPalette.ColorRole.Window)) >= 4.5
            assert text.red() > text.green() and text.red() > text.blue()   # red: a failure
            for item in items(panel):
                if item.data(STATUS_ROLE) != "pass":
                    color = item.foreground().color()
                    for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
                        assert contrast_ratio(color, palette.color(role)) >= 4.5
    finally:
        app.setPalette(saved)


@pytest.mark.parametrize("background", ["#ffffff", "#efefef", "#f7f7f7", "#353535", "#232323", "#2c2c2c",
                                        "#000000", "#777777"])
def test_verdict_colours_have_text_contrast_on_light_and_dark_backgrounds(background):
    for status in ORDER:
        assert contrast_ratio(verdict_color(status, QColor(background)), QColor(background)) >= 4.5


def test_icons_differ_by_status(qtbot):
    images = [status_icon(s).pixmap(16, 16).toImage() for s in ("pass", "warn", "fail")]
    assert images[0] != images[1] != images[2]


def test_stop_ends_the_checks_inside_a_long_check(qtbot):
    """Each batch takes 50 ms: the first check alone would take 20 s; Stop ends it at once."""
    x, y = blobs(n=4000, seed=2)
    panel = ChecksPanel(budget=FAST)
    qtbot.addWidget(panel)
    panel.set_loader(FakeLoader(x, y, batch_size=8, delay=0.05))
    job = panel.run_checks()
    assert job is panel.runner.current and panel.run_button.text() == "Stop checks"
    qtbot.waitUntil(lambda: panel.progress.format().startswith("checking batches"), timeout=30_000)
    with qtbot.waitSignals([panel.runner.cancelled, panel.runner.finished], timeout=5_000):
        panel.stop()   # through the runner
    assert not job.running and not job.thread_busy() and job.stop_requested
    assert not any(j.running for j in panel.runner.jobs)
    assert panel.summary.text() == "Checks stopped after 0 of 9 check groups: none finished."
    assert panel.list.count() == 0
    assert panel.run_button.isEnabled() and panel.run_button.text() == "Run checks"


class SlowAfter:
    """A batch hook that sleeps before every batch after the first `quick` (the determinism pass)."""

    def __init__(self, quick: int) -> None:
        self.quick, self.seen = quick, 0

    def __call__(self, batch):
        import time

        self.seen += 1
        if self.seen > self.quick:
            time.sleep(0.2)
        return batch


def test_the_windows_stop_button_stops_the_checks_in_its_one_lane(qtbot, window):
    panel = window.checks_panel
    assert panel.runner is window.runner
    x, y = nan_blobs(n=2000, seed=3)
    # 50 training + 13 validation batches for the batch checks, one for overfitting, then slow
    panel.set_loader(FakeLoader(x, y, batch_fn=SlowAfter(64)))
    assert panel.run_button.isEnabled()
    job = panel.run_checks()
    assert window.job is job and window.busy
    assert window.controls.stop_button.isEnabled() and not window.controls.run_button.isEnabled()
    qtbot.waitUntil(lambda: panel.progress.format().startswith("checking determinism"), timeout=60_000)
    finished = len(panel.results)
    with qtbot.waitSignal(window.runner.cancelled, timeout=5_000) as cancelled, \
            qtbot.waitSignal(window.runner.finished, timeout=5_000) as ended:
        qtbot.mouseClick(window.controls.stop_button, Qt.MouseButton.LeftButton)
    assert cancelled.args == ended.args == ["checks"]
    assert not job.running and not job.thread_busy()
    results = panel.results
    assert len(results) == finished == panel.list.count() and finished >= 10
    assert panel.summary.text() == (f"\u2716 Checks stopped after 6 of 9 check groups: "
                                    f"{count_text(r.status for r in results)}.")
    assert panel.list.item(0).data(NAME_ROLE) == "batches.finite"
    lines = [window.schema_panel.warnings.item(i).text() for i in range(window.schema_panel.warnings.count())]
    assert lines[0].startswith("check batches.finite failed: ")
    assert not any(line.startswith("No warnings") for line in lines)
    assert window.controls.run_button.isEnabled() and panel.run_button.isEnabled()


def test_the_schema_tab_lists_the_checks_failures_after_a_run(qtbot, window, tmp_path):
    from gui_support import load as load_in_window

    rng = np.random.default_rng(5)
    n = 200
    kind = rng.integers(0, 2, n)
    rows = ["a,b,leak,target"] + [f"{rng.normal():.4f},{rng.normal():.4f},{k},{'yes' if k else 'no'}"
                                  for k in kind]
    path = tmp_path / "leaky.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    load_in_window(qtbot, window, path)
    schema = window.schema_panel

    def lines():
        return [schema.warnings.item(i).text() for i in range(schema.warnings.count())]

    assert lines()[-1] == "No warnings; no records skipped."   # after the reader's notes
    panel = window.checks_panel
    panel._budget = FAST
    with qtbot.waitSignal(panel.checks_finished, timeout=120_000) as finished:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    flagged = sorted((r for r in finished.args[0] if r.status != "pass"), key=lambda r: rank(r.status))
    assert flagged and flagged[0].name == "leakage.label_in_features"
    shown = lines()
    assert shown[0].startswith("check leakage.label_in_features failed: Feature 'leak' is a copy of the label")
    assert sum(line.startswith("check ") for line in shown) == len(flagged)
    assert not any("No warnings" in line for line in shown)
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    load_in_window(qtbot, window, path)   # a new load: the last run's verdicts go
    assert lines()[-1] == "No warnings; no records skipped."
    assert not any(line.startswith("check ") for line in lines())


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
    with qtbot.waitSignal(panel.checks_stopped, timeout=60_000):
        panel.run_checks()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert panel.list.count() == 1
    assert panel.list.item(0).data(STATUS_ROLE) == "fail" and "disk went away" in panel.list.item(0).text()
    assert "disk went away" in panel.summary.text() and panel.run_button.isEnabled()
