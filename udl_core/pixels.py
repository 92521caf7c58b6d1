"""Pictures of image rows: which datasets are images, and processed tensors mapped back to pixels.

An image dataset is an image folder (uint8 [N, H, W, C]) or an array shaped [N, H, W] or
[N, H, W, C] with C = 1, 3 or 4. `pixels_from_processed` undoes the fitted preprocessing
(x * std + mean, per channel for an image folder, per pixel for an array) and puts back the
pixels it dropped as constant at their constant value, so a processed batch can be looked at
beside its raw rows. `display_bytes` makes any of them uint8 for a screen, from one value range
per dataset (`value_range`), so raw and processed pictures of a row look alike.
"""

from __future__ import annotations

import math

import numpy as np

from udl_core.preprocess import Preprocessor
from udl_core.table import Table

__all__ = ["display_bytes", "picture_shape", "pixels_from_processed", "value_range"]

_CHANNELS = (1, 3, 4)
_RANGE_ROWS = 4096   # rows sampled, evenly spaced, for the display range of a non-uint8 array


def picture_shape(table: Table | None) -> tuple[int, int, int] | None:
    """(height, width, channels) when `table` holds images, else None (tables, [N, D] arrays)."""
    if table is None or table.is_tabular or table.features is None:
        return None
    features = table.features
    if features.dtype.kind not in "biuf":
        return None
    shape = tuple(int(n) for n in features.shape[1:])
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    if len(shape) == 3 and shape[2] in _CHANNELS:
        return shape
    return None


def pixels_from_processed(preprocessor: Preprocessor, x: np.ndarray) -> np.ndarray:
    """Processed rows float32 [n, D] back to pictures [n, H, W, C].

    An image folder's rows come back as uint8 (scaled back to 0-255, rounded and clipped);
    an array's as float64 in the array's own units, its dropped constant pixels at their
    constant value (0 for a preprocessing saved before that value was kept).
    """
    step = preprocessor.steps[0] if preprocessor.layout != "tabular" and preprocessor.steps else None
    if step is None or step["kind"] not in ("image", "array"):
        raise ValueError("pixels_from_processed needs a preprocessing fitted on images or arrays")
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    shape = [int(s) for s in step["shape"]]
    if step["kind"] == "image":
        channels = int(step["channels"])
        values: np.ndarray = x.reshape(n, -1, channels) * np.asarray(step["std"]) + np.asarray(step["mean"])
        values /= float(step["scale"])
        if float(step["scale"]) != 1.0:   # uint8 pixels, scaled to [0, 1] by the preprocessing
            pictures: np.ndarray = np.clip(np.rint(values), 0, 255).astype(np.uint8).reshape(n, *_hwc(shape))
            return pictures
        return values.reshape(n, *_hwc(shape))
    values = np.zeros((n, math.prod(shape)), dtype=np.float64)
    values[:, step["index"]] = x.reshape(n, -1) * np.asarray(step["std"]) + np.asarray(step["mean"])
    if step.get("constant_index"):
        values[:, step["constant_index"]] = np.asarray(step["constant_value"], dtype=np.float64)
    return values.reshape(n, *_hwc(shape))


def _hwc(shape: list[int]) -> tuple[int, int, int]:
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    if len(shape) == 3:
        return (shape[0], shape[1], shape[2])
    raise ValueError(f"features shaped {shape} are not pictures (H x W or H x W x C)")


def value_range(features: np.ndarray) -> tuple[float, float]:
    """The values shown black and full brightness: 0-255 for uint8, 0-1 for bools, else the
    smallest and largest finite value of up to 4,096 evenly spaced rows."""
    if features.dtype == np.uint8:
        return (0.0, 255.0)
    if features.dtype.kind == "b" or len(features) == 0:
        return (0.0, 1.0)
    step = max(1, len(features) // _RANGE_ROWS)
    sample = np.asarray(features[::step][:_RANGE_ROWS], dtype=np.float64)
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if low >= 0.0 and high <= 1.0:   # already in [0, 1]: keep that scale, not a stretched one
        return (0.0, 1.0)
    return (low, high) if high > low else (low, low + 1.0)


def display_bytes(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Pictures [..., H, W, C] as uint8 for a screen: `value_range` mapped to 0-255, values
    outside it clipped, missing (NaN) values black."""
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8 and value_range == (0.0, 255.0):
        return pixels
    low, high = value_range
    scaled = (np.asarray(pixels, dtype=np.float64) - low) * (255.0 / (high - low))
    screen: np.ndarray = np.clip(np.nan_to_num(np.rint(scaled), nan=0.0), 0, 255).astype(np.uint8)
    return screen
