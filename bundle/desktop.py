"""Install UDL in the current user's Linux desktop: `python -m bundle.desktop install|uninstall [--exec PATH]`.

`make install-desktop` / `make uninstall-desktop` call it. It writes only under $XDG_DATA_HOME
(default ~/.local/share): the desktop entry (applications/udl.desktop, its Exec pointing at the built
app dist/UDL/UDL when there is one, else at `udl-gui`), the icon in the hicolor sizes and as SVG, and
the MIME types for Parquet, Arrow/Feather, NPY, NPZ and JSON Lines (mime/packages/udl.xml); then it
refreshes the desktop's caches where their tools are installed. Uninstall removes exactly those files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bundle.make_icons import PNG_SIZES, make_icons

__all__ = ["default_exec", "desktop_entry", "install", "installed_files", "main", "uninstall"]

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
BUILT_APP = ROOT / "dist" / "UDL" / "UDL"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_exec() -> str:
    """The built app when `make app` made one, else the `udl-gui` script of this environment."""
    if BUILT_APP.is_file() and os.access(BUILT_APP, os.X_OK):
        return str(BUILT_APP)
    beside = Path(sys.executable).parent / "udl-gui"   # this venv's script: found without PATH
    return str(beside) if beside.is_file() else (shutil.which("udl-gui") or "udl-gui")


def desktop_entry(exec_path: str) -> str:
    """resources/udl.desktop with Exec and TryExec pointing at `exec_path`."""
    quoted = f'"{exec_path}"' if " " in exec_path else exec_path
    lines = []
    for line in (RESOURCES / "udl.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={quoted} %f"
        elif line.startswith("TryExec="):
            line = f"TryExec={exec_path}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def installed_files(home: Path) -> list[Path]:
    """Every file `install` writes under `home` (an XDG data folder)."""
    icons = home / "icons" / "hicolor"
    return [home / "applications" / "udl.desktop", home / "mime" / "packages" / "udl.xml",
            icons / "scalable" / "apps" / "udl.svg",
            *(icons / f"{n}x{n}" / "apps" / "udl.png" for n in PNG_SIZES)]


def _refresh(home: Path) -> None:
    """The caches desktops read; a missing tool is skipped (the files alone work after a log-in)."""
    for command in (["update-mime-database", str(home / "mime")],
                    ["update-desktop-database", str(home / "applications")],
                    ["gtk-update-icon-cache", "--force", "--ignore-theme-index", str(home / "icons" / "hicolor")]):
        if shutil.which(command[0]) and Path(command[-1]).is_dir():
            subprocess.run(command, check=False, capture_output=True)


def install(home: Path | None = None, exec_path: str | None = None) -> list[Path]:
    home = home or data_home()
    entry = home / "applications" / "udl.desktop"
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(desktop_entry(exec_path or default_exec()), encoding="utf-8")
    mime = home / "mime" / "packages" / "udl.xml"
    mime.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(RESOURCES / "udl-mime.xml", mime)
    icons = home / "icons" / "hicolor"
    with tempfile.TemporaryDirectory(prefix="udl-icons-") as folder:
        make_icons(Path(folder))
        for n in PNG_SIZES:
            target = icons / f"{n}x{n}" / "apps" / "udl.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(folder) / "hicolor" / f"{n}x{n}" / "apps" / "udl.png", target)
    svg = icons / "scalable" / "apps" / "udl.svg"
    svg.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(RESOURCES / "icons" / "udl.svg", svg)
    _refresh(home)
    return installed_files(home)


def uninstall(home: Path | None = None) -> list[Path]:
    home = home or data_home()
    removed = [path for path in installed_files(home) if path.exists()]
    for path in removed:
        path.unlink()
    _refresh(home)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bundle.desktop", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["install", "uninstall"])
    parser.add_argument("--exec", dest="exec_path", help="the program the menu entry starts (default: "
                        "dist/UDL/UDL when built, else udl-gui)")
    args = parser.parse_args(argv)
    if args.action == "install":
        files = install(exec_path=args.exec_path)
        print(f"installed {len(files)} files under {data_home()}; the menu entry starts "
              f"{desktop_entry(args.exec_path or default_exec()).split('Exec=')[1].splitlines()[0]}")
    else:
        files = uninstall()
        print(f"removed {len(files)} files under {data_home()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
