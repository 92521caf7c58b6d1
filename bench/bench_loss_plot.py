"""The loss plot at a million steps: the cost of appending, redrawing and painting as a run grows.

1,000,000 step losses (noisy, decaying) go into `LossPlot` in events of 100 steps, as the
window feeds it, with a validation point and accuracy every 12,500 steps (an epoch of the
1M-row CSV at batch 64). Every 10,000 steps the plot is redrawn (`flush`, what its 80 ms timer
does) and painted (`grab`). Reported: the time to append 1,000 steps, the longest redraw and
the longest paint, and at the end the points the curves hold. Baseline, in the same process:
pyqtgraph's own peak downsampling and clipping to the view (a `PlotWidget` curve given the
whole arrays on every redraw), which reads every point on every frame.

    python -m bench.bench_loss_plot [--steps N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STEPS = int(os.environ.get("UDL_BENCH_PLOT_STEPS", 1_000_000))
EVENT = 100
FRAME_EVERY = 10_000
EPOCH = 12_500


def losses(steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.arange(1, steps + 1, dtype=np.float64)
    return x, 1.2 * np.exp(-x / (steps / 6)) + 0.35 + rng.gamma(2.0, 0.12, steps) - 0.24


def measure_plot(steps: int) -> dict[str, float]:
    from udl_gui.loss_plot import LossPlot

    paints: list[float] = []

    class TimedPlot(LossPlot):
        def paintEvent(self, event) -> None:
            start = time.perf_counter()
            super().paintEvent(event)
            paints.append(time.perf_counter() - start)

    plot = TimedPlot()
    plot.resize(900, 400)
    plot.show()
    x, y = losses(steps)
    plot.start_run(steps_per_epoch=EPOCH, planned_steps=steps, settings={"model": "mlp"})
    append = redraw = 0.0
    redraws: list[float] = []
    for i in range(0, steps, EVENT):
        start = time.perf_counter()
        plot.add_steps(x[i:i + EVENT], y[i:i + EVENT])
        end = i + EVENT
        if end % EPOCH == 0:
            plot.add_val(end, float(y[end - 1]), 0.9 - 0.5 * np.exp(-end / (steps / 6)), "accuracy")
        append += time.perf_counter() - start
        if end % FRAME_EVERY == 0:
            start = time.perf_counter()
            plot.flush()
            redraw = time.perf_counter() - start
            redraws.append(redraw)
            plot.grab()
    result = {"append_per_1000_ms": 1000 * append / (steps / 1000), "redraw_max_ms": 1000 * max(redraws),
              "redraw_last_ms": 1000 * redraws[-1], "paint_max_ms": 1000 * max(paints),
              "paint_last_ms": 1000 * paints[-1], "paint_median_ms": 1000 * float(np.median(paints)),
              "redraw_median_ms": 1000 * float(np.median(redraws)), "points": plot.displayed_points()}
    plot.close()
    return result


def measure_pyqtgraph(steps: int) -> dict[str, float]:
    """The same frames with pyqtgraph's peak downsampling over the whole arrays (no summaries)."""
    import pyqtgraph as pg

    from udl_gui.plot_series import Buffer

    widget = pg.PlotWidget()
    widget.resize(900, 400)
    widget.show()
    raw = widget.plot([], [])
    smooth = widget.plot([], [])
    for curve in (raw, smooth):
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
    x, y = losses(steps)
    kernel = np.ones(50) / 50
    smoothed = np.convolve(y, kernel, mode="full")[:steps]
    buffers = Buffer(), Buffer()
    redraws: list[float] = []
    paints: list[float] = []
    for i in range(0, steps, FRAME_EVERY):
        buffers[0].extend(x[i:i + FRAME_EVERY], y[i:i + FRAME_EVERY])
        buffers[1].extend(x[i:i + FRAME_EVERY], smoothed[i:i + FRAME_EVERY])
        widget.setXRange(0, i + FRAME_EVERY, padding=0)
        start = time.perf_counter()
        raw.setData(buffers[0].x, buffers[0].y)
        smooth.setData(buffers[1].x, buffers[1].y)
        redraws.append(time.perf_counter() - start)
        start = time.perf_counter()
        widget.grab()
        paints.append(time.perf_counter() - start)
    widget.close()
    return {"redraw_max_ms": 1000 * max(redraws), "redraw_last_ms": 1000 * redraws[-1],
            "paint_max_ms": 1000 * max(paints)}


def main(argv: list[str] | None = None) -> None:
    from PySide6.QtWidgets import QApplication

    parser = argparse.ArgumentParser(prog="bench_loss_plot")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv if argv is not None else [])
    app = QApplication.instance() or QApplication([sys.argv[0]])
    print(f"bench_loss_plot: {args.steps:,} steps in events of {EVENT}, a redraw and a paint every "
          f"{FRAME_EVERY:,} steps, 900 x 400 px ({os.environ['QT_QPA_PLATFORM']})", flush=True)
    ours = measure_plot(args.steps)
    app.processEvents()
    base = measure_pyqtgraph(args.steps)
    print(f"  LossPlot   append {ours['append_per_1000_ms']:.2f} ms per 1,000 steps | redraw: longest "
          f"{ours['redraw_max_ms']:.1f} ms, median {ours['redraw_median_ms']:.1f}, at the end "
          f"{ours['redraw_last_ms']:.1f} ms | paint: longest {ours['paint_max_ms']:.1f} ms, median "
          f"{ours['paint_median_ms']:.1f}, at the end {ours['paint_last_ms']:.1f} ms | "
          f"{ours['points']:,} points drawn for the per-step line", flush=True)
    print(f"  pyqtgraph  (whole arrays, peak downsampling, clip to view) redraw: longest {base['redraw_max_ms']:.1f} ms, "
          f"at the end {base['redraw_last_ms']:.1f} ms | grab: longest {base['paint_max_ms']:.1f} ms", flush=True)
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)", flush=True)
    print(f"  redraw at {args.steps:,} steps: {base['redraw_last_ms'] / max(ours['redraw_last_ms'], 1e-6):.0f}x "
          f"faster than the baseline", flush=True)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
