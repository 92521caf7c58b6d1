"""Start the desktop app: `udl-gui [PATH]`, `udl gui [PATH]`, `python app.py [PATH] [--screenshot FILE]`,
`UDL --self-test` (the built app checks itself: udl_gui/self_test.py).

Start-up stays fast by importing only Qt, pyqtgraph and the loader's light modules here; MLX
is imported by the device probe and the training job, on the worker thread.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["ICON", "SAMPLE", "build_parser", "dispose_window", "freeze_startup_objects", "install_excepthook", "main",
           "run_from_cli", "tune_interpreter"]

from udl_gui.app_paths import install_log_file, resource, sample_dataset

_STARTED = time.perf_counter()
SAMPLE = sample_dataset()
ICON = resource("icons", "udl.svg")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="udl-gui", description="Open the UDL desktop app.")
    parser.add_argument("path", nargs="?", help="a dataset file or folder (default: the bundled sample)")
    parser.add_argument("--labels", help="a second file holding the labels")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="load the dataset, run a short training, save the window to FILE.png and exit")
    parser.add_argument("--epochs", type=int, default=None, help="epochs for --screenshot (default 10)")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="quit this many seconds after the window is shown (for tests)")
    parser.add_argument("--print-first-paint", action="store_true",
                        help="print 'first-paint SECONDS' on stdout when the window first paints")
    parser.add_argument("--self-test", action="store_true",
                        help="offscreen: load the bundled sample, train one epoch on the CPU, print one line, exit")
    return parser


def tune_interpreter() -> None:
    """Make the GUI thread wait less for the GIL while a worker runs Python code.

    CPython hands the GIL over every 5 ms by default, so a busy worker thread can keep the
    GUI thread waiting that long for every slot it runs; 1 ms keeps the event loop's p99 stall
    near 13 ms instead of 20-70 ms with a CPU-bound Python job (bench_gui), at a small cost in
    worker throughput.
    """
    sys.setswitchinterval(0.001)


def freeze_startup_objects() -> None:
    """Move the ~100,000 objects of the imported modules and the built window out of the
    collector's reach: a full collection walking them all took 120-130 ms, once per load
    or so, and stalled the event loop that long (bench_gui)."""
    gc.freeze()


def install_excepthook(window: Any) -> None:
    """Unexpected exceptions go to stderr, the log view and a dialog; the app keeps running."""
    previous = sys.excepthook

    def hook(exc_type: type, exc: BaseException, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        traceback.print_exception(exc_type, exc, tb)
        logging.getLogger("udl_gui").error("unexpected error", exc_info=(exc_type, exc, tb))
        try:
            window.report_exception(exc_type, exc, tb)
        except Exception:  # the window is gone or broken: stderr already has it
            pass

    sys.excepthook = hook


class _FirstPaint:
    """Prints the time to the first paint once (an event filter on the window)."""

    def __init__(self, window: Any, quit_after: bool) -> None:
        from PySide6.QtCore import QEvent, QObject

        outer = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
                if event.type() == QEvent.Type.Paint and not outer.done:
                    outer.done = True
                    print(f"first-paint {time.perf_counter() - _STARTED:.3f}", flush=True)
                return False

        self.done = False
        self.filter = Filter(window)
        window.installEventFilter(self.filter)


def _screenshot(window: Any, app: Any, target: str, epochs: int) -> None:
    """Load, train briefly, save the window's picture, quit (exit 1 if it takes over 120 s)."""
    from PySide6.QtCore import QTimer

    window.controls.train_switch.setChecked(True)
    window.controls.epochs_spin.setValue(epochs)
    window.controls.model_combo.setCurrentText("mlp")
    window.controls.lr_spin.setValue(0.001)
    deadline = time.monotonic() + float(os.environ.get("UDL_SCREENSHOT_TIMEOUT", 120))
    state = {"ran": False}

    def poll() -> None:
        if time.monotonic() > deadline:
            print("error: --screenshot timed out; the log says:\n" + window.log_view.toPlainText(), file=sys.stderr)
            app.exit(1)
            return
        if window.busy:
            return
        if window.loader is None:
            if window.last_error_box is not None:
                print(f"error: {window.last_error_box.text()}", file=sys.stderr)
                app.exit(2)
            return
        if not state["ran"]:
            state["ran"] = True
            window.run()
            return
        if window.last_train is None:
            if window.last_error_box is not None:
                print(f"error: {window.last_error_box.text()}", file=sys.stderr)
                app.exit(2)
            return
        timer.stop()
        window.batch_toolbar.index_spin.setValue(1)
        window.loss_plot.flush()
        window.health_strip.flush()
        QTimer.singleShot(400, save)

    def save() -> None:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(target)
        print(f"saved {target}" if ok else f"error: could not write {target}", file=sys.stderr)
        app.exit(0 if ok else 2)

    timer = QTimer(window)
    timer.setInterval(100)
    timer.timeout.connect(poll)
    timer.start()


def dispose_window(window: Any) -> None:
    """Delete the window and its pyqtgraph scene now, while Python is whole: left to the interpreter's
    exit, the scene's items could call their Python overrides half torn down (a segfault in about 1
    exit in 12, in shiboken's error path)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _shown_path(path: Path) -> str:
    """`path` relative to the working folder when it lies inside it (shorter in the path field)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.self_test:
        from udl_gui.self_test import run_self_test

        return run_self_test()
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from udl_gui.file_open import FileOpenFilter
    from udl_gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    file_open = FileOpenFilter(app)   # before the window: an app started by Open With gets its file early
    tune_interpreter()
    from udl_gui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(app)   # cycles holding widgets are never collected on a worker
    app.setOrganizationName("UDL")
    app.setApplicationName("UDL")
    app.setApplicationDisplayName("UDL")
    app.setDesktopFileName("udl")   # Wayland and the taskbar match the window to udl.desktop (its icon)
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    settings = None
    if args.screenshot:  # a throwaway settings file: the picture must not depend on the user's
        settings = QSettings(str(Path(tempfile.mkdtemp(prefix="udl-shot-")) / "udl.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    if not args.screenshot:
        install_log_file()
    install_excepthook(window)
    first_paint = _FirstPaint(window, quit_after=False) if args.print_first_paint else None
    if args.screenshot:
        window.resize(1440, 920)
    window.show()
    freeze_startup_objects()
    from udl_gui.background_imports import BackgroundImports

    imports = BackgroundImports(window)   # polars & co. imported after the first paint
    file_open.attach(window)
    if args.path:
        QTimer.singleShot(0, lambda: window.load(args.path, labels=args.labels))
    elif SAMPLE.exists():   # no sample in a bare wheel; none either when a file opened with the app came first
        sample = _shown_path(SAMPLE)
        QTimer.singleShot(0, lambda: file_open.opened or window.load(sample))
    if args.screenshot:
        _screenshot(window, app, args.screenshot, args.epochs or 10)
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    code = app.exec()
    del first_paint, imports
    window.stop_all(wait=True)
    file_open.remove()
    dispose_window(window)
    collector.stop()
    return int(code)


def run_from_cli(args: argparse.Namespace) -> int:
    """`udl gui [PATH]`."""
    return main([args.path] if getattr(args, "path", None) else [])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
