"""Pictures from processed tensors (udl_core/pixels.py): processed -> pixels gives back the raw pixels,
constant pixels that the preprocessing drops included, also after the preprocessing is saved and read back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from udl_core import UnifiedDataLoader
from udl_core.pixels import display_bytes, picture_shape, pixels_from_processed, value_range
from udl_core.preprocess import Preprocessor
from udl_core.table import Table


def digits(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Digits-like 8x8 pictures, values 0-16, whose left and right columns are always 0 (dropped as constant)
    and whose top-left inner pixel is always 16 (a constant that is not 0)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 17, size=(n, 8, 8)).astype(np.float64)
    x[:, :, 0] = 0.0
    x[:, :, 7] = 0.0
    x[:, 0, 1] = 16.0
    return x, np.arange(n) % 3


def png_folder(root, per_class: int = 6, mode: str = "RGB"):
    rng = np.random.default_rng(1)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            shape = (5, 7, 3) if mode == "RGB" else (5, 7)
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(pixels, mode).save(root / name / f"{i}.png")
    return root


def _roundtrip(pre: Preprocessor) -> Preprocessor:
    return Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))


@pytest.mark.parametrize("layout", ["hw", "hwc"])
def test_array_pictures_come_back_with_their_constant_pixels(tmp_path, layout):
    x, y = digits()
    if layout == "hwc":
        x = x[..., None]
    path = tmp_path / "digits.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    loader = UnifiedDataLoader(path, batch_size=16).load()
    assert picture_shape(loader.table) == (8, 8, 1)
    assert loader.feature_dim < 64   # the constant columns were dropped from the tensors
    for pre in (loader.preprocessor, _roundtrip(loader.preprocessor)):
        for split in ("train", "val"):
            batch = loader.get_batch(0, split=split)
            pixels = pixels_from_processed(pre, batch.x)
            assert pixels.shape == (len(batch.rows), 8, 8, 1)
            raw = np.asarray(loader.table.features[batch.rows], dtype=np.float64).reshape(pixels.shape)
            np.testing.assert_allclose(pixels, raw, atol=1e-4)
            assert (pixels[:, 0, 1] == 16.0).all() and (pixels[:, :, 0] == 0.0).all()


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_image_folder_pictures_come_back_exactly(tmp_path, mode):
    loader = UnifiedDataLoader(png_folder(tmp_path / "pics", mode=mode), batch_size=4).load()
    channels = 3 if mode == "RGB" else 1
    assert picture_shape(loader.table) == (5, 7, channels)
    batch = loader.get_batch(1)
    for pre in (loader.preprocessor, _roundtrip(loader.preprocessor)):
        pixels = pixels_from_processed(pre, batch.x)
        assert pixels.dtype == np.uint8
        np.testing.assert_array_equal(pixels, loader.table.features[batch.rows])


def test_only_image_shaped_arrays_are_pictures():
    def shape_of(array: np.ndarray):
        return picture_shape(Table(source="t", format="npy", features=array))

    assert shape_of(np.zeros((3, 64))) is None              # a flat [N, D] array is features, not a picture
    assert shape_of(np.zeros((3, 4, 5))) == (4, 5, 1)
    assert shape_of(np.zeros((3, 4, 5, 4))) == (4, 5, 4)
    assert shape_of(np.zeros((3, 4, 5, 7))) is None         # 7 channels is not a picture


def test_display_range_maps_raw_and_processed_alike():
    assert value_range(np.zeros((2, 3, 3), np.uint8)) == (0.0, 255.0)
    assert value_range(np.linspace(0, 1, 18).reshape(2, 3, 3)) == (0.0, 1.0)
    x, _ = digits()
    assert value_range(x) == (0.0, 16.0)
    shown = display_bytes(np.array([[-3.0, 0.0], [8.0, np.nan]]), (0.0, 16.0))
    np.testing.assert_array_equal(shown, [[0, 0], [128, 0]])
