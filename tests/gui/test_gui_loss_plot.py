"""The loss plot: appended points, smoothing, validation markers, earlier runs, exports."""

from __future__ import annotations

import csv

import numpy as np
from PySide6.QtGui import QImage

from udl_gui.loss_plot import Buffer, LossPlot


def test_buffer_grows_and_keeps_order():
    buf = Buffer(capacity=2)
    for i in range(5):
        buf.append(i, i * i)
    assert len(buf) == 5
    assert buf.x.tolist() == [0, 1, 2, 3, 4] and buf.y.tolist() == [0, 1, 4, 9, 16]


def make_plot(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.show()
    return plot


def test_points_smoothing_and_validation(qtbot):
    plot = make_plot(qtbot)
    assert plot.objectName() == "lossPlot"
    plot.start_run(steps_per_epoch=10)
    losses = np.linspace(2.0, 0.1, 50)
    for step, loss in enumerate(losses, start=1):
        plot.add_step(step, loss)
    plot.add_val(10, 1.5)
    plot.add_val(20, 1.0)
    with qtbot.waitSignal(plot.pointsChanged, timeout=2000):
        pass  # the throttled timer redraws on its own
    assert plot.displayed_points() == 50
    x, smooth = plot.smoothed_points
    assert smooth[0] == 2.0 and smooth[-1] < 0.5 and np.all(np.diff(smooth) <= 0)
    assert plot.val_points[1].tolist() == [1.5, 1.0]


def test_smoothing_is_debiased_and_follows_a_fast_early_drop(qtbot):
    plot = make_plot(qtbot)
    plot.start_run(steps_per_epoch=50)  # a span of 50 steps
    losses = 2.0 * np.exp(-np.arange(30) / 3.0) + 0.1
    for step, loss in enumerate(losses, start=1):
        plot.add_step(step, loss)
    plot.add_step(31, float("nan"))  # a non-finite loss leaves the average where it was
    _, smooth = plot.smoothed_points
    alpha = 2.0 / 51
    seeded = [losses[0]]  # the plain moving average, seeded with the first loss
    for loss in losses[1:]:
        seeded.append(alpha * loss + (1 - alpha) * seeded[-1])
    assert smooth[0] == losses[0]
    assert np.all(np.abs(smooth[:30] - losses) <= np.abs(np.asarray(seeded) - losses) + 1e-12)
    weights = (1 - alpha) ** np.arange(9, -1, -1)  # after 10 steps: the weighted mean of those 10
    assert np.isclose(smooth[9], np.sum(weights * losses[:10]) / weights.sum())
    assert smooth[9] < 0.5 * losses[0] < seeded[9]
    assert smooth[30] == smooth[29]


def test_previous_runs_are_kept_and_cleared(qtbot):
    plot = make_plot(qtbot)
    for run in range(3):
        plot.start_run()
        for step in range(1, 6):
            plot.add_step(step, 1.0 / step + run)
    assert plot.previous_runs == 2
    plot.start_run()
    assert plot.previous_runs == 3 and len(plot.step_points[0]) == 0
    plot.clear_previous()
    assert plot.previous_runs == 0


def test_log_scale_toggle(qtbot):
    plot = make_plot(qtbot)
    plot.set_log_scale(True)
    assert plot.log_scale and plot.getPlotItem().ctrl.logYCheck.isChecked()
    plot.set_log_scale(False)
    assert not plot.log_scale


def test_exports(qtbot, tmp_path):
    plot = make_plot(qtbot)
    plot.start_run()
    for step in range(1, 5):
        plot.add_step(step, 1.0 / step)
    plot.add_val(4, 0.3)
    out = plot.export_csv(tmp_path / "losses.csv")
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["step", "loss", "smoothed_loss", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert float(rows[2][1]) == 0.5 and rows[4][3] == "0.3" and rows[1][3] == ""
    png = plot.export_png(tmp_path / "loss.png")
    image = QImage(str(png))
    assert not image.isNull() and image.width() >= 800
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "losses.csv"]  # no temp files left


def test_the_view_keeps_the_last_point_inside(qtbot):
    """A run of exactly the planned 10 steps: its last markers are not cut off by the view's edge."""
    plot = make_plot(qtbot)
    plot.start_run(steps_per_epoch=1, planned_steps=10)
    for step in range(1, 11):
        plot.add_step(step, 1.0 / step)
        plot.add_val(step, 1.2 / step)
    plot.flush()
    (x0, x1), _ = plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= 0 and 10.2 <= x1 <= 11
    plot.flush()
    assert plot.getPlotItem().getViewBox().viewRange()[0][1] == x1  # steady: no re-range per redraw
