"""The loss plot: appended points, smoothing, validation markers and metric, named earlier runs,
a legend outside the data, readable colours in both palettes, the hover readout, a million steps."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar

from conftest import SAMPLE
from gui_support import load, wait_idle
from udl_core.training.trainer import EpochMetrics
from udl_gui.loss_plot import HOVER_HINT, LossPlot
from udl_gui.plot_colors import contrast_ratio
from udl_gui.plot_series import Buffer, Series
from udl_gui.run_monitor import RunMonitor

SETTINGS = {"model": "mlp", "epochs": 3, "batch size": 32, "learning rate": "0.001", "device": "CPU",
            "dataset": "iris.csv"}


def test_buffer_grows_and_keeps_order():
    buf = Buffer(capacity=2)
    for i in range(5):
        buf.append(i, i * i)
    assert len(buf) == 5
    assert buf.x.tolist() == [0, 1, 2, 3, 4] and buf.y.tolist() == [0, 1, 4, 9, 16]
    before = buf.x
    buf.extend(np.arange(5, 8), np.arange(5, 8) ** 2)  # room left after doubling: no copy
    assert np.shares_memory(before, buf.x) and buf.y.tolist()[-3:] == [25, 36, 49]


def test_a_series_view_keeps_every_peak_and_the_gaps():
    rng = np.random.default_rng(0)
    x = np.arange(1, 200_001, dtype=np.float64)
    y = rng.normal(size=x.size)
    y[1000:1040] = np.nan  # a run of non-finite losses: a gap, never a bound
    y[123_457] = 9.0      # one spike: it must show at every zoom
    series = Series()
    for i in range(0, x.size, 999):  # uneven chunks, as events arrive
        series.extend(x[i:i + 999], y[i:i + 999])
    vx, vy = series.view(0, x[-1], 500)
    assert len(vx) <= 10 * 500 and np.all(np.diff(vx) >= 0)
    assert np.nanmax(vy) == 9.0 and np.nanmin(vy) == np.nanmin(y)
    vx, vy = series.view(100_000, 150_000, 500)
    inside = (x >= 100_000) & (x <= 150_000)
    assert np.nanmax(vy) == 9.0 and np.nanmin(vy) == np.nanmin(y[inside])
    assert vx[0] <= 100_000 and vx[-1] >= 150_000  # the view is covered edge to edge
    vx, vy = series.view(989.5, 1100, 500)  # few points: the points themselves, one beyond each edge
    assert vx.tolist() == x[988:1100].tolist() and np.array_equal(vy, y[988:1100], equal_nan=True)


def make_plot(qtbot, width=500, height=300):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(width, height)
    plot.show()
    QTest.qWaitForWindowExposed(plot)
    return plot


def feed(plot, runs=2, steps=60, settings=SETTINGS, metric="accuracy"):
    for run in range(runs):
        plot.start_run(steps_per_epoch=20, planned_steps=steps, settings=settings)
        x = np.arange(1, steps + 1, dtype=np.float64)
        plot.add_steps(x, 2.0 * np.exp(-x / (15 + 10 * run)) + 0.1 + 0.05 * np.sin(x))
        for step in range(20, steps + 1, 20):
            plot.add_val(step, 2.0 * np.exp(-step / 20) + 0.2, 0.5 + step / 200 if metric == "accuracy" else
                         1 - 1 / step, metric)
    plot.flush()


def settle(qtbot, plot):
    """Let the layout settle (axis widths follow their tick labels, a frame later)."""
    app = QApplication.instance()
    rect = [None]

    def still() -> bool:
        app.processEvents()
        now = plot.data_view.sceneBoundingRect()
        same, rect[0] = now == rect[0], now
        return same

    qtbot.waitUntil(still, timeout=2000)


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
    _, smooth = plot.smoothed_points
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
    plot.start_run(steps_per_epoch=50)  # in chunks, as the window feeds it: the same numbers
    plot.add_steps(np.arange(1, 16), losses[:15])
    plot.add_steps(np.arange(16, 32), np.append(losses[15:], np.nan))
    assert np.array_equal(plot.smoothed_points[1], smooth)


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
    assert plot.previous_runs == 0 and plot.run_names == ["run 4 smoothed", "per step", "val loss"]


@pytest.mark.parametrize("log", [False, True])
def test_the_legend_and_the_readout_lie_outside_the_data_area(qtbot, log):
    """At any scale and on a narrow plot (the legend wraps): nothing of them over the curves."""
    plot = make_plot(qtbot, width=360, height=320)
    feed(plot, runs=3)
    plot.set_log_scale(log)
    settle(qtbot, plot)
    data = plot.data_view.sceneBoundingRect()
    assert len(plot.legend.entries) == 6
    for item in [plot.legend, *plot.legend.entries, plot.readout_line]:
        rect = item.sceneBoundingRect()
        assert rect.height() > 0 and not rect.intersects(data), (item, rect, data)
    assert plot.legend.sceneBoundingRect().bottom() <= data.top()
    rows = {round(e.scenePos().y()) for e in plot.legend.entries}
    assert len(rows) >= 2  # 360 px is too narrow for one row: it wrapped instead of overflowing


def palette(base: str, text: str, highlight: str) -> QPalette:
    pal = QPalette(QApplication.palette())
    for role, color in (("Base", base), ("Window", base), ("Text", text), ("WindowText", text),
                        ("Highlight", highlight)):
        pal.setColor(getattr(QPalette.ColorRole, role), QColor(color))
    return pal


@pytest.mark.parametrize("pal", [palette("#ffffff", "#000000", "#308cc6"), palette("#1e1e1e", "#e6e6e6", "#2a82da"),
                                 palette("#f5f5f5", "#6a6a6a", "#9ec9f0")], ids=["light", "dark", "washed-out"])
def test_colours_follow_the_palette_with_readable_contrast(qtbot, pal):
    plot = make_plot(qtbot)
    feed(plot, runs=3)
    plot.setPalette(pal)  # a palette change on the widget itself, after it was built
    background = pal.color(QPalette.ColorRole.Base)
    assert plot.backgroundBrush().color() == background
    texts = [e.label.brush().color() for e in plot.legend.entries]
    texts += [plot.getPlotItem().getAxis(a).textPen().color() for a in ("left", "bottom", "right")]
    texts.append(plot.readout_line.color())
    assert len(texts) == 6 + 3 + 1
    for color in texts:
        assert contrast_ratio(color, background) >= 4.5, color.name()
    c = plot.colors
    for line in (c.smoothed, c.val, c.metric, *c.runs):
        assert contrast_ratio(line, background) >= 3.0, line.name()
    assert plot._ema_curve.opts["pen"].color() == c.smoothed
    # the smoothed line stands out from the per-step band drawn under it
    assert contrast_ratio(c.smoothed, c.raw) >= 2.0 and plot._ema_curve.zValue() > plot._raw_curve.zValue()


def test_runs_are_named_with_their_settings_and_stay_distinct(qtbot):
    plot = make_plot(qtbot, width=700)
    bar = QProgressBar()
    qtbot.addWidget(bar)
    monitor = RunMonitor(bar, QLabel(), QLabel(), plot, lambda text, level="info": None)
    for lr in ("0.01", "0.001", "0.0001"):
        monitor.start_training(20, 3, 32, dict(SETTINGS, **{"learning rate": lr}))
        x = np.arange(1, 61, dtype=np.float64)
        plot.add_steps(x, 1.0 / x)
    plot.flush()
    assert plot.run_names == ["run 3 smoothed", "per step", "val loss", "run 1", "run 2"]
    tip = plot.run_tooltip("run 1")
    for text in ("run 1", "model: mlp", "epochs: 3", "batch size: 32", "learning rate: 0.01", "device: CPU",
                 "dataset: iris.csv", "final smoothed loss"):
        assert text in tip
    assert "learning rate: 0.0001" in plot.run_tooltip("run 3 smoothed")
    pens = [e.item.opts["pen"] for e in plot.legend.entries if e.name.startswith("run")]
    colors = {pen.color().name() for pen in pens}
    assert len(colors) == 3  # every run its own colour
    current, earlier = pens[0], pens[1:]
    assert all(e.widthF() < current.widthF() for e in earlier)  # de-emphasised by weight, not hidden
    assert all(e.item.isVisible() and e.item.zValue() > plot._raw_curve.zValue()
               for e in plot.legend.entries if e.name in ("run 1", "run 2"))


def epoch(step, val_loss, *, accuracy=None, r2=None, task="classification"):
    return EpochMetrics(epoch=step // 20, epochs=3, steps=step, train_loss=val_loss, val_loss=val_loss,
                        val_accuracy=accuracy, val_r2=r2, val_mse=None if r2 is None else 0.1, samples=100,
                        samples_per_s=1000.0, seconds=0.1, data_wait_s=0.01, step_s=0.05, task=task)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_validation_accuracy_or_r2_on_a_second_axis(qtbot, task):
    plot = make_plot(qtbot)
    bar = QProgressBar()
    qtbot.addWidget(bar)
    monitor = RunMonitor(bar, QLabel(), QLabel(), plot, lambda text, level="info": None)
    monitor.start_training(20, 3, 32, SETTINGS)
    assert not plot.getPlotItem().getAxis("right").isVisible()
    for step, value in ((20, 0.6), (40, 0.8), (60, 0.9)):
        plot.add_steps(np.arange(step - 19, step + 1), np.full(20, 1.0 - value))
        plot.flush()  # drawn between epochs, as the timer does
        if task == "classification":
            monitor.on_epoch(epoch(step, 1.0 - value, accuracy=value))
        else:
            monitor.on_epoch(epoch(step, 1.0 - value, r2=value, task="regression"))
    plot.flush()
    axis = plot.getPlotItem().getAxis("right")
    assert axis.isVisible() and axis.linkedView() is plot.metric_view
    assert plot.metric_view.linkedView(plot.metric_view.XAxis) is plot.data_view
    steps, values = plot.metric_points
    assert steps.tolist() == [20, 40, 60]
    assert plot._metric_curve.getData()[0].tolist() == plot._val_curve.getData()[0].tolist() == [20, 40, 60]
    if task == "classification":
        assert values.tolist() == pytest.approx([60.0, 80.0, 90.0]) and "val accuracy (%)" in axis.labelText
        assert "val accuracy" in plot.run_names
    else:
        assert values.tolist() == pytest.approx([0.6, 0.8, 0.9]) and "R\u00b2" in axis.labelText
    (y0, y1) = plot.metric_view.viewRange()[1]
    assert y0 <= values.min() and values.max() <= y1  # all shown, on its own scale
    plot.set_log_scale(True)  # the loss goes log; accuracy and R^2 stay linear
    assert not axis.logMode
    monitor.start_training(20, 3, 32, SETTINGS)  # a new run starts without a metric axis
    assert not axis.isVisible() and len(plot.metric_points[0]) == 0


def test_the_window_names_its_run_with_its_settings_and_plots_the_accuracy(qtbot, window):
    load(qtbot, window, SAMPLE)
    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(2)
    window.controls.device_combo.setCurrentText("CPU")
    window.controls.run_button.click()
    wait_idle(qtbot, window, 60_000)
    plot = window.loss_plot
    assert plot.run_names[:4] == ["run 1 smoothed", "per step", "val loss", "val accuracy"]
    tip = plot.run_tooltip("run 1 smoothed")
    for text in (f"model: {window.controls.model_combo.currentText()}", "epochs: 2",
                 f"batch size: {window.controls.batch_size_spin.value()}", "device: cpu", f"dataset: {SAMPLE.name}"):
        assert text in tip
    steps, accuracy = plot.metric_points
    assert len(steps) == 2 and accuracy[-1] == pytest.approx(100 * window.last_train.final.val_accuracy)


def move_to(qtbot, plot, step):
    """A real mouse move over the data area, at `step` and mid-height."""
    view = plot.data_view
    (_, _), (y0, y1) = view.viewRange()
    pos = plot.mapFromScene(view.mapViewToScene(QPointF(step, (y0 + y1) / 2)))
    QTest.mouseMove(plot.viewport(), pos)
    qtbot.waitUntil(lambda: plot.readout != HOVER_HINT, timeout=2000)


def test_the_readout_follows_the_mouse(qtbot):
    plot = make_plot(qtbot, width=700, height=360)
    feed(plot, runs=2, steps=60)
    settle(qtbot, plot)
    assert plot.readout == HOVER_HINT
    move_to(qtbot, plot, 40)
    _, losses = plot.step_points
    _, smoothed = plot.smoothed_points
    text = plot.readout
    assert text.startswith("step 40 \u00b7 ")
    assert f"loss {losses[39]:.4g}" in text and f"smoothed {smoothed[39]:.4g}" in text
    assert f"val loss {plot.val_points[1][1]:.4g} at step 40" in text and "val accuracy 70.0%" in text
    assert "run 1 " in text
    assert plot._crosshair.isVisible() and plot._crosshair.value() == 40
    move_to(qtbot, plot, 13)
    assert plot.readout.startswith("step 13 \u00b7 ") and "at step 20" in plot.readout
    QTest.mouseMove(plot.viewport(), QPoint(2, 2))  # off the data area
    qtbot.waitUntil(lambda: plot.readout == HOVER_HINT, timeout=2000)
    assert not plot._crosshair.isVisible()
    plot.resize(380, 360)  # narrow: the most important values, none cut in half
    settle(qtbot, plot)
    move_to(qtbot, plot, 40)
    width = QFontMetricsF(plot.readout_line._item.font()).horizontalAdvance(plot.readout)
    assert plot.readout.startswith("step 40 \u00b7 loss ") and width <= plot.readout_line.size().width()
    assert plot.readout in plot.readout_at(40) and "run 1" not in plot.readout


@pytest.mark.qt_log_ignore("Mouse event")  # QTest's note that pyqtgraph's view leaves presses to its scene
def test_a_drag_pans_the_loss_under_the_metric_view(qtbot):
    """The accuracy view lies over the loss view but passes the mouse through to it."""
    plot = make_plot(qtbot, width=600, height=360)
    feed(plot, runs=1, steps=60)
    settle(qtbot, plot)
    (x0, _), (y0, _) = plot.data_view.viewRange()
    metric_y = plot.metric_view.viewRange()[1]
    start = plot.mapFromScene(plot.data_view.sceneBoundingRect().center())
    QTest.mousePress(plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 6):
        QTest.mouseMove(plot.viewport(), start + QPoint(-20 * i, 10 * i))
    QTest.mouseRelease(plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(-100, 50))
    (x1, _), (y1, _) = plot.data_view.viewRange()
    assert x1 > x0 and y1 > y0  # panned right and up, as dragged
    assert plot.metric_view.viewRange()[0][0] == pytest.approx(x1) and plot.metric_view.viewRange()[1] == metric_y
    plot.add_steps(np.arange(61, 200), np.full(139, 0.5))
    plot.flush()
    assert plot.data_view.viewRange()[0][0] == x1  # the user's view is kept while the run goes on
    plot.data_view.autoRange()  # pyqtgraph's "View All": the whole run, and following it again
    assert plot.data_view.viewRange()[0][0] == 0 and plot.data_view.viewRange()[0][1] >= 199


def test_a_million_steps_draw_a_few_points_a_pixel(qtbot):
    plot = make_plot(qtbot, width=600, height=300)
    plot.start_run(steps_per_epoch=12_500, planned_steps=1_000_000)
    rng = np.random.default_rng(1)
    for start in range(1, 1_000_001, 10_000):
        x = np.arange(start, start + 10_000, dtype=np.float64)
        plot.add_steps(x, np.exp(-x / 300_000) + rng.normal(0, 0.3, x.size))
    plot.flush()
    pixels = plot.data_view.width()
    _, raw_y = plot._raw_curve.getData()
    ema_x, ema_y = plot._ema_curve.getData()
    assert 2 * pixels <= plot.displayed_points() <= 10 * pixels  # a min/max pair (or more) a pixel, no more than 5
    assert len(ema_x) <= 10 * pixels
    steps, losses = plot.step_points
    _, smoothed = plot.smoothed_points
    assert len(steps) == 1_000_000
    assert raw_y.max() == losses.max() and raw_y.min() == losses.min()  # every peak still drawn
    assert ema_y.max() == smoothed.max() and ema_y.min() == smoothed.min()
    plot.data_view.setXRange(500_000, 500_400, padding=0)  # zoomed in: the exact points
    plot.flush()
    ema_x, ema_y = plot._ema_curve.getData()
    inside = (steps >= 500_000) & (steps <= 500_400)
    assert np.array_equal(ema_x, steps[inside]) and np.array_equal(ema_y, smoothed[inside])


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
    assert abs(image.height() / image.width() - plot.height() / plot.width()) < 0.01  # the plot as shown, scaled
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "losses.csv"]  # no temp files left


def test_the_view_keeps_the_last_point_inside(qtbot):
    """A run of exactly the planned 10 steps: its last markers are not cut off by the view's edge."""
    plot = make_plot(qtbot)
    plot.start_run(steps_per_epoch=1, planned_steps=10)
    for step in range(1, 11):
        plot.add_step(step, 1.0 / step)
        plot.add_val(step, 1.2 / step)
    plot.flush()
    (x0, x1), _ = plot.data_view.viewRange()
    assert x0 <= 0 and 10.2 <= x1 <= 11
    plot.flush()
    assert plot.data_view.viewRange()[0][1] == x1  # steady: no re-range per redraw
