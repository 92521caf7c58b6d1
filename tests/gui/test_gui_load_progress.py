"""A load's progress bar: determinate from the first event, with the estimate shown before the
reading starts, then rows and bytes read, the percentage and the time left."""

from __future__ import annotations

from gui_support import load

from udl_core.events import Progress
from udl_gui.load_progress import LoadProgress


def test_a_progress_fraction_comes_from_bytes_when_the_reader_counts_them():
    assert Progress("read", 10, 1000).fraction == 0.01
    assert Progress("read", 10, 1000, bytes_done=500, bytes_total=1000).fraction == 0.5
    assert Progress("read", 10, None).fraction is None
    assert Progress("read", 10, None, bytes_done=250, bytes_total=1000).fraction == 0.25


def test_load_progress_reads_rows_bytes_percentage_and_time_left():
    progress = LoadProgress()
    progress.begin(now=100.0)
    first = progress.update(Progress("estimate", 0, 1_000_000, "\u2248 1,000,000 rows, 98.2 MB on disk",
                                     bytes_total=98_200_000), now=100.1)
    assert first.text == "about to read \u2248 1,000,000 rows \u00b7 98.2 MB"
    assert first.estimate.startswith("\u2248 1,000,000 rows") and first.fraction == 0.0
    start = progress.update(Progress("read", 0, None, "parsing big.csv"), now=100.2)
    assert start.text.startswith("reading \u00b7 \u2248 1,000,000 rows \u00b7 98.2 MB \u00b7 0%")
    half = progress.update(Progress("read", 400_000, None, bytes_done=49_100_000, bytes_total=98_200_000), now=103.0)
    assert half.fraction == 0.3   # half the reading, which is 60% of a load
    assert half.text == "reading \u00b7 400,000 of \u2248 1,000,000 rows \u00b7 49.1 MB of 98.2 MB \u00b7 30% \u00b7 0:07 left"
    back = progress.update(Progress("read", 0, None), now=103.1)   # a stage never moves the bar back
    assert back.fraction == 0.3
    pre = progress.update(Progress("preprocess", 500_000, 1_000_000, "processed 500,000 of 1,000,000 rows"), now=104)
    assert pre.fraction == 0.8 and pre.text.startswith("preprocessing \u00b7 processed 500,000") and "80%" in pre.text


def test_the_window_shows_the_estimate_before_reading_and_a_determinate_bar(qtbot, window, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i * 0.5},{'xy'[i % 2]}\n" for i in range(20_000)), encoding="utf-8")
    seen: list[tuple[str, str, int]] = []
    window.runner.progressed.connect(
        lambda kind, event: seen.append((getattr(event, "stage", ""), window.progress_bar.format(),
                                         window.progress_bar.maximum())) if kind == "load" else None)
    load(qtbot, window, path)
    assert seen and seen[0][0] == "estimate"
    assert seen[0][1] == "about to read 20,000 rows \u00b7 286.7 kB"   # small: counted exactly
    assert all(maximum > 0 for _, _, maximum in seen)   # never a busy indicator
    log = window.log_view.toPlainText()
    assert "estimate: " in log and log.index("estimate: ") < log.index("loaded ")
    assert window.progress_bar.value() == window.progress_bar.maximum()
