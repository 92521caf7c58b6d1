"""Growing plot series and their min/max summaries, so a redraw costs the pixels, not the points.

A `Series` holds (x, y) in arrays that double when full (appending is O(1) amortised) and,
beside them, min/max summaries of buckets of 8, 32, 128, ... points, each level built from
the one below, for the points appended since the last view. `view(x0, x1, pixels)` returns the points in [x0, x1] as they
are when there are at most 8 a pixel, else the (min, max) pair of each bucket at the coarsest
level that still has one bucket or more a pixel (1 to 4): what peak downsampling draws, without
reading the other 999,000 points of a million-step run on every frame. A line through these
pairs covers, column by column, the pixels that the line through every point covers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Buffer", "Series"]

FIRST_BUCKET = 8
LEVEL_FACTOR = 4
PER_PIXEL = FIRST_BUCKET  # up to this many points a pixel, a view returns the points themselves


class _Columns:
    """Rows of `width` float64 columns in a preallocated array that doubles when full."""

    def __init__(self, width: int, capacity: int) -> None:
        self._data = np.empty((width, capacity), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def reserve(self, n: int) -> None:
        if n > self._data.shape[1]:
            grown = np.empty((self._data.shape[0], max(n, 2 * self._data.shape[1])), dtype=np.float64)
            grown[:, : self._n] = self._data[:, : self._n]
            self._data = grown

    def extend(self, *columns: np.ndarray | float) -> None:
        n = np.size(columns[0])
        self.reserve(self._n + n)
        for row, values in zip(self._data, columns):
            row[self._n:self._n + n] = values
        self._n += n

    def clear(self) -> None:
        self._n = 0

    def column(self, i: int) -> np.ndarray:
        return self._data[i, : self._n]


class Buffer(_Columns):
    """A growable (x, y) series."""

    def __init__(self, capacity: int = 1024) -> None:
        super().__init__(2, capacity)

    def append(self, x: float, y: float) -> None:
        if self._n == self._data.shape[1]:
            self.reserve(self._n + 1)
        self._data[0, self._n] = x
        self._data[1, self._n] = y
        self._n += 1

    @property
    def x(self) -> np.ndarray:
        return self.column(0)

    @property
    def y(self) -> np.ndarray:
        return self.column(1)


class _Level(_Columns):
    """Complete buckets of `size` points: the first point's x, the smallest and the largest y."""

    def __init__(self, size: int) -> None:
        super().__init__(3, 256)
        self.size = size


class Series:
    """Points with ascending x, appended one at a time or in chunks (see the module's note)."""

    def __init__(self) -> None:
        self.points = Buffer()
        self._levels: list[_Level] = []

    def __len__(self) -> int:
        return len(self.points)

    @property
    def x(self) -> np.ndarray:
        return self.points.x

    @property
    def y(self) -> np.ndarray:
        return self.points.y

    def append(self, x: float, y: float) -> None:
        self.points.append(x, y)

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        self.points.extend(x, y)

    def clear(self) -> None:
        self.points.clear()
        self._levels.clear()

    def _summarise(self) -> None:
        """Summarise the buckets completed since the last call, level by level: each level
        reads only its new part of the level below, a quarter the size of that one's."""
        x = self.points.x
        lo = hi = self.points.y
        factor, size, depth = FIRST_BUCKET, FIRST_BUCKET, 0
        while len(x) >= factor:
            if depth == len(self._levels):
                self._levels.append(_Level(size))
            level = self._levels[depth]
            done, complete = len(level), len(x) // factor
            if complete <= done:
                break  # nothing new here, so nothing new above
            part = slice(done * factor, complete * factor)
            block_lo, block_hi = lo[part].reshape(-1, factor), hi[part].reshape(-1, factor)
            if depth == 0:  # raw points: a non-finite loss is a gap, not a bound
                block_lo = block_hi = np.where(np.isfinite(block_lo), block_lo, np.nan)
            level.extend(x[part][::factor], np.fmin.reduce(block_lo, axis=1), np.fmax.reduce(block_hi, axis=1))
            x, lo, hi = level.column(0), level.column(1), level.column(2)
            factor, size, depth = LEVEL_FACTOR, size * LEVEL_FACTOR, depth + 1

    def view(self, x0: float, x1: float, pixels: int) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw for the x range [x0, x1] on `pixels` columns (see the module's note)."""
        self._summarise()  # the points appended since the last view: summarised once a frame, not once an event
        xs, ys = self.points.x, self.points.y
        i0 = max(0, int(np.searchsorted(xs, x0, side="right")) - 1)  # one point beyond each edge
        i1 = min(len(xs), int(np.searchsorted(xs, x1, side="left")) + 1)
        pixels = max(1, pixels)
        if i1 - i0 <= PER_PIXEL * pixels or not self._levels:
            return xs[i0:i1], ys[i0:i1]
        depth = 0  # the coarsest level that still has a bucket (or more) a pixel
        while depth + 1 < len(self._levels) and (i1 - i0) / self._levels[depth + 1].size >= pixels:
            depth += 1
        out_x: list[np.ndarray] = []
        out_y: list[np.ndarray] = []
        start = i0
        for level in reversed(self._levels[: depth + 1]):  # the chosen level, then finer ones for its tail
            b0, b1 = start // level.size, min(len(level), -(-i1 // level.size))
            if b1 > b0:
                out_x.append(np.repeat(level.column(0)[b0:b1], 2))
                pairs = np.empty(2 * (b1 - b0))
                pairs[0::2] = level.column(1)[b0:b1]
                pairs[1::2] = level.column(2)[b0:b1]
                out_y.append(pairs)
                start = b1 * level.size
        if start >= i1:  # the last bucket starts inside the range: end on its last point, at the edge
            start = i1 - 1
        out_x.append(xs[start:i1])
        out_y.append(ys[start:i1])
        return np.concatenate(out_x), np.concatenate(out_y)
