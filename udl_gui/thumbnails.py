"""Pictures of image rows as pixmaps: made when a view first paints a row, then kept.

`Pictures` belongs to one loaded dataset (udl_core/pixels.py says which datasets are images);
`BatchPictures` is one batch's rows, raw or processed, as the batch table and the grid show them.
A pixmap is made only when a view asks for it (a visible row) and cached by dataset row, so a
repaint, a scroll back or a second view of the same batch costs a dictionary lookup.
Small pictures (8x8 digits) are enlarged by a whole factor with nearest-neighbour scaling, so
each pixel stays a crisp square; pictures over half the thumbnail's side are fitted to it smoothly.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap

from udl_core.pixels import display_bytes, picture_shape, pixels_from_processed, value_range

__all__ = ["BatchPictures", "Pictures", "pixmap_from_pixels"]

_FORMATS = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}
CACHE_SIZE = 1024   # pixmaps kept per dataset (a 96 px one is 36 KiB: 36 MiB at most)
BLOCK = 64          # a batch's rows mapped to pixels together (one numpy call, not one per row)


def pixmap_from_pixels(pixels: np.ndarray, side: int) -> QPixmap:
    """One uint8 picture [H, W, C] as a pixmap that fits `side` x `side`."""
    factor = side // max(pixels.shape[0], pixels.shape[1])
    if factor >= 2:   # enlarge by a whole factor, each pixel a square (numpy: 4x faster than QImage.scaled)
        pixels = pixels.repeat(factor, axis=0).repeat(factor, axis=1)
    height, width, channels = pixels.shape
    data = np.ascontiguousarray(pixels)
    image = QImage(data.data, width, height, width * channels, _FORMATS[channels]).copy()  # copy: own the bytes
    if factor < 2 and max(height, width) != side:   # larger pictures: fitted to `side`, smoothly
        image = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(image)


class Pictures:
    """The pictures of one loaded image dataset, raw or mapped back from processed tensors."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        shape = picture_shape(loader.table)
        if shape is None:
            raise ValueError("the dataset does not hold images")
        self.shape = shape
        self.range = value_range(loader.table.features)
        self._cache: OrderedDict[tuple[bool, int, int], QPixmap] = OrderedDict()

    @classmethod
    def of(cls, loader: Any) -> Pictures | None:
        """The dataset's pictures, or None when it holds no images."""
        table = getattr(loader, "table", None)
        if picture_shape(table) is None or getattr(loader, "preprocessor", None) is None:
            return None
        return cls(loader)

    def raw_pixels(self, rows: np.ndarray) -> np.ndarray:
        """uint8 [n, H, W, C] of dataset rows `rows` as the file holds them."""
        features = np.asarray(self.loader.table.features[np.asarray(rows, dtype=np.int64)])
        return display_bytes(features.reshape(len(features), *self.shape), self.range)

    def processed_pixels(self, x: np.ndarray) -> np.ndarray:
        """uint8 [n, H, W, C] of processed rows `x` mapped back with the fitted statistics."""
        return display_bytes(pixels_from_processed(self.loader.preprocessor, x), self.range)

    def pixmap(self, row: int, side: int, raw: bool, x: np.ndarray | None = None) -> QPixmap:
        """Dataset row `row`'s picture; processed (`raw` False) needs that row's tensor `x` [D]."""
        found = self.cached((raw, int(row), side))
        if found is not None:
            return found
        pixels = self.raw_pixels(np.array([row])) if raw else self.processed_pixels(np.asarray(x)[None, :])
        return self.keep((raw, int(row), side), pixmap_from_pixels(pixels[0], side))

    def cached(self, key: tuple[bool, int, int]) -> QPixmap | None:
        """The pixmap made for (raw, dataset row, side), if it is still kept."""
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    def keep(self, key: tuple[bool, int, int], pixmap: QPixmap) -> QPixmap:
        self._cache[key] = pixmap
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return pixmap


class BatchPictures:
    """One batch's pictures, raw or processed, for a view that asks for them row by row."""

    def __init__(self, pictures: Pictures, rows: np.ndarray, x: np.ndarray | None, raw: bool) -> None:
        self.pictures = pictures
        self.rows = np.asarray(rows)
        self.x = x
        self.raw = raw or x is None
        self._blocks: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.pictures.shape

    def pixmap(self, i: int, side: int) -> QPixmap:
        key = (self.raw, int(self.rows[i]), side)
        found = self.pictures.cached(key)
        if found is not None:
            return found
        return self.pictures.keep(key, pixmap_from_pixels(self._block(i // BLOCK)[i % BLOCK], side))

    def _block(self, b: int) -> np.ndarray:
        """uint8 pictures of rows b * BLOCK to (b + 1) * BLOCK, mapped together when first needed."""
        if b not in self._blocks:
            at = slice(b * BLOCK, (b + 1) * BLOCK)
            pictures = self.pictures
            if self.raw or self.x is None:
                self._blocks[b] = pictures.raw_pixels(self.rows[at])
            else:
                self._blocks[b] = pictures.processed_pixels(self.x[at])
        return self._blocks[b]

    def describe(self, i: int) -> str:
        height, width, channels = self.shape
        kind = "raw" if self.raw else "processed tensor mapped back to pixels"
        return f"dataset row {int(self.rows[i])}: {height}\u00d7{width}\u00d7{channels} picture ({kind})"
