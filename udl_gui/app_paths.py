"""Where the app finds what it ships and where it writes its log, frozen or run from source.

A PyInstaller build unpacks the data files under `sys._MEIPASS` (the `_internal` folder of
`dist/UDL`, `Contents/Resources` or `Contents/Frameworks` of `UDL.app`); run from a checkout,
they are in the repository's `resources/`. Nothing is ever written next to the executable (an
installed app's folder is read-only, and a signed bundle must not change): settings live in
QSettings, the log in the platform's log folder.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

__all__ = ["LOG_NAME", "frozen", "install_log_file", "log_folder", "resource", "resources_root", "sample_dataset"]

LOG_NAME = "udl.log"
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def frozen() -> bool:
    """True inside a bundled app (PyInstaller sets `sys.frozen` and `sys._MEIPASS`)."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def resources_root() -> Path:
    """The `resources` folder: inside the bundle when frozen, else the checkout's."""
    base = Path(getattr(sys, "_MEIPASS", _SOURCE_ROOT)) if frozen() else _SOURCE_ROOT
    return base / "resources"


def resource(*parts: str) -> Path:
    """`resource("icons", "udl.svg")`: a path under the resources folder (it may not exist: a bare wheel has none)."""
    return resources_root().joinpath(*parts)


def sample_dataset() -> Path:
    """The dataset the app opens when it is given none, and the self test loads."""
    return resource("samples", "sample.csv")


def log_folder() -> Path:
    """The platform's folder for this app's logs: ~/Library/Logs/UDL on macOS, the app's state
    folder on Linux ($XDG_STATE_HOME/UDL, ~/.local/state/UDL), its local data folder elsewhere."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "UDL"
    if sys.platform.startswith("linux"):
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(state) / "UDL"
    from PySide6.QtCore import QStandardPaths

    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(location or Path.home() / ".udl") / "logs"


def install_log_file(folder: Path | None = None) -> Path | None:
    """Send the udl_core and udl_gui loggers to `folder`/udl.log (1 MiB, two old files kept).
    Returns the file, or None where the folder cannot be written (the app runs on without it)."""
    folder = folder or log_folder()
    path = folder / LOG_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1 << 20, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("udl_core", "udl_gui"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
            logger.addHandler(handler)
    return path
