"""Files and folders opened from the desktop (`QFileOpenEvent`: Finder's Open With, a drop on the Dock icon)
load in the window, whether they arrive before the window exists or after."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QFileOpenEvent

from udl_gui.file_open import FileOpenFilter


@pytest.fixture
def file_open(qapp):
    opener = FileOpenFilter(qapp)
    yield opener
    opener.remove()


def _open(qapp, target) -> bool:
    """What macOS does: a QFileOpenEvent sent to the application instance."""
    event = QFileOpenEvent(target if isinstance(target, QUrl) else str(target))
    return QCoreApplication.sendEvent(qapp, event)


def _loaded(qtbot, window, path: Path) -> None:
    qtbot.waitUntil(lambda: window.loader is not None and Path(window.loader.path) == path
                    and window.controls.run_button.isEnabled(), timeout=30_000)


def test_a_file_opened_before_the_window_exists_loads_once_it_is_attached(qtbot, qapp, file_open, settings,
                                                                          known_csv):
    from udl_gui.main_window import MainWindow

    assert _open(qapp, known_csv)   # the app was started by opening the file: no window yet
    assert file_open.pending == [str(known_csv)]

    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.show()
    file_open.attach(window)
    _loaded(qtbot, window, known_csv)
    assert file_open.pending == []
    assert window.dataset_row.path() == str(known_csv)
    assert window.loader.table.num_rows == 12
    window.close()


def test_a_folder_opened_while_the_app_runs_loads_in_the_window(qtbot, qapp, file_open, window, tmp_path,
                                                                 known_csv):
    file_open.attach(window)
    assert _open(qapp, known_csv)
    _loaded(qtbot, window, known_csv)

    folder = tmp_path / "pictures"
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (folder / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), "RGB").save(folder / name / f"{i}.png")
    assert _open(qapp, QUrl.fromLocalFile(str(folder)))   # dropped on the Dock icon: a file URL
    _loaded(qtbot, window, folder)
    assert list(window.loader.classes) == ["cat", "dog"]


def test_of_several_files_opened_before_the_window_the_last_one_loads(qtbot, qapp, file_open, settings, tmp_path,
                                                                      known_csv):
    from udl_gui.main_window import MainWindow

    first = tmp_path / "first.csv"
    first.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    assert _open(qapp, first) and _open(qapp, known_csv)
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.show()
    file_open.attach(window)
    _loaded(qtbot, window, known_csv)
    assert "first.csv" in window.log_view.toPlainText()
    window.close()


def test_a_url_that_is_not_a_local_file_is_left_to_qt(qapp, file_open):
    assert not _open(qapp, QUrl("https://example.org/data.csv"))
    assert file_open.pending == [] and file_open.opened == []
