"""The app's icon set, drawn from resources/icons/udl.svg: PNGs in the hicolor sizes and a macOS .icns.

`python -m bundle.make_icons [OUT]` (default build/icons) writes OUT/hicolor/<n>x<n>/apps/udl.png for
each size, OUT/udl.png (256 px, the window icon of a frozen app) and OUT/udl.icns. The SVG is the one
source; the PNGs are rendered by Qt's SVG renderer and the .icns is written by Pillow from them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["ICNS_SIZES", "PNG_SIZES", "SOURCE", "make_icons"]

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "icons" / "udl.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)   # the .icns holds each, and @2x where Pillow pairs them


def _render(svg: Path, size: int) -> Any:   # a QImage: Qt is imported when called
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not an SVG that Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def make_icons(out: Path, svg: Path = SOURCE) -> list[Path]:
    """Write the icon set under `out`; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    # QPainter needs an application; a QApplication, so that widgets made later in this process still work
    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841
    written: list[Path] = []
    for size in PNG_SIZES:
        target = out / "hicolor" / f"{size}x{size}" / "apps" / "udl.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not _render(svg, size).save(str(target)):
            raise OSError(f"could not write {target}")
        written.append(target)
    big = out / "udl-1024.png"
    _render(svg, 1024).save(str(big))
    window_icon = out / "udl.png"
    _render(svg, 256).save(str(window_icon))
    written.append(window_icon)
    with Image.open(big) as image:
        icns = out / "udl.icns"
        image.convert("RGBA").save(icns, format="ICNS", sizes=[(n, n) for n in ICNS_SIZES])
    big.unlink()
    written.append(icns)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bundle.make_icons", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "build" / "icons"), help="folder (default build/icons)")
    args = parser.parse_args(argv)
    for path in make_icons(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
